//! Under real Terraform: a `for_each` of a dozen kills runs in parallel (the simulator sees
//! several in flight at once); when some fail, those that succeeded stay recorded and the next
//! apply retries only the failed ones.

use dataforest_sim::App;

use crate::harness::{Sim, Workspace};

fn ids() -> Vec<String> {
    (1..=12).map(|n| format!("App{n:02}")).collect()
}

fn for_each_config() -> String {
    let set = ids().iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(", ");
    format!(
        "resource \"ncloud_dataforest_aiapp_kill\" \"all\" {{\n  for_each = toset([{set}])\n  app_id   = each.value\n}}\n"
    )
}

on_each_terraform!(dozen_kills_in_parallel, |terraform| {
    let ids = ids();
    let sim = Sim::start(&ids.iter().map(String::as_str).collect::<Vec<_>>());
    // Each answer takes a while, as from a distant gateway, so kills sent together overlap.
    sim.simulator.set_latency(std::time::Duration::from_millis(300));
    let workspace = Workspace::new(terraform, &sim, &for_each_config());
    workspace.ok(&["apply", "-auto-approve", "-input=false", "-parallelism=12"]).assert_contains("12 added");
    let most = sim.simulator.most_kills_in_flight();
    assert!(most >= 2, "the kills ran one at a time (at most {most} in flight)");
    let state = workspace.state();
    for id in &ids {
        assert_eq!(state[&format!("ncloud_dataforest_aiapp_kill.all[\"{id}\"]")]["id"], id.as_str());
        assert_eq!(sim.simulator.kill_calls(id), 1);
        assert_eq!(sim.state_of(id), "KILLED");
    }
});

on_each_terraform!(failures_in_for_each_keep_the_successes, |terraform| {
    let ids = ids();
    // Apps 11 and 12 do not exist yet: their kills fail.
    let sim = Sim::start(&ids[..10].iter().map(String::as_str).collect::<Vec<_>>());
    let workspace = Workspace::new(terraform, &sim, &for_each_config());
    workspace.apply_fails().assert_contains("no such element");
    let state = workspace.state();
    assert_eq!(state.len(), 10, "only the successful kills are recorded: {state:?}");
    assert!(!state.contains_key("ncloud_dataforest_aiapp_kill.all[\"App11\"]"));

    sim.simulator.put_app(App::running("App11"));
    sim.simulator.put_app(App::running("App12"));
    workspace.apply().assert_contains("2 added");
    assert_eq!(workspace.state().len(), 12);
    for id in &ids {
        let expected = if id == "App11" || id == "App12" { 2 } else { 1 };
        assert_eq!(sim.simulator.kill_calls(id), expected, "{id}");
    }
});
