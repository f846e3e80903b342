//! The provider as users and Terraform run it: real Terraform 1.0.3 and 1.15.5 (installed by
//! `scripts/install-terraform`; a missing one fails, never skips) driving the provider binary
//! cargo built against the DataForest simulator on loopback, and the binary started by hand or as
//! Terraform starts a plugin. One module per behaviour:
//!
//! - `harness`: the simulator, a throw-away Terraform working folder, commands whose failure
//!   shows everything, a CONNECT proxy, and `on_each_terraform!`
//! - `apply`: apply records DataForest's answer, re-plans empty, `triggers` kill again
//! - `failures`: failed kills record nothing; bad input and credentials fail before any call
//! - `fail_closed`: hostile listings, blank and account-wide selectors, `strict`, the look after
//!   the kill, and a destroy hook's recorded selector
//! - `faults`: retries, `Retry-After`, time-outs and Ctrl-C against scripted faults
//! - `lifecycle`: the kill at destroy, waiting for the app to end, an app already ended
//! - `when`: changing `when` never kills one app twice
//! - `parallel`: a `for_each` of kills runs in parallel and keeps its successes
//! - `bulk`: the selector, the bulk kill resource and action, and a large `getList`
//! - `data_sources`: look-ups by name and by id feeding the kill
//! - `actions`: the kill action, invoked and triggered (Terraform 1.15.5)
//! - `secrets_and_unknowns`: the secret never shows; values unknown at plan
//! - `tls_and_proxies`: private CAs, refused certificates, CONNECT proxies and `NO_PROXY`
//! - `examples`: every configuration under `examples/` applies and destroys
//! - `mirror_install`: `terraform init` from a filesystem mirror of the release zip
//! - `registry_install`: `terraform init` from a registry serving a signed release
//! - `debug_mode`: `--version`, usage errors, and `--debug` with `TF_REATTACH_PROVIDERS`
//! - `record`: waits use their whole time-out, partial bulk kills are kept, the audit log, and
//!   Ctrl-C during the bulk action
//! - `plugin_process`: the handshake, AutoMTLS, health, SIGINT and Shutdown of the plugin process

#[macro_use]
mod harness;

mod actions;
mod apply;
mod bulk;
mod data_sources;
mod debug_mode;
mod examples;
mod fail_closed;
mod failures;
mod faults;
mod lifecycle;
mod mirror_install;
mod parallel;
mod plugin_process;
mod record;
mod registry_install;
mod secrets_and_unknowns;
mod tls_and_proxies;
mod when;
