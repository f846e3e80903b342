//! The calls that touch no DataForest app, or only to be refused: the schemas, validation with
//! the attribute's path, configure (unknown settings defer it; a failed one leaves nothing
//! behind), plan, state upgrade, import, hostile values and provider settings.

use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::{Number, Value};

use crate::{
    BULK, KILL, Schema, check_block, decode, dynamic, errors, first_attribute, simulator_with, start, string,
    with,
};

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
        [
            "access_key",
            "secret_key",
            "site",
            "endpoint",
            "profile",
            "max_retries",
            "max_requests_per_second",
            "request_timeout",
            "allowed_account_ids",
            "forbidden_account_ids",
            "strict",
            "audit_log"
        ]
    );
    let allowed = provider.attributes.iter().find(|a| a.name == "allowed_account_ids").unwrap();
    assert_eq!(allowed.r#type, br#"["set","string"]"#);
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
    let harness = start().await;
    let mut client = harness.client.clone();
    let mut validate = async |config: Option<pb::DynamicValue>| {
        let request =
            pb::validate_resource_config::Request { type_name: KILL.into(), config, ..Default::default() };
        client.validate_resource_config(request).await.unwrap().into_inner().diagnostics
    };
    let invalid = validate(dynamic(&harness.kill_config(string("has space")))).await;
    assert_eq!(errors(&invalid).len(), 1);
    assert_eq!(first_attribute(&invalid[0]).as_deref(), Some("app_id"));
    assert!(validate(dynamic(&harness.kill_config(Value::Unknown))).await.is_empty());
    assert!(validate(dynamic(&harness.kill_config(string("Ok22")))).await.is_empty());
    // Garbage from the wire is a diagnostic, not a crash or a hung call.
    let garbage = validate(Some(pb::DynamicValue { msgpack: vec![0x92, 0xc0], json: Vec::new() })).await;
    assert!(errors(&garbage)[0].summary.contains("Unreadable"));
}

#[tokio::test]
async fn unknown_provider_settings_defer_configuration_without_error() {
    let mut harness = start().await;
    assert!(harness.configure(harness.provider_block(Value::Unknown)).await.is_empty());
    // With the configuration deferred, planning works, and an apply says why it cannot run.
    let config = harness.kill_config(string("A1"));
    let planned = decode(harness.plan(&Value::Null, &config).await.planned_state);
    let applied = harness.apply(&Value::Null, &planned).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Provider configuration unknown");
    assert!(errors(&applied.diagnostics)[0].detail.contains("`endpoint` is not known"));
    assert_eq!(decode(applied.new_state), Value::Null);
}

#[tokio::test]
async fn plan_marks_computed_unknown_replaces_on_change_and_plans_null_destroy() {
    let mut harness = start().await;
    let config = harness.kill_config(string("A1"));
    let create = harness.plan(&Value::Null, &config).await;
    let planned = decode(create.planned_state);
    assert_eq!(planned.get("app_id"), &string("A1"));
    assert_eq!(planned.get("killed_at"), &Value::Unknown);
    assert!(create.requires_replace.is_empty());

    let prior = harness.recorded("A1");
    let same = harness.plan(&prior, &prior).await;
    assert_eq!(decode(same.planned_state), prior);
    let change = harness.plan(&prior, &harness.kill_config(string("B2"))).await;
    assert_eq!(change.requires_replace.len(), 1);
    let destroy = harness.plan(&prior, &Value::Null).await;
    assert_eq!(decode(destroy.planned_state), Value::Null);
}

#[tokio::test]
async fn upgrade_turns_stored_json_into_wholly_known_msgpack() {
    let mut harness = start().await;
    let harness_schema = harness.block(Schema::Resource(KILL)).clone();
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

    // A bulk kill recorded before `killed` entries had `killed_at` and `state` reads with them null.
    let bulk_stored =
        r#"{"account_id":"acc1","killed":[{"id":"A1","name":"etl","success":true,"message":"ok"}]}"#;
    let request = pb::upgrade_resource_state::Request {
        type_name: BULK.into(),
        version: 0,
        raw_state: Some(pb::RawState { json: bulk_stored.as_bytes().to_vec(), flatmap: Default::default() }),
    };
    let upgraded = harness.client.upgrade_resource_state(request).await.unwrap().into_inner();
    assert!(upgraded.diagnostics.is_empty(), "{:?}", upgraded.diagnostics);
    let state = decode(upgraded.upgraded_state);
    check_block(&state, harness.block(Schema::Resource(BULK)), "").unwrap();
    let Value::List(killed) = state.get("killed") else { panic!("{state:?}") };
    assert_eq!(killed[0].get("id"), &Value::String("A1".into()));
    assert_eq!((killed[0].get("killed_at"), killed[0].get("state")), (&Value::Null, &Value::Null));
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
async fn hostile_values_get_short_diagnostics_not_panics() {
    let mut harness = start().await;
    let mut client = harness.client.clone();
    let mut validate = async |config: Option<pb::DynamicValue>| {
        let request =
            pb::validate_resource_config::Request { type_name: KILL.into(), config, ..Default::default() };
        client.validate_resource_config(request).await.unwrap().into_inner().diagnostics
    };
    let number = validate(dynamic(&harness.kill_config(Value::Bool(true)))).await;
    assert_eq!(number[0].summary, "Wrong type");
    assert_eq!(first_attribute(&number[0]).as_deref(), Some("app_id"));

    let huge = validate(dynamic(&harness.kill_config(string(&"A".repeat(1 << 20))))).await;
    assert_eq!(huge[0].summary, "Invalid app_id");
    assert!(huge[0].detail.len() < 300, "{} bytes", huge[0].detail.len());

    let deep = [vec![0x91; 100_000], vec![0xc0]].concat();
    let nested = validate(Some(pb::DynamicValue { msgpack: deep, json: Vec::new() })).await;
    assert!(nested[0].summary.starts_with("Unreadable"));
    let json =
        validate(Some(pb::DynamicValue { msgpack: Vec::new(), json: b"{\"app_id\": [".to_vec() })).await;
    assert!(json[0].summary.starts_with("Unreadable"));

    // Partial objects, as hostile input may be: an absent attribute reads as null.
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
    harness.configure(harness.provider_block(string("http://127.0.0.1:9"))).await;
    let applied = harness.apply(&Value::Null, &Value::object([("triggers", Value::Null)])).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Wrong type");
    assert_eq!(decode(applied.new_state), Value::Null);
}

#[tokio::test]
async fn provider_settings_are_checked_at_validate_time_with_their_paths() {
    let mut harness = start().await;
    let settings = [
        ("max_retries", Value::Number(Number::Int(-1))),
        ("request_timeout", string("soon")),
        ("site", string("moon")),
        ("endpoint", string("http://10.1.2.3")),
    ];
    let config = settings
        .into_iter()
        .fold(harness.provider_block(Value::Null), |block, (name, value)| with(&block, name, value));
    let request = pb::validate_provider_config::Request { config: dynamic(&config) };
    let diagnostics =
        harness.client.validate_provider_config(request).await.unwrap().into_inner().diagnostics;
    let mut paths: Vec<_> = diagnostics.iter().filter_map(first_attribute).collect();
    paths.sort();
    assert_eq!(paths, ["endpoint", "max_retries", "request_timeout", "site"]);
}

#[tokio::test]
async fn a_failed_configure_leaves_no_configuration_behind() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    assert!(harness.configure(harness.provider_block(string(&endpoint))).await.is_empty());
    let broken = with(&harness.provider_block(string(&endpoint)), "secret_key", Value::Null);
    assert_eq!(errors(&harness.configure(broken).await)[0].summary, "Missing secret_key");
    let applied = harness.create(&harness.kill_config(string("A1"))).await;
    assert_eq!(errors(&applied.diagnostics)[0].summary, "Provider not configured");
    assert!(simulator.calls().is_empty());
}

#[tokio::test]
async fn a_process_serves_one_configuration_and_takes_it_again() {
    let (_simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    let block = harness.provider_block(string(&endpoint));
    assert!(harness.configure(block.clone()).await.is_empty());
    // Debug mode's next run sends the same configuration again.
    assert!(harness.configure(block.clone()).await.is_empty());
    // Another configuration (an alias, in debug mode) is refused, naming what differs.
    let other = with(&with(&block, "endpoint", string("http://127.0.0.1:9")), "access_key", string("other"));
    let refused = harness.configure(other).await;
    let error = errors(&refused)[0];
    assert_eq!(error.summary, "One provider configuration per process");
    assert!(error.detail.contains("they differ in endpoint, access_key"), "{}", error.detail);
    assert!(error.detail.contains("TF_REATTACH_PROVIDERS"), "{}", error.detail);
    // The first configuration is still served, for its own calls.
    let config = harness.config(Schema::DataSource("ncloud_dataforest_aiapp"), &[("id", string("A1"))]);
    let read = harness.read_data_source("ncloud_dataforest_aiapp", &config, false).await;
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    assert!(harness.configure(block).await.is_empty());
}

#[tokio::test]
async fn a_destroy_plan_of_a_recorded_selector_that_is_refused_now_says_so() {
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    harness.configure(harness.provider_block(string(&endpoint))).await;
    // A destroy hook recorded by a version without all_apps, its selector the account alone.
    let fields = [("account_id", string("df-account")), ("when", string("destroy"))];
    let recorded = harness.config(Schema::Resource(BULK), &fields);
    let request = pb::plan_resource_change::Request {
        type_name: BULK.into(),
        prior_state: dynamic(&recorded),
        proposed_new_state: dynamic(&Value::Null),
        config: dynamic(&Value::Null),
        ..Default::default()
    };
    let planned = harness.client.plan_resource_change(request).await.unwrap().into_inner();
    let [warning] = &planned.diagnostics[..] else { panic!("{planned:?}") };
    assert_eq!(warning.summary, "The destroy would be refused");
    assert!(warning.detail.contains("set all_apps = true"), "{}", warning.detail);
    assert!(warning.detail.contains("apply it before the destroy"), "{}", warning.detail);
    assert!(simulator.calls().is_empty(), "nothing is listed for a selection that would be refused");
}
