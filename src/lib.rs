//! A Terraform provider for NAVER Cloud Platform DataForest.
//!
//! The parts, and which way each depends on the others (an arrow points at what a part uses;
//! nothing points back):
//!
//! ```text
//! main.rs ──> tfplugin::plugin ──> tfplugin::protocol <── provider ──> ncp
//!    │                                   ^                 ^
//!    └───────────────────────────────────┴─────────────────┘
//! ```
//!
//! - [`tfplugin`] (the workspace crate `tfplugin/`, re-exported here as [`protocol`] and
//!   [`plugin`]): Terraform's plugin protocol for any provider. `protocol` holds the tfplugin6
//!   and go-plugin messages, the DynamicValue codec, typed objects ([`object!`]), schemas,
//!   diagnostics, the [`protocol::provider::Provider`] interface, and the gRPC service generic
//!   over it; `plugin` the environment checks, the handshake line (or, in debug mode,
//!   `TF_REATTACH_PROVIDERS`), unix socket or TCP listener, AutoMTLS, the routes to the health,
//!   controller, stdio and provider services, and shutdown. Being a crate of its own, it cannot
//!   use the provider.
//! - [`provider`]: the `ncloud` provider, implementing `protocol`'s interface. Its `mod.rs` holds
//!   the configuration, Terraform's stop and the registry that routes each call by type name;
//!   each resource, action and data source type is one file (`resources/`, `actions/`,
//!   `data_sources/`) owning its typed object, schema, checks, plan and apply, read or invoke.
//!   Beneath them, shared: `types` (what a type implements, and the adapters that decode values
//!   once), `bulk` (the bulk kill), `lifecycle` (`when`, `timeouts`), `session` (the per-run
//!   state each call receives) and `memory` (one kill per app per run), `audit` (every kill
//!   outcome appended to the `audit_log` file), `kill` (the kill of one app), `selector`, `error` (typed failures, each made a diagnostic in one place), `config`
//!   (the provider block) and `duration`. It calls DataForest through `ncp`.
//! - [`ncp`]: the NCP client: sites and endpoints, the NCP CLI's profile file, signature v2, the
//!   retry policy, the network (proxy and trusted CAs, by Go's rules), DataForest calls and API
//!   errors. It knows nothing of Terraform.
//! - [`logging`]: hclog-style JSON lines on stderr, for `tracing`.
//!
//! `main.rs` puts them together: it serves `provider::NcloudProvider` through
//! `protocol::service::ProviderService` with `plugin::serve`. The DataForest simulator is the
//! workspace crate `dataforest-sim` (`sim/`), which uses `ncp` for signatures; the provider binary
//! does not link it.

pub mod logging;
pub mod ncp;
pub mod provider;

pub use tfplugin::{object, plugin, protocol};
