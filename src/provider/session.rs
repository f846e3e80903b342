//! The state a run shares, which every resource, data source and action receives as a
//! [`Context`]: the configuration `ConfigureProvider` left (a [`Session`]: the resolved settings,
//! the HTTP client made from them when first needed, and the run's kill memory), and the stop
//! token that `StopProvider` cancels. Nothing here knows a resource type.

use std::sync::{Arc, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ncp::{AccountInfo, ApiError, CallError, DataForestClient};

use super::config::ResolvedConfig;
use super::error::{KillFailure, ProviderError};
use super::kill::{Kill, KillError, KillReport};
use super::memory::{self, KillMemory};

/// What `ConfigureProvider` left behind.
#[derive(Clone)]
pub enum Configuration {
    /// Not configured yet: nothing that needs the API may run.
    NotYet,
    /// Configured during plan while these settings were still unknown: nothing that needs the
    /// API may run until Terraform configures the provider again with them known.
    Unknown(Vec<&'static str>),
    Ready(Arc<Session>),
}

/// A resolved configuration, the HTTP client made from it when first needed (so that runs which
/// never call DataForest, such as validate and plan, never build one), and the kills sent since.
pub struct Session {
    config: ResolvedConfig,
    client: OnceLock<Result<DataForestClient, ApiError>>,
    memory: KillMemory,
    /// The accounts the keys see, once asked: one `accounts/getList` serves the run.
    accounts: tokio::sync::Mutex<Option<Arc<Vec<AccountInfo>>>>,
}

impl Session {
    pub fn new(config: ResolvedConfig) -> Session {
        Session {
            config,
            client: OnceLock::new(),
            memory: KillMemory::default(),
            accounts: Default::default(),
        }
    }

    pub fn client(&self) -> Result<&DataForestClient, ApiError> {
        self.client
            .get_or_init(|| {
                let config = &self.config;
                DataForestClient::new(
                    config.endpoint.clone(),
                    config.credentials.clone(),
                    config.options,
                    &config.network,
                )
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The client, for `kill`: a client that cannot be set up fails the kill before it is sent.
    pub fn client_for(&self, kill: &Kill) -> Result<&DataForestClient, ProviderError> {
        self.client().map_err(|error| {
            kill.failed(KillFailure::Failed {
                error: Box::new(error),
                attempts: 0,
                earlier_attempt_uncertain: false,
            })
        })
    }

    /// The accounts these keys see, asked once in this run (a failed call is asked again).
    pub async fn accounts(&self, client: &DataForestClient) -> Result<Arc<Vec<AccountInfo>>, CallError> {
        let mut known = self.accounts.lock().await;
        if let Some(accounts) = known.as_ref() {
            return Ok(Arc::clone(accounts));
        }
        let accounts = Arc::new(client.list_accounts().await?);
        *known = Some(Arc::clone(&accounts));
        Ok(accounts)
    }

    /// A resource's kill of one app, sent at most once per app in this run (see [`memory`]).
    pub async fn kill_once(
        &self,
        kill: &Kill,
        deadline: Instant,
        stop: &CancellationToken,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<KillReport, KillError> {
        let client = self.client_for(kill)?;
        memory::kill_once(client, &self.memory, kill, deadline, stop, progress).await
    }
}

/// What a call works with: the configuration as it stood when the call came in, and the stop
/// token of the work in flight.
#[derive(Clone)]
pub struct Context {
    configuration: Configuration,
    stop: CancellationToken,
}

impl Context {
    pub fn new(configuration: Configuration, stop: CancellationToken) -> Context {
        Context { configuration, stop }
    }

    /// The stop token for work starting now, unless Terraform has asked to stop since the
    /// provider was last configured.
    pub fn running(&self) -> Result<CancellationToken, ProviderError> {
        if self.stop.is_cancelled() { Err(ProviderError::Stopped) } else { Ok(self.stop.clone()) }
    }

    /// Whether Terraform has asked to stop since the provider was last configured.
    pub fn stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// The configured session, or why there is none.
    pub fn session(&self) -> Result<Arc<Session>, ProviderError> {
        match &self.configuration {
            Configuration::Ready(session) => Ok(Arc::clone(session)),
            Configuration::Unknown(settings) => {
                Err(ProviderError::ProviderConfigUnknown { settings: settings.clone() })
            }
            Configuration::NotYet => Err(ProviderError::NotConfigured),
        }
    }
}
