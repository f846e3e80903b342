//! Things worth telling the user about an operation that succeeded, each worded once here. A
//! warning about one app points at the argument that names it, when the configuration has one.

use crate::protocol::diagnostic::Diagnostic;

use super::kill::Phase;

/// What the audit log holds of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditRecord {
    /// No audit log is set.
    None,
    /// The log at this path took every line.
    Complete(String),
    /// The log at this path could not take every line.
    Incomplete(String),
}

/// Where a kill's answer is kept, which a warning about the kill may point the user at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// The single kill resource's own attributes (`success`, `message`, `app_state`).
    AppKill,
    /// An entry of the bulk kill resource's `killed`.
    KilledList,
    /// Nowhere: a destroy removes the state, and an action records nothing.
    Nothing,
}

impl Record {
    /// Where a kill in `phase` keeps its answer; `attribute` is the argument naming its app, which
    /// only the single kill has.
    pub fn of(phase: Phase, attribute: Option<&'static str>) -> Record {
        match (phase, attribute) {
            (Phase::Destroy | Phase::Action, _) => Record::Nothing,
            (Phase::Create | Phase::Update, Some(_)) => Record::AppKill,
            (Phase::Create | Phase::Update, None) => Record::KilledList,
        }
    }
}

/// A run to come, which a selection as it stands tells about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaterRun {
    /// The apply of a plan that kills.
    Apply,
    /// A destroy hook's destroy.
    Destroy,
    /// The action run for real, after a dry run.
    RealRun,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderWarning {
    /// The kill was refused, but the app had already ended; it counts as done. `uncertain`: an
    /// earlier attempt of the same kill got no clear answer and may be what ended it.
    AlreadyEnded {
        app_id: String,
        attribute: Option<&'static str>,
        state: String,
        uncertain: bool,
        record: Record,
    },
    /// At destroy, the kill was refused because the app no longer exists (`getDetail` finds it
    /// neither): there is nothing left to kill.
    AppGone { app_id: String, attribute: Option<&'static str>, uncertain: bool },
    /// At destroy, under the provider's account list (`setting`), `getDetail` does not know the
    /// app: its account cannot be checked, so nothing was sent, and there is nothing these keys
    /// can kill.
    AppUnknown { app_id: String, attribute: Option<&'static str>, setting: &'static str },
    /// A warning about the run to come (`later`), told at a plan whose apply does not act on it:
    /// that run checks again.
    Foreseen { later: LaterRun, warning: Box<ProviderWarning> },
    /// DataForest accepted the kill, then stopped knowing the app while the provider waited for
    /// it to end: it counts as ended.
    VanishedWhileWaiting { app_id: String, attribute: Option<&'static str>, record: Record },
    /// Apps that matched all but the age condition (`attribute`) have no readable start time, so
    /// they were not selected: how many, and the first few.
    UnreadableStart { attribute: &'static str, count: usize, first: Vec<String> },
    /// Apps that matched all but the age condition (`attribute`) started, by DataForest's
    /// account, after the provider's now: a clock off on one side. They were not selected.
    FutureStart { attribute: &'static str, count: usize, first: Vec<String> },
    /// Listed apps whose `accountId` or `accountName` says they are another account's than
    /// `account`: they were not selected.
    ForeignApps { account: String, count: usize },
    /// Selected apps (`count`, the first named) whose entries do not tell whether they are
    /// `account`'s: `why`. They were selected as the listing for the account returned them.
    UnverifiableApps { account: String, count: usize, first: Vec<String>, why: String },
    /// `count` apps of `account`'s listing were listed more than once (`first`, their ids): each
    /// was selected only if every entry for it would have been. `disagreeing`: how many of them an
    /// entry spared that another would have had selected.
    DuplicateApps { account: String, count: usize, first: Vec<String>, disagreeing: usize },
    /// Entries of `account`'s listing that no kill is sent to: without an id, with one no app
    /// can have, or (`conflicting`) giving a field twice, differently.
    UnusableEntries { account: String, without_id: usize, invalid_ids: usize, conflicting: usize },
    /// A destroy hook's destroy would be refused: the selector recorded at the last apply is
    /// refused now (`reason`), and a destroy uses that one.
    RecordedSelectorRefused { reason: String },
    /// After the kill, `count` apps of `account` match that it did not kill (`first` named):
    /// started, or come to match, while it ran.
    MatchAfterKill { account: String, count: usize, first: Vec<String> },
    /// A later listing shows `count` apps of `account` (`first` named) as matching, though their
    /// kill was refused and `getDetail` then said they had ended (or knew them no more): one of
    /// the two answers is wrong, and the app may still run.
    EndedStillListed { account: String, count: usize, first: Vec<String> },
    /// The listing after the kill, which looks for apps that match now, failed: why.
    AfterKillCheckFailed { account: String, reason: String },
    /// At destroy, the keys see `account` no more: there is nothing they can kill.
    AccountGone { attribute: &'static str, account: String },
    /// What a planned kill (at the apply, or at the destroy) would take now: how many apps of
    /// `account` match, how many more were excluded, and the first of them.
    /// `funnel` says how many each condition left, when nothing matched.
    /// `recorded`: at a destroy's plan, the exclusions of the selector recorded at the last
    /// apply, which the destroy uses.
    Preview {
        later: LaterRun,
        account: String,
        count: usize,
        excluded: usize,
        first: Vec<String>,
        funnel: String,
        recorded: Option<String>,
    },
    /// Exclusions that spare nothing the listing holds: ids it does not list, and a pattern no
    /// app's name matches. A typo there spares nothing.
    UnusedExclusions { attribute: &'static str, ids: Vec<String>, pattern: Option<(&'static str, String)> },
    /// The apps could not be listed for the plan's preview: why.
    PreviewFailed { reason: String },
    /// A kill selected no app of `account`: `funnel` says how many each condition left.
    NothingMatched { account: String, funnel: String },
    /// Lines of the audit log at `path` could not be written (`reason`): those of the apps
    /// `lost`.
    AuditIncomplete { path: String, reason: String, lost: Vec<String> },
    /// A destroy hook's kill: `count` apps of `account` killed (the first of them named), the
    /// exclusions of the recorded selector it used, and the audit log that records each, when
    /// there is one and it took every line.
    DestroyKilled {
        account: String,
        count: usize,
        first: Vec<String>,
        recorded: String,
        audit_log: AuditRecord,
    },
    /// A selection that, as it stands, `later` would refuse: more apps (`count`) than the cap
    /// or fewer than the floor (`attribute`, `bound`) allow.
    /// `ceiling`: the most `attribute` may be set to.
    WouldBeRefused {
        later: LaterRun,
        attribute: &'static str,
        count: usize,
        bound: usize,
        over: bool,
        ceiling: usize,
    },
}

/// What a destroy hook's messages say of the selector its destroy uses: the one recorded at the
/// last apply, with `exclusions` (as [`ProviderWarning::Preview`]'s `recorded` words them).
fn recorded_selector(exclusions: &str) -> String {
    format!(
        "The destroy selects with the selector recorded at the last apply ({exclusions}): Terraform sends no \
         configuration with a destroy, so a selector or exclusion changed since then counts only once it has \
         been applied."
    )
}

impl ProviderWarning {
    /// Whether this warning says that a kill did less than asked, or that something could not be
    /// checked: the provider's `strict` makes each such warning an error. `destroying`: it comes
    /// from a destroy (or a destroy's plan), where nothing matching, or an exclusion with nothing
    /// to spare, is how a destroy hook ends when its apps ended on their own, and no error.
    pub fn is_shortfall(&self, destroying: bool) -> bool {
        match self {
            ProviderWarning::UnreadableStart { .. }
            | ProviderWarning::FutureStart { .. }
            | ProviderWarning::UnverifiableApps { .. }
            | ProviderWarning::UnusableEntries { .. }
            | ProviderWarning::AccountGone { .. }
            | ProviderWarning::AppGone { .. }
            | ProviderWarning::AppUnknown { .. }
            | ProviderWarning::PreviewFailed { .. }
            | ProviderWarning::MatchAfterKill { .. }
            | ProviderWarning::EndedStillListed { .. }
            | ProviderWarning::AfterKillCheckFailed { .. }
            | ProviderWarning::AuditIncomplete { .. } => true,
            ProviderWarning::NothingMatched { .. } | ProviderWarning::UnusedExclusions { .. } => !destroying,
            // An app spared that one of its entries would have had selected.
            ProviderWarning::DuplicateApps { disagreeing, .. } => *disagreeing > 0,
            // Apps of another account, not selected: the selection did what it was asked.
            ProviderWarning::ForeignApps { .. }
            // What a later run would meet: that run checks again, and fails then.
            | ProviderWarning::Foreseen { .. }
            | ProviderWarning::AlreadyEnded { .. }
            | ProviderWarning::VanishedWhileWaiting { .. }
            | ProviderWarning::Preview { .. }
            | ProviderWarning::DestroyKilled { .. }
            | ProviderWarning::RecordedSelectorRefused { .. }
            | ProviderWarning::WouldBeRefused { .. } => false,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        self.render(false)
    }

    /// The warning as the provider's `strict` makes it an error: said without what it says goes
    /// on regardless.
    pub fn to_strict_diagnostic(&self) -> Diagnostic {
        self.render(true)
    }

    /// The warning's diagnostic; `strict`: it stops what it would let go on.
    fn render(&self, strict: bool) -> Diagnostic {
        // What goes on after the warning, when it is only one.
        let goes_on = |lenient: &'static str| if strict { "" } else { lenient };
        let (diagnostic, attribute) = match self {
            ProviderWarning::AlreadyEnded { app_id, attribute, state, uncertain, record } => {
                let recorded = match record {
                    Record::AppKill => {
                        " `success` is false, `message` holds DataForest's last answer, and `app_state` records the \
                         state."
                    }
                    Record::KilledList => {
                        " `killed` lists it with `success` false and DataForest's last answer as `message`."
                    }
                    Record::Nothing => "",
                };
                let detail = if *uncertain {
                    let recorded = match record {
                        Record::AppKill => {
                            " `success` is true, and `message` holds DataForest's last answer."
                        }
                        Record::KilledList => " `killed` lists it with `success` true.",
                        Record::Nothing => "",
                    };
                    format!(
                        "An earlier attempt of the kill of AI app {app_id:?} got no clear answer; a later attempt \
                         was refused, and the app has ended (state {state}): most likely by this kill, which counts \
                         as killed (the audit log marks it uncertain).{recorded}"
                    )
                } else {
                    format!(
                        "DataForest refused the kill of AI app {app_id:?}, but the app had already ended (state \
                         {state}), so the kill counts as done.{recorded}"
                    )
                };
                let summary = if *uncertain { "App killed, most likely" } else { "App had already ended" };
                (Diagnostic::warning(summary, detail), *attribute)
            }
            ProviderWarning::AppGone { app_id, attribute, uncertain } => (
                Diagnostic::warning(
                    "App no longer exists",
                    format!(
                        "DataForest does not know AI app {app_id:?} (the kill and getDetail both answered \"no \
                         such element\"), so there is nothing left to kill{}.{} If the \
                         provider's keys changed since the resource was created, check that they belong to the \
                         app's account: to another account's keys the app does not exist, and it may still be \
                         running.",
                        goes_on(" and the destroy goes on"),
                        if *uncertain { " An earlier attempt of the kill got no clear answer." } else { "" }
                    ),
                ),
                *attribute,
            ),
            ProviderWarning::AppUnknown { app_id, attribute, setting } => (
                Diagnostic::warning(
                    "App no longer exists",
                    format!(
                        "DataForest does not know AI app {app_id:?} (getDetail answered \"no such element\"), so its \
                         account cannot be checked against the provider's {setting}, and nothing was sent: there \
                         is nothing these keys can kill{}. If the provider's keys changed since the resource was \
                         created, check that they belong to the app's account: to another account's keys the app \
                         does not exist, and it may still be running.",
                        goes_on(", and the destroy goes on")
                    ),
                ),
                *attribute,
            ),
            ProviderWarning::Foreseen { later, warning } => {
                let mut diagnostic = warning.to_diagnostic();
                let when = match later {
                    LaterRun::Apply => "At the apply",
                    LaterRun::Destroy => "At the destroy",
                    LaterRun::RealRun => "At a real run",
                };
                diagnostic.detail = format!("{when}, as things stand now: {}", diagnostic.detail);
                return diagnostic;
            }
            ProviderWarning::UnreadableStart { attribute, count, first } => (
                Diagnostic::warning(
                    "Start time unreadable",
                    format!(
                        "{count} app(s) matched every condition but `{attribute}`, and DataForest gave no start \
                         time that could be read, so they were not selected: {}{}.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" }
                    ),
                ),
                Some(*attribute),
            ),
            ProviderWarning::FutureStart { attribute, count, first } => (
                Diagnostic::warning(
                    "Start time in the future",
                    format!(
                        "{count} app(s) matched every condition but `{attribute}`, and DataForest gives them a \
                         start time more than 5 minutes after this machine's clock, so they have no age and were \
                         not selected: {}{}. This machine's clock or DataForest's is off.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" }
                    ),
                ),
                Some(*attribute),
            ),
            ProviderWarning::ForeignApps { account, count } => (
                Diagnostic::warning(
                    "Apps of another account listed",
                    format!(
                        "DataForest listed {count} app(s) whose accountId or accountName says they are another \
                         account's than {account:?}, although the listing asked for that account only; they were \
                         not selected. Report it if it persists: the API may have ignored the account filter."
                    ),
                ),
                None,
            ),
            ProviderWarning::DuplicateApps { account, count, first, disagreeing } => (
                Diagnostic::warning(
                    "Apps listed twice",
                    format!(
                        "DataForest's listing of account {account:?} named {count} app(s) more than once: {}{}{}. \
                         Each was selected only if every entry for it would have been, so an entry that spares an \
                         app (another account, an excluded name) spares it. Report it if it persists.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" },
                        match disagreeing {
                            0 => String::new(),
                            _ => format!(
                                "; {disagreeing} of them an entry spared that another would have had killed"
                            ),
                        }
                    ),
                ),
                None,
            ),
            ProviderWarning::UnverifiableApps { account, count, first, why } => (
                Diagnostic::warning(
                    "Account of apps unchecked",
                    format!(
                        "{count} selected app(s) could not be checked against account {account:?}: {why}. {}: \
                         {}{}.{}",
                        if strict {
                            "Nothing is killed while such apps are selected"
                        } else {
                            "They were selected as the listing for that account returned them"
                        },
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" },
                        goes_on(" Set allowed_account_ids (or strict) to refuse such apps instead.")
                    ),
                ),
                None,
            ),
            ProviderWarning::UnusableEntries { account, without_id, invalid_ids, conflicting } => {
                let mut parts = Vec::new();
                if *without_id > 0 {
                    parts.push(format!("{without_id} without an id"));
                }
                if *invalid_ids > 0 {
                    parts.push(format!("{invalid_ids} whose id no AI app can have"));
                }
                if *conflicting > 0 {
                    parts.push(format!(
                        "{conflicting} that give a field (an id, a name, a state or an account) twice, differently"
                    ));
                }
                (
                    Diagnostic::warning(
                        "Listing entries left out",
                        format!(
                            "DataForest's listing of account {account:?} held {}: no kill is sent to them and they \
                             were left out. Report it if it persists.",
                            parts.join(" and ")
                        ),
                    ),
                    None,
                )
            }
            ProviderWarning::MatchAfterKill { account, count, first } => (
                Diagnostic::warning(
                    format!("{count} app(s) match that the kill did not take"),
                    format!(
                        "After the kill, {count} app(s) of account {account:?} match that it did not kill (they \
                         started, or came to match, while it ran), and they are still running: {}{}. Raise \
                         settle_rounds to kill such apps too, or run the kill again.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" }
                    ),
                ),
                Some("settle_rounds"),
            ),
            ProviderWarning::EndedStillListed { account, count, first } => (
                Diagnostic::warning(
                    format!("{count} app(s) said to have ended are still listed"),
                    format!(
                        "DataForest refused the kill of {count} app(s) of account {account:?} and getDetail then \
                         said they had ended (or knew them no more), but a later listing still shows them as \
                         matching: {}{}. One of the \
                         two answers is wrong, and the apps may still run: check them in the console, and run the \
                         kill again.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" }
                    ),
                ),
                None,
            ),
            ProviderWarning::RecordedSelectorRefused { reason } => (
                Diagnostic::warning(
                    "The destroy would be refused",
                    format!(
                        "The selector recorded at the last apply is refused now: {reason} Terraform sends no \
                         configuration with a destroy, so the destroy uses the recorded one: correct the \
                         configuration and apply it before the destroy."
                    ),
                ),
                None,
            ),
            ProviderWarning::AfterKillCheckFailed { account, reason } => (
                Diagnostic::warning(
                    "No check after the kill",
                    format!(
                        "After the kill, listing account {account:?} again, to find apps that started meanwhile, \
                         failed: {reason} Apps that started during the kill may still be running."
                    ),
                ),
                None,
            ),
            ProviderWarning::AccountGone { attribute, account } => (
                Diagnostic::warning(
                    "Account no longer seen",
                    format!(
                        "These keys see no account {account:?} any more, so there is nothing they can kill{}. If \
                         the provider's keys changed since the resource was created, check that they belong to the \
                         account: to other keys the account does not exist, and its apps may still be running.",
                        goes_on(" and the destroy goes on")
                    ),
                ),
                Some(*attribute),
            ),
            ProviderWarning::UnusedExclusions { attribute, ids, pattern } => {
                let mut unused = Vec::new();
                if !ids.is_empty() {
                    unused.push(format!(
                        "{attribute} names {} that DataForest does not list",
                        ids.iter().map(|id| format!("{id:?}")).collect::<Vec<_>>().join(", ")
                    ));
                }
                if let Some((name, pattern)) = pattern {
                    unused.push(format!("{name} {pattern:?} matches no listed app's name"));
                }
                (
                    Diagnostic::warning(
                        "Exclusions that spare nothing",
                        format!(
                            "{}, so they spare nothing. If they were meant to spare an app, check them for a typo.",
                            unused.join(", and ")
                        ),
                    ),
                    Some(*attribute),
                )
            }
            ProviderWarning::Preview { later, account, count, excluded, first, funnel, recorded } => {
                let when = match later {
                    LaterRun::Apply | LaterRun::RealRun => "at this apply",
                    LaterRun::Destroy => "at the destroy",
                };
                let excluded =
                    if *excluded > 0 { format!(" ({excluded} more excluded)") } else { String::new() };
                let named = match count {
                    0 => format!(" ({funnel})"),
                    _ if *count > first.len() => {
                        format!(": {}, and {} more", first.join(", "), count - first.len())
                    }
                    _ => format!(": {}", first.join(", ")),
                };
                (
                    Diagnostic::warning(
                        format!("Kill preview: {count} app(s) of account {account:?}"),
                        format!(
                            "{count} app(s) of account {account:?} match now{excluded}, to be killed {when}{named}. \
                             The selection runs again when the kill runs, so apps started or ended by then count \
                             as they are then.{}",
                            recorded
                                .as_deref()
                                .map(|exclusions| format!(" {}", recorded_selector(exclusions)))
                                .unwrap_or_default()
                        ),
                    ),
                    None,
                )
            }
            ProviderWarning::PreviewFailed { reason } => (
                Diagnostic::warning(
                    "No preview of the kill",
                    format!(
                        "The apps the kill would take could not be listed for this plan: {reason}{}",
                        goes_on(" The plan goes on; the kill lists the account again when it runs.")
                    ),
                ),
                None,
            ),
            ProviderWarning::NothingMatched { account, funnel } => (
                Diagnostic::warning(
                    "Nothing matched",
                    format!(
                        "No app of account {account:?} matches, so nothing was killed: {funnel}. If apps should \
                         have matched, check account_id and the selector; set min_apps to make this an error."
                    ),
                ),
                None,
            ),
            ProviderWarning::WouldBeRefused { later, attribute, count, bound, over, ceiling } => {
                let (summary, run, to_apply) = match later {
                    LaterRun::Apply => ("The apply would be refused", "the apply", ""),
                    LaterRun::Destroy => (
                        "The destroy would be refused",
                        "the destroy",
                        ", and apply before the destroy: a destroy uses the settings in state",
                    ),
                    LaterRun::RealRun => ("The real run would be refused", "a run that is not a dry run", ""),
                };
                let detail = if *over && count > ceiling {
                    format!(
                        "{count} apps match now, more than {attribute} ({bound}) allows: if as many match then, \
                         {run} will kill none and fail. {attribute} goes up to {ceiling}: narrow the selector, or \
                         split the kill by name, queue or workspace{to_apply}."
                    )
                } else if *over {
                    format!(
                        "{count} apps match now, more than {attribute} ({bound}) allows: if as many match then, \
                         {run} will kill none and fail. Set {attribute} to at least {count}, or narrow the \
                         selector{to_apply}."
                    )
                } else {
                    format!(
                        "{count} app(s) match now, fewer than {attribute} ({bound}) asks for: unless more match \
                         then, {run} will kill none and fail. Set {attribute} to at most {count} if fewer apps are \
                         expected{to_apply}."
                    )
                };
                (Diagnostic::warning(summary, detail), Some(*attribute))
            }
            ProviderWarning::AuditIncomplete { path, reason, lost } => {
                let mut named = lost.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
                if lost.len() > 20 {
                    named.push_str(&format!(", and {} more", lost.len() - 20));
                }
                (
                    Diagnostic::warning(
                        "Audit log incomplete",
                        format!(
                            "{} kill outcome(s) could not be appended to the audit log {path:?}: {reason}. Not in \
                             the log: {named}. Each outcome is as reported here; no further kill was started once a \
                             line could not be written. Check the file system the log is on.",
                            lost.len()
                        ),
                    ),
                    None,
                )
            }
            ProviderWarning::DestroyKilled { account, count, first, recorded, audit_log } => {
                let more = if *count > first.len() {
                    format!(", and {} more", count - first.len())
                } else {
                    String::new()
                };
                let record = match audit_log {
                    AuditRecord::Complete(path) => format!("The audit log {path:?} has a line for each."),
                    AuditRecord::Incomplete(path) => {
                        format!("The audit log {path:?} could not take every line: see its warning.")
                    }
                    AuditRecord::None => {
                        "Set the provider's audit_log to keep a line for each in a file.".to_string()
                    }
                };
                (
                    Diagnostic::warning(
                        format!("Destroy killed {count} app(s) of account {account:?}"),
                        match count {
                            0 => format!(
                                "The destroy killed no app of account {account:?}. {}",
                                recorded_selector(recorded)
                            ),
                            _ => format!(
                                "The destroy killed {count} app(s) of account {account:?}: {}{more}. {record} {}",
                                first.join(", "),
                                recorded_selector(recorded)
                            ),
                        },
                    ),
                    None,
                )
            }
            ProviderWarning::VanishedWhileWaiting { app_id, attribute, record } => (
                Diagnostic::warning(
                    "App gone while waiting",
                    format!(
                        "DataForest accepted the kill of AI app {app_id:?}, then stopped knowing the app \
                         (getDetail answered \"no such element\") while the provider waited for it to end, so it \
                         counts as ended.{}",
                        match record {
                            Record::AppKill => " `app_state` and `final_status` stay empty.",
                            Record::KilledList =>
                                " Its `state` in `killed` is the one listed before the kill.",
                            Record::Nothing => "",
                        }
                    ),
                ),
                *attribute,
            ),
        };
        diagnostic.at_optional_attribute(attribute)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// How many kinds of warning there are: [`kind`] numbers them.
    const KINDS: usize = 23;

    /// Each kind's number. It names every kind, so a new one fails to compile here until it is
    /// numbered, and then the test fails until [`one_of_each`] has one of it.
    fn kind(warning: &ProviderWarning) -> usize {
        match warning {
            ProviderWarning::AlreadyEnded { .. } => 0,
            ProviderWarning::AppGone { .. } => 1,
            ProviderWarning::AppUnknown { .. } => 2,
            ProviderWarning::Foreseen { .. } => 3,
            ProviderWarning::VanishedWhileWaiting { .. } => 4,
            ProviderWarning::UnreadableStart { .. } => 5,
            ProviderWarning::FutureStart { .. } => 6,
            ProviderWarning::ForeignApps { .. } => 7,
            ProviderWarning::UnverifiableApps { .. } => 8,
            ProviderWarning::DuplicateApps { .. } => 9,
            ProviderWarning::UnusableEntries { .. } => 10,
            ProviderWarning::RecordedSelectorRefused { .. } => 11,
            ProviderWarning::MatchAfterKill { .. } => 12,
            ProviderWarning::AfterKillCheckFailed { .. } => 13,
            ProviderWarning::AccountGone { .. } => 14,
            ProviderWarning::Preview { .. } => 15,
            ProviderWarning::UnusedExclusions { .. } => 16,
            ProviderWarning::PreviewFailed { .. } => 17,
            ProviderWarning::NothingMatched { .. } => 18,
            ProviderWarning::AuditIncomplete { .. } => 19,
            ProviderWarning::DestroyKilled { .. } => 20,
            ProviderWarning::WouldBeRefused { .. } => 21,
            ProviderWarning::EndedStillListed { .. } => 22,
        }
    }

    /// One warning of each kind, each in its strictest form.
    fn one_of_each() -> Vec<ProviderWarning> {
        let app_id = || "A1".to_string();
        let account = "acc".to_string();
        let first = || vec!["A1 (etl)".to_string()];
        vec![
            ProviderWarning::AlreadyEnded {
                app_id: app_id(),
                attribute: None,
                state: "KILLED".into(),
                uncertain: false,
                record: Record::Nothing,
            },
            ProviderWarning::AppGone { app_id: app_id(), attribute: None, uncertain: false },
            ProviderWarning::AppUnknown { app_id: app_id(), attribute: None, setting: "allowed_account_ids" },
            ProviderWarning::Foreseen {
                later: LaterRun::Destroy,
                warning: Box::new(ProviderWarning::NothingMatched {
                    account: account.clone(),
                    funnel: "1 listed".into(),
                }),
            },
            ProviderWarning::VanishedWhileWaiting {
                app_id: app_id(),
                attribute: None,
                record: Record::Nothing,
            },
            ProviderWarning::UnreadableStart { attribute: "running_longer_than", count: 1, first: first() },
            ProviderWarning::FutureStart { attribute: "running_longer_than", count: 1, first: first() },
            ProviderWarning::ForeignApps { account: account.clone(), count: 1 },
            ProviderWarning::UnverifiableApps {
                account: account.clone(),
                count: 1,
                first: first(),
                why: "none".into(),
            },
            ProviderWarning::DuplicateApps {
                account: account.clone(),
                count: 1,
                first: first(),
                disagreeing: 1,
            },
            ProviderWarning::UnusableEntries {
                account: account.clone(),
                without_id: 1,
                invalid_ids: 1,
                conflicting: 1,
            },
            ProviderWarning::RecordedSelectorRefused { reason: "refused.".into() },
            ProviderWarning::MatchAfterKill { account: account.clone(), count: 3, first: first() },
            ProviderWarning::EndedStillListed { account: account.clone(), count: 1, first: first() },
            ProviderWarning::AfterKillCheckFailed { account: account.clone(), reason: "failed.".into() },
            ProviderWarning::AccountGone { attribute: "account_id", account: account.clone() },
            ProviderWarning::Preview {
                later: LaterRun::Destroy,
                account: account.clone(),
                count: 1,
                excluded: 0,
                first: first(),
                funnel: "1 listed".into(),
                recorded: None,
            },
            ProviderWarning::UnusedExclusions {
                attribute: "exclude_ids",
                ids: vec!["Z9".into()],
                pattern: None,
            },
            ProviderWarning::PreviewFailed { reason: "failed.".into() },
            ProviderWarning::NothingMatched { account: account.clone(), funnel: "1 listed".into() },
            ProviderWarning::AuditIncomplete {
                path: "audit.jsonl".into(),
                reason: "full".into(),
                lost: vec![app_id()],
            },
            ProviderWarning::DestroyKilled {
                account: account.clone(),
                count: 1,
                first: first(),
                recorded: "no exclusions".into(),
                audit_log: AuditRecord::None,
            },
            ProviderWarning::WouldBeRefused {
                later: LaterRun::Destroy,
                attribute: "max_apps",
                count: 3,
                bound: 2,
                over: true,
                ceiling: 10_000,
            },
        ]
    }

    /// A summary as the docs write it: a count that opens it as `N`.
    fn summary_of(warning: &ProviderWarning) -> String {
        let summary = warning.to_diagnostic().summary;
        match summary.split_once(' ') {
            Some((count, rest)) if count.parse::<usize>().is_ok() => format!("N {rest}"),
            _ => summary,
        }
    }

    #[test]
    fn a_warning_strict_makes_an_error_does_not_say_that_things_go_on() {
        for warning in one_of_each()
            .into_iter()
            .filter(|warning| warning.is_shortfall(false) || warning.is_shortfall(true))
        {
            let lenient = warning.to_diagnostic().detail;
            let strict = warning.to_strict_diagnostic().detail;
            for going_on in ["goes on", "They were selected", "(or strict)"] {
                assert!(!strict.contains(going_on), "{strict}");
            }
            if lenient.contains("goes on") {
                assert_ne!(lenient, strict);
            }
        }
    }

    #[test]
    fn the_provider_page_lists_exactly_the_warnings_strict_makes_errors() {
        let warnings = one_of_each();
        assert_eq!(warnings.iter().map(kind).collect::<BTreeSet<_>>().len(), KINDS, "one of each kind");
        let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/index.md")).unwrap();
        let table = page
            .split_once("The warnings `strict` makes errors, by summary:")
            .map(|(_, after)| after)
            .expect("the provider page's strict section");
        let listed: BTreeSet<String> = table
            .trim_start()
            .lines()
            .take_while(|line| line.starts_with('|'))
            .filter_map(|line| {
                line.split('|').nth(1)?.trim().strip_prefix('`')?.strip_suffix('`').map(String::from)
            })
            .collect();
        let errors: BTreeSet<String> =
            warnings.iter().filter(|warning| warning.is_shortfall(false)).map(summary_of).collect();
        assert_eq!(listed, errors);
        // A destroy hook must stay destroyable when its apps ended on their own.
        let at_destroy: BTreeSet<String> =
            warnings.iter().filter(|warning| warning.is_shortfall(true)).map(summary_of).collect();
        let spared: Vec<&String> = errors.difference(&at_destroy).collect();
        assert_eq!(spared, ["Exclusions that spare nothing", "Nothing matched"]);
    }
}
