//! The `ncloud_dataforest_aiapp_kill` action (Terraform 1.14+): the kill as a one-off operation,
//! run with `terraform apply -invoke=action.ncloud_dataforest_aiapp_kill.NAME` or from another
//! resource's `action_trigger`. It records nothing in state, and kills on its own, outside the
//! run's memory; a failure fails the apply.

use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, optional, required};
use crate::protocol::schema::Schema;

use super::super::audit::{self, Entry};
use super::super::error::{Phase, ProviderError, ProviderWarning};
use super::super::kill::{self, Kill, KillError, check_app_id, required_app_id};
use super::super::lifecycle;
use super::super::session::Context;
use super::super::types::{ActionError, ActionType, schema_of};

tfplugin::object! {
    /// The action's `config` block.
    pub struct KillAction {
        app_id: Field<String> => required("The AI app id: 1 to 22 characters of `0-9`, `A-Z`, `a-z`."),
        wait_for_termination: Field<bool> => optional(
            "After the kill, poll the app's state until it is `KILLED`, `FINISHED` or `FAILED`, reporting \
             progress, within `timeout`.",
        ),
        timeout: Field<String> => optional(
            "Bound on the whole action, kill, retries and waiting included, as a duration such as `5m` (default \
             `20m`, at most `24h`).",
        ),
    }
}

impl ActionType for KillAction {
    /// The action shares the resource's name: both are the kill.
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapp_kill";

    fn schema() -> Schema {
        schema_of::<KillAction>(
            "Force-ends a DataForest AI app once, through the signed `POST /api/v2/aiapps/kill` \
                call, without recording anything in state. A failed kill fails the apply with DataForest's \
                message.",
        )
    }

    fn validate(&self) -> Vec<ProviderError> {
        let mut errors: Vec<ProviderError> =
            check_app_id(&self.app_id, KillAction::app_id).err().into_iter().collect();
        errors.extend(self.limit().err());
        errors
    }

    async fn invoke(
        &self,
        context: &Context,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> Result<Vec<ProviderWarning>, ActionError> {
        let kill = self.kill()?;
        // One deadline bounds the whole action, the account check included.
        let deadline = kill.deadline()?;
        let stop = context.running()?;
        let session = context.session()?;
        let audit = session.audit().await?;
        session.check_app_account(&kill, deadline, &stop).await?;
        let client = session.client_for(&kill)?;
        let failed = |failed: KillError| ActionError { warnings: failed.all_warnings(), error: failed.error };
        // Written ahead: a kill the audit log cannot record is not sent (and is recorded as not
        // attempted, where a line can still be written).
        let ahead = match audit {
            Some(log) => log.sending(&Entry::of_kill(KillAction::TYPE_NAME, &kill)).await,
            None => Ok(()),
        };
        let mut sent = match ahead {
            Ok(()) => kill::send(client, &kill, deadline, &stop, &mut |step| progress(step)).await,
            Err(error) => Err(error),
        }
        .map_err(KillError::from);
        // Recorded as soon as DataForest answered, before any wait.
        audit::record_kill(audit, KillAction::TYPE_NAME, &kill, &mut sent).await;
        let report = sent.map_err(failed)?;
        let report = kill::finish(client, &kill, report, deadline, &stop, progress).await.map_err(failed)?;
        Ok(report.warnings)
    }
}

impl KillAction {
    /// The kill a configuration known in full asks for, bounded by `timeout`.
    pub fn kill(&self) -> Result<Kill, ProviderError> {
        Ok(Kill {
            app_id: required_app_id(&self.app_id, KillAction::app_id)?,
            attribute: Some(KillAction::app_id),
            phase: Phase::Action,
            wait_for_termination: self.wait_for_termination == Field::Known(true),
            limit: self.limit()?,
        })
    }

    /// The bound on the whole action: `timeout`, or 20 minutes.
    fn limit(&self) -> Result<std::time::Duration, ProviderError> {
        lifecycle::limit(&self.timeout, vec![PathStep::Attribute(KillAction::timeout.into())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::kill::DEFAULT_TIMEOUT;

    #[test]
    fn the_kill_needs_a_known_valid_id() {
        let config = KillAction {
            app_id: Field::Known("A1".into()),
            wait_for_termination: Field::Known(true),
            ..KillAction::default()
        };
        let kill = config.kill().unwrap();
        assert_eq!(
            (kill.app_id.as_str(), kill.wait_for_termination, kill.limit),
            ("A1", true, DEFAULT_TIMEOUT)
        );
        let unknown = KillAction { app_id: Field::Unknown, ..KillAction::default() };
        assert!(unknown.validate().is_empty());
        assert!(unknown.kill().is_err());
        let invalid = KillAction { app_id: Field::Known("-".into()), ..KillAction::default() };
        assert!(matches!(&invalid.validate()[..], [ProviderError::InvalidAppId { .. }]));
        let minutes = KillAction { timeout: Field::Known("5m".into()), ..config.clone() };
        assert_eq!(minutes.kill().unwrap().limit.as_secs(), 300);
        let too_long = KillAction { timeout: Field::Known("25h".into()), ..config };
        assert!(matches!(&too_long.validate()[..], [ProviderError::InvalidTimeout { .. }]));
    }
}
