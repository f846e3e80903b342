//! The kill action: progress events, then exactly one Completed event, with the failure's
//! diagnostics when the kill fails.

use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{KILL, dynamic, errors, simulator_with, start, string};

#[tokio::test]
async fn invoke_action_streams_progress_then_exactly_one_completed() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    let schema =
        harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.action_schemas[KILL].schema.is_some());
    harness.configure(harness.provider_block(string(&endpoint))).await;

    let [a1, nobody] = ["A1", "Nobody"].map(|app_id| harness.action_config(app_id, Value::Bool(true)));
    let mut invoke = async |config: &Value| {
        let request = pb::invoke_action::Request {
            action_type: KILL.into(),
            config: dynamic(config),
            ..Default::default()
        };
        let mut stream = harness.client.invoke_action(request).await.unwrap().into_inner();
        let mut events = Vec::new();
        while let Some(event) = stream.message().await.unwrap() {
            events.push(event.r#type.unwrap());
        }
        events
    };
    let events = invoke(&a1).await;
    let (last, before) = events.split_last().unwrap();
    assert!(matches!(last, Type::Completed(done) if done.diagnostics.is_empty()), "{last:?}");
    assert!(
        !before.is_empty() && before.iter().all(|event| matches!(event, Type::Progress(_))),
        "{before:?}"
    );
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");

    let failed = invoke(&nobody).await;
    let [Type::Progress(_), Type::Completed(done)] = &failed[..] else { panic!("{failed:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "DataForest kill failed");
}

#[tokio::test]
async fn the_bulk_action_reports_each_app_once_and_a_summary() {
    use pb::invoke_action::event::Type;
    let ids = ["B1", "B2", "B3", "B4"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    simulator.fail_kills("B4", [dataforest_sim::Fault::Status(403)]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let fields = [("account_id", string("df-account")), ("name_regex", string("^app-B"))];
    let mut stream = harness.invoke_bulk(&fields).await;
    let mut progress = Vec::new();
    let mut completed = None;
    while let Some(event) = stream.message().await.unwrap() {
        match event.r#type.unwrap() {
            Type::Progress(step) => progress.push(step.message),
            Type::Completed(done) => completed = Some(done),
        }
    }
    // The selection, then one line per app as its kill ends.
    assert_eq!(progress.len(), 1 + ids.len(), "{progress:#?}");
    assert!(progress[0].starts_with("4 of 4 app(s)"), "{progress:#?}");
    for id in ["B1", "B2", "B3"] {
        assert_eq!(
            progress.iter().filter(|line| line.starts_with(&format!("Killed {id} "))).count(),
            1,
            "{progress:#?}"
        );
    }
    assert_eq!(progress.iter().filter(|line| line.contains("B4") && line.contains("failed")).count(), 1);
    let done = completed.expect("a Completed event");
    assert!(errors(&done.diagnostics)[0].detail.starts_with("Of the 4 selected apps: 3 killed, 1 failed."));
}

#[tokio::test]
async fn a_bulk_action_whose_stream_closes_stops_its_kills_and_records_them() {
    let ids = ["H1", "H2"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    for id in ids {
        simulator.fail_kills(id, [dataforest_sim::Fault::Hang]);
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut harness = start().await;
    harness.configure_logging_to(&endpoint, &log).await;
    let fields = [("account_id", string("df-account")), ("name_regex", string("^app-H"))];
    let stream = harness.invoke_bulk(&fields).await;
    crate::wait_until("both kills in flight", || simulator.kills_in_flight() == 2).await;
    // Terraform stops reading (it was killed): the kills stop, and each is recorded.
    drop(stream);
    crate::wait_until("an outcome line for each kill", || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        text.lines().filter(|line| line.contains("\"outcome\":\"failed\"")).count() == 2
    })
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()), "{text}");
    assert_eq!(text.lines().filter(|line| line.contains("\"outcome\":\"sending\"")).count(), 2, "{text}");
}

#[tokio::test]
async fn the_single_action_writes_its_kill_ahead_and_sends_none_the_log_cannot_take() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["S1", "S2"]).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let mut harness = start().await;
    harness.configure_logging_to(&endpoint, &log).await;
    let run = |events: tonic::Streaming<pb::invoke_action::Event>| async move {
        let mut events = events;
        let mut completed = None;
        while let Some(event) = events.message().await.unwrap() {
            if let Some(Type::Completed(done)) = event.r#type {
                completed = Some(done);
            }
        }
        completed.expect("a Completed event")
    };
    let done = run(harness.invoke(&harness.action_config("S1", Value::Bool(false))).await).await;
    assert!(errors(&done.diagnostics).is_empty(), "{done:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let outcomes: Vec<String> = text
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["outcome"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(outcomes, ["sending", "killed"], "{text}");
    // The log's file is replaced by a folder: the next line cannot be written, and nothing is sent.
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    let refused = run(harness.invoke(&harness.action_config("S2", Value::Bool(false))).await).await;
    let failed = errors(&refused.diagnostics);
    assert_eq!(failed.first().map(|d| d.summary.as_str()), Some("Audit log failed"), "{refused:?}");
    assert_eq!(simulator.kill_calls("S2"), 0);
}

#[tokio::test]
async fn the_bulk_action_says_how_often_the_gateway_throttled_it() {
    use pb::invoke_action::event::Type;
    let ids = ["T1", "T2", "T3", "T4", "T5", "T6"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    // Three calls at once, then three a second: the listing and six kills meet the limit.
    simulator.set_rate(3.0, 3.0, false);
    let fields = [("account_id", string("df-account")), ("name_regex", string("^app-T"))];
    let mut stream = harness.invoke_bulk(&fields).await;
    let mut progress = Vec::new();
    while let Some(event) = stream.message().await.unwrap() {
        match event.r#type.unwrap() {
            Type::Progress(step) => progress.push(step.message),
            Type::Completed(done) => assert!(errors(&done.diagnostics).is_empty(), "{done:?}"),
        }
    }
    assert!(simulator.throttled() > 0, "never throttled: the test proves nothing");
    let said = progress.iter().find(|line| line.starts_with("The API Gateway throttled"));
    assert!(
        said.is_some_and(|line| line.contains(&format!("throttled {} call(s)", simulator.throttled()))),
        "{progress:#?}"
    );
}
