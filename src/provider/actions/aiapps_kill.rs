//! The `ncloud_dataforest_aiapps_kill` action (Terraform 1.14+): the [`bulk`] kill as a one-off
//! operation, without recording anything in state; with `dry_run`, it reports what it would
//! kill. Its kills go outside the run's memory, as the single action's do.

use std::sync::Mutex;

use crate::protocol::object::{Field, Flat, flatten, optional};
use crate::protocol::schema::Schema;

use super::super::bulk::{self, KillSettings, Memory};
use super::super::error::{Phase, ProviderError, ProviderWarning};
use super::super::kill::DEFAULT_TIMEOUT;
use super::super::selector::{Selector, UnsetStates, describe};
use super::super::session::Context;
use super::super::types::{ActionType, schema_of};

tfplugin::object! {
    /// The action's `config` block.
    pub struct AppsKillAction {
        selector: Flat<Selector> => flatten(),
        settings: Flat<KillSettings> => flatten(),
        dry_run: Field<bool> => optional("Report what would be killed, and kill nothing."),
    }
}

impl ActionType for AppsKillAction {
    /// The action shares the resource's name: both are the bulk kill.
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapps_kill";

    fn schema() -> Schema {
        schema_of::<AppsKillAction>(
            "Force-ends every AI app of an account that a selector picks, several at once, without \
                recording anything in state; with `dry_run`, reports what it would kill. A failed kill fails the \
                apply. The whole action is bounded by 20 minutes.",
        )
    }

    fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        errors.extend(self.settings.validate());
        errors
    }

    /// Runs the bulk kill; `progress` hears about each app and, at the end, the summary.
    async fn invoke(
        &self,
        context: &Context,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> Result<Vec<ProviderWarning>, ProviderError> {
        let settings = self.settings.resolve(DEFAULT_TIMEOUT)?;
        let selection = self.selector.selection(UnsetStates::NotEnded)?;
        // Kills run at once; their progress goes out one message at a time.
        let progress = Mutex::new(progress);
        let report = |step: String| (progress.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))(step);
        if self.dry_run == Field::Known(true) {
            // A preview: what the real run would refuse is a warning, not a failure.
            let deadline = bulk::deadline_after(&settings)?;
            let selected = bulk::select_any(context, &selection, &settings, deadline, &report).await?;
            for app in &selected.apps {
                report(format!("Would kill {}", describe(app)));
            }
            report(format!(
                "Dry run: {} app(s) match{}; nothing was killed",
                selected.apps.len(),
                bulk::excluded_note(selected.excluded)
            ));
            return Ok(bulk::preview(&selected, &settings, &selection.account_id));
        }
        let outcome =
            bulk::bulk_kill(context, &selection, &settings, Phase::Action, Memory::Own, &report).await?;
        report(format!("Killed {} app(s)", outcome.killed.len()));
        Ok(outcome.warnings)
    }
}
