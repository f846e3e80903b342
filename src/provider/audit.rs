//! The audit log (`audit_log`): every kill outcome of every entry point appended to a file as
//! one JSON object per line, so that a pipeline can tell afterwards exactly what a run killed,
//! even after a destroy removed the state. The file is opened (created with mode 0600) before
//! the first kill of a configuration; each line goes out in one `write` to a file opened for
//! appending, so the lines of concurrent provider processes never interleave. A line holds no
//! secret: ids, names, DataForest's messages and the provider's own words.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::json;

use crate::ncp::AppInfo;

use super::error::{FailedKill, KillFailure, Phase, ProviderError, ProviderWarning, Unstarted};
use super::kill::{Kill, KillError, KillReport, Outcome};

/// The audit log of one configuration: its path, and the file once opened.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<Option<File>>,
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
    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path, file: Mutex::new(None) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the log for appending, creating it (mode 0600) if need be, unless it is open already:
    /// a kill must not start without the record the user asked for.
    pub fn open(&self) -> Result<(), ProviderError> {
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if file.is_none() {
            let mut options = std::fs::OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let opened = options.open(&self.path).map_err(|error| ProviderError::AuditLogUnwritable {
                path: self.path.display().to_string(),
                reason: error.to_string(),
            })?;
            *file = Some(opened);
        }
        Ok(())
    }

    /// Appends `entry` as one line, in one `write` (a file opened for appending takes it whole). A
    /// line that cannot be written, or only in part, is a warning: the kill it records has
    /// happened all the same.
    pub fn append(&self, entry: &Entry) -> Option<ProviderWarning> {
        let time = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut line = json!({
            "time": time,
            "entry_point": entry.entry_point,
            "phase": phase_name(entry.phase),
            "account": entry.account,
            "listed_account_id": entry.listed_account_id,
            "listed_account_name": entry.listed_account_name,
            "app_id": entry.app_id,
            "app_name": entry.app_name,
            "outcome": entry.outcome.map(Outcome::name),
            "message": entry.message,
            "http_status": entry.http_status,
            "attempts": entry.attempts,
            "state": entry.state,
            "killed_at": entry.killed_at,
            "error": entry.error,
            "pid": std::process::id(),
        })
        .to_string();
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let written = match file.as_mut() {
            Some(file) => match file.write(line.as_bytes()) {
                Ok(written) if written == line.len() => Ok(()),
                Ok(written) => Err(format!("only {written} of the line's {} bytes were written", line.len())),
                Err(error) => Err(error.to_string()),
            },
            None => Err("the log was never opened".to_string()),
        };
        let reason = written.err()?;
        tracing::error!(path = %self.path.display(), %reason, "audit log line not written");
        Some(ProviderWarning::AuditIncomplete {
            path: self.path.display().to_string(),
            reason,
            lost: vec![entry.app_id.to_string()],
        })
    }
}

/// Appends a single kill's outcome (`result`) to `log`, when there is one: `entry_point` and
/// `kill` say whose kill of which app it was. A line that cannot be written becomes a warning of
/// the kill.
pub fn record_kill(
    log: Option<&AuditLog>,
    entry_point: &str,
    kill: &Kill,
    result: &mut Result<KillReport, KillError>,
) {
    let Some(log) = log else { return };
    let base = Entry { entry_point, phase: Some(kill.phase), app_id: &kill.app_id, ..Entry::default() };
    if let Some(warning) = record(log, base, result) {
        match result {
            Ok(report) => report.warnings.push(warning),
            Err(failed) => failed.warnings.push(warning),
        }
    }
}

/// Appends that the kill `base` describes never started, and why.
pub fn not_attempted(log: &AuditLog, base: Entry, why: Unstarted) -> Option<ProviderWarning> {
    log.append(&Entry {
        outcome: Some(Outcome::NotAttempted),
        attempts: Some(0),
        error: Some(format!("Not attempted, because {}.", why.reason())),
        ..base
    })
}

/// Appends what became of a kill (`result`) to `log`, with what `base` says of the kill (entry
/// point, phase, account, app, and its state as listed). A kill DataForest accepted whose wait
/// then failed is `killed`, with the wait's failure as its error.
pub fn record(
    log: &AuditLog,
    base: Entry,
    result: &Result<KillReport, KillError>,
) -> Option<ProviderWarning> {
    let app =
        base.app_name.map_or_else(|| base.app_id.to_string(), |name| format!("{} ({name})", base.app_id));
    let (report, error) = match result {
        Err(failed) if failed.never_sent() => return not_attempted(log, base, Unstarted::Stopped),
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
            return log.append(&Entry {
                outcome: Some(Outcome::Failed),
                message: api_message.as_deref(),
                http_status: called.and_then(|(error, _)| error.status()),
                attempts,
                error: why,
                ..base
            });
        }
    };
    log.append(&entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_outcome_is_one_whole_line_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = AuditLog::new(path.clone());
        log.open().unwrap();
        let entry = Entry {
            entry_point: "ncloud_dataforest_aiapps_kill",
            phase: Some(Phase::Destroy),
            account: Some("acc1"),
            listed_account_id: None,
            listed_account_name: Some("Analytics"),
            app_id: "A1",
            app_name: Some("etl \"nightly\"\nrun"),
            outcome: Some(Outcome::Killed),
            message: Some("kill requested"),
            http_status: Some(200),
            attempts: Some(2),
            state: Some("RUNNING"),
            killed_at: Some("2026-11-29T00:00:00Z"),
            error: None,
        };
        assert!(log.append(&entry).is_none());
        assert!(log.append(&Entry { app_id: "A2", outcome: Some(Outcome::NotAttempted), ..entry }).is_none());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> =
            text.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["outcome"], "killed");
        assert_eq!(lines[0]["phase"], "destroy");
        assert_eq!(lines[0]["app_name"], "etl \"nightly\"\nrun");
        assert_eq!(lines[0]["http_status"], 200);
        assert_eq!(
            (&lines[0]["listed_account_id"], &lines[0]["listed_account_name"]),
            (&json!(null), &json!("Analytics"))
        );
        assert_eq!(lines[1]["outcome"], "not_attempted");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_log_that_cannot_be_opened_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("missing-folder/audit.jsonl"));
        let refused = log.open();
        assert!(matches!(refused, Err(ProviderError::AuditLogUnwritable { .. })), "{refused:?}");
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
                    let log = AuditLog::new(path.clone());
                    log.open().unwrap();
                    for n in 0..100 {
                        let app_id = format!("W{writer}N{n}");
                        let entry = Entry { app_id: &app_id, app_name: Some(long_name), ..Entry::default() };
                        assert!(log.append(&entry).is_none());
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for line in lines {
            let parsed: serde_json::Value = serde_json::from_str(line).expect("a whole line");
            assert_eq!(parsed["app_name"].as_str().map(str::len), Some(8000));
        }
    }
}
