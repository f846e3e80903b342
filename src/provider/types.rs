//! What each resource, data source and action type implements to be served
//! ([`ResourceType`], [`DataSourceType`], [`ActionType`]: its schema, checks, plan and what it
//! does, on its own typed object), and the one adapter per kind ([`Served`]) that stands between
//! the protocol's values and those objects: it decodes each value once, calls the type with the
//! run's [`Context`], and turns what comes back, errors included, into the protocol's answers and
//! diagnostics. The provider's registry lists the types; nothing else names them.

use std::future::Future;
use std::marker::PhantomData;
use std::time::{Duration, SystemTime};

use futures_util::future::BoxFuture;

use crate::ncp::DataForestClient;
use crate::protocol::diagnostic::{Diagnostic, PathStep};
use crate::protocol::object::{Object, split};
use crate::protocol::provider::{AppliedChange, DataRead, PlannedChange};
use crate::protocol::schema::Schema;
use crate::protocol::value::{self, Value};

use super::error::{ProviderError, ProviderWarning};
use super::session::{Context, Session};

/// A planned change: the state after apply as far as known, and the arguments whose change
/// forces a replacement.
#[derive(Debug, PartialEq)]
pub struct Plan<T> {
    pub planned: T,
    pub requires_replace: Vec<&'static str>,
}

/// What an apply leaves: the state to record (`None` once destroyed), and anything worth a
/// warning.
pub struct Applied<T> {
    pub state: Option<T>,
    pub warnings: Vec<ProviderWarning>,
}

/// A failed apply: the error, the state to record despite it (kills DataForest accepted before
/// the apply failed), `None` keeping the prior state, and what is worth a warning all the same.
#[derive(Debug)]
pub struct ApplyError<T> {
    pub error: ProviderError,
    pub state: Option<T>,
    pub warnings: Vec<ProviderWarning>,
}

impl<T> From<ProviderError> for ApplyError<T> {
    fn from(error: ProviderError) -> ApplyError<T> {
        ApplyError { error, state: None, warnings: Vec::new() }
    }
}

/// A failed action: the error, and what is worth a warning all the same.
#[derive(Debug)]
pub struct ActionError {
    pub error: ProviderError,
    pub warnings: Vec<ProviderWarning>,
}

impl From<ProviderError> for ActionError {
    fn from(error: ProviderError) -> ActionError {
        ActionError { error, warnings: Vec::new() }
    }
}

/// A resource type's whole life, on its typed object (a configuration, a plan or a state).
pub trait ResourceType: Object + Send + Sync + 'static {
    const TYPE_NAME: &'static str;
    fn schema() -> Schema;
    /// Checks a configuration; values unknown until apply pass.
    fn validate(&self) -> Vec<ProviderError>;
    /// Plans `proposed` over `prior` (`None` when creating).
    fn plan(prior: Option<&Self>, proposed: &Self) -> Plan<Self>;
    /// Checks a planned state against the provider's settings, once they are known: what they
    /// refuse fails the plan.
    fn check_at_plan(&self, _session: &Session) -> Vec<ProviderError> {
        Vec::new()
    }
    /// What to tell with the plan of a change from `prior` to `planned` (`None` when destroying):
    /// warnings only, never a failure.
    fn preview(
        _context: &Context,
        _prior: Option<&Self>,
        _planned: Option<&Self>,
    ) -> impl Future<Output = Vec<ProviderWarning>> + Send {
        async { Vec::new() }
    }
    /// Applies a planned change: from `prior` (`None` when creating) to `planned` (`None` when
    /// destroying).
    fn apply(
        context: &Context,
        prior: Option<Self>,
        planned: Option<Self>,
    ) -> impl Future<Output = Result<Applied<Self>, ApplyError<Self>>> + Send;
}

/// A data source type: its configuration, read into what it found.
pub trait DataSourceType: Object + Default + Send + Sync + 'static {
    const TYPE_NAME: &'static str;
    fn schema() -> Schema;
    /// Checks a configuration; values unknown until apply pass.
    fn validate(&self) -> Vec<ProviderError>;
    /// This configuration with what a read would find unknown: a read deferred until the
    /// provider's settings are known.
    fn unknown_result(&self) -> Self;
    /// Reads what the configuration asks for, through `client`, as of `now`, within what the
    /// provider's settings in `session` allow; and what is worth a warning.
    fn read(
        &self,
        session: &Session,
        client: &DataForestClient,
        now: SystemTime,
    ) -> impl Future<Output = Result<(Self, Vec<ProviderWarning>), ProviderError>> + Send;
}

/// An action type (Terraform 1.14+): a configuration that, invoked, does something once.
pub trait ActionType: Object + Send + Sync + 'static {
    const TYPE_NAME: &'static str;
    fn schema() -> Schema;
    /// Checks a configuration; values unknown until apply pass.
    fn validate(&self) -> Vec<ProviderError>;
    /// Runs the action; `progress` hears each step as it happens. Dropping the future stops it.
    fn invoke(
        &self,
        context: &Context,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> impl Future<Output = Result<Vec<ProviderWarning>, ActionError>> + Send;
}

/// A resource type as the provider serves it, in the protocol's values.
pub trait Resource: Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;
    /// Brings a stored state to the current schema: attributes an older schema had are dropped,
    /// new ones are null.
    fn upgrade(&self, version: i64, stored: Value) -> Result<Value, Vec<Diagnostic>>;
    /// A recorded state as it stands: there is nothing in DataForest to refresh a kill from. It
    /// is decoded all the same, so one this provider cannot read is reported.
    fn read(&self, current: Value) -> Result<Value, Vec<Diagnostic>>;
    fn plan<'a>(
        &'a self,
        context: Context,
        prior: &'a Value,
        proposed: &'a Value,
    ) -> BoxFuture<'a, Result<PlannedChange, Vec<Diagnostic>>>;
    fn apply<'a>(
        &'a self,
        context: Context,
        prior: &'a Value,
        planned: &'a Value,
    ) -> BoxFuture<'a, AppliedChange>;
}

/// A data source type as the provider serves it.
pub trait DataSource: Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;
    /// Reads, or defers the read when the provider's settings are still unknown and Terraform
    /// allows it.
    fn read<'a>(
        &'a self,
        context: Context,
        config: &'a Value,
        deferral_allowed: bool,
    ) -> BoxFuture<'a, Result<DataRead, Vec<Diagnostic>>>;
}

/// An action type as the provider serves it.
pub trait Action: Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, config: &Value) -> Vec<Diagnostic>;
    fn invoke<'a>(
        &'a self,
        context: Context,
        config: &'a Value,
        progress: &'a mut (dyn FnMut(String) + Send),
    ) -> BoxFuture<'a, Vec<Diagnostic>>;
}

/// The type `T`, served: the registry holds one of these for each type.
pub struct Served<T>(PhantomData<fn() -> T>);

impl<T> Served<T> {
    pub const TYPE: Served<T> = Served(PhantomData);
}

fn diagnostics(errors: impl IntoIterator<Item = ProviderError>) -> Vec<Diagnostic> {
    errors.into_iter().map(|error| error.to_diagnostic()).collect()
}

/// What a call tells of its `said` warnings: each as a warning, except that under the
/// provider's `strict` those that say a kill did less than asked, or that something could not be
/// checked, are errors (`destroying`: of a destroy, or a destroy's plan; see
/// [`ProviderWarning::is_shortfall`]). The second value says whether any is.
fn told(context: &Context, said: Vec<ProviderWarning>, destroying: bool) -> (Vec<Diagnostic>, bool) {
    let strict = context.session().is_ok_and(|session| session.strict());
    let mut failed = false;
    let diagnostics = said
        .into_iter()
        .map(|warning| {
            if strict && warning.is_shortfall(destroying) {
                failed = true;
                ProviderError::Strict { warning: Box::new(warning), before_kill: false }.to_diagnostic()
            } else {
                warning.to_diagnostic()
            }
        })
        .collect();
    (diagnostics, failed)
}

/// The schema of a type whose object is `T`: its attributes and blocks as `T` declares them.
pub fn schema_of<T: Object>(description: &'static str) -> Schema {
    let (attributes, blocks) = split(T::members());
    Schema { version: 0, description, attributes, blocks }
}

/// The diagnostics of a configuration that `validate` checks; no configuration at all (null)
/// has nothing to check.
fn validated<T: Object>(config: &Value, validate: impl Fn(&T) -> Vec<ProviderError>) -> Vec<Diagnostic> {
    diagnostics(match decode_nullable::<T>(config) {
        Ok(object) => object.map(|object| validate(&object)).unwrap_or_default(),
        Err(error) => vec![error],
    })
}

/// An object of type `T` from a value Terraform sent, or the error naming where it does not fit.
pub fn decode<T: Object>(value: &Value) -> Result<T, ProviderError> {
    Ok(T::from_value(value)?)
}

/// An object of type `T`, or `None` for null (no object: before a create, after a destroy).
pub fn decode_nullable<T: Object>(value: &Value) -> Result<Option<T>, ProviderError> {
    match value {
        Value::Null => Ok(None),
        value => decode(value).map(Some),
    }
}

impl<T: ResourceType> Served<T> {
    fn upgraded(version: i64, stored: Value) -> Result<Value, ProviderError> {
        let schema = T::schema();
        if version > schema.version {
            return Err(ProviderError::StateTooNew { version, supported: schema.version });
        }
        let conformed = value::conform(stored, &schema.object_type())
            .map_err(|error| ProviderError::Decode { what: "stored state", error })?;
        Ok(decode_nullable::<T>(&conformed)?.map_or(Value::Null, |state| state.to_value()))
    }

    async fn planned(
        context: &Context,
        prior: &Value,
        proposed: &Value,
    ) -> Result<PlannedChange, Vec<Diagnostic>> {
        let prior = decode_nullable::<T>(prior).map_err(|error| diagnostics([error]))?;
        let proposed = decode_nullable::<T>(proposed).map_err(|error| diagnostics([error]))?;
        let (planned, requires_replace) = match proposed {
            Some(proposed) => {
                let Plan { planned, requires_replace } = T::plan(prior.as_ref(), &proposed);
                // Settings still unknown (or a provider not yet configured) are checked at apply.
                if let Ok(session) = context.session()
                    && let Some(refused) = planned.check_at_plan(&session).into_iter().next()
                {
                    return Err(diagnostics([refused]));
                }
                (Some(planned), requires_replace)
            }
            None => (None, Vec::new()),
        };
        let said = T::preview(context, prior.as_ref(), planned.as_ref()).await;
        let (warnings, failed) = told(context, said, planned.is_none());
        if failed {
            return Err(warnings);
        }
        Ok(PlannedChange {
            warnings,
            planned_state: planned.map_or(Value::Null, |planned| planned.to_value()),
            requires_replace: requires_replace
                .into_iter()
                .map(|name| vec![PathStep::Attribute(name.to_string())])
                .collect(),
        })
    }

    async fn applied(context: Context, prior: &Value, planned: &Value) -> AppliedChange {
        let destroying = matches!(planned, Value::Null);
        let values =
            decode_nullable::<T>(prior).and_then(|prior| Ok((prior, decode_nullable::<T>(planned)?)));
        let applied = match values {
            Ok((prior, planned)) => T::apply(&context, prior, planned).await,
            Err(error) => Err(error.into()),
        };
        match applied {
            Ok(Applied { state, warnings: said }) => {
                let (diagnostics, failed) = told(&context, said, destroying);
                let new_state = match state {
                    Some(state) => Some(state.to_value()),
                    // A destroy that `strict` fails keeps the resource, for the next destroy.
                    None if failed => None,
                    None => Some(Value::Null),
                };
                AppliedChange { new_state, diagnostics }
            }
            Err(ApplyError { error, state, warnings: said }) => AppliedChange {
                new_state: state.map(|state| state.to_value()),
                diagnostics: told(&context, said, destroying)
                    .0
                    .into_iter()
                    .chain(diagnostics([error]))
                    .collect(),
            },
        }
    }
}

impl<T: ResourceType> Resource for Served<T> {
    fn type_name(&self) -> &'static str {
        T::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        T::schema()
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        validated(config, T::validate)
    }

    fn upgrade(&self, version: i64, stored: Value) -> Result<Value, Vec<Diagnostic>> {
        Self::upgraded(version, stored).map_err(|error| diagnostics([error]))
    }

    fn read(&self, current: Value) -> Result<Value, Vec<Diagnostic>> {
        match decode_nullable::<T>(&current) {
            Ok(_) => Ok(current),
            Err(error) => Err(diagnostics([error])),
        }
    }

    fn plan<'a>(
        &'a self,
        context: Context,
        prior: &'a Value,
        proposed: &'a Value,
    ) -> BoxFuture<'a, Result<PlannedChange, Vec<Diagnostic>>> {
        Box::pin(async move { Self::planned(&context, prior, proposed).await })
    }

    fn apply<'a>(
        &'a self,
        context: Context,
        prior: &'a Value,
        planned: &'a Value,
    ) -> BoxFuture<'a, AppliedChange> {
        Box::pin(Self::applied(context, prior, planned))
    }
}

/// How long a data source's read may take, retries and throttled calls included: a data source
/// has no `timeouts` of its own, and a gateway that throttles without end must not hold a plan
/// forever. The kills' default time-out.
const READ_LIMIT: Duration = Duration::from_secs(20 * 60);

/// A data source's configuration; none at all is one with nothing set.
fn data_config<T: DataSourceType>(config: &Value) -> Result<T, ProviderError> {
    Ok(decode_nullable::<T>(config)?.unwrap_or_default())
}

impl<T: DataSourceType> Served<T> {
    /// The read, with its warnings apart (a deferred read has none).
    async fn read_data(
        context: &Context,
        config: &Value,
        deferral_allowed: bool,
    ) -> Result<(DataRead, Vec<ProviderWarning>), ProviderError> {
        let query = data_config::<T>(config)?;
        let stop = context.running()?;
        let session = match context.session() {
            Err(ProviderError::ProviderConfigUnknown { .. }) if deferral_allowed => {
                let deferred = DataRead::DeferredForProviderConfig(query.unknown_result().to_msgpack());
                return Ok((deferred, Vec::new()));
            }
            session => session?,
        };
        let client = session.client().map_err(|error| ProviderError::LookupFailed {
            what: T::TYPE_NAME.to_string(),
            error: Box::new(error),
            attempts: 0,
        })?;
        let read = tokio::time::timeout(READ_LIMIT, query.read(&session, client, SystemTime::now()));
        let (found, said) = tokio::select! {
            biased;
            () = stop.cancelled() => return Err(ProviderError::Interrupted),
            read = read => read.map_err(|_| ProviderError::lookup_timed_out(format!("the {} data source", T::TYPE_NAME), READ_LIMIT))??,
        };
        // A listing's apps are written out one at a time, off the async workers like its decoding.
        let state = match tokio::task::spawn_blocking(move || found.to_msgpack()).await {
            Ok(state) => state,
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            // Only a runtime shutting down cancels a blocking task.
            Err(_) => return Err(ProviderError::Interrupted),
        };
        Ok((DataRead::Read { state, warnings: Vec::new() }, said))
    }
}

impl<T: DataSourceType> DataSource for Served<T> {
    fn type_name(&self) -> &'static str {
        T::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        T::schema()
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        diagnostics(match data_config::<T>(config) {
            Ok(query) => query.validate(),
            Err(error) => vec![error],
        })
    }

    fn read<'a>(
        &'a self,
        context: Context,
        config: &'a Value,
        deferral_allowed: bool,
    ) -> BoxFuture<'a, Result<DataRead, Vec<Diagnostic>>> {
        Box::pin(async move {
            let (read, said) = Self::read_data(&context, config, deferral_allowed)
                .await
                .map_err(|error| diagnostics([error]))?;
            match (told(&context, said, false), read) {
                ((diagnostics, true), _) => Err(diagnostics),
                ((warnings, false), DataRead::Read { state, .. }) => Ok(DataRead::Read { state, warnings }),
                (_, deferred) => Ok(deferred),
            }
        })
    }
}

impl<T: ActionType> Served<T> {
    async fn invoked(
        context: Context,
        config: &Value,
        progress: &mut (dyn FnMut(String) + Send),
    ) -> Result<Vec<ProviderWarning>, ActionError> {
        let action = decode::<T>(config)?;
        if let Some(error) = action.validate().into_iter().next() {
            return Err(error.into());
        }
        // Once Terraform asks to stop, it may stop reading the stream: Terraform 1.14 and 1.15
        // panic if another event then arrives, so nothing but the final event goes out.
        let mut until_stopped = |step: String| {
            if !context.stopped() {
                progress(step);
            }
        };
        action.invoke(&context, &mut until_stopped).await
    }
}

impl<T: ActionType> Action for Served<T> {
    fn type_name(&self) -> &'static str {
        T::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        T::schema()
    }

    fn validate(&self, config: &Value) -> Vec<Diagnostic> {
        validated(config, T::validate)
    }

    fn invoke<'a>(
        &'a self,
        context: Context,
        config: &'a Value,
        progress: &'a mut (dyn FnMut(String) + Send),
    ) -> BoxFuture<'a, Vec<Diagnostic>> {
        Box::pin(async move {
            match Self::invoked(context.clone(), config, progress).await {
                Ok(said) => told(&context, said, false).0,
                Err(ActionError { error, warnings: said }) => {
                    told(&context, said, false).0.into_iter().chain(diagnostics([error])).collect()
                }
            }
        })
    }
}
