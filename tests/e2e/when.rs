//! Under real Terraform: changing `when` never kills one app twice in one apply. `destroy` ->
//! `create` kills in place; `create` -> `destroy` sends nothing and arms the kill at destroy; and
//! a replacement that destroys a `when = "destroy"` resource and creates a `when = "create"` one
//! of the same app sends one kill; and a bulk kill's `when` unknown at plan that turns out
//! `destroy` applies consistently on both Terraform versions.

use crate::harness::{Sim, Workspace};

fn config(when: &str, run: &str) -> String {
    format!(
        "resource \"ncloud_dataforest_aiapp_kill\" \"job\" {{\n  app_id   = \"Pipe01\"\n  when     = \"{when}\"\n  \
         triggers = {{ run = \"{run}\" }}\n}}\n"
    )
}

const JOB: &str = "ncloud_dataforest_aiapp_kill.job";

on_each_terraform!(changing_when_never_kills_one_app_twice, |terraform| {
    let sim = Sim::start(&["Pipe01"]);
    let workspace = Workspace::new(terraform, &sim, &config("destroy", "1"));
    workspace.apply();
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 0);

    // destroy -> create: an in-place change that kills once.
    workspace.write_main(&config("create", "1"));
    workspace.apply().assert_contains("0 added, 1 changed, 0 destroyed");
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 1);
    assert_eq!(workspace.state()[JOB]["success"], true);
    assert_eq!(sim.state_of("Pipe01"), "KILLED");

    // create -> destroy: sends nothing; the kill at create stays recorded.
    workspace.write_main(&config("destroy", "1"));
    workspace.apply().assert_contains("0 added, 1 changed, 0 destroyed");
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 1);
    assert_eq!(workspace.state()[JOB]["when"], "destroy");

    // destroy -> create with new triggers replaces the resource: the old one's destroy kills, the
    // new one reuses that answer.
    workspace.write_main(&config("create", "2"));
    workspace.apply().assert_contains("1 added, 0 changed, 1 destroyed");
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 2, "one kill in that apply");
    let job = &workspace.state()[JOB];
    assert_eq!((&job["when"], &job["success"]), (&"create".into(), &true.into()));
    let replan = workspace.run(&["plan", "-detailed-exitcode", "-input=false"]);
    assert_eq!(replan.code(), Some(0), "{replan}");

    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_eq!(sim.simulator.kill_calls("Pipe01"), 2, "a create-time resource's destroy sends nothing");
});

/// A bulk kill whose `when` is `create`, or, once `gate` is `true`, a value unknown until
/// apply that turns out `destroy`.
fn bulk_when(gate: bool) -> String {
    let when = if gate { r#"null_resource.gate.id != "" ? "destroy" : "create""# } else { r#""create""# };
    format!(
        "resource \"null_resource\" \"gate\" {{\n  triggers = {{ on = \"{gate}\" }}\n}}\n\n\
         resource \"ncloud_dataforest_aiapps_kill\" \"jobs\" {{\n  account_id = \"df-account\"\n  \
         name_regex = \"^app-Bulk\"\n  when       = {when}\n}}\n"
    )
}

on_each_terraform!(a_when_unknown_at_plan_that_turns_out_destroy_applies_consistently, |terraform| {
    let sim = Sim::start(&["Bulk01", "Bulk02"]);
    let workspace = Workspace::new(terraform, &sim, &bulk_when(false));
    // HashiCorp's null provider, for a value unknown at plan on every Terraform version.
    let null = terraform.path().parent().unwrap().parent().unwrap().join("null-2.1.2");
    assert!(null.join("terraform-provider-null").is_file(), "run scripts/install-terraform");
    workspace.override_provider("hashicorp/null", &null);
    workspace.apply();
    let address = "ncloud_dataforest_aiapps_kill.jobs";
    assert_eq!(workspace.state()[address]["killed"].as_array().map(Vec::len), Some(2));

    // `when` unknown at plan: the recorded kills may stay or go, so `killed` is unknown until
    // the apply, which finds `destroy` and changes in place without a kill.
    workspace.write_main(&bulk_when(true));
    workspace.apply().assert_contains("1 added, 1 changed, 1 destroyed");
    let jobs = &workspace.state()[address];
    assert_eq!((&jobs["when"], &jobs["killed"]), (&"destroy".into(), &serde_json::Value::Null));
    assert_eq!(sim.kills_received(), 2, "the change of when killed nothing");
    let replan = workspace.run(&["plan", "-detailed-exitcode", "-input=false"]);
    assert_eq!(replan.code(), Some(0), "{replan}");
});
