//! The `tfplugin6.Provider` gRPC service: decodes each request's values, hands them to the
//! provider, and encodes its answer. User-facing failures travel as diagnostics inside an `Ok`
//! response; a gRPC `Status` is only for calls this provider does not offer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::diagnostic::{self, PathStep};
use super::proto::tfplugin6 as pb;
use super::schema::Schema;
use super::value::{DecodeError, Value};
use crate::provider::config::Environment;
use crate::provider::error::{ProviderError, ProviderWarning};
use crate::provider::{ApplyError, DataSourceRead, NcloudProvider};

pub struct ProviderService {
    provider: Arc<NcloudProvider>,
}

impl ProviderService {
    pub fn new(provider: NcloudProvider) -> ProviderService {
        ProviderService { provider: Arc::new(provider) }
    }
}

/// Decodes a DynamicValue: msgpack, or JSON when msgpack is empty. An absent value is null.
fn decode(what: &'static str, value: Option<&pb::DynamicValue>) -> Result<Value, ProviderError> {
    let decoded = match value {
        None => Ok(Value::Null),
        Some(pb::DynamicValue { msgpack, json }) if msgpack.is_empty() && json.is_empty() => Ok(Value::Null),
        Some(pb::DynamicValue { msgpack, .. }) if !msgpack.is_empty() => Value::from_msgpack(msgpack),
        Some(pb::DynamicValue { json, .. }) => Value::from_json(json),
    };
    decoded.map_err(|error: DecodeError| ProviderError::Decode { what, error })
}

fn encode(value: &Value) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: value.to_msgpack(), json: Vec::new() })
}

fn diagnostics(errors: impl IntoIterator<Item = ProviderError>) -> Vec<pb::Diagnostic> {
    errors.into_iter().map(|error| error.to_diagnostic().to_proto()).collect()
}

/// Decodes a configuration and checks it; either failure comes back as diagnostics.
fn check(
    what: &'static str,
    config: Option<&pb::DynamicValue>,
    validate: impl FnOnce(&Value) -> Vec<ProviderError>,
) -> Vec<pb::Diagnostic> {
    diagnostics(match decode(what, config) {
        Ok(config) => validate(&config),
        Err(error) => vec![error],
    })
}

fn warnings(warnings: &[ProviderWarning]) -> Vec<pb::Diagnostic> {
    warnings.iter().map(|warning| warning.to_diagnostic().to_proto()).collect()
}

fn attribute_path(name: &str) -> pb::AttributePath {
    diagnostic::path_to_proto(&[PathStep::Attribute(name.to_string())])
}

fn server_capabilities() -> Option<pb::ServerCapabilities> {
    Some(pb::ServerCapabilities { plan_destroy: true, ..Default::default() })
}

/// Numbers the RPCs this process serves, for `tf_req_id`.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

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
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        let _log = RpcLog::start("GetMetadata", "");
        let names = |schemas: Vec<(&'static str, Schema)>| {
            schemas.into_iter().map(|(type_name, _)| type_name.to_string())
        };
        let resources = names(self.provider.resource_schemas())
            .map(|type_name| pb::get_metadata::ResourceMetadata { type_name })
            .collect();
        let data_sources = names(self.provider.data_source_schemas())
            .map(|type_name| pb::get_metadata::DataSourceMetadata { type_name })
            .collect();
        let actions = names(self.provider.action_schemas())
            .map(|type_name| pb::get_metadata::ActionMetadata { type_name })
            .collect();
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: server_capabilities(),
            resources,
            data_sources,
            actions,
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let _log = RpcLog::start("GetProviderSchema", "");
        let wire = |schemas: Vec<(&'static str, Schema)>| {
            schemas.into_iter().map(|(type_name, schema)| (type_name.to_string(), schema.to_proto()))
        };
        let resource_schemas = wire(self.provider.resource_schemas()).collect();
        let data_source_schemas = wire(self.provider.data_source_schemas()).collect();
        let action_schemas = wire(self.provider.action_schemas())
            .map(|(type_name, schema)| (type_name, pb::ActionSchema { schema: Some(schema) }))
            .collect();
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(self.provider.provider_schema().to_proto()),
            resource_schemas,
            data_source_schemas,
            action_schemas,
            server_capabilities: server_capabilities(),
            ..Default::default()
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let _log = RpcLog::start("GetResourceIdentitySchemas", "");
        // No resource has an identity: a kill has nothing in DataForest to identify.
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
            self.provider.validate_resource(&request.type_name, config)
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
            self.provider.validate_data_source(&request.type_name, config)
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
            Err(error) => Err(error),
        };
        Ok(Response::new(match read {
            Ok(DataSourceRead::Read(state)) => {
                pb::read_data_source::Response { state: encode(&state), ..Default::default() }
            }
            Ok(DataSourceRead::Deferred(state)) => pb::read_data_source::Response {
                state: encode(&state),
                deferred: Some(pb::Deferred { reason: pb::deferred::Reason::ProviderConfigUnknown as i32 }),
                ..Default::default()
            },
            Err(error) => {
                pb::read_data_source::Response { diagnostics: diagnostics([error]), ..Default::default() }
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
        let upgraded = self.provider.upgrade_resource_state(&request.type_name, request.version, &json);
        Ok(Response::new(match upgraded {
            Ok(state) => pb::upgrade_resource_state::Response {
                upgraded_state: encode(&state),
                diagnostics: Vec::new(),
            },
            Err(error) => pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: diagnostics([error]),
            },
        }))
    }

    async fn configure_provider(
        &self,
        request: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let _log = RpcLog::start("ConfigureProvider", "");
        let result = decode("provider configuration", request.get_ref().config.as_ref())
            .and_then(|config| self.provider.configure(&config, &Environment::of_process()));
        Ok(Response::new(pb::configure_provider::Response { diagnostics: diagnostics(result.err()) }))
    }

    async fn read_resource(
        &self,
        request: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ReadResource", &request.type_name);
        // A recorded kill stays as recorded: there is nothing in DataForest to refresh it from.
        Ok(Response::new(pb::read_resource::Response {
            new_state: request.current_state,
            private: request.private,
            ..Default::default()
        }))
    }

    async fn plan_resource_change(
        &self,
        request: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("PlanResourceChange", &request.type_name);
        let plan = decode("prior state", request.prior_state.as_ref()).and_then(|prior| {
            let proposed = decode("proposed state", request.proposed_new_state.as_ref())?;
            self.provider.plan_resource(&request.type_name, &prior, &proposed)
        });
        Ok(Response::new(match plan {
            Ok(plan) => pb::plan_resource_change::Response {
                planned_state: encode(&plan.planned),
                requires_replace: plan.requires_replace.into_iter().map(attribute_path).collect(),
                planned_private: request.prior_private,
                ..Default::default()
            },
            Err(error) => {
                pb::plan_resource_change::Response { diagnostics: diagnostics([error]), ..Default::default() }
            }
        }))
    }

    async fn apply_resource_change(
        &self,
        request: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ApplyResourceChange", &request.type_name);
        let prior = decode("prior state", request.prior_state.as_ref());
        let planned = decode("planned state", request.planned_state.as_ref());
        let applied = match (prior, planned) {
            (Ok(prior), Ok(planned)) => {
                self.provider.apply_resource(&request.type_name, &prior, &planned).await
            }
            (Err(error), _) | (_, Err(error)) => Err(ApplyError::from(error)),
        };
        Ok(Response::new(match applied {
            Ok(applied) => pb::apply_resource_change::Response {
                new_state: encode(&applied.state),
                private: request.planned_private,
                diagnostics: warnings(&applied.warnings),
                ..Default::default()
            },
            // The prior state stands: a failed create leaves no resource, so the next apply tries
            // again; a failed destroy or update keeps the resource. Only a kill DataForest accepted
            // before the wait for the app failed is recorded (Terraform taints a created one).
            Err(ApplyError { error, state }) => pb::apply_resource_change::Response {
                new_state: match state {
                    Some(state) => encode(&state),
                    None => request.prior_state.or_else(|| encode(&Value::Null)),
                },
                diagnostics: diagnostics([error]),
                ..Default::default()
            },
        }))
    }

    async fn import_resource_state(
        &self,
        request: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let type_name = request.into_inner().type_name;
        let _log = RpcLog::start("ImportResourceState", &type_name);
        Ok(Response::new(pb::import_resource_state::Response {
            diagnostics: diagnostics([self.provider.import_resource(&type_name)]),
            ..Default::default()
        }))
    }

    async fn validate_action_config(
        &self,
        request: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("ValidateActionConfig", &request.type_name);
        let diagnostics = check("action configuration", request.config.as_ref(), |config| {
            self.provider.validate_action(&request.type_name, config)
        });
        Ok(Response::new(pb::validate_action_config::Response { diagnostics }))
    }

    async fn plan_action(
        &self,
        request: Request<pb::plan_action::Request>,
    ) -> Result<Response<pb::plan_action::Response>, Status> {
        let request = request.into_inner();
        let _log = RpcLog::start("PlanAction", &request.action_type);
        // Nothing is planned beyond the checks: the kill happens when the action is invoked.
        let diagnostics = check("action configuration", request.config.as_ref(), |config| {
            self.provider.validate_action(&request.action_type, config)
        });
        Ok(Response::new(pb::plan_action::Response { diagnostics, deferred: None }))
    }

    /// Streams a Progress event per step, then exactly one Completed, then ends. When Terraform
    /// drops the stream, the action is dropped with it, HTTP call and polling included.
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
            let send =
                |event: Type| events.send(Ok(pb::invoke_action::Event { r#type: Some(event) })).is_ok();
            let result = match decode("action configuration", request.config.as_ref()) {
                Ok(config) => {
                    let progress = |message: String| {
                        send(Type::Progress(Progress { message }));
                    };
                    tokio::select! {
                        () = events.closed() => return,
                        result = provider.invoke_action(&request.action_type, &config, progress) => result,
                    }
                }
                Err(error) => Err(error),
            };
            let diagnostics = match result {
                Ok(found) => warnings(&found),
                Err(error) => diagnostics([error]),
            };
            send(Type::Completed(Completed { diagnostics }));
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
        assert!(matches!(decode("x", Some(&broken)), Err(ProviderError::Decode { what: "x", .. })));
    }

    #[test]
    fn requires_replace_paths_name_the_attribute() {
        let path = attribute_path("app_id");
        assert_eq!(
            path.steps[0].selector,
            Some(pb::attribute_path::step::Selector::AttributeName("app_id".into()))
        );
    }
}
