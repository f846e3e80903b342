//! A bulk kill's arguments, as the resource and the action declare them ([`KillSettings`]),
//! checked and resolved ([`BulkSettings`]), and the scope check that refuses a selector taking a
//! whole account by accident.

use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::object::{Field, optional};
use crate::protocol::value::Number;
use crate::provider::error::ProviderError;
use crate::provider::selector::Selector;

pub(super) const DEFAULT_MAX_APPS: u64 = 20;

pub(super) const DEFAULT_MIN_APPS: u64 = 0;

pub(super) const MAX_APPS_LIMIT: u64 = 10_000;

pub(super) const DEFAULT_CONCURRENCY: u64 = 8;

pub(super) const CONCURRENCY_LIMIT: u64 = 64;

pub(super) const SETTLE_ROUNDS_LIMIT: u64 = 10;

tfplugin::object! {
    /// How a bulk kill runs, as the resource and the action both take it.
    pub struct KillSettings {
        max_apps: Field<Number> => optional(
            "The most apps one kill may take, 1 to 10000 (default 20): if more match, none is killed and the \
             error shows how many and the first ten, so a pattern written wrong cannot empty an account.",
        ),
        min_apps: Field<Number> => optional(
            "The fewest apps one kill must take, 0 to 10000 (default 0), at most `max_apps`: if fewer match, none \
             is killed and the error says how many each condition left, so a selector gone wrong (a mistyped \
             account or pattern) fails instead of killing nothing. With the default, a kill that matches nothing \
             warns.",
        ),
        concurrency: Field<Number> => optional(
            "How many kills run at once, 1 to 64 (default 8), sharing one HTTP client and its connections.",
        ),
        wait_for_termination: Field<bool> => optional(
            "After each kill, poll the app's state until it has ended, using the whole time-out (the resource's \
             `timeouts`, the action's `timeout`).",
        ),
        settle_rounds: Field<Number> => optional(
            "After the kills, list again and kill what newly matches (apps started meanwhile), up to this many \
             more rounds, 0 to 10 (default 0); every round counts against `max_apps`. If apps still match after \
             the last round, the kill fails naming them; with 0, the listing after the kill names them in a \
             warning.",
        ),
        all_apps: Field<bool> => optional(
            "Set to `true` to select every app of the account that is still running, when the selector sets no \
             condition beyond `account_id` (no `name`, `name_regex`, `queue_name`, `workspace_name`, `states` or \
             `running_longer_than`): such a selector is refused without it, so that a condition left out by \
             mistake cannot take the whole account. Not with those conditions; exclusions still apply.",
        ),
    }
}

/// Refuses a bulk kill's selector that sets no condition beyond the account unless `all_apps`
/// is true, since it takes every app of the account still running; and `all_apps` with a
/// condition. A value not known yet passes (a condition unknown now may turn out set), and is
/// checked once it is known. `recorded`: the selector is the one recorded at the last apply.
pub fn check_scope(selector: &Selector, settings: &KillSettings, recorded: bool) -> Option<ProviderError> {
    /// Whether a condition may be set (not null), and whether it certainly is (known).
    fn set<T>(field: &Field<T>) -> (bool, bool) {
        (!matches!(field, Field::Null), matches!(field, Field::Known(_)))
    }
    let conditions = [
        (Selector::name, set(&selector.name)),
        (Selector::name_regex, set(&selector.name_regex)),
        (Selector::queue_name, set(&selector.queue_name)),
        (Selector::workspace_name, set(&selector.workspace_name)),
        (Selector::states, set(&selector.states)),
        (Selector::running_longer_than, set(&selector.running_longer_than)),
    ];
    // A pattern that matches every name is no condition either: `^${var.prefix}` with the prefix
    // left empty, say.
    if let Field::Known(pattern) = &selector.name_regex
        && regex::Regex::new(pattern).is_ok_and(|regex| matches_every_name(&regex))
    {
        let others =
            conditions.iter().any(|(condition, (maybe, _))| *maybe && *condition != Selector::name_regex);
        return Some(ProviderError::MatchesEveryName {
            attribute: Selector::name_regex,
            pattern: pattern.clone(),
            all_apps: KillSettings::all_apps,
            others,
            recorded,
        });
    }
    match settings.all_apps {
        Field::Known(true) => {
            conditions.iter().find(|(_, (_, certainly))| *certainly).map(|(condition, _)| {
                ProviderError::Conflicting { first: condition, second: KillSettings::all_apps }
            })
        }
        Field::Unknown => None,
        Field::Known(false) | Field::Null => {
            conditions.iter().all(|(_, (maybe, _))| !maybe).then(|| ProviderError::AccountWide {
                attribute: KillSettings::all_apps,
                conditions: conditions.map(|(condition, _)| condition).to_vec(),
                recorded,
            })
        }
    }
}

/// Whether `pattern` matches every name an app can have: it matches each of a set of names as
/// unlike each other as names get (one letter, digits, punctuation, spaces). `^`, `$`, `.*`,
/// `.`, `.+`, `^.+$`, `[\s\S]`, `[[:print:]]` and `(?:)` do; `^$`, `\b`, `\w` and any pattern
/// that names something do not.
pub(super) fn matches_every_name(pattern: &regex::Regex) -> bool {
    ["a", "Z9", "-", "_.", " x ", "env-42-etl"].iter().all(|name| pattern.is_match(name))
}

/// How a bulk kill runs, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkSettings {
    pub max_apps: usize,
    pub min_apps: usize,
    pub concurrency: usize,
    pub wait_for_termination: bool,
    /// More rounds of listing and killing what newly matches.
    pub settle_rounds: usize,
    /// Bound on the whole bulk kill: the list, every kill and every wait.
    pub limit: Duration,
}

/// A whole number in `low..=high`, or `default` when not set (or not yet known).
pub(super) fn whole(
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

impl KillSettings {
    /// The settings, checked, for a bulk kill bounded by `limit`.
    pub fn resolve(&self, limit: Duration) -> Result<BulkSettings, ProviderError> {
        let max_apps = whole(&self.max_apps, KillSettings::max_apps, DEFAULT_MAX_APPS, 1, MAX_APPS_LIMIT)?;
        let min_apps = whole(&self.min_apps, KillSettings::min_apps, DEFAULT_MIN_APPS, 0, MAX_APPS_LIMIT)?;
        // A bound not known yet (at validate) is checked once it is.
        let both_known = !self.max_apps.is_unknown() && !self.min_apps.is_unknown();
        if both_known && min_apps > max_apps {
            return Err(ProviderError::OutOfOrder {
                low: (KillSettings::min_apps, min_apps),
                high: (KillSettings::max_apps, max_apps),
            });
        }
        let concurrency =
            whole(&self.concurrency, KillSettings::concurrency, DEFAULT_CONCURRENCY, 1, CONCURRENCY_LIMIT)?;
        Ok(BulkSettings {
            max_apps: max_apps as usize,
            min_apps: min_apps as usize,
            concurrency: concurrency as usize,
            wait_for_termination: self.wait_for_termination == Field::Known(true),
            settle_rounds: whole(&self.settle_rounds, KillSettings::settle_rounds, 0, 0, SETTLE_ROUNDS_LIMIT)?
                as usize,
            limit,
        })
    }

    /// Checks the settings that are known.
    pub fn validate(&self) -> Option<ProviderError> {
        self.resolve(Duration::ZERO).err()
    }
}

/// When a bulk kill that starts now must be done.
pub fn deadline_after(settings: &BulkSettings) -> Result<Instant, ProviderError> {
    Instant::now().checked_add(settings.limit).ok_or(ProviderError::TimeoutTooLong { limit: settings.limit })
}
