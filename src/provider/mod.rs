//! The ncloud provider: its configuration, resource, action and data sources, expressed in
//! protocol values and typed errors. It calls DataForest through `ncp` and never sees gRPC.

pub mod action;
pub mod aiapp_kill;
pub mod config;
pub mod data_sources;
pub mod error;
pub mod kill;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio_util::sync::CancellationToken;

use crate::ncp::{ApiError, DataForestClient};
use crate::protocol::schema::Schema;
use crate::protocol::value::{self, Value};
use aiapp_kill::Applied;
use config::{Environment, ResolvedConfig};
use error::{KillFailure, ProviderError, ProviderWarning};
use kill::{Kill, KillError, KillReport, Phase};

/// The provider's type name, the prefix of its resource types.
pub const TYPE_NAME: &str = "ncloud";

/// What `ConfigureProvider` left behind.
enum Configuration {
    /// Not configured yet: nothing that needs the API may run.
    NotYet,
    /// Configured during plan while these settings were still unknown: nothing that needs the
    /// API may run until Terraform configures the provider again with them known.
    Unknown(Vec<&'static str>),
    Ready(Arc<Session>),
}

/// A resolved configuration, the HTTP client made from it when first needed (so that runs which
/// never call DataForest, such as validate and plan, never build one), and the kills sent since.
struct Session {
    config: ResolvedConfig,
    client: OnceLock<Result<DataForestClient, ApiError>>,
    /// The resource kills since this configuration, by app id: the answer once DataForest
    /// accepted a kill (or it found the app already ended). A resource kill holds its app's lock
    /// while it runs, so that a second kill of the same app in this run (such as the two halves
    /// of a replacement when `when` changes, in either order, or two instances running at once)
    /// waits for the first and reuses its answer instead of killing the app twice.
    killed: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<KillReport>>>>>,
}

impl Session {
    fn client(&self) -> Result<&DataForestClient, ApiError> {
        self.client
            .get_or_init(|| {
                let config = &self.config;
                DataForestClient::new(config.endpoint.clone(), config.credentials.clone(), config.options)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The client, for `kill`.
    fn client_for(&self, kill: &Kill) -> Result<&DataForestClient, ProviderError> {
        self.client().map_err(|error| ProviderError::Kill {
            app_id: kill.app_id.clone(),
            phase: kill.phase,
            failure: KillFailure::Failed {
                error: Box::new(error),
                attempts: 0,
                earlier_attempt_uncertain: false,
            },
        })
    }

    /// The lock of `app_id`'s kills in this run, holding the answer of the one accepted.
    fn kills_of(&self, app_id: &str) -> Arc<tokio::sync::Mutex<Option<KillReport>>> {
        // Entries are inserted whole, so a poisoned map is still consistent.
        let mut killed = self.killed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(killed.entry(app_id.to_string()).or_default())
    }
}

/// A failed apply: the error, and the state to record despite it. `state` is a kill DataForest
/// accepted before waiting for the app to end failed; `None` keeps the prior state.
#[derive(Debug)]
pub struct ApplyError {
    pub error: ProviderError,
    pub state: Option<Value>,
}

impl From<ProviderError> for ApplyError {
    fn from(error: ProviderError) -> ApplyError {
        ApplyError { error, state: None }
    }
}

/// What reading a data source gave.
#[derive(Debug, PartialEq)]
pub enum DataSourceRead {
    /// The data source's state.
    Read(Value),
    /// Terraform allows deferral and the provider's settings are still unknown: the state as
    /// far as known (computed attributes unknown), to be read again once they are known.
    Deferred(Value),
}

pub struct NcloudProvider {
    configuration: RwLock<Configuration>,
    /// The stop token of the work in flight. `StopProvider` cancels it, and it stays cancelled,
    /// so that nothing new starts, until the next `ConfigureProvider` puts a fresh one in.
    stop: Mutex<CancellationToken>,
}

impl Default for NcloudProvider {
    fn default() -> Self {
        NcloudProvider {
            configuration: RwLock::new(Configuration::NotYet),
            stop: Mutex::new(CancellationToken::new()),
        }
    }
}

impl NcloudProvider {
    pub fn provider_schema(&self) -> Schema {
        config::schema()
    }

    pub fn resource_schemas(&self) -> Vec<(&'static str, Schema)> {
        vec![(aiapp_kill::TYPE_NAME, aiapp_kill::schema())]
    }

    pub fn data_source_schemas(&self) -> Vec<(&'static str, Schema)> {
        vec![
            (data_sources::APPS, data_sources::apps_schema()),
            (data_sources::APP, data_sources::app_schema()),
        ]
    }

    fn check_data_source(&self, type_name: &str) -> Result<(), ProviderError> {
        match type_name {
            data_sources::APPS | data_sources::APP => Ok(()),
            other => Err(ProviderError::UnknownType { kind: "data source", name: other.to_string() }),
        }
    }

    pub fn validate_data_source(&self, type_name: &str, config: &Value) -> Vec<ProviderError> {
        match self.check_data_source(type_name) {
            Ok(()) => data_sources::validate(type_name, config),
            Err(error) => vec![error],
        }
    }

    /// Reads a data source. While provider settings are unknown (during plan), the read is
    /// deferred where Terraform allows it, and otherwise an error naming the settings.
    pub async fn read_data_source(
        &self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> Result<DataSourceRead, ProviderError> {
        self.check_data_source(type_name)?;
        let stop = self.running()?;
        let session = match self.session() {
            Err(ProviderError::ProviderConfigUnknown { .. }) if deferral_allowed => {
                return Ok(DataSourceRead::Deferred(data_sources::unknown_state(type_name, config)));
            }
            session => session?,
        };
        let client = session.client().map_err(|error| ProviderError::LookupFailed {
            what: type_name.to_string(),
            error: Box::new(error),
            attempts: 0,
        })?;
        tokio::select! {
            biased;
            () = stop.cancelled() => Err(ProviderError::Interrupted),
            read = data_sources::read(client, type_name, config) => read.map(DataSourceRead::Read),
        }
    }

    /// Checks a resource type name without building its schema (plan and apply need no more).
    fn check_resource(&self, type_name: &str) -> Result<(), ProviderError> {
        match type_name {
            aiapp_kill::TYPE_NAME => Ok(()),
            other => Err(ProviderError::UnknownType { kind: "resource", name: other.to_string() }),
        }
    }

    fn resource_schema(&self, type_name: &str) -> Result<Schema, ProviderError> {
        self.check_resource(type_name)?;
        Ok(aiapp_kill::schema())
    }

    pub fn validate_provider_config(&self, config: &Value) -> Vec<ProviderError> {
        config::validate(config).into_iter().map(ProviderError::from).collect()
    }

    /// Resolves the configuration; settings still unknown during plan defer it without error.
    /// Work refused since a `StopProvider` may start again from here.
    pub fn configure(&self, config: &Value, environment: &Environment<'_>) -> Result<(), ProviderError> {
        {
            // First, so that a Stop arriving while this runs is not lost.
            let mut stop = self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if stop.is_cancelled() {
                *stop = CancellationToken::new();
            }
        }
        let unknown = config::unknown_settings(config);
        let (next, result) = if !unknown.is_empty() {
            (Configuration::Unknown(unknown), Ok(()))
        } else {
            match config::resolve(config, environment) {
                Ok(config) => {
                    tracing::debug!(site = %config.site, endpoint = %config.endpoint, "provider configured");
                    let session = Session { config, client: OnceLock::new(), killed: Mutex::default() };
                    (Configuration::Ready(Arc::new(session)), Ok(()))
                }
                // A failed configuration leaves none behind, not the one before it.
                Err(error) => (Configuration::NotYet, Err(error.into())),
            }
        };
        *self.configuration.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        result
    }

    pub fn validate_resource(&self, type_name: &str, config: &Value) -> Vec<ProviderError> {
        match self.check_resource(type_name) {
            Ok(()) => aiapp_kill::validate(config),
            Err(error) => vec![error],
        }
    }

    /// Brings stored state (JSON, any schema version up to ours) to the current schema.
    pub fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        json: &[u8],
    ) -> Result<Value, ProviderError> {
        let schema = self.resource_schema(type_name)?;
        if version > schema.version {
            return Err(ProviderError::StateTooNew { version, supported: schema.version });
        }
        let stored =
            Value::from_json(json).map_err(|error| ProviderError::Decode { what: "stored state", error })?;
        value::conform(stored, &schema.object_type())
            .map_err(|error| ProviderError::Decode { what: "stored state", error })
    }

    pub fn plan_resource(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
    ) -> Result<aiapp_kill::Plan, ProviderError> {
        self.check_resource(type_name)?;
        Ok(aiapp_kill::plan(prior, proposed))
    }

    /// Applies a planned change. On an error the prior state stands (a failed create leaves no
    /// resource, a failed destroy keeps the one there was), unless the error carries a kill that
    /// DataForest accepted before waiting for the app failed: that kill is recorded.
    pub async fn apply_resource(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Applied, ApplyError> {
        self.check_resource(type_name)?;
        match (prior, planned) {
            (prior, Value::Null) if aiapp_kill::kills_on_destroy(prior)? => {
                let report =
                    self.resource_kill(prior, Phase::Destroy).await.map_err(|failed| failed.error)?;
                Ok(Applied { state: Value::Null, warnings: report.warnings })
            }
            // A kill cannot be undone, so forgetting it is all there is to do.
            (_, Value::Null) => Ok(Applied { state: Value::Null, warnings: Vec::new() }),
            (Value::Null, planned) if aiapp_kill::kills_on_destroy(planned)? => {
                Ok(self.arm_kill(planned).await?)
            }
            (Value::Null, planned) => self.kill_into(planned, Phase::Create).await,
            (prior, planned) if aiapp_kill::kills_on_update(prior, planned) => {
                self.kill_into(planned, Phase::Update).await
            }
            (prior, planned) => Ok(aiapp_kill::update(prior, planned)?),
        }
    }

    /// Kills as `planned` asks, at create or at a change of `when` to `create`, and returns the
    /// state recording the answer.
    async fn kill_into(&self, planned: &Value, phase: Phase) -> Result<Applied, ApplyError> {
        match self.resource_kill(planned, phase).await {
            Ok(report) => {
                Ok(Applied { state: aiapp_kill::killed_state(planned, &report), warnings: report.warnings })
            }
            Err(KillError { error, accepted: Some(report) }) => {
                Err(ApplyError { error, state: Some(aiapp_kill::killed_state(planned, &report)) })
            }
            Err(KillError { error, accepted: None }) => Err(error.into()),
        }
    }

    /// The kill of a resource in `state`, sent at most once per app in a run: once DataForest
    /// accepted a kill of an app (or it had ended), later kills of it in the run reuse that
    /// answer. The app's lock is held only until DataForest answered, and is waited for within
    /// this kill's own time-out; each kill then waits for the app on its own.
    async fn resource_kill(&self, state: &Value, phase: Phase) -> Result<KillReport, KillError> {
        let kill = aiapp_kill::kill_of(state, phase)?;
        let deadline = kill.deadline()?;
        let stop = self.running()?;
        let session = self.session()?;
        let client = session.client_for(&kill)?;
        let app_id = &kill.app_id;
        let mut progress = |step: String| tracing::info!(app_id = %app_id, "{step}");
        let kills_of_app = session.kills_of(app_id);
        let report = {
            let mut answered = tokio::select! {
                biased;
                () = stop.cancelled() => return Err(ProviderError::Stopped.into()),
                locked = tokio::time::timeout_at(deadline, kills_of_app.lock()) => {
                    locked.map_err(|_| kill.failed(KillFailure::TimedOut { limit: kill.limit }))?
                }
            };
            match answered.as_ref() {
                Some(earlier) => {
                    progress(format!("AI app {app_id} was killed earlier in this run; its answer is reused"));
                    KillReport { warnings: Vec::new(), ..earlier.clone() }
                }
                None => {
                    let report = kill::send(client, &kill, deadline, &stop, &mut progress).await?;
                    // An app found gone is not a kill: a later create-time kill of it must fail.
                    if report.success || report.observed.is_some() {
                        *answered = Some(report.clone());
                    }
                    report
                }
            }
        };
        let report = kill::finish(client, &kill, report, deadline, &stop, progress).await?;
        tracing::info!(app_id = %app_id, ?phase, "AI app kill done");
        Ok(report)
    }

    /// Create with `when = "destroy"`: checks that DataForest knows the app, then records the
    /// intent; nothing is killed.
    async fn arm_kill(&self, planned: &Value) -> Result<Applied, ProviderError> {
        let kill = aiapp_kill::kill_of(planned, Phase::Create)?;
        let stop = self.running()?;
        let session = self.session()?;
        let client = session.client_for(&kill)?;
        kill::check_exists(client, &kill.app_id, kill.limit, &stop).await?;
        aiapp_kill::record_intent(planned)
    }

    pub fn action_schemas(&self) -> Vec<(&'static str, Schema)> {
        vec![(action::TYPE_NAME, action::schema())]
    }

    pub fn validate_action(&self, type_name: &str, config: &Value) -> Vec<ProviderError> {
        match type_name {
            action::TYPE_NAME => action::validate(config),
            other => vec![ProviderError::UnknownType { kind: "action", name: other.to_string() }],
        }
    }

    /// Runs the action; `progress` hears each step as it happens. Dropping the returned future
    /// stops the kill, HTTP call and polling included.
    pub async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: impl FnMut(String),
    ) -> Result<Vec<ProviderWarning>, ProviderError> {
        if type_name != action::TYPE_NAME {
            return Err(ProviderError::UnknownType { kind: "action", name: type_name.to_string() });
        }
        let kill = action::kill_of(config)?;
        let stop = self.running()?;
        let session = self.session()?;
        let client = session.client_for(&kill)?;
        let report = kill::kill(client, &kill, &stop, progress).await.map_err(|failed| failed.error)?;
        Ok(report.warnings)
    }

    pub fn import_resource(&self, type_name: &str) -> ProviderError {
        match self.check_resource(type_name) {
            Ok(()) => ProviderError::ImportRefused { type_name: type_name.to_string() },
            Err(error) => error,
        }
    }

    /// `StopProvider`: cancels the work in flight, and refuses new work until Terraform
    /// configures the provider again (as a `--debug` provider's next run does). The process and
    /// the calls that need no API go on.
    pub fn stop(&self) {
        self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).cancel();
    }

    /// The stop token for work starting now, unless Terraform has asked to stop since the
    /// provider was last configured.
    fn running(&self) -> Result<CancellationToken, ProviderError> {
        let token = self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if token.is_cancelled() { Err(ProviderError::Stopped) } else { Ok(token) }
    }

    fn session(&self) -> Result<Arc<Session>, ProviderError> {
        match &*self.configuration.read().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Configuration::Ready(session) => Ok(Arc::clone(session)),
            Configuration::Unknown(settings) => {
                Err(ProviderError::ProviderConfigUnknown { settings: settings.clone() })
            }
            Configuration::NotYet => Err(ProviderError::NotConfigured),
        }
    }
}
