//! In-process latency of the two RPCs on the kill's path, PlanResourceChange and
//! ApplyResourceChange (against the simulator on loopback), to catch regressions.
//! `cargo bench --bench rpc`; `BENCH_ITERATIONS` sets the count (default 2000).

use std::time::{Duration, Instant};

use dataforest_sim::{App, Simulator};
use terraform_provider_ncloud::protocol::proto::tfplugin6::{self as pb, provider_server::Provider};
use terraform_provider_ncloud::protocol::service::ProviderService;
use terraform_provider_ncloud::protocol::value::Value;
use terraform_provider_ncloud::provider::NcloudProvider;
use tonic::Request;

const KILL: &str = "ncloud_dataforest_aiapp_kill";

fn dynamic(value: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: value.to_msgpack(), json: Vec::new() })
}

fn config(app_id: &str) -> Value {
    let mut fields: Vec<(&str, Value)> = ["triggers", "when", "wait_for_termination", "timeouts"]
        .into_iter()
        .map(|name| (name, Value::Null))
        .collect();
    fields.push(("app_id", Value::String(app_id.to_string())));
    Value::object(fields)
}

/// Median and 90th percentile of the samples.
fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<24} {:>9.1} µs median  {:>9.1} µs p90  ({} iterations)",
        at(0.5).as_secs_f64() * 1e6,
        at(0.9).as_secs_f64() * 1e6,
        samples.len()
    );
}

fn main() {
    let iterations: usize =
        std::env::var("BENCH_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let simulator = Simulator::new("ak", "sk");
        let ids: Vec<String> = (0..iterations).map(|n| format!("Bench{n}")).collect();
        for id in &ids {
            simulator.put_app(App::running(id));
        }
        let address = simulator.spawn(([127, 0, 0, 1], 0).into()).await.unwrap();
        let service = ProviderService::new(NcloudProvider::default());
        let provider_config = Value::object([
            ("access_key", Value::String("ak".into())),
            ("secret_key", Value::String("sk".into())),
            ("endpoint", Value::String(format!("http://{address}"))),
        ]);
        let configured = service
            .configure_provider(Request::new(pb::configure_provider::Request {
                config: dynamic(&provider_config),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert!(configured.get_ref().diagnostics.is_empty());

        let mut plans = Vec::with_capacity(iterations);
        let mut planned_states = Vec::with_capacity(iterations);
        for id in &ids {
            let request = pb::plan_resource_change::Request {
                type_name: KILL.into(),
                prior_state: dynamic(&Value::Null),
                proposed_new_state: dynamic(&config(id)),
                config: dynamic(&config(id)),
                ..Default::default()
            };
            let started = Instant::now();
            let planned = service.plan_resource_change(Request::new(request)).await.unwrap().into_inner();
            plans.push(started.elapsed());
            planned_states.push(planned.planned_state);
        }
        report("PlanResourceChange", plans);

        let mut applies = Vec::with_capacity(iterations);
        for planned_state in planned_states {
            let request = pb::apply_resource_change::Request {
                type_name: KILL.into(),
                prior_state: dynamic(&Value::Null),
                planned_state,
                ..Default::default()
            };
            let started = Instant::now();
            let applied = service.apply_resource_change(Request::new(request)).await.unwrap().into_inner();
            applies.push(started.elapsed());
            assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
        }
        report("ApplyResourceChange", applies);
    });
}
