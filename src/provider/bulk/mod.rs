//! The bulk kill that the `ncloud_dataforest_aiapps_kill` resource and action share: the
//! arguments both take ([`KillSettings`]), and the kill itself: check the account (the
//! provider's account lists, then `accounts/getList`), list it (one `getList`), select, refuse a
//! selection larger than `max_apps` or smaller than `min_apps`, then kill what was selected,
//! `concurrency` at a time through the one HTTP client, each as a single kill is (retries, the
//! refusal check, waiting); then, for each settle round, list again and kill what newly matches.
//! A kill that fails does not stop the others; the failures are reported together once all have
//! run. Once Terraform asks to stop or the time-out runs out, no new kill starts.
//!
//! The parts: [`settings`] (the arguments), [`listing`] (the look-ups and the selection),
//! [`killer`] (one round's kills); this file runs the rounds.

mod killer;
mod listing;
mod settings;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;

use crate::ncp::{AppInfo, DataForestClient};

use super::error::{Phase, ProviderError, ProviderWarning, Unstarted};
use super::kill::{KillReport, Outcome};
use super::selector::{Selection, describe};
use super::session::Context;

pub use killer::{Caller, Memory};
use killer::{Killer, Round, kill_each, tally};
use listing::{NAMED_WHEN_TOO_MANY, apps_of, select};
pub use listing::{excluded_note, list_and_select, preview, refusal, select_any};
pub use settings::{BulkSettings, KillSettings, check_scope, deadline_after};

/// What a bulk kill did: each app whose kill counts as done (killed, found already ended, or,
/// at destroy, gone) with DataForest's answer, round by round in the order `getList` gave them;
/// and what is worth a warning.
#[derive(Debug, Default)]
pub struct BulkOutcome {
    pub done: Vec<(AppInfo, KillReport)>,
    pub warnings: Vec<ProviderWarning>,
}

/// A bulk kill that failed, with what it did before it failed: the kills that went through are
/// kept, so that a resource can record them.
#[derive(Debug)]
pub struct BulkError {
    pub error: ProviderError,
    pub done: Vec<(AppInfo, KillReport)>,
    pub warnings: Vec<ProviderWarning>,
}

impl From<ProviderError> for BulkError {
    fn from(error: ProviderError) -> BulkError {
        BulkError { error, done: Vec::new(), warnings: Vec::new() }
    }
}

/// Lists, selects and kills what was selected; then, for each settle round asked for, lists
/// again and kills what newly matches (apps started meanwhile), every round counting against
/// `max_apps`. Apps that still match after the last round fail the kill; without settle rounds,
/// one listing after the kill names them in a warning. Each kill's outcome goes
/// to the audit log, when there is one, as it ends; a log that cannot be opened fails the kill
/// before anything is listed. A failure keeps what was done before it.
pub async fn bulk_kill(
    context: &Context,
    selection: &Selection,
    settings: &BulkSettings,
    caller: Caller,
    progress: &(dyn Fn(String) + Sync),
) -> Result<BulkOutcome, BulkError> {
    let mut outcome = BulkOutcome::default();
    let audit_warning = Mutex::new(None);
    let budget = || {
        context.session().ok().and_then(|session| session.client().ok().map(DataForestClient::budget_stats))
    };
    let before = budget();
    let result =
        kill_rounds(context, selection, settings, caller, progress, &mut outcome, &audit_warning).await;
    // How the gateway's throttling went, when it throttled: the budget is the provider's, so the
    // count takes in whatever ran beside this kill.
    if let (Some(before), Some(after)) = (before, budget())
        && after.throttled > before.throttled
    {
        let rate = after.rate.map_or(String::new(), |rate| {
            let digits = if rate < 10.0 { 1 } else { 0 };
            format!("; the provider now sends about {rate:.digits$} requests/s")
        });
        progress(format!(
            "The API Gateway throttled {} call(s) of the provider while this bulk kill ran{rate}",
            after.throttled - before.throttled
        ));
    }
    let mut unwritten = audit_warning.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    // The apps killed whose lines were lost come first: they are what the log most needs.
    if let Some(ProviderWarning::AuditIncomplete { lost, .. }) = &mut unwritten {
        let killed: BTreeSet<&str> = outcome.done.iter().map(|(app, _)| app.id()).collect();
        lost.sort_by_key(|id| !killed.contains(id.as_str()));
    }
    outcome.warnings.extend(unwritten);
    match result {
        Ok(()) => Ok(outcome),
        // A failure after kills went through (a settle round's listing, apps still matching)
        // says what was killed before it.
        Err(error) if !outcome.done.is_empty() && !matches!(error, ProviderError::BulkFailed { .. }) => {
            let error = ProviderError::FailedAfterKills {
                phase: caller.phase,
                recorded: caller.phase == Phase::Create,
                killed: killed_names(&outcome.done),
                others: outcome.done.len() - count_of(&outcome.done, Outcome::Killed),
                cause: Box::new(error),
            };
            Err(BulkError { error, done: outcome.done, warnings: outcome.warnings })
        }
        Err(error) => Err(BulkError { error, done: outcome.done, warnings: outcome.warnings }),
    }
}

/// [`bulk_kill`]'s rounds, adding each kill that went through to `outcome` as it goes, and the
/// audit log's lost lines to `audit_warning`. Once a line cannot be written, no new kill starts.
async fn kill_rounds(
    context: &Context,
    selection: &Selection,
    settings: &BulkSettings,
    caller: Caller,
    progress: &(dyn Fn(String) + Sync),
    outcome: &mut BulkOutcome,
    audit_warning: &Mutex<Option<ProviderWarning>>,
) -> Result<(), ProviderError> {
    let Caller { phase, .. } = caller;
    let session = context.session()?;
    let audit = session.audit().await?;
    let deadline = deadline_after(settings)?;
    let selected = match select(context, selection, settings, deadline, progress).await {
        // At destroy, the check at create has caught a mistyped account: one the keys no longer
        // see leaves nothing they can kill.
        // Unless DataForest still lists apps for it (or entries of any kind, or says it has
        // some): then something is off, and the destroy stops.
        // With `min_apps` set, though, nothing to kill is a failure, as everywhere.
        Err(ProviderError::UnknownAccount { attribute, account, .. })
            if phase == Phase::Destroy && settings.min_apps == 0 =>
        {
            let listed = apps_of(context, selection, deadline, settings.limit).await?;
            let count =
                listed.entries.max(usize::try_from(listed.claimed.unwrap_or(0)).unwrap_or(usize::MAX));
            if count > 0 {
                return Err(ProviderError::AccountUnlisted { attribute, account, count });
            }
            outcome.warnings.push(ProviderWarning::AccountGone { attribute, account });
            return Ok(());
        }
        selected => selected?,
    };
    let stop = context.running()?;
    // What this listing says against apps holds for the later ones.
    let mut selection = selection.clone();
    selection.remember(&selected);
    let selection = &mut selection;
    // Under `strict`, what the selection could not check, or would leave undone, fails it before
    // any kill.
    let mut warnings = selected.warnings;
    let refused = session.shortfall(&mut warnings, phase == Phase::Destroy, true);
    outcome.warnings.extend(warnings);
    if let Some(error) = refused {
        return Err(error);
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let mut round_apps = selected.apps;
    // Cancelled once the audit log cannot take a line (no kill starts without its record), or
    // the keys' quota is spent.
    let halted = CancellationToken::new();
    let quota_spent = AtomicBool::new(false);
    for round in 0..=settings.settle_rounds + 1 {
        if round > 0 {
            // A settle round, or after the last one, the check that nothing is left. Without
            // settle rounds, that check only looks, and says what it found; it has nothing to
            // look for when nothing was killed.
            let looking = settings.settle_rounds == 0;
            if looking && taken.is_empty() {
                break;
            }
            let listed = if looking {
                list_and_select(context, selection, deadline, settings.limit).await.map(|(_, again)| again)
            } else {
                select_any(context, selection, settings, deadline, progress).await
            };
            let again = match listed {
                Ok(again) => again,
                Err(error) if looking => {
                    let reason = error.to_diagnostic().detail;
                    let account = selection.account_id.clone();
                    outcome.warnings.push(ProviderWarning::AfterKillCheckFailed { account, reason });
                    break;
                }
                Err(error) => return Err(error),
            };
            // What this listing could not check is said as the first one's is (once), and under
            // `strict` stops a settle round before its kills.
            // Exclusions are weighed against the first listing: an app spared there that has
            // ended since spares nothing now, and that is no shortfall.
            selection.remember(&again);
            let mut warnings = again.warnings;
            warnings.retain(|warning| {
                !matches!(warning, ProviderWarning::UnusedExclusions { .. })
                    && !outcome.warnings.contains(warning)
            });
            // An app whose kill was refused because getDetail said it had ended, or knew it no
            // more, listed as matching still: one of the answers is wrong, and it may still run.
            let ended: BTreeSet<&str> = outcome
                .done
                .iter()
                .filter(|(_, report)| matches!(report.outcome(), Outcome::AlreadyEnded | Outcome::Gone))
                .map(|(app, _)| app.id())
                .collect();
            let still: Vec<&AppInfo> = again.apps.iter().filter(|app| ended.contains(app.id())).collect();
            if !still.is_empty() {
                let warning = ProviderWarning::EndedStillListed {
                    account: selection.account_id.clone(),
                    count: still.len(),
                    first: still.iter().take(NAMED_WHEN_TOO_MANY).map(|app| describe(app)).collect(),
                };
                if !outcome.warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            let refused = session.shortfall(&mut warnings, phase == Phase::Destroy, false);
            outcome.warnings.extend(warnings);
            if let Some(error) = refused {
                return Err(error);
            }
            let new: Vec<AppInfo> = again.apps.into_iter().filter(|app| !taken.contains(app.id())).collect();
            if new.is_empty() {
                break;
            }
            if looking {
                outcome.warnings.push(ProviderWarning::MatchAfterKill {
                    account: selection.account_id.clone(),
                    count: new.len(),
                    first: new.iter().take(NAMED_WHEN_TOO_MANY).map(describe).collect(),
                });
                break;
            }
            let killed = count_of(&outcome.done, Outcome::Killed);
            let unsettled = |over_cap| ProviderError::Unsettled {
                attribute: if over_cap { KillSettings::max_apps } else { KillSettings::settle_rounds },
                rounds: round - 1,
                killed,
                count: new.len(),
                max: settings.max_apps,
                over_cap,
                first: new.iter().take(NAMED_WHEN_TOO_MANY).map(describe).collect(),
            };
            if round > settings.settle_rounds {
                return Err(unsettled(false));
            }
            if taken.len() + new.len() > settings.max_apps {
                return Err(unsettled(true));
            }
            progress(format!("Settle round {round}: {} more app(s) match", new.len()));
            round_apps = new;
        }
        taken.extend(round_apps.iter().map(|app| app.id().to_string()));
        let killer = Killer {
            session: &session,
            caller,
            account: &selection.account_id,
            settings,
            deadline,
            stop: &stop,
            audit,
            audit_warning,
            halted: &halted,
            quota_spent: &quota_spent,
            progress,
        };
        let results = kill_each(&round_apps, settings.concurrency, deadline, &stop, &halted, |app, slot| {
            killer.kill(app, slot)
        })
        .await;
        let unstarted = if stop.is_cancelled() {
            Unstarted::Stopped
        } else if quota_spent.load(Ordering::Acquire) {
            Unstarted::QuotaSpent
        } else if halted.is_cancelled() {
            Unstarted::Unrecorded
        } else {
            Unstarted::TimedOut
        };
        for (app, _) in results.iter().filter(|(_, attempt)| attempt.is_none()) {
            killer.record(app, Err(unstarted)).await;
        }
        let mut round = tally(results);
        outcome.done.append(&mut round.done);
        outcome.warnings.append(&mut round.warnings);
        if round.failed() {
            return Err(bulk_failed(phase, taken.len(), &outcome.done, round, unstarted));
        }
    }
    Ok(())
}

/// The error of a bulk kill in `phase` whose last round (`round`, its kills that went through
/// already in `done`) failed: `selected` apps in all, some perhaps not started (`unstarted` says
/// why). A create records what went through.
fn bulk_failed(
    phase: Phase,
    selected: usize,
    done: &[(AppInfo, KillReport)],
    round: Round,
    unstarted: Unstarted,
) -> ProviderError {
    ProviderError::BulkFailed {
        phase,
        recorded: phase == Phase::Create && !done.is_empty(),
        selected,
        killed: killed_names(done),
        already_ended: count_of(done, Outcome::AlreadyEnded),
        gone: count_of(done, Outcome::Gone),
        failures: round.failures,
        unconfirmed: round.unconfirmed,
        not_attempted: round.not_attempted,
        unstarted,
    }
}

/// The apps DataForest accepted the kill of, as messages name them.
pub fn killed_names(done: &[(AppInfo, KillReport)]) -> Vec<String> {
    done.iter()
        .filter(|(_, report)| report.outcome() == Outcome::Killed)
        .map(|(app, _)| describe(app))
        .collect()
}

fn count_of(done: &[(AppInfo, KillReport)], outcome: Outcome) -> usize {
    done.iter().filter(|(_, report)| report.outcome() == outcome).count()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::time::Duration;

    use tokio::time::Instant;

    use super::killer::*;
    use super::listing::*;
    use super::settings::*;
    use super::*;
    use crate::ncp::{ApiError, Text};
    use crate::protocol::object::Field;
    use crate::protocol::value::Number;
    use crate::provider::error::KillFailure;
    use crate::provider::error::LaterRun;
    use crate::provider::kill::KillError;
    use crate::provider::selector::Funnel;
    use crate::provider::selector::Selected;

    fn apps(count: usize) -> Vec<AppInfo> {
        (1..=count)
            .map(|n| {
                AppInfo::default().with(Text::Id, &format!("App{n:02}")).with(Text::Name, &format!("job-{n}"))
            })
            .collect()
    }

    fn accepted(app: &AppInfo) -> KillReport {
        KillReport {
            id: app.id().to_string(),
            success: true,
            message: "kill requested".into(),
            killed_at: "2026-11-29T00:00:00Z".into(),
            status: Some(200),
            attempts: 1,
            observed: None,
            reused: false,
            uncertain: false,
            warnings: Vec::new(),
        }
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    #[test]
    fn the_cap_refuses_a_selection_larger_than_max_apps_and_names_the_first_ten() {
        assert!(check_cap(&apps(3), 3).is_ok());
        assert!(check_cap(&[], 1).is_ok());
        let refused = check_cap(&apps(12), 11);
        let Err(error @ ProviderError::TooManyApps { .. }) = refused else { panic!("{refused:?}") };
        let ProviderError::TooManyApps { attribute, count, max, ref first, .. } = error else {
            unreachable!()
        };
        assert_eq!((attribute, count, max), ("max_apps", 12, 11));
        assert_eq!(first.len(), 10);
        assert_eq!(first[0], "App01 (job-1)");
        assert!(error.to_diagnostic().detail.contains("raise max_apps if they should all go"));
        // Past what the cap can be set to, the advice is to narrow the selection.
        let beyond = check_cap(&apps(10_001), 10_000).unwrap_err().to_diagnostic().detail;
        assert!(beyond.contains("max_apps goes up to 10000: narrow the selector"), "{beyond}");
    }

    fn settings(max_apps: usize, min_apps: usize) -> BulkSettings {
        BulkSettings {
            max_apps,
            min_apps,
            concurrency: 8,
            wait_for_termination: false,
            settle_rounds: 0,
            limit: Duration::from_secs(60),
        }
    }

    fn selected(count: usize) -> Selected {
        let funnel = Funnel {
            listed: 40,
            steps: vec![("in queue \"gpu\"".into(), 12), ("matching name_regex".into(), count)],
        };
        Selected { apps: apps(count), funnel, ..Selected::default() }
    }

    #[test]
    fn fewer_matches_than_min_apps_kill_none_and_nothing_matched_is_said() {
        let refused = within_bounds(selected(2), &settings(20, 3), "acc1");
        let Err(error @ ProviderError::TooFewApps { count: 2, min: 3, .. }) = refused else {
            panic!("{refused:?}")
        };
        let detail = error.to_diagnostic().detail;
        assert!(detail.contains("40 listed; 12 in queue \"gpu\"; 2 matching name_regex"), "{detail}");
        assert_eq!(within_bounds(selected(3), &settings(20, 3), "acc1").unwrap().apps.len(), 3);
        let empty = within_bounds(selected(0), &settings(20, 0), "acc1").unwrap();
        let [ProviderWarning::NothingMatched { account, funnel }] = &empty.warnings[..] else {
            panic!("{:?}", empty.warnings)
        };
        assert_eq!(account, "acc1");
        assert_eq!(funnel, "40 listed; 12 in queue \"gpu\"; 0 matching name_regex");
        assert!(within_bounds(selected(2), &settings(20, 0), "acc1").unwrap().warnings.is_empty());
        assert!(matches!(
            within_bounds(selected(21), &settings(20, 0), "acc1"),
            Err(ProviderError::TooManyApps { .. })
        ));
    }

    #[test]
    fn min_apps_above_max_apps_is_refused() {
        let number = |n: i64| Field::Known(Number::Int(n));
        let wrong_way = KillSettings { max_apps: number(3), min_apps: number(5), ..KillSettings::default() };
        let refused = wrong_way.validate();
        assert!(
            matches!(
                refused,
                Some(ProviderError::OutOfOrder { low: ("min_apps", 5), high: ("max_apps", 3) })
            ),
            "{refused:?}"
        );
        let equal = KillSettings { max_apps: number(3), min_apps: number(3), ..KillSettings::default() };
        assert_eq!(equal.resolve(Duration::ZERO).unwrap().min_apps, 3);
        // A cap not known yet (from a variable, at validate) is checked once it is.
        let later =
            KillSettings { max_apps: Field::Unknown, min_apps: number(25), ..KillSettings::default() };
        assert!(later.validate().is_none());
        let default_cap = KillSettings { min_apps: number(25), ..KillSettings::default() };
        assert!(default_cap.validate().is_some(), "the default cap is 20");
    }

    #[test]
    fn a_selection_a_later_run_would_refuse_is_told_now() {
        let over = refusal(&selected(8), &settings(5, 0), LaterRun::Destroy);
        assert!(
            matches!(over, Some(ProviderWarning::WouldBeRefused { count: 8, bound: 5, over: true, .. })),
            "{over:?}"
        );
        let detail = over.unwrap().to_diagnostic().detail;
        assert!(
            detail.contains("Set max_apps to at least 8") && detail.contains("apply before the destroy"),
            "{detail}"
        );
        let under = refusal(&selected(1), &settings(5, 2), LaterRun::RealRun).unwrap().to_diagnostic();
        assert_eq!(under.summary, "The real run would be refused");
        assert!(under.detail.contains("Set min_apps to at most 1"), "{}", under.detail);
        assert!(refusal(&selected(5), &settings(5, 5), LaterRun::Destroy).is_none());
        // Past what max_apps can be set to, the advice is to narrow the selection.
        let beyond = Selected { apps: apps(10_001), ..Selected::default() };
        let detail = refusal(&beyond, &settings(20, 0), LaterRun::Apply).unwrap().to_diagnostic().detail;
        assert!(detail.contains("max_apps goes up to 10000: narrow the selector"), "{detail}");
        // A dry run over the cap never fails: it warns, and says when nothing matched.
        assert_eq!(preview(&selected(8), &settings(5, 0), "acc1").len(), 1);
        let nothing = preview(&selected(0), &settings(5, 0), "acc1");
        assert!(matches!(&nothing[..], [ProviderWarning::NothingMatched { .. }]), "{nothing:?}");
    }

    #[tokio::test]
    async fn once_stop_is_asked_no_new_kill_starts_and_the_rest_count_as_not_attempted() {
        let apps = apps(6);
        let stop = CancellationToken::new();
        let started = AtomicUsize::new(0);
        let results = kill_each(&apps, 1, far(), &stop, &CancellationToken::new(), |app, _slot| {
            started.fetch_add(1, Ordering::SeqCst);
            stop.cancel();
            let report = accepted(app);
            async move { Ok(report) }
        })
        .await;
        assert_eq!(started.load(Ordering::SeqCst), 1);
        let attempted: Vec<bool> = results.iter().map(|(_, attempt)| attempt.is_some()).collect();
        assert_eq!(attempted, [true, false, false, false, false, false]);
        let round = tally(results);
        assert_eq!((round.done.len(), round.failures.len(), round.not_attempted), (1, 0, 5));
        assert!(round.failed());
    }

    #[test]
    fn a_kill_stopped_before_it_was_sent_counts_as_not_attempted() {
        let apps = apps(2);
        let results = vec![
            (&apps[0], Some(Ok(accepted(&apps[0])))),
            (&apps[1], Some(Err(ProviderError::Stopped.into()))),
        ];
        let round = tally(results);
        assert_eq!((round.done.len(), round.failures.len(), round.not_attempted), (1, 0, 1));
    }

    #[tokio::test]
    async fn once_a_line_cannot_be_recorded_no_new_kill_starts() {
        let apps = apps(4);
        let (stop, halted) = (CancellationToken::new(), CancellationToken::new());
        let results = kill_each(&apps, 1, far(), &stop, &halted, |app, _slot| {
            halted.cancel();
            let report = accepted(app);
            async move { Ok(report) }
        })
        .await;
        let attempted = results.iter().filter(|(_, attempt)| attempt.is_some()).count();
        assert_eq!(attempted, 1);
        let mut round = tally(results);
        let done = std::mem::take(&mut round.done);
        let detail =
            bulk_failed(Phase::Destroy, 4, &done, round, Unstarted::Unrecorded).to_diagnostic().detail;
        assert!(detail.contains("3 not attempted, because the audit log could not take a line"), "{detail}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_kill_starts_after_the_deadline_and_at_most_concurrency_run_at_once() {
        let apps = apps(6);
        let stop = CancellationToken::new();
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        // Each kill takes 10 s, two at a time: four start before the 15 s deadline, two after it.
        let deadline = Instant::now() + Duration::from_secs(15);
        let results = kill_each(&apps, 2, deadline, &stop, &CancellationToken::new(), |app, slot| {
            let (running, most) = (&running, &most);
            let report = accepted(app);
            async move {
                let _slot = slot;
                most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(10)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(report)
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 2);
        let attempted = results.iter().filter(|(_, attempt)| attempt.is_some()).count();
        assert_eq!(attempted, 4);
        let round = tally(results);
        assert_eq!((round.done.len(), round.not_attempted), (4, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn waits_hold_no_slot_so_they_do_not_throttle_the_kills() {
        let apps = apps(6);
        let stop = CancellationToken::new();
        let (sending, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let started = Instant::now();
        // Each kill is sent in 1 s, then waits 10 s for its app, two sends at a time.
        let results = kill_each(&apps, 2, far(), &stop, &CancellationToken::new(), |app, slot| {
            let (sending, most) = (&sending, &most);
            let report = accepted(app);
            async move {
                most.fetch_max(sending.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                sending.fetch_sub(1, Ordering::SeqCst);
                drop(slot);
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok(report)
            }
        })
        .await;
        assert_eq!(most.load(Ordering::SeqCst), 2, "at most two sends at once");
        assert!(results.iter().all(|(_, attempt)| attempt.is_some()));
        // Three rounds of sends (3 s), the last waits ending 10 s later: not 6 x 11 s / 2.
        assert_eq!(started.elapsed().as_secs(), 13);
    }

    #[tokio::test(start_paused = true)]
    async fn results_come_in_the_listings_order_whatever_order_the_kills_end_in() {
        let apps = apps(6);
        let stop = CancellationToken::new();
        // The later in the listing, the sooner the kill ends.
        let results = kill_each(&apps, 6, far(), &stop, &CancellationToken::new(), |app, _slot| {
            let report = accepted(app);
            let number: u64 = app.id()["App".len()..].parse().unwrap();
            async move {
                tokio::time::sleep(Duration::from_secs(10 - number)).await;
                Ok(report)
            }
        })
        .await;
        let ids: Vec<&str> = results.iter().map(|(app, _)| app.id()).collect();
        assert_eq!(ids, ["App01", "App02", "App03", "App04", "App05", "App06"]);
        let round = tally(results);
        assert!(!round.failed());
        let killed: Vec<&str> = round.done.iter().map(|(app, _)| app.id()).collect();
        assert_eq!(killed, ids);
    }

    #[tokio::test]
    async fn a_failed_kill_is_kept_typed_and_the_others_are_killed() {
        let apps = apps(3);
        let stop = CancellationToken::new();
        let results = kill_each(&apps, 3, far(), &stop, &CancellationToken::new(), |app, _slot| {
            let result = if app.id() == "App02" {
                let failure = KillFailure::Failed {
                    error: Box::new(ApiError::Transport {
                        reason: "reset".into(),
                        timed_out: false,
                        connected: true,
                    }),
                    attempts: 5,
                    earlier_attempt_uncertain: false,
                };
                Err(KillError {
                    error: ProviderError::Kill {
                        app_id: app.id().to_string(),
                        attribute: None,
                        phase: Phase::Destroy,
                        failure,
                    },
                    accepted: None,
                    warnings: Vec::new(),
                })
            } else {
                Ok(accepted(app))
            };
            async move { result }
        })
        .await;
        let mut round = tally(results);
        let done = std::mem::take(&mut round.done);
        assert_eq!((done.len(), round.failures.len(), round.not_attempted), (2, 1, 0));
        let error = bulk_failed(Phase::Destroy, 3, &done, round, Unstarted::TimedOut);
        let detail = error.to_diagnostic().detail;
        assert!(detail.starts_with("Of the 3 selected apps: 2 killed, 1 failed.\nKilled: App01 (job-1), App03 (job-3).\nFailed:\n"), "{detail}");
        // Worded as a single kill's failure is, uncertainty included.
        assert!(
            detail.contains("- Killing AI app App02 (job-2) failed after 5 attempts: request failed: reset."),
            "{detail}"
        );
        assert!(detail.contains("so the kill may have happened all the same"), "{detail}");
    }

    #[tokio::test]
    async fn an_accepted_kill_whose_wait_failed_counts_as_killed_and_a_create_records_it() {
        let apps = apps(3);
        let stop = CancellationToken::new();
        let results = kill_each(&apps, 3, far(), &stop, &CancellationToken::new(), |app, _slot| {
            let mut report = accepted(app);
            report.observed = Some(app.with(Text::State, "RUNNING"));
            let failure = KillFailure::StillRunning {
                limit: Duration::from_secs(4),
                last_state: "RUNNING".into(),
                spent: Duration::from_millis(4100),
            };
            let error = ProviderError::Kill {
                app_id: app.id().to_string(),
                attribute: None,
                phase: Phase::Create,
                failure,
            };
            async move { Err(KillError { error, accepted: Some(Box::new(report)), warnings: Vec::new() }) }
        })
        .await;
        let mut round = tally(results);
        let done = std::mem::take(&mut round.done);
        assert_eq!(done.len(), 3, "every accepted kill is kept");
        assert_eq!(done[0].1.observed.as_ref().unwrap().state(), "RUNNING");
        let error = bulk_failed(Phase::Create, 3, &done, round, Unstarted::TimedOut);
        assert!(matches!(error, ProviderError::BulkFailed { recorded: true, .. }), "{error:?}");
        let detail = error.to_diagnostic().detail;
        assert!(
            detail
                .starts_with("Of the 3 selected apps: 3 killed (3 of them not seen ending).\nKilled: App01"),
            "{detail}"
        );
        assert!(
            detail.contains("still RUNNING when the time-out of 4s ran out (4.1 s after it started)"),
            "{detail}"
        );
        assert!(detail.contains("recorded in `killed` and the resource is tainted"), "{detail}");
        assert!(!detail.contains("none was killed") && !detail.contains("failed:"), "{detail}");
    }
}
