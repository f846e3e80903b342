//! The state a run shares, which every resource, data source and action receives as a
//! [`Context`]: the configuration `ConfigureProvider` left (a [`Session`]: the resolved settings,
//! the HTTP client made from them when first needed, and the run's kill memory), and the stop
//! token that `StopProvider` cancels. Nothing here knows a resource type.

use std::sync::{Arc, OnceLock};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::ncp::budget::Budget;
use crate::ncp::{Accounts, ApiError, CallError, DataForestClient};

use super::audit::file::LogFile;
use super::audit::{AuditLog, Entry};
use super::config::ResolvedConfig;
use super::error::{KillFailure, Phase, ProviderError, ProviderWarning};
use super::kill::{self, Kill, KillReport};
use super::memory::KillMemory;

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
/// never call DataForest, such as validate, never build one), the accounts the keys see once
/// asked, and the kills sent since.
pub struct Session {
    config: ResolvedConfig,
    client: OnceLock<Result<DataForestClient, ApiError>>,
    /// The request budget the client's calls share, which the audit log's lines report.
    budget: Arc<Budget>,
    memory: KillMemory,
    /// The accounts the keys see, once asked: one `accounts/getList` serves the run.
    accounts: tokio::sync::Mutex<Option<Arc<Accounts>>>,
    /// Where kills are written, when the configuration asks.
    audit: Option<AuditLog>,
}

impl Session {
    /// The session of `config`, whose audit log, when it asks for one, is written to `audit`
    /// (the process's file).
    pub fn new(config: ResolvedConfig, audit: Option<Arc<LogFile>>) -> Session {
        let budget = Arc::new(config.options.budget());
        let audit = audit.map(|file| AuditLog::new(file, Arc::clone(&budget)));
        Session {
            config,
            client: OnceLock::new(),
            budget,
            memory: KillMemory::default(),
            accounts: Default::default(),
            audit,
        }
    }

    /// Where the audit log is, when the configuration asks for one.
    pub fn audit_path(&self) -> Option<&std::path::Path> {
        self.audit.as_ref().map(AuditLog::path)
    }

    /// The audit log, opened, when the configuration asks for one: an entry point calls this
    /// before its first kill, and one that cannot be opened, or has lost a line, fails it.
    pub async fn audit(&self) -> Result<Option<&AuditLog>, ProviderError> {
        let Some(audit) = &self.audit else { return Ok(None) };
        audit.ready().await?;
        Ok(Some(audit))
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
                    Arc::clone(&self.budget),
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

    /// The provider's account list, when one is set.
    pub fn account_setting(&self) -> Option<&'static str> {
        self.config.accounts.setting().map(|setting| setting.attribute)
    }

    /// Refuses `account_id` (the argument `attribute`) when the provider's account list does.
    pub fn check_account(&self, account_id: &str, attribute: &'static str) -> Result<(), ProviderError> {
        self.refused(account_id, None, Some(attribute))
    }

    /// Refuses `account` when the provider's account list does: the account selected in
    /// `attribute`, or that of `app`, named in `attribute`.
    fn refused(
        &self,
        account: &str,
        app: Option<&str>,
        attribute: Option<&'static str>,
    ) -> Result<(), ProviderError> {
        let rule = &self.config.accounts;
        match rule.setting() {
            Some(setting) if !rule.permits(account) => Err(ProviderError::AccountRefused {
                setting: setting.attribute,
                env: setting.env,
                account: account.to_string(),
                app: app.map(str::to_string),
                attribute,
            }),
            _ => Ok(()),
        }
    }

    /// When the provider's account list is set, reads `kill`'s app and refuses it unless its
    /// account is one the list permits: the account its `accountId` names, else the account
    /// whose name its `accountName` is. An app whose account cannot be told is refused too, and
    /// nothing is sent: DataForest does not know it (to other keys an app does not exist, so a
    /// kill could not be checked), its answer names no account, or names two (its `accountId`
    /// and `accountName` disagree), its `accountId` is no account these keys see, no account
    /// they see has its `accountName`, or several do and the list refuses one of them, or it
    /// carries only an `accountName` while `accounts/getList` is partial or names another account
    /// not at all ([`Accounts::unknown_names`]). A detail that gives a field twice is refused as
    /// it is read. At a
    /// destroy, an app DataForest does not know is no refusal: there is nothing these keys can
    /// kill, and nothing is sent (see [`AppAccount::UnknownAtDestroy`]).
    pub async fn check_app_account(
        &self,
        kill: &Kill,
        deadline: Instant,
        stop: &CancellationToken,
    ) -> Result<AppAccount, ProviderError> {
        let Some(setting) = self.account_setting() else { return Ok(AppAccount::Unchecked) };
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
            Ok(Some((app, accounts)))
        };
        let found = tokio::select! {
            biased;
            () = stop.cancelled() => return Err(ProviderError::Interrupted),
            // Nothing was sent yet: a time-out here is a look-up that failed, not a kill that may
            // have happened.
            found = tokio::time::timeout_at(deadline, bounded) => found.map_err(|_| {
                ProviderError::lookup_timed_out(format!("the account of AI app {:?}", kill.app_id), kill.limit)
            })??
        };
        let unverifiable = |why: String| ProviderError::AccountUnverifiable {
            setting,
            subject: format!("AI app {:?}", kill.app_id),
            why,
        };
        let Some((app, accounts)) = found else {
            if kill.phase == Phase::Destroy {
                return Ok(AppAccount::UnknownAtDestroy { setting });
            }
            return Err(unverifiable(
                "DataForest does not know it (getDetail answered \"no such element\"), so its account cannot be \
                 read; to keys of another account an app does not exist"
                    .to_string(),
            ));
        };
        let (id, name) = (app.account_id(), app.account_name());
        if !id.is_empty() {
            // An id the keys do not see is no account a list can be checked against.
            if !accounts.seen.iter().any(|account| account.id == id) {
                return Err(unverifiable(format!("its accountId {id:?} is no account these keys see")));
            }
            // Its id says whose it is; a name beside it must not say otherwise.
            let fits = name.is_empty()
                || match accounts.seen.iter().find(|account| account.id == id) {
                    Some(account) if !account.name.is_empty() => account.name == name,
                    _ => !accounts.seen.iter().any(|account| account.name == name),
                };
            if !fits {
                return Err(unverifiable(format!(
                    "its accountId {id:?} and its accountName {name:?} name different accounts"
                )));
            }
            return self.refused(id, Some(&kill.app_id), kill.attribute).map(|()| AppAccount::Permitted);
        }
        let named: Vec<&str> = accounts
            .seen
            .iter()
            .filter(|account| !name.is_empty() && account.name == name)
            .map(|account| account.id.as_str())
            .collect();
        match named[..] {
            [] if name.is_empty() => {
                Err(unverifiable("DataForest gives it neither an accountId nor an accountName".to_string()))
            }
            [] => Err(unverifiable(format!("no account these keys see is named {name:?}, its accountName"))),
            // A name tells whose the app is only if no account left out or without a name may
            // bear it too.
            [id] => match accounts.name_doubt(id, name) {
                Some(doubt) => Err(unverifiable(format!("it carries only an accountName, and {doubt}"))),
                None => self.refused(id, Some(&kill.app_id), kill.attribute).map(|()| AppAccount::Permitted),
            },
            ref several => match accounts.unknown_names("", name) {
                Some(doubt) => Err(unverifiable(format!("it carries only an accountName, and {doubt}"))),
                None if several.iter().all(|id| self.config.accounts.permits(id)) => {
                    Ok(AppAccount::Permitted)
                }
                None => Err(unverifiable(format!(
                    "accounts {} share its accountName {name:?}, and the list refuses some of them",
                    several.join(", ")
                ))),
            },
        }
    }

    /// Whether warnings of kills that did less than asked, or could not check something, are
    /// errors (the provider's `strict`).
    pub fn strict(&self) -> bool {
        self.config.strict
    }

    /// Under `strict`, takes out of `warnings` the first that says something could not be
    /// checked or was left undone (see [`ProviderWarning::is_shortfall`]; `destroying`: they come
    /// from a destroy), as the error it becomes; `before_kill`: nothing has been killed yet. The
    /// others stay, for the boundary to turn into errors too.
    pub fn shortfall(
        &self,
        warnings: &mut Vec<ProviderWarning>,
        destroying: bool,
        before_kill: bool,
    ) -> Option<ProviderError> {
        if !self.strict() {
            return None;
        }
        let index = warnings.iter().position(|warning| warning.is_shortfall(destroying))?;
        Some(ProviderError::Strict { warning: Box::new(warnings.remove(index)), before_kill })
    }

    /// The accounts these keys see, asked once in this run (a failed call is asked again).
    pub async fn accounts(&self, client: &DataForestClient) -> Result<Arc<Accounts>, CallError> {
        let mut known = self.accounts.lock().await;
        if let Some(accounts) = known.as_ref() {
            return Ok(Arc::clone(accounts));
        }
        let accounts = Arc::new(client.list_accounts().await?);
        *known = Some(Arc::clone(&accounts));
        Ok(accounts)
    }

    /// A resource's kill of one app, sent at most once per app in this run (see `memory`);
    /// the answer of an earlier one is reused. `ahead`: the audit log and what its `sending`
    /// line says, written before the kill is sent (not when an answer is reused). Waiting for the
    /// app to end is [`kill::finish`]'s.
    pub async fn send_once(
        &self,
        kill: &Kill,
        ahead: Option<(&AuditLog, Entry<'_>)>,
        deadline: Instant,
        stop: &CancellationToken,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<KillReport, ProviderError> {
        let client = self.client_for(kill)?;
        let mut relay = |step| progress(step);
        let send = async {
            if let Some((log, entry)) = &ahead {
                log.sending(entry).await?;
            }
            kill::send(client, kill, deadline, stop, &mut relay).await
        };
        self.memory.send_once(kill, deadline, stop, progress, send).await
    }
}

/// What the account check of a single kill found ([`Session::check_app_account`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppAccount {
    /// No account list is set: the app was not read.
    Unchecked,
    /// The app was read, and its account is one the list permits.
    Permitted,
    /// At a destroy, DataForest does not know the app: its account cannot be checked against the
    /// list (`setting`), and there is nothing these keys can kill. Nothing is sent.
    UnknownAtDestroy { setting: &'static str },
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
