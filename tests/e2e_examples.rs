//! Under real Terraform: every example applies and destroys against the simulator as written
//! (the action example on Terraform 1.15.5 only: actions came in 1.14).

mod common;

use common::{Sim, Terraform, Workspace};
use dataforest_sim::App;

fn outputs(workspace: &Workspace) -> serde_json::Value {
    serde_json::from_str(&workspace.ok(&["output", "-json"]).stdout()).unwrap()
}

on_each_terraform!(quickstart_applies_and_destroys, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, "");
    workspace.use_example("quickstart");
    workspace.apply();
    let outputs = outputs(&workspace);
    assert_eq!(outputs["success"]["value"], true);
    assert_eq!(outputs["message"]["value"], "kill requested");
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "KILLED");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(workspace.state().is_empty());
});

on_each_terraform!(teardown_pipeline_kills_at_destroy, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    sim.simulator.set_kill_duration(std::time::Duration::from_millis(1500));
    let workspace = Workspace::new(terraform, &sim, "");
    workspace.use_example("teardown-pipeline");
    workspace.apply();
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "RUNNING", "apply only records the intent");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "KILLED");
    assert!(workspace.state().is_empty());
});

on_each_terraform!(lookup_by_name_applies_and_destroys, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.put_app(App { name: "nightly-etl".into(), ..App::running("Etl01") });
    sim.simulator.put_app(App { name: "other".into(), ..App::running("Other02") });
    let workspace = Workspace::new(terraform, &sim, "");
    workspace.use_example("lookup-by-name");
    workspace.apply();
    assert_eq!(outputs(&workspace)["killed"]["value"]["id"], "Etl01");
    assert_eq!((sim.state_of("Etl01").as_str(), sim.state_of("Other02").as_str()), ("KILLED", "RUNNING"));
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
});

#[test]
fn action_example_triggers_and_invokes_on_terraform_1_15_5() {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, "");
    workspace.use_example("action");
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Ab12Cd34Ef56"), 1, "after_create triggered the action");
    workspace.ok(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-invoke=action.ncloud_dataforest_aiapp_kill.stop_etl",
    ]);
    assert_eq!(sim.simulator.kill_calls("Ab12Cd34Ef56"), 2);
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
}
