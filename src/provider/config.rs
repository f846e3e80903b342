//! The `provider "ncloud"` block: its schema, and how each setting resolves: from the block, else
//! from its environment variable. The two keys alone may also come from the NCP CLI's
//! `~/.ncloud/configure` profile, and only as a pair: the file is read only when neither key is
//! set in the block or the environment, and then it supplies both.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ncp::budget::RequestRate;
use crate::ncp::dataforest::DEFAULT_REQUEST_TIMEOUT;
use crate::ncp::profile::{self, ProfileError, ProfileKeys};
use crate::ncp::retry::{DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT};
use crate::ncp::{
    ClientOptions, Credentials, Endpoint, EndpointError, NetworkEnv, RetryPolicy, SecretKey, Site,
};
use crate::protocol::object::{Field, Object, SetOf, optional, split};
use crate::protocol::schema::Schema;
use crate::protocol::value::Number;

use super::duration::parse_duration;

tfplugin::object! {
    /// The `provider "ncloud"` block.
    pub struct ProviderBlock {
        access_key: Field<String> => optional(
            "NCP API access key. Env: `NCLOUD_ACCESS_KEY`; with `secret_key`, from the NCP CLI profile when \
             neither key is set.",
        ),
        secret_key: Field<String> => optional(
            "NCP API secret key. Env: `NCLOUD_SECRET_KEY`; with `access_key`, from the NCP CLI profile when \
             neither key is set.",
        )
        .sensitive(),
        site: Field<String> => optional("NCP site: `public` (default), `gov` or `fin`. Env: `NCLOUD_SITE`."),
        endpoint: Field<String> => optional(
            "DataForest base URL override (private gateway, local simulator). `https://` is required except for \
             loopback hosts. Required for the `gov` and `fin` sites. Env: `NCLOUD_DATAFOREST_ENDPOINT`.",
        ),
        profile: Field<String> => optional(
            "Profile in the NCP CLI file `~/.ncloud/configure` that supplies both keys when neither is set in the \
             block or the environment (default `DEFAULT`). Env: `NCLOUD_PROFILE`.",
        ),
        max_retries: Field<Number> => optional(
            "Retries of a call that failed transiently (no answer, HTTP 500, 502, 503, 504): 0 to 20, default \
             4; 0 sends each call once. A call the API Gateway throttles (HTTP 429) is sent again without \
             counting. Env: `NCLOUD_MAX_RETRIES`.",
        ),
        max_requests_per_second: Field<Number> => optional(
            "The most requests per second the provider sends, for keys other systems share: 0.1 to 10000. \
             Unset, the provider adapts to the API Gateway's throttling alone; set, it never goes past this, \
             spacing its calls evenly, with no bursts. Env: `NCLOUD_MAX_REQUESTS_PER_SECOND`.",
        ),
        request_timeout: Field<String> => optional(
            "Bound on each HTTP attempt, as a duration such as `30s` or `2m` (default `30s`, at most `1h`). \
             Env: `NCLOUD_REQUEST_TIMEOUT`.",
        ),
        allowed_account_ids: Field<SetOf<String>> => optional(
            "The only DataForest accounts this provider may act on: a bulk kill or a listing of another account \
             is refused before any call, and a single kill first reads its app and refuses one of another \
             account. Not with `forbidden_account_ids`. Env: `NCLOUD_DATAFOREST_ALLOWED_ACCOUNT_IDS`, \
             comma-separated.",
        ),
        forbidden_account_ids: Field<SetOf<String>> => optional(
            "DataForest accounts this provider must never act on, refused as `allowed_account_ids` refuses the \
             others. Not with `allowed_account_ids`. Env: `NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS`, \
             comma-separated.",
        ),
        strict: Field<bool> => optional(
            "Make every warning that says a kill did less than asked, or could not check something, an error, \
             raised before any kill where it can be known before (default false): for pipelines that read exit \
             codes, not warnings. The provider's documentation lists those warnings. Env: \
             `NCLOUD_DATAFOREST_STRICT` (`true` or `false`).",
        ),
        audit_log: Field<String> => optional(
            "A file to which every kill outcome is appended, one JSON object per line (created with mode 0600; \
             relative paths are from the folder Terraform runs in). A log that cannot be opened fails the run \
             before any kill. Env: `NCLOUD_DATAFOREST_AUDIT_LOG`.",
        ),
    }
}

pub const ACCESS_KEY: Setting = Setting {
    attribute: ProviderBlock::access_key,
    env: "NCLOUD_ACCESS_KEY",
    read: |b| b.access_key.clone(),
};
pub const SECRET_KEY: Setting = Setting {
    attribute: ProviderBlock::secret_key,
    env: "NCLOUD_SECRET_KEY",
    read: |b| b.secret_key.clone(),
};
pub const SITE: Setting =
    Setting { attribute: ProviderBlock::site, env: "NCLOUD_SITE", read: |b| b.site.clone() };
pub const ENDPOINT: Setting = Setting {
    attribute: ProviderBlock::endpoint,
    env: "NCLOUD_DATAFOREST_ENDPOINT",
    read: |b| b.endpoint.clone(),
};
pub const PROFILE: Setting =
    Setting { attribute: ProviderBlock::profile, env: "NCLOUD_PROFILE", read: |b| b.profile.clone() };
pub const MAX_RETRIES: Setting = Setting {
    attribute: ProviderBlock::max_retries,
    env: "NCLOUD_MAX_RETRIES",
    read: |b| match &b.max_retries {
        Field::Known(number) => Field::Known(number_text(number)),
        Field::Null => Field::Null,
        Field::Unknown => Field::Unknown,
    },
};
pub const MAX_REQUESTS_PER_SECOND: Setting = Setting {
    attribute: ProviderBlock::max_requests_per_second,
    env: "NCLOUD_MAX_REQUESTS_PER_SECOND",
    read: |b| match &b.max_requests_per_second {
        Field::Known(number) => Field::Known(number_text(number)),
        Field::Null => Field::Null,
        Field::Unknown => Field::Unknown,
    },
};
pub const REQUEST_TIMEOUT: Setting = Setting {
    attribute: ProviderBlock::request_timeout,
    env: "NCLOUD_REQUEST_TIMEOUT",
    read: |b| b.request_timeout.clone(),
};
pub const ALLOWED_ACCOUNT_IDS: Setting = Setting {
    attribute: ProviderBlock::allowed_account_ids,
    env: "NCLOUD_DATAFOREST_ALLOWED_ACCOUNT_IDS",
    read: |b| joined(&b.allowed_account_ids),
};
pub const FORBIDDEN_ACCOUNT_IDS: Setting = Setting {
    attribute: ProviderBlock::forbidden_account_ids,
    env: "NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS",
    read: |b| joined(&b.forbidden_account_ids),
};
pub const STRICT: Setting = Setting {
    attribute: ProviderBlock::strict,
    env: "NCLOUD_DATAFOREST_STRICT",
    read: |b| match b.strict {
        Field::Known(strict) => Field::Known(strict.to_string()),
        Field::Null => Field::Null,
        Field::Unknown => Field::Unknown,
    },
};
pub const AUDIT_LOG: Setting = Setting {
    attribute: ProviderBlock::audit_log,
    env: "NCLOUD_DATAFOREST_AUDIT_LOG",
    read: |b| b.audit_log.clone(),
};
const ALL_SETTINGS: [Setting; 12] = [
    ACCESS_KEY,
    SECRET_KEY,
    SITE,
    ENDPOINT,
    PROFILE,
    MAX_RETRIES,
    MAX_REQUESTS_PER_SECOND,
    REQUEST_TIMEOUT,
    ALLOWED_ACCOUNT_IDS,
    FORBIDDEN_ACCOUNT_IDS,
    STRICT,
    AUDIT_LOG,
];
/// The longest `request_timeout` accepted.
const LONGEST_REQUEST_TIMEOUT: Duration = Duration::from_secs(3600);

/// A provider attribute, the environment variable it falls back to, and how to read its value
/// from a block, as the text it would be written as.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    pub attribute: &'static str,
    pub env: &'static str,
    read: fn(&ProviderBlock) -> Field<String>,
}

impl PartialEq for Setting {
    fn eq(&self, other: &Setting) -> bool {
        self.attribute == other.attribute
    }
}

impl Eq for Setting {}

pub fn schema() -> Schema {
    let (attributes, blocks) = split(ProviderBlock::members());
    Schema {
        version: 0,
        description: "NAVER Cloud Platform DataForest. Each setting falls back to its environment variable. \
            When neither key is set in the block or the environment, both come from the NCP CLI profile in \
            `~/.ncloud/configure`.",
        attributes,
        blocks,
    }
}

/// Where a setting's value came from, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Attribute,
    Env(&'static str),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Attribute => f.write_str("the provider block"),
            Source::Env(name) => write!(f, "environment variable {name}"),
            Source::Default => f.write_str("the default"),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConfigError {
    Missing(Setting),
    InvalidSite {
        value: String,
        source: Source,
    },
    EndpointRequired {
        site: Site,
    },
    InvalidEndpoint {
        error: EndpointError,
        source: Source,
    },
    ProfileNotFound {
        profile: String,
        path: PathBuf,
    },
    InvalidMaxRetries {
        value: String,
        source: Source,
    },
    InvalidRequestTimeout {
        value: String,
        reason: String,
        source: Source,
    },
    InvalidMaxRequestsPerSecond {
        value: String,
        source: Source,
    },
    ProfileFileUnreadable {
        path: PathBuf,
        reason: String,
    },
    /// One key is set (in the block or the environment) and the other is not: the profile
    /// supplies keys only as a pair.
    KeyWithoutPartner {
        set: Setting,
        source: Source,
        missing: Setting,
    },
    /// The profile that should supply both keys lacks one.
    ProfileIncomplete {
        profile: String,
        path: PathBuf,
        missing: Setting,
    },
    /// An account list that names no account, or a blank one.
    InvalidAccountIds {
        setting: Setting,
        value: String,
        source: Source,
    },
    /// Both an allow list and a deny list of accounts.
    BothAccountLists {
        allowed: Source,
        forbidden: Source,
    },
    /// An audit log path set to nothing.
    BlankAuditLog {
        source: Source,
    },
    /// `strict` from its environment variable, which is neither `true` nor `false`.
    InvalidStrict {
        value: String,
        source: Source,
    },
}

impl ConfigError {
    /// The provider attribute the error is about.
    pub fn attribute(&self) -> &'static str {
        match self {
            ConfigError::Missing(setting) => setting.attribute,
            ConfigError::KeyWithoutPartner { missing, .. }
            | ConfigError::ProfileIncomplete { missing, .. } => missing.attribute,
            ConfigError::InvalidMaxRetries { .. } => MAX_RETRIES.attribute,
            ConfigError::InvalidRequestTimeout { .. } => REQUEST_TIMEOUT.attribute,
            ConfigError::InvalidMaxRequestsPerSecond { .. } => MAX_REQUESTS_PER_SECOND.attribute,
            ConfigError::InvalidSite { .. } => SITE.attribute,
            ConfigError::EndpointRequired { .. } | ConfigError::InvalidEndpoint { .. } => ENDPOINT.attribute,
            ConfigError::ProfileNotFound { .. } | ConfigError::ProfileFileUnreadable { .. } => {
                PROFILE.attribute
            }
            ConfigError::InvalidAccountIds { setting, .. } => setting.attribute,
            ConfigError::BothAccountLists { .. } => FORBIDDEN_ACCOUNT_IDS.attribute,
            ConfigError::BlankAuditLog { .. } => AUDIT_LOG.attribute,
            ConfigError::InvalidStrict { .. } => STRICT.attribute,
        }
    }
}

/// Everything the DataForest client needs, and the accounts the provider may act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedConfig {
    pub site: Site,
    pub endpoint: Endpoint,
    pub credentials: Credentials,
    pub options: ClientOptions,
    /// The proxy and CA variables, read with the rest of the environment.
    pub network: NetworkEnv,
    pub accounts: AccountRule,
    /// Where every kill outcome is appended, when asked.
    pub audit_log: Option<PathBuf>,
    /// Whether warnings of kills that did less than asked, or could not check something, are
    /// errors.
    pub strict: bool,
}

impl ResolvedConfig {
    /// The settings in which `other` differs from this configuration, by name.
    pub fn differences(&self, other: &ResolvedConfig) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut differ = |differs: bool, name: &'static str| {
            if differs {
                names.push(name);
            }
        };
        differ(self.site != other.site, SITE.attribute);
        differ(self.endpoint != other.endpoint, ENDPOINT.attribute);
        differ(self.credentials.access_key != other.credentials.access_key, ACCESS_KEY.attribute);
        differ(self.credentials.secret_key != other.credentials.secret_key, SECRET_KEY.attribute);
        differ(self.options.retry != other.options.retry, MAX_RETRIES.attribute);
        differ(self.options.request_timeout != other.options.request_timeout, REQUEST_TIMEOUT.attribute);
        differ(self.options.ceiling != other.options.ceiling, MAX_REQUESTS_PER_SECOND.attribute);
        differ(self.accounts != other.accounts, "allowed_account_ids / forbidden_account_ids");
        differ(self.audit_log != other.audit_log, AUDIT_LOG.attribute);
        differ(self.strict != other.strict, STRICT.attribute);
        differ(self.network != other.network, "the proxy and CA variables (HTTPS_PROXY, SSL_CERT_FILE, ...)");
        names
    }
}

/// Which DataForest accounts the provider may act on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AccountRule {
    /// Any the keys see.
    #[default]
    Any,
    /// Only these (`allowed_account_ids`).
    Allowed(BTreeSet<String>),
    /// All but these (`forbidden_account_ids`).
    Forbidden(BTreeSet<String>),
}

impl AccountRule {
    /// Whether the provider may act on account `id`.
    pub fn permits(&self, id: &str) -> bool {
        match self {
            AccountRule::Any => true,
            AccountRule::Allowed(ids) => ids.contains(id),
            AccountRule::Forbidden(ids) => !ids.contains(id),
        }
    }

    /// The setting that refuses accounts, when one does.
    pub fn setting(&self) -> Option<Setting> {
        match self {
            AccountRule::Any => None,
            AccountRule::Allowed(_) => Some(ALLOWED_ACCOUNT_IDS),
            AccountRule::Forbidden(_) => Some(FORBIDDEN_ACCOUNT_IDS),
        }
    }
}

/// Looks up an environment variable.
pub type EnvLookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process's environment and home folder, passed in so tests control them.
pub struct Environment {
    pub var: EnvLookup,
    pub home: Option<PathBuf>,
}

impl Environment {
    pub fn of_process() -> Environment {
        Environment {
            var: Box::new(|name| std::env::var(name).ok()),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }
}

/// Checks what can be checked without the environment: values written in the block itself.
pub fn validate(block: &ProviderBlock) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    if let Field::Known(site) = &block.site
        && Site::parse(site).is_none()
    {
        errors.push(ConfigError::InvalidSite { value: site.clone(), source: Source::Attribute });
    }
    if let Field::Known(endpoint) = &block.endpoint
        && let Err(error) = Endpoint::parse(endpoint)
    {
        errors.push(ConfigError::InvalidEndpoint { error, source: Source::Attribute });
    }
    if let Field::Known(text) = (MAX_RETRIES.read)(block)
        && let Err(error) = parse_max_retries(&text, Source::Attribute)
    {
        errors.push(error);
    }
    if let Field::Known(text) = &block.request_timeout
        && let Err(error) = parse_request_timeout(text, Source::Attribute)
    {
        errors.push(error);
    }
    if let Field::Known(text) = (MAX_REQUESTS_PER_SECOND.read)(block)
        && let Err(error) = parse_ceiling(&text, Source::Attribute)
    {
        errors.push(error);
    }
    for setting in [ALLOWED_ACCOUNT_IDS, FORBIDDEN_ACCOUNT_IDS] {
        if let Field::Known(text) = (setting.read)(block)
            && let Err(error) = parse_account_ids(&text, setting, Source::Attribute)
        {
            errors.push(error);
        }
    }
    if matches!(block.allowed_account_ids, Field::Known(_))
        && matches!(block.forbidden_account_ids, Field::Known(_))
    {
        errors
            .push(ConfigError::BothAccountLists { allowed: Source::Attribute, forbidden: Source::Attribute });
    }
    if matches!(&block.audit_log, Field::Known(path) if path.trim().is_empty()) {
        errors.push(ConfigError::BlankAuditLog { source: Source::Attribute });
    }
    errors
}

/// Resolves the block's settings. Missing credentials are an error here, before any call is made.
pub fn resolve(block: &ProviderBlock, environment: &Environment) -> Result<ResolvedConfig, ConfigError> {
    let lookup = |setting: Setting| -> Result<Option<(String, Source)>, ConfigError> {
        if let Field::Known(value) = (setting.read)(block)
            && !value.is_empty()
        {
            return Ok(Some((value, Source::Attribute)));
        }
        Ok((environment.var)(setting.env).filter(|v| !v.is_empty()).map(|v| (v, Source::Env(setting.env))))
    };

    let (access_key, secret_key) = match (lookup(ACCESS_KEY)?, lookup(SECRET_KEY)?) {
        (Some((access_key, _)), Some((secret_key, _))) => (access_key, SecretKey::new(secret_key)),
        (None, None) => {
            keys_from_profile(lookup(PROFILE)?.map(|(name, _)| name), environment.home.as_deref())?
        }
        (Some((_, source)), None) => {
            return Err(ConfigError::KeyWithoutPartner { set: ACCESS_KEY, source, missing: SECRET_KEY });
        }
        (None, Some((_, source))) => {
            return Err(ConfigError::KeyWithoutPartner { set: SECRET_KEY, source, missing: ACCESS_KEY });
        }
    };

    let (site_name, site_source) = lookup(SITE)?.unwrap_or(("public".to_string(), Source::Default));
    let site =
        Site::parse(&site_name).ok_or(ConfigError::InvalidSite { value: site_name, source: site_source })?;
    let endpoint = match lookup(ENDPOINT)? {
        Some((text, source)) => {
            Endpoint::parse(&text).map_err(|error| ConfigError::InvalidEndpoint { error, source })?
        }
        None => site.default_endpoint().ok_or(ConfigError::EndpointRequired { site })?,
    };
    let max_retries = match lookup(MAX_RETRIES)? {
        Some((text, source)) => parse_max_retries(&text, source)?,
        None => DEFAULT_MAX_RETRIES,
    };
    let request_timeout = match lookup(REQUEST_TIMEOUT)? {
        Some((text, source)) => parse_request_timeout(&text, source)?,
        None => DEFAULT_REQUEST_TIMEOUT,
    };
    let ceiling = match lookup(MAX_REQUESTS_PER_SECOND)? {
        Some((text, source)) => Some(parse_ceiling(&text, source)?),
        None => None,
    };
    let account_ids = |setting: Setting| -> Result<Option<(BTreeSet<String>, Source)>, ConfigError> {
        match lookup(setting)? {
            Some((text, source)) => Ok(Some((parse_account_ids(&text, setting, source.clone())?, source))),
            // A guard set to nothing must not quietly guard nothing.
            None if (environment.var)(setting.env).is_some_and(|value| value.trim().is_empty()) => {
                Err(ConfigError::InvalidAccountIds {
                    setting,
                    value: String::new(),
                    source: Source::Env(setting.env),
                })
            }
            None => Ok(None),
        }
    };
    let accounts = match (account_ids(ALLOWED_ACCOUNT_IDS)?, account_ids(FORBIDDEN_ACCOUNT_IDS)?) {
        (None, None) => AccountRule::Any,
        (Some((ids, _)), None) => AccountRule::Allowed(ids),
        (None, Some((ids, _))) => AccountRule::Forbidden(ids),
        (Some((_, allowed)), Some((_, forbidden))) => {
            return Err(ConfigError::BothAccountLists { allowed, forbidden });
        }
    };
    // A log asked for must not quietly go unwritten.
    let audit_log = match (&block.audit_log, (environment.var)(AUDIT_LOG.env)) {
        (Field::Known(path), _) if path.trim().is_empty() => {
            return Err(ConfigError::BlankAuditLog { source: Source::Attribute });
        }
        (Field::Known(path), _) => Some(PathBuf::from(path)),
        (_, Some(path)) if path.trim().is_empty() => {
            return Err(ConfigError::BlankAuditLog { source: Source::Env(AUDIT_LOG.env) });
        }
        (_, env) => env.map(PathBuf::from),
    };
    let strict = match lookup(STRICT)? {
        Some((text, source)) => parse_strict(&text, source)?,
        // Set to nothing, it must not quietly mean "not strict".
        None if (environment.var)(STRICT.env).is_some() => {
            return Err(ConfigError::InvalidStrict { value: String::new(), source: Source::Env(STRICT.env) });
        }
        None => false,
    };
    Ok(ResolvedConfig {
        site,
        endpoint,
        credentials: Credentials { access_key, secret_key },
        options: ClientOptions { request_timeout, retry: RetryPolicy { max_retries }, ceiling },
        network: NetworkEnv::read(&environment.var),
        accounts,
        audit_log,
        strict,
    })
}

/// `strict` as its environment variable gives it: `true` or `false`, in any case; anything else
/// is an error rather than quietly not strict.
fn parse_strict(text: &str, source: Source) -> Result<bool, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfigError::InvalidStrict { value: text.to_string(), source }),
    }
}

/// Both keys from a profile of the NCP CLI file: `profile` if named, else `DEFAULT`.
fn keys_from_profile(
    profile: Option<String>,
    home: Option<&Path>,
) -> Result<(String, SecretKey), ConfigError> {
    match profile::read_keys(home, profile.as_deref()) {
        Ok(Some(ProfileKeys { access_key, secret_key })) => Ok((access_key, secret_key)),
        Ok(None) => Err(ConfigError::Missing(ACCESS_KEY)),
        Err(ProfileError::NotFound { profile, path }) => Err(ConfigError::ProfileNotFound { profile, path }),
        Err(ProfileError::Unreadable { path, reason }) => {
            Err(ConfigError::ProfileFileUnreadable { path, reason })
        }
        Err(ProfileError::Incomplete { profile, path, entry }) => Err(ConfigError::ProfileIncomplete {
            profile,
            path,
            missing: if entry == profile::ACCESS_KEY_ENTRY { ACCESS_KEY } else { SECRET_KEY },
        }),
    }
}

/// The settings whose value is not yet known (during plan), in schema order.
pub fn unknown_settings(block: &ProviderBlock) -> Vec<&'static str> {
    ALL_SETTINGS
        .into_iter()
        .filter(|setting| (setting.read)(block).is_unknown())
        .map(|s| s.attribute)
        .collect()
}

/// A number as the text it would be written as.
fn number_text(number: &Number) -> String {
    match number {
        Number::Int(i) => i.to_string(),
        Number::Float(f) => f.to_string(),
        Number::Decimal(d) => d.clone(),
    }
}

/// A set of strings as the text a setting reads: comma-joined; unknown while any is unknown.
fn joined(field: &Field<SetOf<String>>) -> Field<String> {
    match field {
        Field::Null => Field::Null,
        Field::Unknown => Field::Unknown,
        Field::Known(SetOf(items)) => match items.iter().map(Field::known).collect::<Option<Vec<_>>>() {
            Some(items) => Field::Known(items.iter().map(|item| item.as_str()).collect::<Vec<_>>().join(",")),
            None => Field::Unknown,
        },
    }
}

/// Account ids, comma-separated; at least one, none blank or holding a comma.
fn parse_account_ids(text: &str, setting: Setting, source: Source) -> Result<BTreeSet<String>, ConfigError> {
    let ids: Vec<&str> = text.split(',').map(str::trim).collect();
    if ids.iter().any(|id| id.is_empty()) {
        return Err(ConfigError::InvalidAccountIds { setting, value: text.to_string(), source });
    }
    Ok(ids.into_iter().map(str::to_string).collect())
}

fn parse_max_retries(text: &str, source: Source) -> Result<u32, ConfigError> {
    match text.trim().parse::<u32>() {
        Ok(retries) if retries <= MAX_RETRIES_LIMIT => Ok(retries),
        _ => Err(ConfigError::InvalidMaxRetries { value: text.to_string(), source }),
    }
}

/// `max_requests_per_second`: 0.1 to 10000, kept in thousandths.
fn parse_ceiling(text: &str, source: Source) -> Result<RequestRate, ConfigError> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.1..=10_000.0).contains(&rate) => Ok(RequestRate::per_second(rate)),
        _ => Err(ConfigError::InvalidMaxRequestsPerSecond { value: text.to_string(), source }),
    }
}

fn parse_request_timeout(text: &str, source: Source) -> Result<Duration, ConfigError> {
    let invalid = |reason: String| ConfigError::InvalidRequestTimeout {
        value: text.to_string(),
        reason,
        source: source.clone(),
    };
    let duration = parse_duration(text).map_err(invalid)?;
    if duration > LONGEST_REQUEST_TIMEOUT {
        return Err(invalid("it is longer than 1h".to_string()));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::profile::CLI_CONFIG_FILE;
    use crate::protocol::value::Value;
    use std::collections::BTreeMap;
    use std::collections::HashMap;

    fn validate_value(config: &Value) -> Vec<ConfigError> {
        validate(&ProviderBlock::from_value(config).unwrap())
    }

    fn block(pairs: &[(&str, &str)]) -> Value {
        let mut fields: BTreeMap<String, Value> =
            schema().attributes.iter().map(|a| (a.name.to_string(), Value::Null)).collect();
        for (k, v) in pairs {
            fields.insert(k.to_string(), Value::String(v.to_string()));
        }
        Value::Object(fields)
    }

    fn resolve_with(
        config: &Value,
        env: &[(&str, &str)],
        file: Option<&str>,
    ) -> Result<ResolvedConfig, ConfigError> {
        resolve_in_home(config, env, |home| {
            if let Some(text) = file {
                std::fs::create_dir_all(home.join(".ncloud")).unwrap();
                std::fs::write(home.join(CLI_CONFIG_FILE), text).unwrap();
            }
        })
    }

    /// Resolves with a home folder `prepare` sets up.
    fn resolve_in_home(
        config: &Value,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> Result<ResolvedConfig, ConfigError> {
        let home = tempfile::tempdir().unwrap();
        prepare(home.path());
        let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let var = Box::new(move |name: &str| env.get(name).cloned());
        resolve(
            &ProviderBlock::from_value(config).unwrap(),
            &Environment { var, home: Some(home.path().to_path_buf()) },
        )
    }

    const FILE: &str = "[DEFAULT]\nncloud_access_key_id = FILE_AK\nncloud_secret_access_key = FILE_SK\n\
        ncloud_api_url = https://ncloud.apigw.ntruss.com\n\n[other]\nncloud_access_key_id=OTHER_AK\nncloud_secret_access_key=OTHER_SK\n";

    #[test]
    fn the_audit_log_comes_from_the_block_else_the_env_and_blank_is_an_error() {
        let keys = [("NCLOUD_ACCESS_KEY", "AK"), ("NCLOUD_SECRET_KEY", "SK")];
        let env = [keys[0], keys[1], ("NCLOUD_DATAFOREST_AUDIT_LOG", "/env/audit.jsonl")];
        let from_block = resolve_with(&block(&[("audit_log", "/block/audit.jsonl")]), &env, None).unwrap();
        assert_eq!(from_block.audit_log.as_deref(), Some(Path::new("/block/audit.jsonl")));
        let from_env = resolve_with(&block(&[]), &env, None).unwrap();
        assert_eq!(from_env.audit_log.as_deref(), Some(Path::new("/env/audit.jsonl")));
        assert_eq!(resolve_with(&block(&[]), &keys, None).unwrap().audit_log, None);
        let blank_env = [keys[0], keys[1], ("NCLOUD_DATAFOREST_AUDIT_LOG", " ")];
        assert_eq!(
            resolve_with(&block(&[]), &blank_env, None),
            Err(ConfigError::BlankAuditLog { source: Source::Env("NCLOUD_DATAFOREST_AUDIT_LOG") })
        );
        assert_eq!(
            validate_value(&block(&[("audit_log", "")])),
            [ConfigError::BlankAuditLog { source: Source::Attribute }]
        );
    }

    #[test]
    fn strict_comes_from_the_block_else_the_env_and_must_be_a_boolean() {
        let keys = [("NCLOUD_ACCESS_KEY", "AK"), ("NCLOUD_SECRET_KEY", "SK")];
        let strict = |config: &Value, env: &str| {
            let env = [keys[0], keys[1], ("NCLOUD_DATAFOREST_STRICT", env)];
            resolve_with(config, &env, None).map(|resolved| resolved.strict)
        };
        let with_strict = |value: bool| {
            let Value::Object(mut fields) = block(&[]) else { unreachable!() };
            fields.insert("strict".into(), Value::Bool(value));
            Value::Object(fields)
        };
        assert!(!resolve_with(&block(&[]), &keys, None).unwrap().strict, "off by default");
        assert_eq!(strict(&block(&[]), "TRUE"), Ok(true));
        assert_eq!(strict(&block(&[]), "false"), Ok(false));
        assert_eq!(strict(&with_strict(false), "true"), Ok(false), "the block wins");
        assert_eq!(strict(&with_strict(true), ""), Ok(true), "the block wins, and the variable is not read");
        assert_eq!(
            strict(&block(&[]), ""),
            Err(ConfigError::InvalidStrict {
                value: String::new(),
                source: Source::Env("NCLOUD_DATAFOREST_STRICT")
            }),
            "set to nothing, it must not quietly mean false"
        );
        assert_eq!(
            strict(&block(&[]), "yes"),
            Err(ConfigError::InvalidStrict {
                value: "yes".into(),
                source: Source::Env("NCLOUD_DATAFOREST_STRICT")
            })
        );
        let differs = resolve_with(&with_strict(true), &keys, None).unwrap();
        assert_eq!(differs.differences(&resolve_with(&block(&[]), &keys, None).unwrap()), ["strict"]);
    }

    #[test]
    fn block_beats_env_beats_file() {
        let env = [("NCLOUD_ACCESS_KEY", "ENV_AK"), ("NCLOUD_SECRET_KEY", "ENV_SK")];
        let from_block = resolve_with(&block(&[("access_key", "BLOCK_AK")]), &env, Some(FILE)).unwrap();
        assert_eq!(from_block.credentials.access_key, "BLOCK_AK");
        assert_eq!(from_block.credentials.secret_key.expose(), "ENV_SK");
        let from_env = resolve_with(&block(&[]), &env, Some(FILE)).unwrap();
        assert_eq!(from_env.credentials.access_key, "ENV_AK");
        let from_file = resolve_with(&block(&[]), &[], Some(FILE)).unwrap();
        assert_eq!(from_file.credentials.access_key, "FILE_AK");
        assert_eq!(from_file.credentials.secret_key.expose(), "FILE_SK");
    }

    #[test]
    fn profile_from_block_or_env() {
        let named = resolve_with(&block(&[("profile", "other")]), &[], Some(FILE)).unwrap();
        assert_eq!(named.credentials.access_key, "OTHER_AK");
        let from_env = resolve_with(&block(&[]), &[("NCLOUD_PROFILE", "other")], Some(FILE)).unwrap();
        assert_eq!(from_env.credentials.access_key, "OTHER_AK");
        let missing = resolve_with(&block(&[("profile", "nope")]), &[], Some(FILE)).unwrap_err();
        assert!(matches!(missing, ConfigError::ProfileNotFound { ref profile, .. } if profile == "nope"));
        assert_eq!(missing.attribute(), "profile");
        let no_file = resolve_with(&block(&[("profile", "other")]), &[], None).unwrap_err();
        assert!(matches!(no_file, ConfigError::ProfileNotFound { .. }));
    }

    #[test]
    fn missing_credentials_name_attribute_and_env() {
        assert_eq!(resolve_with(&block(&[]), &[], None), Err(ConfigError::Missing(ACCESS_KEY)));
        assert_eq!(
            resolve_with(&block(&[("access_key", "AK")]), &[("NCLOUD_SECRET_KEY", "")], None),
            Err(ConfigError::KeyWithoutPartner {
                set: ACCESS_KEY,
                source: Source::Attribute,
                missing: SECRET_KEY
            })
        );
    }

    #[test]
    fn the_profile_supplies_keys_only_as_a_pair() {
        let half = resolve_with(&block(&[("access_key", "BLOCK_AK")]), &[], Some(FILE)).unwrap_err();
        assert_eq!(
            half,
            ConfigError::KeyWithoutPartner {
                set: ACCESS_KEY,
                source: Source::Attribute,
                missing: SECRET_KEY
            }
        );
        assert_eq!(half.attribute(), "secret_key");
        let other_half =
            resolve_with(&block(&[]), &[("NCLOUD_SECRET_KEY", "ENV_SK")], Some(FILE)).unwrap_err();
        assert_eq!(
            other_half,
            ConfigError::KeyWithoutPartner {
                set: SECRET_KEY,
                source: Source::Env("NCLOUD_SECRET_KEY"),
                missing: ACCESS_KEY
            }
        );
        let lopsided = resolve_with(&block(&[]), &[], Some("[DEFAULT]\nncloud_access_key_id = FILE_AK\n"));
        assert!(
            matches!(lopsided, Err(ConfigError::ProfileIncomplete { missing, ref profile, .. }) if missing == SECRET_KEY && profile == "DEFAULT"),
            "{lopsided:?}"
        );
    }

    #[test]
    fn the_profile_file_is_read_only_when_a_key_is_needed_from_it() {
        // A folder where the file should be: reading it fails.
        let unreadable = |home: &Path| std::fs::create_dir_all(home.join(CLI_CONFIG_FILE)).unwrap();
        let env = [("NCLOUD_ACCESS_KEY", "ENV_AK"), ("NCLOUD_SECRET_KEY", "ENV_SK")];
        let resolved = resolve_in_home(&block(&[("profile", "ops")]), &env, unreadable).unwrap();
        assert_eq!(resolved.credentials.access_key, "ENV_AK");
        let needed = resolve_in_home(&block(&[]), &[], unreadable).unwrap_err();
        assert!(matches!(needed, ConfigError::ProfileFileUnreadable { .. }), "{needed:?}");
        assert_eq!(needed.attribute(), "profile");
    }

    #[test]
    fn sites_and_endpoints() {
        let creds = [("NCLOUD_ACCESS_KEY", "AK"), ("NCLOUD_SECRET_KEY", "SK")];
        let public = resolve_with(&block(&[]), &creds, None).unwrap();
        assert_eq!(
            (public.site, public.endpoint.to_string().as_str()),
            (Site::Public, "https://df.apigw.ntruss.com")
        );
        assert_eq!(
            resolve_with(&block(&[("site", "gov")]), &creds, None),
            Err(ConfigError::EndpointRequired { site: Site::Gov })
        );
        let fin =
            resolve_with(&block(&[("site", "fin"), ("endpoint", "https://df.fin.example")]), &creds, None)
                .unwrap();
        assert_eq!(fin.endpoint.to_string(), "https://df.fin.example");
        let env_site =
            resolve_with(&block(&[]), &[creds[0], creds[1], ("NCLOUD_SITE", "moon")], None).unwrap_err();
        assert_eq!(
            env_site,
            ConfigError::InvalidSite { value: "moon".into(), source: Source::Env("NCLOUD_SITE") }
        );
        let env_endpoint = resolve_with(
            &block(&[]),
            &[creds[0], creds[1], ("NCLOUD_DATAFOREST_ENDPOINT", "http://127.0.0.1:9")],
            None,
        )
        .unwrap();
        assert_eq!(env_endpoint.endpoint.to_string(), "http://127.0.0.1:9");
        let remote_http =
            resolve_with(&block(&[("endpoint", "http://df.example")]), &creds, None).unwrap_err();
        assert!(matches!(
            remote_http,
            ConfigError::InvalidEndpoint { error: EndpointError::PlainHttpToRemoteHost(_), .. }
        ));
    }

    #[test]
    fn validate_checks_only_known_values_in_the_block() {
        assert!(validate_value(&block(&[("site", "gov")])).is_empty());
        let mut unknown = block(&[]);
        if let Value::Object(fields) = &mut unknown {
            fields.insert("site".into(), Value::Unknown);
            fields.insert("endpoint".into(), Value::Unknown);
        }
        assert!(validate_value(&unknown).is_empty());
        let errors = validate_value(&block(&[("site", "moon"), ("endpoint", "ftp://x")]));
        assert_eq!(errors.iter().map(ConfigError::attribute).collect::<Vec<_>>(), vec!["site", "endpoint"]);
    }

    #[test]
    fn retries_and_request_timeout() {
        let creds = [("NCLOUD_ACCESS_KEY", "AK"), ("NCLOUD_SECRET_KEY", "SK")];
        let defaults = resolve_with(&block(&[]), &creds, None).unwrap();
        assert_eq!(defaults.options, ClientOptions::default());
        let mut config = block(&[("request_timeout", "1m30s")]);
        if let Value::Object(fields) = &mut config {
            fields.insert("max_retries".into(), Value::Number(Number::Int(0)));
        }
        let set = resolve_with(&config, &[creds[0], creds[1], ("NCLOUD_MAX_RETRIES", "9")], None).unwrap();
        assert_eq!(set.options.retry.max_retries, 0, "the block wins over the environment");
        assert_eq!(set.options.request_timeout, Duration::from_secs(90));
        let from_env =
            resolve_with(&block(&[]), &[creds[0], creds[1], ("NCLOUD_MAX_RETRIES", "7")], None).unwrap();
        assert_eq!(from_env.options.retry.max_retries, 7);
        let negative = resolve_with(&block(&[]), &[creds[0], creds[1], ("NCLOUD_MAX_RETRIES", "-1")], None);
        assert_eq!(
            negative,
            Err(ConfigError::InvalidMaxRetries {
                value: "-1".into(),
                source: Source::Env("NCLOUD_MAX_RETRIES")
            })
        );
    }

    #[test]
    fn a_ceiling_on_requests_per_second_from_the_block_or_the_environment() {
        let creds = [("NCLOUD_ACCESS_KEY", "ak"), ("NCLOUD_SECRET_KEY", "sk")];
        let unset = resolve_with(&block(&[]), &creds, None).unwrap();
        assert_eq!(unset.options.ceiling, None, "unset: adaptive only");
        let mut config = block(&[]);
        if let Value::Object(fields) = &mut config {
            fields.insert("max_requests_per_second".into(), Value::Number(Number::Float(2.5)));
        }
        let env = [creds[0], creds[1], ("NCLOUD_MAX_REQUESTS_PER_SECOND", "9")];
        let set = resolve_with(&config, &env, None).unwrap();
        assert_eq!(set.options.ceiling.map(|rate| rate.as_f64()), Some(2.5), "the block wins");
        let from_env = resolve_with(&block(&[]), &env, None).unwrap();
        assert_eq!(from_env.options.ceiling.map(|rate| rate.as_f64()), Some(9.0));
        for bad in ["0", "0.05", "10001", "many", "-3"] {
            let env = [creds[0], creds[1], ("NCLOUD_MAX_REQUESTS_PER_SECOND", bad)];
            assert!(
                matches!(
                    resolve_with(&block(&[]), &env, None),
                    Err(ConfigError::InvalidMaxRequestsPerSecond { .. })
                ),
                "{bad}"
            );
        }
        assert!(set.differences(&unset).contains(&"max_requests_per_second"));
    }

    #[test]
    fn account_lists_from_the_block_or_the_environment_and_never_both() {
        let creds = [("NCLOUD_ACCESS_KEY", "AK"), ("NCLOUD_SECRET_KEY", "SK")];
        let ids = |names: &[&str]| Value::List(names.iter().map(|n| Value::String(n.to_string())).collect());
        let mut allowed = block(&[]);
        if let Value::Object(fields) = &mut allowed {
            fields.insert("allowed_account_ids".into(), ids(&["acc1", "acc2"]));
        }
        let rule = resolve_with(&allowed, &creds, None).unwrap().accounts;
        assert!(rule.permits("acc1") && !rule.permits("acc3"));
        assert_eq!(rule.setting(), Some(ALLOWED_ACCOUNT_IDS));
        let from_env = resolve_with(
            &block(&[]),
            &[creds[0], creds[1], ("NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS", " acc1 ,acc2")],
            None,
        )
        .unwrap()
        .accounts;
        assert_eq!(from_env, AccountRule::Forbidden(["acc1".to_string(), "acc2".to_string()].into()));
        assert_eq!(resolve_with(&block(&[]), &creds, None).unwrap().accounts, AccountRule::Any);
        let both = resolve_with(
            &allowed,
            &[creds[0], creds[1], ("NCLOUD_DATAFOREST_FORBIDDEN_ACCOUNT_IDS", "x")],
            None,
        );
        assert!(matches!(both, Err(ConfigError::BothAccountLists { .. })), "{both:?}");
        let set_to_nothing = resolve_with(
            &block(&[]),
            &[creds[0], creds[1], ("NCLOUD_DATAFOREST_ALLOWED_ACCOUNT_IDS", "")],
            None,
        );
        assert!(
            matches!(set_to_nothing, Err(ConfigError::InvalidAccountIds { .. })),
            "a guard set to nothing fails"
        );
        let blank = resolve_with(
            &block(&[]),
            &[creds[0], creds[1], ("NCLOUD_DATAFOREST_ALLOWED_ACCOUNT_IDS", "acc1,")],
            None,
        );
        assert!(matches!(blank, Err(ConfigError::InvalidAccountIds { .. })), "{blank:?}");
        let mut empty = block(&[]);
        if let Value::Object(fields) = &mut empty {
            fields.insert("forbidden_account_ids".into(), ids(&[]));
            fields.insert("allowed_account_ids".into(), ids(&["acc1"]));
        }
        let errors = validate_value(&empty);
        assert_eq!(
            errors.iter().map(ConfigError::attribute).collect::<Vec<_>>(),
            ["forbidden_account_ids", "forbidden_account_ids"],
            "{errors:?}"
        );
    }

    #[test]
    fn validate_checks_numbers_and_durations_in_the_block() {
        for (value, valid) in [(-1, false), (0, true), (20, true), (21, false)] {
            let mut config = block(&[]);
            if let Value::Object(fields) = &mut config {
                fields.insert("max_retries".into(), Value::Number(Number::Int(value)));
            }
            assert_eq!(validate_value(&config).is_empty(), valid, "{value}");
        }
        let mut fraction = block(&[]);
        if let Value::Object(fields) = &mut fraction {
            fields.insert("max_retries".into(), Value::Number(Number::Float(1.5)));
        }
        assert_eq!(validate_value(&fraction)[0].attribute(), "max_retries");
        for (text, valid) in
            [("30s", true), ("500ms", true), ("1m30s", true), ("2h", false), ("0s", false), ("soon", false)]
        {
            let errors = validate_value(&block(&[("request_timeout", text)]));
            assert_eq!(errors.is_empty(), valid, "{text}: {errors:?}");
        }
    }
}
