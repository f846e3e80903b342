//! The `ncloud_dataforest_aiapps_kill` resource (Terraform 1.0+): list an account's apps, pick
//! them with a [`Selector`], and kill every one picked, several at once (the [`bulk`] kill). A
//! selection larger than `max_apps` kills none. It kills at create or, with `when = "destroy"`, at
//! destroy (so apps started after the apply go too), and records what it killed in `killed`; like
//! the single kill, `when` changes in place, and the selector or `triggers` replace it (a destroy
//! hook's change in place). Its kills go through the run's memory, so an app a single kill of the
//! same run took is not killed twice.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ncp::AppInfo;
use crate::protocol::object::{Block, Field, Flat, Object, block, computed, flatten, optional};
use crate::protocol::schema::Schema;

use super::super::bulk::{self, BulkError, BulkSettings, Caller, KillSettings, Memory};
use super::super::error::{AuditRecord, LaterRun, Phase, ProviderError, ProviderWarning};
use super::super::kill::KillReport;
use super::super::lifecycle::{self, Timeouts, when_turns_to_create};
use super::super::selector::{Selection, Selector, UnsetStates, describe};
use super::super::session::{Context, Session};
use super::super::types::{Applied, ApplyError, Plan, ResourceType, schema_of};

/// How many apps a plan's preview names; the rest are counted.
const PREVIEWED_APPS: usize = 20;
/// The longest a plan's preview waits for its listing.
const PREVIEW_LIMIT: Duration = Duration::from_secs(30);

tfplugin::object! {
    /// The resource as Terraform holds it: its configuration, a plan, or what it killed.
    pub struct AppsKill {
        selector: Flat<Selector> => flatten(),
        when: Field<String> => optional(
            "`create` (default): select and kill when the resource is created. `destroy`: select and kill when \
             it is destroyed (apps started after the apply go too); a failed kill then fails the destroy and \
             keeps the resource. Changes in place: from `destroy` to `create` kills during that apply; from \
             `create` to `destroy` sends nothing and kills at destroy.",
        ),
        settings: Flat<KillSettings> => flatten(),
        triggers: Field<BTreeMap<String, Field<String>>> => optional(
            "Arbitrary values; changing any of them replaces the resource, which selects and kills again (a \
             destroy hook, `when = \"destroy\"`, changes in place instead).",
        ),
        killed: Field<Vec<Field<KilledApp>>> => computed(
            "The apps killed, each with `id`, `name`, `success` and `message` (DataForest's answer), `killed_at` \
             and `state`: empty when nothing matched; null with `when = \"destroy\"`, whose kill runs as the \
             resource goes. A kill that failed part-way records the kills that went through, and the resource is \
             tainted.",
        ),
        timeouts: Block<Timeouts> => block("Time limits, as durations such as `5m`, at most `24h`."),
    }
}

tfplugin::object! {
    /// One app a bulk kill took.
    pub struct KilledApp {
        id: Field<String> => computed("The AI app id."),
        name: Field<String> => computed("The app's name."),
        success: Field<bool> => computed(
            "DataForest's `success`: false for an app that had already ended by the time of its kill.",
        ),
        message: Field<String> => computed("DataForest's `message`."),
        killed_at: Field<String> => computed("RFC 3339 UTC time at which DataForest answered the kill."),
        state: Field<String> => computed(
            "The app's state as last seen: as listed before the kill, or as the wait for its end last read it.",
        ),
    }
}

impl ResourceType for AppsKill {
    const TYPE_NAME: &'static str = "ncloud_dataforest_aiapps_kill";

    fn schema() -> Schema {
        schema_of::<AppsKill>(
            "Force-ends every AI app of an account that a selector picks (by name, name pattern, \
                queue, state and age), several at once, at create (default) or at destroy, and records what it \
                killed. More matches than `max_apps` kill none. Changing the selector or `triggers` replaces it, \
                which kills again.",
        )
    }

    fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        errors.extend(bulk::check_scope(&self.selector, &self.settings, false));
        errors.extend(self.kills_on_destroy().err());
        errors.extend(self.settings.validate());
        errors.extend(lifecycle::check_timeouts(&self.timeouts, AppsKill::timeouts));
        errors
    }

    fn plan(prior: Option<&AppsKill>, proposed: &AppsKill) -> Plan<AppsKill> {
        // A destroy hook records nothing until it goes: `killed` is null.
        let hook = matches!(proposed.kills_on_destroy(), Ok(true));
        let killing =
            AppsKill { killed: if hook { Field::Null } else { Field::Unknown }, ..proposed.clone() };
        let Some(prior) = prior else {
            return Plan { planned: killing, requires_replace: Vec::new() };
        };
        let requires_replace = proposed.replacing(prior);
        if requires_replace.is_empty() && !kills_on_update(prior, proposed) {
            let planned = if hook {
                killing
            } else if proposed.when.is_unknown() {
                // Recorded as it is, or null if `when` turns out `destroy`: unknown until then.
                AppsKill { killed: Field::Unknown, ..proposed.clone() }
            } else {
                proposed.clone()
            };
            return Plan { planned, requires_replace };
        }
        Plan { planned: killing, requires_replace }
    }

    /// The plan of a kill shows what it would take now: a create-time kill (a create, a
    /// replacement, or `when` turning to `create`) at its plan, a destroy hook at the plan of its
    /// destroy (Terraform 1.3 and later ask the provider to plan destroys). A destroy hook's
    /// every plan says whether its destroy would be refused. Only once the provider's settings
    /// and the selector are known; a listing that fails is a warning.
    async fn preview(
        context: &Context,
        prior: Option<&AppsKill>,
        planned: Option<&AppsKill>,
    ) -> Vec<ProviderWarning> {
        let (resource, phase, later, show_apps) = match (prior, planned) {
            // A `when` unknown at plan may kill at this apply or not: nothing to preview.
            (_, Some(planned)) if planned.killed.is_unknown() && !planned.when.is_unknown() => {
                (planned, Phase::Create, LaterRun::Apply, true)
            }
            // A destroy hook shows what it would take when it is created; its later plans say only
            // whether its destroy would be refused.
            (prior, Some(planned)) if matches!(planned.kills_on_destroy(), Ok(true)) => {
                (planned, Phase::Destroy, LaterRun::Destroy, prior.is_none())
            }
            (Some(prior), None) if matches!(prior.kills_on_destroy(), Ok(true)) => {
                (prior, Phase::Destroy, LaterRun::Destroy, true)
            }
            _ => return Vec::new(),
        };
        let (selection, settings) = match resource.bulk(phase) {
            Ok(bulk) => bulk,
            // A destroy's plan: the recorded selector (of an older version, say) that the destroy
            // would refuse. A configuration's own is refused at validate.
            Err(error) if planned.is_none() => {
                return vec![ProviderWarning::RecordedSelectorRefused {
                    reason: error.to_diagnostic().detail,
                }];
            }
            Err(_) => return Vec::new(),
        };
        if context.session().is_err() || context.running().is_err() {
            return Vec::new();
        }
        // A plan must not wait for long: the preview gives up sooner than a kill would.
        let limit = settings.limit.min(PREVIEW_LIMIT);
        let listed =
            bulk::list_and_select(context, &selection, tokio::time::Instant::now() + limit, limit).await;
        // A destroy hook's later plans kill nothing: what they see is about the destroy to come,
        // which checks again.
        let foreseen = prior.is_some() && planned.is_some() && phase == Phase::Destroy;
        // A destroy hook's exclusions are for the apps running at its destroy: one that spares
        // nothing at its create is for the destroy to weigh.
        let hook_create = prior.is_none() && phase == Phase::Destroy;
        let told = |warning: ProviderWarning| match (foreseen, hook_create) {
            (true, _) => ProviderWarning::Foreseen { later, warning: Box::new(warning) },
            (false, true) => for_the_destroy(warning),
            (false, false) => warning,
        };
        let selected = match listed {
            Ok((_, selected)) => selected,
            Err(error) => {
                let reason = error.to_diagnostic().detail;
                return vec![told(ProviderWarning::PreviewFailed { reason })];
            }
        };
        let mut warnings: Vec<ProviderWarning> = selected.warnings.iter().cloned().map(told).collect();
        if show_apps {
            warnings.push(ProviderWarning::Preview {
                later,
                account: selection.account_id.clone(),
                count: selected.apps.len(),
                excluded: selected.excluded,
                first: selected.apps.iter().take(PREVIEWED_APPS).map(describe).collect(),
                funnel: selected.funnel.to_string(),
                // A destroy's plan: Terraform sends no configuration, and the destroy uses the
                // selector in state.
                recorded: planned.is_none().then(|| selection.exclusions()),
            });
        }
        warnings.extend(bulk::refusal(&selected, &settings, later));
        warnings
    }

    /// An account the provider's account list refuses fails the plan of a kill, once the account
    /// is known. A plan that kills nothing (a recorded kill, a destroy hook before its destroy)
    /// is not failed: the preview warns of a destroy hook's refusal instead.
    fn check_at_plan(&self, session: &Session) -> Vec<ProviderError> {
        match &self.selector.account_id {
            Field::Known(account) if self.killed.is_unknown() => {
                session.check_account(account, Selector::account_id).err().into_iter().collect()
            }
            _ => Vec::new(),
        }
    }

    async fn apply(
        context: &Context,
        prior: Option<AppsKill>,
        planned: Option<AppsKill>,
    ) -> Result<Applied<AppsKill>, ApplyError<AppsKill>> {
        let log = |step: String| tracing::info!("{step}");
        match (prior, planned) {
            (Some(prior), None) if prior.kills_on_destroy()? => {
                let (selection, settings) = prior.bulk(Phase::Destroy)?;
                let caller = AppsKill::caller(Phase::Destroy);
                let outcome = bulk::bulk_kill(context, &selection, &settings, caller, &log).await.map_err(
                    |failed| ApplyError { error: failed.error, state: None, warnings: failed.warnings },
                )?;
                let mut warnings = outcome.warnings;
                let killed = bulk::killed_names(&outcome.done);
                let complete = !warnings
                    .iter()
                    .any(|warning| matches!(warning, ProviderWarning::AuditIncomplete { .. }));
                let audit_log = match context.session()?.audit_path() {
                    None => AuditRecord::None,
                    Some(path) if complete => AuditRecord::Complete(path.display().to_string()),
                    Some(path) => AuditRecord::Incomplete(path.display().to_string()),
                };
                warnings.push(ProviderWarning::DestroyKilled {
                    account: selection.account_id.clone(),
                    count: killed.len(),
                    first: killed.into_iter().take(PREVIEWED_APPS).collect(),
                    recorded: selection.exclusions(),
                    audit_log,
                });
                Ok(Applied { state: None, warnings })
            }
            (_, None) => Ok(Applied { state: None, warnings: Vec::new() }),
            (None, Some(planned)) if planned.kills_on_destroy()? => {
                // The selection runs at destroy, so apps started after this apply go too. One
                // listing now checks the keys and the endpoint, so that a mistake fails here
                // rather than in the destroy it guards.
                let (selection, settings) = planned.bulk(Phase::Create)?;
                // So does the audit log the destroy will append to.
                context.session()?.audit().await?;
                let deadline = bulk::deadline_after(&settings)?;
                let (listed, selected) =
                    bulk::list_and_select(context, &selection, deadline, settings.limit).await?;
                log(format!(
                    "{} of {listed} app(s) of account {:?} match now{}; the selection runs again at destroy",
                    selected.apps.len(),
                    selection.account_id,
                    bulk::excluded_note(selected.excluded)
                ));
                let mut warnings: Vec<ProviderWarning> =
                    selected.warnings.iter().cloned().map(for_the_destroy).collect();
                warnings.extend(bulk::refusal(&selected, &settings, LaterRun::Destroy));
                // Under `strict`, what the selection could not check fails the hook now, before it
                // is recorded: a tainted hook would be replaced, and its destroy would kill.
                if let Some(error) = context.session()?.shortfall(&mut warnings, false, true) {
                    return Err(ApplyError { error, state: None, warnings });
                }
                Ok(Applied { state: Some(AppsKill { killed: Field::Null, ..planned }), warnings })
            }
            (None, Some(planned)) => planned.kill_into(context, Phase::Create, &log).await,
            (Some(prior), Some(planned)) if kills_on_update(&prior, &planned) => {
                planned.kill_into(context, Phase::Update, &log).await
            }
            (Some(prior), Some(planned)) => {
                Ok(Applied { state: Some(update(&prior, &planned)?), warnings: Vec::new() })
            }
        }
    }
}

/// A warning of a destroy hook's create, as that create tells it: exclusions that spare nothing
/// now are for the destroy to weigh (they may name apps that run by then), and are foreseen.
fn for_the_destroy(warning: ProviderWarning) -> ProviderWarning {
    match warning {
        ProviderWarning::UnusedExclusions { .. } => {
            ProviderWarning::Foreseen { later: LaterRun::Destroy, warning: Box::new(warning) }
        }
        warning => warning,
    }
}

impl AppsKill {
    pub fn kills_on_destroy(&self) -> Result<bool, ProviderError> {
        lifecycle::kills_on_destroy(&self.when, AppsKill::when)
    }

    /// The apps to select and how to kill them, in `phase`.
    pub fn bulk(&self, phase: Phase) -> Result<(Selection, BulkSettings), ProviderError> {
        let limit = lifecycle::timeout(&self.timeouts, AppsKill::timeouts, phase)?;
        if let Some(error) = bulk::check_scope(&self.selector, &self.settings, phase == Phase::Destroy) {
            return Err(error);
        }
        let settings = self.settings.resolve(limit)?;
        Ok((self.selector.selection(UnsetStates::NotEnded)?, settings))
    }

    /// Kills what this plan selects and returns the state recording it.
    async fn kill_into(
        &self,
        context: &Context,
        phase: Phase,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Applied<AppsKill>, ApplyError<AppsKill>> {
        let (selection, settings) = self.bulk(phase)?;
        match bulk::bulk_kill(context, &selection, &settings, AppsKill::caller(phase), progress).await {
            // Under `strict`, an update whose kill left something undone keeps the prior state,
            // `when = "destroy"`, as a failed one does, so that the next apply kills again: an
            // update is not tainted.
            Ok(mut outcome) if phase == Phase::Update => {
                match context.session()?.shortfall(&mut outcome.warnings, false, false) {
                    Some(error) => Err(ApplyError { error, state: None, warnings: outcome.warnings }),
                    None => Ok(Applied {
                        state: Some(self.with_killed(&outcome.done)),
                        warnings: outcome.warnings,
                    }),
                }
            }
            Ok(outcome) => {
                Ok(Applied { state: Some(self.with_killed(&outcome.done)), warnings: outcome.warnings })
            }
            // A create that killed some: they are recorded, and the resource is tainted. An update
            // keeps the prior state, `when = "destroy"`, so that the next apply kills again.
            Err(BulkError { error, done, warnings }) => Err(ApplyError {
                state: (phase == Phase::Create && !done.is_empty()).then(|| self.with_killed(&done)),
                error,
                warnings,
            }),
        }
    }

    /// The resource's bulk kill in `phase`, through the run's memory.
    fn caller(phase: Phase) -> Caller {
        Caller { entry_point: AppsKill::TYPE_NAME, phase, memory: Memory::Shared }
    }

    /// This object recording what a bulk kill took.
    pub fn with_killed(&self, killed: &[(AppInfo, KillReport)]) -> AppsKill {
        let killed = killed
            .iter()
            .map(|(app, report)| {
                Field::Known(KilledApp {
                    id: Field::Known(app.id().to_string()),
                    name: Field::Known(app.name().to_string()),
                    success: Field::Known(report.success),
                    message: Field::Known(report.message.clone()),
                    killed_at: Field::Known(report.killed_at.clone()),
                    state: Field::Known(report.observed.as_ref().unwrap_or(app).state().to_string()),
                })
            })
            .collect();
        AppsKill { killed: Field::Known(killed), ..self.clone() }
    }

    /// The arguments whose change, from `prior`, replaces the resource. Nothing does while the
    /// prior is a destroy hook (`when = "destroy"`): it recorded no kill, and a replacement would
    /// run its old selection's kills in the middle of an apply; the change applies in place, and
    /// the destroy selects with the new arguments.
    fn replacing(&self, prior: &AppsKill) -> Vec<&'static str> {
        let mut replacing = Vec::new();
        if matches!(prior.kills_on_destroy(), Ok(true)) {
            return replacing;
        }
        replacing.extend(self.selector.changed_from(&prior.selector));
        if self.triggers != prior.triggers {
            replacing.push(AppsKill::triggers);
        }
        replacing
    }
}

/// Whether an in-place change kills: `when` going from `destroy` to `create` (or unknown).
fn kills_on_update(prior: &AppsKill, planned: &AppsKill) -> bool {
    when_turns_to_create(&prior.when, &planned.when)
}

/// An in-place update that sends nothing: the plan is the state, with what was killed kept where
/// the plan could not tell yet (a `when` unknown at plan that turned out `destroy`).
fn update(prior: &AppsKill, planned: &AppsKill) -> Result<AppsKill, ProviderError> {
    if !planned.replacing(prior).is_empty() || kills_on_update(prior, planned) {
        return Err(ProviderError::UnexpectedUpdate);
    }
    let killed = if matches!(planned.kills_on_destroy(), Ok(true)) {
        Field::Null
    } else if planned.killed.is_unknown() {
        prior.killed.clone()
    } else {
        planned.killed.clone()
    };
    let state = AppsKill { killed, ..planned.clone() };
    if state.to_value().has_unknowns() {
        return Err(ProviderError::UnexpectedUpdate);
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::value::Number;
    use crate::provider::kill::DEFAULT_TIMEOUT;

    fn plan(prior: Option<&AppsKill>, proposed: &AppsKill) -> Plan<AppsKill> {
        <AppsKill as ResourceType>::plan(prior, proposed)
    }

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    fn config(account: &str) -> AppsKill {
        AppsKill {
            selector: Flat(Selector {
                account_id: known(account),
                name_regex: known("^env-42-"),
                ..Selector::default()
            }),
            ..AppsKill::default()
        }
    }

    #[test]
    fn a_selector_of_the_whole_account_needs_all_apps_which_takes_no_condition() {
        let whole = AppsKill {
            selector: Flat(Selector { account_id: known("acc"), ..Selector::default() }),
            ..AppsKill::default()
        };
        let refused = whole.validate();
        let [error @ ProviderError::AccountWide { attribute: "all_apps", .. }] = &refused[..] else {
            panic!("{refused:?}")
        };
        let detail = error.to_diagnostic().detail;
        assert!(
            detail.contains("name, name_regex, queue_name, workspace_name, states, running_longer_than"),
            "{detail}"
        );
        assert!(whole.bulk(Phase::Destroy).is_err(), "a destroy of such a recorded selector is refused too");
        let all_apps = |value: Field<bool>| AppsKill {
            settings: Flat(KillSettings { all_apps: value, ..KillSettings::default() }),
            ..whole.clone()
        };
        assert!(all_apps(Field::Known(true)).validate().is_empty());
        assert!(all_apps(Field::Known(true)).bulk(Phase::Create).is_ok());
        assert!(matches!(&all_apps(Field::Known(false)).validate()[..], [ProviderError::AccountWide { .. }]));
        assert!(all_apps(Field::Unknown).validate().is_empty(), "checked once known");
        // With exclusions, all_apps still says what is meant.
        let sparing = AppsKill {
            selector: Flat(Selector {
                exclude_ids: Field::Known(crate::protocol::object::SetOf(vec![known("A1")])),
                ..whole.selector.0.clone()
            }),
            ..all_apps(Field::Known(true))
        };
        assert!(sparing.validate().is_empty());
        // A condition not known yet may be set: it passes until it is known.
        let later = AppsKill {
            selector: Flat(Selector { queue_name: Field::Unknown, ..whole.selector.0.clone() }),
            ..whole.clone()
        };
        assert!(later.validate().is_empty());
        // all_apps with a condition is a contradiction.
        let both = AppsKill { settings: all_apps(Field::Known(true)).settings, ..config("acc") };
        assert!(matches!(
            &both.validate()[..],
            [ProviderError::Conflicting { first: "name_regex", second: "all_apps" }]
        ));
        let states = AppsKill {
            selector: Flat(Selector {
                states: Field::Known(crate::protocol::object::SetOf(vec![known("RUNNING")])),
                ..whole.selector.0.clone()
            }),
            ..whole
        };
        assert!(states.validate().is_empty(), "states is a condition");
        // A pattern that matches every name is no condition: refused, with or without others.
        for pattern in ["^", ".*", "(?:)", "\\s*", "$", "^.*$", ".", ".+", "^.+$", "[\\s\\S]", "[[:print:]]"]
        {
            let everything = AppsKill {
                selector: Flat(Selector {
                    name_regex: known(pattern),
                    queue_name: known("gpu"),
                    ..states.selector.0.clone()
                }),
                ..states.clone()
            };
            let refused = everything.validate();
            assert!(
                matches!(
                    &refused[..],
                    [ProviderError::MatchesEveryName { attribute: "name_regex", others: true, .. }]
                ),
                "{pattern}: {refused:?}"
            );
            assert!(
                refused[0].to_diagnostic().detail.contains("remove name_regex if the other conditions alone")
            );
        }
        for pattern in ["^$", "\\b", "\\w", "^env-", "etl"] {
            let narrow = AppsKill {
                selector: Flat(Selector { name_regex: known(pattern), ..states.selector.0.clone() }),
                ..states.clone()
            };
            assert!(narrow.validate().is_empty(), "{pattern}");
        }
    }

    #[test]
    fn limits_are_checked() {
        let number = |n: i64| Field::Known(Number::Int(n));
        assert!(config("acc").validate().is_empty());
        for (max_apps, concurrency, valid) in
            [(1, 1, true), (10_000, 64, true), (0, 8, false), (20, 65, false), (10_001, 8, false)]
        {
            let settings = KillSettings {
                max_apps: number(max_apps),
                concurrency: number(concurrency),
                ..KillSettings::default()
            };
            let resource = AppsKill { settings: Flat(settings), ..config("acc") };
            assert_eq!(resource.validate().is_empty(), valid, "{max_apps} {concurrency}");
        }
        let fraction = AppsKill {
            settings: Flat(KillSettings {
                max_apps: Field::Known(Number::Float(2.5)),
                ..KillSettings::default()
            }),
            ..config("acc")
        };
        assert!(matches!(
            &fraction.validate()[..],
            [ProviderError::OutOfRange { attribute: "max_apps", .. }]
        ));
        let (_, settings) = config("acc").bulk(Phase::Create).unwrap();
        assert_eq!((settings.max_apps, settings.concurrency, settings.limit), (20, 8, DEFAULT_TIMEOUT));
    }

    #[test]
    fn the_selector_and_triggers_replace_but_a_destroy_hook_and_when_change_in_place() {
        let prior = AppsKill { killed: Field::Known(Vec::new()), ..config("acc") };
        let other_queue = AppsKill {
            selector: Flat(Selector { queue_name: known("gpu"), ..prior.selector.0.clone() }),
            ..prior.clone()
        };
        let replaced = plan(Some(&prior), &other_queue);
        assert_eq!(replaced.requires_replace, ["queue_name"]);
        assert!(replaced.planned.killed.is_unknown());
        // To a destroy hook in place: it records nothing until it goes.
        let later = plan(Some(&prior), &AppsKill { when: known("destroy"), ..prior.clone() });
        assert!(later.requires_replace.is_empty() && later.planned.killed == Field::Null);
        assert_eq!(update(&prior, &later.planned).unwrap().killed, Field::Null);
        let intent = AppsKill { when: known("destroy"), killed: Field::Null, ..config("acc") };
        let sooner = plan(Some(&intent), &AppsKill { when: known("create"), ..intent.clone() });
        assert!(sooner.requires_replace.is_empty() && sooner.planned.killed.is_unknown());
        assert!(kills_on_update(&intent, &sooner.planned));
        // A destroy hook's selector and triggers change in place: a replacement would run the old
        // selection's kills in the middle of the apply.
        let retargeted = AppsKill {
            selector: Flat(Selector { queue_name: known("gpu"), ..intent.selector.0.clone() }),
            ..intent.clone()
        };
        let hook = plan(Some(&intent), &retargeted);
        assert!(hook.requires_replace.is_empty() && hook.planned.killed == Field::Null, "{hook:?}");
        assert_eq!(update(&intent, &hook.planned).unwrap(), retargeted);
        assert!(plan(None, &config("acc")).planned.killed.is_unknown());
    }
}
