//! Under real Terraform: the selector (each field alone, and combined) in the data source and the
//! bulk kill resource; the safety cap; one failed kill among ten; a destroy-time bulk kill taking
//! apps started after the apply, and one whose listing or kill fails; an invalid pattern caught by
//! validate; exclusions by id and by pattern, and a workspace, sparing apps that otherwise match
//! (with a pattern escaped from a variable, as the docs say); states YARN has not failing validate;
//! a kill that matches nothing warning, and `min_apps` killing none when too few match; a destroy
//! hook that already matches more than `max_apps` saying so at create; `settle_rounds` killing apps
//! started during the teardown, and failing on those still matching after the last round; an
//! unknown account failing before any kill (resource and action) and one gone by the destroy
//! warning; apps of another account in the listing never killed; the provider's account lists
//! refusing a bulk kill at plan and a single kill before it is sent; the plan's preview of what a
//! kill would take (at a destroy plan on Terraform 1.3 and later);
//! the bulk action's dry run and real run (Terraform 1.15.5); and a `getList` of 20,000 apps.

use std::time::{Duration, SystemTime};

use dataforest_sim::{App, Fault};

use crate::harness::{self, Sim, Terraform, Workspace};

fn started(ago: Duration) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() - ago).to_string()
}

fn app(id: &str, name: &str, queue: &str, state: &str, started_at: String) -> App {
    App {
        account_id: "acc1".into(),
        name: name.into(),
        queue_name: queue.into(),
        state: state.into(),
        started_at,
        ..App::running(id)
    }
}

const HOUR: Duration = Duration::from_secs(3600);

fn seeded_sim() -> Sim {
    let sim = Sim::start(&[]);
    for app in [
        app("Sel01", "env-42-etl", "gpu", "RUNNING", started(Duration::from_secs(60))),
        app("Sel02", "env-42-train", "gpu", "RUNNING", started(8 * HOUR)),
        app("Sel03", "env-7-etl", "default", "ACCEPTED", started(8 * HOUR)),
        app("Sel04", "env-42-old", "gpu", "KILLED", started(48 * HOUR)),
        app("Sel05", "env-42-mystery", "gpu", "RUNNING", String::new()),
        App { account_id: "acc2".into(), ..app("Oth01", "env-42-etl", "gpu", "RUNNING", started(8 * HOUR)) },
    ] {
        sim.simulator.put_app(app);
    }
    sim
}

const SELECTORS: &str = r#"
data "ncloud_dataforest_aiapps" "all" {
  account_id = "acc1"
}
data "ncloud_dataforest_aiapps" "by_name" {
  account_id = "acc1"
  name       = "env-7-etl"
}
data "ncloud_dataforest_aiapps" "by_regex" {
  account_id = "acc1"
  name_regex = "^env-42-"
}
data "ncloud_dataforest_aiapps" "by_queue" {
  account_id = "acc1"
  queue_name = "default"
}
data "ncloud_dataforest_aiapps" "by_states" {
  account_id = "acc1"
  states     = ["running"]
}
data "ncloud_dataforest_aiapps" "by_age" {
  account_id          = "acc1"
  running_longer_than = "6h"
}
output "ids" {
  value = {
    all       = data.ncloud_dataforest_aiapps.all.ids
    by_name   = data.ncloud_dataforest_aiapps.by_name.ids
    by_regex  = data.ncloud_dataforest_aiapps.by_regex.ids
    by_queue  = data.ncloud_dataforest_aiapps.by_queue.ids
    by_states = data.ncloud_dataforest_aiapps.by_states.ids
    by_age    = data.ncloud_dataforest_aiapps.by_age.ids
  }
}
resource "ncloud_dataforest_aiapps_kill" "combined" {
  account_id          = "acc1"
  name_regex          = "^env-42-"
  queue_name          = "gpu"
  running_longer_than = "6h"
}
"#;

fn outputs(workspace: &Workspace) -> serde_json::Value {
    serde_json::from_str(&workspace.ok(&["output", "-json"]).stdout()).unwrap()
}

on_each_terraform!(each_selector_field_alone_and_combined, |terraform| {
    let sim = seeded_sim();
    let workspace = Workspace::new(terraform, &sim, SELECTORS);
    let apply = workspace.apply();
    let ids = &outputs(&workspace)["ids"]["value"];
    let list = |name: &str| {
        ids[name].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(
        list("all"),
        ["Sel01", "Sel02", "Sel03", "Sel04", "Sel05"],
        "the data source lists ended apps too"
    );
    assert_eq!(list("by_name"), ["Sel03"]);
    assert_eq!(list("by_regex"), ["Sel01", "Sel02", "Sel04", "Sel05"]);
    assert_eq!(list("by_queue"), ["Sel03"]);
    assert_eq!(list("by_states"), ["Sel01", "Sel02", "Sel05"]);
    assert_eq!(list("by_age"), ["Sel02", "Sel03", "Sel04"]);
    apply.assert_contains("Start time unreadable").assert_contains("Sel05");

    // Combined, in the bulk kill: only the long-running gpu app of env 42 (ended apps never).
    let killed = &workspace.state()["ncloud_dataforest_aiapps_kill.combined"]["killed"];
    assert_eq!(killed.as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(
        (&killed[0]["id"], &killed[0]["name"], &killed[0]["success"]),
        (&"Sel02".into(), &"env-42-train".into(), &true.into())
    );
    for id in ["Sel01", "Sel03", "Sel04", "Sel05", "Oth01"] {
        assert_eq!(sim.simulator.kill_calls(id), 0, "{id}");
    }
    assert_eq!(sim.state_of("Sel02"), "KILLED");
    // The recorded bulk kill plans no change (the outputs change: Sel02 is no longer running).
    let replan = workspace.ok(&["plan", "-input=false"]);
    for change in ["will be created", "will be updated", "must be replaced", "will be destroyed"] {
        assert!(!replan.stdout().contains(change), "{replan}");
    }
});

on_each_terraform!(more_matches_than_max_apps_kill_none, |terraform| {
    let sim = Sim::start(&[]);
    for n in 1..=5 {
        sim.simulator.put_app(app(
            &format!("Cap0{n}"),
            &format!("batch-{n}"),
            "default",
            "RUNNING",
            started(HOUR),
        ));
    }
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "all" {
  account_id = "acc1"
  name_regex = "^batch-"
  max_apps   = 3
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let failed = workspace.apply_fails();
    failed
        .assert_contains("Too many apps selected")
        .assert_contains("5 apps match")
        .assert_contains("Cap01 (batch-1)");
    assert_eq!(sim.kills_received(), 0, "nothing is killed");
    assert!(workspace.state().is_empty());
});

on_each_terraform!(one_failed_kill_among_ten_is_named_and_retried_alone, |terraform| {
    let sim = Sim::start(&[]);
    let ids: Vec<String> = (1..=10).map(|n| format!("Ten{n:02}")).collect();
    for id in &ids {
        sim.simulator.put_app(app(id, &format!("job-{id}"), "default", "RUNNING", started(HOUR)));
    }
    sim.simulator.fail_kills("Ten07", [Fault::Status(403)]);
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "jobs" {
  account_id  = "acc1"
  name_regex  = "^job-"
  concurrency = 4
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    let failed = workspace.apply_fails();
    failed
        .assert_contains("Of the 10 selected apps: 9 killed, 1 failed.")
        .assert_contains("Killed: Ten01 (job-Ten01), Ten02 (job-Ten02)")
        .assert_contains("Ten07 (job-Ten07)")
        .assert_contains("not allowed to access")
        .assert_contains("recorded in `killed` and the resource is tainted");
    // The kills that went through are kept, and the resource is tainted.
    let address = "ncloud_dataforest_aiapps_kill.jobs";
    let killed = workspace.state()[address]["killed"].clone();
    let recorded: Vec<&str> =
        killed.as_array().unwrap().iter().map(|app| app["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = ids.iter().map(String::as_str).filter(|id| *id != "Ten07").collect();
    assert_eq!(recorded, expected, "{killed}");
    assert_eq!(killed[0]["state"], "RUNNING", "the state listed before the kill: {killed}");
    assert!(killed[0]["killed_at"].as_str().is_some_and(|at| at.ends_with('Z')), "{killed}");
    assert_eq!(workspace.status(address).as_deref(), Some("tainted"), "{}", workspace.state_text());
    for id in &ids {
        let expected = if id == "Ten07" { "RUNNING" } else { "KILLED" };
        assert_eq!(sim.state_of(id), expected, "{id}");
    }

    // The next apply replaces it and selects again: only the one still running is left.
    workspace.apply().assert_contains("1 added, 0 changed, 1 destroyed");
    let killed = &workspace.state()[address]["killed"];
    assert_eq!(killed.as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(killed[0]["id"], "Ten07");
    assert_eq!(workspace.status(address), None);
    for id in &ids {
        assert_eq!(sim.simulator.kill_calls(id), if id == "Ten07" { 2 } else { 1 }, "{id}");
    }
});

on_each_terraform!(a_destroy_time_bulk_kill_takes_apps_started_after_the_apply, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.put_account("acc1", "df-account");
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id = "acc1"
  name_regex = "^late-"
  when       = "destroy"
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let calls: Vec<String> = sim.simulator.calls().iter().map(|call| call.path.clone()).collect();
    // The plan and the apply (each its own provider process, the apply planning again) check the
    // account and list; nothing else is sent, no kill above all.
    assert!(
        calls.iter().all(|path| path.ends_with("/accounts/getList") || path.ends_with("/aiapps/getList")),
        "{calls:?}"
    );
    assert_eq!(calls.last().map(String::as_str), Some("/api/v2/aiapps/getList"), "{calls:?}");
    for id in ["Late01", "Late02"] {
        sim.simulator.put_app(app(id, &format!("late-{id}"), "default", "RUNNING", started(HOUR)));
    }
    sim.simulator.put_app(app("Early01", "early-1", "default", "RUNNING", started(HOUR)));
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]).assert_contains("1 destroyed");
    assert_eq!((sim.state_of("Late01").as_str(), sim.state_of("Late02").as_str()), ("KILLED", "KILLED"));
    assert_eq!(sim.state_of("Early01"), "RUNNING");
    assert!(workspace.state().is_empty());
});

on_each_terraform!(a_failed_destroy_time_bulk_kill_keeps_the_resource_for_the_next_destroy, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.put_account("acc1", "df-account");
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id = "acc1"
  name_regex = "^late-"
  when       = "destroy"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    // A look-up that fails at create fails the apply: a destroy hook that cannot work is not
    // recorded. (The first look-up is the accounts the keys see.)
    workspace.env.insert("NCLOUD_SECRET_KEY".into(), "not-the-key".into());
    workspace
        .apply_fails()
        .assert_contains("Reading the accounts these keys see failed")
        .assert_contains("Check access_key and secret_key, and that the machine's clock is right");
    assert!(workspace.state().is_empty(), "{}", workspace.state_text());
    workspace.env.insert("NCLOUD_SECRET_KEY".into(), harness::SECRET_KEY.into());
    workspace.apply();

    for id in ["Late01", "Late02"] {
        sim.simulator.put_app(app(id, &format!("late-{id}"), "default", "RUNNING", started(HOUR)));
    }
    sim.simulator.fail_kills("Late02", [Fault::Status(403)]);
    let failed = workspace.fails(&["destroy", "-auto-approve", "-input=false"]);
    failed
        .assert_contains("Of the 2 selected apps: 1 killed, 1 failed.")
        .assert_contains("Killed: Late01 (late-Late01).")
        .assert_contains("Late02 (late-Late02)");
    assert!(
        workspace.state().contains_key("ncloud_dataforest_aiapps_kill.teardown"),
        "the resource stays for the next destroy: {}",
        workspace.state_text()
    );
    assert_eq!((sim.state_of("Late01").as_str(), sim.state_of("Late02").as_str()), ("KILLED", "RUNNING"));

    workspace
        .ok(&["destroy", "-auto-approve", "-input=false"])
        .assert_contains("1 destroyed")
        .assert_contains("Destroy killed 1 app(s) of account \"acc1\"")
        .assert_contains(
            "killed 1 app(s) of account \"acc1\": Late02 (late-Late02). Set the provider's audit_log",
        );
    assert_eq!(sim.state_of("Late02"), "KILLED");
    assert_eq!(sim.simulator.kill_calls("Late01"), 1, "an ended app no longer matches");
    assert!(workspace.state().is_empty());
});

on_each_terraform!(retargeting_a_destroy_hook_kills_nothing_until_the_destroy, |terraform| {
    let sim = Sim::start(&[]);
    for (id, name) in [("Old01", "old-1"), ("New01", "new-1")] {
        sim.simulator.put_app(app(id, name, "default", "RUNNING", started(HOUR)));
    }
    let hook = |pattern: &str| {
        format!(
            "resource \"ncloud_dataforest_aiapps_kill\" \"teardown\" {{\n  account_id = \"acc1\"\n  \
             name_regex = \"{pattern}\"\n  when = \"destroy\"\n}}\n"
        )
    };
    let workspace = Workspace::new(terraform, &sim, &hook("^old-"));
    workspace.apply();
    // A changed selector applies in place: the old selection is not killed mid-apply.
    workspace.write_main(&hook("^new-"));
    workspace.apply().assert_contains("1 changed").assert_contains("0 destroyed");
    assert_eq!(sim.simulator.kill_calls("Old01"), 0, "the old selection ran");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]).assert_contains("1 destroyed");
    assert_eq!((sim.state_of("Old01").as_str(), sim.state_of("New01").as_str()), ("RUNNING", "KILLED"));
});

on_each_terraform!(an_invalid_pattern_fails_validate_with_its_path, |terraform| {
    let sim = Sim::start(&[]);
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "bad" {
  account_id = "acc1"
  name_regex = "env-(42"
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace
        .fails(&["validate"])
        .assert_contains("Invalid regular expression")
        .assert_contains(r#"name_regex = "env-(42""#);
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(exclusions_spare_apps_that_otherwise_match, |terraform| {
    let sim = seeded_sim();
    let other_workspace =
        App { workspace_name: "other".into(), ..app("Ws01", "env-42-ws", "gpu", "RUNNING", started(HOUR)) };
    sim.simulator.put_app(other_workspace);
    // The prefix comes from a variable, escaped as the docs say.
    let config = r#"
variable "environment" {
  default = "env-42"
}
locals {
  prefix = "^${replace(var.environment, "/[.^$*+?()\\[\\]{}|\\\\]/", "\\$0")}-"
}
data "ncloud_dataforest_aiapps" "spared" {
  account_id         = "acc1"
  name_regex         = local.prefix
  exclude_ids        = ["Sel02"]
  exclude_name_regex = "-mystery$"
}
data "ncloud_dataforest_aiapps" "escaped" {
  account_id = "acc1"
  name_regex = "^${replace("env-4.", "/[.^$*+?()\\[\\]{}|\\\\]/", "\\$0")}-"
}
output "spared" {
  value = data.ncloud_dataforest_aiapps.spared.ids
}
output "escaped" {
  value = data.ncloud_dataforest_aiapps.escaped.ids
}
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id         = "acc1"
  name_regex         = local.prefix
  workspace_name     = "default"
  exclude_ids        = ["Sel02"]
  exclude_name_regex = "-mystery$"
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let outputs = outputs(&workspace);
    assert_eq!(outputs["spared"]["value"], serde_json::json!(["Sel01", "Sel04", "Ws01"]));
    assert_eq!(outputs["escaped"]["value"], serde_json::json!([]), "an escaped `.` matches only a dot");
    let killed = &workspace.state()["ncloud_dataforest_aiapps_kill.teardown"]["killed"];
    assert_eq!(killed.as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(killed[0]["id"], "Sel01");
    for spared in ["Sel02", "Sel05", "Ws01"] {
        assert_eq!(sim.simulator.kill_calls(spared), 0, "{spared}");
        assert_eq!(sim.state_of(spared), "RUNNING", "{spared}");
    }
    assert_eq!(sim.state_of("Sel01"), "KILLED");
});

on_each_terraform!(states_that_yarn_has_not_fail_validate_with_their_path, |terraform| {
    let sim = Sim::start(&[]);
    let typo = r#"
resource "ncloud_dataforest_aiapps_kill" "typo" {
  account_id = "acc1"
  states     = ["RUNNING", "RUNING"]
}
"#;
    let workspace = Workspace::new(terraform, &sim, typo);
    workspace
        .fails(&["validate"])
        .assert_contains("Invalid states")
        .assert_contains(r#""RUNING" is not a state a DataForest AI app can be in"#)
        .assert_contains(r#"states     = ["RUNNING", "RUNING"]"#);
    workspace.write_main(&typo.replace(r#"["RUNNING", "RUNING"]"#, "[]"));
    workspace.fails(&["validate"]).assert_contains("Empty states");
    let data = r#"
data "ncloud_dataforest_aiapps" "typo" {
  account_id = "acc1"
  state      = "runing"
}
"#;
    workspace.write_main(data);
    workspace
        .fails(&["validate"])
        .assert_contains("Invalid state")
        .assert_contains(r#"state      = "runing""#);
    assert!(sim.simulator.calls().is_empty());
});

on_each_terraform!(nothing_matched_warns_and_too_few_matches_kill_none, |terraform| {
    let sim = seeded_sim();
    let nothing = r#"
resource "ncloud_dataforest_aiapps_kill" "nothing" {
  account_id = "acc1"
  name_regex = "^env-99-"
}
"#;
    let workspace = Workspace::new(terraform, &sim, nothing);
    workspace
        .apply()
        .assert_contains("Nothing matched")
        .assert_contains(r#"No app of account "acc1" matches, so nothing was killed: 5 listed; 4 not ended; 0 matching name_regex"#);
    assert_eq!(workspace.state()["ncloud_dataforest_aiapps_kill.nothing"]["killed"], serde_json::json!([]));

    let too_few = r#"
resource "ncloud_dataforest_aiapps_kill" "too_few" {
  account_id = "acc1"
  name_regex = "^env-42-"
  queue_name = "gpu"
  min_apps   = 4
}
"#;
    workspace.write_main(too_few);
    workspace
        .apply_fails()
        .assert_contains("Too few apps selected")
        .assert_contains(
            r#"3 app(s) of account "acc1" match, fewer than min_apps (4) asks for, so none was killed"#,
        )
        .assert_contains(r#"5 listed; 4 not ended; 3 matching name_regex; 3 in queue "gpu""#);
    assert!(!workspace.state().contains_key("ncloud_dataforest_aiapps_kill.too_few"));
    for id in ["Sel01", "Sel02", "Sel03", "Sel04", "Sel05", "Oth01"] {
        assert_eq!(sim.simulator.kill_calls(id), 0, "{id}");
    }
});

on_each_terraform!(a_destroy_hook_over_max_apps_says_so_when_it_is_created, |terraform| {
    let sim = seeded_sim();
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "hook" {
  account_id = "acc1"
  name_regex = "^env-42-"
  max_apps   = 2
  when       = "destroy"
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace
        .apply()
        .assert_contains("The destroy would be refused")
        .assert_contains("3 apps match now, more than max_apps (2) allows")
        .assert_contains("Set max_apps to at least 3");
    let kills: usize = ["Sel01", "Sel02", "Sel05"].iter().map(|id| sim.simulator.kill_calls(id)).sum();
    assert_eq!(kills, 0, "a destroy hook kills nothing at create");
    // Raised and applied, the destroy goes through.
    workspace.write_main(&config.replace("max_apps   = 2", "max_apps   = 3"));
    let raised = workspace.apply();
    assert!(!raised.all().contains("The destroy would be refused"), "{raised}");
    workspace.ok(&["destroy", "-auto-approve", "-input=false"]);
    assert_eq!(sim.state_of("Sel02"), "KILLED");
});

const SETTLE: &str = r#"
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id    = "acc1"
  name_regex    = "^late-"
  settle_rounds = 1
}
"#;

on_each_terraform!(settle_rounds_kill_apps_started_during_the_teardown, |terraform| {
    let sim = Sim::start(&[]);
    // Each call takes 100 ms, so an app started when a kill arrives is there for the next list.
    sim.simulator.set_latency(Duration::from_millis(100));
    sim.simulator.put_app(app("Late01", "late-1", "gpu", "RUNNING", started(HOUR)));
    let starter = sim.start_when_killed("Late01", app("Late02", "late-2", "gpu", "RUNNING", started(HOUR)));
    let workspace = Workspace::new(terraform, &sim, SETTLE);
    workspace.apply();
    starter.join().unwrap();
    let killed = &workspace.state()["ncloud_dataforest_aiapps_kill.teardown"]["killed"];
    let ids: Vec<&str> = killed.as_array().unwrap().iter().map(|app| app["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["Late01", "Late02"]);
    assert_eq!((sim.state_of("Late01"), sim.state_of("Late02")), ("KILLED".into(), "KILLED".into()));
    let accounts =
        sim.simulator.calls().iter().filter(|call| call.path.ends_with("/accounts/getList")).count();
    assert_eq!(accounts, 2, "one look at the accounts for the plan, and one for every round of the apply");
});

on_each_terraform!(apps_still_matching_after_the_last_settle_round_fail_naming_them, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.set_latency(Duration::from_millis(100));
    sim.simulator.put_app(app("Late01", "late-1", "gpu", "RUNNING", started(HOUR)));
    let starters = [
        sim.start_when_killed("Late01", app("Late02", "late-2", "gpu", "RUNNING", started(HOUR))),
        sim.start_when_killed("Late02", app("Late03", "late-3", "gpu", "RUNNING", started(HOUR))),
    ];
    let workspace = Workspace::new(terraform, &sim, SETTLE);
    workspace
        .apply_fails()
        .assert_contains("Apps still match")
        .assert_contains("After 2 app(s) were killed and 1 settle round(s), 1 app(s) started meanwhile still match: Late03 (late-3)")
        .assert_contains("Before that, 2 app(s) were killed: Late01 (late-1), Late02 (late-2).")
        .assert_contains("recorded in `killed` and the resource is tainted");
    for starter in starters {
        starter.join().unwrap();
    }
    assert_eq!(sim.simulator.kill_calls("Late03"), 0);
    assert_eq!(sim.state_of("Late02"), "KILLED");
    // The two kills that went through are kept.
    let address = "ncloud_dataforest_aiapps_kill.teardown";
    let killed = &workspace.state()[address]["killed"];
    assert_eq!(killed.as_array().map(Vec::len), Some(2), "{killed}");
    assert_eq!(workspace.status(address).as_deref(), Some("tainted"));
});

on_each_terraform!(settle_rounds_count_against_max_apps, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.set_latency(Duration::from_millis(100));
    sim.simulator.put_app(app("Late01", "late-1", "gpu", "RUNNING", started(HOUR)));
    let starter = sim.start_when_killed("Late01", app("Late02", "late-2", "gpu", "RUNNING", started(HOUR)));
    let workspace = Workspace::new(
        terraform,
        &sim,
        &SETTLE.replace("settle_rounds = 1", "settle_rounds = 1\n  max_apps      = 1"),
    );
    workspace.apply_fails().assert_contains(
        "After 1 app(s) were killed, 1 more started meanwhile match, more than max_apps (1) allows in all",
    );
    starter.join().unwrap();
    assert_eq!(sim.simulator.kill_calls("Late02"), 0);
});

on_each_terraform!(an_unknown_account_fails_before_any_kill_and_one_gone_by_the_destroy_warns, |terraform| {
    let sim = seeded_sim();
    let typo = r#"
resource "ncloud_dataforest_aiapps_kill" "typo" {
  account_id = "acc3"
  name_regex = "^env-42-"
}
"#;
    let workspace = Workspace::new(terraform, &sim, typo);
    workspace
        .apply_fails()
        .assert_contains("Unknown account")
        .assert_contains(r#"These keys see no DataForest account "acc3""#)
        .assert_contains("They see: acc1, acc2.")
        .assert_contains(r#"account_id = "acc3""#);
    assert_eq!(sim.kills_received(), 0, "nothing is killed");
    assert!(workspace.state().is_empty());

    // A destroy hook on an account the keys no longer see by the destroy: nothing to kill.
    sim.simulator.put_account("acc9", "nine");
    workspace.write_main(
        &typo
            .replace("acc3", "acc9")
            .replace("\"typo\"", "\"hook\"")
            .replace("name_regex = \"^env-42-\"", "name_regex = \"^env-42-\"\n  when       = \"destroy\""),
    );
    workspace.apply();
    sim.simulator.remove_account("acc9");
    // With min_apps, nothing to kill is a failure even then: the resource stays.
    let strict = workspace.work_dir().join("main.tf");
    let hook = std::fs::read_to_string(&strict).unwrap();
    std::fs::write(
        &strict,
        hook.replace("when       = \"destroy\"", "when       = \"destroy\"\n  min_apps   = 1"),
    )
    .unwrap();
    sim.simulator.put_account("acc9", "nine");
    workspace.apply();
    sim.simulator.remove_account("acc9");
    workspace.fails(&["destroy", "-auto-approve", "-input=false"]).assert_contains("Unknown account");
    std::fs::write(&strict, hook).unwrap();
    sim.simulator.put_account("acc9", "nine");
    workspace.apply();
    sim.simulator.remove_account("acc9");
    workspace
        .ok(&["destroy", "-auto-approve", "-input=false"])
        .assert_contains("Account no longer seen")
        .assert_contains(r#"These keys see no account "acc9" any more"#);
    assert!(workspace.state().is_empty());
    assert_eq!(sim.kills_received(), 0, "nothing is killed");
});

on_each_terraform!(apps_of_another_account_in_the_listing_are_never_killed, |terraform| {
    let sim = seeded_sim();
    // A gateway that drops the account filter lists another account's app with the same name.
    sim.simulator
        .put_app(App { account_name: "other-account".into(), ..sim.simulator.app("Oth01").unwrap() });
    sim.simulator.set_list_ignores_account(true);
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id          = "acc1"
  name_regex          = "^env-42-etl$"
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace
        .apply()
        .assert_contains("Apps of another account listed")
        .assert_contains(r#"DataForest listed 1 app(s) whose accountId or accountName says they are another account's than "acc1""#);
    let killed = &workspace.state()["ncloud_dataforest_aiapps_kill.teardown"]["killed"];
    assert_eq!(killed.as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(killed[0]["id"], "Sel01");
    assert_eq!(sim.simulator.kill_calls("Oth01"), 0);
    assert_eq!(sim.state_of("Oth01"), "RUNNING");
});

#[test]
fn an_unknown_account_fails_the_action_before_any_kill_on_terraform_1_15_5() {
    let sim = seeded_sim();
    let config = r#"
action "ncloud_dataforest_aiapps_kill" "typo" {
  config {
    account_id = "acc3"
    name_regex = "^env-42-"
  }
}
"#;
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    workspace
        .fails(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-invoke=action.ncloud_dataforest_aiapps_kill.typo",
        ])
        .assert_contains("Unknown account")
        .assert_contains(r#"These keys see no DataForest account "acc3""#);
    assert_eq!(sim.kills_received(), 0, "nothing is killed");
}

on_each_terraform!(account_lists_refuse_before_anything_is_sent, |terraform| {
    let sim = seeded_sim();
    sim.simulator
        .put_app(App { account_name: "other-account".into(), ..sim.simulator.app("Oth01").unwrap() });
    let bulk = r#"
provider "ncloud" {
  allowed_account_ids = ["acc1"]
}
resource "ncloud_dataforest_aiapps_kill" "other" {
  account_id = "acc2"
  name_regex = "^env-42-"
}
"#;
    let workspace = Workspace::new(terraform, &sim, bulk);
    workspace.fails(&["plan", "-input=false"]).assert_contains("Account not allowed").assert_contains(
        r#"This selects in account "acc2", which the provider's allowed_account_ids refuses"#,
    );
    assert!(sim.simulator.calls().is_empty(), "refused at plan, before any call");

    // A single kill reads its app first, and refuses one of another account.
    let single = r#"
provider "ncloud" {
  allowed_account_ids = ["acc1"]
}
resource "ncloud_dataforest_aiapp_kill" "mine" {
  app_id = "Sel01"
}
resource "ncloud_dataforest_aiapp_kill" "theirs" {
  app_id = "Oth01"
}
"#;
    workspace.write_main(single);
    workspace.apply_fails().assert_contains(
        r#"AI app "Oth01" belongs to account "acc2", which the provider's allowed_account_ids refuses"#,
    );
    assert_eq!(sim.simulator.kill_calls("Oth01"), 0);
    assert_eq!(sim.state_of("Sel01"), "KILLED", "an app of an allowed account is killed");

    // A destroy hook of an allowed app is armed with one read of it, and one of an app DataForest
    // does not know still fails at create.
    let hooks = r#"
provider "ncloud" {
  allowed_account_ids = ["acc1"]
}
resource "ncloud_dataforest_aiapp_kill" "later" {
  app_id = "Sel03"
  when   = "destroy"
}
"#;
    workspace.write_main(hooks);
    workspace.apply();
    let reads = |id: &str| {
        sim.simulator
            .calls()
            .iter()
            .filter(|call| call.path.ends_with("/getDetail") && call.id.as_deref() == Some(id))
            .count()
    };
    assert_eq!(reads("Sel03"), 1, "the account check's read serves the check that the app exists");
    workspace.write_main(&hooks.replace("Sel03", "Ghost1"));
    workspace
        .apply_fails()
        .assert_contains("Account not verifiable")
        .assert_contains("DataForest does not know it");

    // An app whose getDetail answers 404 has no account to check: no kill is sent, even though
    // the app is there and running.
    sim.simulator.put_app(app("Sel06", "env-42-hidden", "gpu", "RUNNING", started(HOUR)));
    sim.simulator.fail_details("Sel06", [Fault::Status(404)]);
    workspace.write_main(&hooks.replace("Sel03", "Sel06").replace("\"destroy\"", "\"create\""));
    workspace
        .apply_fails()
        .assert_contains("Account not verifiable")
        .assert_contains(r#"AI app "Sel06" cannot be told to belong to a permitted account"#);
    assert_eq!(sim.simulator.kill_calls("Sel06"), 0, "nothing is sent");
    assert_eq!(sim.state_of("Sel06"), "RUNNING");

    // From the environment, a deny list.
    let mut workspace = Workspace::new(
        terraform,
        &sim,
        "resource \"ncloud_dataforest_aiapp_kill\" \"denied\" {\n  app_id = \"Sel02\"\n}\n",
    );
    workspace.env.insert("NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS".into(), "acc9, acc1".into());
    workspace.apply_fails().assert_contains(
        r#"AI app "Sel02" belongs to account "acc1", which the provider's forbidden_account_ids refuses"#,
    );
    assert_eq!(sim.simulator.kill_calls("Sel02"), 0);
});

on_each_terraform!(the_plan_shows_what_a_kill_would_take, |terraform| {
    let sim = seeded_sim();
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "now" {
  account_id  = "acc1"
  name_regex  = "^env-42-"
  exclude_ids = ["Sel05"]
}
resource "ncloud_dataforest_aiapps_kill" "hook" {
  account_id = "acc1"
  name_regex = "^env-7-"
  when       = "destroy"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    workspace
        .ok(&["plan", "-input=false"])
        .assert_contains(r#"Kill preview: 2 app(s) of account "acc1""#)
        .assert_contains(r#"2 app(s) of account "acc1" match now (1 more excluded), to be killed at this apply: Sel01 (env-42-etl), Sel02 (env-42-train)."#)
        // A destroy hook shows, when it is created, what it would take as things stand.
        .assert_contains(r#"1 app(s) of account "acc1" match now, to be killed at the destroy: Sel03 (env-7-etl)."#);
    assert_eq!(sim.kills_received(), 0, "a plan kills nothing");
    workspace.apply();
    // A destroy hook's destroy plan shows what it would take, where Terraform asks the provider
    // to plan destroys (1.3 and later).
    let destroy_plan = workspace.ok(&["plan", "-destroy", "-input=false"]);
    let shown = destroy_plan.all().contains("to be killed at the destroy");
    match terraform {
        Terraform::V1_0_3 => assert!(!shown, "Terraform 1.0 plans destroys itself: {destroy_plan}"),
        Terraform::V1_15_5 => {
            destroy_plan.assert_contains(
                r#"1 app(s) of account "acc1" match now, to be killed at the destroy: Sel03 (env-7-etl)."#,
            );
        }
    }
    assert_eq!(sim.simulator.kill_calls("Sel03"), 0);
    // A listing that fails at plan time is a warning; the plan goes on.
    workspace.write_main(&config.replace("\"now\"", "\"later\""));
    workspace.env.insert("NCLOUD_SECRET_KEY".into(), "not-the-key".into());
    workspace
        .ok(&["plan", "-input=false"])
        .assert_contains("No preview of the kill")
        .assert_contains("Authentication Failed");
});

on_each_terraform!(an_app_killed_in_one_settle_round_is_not_new_in_the_next, |terraform| {
    let sim = Sim::start(&[]);
    // DataForest accepts the kill, and the app keeps running a while: it still matches.
    sim.simulator.set_kill_duration(Duration::from_secs(600));
    sim.simulator.put_app(app("Late01", "late-1", "gpu", "RUNNING", started(HOUR)));
    let workspace = Workspace::new(terraform, &sim, SETTLE);
    workspace.apply();
    let killed = &workspace.state()["ncloud_dataforest_aiapps_kill.teardown"]["killed"];
    assert_eq!(killed.as_array().unwrap().len(), 1, "{killed}");
    assert_eq!(sim.simulator.kill_calls("Late01"), 1);
    assert_eq!(sim.state_of("Late01"), "RUNNING", "still ending");
});

on_each_terraform!(apps_that_cannot_be_told_to_be_the_accounts_are_never_killed, |terraform| {
    let sim = Sim::start(&[]);
    // Two accounts share a name: the allow list cannot tell their apps apart by accountName.
    sim.simulator.put_app(App {
        account_id: "acc1".into(),
        account_name: "shared".into(),
        ..App::running("Mine01")
    });
    sim.simulator.put_app(App {
        account_id: "acc2".into(),
        account_name: "shared".into(),
        ..App::running("Their1")
    });
    let single = r#"
provider "ncloud" {
  allowed_account_ids = ["acc1"]
}
resource "ncloud_dataforest_aiapp_kill" "theirs" {
  app_id = "Their1"
}
"#;
    let workspace = Workspace::new(terraform, &sim, single);
    // Its accountId tells, where its accountName cannot.
    workspace.apply_fails().assert_contains(
        r#"AI app "Their1" belongs to account "acc2", which the provider's allowed_account_ids refuses"#,
    );
    assert_eq!(sim.simulator.kill_calls("Their1"), 0);

    // Every app a listing returns is another account's: the names do not line up, nothing goes.
    let sim = Sim::start(&[]);
    sim.simulator.put_account("acc1", "Analytics");
    sim.simulator.put_app(App {
        account_id: "acc2".into(),
        account_name: "Other".into(),
        ..App::running("Their2")
    });
    sim.simulator.set_list_ignores_account(true);
    let bulk = r#"
resource "ncloud_dataforest_aiapps_kill" "teardown" {
  account_id = "acc1"
  all_apps   = true
}
"#;
    let workspace = Workspace::new(terraform, &sim, bulk);
    workspace.apply_fails().assert_contains("Apps of other accounts only").assert_contains(
        r#"every one says it is another account's (their accountId or accountName names "acc2")"#,
    );
    assert_eq!(sim.simulator.kill_calls("Their2"), 0);
});

on_each_terraform!(a_plan_that_kills_nothing_is_not_refused_by_an_account_list, |terraform| {
    let sim = seeded_sim();
    let config = r#"
resource "ncloud_dataforest_aiapps_kill" "done" {
  account_id = "acc1"
  name_regex = "^env-7-"
}
"#;
    let mut workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    // The account is forbidden after its kill was recorded: plans go on, they kill nothing.
    workspace.env.insert("NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS".into(), "acc1".into());
    let replan = workspace.ok(&["plan", "-input=false"]);
    assert!(!replan.all().contains("Account not allowed"), "{replan}");
    // A change that would kill again is refused.
    workspace.write_main(&config.replace("^env-7-", "^env-42-"));
    workspace.fails(&["plan", "-input=false"]).assert_contains("Account not allowed");
});

on_each_terraform!(a_get_list_of_twenty_thousand_apps, |terraform| {
    let sim = Sim::start(&[]);
    sim.simulator.generate(20_000);
    let expected: Vec<String> =
        (0..20_000usize).filter(|n| n % 50 == 7 && n % 10 <= 6).map(|n| format!("Gen{n:05}")).collect();
    let config = r#"
data "ncloud_dataforest_aiapps" "env7" {
  account_id = "df-account"
  name_regex = "^env-7-"
  states     = ["RUNNING"]
}
output "ids" {
  value = data.ncloud_dataforest_aiapps.env7.ids
}
"#;
    let workspace = Workspace::new(terraform, &sim, config);
    workspace.apply();
    let ids = &outputs(&workspace)["ids"]["value"];
    let ids: Vec<String> =
        ids.as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_string()).collect();
    assert_eq!(ids, expected);
});

#[test]
fn the_bulk_action_dry_runs_and_kills_on_terraform_1_15_5() {
    let sim = Sim::start(&[]);
    for n in 1..=3 {
        sim.simulator.put_app(app(
            &format!("Act0{n}"),
            &format!("nightly-{n}"),
            "default",
            "RUNNING",
            started(HOUR),
        ));
    }
    let config = r#"
action "ncloud_dataforest_aiapps_kill" "nightly" {
  config {
    account_id = "acc1"
    name_regex = "^nightly-"
    dry_run    = var.dry_run
  }
}
variable "dry_run" {
  type    = bool
  default = true
}
"#;
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let invoke =
        ["apply", "-auto-approve", "-input=false", "-invoke=action.ncloud_dataforest_aiapps_kill.nightly"];
    workspace
        .ok(&invoke)
        .assert_contains("Would kill Act01 (nightly-1)")
        .assert_contains("3 app(s) match; nothing was killed");
    assert_eq!(sim.kills_received(), 0, "a dry run sends no kill");

    let real = [&invoke[..], &["-var", "dry_run=false"]].concat();
    workspace.ok(&real).assert_contains("Killed 3 app(s)");
    for n in 1..=3 {
        assert_eq!(sim.state_of(&format!("Act0{n}")), "KILLED");
    }
}

#[test]
fn a_dry_run_past_max_apps_shows_every_app_and_warns_on_terraform_1_15_5() {
    let sim = Sim::start(&[]);
    for n in 1..=3 {
        sim.simulator.put_app(app(
            &format!("Cap0{n}"),
            &format!("batch-{n}"),
            "default",
            "RUNNING",
            started(HOUR),
        ));
    }
    let config = r#"
action "ncloud_dataforest_aiapps_kill" "batch" {
  config {
    account_id = "acc1"
    name_regex = "^batch-"
    max_apps   = 2
    dry_run    = var.dry_run
  }
}
variable "dry_run" {
  type    = bool
  default = true
}
"#;
    let workspace = Workspace::new(Terraform::V1_15_5, &sim, config);
    let invoke =
        ["apply", "-auto-approve", "-input=false", "-invoke=action.ncloud_dataforest_aiapps_kill.batch"];
    let dry = workspace.ok(&invoke);
    for n in 1..=3 {
        dry.assert_contains(&format!("Would kill Cap0{n} (batch-{n})"));
    }
    dry.assert_contains("The real run would be refused")
        .assert_contains("3 apps match now, more than max_apps (2) allows")
        .assert_contains("3 app(s) match; nothing was killed");
    let real = [&invoke[..], &["-var", "dry_run=false"]].concat();
    workspace.fails(&real).assert_contains("Too many apps selected");
    assert_eq!(sim.kills_received(), 0, "nothing is killed");
}
