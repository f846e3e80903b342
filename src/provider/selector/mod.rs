//! The app selector every bulk entry point shares (the `ncloud_dataforest_aiapps` data source,
//! the `ncloud_dataforest_aiapps_kill` resource and action): which of an account's apps, by exact
//! name, name pattern, queue, workspace, state and age, less the apps excluded by id or by name
//! pattern, which are never selected, and less the apps that are not the account's ([`account`]
//! tells them). Its attributes are declared once, here, and written into each of those objects.

mod account;

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime};

use regex::Regex;

use crate::ncp::apps::{APP_STATES, Listing, TERMINAL_STATES, is_valid_app_id};
use crate::ncp::{AccountInfo, Accounts, AppInfo};
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, Object, SetOf, ShapeError, optional, required, split};

pub use account::{Belongs, Owner};

use super::duration::parse_duration;
use super::error::{ProviderError, ProviderWarning, Refusal};

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
    /// Ids an earlier listing of the same kill gave as another account's, or in an entry that
    /// gave a field twice: never selected, whatever a later entry says.
    distrusted: BTreeSet<String>,
    /// How many apps of other accounts earlier listings of the same kill held.
    foreign_before: usize,
    /// Ids an exclusion spared in an earlier listing of the same kill: spared still, whatever a
    /// later entry says of their name.
    spared: BTreeSet<String>,
}

/// The apps a selection matched, how many more matched but were excluded, how many listed apps
/// belonged to another account, how many each condition let through, and what is worth a
/// warning.
#[derive(Debug, Default)]
pub struct Selected {
    pub apps: Vec<AppInfo>,
    pub excluded: usize,
    pub foreign: usize,
    /// Listed apps whose entry gives a field twice, differently: never selected.
    pub conflicting: usize,
    /// The ids of the apps another account's, or conflicting (see [`Selection::remember`]).
    pub distrusted: Vec<String>,
    /// The ids of the apps an exclusion spared.
    pub spared: Vec<String>,
    pub funnel: Funnel,
    pub warnings: Vec<ProviderWarning>,
}

/// Distinct account names: the first five in sorted order, and whether there are others.
#[derive(Debug, Default)]
struct Names {
    first: BTreeSet<String>,
    others: bool,
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
    /// How many of the apps a message names.
    const NAMED: usize = 10;

    fn note(&mut self, app: &AppInfo) {
        self.count += 1;
        if self.first.len() < Noted::NAMED {
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
    /// Checks the arguments that are known: a blank account, name, pattern, queue or workspace, a
    /// pattern that does not compile, a duration that cannot be read, a state YARN does not have
    /// (or no state at all), an id to exclude that no app can have.
    pub fn validate(&self) -> Vec<ProviderError> {
        let mut errors = Vec::new();
        if let Field::Known(account) = &self.account_id
            && account.trim().is_empty()
        {
            errors.push(ProviderError::EmptyArgument { name: Selector::account_id });
        }
        // Set but blank: a blank pattern matches every name (taking, or sparing, everything
        // unnoticed), and a blank name, queue or workspace is a variable left at its default.
        for (name, field) in [
            (Selector::name, &self.name),
            (Selector::name_regex, &self.name_regex),
            (Selector::queue_name, &self.queue_name),
            (Selector::workspace_name, &self.workspace_name),
            (Selector::exclude_name_regex, &self.exclude_name_regex),
        ] {
            if let Field::Known(text) = field
                && text.trim().is_empty()
            {
                errors.push(ProviderError::EmptyArgument { name });
            }
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
            distrusted: BTreeSet::new(),
            foreign_before: 0,
            spared: BTreeSet::new(),
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
    /// Keeps what `selected`, a listing of this selection, said against its apps for the later
    /// listings of the same kill: an app once listed as another account's, or in an entry that
    /// gave a field twice, is never selected after, nor is an app an exclusion spared; and once a
    /// listing held apps of other accounts, later listings are held to have ignored their filter
    /// too.
    pub fn remember(&mut self, selected: &Selected) {
        self.distrusted.extend(selected.distrusted.iter().cloned());
        self.spared.extend(selected.spared.iter().cloned());
        self.foreign_before = self.foreign_before.max(selected.foreign);
    }

    /// Selects only the apps in `state` (the data source's `state`, which cannot be set
    /// together with `states`).
    pub fn only_state(mut self, state: &str) -> Selection {
        self.states = Some(BTreeSet::from([state.to_ascii_uppercase()]));
        self
    }

    /// The account selected, among the `accounts` the keys see; an unknown one is an error that
    /// names up to ten the keys do see.
    pub fn account_in<'a>(&self, accounts: &'a Accounts) -> Result<&'a AccountInfo, ProviderError> {
        let seen = &accounts.seen;
        seen.iter().find(|account| account.id == self.account_id).ok_or_else(|| {
            ProviderError::UnknownAccount {
                attribute: Selector::account_id,
                account: self.account_id.clone(),
                count: seen.len(),
                visible: seen.iter().take(10).map(|account| account.id.clone()).collect(),
            }
        })
    }

    /// [`Selection::select`] over a whole `getList` answer: one that names fewer apps than it
    /// says there are (its `totalCount`, `total` or `totalRows`) is refused, since a selection
    /// from part of an account is a teardown that leaves the rest running; entries without a
    /// usable id are left out, and counted in a warning.
    pub fn select_listed(
        &self,
        listing: Listing,
        owner: &Owner,
        now: SystemTime,
    ) -> Result<Selected, ProviderError> {
        let Listing { apps, without_id, invalid_ids, entries: _, claimed } = listing;
        let mut selected = self.select(apps, owner, now)?;
        // Against the apps it names: an entry repeated, or without an id, names none.
        if let Some(claimed) = claimed
            && claimed > selected.funnel.listed as u64
        {
            return Err(ProviderError::PartialListing {
                attribute: Selector::account_id,
                account: self.account_id.clone(),
                entries: selected.funnel.listed,
                claimed,
            });
        }
        let conflicting = selected.conflicting;
        if without_id + invalid_ids + conflicting > 0 {
            let account = self.account_id.clone();
            selected.warnings.push(ProviderWarning::UnusableEntries {
                account,
                without_id,
                invalid_ids,
                conflicting,
            });
        }
        Ok(selected)
    }

    /// The apps of the account that match, as of `now`; `owner` tells the account's apps from
    /// others' (see [`Owner::belongs`]). A listed app of another account is never selected,
    /// whatever else matches, and a warning counts such apps; if every listed app is another
    /// account's, nothing can be told apart and the selection fails. An app whose account cannot
    /// be told that would be selected fails the selection under the provider's account lists, or
    /// when the listing (or an earlier one of the same kill) holds apps of other accounts (then
    /// the listing ignored its filter, and its other apps may be anyone's); else it is selected,
    /// with a warning. An app listed more than once is selected only if each of its entries would
    /// be, once, as its most sparing entry says (see [`merge_repeated`]). Apps
    /// that match all but the age, whose start time cannot be read, are counted in a warning.
    /// The listing is taken, and the apps selected are moved out of it: a large listing is not
    /// held twice.
    pub fn select(
        &self,
        apps: Vec<AppInfo>,
        owner: &Owner,
        now: SystemTime,
    ) -> Result<Selected, ProviderError> {
        let labels = self.conditions();
        let age_stage = self.age_stage();
        let mut fates: Vec<Option<Fate>> = apps.iter().map(|app| Some(self.fate(app, owner, now))).collect();
        let mut apps = apps;
        let repeated = merge_repeated(&mut apps, &mut fates);
        let mut passed = vec![0; labels.len()];
        let mut selected = Selected::default();
        let mut foreign_claims = Names::default();
        let (mut unreadable, mut future, mut unverifiable) =
            (Noted::default(), Noted::default(), Noted::default());
        let mut listed = 0;
        let unused = self.unused_exclusions(&apps, &fates);
        for (app, fate) in apps.into_iter().zip(fates) {
            // A later entry of an app listed before: the most sparing entry stands for it.
            let Some(fate) = fate else { continue };
            listed += 1;
            let stages = match fate {
                Fate::Distrusted => continue,
                Fate::Conflicting => {
                    selected.conflicting += 1;
                    selected.distrusted.push(app.id().to_string());
                    continue;
                }
                Fate::Foreign => {
                    selected.foreign += 1;
                    selected.distrusted.push(app.id().to_string());
                    foreign_claims.note(owner.claim_of(&app));
                    continue;
                }
                Fate::Unmatched(stages) => stages,
                Fate::Excluded => labels.len() - 1,
                Fate::Unverifiable | Fate::Selected => labels.len(),
            };
            passed.iter_mut().take(stages).for_each(|count| *count += 1);
            match fate {
                Fate::Unmatched(stage) if Some(stage) == age_stage && !self.excludes(&app) => {
                    match app.started() {
                        None => unreadable.note(&app),
                        // A start well after now: a clock off on one side, and no age to compare.
                        // Clocks a few minutes apart are common (signatures allow five).
                        Some(started) if started > now + CLOCK_SKEW => future.note(&app),
                        Some(_) => {}
                    }
                }
                Fate::Excluded => {
                    selected.excluded += 1;
                    selected.spared.push(app.id().to_string());
                }
                Fate::Unverifiable => {
                    unverifiable.note(&app);
                    selected.apps.push(app);
                }
                Fate::Selected => selected.apps.push(app),
                Fate::Distrusted | Fate::Conflicting | Fate::Foreign | Fate::Unmatched(_) => {}
            }
        }
        let account = &self.account_id;
        if listed > 0 && selected.foreign == listed {
            return Err(ProviderError::AllForeign {
                attribute: Selector::account_id,
                account: account.clone(),
                listed,
                claims: foreign_claims.first.into_iter().collect(),
                others: foreign_claims.others,
            });
        }
        if unverifiable.count > 0
            && (owner.checked_by().is_some() || selected.foreign > 0 || self.foreign_before > 0)
        {
            return Err(ProviderError::UnverifiableApps {
                attribute: Selector::account_id,
                account: account.clone(),
                count: unverifiable.count,
                first: unverifiable.first,
                why: owner.why_unverifiable(),
                refused_by: match owner.checked_by() {
                    Some(setting) => Refusal::Setting(setting),
                    None if selected.foreign > 0 => Refusal::OtherAccountsListed(selected.foreign),
                    None => Refusal::OtherAccountsListedBefore(self.foreign_before),
                },
            });
        }
        let mut steps: Vec<(String, usize)> = labels.into_iter().zip(passed).collect();
        if selected.foreign > 0 {
            steps.insert(0, (format!("of account {account:?}"), listed - selected.foreign));
            let count = selected.foreign;
            selected.warnings.push(ProviderWarning::ForeignApps { account: account.clone(), count });
        }
        if repeated.ids.count > 0 {
            selected.warnings.push(ProviderWarning::DuplicateApps {
                account: account.clone(),
                count: repeated.ids.count,
                first: repeated.ids.first,
                disagreeing: repeated.disagreeing,
            });
        }
        if unverifiable.count > 0 {
            selected.warnings.push(ProviderWarning::UnverifiableApps {
                account: account.clone(),
                count: unverifiable.count,
                first: unverifiable.first,
                why: owner.why_unverifiable(),
            });
        }
        selected.funnel = Funnel { listed, steps };
        selected.warnings.extend(unused);
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
        Ok(selected)
    }

    /// What the selection makes of one listed entry: whose it is, then how far it gets through
    /// the conditions, in the order of [`Selection::conditions`].
    fn fate(&self, app: &AppInfo, owner: &Owner, now: SystemTime) -> Fate {
        if app.conflicting {
            return Fate::Conflicting;
        }
        if self.distrusted.contains(app.id()) {
            return Fate::Distrusted;
        }
        let verified = match owner.belongs(app) {
            Belongs::Foreign => return Fate::Foreign,
            Belongs::Verified => true,
            Belongs::Unverifiable => false,
        };
        let mut stages = 0;
        let mut pass = |ok: bool| {
            stages += usize::from(ok);
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
            && self.workspace_name.as_ref().is_none_or(|workspace| pass(app.workspace_name() == workspace))
            && self.running_longer_than.is_none_or(|age| {
                pass(
                    app.started().is_some_and(|started| {
                        now.duration_since(started).is_ok_and(|running| running > age)
                    }),
                )
            });
        if !matches {
            Fate::Unmatched(stages)
        } else if self.excludes(app) || self.spared.contains(app.id()) {
            Fate::Excluded
        } else if verified {
            Fate::Selected
        } else {
            Fate::Unverifiable
        }
    }

    /// Where the age condition stands among [`Selection::conditions`], when it is set.
    fn age_stage(&self) -> Option<usize> {
        self.running_longer_than?;
        let before = [
            self.states.is_some() || self.unset_states == UnsetStates::NotEnded,
            self.name.is_some(),
            self.name_regex.is_some(),
            self.queue_name.is_some(),
            self.workspace_name.is_some(),
        ];
        Some(before.into_iter().filter(|set| *set).count())
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
    /// A warning for exclusions that spare nothing of the account's that `apps` holds (those
    /// with a fate, not another account's), when there are any.
    fn unused_exclusions(&self, apps: &[AppInfo], fates: &[Option<Fate>]) -> Option<ProviderWarning> {
        let mut considered =
            apps.iter().zip(fates).filter(|(_, fate)| fate.is_some_and(|fate| fate > Fate::Foreign));
        let ids: Vec<String> = self
            .exclude_ids
            .iter()
            .filter(|id| !considered.clone().any(|(app, _)| app.id() == *id))
            .cloned()
            .collect();
        let pattern = self
            .exclude_name_regex
            .as_ref()
            .filter(|pattern| !considered.any(|(app, _)| pattern.is_match(app.name())))
            .map(|pattern| (Selector::exclude_name_regex, pattern.as_str().to_string()));
        // The attribute that spares nothing, or the first of the two.
        let attribute = if ids.is_empty() { Selector::exclude_name_regex } else { Selector::exclude_ids };
        (!ids.is_empty() || pattern.is_some()).then_some(ProviderWarning::UnusedExclusions {
            attribute,
            ids,
            pattern,
        })
    }

    /// The exclusions, as messages name them: those set, or that there are none.
    pub fn exclusions(&self) -> String {
        let mut set = Vec::new();
        if !self.exclude_ids.is_empty() {
            let ids: Vec<String> = self.exclude_ids.iter().map(|id| format!("{id:?}")).collect();
            set.push(format!("{} = [{}]", Selector::exclude_ids, ids.join(", ")));
        }
        if let Some(pattern) = &self.exclude_name_regex {
            set.push(format!("{} = {:?}", Selector::exclude_name_regex, pattern.as_str()));
        }
        if set.is_empty() { "no exclusions".to_string() } else { format!("exclusions {}", set.join(", ")) }
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

/// What a selection makes of one listed entry, from the most sparing to the least: the entries
/// of an app listed more than once take the most sparing of their fates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fate {
    /// An earlier listing of the same kill said it is another account's, or gave a field of it
    /// twice (see [`Selection::remember`]): that listing said so.
    Distrusted,
    /// It gives a field twice, differently (see [`AppInfo::conflicting`]): nothing it says can
    /// be believed.
    Conflicting,
    /// It says it is another account's.
    Foreign,
    /// It failed a condition, after passing this many.
    Unmatched(usize),
    /// It matched, and an exclusion spares it.
    Excluded,
    /// It matched, but whose it is cannot be told.
    Unverifiable,
    Selected,
}

/// The apps listed more than once: how many, the first ids, and how many of them an entry spared
/// that another entry would have had selected.
#[derive(Default)]
struct Repeated {
    ids: Noted,
    disagreeing: usize,
}

/// Gives each app listed more than once the most sparing fate of its entries, and puts the entry
/// that has it in the first entry's place, so that what is said of the app is what that entry
/// says; the later entries' fates become `None`.
fn merge_repeated(apps: &mut [AppInfo], fates: &mut [Option<Fate>]) -> Repeated {
    // Each later entry of an id, with the index of its first entry.
    let later: Vec<(usize, usize)> = {
        let mut first: HashMap<&str, usize> = HashMap::with_capacity(apps.len());
        apps.iter()
            .enumerate()
            .filter_map(|(index, app)| match first.entry(app.id()) {
                Entry::Vacant(vacant) => {
                    vacant.insert(index);
                    None
                }
                Entry::Occupied(occupied) => Some((*occupied.get(), index)),
            })
            .collect()
    };
    let would_take = |fate: Option<Fate>| fate >= Some(Fate::Unverifiable);
    let mut repeated = Repeated::default();
    // Whether an entry of each app listed more than once would have had it selected.
    let mut taken_by_one: HashMap<usize, bool> = HashMap::new();
    for (first, index) in later {
        let taking = would_take(fates[first]) || would_take(fates[index]);
        if fates[index] < fates[first] {
            apps.swap(first, index);
            fates[first] = fates[index];
        }
        fates[index] = None;
        match taken_by_one.entry(first) {
            Entry::Vacant(vacant) => {
                vacant.insert(taking);
                repeated.ids.count += 1;
                if repeated.ids.first.len() < Noted::NAMED {
                    repeated.ids.first.push(apps[first].id().to_string());
                }
            }
            Entry::Occupied(mut occupied) => *occupied.get_mut() |= taking,
        }
    }
    repeated.disagreeing =
        taken_by_one.iter().filter(|(first, taking)| **taking && !would_take(fates[**first])).count();
    repeated
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

    /// How account `acc`, named "Analytics", tells its apps, among the `others` the keys see
    /// (named, each, as its id).
    fn analytics(others: &[&'static str]) -> Owner<'static> {
        owner(account(), others, None)
    }

    /// How `ours` tells its apps among the `others` (named as their ids), checked by `setting`.
    fn owner(ours: AccountInfo, others: &[&'static str], setting: Option<&'static str>) -> Owner<'static> {
        let mut accounts = vec![ours];
        accounts
            .extend(others.iter().map(|name| AccountInfo { id: name.to_string(), name: name.to_string() }));
        // The accounts live as long as the test process: it is short.
        let accounts: &'static Accounts = Box::leak(Box::new(Accounts::whole(accounts)));
        Owner::of(&accounts.seen[0], accounts, setting)
    }

    fn select(selector: Selector, unset: UnsetStates) -> Selected {
        selector.selection(unset).unwrap().select(apps(), &analytics(&[]), now()).unwrap()
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
            selector.selection(UnsetStates::NotEnded).unwrap().select(listed, &analytics(&[]), now());
        let selected = selected.unwrap();
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
    fn an_app_listed_twice_is_selected_only_if_every_entry_would_be() {
        let selection = with_states(&["RUNNING"]).selection(UnsetStates::Any).unwrap();
        let owner = analytics(&["Other"]);
        let listing = |apps| Listing { apps, ..Listing::default() };
        let mut twice = apps();
        // A1 again, the same: selected once. A2 again under another account's name, and A5 again
        // with a name an exclusion matches: both spared, as their second entries would be.
        twice.push(apps()[0].clone());
        twice.push(apps()[1].with(Text::AccountName, "Other"));
        let selected = selection.select_listed(listing(twice.clone()), &owner, now()).unwrap();
        assert_eq!(ids(&selected), ["A1", "A5"]);
        let excluding = Selector { exclude_name_regex: known("-spare$"), ..with_states(&["RUNNING"]) };
        twice.push(apps()[4].with(Text::Name, "env-42-spare"));
        let spared =
            excluding.selection(UnsetStates::Any).unwrap().select_listed(listing(twice), &owner, now());
        let spared = spared.unwrap();
        assert_eq!(ids(&spared), ["A1"]);
        assert_eq!((spared.excluded, spared.foreign), (1, 1));
        assert!(
            spared.warnings.contains(&ProviderWarning::DuplicateApps {
                account: "acc".into(),
                count: 3,
                first: vec!["A1".into(), "A2".into(), "A5".into()],
                disagreeing: 2,
            }),
            "{:?}",
            spared.warnings
        );
        // Each app counts once in the funnel, and what is said of it is what spared it: the
        // pattern spared A5 through its second entry, so it spared something.
        assert_eq!(spared.funnel.listed, 5);
        assert!(
            !spared.warnings.iter().any(|w| matches!(w, ProviderWarning::UnusedExclusions { .. })),
            "{:?}",
            spared.warnings
        );
        // The entry that spares may come first: a later one does not undo it.
        let first_spares = vec![apps()[0].with(Text::AccountName, "Other"), apps()[0].clone()];
        let kept = selection.select_listed(listing(first_spares), &owner, now());
        assert!(
            matches!(kept, Err(ProviderError::AllForeign { ref claims, .. }) if claims == &["Other"]),
            "{kept:?}"
        );
        let once = selection.select_listed(listing(apps()), &owner, now()).unwrap();
        assert!(!once.warnings.iter().any(|w| matches!(w, ProviderWarning::DuplicateApps { .. })));
        // Entries that fare differently, neither selecting the app: no app was spared by them.
        let neither = vec![apps()[2].clone(), apps()[2].with(Text::AccountName, "Other"), apps()[0].clone()];
        let unselected = selection.select_listed(listing(neither), &owner, now()).unwrap();
        assert!(
            unselected
                .warnings
                .iter()
                .any(|w| matches!(w, ProviderWarning::DuplicateApps { disagreeing: 0, .. })),
            "{:?}",
            unselected.warnings
        );
    }

    #[test]
    fn a_listing_that_holds_part_of_the_apps_it_counts_is_refused() {
        let selection = with_states(&["RUNNING"]).selection(UnsetStates::Any).unwrap();
        let partial = Listing { apps: apps(), entries: 5, claimed: Some(30), ..Listing::default() };
        let refused = selection.select_listed(partial, &analytics(&[]), now());
        let Err(error @ ProviderError::PartialListing { entries: 5, claimed: 30, .. }) = refused else {
            panic!("{refused:?}")
        };
        assert!(error.to_diagnostic().detail.contains("holds 5 of 30 apps"), "{error:?}");
        // Counted against the apps it names: a repeated entry, or one without an id, names none.
        let mut repeated = apps();
        repeated.push(apps()[0].clone());
        let padded = Listing { apps: repeated, entries: 6, claimed: Some(6), ..Listing::default() };
        let refused = selection.select_listed(padded, &analytics(&[]), now());
        assert!(
            matches!(refused, Err(ProviderError::PartialListing { entries: 5, claimed: 6, .. })),
            "{refused:?}"
        );
        let whole = Listing { apps: apps(), entries: 7, claimed: Some(5), without_id: 1, invalid_ids: 1 };
        let selected = selection.select_listed(whole, &analytics(&[]), now()).unwrap();
        assert!(
            selected.warnings.contains(&ProviderWarning::UnusableEntries {
                account: "acc".into(),
                without_id: 1,
                invalid_ids: 1,
                conflicting: 0,
            }),
            "{:?}",
            selected.warnings
        );
    }

    #[test]
    fn what_one_listing_said_against_apps_holds_for_the_later_listings_of_the_kill() {
        let ours =
            |id: &str| app(id, "batch", "q", "RUNNING", "2024-01-01T00:00:00Z").with(Text::AccountId, "acc");
        let selector = Selector { account_id: known("acc"), name: known("batch"), ..Selector::default() };
        let mut selection = selector.selection(UnsetStates::NotEnded).unwrap();
        // The first listing ignored its filter: B1 is another account's.
        let first = vec![ours("A1"), ours("B1").with(Text::AccountId, "other")];
        let selected = selection.select(first, &analytics(&["Other"]), now()).unwrap();
        assert_eq!(ids(&selected), ["A1"]);
        selection.remember(&selected);
        // A later one says B1 is the account's, and lists an app that says nothing of its account.
        let later = vec![ours("B1"), ours("C1")];
        let mut ours_again = later.clone();
        ours_again.truncate(1);
        let again = selection.select(ours_again, &analytics(&["Other"]), now()).unwrap();
        assert!(again.apps.is_empty(), "B1 was another account's: {again:?}");
        let unverifiable = later[1].with(Text::AccountId, "").with(Text::AccountName, "");
        let refused = selection.select(vec![later[0].clone(), unverifiable], &analytics(&["Other"]), now());
        let Err(
            error @ ProviderError::UnverifiableApps {
                refused_by: Refusal::OtherAccountsListedBefore(1), ..
            },
        ) = refused
        else {
            panic!("{refused:?}")
        };
        assert!(error.to_diagnostic().detail.contains("an earlier listing of this kill held 1 app(s)"));
        // An app an exclusion spared stays spared when a later entry gives it another name.
        let excluding =
            Selector { account_id: known("acc"), exclude_name_regex: known("^keep"), ..Selector::default() };
        let mut selection = excluding.selection(UnsetStates::NotEnded).unwrap();
        let kept = ours("K1").with(Text::Name, "keep-me");
        let first = selection.select(vec![kept, ours("A1")], &analytics(&["Other"]), now()).unwrap();
        selection.remember(&first);
        let renamed = selection.select(vec![ours("K1")], &analytics(&["Other"]), now()).unwrap();
        assert!(renamed.apps.is_empty() && renamed.excluded == 1, "{renamed:?}");
        // Without the memory, the same listing selects both.
        let fresh = selector.selection(UnsetStates::NotEnded).unwrap();
        assert_eq!(ids(&fresh.select(later, &analytics(&["Other"]), now()).unwrap()), ["B1", "C1"]);
    }

    #[test]
    fn an_entry_that_gives_a_field_twice_differently_is_never_selected() {
        // `{"id":"B4","name":"keep-me","name":"batch-1"}`: read as "batch-1", which would pass
        // the pattern and escape the exclusion; and listed again plainly, it is still spared.
        let mut twice = app("B4", "batch-1", "q", "RUNNING", "2024-01-01T00:00:00Z");
        twice.conflicting = true;
        let plain = app("B4", "batch-1", "q", "RUNNING", "2024-01-01T00:00:00Z");
        let other = app("A5", "batch-2", "q", "RUNNING", "2024-01-01T00:00:00Z");
        let selection = Selector {
            account_id: known("acc"),
            name_regex: known("^batch"),
            exclude_name_regex: known("keep"),
            ..Selector::default()
        }
        .selection(UnsetStates::NotEnded)
        .unwrap();
        for listed in [vec![twice.clone(), other.clone()], vec![plain, twice, other]] {
            let entries = listed.len();
            let listing = Listing { apps: listed, entries, ..Listing::default() };
            let selected = selection.select_listed(listing, &analytics(&[]), now()).unwrap();
            let ids: Vec<&str> = selected.apps.iter().map(AppInfo::id).collect();
            assert_eq!(ids, ["A5"]);
            assert_eq!(selected.conflicting, 1);
            assert!(
                selected.warnings.iter().any(|warning| matches!(
                    warning,
                    ProviderWarning::UnusableEntries { conflicting: 1, .. }
                )),
                "{:?}",
                selected.warnings
            );
        }
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
        // A blank pattern would take every app; a blank name, queue or workspace is a variable
        // left at its default.
        let blanks = Selector {
            name: known(""),
            name_regex: known(""),
            queue_name: known(" "),
            workspace_name: known("\t"),
            ..with_states(&["RUNNING"])
        };
        let refused: Vec<&str> = blanks
            .validate()
            .iter()
            .map(|error| match error {
                ProviderError::EmptyArgument { name } => *name,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(refused, ["name", "name_regex", "queue_name", "workspace_name"]);
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
    fn apps_of_other_accounts_are_never_selected_and_unverifiable_ones_only_when_nothing_is_off() {
        let selection =
            Selector { account_id: known("acc"), ..Selector::default() }.selection(UnsetStates::Any).unwrap();
        let mut listed = apps();
        listed[1] = listed[1].with(Text::AccountName, "");
        // Alone, an app whose account cannot be told is kept, with a warning naming it.
        let kept = selection.select(listed.clone(), &analytics(&["Other"]), now()).unwrap();
        assert_eq!(ids(&kept), ["A1", "A2", "A3", "A4", "A5"]);
        let [ProviderWarning::UnverifiableApps { count: 1, first, why, .. }] = &kept.warnings[..] else {
            panic!("{:?}", kept.warnings)
        };
        assert_eq!(first, &["A2 (env-42-train)"]);
        assert!(why.contains("no accountId and no accountName, as text"), "{why}");
        // Under an account list, it fails the selection before anything is killed.
        let checked = owner(account(), &["Other"], Some("allowed_account_ids"));
        let refused = selection.select(listed.clone(), &checked, now());
        let Err(error @ ProviderError::UnverifiableApps { count: 1, .. }) = refused else {
            panic!("{refused:?}")
        };
        assert!(error.to_diagnostic().detail.contains("allowed_account_ids asks"), "{error:?}");
        // So it does when the same listing holds an app of another account, even by id alone.
        listed[0] = listed[0].with(Text::AccountId, "prod-account").with(Text::AccountName, "");
        let refused = selection.select(listed.clone(), &analytics(&[]), now());
        let Err(error @ ProviderError::UnverifiableApps { count: 1, .. }) = refused else {
            panic!("{refused:?}")
        };
        assert!(error.to_diagnostic().detail.contains("holds 1 app(s) of other accounts"), "{error:?}");
        // An unverifiable app that would not be selected anyway is no matter.
        let named = Selector { account_id: known("acc"), name: known("env-7-etl"), ..Selector::default() };
        let one = named.selection(UnsetStates::Any).unwrap().select(listed.clone(), &analytics(&[]), now());
        let one = one.unwrap();
        assert_eq!((ids(&one), one.foreign), (vec!["A3"], 1));
        assert_eq!(one.funnel.to_string(), "5 listed; 4 of account \"acc\"; 1 named \"env-7-etl\"");
        assert!(one.warnings.contains(&ProviderWarning::ForeignApps { account: "acc".into(), count: 1 }));
        // An account without a name of its own tells its apps by their accountId only.
        let nameless = owner(AccountInfo { name: String::new(), ..account() }, &["Other"], None);
        let by_id = apps().into_iter().map(|app| app.with(Text::AccountId, "acc")).collect();
        assert_eq!(ids(&selection.select(by_id, &nameless, now()).unwrap()).len(), 5);
        let by_name = selection.select(apps(), &nameless, now()).unwrap();
        let [ProviderWarning::UnverifiableApps { count: 5, why, .. }] = &by_name.warnings[..] else {
            panic!("{:?}", by_name.warnings)
        };
        assert!(why.contains("no name to check apps against, and their entries carry no accountId"), "{why}");
    }

    #[test]
    fn a_listing_of_other_accounts_apps_only_is_refused() {
        let selection =
            Selector { account_id: known("acc"), ..Selector::default() }.selection(UnsetStates::Any).unwrap();
        let foreign = |claims: &[(&str, &str)]| {
            let many: Vec<AppInfo> = claims
                .iter()
                .enumerate()
                .map(|(n, (id, name))| {
                    let app = apps()[0].with(Text::Id, &format!("F{n}"));
                    app.with(Text::AccountId, id).with(Text::AccountName, name)
                })
                .collect();
            match selection.select(many, &analytics(&[]), now()) {
                Err(ProviderError::AllForeign { claims, others, .. }) => (claims, others),
                other => panic!("{other:?}"),
            }
        };
        let five = ["A", "B", "C", "D", "E"].map(String::from).to_vec();
        let names = |names: &[&'static str]| names.iter().map(|name| ("", *name)).collect::<Vec<_>>();
        assert_eq!(foreign(&names(&["F", "E", "D", "C", "B", "A", "A"])), (five.clone(), true));
        assert_eq!(foreign(&names(&["A", "B", "C", "D", "E", "Z"])), (five.clone(), true));
        assert_eq!(foreign(&names(&["E", "D", "C", "B", "A", "E", "A"])), (five, false));
        assert_eq!(foreign(&[("prod-account", "")]), (vec!["prod-account".to_string()], false));
        assert!(selection.select(Vec::new(), &analytics(&[]), now()).unwrap().apps.is_empty());
    }

    #[test]
    fn an_account_the_keys_do_not_see_is_refused_naming_ten_they_do() {
        let selection =
            Selector { account_id: known("acc"), ..Selector::default() }.selection(UnsetStates::Any).unwrap();
        let seen: Vec<AccountInfo> =
            (1..=12).map(|n| AccountInfo { id: format!("other{n}"), name: String::new() }).collect();
        let only_others = Accounts::whole(seen.clone());
        let refused = selection.account_in(&only_others);
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
        assert_eq!(selection.account_in(&Accounts::whole(with_it)).unwrap().name, "Analytics");
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
        // Only the pattern spares nothing: the warning points at it.
        let pattern_only = select(selector(&["A1"], "-Pinned$"), UnsetStates::Any);
        assert!(
            pattern_only.warnings.iter().any(|warning| matches!(
                warning,
                ProviderWarning::UnusedExclusions { attribute: "exclude_name_regex", ids, .. } if ids.is_empty()
            )),
            "{:?}",
            pattern_only.warnings
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
        // As messages name the exclusions a destroy uses.
        assert_eq!(before.selection(UnsetStates::NotEnded).unwrap().exclusions(), "no exclusions");
        assert_eq!(
            now.selection(UnsetStates::NotEnded).unwrap().exclusions(),
            "exclusions exclude_ids = [\"A1\"], exclude_name_regex = \"^prod-\""
        );
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
