//! The provider's `strict`: each warning that says something could not be checked, or that a
//! kill did less than asked, is an error instead: at plan (the preview), at a destroy (which then
//! keeps the resource), and in a data source's read; without it, each stays a warning.

use dataforest_sim::{App, ListQuirks};
use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{BULK, Harness, Schema, decode, dynamic, errors, start, string};

/// A harness whose provider talks to `endpoint`, strict or not, retrying nothing.
async fn configured(endpoint: &str, strict: bool) -> Harness {
    let mut harness = start().await;
    let block = harness.provider_block(string(endpoint));
    let block = crate::with(&block, "strict", Value::Bool(strict));
    let block = crate::with(
        &block,
        "max_retries",
        Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(0)),
    );
    assert!(errors(&harness.configure(block).await).is_empty());
    harness
}

/// Plans a change of the bulk kill from `prior` to `proposed`.
async fn plan_bulk(
    harness: &mut Harness,
    prior: &Value,
    proposed: &Value,
) -> pb::plan_resource_change::Response {
    let request = pb::plan_resource_change::Request {
        type_name: BULK.into(),
        prior_state: dynamic(prior),
        proposed_new_state: dynamic(proposed),
        config: dynamic(proposed),
        ..Default::default()
    };
    harness.client.plan_resource_change(request).await.unwrap().into_inner()
}

/// Applies a change of the bulk kill from `prior` to `planned`.
async fn apply_bulk(
    harness: &mut Harness,
    prior: &Value,
    planned: &Value,
) -> pb::apply_resource_change::Response {
    let request = pb::apply_resource_change::Request {
        type_name: BULK.into(),
        prior_state: dynamic(prior),
        planned_state: dynamic(planned),
        config: dynamic(planned),
        ..Default::default()
    };
    harness.client.apply_resource_change(request).await.unwrap().into_inner()
}

fn summaries(diagnostics: &[pb::Diagnostic], severity: pb::diagnostic::Severity) -> Vec<String> {
    diagnostics.iter().filter(|d| d.severity == severity as i32).map(|d| d.summary.clone()).collect()
}

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
