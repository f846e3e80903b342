//! Under real Terraform: every example applies and destroys against the simulator as written.

mod common;

use common::{Sim, Workspace};

on_each_terraform!(quickstart_applies_and_destroys, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, "");
    workspace.use_example("quickstart");
    workspace.apply();
    let outputs = workspace.ok(&["output", "-json"]).stdout();
    let outputs: serde_json::Value = serde_json::from_str(&outputs).unwrap();
    assert_eq!(outputs["success"]["value"], true);
    assert_eq!(outputs["message"]["value"], "kill requested");
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "KILLED");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(workspace.state().is_empty());
});
