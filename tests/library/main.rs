//! The library and the repository's rules, without the Terraform CLI: the DataForest client
//! against loopback servers, properties of the decoders over generated inputs, the one-way
//! layers, and the registry docs tied to the schema. One module per behaviour:
//!
//! - `ncp_client`: certificates verified, answers capped, attempts bounded and signed afresh,
//!   redirects never followed
//! - `listing`: a `getList` answer of 64 MiB decodes within bounded memory, whatever it holds
//! - `properties`: the value codec and the kill-answer decoder over generated inputs
//! - `layers`: `tfplugin/` names no provider, the provider's build pulls in no simulator, and the
//!   provider's modules import one way, with the errors below every resource
//! - `docs`: each page under `docs/` matches the schema, the examples are shown verbatim, and
//!   CHANGELOG.md opens with this version

mod docs;
mod layers;
mod listing;
mod ncp_client;
mod properties;

/// Counts each thread's heap, for `listing`'s memory bounds.
#[global_allocator]
static ALLOCATOR: listing::Counting = listing::Counting;
