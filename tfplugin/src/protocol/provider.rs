//! The interface a provider implements to be served: one method for each tfplugin6 call it
//! answers, in protocol values (decoded [`Value`]s, [`Schema`]s and [`Diagnostic`]s), never in
//! protobuf. The gRPC service ([`super::service`]) decodes each request, calls the method, and
//! encodes the answer; it knows nothing else of the provider.
//!
//! Its limits, as this interface stands: resource private state passes through unchanged;
//! resource identities, functions, ephemeral and list resources, and deferral of anything but a
//! data source read are not offered (their calls answer as a provider without them does).

use std::future::Future;

use super::diagnostic::{Diagnostic, PathStep};
use super::schema::Schema;
use super::value::{Msgpack, Value};

/// Everything the provider declares, by type name, and what it can do.
#[derive(Clone, Debug)]
pub struct Schemas {
    pub provider: Schema,
    pub resources: Vec<(&'static str, Schema)>,
    pub data_sources: Vec<(&'static str, Schema)>,
    pub actions: Vec<(&'static str, Schema)>,
    /// Whether Terraform should ask the provider to plan destroys (`PlanResourceChange` with a
    /// null proposed state) rather than plan them itself.
    pub plan_destroy: bool,
}

/// A planned resource change: the state after apply as far as known, the attributes whose
/// change forces a replacement, and warnings to show with the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedChange {
    pub planned_state: Value,
    pub requires_replace: Vec<Vec<PathStep>>,
    pub warnings: Vec<Diagnostic>,
}

/// What applying a change left: the state to record and the diagnostics. `new_state` is `None`
/// when the prior state stands (a failed create leaves no object, a failed destroy or update keeps
/// the one there was).
#[derive(Clone, Debug, PartialEq)]
pub struct AppliedChange {
    pub new_state: Option<Value>,
    pub diagnostics: Vec<Diagnostic>,
}

/// What reading a data source gave. Its state comes encoded: a data source may list many
/// objects, written out one at a time ([`Object::to_msgpack`](super::object::Object::to_msgpack)).
#[derive(Clone, Debug, PartialEq)]
pub enum DataRead {
    /// The data source's state, and any warnings.
    Read { state: Msgpack, warnings: Vec<Diagnostic> },
    /// The read waits until the provider's configuration is known (Terraform allowed deferral):
    /// the state as far as known.
    DeferredForProviderConfig(Msgpack),
}

/// A Terraform provider, as the gRPC service serves it. Methods that may call remote APIs are
/// async; `stop` cancels the work in flight.
pub trait Provider: Send + Sync + 'static {
    fn schemas(&self) -> Schemas;

    fn validate_provider_config(&self, config: &Value) -> Vec<Diagnostic>;

    /// Takes the provider block as Terraform sends it, possibly with unknown values during plan.
    fn configure(&self, config: &Value) -> Vec<Diagnostic>;

    fn validate_resource_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic>;

    /// Brings a stored state, decoded from its JSON, from schema `version` to the current one.
    fn upgrade_resource_state(
        &self,
        type_name: &str,
        version: i64,
        stored: Value,
    ) -> Result<Value, Vec<Diagnostic>>;

    /// Refreshes a stored state.
    fn read_resource(
        &self,
        type_name: &str,
        current: Value,
    ) -> impl Future<Output = Result<Value, Vec<Diagnostic>>> + Send;

    /// Plans a change from `prior` (null before a create) to `proposed` (null for a destroy),
    /// given the resource's `config`. Private state is passed through unchanged and not shown.
    fn plan_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
    ) -> impl Future<Output = Result<PlannedChange, Vec<Diagnostic>>> + Send;

    fn apply_resource_change(
        &self,
        type_name: &str,
        prior: &Value,
        planned: &Value,
    ) -> impl Future<Output = AppliedChange> + Send;

    /// Imports an object by its id: the states of the objects found, by resource type.
    fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<Vec<(String, Value)>, Vec<Diagnostic>>;

    fn validate_data_source_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic>;

    fn read_data_source(
        &self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> impl Future<Output = Result<DataRead, Vec<Diagnostic>>> + Send;

    fn validate_action_config(&self, type_name: &str, config: &Value) -> Vec<Diagnostic>;

    /// Runs an action; `progress` hears each step as it happens. The diagnostics end it.
    fn invoke_action(
        &self,
        type_name: &str,
        config: &Value,
        progress: impl FnMut(String) + Send,
    ) -> impl Future<Output = Vec<Diagnostic>> + Send;

    /// `StopProvider`: cancel the work in flight.
    fn stop(&self);
}
