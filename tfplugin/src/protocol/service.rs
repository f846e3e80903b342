//! The `tfplugin6.Provider` gRPC service, for any [`Provider`]: decodes each request's values,
//! calls the provider, and encodes its answer. User-facing failures travel as diagnostics inside
//! an `Ok` response; a gRPC `Status` is only for calls the protocol does not offer here.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tonic::{Request, Response, Status};

use super::diagnostic::{self, Diagnostic};
use super::proto::tfplugin6 as pb;
use super::provider::{AppliedChange, DataRead, Provider, Schemas};
use super::schema::Schema;
use super::value::{Msgpack, Value};

pub struct ProviderService<P> {
    provider: Arc<P>,
}

impl<P: Provider> ProviderService<P> {
    pub fn new(provider: P) -> ProviderService<P> {
        ProviderService { provider: Arc::new(provider) }
    }
}

/// Decodes a DynamicValue: msgpack, or JSON when msgpack is empty. An absent value is null.
fn decode(what: &'static str, value: Option<&pb::DynamicValue>) -> Result<Value, Vec<Diagnostic>> {
    let decoded = match value {
        None => Ok(Value::Null),
        Some(pb::DynamicValue { msgpack, json }) if msgpack.is_empty() && json.is_empty() => Ok(Value::Null),
        Some(pb::DynamicValue { msgpack, .. }) if !msgpack.is_empty() => Value::from_msgpack(msgpack),
        Some(pb::DynamicValue { json, .. }) => Value::from_json(json),
    };
    decoded.map_err(|error| vec![Diagnostic::unreadable(what, &error)])
}

fn encode(value: &Value) -> Option<pb::DynamicValue> {
    encoded(Msgpack(value.to_msgpack()))
}

fn encoded(Msgpack(msgpack): Msgpack) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack, json: Vec::new() })
}

fn to_proto(diagnostics: &[Diagnostic]) -> Vec<pb::Diagnostic> {
    diagnostics.iter().map(Diagnostic::to_proto).collect()
}

/// Decodes a configuration and checks it; either failure comes back as diagnostics.
fn check(
    what: &'static str,
    config: Option<&pb::DynamicValue>,
    validate: impl FnOnce(&Value) -> Vec<Diagnostic>,
) -> Vec<pb::Diagnostic> {
    to_proto(&match decode(what, config) {
        Ok(config) => validate(&config),
        Err(diagnostics) => diagnostics,
    })
}

fn server_capabilities(schemas: &Schemas) -> Option<pb::ServerCapabilities> {
    Some(pb::ServerCapabilities { plan_destroy: schemas.plan_destroy, ..Default::default() })
}

/// Numbers the RPCs this process serves, for `tf_req_id`.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// How many applies and action invocations are running, each in a task of its own.
static WORKING: AtomicUsize = AtomicUsize::new(0);

/// One apply or action invocation running, counted in [`WORKING`] until dropped.
struct Working;

impl Working {
    fn start() -> Working {
        WORKING.fetch_add(1, Ordering::AcqRel);
        Working
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        WORKING.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits until no apply or action invocation runs, at most `bound`: a process about to go gives
/// the work it stopped that long to report (to an audit log, say).
pub async fn settled(bound: Duration) {
    let deadline = tokio::time::Instant::now() + bound;
    while WORKING.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Logs an RPC at debug when it starts and, with its duration, when it is done (dropped).
struct RpcLog {
    rpc: &'static str,
    request: u64,
    type_name: String,
    started: Instant,
}

impl RpcLog {
    fn start(rpc: &'static str, type_name: &str) -> RpcLog {
        let request = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tf_rpc = rpc, tf_req_id = request, tf_resource_type = type_name, "received");
        RpcLog { rpc, request, type_name: type_name.to_string(), started: Instant::now() }
    }
}

impl Drop for RpcLog {
    fn drop(&mut self) {
        tracing::debug!(
            tf_rpc = self.rpc,
            tf_req_id = self.request,
            tf_resource_type = %self.type_name,
            duration_ms = self.started.elapsed().as_millis() as u64,
            "served"
        );
    }
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for ProviderService<P> {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let _log = RpcLog::start("GetMetadata", "");
        let schemas = self.provider.schemas();
        let names = |schemas: &[(&'static str, Schema)]| {
            schemas.iter().map(|(type_name, _)| type_name.to_string()).collect::<Vec<_>>()
        };
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: server_capabilities(&schemas),
            resources: names(&schemas.resources)
                .into_iter()
                .map(|type_name| pb::get_metadata::ResourceMetadata { type_name })
                .collect(),
            data_sources: names(&schemas.data_sources)
                .into_iter()
                .map(|type_name| pb::get_metadata::DataSourceMetadata { type_name })
                .collect(),
            actions: names(&schemas.actions)
                .into_iter()
                .map(|type_name| pb::get_metadata::ActionMetadata { type_name })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let _log = RpcLog::start("GetProviderSchema", "");
        let schemas = self.provider.schemas();
        let wire = |schemas: &[(&'static str, Schema)]| {
            schemas
                .iter()
                .map(|(type_name, schema)| (type_name.to_string(), schema.to_proto()))
                .collect::<Vec<_>>()
        };
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schemas.provider.to_proto()),
            resource_schemas: wire(&schemas.resources).into_iter().collect(),
            data_source_schemas: wire(&schemas.data_sources).into_iter().collect(),
            action_schemas: wire(&schemas.actions)
                .into_iter()
                .map(|(type_name, schema)| (type_name, pb::ActionSchema { schema: Some(schema) }))
                .collect(),
            server_capabilities: server_capabilities(&schemas),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let _log = RpcLog::start("GetResourceIdentitySchemas", "");
        // Resource identities are not part of the Provider interface: none is declared.
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: HashMap::new(),
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_provider_config(
        &self,
        request: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let _log = RpcLog::start("ValidateProviderConfig", "");
        let diagnostics = check("provider configuration", request.get_ref().config.as_ref(), |config| {
            self.provider.validate_provider_config(config)
        });
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics }))
    }

    async fn validate_resource_config(
        &self,
        request: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ValidateResourceConfig", &request.type_name);
        let diagnostics = check("resource configuration", request.config.as_ref(), |config| {
            self.provider.validate_resource_config(&request.type_name, config)
        });
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics }))
    }

    async fn validate_data_resource_config(
        &self,
        request: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ValidateDataResourceConfig", &request.type_name);
        let diagnostics = check("data source configuration", request.config.as_ref(), |config| {
            self.provider.validate_data_source_config(&request.type_name, config)
        });
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics }))
    }

    async fn read_data_source(
        &self,
        request: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ReadDataSource", &request.type_name);
        let deferral_allowed = request.client_capabilities.is_some_and(|client| client.deferral_allowed);
        let read = match decode("data source configuration", request.config.as_ref()) {
            Ok(config) => self.provider.read_data_source(&request.type_name, &config, deferral_allowed).await,
            Err(diagnostics) => Err(diagnostics),
        };
        Ok(Response::new(match read {
            Ok(DataRead::Read { state, warnings }) => pb::read_data_source::Response {
                state: encoded(state),
                diagnostics: to_proto(&warnings),
                ..Default::default()
            },
            Ok(DataRead::DeferredForProviderConfig(state)) => pb::read_data_source::Response {
                state: encoded(state),
                deferred: Some(pb::Deferred { reason: pb::deferred::Reason::ProviderConfigUnknown as i32 }),
                ..Default::default()
            },
            Err(diagnostics) => {
                pb::read_data_source::Response { diagnostics: to_proto(&diagnostics), ..Default::default() }
            }
        }))
    }

    async fn upgrade_resource_state(
        &self,
        request: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("UpgradeResourceState", &request.type_name);
        let json = request.raw_state.map(|raw| raw.json).unwrap_or_default();
        let upgraded = Value::from_json(&json)
            .map_err(|error| vec![Diagnostic::unreadable("stored state", &error)])
            .and_then(|stored| {
                self.provider.upgrade_resource_state(&request.type_name, request.version, stored)
            });
        Ok(Response::new(match upgraded {
            Ok(state) => pb::upgrade_resource_state::Response {
                upgraded_state: encode(&state),
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: to_proto(&diagnostics),
            },
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let _log = RpcLog::start("ConfigureProvider", "");
        let diagnostics = check("provider configuration", request.get_ref().config.as_ref(), |config| {
            self.provider.configure(config)
        });
        Ok(Response::new(pb::configure_provider::Response { diagnostics }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ReadResource", &request.type_name);
        let read = match decode("stored state", request.current_state.as_ref()) {
            Ok(current) => self.provider.read_resource(&request.type_name, current).await,
            Err(diagnostics) => Err(diagnostics),
        };
        Ok(Response::new(match read {
            Ok(state) => pb::read_resource::Response {
                new_state: encode(&state),
                private: request.private,
                ..Default::default()
            },
            // The stored state stands.
            Err(diagnostics) => pb::read_resource::Response {
                new_state: request.current_state,
                private: request.private,
                diagnostics: to_proto(&diagnostics),
                ..Default::default()
            },
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("PlanResourceChange", &request.type_name);
        let values = decode("prior state", request.prior_state.as_ref()).and_then(|prior| {
            let proposed = decode("proposed state", request.proposed_new_state.as_ref())?;
            Ok((prior, proposed, decode("resource configuration", request.config.as_ref())?))
        });
        let plan = match values {
            Ok((prior, proposed, config)) => {
                self.provider.plan_resource_change(&request.type_name, &prior, &proposed, &config).await
            }
            Err(diagnostics) => Err(diagnostics),
        };
        Ok(Response::new(match plan {
            Ok(plan) => pb::plan_resource_change::Response {
                planned_state: encode(&plan.planned_state),
                requires_replace: plan
                    .requires_replace
                    .iter()
                    .map(|path| diagnostic::path_to_proto(path))
                    .collect(),
                planned_private: request.prior_private,
                diagnostics: to_proto(&plan.warnings),
                ..Default::default()
            },
            Err(diagnostics) => pb::plan_resource_change::Response {
                diagnostics: to_proto(&diagnostics),
                ..Default::default()
            },
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ApplyResourceChange", &request.type_name);
        let values = decode("prior state", request.prior_state.as_ref())
            .and_then(|prior| Ok((prior, decode("planned state", request.planned_state.as_ref())?)));
        let applied = match values {
            // In a task of its own: if Terraform goes away mid-apply (the connection drops), the
            // change is not cut off half-way, but runs until it ends or StopProvider stops it.
            Ok((prior, planned)) => {
                let provider = Arc::clone(&self.provider);
                let type_name = request.type_name.clone();
                let applying = tokio::spawn(async move {
                    let _working = Working::start();
                    provider.apply_resource_change(&type_name, &prior, &planned).await
                });
                applying.await.unwrap_or_else(|failed| AppliedChange {
                    new_state: None,
                    diagnostics: vec![Diagnostic::error(
                        "Apply failed",
                        format!("The apply ended unexpectedly: {failed}"),
                    )],
                })
            }
            Err(diagnostics) => AppliedChange { new_state: None, diagnostics },
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state: match applied.new_state {
                Some(state) => encode(&state),
                None => request.prior_state.or_else(|| encode(&Value::Null)),
            },
            private: request.planned_private,
            diagnostics: to_proto(&applied.diagnostics),
            ..Default::default()
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ImportResourceState", &request.type_name);
        Ok(Response::new(match self.provider.import_resource_state(&request.type_name, &request.id) {
            Ok(imported) => pb::import_resource_state::Response {
                imported_resources: imported
                    .into_iter()
                    .map(|(type_name, state)| pb::import_resource_state::ImportedResource {
                        type_name,
                        state: encode(&state),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            },
            Err(diagnostics) => pb::import_resource_state::Response {
                diagnostics: to_proto(&diagnostics),
                ..Default::default()
            },
        }))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ValidateActionConfig", &request.type_name);
        let diagnostics = check("action configuration", request.config.as_ref(), |config| {
            self.provider.validate_action_config(&request.type_name, config)
        });
        Ok(Response::new(pb::validate_action_config::Response { diagnostics }))
    }

    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("PlanAction", &request.action_type);
        // Nothing is planned beyond the checks: an action runs when it is invoked.
        let diagnostics = check("action configuration", request.config.as_ref(), |config| {
            self.provider.validate_action_config(&request.action_type, config)
        });
        Ok(Response::new(pb::plan_action::Response { diagnostics, deferred: None }))
    }

    /// Streams a Progress event per step, then exactly one Completed, then ends. When Terraform
    /// drops the stream, the action is dropped with it.
    async fn invoke_action(
        &self,
        request: Request<pb::invoke_action::Request>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::invoke_action::Event>>, Status> {
        use pb::invoke_action::event::{Completed, Progress, Type};
        let request = request.into_inner();
        let provider = Arc::clone(&self.provider);
        let (events, stream) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let _log = RpcLog::start("InvokeAction", &request.action_type);
            let _working = Working::start();
            let send =
                |event: Type| events.send(Ok(pb::invoke_action::Event { r#type: Some(event) })).is_ok();
            let diagnostics = match decode("action configuration", request.config.as_ref()) {
                Ok(config) => {
                    let progress = |message: String| {
                        send(Type::Progress(Progress { message }));
                    };
                    let invoked = provider.invoke_action(&request.action_type, &config, progress);
                    tokio::pin!(invoked);
                    tokio::select! {
                        // Terraform stopped reading (it ended, or was killed): the action's work
                        // stops as on StopProvider, and is awaited, so that it records what
                        // became of its kills; nothing more is sent.
                        () = events.closed() => {
                            provider.stop();
                            invoked.await;
                            return;
                        }
                        diagnostics = &mut invoked => diagnostics,
                    }
                }
                Err(diagnostics) => diagnostics,
            };
            send(Type::Completed(Completed { diagnostics: to_proto(&diagnostics) }));
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(stream))))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Result<Response<pb::stop_provider::Response>, Status> {
        let _log = RpcLog::start("StopProvider", "");
        self.provider.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_dynamic_value_is_null_and_json_is_read_when_msgpack_is_empty() {
        assert_eq!(decode("x", None).unwrap(), Value::Null);
        let json = pb::DynamicValue { msgpack: Vec::new(), json: br#"{"a":"b"}"#.to_vec() };
        assert_eq!(decode("x", Some(&json)).unwrap().get("a"), &Value::String("b".into()));
        let broken = pb::DynamicValue { msgpack: vec![0x92, 0xc0], json: Vec::new() };
        let diagnostics = decode("x", Some(&broken)).unwrap_err();
        assert_eq!(diagnostics[0].summary, "Unreadable x");
    }
}
