//! The tfplugin6 provider service in process, over gRPC on a unix socket: schemas, validation,
//! configuration, plan, apply against the simulator, state upgrade, import, StopProvider (which
//! cancels the work in flight and refuses new work until the next configure), a kill that fails
//! after DataForest accepted it, changes of `when`, data sources read with unknown provider
//! settings, and dropped action streams. Every planned and new state the harness sees is checked
//! against the resource's schema.

use std::time::{Duration, Instant};

use dataforest_sim::{App, Fault, Simulator};
use hyper_util::rt::TokioIo;
use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::protocol::value::Value;
use terraform_provider_ncloud::provider::NcloudProvider;
use tonic::transport::{Channel, Endpoint};

const KILL: &str = "ncloud_dataforest_aiapp_kill";

struct Harness {
    client: ProviderClient<Channel>,
    /// The kill resource's schema, as GetProviderSchema declares it.
    schema: pb::schema::Block,
    /// The data sources' schemas.
    data_schemas: std::collections::HashMap<String, pb::schema::Block>,
    _dir: tempfile::TempDir,
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
    let schema = schemas.resource_schemas[KILL].block.clone().unwrap();
    let data_schemas =
        schemas.data_source_schemas.into_iter().map(|(name, schema)| (name, schema.block.unwrap())).collect();
    Harness { client, schema, data_schemas, _dir: dir }
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

fn provider_block(endpoint: Value) -> Value {
    Value::object([
        ("access_key", string("ak")),
        ("secret_key", string("sk")),
        ("site", Value::Null),
        ("endpoint", endpoint),
        ("profile", Value::Null),
        ("max_retries", Value::Null),
        ("request_timeout", Value::Null),
    ])
}

/// A resource configuration as Terraform sends it: every attribute present, computed ones null.
fn resource_config(app_id: Value) -> Value {
    Value::object([
        ("app_id", app_id),
        ("triggers", Value::Null),
        ("when", Value::Null),
        ("wait_for_termination", Value::Null),
        ("timeouts", Value::Null),
        ("id", Value::Null),
        ("success", Value::Null),
        ("message", Value::Null),
        ("killed_at", Value::Null),
        ("app_state", Value::Null),
        ("final_status", Value::Null),
    ])
}

/// `value` with one attribute set.
fn with(value: &Value, name: &str, field: Value) -> Value {
    let mut value = value.clone();
    if let Value::Object(fields) = &mut value {
        fields.insert(name.to_string(), field);
    }
    value
}

fn timeouts(create: &str) -> Value {
    Value::object([("create", string(create)), ("delete", Value::Null)])
}

/// The state of a kill of `app_id` recorded at create.
fn recorded(app_id: &str) -> Value {
    let config = resource_config(string(app_id));
    let fields = [
        ("id", string(app_id)),
        ("success", Value::Bool(true)),
        ("message", string("ok")),
        ("killed_at", string("2026-01-01T00:00:00Z")),
    ];
    fields.into_iter().fold(config, |state, (name, value)| with(&state, name, value))
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
            check_block(&state, &self.schema, "").unwrap_or_else(|error| panic!("{what} {error}: {state:?}"));
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
        let schema = self.schema.clone();
        tokio::spawn(async move {
            let response = client.apply_resource_change(request).await.unwrap().into_inner();
            let state = decode(response.new_state.clone());
            if state != Value::Null {
                check_block(&state, &schema, "").unwrap_or_else(|error| panic!("new state {error}"));
            }
            response
        })
    }

    /// A data source configuration as Terraform sends it: every attribute of the schema present,
    /// `fields` set, the rest null.
    fn data_config(&self, type_name: &str, fields: &[(&str, Value)]) -> Value {
        let attributes =
            self.data_schemas[type_name].attributes.iter().map(|a| (a.name.as_str(), Value::Null));
        fields
            .iter()
            .cloned()
            .fold(Value::object(attributes), |config, (name, value)| with(&config, name, value))
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
            check_block(&state, &self.data_schemas[type_name], "")
                .unwrap_or_else(|error| panic!("{error}: {state:?}"));
        }
        response
    }

    /// Invokes the action and hands back its event stream.
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

#[tokio::test]
async fn schema_declares_the_resource_and_a_sensitive_secret() {
    let mut harness = start().await;
    let schema =
        harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    let provider = schema.provider.unwrap().block.unwrap();
    let secret = provider.attributes.iter().find(|a| a.name == "secret_key").unwrap();
    assert!(secret.sensitive && secret.optional);
    let names: Vec<_> = provider.attributes.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["access_key", "secret_key", "site", "endpoint", "profile", "max_retries", "request_timeout"]
    );
    let max_retries = provider.attributes.iter().find(|a| a.name == "max_retries").unwrap();
    assert_eq!(max_retries.r#type, br#""number""#);

    let kill = schema.resource_schemas[KILL].block.clone().unwrap();
    let attribute = |name: &str| kill.attributes.iter().find(|a| a.name == name).unwrap().clone();
    assert!(attribute("app_id").required);
    assert_eq!(attribute("app_id").r#type, br#""string""#);
    assert_eq!(attribute("triggers").r#type, br#"["map","string"]"#);
    assert!(attribute("triggers").optional);
    for computed in ["id", "success", "message", "killed_at"] {
        assert!(attribute(computed).computed, "{computed}");
    }
    assert_eq!(attribute("success").r#type, br#""bool""#);
    let timeouts = &kill.block_types[0];
    assert_eq!(timeouts.type_name, "timeouts");
    assert_eq!(timeouts.nesting, pb::schema::nested_block::NestingMode::Single as i32);
    assert_eq!(timeouts.block.as_ref().unwrap().attributes[0].name, "create");
    assert!(schema.server_capabilities.unwrap().plan_destroy);

    let metadata = harness.client.get_metadata(pb::get_metadata::Request {}).await.unwrap().into_inner();
    assert_eq!(metadata.resources[0].type_name, KILL);
    let identities =
        harness.client.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {});
    assert!(identities.await.unwrap().into_inner().identity_schemas.is_empty());
}

#[tokio::test]
async fn validation_points_at_app_id_and_lets_unknowns_pass() {
    let mut harness = start().await;
    let mut validate = async |config: Option<pb::DynamicValue>| {
        let request =
            pb::validate_resource_config::Request { type_name: KILL.into(), config, ..Default::default() };
        harness.client.validate_resource_config(request).await.unwrap().into_inner().diagnostics
    };
    let invalid = validate(dynamic(&resource_config(string("has space")))).await;
    assert_eq!(errors(&invalid).len(), 1);
    assert_eq!(first_attribute(&invalid[0]).as_deref(), Some("app_id"));
    assert!(validate(dynamic(&resource_config(Value::Unknown))).await.is_empty());
    assert!(validate(dynamic(&resource_config(string("Ok22")))).await.is_empty());
    // Garbage from the wire is a diagnostic, not a crash or a hung call.
    let garbage = validate(Some(pb::DynamicValue { msgpack: vec![0x92, 0xc0], json: Vec::new() })).await;
    assert!(errors(&garbage)[0].summary.contains("Unreadable"));
}

#[tokio::test]
async fn unknown_provider_settings_defer_configuration_without_error() {
    let mut harness = start().await;
    assert!(harness.configure(provider_block(Value::Unknown)).await.is_empty());
    // With the configuration deferred, planning works, and an apply says why it cannot run.
    let config = resource_config(string("A1"));
    let planned = decode(harness.plan(&Value::Null, &config).await.planned_state);
    let applied = harness.apply(&Value::Null, &planned).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Provider configuration unknown");
    assert!(errors(&applied.diagnostics)[0].detail.contains("`endpoint` is not known"));
    assert_eq!(decode(applied.new_state), Value::Null);
}

#[tokio::test]
async fn plan_marks_computed_unknown_replaces_on_change_and_plans_null_destroy() {
    let mut harness = start().await;
    let config = resource_config(string("A1"));
    let create = harness.plan(&Value::Null, &config).await;
    let planned = decode(create.planned_state);
    assert_eq!(planned.get("app_id"), &string("A1"));
    assert_eq!(planned.get("killed_at"), &Value::Unknown);
    assert!(create.requires_replace.is_empty());

    let prior = recorded("A1");
    let same = harness.plan(&prior, &prior).await;
    assert_eq!(decode(same.planned_state), prior);
    let change = harness.plan(&prior, &resource_config(string("B2"))).await;
    assert_eq!(change.requires_replace.len(), 1);
    let destroy = harness.plan(&prior, &Value::Null).await;
    assert_eq!(decode(destroy.planned_state), Value::Null);
}

#[tokio::test]
async fn apply_kills_records_and_failure_records_nothing() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    assert!(harness.configure(provider_block(string(&endpoint))).await.is_empty());

    let planned = decode(harness.plan(&Value::Null, &resource_config(string("A1"))).await.planned_state);
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decode(applied.new_state);
    assert_eq!(state.get("success"), &Value::Bool(true));
    assert_eq!(state.get("id"), &string("A1"));
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");

    let missing = decode(harness.plan(&Value::Null, &resource_config(string("Nope"))).await.planned_state);
    let failed = harness.apply(&Value::Null, &missing).await;
    let error = errors(&failed.diagnostics)[0];
    assert!(
        error.detail.contains("HTTP 404") && error.detail.contains("no such element"),
        "{}",
        error.detail
    );
    assert_eq!(decode(failed.new_state), Value::Null);

    // A failed update leaves the recorded kill as it was.
    let moved = with(&state, "app_id", string("B9"));
    let refused = harness.apply(&state, &moved).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "Unexpected in-place update");
    assert_eq!(decode(refused.new_state), state);

    let calls = simulator.calls().len();
    let destroyed = harness.apply(&state, &Value::Null).await;
    assert_eq!(decode(destroyed.new_state), Value::Null);
    assert_eq!(simulator.calls().len(), calls, "destroy makes no call");
}

#[tokio::test]
async fn upgrade_turns_stored_json_into_wholly_known_msgpack() {
    let mut harness = start().await;
    let harness_schema = harness.schema.clone();
    let mut upgrade = async |version: i64, json: &str| {
        let request = pb::upgrade_resource_state::Request {
            type_name: KILL.into(),
            version,
            raw_state: Some(pb::RawState { json: json.as_bytes().to_vec(), flatmap: Default::default() }),
        };
        harness.client.upgrade_resource_state(request).await.unwrap().into_inner()
    };
    let stored = r#"{"app_id":"A1","id":"A1","success":true,"message":"ok","killed_at":"2026-01-01T00:00:00Z","retired_field":1}"#;
    let upgraded = upgrade(0, stored).await;
    assert!(upgraded.diagnostics.is_empty());
    let state = decode(upgraded.upgraded_state);
    check_block(&state, &harness_schema, "").unwrap();
    assert!(!state.has_unknowns());
    assert_eq!(state.get("triggers"), &Value::Null);
    assert_eq!(state.get("success"), &Value::Bool(true));
    assert!(matches!(&state, Value::Object(fields) if !fields.contains_key("retired_field")));

    // State this provider cannot read is an error, never silently dropped.
    let empty = upgrade(0, "").await;
    assert_eq!(errors(&empty.diagnostics)[0].summary, "Unreadable stored state");
    let newer = upgrade(7, stored).await;
    assert_eq!(errors(&newer.diagnostics)[0].summary, "State from a newer provider");
}

#[tokio::test]
async fn import_is_refused() {
    let mut harness = start().await;
    let request =
        pb::import_resource_state::Request { type_name: KILL.into(), id: "A1".into(), ..Default::default() };
    let response = harness.client.import_resource_state(request).await.unwrap().into_inner();
    assert!(response.imported_resources.is_empty());
    assert_eq!(errors(&response.diagnostics)[0].summary, "Import is not supported");
}

#[tokio::test]
async fn stop_provider_cancels_a_hanging_kill_and_the_service_lives_on() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let planned = decode(harness.plan(&Value::Null, &resource_config(string("A1"))).await.planned_state);

    let apply = harness.create_in_background(&planned);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!apply.is_finished(), "the kill should still be waiting for an answer");
    let stopped = Instant::now();
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), apply).await.expect("cancelled within 1 s").unwrap();
    assert!(stopped.elapsed() < Duration::from_secs(1));
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(decode(response.new_state), Value::Null);
    // Stop is not Shutdown: the service still answers.
    harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
}

#[tokio::test]
async fn after_stop_no_new_kill_starts_until_the_next_configure() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();

    // An apply that reaches the provider after Ctrl-C sends nothing.
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "Provider stopped");
    assert!(errors(&refused.diagnostics)[0].detail.contains("Nothing was sent"));
    assert_eq!(decode(refused.new_state), Value::Null);
    let apps = harness.data_config("ncloud_dataforest_aiapps", &[("account_id", string("df-account"))]);
    let read = harness.read_data_source("ncloud_dataforest_aiapps", &apps, false).await;
    assert_eq!(errors(&read.diagnostics)[0].summary, "Provider stopped");
    let mut events = harness
        .invoke(&Value::object([("app_id", string("B2")), ("wait_for_termination", Value::Null)]))
        .await;
    let event = events.message().await.unwrap().unwrap().r#type.unwrap();
    let pb::invoke_action::event::Type::Completed(done) = event else { panic!("{event:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "Provider stopped");
    assert!(simulator.calls().is_empty(), "{:?}", simulator.calls());

    // The next run configures the provider again, as a `--debug` provider's later runs do.
    harness.configure(provider_block(string(&endpoint))).await;
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");
    // Look-ups run again too; their states match their schemas.
    let read = harness.read_data_source("ncloud_dataforest_aiapps", &apps, false).await;
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let Value::List(listed) = decode(read.state).get("apps").clone() else { panic!("no apps list") };
    assert_eq!(listed.len(), 2);
}

#[tokio::test]
async fn hostile_values_get_short_diagnostics_not_panics() {
    let mut harness = start().await;
    let mut validate = async |config: Option<pb::DynamicValue>| {
        let request =
            pb::validate_resource_config::Request { type_name: KILL.into(), config, ..Default::default() };
        harness.client.validate_resource_config(request).await.unwrap().into_inner().diagnostics
    };
    let number = validate(dynamic(&resource_config(Value::Bool(true)))).await;
    assert_eq!(number[0].summary, "Wrong type");
    assert_eq!(first_attribute(&number[0]).as_deref(), Some("app_id"));

    let huge = validate(dynamic(&resource_config(string(&"A".repeat(1 << 20))))).await;
    assert_eq!(huge[0].summary, "Invalid app_id");
    assert!(huge[0].detail.len() < 300, "{} bytes", huge[0].detail.len());

    let deep = [vec![0x91; 100_000], vec![0xc0]].concat();
    let nested = validate(Some(pb::DynamicValue { msgpack: deep, json: Vec::new() })).await;
    assert!(nested[0].summary.starts_with("Unreadable"));
    let json =
        validate(Some(pb::DynamicValue { msgpack: Vec::new(), json: b"{\"app_id\": [".to_vec() })).await;
    assert!(json[0].summary.starts_with("Unreadable"));

    let timeouts = Value::object([
        ("app_id", string("A1")),
        ("timeouts", Value::object([("create", string("whenever"))])),
    ]);
    let bad_timeout = validate(dynamic(&timeouts)).await;
    assert_eq!(bad_timeout[0].summary, "Invalid time-out");
    let path: Vec<_> =
        bad_timeout[0].attribute.as_ref().unwrap().steps.iter().map(|s| s.selector.clone()).collect();
    assert_eq!(
        path,
        [
            Some(pb::attribute_path::step::Selector::AttributeName("timeouts".into())),
            Some(pb::attribute_path::step::Selector::AttributeName("create".into()))
        ]
    );

    // An apply of a state missing its required attribute is refused, and records nothing.
    harness.configure(provider_block(string("http://127.0.0.1:9"))).await;
    let applied = harness.apply(&Value::Null, &Value::object([("triggers", Value::Null)])).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Wrong type");
    assert_eq!(decode(applied.new_state), Value::Null);
}

#[tokio::test]
async fn provider_settings_are_checked_at_validate_time_with_their_paths() {
    let mut harness = start().await;
    let mut config = provider_block(Value::Null);
    if let Value::Object(fields) = &mut config {
        fields.insert(
            "max_retries".into(),
            Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(-1)),
        );
        fields.insert("request_timeout".into(), string("soon"));
        fields.insert("site".into(), string("moon"));
        fields.insert("endpoint".into(), string("http://10.1.2.3"));
    }
    let request = pb::validate_provider_config::Request { config: dynamic(&config) };
    let diagnostics =
        harness.client.validate_provider_config(request).await.unwrap().into_inner().diagnostics;
    let mut paths: Vec<_> = diagnostics.iter().filter_map(first_attribute).collect();
    paths.sort();
    assert_eq!(paths, ["endpoint", "max_retries", "request_timeout", "site"]);
}

#[tokio::test]
async fn stop_provider_cancels_a_back_off_sleep() {
    // Throttled with Retry-After: 30, the kill sleeps before its retry; Stop must cut that short.
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::RetryAfter(30)]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let planned = decode(harness.plan(&Value::Null, &resource_config(string("A1"))).await.planned_state);
    let apply = harness.create_in_background(&planned);
    while simulator.kill_calls("A1") == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), apply).await.expect("cancelled within 1 s").unwrap();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(simulator.kill_calls("A1"), 1, "no retry after Stop");
}

#[tokio::test]
async fn invoke_action_streams_progress_then_exactly_one_completed() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    let schema =
        harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.action_schemas[KILL].schema.is_some());
    harness.configure(provider_block(string(&endpoint))).await;

    let mut invoke = async |app_id: &str| {
        let config = Value::object([("app_id", string(app_id)), ("wait_for_termination", Value::Bool(true))]);
        let request = pb::invoke_action::Request {
            action_type: KILL.into(),
            config: dynamic(&config),
            ..Default::default()
        };
        let mut stream = harness.client.invoke_action(request).await.unwrap().into_inner();
        let mut events = Vec::new();
        while let Some(event) = stream.message().await.unwrap() {
            events.push(event.r#type.unwrap());
        }
        events
    };
    let events = invoke("A1").await;
    let (last, before) = events.split_last().unwrap();
    assert!(matches!(last, Type::Completed(done) if done.diagnostics.is_empty()), "{last:?}");
    assert!(
        !before.is_empty() && before.iter().all(|event| matches!(event, Type::Progress(_))),
        "{before:?}"
    );
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");

    let failed = invoke("Nobody").await;
    let [Type::Progress(_), Type::Completed(done)] = &failed[..] else { panic!("{failed:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "DataForest kill failed");
}

/// A provider block for `endpoint` with a short per-attempt time-out and `max_retries`.
fn impatient_provider(endpoint: &str, max_retries: i64) -> Value {
    let block = with(&provider_block(string(endpoint)), "request_timeout", string("300ms"));
    with(
        &block,
        "max_retries",
        Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(max_retries)),
    )
}

fn detail_calls(simulator: &Simulator) -> usize {
    simulator.calls().iter().filter(|call| call.path.ends_with("/getDetail")).count()
}

#[tokio::test]
async fn data_sources_read_with_unknown_provider_settings_name_them_or_defer() {
    let mut harness = start().await;
    let mut block = provider_block(Value::Unknown);
    block = with(&block, "max_retries", Value::Unknown);
    assert!(harness.configure(block).await.is_empty());
    let config = harness.data_config("ncloud_dataforest_aiapp", &[("id", string("A1"))]);
    let read = harness.read_data_source("ncloud_dataforest_aiapp", &config, false).await;
    let error = errors(&read.diagnostics)[0];
    assert_eq!(error.summary, "Provider configuration unknown");
    assert!(error.detail.contains("`endpoint`, `max_retries` are not known until apply"), "{}", error.detail);
    assert!(read.deferred.is_none());

    // Where Terraform allows deferral, the read is deferred with its computed attributes unknown.
    let deferred = harness.read_data_source("ncloud_dataforest_aiapp", &config, true).await;
    assert!(deferred.diagnostics.is_empty(), "{:?}", deferred.diagnostics);
    assert_eq!(deferred.deferred.unwrap().reason, pb::deferred::Reason::ProviderConfigUnknown as i32);
    let state = decode(deferred.state);
    assert_eq!((state.get("id"), state.get("state")), (&string("A1"), &Value::Unknown));

    // Planning the kill resource keeps working.
    let planned = harness.planned(&resource_config(string("A1"))).await;
    assert_eq!(planned.get("success"), &Value::Unknown);
}

#[tokio::test]
async fn a_data_source_read_is_interrupted_by_stop() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_details("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let mut client = harness.client.clone();
    let config = harness.data_config("ncloud_dataforest_aiapp", &[("id", string("A1"))]);
    let read = tokio::spawn(async move {
        let request = pb::read_data_source::Request {
            type_name: "ncloud_dataforest_aiapp".into(),
            config: dynamic(&config),
            ..Default::default()
        };
        client.read_data_source(request).await.unwrap().into_inner()
    });
    while detail_calls(&simulator) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response =
        tokio::time::timeout(Duration::from_secs(1), read).await.expect("stopped within 1 s").unwrap();
    assert_eq!(errors(&response.diagnostics)[0].summary, "Interrupted");
}

#[tokio::test]
async fn a_kill_without_an_answer_is_reported_at_once_without_a_state_check() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    simulator.fail_kills("B2", [Fault::Reset]);
    let mut harness = start().await;
    harness.configure(impatient_provider(&endpoint, 0)).await;
    for (app, expected) in [("A1", "no answer in time"), ("B2", "request failed")] {
        let planned = harness.planned(&resource_config(string(app))).await;
        let started = Instant::now();
        let failed = harness.apply(&Value::Null, &planned).await;
        assert!(errors(&failed.diagnostics)[0].detail.contains(expected), "{:?}", failed.diagnostics);
        assert!(started.elapsed() < Duration::from_secs(2), "{app}: {:?}", started.elapsed());
        assert_eq!(decode(failed.new_state), Value::Null);
    }
    assert_eq!(detail_calls(&simulator), 0, "only a refusal is looked into");

    // A refusal is: DataForest answered, so the app's state may explain it.
    simulator.fail_kills("A1", [Fault::Status(400)]);
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let refused = harness.apply(&Value::Null, &planned).await;
    assert!(errors(&refused.diagnostics)[0].detail.contains("invalid request parameters"));
    assert_eq!(detail_calls(&simulator), 1);
}

#[tokio::test]
async fn a_retried_kill_that_finds_the_app_ended_does_not_say_it_was_refused() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    // The first attempt gets no answer (it may have killed the app); the retry is refused, and
    // the app has ended.
    simulator.put_app(App { state: "KILLED".into(), final_status: "KILLED".into(), ..App::running("A1") });
    simulator.fail_kills("A1", [Fault::Hang, Fault::Status(400)]);
    let mut harness = start().await;
    harness.configure(impatient_provider(&endpoint, 1)).await;
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let applied = harness.apply(&Value::Null, &planned).await;
    assert!(errors(&applied.diagnostics).is_empty(), "{:?}", applied.diagnostics);
    let warning = &applied.diagnostics[0];
    assert_eq!(warning.summary, "App has ended");
    assert!(
        warning.detail.contains("earlier attempt") && !warning.detail.contains("refused"),
        "{}",
        warning.detail
    );
    let state = decode(applied.new_state);
    assert_eq!((state.get("success"), state.get("app_state")), (&Value::Bool(false), &string("KILLED")));

    // Without an uncertain attempt before it, the refusal is named as one (in a new run: this
    // one remembers the app as killed).
    harness.configure(impatient_provider(&endpoint, 1)).await;
    simulator.fail_kills("A1", [Fault::Status(400)]);
    let again = harness.apply(&Value::Null, &planned).await;
    assert_eq!(again.diagnostics[0].summary, "App had already ended");
    assert!(again.diagnostics[0].detail.contains("refused"));
}

#[tokio::test]
async fn a_wait_that_fails_after_an_accepted_kill_keeps_the_kill() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(impatient_provider(&endpoint, 0)).await;
    let waiting = with(&resource_config(string("A1")), "wait_for_termination", Value::Bool(true));

    // The time-out runs out while the app is still running.
    let planned = harness.planned(&with(&waiting, "timeouts", timeouts("2s"))).await;
    let timed_out = harness.apply(&Value::Null, &planned).await;
    let error = errors(&timed_out.diagnostics)[0];
    assert_eq!(error.summary, "App still running");
    assert!(error.detail.contains("tainted"), "{}", error.detail);
    let kept = decode(timed_out.new_state);
    assert_eq!(kept.get("success"), &Value::Bool(true));
    assert_eq!(kept.get("message"), &string("kill requested"));
    assert!(kept.get("killed_at").as_str().is_some());
    assert_eq!(kept.get("app_state"), &string("RUNNING"), "the state last seen");

    // getDetail fails while waiting.
    simulator.fail_details("B2", [Fault::Status(403)]);
    let planned = harness.planned(&with(&waiting, "app_id", string("B2"))).await;
    let unreadable = harness.apply(&Value::Null, &planned).await;
    let error = errors(&unreadable.diagnostics)[0];
    assert_eq!(error.summary, "Could not confirm the app ended");
    assert!(error.detail.contains("not allowed to access"), "{}", error.detail);
    let kept = decode(unreadable.new_state);
    assert_eq!((kept.get("success"), kept.get("app_state")), (&Value::Bool(true), &Value::Null));
    assert_eq!(simulator.kill_calls("B2"), 1);
}

#[tokio::test]
async fn a_destroy_time_kill_of_an_app_that_no_longer_exists_succeeds_with_a_warning() {
    let (simulator, endpoint) = simulator_with(&[]).await;
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let at_destroy = with(&resource_config(string("Gone1")), "when", string("destroy"));
    let planned = harness.planned(&at_destroy).await;
    // An app DataForest does not know cannot be armed for destroy time: a typo fails now.
    let unarmed = harness.apply(&Value::Null, &planned).await;
    let error = errors(&unarmed.diagnostics)[0];
    assert_eq!(error.summary, "Cannot arm the kill at destroy");
    assert!(error.detail.contains("no such element"), "{}", error.detail);
    assert_eq!(decode(unarmed.new_state), Value::Null);
    simulator.put_app(App::running("Gone1"));
    let recorded = decode(harness.apply(&Value::Null, &planned).await.new_state);
    assert_eq!(simulator.kill_calls("Gone1"), 0, "arming kills nothing");

    // The app is purged before the destroy: there is nothing left to kill.
    simulator.remove_app("Gone1");
    let destroyed = harness.apply(&recorded, &Value::Null).await;
    assert!(errors(&destroyed.diagnostics).is_empty(), "{:?}", destroyed.diagnostics);
    assert_eq!(destroyed.diagnostics[0].summary, "App no longer exists");
    assert!(destroyed.diagnostics[0].detail.contains("\"Gone1\""));
    assert!(destroyed.diagnostics[0].detail.contains("keys"), "{}", destroyed.diagnostics[0].detail);
    assert_eq!(decode(destroyed.new_state), Value::Null);
    assert_eq!(detail_calls(&simulator), 3, "two checks at arming, one after the refused kill");

    // A refusal for another reason still fails the destroy and keeps the resource.
    simulator.put_app(App::running("Gone1"));
    simulator.fail_kills("Gone1", [Fault::Status(403)]);
    let refused = harness.apply(&recorded, &Value::Null).await;
    assert_eq!(errors(&refused.diagnostics)[0].summary, "DataForest kill failed");
    assert_eq!(decode(refused.new_state), recorded);
}

#[tokio::test]
async fn changing_when_never_kills_one_app_twice() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let at_destroy = with(&resource_config(string("A1")), "when", string("destroy"));
    let intent = decode(harness.create(&at_destroy).await.new_state);

    // destroy -> create: one kill, in place.
    let plan = harness.plan(&intent, &with(&intent, "when", string("create"))).await;
    assert!(plan.requires_replace.is_empty());
    let applied = harness.apply(&intent, &decode(plan.planned_state)).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let killed = decode(applied.new_state);
    assert_eq!(killed.get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1);

    // create -> destroy: nothing is sent until the destroy. (Each step is a run of its own.)
    harness.configure(provider_block(string(&endpoint))).await;
    let plan = harness.plan(&killed, &with(&killed, "when", string("destroy"))).await;
    let armed = decode(harness.apply(&killed, &decode(plan.planned_state)).await.new_state);
    assert_eq!((armed.get("when"), armed.get("success")), (&string("destroy"), &Value::Bool(true)));
    assert_eq!(simulator.kill_calls("A1"), 1);

    // destroy -> create with new triggers replaces: the old resource's destroy kills, and the
    // new one's create reuses that answer instead of killing again. Either order.
    harness.configure(provider_block(string(&endpoint))).await;
    let triggers = Value::object([("run", string("2"))]);
    let next = with(&with(&armed, "when", string("create")), "triggers", triggers);
    let replace = harness.plan(&armed, &next).await;
    assert_eq!(replace.requires_replace.len(), 1);
    let gone = harness.apply(&armed, &Value::Null).await;
    assert!(errors(&gone.diagnostics).is_empty(), "{:?}", gone.diagnostics);
    let created = harness.create(&next).await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    assert_eq!(decode(created.new_state).get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 2);

    simulator.put_app(App::running("B2"));
    let old = with(&with(&armed, "app_id", string("B2")), "id", string("B2"));
    let new = with(&with(&old, "when", string("create")), "triggers", Value::object([("run", string("3"))]));
    let created = harness.create(&new).await;
    assert!(created.diagnostics.is_empty(), "{:?}", created.diagnostics);
    assert!(errors(&harness.apply(&old, &Value::Null).await.diagnostics).is_empty());
    assert_eq!(simulator.kill_calls("B2"), 1, "create before destroy: one kill");
}

#[tokio::test]
async fn a_dropped_action_stream_stops_the_kill_and_its_polling() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    simulator.fail_kills("B2", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let waiting =
        |app: &str| Value::object([("app_id", string(app)), ("wait_for_termination", Value::Bool(true))]);

    // Polling: drop the stream once the app has been checked, then no check follows.
    let mut events = harness.invoke(&waiting("A1")).await;
    while let Some(event) = events.message().await.unwrap() {
        if matches!(event.r#type, Some(Type::Progress(ref p)) if p.message.contains("is still RUNNING")) {
            break;
        }
    }
    drop(events);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let polls = detail_calls(&simulator);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(detail_calls(&simulator), polls, "polling goes on after the stream was dropped");

    // A kill in flight: dropping the stream drops the HTTP call.
    let events = harness.invoke(&waiting("B2")).await;
    while simulator.kills_in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(events);
    let dropped = Instant::now();
    while simulator.kills_in_flight() > 0 {
        assert!(dropped.elapsed() < Duration::from_secs(1), "the kill is still in flight");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn stop_provider_ends_an_action_that_is_waiting() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let config = Value::object([("app_id", string("A1")), ("wait_for_termination", Value::Bool(true))]);
    let mut events = harness.invoke(&config).await;
    while let Some(event) = events.message().await.unwrap() {
        if matches!(event.r#type, Some(Type::Progress(ref p)) if p.message.contains("accepted")) {
            break;
        }
    }
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let stopped = Instant::now();
    let event = tokio::time::timeout(Duration::from_secs(1), events.message())
        .await
        .expect("completed within 1 s")
        .unwrap()
        .unwrap();
    let Some(Type::Completed(done)) = event.r#type else { panic!("{event:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "Wait interrupted");
    assert!(events.message().await.unwrap().is_none(), "the stream ends after Completed");
    assert!(stopped.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn two_kills_of_one_app_at_once_in_a_run_send_one() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_latency(Duration::from_millis(300));
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    // Two instances of one app applied together, as a removed `when = "destroy"` resource and a
    // new `when = "create"` one at another address are.
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let first = harness.create_in_background(&planned);
    let second = harness.create_in_background(&planned);
    for response in [first.await.unwrap(), second.await.unwrap()] {
        assert!(response.diagnostics.is_empty(), "{:?}", response.diagnostics);
        assert_eq!(decode(response.new_state).get("success"), &Value::Bool(true));
    }
    assert_eq!(simulator.kill_calls("A1"), 1);
}

#[tokio::test]
async fn an_app_that_vanishes_while_waiting_counts_as_ended() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    // The kill is accepted; the first poll finds the app no more.
    simulator.fail_details("A1", [Fault::Status(404)]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let applied = harness
        .create(&with(&resource_config(string("A1")), "wait_for_termination", Value::Bool(true)))
        .await;
    assert!(errors(&applied.diagnostics).is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(applied.diagnostics[0].summary, "App gone while waiting");
    let state = decode(applied.new_state);
    assert_eq!((state.get("success"), state.get("app_state")), (&Value::Bool(true), &Value::Null));
}

#[tokio::test]
async fn a_failed_kill_after_an_attempt_without_an_answer_says_it_may_have_happened() {
    let (simulator, endpoint) = simulator_with(&["A1", "B2"]).await;
    simulator.fail_kills("A1", [Fault::Hang, Fault::Status(403)]);
    simulator.fail_kills("B2", [Fault::Status(403)]);
    let mut harness = start().await;
    harness.configure(impatient_provider(&endpoint, 1)).await;
    let uncertain = harness.create(&resource_config(string("A1"))).await;
    assert!(
        errors(&uncertain.diagnostics)[0].detail.contains("may have happened"),
        "{:?}",
        uncertain.diagnostics
    );
    let refused = harness.create(&resource_config(string("B2"))).await;
    assert!(
        !errors(&refused.diagnostics)[0].detail.contains("may have happened"),
        "{:?}",
        refused.diagnostics
    );
}

#[tokio::test]
async fn a_failed_configure_leaves_no_configuration_behind() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    assert!(harness.configure(provider_block(string(&endpoint))).await.is_empty());
    let broken = with(&provider_block(string(&endpoint)), "secret_key", Value::Null);
    assert_eq!(errors(&harness.configure(broken).await)[0].summary, "Missing secret_key");
    let applied = harness.create(&resource_config(string("A1"))).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Provider not configured");
    assert!(simulator.calls().is_empty());
}

#[tokio::test]
async fn a_kill_waiting_for_another_kill_of_its_app_keeps_its_own_time_out() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.fail_kills("A1", [Fault::Hang]);
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let first = harness.create_in_background(&planned);
    while simulator.kills_in_flight() == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let second = harness.create(&with(&resource_config(string("A1")), "timeouts", timeouts("1s"))).await;
    assert_eq!(errors(&second.diagnostics)[0].summary, "Kill timed out");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(1), first).await.expect("stopped").unwrap();
    assert_eq!(errors(&first.diagnostics)[0].summary, "Kill interrupted");
    assert_eq!(simulator.kill_calls("A1"), 1);
}

#[tokio::test]
async fn a_kill_accepted_before_a_failed_wait_is_reused_in_the_run() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_kill_duration(Duration::from_secs(600));
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let waiting = with(&resource_config(string("A1")), "wait_for_termination", Value::Bool(true));
    let timed_out = harness.create(&with(&waiting, "timeouts", timeouts("2s"))).await;
    assert_eq!(errors(&timed_out.diagnostics)[0].summary, "App still running");
    // Another resource of the same app in the same run: no second kill, only its own wait.
    let again = harness.create(&with(&resource_config(string("A1")), "timeouts", timeouts("2s"))).await;
    assert!(again.diagnostics.is_empty(), "{:?}", again.diagnostics);
    assert_eq!(decode(again.new_state).get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1);
}

const BULK: &str = "ncloud_dataforest_aiapps_kill";

impl Harness {
    /// A bulk kill resource's configuration as Terraform sends it: every attribute and block of
    /// its schema present, `fields` set, the rest null.
    async fn bulk_config(&mut self, fields: &[(&str, Value)]) -> Value {
        let schemas = self.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
        let block = schemas.into_inner().resource_schemas[BULK].block.clone().unwrap();
        let names = block
            .attributes
            .iter()
            .map(|a| a.name.clone())
            .chain(block.block_types.iter().map(|b| b.type_name.clone()));
        let names: Vec<String> = names.collect();
        let config = Value::object(names.iter().map(|name| (name.as_str(), Value::Null)));
        fields.iter().cloned().fold(config, |config, (name, value)| with(&config, name, value))
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
}

#[tokio::test]
async fn a_bulk_kill_and_a_single_kill_of_one_app_in_a_run_send_one_kill() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    simulator.set_latency(Duration::from_millis(200));
    // The app stays RUNNING a while after its kill, so the bulk kill's listing still selects it.
    simulator.set_kill_duration(Duration::from_secs(2));
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let bulk = harness.bulk_config(&[("account_id", string("df-account")), ("name", string("app-A1"))]).await;
    let planned = harness.planned(&resource_config(string("A1"))).await;
    let single = harness.create_in_background(&planned);
    let bulk = harness.bulk_create_in_background(&bulk).await;
    let (single, bulk) = (single.await.unwrap(), bulk.await.unwrap());
    assert!(single.diagnostics.is_empty(), "{:?}", single.diagnostics);
    assert!(bulk.diagnostics.is_empty(), "{:?}", bulk.diagnostics);
    let Value::List(killed) = decode(bulk.new_state).get("killed").clone() else { panic!("no killed list") };
    assert_eq!(killed.len(), 1);
    assert_eq!(killed[0].get("id"), &string("A1"));
    assert_eq!(killed[0].get("success"), &Value::Bool(true));
    assert_eq!(simulator.kill_calls("A1"), 1, "the run's memory is shared by both resources");
}

#[tokio::test]
async fn stop_during_a_bulk_kill_starts_no_new_kill_and_records_nothing() {
    let ids = ["B1", "B2", "B3", "B4", "B5", "B6"];
    let (simulator, endpoint) = simulator_with(&ids).await;
    simulator.set_latency(Duration::from_millis(300));
    let mut harness = start().await;
    harness.configure(provider_block(string(&endpoint))).await;
    let config = harness
        .bulk_config(&[
            ("account_id", string("df-account")),
            ("name_regex", string("^app-B")),
            ("concurrency", Value::Number(terraform_provider_ncloud::protocol::value::Number::Int(1))),
        ])
        .await;
    let apply = harness.bulk_create_in_background(&config).await;
    // The listing takes 300 ms, then the first kill is in flight.
    tokio::time::sleep(Duration::from_millis(450)).await;
    harness.client.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    let response = tokio::time::timeout(Duration::from_secs(2), apply).await.expect("ends at once").unwrap();
    let error = errors(&response.diagnostics)[0];
    assert_eq!(error.summary, "DataForest kills failed");
    assert!(
        error.detail.contains("5 were not attempted, because Terraform asked the provider to stop"),
        "{}",
        error.detail
    );
    assert!(error.detail.contains("interrupted by Terraform"), "{}", error.detail);
    assert_eq!(decode(response.new_state), Value::Null);
    let kills: usize = ids.iter().map(|id| simulator.kill_calls(id)).sum();
    assert_eq!(kills, 1, "only the kill in flight was sent");
}
