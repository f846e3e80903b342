//! What a provider block that cannot be resolved tells the user: each [`ConfigError`] worded
//! once, naming the setting, where its value came from, and how to fix it.

use crate::ncp::profile::{ACCESS_KEY_ENTRY, SECRET_KEY_ENTRY};
use crate::protocol::diagnostic::Diagnostic;

use super::super::config::{ACCESS_KEY, ALLOWED_ACCOUNT_IDS, ConfigError, FORBIDDEN_ACCOUNT_IDS, Source};

pub(super) fn diagnostic(error: &ConfigError) -> Diagnostic {
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
                if *missing == ACCESS_KEY { ACCESS_KEY_ENTRY } else { SECRET_KEY_ENTRY },
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
        ConfigError::InvalidMaxRequestsPerSecond { value, source } => Diagnostic::error(
            "Invalid max_requests_per_second",
            format!("max_requests_per_second {value:?} (from {source}) must be a number from 0.1 to 10000."),
        ),
        ConfigError::InvalidRequestTimeout { value, reason, source } => Diagnostic::error(
            "Invalid request_timeout",
            format!(
                "request_timeout {value:?} (from {source}) is not usable: {reason}. Write it like \"30s\", \"2m\" or \"1m30s\"."
            ),
        ),
        ConfigError::InvalidAccountIds { setting, value, source } => Diagnostic::error(
            format!("Invalid {}", setting.attribute),
            format!(
                "{} {} (from {source}) must name at least one account, with no blank entry. Leave it out to act on \
                 any account the keys see.",
                setting.attribute,
                if value.trim().is_empty() { "names no account".to_string() } else { format!("{value:?}") }
            ),
        ),
        ConfigError::BlankAuditLog { source } => Diagnostic::error(
            "Empty audit_log",
            format!(
                "audit_log is set to nothing (in {source}), so no kill could be recorded. Name the file to append \
                 to, or unset it."
            ),
        ),
        ConfigError::InvalidStrict { value, source } => Diagnostic::error(
            "Invalid strict",
            format!("strict must be true or false, not {value:?} (in {source})."),
        ),
        ConfigError::BothAccountLists { allowed, forbidden } => Diagnostic::error(
            "Conflicting account lists",
            format!(
                "{} (from {allowed}) and {} (from {forbidden}) are both set. Set one or the other: the allow list \
                 alone already refuses every account it does not name.",
                ALLOWED_ACCOUNT_IDS.attribute, FORBIDDEN_ACCOUNT_IDS.attribute
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
