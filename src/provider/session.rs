//! The state a run shares, which every resource, data source and action receives as a
//! [`Context`]: the configuration `ConfigureProvider` left (a [`Session`]: the resolved settings,
//! the HTTP client made from them when first needed, and the run's kill memory), and the stop
//! token that `StopProvider` cancels. Nothing here knows a resource type.

use std::sync::{Arc, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ncp::{AccountInfo, ApiError, CallError, DataForestClient};

use super::config::{AccountRule, ResolvedConfig};
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

    /// Refuses `account_id` when the provider's account list does.
    pub fn check_account(&self, account_id: &str) -> Result<(), ProviderError> {
        self.refused(account_id, None)
    }

    fn refused(&self, account: &str, app: Option<&str>) -> Result<(), ProviderError> {
        let rule = &self.config.accounts;
        match rule.attribute() {
            Some(setting) if !rule.permits(account) => Err(ProviderError::AccountRefused {
                setting,
                account: account.to_string(),
                app: app.map(str::to_string),
            }),
            _ => Ok(()),
        }
    }

    /// When the provider's account list is set, reads `kill`'s app and refuses it if its account
    /// is one the list refuses, or one whose id cannot be told (its name is no account the keys
    /// see). An app DataForest does not know passes: the kill finds out what that means.
    pub async fn check_app_account(
        &self,
        kill: &Kill,
        deadline: Instant,
        stop: &CancellationToken,
    ) -> Result<(), ProviderError> {
        if self.config.accounts == AccountRule::Any {
            return Ok(());
        }
        let client = self.client_for(kill)?;
        let looked_up = |what: String| {
            move |CallError { error, attempts, .. }| ProviderError::LookupFailed {
                what,
                error: Box::new(error),
                attempts,
            }
        };
        let bounded = async {
            let app = match client.get_detail(&kill.app_id).await {
                Ok(app) => app,
                Err(CallError { error, .. }) if error.is_not_found() => return Ok(None),
                Err(failed) => return Err(looked_up(format!("AI app {:?}", kill.app_id))(failed)),
            };
            let accounts =
                self.accounts(client).await.map_err(looked_up("the accounts these keys see".into()))?;
            let id = accounts
                .iter()
                .find(|account| account.name == app.account_name)
                .map(|account| account.id.clone());
            Ok(Some((id, app.account_name)))
        };
        let account = tokio::select! {
            biased;
            () = stop.cancelled() => return Err(ProviderError::Interrupted),
            found = tokio::time::timeout_at(deadline, bounded) => {
                found.map_err(|_| kill.failed(KillFailure::TimedOut { limit: kill.limit }))??
            }
        };
        match account {
            Some((Some(id), _)) => self.refused(&id, Some(&kill.app_id)),
            // An account the list cannot be checked against is refused, whichever list is set.
            Some((None, name)) => Err(ProviderError::AccountRefused {
                setting: self.config.accounts.attribute().unwrap_or_default(),
                account: if name.is_empty() { "(none given)".to_string() } else { name },
                app: Some(kill.app_id.clone()),
            }),
            None => Ok(()),
        }
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
