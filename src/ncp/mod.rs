//! NAVER Cloud Platform client: sites and endpoints, credentials (and the NCP CLI's profile file
//! that can hold them), signature v2, the network (proxy and trusted CAs), and the DataForest API
//! calls (apps and accounts) with their typed errors. It knows nothing of Terraform.

/// Visitor methods for the JSON values a visitor has no use for: each is skipped unread, and the
/// visit answers `$value`.
macro_rules! skip_others {
    ($value:expr; $($method:ident),+) => { $(skip_others!(@ $method, $value);)+ };
    (@ visit_str, $value:expr) => {
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_u64, $value:expr) => {
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_i64, $value:expr) => {
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_f64, $value:expr) => {
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_bool, $value:expr) => {
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_unit, $value:expr) => {
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> { Ok($value) }
    };
    (@ visit_seq, $value:expr) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
    (@ visit_map, $value:expr) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
            Ok($value)
        }
    };
}

pub mod accounts;
pub mod apps;
pub mod budget;
pub mod dataforest;
pub mod endpoint;
pub mod error;
pub mod network;
pub mod profile;
pub mod retry;
pub mod signing;

pub use accounts::{AccountInfo, Accounts};
pub use apps::{AppInfo, Text};
pub use dataforest::{CallError, ClientOptions, Credentials, DataForestClient, KillOutcome, SecretKey};
pub use endpoint::{Endpoint, EndpointError, Site};
pub use error::ApiError;
pub use network::NetworkEnv;
pub use retry::RetryPolicy;
