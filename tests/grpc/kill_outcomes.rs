//! What an apply of the kill records or reports: an accepted kill, a failed one recording nothing,
//! an attempt without an answer reported at once, a refusal looked into (an app already ended), a
//! wait that fails after an accepted kill, an app that vanishes while waited for, and a
//! destroy-time kill of an app that no longer exists.

use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault, Simulator};
use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::{Number, Value};

use crate::{Harness, decode, detail_calls, errors, simulator_with, start, string, with};

impl Harness {
    /// A provider block for `endpoint` with a short per-attempt time-out and `max_retries`.
    fn impatient_provider(&self, endpoint: &str, max_retries: i64) -> Value {
        let block = with(&self.provider_block(string(endpoint)), "request_timeout", string("300ms"));
        with(&block, "max_retries", Value::Number(Number::Int(max_retries)))
    }
}

#[tokio::test]
async fn apply_kills_records_and_failure_records_nothing() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    assert!(harness.configure(harness.provider_block(string(&endpoint))).await.is_empty());

    let planned = decode(harness.plan(&Value::Null, &harness.kill_config(string("A1"))).await.planned_state);
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decode(applied.new_state);
    assert_eq!(state.get("success"), &Value::Bool(true));
    assert_eq!(state.get("id"), &string("A1"));
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");

    let missing =
        decode(harness.plan(&Value::Null, &harness.kill_config(string("Nope"))).await.planned_state);
    let failed = harness.apply(&Value::Null, &missing).await;
    let error = errors(&failed.diagnostics)[0];
    assert!(
        error.detail.contains("HTTP 404") && error.detail.contains("no such element"),
        "{}",
        error.detail
    );
    assert_eq!(decode(failed.new_state), Value::Null);

    // A failed update leaves the recorded kill as it was.
    let moved = with(&state, "app_id", string("B9"));
    let refused = harness.apply(&state, &moved).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "Unexpected in-place update");
    assert_eq!(decode(refused.new_state), state);

    let calls = simulator.calls().len();
    let destroyed = harness.apply(&state, &Value::Null).await;
    assert_eq!(decode(destroyed.new_state), Value::Null);
    assert_eq!(simulator.calls().len(), calls, "destroy makes no call");
}

#[tokio::test]
async fn a_kill_without_an_answer_is_reported_at_once_without_a_state_check() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    simulator.fail_kills("B2", [Fault::Reset]);
    let mut harness = start().await;
    harness.configure(harness.impatient_provider(&endpoint, 0)).await;
    for (app, expected) in [("A1", "no answer in time"), ("B2", "request failed")] {
        let planned = harness.planned(&harness.kill_config(string(app))).await;
        let started = Instant::now();
        let failed = harness.apply(&Value::Null, &planned).await;
        assert!(errors(&failed.diagnostics)[0].detail.contains(expected), "{:?}", failed.diagnostics);
        assert!(started.elapsed() < Duration::from_secs(2), "{app}: {:?}", started.elapsed());
        assert_eq!(decode(failed.new_state), Value::Null);
    }
    assert_eq!(detail_calls(&simulator), 0, "only a refusal is looked into");

    // A refusal is: DataForest answered, so the app's state may explain it.
    simulator.fail_kills("A1", [Fault::Status(400)]);
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    assert!(errors(&refused.diagnostics)[0].detail.contains("invalid request parameters"));
    assert_eq!(detail_calls(&simulator), 1);
}

#[tokio::test]
async fn a_retried_kill_that_finds_the_app_ended_counts_as_killed_most_likely_by_it() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    // The first attempt gets no answer (it may have killed the app); the retry is refused, and
    // the app has ended.
    simulator.put_app(App { state: "KILLED".into(), final_status: "KILLED".into(), ..App::running("A1") });
    simulator.fail_kills("A1", [Fault::Hang, Fault::Status(400)]);
    let mut harness = start().await;
    harness.configure(harness.impatient_provider(&endpoint, 1)).await;
    let planned = harness.planned(&harness.kill_config(string("A1"))).await;
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(errors(&applied.diagnostics).is_empty(), "{:?}", applied.diagnostics);
    let warning = &applied.diagnostics[0];
    assert_eq!(warning.summary, "App killed, most likely");
    assert!(
        warning.detail.contains("earlier attempt") && warning.detail.contains("most likely by this kill"),
        "{}",
        warning.detail
    );
    let state = decode(applied.new_state);
    assert_eq!((state.get("success"), state.get("app_state")), (&Value::Bool(true), &string("KILLED")));

    // Without an uncertain attempt before it, the refusal is named as one (in a new run: this
    // one remembers the app as killed).
    harness.configure(harness.impatient_provider(&endpoint, 1)).await;
    simulator.fail_kills("A1", [Fault::Status(400)]);
    let again = harness.apply(&Value::Null, &planned).await;
    assert_eq!(again.diagnostics[0].summary, "App had already ended");
    assert!(again.diagnostics[0].detail.contains("refused"));
}

#[tokio::test]
async fn a_wait_that_fails_after_an_accepted_kill_keeps_the_kill() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(harness.impatient_provider(&endpoint, 0)).await;
    let waiting = with(&harness.kill_config(string("A1")), "wait_for_termination", Value::Bool(true));

    // The time-out runs out while the app is still running.
    let planned = harness.planned(&with(&waiting, "timeouts", harness.timeouts("2s"))).await;
    let timed_out = harness.apply(&Value::Null, &planned).await;
    let error = errors(&timed_out.diagnostics)[0];
    assert_eq!(error.summary, "App still running");
    assert!(error.detail.contains("tainted"), "{}", error.detail);
    let kept = decode(timed_out.new_state);
    assert_eq!(kept.get("success"), &Value::Bool(true));
    assert_eq!(kept.get("message"), &string("kill requested"));
    assert!(kept.get("killed_at").as_str().is_some());
    assert_eq!(kept.get("app_state"), &string("RUNNING"), "the state last seen");

    // getDetail fails while waiting.
    simulator.fail_details("B2", [Fault::Status(403)]);
    let planned = harness.planned(&with(&waiting, "app_id", string("B2"))).await;
    let unreadable = harness.apply(&Value::Null, &planned).await;
    let error = errors(&unreadable.diagnostics)[0];
    assert_eq!(error.summary, "Could not confirm the app ended");
    assert!(error.detail.contains("not allowed to access"), "{}", error.detail);
    let kept = decode(unreadable.new_state);
    assert_eq!((kept.get("success"), kept.get("app_state")), (&Value::Bool(true), &Value::Null));
    assert_eq!(simulator.kill_calls("B2"), 1);
}

#[tokio::test]
async fn a_destroy_time_kill_of_an_app_that_no_longer_exists_succeeds_with_a_warning() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let at_destroy = with(&harness.kill_config(string("Gone1")), "when", string("destroy"));
    let planned = harness.planned(&at_destroy).await;
    // An app DataForest does not know cannot be armed for destroy time: a typo fails now.
    let unarmed = harness.apply(&Value::Null, &planned).await;
    let error = errors(&unarmed.diagnostics)[0];
    assert_eq!(error.summary, "Cannot arm the kill at destroy");
    assert!(error.detail.contains("no such element"), "{}", error.detail);
    assert_eq!(decode(unarmed.new_state), Value::Null);
    simulator.put_app(App::running("Gone1"));
    let recorded = decode(harness.apply(&Value::Null, &planned).await.new_state);
    assert_eq!(simulator.kill_calls("Gone1"), 0, "arming kills nothing");

    // The app is purged before the destroy: there is nothing left to kill.
    simulator.remove_app("Gone1");
    let destroyed = harness.apply(&recorded, &Value::Null).await;
    assert!(errors(&destroyed.diagnostics).is_empty(), "{:?}", destroyed.diagnostics);
    assert_eq!(destroyed.diagnostics[0].summary, "App no longer exists");
    assert!(destroyed.diagnostics[0].detail.contains("\"Gone1\""));
    assert!(destroyed.diagnostics[0].detail.contains("keys"), "{}", destroyed.diagnostics[0].detail);
    assert_eq!(decode(destroyed.new_state), Value::Null);
    assert_eq!(detail_calls(&simulator), 3, "two checks at arming, one after the refused kill");

    // A refusal for another reason still fails the destroy and keeps the resource.
    simulator.put_app(App::running("Gone1"));
    simulator.fail_kills("Gone1", [Fault::Status(403)]);
    let refused = harness.apply(&recorded, &Value::Null).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "DataForest kill failed");
    assert_eq!(decode(refused.new_state), recorded);
}

#[tokio::test]
async fn an_app_that_vanishes_while_waiting_counts_as_ended() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    // The kill is accepted; the first poll finds the app no more.
    simulator.fail_details("A1", [Fault::Status(404)]);
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    let applied = harness
        .create(&with(&harness.kill_config(string("A1")), "wait_for_termination", Value::Bool(true)))
        .await;
    assert!(errors(&applied.diagnostics).is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(applied.diagnostics[0].summary, "App gone while waiting");
    let state = decode(applied.new_state);
    assert_eq!((state.get("success"), state.get("app_state")), (&Value::Bool(true), &Value::Null));
}

#[tokio::test]
async fn a_failed_kill_after_an_attempt_without_an_answer_says_it_may_have_happened() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.fail_kills("A1", [Fault::Hang, Fault::Status(403)]);
    simulator.fail_kills("B2", [Fault::Status(403)]);
    let mut harness = start().await;
    harness.configure(harness.impatient_provider(&endpoint, 1)).await;
    let uncertain = harness.create(&harness.kill_config(string("A1"))).await;
    assert!(
        errors(&uncertain.diagnostics)[0].detail.contains("may have happened"),
        "{:?}",
        uncertain.diagnostics
    );
    let refused = harness.create(&harness.kill_config(string("B2"))).await;
    assert!(
        !errors(&refused.diagnostics)[0].detail.contains("may have happened"),
        "{:?}",
        refused.diagnostics
    );
}

/// A harness whose provider permits only account `df-account`.
async fn allowing_df_account(endpoint: &str) -> Harness {
    let mut harness = start().await;
    let block = harness.provider_block(string(endpoint));
    let block = with(&block, "allowed_account_ids", Value::List(vec![string("df-account")]));
    assert!(errors(&harness.configure(block).await).is_empty());
    harness
}

#[tokio::test]
async fn under_an_account_list_a_destroy_of_an_app_gone_sends_nothing_and_goes_on() {
    let (simulator, endpoint) = simulator_with(&["Gone1", "Other1"]).await;
    let mut harness = allowing_df_account(&endpoint).await;
    let at_destroy = with(&harness.kill_config(string("Gone1")), "when", string("destroy"));
    let planned = harness.planned(&at_destroy).await;
    let recorded = decode(harness.apply(&Value::Null, &planned).await.new_state);
    simulator.remove_app("Gone1");
    let destroyed = harness.apply(&recorded, &Value::Null).await;
    assert!(errors(&destroyed.diagnostics).is_empty(), "{:?}", destroyed.diagnostics);
    let [warning] = &destroyed.diagnostics[..] else { panic!("{:?}", destroyed.diagnostics) };
    assert_eq!(warning.summary, "App no longer exists");
    assert!(warning.detail.contains("allowed_account_ids, and nothing was sent"), "{}", warning.detail);
    assert_eq!(decode(destroyed.new_state), Value::Null);
    assert_eq!(simulator.kill_calls("Gone1"), 0, "nothing is sent");
    // At create, the same is a refusal: the account cannot be checked.
    let create = harness.kill_config(string("Gone1"));
    let planned = harness.planned(&create).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "Account not verifiable");
    assert_eq!(simulator.kill_calls("Gone1"), 0);
}

#[tokio::test]
async fn under_an_account_list_an_account_id_the_keys_do_not_see_is_refused() {
    let (simulator, endpoint) = simulator_with(&["Ours1"]).await;
    let mut harness = start().await;
    let block = with(
        &harness.provider_block(string(&endpoint)),
        "forbidden_account_ids",
        Value::List(vec![string("other-acct")]),
    );
    assert!(errors(&harness.configure(block).await).is_empty());
    // A kill of one of its apps: the run asks which accounts the keys see, once.
    let planned = harness.planned(&harness.kill_config(string("Ours1"))).await;
    assert!(errors(&harness.apply(&Value::Null, &planned).await.diagnostics).is_empty());
    // An app whose detail names an account the keys do not see: nothing to check it against,
    // under a deny list as under an allow list.
    simulator.put_app(App { account_id: "zzz".into(), account_name: String::new(), ..App::running("Odd1") });
    let planned = harness.planned(&harness.kill_config(string("Odd1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    let failed = errors(&refused.diagnostics);
    assert_eq!(failed.len(), 1, "{refused:?}");
    assert_eq!(failed[0].summary, "Account not verifiable");
    assert!(
        failed[0].detail.contains("its accountId \"zzz\" is no account these keys see"),
        "{}",
        failed[0].detail
    );
    assert_eq!(simulator.kill_calls("Odd1"), 0);
}

#[tokio::test]
async fn a_look_after_the_kill_that_fails_does_not_fail_the_kill() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    // Each answer takes 50 ms: the listing changes while the kill is answered.
    simulator.set_latency(Duration::from_millis(50));
    // After the kill, the listing holds no list: the look after it cannot be made.
    let changer = {
        let simulator = simulator.clone();
        tokio::spawn(async move {
            crate::wait_until("a kill of A1", || simulator.kill_calls("A1") > 0).await;
            simulator.set_list_quirks(dataforest_sim::ListQuirks { no_contents: true, ..Default::default() });
        })
    };
    let mut harness = crate::configured(&endpoint, false).await;
    let fields = [("account_id", string("df-account")), ("name_regex", string("^app-"))];
    let config = harness.config(crate::Schema::Resource(crate::BULK), &fields);
    let planned = decode(crate::plan_bulk(&mut harness, &Value::Null, &config).await.planned_state);
    let applied = crate::apply_bulk(&mut harness, &Value::Null, &planned).await;
    changer.await.unwrap();
    assert!(errors(&applied.diagnostics).is_empty(), "{applied:?}");
    let [warning] = &applied.diagnostics[..] else { panic!("{:?}", applied.diagnostics) };
    assert_eq!(warning.summary, "No check after the kill");
    assert!(warning.detail.contains("without \"contents\""), "{}", warning.detail);
    let killed = decode(applied.new_state);
    let Value::List(killed) = killed.get("killed") else { panic!("{killed:?}") };
    assert_eq!(killed.len(), 1, "the kill stands, recorded");
}

#[tokio::test]
async fn under_an_account_list_a_name_alone_does_not_tell_when_another_account_has_none() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    simulator.put_account("df-account", "Analytics");
    // Its detail names the account by name alone.
    simulator.put_app(App {
        account_id: String::new(),
        account_name: "Analytics".into(),
        ..App::running("Named1")
    });
    let mut harness = allowing_df_account(&endpoint).await;
    let planned = harness.planned(&harness.kill_config(string("Named1"))).await;
    let killed = harness.apply(&Value::Null, &planned).await;
    assert!(errors(&killed.diagnostics).is_empty(), "the name is df-account's alone: {killed:?}");
    assert_eq!(simulator.kill_calls("Named1"), 1);
    // Another account the keys see has no name: it may be named "Analytics" too.
    simulator.put_app(App {
        account_id: String::new(),
        account_name: "Analytics".into(),
        ..App::running("Named2")
    });
    simulator.put_account("ops", "");
    let mut harness = allowing_df_account(&endpoint).await;
    let planned = harness.planned(&harness.kill_config(string("Named2"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    let failed = errors(&refused.diagnostics);
    assert_eq!(failed.len(), 1, "{refused:?}");
    assert_eq!(failed[0].summary, "Account not verifiable");
    assert!(failed[0].detail.contains("gives ops no name"), "{}", failed[0].detail);
    assert_eq!(simulator.kill_calls("Named2"), 0);
}

#[tokio::test]
async fn under_an_account_list_a_detail_whose_id_and_name_name_different_accounts_is_refused() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    simulator.put_account("df-account", "Analytics");
    simulator.put_account("ops", "Operations");
    simulator.put_app(App {
        account_id: "df-account".into(),
        account_name: "Operations".into(),
        ..App::running("Mixed1")
    });
    let mut harness = allowing_df_account(&endpoint).await;
    let planned = harness.planned(&harness.kill_config(string("Mixed1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    let failed = errors(&refused.diagnostics);
    assert_eq!(failed.len(), 1, "{refused:?}");
    assert!(failed[0].detail.contains("name different accounts"), "{}", failed[0].detail);
    assert_eq!(simulator.kill_calls("Mixed1"), 0);
}

#[tokio::test]
async fn an_account_check_that_times_out_says_nothing_was_sent() {
    let (simulator, endpoint) = simulator_with(&["Slow1"]).await;
    simulator.fail_details("Slow1", [Fault::Hang]);
    let mut harness = allowing_df_account(&endpoint).await;
    let config = with(&harness.kill_config(string("Slow1")), "timeouts", harness.timeouts("1s"));
    let planned = harness.planned(&config).await;
    let failed = harness.apply(&Value::Null, &planned).await;
    let errors = errors(&failed.diagnostics);
    assert_eq!(errors.len(), 1, "{failed:?}");
    assert_eq!(errors[0].summary, "DataForest look-up failed");
    assert!(
        errors[0].detail.contains("Reading the account of AI app \"Slow1\" failed"),
        "{}",
        errors[0].detail
    );
    assert!(!errors[0].detail.contains("may or may not have happened"), "{}", errors[0].detail);
    assert_eq!(simulator.kill_calls("Slow1"), 0);
}

/// The apps the quota tests kill, all named `app-Q...`.
const QUOTA_APPS: [&str; 4] = ["Q1", "Q2", "Q3", "Q4"];

/// A bulk kill of [`QUOTA_APPS`], `concurrency` at a time, planned.
async fn planned_quota_kill(harness: &mut Harness, concurrency: i64) -> Value {
    let fields = [
        ("account_id", string("df-account")),
        ("name_regex", string("^app-Q")),
        ("concurrency", Value::Number(Number::Int(concurrency))),
    ];
    let config = harness.config(crate::Schema::Resource(crate::BULK), &fields);
    decode(crate::plan_bulk(harness, &Value::Null, &config).await.planned_state)
}

/// The detail of the one error of a bulk kill the spent quota stopped, which counts its kills
/// as `counts` says.
fn quota_summary(applied: &pb::apply_resource_change::Response, counts: &str) -> String {
    let failed = errors(&applied.diagnostics);
    assert_eq!(failed.len(), 1, "{applied:?}");
    let summary = format!("{counts}, because the API Gateway quota of the keys is spent");
    assert!(failed[0].detail.contains(&summary), "{}", failed[0].detail);
    failed[0].detail.clone()
}

/// The kills the simulator received, of every app.
fn all_kill_calls(simulator: &Simulator) -> usize {
    simulator.calls().iter().filter(|call| call.path.ends_with("/kill")).count()
}

#[tokio::test]
async fn a_spent_quota_sends_none_of_the_kills_waiting_in_the_budget() {
    let (simulator, endpoint) = simulator_with(&QUOTA_APPS).await;
    let mut harness = crate::configured(&endpoint, false).await;
    let planned = planned_quota_kill(&mut harness, 4).await;
    // The four kills are throttled, and pause the budget a second; then they go one by one, at
    // the rate: the first is killed, the second meets the spent quota (the listing, the four
    // throttled kills and one more were all the quota held), and the last two wait in the
    // budget when its answer comes.
    for id in QUOTA_APPS {
        simulator.fail_kills(id, [Fault::RetryAfter(1)]);
    }
    simulator.set_quota(6);
    let applied = crate::apply_bulk(&mut harness, &Value::Null, &planned).await;
    quota_summary(&applied, "1 killed, 1 failed, 2 not attempted");
    let kills = all_kill_calls(&simulator);
    assert_eq!(kills, 6, "four throttled, one killed, one refused: none sent after the quota answer");
}

#[tokio::test]
async fn a_spent_quota_ends_at_once_the_kills_waiting_for_a_slow_ceiling() {
    let (simulator, endpoint) = simulator_with(&QUOTA_APPS).await;
    let mut harness = start().await;
    let provider = with(
        &harness.provider_block(string(&endpoint)),
        "max_requests_per_second",
        Value::Number(Number::Float(0.5)),
    );
    harness.configure(provider).await;
    let planned = planned_quota_kill(&mut harness, 4).await;
    // One call every 2 s: the listing, then the first kill, which meets the spent quota; the
    // other three, waiting their turn, fail then, not 2, 4 and 6 s later.
    simulator.set_quota(1);
    let started = Instant::now();
    let applied = crate::apply_bulk(&mut harness, &Value::Null, &planned).await;
    let took = started.elapsed();
    quota_summary(&applied, "0 killed, 1 failed, 3 not attempted");
    assert_eq!(all_kill_calls(&simulator), 1);
    assert!(took < Duration::from_secs(6), "the waiting kills ended {took:?} after the apply began");
}

#[tokio::test]
async fn a_spent_quota_is_not_retried_and_no_further_kill_starts() {
    let (simulator, endpoint) = simulator_with(&QUOTA_APPS).await;
    let mut harness = crate::configured(&endpoint, false).await;
    let planned = planned_quota_kill(&mut harness, 1).await;
    // The listing and one kill, then the quota is spent.
    simulator.set_quota(2);
    let applied = crate::apply_bulk(&mut harness, &Value::Null, &planned).await;
    let detail = quota_summary(&applied, "1 killed, 1 failed, 2 not attempted");
    assert!(detail.contains("quota of these keys is spent"), "{detail}");
    assert_eq!(
        (simulator.kill_calls("Q2"), simulator.kill_calls("Q3"), simulator.kill_calls("Q4")),
        (1, 0, 0)
    );
}
