//! Terraform's plugin protocol, tfplugin6: the generated messages, the value codec, schemas,
//! diagnostics, and the gRPC service that connects them to the provider.

pub mod diagnostic;
pub mod proto;
pub mod schema;
pub mod service;
pub mod value;
