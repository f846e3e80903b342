//! The ncloud provider: its configuration, resource, action and data sources, each a typed object
//! decoded from the protocol's values once, and the typed errors that become diagnostics in one
//! place ([`error`]). It implements the protocol's [`Provider`] interface, calls DataForest
//! through [`crate::ncp`], and never sees gRPC.

pub mod action;
pub mod aiapp_kill;
pub mod aiapps_kill;
mod bulk;
pub mod config;
pub mod data_sources;
pub mod error;
pub mod kill;
pub mod selector;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio_util::sync::CancellationToken;

use crate::ncp::{ApiError, DataForestClient};
use crate::protocol::diagnostic::{Diagnostic, PathStep};
use crate::protocol::object::Object;
use crate::protocol::provider::{AppliedChange, DataRead, PlannedChange, Provider, Schemas};
use crate::protocol::value::{self, Value};
use aiapp_kill::AppKill;
use aiapps_kill::AppsKill;
use config::{Environment, ProviderBlock, ResolvedConfig};
use data_sources::Query;
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
                DataForestClient::new(
                    config.endpoint.clone(),
                    config.credentials.clone(),
                    config.options,
                    &config.network,
                )
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

/// A failed apply: the error, and the state to record despite it: a kill DataForest accepted
/// before waiting for the app to end failed. `None` keeps the prior state.
#[derive(Debug)]
struct ApplyError<T> {
    error: ProviderError,
    state: Option<T>,
}

impl<T> From<ProviderError> for ApplyError<T> {
    fn from(error: ProviderError) -> ApplyError<T> {
        ApplyError { error, state: None }
    }
}

/// What an apply leaves: the state to record (`None` once destroyed), and anything worth a
/// warning.
struct Applied<T> {
    state: Option<T>,
    warnings: Vec<ProviderWarning>,
}

/// A resource type as the provider validates, plans and records it.
trait ResourceType: Object {
    fn schema() -> crate::protocol::schema::Schema;
    fn validate(&self) -> Vec<ProviderError>;
    /// The planned state over `prior` (`None` when creating), and what forces a replacement.
    fn plan(prior: Option<&Self>, proposed: &Self) -> (Self, Vec<&'static str>);
}

impl ResourceType for AppKill {
    fn schema() -> crate::protocol::schema::Schema {
        aiapp_kill::schema()
    }
    fn validate(&self) -> Vec<ProviderError> {
        AppKill::validate(self)
    }
    fn plan(prior: Option<&Self>, proposed: &Self) -> (Self, Vec<&'static str>) {
        let plan = aiapp_kill::plan(prior, proposed);
        (plan.planned, plan.requires_replace)
    }
}

impl ResourceType for AppsKill {
    fn schema() -> crate::protocol::schema::Schema {
        aiapps_kill::schema()
    }
    fn validate(&self) -> Vec<ProviderError> {
        AppsKill::validate(self)
    }
    fn plan(prior: Option<&Self>, proposed: &Self) -> (Self, Vec<&'static str>) {
        let plan = aiapps_kill::plan(prior, proposed);
        (plan.planned, plan.requires_replace)
    }
}

fn unknown_type(kind: &'static str, name: &str) -> ProviderError {
    ProviderError::UnknownType { kind, name: name.to_string() }
}

/// Validates a resource configuration of type `T`.
fn validate_as<T: ResourceType>(config: &Value) -> Vec<ProviderError> {
    match decode_nullable::<T>(config) {
        Ok(resource) => resource.map(|resource| resource.validate()).unwrap_or_default(),
        Err(error) => vec![error],
    }
}

/// Brings a stored state of type `T` to the current schema: attributes an older schema had are
/// dropped, new ones are null.
fn upgrade_as<T: ResourceType>(version: i64, stored: Value) -> Result<Value, ProviderError> {
    let schema = T::schema();
    if version > schema.version {
        return Err(ProviderError::StateTooNew { version, supported: schema.version });
    }
    let conformed = value::conform(stored, &schema.object_type())
        .map_err(|error| ProviderError::Decode { what: "stored state", error })?;
    Ok(decode_nullable::<T>(&conformed)?.map_or(Value::Null, |state| state.to_value()))
}

/// Plans a change of a resource of type `T`.
fn plan_as<T: ResourceType>(prior: &Value, proposed: &Value) -> Result<PlannedChange, ProviderError> {
    let prior = decode_nullable::<T>(prior)?;
    let Some(proposed) = decode_nullable::<T>(proposed)? else {
        return Ok(PlannedChange { planned_state: Value::Null, requires_replace: Vec::new() });
    };
    let (planned, requires_replace) = T::plan(prior.as_ref(), &proposed);
    Ok(PlannedChange {
        planned_state: planned.to_value(),
        requires_replace: requires_replace
            .into_iter()
            .map(|name| vec![PathStep::Attribute(name.to_string())])
            .collect(),
    })
}

/// The answer to an apply of a resource of type `T`.
fn applied_change<T: Object>(applied: Result<Applied<T>, ApplyError<T>>) -> AppliedChange {
    match applied {
        Ok(Applied { state, warnings }) => AppliedChange {
            new_state: Some(state.map_or(Value::Null, |state| state.to_value())),
            diagnostics: warnings.iter().map(ProviderWarning::to_diagnostic).collect(),
        },
        Err(ApplyError { error, state }) => AppliedChange {
            new_state: state.map(|state| state.to_value()),
            diagnostics: diagnostics([error]),
        },
    }
}

pub struct NcloudProvider {
    configuration: RwLock<Configuration>,
    /// The stop token of the work in flight. `StopProvider` cancels it, and it stays cancelled,
    /// so that nothing new starts, until the next `ConfigureProvider` puts a fresh one in.
    stop: Mutex<CancellationToken>,
    /// Where settings not in the provider block come from.
    environment: Environment,
}

impl Default for NcloudProvider {
    fn default() -> Self {
        NcloudProvider::new(Environment::of_process())
    }
}

fn diagnostics(errors: impl IntoIterator<Item = ProviderError>) -> Vec<Diagnostic> {
    errors.into_iter().map(|error| error.to_diagnostic()).collect()
}

/// An object of type `T` from a value Terraform sent, or the error naming where it does not fit.
fn decode<T: Object>(value: &Value) -> Result<T, ProviderError> {
    Ok(T::from_value(value)?)
}

/// An object of type `T`, or `None` for null (no object: before a create, after a destroy).
fn decode_nullable<T: Object>(value: &Value) -> Result<Option<T>, ProviderError> {
    match value {
        Value::Null => Ok(None),
        value => decode(value).map(Some),
    }
}

impl NcloudProvider {
    pub fn new(environment: Environment) -> NcloudProvider {
        NcloudProvider {
            configuration: RwLock::new(Configuration::NotYet),
            stop: Mutex::new(CancellationToken::new()),
            environment,
        }
    }

    fn check_resource(&self, type_name: &str) -> Result<(), ProviderError> {
        match type_name {
            aiapp_kill::TYPE_NAME | aiapps_kill::TYPE_NAME => Ok(()),
            other => Err(ProviderError::UnknownType { kind: "resource", name: other.to_string() }),
        }
    }

    fn check_data_source(&self, type_name: &str) -> Result<(), ProviderError> {
        match type_name {
            data_sources::APPS | data_sources::APP => Ok(()),
            other => Err(ProviderError::UnknownType { kind: "data source", name: other.to_string() }),
        }
    }

    fn check_action(&self, type_name: &str) -> Result<(), ProviderError> {
        match type_name {
            action::TYPE_NAME | aiapps_kill::TYPE_NAME => Ok(()),
            other => Err(ProviderError::UnknownType { kind: "action", name: other.to_string() }),
        }
    }

    /// Resolves the configuration; settings still unknown during plan defer it without error.
    /// Work refused since a `StopProvider` may start again from here.
    fn configure_block(&self, config: &Value) -> Result<(), ProviderError> {
        {
            // First, so that a Stop arriving while this runs is not lost.
            let mut stop = self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if stop.is_cancelled() {
                *stop = CancellationToken::new();
            }
        }
        // No provider block at all is a block with nothing set.
        let resolved = decode_nullable::<ProviderBlock>(config).and_then(|block| {
            let block = block.unwrap_or_default();
            let unknown = config::unknown_settings(&block);
            if !unknown.is_empty() {
                return Ok(Configuration::Unknown(unknown));
            }
            let config = config::resolve(&block, &self.environment)?;
            tracing::debug!(site = %config.site, endpoint = %config.endpoint, "provider configured");
            let session = Session { config, client: OnceLock::new(), killed: Mutex::default() };
            Ok(Configuration::Ready(Arc::new(session)))
        });
        let (next, result) = match resolved {
            Ok(next) => (next, Ok(())),
            // A failed configuration leaves none behind, not the one before it.
            Err(error) => (Configuration::NotYet, Err(error)),
        };
        *self.configuration.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        result
    }

    async fn read_query(
        &self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> Result<DataRead, ProviderError> {
        self.check_data_source(type_name)?;
        let query = Query::from_value(type_name, config)?;
        let stop = self.running()?;
        let session = match self.session() {
            Err(ProviderError::ProviderConfigUnknown { .. }) if deferral_allowed => {
                return Ok(DataRead::DeferredForProviderConfig(query.unknown_result().to_value()));
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
            read = query.read(client, std::time::SystemTime::now()) => read.map(|(found, warnings)| DataRead::Read {
                state: found.to_value(),
                warnings: warnings.iter().map(ProviderWarning::to_diagnostic).collect(),
            }),
        }
    }

    /// Applies a planned change of the kill resource.
    async fn apply(
        &self,
        prior: Option<AppKill>,
        planned: Option<AppKill>,
    ) -> Result<Applied<AppKill>, ApplyError<AppKill>> {
        match (prior, planned) {
            (Some(prior), None) if prior.kills_on_destroy()? => {
                let report =
                    self.resource_kill(&prior, Phase::Destroy).await.map_err(|failed| failed.error)?;
                Ok(Applied { state: None, warnings: report.warnings })
            }
            // A kill cannot be undone, so forgetting it is all there is to do.
            (_, None) => Ok(Applied { state: None, warnings: Vec::new() }),
            (None, Some(planned)) if planned.kills_on_destroy()? => {
                Ok(Applied { state: Some(self.arm_kill(&planned).await?), warnings: Vec::new() })
            }
            (None, Some(planned)) => self.kill_into(&planned, Phase::Create).await,
            (Some(prior), Some(planned)) if aiapp_kill::kills_on_update(&prior, &planned) => {
                self.kill_into(&planned, Phase::Update).await
            }
            (Some(prior), Some(planned)) => {
                Ok(Applied { state: Some(aiapp_kill::update(&prior, &planned)?), warnings: Vec::new() })
            }
        }
    }

    /// Kills as `planned` asks, at create or at a change of `when` to `create`, and returns the
    /// state recording the answer.
    async fn kill_into(
        &self,
        planned: &AppKill,
        phase: Phase,
    ) -> Result<Applied<AppKill>, ApplyError<AppKill>> {
        match self.resource_kill(planned, phase).await {
            Ok(report) => {
                Ok(Applied { state: Some(planned.with_answer(&report)), warnings: report.warnings })
            }
            Err(KillError { error, accepted: Some(report) }) => {
                Err(ApplyError { error, state: Some(planned.with_answer(&report)) })
            }
            Err(KillError { error, accepted: None }) => Err(error.into()),
        }
    }

    /// The kill of a resource in `state`.
    async fn resource_kill(&self, state: &AppKill, phase: Phase) -> Result<KillReport, KillError> {
        let kill = state.kill(phase)?;
        let deadline = kill.deadline()?;
        let stop = self.running()?;
        let session = self.session()?;
        let app_id = &kill.app_id;
        let progress = |step: String| tracing::info!(app_id = %app_id, "{step}");
        let report = self.kill_once(&session, &kill, deadline, &stop, &progress).await?;
        tracing::info!(app_id = %app_id, ?phase, "AI app kill done");
        Ok(report)
    }

    /// A resource's kill of one app, sent at most once per app in a run: once DataForest accepted
    /// a kill of an app (or it had ended), later kills of it in the run reuse that answer. The
    /// app's lock is held only until DataForest answered, and is waited for before `deadline`;
    /// each kill then waits for the app on its own.
    async fn kill_once(
        &self,
        session: &Session,
        kill: &Kill,
        deadline: tokio::time::Instant,
        stop: &CancellationToken,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<KillReport, KillError> {
        let client = session.client_for(kill)?;
        let app_id = &kill.app_id;
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
                    let report = kill::send(client, kill, deadline, stop, &mut |step| progress(step)).await?;
                    // An app found gone is not a kill: a later create-time kill of it must fail.
                    if report.success || report.observed.is_some() {
                        *answered = Some(report.clone());
                    }
                    report
                }
            }
        };
        kill::finish(client, kill, report, deadline, stop, progress).await
    }

    /// Create with `when = "destroy"`: checks that DataForest knows the app, then records the
    /// intent; nothing is killed.
    async fn arm_kill(&self, planned: &AppKill) -> Result<AppKill, ProviderError> {
        let kill = planned.kill(Phase::Create)?;
        let stop = self.running()?;
        let session = self.session()?;
        let client = session.client_for(&kill)?;
        kill::check_exists(client, &kill.app_id, kill.limit, &stop).await?;
        planned.with_intent()
    }

    /// Runs the action; `progress` hears each step as it happens. Dropping the returned future
    /// stops the kill, HTTP call and polling included.
    async fn run_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: impl FnMut(String),
    ) -> Result<Vec<ProviderWarning>, ProviderError> {
        self.check_action(type_name)?;
        let action = decode::<action::KillAction>(config)?;
        if let Some(error) = action.validate().into_iter().next() {
            return Err(error);
        }
        let kill = action.kill()?;
        let stop = self.running()?;
        let session = self.session()?;
        let client = session.client_for(&kill)?;
        let report = kill::kill(client, &kill, &stop, progress).await.map_err(|failed| failed.error)?;
        Ok(report.warnings)
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

impl Provider for NcloudProvider {
    fn schemas(&self) -> Schemas {
        Schemas {
            provider: config::schema(),
            resources: vec![
                (aiapp_kill::TYPE_NAME, aiapp_kill::schema()),
                (aiapps_kill::TYPE_NAME, aiapps_kill::schema()),
            ],
            data_sources: vec![
                (data_sources::APPS, data_sources::apps_schema()),
                (data_sources::APP, data_sources::app_schema()),
            ],
            actions: vec![
                (action::TYPE_NAME, action::schema()),
                (aiapps_kill::TYPE_NAME, aiapps_kill::action_schema()),
            ],
            // Terraform then asks the provider to plan destroys too; they plan to null.
            plan_destroy: true,
        }
    }

    fn validate_provider_config(&self, config: &Value) -> Vec<Diagnostic> {
        match decode_nullable::<ProviderBlock>(config) {
            Ok(block) => {
                diagnostics(config::validate(&block.unwrap_or_default()).into_iter().map(ProviderError::from))
            }
            Err(error) => diagnostics([error]),
        }
    }

    fn configure(&self, config: &Value) -> Vec<Diagnostic> {
        diagnostics(self.configure_block(config).err())
    }

    fn validate_resource_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        diagnostics(match type_name {
            aiapp_kill::TYPE_NAME => validate_as::<AppKill>(config),
            aiapps_kill::TYPE_NAME => validate_as::<AppsKill>(config),
            other => vec![unknown_type("resource", other)],
        })
    }

    fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        stored: Value,
    ) -> Result<Value, Vec<Diagnostic>> {
        let upgraded = match type_name {
            aiapp_kill::TYPE_NAME => upgrade_as::<AppKill>(version, stored),
            aiapps_kill::TYPE_NAME => upgrade_as::<AppsKill>(version, stored),
            other => Err(unknown_type("resource", other)),
        };
        upgraded.map_err(|error| diagnostics([error]))
    }

    async fn read_resource(&self, type_name: &str, current: Value) -> Result<Value, Vec<Diagnostic>> {
        // A recorded kill stays as recorded: there is nothing in DataForest to refresh it from. The
        // state is decoded all the same, so one this provider cannot read is reported.
        let read = match type_name {
            aiapp_kill::TYPE_NAME => decode_nullable::<AppKill>(&current).map(|_| current),
            aiapps_kill::TYPE_NAME => decode_nullable::<AppsKill>(&current).map(|_| current),
            other => Err(unknown_type("resource", other)),
        };
        read.map_err(|error| diagnostics([error]))
    }

    async fn plan_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        _config: &Value,
    ) -> Result<PlannedChange, Vec<Diagnostic>> {
        let plan = match type_name {
            aiapp_kill::TYPE_NAME => plan_as::<AppKill>(prior, proposed),
            aiapps_kill::TYPE_NAME => plan_as::<AppsKill>(prior, proposed),
            other => Err(unknown_type("resource", other)),
        };
        plan.map_err(|error| diagnostics([error]))
    }

    async fn apply_resource_change(&self, type_name: &str, prior: &Value, planned: &Value) -> AppliedChange {
        match type_name {
            aiapp_kill::TYPE_NAME => {
                let values = decode_nullable::<AppKill>(prior)
                    .and_then(|prior| Ok((prior, decode_nullable(planned)?)));
                applied_change(match values {
                    Ok((prior, planned)) => self.apply(prior, planned).await,
                    Err(error) => Err(error.into()),
                })
            }
            aiapps_kill::TYPE_NAME => {
                let values = decode_nullable::<AppsKill>(prior)
                    .and_then(|prior| Ok((prior, decode_nullable(planned)?)));
                applied_change(match values {
                    Ok((prior, planned)) => self.apply_bulk(prior, planned).await,
                    Err(error) => Err(error.into()),
                })
            }
            other => applied_change::<AppKill>(Err(unknown_type("resource", other).into())),
        }
    }

    fn import_resource_state(
        &self,
        type_name: &str,
        _id: &str,
    ) -> Result<Vec<(String, Value)>, Vec<Diagnostic>> {
        let refused = match self.check_resource(type_name) {
            Ok(()) => ProviderError::ImportRefused { type_name: type_name.to_string() },
            Err(error) => error,
        };
        Err(diagnostics([refused]))
    }

    fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        let checked = self.check_data_source(type_name).and_then(|()| Query::from_value(type_name, config));
        diagnostics(match checked {
            Ok(query) => query.validate(),
            Err(error) => vec![error],
        })
    }

    async fn read_data_source(
        &self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> Result<DataRead, Vec<Diagnostic>> {
        self.read_query(type_name, config, deferral_allowed).await.map_err(|error| diagnostics([error]))
    }

    fn validate_action_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        let checked = match type_name {
            action::TYPE_NAME => {
                decode_nullable::<action::KillAction>(config).map(|a| a.map(|a| a.validate()))
            }
            aiapps_kill::TYPE_NAME => {
                decode_nullable::<aiapps_kill::AppsKillAction>(config).map(|a| a.map(|a| a.validate()))
            }
            other => Err(unknown_type("action", other)),
        };
        diagnostics(match checked {
            Ok(errors) => errors.unwrap_or_default(),
            Err(error) => vec![error],
        })
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: impl FnMut(String) + Send,
    ) -> Vec<Diagnostic> {
        let ran = match type_name {
            aiapps_kill::TYPE_NAME => self.run_bulk_action(config, progress).await,
            _ => self.run_action(type_name, config, progress).await,
        };
        match ran {
            Ok(warnings) => warnings.iter().map(ProviderWarning::to_diagnostic).collect(),
            Err(error) => diagnostics([error]),
        }
    }

    /// `StopProvider`: cancels the work in flight, and refuses new work until Terraform
    /// configures the provider again (as a `--debug` provider's next run does). The process and
    /// the calls that need no API go on.
    fn stop(&self) {
        self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).cancel();
    }
}
