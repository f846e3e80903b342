//! Under real Terraform: a failed kill records nothing and the next apply retries it; bad input
//! and missing credentials are clear errors before any call; import is refused.

use dataforest_sim::App;

use crate::harness::{self, Sim, Workspace};

on_each_terraform!(failed_kill_records_nothing_and_reapply_works, |terraform| {
    let sim = Sim::start(&[]);
    let workspace = Workspace::new(
        terraform,
        &sim,
        r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "Gh0st" }"#,
    );
    let failed = workspace.apply_fails();
    failed
        .assert_contains("DataForest kill failed")
        .assert_contains("HTTP 404")
        .assert_contains("no such element");
    assert!(workspace.state().is_empty(), "a failed kill must not be recorded: {}", workspace.state_text());
    assert_eq!(sim.simulator.kill_calls("Gh0st"), 1);

    sim.simulator.put_app(App::running("Gh0st"));
    workspace.apply();
    assert_eq!(workspace.state()["ncloud_dataforest_aiapp_kill.job"]["success"], true);
    assert_eq!(sim.simulator.kill_calls("Gh0st"), 2);
});

on_each_terraform!(invalid_app_id_fails_validation_with_its_path, |terraform| {
    let sim = Sim::start(&[]);
    let workspace = Workspace::new(
        terraform,
        &sim,
        r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "not-an-id!" }"#,
    );
    let validate = workspace.fails(&["validate"]);
    validate.assert_contains("Invalid app_id").assert_contains("1 to 22 characters");
    // Terraform shows the attribute the diagnostic points at.
    validate.assert_contains("app_id = \"not-an-id!\"");
    workspace.apply_fails().assert_contains("Invalid app_id");
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(missing_credentials_name_attribute_and_env_before_any_call, |terraform| {
    let sim = Sim::start(&["A1"]);
    let mut workspace =
        Workspace::new(terraform, &sim, r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "A1" }"#);
    workspace.env.remove("NCLOUD_ACCESS_KEY");
    let plan = workspace.fails(&["plan", "-input=false"]);
    plan.assert_contains("Missing access_key").assert_contains("NCLOUD_ACCESS_KEY");
    workspace.env.insert("NCLOUD_ACCESS_KEY".into(), harness::ACCESS_KEY.into());
    workspace.env.remove("NCLOUD_SECRET_KEY");
    workspace.apply_fails().assert_contains("NCLOUD_SECRET_KEY");
    assert!(sim.simulator.calls().is_empty());
    assert!(workspace.state().is_empty());
});

on_each_terraform!(credentials_from_block_and_from_cli_profile, |terraform| {
    let sim = Sim::start(&["A1", "B2"]);
    let block = format!(
        r#"provider "ncloud" {{
  access_key = "{}"
  secret_key = "{}"
  endpoint   = "{}"
}}
resource "ncloud_dataforest_aiapp_kill" "job" {{ app_id = "A1" }}
"#,
        harness::ACCESS_KEY,
        harness::SECRET_KEY,
        sim.endpoint
    );
    let mut workspace = Workspace::new(terraform, &sim, &block);
    for name in ["NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY", "NCLOUD_DATAFOREST_ENDPOINT"] {
        workspace.env.remove(name);
    }
    workspace.apply();
    assert_eq!(sim.state_of("A1"), "KILLED");

    let profile = format!(
        r#"provider "ncloud" {{
  profile  = "ops"
  endpoint = "{}"
}}
resource "ncloud_dataforest_aiapp_kill" "job" {{ app_id = "B2" }}
"#,
        sim.endpoint
    );
    std::fs::create_dir_all(workspace.home().join(".ncloud")).unwrap();
    std::fs::write(
        workspace.home().join(".ncloud/configure"),
        format!(
            "[DEFAULT]\nncloud_access_key_id = wrong\nncloud_secret_access_key = wrong\n\n[ops]\n\
             ncloud_access_key_id = {}\nncloud_secret_access_key = {}\n",
            harness::ACCESS_KEY,
            harness::SECRET_KEY
        ),
    )
    .unwrap();
    workspace.write_main(&profile);
    workspace.apply();
    assert_eq!(sim.state_of("B2"), "KILLED");
});

on_each_terraform!(wrong_secret_is_refused_by_the_gateway_and_not_recorded, |terraform| {
    let sim = Sim::start(&["A1"]);
    let mut workspace =
        Workspace::new(terraform, &sim, r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "A1" }"#);
    workspace.env.insert("NCLOUD_SECRET_KEY".into(), "not-the-secret".into());
    let failed = workspace.apply_fails();
    failed.assert_contains("HTTP 401").assert_contains("Authentication Failed");
    assert!(!failed.all().contains("not-the-secret"));
    assert!(workspace.state().is_empty());
    assert_eq!(sim.state_of("A1"), "RUNNING");
});

on_each_terraform!(site_without_published_endpoint_needs_one, |terraform| {
    let sim = Sim::start(&[]);
    let mut workspace = Workspace::new(
        terraform,
        &sim,
        "provider \"ncloud\" {\n  site = \"gov\"\n}\nresource \"ncloud_dataforest_aiapp_kill\" \"job\" { app_id = \"A1\" }\n",
    );
    workspace.env.remove("NCLOUD_DATAFOREST_ENDPOINT");
    workspace.fails(&["plan", "-input=false"]).assert_contains("Endpoint required").assert_contains("gov");
});

on_each_terraform!(plain_http_to_a_remote_host_is_refused_before_any_call, |terraform| {
    let sim = Sim::start(&[]);
    let workspace = Workspace::new(
        terraform,
        &sim,
        "provider \"ncloud\" {\n  endpoint = \"http://df.example.com\"\n}\nresource \"ncloud_dataforest_aiapp_kill\" \"job\" { app_id = \"A1\" }\n",
    );
    workspace.fails(&["validate"]).assert_contains("Invalid endpoint").assert_contains("loopback");
});

on_each_terraform!(import_is_refused_with_an_explanation, |terraform| {
    let sim = Sim::start(&["A1"]);
    let workspace =
        Workspace::new(terraform, &sim, r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "A1" }"#);
    workspace
        .fails(&["import", "-input=false", "-no-color", "ncloud_dataforest_aiapp_kill.job", "A1"])
        .assert_contains("Import is not supported")
        .assert_contains("nothing in DataForest");
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(bad_provider_settings_fail_validate_with_their_paths, |terraform| {
    let sim = Sim::start(&[]);
    let config = r#"
provider "ncloud" {
  site            = "moon"
  max_retries     = -1
  request_timeout = "soon"
}
resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id = "A1"
  timeouts {
    create = "whenever"
  }
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let validate = workspace.fails(&["validate"]);
    for expected in ["Invalid site", "Invalid max_retries", "Invalid request_timeout"] {
        validate.assert_contains(expected);
    }
    validate.assert_contains("max_retries = -1");
    // Terraform checks resources once their provider's block is valid.
    let provider = config.find("resource").unwrap();
    workspace.write_main(&config[provider..]);
    workspace
        .fails(&["validate"])
        .assert_contains("Invalid time-out")
        .assert_contains(r#"create = "whenever""#);
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(keys_from_the_cli_profile_come_only_as_a_pair, |terraform| {
    let sim = Sim::start(&["A1"]);
    let config = format!(
        "provider \"ncloud\" {{\n  access_key = \"{}\"\n}}\nresource \"ncloud_dataforest_aiapp_kill\" \"job\" {{ app_id = \"A1\" }}\n",
        harness::ACCESS_KEY
    );
    let mut workspace = Workspace::new(terraform, &sim, &config);
    workspace.env.remove("NCLOUD_ACCESS_KEY");
    workspace.env.remove("NCLOUD_SECRET_KEY");
    std::fs::create_dir_all(workspace.home().join(".ncloud")).unwrap();
    std::fs::write(
        workspace.home().join(".ncloud/configure"),
        format!(
            "[DEFAULT]\nncloud_access_key_id = other\nncloud_secret_access_key = {}\n",
            harness::SECRET_KEY
        ),
    )
    .unwrap();
    // The profile's secret belongs to its own access key: it is never paired with the block's.
    let failed = workspace.apply_fails();
    failed.assert_contains("Missing secret_key").assert_contains("only as a pair");
    assert!(sim.simulator.calls().is_empty());
    assert!(workspace.state().is_empty());
});

on_each_terraform!(an_unreadable_profile_file_matters_only_when_a_key_is_needed_from_it, |terraform| {
    let sim = Sim::start(&["A1"]);
    let mut workspace =
        Workspace::new(terraform, &sim, r#"resource "ncloud_dataforest_aiapp_kill" "job" { app_id = "A1" }"#);
    // A folder where the file should be: it cannot be read.
    std::fs::create_dir_all(workspace.home().join(".ncloud/configure")).unwrap();
    workspace.ok(&["plan", "-input=false"]);
    workspace.env.remove("NCLOUD_ACCESS_KEY");
    workspace.env.remove("NCLOUD_SECRET_KEY");
    workspace
        .fails(&["plan", "-input=false"])
        .assert_contains("Cannot read the NCP CLI file")
        .assert_contains(".ncloud/configure");
    assert!(sim.simulator.calls().is_empty());
});
