//! The audit log (`audit_log`): every kill of every entry point written to a file as JSON lines,
//! so that a pipeline can tell afterwards exactly what a run killed, even after a destroy removed
//! the state. The log is written ahead: before a kill is sent, a `sending` line records it, and a
//! kill whose line the log cannot take is never sent; the outcome follows as a line of its own,
//! which a reader pairs with its `sending` line by `run_id` and `app_id`. The first line the log
//! cannot take fails every later kill of the process ([`file`] keeps the file and its failure).
//! A line holds no secret: ids, names, DataForest's messages and the provider's own words.

pub mod file;

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::json;

use crate::ncp::AppInfo;
use crate::ncp::budget::Budget;

use super::error::{FailedKill, KillFailure, Phase, ProviderError, ProviderWarning, Unstarted};
use super::kill::{Kill, KillError, KillReport, Outcome};
use file::LogFile;

/// The audit log as one configuration writes it: the process's file, and the run id its lines
/// carry.
pub struct AuditLog {
    file: Arc<LogFile>,
    /// Tells this configuration's lines from those of other runs in the same file.
    run_id: String,
    /// The request budget of the configuration's calls, whose throttling each line reports.
    budget: Arc<Budget>,
}

/// One kill outcome, as a line of the log records it.
#[derive(Clone, Debug, Default)]
pub struct Entry<'a> {
    /// The type whose kill this was (resource or action).
    pub entry_point: &'a str,
    pub phase: Option<Phase>,
    /// The DataForest account asked for, when known.
    pub account: Option<&'a str>,
    /// The account the listing gave for the app (`accountId`, `accountName`), for a bulk kill;
    /// `None` where it gave none.
    pub listed_account_id: Option<&'a str>,
    pub listed_account_name: Option<&'a str>,
    pub app_id: &'a str,
    pub app_name: Option<&'a str>,
    pub outcome: Option<Outcome>,
    /// DataForest's message, when it answered.
    pub message: Option<&'a str>,
    pub http_status: Option<u16>,
    /// How many times the kill was sent; `None` when a time-out or Stop cut the call off before
    /// it ended (at least one attempt was under way).
    pub attempts: Option<u32>,
    /// The app's state as last seen.
    pub state: Option<&'a str>,
    /// When DataForest answered the kill (RFC 3339).
    pub killed_at: Option<&'a str>,
    /// Why a kill failed, in the provider's words.
    pub error: Option<String>,
    /// The kill's first attempt got no clear answer, and the app was then found ended: most
    /// likely by this kill.
    pub uncertain: bool,
}

/// A phase's name in the log.
fn phase_name(phase: Option<Phase>) -> Option<&'static str> {
    phase.map(|phase| match phase {
        Phase::Create => "create",
        Phase::Update => "update",
        Phase::Destroy => "destroy",
        Phase::Action => "invoke",
    })
}

impl<'a> Entry<'a> {
    /// The entry of the single kill `kill`, by `entry_point`.
    pub fn of_kill(entry_point: &'a str, kill: &'a Kill) -> Entry<'a> {
        Entry { entry_point, phase: Some(kill.phase), app_id: &kill.app_id, ..Entry::default() }
    }

    /// The entry of a bulk kill of `app`, listed for `account`, by `entry_point` in `phase`.
    pub fn listed(entry_point: &'a str, phase: Phase, account: &'a str, app: &'a AppInfo) -> Entry<'a> {
        let given = |text: &'a str| (!text.is_empty()).then_some(text);
        Entry {
            entry_point,
            phase: Some(phase),
            account: Some(account),
            listed_account_id: given(app.account_id()),
            listed_account_name: given(app.account_name()),
            app_id: app.id(),
            app_name: Some(app.name()),
            state: Some(app.state()),
            ..Entry::default()
        }
    }
}

impl AuditLog {
    /// The log of a configuration whose calls share `budget`, written to `file`.
    pub fn new(file: Arc<LogFile>, budget: Arc<Budget>) -> AuditLog {
        let since_epoch = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let run_id = format!("{:x}-{:x}", std::process::id(), since_epoch.as_nanos());
        AuditLog { file, run_id, budget }
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// Whether a kill may be sent with this log: it has lost no line, and it is open (opened now,
    /// created with mode 0600, if need be).
    pub async fn ready(&self) -> Result<(), ProviderError> {
        self.refused_if_failed()?;
        self.file.open().await.map_err(|reason| ProviderError::AuditLogUnwritable {
            path: self.path().display().to_string(),
            reason,
        })
    }

    /// The error of a kill not sent because the log lost a line, when it has.
    fn refused_if_failed(&self) -> Result<(), ProviderError> {
        match self.file.failure() {
            Some(reason) => Err(ProviderError::AuditLogFailed {
                path: self.path().display().to_string(),
                reason: reason.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Writes that the kill `entry` describes is about to be sent, and answers once the line is
    /// in the file whole: a kill whose line cannot be written must not be sent.
    pub async fn sending(&self, entry: &Entry<'_>) -> Result<(), ProviderError> {
        self.refused_if_failed()?;
        let line = self.line(entry, "sending");
        self.file.write(line).await.map_err(|reason| ProviderError::AuditLogFailed {
            path: self.path().display().to_string(),
            reason,
        })?;
        // A line that failed while this one was queued (one that outlived its bound, say)
        // fails this kill too: no kill goes out after the log's failure.
        self.refused_if_failed()
    }

    /// Appends `entry`, an outcome, as one line. A line that cannot be written is a warning: the
    /// kill it records has happened all the same.
    pub async fn append(&self, entry: &Entry<'_>) -> Option<ProviderWarning> {
        let line = self.line(entry, entry.outcome.map_or("unknown", Outcome::name));
        let reason = self.file.write(line).await.err()?;
        tracing::error!(path = %self.path().display(), %reason, "audit log line not written");
        Some(ProviderWarning::AuditIncomplete {
            path: self.path().display().to_string(),
            reason,
            lost: vec![entry.app_id.to_string()],
        })
    }

    /// `entry` as a line, `outcome` named.
    fn line(&self, entry: &Entry, outcome: &str) -> String {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let budget = self.budget.stats();
        let mut line = json!({
            "time": time,
            "run_id": self.run_id,
            "entry_point": entry.entry_point,
            "phase": phase_name(entry.phase),
            "account": entry.account,
            "listed_account_id": entry.listed_account_id,
            "listed_account_name": entry.listed_account_name,
            "app_id": entry.app_id,
            "app_name": entry.app_name,
            "outcome": outcome,
            "uncertain": entry.uncertain,
            "message": entry.message,
            "http_status": entry.http_status,
            "attempts": entry.attempts,
            "state": entry.state,
            "killed_at": entry.killed_at,
            "error": entry.error,
            "throttled_calls": budget.throttled,
            "request_rate": budget.rate.map(|rate| (rate * 10.0).round() / 10.0),
            "pid": std::process::id(),
        })
        .to_string();
        line.push('\n');
        line
    }
}

/// Appends a single kill's outcome (`result`) to `log`, when there is one: `entry_point` and
/// `kill` say whose kill of which app it was. A line that cannot be written becomes a warning of
/// the kill.
pub async fn record_kill(
    log: Option<&AuditLog>,
    entry_point: &str,
    kill: &Kill,
    result: &mut Result<KillReport, KillError>,
) {
    let Some(log) = log else { return };
    if let Some(warning) = record(log, Entry::of_kill(entry_point, kill), result).await {
        match result {
            Ok(report) => report.warnings.push(warning),
            Err(failed) => failed.warnings.push(warning),
        }
    }
}

/// Appends that the kill `base` describes never started, and why.
pub async fn not_attempted(log: &AuditLog, base: Entry<'_>, why: Unstarted) -> Option<ProviderWarning> {
    log.append(&Entry {
        outcome: Some(Outcome::NotAttempted),
        attempts: Some(0),
        error: Some(format!("Not attempted, because {}.", why.reason())),
        ..base
    })
    .await
}

/// Appends what became of a kill (`result`) to `log`, with what `base` says of the kill (entry
/// point, phase, account, app, and its state as listed). A kill DataForest accepted whose wait
/// then failed is `killed`, with the wait's failure as its error.
pub async fn record(
    log: &AuditLog,
    base: Entry<'_>,
    result: &Result<KillReport, KillError>,
) -> Option<ProviderWarning> {
    let app =
        base.app_name.map_or_else(|| base.app_id.to_string(), |name| format!("{} ({name})", base.app_id));
    if let Err(failed) = result
        && let Some(why) = failed.never_sent()
    {
        return not_attempted(log, base, why).await;
    }
    let (report, error) = match result {
        Ok(report) => (Some(report), None),
        Err(KillError { error, accepted, .. }) => (accepted.as_deref(), Some(error)),
    };
    let why = error.map(|error| FailedKill::sentence_of(&app, error));
    let entry = match report {
        Some(report) if report.reused => Entry {
            app_name: base.app_name.or(report.observed.as_ref().map(|app| app.name())),
            outcome: Some(Outcome::Reused),
            attempts: Some(0),
            message: Some(&report.message),
            killed_at: Some(&report.killed_at),
            error: why,
            ..base
        },
        Some(report) => Entry {
            app_name: base.app_name.or(report.observed.as_ref().map(|app| app.name())),
            outcome: Some(report.outcome()),
            message: Some(&report.message),
            http_status: report.status,
            attempts: Some(report.attempts),
            killed_at: Some(&report.killed_at),
            state: report.observed.as_ref().map(|app| app.state()).or(base.state),
            uncertain: report.uncertain,
            error: why,
            ..base
        },
        None => {
            let failure = match error {
                Some(ProviderError::Kill { failure, .. }) => Some(failure),
                _ => None,
            };
            let called = failure.and_then(KillFailure::api_error);
            let api_message = called.map(|(error, _)| error.to_string());
            // A call cut off by the time-out or Stop made an unknown number of attempts.
            let attempts = match failure {
                Some(KillFailure::TimedOut { .. } | KillFailure::Interrupted { .. }) => None,
                _ => Some(called.map_or(0, |(_, attempts)| attempts)),
            };
            return log
                .append(&Entry {
                    outcome: Some(Outcome::Failed),
                    message: api_message.as_deref(),
                    http_status: called.and_then(|(error, _)| error.status()),
                    attempts,
                    error: why,
                    ..base
                })
                .await;
        }
    };
    log.append(&entry).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_at(path: &Path) -> AuditLog {
        AuditLog::new(Arc::new(LogFile::new(path.to_path_buf())), Arc::new(Budget::new(None)))
    }

    /// The log's lines, each parsed: a line that is not whole fails the test.
    pub(super) fn lines_of(path: &Path) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines().map(|line| serde_json::from_str(line).expect("a whole line")).collect()
    }

    #[tokio::test]
    async fn each_kill_is_a_sending_line_then_its_outcome_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = log_at(&path);
        log.ready().await.unwrap();
        let entry = Entry {
            entry_point: "ncloud_dataforest_aiapps_kill",
            phase: Some(Phase::Destroy),
            account: Some("acc1"),
            listed_account_id: None,
            listed_account_name: Some("Analytics"),
            app_id: "A1",
            app_name: Some("etl \"nightly\"\nrun"),
            state: Some("RUNNING"),
            ..Entry::default()
        };
        log.sending(&entry).await.unwrap();
        let outcome = Entry {
            outcome: Some(Outcome::Killed),
            message: Some("kill requested"),
            http_status: Some(200),
            attempts: Some(2),
            killed_at: Some("2026-11-29T00:00:00Z"),
            ..entry.clone()
        };
        assert!(log.append(&outcome).await.is_none());
        assert!(
            log.append(&Entry { app_id: "A2", outcome: Some(Outcome::NotAttempted), ..entry })
                .await
                .is_none()
        );
        let lines = lines_of(&path);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["outcome"], "sending");
        assert_eq!(lines[1]["outcome"], "killed");
        assert_eq!(lines[0]["run_id"], lines[1]["run_id"], "a reader pairs them by run and app");
        assert_eq!(lines[0]["app_id"], lines[1]["app_id"]);
        assert_eq!(lines[1]["phase"], "destroy");
        assert_eq!(lines[1]["app_name"], "etl \"nightly\"\nrun");
        assert_eq!(lines[1]["http_status"], 200);
        assert_eq!(lines[1]["uncertain"], false);
        assert_eq!(
            (&lines[1]["listed_account_id"], &lines[1]["listed_account_name"]),
            (&json!(null), &json!("Analytics"))
        );
        assert_eq!(lines[2]["outcome"], "not_attempted");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn each_line_says_how_often_the_gateway_throttled_the_calls_and_the_rate_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let budget = Arc::new(Budget::new(None));
        let log = AuditLog::new(Arc::new(LogFile::new(path.clone())), Arc::clone(&budget));
        log.ready().await.unwrap();
        let entry = Entry { entry_point: "ncloud_dataforest_aiapps_kill", app_id: "A1", ..Entry::default() };
        log.sending(&entry).await.unwrap();
        let sent = budget.acquire().await;
        for _ in 0..3 {
            budget.throttled(sent, None);
        }
        assert!(log.append(&Entry { outcome: Some(Outcome::Killed), ..entry }).await.is_none());
        let lines = lines_of(&path);
        assert_eq!((&lines[0]["throttled_calls"], &lines[0]["request_rate"]), (&json!(0), &json!(null)));
        // One call went out in the last second, so the rate falls to 70 % of 1 a second.
        assert_eq!((&lines[1]["throttled_calls"], &lines[1]["request_rate"]), (&json!(3), &json!(0.7)));
    }

    #[tokio::test]
    async fn a_kill_most_likely_done_by_a_lost_attempt_is_killed_and_marked_uncertain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = log_at(&path);
        log.ready().await.unwrap();
        let ended =
            AppInfo::default().with(crate::ncp::Text::Id, "A1").with(crate::ncp::Text::State, "KILLED");
        let report = KillReport {
            id: "A1".into(),
            success: true,
            message: "invalid request parameters".into(),
            killed_at: "2026-12-04T00:00:00Z".into(),
            status: Some(400),
            attempts: 2,
            observed: Some(ended),
            reused: false,
            uncertain: true,
            warnings: Vec::new(),
        };
        assert_eq!(report.outcome(), Outcome::Killed);
        let base = Entry { entry_point: "ncloud_dataforest_aiapp_kill", app_id: "A1", ..Entry::default() };
        assert!(record(&log, base, &Ok(report)).await.is_none());
        let lines = lines_of(&path);
        assert_eq!((&lines[0]["outcome"], &lines[0]["uncertain"]), (&json!("killed"), &json!(true)));
    }

    #[tokio::test]
    async fn a_log_that_cannot_be_opened_is_an_error_and_refuses_every_later_kill() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_at(&dir.path().join("missing-folder/audit.jsonl"));
        let refused = log.ready().await;
        assert!(matches!(refused, Err(ProviderError::AuditLogUnwritable { .. })), "{refused:?}");
        let again = log.ready().await;
        assert!(matches!(again, Err(ProviderError::AuditLogFailed { .. })), "{again:?}");
        let entry = Entry { app_id: "A1", ..Entry::default() };
        assert!(matches!(log.sending(&entry).await, Err(ProviderError::AuditLogFailed { .. })));
    }

    #[tokio::test]
    async fn a_line_the_log_cannot_take_fails_it_for_every_later_kill() {
        let log = log_at(Path::new("/dev/full"));
        // /dev/full is refused at open: it is no regular file.
        assert!(log.ready().await.is_err());
        let entry = Entry { app_id: "A1", ..Entry::default() };
        let refused = log.sending(&entry).await.unwrap_err();
        assert!(refused.to_diagnostic().detail.contains("/dev/full"), "{refused:?}");
    }

    #[test]
    fn logs_opened_apart_and_written_at_once_keep_every_line_whole() {
        // Each writer opens the file on its own, as separate provider processes do.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let long_name = "n".repeat(8000);
        std::thread::scope(|scope| {
            for writer in 0..4 {
                let (path, long_name) = (&path, &long_name);
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    runtime.block_on(async {
                        let log = log_at(path);
                        log.ready().await.unwrap();
                        for n in 0..100 {
                            let app_id = format!("W{writer}N{n}");
                            let entry =
                                Entry { app_id: &app_id, app_name: Some(long_name), ..Entry::default() };
                            assert!(log.append(&entry).await.is_none());
                        }
                    });
                });
            }
        });
        let lines = lines_of(&path);
        assert_eq!(lines.len(), 400);
        for line in lines {
            assert_eq!(line["app_name"].as_str().map(str::len), Some(8000));
        }
    }
}
