//! The tfplugin6 provider service in process, over gRPC on a unix socket, against the simulator
//! on loopback. Every planned and new state the harness sees is checked against its schema, and
//! every configuration a test sends is built from the schema GetProviderSchema declares, as
//! Terraform builds it. Steps are ordered by waiting on what can be observed (the simulator's
//! counters and calls, the action's progress events), not by sleeping; a test sleeps only to show
//! that nothing happens. One module per behaviour:
//!
//! - `config_and_plan`: schemas, validation, configure, plan, state upgrade, import, hostile
//!   values and provider settings
//! - `kill_outcomes`: what an apply records or reports: accepted kills, failed waits, vanished
//!   apps, refusals, a destroy-time kill of an app gone, and attempts without an answer
//! - `one_kill_per_run`: within a run, one app is killed once: changing `when`, two kills at
//!   once, reuse after a failed wait, a bulk and a single kill, and a kill waiting for another
//! - `stop`: StopProvider cancels the work in flight and refuses new work until the next
//!   configure; a dropped action stream stops its kill
//! - `actions`: the kill action's progress events and its one Completed event
//! - `data_sources`: reads with provider settings unknown, named or deferred
//! - `strict`: the provider's `strict` makes warnings errors at plan, at a destroy and in reads

mod actions;
mod config_and_plan;
mod data_sources;
mod kill_outcomes;
mod one_kill_per_run;
mod stop;
mod strict;

use std::time::{Duration, Instant};

use dataforest_sim::{App, Simulator};
use hyper_util::rt::TokioIo;
use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::protocol::value::Value;
use terraform_provider_ncloud::provider::NcloudProvider;
use tonic::transport::{Channel, Endpoint};

/// The single kill: a resource and an action of this name.
const KILL: &str = "ncloud_dataforest_aiapp_kill";
/// The bulk kill resource.
const BULK: &str = "ncloud_dataforest_aiapps_kill";

struct Harness {
    client: ProviderClient<Channel>,
    /// Every schema, as GetProviderSchema declares it.
    schemas: pb::get_provider_schema::Response,
    _dir: tempfile::TempDir,
}

/// A block of the provider's schema: the provider's own, or that of a resource, data source or
/// action, by type name.
#[derive(Clone, Copy, Debug)]
enum Schema<'a> {
    Provider,
    Resource(&'a str),
    DataSource(&'a str),
    Action(&'a str),
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("provider.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let service = pb::provider_server::ProviderServer::new(ProviderService::new(NcloudProvider::default()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .serve_with_incoming(service, tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move { tokio::net::UnixStream::connect(socket).await.map(TokioIo::new) }
        }))
        .await
        .unwrap();
    let mut client = ProviderClient::new(channel);
    let schemas = client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    Harness { client, schemas, _dir: dir }
}

/// Checks that `value` is an object of exactly the block's attributes and nested blocks, each of
/// its declared type (or null, or unknown).
fn check_block(value: &Value, block: &pb::schema::Block, path: &str) -> Result<(), String> {
    let Value::Object(fields) = value else {
        return Err(format!("{path}: {} is not an object", value.kind()));
    };
    let mut expected: Vec<&str> = block.attributes.iter().map(|a| a.name.as_str()).collect();
    expected.extend(block.block_types.iter().map(|b| b.type_name.as_str()));
    expected.sort_unstable();
    let present: Vec<&str> = fields.keys().map(String::as_str).collect();
    if present != expected {
        return Err(format!("{path}: attributes {present:?}, the schema has {expected:?}"));
    }
    for attribute in &block.attributes {
        let ty: serde_json::Value = serde_json::from_slice(&attribute.r#type).unwrap();
        check_type(&fields[&attribute.name], &ty, &format!("{path}.{}", attribute.name))?;
    }
    for nested in &block.block_types {
        match &fields[&nested.type_name] {
            Value::Null => {}
            inner => {
                check_block(inner, nested.block.as_ref().unwrap(), &format!("{path}.{}", nested.type_name))?
            }
        }
    }
    Ok(())
}

fn check_type(value: &Value, ty: &serde_json::Value, path: &str) -> Result<(), String> {
    use serde_json::Value as Json;
    let fits = match (value, ty) {
        (Value::Null | Value::Unknown, _) => true,
        (Value::String(_), Json::String(t)) => t == "string",
        (Value::Bool(_), Json::String(t)) => t == "bool",
        (Value::Number(_), Json::String(t)) => t == "number",
        (Value::Object(fields), Json::Array(t)) if t[0] == "map" => {
            return fields.iter().try_for_each(|(k, v)| check_type(v, &t[1], &format!("{path}[{k:?}]")));
        }
        (Value::List(items), Json::Array(t)) if t[0] == "list" || t[0] == "set" => {
            return items
                .iter()
                .enumerate()
                .try_for_each(|(i, v)| check_type(v, &t[1], &format!("{path}[{i}]")));
        }
        (Value::Object(fields), Json::Array(t)) if t[0] == "object" => {
            let attributes = t[1].as_object().unwrap();
            if fields.keys().ne(attributes.keys()) {
                return Err(format!(
                    "{path}: fields {:?}, the type has {:?}",
                    fields.keys(),
                    attributes.keys()
                ));
            }
            return attributes
                .iter()
                .try_for_each(|(k, t)| check_type(&fields[k], t, &format!("{path}.{k}")));
        }
        _ => false,
    };
    if fits { Ok(()) } else { Err(format!("{path}: {} where the schema says {ty}", value.kind())) }
}

fn dynamic(value: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: value.to_msgpack(), json: Vec::new() })
}

fn decode(value: Option<pb::DynamicValue>) -> Value {
    Value::from_msgpack(&value.unwrap().msgpack).unwrap()
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

/// An object of `block` as Terraform sends a configuration: every attribute and nested block
/// present, `fields` set, the rest null. A field the block does not have fails the test.
fn object_of(block: &pb::schema::Block, fields: &[(&str, Value)]) -> Value {
    let names = block.attributes.iter().map(|a| a.name.as_str());
    let names = names.chain(block.block_types.iter().map(|b| b.type_name.as_str()));
    let all_null = Value::object(names.map(|name| (name, Value::Null)));
    fields.iter().cloned().fold(all_null, |object, (name, value)| with(&object, name, value))
}

/// `value` with one attribute set; an attribute it does not have fails the test, so a test
/// cannot drift from the schema.
fn with(value: &Value, name: &str, field: Value) -> Value {
    let mut value = value.clone();
    let Value::Object(fields) = &mut value else { panic!("setting {name} on {value:?}, not an object") };
    assert!(fields.contains_key(name), "{name} is not an attribute of {fields:?}");
    fields.insert(name.to_string(), field);
    value
}

fn errors(diagnostics: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diagnostics.iter().filter(|d| d.severity == pb::diagnostic::Severity::Error as i32).collect()
}

fn first_attribute(diagnostic: &pb::Diagnostic) -> Option<String> {
    match diagnostic.attribute.as_ref()?.steps.first()?.selector.as_ref()? {
        pb::attribute_path::step::Selector::AttributeName(name) => Some(name.clone()),
        _ => None,
    }
}

/// Configurations, built from the schemas.
impl Harness {
    /// The block of `schema`, as GetProviderSchema declared it.
    fn block(&self, schema: Schema) -> &pb::schema::Block {
        let schemas = &self.schemas;
        let found = match schema {
            Schema::Provider => schemas.provider.as_ref(),
            Schema::Resource(name) => schemas.resource_schemas.get(name),
            Schema::DataSource(name) => schemas.data_source_schemas.get(name),
            Schema::Action(name) => schemas.action_schemas.get(name).and_then(|a| a.schema.as_ref()),
        };
        found.and_then(|s| s.block.as_ref()).unwrap_or_else(|| panic!("no schema for {schema:?}"))
    }

    /// A configuration of `schema` as Terraform sends it: every attribute and nested block
    /// present (computed ones too), `fields` set, the rest null.
    fn config(&self, schema: Schema, fields: &[(&str, Value)]) -> Value {
        object_of(self.block(schema), fields)
    }

    /// The provider block: the simulator's keys and `endpoint`.
    fn provider_block(&self, endpoint: Value) -> Value {
        let fields = [("access_key", string("ak")), ("secret_key", string("sk")), ("endpoint", endpoint)];
        self.config(Schema::Provider, &fields)
    }

    /// A kill resource of `app_id`.
    fn kill_config(&self, app_id: Value) -> Value {
        self.config(Schema::Resource(KILL), &[("app_id", app_id)])
    }

    /// The kill resource's `timeouts` block, with `create` set.
    fn timeouts(&self, create: &str) -> Value {
        let block = self.block(Schema::Resource(KILL)).block_types.iter().find(|b| b.type_name == "timeouts");
        object_of(block.unwrap().block.as_ref().unwrap(), &[("create", string(create))])
    }

    /// The state of a kill of `app_id` recorded at create.
    fn recorded(&self, app_id: &str) -> Value {
        let fields = [
            ("app_id", string(app_id)),
            ("id", string(app_id)),
            ("success", Value::Bool(true)),
            ("message", string("ok")),
            ("killed_at", string("2026-01-01T00:00:00Z")),
        ];
        self.config(Schema::Resource(KILL), &fields)
    }

    /// The kill action of `app_id`, with `wait_for_termination`.
    fn action_config(&self, app_id: &str, wait_for_termination: Value) -> Value {
        let fields = [("app_id", string(app_id)), ("wait_for_termination", wait_for_termination)];
        self.config(Schema::Action(KILL), &fields)
    }
}

/// Calls, each answer checked against its schema.
impl Harness {
    async fn configure(&mut self, config: Value) -> Vec<pb::Diagnostic> {
        let request = pb::configure_provider::Request { config: dynamic(&config), ..Default::default() };
        self.client.configure_provider(request).await.unwrap().into_inner().diagnostics
    }

    async fn plan(&mut self, prior: &Value, proposed: &Value) -> pb::plan_resource_change::Response {
        let request = pb::plan_resource_change::Request {
            type_name: KILL.into(),
            prior_state: dynamic(prior),
            proposed_new_state: dynamic(proposed),
            config: dynamic(proposed),
            ..Default::default()
        };
        let response = self.client.plan_resource_change(request).await.unwrap().into_inner();
        self.check_state("planned state", response.planned_state.as_ref());
        response
    }

    /// Plans and applies creating `config`.
    async fn create(&mut self, config: &Value) -> pb::apply_resource_change::Response {
        let planned = self.planned(config).await;
        self.apply(&Value::Null, &planned).await
    }

    /// Plans creating `config` and returns the planned state.
    async fn planned(&mut self, config: &Value) -> Value {
        decode(self.plan(&Value::Null, config).await.planned_state)
    }

    async fn apply(&mut self, prior: &Value, planned: &Value) -> pb::apply_resource_change::Response {
        let response =
            self.client.apply_resource_change(apply_request(prior, planned)).await.unwrap().into_inner();
        self.check_state("new state", response.new_state.as_ref());
        assert!(!decode(response.new_state.clone()).has_unknowns(), "a new state must be wholly known");
        response
    }

    /// Fails the test unless a non-null state has exactly the schema's attributes, of its types.
    fn check_state(&self, what: &str, state: Option<&pb::DynamicValue>) {
        let state = decode(state.cloned());
        if state != Value::Null {
            check_block(&state, self.block(Schema::Resource(KILL)), "")
                .unwrap_or_else(|error| panic!("{what} {error}: {state:?}"));
        }
    }

    /// Starts creating `planned` and hands back the call to await later; the new state is
    /// checked against the schema too.
    fn create_in_background(
        &self,
        planned: &Value,
    ) -> tokio::task::JoinHandle<pb::apply_resource_change::Response> {
        let mut client = self.client.clone();
        let request = apply_request(&Value::Null, planned);
        let schema = self.block(Schema::Resource(KILL)).clone();
        tokio::spawn(async move {
            let response = client.apply_resource_change(request).await.unwrap().into_inner();
            let state = decode(response.new_state.clone());
            if state != Value::Null {
                check_block(&state, &schema, "").unwrap_or_else(|error| panic!("new state {error}"));
            }
            response
        })
    }

    /// Plans creating a bulk kill, then starts applying it, handing back the call to await.
    async fn bulk_create_in_background(
        &mut self,
        config: &Value,
    ) -> tokio::task::JoinHandle<pb::apply_resource_change::Response> {
        let plan = pb::plan_resource_change::Request {
            type_name: BULK.into(),
            prior_state: dynamic(&Value::Null),
            proposed_new_state: dynamic(config),
            config: dynamic(config),
            ..Default::default()
        };
        let planned = self.client.plan_resource_change(plan).await.unwrap().into_inner().planned_state;
        let request = pb::apply_resource_change::Request {
            type_name: BULK.into(),
            prior_state: dynamic(&Value::Null),
            planned_state: planned,
            config: dynamic(config),
            ..Default::default()
        };
        let mut client = self.client.clone();
        tokio::spawn(async move { client.apply_resource_change(request).await.unwrap().into_inner() })
    }

    /// Reads a data source; a state it answers is checked against the data source's schema.
    async fn read_data_source(
        &mut self,
        type_name: &str,
        config: &Value,
        deferral_allowed: bool,
    ) -> pb::read_data_source::Response {
        let request = pb::read_data_source::Request {
            type_name: type_name.into(),
            config: dynamic(config),
            client_capabilities: Some(pb::ClientCapabilities { deferral_allowed, ..Default::default() }),
            ..Default::default()
        };
        let response = self.client.read_data_source(request).await.unwrap().into_inner();
        if let Some(state) = response.state.clone() {
            let state = decode(Some(state));
            check_block(&state, self.block(Schema::DataSource(type_name)), "")
                .unwrap_or_else(|error| panic!("{error}: {state:?}"));
        }
        response
    }

    /// Invokes the bulk kill action with these arguments and hands back its event stream.
    async fn invoke_bulk(&mut self, fields: &[(&str, Value)]) -> tonic::Streaming<pb::invoke_action::Event> {
        let request = pb::invoke_action::Request {
            action_type: BULK.into(),
            config: dynamic(&self.config(Schema::Action(BULK), fields)),
            ..Default::default()
        };
        self.client.invoke_action(request).await.unwrap().into_inner()
    }

    /// Configures the provider for `endpoint`, with its audit log at `log`.
    async fn configure_logging_to(&mut self, endpoint: &str, log: &std::path::Path) {
        let block =
            with(&self.provider_block(string(endpoint)), "audit_log", string(&log.display().to_string()));
        assert!(errors(&self.configure(block).await).is_empty());
    }

    /// Invokes the kill action and hands back its event stream.
    async fn invoke(&mut self, config: &Value) -> tonic::Streaming<pb::invoke_action::Event> {
        let request = pb::invoke_action::Request {
            action_type: KILL.into(),
            config: dynamic(config),
            ..Default::default()
        };
        self.client.invoke_action(request).await.unwrap().into_inner()
    }
}

fn apply_request(prior: &Value, planned: &Value) -> pb::apply_resource_change::Request {
    pb::apply_resource_change::Request {
        type_name: KILL.into(),
        prior_state: dynamic(prior),
        planned_state: dynamic(planned),
        config: dynamic(planned),
        ..Default::default()
    }
}

async fn simulator_with(apps: &[&str]) -> (Simulator, String) {
    let simulator = Simulator::new("ak", "sk");
    for id in apps {
        simulator.put_app(App::running(id));
    }
    let address = simulator.spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
    (simulator, format!("http://{address}"))
}

fn detail_calls(simulator: &Simulator) -> usize {
    simulator.calls().iter().filter(|call| call.path.ends_with("/getDetail")).count()
}

/// A harness whose provider talks to `endpoint`, strict or not, retrying nothing.
async fn configured(endpoint: &str, strict: bool) -> Harness {
    let mut harness = start().await;
    let block = harness.provider_block(string(endpoint));
    let block = with(&block, "strict", Value::Bool(strict));
    let block = with(
        &block,
        "max_retries",
        Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(0)),
    );
    assert!(errors(&harness.configure(block).await).is_empty());
    harness
}

/// Plans a change of the bulk kill from `prior` to `proposed`.
async fn plan_bulk(
    harness: &mut Harness,
    prior: &Value,
    proposed: &Value,
) -> pb::plan_resource_change::Response {
    let request = pb::plan_resource_change::Request {
        type_name: BULK.into(),
        prior_state: dynamic(prior),
        proposed_new_state: dynamic(proposed),
        config: dynamic(proposed),
        ..Default::default()
    };
    harness.client.plan_resource_change(request).await.unwrap().into_inner()
}

/// Applies a change of the bulk kill from `prior` to `planned`.
async fn apply_bulk(
    harness: &mut Harness,
    prior: &Value,
    planned: &Value,
) -> pb::apply_resource_change::Response {
    let request = pb::apply_resource_change::Request {
        type_name: BULK.into(),
        prior_state: dynamic(prior),
        planned_state: dynamic(planned),
        config: dynamic(planned),
        ..Default::default()
    };
    harness.client.apply_resource_change(request).await.unwrap().into_inner()
}

fn summaries(diagnostics: &[pb::Diagnostic], severity: pb::diagnostic::Severity) -> Vec<String> {
    diagnostics.iter().filter(|d| d.severity == severity as i32).map(|d| d.summary.clone()).collect()
}

/// Plans and applies creating the bulk kill `config`: the new state.
async fn create_bulk(harness: &mut Harness, config: &Value) -> Value {
    let planned = decode(plan_bulk(harness, &Value::Null, config).await.planned_state);
    decode(apply_bulk(harness, &Value::Null, &planned).await.new_state)
}

/// Waits until `condition` holds, looking every 10 ms, to order a test's steps by what can be
/// observed; fails the test, naming `what`, after 10 s, so a bug cannot hang the suite.
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "waited 10 s for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
