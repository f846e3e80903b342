//! What a kill that did not complete tells the user: [`Phase`] (where it ran, which decides what
//! the next run does about it) and [`KillFailure`] (why it failed), worded once here for a single
//! kill's diagnostic, for each line of a bulk kill's, and for the action's progress.

use std::time::Duration;

use crate::ncp::ApiError;

/// Where a kill runs. It decides what a missing app means (done at destroy, an error elsewhere)
/// and what a failure tells the user to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The resource's create.
    Create,
    /// The resource's in-place change of `when` from `destroy` to `create`.
    Update,
    /// The destroy of a `when = "destroy"` resource.
    Destroy,
    /// The action.
    Action,
}

/// Why a kill did not complete.
#[derive(Debug)]
pub enum KillFailure {
    /// The kill call failed for good (refused, or no answer after the retries); DataForest did
    /// not answer that it accepted it. `earlier_attempt_uncertain`: an attempt before the last got
    /// no clear answer, so the kill may have happened all the same.
    Failed { error: Box<ApiError>, attempts: u32, earlier_attempt_uncertain: bool },
    /// The time-out ran out before the kill was answered: it may or may not have happened.
    TimedOut { limit: Duration },
    /// The provider was stopped (by Terraform, Terraform's end, or a signal) while the kill was
    /// in flight (`accepted: false`: it
    /// may or may not have happened) or while waiting after DataForest accepted it.
    Interrupted { accepted: bool },
    /// DataForest accepted the kill, but reading the app's state while waiting failed.
    WaitFailed { error: Box<ApiError>, attempts: u32 },
    /// DataForest accepted the kill, but the app had not ended when the time-out ran out, `spent`
    /// after the time-out started.
    StillRunning { limit: Duration, last_state: String, spent: Duration },
}

impl KillFailure {
    /// Whether DataForest had accepted the kill before it failed.
    pub fn accepted(&self) -> bool {
        matches!(
            self,
            KillFailure::Interrupted { accepted: true }
                | KillFailure::WaitFailed { .. }
                | KillFailure::StillRunning { .. }
        )
    }

    /// The API error behind the failure, and how many attempts the call made, when a call failed.
    pub fn api_error(&self) -> Option<(&ApiError, u32)> {
        match self {
            KillFailure::Failed { error, attempts, .. } | KillFailure::WaitFailed { error, attempts } => {
                Some((error, *attempts))
            }
            KillFailure::TimedOut { .. }
            | KillFailure::Interrupted { .. }
            | KillFailure::StillRunning { .. } => None,
        }
    }

    /// The diagnostic's summary.
    pub fn summary(&self) -> &'static str {
        match self {
            KillFailure::Failed { .. } => "DataForest kill failed",
            KillFailure::TimedOut { .. } => "Kill timed out",
            KillFailure::Interrupted { accepted: false } => "Kill interrupted",
            KillFailure::Interrupted { accepted: true } => "Wait interrupted",
            KillFailure::WaitFailed { .. } => "Could not confirm the app ended",
            KillFailure::StillRunning { .. } => "App still running",
        }
    }

    /// What happened to the kill of `app` (the app as the message names it), with what to check
    /// and whether it may have happened all the same. `attribute` is the argument that named the
    /// app, when the configuration did (a bulk kill's apps come from a listing instead).
    pub fn sentence(&self, app: &str, attribute: Option<&str>) -> String {
        let after =
            |attempts: u32| if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
        match self {
            // Refused before it was sent, since an earlier call found the quota spent.
            KillFailure::Failed { error, attempts: 0, .. } if error.is_quota_exceeded() => format!(
                "The kill of AI app {app} was not sent: an earlier call of the provider was answered {error}.{}",
                api_hint(error, attribute)
            ),
            KillFailure::Failed { error, attempts, earlier_attempt_uncertain } => format!(
                "Killing AI app {app} failed{}: {error}.{}{}",
                after(*attempts),
                api_hint(error, attribute),
                if *earlier_attempt_uncertain || error.may_have_taken_effect() {
                    " An attempt got no clear answer, so the kill may have happened all the same."
                } else {
                    ""
                }
            ),
            KillFailure::TimedOut { limit } => format!(
                "The kill of AI app {app} got no final answer within its time-out of {}, retries included. It \
                 may or may not have happened.",
                humantime::format_duration(*limit)
            ),
            KillFailure::Interrupted { accepted: false } => format!(
                "The provider was stopped (by Terraform, because Terraform ended, or by SIGTERM or SIGHUP) while \
                 the kill of AI app {app} was in flight. It may or may not have happened."
            ),
            KillFailure::Interrupted { accepted: true } => format!(
                "DataForest accepted the kill of AI app {app}, but the provider was stopped (by Terraform, \
                 because Terraform ended, or by SIGTERM or SIGHUP) while it waited for the app to end."
            ),
            KillFailure::WaitFailed { error, attempts } => format!(
                "DataForest accepted the kill of AI app {app}, but reading its state failed{}: {error}.{}",
                after(*attempts),
                api_hint(error, None)
            ),
            KillFailure::StillRunning { limit, last_state, spent } => format!(
                "DataForest accepted the kill of AI app {app}, but the app was still {last_state} when the \
                 time-out of {} ran out ({:.1} s after it started); raise the time-out if the app takes longer to \
                 end.",
                humantime::format_duration(*limit),
                spent.as_secs_f64()
            ),
        }
    }
}

/// What the next run does about a single kill that failed in `phase`; `accepted`: DataForest had
/// accepted it.
pub(super) fn next_step(phase: Phase, accepted: bool) -> &'static str {
    match (phase, accepted) {
        (Phase::Create, false) => "Nothing was recorded, so the next apply sends the kill again.",
        (Phase::Create, true) => {
            "The kill is kept in state (success, message, killed_at and the state last seen) and the resource is \
             tainted, so the next apply replaces it: it kills again, which is harmless, and waits anew."
        }
        (Phase::Update, false) => {
            "Nothing was recorded and `when` stays `destroy` in state, so the next apply tries again."
        }
        (Phase::Update, true) => {
            "The kill is recorded in state (success, message, killed_at and the state last seen). Terraform \
             taints only new resources, so to kill and wait again run `terraform apply -replace=ADDRESS`."
        }
        (Phase::Destroy, false) => "The resource stays in state, so the next destroy tries again.",
        (Phase::Destroy, true) => {
            "The resource stays in state, so the next destroy kills again, which is harmless, and waits anew."
        }
        (Phase::Action, false) => "Nothing is recorded in state; invoke the action again to retry.",
        (Phase::Action, true) => {
            "Invoke the action again to wait again; a second kill of an ending app is harmless."
        }
    }
}

/// What the next run does about a bulk kill that failed in `phase`; `recorded`: the kills that
/// went through are kept in state (a create's).
pub(super) fn next_bulk_step(phase: Phase, recorded: bool) -> &'static str {
    match (phase, recorded) {
        (Phase::Create, true) => {
            "The apps whose kill went through are recorded in `killed` and the resource is tainted, so the next \
             apply replaces it: it selects again and kills what still matches."
        }
        (Phase::Create, false) => {
            "Nothing was recorded, so the next apply selects again and kills what still matches."
        }
        (Phase::Update, _) => {
            "Nothing was recorded and `when` stays `destroy` in state, so the next apply selects again and kills \
             what still matches."
        }
        (Phase::Destroy, _) => {
            "The resource stays in state, so the next destroy selects again and kills what still matches."
        }
        (Phase::Action, _) => {
            "Nothing is recorded in state; invoke the action again to kill what still matches."
        }
    }
}

/// What to check for an API error, when there is something to say. `attribute` is the argument
/// that named the app, when the configuration did: only then can its id be mistyped.
pub(super) fn api_hint(error: &ApiError, attribute: Option<&str>) -> &'static str {
    match error {
        ApiError::Gateway { status: 401, .. } | ApiError::Rejected { status: 401, .. } => {
            " Check access_key and secret_key, and that the machine's clock is right (signatures older than \
             5 minutes are refused)."
        }
        ApiError::Gateway { status: 403, .. } | ApiError::Rejected { status: 403, .. } => {
            " Check that the key's sub account may use DataForest and this app."
        }
        ApiError::Rejected { status: 404, .. } if attribute.is_some() => {
            " Check the app id; the app may belong to another account."
        }
        error if error.is_quota_exceeded() => {
            " The API Gateway quota of these keys is spent: calls fail until it renews or is raised (in the \
             NCP console, under API Gateway, the usage plan of the keys' product). Sending again only \
             spends more, so nothing was retried."
        }
        ApiError::Transport { .. } => " Check the endpoint and the network.",
        ApiError::Certificate { .. } => {
            " This machine does not trust the endpoint's certificate; add its CA to the system's trust store \
             (certificate checks cannot be turned off)."
        }
        ApiError::Redirect { .. } => {
            " Check that `endpoint` names DataForest's API gateway itself, not an address that forwards to it."
        }
        _ => "",
    }
}
