//! StopProvider (Terraform's Ctrl-C) cancels the work in flight (a hanging kill,
//! a back-off sleep, a data source read, an action's wait, a bulk kill, which then starts no new
//! kill) and refuses new work until the next configure, while the service lives on; dropping an
//! action's stream stops its kill and its polling. And the time-out: a listing slower than it
//! ends with it, a bulk kill starts no kill once it has run out, and a kill the gateway throttles
//! without end ends with its time-out or Stop.

use std::time::{Duration, Instant};

use dataforest_sim::{Fault, Simulator};
use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::{Number, Value};

use crate::{
    BULK, Harness, Schema, decode, detail_calls, dynamic, errors, simulator_with, start, string, wait_until,
    with,
};

#[tokio::test]
async fn stop_provider_cancels_a_hanging_kill_and_the_service_lives_on() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let planned = decode(harness.plan(&Value::Null, &harness.kill_config(string("A1"))).await.planned_state);

    let apply = harness.create_in_background(&planned);
    wait_until("the kill to be in flight", || simulator.kills_in_flight() >= 1).await;
    assert!(!apply.is_finished(), "the kill should still be waiting for an answer");
    let stopped = Instant::now();
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), apply).await.expect("cancelled within 1 s").unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(1));
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(decode(response.new_state), Value::Null);
    // Stop is not Shutdown: the service still answers.
    harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
}

#[tokio::test]
async fn after_stop_no_new_kill_starts_until_the_next_configure() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();

    // An apply that reaches the provider after Ctrl-C sends nothing.
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "Provider stopped");
    assert!(errors(&refused.diagnostics)[0].detail.contains("Nothing was sent"));
    assert_eq!(decode(refused.new_state), Value::Null);
    let apps = harness
        .config(Schema::DataSource("ncloud_dataforest_aiapps"), &[("account_id", string("df-account"))]);
    let read = harness.read_data_source("ncloud_dataforest_aiapps", &apps, false).await;
    assert_eq!(errors(&read.diagnostics)[0].summary, "Provider stopped");
    let mut events = harness.invoke(&harness.action_config("B2", Value::Null)).await;
    let event = events.message().await.unwrap().unwrap().r#type.unwrap();
    let pb::invoke_action::event::Type::Completed(done) = event else { panic!("{event:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "Provider stopped");
    assert!(simulator.calls().is_empty(), "{:?}", simulator.calls());

    // The next run configures the provider again, as a `--debug` provider's later runs do.
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");
    // Look-ups run again too; their states match their schemas.
    let read = harness.read_data_source("ncloud_dataforest_aiapps", &apps, false).await;
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let Value::List(listed) = decode(read.state).get("apps").clone() else { panic!("no apps list") };
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn stop_provider_cancels_a_back_off_sleep() {
    // Throttled with Retry-After: 30, the kill sleeps before its retry; Stop must cut that short.
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::RetryAfter(30)]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let planned = decode(harness.plan(&Value::Null, &harness.kill_config(string("A1"))).await.planned_state);
    let apply = harness.create_in_background(&planned);
    // Answered and no longer in flight: what remains before the client sleeps is reading the
    // answer on loopback. (Should Stop still come first, the test passes all the same, having
    // then cancelled the call rather than the sleep.)
    wait_until("the throttled kill to be answered", || {
        let answered =
            simulator.calls().iter().any(|call| call.path.ends_with("/kill") && call.status == 429);
        answered && simulator.kills_in_flight() == 0
    })
    .await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), apply).await.expect("cancelled within 1 s").unwrap();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(simulator.kill_calls("A1"), 1, "no retry after Stop");
}

/// A simulator whose gateway throttles every kill of A1, and a provider configured for it, with
/// `max_retries` 0: a throttled kill is sent again all the same, until something ends it.
async fn throttled_without_end() -> (Simulator, Harness) {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", vec![Fault::Status(429); 100]);
    let mut harness = start().await;
    let provider =
        with(&harness.provider_block(string(&endpoint)), "max_retries", Value::Number(Number::Int(0)));
    harness.configure(provider).await;
    (simulator, harness)
}

#[tokio::test]
async fn a_kill_throttled_without_end_ends_with_its_time_out() {
    let (simulator, mut harness) = throttled_without_end().await;
    let started = Instant::now();
    let response =
        harness.create(&with(&harness.kill_config(string("A1")), "timeouts", harness.timeouts("2s"))).await;
    let took = started.elapsed();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill timed out");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "{took:?}");
    // Sent again although max_retries is 0, each time refused, and the app still runs.
    let kills: Vec<u16> =
        simulator.calls().iter().filter(|c| c.path.ends_with("/kill")).map(|c| c.status).collect();
    assert!(kills.len() >= 2 && kills.iter().all(|status| *status == 429), "{kills:?}");
    assert_eq!(simulator.app("A1").unwrap().state, "RUNNING");
}

#[tokio::test]
async fn stop_ends_a_kill_waiting_out_throttling() {
    let (simulator, mut harness) = throttled_without_end().await;
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let apply = harness.create_in_background(&planned);
    wait_until("the kill to be throttled twice", || simulator.kill_calls("A1") >= 2).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), apply).await.expect("stopped within 1 s").unwrap();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill interrupted");
    let sent = simulator.kill_calls("A1");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(simulator.kill_calls("A1"), sent, "nothing sent after Stop");
}

#[tokio::test]
async fn a_data_source_read_is_interrupted_by_stop() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_details("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let mut client = harness.client.clone();
    let config = harness.config(Schema::DataSource("ncloud_dataforest_aiapp"), &[("id", string("A1"))]);
    let read = tokio::spawn(async move {
        let request = pb::read_data_source::Request {
            type_name: "ncloud_dataforest_aiapp".into(),
            config: dynamic(&config),
            ..Default::default()
        };
        client.read_data_source(request).await.unwrap().into_inner()
    });
    wait_until("the read to be in flight", || detail_calls(&simulator) >= 1).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), read).await.expect("stopped within 1 s").unwrap();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Interrupted");
}

#[tokio::test]
async fn a_dropped_action_stream_stops_the_kill_and_its_polling() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    simulator.fail_kills("B2", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;

    // Polling: drop the stream once the app has been checked, then no check follows.
    let mut events = harness.invoke(&harness.action_config("A1", Value::Bool(true))).await;
    while let Some(event) = events.message().await.unwrap() {
        if matches!(event.r#type, Some(Type::Progress(ref p)) if p.message.contains("is still RUNNING")) {
            break;
        }
    }
    drop(events);
    let polls = detail_calls(&simulator);
    // A sleep, since what it proves is that nothing happens: the next check was due 1.5 s after
    // the first, and the one after 2.25 s later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(detail_calls(&simulator), polls, "polling goes on after the stream was dropped");

    // A kill in flight: dropping the stream stops the HTTP call. A dropped stream stops the
    // provider's work as StopProvider does, so the next run configures it again.
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let events = harness.invoke(&harness.action_config("B2", Value::Bool(true))).await;
    wait_until("the kill to be in flight", || simulator.kills_in_flight() >= 1).await;
    drop(events);
    let dropped = Instant::now();
    wait_until("the dropped kill to end", || simulator.kills_in_flight() == 0).await;
    assert!(dropped.elapsed() < Duration::from_secs(1), "the kill was in flight {:?}", dropped.elapsed());
}

#[tokio::test]
async fn stop_provider_ends_an_action_that_is_waiting() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let config = harness.action_config("A1", Value::Bool(true));
    let mut events = harness.invoke(&config).await;
    while let Some(event) = events.message().await.unwrap() {
        if matches!(event.r#type, Some(Type::Progress(ref p)) if p.message.contains("accepted")) {
            break;
        }
    }
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let stopped = Instant::now();
    let event = tokio::time::timeout(Duration::from_secs(1), events.message())
        .await
        .expect("completed within 1 s")
        .unwrap()
        .unwrap();
    let Some(Type::Completed(done)) = event.r#type else { panic!("{event:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "Wait interrupted");
    assert!(events.message().await.unwrap().is_none(), "the stream ends after Completed");
    assert!(stopped.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn stop_during_a_bulk_kill_starts_no_new_kill_and_records_nothing() {
    let ids = ["B1", "B2", "B3", "B4", "B5", "B6"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    simulator.set_latency(Duration::from_millis(300));
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let selector = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-B")),
        ("concurrency", Value::Number(Number::Int(1))),
    ];
    let config = harness.config(Schema::Resource(BULK), &selector);
    let apply = harness.bulk_create_in_background(&config).await;
    // The listing takes 300 ms, then the first kill is in flight for 300 ms.
    wait_until("the first kill to be in flight", || simulator.kills_in_flight() >= 1).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(2), apply).await.expect("ends at once").unwrap();
    let error = errors(&response.diagnostics)[0];
    assert_eq!(error.summary, "DataForest kills failed");
    assert!(error.detail.contains("5 not attempted, because the provider was stopped"), "{}", error.detail);
    assert!(
        error.detail.contains("The provider was stopped (by Terraform, because Terraform ended, or by SIGTERM or SIGHUP) while the kill of AI app"),
        "{}",
        error.detail
    );
    assert_eq!(decode(response.new_state), Value::Null);
    let kills: usize = ids.iter().map(|id| simulator.kill_calls(id)).sum();
    assert_eq!(kills, 1, "only the kill in flight was sent");
}

#[tokio::test]
async fn after_stop_a_bulk_action_sends_nothing_but_its_completed_event() {
    use pb::invoke_action::event::Type;
    // Terraform 1.14 and 1.15 panic on an event that arrives after they stopped reading, which
    // they may do once they asked the provider to stop: the kills that Stop interrupts must not
    // report themselves.
    let ids = ["B1", "B2", "B3"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    for id in ids {
        simulator.fail_kills(id, [Fault::Hang]);
    }
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-B")),
        ("concurrency", Value::Number(Number::Int(3))),
    ];
    let config = harness.config(Schema::Action(BULK), &fields);
    let request = pb::invoke_action::Request {
        action_type: BULK.into(),
        config: dynamic(&config),
        ..Default::default()
    };
    let mut events = harness.client.invoke_action(request).await.unwrap().into_inner();
    // The selection's line comes before any kill; each kill reports only as it ends.
    let event = events.message().await.unwrap().expect("the stream ended early").r#type.unwrap();
    assert!(matches!(&event, Type::Progress(p) if p.message.starts_with("3 of 3 app(s)")), "{event:?}");
    wait_until("the three kills to be in flight", || simulator.kills_in_flight() == 3).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let mut after = Vec::new();
    while let Some(event) = events.message().await.unwrap() {
        after.push(event.r#type.unwrap());
    }
    let [Type::Completed(done)] = &after[..] else { panic!("after Stop: {after:#?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "DataForest kills failed");
}

/// Invokes the bulk action with `fields`, answering how long it took and its Completed event's
/// errors, by summary and detail.
async fn invoke_bulk(harness: &mut Harness, fields: &[(&str, Value)]) -> (Duration, Vec<(String, String)>) {
    use pb::invoke_action::event::Type;
    let config = harness.config(Schema::Action(BULK), fields);
    let request = pb::invoke_action::Request {
        action_type: BULK.into(),
        config: dynamic(&config),
        ..Default::default()
    };
    let started = Instant::now();
    let mut events = harness.client.invoke_action(request).await.unwrap().into_inner();
    let mut failed = Vec::new();
    while let Some(event) = events.message().await.unwrap() {
        if let Some(Type::Completed(done)) = event.r#type {
            failed =
                errors(&done.diagnostics).iter().map(|e| (e.summary.clone(), e.detail.clone())).collect();
        }
    }
    (started.elapsed(), failed)
}

#[tokio::test]
async fn a_listing_slower_than_the_time_out_ends_with_it() {
    let (simulator, endpoint) = simulator_with(&["B1"]).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    // A dry run first: the accounts the keys see are asked once a run and kept, so that the
    // slow call below is the listing itself.
    let whole = [("account_id", string("df-account")), ("all_apps", Value::Bool(true))];
    let dry_run = [whole.as_slice(), &[("dry_run", Value::Bool(true))]].concat();
    assert!(invoke_bulk(&mut harness, &dry_run).await.1.is_empty());
    simulator.set_latency(Duration::from_secs(30));
    let fields = [whole.as_slice(), &[("timeout", string("2s"))]].concat();
    let (took, failed) = invoke_bulk(&mut harness, &fields).await;
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "took {took:?}");
    let [(summary, detail)] = &failed[..] else { panic!("{failed:?}") };
    assert_eq!(summary, "DataForest look-up failed");
    assert!(
        detail.contains("Reading the apps of account \"df-account\" failed: no answer in time: the time-out of 2s ran out first"),
        "{detail}"
    );
    assert_eq!(simulator.kill_calls("B1"), 0);
}

#[tokio::test]
async fn a_bulk_kill_starts_no_kill_once_its_time_out_has_run_out() {
    let ids = ["B1", "B2", "B3", "B4", "B5", "B6"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    for id in ids {
        simulator.fail_kills(id, [Fault::Delay(Duration::from_millis(900))]);
    }
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-B")),
        ("concurrency", Value::Number(Number::Int(1))),
        ("timeout", string("2s")),
    ];
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let (took, failed) = invoke_bulk(&mut harness, &fields).await;
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let [(summary, detail)] = &failed[..] else { panic!("{failed:?}") };
    assert_eq!(summary, "DataForest kills failed");
    // Two or three kills fit in 2 s; none starts after.
    let sent: usize = ids.iter().map(|id| simulator.kill_calls(id)).sum();
    assert!((2..=3).contains(&sent), "{sent} kills sent: {detail}");
    assert!(
        detail.contains(&format!("{} not attempted, because the time-out ran out", 6 - sent)),
        "{detail}"
    );
}
