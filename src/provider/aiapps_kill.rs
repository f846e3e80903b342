//! The bulk kill, `ncloud_dataforest_aiapps_kill`, as a resource (Terraform 1.0+) and as an
//! action (Terraform 1.14+): list an account's apps, pick them with a [`Selector`], and kill every
//! one picked, several at once. A selection larger than `max_apps` kills none. The resource kills
//! at create or, with `when = "destroy"`, at destroy (so apps started after the apply go too), and
//! records what it killed in `killed`; like the single kill, `when` changes in place, and the
//! selector or `triggers` replace it. The action can report what it would kill (`dry_run`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::protocol::object::{Block, Field, Flat, Object, block, computed, flatten, optional, split};
use crate::protocol::schema::Schema;
use crate::protocol::value::Number;

use super::aiapp_kill::{Timeouts, When, timeout, when_to_kill, when_turns_to_create};
use super::error::ProviderError;
use super::kill::{DEFAULT_TIMEOUT, KillReport, Phase};
use super::selector::{Selection, Selector, UnsetStates};
use crate::ncp::AppInfo;

pub const TYPE_NAME: &str = "ncloud_dataforest_aiapps_kill";
const DEFAULT_MAX_APPS: u64 = 20;
const MAX_APPS_LIMIT: u64 = 10_000;
const DEFAULT_CONCURRENCY: u64 = 8;
const CONCURRENCY_LIMIT: u64 = 64;

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
        max_apps: Field<Number> => optional(
            "The most apps one kill may take, 1 to 10000 (default 20): if more match, none is killed and the \
             error shows how many and the first ten, so a pattern written wrong cannot empty an account.",
        ),
        concurrency: Field<Number> => optional(
            "How many kills run at once, 1 to 64 (default 8), sharing one HTTP client and its connections.",
        ),
        wait_for_termination: Field<bool> => optional(
            "After each kill, poll the app's state until it has ended, within the time-out.",
        ),
        triggers: Field<BTreeMap<String, Field<String>>> => optional(
            "Arbitrary values; changing any of them replaces the resource, which selects and kills again (a \
             destroy hook, `when = \"destroy\"`, changes in place instead).",
        ),
        killed: Field<Vec<Field<KilledApp>>> => computed(
            "The apps killed, each with `id`, `name`, `success` and `message` (DataForest's answer): empty when \
             nothing matched; null with `when = \"destroy\"`, whose kill runs as the resource goes.",
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
    }
}

tfplugin::object! {
    /// The action's `config` block.
    pub struct AppsKillAction {
        selector: Flat<Selector> => flatten(),
        max_apps: Field<Number> => optional(
            "The most apps one run may kill, 1 to 10000 (default 20): if more match, none is killed.",
        ),
        concurrency: Field<Number> => optional("How many kills run at once, 1 to 64 (default 8)."),
        wait_for_termination: Field<bool> => optional(
            "After each kill, poll the app's state until it has ended. The whole action is bounded by 20 minutes.",
        ),
        dry_run: Field<bool> => optional("Report what would be killed, and kill nothing."),
    }
}

pub fn schema() -> Schema {
    let (attributes, blocks) = split(AppsKill::members());
    Schema {
        version: 0,
        description: "Force-ends every AI app of an account that a selector picks (by name, name pattern, queue, \
            state and age), several at once, at create (default) or at destroy, and records what it killed. More \
            matches than `max_apps` kill none. Changing the selector or `triggers` replaces it, which kills again.",
        attributes,
        blocks,
    }
}

pub fn action_schema() -> Schema {
    let (attributes, blocks) = split(AppsKillAction::members());
    Schema {
        version: 0,
        description: "Force-ends every AI app of an account that a selector picks, several at once, without \
            recording anything in state; with `dry_run`, reports what it would kill. A failed kill fails the apply.",
        attributes,
        blocks,
    }
}

/// How a bulk kill runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkSettings {
    pub max_apps: usize,
    pub concurrency: usize,
    pub wait_for_termination: bool,
    /// Bound on the whole bulk kill: the list, every kill and every wait.
    pub limit: Duration,
}

/// A whole number in `low..=high`, or `default` when not set (or not yet known).
fn whole(
    field: &Field<Number>,
    attribute: &'static str,
    default: u64,
    low: u64,
    high: u64,
) -> Result<u64, ProviderError> {
    let Field::Known(number) = field else { return Ok(default) };
    let out_of_range = |value: String| ProviderError::OutOfRange { attribute, value, low, high };
    match number {
        Number::Int(n) if (low as i64..=high as i64).contains(n) => Ok(*n as u64),
        Number::Int(n) => Err(out_of_range(n.to_string())),
        Number::Float(f) => Err(out_of_range(f.to_string())),
        Number::Decimal(d) => Err(out_of_range(d.clone())),
    }
}

fn settings(
    max_apps: &Field<Number>,
    concurrency: &Field<Number>,
    wait_for_termination: &Field<bool>,
    limit: Duration,
) -> Result<BulkSettings, ProviderError> {
    Ok(BulkSettings {
        max_apps: whole(max_apps, AppsKill::max_apps, DEFAULT_MAX_APPS, 1, MAX_APPS_LIMIT)? as usize,
        concurrency: whole(concurrency, AppsKill::concurrency, DEFAULT_CONCURRENCY, 1, CONCURRENCY_LIMIT)?
            as usize,
        wait_for_termination: wait_for_termination == &Field::Known(true),
        limit,
    })
}

impl AppsKill {
    /// Checks the configuration; unknown values pass, to be checked when known.
    pub fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        errors.extend(when_to_kill(&self.when).err());
        errors.extend(
            settings(&self.max_apps, &self.concurrency, &self.wait_for_termination, DEFAULT_TIMEOUT).err(),
        );
        errors.extend(
            [Phase::Create, Phase::Destroy]
                .into_iter()
                .filter_map(|phase| timeout(&self.timeouts, phase).err()),
        );
        errors
    }

    pub fn kills_on_destroy(&self) -> Result<bool, ProviderError> {
        Ok(when_to_kill(&self.when)? == Some(When::Destroy))
    }

    /// The apps to select and how to kill them, in `phase`.
    pub fn bulk(&self, phase: Phase) -> Result<(Selection, BulkSettings), ProviderError> {
        let limit = timeout(&self.timeouts, phase)?;
        let settings = settings(&self.max_apps, &self.concurrency, &self.wait_for_termination, limit)?;
        Ok((self.selector.selection(UnsetStates::NotEnded)?, settings))
    }

    /// This object recording what a bulk kill took.
    pub fn with_killed(&self, killed: &[(AppInfo, KillReport)]) -> AppsKill {
        let killed = killed
            .iter()
            .map(|(app, report)| {
                Field::Known(KilledApp {
                    id: Field::Known(app.id.clone()),
                    name: Field::Known(app.name.clone()),
                    success: Field::Known(report.success),
                    message: Field::Known(report.message.clone()),
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
        let (now, before) = (&self.selector, &prior.selector);
        let changed = [
            (Selector::account_id, now.account_id != before.account_id),
            (Selector::name, now.name != before.name),
            (Selector::name_regex, now.name_regex != before.name_regex),
            (Selector::queue_name, now.queue_name != before.queue_name),
            (Selector::states, now.states != before.states),
            (Selector::running_longer_than, now.running_longer_than != before.running_longer_than),
            (AppsKill::triggers, self.triggers != prior.triggers),
        ];
        replacing.extend(changed.into_iter().filter(|(_, changed)| *changed).map(|(name, _)| name));
        replacing
    }
}

/// Whether an in-place change kills: `when` going from `destroy` to `create` (or unknown).
pub fn kills_on_update(prior: &AppsKill, planned: &AppsKill) -> bool {
    when_turns_to_create(&prior.when, &planned.when)
}

/// A planned change: the state after apply as far as known, and what forces a replacement.
#[derive(Debug, PartialEq)]
pub struct Plan {
    pub planned: AppsKill,
    pub requires_replace: Vec<&'static str>,
}

/// Plans `proposed` over `prior` (`None` when creating).
pub fn plan(prior: Option<&AppsKill>, proposed: &AppsKill) -> Plan {
    // A destroy hook records nothing until it goes: `killed` is null.
    let hook = matches!(proposed.kills_on_destroy(), Ok(true));
    let killing = AppsKill { killed: if hook { Field::Null } else { Field::Unknown }, ..proposed.clone() };
    let Some(prior) = prior else {
        return Plan { planned: killing, requires_replace: Vec::new() };
    };
    let requires_replace = proposed.replacing(prior);
    if requires_replace.is_empty() && !kills_on_update(prior, proposed) {
        let planned = if hook { killing } else { proposed.clone() };
        return Plan { planned, requires_replace };
    }
    Plan { planned: killing, requires_replace }
}

/// An in-place update that sends nothing: the plan is the state, with what was killed kept where
/// the plan could not tell yet (a `when` unknown at plan that turned out `destroy`).
pub fn update(prior: &AppsKill, planned: &AppsKill) -> Result<AppsKill, ProviderError> {
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

impl AppsKillAction {
    pub fn validate(&self) -> Vec<ProviderError> {
        let mut errors = self.selector.validate();
        errors.extend(
            settings(&self.max_apps, &self.concurrency, &self.wait_for_termination, DEFAULT_TIMEOUT).err(),
        );
        errors
    }

    /// The apps to select and how to kill them; the whole action is bounded by [`DEFAULT_TIMEOUT`].
    pub fn bulk(&self) -> Result<(Selection, BulkSettings, bool), ProviderError> {
        let settings =
            settings(&self.max_apps, &self.concurrency, &self.wait_for_termination, DEFAULT_TIMEOUT)?;
        let selection = self.selector.selection(UnsetStates::NotEnded)?;
        Ok((selection, settings, self.dry_run == Field::Known(true)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    fn config(account: &str) -> AppsKill {
        AppsKill {
            selector: Flat(Selector { account_id: known(account), ..Selector::default() }),
            ..AppsKill::default()
        }
    }

    #[test]
    fn limits_are_checked() {
        let number = |n: i64| Field::Known(Number::Int(n));
        assert!(config("acc").validate().is_empty());
        for (max_apps, concurrency, valid) in
            [(1, 1, true), (10_000, 64, true), (0, 8, false), (20, 65, false), (10_001, 8, false)]
        {
            let resource =
                AppsKill { max_apps: number(max_apps), concurrency: number(concurrency), ..config("acc") };
            assert_eq!(resource.validate().is_empty(), valid, "{max_apps} {concurrency}");
        }
        let fraction = AppsKill { max_apps: Field::Known(Number::Float(2.5)), ..config("acc") };
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
