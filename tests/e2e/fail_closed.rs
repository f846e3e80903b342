//! Under real Terraform, the guards that fail closed: listings that ignore the account filter,
//! lose the account fields, name an app twice, say they are partial or hold no list, against the
//! bulk kill, the data source and the action; blank and account-wide selectors refused at
//! validate, and `all_apps`; the look after the kill; `strict` turning what would be warnings
//! into errors, before any kill where it can; and a destroy hook saying that its destroy uses the
//! selector recorded at the last apply.
//!
//! Several simulators serve one run, each behind a provider configuration (an alias) of its own,
//! so that one `terraform apply` shows many behaviours side by side.

use std::time::{Duration, SystemTime};

use dataforest_sim::{App, ListQuirks};

use crate::harness::{Sim, Terraform, Workspace};

fn app(id: &str, name: &str, account_id: &str, account_name: &str) -> App {
    let started = humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(3600));
    App {
        name: name.into(),
        account_id: account_id.into(),
        account_name: account_name.into(),
        started_at: started.to_string(),
        ..App::running(id)
    }
}

/// A simulator holding `apps`, whose listing misbehaves as `quirks` say.
fn sim_with(apps: Vec<App>, quirks: &[&str]) -> Sim {
    let sim = Sim::start(&[]);
    for app in apps {
        sim.simulator.put_app(app);
    }
    let mut list_quirks = ListQuirks::default();
    for quirk in quirks {
        list_quirks.add(quirk).unwrap();
    }
    sim.simulator.set_list_quirks(list_quirks);
    sim
}

/// A provider configuration named `alias` for `sim`, with `settings`.
fn provider(alias: &str, sim: &Sim, settings: &str) -> String {
    format!(
        "provider \"ncloud\" {{\n  alias    = \"{alias}\"\n  endpoint = \"{}\"\n{settings}\n}}\n",
        sim.endpoint
    )
}

/// A bulk kill of the apps named `job-...` of `df-account` through the provider `alias`.
fn bulk(name: &str, alias: &str, extra: &str) -> String {
    format!(
        "resource \"ncloud_dataforest_aiapps_kill\" \"{name}\" {{\n  provider   = ncloud.{alias}\n  account_id = \
         \"df-account\"\n  name_regex = \"^job-\"\n{extra}\n}}\n"
    )
}

const OURS: (&str, &str) = ("df-account", "Analytics");
const PROD: (&str, &str) = ("prod-account", "Production");

on_each_terraform!(hostile_listings_kill_nothing_they_cannot_vouch_for, |terraform| {
    // A gateway that ignores the filter, and lists entries with another accountId and no
    // accountName: without account lists, and under a deny list.
    let foreign = |ours: &str, prod: &str| {
        sim_with(
            vec![app(ours, "job-1", OURS.0, OURS.1), app(prod, "job-2", PROD.0, PROD.1)],
            &["ignore-account", "strip=accountName"],
        )
    };
    let (open, denying) = (foreign("Mine01", "Prod01"), foreign("Mine02", "Prod02"));
    // Entries with no account at all, under an allow list: the bulk kill and the data source fail.
    let bare =
        sim_with(vec![app("Bare01", "job-1", OURS.0, OURS.1)], &["strip=accountName", "strip=accountId"]);
    // An entry with a number for accountName, beside an app of another account: the listing
    // ignored its filter, so it may be anyone's.
    let odd = sim_with(
        vec![app("Mine03", "job-1", OURS.0, OURS.1), app("Prod03", "job-2", PROD.0, PROD.1)],
        &["ignore-account", r#"extra={"id":"Odd03","name":"job-3","accountName":7,"state":"RUNNING"}"#],
    );
    // Dup01 listed again as another account's: spared. An entry with no id and one with an id no
    // app can have: never killed.
    let twice = sim_with(
        vec![app("Dup01", "job-1", OURS.0, OURS.1), app("Dup02", "job-2", OURS.0, OURS.1)],
        &[
            r#"extra={"id":"Dup01","name":"job-1","accountId":"prod-account","state":"RUNNING"}"#,
            r#"extra={"id":"~~~","name":"job-x","state":"RUNNING"}"#,
            r#"extra={"name":"job-y","state":"RUNNING"}"#,
        ],
    );
    let partial = sim_with(vec![app("Part01", "job-1", OURS.0, OURS.1)], &["hidden=20"]);
    let empty = sim_with(vec![app("None01", "job-1", OURS.0, OURS.1)], &["no-contents"]);
    let config = [
        provider("open", &open, ""),
        bulk("open", "open", ""),
        provider("denying", &denying, "  forbidden_account_ids = [\"prod-account\"]"),
        bulk("denying", "denying", ""),
        provider("bare", &bare, "  allowed_account_ids = [\"df-account\"]"),
        bulk("bare", "bare", ""),
        provider("odd", &odd, ""),
        bulk("odd", "odd", ""),
        provider("twice", &twice, ""),
        bulk("twice", "twice", ""),
        provider("partial", &partial, ""),
        bulk("partial", "partial", ""),
        provider("empty", &empty, ""),
        bulk("empty", "empty", ""),
    ]
    .concat();
    let workspace = Workspace::new(terraform, &open, &config);
    let run = workspace.apply_fails();
    // The apps of the account are killed; those of another never, with or without a list.
    for (sim, ours, prod) in [(&open, "Mine01", "Prod01"), (&denying, "Mine02", "Prod02")] {
        assert_eq!(sim.state_of(ours), "KILLED", "{run}");
        assert_eq!(sim.simulator.kill_calls(prod), 0, "{run}");
    }
    run.assert_contains("Apps of another account listed");
    // Apps whose account cannot be told: nothing is killed.
    run.assert_contains("Account of apps unverifiable")
        .assert_contains("the provider's allowed_account_ids asks that every app's account be checked")
        .assert_contains("the same listing holds 1 app(s) of other accounts");
    for sim in [&bare, &odd] {
        assert_eq!(sim.kills_received(), 0, "{run}");
    }
    // An app listed twice is spared by the entry that spares it.
    assert_eq!(twice.simulator.kill_calls("Dup01"), 0, "{run}");
    assert_eq!(twice.state_of("Dup02"), "KILLED", "{run}");
    run.assert_contains("named 1 app(s) more than once: Dup01")
        .assert_contains("Listing entries left out")
        .assert_contains("held 1 without an id and 1 whose id no AI app can have");
    // A listing that says it is partial, or holds no list: nothing is killed.
    run.assert_contains("Partial listing").assert_contains("holds 1 of 21 apps");
    run.assert_contains(r#"a successful answer without "contents""#);
    for sim in [&partial, &empty] {
        assert_eq!(sim.kills_received(), 0, "{run}");
    }

    // The data source fails as the kill does (while Terraform plans, as data sources are read).
    let data_source = [
        provider("bare", &bare, "  allowed_account_ids = [\"df-account\"]"),
        "data \"ncloud_dataforest_aiapps\" \"bare\" {\n  provider   = ncloud.bare\n  account_id = \"df-account\"\n}\n"
            .to_string(),
    ]
    .concat();
    // A run of its own: the state of the kills above names providers that this one has not.
    std::fs::remove_file(workspace.work_dir().join("terraform.tfstate")).unwrap();
    workspace.write_main(&data_source);
    workspace.fails(&["plan", "-input=false"]).assert_contains("Account of apps unverifiable");

    if terraform == Terraform::V1_15_5 {
        // The action, as the resource.
        let action = [
            provider("bare", &bare, "  allowed_account_ids = [\"df-account\"]"),
            "action \"ncloud_dataforest_aiapps_kill\" \"bare\" {\n  provider = ncloud.bare\n  config {\n    \
             account_id = \"df-account\"\n    name_regex = \"^job-\"\n  }\n}\n"
                .to_string(),
        ]
        .concat();
        workspace.write_main(&action);
        workspace
            .fails(&[
                "apply",
                "-auto-approve",
                "-input=false",
                "-invoke=action.ncloud_dataforest_aiapps_kill.bare",
            ])
            .assert_contains("Account of apps unverifiable");
        assert_eq!(bare.kills_received(), 0);
    }
});

on_each_terraform!(blank_and_account_wide_selectors_are_refused_at_validate, |terraform| {
    let sim = sim_with(
        vec![
            app("Acc01", "etl", OURS.0, OURS.1),
            app("Acc02", "train", OURS.0, OURS.1),
            app("Acc03", "keep-me", OURS.0, OURS.1),
        ],
        &[],
    );
    let refused = r#"
resource "ncloud_dataforest_aiapps_kill" "blank" {
  account_id = "df-account"
  name_regex = ""
}
resource "ncloud_dataforest_aiapps_kill" "whole" {
  account_id = "df-account"
}
resource "ncloud_dataforest_aiapps_kill" "both" {
  account_id = "df-account"
  queue_name = "gpu"
  all_apps   = true
}
"#;
    let workspace = Workspace::new(terraform, &sim, refused);
    workspace
        .fails(&["validate"])
        .assert_contains("Empty name_regex")
        .assert_contains("name_regex must not be blank.")
        .assert_contains("Selector takes the whole account")
        .assert_contains("set all_apps = true if every running app of the account is meant")
        .assert_contains("Set queue_name or all_apps, not both.");
    workspace.write_main(
        r#"
resource "ncloud_dataforest_aiapps_kill" "whole" {
  account_id  = "df-account"
  all_apps    = true
  exclude_ids = ["Acc03"]
}
"#,
    );
    workspace.apply();
    assert_eq!((sim.state_of("Acc01"), sim.state_of("Acc02")), ("KILLED".into(), "KILLED".into()));
    assert_eq!(sim.simulator.kill_calls("Acc03"), 0, "exclusions apply with all_apps");
    assert!(sim.simulator.calls().len() > 1);
});

on_each_terraform!(strict_turns_what_was_left_undone_into_errors, |terraform| {
    // Each call takes 100 ms, so an app started when a kill arrives is there for the look after.
    let sims: Vec<Sim> = (0..2)
        .map(|_| {
            let sim = sim_with(
                vec![app("Run01", "job-1", OURS.0, OURS.1), app("Spare1", "keep-1", OURS.0, OURS.1)],
                &[],
            );
            sim.simulator.set_latency(Duration::from_millis(100));
            sim
        })
        .collect();
    let starters: Vec<_> = sims
        .iter()
        .map(|sim| sim.start_when_killed("Run01", app("Late01", "job-late", OURS.0, OURS.1)))
        .collect();
    let late = |alias: &str| bulk(&format!("{alias}_late"), alias, "");
    // A typo in an exclusion, which the plan's preview already sees.
    let typo = |alias: &str| {
        format!(
            "resource \"ncloud_dataforest_aiapps_kill\" \"{alias}_typo\" {{\n  provider    = ncloud.{alias}\n  \
             account_id  = \"df-account\"\n  name_regex  = \"^keep-\"\n  exclude_ids = [\"Spare9\"]\n}}\n"
        )
    };
    // A pattern that matches nothing, which only the kill says.
    let none = |alias: &str| {
        format!(
            "resource \"ncloud_dataforest_aiapps_kill\" \"{alias}_none\" {{\n  provider   = ncloud.{alias}\n  \
             account_id = \"df-account\"\n  name_regex = \"^nothing-\"\n}}\n"
        )
    };
    let config = [
        provider("lenient", &sims[0], ""),
        late("lenient"),
        typo("lenient"),
        none("lenient"),
        provider("strict", &sims[1], "  strict = true"),
        late("strict"),
        none("strict"),
    ]
    .concat();
    let workspace = Workspace::new(terraform, &sims[0], &config);
    let run = workspace.apply_fails();
    for starter in starters {
        starter.join().unwrap();
    }
    let late_summary = "1 app(s) match that the kill did not take";
    // By default, each is a warning, and the kills go on.
    for summary in [late_summary, "Exclusions that spare nothing", "Nothing matched"] {
        run.assert_contains(&format!("Warning: {summary}"));
    }
    run.assert_contains("Late01 (job-late). Raise settle_rounds to kill such apps too");
    assert_eq!(sims[0].state_of("Spare1"), "KILLED", "{run}");
    // Under strict, each is an error: after the kill it went through, the kill is recorded and
    // tainted; one known before any kill stops the kill before it starts.
    run.assert_contains(&format!("Error: {late_summary}"))
        .assert_contains("Error: Nothing matched")
        .assert_contains(
            "The provider's strict setting makes this an error, raised before any kill: nothing was killed.",
        );
    assert_eq!(sims[1].state_of("Run01"), "KILLED", "the look after the kill comes after it: {run}");
    for sim in &sims {
        assert_eq!(sim.simulator.kill_calls("Late01"), 0, "{run}");
    }
    assert_eq!(workspace.status("ncloud_dataforest_aiapps_kill.strict_late").as_deref(), Some("tainted"));
    assert!(workspace.status("ncloud_dataforest_aiapps_kill.lenient_late").is_none());
    assert!(!workspace.state().contains_key("ncloud_dataforest_aiapps_kill.strict_none"));

    // What the plan's preview sees already fails the plan under strict: nothing is killed. (A run
    // of its own: the state above names providers that this one has not.)
    std::fs::remove_file(workspace.work_dir().join("terraform.tfstate")).unwrap();
    workspace.write_main(&[provider("strict", &sims[1], "  strict = true"), typo("strict")].concat());
    workspace.fails(&["plan", "-input=false"]).assert_contains("Error: Exclusions that spare nothing");
    assert_eq!(sims[1].simulator.kill_calls("Spare1"), 0);
});

on_each_terraform!(a_destroy_hook_says_its_destroy_uses_the_recorded_selector, |terraform| {
    let sim = sim_with(
        vec![
            app("Hook01", "job-1", OURS.0, OURS.1),
            app("Keep01", "job-keep-1", OURS.0, OURS.1),
            app("Keep02", "job-keep-2", OURS.0, OURS.1),
        ],
        &[],
    );
    let hook = r#"
resource "ncloud_dataforest_aiapps_kill" "hook" {
  account_id  = "df-account"
  name_regex  = "^job-"
  when        = "destroy"
  exclude_ids = ["Keep01"]
}
"#;
    let workspace = Workspace::new(terraform, &sim, hook);
    workspace.apply();
    // Spared in the configuration, but not applied: the destroy uses the recorded selector.
    workspace.write_main(&hook.replace(r#"["Keep01"]"#, r#"["Keep01", "Keep02"]"#));
    let recorded = r#"The destroy selects with the selector recorded at the last apply (exclusions exclude_ids = ["Keep01"])"#;
    if terraform == Terraform::V1_15_5 {
        // Terraform 1.3 and later ask the provider to plan a destroy: its preview says so.
        workspace
            .ok(&["plan", "-destroy", "-input=false"])
            .assert_contains("Kill preview: 2 app(s) of account \"df-account\"")
            .assert_contains(recorded);
    }
    workspace
        .ok(&["destroy", "-auto-approve", "-input=false"])
        .assert_contains("Destroy killed 2 app(s) of account \"df-account\"")
        .assert_contains(recorded)
        .assert_contains("a selector or exclusion changed since then counts only once it has been applied");
    assert_eq!(sim.state_of("Keep02"), "KILLED");
    assert_eq!(sim.simulator.kill_calls("Keep01"), 0);
});
