//! Under real Terraform: the secret key is in neither state nor `TF_LOG=trace` output, even when
//! written in the provider block; an `app_id` unknown at plan (from `terraform_data`) applies.

use crate::harness::{self, Sim, Workspace};

on_each_terraform!(secret_is_absent_from_state_plan_and_trace_logs, |terraform| {
    let sim = Sim::start(&["A1"]);
    let config = format!(
        "provider \"ncloud\" {{\n  secret_key = \"{}\"\n}}\nresource \"ncloud_dataforest_aiapp_kill\" \"job\" {{ app_id = \"A1\" }}\n",
        harness::SECRET_KEY
    );
    let mut workspace = Workspace::new(terraform, &sim, &config);
    workspace.env.remove("NCLOUD_SECRET_KEY");
    workspace.env.insert("TF_LOG".into(), "trace".into());
    let apply = workspace.apply();
    let plan = workspace.run(&["plan", "-input=false"]);
    workspace.env.remove("TF_LOG");
    let show = workspace.ok(&["show"]);

    // The trace really holds the provider's own logs, so their silence about the secret means something.
    assert!(
        apply.stderr().contains("\"@module\":\"ncloud\"")
            || apply.stderr().contains("provider.terraform-provider-ncloud"),
        "{apply}"
    );
    assert!(apply.stderr().contains("DataForest call"), "the HTTP call should be logged at debug: {apply}");
    // Nor do the access key or the signature show up in the provider's own log lines.
    let provider_lines: String = apply
        .stderr()
        .lines()
        .filter(|line| line.contains("terraform-provider-ncloud"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(provider_lines.contains("DataForest call"), "{provider_lines}");
    // Terraform re-renders the provider's JSON lines as `key=value` pairs.
    let served = provider_lines
        .lines()
        .find(|line| line.contains("served") && line.contains("tf_rpc=ApplyResourceChange"))
        .expect("an ApplyResourceChange log line");
    for field in ["tf_req_id=", "tf_resource_type=ncloud_dataforest_aiapp_kill", "duration_ms="] {
        assert!(served.contains(field), "RPC logs should carry {field}: {served}");
    }
    assert!(!provider_lines.contains(harness::ACCESS_KEY), "the access key leaked into the provider's logs");
    assert!(!provider_lines.contains("signature-v2:"), "a signature header leaked into the provider's logs");
    for (what, text) in [
        ("apply", apply.all()),
        ("plan", plan.all()),
        ("show", show.all()),
        ("state", workspace.state_text()),
    ] {
        assert!(!text.contains(harness::SECRET_KEY), "the secret key leaked into {what}");
    }
    assert_eq!(sim.state_of("A1"), "KILLED");
});

#[test]
fn app_id_unknown_at_plan_applies_on_terraform_1_15_5() {
    let sim = Sim::start(&["Late1"]);
    let config = r#"
resource "terraform_data" "lookup" {
  input = "Late1"
}

resource "ncloud_dataforest_aiapp_kill" "job" {
  app_id = terraform_data.lookup.output
}
"#;
    let workspace = Workspace::new(harness::Terraform::V1_15_5, &sim, config);
    let plan = workspace.ok(&["plan", "-input=false"]);
    plan.assert_contains("app_id = (known after apply)");
    workspace.apply();
    assert_eq!(workspace.state()["ncloud_dataforest_aiapp_kill.job"]["id"], "Late1");
    assert_eq!(sim.state_of("Late1"), "KILLED");
}

#[test]
fn provider_setting_unknown_at_plan_does_not_fail_on_terraform_1_15_5() {
    let sim = Sim::start(&["A1"]);
    let config = format!(
        r#"
resource "terraform_data" "endpoint" {{
  input = "{}"
}}

provider "ncloud" {{
  endpoint = terraform_data.endpoint.output
}}

resource "ncloud_dataforest_aiapp_kill" "job" {{
  app_id = "A1"
}}
"#,
        sim.endpoint
    );
    let mut workspace = Workspace::new(harness::Terraform::V1_15_5, &sim, &config);
    workspace.env.remove("NCLOUD_DATAFOREST_ENDPOINT");
    workspace.ok(&["plan", "-input=false"]);
    workspace.apply();
    assert_eq!(sim.state_of("A1"), "KILLED");
}
