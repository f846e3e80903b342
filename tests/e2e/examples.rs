//! Under real Terraform: every example applies and destroys against the simulator as written
//! (the action example on Terraform 1.15.5 only: actions came in 1.14), the one beside the
//! official provider with another provider really installed as `navercloudplatform/ncloud`.

use dataforest_sim::App;

use crate::harness::{Sim, Terraform, Workspace};

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

on_each_terraform!(with_official_provider_applies_beside_another_ncloud, |terraform| {
    let sim = Sim::start(&["Ab12Cd34Ef56"]);
    let workspace = Workspace::new(terraform, &sim, "");
    // A stand-in for NaverCloudPlatform/ncloud: HashiCorp's null provider, installed under that
    // name, so the local name `ncloud` really belongs to another provider.
    let stand_in = workspace.dir.path().join("official");
    std::fs::create_dir(&stand_in).unwrap();
    let null =
        terraform.path().parent().unwrap().parent().unwrap().join("null-2.1.2/terraform-provider-null");
    assert!(
        null.is_file(),
        "the null provider is not installed at {}: run scripts/install-terraform",
        null.display()
    );
    std::fs::copy(&null, stand_in.join("terraform-provider-ncloud")).unwrap();
    workspace.override_provider("navercloudplatform/ncloud", &stand_in);
    workspace.use_example("with-official-provider");
    let apply = workspace.apply();
    apply.assert_contains("navercloudplatform/ncloud");
    let outputs = outputs(&workspace);
    assert_eq!(outputs["message"]["value"], "kill requested");
    assert_eq!(outputs["apps_in_account"]["value"], 1);
    assert_eq!(sim.state_of("Ab12Cd34Ef56"), "KILLED");
    let state = workspace.state_text();
    assert!(state.contains("provider[\\\"registry.terraform.io/ncloud-dataforest/ncloud\\\"]"), "{state}");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert!(workspace.state().is_empty());
});

on_each_terraform!(teardown_by_selector_kills_the_environment_at_destroy, |terraform| {
    let sim = Sim::start(&[]);
    let gpu = |id: &str, name: &str| App { name: name.into(), queue_name: "gpu".into(), ..App::running(id) };
    sim.simulator.put_app(gpu("Env01", "env-42-train"));
    sim.simulator.put_app(App { queue_name: "default".into(), ..gpu("Env02", "env-42-etl") });
    sim.simulator.put_app(gpu("Env03", "env-7-train"));
    let workspace = Workspace::new(terraform, &sim, "");
    workspace.use_example("teardown-by-selector");
    workspace.apply();
    assert_eq!(outputs(&workspace)["would_go"]["value"], serde_json::json!(["Env01"]));
    // Started after the apply: it goes too.
    sim.simulator.put_app(gpu("Env04", "env-42-notebook"));
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    let states: Vec<String> =
        ["Env01", "Env02", "Env03", "Env04"].iter().map(|id| sim.state_of(id)).collect();
    assert_eq!(states, ["KILLED", "RUNNING", "RUNNING", "KILLED"]);
    assert!(workspace.state().is_empty());
});
