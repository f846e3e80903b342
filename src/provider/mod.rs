//! The ncloud provider: its configuration, resource, action and data sources, expressed in
//! protocol values and typed errors. It calls DataForest through `ncp` and never sees gRPC.

pub mod action;
pub mod aiapp_kill;
pub mod config;
pub mod data_sources;
pub mod error;
pub mod kill;

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio_util::sync::CancellationToken;

use crate::ncp::{ApiError, DataForestClient};
use crate::protocol::schema::Schema;
use crate::protocol::value::{self, Value};
use aiapp_kill::Applied;
use config::{Environment, ResolvedConfig};
use error::{ProviderError, ProviderWarning};

/// The provider's type name, the prefix of its resource types.
pub const TYPE_NAME: &str = "ncloud";

/// What `ConfigureProvider` left behind.
enum Configuration {
    /// Not configured, or some settings were unknown (during plan): nothing that needs the API
    /// may run.
    NotYet,
    Ready(Arc<Session>),
}

/// A resolved configuration and the HTTP client made from it when first needed, so that runs
/// which never call DataForest (validate, plan, destroy) never build one.
struct Session {
    config: ResolvedConfig,
    client: OnceLock<Result<DataForestClient, ApiError>>,
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

    /// The client, for a kill of the app in `state`.
    fn client_for(&self, state: &Value) -> Result<&DataForestClient, ProviderError> {
        self.client().map_err(|error| ProviderError::KillFailed {
            app_id: state.get("app_id").as_str().unwrap_or_default().to_string(),
            error: Box::new(error),
            attempts: 0,
        })
    }
}

pub struct NcloudProvider {
    configuration: RwLock<Configuration>,
    /// The stop token of the calls in flight; `StopProvider` cancels it and puts a fresh one in.
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

    pub async fn read_data_source(&self, type_name: &str, config: &Value) -> Result<Value, ProviderError> {
        self.check_data_source(type_name)?;
        let session = self.session()?;
        let client = session.client().map_err(|error| ProviderError::LookupFailed {
            what: type_name.to_string(),
            error: Box::new(error),
            attempts: 0,
        })?;
        tokio::select! {
            biased;
            () = self.stop_token().cancelled_owned() => Err(ProviderError::Interrupted),
            read = data_sources::read(client, type_name, config) => read,
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
    pub fn configure(&self, config: &Value, environment: &Environment<'_>) -> Result<(), ProviderError> {
        let next = if config.has_unknowns() {
            Configuration::NotYet
        } else {
            let config = config::resolve(config, environment)?;
            tracing::debug!(site = %config.site, endpoint = %config.endpoint, "provider configured");
            Configuration::Ready(Arc::new(Session { config, client: OnceLock::new() }))
        };
        *self.configuration.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        Ok(())
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

    /// Applies a planned change. On an error the caller records nothing new: a failed create
    /// leaves no resource, a failed destroy keeps the one there was.
    pub async fn apply_resource(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
    ) -> Result<Applied, ProviderError> {
        self.check_resource(type_name)?;
        match (prior, planned) {
            (prior, Value::Null) if aiapp_kill::kills_on_destroy(prior)? => {
                let session = self.session()?;
                self.until_stopped(prior, aiapp_kill::destroy(session.client_for(prior)?, prior)).await
            }
            // A kill cannot be undone, so forgetting it is all there is to do.
            (_, Value::Null) => Ok(Applied { state: Value::Null, warnings: Vec::new() }),
            (Value::Null, planned) if aiapp_kill::kills_on_destroy(planned)? => {
                aiapp_kill::record_intent(planned)
            }
            (Value::Null, planned) => {
                let session = self.session()?;
                self.until_stopped(planned, aiapp_kill::create(session.client_for(planned)?, planned)).await
            }
            (prior, planned) => aiapp_kill::update(prior, planned),
        }
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

    /// Runs the action; `progress` hears each step as it happens.
    pub async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: impl FnMut(String),
    ) -> Result<Vec<ProviderWarning>, ProviderError> {
        if type_name != action::TYPE_NAME {
            return Err(ProviderError::UnknownType { kind: "action", name: type_name.to_string() });
        }
        let (app_id, wait) = action::arguments(config)?;
        let session = self.session()?;
        let client = session.client_for(config)?;
        let report = self
            .until_stopped(config, kill::kill(client, &app_id, wait, kill::DEFAULT_TIMEOUT, progress))
            .await?;
        Ok(report.warnings)
    }

    /// Runs a kill unless Terraform asks to stop first; stopping drops it, HTTP call and all.
    async fn until_stopped<T>(
        &self,
        state: &Value,
        kill: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        tokio::select! {
            // Checked first, so nothing is sent once Terraform has asked to stop.
            biased;
            () = self.stop_token().cancelled_owned() => Err(ProviderError::KillInterrupted {
                app_id: state.get("app_id").as_str().unwrap_or_default().to_string(),
            }),
            applied = kill => applied,
        }
    }

    pub fn import_resource(&self, type_name: &str) -> ProviderError {
        match self.check_resource(type_name) {
            Ok(()) => ProviderError::ImportRefused { type_name: type_name.to_string() },
            Err(error) => error,
        }
    }

    /// `StopProvider`: cancels the calls in flight; the process and later calls go on.
    pub fn stop(&self) {
        let mut current = self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        current.cancel();
        // Calls that start later run normally: a `--debug` provider serves run after run.
        *current = CancellationToken::new();
    }

    /// The token of the calls starting now; `stop` cancels it.
    fn stop_token(&self) -> CancellationToken {
        self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn session(&self) -> Result<Arc<Session>, ProviderError> {
        match &*self.configuration.read().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Configuration::Ready(session) => Ok(Arc::clone(session)),
            Configuration::NotYet => Err(ProviderError::NotConfigured),
        }
    }
}
