//! Every failure the provider reports, typed until here, and the one place where each becomes a
//! Terraform diagnostic: a short summary, an actionable detail, and the attribute path when
//! there is one. No message carries a secret: errors hold none.

use std::time::Duration;

use crate::ncp::ApiError;
use crate::protocol::diagnostic::Diagnostic;
use crate::protocol::value::DecodeError;

use super::config::{ConfigError, Source};

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
    /// The kill call failed; nothing is recorded.
    KillFailed {
        app_id: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// The kill was accepted, but reading the app's state while waiting for it to end failed.
    WaitFailed {
        app_id: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// The kill was accepted, but the app had not ended when the time-out ran out.
    TerminationTimedOut {
        app_id: String,
        limit: Duration,
        last_state: String,
    },
    /// Terraform asked the provider to stop during a look-up.
    Interrupted,
    InvalidWhen {
        value: String,
    },
    /// A look-up (`getList`, `getDetail`) failed.
    LookupFailed {
        what: String,
        error: Box<ApiError>,
        attempts: u32,
    },
    /// A required argument is blank.
    EmptyArgument {
        name: &'static str,
    },
    /// A time-out too long to compute a deadline from.
    TimeoutTooLong {
        limit: Duration,
    },
    /// The time-out ran out before the kill was answered.
    KillTimedOut {
        app_id: String,
        limit: Duration,
    },
    /// A value of the wrong kind, which Terraform's own type checks should have stopped.
    WrongType {
        path: Vec<&'static str>,
        expected: &'static str,
        got: &'static str,
    },
    InvalidTimeout {
        path: Vec<&'static str>,
        value: String,
        reason: String,
    },
    /// Terraform asked the provider to stop while the kill was in flight.
    KillInterrupted {
        app_id: String,
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

/// Things worth telling the user about an operation that succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProviderWarning {
    /// The kill failed because the app had already ended; it is recorded as done.
    AlreadyEnded { app_id: String, state: String },
}

impl ProviderWarning {
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            ProviderWarning::AlreadyEnded { app_id, state } => Diagnostic::warning(
                "App had already ended",
                format!(
                    "The kill of AI app {app_id:?} failed, but the app had already ended (state \
                     {state}), so the kill counts as done. `success` is false and `message` holds the failure; `app_state` \
                     records the state it had ended in."
                ),
            )
            .at_attribute("app_id"),
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
            ProviderError::Decode { what, error } => Diagnostic::error(
                format!("Unreadable {what}"),
                format!(
                    "Terraform sent a {what} this provider cannot read: {error}. This is a bug in Terraform or \
                     in the provider; please report it with the Terraform version."
                ),
            ),
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
            .at_attribute("app_id"),
            ProviderError::NotConfigured => Diagnostic::error(
                "Provider not configured",
                "The ncloud provider is not configured: its settings were still unknown, or Terraform has not \
                 configured it yet. Make the provider block depend only on values known at plan time.",
            ),
            ProviderError::KillFailed { app_id, error, attempts } => kill_failed(app_id, error, *attempts),
            ProviderError::WaitFailed { app_id, error, attempts } => Diagnostic::error(
                "Could not confirm the app ended",
                format!(
                    "DataForest accepted the kill of AI app {app_id:?}, but reading its state failed{}: {error}. \
                     Nothing new was recorded; the next run kills it again (which is harmless) and waits anew.",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
                ),
            )
            .at_attribute("app_id"),
            ProviderError::TerminationTimedOut { app_id, limit, last_state } => Diagnostic::error(
                "App still running",
                format!(
                    "DataForest accepted the kill of AI app {app_id:?}, but the app was still {last_state} when the \
                     time-out of {} ran out. Nothing new was recorded; run again to wait longer, or raise the time-out.",
                    humantime::format_duration(*limit)
                ),
            )
            .at_attribute("app_id"),
            ProviderError::InvalidWhen { value } => Diagnostic::error(
                "Invalid when",
                format!("when must be \"create\" or \"destroy\", not {}.", quote_start(value)),
            )
            .at_attribute("when"),
            ProviderError::Interrupted => {
                Diagnostic::error("Interrupted", "Terraform asked the provider to stop before DataForest answered.")
            }
            ProviderError::LookupFailed { what, error, attempts } => Diagnostic::error(
                "DataForest look-up failed",
                format!(
                    "Reading {what} failed{}: {error}.",
                    if *attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
                ),
            ),
            ProviderError::EmptyArgument { name } => {
                Diagnostic::error(format!("Empty {name}"), format!("{name} must not be blank.")).at_attribute(name)
            }
            ProviderError::TimeoutTooLong { limit } => Diagnostic::error(
                "Time-out too long",
                format!("A time-out of {} is too long to wait for.", humantime::format_duration(*limit)),
            ),
            ProviderError::KillTimedOut { app_id, limit } => Diagnostic::error(
                "Kill timed out",
                format!(
                    "The kill of AI app {app_id:?} got no final answer within its time-out of {}, retries \
                     included. The kill may or may not have happened; nothing new was recorded, so the next run \
                     sends it again.",
                    humantime::format_duration(*limit)
                ),
            )
            .at_attribute("app_id"),
            ProviderError::WrongType { path, expected, got } => Diagnostic::error(
                "Wrong type",
                format!("{} must be {expected}, not {got}.", path.join(".")),
            )
            .at_path(path),
            ProviderError::InvalidTimeout { path, value, reason } => Diagnostic::error(
                "Invalid time-out",
                format!(
                    "{} {value:?} is not a usable duration: {reason}. Write it like \"30s\", \"5m\" or \"1h30m\".",
                    path.join(".")
                ),
            )
            .at_path(path),
            ProviderError::KillInterrupted { app_id } => Diagnostic::error(
                "Kill interrupted",
                format!(
                    "Terraform asked the provider to stop while the kill of AI app {app_id:?} was in flight. \
                     The kill may or may not have happened; nothing new was recorded, so the next run sends it again."
                ),
            ),
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
                "No NCP {} was found. Set `{}` in the provider block, the {} environment variable, or a profile \
                 in ~/.ncloud/configure.",
                setting.attribute.replace('_', " "),
                setting.attribute,
                setting.env
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
        ConfigError::WrongType { setting } => Diagnostic::error(
            format!("Invalid {}", setting.attribute),
            format!("`{}` must be a string.", setting.attribute),
        ),
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
            format!("{} could not be read: {reason}.", path.display()),
        ),
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

fn kill_failed(app_id: &str, error: &ApiError, attempts: u32) -> Diagnostic {
    let hint = match error {
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
        _ => "",
    };
    Diagnostic::error(
        "DataForest kill failed",
        format!(
            "Killing AI app {app_id:?} failed{}: {error}.{hint} Nothing new was recorded, so the next run tries again.",
            if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
        ),
    )
    .at_attribute("app_id")
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
        let diagnostic =
            ProviderError::KillFailed { app_id: "abc".into(), error: Box::new(error), attempts: 1 }
                .to_diagnostic();
        assert!(
            diagnostic.detail.contains("HTTP 401, API Gateway error 210: Permission Denied"),
            "{}",
            diagnostic.detail
        );
        assert!(diagnostic.detail.contains("Nothing new was recorded"));
    }
}
