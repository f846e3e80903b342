//! The ncloud provider. This file holds what belongs to the provider as a whole: its
//! configuration (`ConfigureProvider`), Terraform's stop (`StopProvider`), and the registry, one
//! line per type, from which every call is routed by type name to the type that owns it. It
//! implements the protocol's [`Provider`] interface, calls DataForest through [`crate::ncp`], and
//! never sees gRPC.
//!
//! The parts, each depending only on those listed after it:
//! - [`resources`], [`actions`], [`data_sources`]: one file per type, owning its schema, checks,
//!   plan and what it does;
//! - [`types`]: what a type implements, and the adapters that decode values once and turn errors
//!   into diagnostics;
//! - [`bulk`]: the bulk kill the bulk resource and action share;
//! - [`lifecycle`]: `when` and `timeouts`, as both kill resources take them;
//! - [`session`]: the per-run state every call receives; [`memory`]: one kill per app per run;
//! - [`kill`]: the kill of one app as every entry point performs it;
//! - [`selector`]: which of an account's apps a bulk entry point picks;
//! - [`error`]: every failure and warning, typed, and the one place each becomes a diagnostic
//!   (of the provider's modules it reads only `config`'s error type);
//! - [`config`]: the provider block, resolved; [`duration`]: durations as users write them.

pub mod actions;
pub mod audit;
pub mod bulk;
pub mod config;
pub mod data_sources;
pub mod duration;
pub mod error;
pub mod kill;
pub mod lifecycle;
pub mod memory;
pub mod resources;
pub mod selector;
pub mod session;
pub mod types;

use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio_util::sync::CancellationToken;

use crate::protocol::diagnostic::Diagnostic;
use crate::protocol::provider::{AppliedChange, DataRead, PlannedChange, Provider, Schemas};
use crate::protocol::value::Value;
use audit::file::{self, LogFile};
use config::{Environment, ProviderBlock, ResolvedConfig};
use error::ProviderError;
use session::{Configuration, Context, Session};
use types::{Action, DataSource, Resource, Served, decode_nullable};

// The registry: every type the provider serves, one line each. A new type is its file, its
// `mod` line beside its kind's others, and a line here.
const RESOURCES: &[&dyn Resource] = &[
    &Served::<resources::aiapp_kill::AppKill>::TYPE, // ncloud_dataforest_aiapp_kill
    &Served::<resources::aiapps_kill::AppsKill>::TYPE, // ncloud_dataforest_aiapps_kill
];
const DATA_SOURCES: &[&dyn DataSource] = &[
    &Served::<data_sources::aiapps::AppList>::TYPE, // ncloud_dataforest_aiapps
    &Served::<data_sources::aiapp::App>::TYPE,      // ncloud_dataforest_aiapp
];
const ACTIONS: &[&dyn Action] = &[
    &Served::<actions::aiapp_kill::KillAction>::TYPE, // ncloud_dataforest_aiapp_kill
    &Served::<actions::aiapps_kill::AppsKillAction>::TYPE, // ncloud_dataforest_aiapps_kill
];

/// The type of `kind` named `name` in `registry`.
fn find<T: ?Sized>(
    registry: &'static [&'static T],
    type_name: impl Fn(&T) -> &'static str,
    kind: &'static str,
    name: &str,
) -> Result<&'static T, Vec<Diagnostic>> {
    registry
        .iter()
        .copied()
        .find(|found| type_name(found) == name)
        .ok_or_else(|| vec![ProviderError::UnknownType { kind, name: name.to_string() }.to_diagnostic()])
}

fn resource(name: &str) -> Result<&'static dyn Resource, Vec<Diagnostic>> {
    find(RESOURCES, |found| found.type_name(), "resource", name)
}

fn data_source(name: &str) -> Result<&'static dyn DataSource, Vec<Diagnostic>> {
    find(DATA_SOURCES, |found| found.type_name(), "data source", name)
}

fn action(name: &str) -> Result<&'static dyn Action, Vec<Diagnostic>> {
    find(ACTIONS, |found| found.type_name(), "action", name)
}

pub struct NcloudProvider {
    configuration: RwLock<Configuration>,
    /// The stop token of the work in flight. `StopProvider` cancels it, and it stays cancelled,
    /// so that nothing new starts, until the next `ConfigureProvider` puts a fresh one in.
    stop: Mutex<CancellationToken>,
    /// Where settings not in the provider block come from.
    environment: Environment,
    /// The first configuration this process resolved: a process serves one (see
    /// [`ProviderError::SecondConfiguration`]).
    first: Mutex<Option<ResolvedConfig>>,
    /// The audit log's file, once a configuration asks for one: one for the process, so that a
    /// line it lost fails every later kill, whatever configuration or call sends it.
    audit: OnceLock<Arc<LogFile>>,
}

impl Default for NcloudProvider {
    fn default() -> Self {
        NcloudProvider::new(Environment::of_process())
    }
}

impl NcloudProvider {
    pub fn new(environment: Environment) -> NcloudProvider {
        NcloudProvider {
            configuration: RwLock::new(Configuration::NotYet),
            stop: Mutex::new(CancellationToken::new()),
            environment,
            first: Mutex::new(None),
            audit: OnceLock::new(),
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
            // A log that cannot be a regular file is refused before anything may kill (and before
            // the configuration is taken as the process's, so that a corrected one is served).
            if let Some(path) = &config.audit_log
                && let Some(reason) = file::refusal(path)
            {
                return Err(ProviderError::AuditLogUnwritable { path: path.display().to_string(), reason });
            }
            // Terraform starts a process per provider configuration, and configures it again only
            // in debug mode, for each run and each configuration (aliases included).
            let mut first = self.first.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match first.as_ref() {
                Some(earlier) if *earlier != config => {
                    return Err(ProviderError::SecondConfiguration {
                        settings: earlier.differences(&config),
                    });
                }
                Some(_) => {}
                None => *first = Some(config.clone()),
            }
            let audit = config
                .audit_log
                .as_ref()
                .map(|path| Arc::clone(self.audit.get_or_init(|| Arc::new(LogFile::new(path.clone())))));
            tracing::debug!(site = %config.site, endpoint = %config.endpoint, "provider configured");
            Ok(Configuration::Ready(Arc::new(Session::new(config, audit))))
        });
        let (next, result) = match resolved {
            Ok(next) => (next, Ok(())),
            // Another configuration than the one served: that one stays, for its own calls.
            Err(error @ ProviderError::SecondConfiguration { .. }) => return Err(error),
            // A failed configuration leaves none behind, not the one before it.
            Err(error) => (Configuration::NotYet, Err(error)),
        };
        *self.configuration.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = next;
        result
    }

    /// What a call starting now works with.
    fn context(&self) -> Context {
        let configuration =
            self.configuration.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let stop = self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        Context::new(configuration, stop)
    }
}

fn diagnostics(errors: impl IntoIterator<Item = ProviderError>) -> Vec<Diagnostic> {
    errors.into_iter().map(|error| error.to_diagnostic()).collect()
}

impl Provider for NcloudProvider {
    fn schemas(&self) -> Schemas {
        Schemas {
            provider: config::schema(),
            resources: RESOURCES.iter().map(|found| (found.type_name(), found.schema())).collect(),
            data_sources: DATA_SOURCES.iter().map(|found| (found.type_name(), found.schema())).collect(),
            actions: ACTIONS.iter().map(|found| (found.type_name(), found.schema())).collect(),
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
        resource(type_name).map_or_else(|unknown| unknown, |found| found.validate(config))
    }

    fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        stored: Value,
    ) -> Result<Value, Vec<Diagnostic>> {
        resource(type_name)?.upgrade(version, stored)
    }

    async fn read_resource(&self, type_name: &str, current: Value) -> Result<Value, Vec<Diagnostic>> {
        resource(type_name)?.read(current)
    }

    async fn plan_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        _config: &Value,
    ) -> Result<PlannedChange, Vec<Diagnostic>> {
        resource(type_name)?.plan(self.context(), prior, proposed).await
    }

    async fn apply_resource_change(&self, type_name: &str, prior: &Value, planned: &Value) -> AppliedChange {
        match resource(type_name) {
            Ok(found) => found.apply(self.context(), prior, planned).await,
            Err(diagnostics) => AppliedChange { new_state: None, diagnostics },
        }
    }

    fn import_resource_state(
        &self,
        type_name: &str,
        _id: &str,
    ) -> Result<Vec<(String, Value)>, Vec<Diagnostic>> {
        resource(type_name)?;
        Err(diagnostics([ProviderError::ImportRefused { type_name: type_name.to_string() }]))
    }

    fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        data_source(type_name).map_or_else(|unknown| unknown, |found| found.validate(config))
    }

    async fn read_data_source(
        &self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> Result<DataRead, Vec<Diagnostic>> {
        data_source(type_name)?.read(self.context(), config, deferral_allowed).await
    }

    fn validate_action_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic> {
        action(type_name).map_or_else(|unknown| unknown, |found| found.validate(config))
    }

    async fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        mut progress: impl FnMut(String) + Send,
    ) -> Vec<Diagnostic> {
        match action(type_name) {
            Ok(found) => found.invoke(self.context(), config, &mut progress).await,
            Err(unknown) => unknown,
        }
    }

    /// `StopProvider`: cancels the work in flight, and refuses new work until Terraform
    /// configures the provider again (as a `--debug` provider's next run does). The process and
    /// the calls that need no API go on.
    fn stop(&self) {
        self.stop.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).cancel();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::protocol::schema::{Attribute, NestedBlock};

    /// Each block names each of its attributes and blocks once: an object written into another
    /// (`Flat`) must not repeat a name, or the object's msgpack would hold that name twice.
    #[test]
    fn every_block_names_each_member_once() {
        fn check(what: &str, attributes: &[Attribute], blocks: &[NestedBlock]) {
            let mut seen = HashSet::new();
            for name in attributes.iter().map(|a| a.name).chain(blocks.iter().map(|b| b.name)) {
                assert!(seen.insert(name), "{what} names {name} twice");
            }
            for block in blocks {
                check(&format!("{what}.{}", block.name), &block.attributes, &block.blocks);
            }
        }
        let schemas = NcloudProvider::default().schemas();
        check("the provider", &schemas.provider.attributes, &schemas.provider.blocks);
        for (name, schema) in schemas.resources.iter().chain(&schemas.data_sources).chain(&schemas.actions) {
            check(name, &schema.attributes, &schema.blocks);
        }
        assert!(schemas.data_sources.iter().any(|(name, _)| *name == "ncloud_dataforest_aiapps"));
    }
}
