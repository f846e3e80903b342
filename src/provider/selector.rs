//! The app selector every bulk entry point shares (the `ncloud_dataforest_aiapps` data source,
//! the `ncloud_dataforest_aiapps_kill` resource and action): which of an account's apps, by exact
//! name, name pattern, queue, state and age. Its attributes are declared once, here, and written
//! into each of those objects.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::ncp::AppInfo;
use crate::ncp::apps::TERMINAL_STATES;
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, SetOf, ShapeError, optional, required};

use super::duration::parse_duration;
use super::error::{ProviderError, ProviderWarning};

tfplugin::object! {
    /// Which apps of an account to select.
    pub struct Selector {
        account_id: Field<String> => required("The DataForest account whose apps to select."),
        name: Field<String> => optional("Only the apps with exactly this name."),
        name_regex: Field<String> => optional(
            "Only the apps whose name matches this regular expression (the Rust `regex` crate's syntax; it may \
             match anywhere in the name, so anchor it with `^` and `$` to match the whole name).",
        ),
        queue_name: Field<String> => optional("Only the apps in this YARN queue."),
        states: Field<SetOf<String>> => optional(
            "Only the apps in one of these states, such as `RUNNING` (any case). When not set, the data source \
             lists apps in any state, and the kill resource and action select every state but the ended ones \
             (`KILLED`, `FINISHED`, `FAILED`), so an ended app is never killed.",
        ),
        running_longer_than: Field<String> => optional(
            "Only the apps that started longer ago than this, as a duration such as `6h` or `90m`. An app whose \
             start time is missing or unreadable never matches, and a warning names it.",
        ),
    }
}

/// Which states match when `states` is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsetStates {
    /// Every state (the data source, which only lists).
    Any,
    /// Every state but the ended ones (the kills).
    NotEnded,
}

/// A selector whose arguments are known and checked, ready to match apps.
#[derive(Clone, Debug)]
pub struct Selection {
    pub account_id: String,
    name: Option<String>,
    name_regex: Option<Regex>,
    queue_name: Option<String>,
    /// Upper-cased; `None` matches per [`UnsetStates`].
    states: Option<BTreeSet<String>>,
    unset_states: UnsetStates,
    running_longer_than: Option<Duration>,
}

/// The apps a selection matched, and what is worth a warning.
#[derive(Debug, Default)]
pub struct Selected {
    pub apps: Vec<AppInfo>,
    pub warnings: Vec<ProviderWarning>,
}

fn at(attribute: &'static str) -> Vec<PathStep> {
    vec![PathStep::Attribute(attribute.to_string())]
}

impl Selector {
    /// Checks the arguments that are known: a blank account, a pattern that does not compile, a
    /// duration that cannot be read.
    pub fn validate(&self) -> Vec<ProviderError> {
        let mut errors = Vec::new();
        if let Field::Known(account) = &self.account_id
            && account.trim().is_empty()
        {
            errors.push(ProviderError::EmptyArgument { name: Selector::account_id });
        }
        if let Field::Known(pattern) = &self.name_regex
            && let Err(error) = Regex::new(pattern)
        {
            errors.push(ProviderError::InvalidRegex {
                attribute: Selector::name_regex,
                reason: error.to_string(),
            });
        }
        if let Field::Known(text) = &self.running_longer_than
            && let Err(reason) = parse_duration(text)
        {
            errors.push(ProviderError::InvalidDuration {
                path: at(Selector::running_longer_than),
                value: text.clone(),
                reason,
            });
        }
        errors
    }

    /// The selection, once every argument is known.
    pub fn selection(&self, unset_states: UnsetStates) -> Result<Selection, ProviderError> {
        if let Some(error) = self.validate().into_iter().next() {
            return Err(error);
        }
        let known =
            |field: &Field<String>, attribute: &'static str| -> Result<Option<String>, ProviderError> {
                match field {
                    Field::Unknown => Err(unknown(attribute)),
                    field => Ok(field.known().cloned()),
                }
            };
        let account_id = known(&self.account_id, Selector::account_id)?.ok_or_else(|| {
            ProviderError::Shape(ShapeError {
                path: at(Selector::account_id),
                expected: "a string",
                got: "null",
            })
        })?;
        let states = match &self.states {
            Field::Unknown => return Err(unknown(Selector::states)),
            Field::Null => None,
            Field::Known(SetOf(states)) => Some(
                states
                    .iter()
                    .map(|state| match state {
                        Field::Known(state) => Ok(state.to_ascii_uppercase()),
                        _ => Err(unknown(Selector::states)),
                    })
                    .collect::<Result<BTreeSet<_>, _>>()?,
            ),
        };
        let name_regex = known(&self.name_regex, Selector::name_regex)?;
        let running_longer_than = known(&self.running_longer_than, Selector::running_longer_than)?;
        Ok(Selection {
            account_id,
            name: known(&self.name, Selector::name)?,
            // Both checked by `validate` above.
            name_regex: name_regex.map(|pattern| Regex::new(&pattern)).transpose().map_err(|error| {
                ProviderError::InvalidRegex { attribute: Selector::name_regex, reason: error.to_string() }
            })?,
            queue_name: known(&self.queue_name, Selector::queue_name)?,
            states,
            unset_states,
            running_longer_than: running_longer_than.map(|text| parse_duration(&text)).transpose().map_err(
                |reason| ProviderError::InvalidDuration {
                    path: at(Selector::running_longer_than),
                    value: String::new(),
                    reason,
                },
            )?,
        })
    }
}

fn unknown(attribute: &'static str) -> ProviderError {
    ProviderError::Shape(ShapeError {
        path: at(attribute),
        expected: "a known value",
        got: "an unknown value",
    })
}

impl Selection {
    /// Selects only the apps in `state` (the data source's `state`, which cannot be set
    /// together with `states`).
    pub fn only_state(mut self, state: &str) -> Selection {
        self.states = Some(BTreeSet::from([state.to_ascii_uppercase()]));
        self
    }

    /// The apps that match, as of `now`. An app that matches all but the age, whose start time
    /// cannot be read, is named in a warning.
    pub fn select(&self, apps: &[AppInfo], now: SystemTime) -> Selected {
        let mut selected = Selected::default();
        let mut unreadable = Vec::new();
        for app in apps {
            let state = app.state.to_ascii_uppercase();
            let state_matches = match (&self.states, self.unset_states) {
                (Some(states), _) => states.contains(&state),
                (None, UnsetStates::Any) => true,
                (None, UnsetStates::NotEnded) => !TERMINAL_STATES.contains(&state.as_str()),
            };
            let matches = state_matches
                && self.name.as_ref().is_none_or(|name| &app.name == name)
                && self.name_regex.as_ref().is_none_or(|pattern| pattern.is_match(&app.name))
                && self.queue_name.as_ref().is_none_or(|queue| &app.queue_name == queue);
            if !matches {
                continue;
            }
            match (self.running_longer_than, app.started()) {
                (None, _) => selected.apps.push(app.clone()),
                (Some(age), Some(started)) => {
                    if now.duration_since(started).is_ok_and(|running| running > age) {
                        selected.apps.push(app.clone());
                    }
                }
                (Some(_), None) => unreadable.push(app),
            }
        }
        if !unreadable.is_empty() {
            selected.warnings.push(ProviderWarning::UnreadableStart {
                attribute: Selector::running_longer_than,
                count: unreadable.len(),
                first: unreadable.iter().take(10).map(|app| describe(app)).collect(),
            });
        }
        selected
    }
}

/// An app as messages name it: its id, and its name when it has one.
pub fn describe(app: &AppInfo) -> String {
    if app.name.is_empty() { app.id.clone() } else { format!("{} ({})", app.id, app.name) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str, name: &str, queue: &str, state: &str, started_at: &str) -> AppInfo {
        AppInfo {
            id: id.into(),
            name: name.into(),
            queue_name: queue.into(),
            state: state.into(),
            started_at: started_at.into(),
            ..AppInfo::default()
        }
    }

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    fn ids(selected: &Selected) -> Vec<&str> {
        selected.apps.iter().map(|app| app.id.as_str()).collect()
    }

    /// 2025-02-25T06:49:07Z
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_740_466_147)
    }

    fn apps() -> Vec<AppInfo> {
        vec![
            app("A1", "env-42-etl", "gpu", "RUNNING", "2025-02-25T15:42:00+09:00"), // 7 min
            app("A2", "env-42-train", "gpu", "running", "2025-02-24T06:49:07Z"),    // a day
            app("A3", "env-7-etl", "default", "ACCEPTED", "2025-02-25T06:00:00Z"),  // 49 min
            app("A4", "env-42-old", "gpu", "KILLED", "2025-02-20T00:00:00Z"),
            app("A5", "env-42-mystery", "gpu", "RUNNING", ""),
        ]
    }

    fn select(selector: Selector, unset: UnsetStates) -> Selected {
        selector.selection(unset).unwrap().select(&apps(), now())
    }

    #[test]
    fn each_field_alone_and_combined() {
        let base = Selector { account_id: known("acc"), ..Selector::default() };
        assert_eq!(ids(&select(base.clone(), UnsetStates::Any)), ["A1", "A2", "A3", "A4", "A5"]);
        assert_eq!(
            ids(&select(base.clone(), UnsetStates::NotEnded)),
            ["A1", "A2", "A3", "A5"],
            "ended apps are left"
        );
        let by = |selector: Selector| {
            ids(&select(selector, UnsetStates::NotEnded)).into_iter().map(String::from).collect::<Vec<_>>()
        };
        assert_eq!(by(Selector { name: known("env-7-etl"), ..base.clone() }), ["A3"]);
        assert_eq!(by(Selector { name_regex: known("^env-42-"), ..base.clone() }), ["A1", "A2", "A5"]);
        assert_eq!(
            by(Selector { name_regex: known("(?i)^ENV-42-"), ..base.clone() }),
            ["A1", "A2", "A5"],
            "a pattern can ignore case"
        );
        assert_eq!(by(Selector { queue_name: known("default"), ..base.clone() }), ["A3"]);
        let states = |names: &[&str]| Field::Known(SetOf(names.iter().map(|n| known(n)).collect()));
        assert_eq!(by(Selector { states: states(&["Running"]), ..base.clone() }), ["A1", "A2", "A5"]);
        assert_eq!(
            by(Selector { states: states(&["killed"]), ..base.clone() }),
            ["A4"],
            "asked for, ended apps match"
        );
        let older = Selector { running_longer_than: known("30m"), ..base.clone() };
        let selected = select(older, UnsetStates::NotEnded);
        assert_eq!(ids(&selected), ["A2", "A3"]);
        assert!(
            matches!(&selected.warnings[..], [ProviderWarning::UnreadableStart { count: 1, first, .. }] if first[0].starts_with("A5"))
        );
        let combined = Selector {
            name_regex: known("^env-42-"),
            queue_name: known("gpu"),
            states: states(&["RUNNING"]),
            running_longer_than: known("6h"),
            ..base
        };
        assert_eq!(by(combined), ["A2"]);
    }

    #[test]
    fn bad_arguments_fail_validation_with_their_attribute() {
        let selector = Selector {
            account_id: known(" "),
            name_regex: known("env-(42"),
            running_longer_than: known("soon"),
            ..Selector::default()
        };
        let errors = selector.validate();
        assert!(
            matches!(
                &errors[..],
                [
                    ProviderError::EmptyArgument { name: "account_id" },
                    ProviderError::InvalidRegex { attribute: "name_regex", .. },
                    ProviderError::InvalidDuration { .. },
                ]
            ),
            "{errors:?}"
        );
        let unknown =
            Selector { account_id: known("acc"), queue_name: Field::Unknown, ..Selector::default() };
        assert!(unknown.validate().is_empty());
        assert!(unknown.selection(UnsetStates::Any).is_err(), "a read or kill needs every argument known");
    }
}
