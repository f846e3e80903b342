//! One round of a bulk kill: each selected app killed as a single kill is, `concurrency` at a
//! time, written ahead to the audit log and recorded as it ends, until Terraform's stop, the
//! time-out or a lost audit line; and what the round adds up to.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ncp::AppInfo;
use crate::provider::audit::{self, AuditLog};
use crate::provider::error::{FailedKill, Phase, ProviderWarning, Unstarted};
use crate::provider::kill::{self, Kill, KillError, KillReport, Outcome};
use crate::provider::selector::describe;
use crate::provider::session::Session;

use super::settings::BulkSettings;

/// Whether a bulk kill's kills go through the run's per-app memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// The resource's: an app this run already killed (a single kill of it, say) is not killed
    /// again.
    Shared,
    /// The action's, which records nothing: each app is killed on its own.
    Own,
}

/// Who runs a bulk kill: the type (resource or action) and the phase, for the audit log and the
/// messages; and whether its kills go through the run's memory.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub entry_point: &'static str,
    pub phase: Phase,
    pub memory: Memory,
}

/// How a bulk kill kills each app it selected.
pub(super) struct Killer<'a> {
    pub(super) session: &'a Session,
    pub(super) caller: Caller,
    pub(super) account: &'a str,
    pub(super) settings: &'a BulkSettings,
    pub(super) deadline: Instant,
    pub(super) stop: &'a CancellationToken,
    pub(super) audit: Option<&'a AuditLog>,
    /// The lines of the audit log that could not be written, as one warning.
    pub(super) audit_warning: &'a Mutex<Option<ProviderWarning>>,
    /// Cancelled when no new kill may start: a line could not be written, or the keys' quota is
    /// spent (`quota_spent`).
    pub(super) halted: &'a CancellationToken,
    pub(super) quota_spent: &'a AtomicBool,
    pub(super) progress: &'a (dyn Fn(String) + Sync),
}

impl Killer<'_> {
    /// One app's kill, reported (one line of progress, and the audit log) as it ends. Its steps go
    /// to the provider's log.
    pub(super) async fn kill(&self, app: &AppInfo, slot: Slot) -> Result<KillReport, KillError> {
        let Killer { session, caller, settings, deadline, stop, .. } = *self;
        let kill = Kill {
            app_id: app.id().to_string(),
            attribute: None,
            phase: caller.phase,
            wait_for_termination: settings.wait_for_termination,
            limit: settings.limit,
        };
        let log = |step: String| tracing::info!(app_id = %app.id(), "{step}");
        // Written ahead: a kill the audit log cannot record is not sent.
        let ahead = self.audit.map(|audit| (audit, self.entry(app)));
        let sent: Result<KillReport, KillError> = async {
            let client = session.client_for(&kill)?;
            Ok(match caller.memory {
                Memory::Shared => session.send_once(&kill, ahead, deadline, stop, &log).await?,
                Memory::Own => {
                    if let Some((audit, entry)) = &ahead {
                        audit.sending(entry).await?;
                    }
                    kill::send(client, &kill, deadline, stop, &mut |step| log(step)).await?
                }
            })
        }
        .await;
        // A spent quota refuses every later call, and a kill the audit log could not take the
        // line of leaves the log failed: no new kill starts.
        if let Err(failed) = &sent {
            if failed.error.is_quota_spent() {
                self.quota_spent.store(true, Ordering::Release);
                self.halted.cancel();
            } else if failed.never_sent() == Some(Unstarted::Unrecorded) {
                self.halted.cancel();
            }
        }
        // The outcome goes to the audit log as soon as DataForest answered, before any wait: a
        // log that cannot take it, or the kill's line before it, stops further kills at once.
        self.record(app, Ok(&sent)).await;
        // The slot bounds the kills in flight; the wait for the app's end needs none.
        drop(slot);
        let result = match (sent, session.client_for(&kill)) {
            (Ok(report), Ok(client)) => kill::finish(client, &kill, report, deadline, stop, log).await,
            (Ok(_), Err(error)) => Err(error.into()),
            (Err(failed), _) => Err(failed),
        };
        (self.progress)(match &result {
            Ok(report) => match report.outcome() {
                Outcome::AlreadyEnded => format!("{} had already ended: {}", describe(app), report.message),
                Outcome::Gone => format!("{} no longer exists", describe(app)),
                _ => format!("Killed {}: {}", describe(app), report.message),
            },
            Err(failed) => match failed.never_sent() {
                Some(why) => format!("Not attempted: {}, because {}", describe(app), why.reason()),
                None => FailedKill::sentence_of(&describe(app), &failed.error),
            },
        });
        result
    }

    /// What the audit log says of `app`'s kill.
    pub(super) fn entry<'a>(&'a self, app: &'a AppInfo) -> audit::Entry<'a> {
        audit::Entry::listed(self.caller.entry_point, self.caller.phase, self.account, app)
    }

    /// Appends an app's outcome to the audit log, when there is one: its kill's result, or why it
    /// never started. A line the log cannot take stops new kills from starting.
    pub(super) async fn record(
        &self,
        app: &AppInfo,
        result: Result<&Result<KillReport, KillError>, Unstarted>,
    ) {
        let Some(log) = self.audit else { return };
        let warning = match result {
            Ok(result) => audit::record(log, self.entry(app), result).await,
            Err(unstarted) => audit::not_attempted(log, self.entry(app), unstarted).await,
        };
        if let Some(warning) = warning {
            self.halted.cancel();
            let mut merged = self.audit_warning.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match (merged.as_mut(), warning) {
                (
                    Some(ProviderWarning::AuditIncomplete { lost, .. }),
                    ProviderWarning::AuditIncomplete { lost: more, .. },
                ) => lost.extend(more),
                (_, warning) => {
                    merged.get_or_insert(warning);
                }
            }
        }
    }
}

/// The result of one app's kill in a bulk kill; `None` when it never started.
pub(super) type Attempt = Option<Result<KillReport, KillError>>;

/// One of the `concurrency` slots of a bulk kill: held while a kill is sent, and let go before
/// waiting for the app to end.
pub(super) type Slot = tokio::sync::OwnedSemaphorePermit;

/// Runs `kill_one` for each app, each once it holds one of `concurrency` slots, in the apps'
/// order; `kill_one` lets its slot go when its kill has been sent. Once `stop` or `halted` is
/// cancelled or `deadline` passed, no new kill starts. The results come in the apps' order.
pub(super) async fn kill_each<'a, F, Fut>(
    apps: &'a [AppInfo],
    concurrency: usize,
    deadline: Instant,
    stop: &CancellationToken,
    halted: &CancellationToken,
    kill_one: F,
) -> Vec<(&'a AppInfo, Attempt)>
where
    F: Fn(&'a AppInfo, Slot) -> Fut,
    Fut: Future<Output = Result<KillReport, KillError>>,
{
    let kill_one = &kill_one;
    let slots = Arc::new(Semaphore::new(concurrency));
    // By index rather than by reference: a closure over borrowed items would make the stream's
    // future fail the `Send` check that the gRPC service needs. The apps take the slots in
    // order; what bounds the kills is the slots, and the waits after them are not bounded.
    let start = |index: usize, slot: Slot| async move {
        if stop.is_cancelled() || halted.is_cancelled() || Instant::now() >= deadline {
            return (index, None);
        }
        (index, Some(kill_one(&apps[index], slot).await))
    };
    // A kill's future is made once it holds a slot, not all of them at the start.
    let mut running = FuturesUnordered::new();
    let mut results = Vec::with_capacity(apps.len());
    let mut next = 0;
    while next < apps.len() || !running.is_empty() {
        tokio::select! {
            slot = Arc::clone(&slots).acquire_owned(), if next < apps.len() => {
                match slot {
                    Ok(slot) => running.push(start(next, slot)),
                    Err(_) => results.push((next, None)),
                }
                next += 1;
            }
            Some(done) = running.next(), if !running.is_empty() => results.push(done),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(index, attempt)| (&apps[index], attempt)).collect()
}

/// One round's kills, added up.
#[derive(Debug, Default)]
pub(super) struct Round {
    /// The kills that count as done, DataForest's accepted kills whose wait failed among them.
    pub(super) done: Vec<(AppInfo, KillReport)>,
    pub(super) warnings: Vec<ProviderWarning>,
    /// Kills DataForest did not accept (that may have happened all the same, as each says).
    pub(super) failures: Vec<FailedKill>,
    /// Kills DataForest accepted whose wait then failed.
    pub(super) unconfirmed: Vec<FailedKill>,
    pub(super) not_attempted: usize,
}

impl Round {
    pub(super) fn failed(&self) -> bool {
        !self.failures.is_empty() || !self.unconfirmed.is_empty() || self.not_attempted > 0
    }
}

/// What a round's attempts add up to.
pub(super) fn tally(results: Vec<(&AppInfo, Attempt)>) -> Round {
    let mut round = Round::default();
    for (app, attempt) in results {
        match attempt {
            Some(Ok(report)) => {
                round.warnings.extend(report.warnings.iter().cloned());
                round.done.push((app.clone(), report));
            }
            Some(Err(KillError { error, accepted: Some(report), warnings })) => {
                round.warnings.extend(report.warnings.iter().cloned().chain(warnings));
                round.done.push((app.clone(), *report));
                round.unconfirmed.push(FailedKill { app: describe(app), error });
            }
            // Never sent: not attempted, as those never started.
            Some(Err(failed)) if failed.never_sent().is_some() => {
                round.warnings.extend(failed.warnings);
                round.not_attempted += 1;
            }
            Some(Err(KillError { error, accepted: None, warnings })) => {
                round.warnings.extend(warnings);
                round.failures.push(FailedKill { app: describe(app), error })
            }
            None => round.not_attempted += 1,
        }
    }
    round
}
