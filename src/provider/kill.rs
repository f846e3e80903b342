//! The kill as every entry point performs it (the resource at create or destroy, the action):
//! send the signed kill (retried by the client), count an app that had already ended as killed,
//! and, when asked, poll `getDetail` until the app's state is terminal, all before a deadline.

use std::time::{Duration, SystemTime};

use tokio::time::{Instant, sleep_until, timeout_at};

use crate::ncp::{ApiError, AppInfo, CallError, DataForestClient, KillOutcome};

use super::error::{ProviderError, ProviderWarning};

/// Bound on a whole kill, retries and waiting included, unless a time-out says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Polling `getDetail`: every second at first, each wait half again as long, at most 10 s.
const FIRST_POLL: Duration = Duration::from_secs(1);
const LONGEST_POLL: Duration = Duration::from_secs(10);

/// What to record of a kill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillReport {
    pub id: String,
    pub success: bool,
    pub message: String,
    /// RFC 3339 UTC time the kill call returned.
    pub killed_at: String,
    /// The state observed through `getDetail`, when it was read.
    pub observed: Option<AppInfo>,
    pub warnings: Vec<ProviderWarning>,
}

/// Kills `app_id` before `limit` runs out; `progress` hears each step, for users to watch.
pub async fn kill(
    client: &DataForestClient,
    app_id: &str,
    wait_for_termination: bool,
    limit: Duration,
    mut progress: impl FnMut(String),
) -> Result<KillReport, ProviderError> {
    let deadline = Instant::now().checked_add(limit).ok_or(ProviderError::TimeoutTooLong { limit })?;
    let timed_out = || ProviderError::KillTimedOut { app_id: app_id.to_string(), limit };
    progress(format!("Killing AI app {app_id}"));
    let sent = timeout_at(deadline, client.kill(app_id)).await.map_err(|_| timed_out())?;
    let killed_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut report = match sent {
        Ok(KillOutcome { id, message }) => {
            KillReport { id, success: true, message, killed_at, observed: None, warnings: Vec::new() }
        }
        Err(failure) => {
            let (app, refusal) = timeout_at(deadline, already_ended(client, app_id, failure))
                .await
                .map_err(|_| timed_out())??;
            progress(format!("AI app {app_id} had already ended ({})", app.state));
            return Ok(KillReport {
                id: app.id.clone(),
                success: false,
                message: refusal.to_string(),
                killed_at,
                warnings: vec![ProviderWarning::AlreadyEnded {
                    app_id: app_id.to_string(),
                    state: app.state.clone(),
                }],
                observed: Some(app),
            });
        }
    };
    progress(format!("DataForest accepted the kill of AI app {app_id}: {}", report.message));
    if wait_for_termination {
        report.observed = Some(wait_until_ended(client, app_id, deadline, limit, &mut progress).await?);
    }
    Ok(report)
}

/// After a failed kill: the app and the refusal, if `getDetail` shows the app had already ended;
/// else the kill's error.
async fn already_ended(
    client: &DataForestClient,
    app_id: &str,
    failure: CallError,
) -> Result<(AppInfo, ApiError), ProviderError> {
    let kill_failed = |CallError { error, attempts }: CallError| ProviderError::KillFailed {
        app_id: app_id.to_string(),
        error: Box::new(error),
        attempts,
    };
    if matches!(failure.error, ApiError::Certificate { .. }) {
        return Err(kill_failed(failure));
    }
    match client.get_detail(app_id).await {
        Ok(app) if app.is_terminal() => Ok((app, failure.error)),
        _ => Err(kill_failed(failure)),
    }
}

async fn wait_until_ended(
    client: &DataForestClient,
    app_id: &str,
    deadline: Instant,
    limit: Duration,
    progress: &mut impl FnMut(String),
) -> Result<AppInfo, ProviderError> {
    let mut pause = FIRST_POLL;
    let mut last_state = String::from("unknown");
    for poll in 1u32.. {
        if Instant::now() + pause > deadline {
            break;
        }
        sleep_until(Instant::now() + pause).await;
        let Ok(read) = timeout_at(deadline, client.get_detail(app_id)).await else { break };
        let app = read.map_err(|CallError { error, attempts }| ProviderError::WaitFailed {
            app_id: app_id.to_string(),
            error: Box::new(error),
            attempts,
        })?;
        if app.is_terminal() {
            progress(format!("AI app {app_id} ended: {} ({})", app.state, app.final_status));
            return Ok(app);
        }
        progress(format!("AI app {app_id} is still {} (check {poll}); waiting for it to end", app.state));
        last_state = app.state;
        pause = pause.mul_f64(1.5).min(LONGEST_POLL);
    }
    Err(ProviderError::TerminationTimedOut { app_id: app_id.to_string(), limit, last_state })
}
