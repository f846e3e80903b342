//! The kill as every entry point performs it (the resource at create, at an in-place change of
//! `when`, or at destroy, and the action): send the signed kill (retried by the client), make
//! sense of a refusal, and, when asked, poll `getDetail` until the app's state is terminal, all
//! before a deadline and until Terraform asks to stop.
//!
//! A refusal is looked into only when DataForest itself answered and refused (its own
//! `"success": false` below HTTP 500): then `getDetail` tells whether the app had already ended,
//! which counts as killed, or, at destroy only, no longer exists, which leaves nothing to kill.
//! A time-out or a transport failure is reported as it is, at once.
//!
//! The single kill's resource and action name their app in one argument, checked here
//! ([`required_app_id`]); a bulk kill's apps come from a listing.

use std::time::{Duration, SystemTime};

use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::ncp::apps::is_valid_app_id;
use crate::ncp::{ApiError, AppInfo, CallError, DataForestClient, KillOutcome};
use crate::protocol::diagnostic::PathStep;
use crate::protocol::object::{Field, ShapeError};

use super::error::{KillFailure, Phase, ProviderError, ProviderWarning, Record, Unstarted};

/// Bound on a whole kill, retries and waiting included, unless a time-out says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// Polling `getDetail`: every second at first, each wait half again as long, at most 10 s, and a
/// last check at the deadline.
const FIRST_POLL: Duration = Duration::from_secs(1);
const LONGEST_POLL: Duration = Duration::from_secs(10);
/// How long the last check, at the deadline, may take to answer.
const LAST_CHECK_ROOM: Duration = Duration::from_secs(2);

/// One kill to perform.
#[derive(Clone, Debug)]
pub struct Kill {
    pub app_id: String,
    /// The argument that names the app, for the messages about it: the single kill's `app_id`;
    /// none for a bulk kill's apps.
    pub attribute: Option<&'static str>,
    pub phase: Phase,
    pub wait_for_termination: bool,
    /// Bound on the whole kill, retries and waiting included.
    pub limit: Duration,
}

/// What to record of a kill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KillReport {
    pub id: String,
    pub success: bool,
    pub message: String,
    /// RFC 3339 UTC time the kill call returned.
    pub killed_at: String,
    /// The HTTP status of DataForest's answer to the kill, when one came.
    pub status: Option<u16>,
    /// How many times the kill was sent.
    pub attempts: u32,
    /// The app as `getDetail` last showed it, when it was read.
    pub observed: Option<AppInfo>,
    /// Whether this is the answer of a kill sent earlier in the run, reused: nothing was sent.
    pub reused: bool,
    /// The kill's first attempt got no clear answer, a retry was refused, and the app was then
    /// found ended: most likely by this kill, which counts as done (`success`).
    pub uncertain: bool,
    pub warnings: Vec<ProviderWarning>,
}

/// What became of one app's kill, as summaries and the audit log name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// DataForest accepted the kill.
    Killed,
    /// DataForest refused the kill, and the app had already ended: the kill counts as done.
    AlreadyEnded,
    /// At destroy, DataForest no longer knew the app: there was nothing left to kill.
    Gone,
    /// The kill failed; it may or may not have happened, as its message says.
    Failed,
    /// The kill never started: Terraform asked to stop, or the time-out ran out first.
    NotAttempted,
    /// A dry run's: the app would be killed.
    WouldKill,
    /// The run had killed the app already (another resource, or the other half of a
    /// replacement): that kill's answer was reused, and nothing was sent.
    Reused,
}

impl Outcome {
    /// The outcome's name in the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Killed => "killed",
            Outcome::AlreadyEnded => "already_ended",
            Outcome::Gone => "gone",
            Outcome::Failed => "failed",
            Outcome::NotAttempted => "not_attempted",
            Outcome::WouldKill => "would_kill",
            Outcome::Reused => "reused",
        }
    }
}

impl KillReport {
    /// A kill never sent, because DataForest does not know the app: it counts as gone.
    pub fn not_sent(app_id: &str) -> KillReport {
        KillReport {
            id: app_id.to_string(),
            success: false,
            message: "not sent: DataForest does not know the app".to_string(),
            killed_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            status: None,
            attempts: 0,
            observed: None,
            reused: false,
            uncertain: false,
            warnings: Vec::new(),
        }
    }

    /// What the kill this reports came to: accepted, or refused for an app that had ended or
    /// was gone.
    pub fn outcome(&self) -> Outcome {
        match (self.success, &self.observed) {
            (true, _) => Outcome::Killed,
            (false, Some(_)) => Outcome::AlreadyEnded,
            (false, None) => Outcome::Gone,
        }
    }
}

/// A kill that did not complete, and what DataForest had accepted before it failed: a kill
/// accepted before a failed wait is a kill that happened, and is kept. `warnings`: what is worth
/// saying all the same (the audit log could not record it).
#[derive(Debug)]
pub struct KillError {
    pub error: ProviderError,
    pub accepted: Option<Box<KillReport>>,
    pub warnings: Vec<ProviderWarning>,
}

impl From<ProviderError> for KillError {
    fn from(error: ProviderError) -> KillError {
        KillError { error, accepted: None, warnings: Vec::new() }
    }
}

impl KillError {
    /// Why the kill was never sent, when it was not: the provider was stopped before it went
    /// out, or the audit log could not take its line.
    pub fn never_sent(&self) -> Option<Unstarted> {
        match (&self.accepted, &self.error) {
            (None, ProviderError::Stopped) => Some(Unstarted::Stopped),
            (None, ProviderError::AuditLogFailed { .. }) => Some(Unstarted::Unrecorded),
            (None, error) if error.is_quota_spent_unsent() => Some(Unstarted::QuotaSpent),
            _ => None,
        }
    }

    /// Every warning the failed kill carries, the accepted kill's included.
    pub fn all_warnings(&self) -> Vec<ProviderWarning> {
        let accepted = self.accepted.iter().flat_map(|report| report.warnings.iter());
        accepted.chain(&self.warnings).cloned().collect()
    }
}

impl Kill {
    /// When the whole kill must be done by, counted from now.
    pub fn deadline(&self) -> Result<Instant, ProviderError> {
        Instant::now().checked_add(self.limit).ok_or(ProviderError::TimeoutTooLong { limit: self.limit })
    }

    /// This kill failing for `failure`.
    pub fn failed(&self, failure: KillFailure) -> ProviderError {
        ProviderError::Kill {
            app_id: self.app_id.clone(),
            attribute: self.attribute,
            phase: self.phase,
            failure,
        }
    }
}

/// Checks a known app id in `attribute`; unknown and null pass, to be checked when known.
pub fn check_app_id<'a>(
    app_id: &'a Field<String>,
    attribute: &'static str,
) -> Result<Option<&'a str>, ProviderError> {
    match app_id {
        Field::Known(id) if is_valid_app_id(id) => Ok(Some(id)),
        Field::Known(id) => Err(ProviderError::InvalidAppId { attribute, value: id.clone() }),
        Field::Null | Field::Unknown => Ok(None),
    }
}

/// A known, valid app id in `attribute`, as an apply needs it.
pub fn required_app_id(app_id: &Field<String>, attribute: &'static str) -> Result<String, ProviderError> {
    match check_app_id(app_id, attribute)? {
        Some(id) => Ok(id.to_string()),
        None => Err(ProviderError::Shape(ShapeError {
            path: vec![PathStep::Attribute(attribute.to_string())],
            expected: "a string",
            got: if app_id.is_unknown() { "an unknown value" } else { "null" },
        })),
    }
}

/// Sends the kill and makes sense of the answer: the report of a kill DataForest accepted, of an
/// app that had already ended, or (at destroy) of one that no longer exists.
pub async fn send(
    client: &DataForestClient,
    kill: &Kill,
    deadline: Instant,
    stop: &CancellationToken,
    progress: &mut impl FnMut(String),
) -> Result<KillReport, ProviderError> {
    let Kill { ref app_id, attribute, phase, limit, .. } = *kill;
    let app_id = app_id.as_str();
    if stop.is_cancelled() {
        return Err(ProviderError::Stopped);
    }
    progress(format!("Killing AI app {app_id}"));
    let sent = tokio::select! {
        biased;
        () = stop.cancelled() => return Err(kill.failed(KillFailure::Interrupted { accepted: false })),
        sent = timeout_at(deadline, client.kill(app_id)) => {
            sent.map_err(|_| kill.failed(KillFailure::TimedOut { limit }))?
        }
    };
    let killed_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    match sent {
        Ok(KillOutcome { id, message, status, attempts }) => {
            progress(format!("DataForest accepted the kill of AI app {app_id}: {message}"));
            Ok(KillReport {
                id,
                success: true,
                message,
                killed_at,
                status: Some(status),
                attempts,
                observed: None,
                reused: false,
                uncertain: false,
                warnings: Vec::new(),
            })
        }
        Err(refused) if refused.error.is_refusal() => {
            let explained = tokio::select! {
                biased;
                () = stop.cancelled() => None,
                detail = timeout_at(deadline, client.get_detail(app_id)) => detail.ok(),
            };
            let report = explain_refusal(app_id, attribute, phase, &refused, explained, killed_at)
                .ok_or_else(|| kill.failed(call_failed(refused)))?;
            if let Some(app) = &report.observed {
                progress(format!("AI app {app_id} had already ended ({})", app.state()));
            } else {
                progress(format!("AI app {app_id} no longer exists"));
            }
            Ok(report)
        }
        Err(error) => Err(kill.failed(call_failed(error))),
    }
}

/// After [`send`]: waits for the app to end, when asked, and DataForest accepted the kill, and the
/// app was not yet seen ended. A failed wait returns the accepted kill with the error.
pub async fn finish(
    client: &DataForestClient,
    kill: &Kill,
    mut report: KillReport,
    deadline: Instant,
    stop: &CancellationToken,
    mut progress: impl FnMut(String),
) -> Result<KillReport, KillError> {
    let ended = report.observed.as_ref().is_some_and(AppInfo::is_terminal);
    if !kill.wait_for_termination || !report.success || ended {
        return Ok(report);
    }
    match wait_until_ended(client, &kill.app_id, deadline, kill.limit, stop, &mut progress).await {
        Ok(Some(app)) => {
            report.observed = Some(app);
            Ok(report)
        }
        Ok(None) => {
            report.observed = None;
            report.warnings.push(ProviderWarning::VanishedWhileWaiting {
                app_id: kill.app_id.clone(),
                attribute: kill.attribute,
                record: Record::of(kill.phase, kill.attribute),
            });
            Ok(report)
        }
        Err((failure, last_seen)) => {
            report.observed = last_seen;
            Err(KillError {
                error: kill.failed(failure),
                accepted: Some(Box::new(report)),
                warnings: Vec::new(),
            })
        }
    }
}

fn call_failed(CallError { error, attempts, earlier_attempt_uncertain }: CallError) -> KillFailure {
    KillFailure::Failed { error: Box::new(error), attempts, earlier_attempt_uncertain }
}

/// Before `kill` is armed for destroy time: checks, within its limit, that DataForest knows the
/// app, so that a mistyped id fails now rather than pass as "gone" at destroy.
pub async fn check_exists(
    client: &DataForestClient,
    kill: &Kill,
    stop: &CancellationToken,
) -> Result<AppInfo, ProviderError> {
    let Kill { ref app_id, attribute, limit, .. } = *kill;
    let unchecked = |error: ApiError, attempts: u32| ProviderError::IntentUnchecked {
        app_id: app_id.clone(),
        attribute,
        error: Box::new(error),
        attempts,
    };
    let read = tokio::select! {
        biased;
        () = stop.cancelled() => return Err(ProviderError::Interrupted),
        read = tokio::time::timeout(limit, client.get_detail(app_id)) => read,
    };
    match read {
        Ok(Ok(app)) => Ok(app),
        Ok(Err(CallError { error, attempts, .. })) => Err(unchecked(error, attempts)),
        Err(_) => Err(unchecked(
            ApiError::Transport {
                reason: format!("no answer within {}", humantime::format_duration(limit)),
                timed_out: true,
                connected: false,
            },
            1,
        )),
    }
}

/// After DataForest refused the kill: a report if `getDetail` (when it answered in time) shows
/// the app had already ended, or, at destroy, that it no longer exists; else `None`, and the
/// refusal stands.
fn explain_refusal(
    app_id: &str,
    attribute: Option<&'static str>,
    phase: Phase,
    refused: &CallError,
    detail: Option<Result<AppInfo, CallError>>,
    killed_at: String,
) -> Option<KillReport> {
    let uncertain = refused.earlier_attempt_uncertain;
    // `killed`: an attempt whose answer was lost, then a refusal, then the app found killed: the
    // lost attempt most likely killed it, and the kill counts as done.
    let report = |warning, observed, killed| KillReport {
        id: app_id.to_string(),
        success: killed,
        message: refused.error.to_string(),
        killed_at,
        status: refused.error.status(),
        attempts: refused.attempts,
        uncertain: killed,
        observed,
        reused: false,
        warnings: vec![warning],
    };
    match detail? {
        Ok(app) if app.is_terminal() => {
            // An app that finished or failed ended by itself.
            let killed = uncertain && app.state().eq_ignore_ascii_case("KILLED");
            let warning = ProviderWarning::AlreadyEnded {
                app_id: app_id.to_string(),
                attribute,
                state: app.state().to_string(),
                uncertain: killed,
                record: Record::of(phase, attribute),
            };
            Some(report(warning, Some(app), killed))
        }
        Err(CallError { error: ApiError::Rejected { status: 404, .. }, .. })
            if phase == Phase::Destroy && refused.error.is_not_found() =>
        {
            let warning = ProviderWarning::AppGone { app_id: app_id.to_string(), attribute, uncertain };
            Some(report(warning, None, false))
        }
        _ => None,
    }
}

/// Polls until the app ends, using the whole time-out: the last check goes out at `deadline`.
/// Answers the app as it ended, or `None` when DataForest stopped knowing it (404 "no such
/// element"), which after an accepted kill can only mean it ended. On failure: why, and the app
/// as last seen.
async fn wait_until_ended(
    client: &DataForestClient,
    app_id: &str,
    deadline: Instant,
    limit: Duration,
    stop: &CancellationToken,
    progress: &mut impl FnMut(String),
) -> Result<Option<AppInfo>, (KillFailure, Option<AppInfo>)> {
    let mut pause = FIRST_POLL;
    let mut last_seen: Option<AppInfo> = None;
    for poll in 1u32.. {
        let at = (Instant::now() + pause).min(deadline);
        // A read in flight at the deadline is the last check, and may take a moment to answer.
        let answer_by = deadline + LAST_CHECK_ROOM;
        let read = tokio::select! {
            biased;
            () = stop.cancelled() => return Err((KillFailure::Interrupted { accepted: true }, last_seen)),
            read = async {
                sleep_until(at).await;
                timeout_at(answer_by, client.get_detail(app_id)).await
            } => read,
        };
        let Ok(read) = read else { break };
        let app = match read {
            Ok(app) => app,
            Err(CallError { error, .. }) if error.is_not_found() => {
                progress(format!("AI app {app_id} is gone: DataForest no longer knows it"));
                return Ok(None);
            }
            Err(CallError { error, attempts, .. }) => {
                return Err((KillFailure::WaitFailed { error: Box::new(error), attempts }, last_seen));
            }
        };
        if app.is_terminal() {
            progress(format!("AI app {app_id} ended: {} ({})", app.state(), app.final_status()));
            return Ok(Some(app));
        }
        progress(format!("AI app {app_id} is still {} (check {poll}); waiting for it to end", app.state()));
        last_seen = Some(app);
        if Instant::now() >= deadline {
            break;
        }
        pause = pause.mul_f64(1.5).min(LONGEST_POLL);
    }
    let last_state = last_seen.as_ref().map_or_else(|| "unknown".to_string(), |app| app.state().to_string());
    // The time-out started `limit` before the deadline.
    let spent = Instant::now().saturating_duration_since(deadline.checked_sub(limit).unwrap_or(deadline));
    Err((KillFailure::StillRunning { limit, last_state, spent }, last_seen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ncp::Text;

    fn refusal(status: u16, message: &str, earlier_attempt_uncertain: bool) -> CallError {
        CallError {
            error: ApiError::Rejected { status, message: message.into() },
            attempts: 2,
            earlier_attempt_uncertain,
        }
    }

    fn ended(state: &str) -> AppInfo {
        AppInfo::default().with(Text::Id, "A1").with(Text::State, state)
    }

    fn not_found() -> CallError {
        refusal(404, "no such element", false)
    }

    #[test]
    fn a_refusal_of_an_app_that_had_ended_counts_as_killed() {
        let refused = refusal(400, "invalid request parameters", false);
        let report =
            explain_refusal("A1", None, Phase::Create, &refused, Some(Ok(ended("KILLED"))), "t".into())
                .unwrap();
        assert!(!report.success);
        assert_eq!(report.observed.unwrap().state(), "KILLED");
        assert!(report.message.contains("invalid request parameters"));
        assert!(matches!(&report.warnings[..], [ProviderWarning::AlreadyEnded { uncertain: false, .. }]));
        assert!(
            explain_refusal("A1", None, Phase::Create, &refused, Some(Ok(ended("RUNNING"))), "t".into())
                .is_none()
        );
        assert!(explain_refusal("A1", None, Phase::Create, &refused, None, "t".into()).is_none());
    }

    #[test]
    fn a_missing_app_is_done_only_at_destroy() {
        let gone =
            |phase| explain_refusal("A1", None, phase, &not_found(), Some(Err(not_found())), "t".into());
        assert!(gone(Phase::Create).is_none(), "a typo at create must stay an error");
        assert!(gone(Phase::Action).is_none());
        let report = gone(Phase::Destroy).unwrap();
        assert!(matches!(&report.warnings[..], [ProviderWarning::AppGone { .. }]));
        // Both calls must say the app is missing: a refused kill of an app getDetail cannot read
        // for another reason is no proof.
        let forbidden = refusal(403, "not allowed to access", false);
        assert!(
            explain_refusal("A1", None, Phase::Destroy, &forbidden, Some(Err(not_found())), "t".into())
                .is_none()
        );
        let gateway_not_found = CallError {
            error: ApiError::Gateway {
                status: 404,
                code: "300".into(),
                message: "Not Found".into(),
                details: None,
            },
            attempts: 1,
            earlier_attempt_uncertain: false,
        };
        assert!(
            explain_refusal(
                "A1",
                None,
                Phase::Destroy,
                &not_found(),
                Some(Err(gateway_not_found)),
                "t".into()
            )
            .is_none()
        );
    }

    #[test]
    fn an_uncertain_earlier_attempt_that_found_the_app_killed_counts_as_its_kill() {
        let refused = refusal(400, "invalid request parameters", true);
        let report =
            explain_refusal("A1", None, Phase::Create, &refused, Some(Ok(ended("KILLED"))), "t".into())
                .unwrap();
        assert!(matches!(&report.warnings[..], [ProviderWarning::AlreadyEnded { uncertain: true, .. }]));
        assert!(report.success && report.uncertain);
        assert_eq!(report.outcome(), Outcome::Killed);
        // An app that finished or failed ended by itself, whatever the lost attempt did.
        for state in ["FINISHED", "FAILED"] {
            let report =
                explain_refusal("A1", None, Phase::Create, &refused, Some(Ok(ended(state))), "t".into())
                    .unwrap();
            assert!(!report.success && !report.uncertain, "{state}");
            assert_eq!(report.outcome(), Outcome::AlreadyEnded);
        }
        // Without a lost attempt, a refusal for an app killed is an app already ended.
        let plain = refusal(400, "invalid request parameters", false);
        let report =
            explain_refusal("A1", None, Phase::Create, &plain, Some(Ok(ended("KILLED"))), "t".into())
                .unwrap();
        assert_eq!(report.outcome(), Outcome::AlreadyEnded);
    }
}
