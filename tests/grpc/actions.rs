//! The kill action: progress events, then exactly one Completed event, with the failure's
//! diagnostics when the kill fails.

use terraform_provider_ncloud::protocol::proto::tfplugin6 as pb;
use terraform_provider_ncloud::protocol::value::Value;

use crate::{KILL, dynamic, errors, simulator_with, start, string};

#[tokio::test]
async fn invoke_action_streams_progress_then_exactly_one_completed() {
    use pb::invoke_action::event::Type;
    let (simulator, endpoint) = simulator_with(&["A1"]).await;
    let mut harness = start().await;
    let schema =
        harness.client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.action_schemas[KILL].schema.is_some());
    harness.configure(harness.provider_block(string(&endpoint))).await;

    let [a1, nobody] = ["A1", "Nobody"].map(|app_id| harness.action_config(app_id, Value::Bool(true)));
    let mut invoke = async |config: &Value| {
        let request = pb::invoke_action::Request {
            action_type: KILL.into(),
            config: dynamic(config),
            ..Default::default()
        };
        let mut stream = harness.client.invoke_action(request).await.unwrap().into_inner();
        let mut events = Vec::new();
        while let Some(event) = stream.message().await.unwrap() {
            events.push(event.r#type.unwrap());
        }
        events
    };
    let events = invoke(&a1).await;
    let (last, before) = events.split_last().unwrap();
    assert!(matches!(last, Type::Completed(done) if done.diagnostics.is_empty()), "{last:?}");
    assert!(
        !before.is_empty() && before.iter().all(|event| matches!(event, Type::Progress(_))),
        "{before:?}"
    );
    assert_eq!(simulator.app("A1").unwrap().state, "KILLED");

    let failed = invoke(&nobody).await;
    let [Type::Progress(_), Type::Completed(done)] = &failed[..] else { panic!("{failed:?}") };
    assert_eq!(errors(&done.diagnostics)[0].summary, "DataForest kill failed");
}
