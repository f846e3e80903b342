//! Every failure the provider reports, typed until here, and the one place where each becomes a
//! Terraform diagnostic: a short summary, an actionable detail, and the attribute path when
//! there is one. No message carries a secret: errors hold none. This module imports none of the
//! provider's resources, selector or kill: each variant carries the names, paths and typed causes
//! its message needs. Its parts: [`kill`] words a failed kill, [`warning`] what succeeded with
//! something worth saying, and `config` a provider block that cannot be resolved.

mod config;
pub mod kill;
pub mod warning;

use std::time::Duration;

use crate::ncp::ApiError;
use crate::protocol::diagnostic::{Diagnostic, PathStep, Severity};
use crate::protocol::object::ShapeError;
use crate::protocol::value::DecodeError;

use super::config::ConfigError;
pub use kill::{KillFailure, Phase};
pub use warning::{AuditRecord, LaterRun, ProviderWarning, Record};

/// How many apps (failed, or killed) a bulk kill's messages name; the rest are counted.
const MAX_LISTED_FAILURES: usize = 20;

#[derive(Debug)]
pub enum ProviderError {
    Config(Box<ConfigError>),
    /// Terraform sent a value this provider cannot read.
    Decode {
        what: &'static str,
        error: DecodeError,
    },
    UnknownType {
        kind: &'static str,
        name: String,
    },
    /// `attribute` holds something that is not an app id.
    InvalidAppId {
        attribute: &'static str,
        value: String,
    },
    NotConfigured,
    /// A kill did not complete: where it ran, and why. `attribute` names the app in the
    /// configuration, when one argument does.
    Kill {
        app_id: String,
        attribute: Option<&'static str>,
        phase: Phase,
        failure: KillFailure,
    },
    /// Terraform sent `StopProvider`, and has not configured the provider since: nothing new
    /// starts.
    Stopped,
    /// A data source was read while these provider settings were still unknown (during plan).
    ProviderConfigUnknown {
        settings: Vec<&'static str>,
    },
    /// Terraform asked the provider to stop during a look-up.
    Interrupted,
    /// `attribute` (`when`) is neither `create` nor `destroy`.
    InvalidWhen {
        attribute: &'static str,
        value: String,
    },
    /// Before arming a kill for destroy time, reading the app (named by `attribute`) failed (404:
    /// DataForest does not know it); nothing is recorded.
    IntentUnchecked {
        app_id: String,
        attribute: Option<&'static str>,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// A look-up (`getList`, `getDetail`) failed.
    LookupFailed {
        what: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// The keys see no account `account` (in `attribute`); `visible` names some they do see, of
    /// `count`.
    UnknownAccount {
        attribute: &'static str,
        account: String,
        count: usize,
        visible: Vec<String>,
    },
    /// The provider's account list (`setting`) refuses `account`; `app`: the app of a single
    /// kill that belongs to it.
    AccountRefused {
        setting: &'static str,
        env: &'static str,
        account: String,
        app: Option<String>,
        attribute: Option<&'static str>,
    },
    /// The provider's account list (`setting`) asks that apps be checked, and `subject` cannot
    /// be: `why`.
    AccountUnverifiable {
        setting: &'static str,
        subject: String,
        why: String,
    },
    /// Every app DataForest listed for `account` (in `attribute`) says it is another account's:
    /// `claims`, the first few accounts they name.
    AllForeign {
        attribute: &'static str,
        account: String,
        listed: usize,
        /// The first five accounts named, in sorted order, and whether the apps name others.
        claims: Vec<String>,
        others: bool,
    },
    /// Apps that would be selected (`count`, the first named) whose entries do not tell whether
    /// they are `account`'s (`why`), where that is refused: nothing is killed.
    UnverifiableApps {
        attribute: &'static str,
        account: String,
        count: usize,
        first: Vec<String>,
        why: String,
        refused_by: Refusal,
    },
    /// A listing of `account` that says it holds fewer apps (`entries`) than there are
    /// (`claimed`): nothing is selected from it.
    PartialListing {
        attribute: &'static str,
        account: String,
        entries: usize,
        claimed: u64,
    },
    /// A bulk kill whose selector sets no condition beyond the account, without `all_apps`;
    /// `recorded`: the selector recorded at the last apply, which a destroy uses.
    AccountWide {
        attribute: &'static str,
        conditions: Vec<&'static str>,
        recorded: bool,
    },
    /// A bulk kill's `attribute` (`name_regex`) holds a pattern that matches every name: no
    /// condition at all, where `all_apps` would say so; `recorded`: the selector recorded at the
    /// last apply, which a destroy uses.
    MatchesEveryName {
        attribute: &'static str,
        pattern: String,
        all_apps: &'static str,
        /// Other conditions are set: the pattern adds nothing to them.
        others: bool,
        recorded: bool,
    },
    /// A warning that the provider's `strict` makes an error; `before_kill`: it was raised before
    /// any kill, so nothing was killed.
    Strict {
        warning: Box<ProviderWarning>,
        before_kill: bool,
    },
    /// At a destroy, the keys see no `account` (in `attribute`), yet DataForest lists `count`
    /// apps for it.
    AccountUnlisted {
        attribute: &'static str,
        account: String,
        count: usize,
    },
    /// A pattern that does not compile.
    InvalidRegex {
        attribute: &'static str,
        reason: String,
    },
    /// More apps matched than the cap (`attribute`, `max_apps`) allows: none is killed.
    /// `ceiling`: the most the cap may be set to.
    TooManyApps {
        attribute: &'static str,
        count: usize,
        max: usize,
        ceiling: usize,
        first: Vec<String>,
    },
    /// Fewer apps matched than the floor (`attribute`, `min_apps`) asks for: none is killed.
    /// `funnel` says how many each condition left.
    TooFewApps {
        attribute: &'static str,
        account: String,
        count: usize,
        min: usize,
        funnel: String,
    },
    /// A bulk kill whose settle rounds did not settle: after `rounds` rounds and `killed` kills,
    /// `count` apps started meanwhile still match (`first` names some). `over_cap`: killing them
    /// would have taken more than `max` apps in all; else the rounds ran out. `attribute` is the
    /// setting to raise.
    Unsettled {
        attribute: &'static str,
        rounds: usize,
        killed: usize,
        count: usize,
        max: usize,
        over_cap: bool,
        first: Vec<String>,
    },
    /// Two bounds (each an attribute and its value) the wrong way round.
    OutOfOrder {
        low: (&'static str, u64),
        high: (&'static str, u64),
    },
    /// A bulk kill that did not kill all it selected (`selected`, in every round): some kills
    /// failed, or were never started (`unstarted` says why). The kills that went through are counted, and those DataForest accepted named;
    /// `recorded`: they are kept in state.
    BulkFailed {
        phase: Phase,
        recorded: bool,
        selected: usize,
        killed: Vec<String>,
        already_ended: usize,
        gone: usize,
        /// Kills DataForest did not accept.
        failures: Vec<FailedKill>,
        /// Kills DataForest accepted whose wait then failed (counted among `killed`).
        unconfirmed: Vec<FailedKill>,
        not_attempted: usize,
        unstarted: Unstarted,
    },
    /// A bulk kill that failed (`cause`) after kills went through: those DataForest accepted
    /// (`killed`, as messages name them) and `others` found ended or gone. `recorded`: they are
    /// kept in state.
    FailedAfterKills {
        phase: Phase,
        recorded: bool,
        killed: Vec<String>,
        others: usize,
        cause: Box<ProviderError>,
    },
    /// A state (of `attribute`) that no YARN application has.
    InvalidState {
        attribute: &'static str,
        value: String,
        valid: &'static [&'static str],
    },
    /// A set argument that names nothing.
    EmptySet {
        attribute: &'static str,
    },
    /// Two arguments that cannot both be set.
    Conflicting {
        first: &'static str,
        second: &'static str,
    },
    /// A whole number out of its range.
    OutOfRange {
        attribute: &'static str,
        value: String,
        low: u64,
        high: u64,
    },
    /// A required argument is blank.
    EmptyArgument {
        name: &'static str,
    },
    /// A time-out too long to compute a deadline from.
    TimeoutTooLong {
        limit: Duration,
    },
    /// A value of the wrong kind, which Terraform's own type checks should have stopped.
    Shape(ShapeError),
    InvalidTimeout {
        path: Vec<PathStep>,
        value: String,
        reason: String,
    },
    /// A duration argument that is not a time-out (`running_longer_than`) and cannot be read.
    InvalidDuration {
        path: Vec<PathStep>,
        value: String,
        reason: String,
    },
    ImportRefused {
        type_name: String,
    },
    /// This process was configured before with other `settings`: it serves one provider
    /// configuration.
    SecondConfiguration {
        settings: Vec<&'static str>,
    },
    /// The audit log the configuration asks for cannot be opened: nothing is killed.
    AuditLogUnwritable {
        path: String,
        reason: String,
    },
    /// The audit log lost a line (`reason`), in this kill or an earlier one of the process: no
    /// kill is sent without its line.
    AuditLogFailed {
        path: String,
        reason: String,
    },
    StateTooNew {
        version: i64,
        supported: i64,
    },
    UnexpectedUpdate,
}

/// Why apps whose account cannot be told are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The provider's account list (this setting) asks that every app be checked.
    Setting(&'static str),
    /// The same listing holds this many apps of other accounts: it ignored its account filter.
    OtherAccountsListed(usize),
    /// An earlier listing of the same kill held this many apps of other accounts.
    OtherAccountsListedBefore(usize),
}

/// Why a bulk kill left apps unattempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unstarted {
    /// The provider was stopped: by Terraform, because Terraform ended, or by a signal.
    Stopped,
    /// The time-out ran out.
    TimedOut,
    /// The audit log could not take a line: no kill starts without its record.
    Unrecorded,
    /// The API Gateway quota of the keys is spent: every call would be refused.
    QuotaSpent,
}

impl Unstarted {
    /// Why, as a clause: "because …".
    pub fn reason(self) -> &'static str {
        match self {
            Unstarted::Stopped => "the provider was stopped",
            Unstarted::TimedOut => "the time-out ran out",
            Unstarted::Unrecorded => {
                "the audit log could not take a line, and no kill starts without its record"
            }
            Unstarted::QuotaSpent => "the API Gateway quota of the keys is spent",
        }
    }
}

/// One app of a bulk kill whose kill failed: the app as messages name it, and why.
#[derive(Debug)]
pub struct FailedKill {
    pub app: String,
    pub error: ProviderError,
}

impl FailedKill {
    /// Why this app's kill failed, in the words a single kill's failure uses.
    pub fn sentence(&self) -> String {
        FailedKill::sentence_of(&self.app, &self.error)
    }

    /// Why the kill of `app` (as messages name it) failed with `error`: the bulk kill's error
    /// lists these, and its progress reports each as it happens.
    pub fn sentence_of(app: &str, error: &ProviderError) -> String {
        match error {
            ProviderError::Kill { failure, attribute, .. } => failure.sentence(app, *attribute),
            other => format!("Could not kill {app}: {}", other.to_diagnostic().summary),
        }
    }
}

impl From<ConfigError> for ProviderError {
    fn from(error: ConfigError) -> ProviderError {
        ProviderError::Config(Box::new(error))
    }
}

impl ProviderError {
    /// A look-up of `what` that the time-out (`limit`) cut off: nothing was killed by it.
    pub fn lookup_timed_out(what: String, limit: std::time::Duration) -> ProviderError {
        let reason = format!("the time-out of {} ran out first", humantime::format_duration(limit));
        let error = ApiError::Transport { reason, timed_out: true, connected: true };
        ProviderError::LookupFailed { what, error: Box::new(error), attempts: 1 }
    }

    /// Whether this is a kill the API Gateway refused because the keys' quota is spent.
    pub fn is_quota_spent(&self) -> bool {
        self.quota_refusal().is_some()
    }

    /// Whether this is a kill never sent because an earlier call found the keys' quota spent.
    pub fn is_quota_spent_unsent(&self) -> bool {
        self.quota_refusal() == Some(0)
    }

    /// The attempts of a kill the API Gateway refused because the keys' quota is spent.
    fn quota_refusal(&self) -> Option<u32> {
        match self {
            ProviderError::Kill { failure, .. } => failure
                .api_error()
                .filter(|(error, _)| error.is_quota_exceeded())
                .map(|(_, attempts)| attempts),
            _ => None,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            ProviderError::Config(error) => config::diagnostic(error).at_attribute(error.attribute()),
            ProviderError::Decode { what, error } => Diagnostic::unreadable(what, error),
            ProviderError::UnknownType { kind, name } => Diagnostic::error(
                format!("Unknown {kind} type"),
                format!(
                    "This provider has no {kind} named {}. Check the type name in your configuration.",
                    quote_start(name)
                ),
            ),
            ProviderError::InvalidAppId { attribute, value } => Diagnostic::error(
                format!("Invalid {attribute}"),
                format!(
                    "{attribute} must be a DataForest AI app id: 1 to 22 characters of 0-9, A-Z and a-z. \
                     Got {} ({} characters).",
                    quote_start(value),
                    value.chars().count()
                ),
            )
            .at_attribute(attribute),
            ProviderError::NotConfigured => Diagnostic::error(
                "Provider not configured",
                "The ncloud provider is not configured: its settings were still unknown, or Terraform has not \
                 configured it yet. Make the provider block depend only on values known at plan time.",
            ),
            ProviderError::Kill { app_id, attribute, phase, failure } => {
                let sentence = failure.sentence(&format!("{app_id:?}"), *attribute);
                let next = kill::next_step(*phase, failure.accepted());
                Diagnostic::error(failure.summary(), format!("{sentence} {next}")).at_optional_attribute(*attribute)
            }
            ProviderError::Stopped => Diagnostic::error(
                "Provider stopped",
                "Terraform asked this provider to stop (Ctrl-C, or a cancelled run), so it starts no new kill or \
                 look-up until it is configured again. Nothing was sent to DataForest; run Terraform again.",
            ),
            ProviderError::ProviderConfigUnknown { settings } => {
                let names = settings.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ");
                let (are, them, they_depend) =
                    if settings.len() == 1 { ("is", "it", "it depends") } else { ("are", "them", "they depend") };
                Diagnostic::error(
                    "Provider configuration unknown",
                    format!(
                        "DataForest cannot be called yet: the provider's {names} {are} not known until apply. Data \
                         sources are read while Terraform plans, so their provider's settings must be known then: \
                         set {them} from values known at plan time (variables, locals, other data sources), or \
                         first apply what {they_depend} on, with `terraform apply -target=ADDRESS`."
                    ),
                )
            }
            ProviderError::InvalidWhen { attribute, value } => Diagnostic::error(
                format!("Invalid {attribute}"),
                format!("{attribute} must be \"create\" or \"destroy\", not {}.", quote_start(value)),
            )
            .at_attribute(attribute),
            ProviderError::Interrupted => {
                Diagnostic::error(
                    "Interrupted",
                    "The provider was stopped (by Terraform, because Terraform ended, or by SIGTERM or SIGHUP) \
                     before DataForest answered.",
                )
            }
            ProviderError::IntentUnchecked { app_id, attribute, error, attempts } => Diagnostic::error(
                "Cannot arm the kill at destroy",
                format!(
                    "Before recording a kill for destroy time, the provider checks that DataForest knows AI app \
                     {app_id:?}, so that a mistyped id fails now rather than at the destroy. Reading it failed{}: \
                     {error}.{} Nothing was recorded, so the next apply checks again.",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() },
                    kill::api_hint(error, *attribute)
                ),
            )
            .at_optional_attribute(*attribute),
            ProviderError::LookupFailed { what, error, attempts } => Diagnostic::error(
                "DataForest look-up failed",
                format!(
                    "Reading {what} failed{}: {error}.{}",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() },
                    kill::api_hint(error, None)
                ),
            ),
            ProviderError::UnknownAccount { attribute, account, count, visible } => Diagnostic::error(
                "Unknown account",
                format!(
                    "These keys see no DataForest account {} (accounts/getList), so nothing was selected or \
                     killed. {} Check {attribute}, and that the keys belong to the account.",
                    quote_start(account),
                    match (count, visible.len()) {
                        (0, _) => "They see no account at all.".to_string(),
                        (count, shown) if *count > shown => {
                            format!("They see {count}, among them: {}, ...", visible.join(", "))
                        }
                        _ => format!("They see: {}.", visible.join(", ")),
                    }
                ),
            )
            .at_attribute(attribute),
            ProviderError::AccountRefused { setting, env, account, app, attribute } => Diagnostic::error(
                "Account not allowed",
                format!(
                    "{} account {}, which the provider's {setting} refuses, so nothing was sent to it. Check \
                     {setting} in the provider block (or {env}), and that this configuration is meant for that \
                     account.",
                    match app {
                        Some(app) => format!("AI app {app:?} belongs to"),
                        None => "This selects in".to_string(),
                    },
                    quote_start(account)
                ),
            )
            .at_optional_attribute(*attribute),
            ProviderError::AccountUnverifiable { setting, subject, why } => Diagnostic::error(
                "Account not verifiable",
                format!(
                    "The provider's {setting} asks that every kill's account be checked, but {subject} cannot be \
                     told to belong to a permitted account: {why}. Nothing was sent to DataForest."
                ),
            ),
            ProviderError::AllForeign { attribute, account, listed, claims, others } => Diagnostic::error(
                "Apps of other accounts only",
                format!(
                    "DataForest listed {listed} app(s) for account {account:?}, and every one says it is another \
                     account's (their accountId or accountName names {}), so none can be told to be the account's \
                     and nothing was selected or killed. Check {attribute}; if the names differ only in form, \
                     report it.",
                    claims.iter().map(|name| format!("{name:?}")).collect::<Vec<_>>().join(", ")
                        + if *others { " and others" } else { "" }
                ),
            )
            .at_attribute(attribute),
            ProviderError::UnverifiableApps { attribute, account, count, first, why, refused_by } => {
                let because = match refused_by {
                    Refusal::Setting(setting) => {
                        format!("the provider's {setting} asks that every app's account be checked")
                    }
                    Refusal::OtherAccountsListed(foreign) => format!(
                        "the same listing holds {foreign} app(s) of other accounts (it ignored its account \
                         filter, and these may be anyone's)"
                    ),
                    Refusal::OtherAccountsListedBefore(foreign) => format!(
                        "an earlier listing of this kill held {foreign} app(s) of other accounts (the listing \
                         ignored its account filter then, and these may be anyone's)"
                    ),
                };
                Diagnostic::error(
                    "Account of apps unverifiable",
                    format!(
                        "{count} app(s) listed for account {account:?} would be selected, but their account cannot \
                         be told ({why}): {}{}. Since {because}, nothing was selected or killed. Check the keys and \
                         {attribute}; if DataForest's listing lost its account fields, report it.",
                        first.join(", "),
                        if *count > first.len() { ", ..." } else { "" }
                    ),
                )
                .at_attribute(attribute)
            }
            ProviderError::PartialListing { attribute, account, entries, claimed } => Diagnostic::error(
                "Partial listing",
                format!(
                    "DataForest's listing of account {account:?} holds {entries} of {claimed} apps (its count says \
                     {claimed}), so a selection from it could leave matching apps running: nothing was selected or \
                     killed. Run again; if it persists, narrow the selection or report it."
                ),
            )
            .at_attribute(attribute),
            ProviderError::AccountWide { attribute, conditions, recorded } => Diagnostic::error(
                "Selector takes the whole account",
                format!(
                    "This selector sets no condition beyond account_id, so it would kill every app of the account \
                     that is still running (up to max_apps). Set one of {} to narrow it, or set {attribute} = true \
                     if every running app of the account is meant (exclusions still apply).{}",
                    conditions.join(", "),
                    apply_first(*recorded)
                ),
            )
            .at_attribute(attribute),
            ProviderError::MatchesEveryName { attribute, pattern, all_apps, others, recorded } => Diagnostic::error(
                "Pattern matches every name",
                format!(
                    "{attribute} {} matches every name (names as unlike as \"a\", \"Z9\", \"-\" and \" x \"), so it \
                     selects {}, as no pattern would. Fix the pattern (a variable left empty inside it, say), or {}.{}",
                    quote_start(pattern),
                    if *others { "every app the other conditions select" } else { "every app of the account" },
                    if *others {
                        format!("remove {attribute} if the other conditions alone are meant")
                    } else {
                        format!("set {all_apps} = true instead if every running app of the account is meant")
                    },
                    apply_first(*recorded)
                ),
            )
            .at_attribute(attribute),
            ProviderError::Strict { warning, before_kill } => {
                let mut diagnostic = warning.to_strict_diagnostic();
                diagnostic.severity = Severity::Error;
                diagnostic.detail.push_str(if *before_kill {
                    " The provider's strict setting makes this an error, raised before any kill: nothing was \
                     killed."
                } else {
                    " The provider's strict setting makes this an error."
                });
                diagnostic
            }
            ProviderError::AccountUnlisted { attribute, account, count } => Diagnostic::error(
                "Account not listed",
                format!(
                    "These keys see no account {account:?} (accounts/getList), yet DataForest's listing for it \
                     holds or counts {count} app(s), so the destroy stops rather than kill apps it cannot check. The resource stays in \
                     state. Check {attribute} and the keys."
                ),
            )
            .at_attribute(attribute),
            ProviderError::InvalidRegex { attribute, reason } => Diagnostic::error(
                "Invalid regular expression",
                format!("{attribute} is not a regular expression the `regex` crate accepts: {reason}"),
            )
            .at_attribute(attribute),
            ProviderError::TooManyApps { attribute, count, max, ceiling, first } => Diagnostic::error(
                "Too many apps selected",
                format!(
                    "{count} apps match, more than {attribute} ({max}) allows, so none was killed. The first ones: \
                     {}{}. {}",
                    first.join(", "),
                    if *count > first.len() { ", ..." } else { "" },
                    if count > ceiling {
                        format!(
                            "{attribute} goes up to {ceiling}: narrow the selector, or split the kill by name, queue \
                             or workspace."
                        )
                    } else {
                        format!("Narrow the selector, or raise {attribute} if they should all go.")
                    }
                ),
            )
            .at_attribute(attribute),
            ProviderError::TooFewApps { attribute, account, count, min, funnel } => Diagnostic::error(
                "Too few apps selected",
                format!(
                    "{count} app(s) of account {account:?} match, fewer than {attribute} ({min}) asks for, so none \
                     was killed: {funnel}. Check account_id and the selector; lower {attribute} if fewer apps are \
                     expected."
                ),
            )
            .at_attribute(attribute),
            ProviderError::Unsettled { attribute, rounds, killed, count, max, over_cap, first } => {
                let named = format!("{}{}", first.join(", "), if *count > first.len() { ", ..." } else { "" });
                let detail = if *over_cap {
                    format!(
                        "After {killed} app(s) were killed, {count} more started meanwhile match, more than \
                         {attribute} ({max}) allows in all, so no more were killed: {named}. Raise {attribute}, or \
                         narrow the selector."
                    )
                } else {
                    format!(
                        "After {killed} app(s) were killed and {rounds} settle round(s), {count} app(s) started \
                         meanwhile still match: {named}. Raise {attribute}, or run again."
                    )
                };
                Diagnostic::error("Apps still match", detail).at_attribute(attribute)
            }
            ProviderError::OutOfOrder { low: (low, low_value), high: (high, high_value) } => Diagnostic::error(
                format!("Invalid {low}"),
                format!("{low} ({low_value}) is larger than {high} ({high_value}): no selection could satisfy both."),
            )
            .at_attribute(low),
            ProviderError::BulkFailed {
                phase,
                recorded,
                selected,
                killed,
                already_ended,
                gone,
                failures,
                unconfirmed,
                not_attempted,
                unstarted,
            } => {
                let mut counts = vec![format!("{} killed", killed.len())];
                if !unconfirmed.is_empty() {
                    counts[0].push_str(&format!(" ({} of them not seen ending)", unconfirmed.len()));
                }
                if *already_ended > 0 {
                    counts.push(format!("{already_ended} had already ended"));
                }
                if *gone > 0 {
                    counts.push(format!("{gone} no longer existed"));
                }
                if !failures.is_empty() {
                    counts.push(format!("{} failed", failures.len()));
                }
                if *not_attempted > 0 {
                    counts.push(format!("{not_attempted} not attempted, because {}", unstarted.reason()));
                }
                let mut detail = format!("Of the {selected} selected apps: {}.", counts.join(", "));
                if !killed.is_empty() {
                    detail.push_str(&format!("\nKilled: {}.", named_list(killed)));
                }
                for (heading, listed) in [("Killed, but not seen ending:", unconfirmed), ("Failed:", failures)] {
                    if listed.is_empty() {
                        continue;
                    }
                    detail.push_str(&format!("\n{heading}"));
                    for failed in listed.iter().take(MAX_LISTED_FAILURES) {
                        detail.push_str(&format!("\n- {}", failed.sentence()));
                    }
                    if listed.len() > MAX_LISTED_FAILURES {
                        detail.push_str(&format!("\n- and {} more", listed.len() - MAX_LISTED_FAILURES));
                    }
                }
                let next = kill::next_bulk_step(*phase, *recorded);
                Diagnostic::error("DataForest kills failed", format!("{detail}\n{next}"))
            }
            ProviderError::FailedAfterKills { phase, recorded, killed, others, cause } => {
                let mut diagnostic = cause.to_diagnostic();
                if matches!(**cause, ProviderError::Stopped | ProviderError::Interrupted) {
                    diagnostic.detail =
                        "The provider was stopped (by Terraform, because Terraform ended, or by SIGTERM or SIGHUP) \
                         before the next settle round had listed the account."
                            .to_string();
                }
                let mut before = format!("Before that, {} app(s) were killed", killed.len());
                if !killed.is_empty() {
                    before.push_str(&format!(": {}", named_list(killed)));
                }
                if *others > 0 {
                    before.push_str(&format!("; {others} had already ended or no longer existed"));
                }
                diagnostic.detail =
                    format!("{}\n{before}.\n{}", diagnostic.detail, kill::next_bulk_step(*phase, *recorded));
                diagnostic
            }
            ProviderError::InvalidState { attribute, value, valid } => Diagnostic::error(
                format!("Invalid {attribute}"),
                format!(
                    "{} is not a state a DataForest AI app can be in. Use one of {} (any case).",
                    quote_start(value),
                    valid.join(", ")
                ),
            )
            .at_attribute(attribute),
            ProviderError::EmptySet { attribute } => Diagnostic::error(
                format!("Empty {attribute}"),
                format!("{attribute} names nothing, so nothing would match. Name at least one, or leave it out."),
            )
            .at_attribute(attribute),
            ProviderError::Conflicting { first, second } => Diagnostic::error(
                "Conflicting arguments",
                format!("Set {first} or {second}, not both."),
            )
            .at_attribute(second),
            ProviderError::OutOfRange { attribute, value, low, high } => Diagnostic::error(
                format!("Invalid {attribute}"),
                format!("{attribute} must be a whole number from {low} to {high}, not {value}."),
            )
            .at_attribute(attribute),
            ProviderError::EmptyArgument { name } => {
                Diagnostic::error(format!("Empty {name}"), format!("{name} must not be blank.")).at_attribute(name)
            }
            ProviderError::TimeoutTooLong { limit } => Diagnostic::error(
                "Time-out too long",
                format!("A time-out of {} is too long to wait for.", humantime::format_duration(*limit)),
            ),
            ProviderError::Shape(ShapeError { path, expected, got }) => {
                Diagnostic::error("Wrong type", format!("{} must be {expected}, not {got}.", path_text(path)))
                    .at_path(path.clone())
            }
            ProviderError::InvalidTimeout { path, value, reason } => Diagnostic::error(
                "Invalid time-out",
                format!(
                    "{} {value:?} is not a usable duration: {reason}. Write it like \"30s\", \"5m\" or \"1h30m\".",
                    path_text(path)
                ),
            )
            .at_path(path.clone()),
            ProviderError::InvalidDuration { path, value, reason } => Diagnostic::error(
                "Invalid duration",
                format!(
                    "{} {value:?} is not a usable duration: {reason}. Write it like \"90m\", \"6h\" or \"1d\".",
                    path_text(path)
                ),
            )
            .at_path(path.clone()),
            ProviderError::ImportRefused { type_name } => Diagnostic::error(
                "Import is not supported",
                format!(
                    "{type_name} records a kill that this configuration performed; there is nothing in DataForest \
                     to import. Declare the resource and apply it instead: the apply sends the kill and records \
                     DataForest's answer."
                ),
            ),
            ProviderError::SecondConfiguration { settings } => Diagnostic::error(
                "One provider configuration per process",
                format!(
                    "This provider process was configured before with other settings (they differ in {}), and \
                     it serves one provider configuration, so this one was refused. Terraform starts a \
                     process per provider configuration, except in debug mode (TF_REATTACH_PROVIDERS), where \
                     every configuration, aliases included, talks to the one process started with --debug. \
                     Start one debug process per provider configuration, or run without debug mode.",
                    settings.join(", ")
                ),
            ),
            ProviderError::AuditLogUnwritable { path, reason } => Diagnostic::error(
                "Audit log unwritable",
                format!(
                    "The audit log {path:?} cannot be opened for appending: {reason}. Nothing was killed: a kill \
                     runs only with the record asked for. audit_log must name a regular file, or a path to \
                     create in a writable folder: fix the path, or change audit_log (or \
                     NCLOUD_DATAFOREST_AUDIT_LOG) in the provider block."
                ),
            ),
            ProviderError::AuditLogFailed { path, reason } => Diagnostic::error(
                "Audit log failed",
                format!(
                    "The audit log {path:?} could not take a line: {reason}. Every kill is written to it before \
                     it is sent, so no kill was sent, and none will be while this provider process runs (one \
                     Terraform run; in debug mode, until the provider is restarted). Check the file system the \
                     log is on (space, quota, file-size limit), then run again."
                ),
            ),
            ProviderError::StateTooNew { version, supported } => Diagnostic::error(
                "State from a newer provider",
                format!(
                    "This state was written with schema version {version}, but this provider knows versions up to \
                     {supported}. Use the provider version that wrote it, or newer."
                ),
            ),
            ProviderError::UnexpectedUpdate => Diagnostic::error(
                "Unexpected in-place update",
                "Only wait_for_termination and timeouts change in place, but Terraform asked to update another \
                 argument in place. This is a bug in the provider; please report it.",
            ),
        }
    }
}

/// What a refusal of the selector recorded at the last apply adds: a destroy uses that one.
fn apply_first(recorded: bool) -> &'static str {
    if recorded {
        " A destroy uses the selector recorded at the last apply: apply the change before the destroy."
    } else {
        ""
    }
}

/// Apps as a message names them: the first twenty, and how many more.
pub fn named_list(apps: &[String]) -> String {
    let mut named = apps.iter().take(MAX_LISTED_FAILURES).cloned().collect::<Vec<_>>().join(", ");
    if apps.len() > MAX_LISTED_FAILURES {
        named.push_str(&format!(", and {} more", apps.len() - MAX_LISTED_FAILURES));
    }
    named
}

/// An attribute path as a user reads it: `timeouts.create`, `triggers["run"]`, `apps[0].id`.
fn path_text(path: &[PathStep]) -> String {
    if path.is_empty() {
        return "The value".to_string();
    }
    let mut text = String::new();
    for step in path {
        match step {
            PathStep::Attribute(name) if text.is_empty() => text.push_str(name),
            PathStep::Attribute(name) => text.push_str(&format!(".{name}")),
            PathStep::Key(key) => text.push_str(&format!("[{key:?}]")),
            PathStep::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

impl From<ShapeError> for ProviderError {
    fn from(error: ShapeError) -> ProviderError {
        ProviderError::Shape(error)
    }
}

/// A value quoted for a message, cut short: a hostile configuration can hold megabytes.
fn quote_start(value: &str) -> String {
    const SHOWN_CHARS: usize = 40;
    if value.chars().count() <= SHOWN_CHARS {
        format!("{value:?}")
    } else {
        format!("{:?}…", value.chars().take(SHOWN_CHARS).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::config::ACCESS_KEY;

    #[test]
    fn missing_credential_names_attribute_and_env() {
        let diagnostic = ProviderError::from(ConfigError::Missing(ACCESS_KEY)).to_diagnostic();
        assert_eq!(diagnostic.summary, "Missing access_key");
        assert!(
            diagnostic.detail.contains("`access_key`") && diagnostic.detail.contains("NCLOUD_ACCESS_KEY")
        );
        assert_eq!(diagnostic, diagnostic.clone().at_attribute("access_key"));
    }

    #[test]
    fn kill_failure_shows_status_code_and_message() {
        let error = ApiError::Gateway {
            status: 401,
            code: "210".into(),
            message: "Permission Denied".into(),
            details: None,
        };
        let failure =
            KillFailure::Failed { error: Box::new(error), attempts: 1, earlier_attempt_uncertain: false };
        let diagnostic = ProviderError::Kill {
            app_id: "abc".into(),
            attribute: Some("app_id"),
            phase: Phase::Create,
            failure,
        }
        .to_diagnostic();
        assert!(
            diagnostic.detail.contains("HTTP 401, API Gateway error 210: Permission Denied"),
            "{}",
            diagnostic.detail
        );
        assert!(diagnostic.detail.contains("Nothing was recorded, so the next apply sends the kill again"));
    }

    #[test]
    fn a_kill_the_spent_quota_kept_from_being_sent_says_so() {
        let quota = || ApiError::Gateway {
            status: 429,
            code: "400".into(),
            message: "Quota Exceeded".into(),
            details: None,
        };
        let sentence = |attempts| {
            KillFailure::Failed { error: Box::new(quota()), attempts, earlier_attempt_uncertain: false }
                .sentence("A1", Some("app_id"))
        };
        let unsent = sentence(0);
        assert!(
            unsent.starts_with(
                "The kill of AI app A1 was not sent: an earlier call of the provider was answered HTTP 429"
            ),
            "{unsent}"
        );
        assert!(unsent.contains("quota of these keys is spent"), "{unsent}");
        assert!(sentence(1).starts_with("Killing AI app A1 failed: HTTP 429"), "{}", sentence(1));
    }

    #[test]
    fn only_an_app_the_configuration_named_can_have_a_mistyped_id() {
        let missing = || KillFailure::Failed {
            error: Box::new(ApiError::Rejected { status: 404, message: "no such element".into() }),
            attempts: 1,
            earlier_attempt_uncertain: false,
        };
        let hint = "Check the app id";
        let single = ProviderError::Kill {
            app_id: "A1".into(),
            attribute: Some("app_id"),
            phase: Phase::Create,
            failure: missing(),
        };
        assert!(single.to_diagnostic().detail.contains(hint));
        // A bulk kill's app came from the account's own listing.
        let listed = FailedKill {
            app: "A1 (etl)".into(),
            error: ProviderError::Kill {
                app_id: "A1".into(),
                attribute: None,
                phase: Phase::Create,
                failure: missing(),
            },
        };
        let sentence = listed.sentence();
        assert!(
            sentence.contains("HTTP 404, DataForest: no such element") && !sentence.contains(hint),
            "{sentence}"
        );
    }

    #[test]
    fn a_bulk_failure_lists_twenty_failures_and_counts_the_rest() {
        let refused = || KillFailure::Failed {
            error: Box::new(ApiError::Rejected { status: 400, message: "refused".into() }),
            attempts: 1,
            earlier_attempt_uncertain: false,
        };
        let failures: Vec<FailedKill> = (1..=25)
            .map(|n| FailedKill {
                app: format!("App{n:02}"),
                error: ProviderError::Kill {
                    app_id: format!("App{n:02}"),
                    attribute: None,
                    phase: Phase::Destroy,
                    failure: refused(),
                },
            })
            .collect();
        let killed: Vec<String> = (26..=33).map(|n| format!("App{n:02}")).collect();
        let error = ProviderError::BulkFailed {
            phase: Phase::Destroy,
            recorded: false,
            selected: 40,
            killed,
            already_ended: 0,
            gone: 0,
            failures,
            unconfirmed: Vec::new(),
            not_attempted: 7,
            unstarted: Unstarted::Stopped,
        };
        let detail = error.to_diagnostic().detail;
        assert!(
            detail.starts_with(
                "Of the 40 selected apps: 8 killed, 25 failed, 7 not attempted, because the provider was \
                 stopped.\nKilled: App26, App27,"
            ),
            "{detail}"
        );
        assert!(
            detail.contains("- Killing AI app App20 failed: HTTP 400, DataForest: refused.")
                && !detail.contains("App21 failed"),
            "{detail}"
        );
        assert!(detail.contains("- and 5 more"), "{detail}");
        assert!(detail.contains("The resource stays in state"), "{detail}");

        let timed_out = ProviderError::BulkFailed {
            phase: Phase::Action,
            recorded: false,
            selected: 3,
            killed: Vec::new(),
            already_ended: 1,
            gone: 0,
            failures: Vec::new(),
            unconfirmed: Vec::new(),
            not_attempted: 2,
            unstarted: Unstarted::TimedOut,
        };
        let detail = timed_out.to_diagnostic().detail;
        assert!(
            detail.starts_with(
                "Of the 3 selected apps: 0 killed, 1 had already ended, 2 not attempted, because the time-out ran \
                 out.\nNothing is recorded"
            ),
            "{detail}"
        );
        // Killed apps are named: the first twenty, and how many more.
        let many: Vec<String> = (1..=23).map(|n| format!("App{n:02}")).collect();
        assert!(named_list(&many).ends_with("App20, and 3 more"), "{}", named_list(&many));
    }

    #[test]
    fn a_look_up_says_how_often_it_was_tried_and_what_to_check() {
        let failed = |error: ApiError, attempts| {
            ProviderError::LookupFailed {
                what: "the apps of account \"acc1\"".into(),
                error: Box::new(error),
                attempts,
            }
            .to_diagnostic()
            .detail
        };
        let retried = failed(ApiError::Rejected { status: 500, message: "unexpected error".into() }, 5);
        assert!(retried.contains("failed after 5 attempts: HTTP 500"), "{retried}");
        let refused = ApiError::Gateway {
            status: 401,
            code: "200".into(),
            message: "Authentication Failed".into(),
            details: None,
        };
        let detail = failed(refused, 1);
        assert!(
            detail.contains("Check access_key and secret_key, and that the machine's clock is right"),
            "{detail}"
        );
        let forbidden = failed(ApiError::Rejected { status: 403, message: "not allowed".into() }, 1);
        assert!(forbidden.contains("may use DataForest"), "{forbidden}");
    }

    #[test]
    fn a_failure_after_kills_names_what_was_killed_and_never_says_nothing_was_sent() {
        let after = |cause| ProviderError::FailedAfterKills {
            phase: Phase::Create,
            recorded: true,
            killed: vec!["A1 (etl)".into(), "A2 (train)".into()],
            others: 1,
            cause: Box::new(cause),
        };
        let stopped = after(ProviderError::Stopped).to_diagnostic();
        assert!(!stopped.detail.contains("Nothing was sent"), "{}", stopped.detail);
        assert!(
            stopped.detail.contains(
                "Before that, 2 app(s) were killed: A1 (etl), A2 (train); 1 had already ended or no longer existed."
            ),
            "{}",
            stopped.detail
        );
        assert!(
            stopped.detail.contains("recorded in `killed` and the resource is tainted"),
            "{}",
            stopped.detail
        );
        let unsettled = after(ProviderError::Unsettled {
            attribute: "settle_rounds",
            rounds: 1,
            killed: 2,
            count: 1,
            max: 20,
            over_cap: false,
            first: vec!["A9 (late)".into()],
        })
        .to_diagnostic();
        assert_eq!(unsettled.summary, "Apps still match");
        assert_eq!(unsettled.path, vec![PathStep::Attribute("settle_rounds".into())]);
        assert!(unsettled.detail.contains("Before that, 2 app(s) were killed"), "{}", unsettled.detail);
    }
}
