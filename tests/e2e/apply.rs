//! Under real Terraform: apply records DataForest's answer; re-plan is empty; changing `triggers`
//! kills again; destroy makes no call.

use std::time::{Duration, SystemTime};

use crate::harness::{self, Sim, Workspace};

const ONE_KILL: &str = r#"
resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id   = "Ab12Cd34Ef56"
  triggers = { run = "1" }
}
"#;

on_each_terraform!(apply_records_the_answer_and_replans_empty, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, ONE_KILL);
    workspace.apply();

    assert_eq!(sim.simulator.kill_calls("Ab12Cd34Ef56"), 1);
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "KILLED");
    let state = workspace.state();
    let job = &state["ncloud_dataforest_aiapp_kill.job"];
    assert_eq!(job["id"], "Ab12Cd34Ef56");
    assert_eq!(job["success"], true);
    assert_eq!(job["message"], "kill requested");
    let killed_at = job["killed_at"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(killed_at).is_ok() && killed_at.ends_with('Z'), "{killed_at}");

    // -detailed-exitcode: 0 means no changes.
    let plan = workspace.run(&["plan", "-detailed-exitcode", "-input=false"]);
    assert_eq!(plan.code(), Some(0), "re-plan should be empty: {plan}");
    assert_eq!(sim.simulator.kill_calls("Ab12Cd34Ef56"), 1);
});

on_each_terraform!(changed_triggers_kill_again, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, ONE_KILL);
    workspace.apply();
    let first = workspace.state()["ncloud_dataforest_aiapp_kill.job"]["killed_at"].clone();
    let time = |value: &serde_json::Value| {
        humantime::parse_rfc3339(value.as_str().expect("killed_at is a string")).unwrap()
    };
    // killed_at has whole seconds: wait for the clock to leave the first kill's second, so the
    // second kill's time differs.
    let next_second = time(&first) + Duration::from_secs(1);
    harness::wait_until("the clock to pass the first kill's second", || SystemTime::now() >= next_second);

    workspace.write_main(&ONE_KILL.replace("run = \"1\"", "run = \"2\""));
    let apply = workspace.apply();
    apply.assert_contains("1 added, 0 changed, 1 destroyed");
    assert_eq!(sim.simulator.kill_calls("Ab12Cd34Ef56"), 2);
    let job = &workspace.state()["ncloud_dataforest_aiapp_kill.job"];
    assert_eq!(job["triggers"]["run"], "2");
    let second = &job["killed_at"];
    assert!(first.is_string() && second.is_string(), "{first} {second}");
    assert!(time(second) > time(&first), "the replacement records its own kill: {first} then {second}");
});

on_each_terraform!(destroy_makes_no_call, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, ONE_KILL);
    workspace.apply();
    let calls_before = sim.simulator.calls().len();

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]).assert_contains("1 destroyed");
    assert!(workspace.state().is_empty());
    assert_eq!(sim.simulator.calls().len(), calls_before, "destroy must not call DataForest");
});
