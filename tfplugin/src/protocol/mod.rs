//! Terraform's plugin protocol, tfplugin6, for any provider: the generated messages, the value
//! codec, typed objects, schemas, diagnostics, the [`provider::Provider`] interface a provider
//! implements, and the gRPC service that serves one. Nothing here knows which provider it serves.

pub mod diagnostic;
pub mod object;
pub mod proto;
pub mod provider;
pub mod schema;
pub mod service;
pub mod value;
