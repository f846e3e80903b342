//! The provider's `strict`: each warning that says something could not be checked, or that a
//! kill did less than asked, is an error instead: at plan (the preview), at a destroy (which then
//! keeps the resource), and in a data source's read; without it, each stays a warning.

use dataforest_sim::{App, Fault, ListQuirks};
use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{BULK, Schema, apply_bulk, configured, decode, errors, plan_bulk, string, summaries};

#[tokio::test]
async fn a_preview_that_cannot_list_fails_a_strict_plan_and_warns_otherwise() {
    // Nothing listens there: the preview's listing fails at once.
    let nowhere = "http://127.0.0.1:1";
    for strict in [false, true] {
        let mut harness = configured(nowhere, strict).await;
        let fields = [("account_id", string("acc1")), ("name_regex", string("^job-"))];
        let config = harness.config(Schema::Resource(BULK), &fields);
        let planned = plan_bulk(&mut harness, &Value::Null, &config).await;
        let (failed, warned) = (
            summaries(&planned.diagnostics, pb::diagnostic::Severity::Error),
            summaries(&planned.diagnostics, pb::diagnostic::Severity::Warning),
        );
        if strict {
            assert_eq!(failed, ["No preview of the kill"], "{planned:?}");
            assert!(planned.planned_state.is_none());
        } else {
            assert!(failed.is_empty() && warned == ["No preview of the kill"], "{planned:?}");
            assert!(planned.planned_state.is_some());
        }
    }
}

#[tokio::test]
async fn a_strict_destroy_that_finds_the_account_gone_fails_and_keeps_the_resource() {
    for strict in [false, true] {
        let (simulator, endpoint) = crate::simulator_with(&[]).await;
        simulator.put_account("df-account", "Analytics");
        simulator.put_app(App {
            account_id: "acc9".into(),
            account_name: "Nine".into(),
            name: "job-1".into(),
            ..App::running("Job01")
        });
        let mut harness = configured(&endpoint, strict).await;
        let fields =
            [("account_id", string("acc9")), ("name_regex", string("^job-")), ("when", string("destroy"))];
        let config = harness.config(Schema::Resource(BULK), &fields);
        let planned = decode(plan_bulk(&mut harness, &Value::Null, &config).await.planned_state);
        let created = apply_bulk(&mut harness, &Value::Null, &planned).await;
        assert!(errors(&created.diagnostics).is_empty(), "{created:?}");
        let hook = decode(created.new_state);
        // The account and its apps go before the destroy, a run of its own.
        simulator.remove_app("Job01");
        let mut harness = configured(&endpoint, strict).await;
        let destroyed = apply_bulk(&mut harness, &hook, &Value::Null).await;
        let failed = summaries(&destroyed.diagnostics, pb::diagnostic::Severity::Error);
        if strict {
            assert_eq!(failed, ["Account no longer seen"], "{destroyed:?}");
            assert_eq!(decode(destroyed.new_state), hook, "the resource stays, for the next destroy");
        } else {
            assert!(failed.is_empty(), "{destroyed:?}");
            assert!(
                summaries(&destroyed.diagnostics, pb::diagnostic::Severity::Warning)
                    .contains(&"Account no longer seen".to_string())
            );
            assert_eq!(decode(destroyed.new_state), Value::Null);
        }
        assert_eq!(simulator.kill_calls("Job01"), 0);
        // A listing for the account gone that says it holds part of a longer list: something is
        // off, and the destroy stops, strict or not.
        let mut quirks = ListQuirks::default();
        quirks.add("hidden=3").unwrap();
        simulator.set_list_quirks(quirks);
        let mut harness = configured(&endpoint, strict).await;
        let destroyed = apply_bulk(&mut harness, &hook, &Value::Null).await;
        let failed = summaries(&destroyed.diagnostics, pb::diagnostic::Severity::Error);
        assert_eq!(failed, ["Account not listed"], "{destroyed:?}");
        assert_eq!(decode(destroyed.new_state), hook);
    }
}

#[tokio::test]
async fn a_strict_data_source_read_fails_where_it_would_warn() {
    for strict in [false, true] {
        let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
        let mut quirks = ListQuirks::default();
        quirks.add("strip=accountId").unwrap();
        quirks.add("strip=accountName").unwrap();
        simulator.set_list_quirks(quirks);
        let mut harness = configured(&endpoint, strict).await;
        let source = "ncloud_dataforest_aiapps";
        let config = harness.config(Schema::DataSource(source), &[("account_id", string("df-account"))]);
        let read = harness.read_data_source(source, &config, false).await;
        let failed = summaries(&read.diagnostics, pb::diagnostic::Severity::Error);
        if strict {
            assert_eq!(failed, ["Account of apps unchecked"], "{read:?}");
            assert!(read.state.is_none());
        } else {
            assert!(failed.is_empty(), "{read:?}");
            assert!(read.state.is_some());
        }
    }
}

#[tokio::test]
async fn a_strict_kill_refuses_what_its_selection_could_not_do_before_any_kill() {
    let (simulator, endpoint) = crate::simulator_with(&["A1", "A2"]).await;
    // A typo in an exclusion: it spares nothing, and the apps it was meant to spare match.
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-A")),
        ("exclude_ids", Value::List(vec![string("A9")])),
    ];
    let mut lenient = configured(&endpoint, false).await;
    let config = lenient.config(Schema::Resource(BULK), &fields);
    let planned = decode(plan_bulk(&mut lenient, &Value::Null, &config).await.planned_state);
    // Applied under strict without a plan of its own, as a plan made before `strict` was set.
    let mut strict = configured(&endpoint, true).await;
    let applied = apply_bulk(&mut strict, &Value::Null, &planned).await;
    let failed = errors(&applied.diagnostics);
    assert_eq!(failed.len(), 1, "{applied:?}");
    assert_eq!(failed[0].summary, "Exclusions that spare nothing");
    assert!(
        failed[0].detail.ends_with("raised before any kill: nothing was killed."),
        "{}",
        failed[0].detail
    );
    assert_eq!((simulator.kill_calls("A1"), simulator.kill_calls("A2")), (0, 0));
    assert_eq!(decode(applied.new_state), Value::Null, "nothing is recorded");
    // Without strict, the same kill goes through with the warning.
    let applied = apply_bulk(&mut lenient, &Value::Null, &planned).await;
    assert!(errors(&applied.diagnostics).is_empty(), "{applied:?}");
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");
}

/// A bulk kill's configuration of `fields`, for the harness's schema.
fn bulk_config(harness: &crate::Harness, fields: &[(&str, Value)]) -> Value {
    harness.config(Schema::Resource(BULK), fields)
}

#[tokio::test]
async fn a_strict_destroy_hook_whose_apps_ended_on_their_own_is_destroyed() {
    let (simulator, endpoint) = crate::simulator_with(&["A1", "Keep1"]).await;
    let mut harness = configured(&endpoint, true).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-")),
        ("when", string("destroy")),
        ("exclude_ids", Value::List(vec![string("Keep1")])),
    ];
    let config = bulk_config(&harness, &fields);
    let hook = crate::create_bulk(&mut harness, &config).await;
    assert_ne!(hook, Value::Null);
    // Before the teardown, the apps ended by themselves, and the one it spared is gone.
    simulator.put_app(App { state: "FINISHED".into(), ..simulator.app("A1").unwrap() });
    simulator.remove_app("Keep1");
    let mut harness = configured(&endpoint, true).await;
    let destroyed = apply_bulk(&mut harness, &hook, &Value::Null).await;
    assert!(errors(&destroyed.diagnostics).is_empty(), "{destroyed:?}");
    let warned = summaries(&destroyed.diagnostics, pb::diagnostic::Severity::Warning);
    assert!(
        warned.contains(&"Nothing matched".to_string())
            && warned.contains(&"Exclusions that spare nothing".to_string()),
        "{warned:?}"
    );
    assert_eq!(decode(destroyed.new_state), Value::Null, "the hook is gone");
}

#[tokio::test]
async fn a_strict_destroy_hooks_later_plans_foresee_but_do_not_fail() {
    let (simulator, endpoint) = crate::simulator_with(&["A1", "B1"]).await;
    let mut harness = configured(&endpoint, true).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-A")),
        ("when", string("destroy")),
        ("exclude_ids", Value::List(vec![string("A1")])),
    ];
    let config = bulk_config(&harness, &fields);
    let hook = crate::create_bulk(&mut harness, &config).await;
    // The app it spares is purged: its exclusion spares nothing now, which only the destroy acts
    // on; a plan that changes nothing says so, and goes on.
    simulator.remove_app("A1");
    let mut harness = configured(&endpoint, true).await;
    let replanned = plan_bulk(&mut harness, &hook, &hook).await;
    assert!(errors(&replanned.diagnostics).is_empty(), "{replanned:?}");
    let [warning] = &replanned.diagnostics[..] else { panic!("{replanned:?}") };
    assert_eq!(warning.summary, "Exclusions that spare nothing");
    assert!(warning.detail.starts_with("At the destroy, as things stand now: "), "{}", warning.detail);
}

#[tokio::test]
async fn a_strict_destroy_hooks_create_that_cannot_check_records_nothing() {
    let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
    let mut quirks = ListQuirks::default();
    quirks.add("strip=accountId").unwrap();
    quirks.add("strip=accountName").unwrap();
    let fields =
        [("account_id", string("df-account")), ("name_regex", string("^app-")), ("when", string("destroy"))];
    let mut lenient = configured(&endpoint, false).await;
    let config = bulk_config(&lenient, &fields);
    let planned = decode(plan_bulk(&mut lenient, &Value::Null, &config).await.planned_state);
    simulator.set_list_quirks(quirks);
    let mut strict = configured(&endpoint, true).await;
    let created = apply_bulk(&mut strict, &Value::Null, &planned).await;
    let failed = errors(&created.diagnostics);
    assert_eq!(failed[0].summary, "Account of apps unchecked", "{created:?}");
    assert_eq!(decode(created.new_state), Value::Null, "a hook recorded tainted would kill when replaced");
}

#[tokio::test]
async fn a_strict_update_that_left_apps_running_keeps_the_hook_for_the_next_apply() {
    let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
    simulator.set_latency(std::time::Duration::from_millis(50));
    let hook_fields =
        [("account_id", string("df-account")), ("name_regex", string("^app-")), ("when", string("destroy"))];
    let mut harness = configured(&endpoint, true).await;
    let hook_config = bulk_config(&harness, &hook_fields);
    let hook = crate::create_bulk(&mut harness, &hook_config).await;
    // `when` turns to create: the update kills; an app started meanwhile is left running.
    let starter = {
        let simulator = simulator.clone();
        tokio::spawn(async move {
            crate::wait_until("a kill of A1", || simulator.kill_calls("A1") > 0).await;
            simulator.put_app(App::running("A2"));
        })
    };
    let now = crate::with(&hook, "when", string("create"));
    let planned = decode(plan_bulk(&mut harness, &hook, &now).await.planned_state);
    let updated = apply_bulk(&mut harness, &hook, &planned).await;
    starter.await.unwrap();
    let failed = errors(&updated.diagnostics);
    assert_eq!(failed.len(), 1, "{updated:?}");
    assert_eq!(failed[0].summary, "1 app(s) match that the kill did not take");
    assert_eq!(decode(updated.new_state), hook, "the prior state stays, so that the next apply kills again");
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");
}

#[tokio::test]
async fn a_strict_settle_round_checks_its_listing_before_its_kills() {
    let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
    simulator.set_latency(std::time::Duration::from_millis(50));
    // After the first kill, the listing gains an app with no account fields.
    let changer = {
        let simulator = simulator.clone();
        tokio::spawn(async move {
            crate::wait_until("a kill of A1", || simulator.kill_calls("A1") > 0).await;
            let mut quirks = ListQuirks::default();
            quirks.add(r#"extra={"id":"B1","name":"app-B1","state":"RUNNING"}"#).unwrap();
            simulator.set_list_quirks(quirks);
        })
    };
    let mut harness = configured(&endpoint, true).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-")),
        ("settle_rounds", Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(1))),
    ];
    let config = bulk_config(&harness, &fields);
    let planned = decode(plan_bulk(&mut harness, &Value::Null, &config).await.planned_state);
    let applied = apply_bulk(&mut harness, &Value::Null, &planned).await;
    changer.await.unwrap();
    let failed = errors(&applied.diagnostics);
    assert_eq!(failed.len(), 1, "{applied:?}");
    assert_eq!(failed[0].summary, "Account of apps unchecked");
    assert!(
        failed[0].detail.contains("Before that, 1 app(s) were killed: A1 (app-A1)"),
        "{}",
        failed[0].detail
    );
    assert_eq!(simulator.kill_calls("B1"), 0, "the settle round sent nothing");
}

#[tokio::test]
async fn an_app_said_to_have_ended_but_listed_as_running_after_the_kill_is_said_and_strict_fails() {
    for strict in [false, true] {
        // A1 has ended (DataForest lists it for another account), yet the listing of df-account
        // shows it running: its kill is refused, getDetail says KILLED, and the look after the
        // kill still lists it.
        let (simulator, endpoint) = crate::simulator_with(&[]).await;
        simulator.put_account("df-account", "Analytics");
        simulator.put_app(App {
            state: "KILLED".into(),
            account_id: "elsewhere".into(),
            ..App::running("A1")
        });
        simulator.fail_kills("A1", [Fault::Status(400)]);
        let mut quirks = ListQuirks::default();
        quirks
            .add(r#"extra={"id":"A1","name":"app-A1","state":"RUNNING","accountId":"df-account"}"#)
            .unwrap();
        simulator.set_list_quirks(quirks);
        let mut harness = configured(&endpoint, strict).await;
        let fields = [("account_id", string("df-account")), ("name_regex", string("^app-"))];
        let config = bulk_config(&harness, &fields);
        let planned = decode(plan_bulk(&mut harness, &Value::Null, &config).await.planned_state);
        let applied = apply_bulk(&mut harness, &Value::Null, &planned).await;
        let said = "1 app(s) said to have ended are still listed";
        let severity =
            if strict { pb::diagnostic::Severity::Error } else { pb::diagnostic::Severity::Warning };
        assert!(summaries(&applied.diagnostics, severity).iter().any(|s| s == said), "{applied:?}");
        assert_eq!(simulator.kill_calls("A1"), 1);
    }
}

#[tokio::test]
async fn an_app_a_listing_gave_as_another_accounts_is_not_killed_by_a_later_round() {
    let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
    simulator.put_app(App { account_id: "other".into(), ..App::running("B1") });
    let listed_as = |account: &str| {
        let mut quirks = ListQuirks::default();
        let entry =
            format!(r#"extra={{"id":"B1","name":"app-B1","state":"RUNNING","accountId":"{account}"}}"#);
        quirks.add(&entry).unwrap();
        quirks
    };
    // The first listing gives B1 as another account's; after the first kill, as df-account's.
    simulator.set_list_quirks(listed_as("other"));
    simulator.set_latency(std::time::Duration::from_millis(50));
    let changer = {
        let simulator = simulator.clone();
        tokio::spawn(async move {
            crate::wait_until("a kill of A1", || simulator.kill_calls("A1") > 0).await;
            simulator.set_list_quirks(listed_as("df-account"));
        })
    };
    let mut harness = configured(&endpoint, false).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-")),
        ("settle_rounds", Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(1))),
    ];
    let config = bulk_config(&harness, &fields);
    let planned = decode(plan_bulk(&mut harness, &Value::Null, &config).await.planned_state);
    let applied = apply_bulk(&mut harness, &Value::Null, &planned).await;
    changer.await.unwrap();
    assert!(errors(&applied.diagnostics).is_empty(), "{applied:?}");
    assert_eq!(simulator.kill_calls("A1"), 1);
    assert_eq!(simulator.kill_calls("B1"), 0, "B1 was listed as another account's: {applied:?}");
}

#[tokio::test]
async fn a_strict_destroy_hook_may_exclude_an_app_not_running_yet() {
    // Keep1 is not running yet: its exclusion spares nothing at the create, which only the
    // destroy weighs; the plan foresees it, and the create records the hook.
    let (simulator, endpoint) = crate::simulator_with(&["A1"]).await;
    let mut harness = configured(&endpoint, true).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-")),
        ("when", string("destroy")),
        ("exclude_ids", Value::List(vec![string("Keep1")])),
    ];
    let config = bulk_config(&harness, &fields);
    let planned = plan_bulk(&mut harness, &Value::Null, &config).await;
    assert!(errors(&planned.diagnostics).is_empty(), "{planned:?}");
    let warned = summaries(&planned.diagnostics, pb::diagnostic::Severity::Warning);
    assert!(warned.contains(&"Exclusions that spare nothing".to_string()), "{warned:?}");
    let created = apply_bulk(&mut harness, &Value::Null, &decode(planned.planned_state)).await;
    assert!(errors(&created.diagnostics).is_empty(), "{created:?}");
    assert_ne!(decode(created.new_state), Value::Null, "the hook is recorded");
    assert_eq!(simulator.kill_calls("A1"), 0);
}
