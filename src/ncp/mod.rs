//! NAVER Cloud Platform client: sites and endpoints, credentials (and the NCP CLI's profile file
//! that can hold them), signature v2, the network (proxy and trusted CAs), and the DataForest API
//! calls (apps and accounts) with their typed errors. It knows nothing of Terraform.

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
