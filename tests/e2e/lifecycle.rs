//! Under real Terraform: the kill at destroy (`when = "destroy"`), waiting for the app to end, and
//! an app that had already ended counting as killed, with a warning.

use dataforest_sim::{App, Fault};

use crate::harness::{Sim, Workspace};

const AT_DESTROY: &str = r#"
resource "ncloud_dataforest_aiapp_kill" "teardown" {
  app_id = "Pipe01"
  when   = "destroy"
}
"#;

on_each_terraform!(destroy_time_kill_runs_at_destroy_and_a_failed_one_keeps_state, |terraform| {
    let sim = Sim::start(&["Pipe01"]);
    let workspace = Workspace::new(terraform, &sim, AT_DESTROY);
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 0, "no kill at create");
    let recorded = &workspace.state()["ncloud_dataforest_aiapp_kill.teardown"];
    assert_eq!(recorded["id"], "Pipe01");
    assert!(recorded["success"].is_null());
    let replan = workspace.run(&["plan", "-detailed-exitcode", "-input=false"]);
    assert_eq!(replan.code(), Some(0), "{replan}");

    sim.simulator.fail_kills("Pipe01", [Fault::Status(403)]);
    let failed = workspace.fails(&["destroy", "-auto-approve", "-input=false"]);
    failed.assert_contains("DataForest kill failed").assert_contains("not allowed to access");
    assert!(
        workspace.state().contains_key("ncloud_dataforest_aiapp_kill.teardown"),
        "kept for the next destroy"
    );
    assert_eq!(sim.state_of("Pipe01"), "RUNNING");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(workspace.state().is_empty());
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 2);
    assert_eq!(sim.state_of("Pipe01"), "KILLED");
});

on_each_terraform!(waits_for_the_app_to_end_over_several_polls, |terraform| {
    let sim = Sim::start(&["Slow01"]);
    sim.simulator.set_kill_duration(std::time::Duration::from_millis(2500));
    let config = r#"
resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id               = "Slow01"
  wait_for_termination = true
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let job = &workspace.state()["ncloud_dataforest_aiapp_kill.job"];
    assert_eq!(job["app_state"], "KILLED");
    assert_eq!(job["final_status"], "KILLED");
    let polls = sim.simulator.calls().iter().filter(|c| c.path.ends_with("/getDetail")).count();
    assert!(polls >= 2, "expected several polls, saw {polls}");
});

on_each_terraform!(an_app_that_already_ended_is_recorded_with_a_warning, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.put_app(App {
        state: "FINISHED".into(),
        final_status: "SUCCEEDED".into(),
        ..App::running("Done01")
    });
    sim.simulator.fail_kills("Done01", [Fault::Status(400)]);
    let workspace = Workspace::new(
        terraform,
        &sim,
        r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "Done01" }"#,
    );
    workspace.apply().assert_contains("App had already ended").assert_contains("FINISHED");
    let job = &workspace.state()["ncloud_dataforest_aiapp_kill.job"];
    assert_eq!(job["success"], false);
    assert_eq!(job["app_state"], "FINISHED");
    assert!(job["message"].as_str().unwrap().contains("invalid request parameters"));

    // An app that does not exist is still an error.
    workspace.write_main(r#"resource "ncloud_dataforest_aiapp_kill" "ghost" { app_id = "Ghost02" }"#);
    workspace.apply_fails().assert_contains("no such element");
});

on_each_terraform!(a_destroy_time_kill_of_an_app_that_no_longer_exists_lets_destroy_finish, |terraform| {
    let sim = Sim::start(&["Pipe01"]);
    let workspace = Workspace::new(terraform, &sim, AT_DESTROY);
    workspace.apply();
    // The app is purged before the teardown runs: nothing is left to kill.
    sim.simulator.remove_app("Pipe01");
    let destroy = workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    destroy
        .assert_contains("App no longer exists")
        .assert_contains("\"Pipe01\"")
        .assert_contains("1 destroyed");
    assert!(workspace.state().is_empty(), "{}", workspace.state_text());
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 1);
});

on_each_terraform!(
    a_wait_that_fails_after_an_accepted_kill_keeps_it_tainted_for_the_next_apply,
    |terraform| {
        let sim = Sim::start(&["Slow01", "Blind01"]);
        sim.simulator.set_kill_duration(std::time::Duration::from_secs(600));
        // Blind01's state cannot be read while waiting.
        sim.simulator.fail_details("Blind01", [Fault::Status(403)]);
        let config = r#"
resource "ncloud_dataforest_aiapp_kill" "slow" {
  app_id               = "Slow01"
  wait_for_termination = true
  timeouts {
    create = "3s"
  }
}

resource "ncloud_dataforest_aiapp_kill" "blind" {
  app_id               = "Blind01"
  wait_for_termination = true
}
"#;
        let workspace = Workspace::new(terraform, &sim, config);
        let failed = workspace.apply_fails();
        failed.assert_contains("App still running").assert_contains("Could not confirm the app ended");
        let state = workspace.state();
        for (address, app_state) in
            [("ncloud_dataforest_aiapp_kill.slow", "RUNNING"), ("ncloud_dataforest_aiapp_kill.blind", "")]
        {
            let kill = &state[address];
            assert_eq!(kill["success"], true, "{address}: {}", workspace.state_text());
            assert_eq!(kill["message"], "kill requested");
            assert!(kill["killed_at"].is_string());
            assert_eq!(kill["app_state"].as_str().unwrap_or_default(), app_state, "the state last seen");
            assert_eq!(workspace.status(address).as_deref(), Some("tainted"), "{address}");
        }

        // The apps end meanwhile; the next apply replaces both, and this time sees them end.
        for id in ["Slow01", "Blind01"] {
            sim.simulator.put_app(App {
                state: "KILLED".into(),
                final_status: "KILLED".into(),
                ..App::running(id)
            });
        }
        workspace.apply().assert_contains("2 added, 0 changed, 2 destroyed");
        let state = workspace.state();
        for address in ["ncloud_dataforest_aiapp_kill.slow", "ncloud_dataforest_aiapp_kill.blind"] {
            assert_eq!(state[address]["app_state"], "KILLED", "{address}");
            assert_eq!(workspace.status(address), None, "{address} is no longer tainted");
        }
        assert_eq!((sim.simulator.kill_calls("Slow01"), sim.simulator.kill_calls("Blind01")), (2, 2));
    }
);
