//! Under real Terraform 1.15.5 (actions came in 1.14): the kill action run with `-invoke` and
//! from another resource's `action_trigger`, and a failing action failing the apply. Terraform
//! 1.0.3 ignores action schemas; every other end-to-end test runs it against this same provider.

use dataforest_sim::{App, Fault};

use crate::harness::{Sim, Terraform, Workspace};

const ACTION: &str = r#"
action "ncloud_dataforest_aiapp_kill" "stop" {
  config {
    app_id               = "Act01"
    wait_for_termination = true
  }
}
"#;

#[test]
fn invoke_kills_once_and_records_nothing() {
    let sim = Sim::start(&["Act01"]);
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, ACTION);
    let run = workspace.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-invoke=action.ncloud_dataforest_aiapp_kill.stop",
    ]);
    run.assert_contains("Killing AI app Act01").assert_contains("AI app Act01 ended: KILLED");
    assert_eq!(sim.simulator.kill_calls("Act01"), 1);
    assert_eq!(sim.state_of("Act01"), "KILLED");
    assert!(workspace.state().is_empty());
}

#[test]
fn action_trigger_after_create_kills_once() {
    let sim = Sim::start(&["Act01"]);
    let config = format!(
        r#"{ACTION}
resource "terraform_data" "deploy" {{
  input = "v1"
  lifecycle {{
    action_trigger {{
      events  = [after_create]
      actions = [action.ncloud_dataforest_aiapp_kill.stop]
    }}
  }}
}}
"#
    );
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, &config);
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Act01"), 1);
    assert_eq!(sim.state_of("Act01"), "KILLED");
    // Nothing is created again, so nothing triggers again.
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Act01"), 1);
}

#[test]
fn a_failing_action_fails_the_apply_with_the_api_message() {
    let sim = Sim::start(&[]);
    sim.simulator.put_app(App::running("Act01"));
    sim.simulator.fail_kills("Act01", [Fault::Status(403)]);
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, ACTION);
    workspace
        .fails(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-invoke=action.ncloud_dataforest_aiapp_kill.stop",
        ])
        .assert_contains("DataForest kill failed")
        .assert_contains("not allowed to access");
    assert_eq!(sim.state_of("Act01"), "RUNNING");
}
