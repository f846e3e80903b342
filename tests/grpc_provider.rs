//! The tfplugin6 provider service in process, over gRPC on a unix socket: schemas, validation,
//! configuration, plan, apply against the simulator, state upgrade, import, and StopProvider
//! cancelling a kill in flight without ending the service.

use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_client::ProviderClient};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::protocol::value::Value;
use terraform_provider_ncloud::provider::NcloudProvider;
use terraform_provider_ncloud::simulator::{App, Fault, Simulator};
use tonic::transport::{Channel, Endpoint};

const KILL: &str = "ncloud_dataforest_aiapp_kill";

struct Harness {
    client: ProviderClient<Channel>,
    _dir: tempfile::TempDir,
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("provider.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let service = pb::provider_server::ProviderServer::new(ProviderService::new(NcloudProvider::default()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_| {
            let socket = socket.clone();
            async move { tokio::net::UnixStream::connect(socket).await.map(TokioIo::new) }
        }))
        .await
        .unwrap();
    Harness { client: ProviderClient::new(channel), _dir: dir }
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

fn resource_config(app_id: Value) -> Value {
    Value::object([
        ("app_id", app_id),
        ("triggers", Value::Null),
        ("id", Value::Null),
        ("success", Value::Null),
        ("message", Value::Null),
        ("killed_at", Value::Null),
    ])
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
        self.client.plan_resource_change(request).await.unwrap().into_inner()
    }

    async fn apply(&mut self, prior: &Value, planned: &Value) -> pb::apply_resource_change::Response {
        self.client.apply_resource_change(apply_request(prior, planned)).await.unwrap().into_inner()
    }

    /// Starts creating `planned` and hands back the call to await later.
    fn create_in_background(
        &self,
        planned: &Value,
    ) -> tokio::task::JoinHandle<pb::apply_resource_change::Response> {
        let mut client = self.client.clone();
        let request = apply_request(&Value::Null, planned);
        tokio::spawn(async move { client.apply_resource_change(request).await.unwrap().into_inner() })
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
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Provider not configured");
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

    let prior = Value::object([
        ("app_id", string("A1")),
        ("triggers", Value::Null),
        ("id", string("A1")),
        ("success", Value::Bool(true)),
        ("message", string("ok")),
        ("killed_at", string("2026-01-01T00:00:00Z")),
    ]);
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
    let moved = Value::object([("app_id", string("B9")), ("id", string("A1"))]);
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
    // Stop is not Shutdown: the service still answers, and calls after the stop run normally, as a
    // `--debug` provider serving run after run needs.
    harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
    simulator.put_app(App::running("B2"));
    let later = decode(harness.plan(&Value::Null, &resource_config(string("B2"))).await.planned_state);
    let applied = harness.apply(&Value::Null, &later).await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(simulator.app("B2").unwrap().state, "KILLED");
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
