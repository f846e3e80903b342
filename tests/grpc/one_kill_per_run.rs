//! Within a run (from one configure to the next), DataForest gets one kill per app: changing
//! `when` never kills twice, two kills of one app at once send one, a kill accepted before a
//! failed wait is reused, a bulk and a single kill share the run's memory, and a kill waiting for
//! another kill of its app keeps its own time-out.

use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault};
use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{BULK, Schema, decode, errors, simulator_with, start, string, wait_until, with};

#[tokio::test]
async fn changing_when_never_kills_one_app_twice() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let at_destroy = with(&harness.kill_config(string("A1")), "when", string("destroy"));
    let intent = decode(harness.create(&at_destroy).await.new_state);

    // destroy -> create: one kill, in place.
    let plan = harness.plan(&intent, &with(&intent, "when", string("create"))).await;
    assert!(plan.requires_replace.is_empty());
    let applied = harness.apply(&intent, &decode(plan.planned_state)).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let killed = decode(applied.new_state);
    assert_eq!(killed.get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1);

    // create -> destroy: nothing is sent until the destroy. (Each step is a run of its own.)
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let plan = harness.plan(&killed, &with(&killed, "when", string("destroy"))).await;
    let armed = decode(harness.apply(&killed, &decode(plan.planned_state)).await.new_state);
    assert_eq!((armed.get("when"), armed.get("success")), (&string("destroy"), &Value::Bool(true)));
    assert_eq!(simulator.kill_calls("A1"), 1);

    // destroy -> create with new triggers replaces: the old resource's destroy kills, and the
    // new one's create reuses that answer instead of killing again. Either order.
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let triggers = Value::object([("run", string("2"))]);
    let next = with(&with(&armed, "when", string("create")), "triggers", triggers);
    let replace = harness.plan(&armed, &next).await;
    assert_eq!(replace.requires_replace.len(), 1);
    let gone = harness.apply(&armed, &Value::Null).await;
    assert!(errors(&gone.diagnostics).is_empty(), "{:?}", gone.diagnostics);
    let created = harness.create(&next).await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    assert_eq!(decode(created.new_state).get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 2);

    simulator.put_app(App::running("B2"));
    let old = with(&with(&armed, "app_id", string("B2")), "id", string("B2"));
    let new = with(&with(&old, "when", string("create")), "triggers", Value::object([("run", string("3"))]));
    let created = harness.create(&new).await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    assert!(errors(&harness.apply(&old, &Value::Null).await.diagnostics).is_empty());
    assert_eq!(simulator.kill_calls("B2"), 1, "create before destroy: one kill");
}

#[tokio::test]
async fn two_kills_of_one_app_at_once_in_a_run_send_one() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_latency(Duration::from_millis(300));
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    // Two instances of one app applied together, as a removed `when = "destroy"` resource and a
    // new `when = "create"` one at another address are.
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let first = harness.create_in_background(&planned);
    let second = harness.create_in_background(&planned);
    for response in [first.await.unwrap(), second.await.unwrap()] {
        assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
        assert_eq!(decode(response.new_state).get("success"), &Value::Bool(true));
    }
    assert_eq!(simulator.kill_calls("A1"), 1);
}

#[tokio::test]
async fn a_kill_waiting_for_another_kill_of_its_app_keeps_its_own_time_out() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let first = harness.create_in_background(&planned);
    wait_until("the first kill to be in flight", || simulator.kills_in_flight() >= 1).await;
    let started = Instant::now();
    let second =
        harness.create(&with(&harness.kill_config(string("A1")), "timeouts", harness.timeouts("1s"))).await;
    assert_eq!(errors(&second.diagnostics)[0].summary, "Kill timed out");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(1), first).await.expect("stopped").unwrap();
    assert_eq!(errors(&first.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(simulator.kill_calls("A1"), 1);
}

#[tokio::test]
async fn a_kill_accepted_before_a_failed_wait_is_reused_in_the_run() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let waiting = with(&harness.kill_config(string("A1")), "wait_for_termination", Value::Bool(true));
    let timed_out = harness.create(&with(&waiting, "timeouts", harness.timeouts("2s"))).await;
    assert_eq!(errors(&timed_out.diagnostics)[0].summary, "App still running");
    // Another resource of the same app in the same run: no second kill, only its own wait.
    let again =
        harness.create(&with(&harness.kill_config(string("A1")), "timeouts", harness.timeouts("2s"))).await;
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
    assert_eq!(decode(again.new_state).get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1);
}

#[tokio::test]
async fn a_bulk_kill_and_a_single_kill_of_one_app_in_a_run_send_one_kill() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_latency(Duration::from_millis(200));
    // The app stays RUNNING a while after its kill, so the bulk kill's listing still selects it.
    simulator.set_kill_duration(Duration::from_secs(2));
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let selector = [("account_id", string("df-account")), ("name", string("app-A1"))];
    let bulk = harness.config(Schema::Resource(BULK), &selector);
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let single = harness.create_in_background(&planned);
    let bulk = harness.bulk_create_in_background(&bulk).await;
    let (single, bulk) = (single.await.unwrap(), bulk.await.unwrap());
    assert!(single.diagnostics.is_empty(), "{:?}", single.diagnostics);
    assert!(bulk.diagnostics.is_empty(), "{:?}", bulk.diagnostics);
    let Value::List(killed) = decode(bulk.new_state).get("killed").clone() else { panic!("no killed list") };
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0].get("id"), &string("A1"));
    assert_eq!(killed[0].get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1, "the run's memory is shared by both resources");
}
