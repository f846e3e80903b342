//! Under real Terraform: find an app by the name users know and feed its id to the kill; read one
//! app's details.

use dataforest_sim::App;

use crate::harness::{Sim, Workspace};

fn sim_with_named_apps() -> Sim {
    let sim = Sim::start(&[]);
    sim.simulator.put_app(App {
        name: "nightly-etl".into(),
        account_id: "acc1".into(),
        ..App::running("Etl01")
    });
    sim.simulator.put_app(App {
        name: "feature-build".into(),
        account_id: "acc1".into(),
        ..App::running("Feat02")
    });
    sim.simulator.put_app(App {
        name: "nightly-etl".into(),
        account_id: "acc2".into(),
        ..App::running("Other03")
    });
    sim
}

on_each_terraform!(lookup_by_name_feeds_the_kill, |terraform| {
    let sim = sim_with_named_apps();
    let config = r#"
data "ncloud_dataforest_aiapps" "etl" {
  account_id = "acc1"
  name       = "nightly-etl"
  state      = "running"
}

resource "ncloud_dataforest_aiapp_kill" "etl" {
  app_id = one(data.ncloud_dataforest_aiapps.etl.apps).id
}

output "found" {
  value = data.ncloud_dataforest_aiapps.etl.apps
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    assert_eq!(sim.state_of("Etl01"), "KILLED");
    assert_eq!(sim.state_of("Feat02"), "RUNNING");
    assert_eq!(sim.state_of("Other03"), "RUNNING", "another account's app of the same name is untouched");
    let outputs: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["output", "-json"]).stdout()).unwrap();
    let found = &outputs["found"]["value"][0];
    assert_eq!(found["name"], "nightly-etl");
    assert_eq!(found["state"], "RUNNING", "as listed before the kill");
    assert!(found["app_id"].as_str().unwrap().starts_with("application_"));
});

on_each_terraform!(detail_data_source_reads_one_app, |terraform| {
    let sim = sim_with_named_apps();
    let config = r#"
data "ncloud_dataforest_aiapp" "etl" {
  id = "Etl01"
}

output "name" {
  value = data.ncloud_dataforest_aiapp.etl.name
}

output "state" {
  value = data.ncloud_dataforest_aiapp.etl.state
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let outputs: serde_json::Value =
        serde_json::from_str(&workspace.ok(&["output", "-json"]).stdout()).unwrap();
    assert_eq!(outputs["name"]["value"], "nightly-etl");
    assert_eq!(outputs["state"]["value"], "RUNNING");

    workspace.write_main(r#"data "ncloud_dataforest_aiapp" "gone" { id = "Nobody" }"#);
    workspace
        .fails(&["plan", "-input=false"])
        .assert_contains("DataForest look-up failed")
        .assert_contains("no such element");
});
