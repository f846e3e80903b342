//! A Terraform provider for NAVER Cloud Platform DataForest, and a local DataForest simulator.
//!
//! The layers, each depending only on those below it:
//! - [`plugin`]: go-plugin's part: environment checks, handshake line (or, in debug mode, the
//!   `TF_REATTACH_PROVIDERS` line), unix socket or TCP listener, AutoMTLS, health, controller and
//!   stdio services, shutdown.
//! - [`protocol`]: tfplugin6: generated messages, the DynamicValue codec, schemas, diagnostics,
//!   and the gRPC service that translates between the wire and the provider.
//! - [`provider`]: the `ncloud` provider: configuration, the kill every entry point shares, the
//!   `ncloud_dataforest_aiapp_kill` resource and action, the look-up data sources, and the typed
//!   errors that become diagnostics in one place.
//! - [`ncp`]: the NCP client: sites and endpoints, signature v2, the retry policy, DataForest
//!   calls and API errors. It knows nothing of Terraform.
//!
//! Beside them: [`simulator`], an in-memory DataForest API with scriptable faults for offline use
//! and tests, and [`logging`], hclog-style JSON lines on stderr.

pub mod logging;
pub mod ncp;
pub mod plugin;
pub mod protocol;
pub mod provider;
