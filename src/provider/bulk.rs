//! The bulk kill as the provider runs it, for the `ncloud_dataforest_aiapps_kill` resource and
//! action: list the account (one `getList`), select, refuse a selection larger than `max_apps`,
//! then kill what was selected, `concurrency` at a time through the one HTTP client, each as a
//! single kill is (retries, the refusal check, waiting). A kill that fails does not stop the
//! others; the failures are reported together once all have run.

use std::sync::Mutex;
use std::time::SystemTime;

use futures_util::StreamExt as _;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::ncp::{ApiError, AppInfo, CallError};
use crate::protocol::value::Value;

use super::aiapps_kill::{self, AppsKill, AppsKillAction, BulkSettings};
use super::error::{KillFailure, ProviderError, ProviderWarning};
use super::kill::{self, Kill, KillError, KillReport, Phase};
use super::selector::{Selected, Selection, describe};
use super::{Applied, ApplyError, NcloudProvider, Session, decode};

/// What a bulk kill did: each app killed with DataForest's answer (in the order `getList` gave
/// them), and what is worth a warning. A dry run kills nothing and reports what it would kill.
struct BulkOutcome {
    killed: Vec<(AppInfo, KillReport)>,
    selected: Vec<AppInfo>,
    warnings: Vec<ProviderWarning>,
}

impl NcloudProvider {
    /// Applies a planned change of the bulk kill resource.
    pub(super) async fn apply_bulk(
        &self,
        prior: Option<AppsKill>,
        planned: Option<AppsKill>,
    ) -> Result<Applied<AppsKill>, ApplyError<AppsKill>> {
        let log = |step: String| tracing::info!("{step}");
        match (prior, planned) {
            (Some(prior), None) if prior.kills_on_destroy()? => {
                let outcome =
                    self.bulk_kill(&prior.bulk(Phase::Destroy)?, Phase::Destroy, false, true, &log).await?;
                Ok(Applied { state: None, warnings: outcome.warnings })
            }
            (_, None) => Ok(Applied { state: None, warnings: Vec::new() }),
            (None, Some(planned)) if planned.kills_on_destroy()? => {
                // The selection runs at destroy, so apps started after this apply go too. One
                // listing now checks the keys and the endpoint, so that a mistake fails here
                // rather than in the destroy it guards.
                let (selection, settings) = planned.bulk(Phase::Create)?;
                let deadline = deadline_after(&settings)?;
                let (listed, selected) = self.list_and_select(&selection, deadline, &settings).await?;
                log(format!(
                    "{} of {listed} app(s) of account {:?} match now; the selection runs again at destroy",
                    selected.apps.len(),
                    selection.account_id
                ));
                Ok(Applied {
                    state: Some(AppsKill { killed: crate::protocol::object::Field::Null, ..planned }),
                    warnings: selected.warnings,
                })
            }
            (None, Some(planned)) => self.bulk_into(&planned, Phase::Create, &log).await,
            (Some(prior), Some(planned)) if aiapps_kill::kills_on_update(&prior, &planned) => {
                self.bulk_into(&planned, Phase::Update, &log).await
            }
            (Some(prior), Some(planned)) => {
                Ok(Applied { state: Some(aiapps_kill::update(&prior, &planned)?), warnings: Vec::new() })
            }
        }
    }

    /// Kills what `planned` selects and returns the state recording it.
    async fn bulk_into(
        &self,
        planned: &AppsKill,
        phase: Phase,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Applied<AppsKill>, ApplyError<AppsKill>> {
        let outcome = self.bulk_kill(&planned.bulk(phase)?, phase, false, true, progress).await?;
        Ok(Applied { state: Some(planned.with_killed(&outcome.killed)), warnings: outcome.warnings })
    }

    /// Runs the bulk action; `progress` hears about each app and, at the end, the summary.
    pub(super) async fn run_bulk_action(
        &self,
        config: &Value,
        progress: impl FnMut(String) + Send,
    ) -> Result<Vec<ProviderWarning>, ProviderError> {
        let action = decode::<AppsKillAction>(config)?;
        if let Some(error) = action.validate().into_iter().next() {
            return Err(error);
        }
        let (selection, settings, dry_run) = action.bulk()?;
        // Kills run at once; their progress goes out one message at a time.
        let progress = Mutex::new(progress);
        let report = |step: String| (progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))(step);
        let outcome = self.bulk_kill(&(selection, settings), Phase::Action, dry_run, false, &report).await?;
        report(if dry_run {
            format!("Dry run: {} app(s) match; nothing was killed", outcome.selected.len())
        } else {
            format!("Killed {} app(s)", outcome.killed.len())
        });
        Ok(outcome.warnings)
    }

    /// Lists, selects and kills. `remember` shares the run's per-app kill memory (resources);
    /// `dry_run` selects only.
    async fn bulk_kill(
        &self,
        (selection, settings): &(Selection, BulkSettings),
        phase: Phase,
        dry_run: bool,
        remember: bool,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<BulkOutcome, ProviderError> {
        let deadline = deadline_after(settings)?;
        let (listed, selected) = self.list_and_select(selection, deadline, settings).await?;
        progress(format!(
            "{} of {listed} app(s) of account {:?} match",
            selected.apps.len(),
            selection.account_id
        ));
        if selected.apps.len() > settings.max_apps {
            return Err(ProviderError::TooManyApps {
                count: selected.apps.len(),
                max: settings.max_apps,
                first: selected.apps.iter().take(10).map(describe).collect(),
            });
        }
        if dry_run {
            for app in &selected.apps {
                progress(format!("Would kill {}", describe(app)));
            }
            return Ok(BulkOutcome {
                killed: Vec::new(),
                selected: selected.apps,
                warnings: selected.warnings,
            });
        }
        let session = self.session()?;
        let stop = self.running()?;
        let kills = futures_util::stream::iter(selected.apps.iter().cloned().enumerate())
            .map(|(index, app)| {
                let (session, stop) = (&session, &stop);
                async move {
                    // Once Terraform asks to stop or the time-out runs out, no new kill starts.
                    if stop.is_cancelled() || Instant::now() >= deadline {
                        return (index, app, None);
                    }
                    let kill = Kill {
                        app_id: app.id.clone(),
                        phase,
                        wait_for_termination: settings.wait_for_termination,
                        limit: settings.limit,
                    };
                    let result = self.kill_app(session, &kill, deadline, stop, remember, progress).await;
                    match &result {
                        Ok(report) => progress(format!("Killed {}: {}", describe(&app), report.message)),
                        Err(failed) => {
                            progress(format!("Could not kill {}: {}", describe(&app), reason(&failed.error)))
                        }
                    }
                    (index, app, Some(result))
                }
            })
            .buffer_unordered(settings.concurrency)
            .collect::<Vec<_>>()
            .await;
        let mut kills = kills;
        kills.sort_by_key(|(index, _, _)| *index);
        let mut killed = Vec::new();
        let mut failures = Vec::new();
        let mut not_attempted = 0;
        let mut warnings = selected.warnings;
        for (_, app, result) in kills {
            match result {
                Some(Ok(report)) => {
                    warnings.extend(report.warnings.iter().cloned());
                    killed.push((app, report));
                }
                Some(Err(KillError { error, .. })) => failures.push((describe(&app), reason(&error))),
                None => not_attempted += 1,
            }
        }
        if !failures.is_empty() || not_attempted > 0 {
            return Err(ProviderError::BulkFailed {
                phase,
                selected: selected.apps.len(),
                failures,
                not_attempted,
                stopped: stop.is_cancelled(),
            });
        }
        Ok(BulkOutcome { killed, selected: Vec::new(), warnings })
    }

    /// Lists the account (one `getList`, bounded by `deadline` and Terraform's stop) and selects:
    /// how many apps were listed, and what matched.
    async fn list_and_select(
        &self,
        selection: &Selection,
        deadline: Instant,
        settings: &BulkSettings,
    ) -> Result<(usize, Selected), ProviderError> {
        let stop = self.running()?;
        let session = self.session()?;
        let listing = format!("the apps of account {:?}", selection.account_id);
        let client = session.client().map_err(|error| ProviderError::LookupFailed {
            what: listing.clone(),
            error: Box::new(error),
            attempts: 0,
        })?;
        let listed = tokio::select! {
            biased;
            () = stop.cancelled() => return Err(ProviderError::Interrupted),
            listed = timeout_at(deadline, client.list_apps(&selection.account_id)) => listed,
        };
        let apps = match listed {
            Ok(Ok(apps)) => apps,
            Ok(Err(CallError { error, attempts, .. })) => {
                return Err(ProviderError::LookupFailed { what: listing, error: Box::new(error), attempts });
            }
            Err(_) => {
                let reason = format!("no answer within {}", humantime::format_duration(settings.limit));
                let error = ApiError::Transport { reason, timed_out: true, connected: true };
                return Err(ProviderError::LookupFailed {
                    what: listing,
                    error: Box::new(error),
                    attempts: 1,
                });
            }
        };
        Ok((apps.len(), selection.select(&apps, SystemTime::now())))
    }

    /// One app's kill in a bulk kill: through the run's per-app memory for a resource, on its
    /// own for the action.
    async fn kill_app(
        &self,
        session: &Session,
        kill: &Kill,
        deadline: Instant,
        stop: &CancellationToken,
        remember: bool,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<KillReport, KillError> {
        if remember {
            return self.kill_once(session, kill, deadline, stop, progress).await;
        }
        let client = session.client_for(kill)?;
        let report = kill::send(client, kill, deadline, stop, &mut |step| progress(step)).await?;
        kill::finish(client, kill, report, deadline, stop, progress).await
    }
}

/// When a bulk kill that starts now must be done.
fn deadline_after(settings: &BulkSettings) -> Result<Instant, ProviderError> {
    Instant::now().checked_add(settings.limit).ok_or(ProviderError::TimeoutTooLong { limit: settings.limit })
}

/// Why one app's kill failed, in a line.
fn reason(error: &ProviderError) -> String {
    match error {
        ProviderError::Kill { failure, .. } => match failure {
            KillFailure::Failed { error, .. } => error.to_string(),
            KillFailure::TimedOut { limit } => {
                format!(
                    "no final answer within {}; it may or may not have happened",
                    humantime::format_duration(*limit)
                )
            }
            KillFailure::Interrupted { .. } => "interrupted by Terraform".to_string(),
            KillFailure::WaitFailed { error, .. } => {
                format!("accepted, but reading its state failed: {error}")
            }
            KillFailure::StillRunning { last_state, .. } => {
                format!("accepted, but still {last_state} when the time-out ran out")
            }
        },
        other => other.to_diagnostic().summary,
    }
}
