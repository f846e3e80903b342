//! Every failure the provider reports, typed until here, and the one place where each becomes a
//! Terraform diagnostic: a short summary, an actionable detail, and the attribute path when
//! there is one. No message carries a secret: errors hold none.

use std::time::Duration;

use crate::ncp::ApiError;
use crate::protocol::diagnostic::{Diagnostic, PathStep};
use crate::protocol::object::ShapeError;
use crate::protocol::value::DecodeError;

use super::aiapp_kill::AppKill;
use super::config::{ACCESS_KEY, ConfigError, Source};
use super::kill::Phase;
use super::selector::Selector;

/// How many failed apps a bulk kill's error lists; the rest are counted.
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
    InvalidAppId {
        value: String,
    },
    NotConfigured,
    /// A kill did not complete: where it ran, and why.
    Kill {
        app_id: String,
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
    InvalidWhen {
        value: String,
    },
    /// Before arming a kill for destroy time, reading the app failed (404: DataForest does not
    /// know it); nothing is recorded.
    IntentUnchecked {
        app_id: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// A look-up (`getList`, `getDetail`) failed.
    LookupFailed {
        what: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// A pattern that does not compile.
    InvalidRegex {
        attribute: &'static str,
        reason: String,
    },
    /// More apps matched than `max_apps` allows: none is killed.
    TooManyApps {
        count: usize,
        max: usize,
        first: Vec<String>,
    },
    /// A bulk kill that did not kill all it selected: some kills failed, or were never started
    /// because Terraform asked to stop (`stopped`) or the time-out ran out.
    BulkFailed {
        phase: Phase,
        selected: usize,
        /// Each failed app, as messages name it, and why.
        failures: Vec<(String, String)>,
        not_attempted: usize,
        stopped: bool,
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
    StateTooNew {
        version: i64,
        supported: i64,
    },
    UnexpectedUpdate,
}

/// Why a kill did not complete.
#[derive(Debug)]
pub enum KillFailure {
    /// The kill call failed for good (refused, or no answer after the retries); DataForest did
    /// not answer that it accepted it. `earlier_attempt_uncertain`: an attempt before the last got
    /// no clear answer, so the kill may have happened all the same.
    Failed { error: Box<ApiError>, attempts: u32, earlier_attempt_uncertain: bool },
    /// The time-out ran out before the kill was answered: it may or may not have happened.
    TimedOut { limit: Duration },
    /// Terraform asked the provider to stop while the kill was in flight (`accepted: false`: it
    /// may or may not have happened) or while waiting after DataForest accepted it.
    Interrupted { accepted: bool },
    /// DataForest accepted the kill, but reading the app's state while waiting failed.
    WaitFailed { error: Box<ApiError>, attempts: u32 },
    /// DataForest accepted the kill, but the app had not ended when the time-out ran out.
    StillRunning { limit: Duration, last_state: String },
}

impl KillFailure {
    /// Whether DataForest had accepted the kill before it failed.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            KillFailure::Interrupted { accepted: true }
                | KillFailure::WaitFailed { .. }
                | KillFailure::StillRunning { .. }
        )
    }
}

/// Things worth telling the user about an operation that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderWarning {
    /// The kill was refused, but the app had already ended; it counts as done. `uncertain`: an
    /// earlier attempt of the same kill got no clear answer and may be what ended it.
    AlreadyEnded { app_id: String, state: String, uncertain: bool },
    /// At destroy, the kill was refused because the app no longer exists (`getDetail` finds it
    /// neither): there is nothing left to kill.
    AppGone { app_id: String, uncertain: bool },
    /// DataForest accepted the kill, then stopped knowing the app while the provider waited for
    /// it to end: it counts as ended.
    VanishedWhileWaiting { app_id: String },
    /// Apps that matched all but `running_longer_than` have no readable start time, so they were
    /// not selected: how many, and the first few.
    UnreadableStart { count: usize, first: Vec<String> },
}

impl ProviderWarning {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            ProviderWarning::AlreadyEnded { app_id, state, uncertain: false } => Diagnostic::warning(
                "App had already ended",
                format!(
                    "DataForest refused the kill of AI app {app_id:?}, but the app had already ended (state \
                     {state}), so the kill counts as done. `success` is false and `message` holds the refusal; \
                     `app_state` records the state it had ended in."
                ),
            )
            .at_attribute(AppKill::app_id),
            ProviderWarning::AlreadyEnded { app_id, state, uncertain: true } => Diagnostic::warning(
                "App has ended",
                format!(
                    "An earlier attempt of the kill of AI app {app_id:?} got no clear answer and may have ended the \
                     app; a later attempt found it ended (state {state}), so the kill counts as done. `success` is \
                     false and `message` holds DataForest's last answer; `app_state` records the state."
                ),
            )
            .at_attribute(AppKill::app_id),
            ProviderWarning::AppGone { app_id, uncertain } => Diagnostic::warning(
                "App no longer exists",
                format!(
                    "DataForest does not know AI app {app_id:?} (the kill and getDetail both answered \"no such \
                     element\"), so there is nothing left to kill and the destroy goes on.{} If the provider's keys \
                     changed since the resource was created, check that they belong to the app's account: to \
                     another account's keys the app does not exist, and it may still be running.",
                    if *uncertain { " An earlier attempt of the kill got no clear answer." } else { "" }
                ),
            )
            .at_attribute(AppKill::app_id),
            ProviderWarning::UnreadableStart { count, first } => Diagnostic::warning(
                "Start time unreadable",
                format!(
                    "{count} app(s) matched every condition but `running_longer_than`, and DataForest gave no start \
                     time that could be read, so they were not selected: {}{}.",
                    first.join(", "),
                    if *count > first.len() { ", ..." } else { "" }
                ),
            )
            .at_attribute(Selector::running_longer_than),
            ProviderWarning::VanishedWhileWaiting { app_id } => Diagnostic::warning(
                "App gone while waiting",
                format!(
                    "DataForest accepted the kill of AI app {app_id:?}, then stopped knowing the app (getDetail \
                     answered \"no such element\") while the provider waited for it to end, so it counts as ended. \
                     `app_state` and `final_status` stay empty."
                ),
            )
            .at_attribute(AppKill::app_id),
        }
    }
}

impl From<ConfigError> for ProviderError {
    fn from(error: ConfigError) -> ProviderError {
        ProviderError::Config(Box::new(error))
    }
}

impl ProviderError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            ProviderError::Config(error) => config_diagnostic(error).at_attribute(error.attribute()),
            ProviderError::Decode { what, error } => Diagnostic::unreadable(what, error),
            ProviderError::UnknownType { kind, name } => Diagnostic::error(
                format!("Unknown {kind} type"),
                format!(
                    "This provider has no {kind} named {}. Check the type name in your configuration.",
                    quote_start(name)
                ),
            ),
            ProviderError::InvalidAppId { value } => Diagnostic::error(
                "Invalid app_id",
                format!(
                    "app_id must be a DataForest AI app id: 1 to 22 characters of 0-9, A-Z and a-z. \
                     Got {} ({} characters).",
                    quote_start(value),
                    value.chars().count()
                ),
            )
            .at_attribute(AppKill::app_id),
            ProviderError::NotConfigured => Diagnostic::error(
                "Provider not configured",
                "The ncloud provider is not configured: its settings were still unknown, or Terraform has not \
                 configured it yet. Make the provider block depend only on values known at plan time.",
            ),
            ProviderError::Kill { app_id, phase, failure } => kill_diagnostic(app_id, *phase, failure),
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
            ProviderError::InvalidWhen { value } => Diagnostic::error(
                "Invalid when",
                format!("when must be \"create\" or \"destroy\", not {}.", quote_start(value)),
            )
            .at_attribute(AppKill::when),
            ProviderError::Interrupted => {
                Diagnostic::error("Interrupted", "Terraform asked the provider to stop before DataForest answered.")
            }
            ProviderError::IntentUnchecked { app_id, error, attempts } => Diagnostic::error(
                "Cannot arm the kill at destroy",
                format!(
                    "Before recording a kill for destroy time, the provider checks that DataForest knows AI app \
                     {app_id:?}, so that a mistyped id fails now rather than at the destroy. Reading it failed{}: \
                     {error}.{} Nothing was recorded, so the next apply checks again.",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() },
                    api_hint(error)
                ),
            )
            .at_attribute(AppKill::app_id),
            ProviderError::LookupFailed { what, error, attempts } => Diagnostic::error(
                "DataForest look-up failed",
                format!(
                    "Reading {what} failed{}: {error}.",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
                ),
            ),
            ProviderError::InvalidRegex { attribute, reason } => Diagnostic::error(
                "Invalid regular expression",
                format!("{attribute} is not a regular expression the `regex` crate accepts: {reason}"),
            )
            .at_attribute(attribute),
            ProviderError::TooManyApps { count, max, first } => Diagnostic::error(
                "Too many apps selected",
                format!(
                    "{count} apps match, more than max_apps ({max}) allows, so none was killed. The first ones: {}{}. \
                     Narrow the selector, or raise max_apps if they should all go.",
                    first.join(", "),
                    if *count > first.len() { ", ..." } else { "" }
                ),
            )
            .at_attribute("max_apps"),
            ProviderError::BulkFailed { phase, selected, failures, not_attempted, stopped } => {
                let mut listed: Vec<String> = failures
                    .iter()
                    .take(MAX_LISTED_FAILURES)
                    .map(|(app, reason)| format!("- {app}: {reason}"))
                    .collect();
                if failures.len() > MAX_LISTED_FAILURES {
                    listed.push(format!("- and {} more", failures.len() - MAX_LISTED_FAILURES));
                }
                let mut counts = Vec::new();
                if !failures.is_empty() {
                    counts.push(format!("{} of the {selected} selected kills failed", failures.len()));
                }
                if *not_attempted > 0 {
                    let why = if *stopped { "Terraform asked the provider to stop" } else { "the time-out ran out" };
                    counts.push(format!("{not_attempted} were not attempted, because {why}"));
                }
                let next = match phase {
                    Phase::Create | Phase::Update => "Nothing was recorded, so the next apply selects again and kills what still matches.",
                    Phase::Destroy => "The resource stays in state, so the next destroy selects again and kills what still matches.",
                    Phase::Action => "Nothing is recorded; invoke the action again to kill what still matches.",
                };
                let went_through = selected.saturating_sub(failures.len() + not_attempted);
                let mut detail = match went_through {
                    0 => format!("{}; none was killed.", counts.join(", and ")),
                    n => format!("{}; the other {n} were killed.", counts.join(", and ")),
                };
                if !listed.is_empty() {
                    detail = format!("{detail}\n{}", listed.join("\n"));
                }
                Diagnostic::error("DataForest kills failed", format!("{detail}\n{next}"))
            }
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

fn config_diagnostic(error: &ConfigError) -> Diagnostic {
    match error {
        ConfigError::Missing(setting) => Diagnostic::error(
            format!("Missing {}", setting.attribute),
            format!(
                "No NCP {} was found. Set `access_key` and `secret_key` in the provider block, or the \
                 NCLOUD_ACCESS_KEY and NCLOUD_SECRET_KEY environment variables, or put both keys in a profile of \
                 ~/.ncloud/configure (`ncloud configure`).",
                setting.attribute.replace('_', " "),
            ),
        ),
        ConfigError::KeyWithoutPartner { set, source, missing } => Diagnostic::error(
            format!("Missing {}", missing.attribute),
            format!(
                "{} is set (in {source}) but {} is not. Set `{}` in the provider block or the {} environment \
                 variable as well. Keys come from the NCP CLI profile in ~/.ncloud/configure only as a pair, when \
                 neither is set in the block or the environment, so a key is never paired with a secret from \
                 elsewhere.",
                set.attribute, missing.attribute, missing.attribute, missing.env
            ),
        ),
        ConfigError::ProfileIncomplete { profile, path, missing } => Diagnostic::error(
            format!("Missing {}", missing.attribute),
            format!(
                "Profile [{profile}] of {} has no {}. The profile supplies both keys or neither: add the key \
                 (`ncloud configure --profile {profile}`), or set both `access_key` and `secret_key` another way.",
                path.display(),
                if *missing == ACCESS_KEY { "ncloud_access_key_id" } else { "ncloud_secret_access_key" },
            ),
        ),
        ConfigError::InvalidSite { value, source } => Diagnostic::error(
            "Invalid site",
            format!("site {value:?} (from {source}) is not one of \"public\", \"gov\" or \"fin\"."),
        ),
        ConfigError::EndpointRequired { site } => Diagnostic::error(
            "Endpoint required",
            format!(
                "NCP publishes no DataForest endpoint for the {site} site. Set `endpoint` (or \
                 NCLOUD_DATAFOREST_ENDPOINT) to your DataForest API gateway's https:// URL."
            ),
        ),
        ConfigError::InvalidEndpoint { error, source } => {
            let from = if *source == Source::Attribute { String::new() } else { format!(" (from {source})") };
            Diagnostic::error("Invalid endpoint", format!("The endpoint{from} is not usable: {error}."))
        }
        ConfigError::ProfileNotFound { profile, path } => Diagnostic::error(
            "Profile not found",
            format!(
                "Profile [{profile}] is not in {}. Create it with the NCP CLI (`ncloud configure --profile \
                 {profile}`) or choose another profile.",
                path.display()
            ),
        ),
        ConfigError::InvalidMaxRetries { value, source } => Diagnostic::error(
            "Invalid max_retries",
            format!("max_retries {value:?} (from {source}) must be a whole number from 0 to 20."),
        ),
        ConfigError::InvalidRequestTimeout { value, reason, source } => Diagnostic::error(
            "Invalid request_timeout",
            format!(
                "request_timeout {value:?} (from {source}) is not usable: {reason}. Write it like \"30s\", \"2m\" or \"1m30s\"."
            ),
        ),
        ConfigError::ProfileFileUnreadable { path, reason } => Diagnostic::error(
            "Cannot read the NCP CLI file",
            format!(
                "Neither key is set in the provider block or the environment, so they must come from {}, which \
                 could not be read: {reason}. Fix the file, or set both keys another way.",
                path.display()
            ),
        ),
    }
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

/// What a failed kill tells the user: what happened, then what the next run does about it.
fn kill_diagnostic(app_id: &str, phase: Phase, failure: &KillFailure) -> Diagnostic {
    let after =
        |attempts: u32| if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
    let (summary, what) = match failure {
        KillFailure::Failed { error, attempts, earlier_attempt_uncertain } => (
            "DataForest kill failed",
            format!(
                "Killing AI app {app_id:?} failed{}: {error}.{}{}",
                after(*attempts),
                api_hint(error),
                if *earlier_attempt_uncertain || error.may_have_taken_effect() {
                    " An attempt got no clear answer, so the kill may have happened all the same."
                } else {
                    ""
                }
            ),
        ),
        KillFailure::TimedOut { limit } => (
            "Kill timed out",
            format!(
                "The kill of AI app {app_id:?} got no final answer within its time-out of {}, retries included. \
                 It may or may not have happened.",
                humantime::format_duration(*limit)
            ),
        ),
        KillFailure::Interrupted { accepted: false } => (
            "Kill interrupted",
            format!(
                "Terraform asked the provider to stop while the kill of AI app {app_id:?} was in flight. It may or \
                 may not have happened."
            ),
        ),
        KillFailure::Interrupted { accepted: true } => (
            "Wait interrupted",
            format!(
                "DataForest accepted the kill of AI app {app_id:?}, but Terraform asked the provider to stop while \
                 it waited for the app to end."
            ),
        ),
        KillFailure::WaitFailed { error, attempts } => (
            "Could not confirm the app ended",
            format!(
                "DataForest accepted the kill of AI app {app_id:?}, but reading its state failed{}: {error}.",
                after(*attempts)
            ),
        ),
        KillFailure::StillRunning { limit, last_state } => (
            "App still running",
            format!(
                "DataForest accepted the kill of AI app {app_id:?}, but the app was still {last_state} when the \
                 time-out of {} ran out; raise the time-out if the app takes longer to end.",
                humantime::format_duration(*limit)
            ),
        ),
    };
    let next = match (phase, failure.accepted()) {
        (Phase::Create, false) => "Nothing was recorded, so the next apply sends the kill again.",
        (Phase::Create, true) => {
            "The kill is kept in state (success, message, killed_at and the state last seen) and the resource is \
             tainted, so the next apply replaces it: it kills again, which is harmless, and waits anew."
        }
        (Phase::Update, false) => {
            "Nothing was recorded and `when` stays `destroy` in state, so the next apply tries again."
        }
        (Phase::Update, true) => {
            "The kill is recorded in state (success, message, killed_at and the state last seen). Terraform \
             taints only new resources, so to kill and wait again run `terraform apply -replace=ADDRESS`."
        }
        (Phase::Destroy, false) => "The resource stays in state, so the next destroy tries again.",
        (Phase::Destroy, true) => {
            "The resource stays in state, so the next destroy kills again, which is harmless, and waits anew."
        }
        (Phase::Action, false) => "Nothing is recorded; invoke the action again to retry.",
        (Phase::Action, true) => {
            "Invoke the action again to wait again; a second kill of an ending app is harmless."
        }
    };
    Diagnostic::error(summary, format!("{what} {next}")).at_attribute(AppKill::app_id)
}

/// What to check for an API error, when there is something to say.
fn api_hint(error: &ApiError) -> &'static str {
    match error {
        ApiError::Gateway { status: 401, .. } => {
            " Check access_key and secret_key, and that the machine's clock is right (signatures older than \
             5 minutes are refused)."
        }
        ApiError::Gateway { status: 403, .. } | ApiError::Rejected { status: 403, .. } => {
            " Check that the key's sub account may use DataForest and this app."
        }
        ApiError::Rejected { status: 404, .. } => " Check the app id; the app may belong to another account.",
        ApiError::Transport { .. } => " Check the endpoint and the network.",
        ApiError::Certificate { .. } => {
            " This machine does not trust the endpoint's certificate; add its CA to the system's trust store \
             (certificate checks cannot be turned off)."
        }
        ApiError::Redirect { .. } => {
            " Check that `endpoint` names DataForest's API gateway itself, not an address that forwards to it."
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let diagnostic =
            ProviderError::Kill { app_id: "abc".into(), phase: Phase::Create, failure }.to_diagnostic();
        assert!(
            diagnostic.detail.contains("HTTP 401, API Gateway error 210: Permission Denied"),
            "{}",
            diagnostic.detail
        );
        assert!(diagnostic.detail.contains("Nothing was recorded, so the next apply sends the kill again"));
    }

    #[test]
    fn a_bulk_failure_lists_twenty_failures_and_counts_the_rest() {
        let failures: Vec<(String, String)> =
            (1..=25).map(|n| (format!("App{n:02}"), "refused".into())).collect();
        let error = ProviderError::BulkFailed {
            phase: Phase::Destroy,
            selected: 40,
            failures,
            not_attempted: 7,
            stopped: true,
        };
        let detail = error.to_diagnostic().detail;
        assert!(detail.contains("25 of the 40 selected kills failed"), "{detail}");
        assert!(detail.contains("the other 8 were killed"), "{detail}");
        assert!(
            detail.contains("7 were not attempted, because Terraform asked the provider to stop"),
            "{detail}"
        );
        assert!(detail.contains("- App20: refused") && !detail.contains("App21"), "{detail}");
        assert!(detail.contains("- and 5 more"), "{detail}");
        assert!(detail.contains("The resource stays in state"), "{detail}");

        let timed_out = ProviderError::BulkFailed {
            phase: Phase::Action,
            selected: 3,
            failures: Vec::new(),
            not_attempted: 3,
            stopped: false,
        };
        let detail = timed_out.to_diagnostic().detail;
        assert!(
            detail.starts_with("3 were not attempted, because the time-out ran out; none was killed."),
            "{detail}"
        );
    }
}
