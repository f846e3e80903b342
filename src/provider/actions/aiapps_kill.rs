//! The `ncloud_dataforest_aiapps_kill` action (Terraform 1.14+): the [`bulk`] kill as a one-off
//! operation, without recording anything in state; with `dry_run`, it reports what it would
//! kill. Its kills go outside the run's memory, as the single action's do.

use std::sync::Mutex;

use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, Flat, flatten, optional};
use crate::protocol::schema::Schema;

use super::super::audit::Entry;
use super::super::bulk::{self, Caller, KillSettings, Memory};
use super::super::error::{Phase, ProviderError, ProviderWarning};
use super::super::kill::Outcome;
use super::super::lifecycle;
use super::super::selector::{Selector, UnsetStates, describe};
use super::super::session::Context;
use super::super::types::{ActionError, ActionType, schema_of};

tfplugin::object! {
    /// The action's `config` block.
    pub struct AppsKillAction {
        selector: Flat<Selector> => flatten(),
        settings: Flat<KillSettings> => flatten(),
        dry_run: Field<bool> => optional("Report what would be killed, and kill nothing."),
        timeout: Field<String> => optional(
            "Bound on the whole action, listing, kills, retries and waiting included, as a duration such as \
             `30m` (default `20m`, at most `24h`).",
        ),
    }
}

impl ActionType for AppsKillAction {
    /// The action shares the resource's name: both are the bulk kill.
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapps_kill";

    fn schema() -> Schema {
        schema_of::<AppsKillAction>(
            "Force-ends every AI app of an account that a selector picks, several at once, without \
                recording anything in state; with `dry_run`, reports what it would kill. A failed kill fails the \
                apply. The whole action is bounded by `timeout`.",
        )
    }

    fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        errors.extend(bulk::check_scope(&self.selector, &self.settings, false));
        errors.extend(self.settings.validate());
        errors.extend(self.limit().err());
        errors
    }

    /// Runs the bulk kill; `progress` hears about each app and, at the end, the summary.
    async fn invoke(
        &self,
        context: &Context,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> Result<Vec<ProviderWarning>, ActionError> {
        let settings = self.settings.resolve(self.limit()?)?;
        let selection = self.selector.selection(UnsetStates::NotEnded)?;
        // Kills run at once; their progress goes out one message at a time.
        let progress = Mutex::new(progress);
        let report = |step: String| (progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))(step);
        if self.dry_run == Field::Known(true) {
            // A preview: what the real run would refuse is a warning, not a failure.
            let session = context.session()?;
            let audit = session.audit().await?;
            let deadline = bulk::deadline_after(&settings)?;
            let selected = bulk::select_any(context, &selection, &settings, deadline, &report).await?;
            // One warning names every line lost.
            let mut unwritten: Option<ProviderWarning> = None;
            for app in &selected.apps {
                report(format!("Would kill {}", describe(app)));
                let entry = Entry {
                    outcome: Some(Outcome::WouldKill),
                    // Nothing is sent in a dry run.
                    attempts: Some(0),
                    ..Entry::listed(AppsKillAction::TYPE_NAME, Phase::Action, &selection.account_id, app)
                };
                let Some(log) = audit else { continue };
                match (log.append(&entry).await, unwritten.as_mut()) {
                    (
                        Some(ProviderWarning::AuditIncomplete { lost: more, .. }),
                        Some(ProviderWarning::AuditIncomplete { lost, .. }),
                    ) => lost.extend(more),
                    (Some(warning), _) => unwritten = Some(warning),
                    (None, _) => {}
                }
            }
            let mut warnings: Vec<ProviderWarning> = unwritten.into_iter().collect();
            report(format!(
                "Dry run: {} app(s) match{}; nothing was killed",
                selected.apps.len(),
                bulk::excluded_note(selected.excluded)
            ));
            warnings.extend(bulk::preview(&selected, &settings, &selection.account_id));
            return Ok(warnings);
        }
        let caller =
            Caller { entry_point: AppsKillAction::TYPE_NAME, phase: Phase::Action, memory: Memory::Own };
        let outcome = bulk::bulk_kill(context, &selection, &settings, caller, &report)
            .await
            .map_err(|failed| ActionError { error: failed.error, warnings: failed.warnings })?;
        let killed = bulk::killed_names(&outcome.done).len();
        let ended = outcome.done.len() - killed;
        report(if ended > 0 {
            format!("Killed {killed} app(s); {ended} had already ended")
        } else {
            format!("Killed {killed} app(s)")
        });
        Ok(outcome.warnings)
    }
}

impl AppsKillAction {
    /// The bound on the whole action: `timeout`, or 20 minutes.
    fn limit(&self) -> Result<std::time::Duration, ProviderError> {
        lifecycle::limit(&self.timeout, vec![PathStep::Attribute(AppsKillAction::timeout.into())])
    }
}
