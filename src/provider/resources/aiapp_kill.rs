//! The `ncloud_dataforest_aiapp_kill` resource: force-ends a DataForest AI app and records what
//! the API answered. With `when = "create"` (the default) creating it kills; with
//! `when = "destroy"` creating it checks that the app exists and records the intent, and
//! destroying it kills, for destroy hooks.
//! Reading makes no call: a kill cannot be undone. `app_id` and `triggers` force a replacement,
//! which kills again. `when` changes in place, so that no change of it kills one app twice:
//! `destroy` -> `create` kills during that apply, `create` -> `destroy` only arms the kill at
//! destroy. `wait_for_termination` and `timeouts` change in place and take effect at the next
//! kill. Each kill goes through the run's memory, so one app is killed once per run.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ncp::Text;
use crate::protocol::object::{Block, Field, Object, block, computed, optional, required};
use crate::protocol::schema::Schema;

use super::super::audit::{self, Entry};
use super::super::error::{Phase, ProviderError, ProviderWarning};
use super::super::kill::{self, Kill, KillError, KillReport, check_app_id, required_app_id};
use super::super::lifecycle::{self, Timeouts, when_turns_to_create};
use super::super::session::{AppAccount, Context};
use super::super::types::{Applied, ApplyError, Plan, ResourceType, schema_of};

tfplugin::object! {
    /// The resource as Terraform holds it: its configuration, a plan, or a recorded kill.
    pub struct AppKill {
        app_id: Field<String> => required(
            "The AI app id: 1 to 22 characters of `0-9`, `A-Z`, `a-z`. Changing it kills the new app.",
        ),
        triggers: Field<BTreeMap<String, Field<String>>> => optional(
            "Arbitrary values; changing any of them replaces the resource and kills the app again (with \
             `when = \"destroy\"`, the replaced resource kills it as it goes).",
        ),
        when: Field<String> => optional(
            "`create` (default): kill when the resource is created. `destroy`: at create, check that DataForest \
             knows the app and record the intent; kill when the resource is destroyed (a failed kill then fails \
             the destroy and keeps the resource). Changes in place: from `destroy` to `create` kills during that \
             apply; from `create` to `destroy` sends nothing and kills at destroy.",
        ),
        wait_for_termination: Field<bool> => optional(
            "After the kill, poll the app's state until it is `KILLED`, `FINISHED` or `FAILED`, within the \
             time-out, and record it in `app_state` and `final_status`. Changing it after the kill changes \
             nothing until the next kill.",
        ),
        id: Field<String> => computed("The app id DataForest answered."),
        success: Field<bool> => computed(
            "DataForest's `success`; null with `when = \"destroy\"` (whose kill runs as the resource goes) \
             unless a kill at create was recorded before `when` changed.",
        ),
        message: Field<String> => computed("DataForest's `message`."),
        killed_at: Field<String> => computed("RFC 3339 UTC time at which the kill call returned."),
        app_state: Field<String> => computed(
            "The app's state when last read: after waiting for termination, or when the app had already ended.",
        ),
        final_status: Field<String> => computed("The app's final status when last read."),
        timeouts: Block<Timeouts> => block("Time limits, as durations such as `5m`, at most `24h`."),
    }
}

impl ResourceType for AppKill {
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapp_kill";

    fn schema() -> Schema {
        schema_of::<AppKill>(
            "Force-ends a DataForest AI app through the signed `POST /api/v2/aiapps/kill` call and \
                records the API's answer, at create (default) or at destroy. Changing `app_id` or `triggers` \
                replaces it, which kills again (with `when = \"destroy\"`, the old app is killed as the old \
                resource goes).",
        )
    }

    fn validate(&self) -> Vec<ProviderError> {
        let mut errors: Vec<ProviderError> =
            check_app_id(&self.app_id, AppKill::app_id).err().into_iter().collect();
        errors.extend(self.kills_on_destroy().err());
        errors.extend(lifecycle::check_timeouts(&self.timeouts, AppKill::timeouts));
        errors
    }

    fn plan(prior: Option<&AppKill>, proposed: &AppKill) -> Plan<AppKill> {
        let Some(prior) = prior else {
            return Plan { planned: proposed.answer_unknown(), requires_replace: Vec::new() };
        };
        let requires_replace = proposed.replacing(prior);
        if requires_replace.is_empty() && !kills_on_update(prior, proposed) {
            // The proposal carries the recorded answer forward; only in-place settings can differ.
            return Plan { planned: proposed.clone(), requires_replace };
        }
        Plan { planned: proposed.answer_unknown(), requires_replace }
    }

    async fn apply(
        context: &Context,
        prior: Option<AppKill>,
        planned: Option<AppKill>,
    ) -> Result<Applied<AppKill>, ApplyError<AppKill>> {
        match (prior, planned) {
            (Some(prior), None) if prior.kills_on_destroy()? => {
                let report = prior.send_kill(context, Phase::Destroy).await.map_err(|failed| ApplyError {
                    warnings: failed.all_warnings(),
                    error: failed.error,
                    state: None,
                })?;
                Ok(Applied { state: None, warnings: report.warnings })
            }
            // A kill cannot be undone, so forgetting it is all there is to do.
            (_, None) => Ok(Applied { state: None, warnings: Vec::new() }),
            (None, Some(planned)) if planned.kills_on_destroy()? => {
                Ok(Applied { state: Some(planned.arm(context).await?), warnings: Vec::new() })
            }
            (None, Some(planned)) => planned.kill_into(context, Phase::Create).await,
            (Some(prior), Some(planned)) if kills_on_update(&prior, &planned) => {
                planned.kill_into(context, Phase::Update).await
            }
            (Some(prior), Some(planned)) => {
                Ok(Applied { state: Some(update(&prior, &planned)?), warnings: Vec::new() })
            }
        }
    }
}

impl AppKill {
    /// Whether the kill happens at destroy (`when = "destroy"`) rather than at create.
    pub fn kills_on_destroy(&self) -> Result<bool, ProviderError> {
        lifecycle::kills_on_destroy(&self.when, AppKill::when)
    }

    fn timeout(&self, phase: Phase) -> Result<Duration, ProviderError> {
        lifecycle::timeout(&self.timeouts, AppKill::timeouts, phase)
    }

    /// The kill this state asks for in `phase`: its app, whether to wait, and its time-out.
    pub fn kill(&self, phase: Phase) -> Result<Kill, ProviderError> {
        Ok(Kill {
            app_id: required_app_id(&self.app_id, AppKill::app_id)?,
            attribute: Some(AppKill::app_id),
            phase,
            wait_for_termination: self.wait_for_termination == Field::Known(true),
            limit: self.timeout(phase)?,
        })
    }

    /// This object with DataForest's answer unknown, as a plan that kills shows it.
    fn answer_unknown(&self) -> AppKill {
        AppKill {
            id: Field::Unknown,
            success: Field::Unknown,
            message: Field::Unknown,
            killed_at: Field::Unknown,
            app_state: Field::Unknown,
            final_status: Field::Unknown,
            ..self.clone()
        }
    }

    /// This object recording a kill's answer.
    pub fn with_answer(&self, report: &KillReport) -> AppKill {
        let seen =
            |field: Text| Field::from_option(report.observed.as_ref().map(|app| app.text(field).to_string()));
        AppKill {
            id: Field::Known(report.id.clone()),
            success: Field::Known(report.success),
            message: Field::Known(report.message.clone()),
            killed_at: Field::Known(report.killed_at.clone()),
            app_state: seen(Text::State),
            final_status: seen(Text::FinalStatus),
            ..self.clone()
        }
    }

    /// This object recording the intent to kill at destroy: the id, and no answer yet.
    pub fn with_intent(&self) -> Result<AppKill, ProviderError> {
        Ok(AppKill {
            id: Field::Known(required_app_id(&self.app_id, AppKill::app_id)?),
            success: Field::Null,
            message: Field::Null,
            killed_at: Field::Null,
            app_state: Field::Null,
            final_status: Field::Null,
            ..self.clone()
        })
    }

    /// The arguments whose change, from `prior`, replaces the resource.
    fn replacing(&self, prior: &AppKill) -> Vec<&'static str> {
        let mut replacing = Vec::new();
        if self.app_id != prior.app_id {
            replacing.push(AppKill::app_id);
        }
        if self.triggers != prior.triggers {
            replacing.push(AppKill::triggers);
        }
        replacing
    }

    /// Kills as this plan asks, at create or at a change of `when` to `create`, and returns the
    /// state recording the answer; a kill accepted before its wait failed is recorded too.
    async fn kill_into(
        &self,
        context: &Context,
        phase: Phase,
    ) -> Result<Applied<AppKill>, ApplyError<AppKill>> {
        match self.send_kill(context, phase).await {
            Ok(report) => Ok(Applied { state: Some(self.with_answer(&report)), warnings: report.warnings }),
            Err(failed) => {
                let warnings = failed.all_warnings();
                let state = failed.accepted.as_deref().map(|report| self.with_answer(report));
                Err(ApplyError { error: failed.error, state, warnings })
            }
        }
    }

    /// The kill of this resource's app in `phase`, through the run's memory.
    async fn send_kill(&self, context: &Context, phase: Phase) -> Result<KillReport, KillError> {
        let kill = self.kill(phase)?;
        let deadline = kill.deadline()?;
        let stop = context.running()?;
        let session = context.session()?;
        let audit = session.audit().await?;
        if let AppAccount::UnknownAtDestroy { setting } =
            session.check_app_account(&kill, deadline, &stop).await?
        {
            // Nothing is sent: the outcome is as a kill of an app gone is, said as what it is.
            let mut report = KillReport::not_sent(&kill.app_id);
            report.warnings.push(ProviderWarning::AppUnknown {
                app_id: kill.app_id.clone(),
                attribute: kill.attribute,
                setting,
            });
            let mut result = Ok(report);
            audit::record_kill(audit, AppKill::TYPE_NAME, &kill, &mut result).await;
            return result;
        }
        let app_id = &kill.app_id;
        let progress = |step: String| tracing::info!(app_id = %app_id, "{step}");
        // Written ahead: a kill the audit log cannot record is not sent.
        let ahead = audit.map(|log| (log, Entry::of_kill(AppKill::TYPE_NAME, &kill)));
        let mut sent =
            session.send_once(&kill, ahead, deadline, &stop, &progress).await.map_err(KillError::from);
        // Recorded as soon as DataForest answered, before any wait.
        audit::record_kill(audit, AppKill::TYPE_NAME, &kill, &mut sent).await;
        let result = kill::finish(session.client_for(&kill)?, &kill, sent?, deadline, &stop, progress).await;
        tracing::info!(app_id = %app_id, ?phase, "AI app kill done");
        result
    }

    /// Create with `when = "destroy"`: checks that DataForest knows the app, then records the
    /// intent; nothing is killed.
    async fn arm(&self, context: &Context) -> Result<AppKill, ProviderError> {
        let kill = self.kill(Phase::Create)?;
        let deadline = kill.deadline()?;
        let stop = context.running()?;
        let session = context.session()?;
        // The destroy will need its audit log: one that cannot be opened fails now.
        session.audit().await?;
        // The account check, when there is one, has read the app already.
        if session.check_app_account(&kill, deadline, &stop).await? == AppAccount::Unchecked {
            let client = session.client_for(&kill)?;
            kill::check_exists(client, &kill, &stop).await?;
        }
        self.with_intent()
    }
}

/// Whether an in-place change kills: `when` going from `destroy` to `create` (or unknown, which
/// may turn out to be `create`).
fn kills_on_update(prior: &AppKill, planned: &AppKill) -> bool {
    when_turns_to_create(&prior.when, &planned.when)
}

/// An in-place update that sends nothing: the plan is the state, with the recorded answer kept
/// where the plan could not tell yet (a `when` unknown at plan that turned out `destroy`).
fn update(prior: &AppKill, planned: &AppKill) -> Result<AppKill, ProviderError> {
    if !planned.replacing(prior).is_empty() || kills_on_update(prior, planned) {
        return Err(ProviderError::UnexpectedUpdate);
    }
    fn kept<T: Clone>(planned: &Field<T>, prior: &Field<T>) -> Field<T> {
        if planned.is_unknown() { prior.clone() } else { planned.clone() }
    }
    let state = AppKill {
        id: kept(&planned.id, &prior.id),
        success: kept(&planned.success, &prior.success),
        message: kept(&planned.message, &prior.message),
        killed_at: kept(&planned.killed_at, &prior.killed_at),
        app_state: kept(&planned.app_state, &prior.app_state),
        final_status: kept(&planned.final_status, &prior.final_status),
        ..planned.clone()
    };
    if state.to_value().has_unknowns() {
        return Err(ProviderError::UnexpectedUpdate);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::apps::is_valid_app_id;
    use crate::protocol::object::ShapeError;
    use crate::provider::kill::DEFAULT_TIMEOUT;

    fn plan(prior: Option<&AppKill>, proposed: &AppKill) -> Plan<AppKill> {
        <AppKill as ResourceType>::plan(prior, proposed)
    }

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    /// A kill of `app_id` recorded at create.
    fn recorded(app_id: &str) -> AppKill {
        AppKill {
            app_id: known(app_id),
            id: known(app_id),
            success: Field::Known(true),
            message: known("ok"),
            killed_at: known("2026-01-01T00:00:00Z"),
            ..AppKill::default()
        }
    }

    fn timeouts(create: &str) -> Block<Timeouts> {
        Block(Field::Known(Timeouts { create: known(create), delete: Field::Null }))
    }

    #[test]
    fn app_ids() {
        assert!(is_valid_app_id("a"));
        assert!(is_valid_app_id("Z9abcdefghijklmnopqrst"));
        assert!(!is_valid_app_id(""));
        assert!(!is_valid_app_id("Z9abcdefghijklmnopqrstu"));
        assert!(!is_valid_app_id("app-1"));
        assert!(!is_valid_app_id("é"));
        assert!(AppKill { app_id: Field::Unknown, ..AppKill::default() }.validate().is_empty());
    }

    #[test]
    fn validation_reports_bad_when_and_timeouts() {
        let config = AppKill { timeouts: timeouts("soon"), ..recorded("a1") };
        assert!(matches!(&config.validate()[..], [ProviderError::InvalidTimeout { .. }]));
        let config = AppKill { when: known("later"), ..recorded("a1") };
        assert!(matches!(&config.validate()[..], [ProviderError::InvalidWhen { .. }]));
        let forever = AppKill { timeouts: timeouts("300000000000y"), ..recorded("a1") };
        assert!(matches!(&forever.validate()[..], [ProviderError::InvalidTimeout { .. }]));
        let three_seconds = AppKill { timeouts: timeouts("3s"), ..recorded("a1") };
        assert_eq!(three_seconds.timeout(Phase::Create).unwrap(), Duration::from_secs(3));
        assert_eq!(recorded("a1").timeout(Phase::Destroy).unwrap(), DEFAULT_TIMEOUT);
        assert!(AppKill { when: known("destroy"), ..recorded("a1") }.kills_on_destroy().unwrap());
    }

    #[test]
    fn create_plans_the_answer_unknown() {
        let config = AppKill { app_id: known("a1"), ..AppKill::default() };
        let plan = plan(None, &config);
        assert!(plan.requires_replace.is_empty());
        assert_eq!(plan.planned.app_id, known("a1"));
        assert_eq!(plan.planned, config.answer_unknown());
        assert!(plan.planned.success.is_unknown() && plan.planned.final_status.is_unknown());
    }

    #[test]
    fn no_change_keeps_the_recorded_answer() {
        let prior = recorded("a1");
        assert_eq!(plan(Some(&prior), &prior), Plan { planned: prior.clone(), requires_replace: vec![] });
    }

    #[test]
    fn in_place_settings_change_in_place() {
        let prior = recorded("a1");
        let proposed =
            AppKill { timeouts: timeouts("5m"), wait_for_termination: Field::Known(true), ..prior.clone() };
        let plan = plan(Some(&prior), &proposed);
        assert_eq!(plan, Plan { planned: proposed.clone(), requires_replace: vec![] });
        assert_eq!(update(&prior, &plan.planned).unwrap(), proposed);
        let other_app = AppKill { app_id: known("b2"), ..proposed };
        assert!(matches!(update(&prior, &other_app), Err(ProviderError::UnexpectedUpdate)));
    }

    #[test]
    fn changed_arguments_force_replacement() {
        let prior = recorded("a1");
        let triggers = Field::Known(BTreeMap::from([("run".to_string(), known("2"))]));
        let changed = plan(Some(&prior), &AppKill { triggers, ..prior.clone() });
        assert_eq!(changed.requires_replace, vec!["triggers"]);
        assert!(changed.planned.killed_at.is_unknown());
        let unknown_id = plan(Some(&prior), &AppKill { app_id: Field::Unknown, ..prior.clone() });
        assert_eq!(unknown_id.requires_replace, vec!["app_id"]);
    }

    #[test]
    fn when_changes_in_place_and_kills_only_from_destroy_to_create() {
        // create -> destroy: nothing is sent; the answer of the kill at create is kept.
        let prior = recorded("a1");
        let later = plan(Some(&prior), &AppKill { when: known("destroy"), ..prior.clone() });
        assert!(later.requires_replace.is_empty());
        assert_eq!(later.planned.success, Field::Known(true));
        assert!(!kills_on_update(&prior, &later.planned));
        assert_eq!(update(&prior, &later.planned).unwrap().when, known("destroy"));
        // Writing the default out, or removing it, changes nothing that matters.
        let spelled_out = plan(Some(&prior), &AppKill { when: known("create"), ..prior.clone() });
        assert!(spelled_out.requires_replace.is_empty() && !kills_on_update(&prior, &spelled_out.planned));
        assert_eq!(spelled_out.planned.killed_at, prior.killed_at);
        // destroy -> create (or unset, or unknown): kills in place, so the answer is unknown until then.
        let intent = AppKill { when: known("destroy"), ..later.planned.with_intent().unwrap() };
        for now in [known("create"), Field::Null, Field::Unknown] {
            let sooner = plan(Some(&intent), &AppKill { when: now.clone(), ..intent.clone() });
            assert!(sooner.requires_replace.is_empty(), "{now:?}");
            assert!(sooner.planned.success.is_unknown(), "{now:?}");
            assert!(kills_on_update(&intent, &sooner.planned), "{now:?}");
            assert!(matches!(update(&intent, &sooner.planned), Err(ProviderError::UnexpectedUpdate)));
        }
    }

    #[test]
    fn a_when_unknown_at_plan_that_turns_out_destroy_keeps_the_record() {
        let prior = AppKill { when: known("destroy"), ..recorded("a1") };
        let planned = plan(Some(&prior), &AppKill { when: Field::Unknown, ..prior.clone() }).planned;
        let applied = update(&prior, &AppKill { when: known("destroy"), ..planned }).unwrap();
        assert_eq!(applied, prior);
    }

    #[test]
    fn the_kill_of_a_state_takes_the_time_out_of_its_phase() {
        let config = AppKill {
            wait_for_termination: Field::Known(true),
            timeouts: Block(Field::Known(Timeouts { create: known("3m"), delete: known("7m") })),
            ..recorded("a1")
        };
        let minutes = |phase| config.kill(phase).unwrap().limit.as_secs() / 60;
        assert_eq!((minutes(Phase::Create), minutes(Phase::Update), minutes(Phase::Destroy)), (3, 3, 7));
        assert!(config.kill(Phase::Create).unwrap().wait_for_termination);
        let unknown_app = AppKill { app_id: Field::Unknown, ..config };
        assert!(matches!(
            unknown_app.kill(Phase::Create),
            Err(ProviderError::Shape(ShapeError { got: "an unknown value", .. }))
        ));
    }

    #[test]
    fn intent_records_the_id_and_nothing_else() {
        let planned =
            plan(None, &AppKill { app_id: known("a1"), when: known("destroy"), ..AppKill::default() });
        let intent = planned.planned.with_intent().unwrap();
        assert_eq!(intent.id, known("a1"));
        assert_eq!(intent.success, Field::Null);
        assert!(!intent.to_value().has_unknowns());
    }
}
