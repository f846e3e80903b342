//! Under real Terraform: changing `when` never kills one app twice in one apply. `destroy` ->
//! `create` kills in place; `create` -> `destroy` sends nothing and arms the kill at destroy; and
//! a replacement that destroys a `when = "destroy"` resource and creates a `when = "create"` one
//! of the same app sends one kill.

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
