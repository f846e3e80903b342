//! The app selector every bulk entry point shares (the `ncloud_dataforest_aiapps` data source,
//! the `ncloud_dataforest_aiapps_kill` resource and action): which of an account's apps, by exact
//! name, name pattern, queue, workspace, state and age, less the apps excluded by id or by name
//! pattern, which are never selected. Its attributes are declared once, here, and written into
//! each of those objects.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::ncp::apps::{APP_STATES, Listing, TERMINAL_STATES, is_valid_app_id};
use crate::ncp::{AccountInfo, AppInfo};
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, Object, SetOf, ShapeError, optional, required, split};

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
        workspace_name: Field<String> => optional("Only the apps in this workspace."),
        states: Field<SetOf<String>> => optional(
            "Only the apps in one of these YARN states (any case): `NEW`, `NEW_SAVING`, `SUBMITTED`, `ACCEPTED`, \
             `RUNNING`, `FINISHED`, `FAILED`, `KILLED`. When not set, the data source lists apps in any state, \
             and the kill resource and action select every state but the ended ones (`KILLED`, `FINISHED`, \
             `FAILED`), so an ended app is never killed.",
        ),
        running_longer_than: Field<String> => optional(
            "Only the apps that started longer ago than this, as a duration such as `6h` or `90m`. An app whose \
             start time is missing or unreadable never matches, and a warning names it.",
        ),
        exclude_ids: Field<SetOf<String>> => optional(
            "Apps never selected, by id, whatever else matches: the apps to spare.",
        ),
        exclude_name_regex: Field<String> => optional(
            "Apps never selected, by name: those whose name matches this regular expression (the syntax of \
             `name_regex`), whatever else matches.",
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
    workspace_name: Option<String>,
    /// Upper-cased; `None` matches per [`UnsetStates`].
    states: Option<BTreeSet<String>>,
    unset_states: UnsetStates,
    running_longer_than: Option<Duration>,
    exclude_ids: BTreeSet<String>,
    exclude_name_regex: Option<Regex>,
}

/// The apps a selection matched, how many more matched but were excluded, how many listed apps
/// belonged to another account, how many each condition let through, and what is worth a
/// warning.
#[derive(Debug, Default)]
pub struct Selected {
    pub apps: Vec<AppInfo>,
    pub excluded: usize,
    pub foreign: usize,
    /// The account names of the apps that belonged to another.
    pub foreign_names: Names,
    pub funnel: Funnel,
    pub warnings: Vec<ProviderWarning>,
}

/// Distinct account names: the first five in sorted order, and whether there are others.
#[derive(Debug, Default)]
pub struct Names {
    pub first: BTreeSet<String>,
    pub others: bool,
}

impl Names {
    const KEPT: usize = 5;

    fn note(&mut self, name: &str) {
        if self.first.contains(name) {
            return;
        }
        if self.first.len() == Self::KEPT && self.first.last().is_some_and(|last| name > last.as_str()) {
            self.others = true;
            return;
        }
        self.first.insert(name.to_string());
        if self.first.len() > Self::KEPT {
            self.first.pop_last();
            self.others = true;
        }
    }
}

/// Apps worth a warning: how many, and the first ten, described.
#[derive(Default)]
struct Noted {
    count: usize,
    first: Vec<String>,
}

impl Noted {
    fn note(&mut self, app: &AppInfo) {
        self.count += 1;
        if self.first.len() < 10 {
            self.first.push(describe(app));
        }
    }
}

/// How many apps were listed, and how many were left after each condition, in order: what a
/// message says when fewer apps matched than expected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Funnel {
    pub listed: usize,
    pub steps: Vec<(String, usize)>,
}

impl std::fmt::Display for Funnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} listed", self.listed)?;
        for (condition, left) in &self.steps {
            write!(f, "; {left} {condition}")?;
        }
        Ok(())
    }
}

fn at(attribute: &'static str) -> Vec<PathStep> {
    vec![PathStep::Attribute(attribute.to_string())]
}

/// How far in the future a start time may be without a warning: clocks a few minutes apart.
const CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// Whether two `states` name the same states: as sets, in any case, once known.
fn same_states(now: &Field<SetOf<String>>, then: &Field<SetOf<String>>) -> bool {
    let upper = |states: &Field<SetOf<String>>| -> Option<BTreeSet<String>> {
        let Field::Known(SetOf(items)) = states else { return None };
        items.iter().map(|item| item.known().map(|state| state.to_ascii_uppercase())).collect()
    };
    match (upper(now), upper(then)) {
        (Some(now), Some(then)) => now == then,
        _ => now == then,
    }
}

impl Selector {
    /// Checks the arguments that are known: a blank account, a pattern that does not compile, a
    /// duration that cannot be read, a state YARN does not have (or no state at all), an id to
    /// exclude that no app can have.
    pub fn validate(&self) -> Vec<ProviderError> {
        let mut errors = Vec::new();
        if let Field::Known(account) = &self.account_id
            && account.trim().is_empty()
        {
            errors.push(ProviderError::EmptyArgument { name: Selector::account_id });
        }
        // A blank exclusion pattern matches every name, and would spare everything unnoticed.
        if let Field::Known(pattern) = &self.exclude_name_regex
            && pattern.is_empty()
        {
            errors.push(ProviderError::EmptyArgument { name: Selector::exclude_name_regex });
        }
        for (attribute, field) in [
            (Selector::name_regex, &self.name_regex),
            (Selector::exclude_name_regex, &self.exclude_name_regex),
        ] {
            if let Field::Known(pattern) = field
                && let Err(error) = Regex::new(pattern)
            {
                errors.push(ProviderError::InvalidRegex { attribute, reason: error.to_string() });
            }
        }
        if let Field::Known(SetOf(states)) = &self.states {
            if states.is_empty() {
                errors.push(ProviderError::EmptySet { attribute: Selector::states });
            }
            errors.extend(states.iter().filter_map(|state| match state {
                Field::Known(state) => check_state(state, Selector::states).err(),
                Field::Null => check_state("null", Selector::states).err(),
                Field::Unknown => None,
            }));
        }
        if let Field::Known(SetOf(ids)) = &self.exclude_ids {
            errors.extend(ids.iter().filter_map(|id| match id {
                Field::Known(id) if !is_valid_app_id(id) => {
                    Some(ProviderError::InvalidAppId { attribute: Selector::exclude_ids, value: id.clone() })
                }
                _ => None,
            }));
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

    /// The arguments that differ from `before`'s, by name, in the order they are declared.
    pub fn changed_from(&self, before: &Selector) -> Vec<&'static str> {
        let (now, then) = (self.to_value(), before.to_value());
        let (attributes, _) = split(Selector::members());
        attributes
            .into_iter()
            .map(|attribute| attribute.name)
            .filter(|name| match *name {
                // States are compared as YARN does, whatever their case.
                Selector::states => !same_states(&self.states, &before.states),
                name => now.get(name) != then.get(name),
            })
            .collect()
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
        let set = |field: &Field<SetOf<String>>,
                   attribute: &'static str|
         -> Result<Option<BTreeSet<String>>, ProviderError> {
            match field {
                Field::Unknown => Err(unknown(attribute)),
                Field::Null => Ok(None),
                Field::Known(SetOf(items)) => items
                    .iter()
                    .map(|item| item.known().cloned().ok_or_else(|| unknown(attribute)))
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map(Some),
            }
        };
        let regex =
            |field: &Field<String>, attribute: &'static str| -> Result<Option<Regex>, ProviderError> {
                // Checked by `validate` above.
                known(field, attribute)?
                    .map(|pattern| Regex::new(&pattern))
                    .transpose()
                    .map_err(|error| ProviderError::InvalidRegex { attribute, reason: error.to_string() })
            };
        let states = set(&self.states, Selector::states)?
            .map(|states| states.iter().map(|state| state.to_ascii_uppercase()).collect());
        let running_longer_than = known(&self.running_longer_than, Selector::running_longer_than)?;
        Ok(Selection {
            account_id,
            name: known(&self.name, Selector::name)?,
            name_regex: regex(&self.name_regex, Selector::name_regex)?,
            queue_name: known(&self.queue_name, Selector::queue_name)?,
            workspace_name: known(&self.workspace_name, Selector::workspace_name)?,
            states,
            unset_states,
            running_longer_than: running_longer_than.map(|text| parse_duration(&text)).transpose().map_err(
                |reason| ProviderError::InvalidDuration {
                    path: at(Selector::running_longer_than),
                    value: String::new(),
                    reason,
                },
            )?,
            exclude_ids: set(&self.exclude_ids, Selector::exclude_ids)?.unwrap_or_default(),
            exclude_name_regex: regex(&self.exclude_name_regex, Selector::exclude_name_regex)?,
        })
    }
}

/// Checks one state of `attribute` (`states`, or the data source's `state`): one of YARN's, in
/// any case.
pub fn check_state(state: &str, attribute: &'static str) -> Result<(), ProviderError> {
    if APP_STATES.iter().any(|known| known.eq_ignore_ascii_case(state)) {
        Ok(())
    } else {
        Err(ProviderError::InvalidState { attribute, value: state.to_string(), valid: &APP_STATES })
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

    /// The account selected, among the `accounts` the keys see; an unknown one is an error that
    /// names up to ten the keys do see.
    pub fn account_in<'a>(&self, accounts: &'a [AccountInfo]) -> Result<&'a AccountInfo, ProviderError> {
        accounts.iter().find(|account| account.id == self.account_id).ok_or_else(|| {
            ProviderError::UnknownAccount {
                attribute: Selector::account_id,
                account: self.account_id.clone(),
                count: accounts.len(),
                visible: accounts.iter().take(10).map(|account| account.id.clone()).collect(),
            }
        })
    }

    /// [`Selection::select`] over a listing, with a warning when it listed an app twice.
    pub fn select_listed(&self, listing: Listing, owner: &Owner, now: SystemTime) -> Selected {
        let mut selected = self.select(listing.apps, owner, now);
        if listing.duplicates > 0 {
            let account = self.account_id.clone();
            selected.warnings.push(ProviderWarning::DuplicateApps { account, count: listing.duplicates });
        }
        selected
    }

    /// The apps of the account that match, as of `now`. `owner` is the `accountName` that tells
    /// the account's apps from others' (see [`owner_name`]); `None` when none can. A listed app
    /// whose `accountName` is another is never selected, whatever else matches; one without an
    /// `accountName` is kept. Both are counted in warnings, and so are apps that match all but
    /// the age, whose start time cannot be read. The listing is taken, and the apps selected are
    /// moved out of it: a large listing is not held twice.
    pub fn select(&self, apps: Vec<AppInfo>, owner: &Owner, now: SystemTime) -> Selected {
        let Owner { name: owner, ref others, ref unverified } = *owner;
        let mut labels = self.conditions();
        let mut passed = vec![0; labels.len()];
        let mut selected = Selected::default();
        let mut unreadable = Noted::default();
        let mut future = Noted::default();
        let mut unnamed = 0;
        let listed = apps.len();
        let unused = self.unused_exclusions(&apps);
        for app in apps {
            let foreign = match owner {
                Some(owner) => !app.account_name().is_empty() && app.account_name() != owner,
                // Without a name of its own, an app that carries another account's is still not its.
                None => others.contains(&app.account_name()),
            };
            if foreign {
                selected.foreign += 1;
                selected.foreign_names.note(app.account_name());
                continue;
            }
            // Each condition set counts the apps it lets through, in the order of `conditions`.
            let mut stage = 0;
            let mut pass = |ok: bool| {
                if ok {
                    passed[stage] += 1;
                    stage += 1;
                }
                ok
            };
            let state = app.state().to_ascii_uppercase();
            let in_state = match (&self.states, self.unset_states) {
                (Some(states), _) => Some(states.contains(&state)),
                (None, UnsetStates::Any) => None,
                (None, UnsetStates::NotEnded) => Some(!TERMINAL_STATES.contains(&state.as_str())),
            };
            let matches = in_state.is_none_or(&mut pass)
                && self.name.as_ref().is_none_or(|name| pass(app.name() == name))
                && self.name_regex.as_ref().is_none_or(|pattern| pass(pattern.is_match(app.name())))
                && self.queue_name.as_ref().is_none_or(|queue| pass(app.queue_name() == queue))
                && self
                    .workspace_name
                    .as_ref()
                    .is_none_or(|workspace| pass(app.workspace_name() == workspace))
                && self.running_longer_than.is_none_or(|age| match app.started() {
                    Some(started) => {
                        // A start well after now: a clock off on one side, and no age to compare.
                        // Clocks a few minutes apart are common (signatures allow five).
                        if started > now + CLOCK_SKEW && !self.excludes(&app) {
                            future.note(&app);
                        }
                        pass(now.duration_since(started).is_ok_and(|running| running > age))
                    }
                    None => {
                        if !self.excludes(&app) {
                            unreadable.note(&app);
                        }
                        pass(false)
                    }
                });
            if !matches {
                continue;
            }
            if self.has_exclusions() && !pass(!self.excludes(&app)) {
                selected.excluded += 1;
            } else {
                if owner.is_some() && app.account_name().is_empty() {
                    unnamed += 1;
                }
                selected.apps.push(app);
            }
        }
        let mut steps: Vec<(String, usize)> = labels.drain(..).zip(passed).collect();
        if selected.foreign > 0 {
            steps.insert(0, (format!("of account {:?}", self.account_id), listed - selected.foreign));
            let count = selected.foreign;
            selected.warnings.push(ProviderWarning::ForeignApps { account: self.account_id.clone(), count });
        }
        if unnamed > 0 {
            selected
                .warnings
                .push(ProviderWarning::UnnamedApps { account: self.account_id.clone(), count: unnamed });
        }
        selected.funnel = Funnel { listed, steps };
        selected.warnings.extend(unused);
        selected.warnings.extend(unverified.clone());
        if unreadable.count > 0 {
            selected.warnings.push(ProviderWarning::UnreadableStart {
                attribute: Selector::running_longer_than,
                count: unreadable.count,
                first: unreadable.first,
            });
        }
        if future.count > 0 {
            selected.warnings.push(ProviderWarning::FutureStart {
                attribute: Selector::running_longer_than,
                count: future.count,
                first: future.first,
            });
        }
        selected
    }

    /// The conditions this selection sets, as a message names what each lets through, in the
    /// order `select` applies them; the exclusions, when there are any, come last.
    fn conditions(&self) -> Vec<String> {
        let mut conditions = Vec::new();
        match (&self.states, self.unset_states) {
            (Some(states), _) => {
                conditions.push(format!("in {}", states.iter().cloned().collect::<Vec<_>>().join(" or ")))
            }
            (None, UnsetStates::NotEnded) => conditions.push("not ended".to_string()),
            (None, UnsetStates::Any) => {}
        }
        if let Some(name) = &self.name {
            conditions.push(format!("named {name:?}"));
        }
        if self.name_regex.is_some() {
            conditions.push(format!("matching {}", Selector::name_regex));
        }
        if let Some(queue) = &self.queue_name {
            conditions.push(format!("in queue {queue:?}"));
        }
        if let Some(workspace) = &self.workspace_name {
            conditions.push(format!("in workspace {workspace:?}"));
        }
        if let Some(age) = self.running_longer_than {
            conditions.push(format!("running longer than {}", humantime::format_duration(age)));
        }
        if self.has_exclusions() {
            conditions.push("not excluded".to_string());
        }
        conditions
    }
}

impl Selection {
    /// A warning for exclusions that spare nothing `apps` holds, when there are any.
    fn unused_exclusions(&self, apps: &[AppInfo]) -> Option<ProviderWarning> {
        let ids: Vec<String> =
            self.exclude_ids.iter().filter(|id| !apps.iter().any(|app| app.id() == *id)).cloned().collect();
        let pattern = self
            .exclude_name_regex
            .as_ref()
            .filter(|pattern| !apps.iter().any(|app| pattern.is_match(app.name())))
            .map(|pattern| (Selector::exclude_name_regex, pattern.as_str().to_string()));
        (!ids.is_empty() || pattern.is_some()).then_some(ProviderWarning::UnusedExclusions {
            attribute: Selector::exclude_ids,
            ids,
            pattern,
        })
    }

    fn has_exclusions(&self) -> bool {
        !self.exclude_ids.is_empty() || self.exclude_name_regex.is_some()
    }

    /// Whether `app` is one never to select.
    fn excludes(&self, app: &AppInfo) -> bool {
        self.exclude_ids.contains(app.id())
            || self.exclude_name_regex.as_ref().is_some_and(|pattern| pattern.is_match(app.name()))
    }
}

/// The `accountName` that tells `account`'s apps from those of the other `accounts` the keys see,
/// or why none can: the account has no name, or shares it.
pub fn owner_name<'a>(account: &'a AccountInfo, accounts: &[AccountInfo]) -> Result<&'a str, String> {
    if account.name.is_empty() {
        return Err(format!("accounts/getList gives account {:?} no name to check apps against", account.id));
    }
    let sharing: Vec<&str> = accounts
        .iter()
        .filter(|other| other.name == account.name && other.id != account.id)
        .map(|other| other.id.as_str())
        .collect();
    if sharing.is_empty() {
        Ok(&account.name)
    } else {
        Err(format!(
            "account {:?} shares its name {:?} with {}",
            account.id,
            account.name,
            sharing.join(", ")
        ))
    }
}

/// How a listing's apps are told to be the account's: by its `name`, when that is its own;
/// else only apps that carry another account's name (`others`) are told not to be, and a
/// warning (`unverified`) says the rest could not be checked.
#[derive(Clone, Debug, Default)]
pub struct Owner<'a> {
    name: Option<&'a str>,
    others: Vec<&'a str>,
    unverified: Option<ProviderWarning>,
}

impl<'a> Owner<'a> {
    /// The account's own name, when it tells its apps apart.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }

    /// How `account`'s apps are told among the `accounts` the keys see; an error when the
    /// provider's account list (`setting`) asks that apps be checked and they cannot be.
    pub fn of(
        account: &'a AccountInfo,
        accounts: &'a [AccountInfo],
        setting: Option<&'static str>,
    ) -> Result<Owner<'a>, ProviderError> {
        let others = accounts
            .iter()
            .filter(|other| other.id != account.id && !other.name.is_empty() && other.name != account.name)
            .map(|other| other.name.as_str())
            .collect();
        match (owner_name(account, accounts), setting) {
            (Ok(name), _) => Ok(Owner { name: Some(name), others, unverified: None }),
            (Err(why), Some(setting)) => Err(ProviderError::AccountUnverifiable {
                setting,
                subject: format!("the apps of account {:?}", account.id),
                why,
            }),
            (Err(why), None) => Ok(Owner {
                name: None,
                others,
                unverified: Some(ProviderWarning::AccountUnverified { account: account.id.clone(), why }),
            }),
        }
    }
}

/// An app as messages name it: its id, and its name when it has one.
pub fn describe(app: &AppInfo) -> String {
    if app.name().is_empty() { app.id().to_string() } else { format!("{} ({})", app.id(), app.name()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::Text;

    fn app(id: &str, name: &str, queue: &str, state: &str, started_at: &str) -> AppInfo {
        AppInfo::default()
            .with(Text::Id, id)
            .with(Text::Name, name)
            .with(Text::QueueName, queue)
            .with(Text::State, state)
            .with(Text::StartedAt, started_at)
            .with(Text::WorkspaceName, "ws-a")
            .with(Text::AccountName, "Analytics")
    }

    fn account() -> AccountInfo {
        AccountInfo { id: "acc".into(), name: "Analytics".into() }
    }

    fn known(text: &str) -> Field<String> {
        Field::Known(text.to_string())
    }

    /// A selector of account `acc` and these `states`.
    fn with_states(names: &[&str]) -> Selector {
        Selector {
            account_id: known("acc"),
            states: Field::Known(SetOf(names.iter().map(|n| known(n)).collect())),
            ..Selector::default()
        }
    }

    fn ids(selected: &Selected) -> Vec<&str> {
        selected.apps.iter().map(|app| app.id()).collect()
    }

    /// 2025-02-25T06:49:07Z
    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_740_466_147)
    }

    fn apps() -> Vec<AppInfo> {
        vec![
            app("A1", "env-42-etl", "gpu", "RUNNING", "2025-02-25T15:42:00+09:00"), // 7 min
            app("A2", "env-42-train", "gpu", "running", "2025-02-24T06:49:07Z") // a day
                .with(Text::WorkspaceName, "ws-b"),
            app("A3", "env-7-etl", "default", "ACCEPTED", "2025-02-25T06:00:00Z"), // 49 min
            app("A4", "env-42-old", "gpu", "KILLED", "2025-02-20T00:00:00Z"),
            app("A5", "env-42-mystery", "gpu", "RUNNING", ""),
        ]
    }

    fn select(selector: Selector, unset: UnsetStates) -> Selected {
        selector.selection(unset).unwrap().select(
            apps(),
            &Owner { name: Some("Analytics"), ..Owner::default() },
            now(),
        )
    }

    #[test]
    fn an_app_started_after_now_has_no_age_and_is_warned_about() {
        let listed = vec![
            app("F1", "env-1", "gpu", "RUNNING", "2025-02-25T07:00:00Z"), // 11 min from now
            app("F3", "env-3", "gpu", "RUNNING", "2025-02-25T06:51:00Z"), // 2 min: clocks differ
            app("F2", "env-2", "gpu", "RUNNING", "2025-02-24T06:49:07Z"), // a day ago
        ];
        let selector =
            Selector { account_id: known("acc"), running_longer_than: known("30m"), ..Selector::default() };
        let selected =
            selector.selection(UnsetStates::NotEnded).unwrap().select(listed, &Owner::default(), now());
        assert_eq!(ids(&selected), ["F2"]);
        let [ProviderWarning::FutureStart { count: 1, first, .. }] = &selected.warnings[..] else {
            panic!("{:?}", selected.warnings)
        };
        assert!(first[0].starts_with("F1"), "{first:?}");
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
    fn excluded_apps_are_never_selected_and_are_counted() {
        let base =
            Selector { account_id: known("acc"), name_regex: known("^env-42-"), ..Selector::default() };
        let set = |names: &[&str]| Field::Known(SetOf(names.iter().map(|n| known(n)).collect()));
        let by_id =
            select(Selector { exclude_ids: set(&["A2", "Z9"]), ..base.clone() }, UnsetStates::NotEnded);
        assert_eq!((ids(&by_id), by_id.excluded), (vec!["A1", "A5"], 1));
        let by_name = select(
            Selector { exclude_name_regex: known("-(etl|train)$"), ..base.clone() },
            UnsetStates::NotEnded,
        );
        assert_eq!((ids(&by_name), by_name.excluded), (vec!["A5"], 2));
        // Only apps that would have been selected count as excluded; an excluded app whose start
        // time is unreadable is not warned about.
        let aged =
            Selector { running_longer_than: known("30m"), exclude_ids: set(&["A1", "A5"]), ..base.clone() };
        let aged = select(aged, UnsetStates::NotEnded);
        assert_eq!((ids(&aged), aged.excluded), (vec!["A2"], 0));
        assert!(aged.warnings.is_empty(), "{:?}", aged.warnings);
        let workspace = |name: &str| {
            select(Selector { workspace_name: known(name), ..base.clone() }, UnsetStates::NotEnded)
        };
        assert_eq!(ids(&workspace("ws-b")), ["A2"]);
        assert!(ids(&workspace("none")).is_empty());
    }

    #[test]
    fn a_listing_that_named_an_app_twice_is_warned_about() {
        let selection = with_states(&["RUNNING"]).selection(UnsetStates::Any).unwrap();
        let owner = Owner { name: Some("Analytics"), ..Owner::default() };
        let twice = Listing { apps: apps(), duplicates: 2 };
        let selected = selection.select_listed(twice, &owner, now());
        assert!(
            selected.warnings.contains(&ProviderWarning::DuplicateApps { account: "acc".into(), count: 2 })
        );
        let once = selection.select_listed(Listing { apps: apps(), duplicates: 0 }, &owner, now());
        assert!(!once.warnings.iter().any(|w| matches!(w, ProviderWarning::DuplicateApps { .. })));
        assert_eq!(ids(&once), ids(&selected));
    }

    #[test]
    fn states_that_differ_only_in_case_or_order_are_no_change() {
        let before = with_states(&["RUNNING", "ACCEPTED"]);
        assert!(with_states(&["accepted", "Running"]).changed_from(&before).is_empty());
        assert_eq!(with_states(&["RUNNING"]).changed_from(&before), ["states"]);
        let unset = Selector { states: Field::Null, ..before.clone() };
        assert_eq!(unset.changed_from(&before), ["states"]);
        let unknown = Selector { states: Field::Unknown, ..before.clone() };
        assert_eq!(unknown.changed_from(&before), ["states"]);
    }

    #[test]
    fn states_must_be_yarn_states_and_name_at_least_one() {
        assert!(with_states(&["running", "NEW_SAVING", "Killed"]).validate().is_empty());
        let typo = with_states(&["RUNING"]).validate();
        assert!(
            matches!(&typo[..], [ProviderError::InvalidState { attribute: "states", value, .. }] if value == "RUNING"),
            "{typo:?}"
        );
        assert!(typo[0].to_diagnostic().detail.contains("NEW, NEW_SAVING, SUBMITTED, ACCEPTED, RUNNING"));
        assert!(matches!(
            &with_states(&[]).validate()[..],
            [ProviderError::EmptySet { attribute: "states" }]
        ));
        let unknown_state =
            Selector { states: Field::Known(SetOf(vec![Field::Unknown])), ..with_states(&[]) };
        assert!(unknown_state.validate().is_empty(), "an unknown state is checked once known");
        let bad_id =
            Selector { exclude_ids: Field::Known(SetOf(vec![known("app-1")])), ..with_states(&["RUNNING"]) };
        assert!(matches!(
            &bad_id.validate()[..],
            [ProviderError::InvalidAppId { attribute: "exclude_ids", .. }]
        ));
        let with_null =
            Selector { states: Field::Known(SetOf(vec![known("RUNNING"), Field::Null])), ..with_states(&[]) };
        assert!(
            matches!(&with_null.validate()[..], [ProviderError::InvalidState { .. }]),
            "a null is no state"
        );
        let blank = Selector { exclude_name_regex: known(""), ..with_states(&["RUNNING"]) };
        assert!(
            matches!(&blank.validate()[..], [ProviderError::EmptyArgument { name: "exclude_name_regex" }]),
            "a blank exclusion pattern would spare every app"
        );
        let bad_pattern = Selector { exclude_name_regex: known("(prod"), ..with_states(&["RUNNING"]) };
        assert!(matches!(
            &bad_pattern.validate()[..],
            [ProviderError::InvalidRegex { attribute: "exclude_name_regex", .. }]
        ));
    }

    #[test]
    fn the_funnel_counts_what_each_condition_lets_through() {
        let selector = Selector {
            account_id: known("acc"),
            name_regex: known("^env-42-"),
            queue_name: known("gpu"),
            running_longer_than: known("30m"),
            exclude_ids: Field::Known(SetOf(vec![known("A2")])),
            ..Selector::default()
        };
        let selected = select(selector, UnsetStates::NotEnded);
        assert_eq!(
            selected.funnel.to_string(),
            "5 listed; 4 not ended; 3 matching name_regex; 3 in queue \"gpu\"; 1 running longer than 30m; \
             0 not excluded"
        );
        assert!(ids(&selected).is_empty());
        let listed_only =
            select(Selector { account_id: known("acc"), ..Selector::default() }, UnsetStates::Any);
        assert_eq!(listed_only.funnel.to_string(), "5 listed");
        let states = Selector {
            account_id: known("acc"),
            states: Field::Known(SetOf(vec![known("killed"), known("Running")])),
            ..Selector::default()
        };
        assert_eq!(
            select(states, UnsetStates::NotEnded).funnel.to_string(),
            "5 listed; 4 in KILLED or RUNNING"
        );
    }

    #[test]
    fn only_the_apps_of_the_account_are_selected_and_an_unknown_account_is_refused() {
        let selection =
            Selector { account_id: known("acc"), ..Selector::default() }.selection(UnsetStates::Any).unwrap();
        let mut listed = apps();
        listed[0] = listed[0].with(Text::AccountName, "Other");
        listed[1] = listed[1].with(Text::AccountName, "");
        let selected =
            selection.select(listed.clone(), &Owner { name: Some("Analytics"), ..Owner::default() }, now());
        assert_eq!(ids(&selected), ["A2", "A3", "A4", "A5"]);
        assert_eq!(selected.foreign, 1);
        assert!(
            selected.warnings.contains(&ProviderWarning::ForeignApps { account: "acc".into(), count: 1 })
        );
        assert!(
            selected.warnings.contains(&ProviderWarning::UnnamedApps { account: "acc".into(), count: 1 })
        );
        // An app without an account name that is not selected is not worth the warning.
        let named = Selector { account_id: known("acc"), name: known("nothing-here"), ..Selector::default() };
        let none = named.selection(UnsetStates::Any).unwrap().select(
            listed.clone(),
            &Owner { name: Some("Analytics"), ..Owner::default() },
            now(),
        );
        assert!(none.apps.is_empty());
        assert!(
            !none.warnings.iter().any(|w| matches!(w, ProviderWarning::UnnamedApps { .. })),
            "{:?}",
            none.warnings
        );
        assert_eq!(selected.funnel.to_string(), "5 listed; 4 of account \"acc\"");
        assert_eq!(selected.foreign_names.first, BTreeSet::from(["Other".to_string()]));
        assert!(!selected.foreign_names.others);
        // Of many other accounts, the first five names in order are kept, each once, and whether
        // there are others.
        let foreign = |names: &[&str]| {
            let many: Vec<AppInfo> =
                names.iter().map(|name| apps()[0].with(Text::AccountName, name)).collect();
            let owner = Owner { name: Some("Analytics"), ..Owner::default() };
            let all_foreign = selection.select(many, &owner, now());
            assert_eq!((all_foreign.foreign, all_foreign.apps.len()), (names.len(), 0));
            let Names { first, others } = all_foreign.foreign_names;
            (first.into_iter().collect::<Vec<_>>(), others)
        };
        let five = ["A", "B", "C", "D", "E"].map(String::from).to_vec();
        assert_eq!(foreign(&["F", "E", "D", "C", "B", "A", "A"]), (five.clone(), true));
        assert_eq!(foreign(&["A", "B", "C", "D", "E", "Z"]), (five.clone(), true));
        assert_eq!(foreign(&["E", "D", "C", "B", "A", "E", "A"]), (five, false));
        // With no name to tell the account's apps by, they are all kept.
        assert_eq!(ids(&selection.select(listed.clone(), &Owner::default(), now())).len(), 5);
        // Still, an app carrying another account's name is not the account's.
        let others = Owner { others: vec!["Other"], ..Owner::default() };
        assert_eq!(ids(&selection.select(listed.clone(), &others, now())), ["A2", "A3", "A4", "A5"]);

        // The name tells the account's apps apart only if it is the account's alone.
        let twin = AccountInfo { id: "acc2".into(), name: "Analytics".into() };
        let nameless = AccountInfo { name: String::new(), ..account() };
        assert_eq!(owner_name(&account(), &[account()]), Ok("Analytics"));
        assert!(owner_name(&account(), &[account(), twin.clone()]).unwrap_err().contains("shares its name"));
        assert!(owner_name(&nameless, std::slice::from_ref(&nameless)).unwrap_err().contains("no name"));
        let (ours, with_twin) = (account(), [account(), twin]);
        let owner = Owner::of(&ours, &with_twin, None).unwrap();
        assert!(
            owner.name.is_none()
                && matches!(owner.unverified, Some(ProviderWarning::AccountUnverified { .. }))
        );
        let kept = selection.select(listed, &owner, now());
        assert!(kept.warnings.iter().any(|w| matches!(w, ProviderWarning::AccountUnverified { .. })));
        let refused = Owner::of(&ours, &with_twin, Some("allowed_account_ids"));
        assert!(matches!(refused, Err(ProviderError::AccountUnverifiable { .. })), "{refused:?}");

        let seen: Vec<AccountInfo> =
            (1..=12).map(|n| AccountInfo { id: format!("other{n}"), name: String::new() }).collect();
        let refused = selection.account_in(&seen);
        let Err(error @ ProviderError::UnknownAccount { count: 12, .. }) = refused else {
            panic!("{refused:?}")
        };
        let detail = error.to_diagnostic().detail;
        assert!(
            detail.contains("no DataForest account \"acc\"") && detail.contains("other10, ..."),
            "{detail}"
        );
        assert!(!detail.contains("other11"), "{detail}");
        let mut with_it = seen.clone();
        with_it.push(account());
        assert_eq!(selection.account_in(&with_it).unwrap().name, "Analytics");
    }

    #[test]
    fn exclusions_that_spare_nothing_are_said() {
        let selector = |ids: &[&str], pattern: &str| Selector {
            account_id: known("acc"),
            exclude_ids: Field::Known(SetOf(ids.iter().map(|id| known(id)).collect())),
            exclude_name_regex: known(pattern),
            ..Selector::default()
        };
        let typos = select(selector(&["A1", "A7"], "-Pinned$"), UnsetStates::Any);
        let unused = typos.warnings.iter().find_map(|warning| match warning {
            ProviderWarning::UnusedExclusions { ids, pattern, .. } => Some((ids.clone(), pattern.clone())),
            _ => None,
        });
        assert_eq!(
            unused,
            Some((vec!["A7".to_string()], Some(("exclude_name_regex", "-Pinned$".to_string()))))
        );
        let used = select(selector(&["A1"], "-mystery$"), UnsetStates::Any);
        assert!(
            !used.warnings.iter().any(|w| matches!(w, ProviderWarning::UnusedExclusions { .. })),
            "{:?}",
            used.warnings
        );
    }

    #[test]
    fn every_argument_that_changed_is_named() {
        let before = Selector { account_id: known("acc"), ..Selector::default() };
        let now = Selector {
            workspace_name: known("ws"),
            exclude_ids: Field::Known(SetOf(vec![known("A1")])),
            exclude_name_regex: known("^prod-"),
            ..before.clone()
        };
        assert_eq!(now.changed_from(&before), ["workspace_name", "exclude_ids", "exclude_name_regex"]);
        assert!(before.changed_from(&before).is_empty());
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
