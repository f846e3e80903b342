//! Terraform's plugin protocol 6, served the way go-plugin serves it, for a provider written in
//! Rust. It names no provider: a provider implements [`protocol::provider::Provider`] and is
//! served by [`plugin::serve`] through [`protocol::service::ProviderService`].
//!
//! - [`protocol`]: the tfplugin6 and go-plugin messages, the DynamicValue codec, typed objects
//!   ([`object!`]), schemas, diagnostics, the `Provider` interface, and the gRPC service generic
//!   over it.
//! - [`plugin`]: environment checks, the handshake line (or, in debug mode,
//!   `TF_REATTACH_PROVIDERS`), unix socket or TCP listener, AutoMTLS, the routes to the health,
//!   controller, stdio and provider services, shutdown. It uses `protocol`'s wire types.

pub mod plugin;
pub mod protocol;
