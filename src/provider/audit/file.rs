//! The audit log's file, one per provider process: opened and written by a thread of its own, so
//! that a slow or blocking file system never holds up the async workers, and every call waits
//! for it at most [`WRITE_BOUND`]. Only a regular file is taken. A line goes out in one `write`
//! to a file opened for appending, under the file's lock (`flock`), which every provider process
//! takes: a file that ends in part of a line gets the next line on a line of its own, and a
//! write that leaves part of a line is taken back. The first line the file cannot take is its
//! failure, kept for the life of the process: the log then refuses every later kill (see
//! [`LogFile::failure`]).

use std::fs::{File, Metadata};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use tokio::sync::oneshot;

/// The longest a call waits for the file: an open or a write that takes longer has failed.
pub const WRITE_BOUND: Duration = Duration::from_secs(10);

/// What the writer thread is asked to do; each answers on its channel.
enum Job {
    Open(oneshot::Sender<Result<(), String>>),
    Write(String, oneshot::Sender<Result<(), String>>),
}

/// The audit log's file, shared by every configuration and call of the process.
pub struct LogFile {
    path: PathBuf,
    jobs: mpsc::Sender<Job>,
    /// Why the first line the file could not take was lost: from then on, no kill is sent.
    failed: OnceLock<String>,
    /// A job outlived its bound: the writer thread may never come back, and nothing more is
    /// asked of it.
    stuck: AtomicBool,
}

impl LogFile {
    /// The log at `path`, with its writer thread; nothing is opened yet.
    pub fn new(path: PathBuf) -> LogFile {
        let (jobs, queue) = mpsc::channel();
        let mut writer = Writer { path: path.clone(), file: None };
        // Ends when the log is dropped, with the last sender.
        std::thread::Builder::new()
            .name("audit-log".into())
            .spawn(move || {
                for job in queue {
                    match job {
                        Job::Open(reply) => drop(reply.send(writer.open())),
                        Job::Write(line, reply) => drop(reply.send(writer.write(&line))),
                    }
                }
            })
            .map_err(|error| tracing::error!(%error, "cannot start the audit log's writer"))
            .ok();
        LogFile { path, jobs, failed: OnceLock::new(), stuck: AtomicBool::new(false) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why the log lost a line, once it has: every later kill of the process is refused.
    pub fn failure(&self) -> Option<&str> {
        self.failed.get().map(String::as_str)
    }

    /// Opens the file for appending (creating it, mode 0600), unless it is open already.
    pub async fn open(&self) -> Result<(), String> {
        self.run(Job::Open).await
    }

    /// Appends `line`, which ends in a newline, whole.
    pub async fn write(&self, line: String) -> Result<(), String> {
        self.run(|reply| Job::Write(line, reply)).await
    }

    async fn run(&self, job: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Job) -> Result<(), String> {
        let result = self.ask(job).await;
        if let Err(reason) = &result {
            // The first failure is the one kept.
            let _ = self.failed.set(reason.clone());
        }
        result
    }

    async fn ask(&self, job: impl FnOnce(oneshot::Sender<Result<(), String>>) -> Job) -> Result<(), String> {
        if self.stuck.load(Ordering::Acquire) {
            return Err(format!("an earlier write did not return within {}", seconds(WRITE_BOUND)));
        }
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(job(reply));
        if sent.is_err() {
            return Err("the log's writer is not running".to_string());
        }
        match tokio::time::timeout(WRITE_BOUND, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the log's writer ended".to_string()),
            Err(_) => {
                self.stuck.store(true, Ordering::Release);
                Err(format!("the file system did not answer within {}", seconds(WRITE_BOUND)))
            }
        }
    }
}

fn seconds(duration: Duration) -> String {
    format!("{} s", duration.as_secs())
}

/// Why `path` cannot be the audit log, when it cannot: it is (after symlinks) something other
/// than a regular file. A path that does not exist yet is taken: it is created.
pub fn refusal(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    not_a_file(&metadata).map(|what| format!("{} is {what}, not a regular file", path.display()))
}

/// What `metadata` describes, when it is not a regular file.
fn not_a_file(metadata: &Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt as _;
    let kind = metadata.file_type();
    if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a file")
    }
}

/// The writer thread's side: the file once open.
struct Writer {
    path: PathBuf,
    file: Option<File>,
}

impl Writer {
    fn open(&mut self) -> Result<(), String> {
        if self.file.is_some() {
            return Ok(());
        }
        if let Some(refused) = refusal(&self.path) {
            return Err(refused);
        }
        let open = |read: bool| {
            let mut options = std::fs::OpenOptions::new();
            options.append(true).create(true).read(read);
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(&self.path)
        };
        // Read too, to see how the file ends; a file that may only be written is appended to.
        let file = open(true).or_else(|_| open(false)).map_err(|error| error.to_string())?;
        let metadata = file.metadata().map_err(|error| error.to_string())?;
        if let Some(what) = not_a_file(&metadata) {
            return Err(format!("{} is {what}, not a regular file", self.path.display()));
        }
        self.file = Some(file);
        Ok(())
    }

    /// Writes `line` in one `write`, holding the file's lock (`flock`, which every provider
    /// process writing to it takes): a file that ends in part of a line (another writer's, cut
    /// short) gets the line on a line of its own, and a write that took part of the line is
    /// taken back, since no other writer can have appended meanwhile.
    fn write(&mut self, line: &str) -> Result<(), String> {
        self.follow_rotation()?;
        let Some(file) = self.file.as_ref() else { return Err("the log was never opened".to_string()) };
        let _locked = Locked::of(file)?;
        let metadata = file.metadata().map_err(|error| error.to_string())?;
        // A file removed since it was opened takes lines that nobody will ever read.
        if std::os::unix::fs::MetadataExt::nlink(&metadata) == 0 {
            return Err(format!("{} was removed after it was opened", self.path.display()));
        }
        let before = metadata.len();
        let text = if ends_mid_line(file, before) { format!("\n{line}") } else { line.to_string() };
        let mut handle = file;
        match handle.write(text.as_bytes()) {
            Ok(written) if written == text.len() => Ok(()),
            Ok(written) => {
                let undone = file.set_len(before).is_ok();
                Err(format!(
                    "only {written} of the line's {} bytes were written{}",
                    text.len(),
                    if undone { ", and they were taken back" } else { "" }
                ))
            }
            Err(error) => Err(error.to_string()),
        }
    }
}

impl Writer {
    /// Opens the path again when it names another file than the one open (the log was rotated:
    /// renamed, and a new file put in its place, or none yet), so that lines go where readers
    /// look for them.
    fn follow_rotation(&mut self) -> Result<(), String> {
        use std::os::unix::fs::MetadataExt as _;
        let Some(file) = self.file.as_ref() else { return Ok(()) };
        let open = file.metadata().map_err(|error| error.to_string())?;
        let same = std::fs::metadata(&self.path)
            .is_ok_and(|named| named.dev() == open.dev() && named.ino() == open.ino());
        // A file removed (not renamed) is caught as it is written: no name leads to it.
        if same || open.nlink() == 0 {
            return Ok(());
        }
        tracing::info!(path = %self.path.display(), "the audit log was rotated: opening it again");
        self.file = None;
        self.open()
    }
}

/// The exclusive lock on the log, held while a line is written, and let go when dropped.
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn of(file: &'a File) -> Result<Locked<'a>, String> {
        use std::os::fd::AsRawFd as _;
        // SAFETY: flock(2) on a descriptor this `File` owns for as long as the lock is held.
        match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } {
            0 => Ok(Locked(file)),
            _ => Err(format!("cannot lock the log: {}", std::io::Error::last_os_error())),
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd as _;
        // SAFETY: as above; unlocking a lock this process holds.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Whether a file of `length` bytes ends in part of a line; a file that cannot be read is taken
/// to end whole.
fn ends_mid_line(file: &File, length: u64) -> bool {
    use std::os::unix::fs::FileExt as _;
    let mut last = [0u8];
    length > 0 && file.read_at(&mut last, length - 1).is_ok_and(|read| read == 1 && last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::super::tests::lines_of;
    use super::*;

    #[tokio::test]
    async fn a_log_ending_in_part_of_a_line_gets_its_next_line_on_a_line_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"n\":1}\n{\"n\":2,\"cut").unwrap();
        let log = LogFile::new(path.clone());
        log.open().await.unwrap();
        log.write("{\"n\":3}\n".into()).await.unwrap();
        log.write("{\"n\":4}\n".into()).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2,\"cut\n{\"n\":3}\n{\"n\":4}\n");
        // A part of a line another writer leaves after the log was opened: the same.
        let mut other = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
        other.write_all(b"{\"other\":\"cut").unwrap();
        log.write("{\"n\":5}\n".into()).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("{\"n\":4}\n{\"other\":\"cut\n{\"n\":5}\n"), "{text}");
    }

    #[tokio::test]
    async fn a_rotated_log_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let log = LogFile::new(path.clone());
        log.open().await.unwrap();
        log.write("{\"n\":1}\n".into()).await.unwrap();
        // Renamed, as logrotate does, with or without a new file in its place.
        std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
        log.write("{\"n\":2}\n".into()).await.unwrap();
        std::fs::rename(&path, dir.path().join("audit.jsonl.2")).unwrap();
        std::fs::write(&path, "").unwrap();
        log.write("{\"n\":3}\n".into()).await.unwrap();
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert_eq!(
            (read("audit.jsonl.1"), read("audit.jsonl.2"), read("audit.jsonl")),
            ("{\"n\":1}\n".to_string(), "{\"n\":2}\n".to_string(), "{\"n\":3}\n".to_string())
        );
    }

    #[tokio::test]
    async fn only_a_regular_file_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(refusal(&dir.path().join("new.jsonl")), None, "a path to create");
        assert!(refusal(dir.path()).unwrap().contains("is a directory"));
        assert!(refusal(Path::new("/dev/null")).unwrap().contains("is a character device"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        assert!(refusal(&link).unwrap().contains("is a character device"), "after symlinks");
        let log = LogFile::new(dir.path().to_path_buf());
        assert!(log.open().await.unwrap_err().contains("is a directory"));
        assert!(log.failure().is_some(), "the failure is kept");
    }

    #[tokio::test]
    async fn the_first_failure_is_kept_for_every_later_call() {
        let log = LogFile::new("/dev/full".into());
        let refused = log.open().await.unwrap_err();
        assert_eq!(log.failure(), Some(refused.as_str()));
        let dir = tempfile::tempdir().unwrap();
        let log = LogFile::new(dir.path().join("audit.jsonl"));
        log.open().await.unwrap();
        log.write("{}\n".into()).await.unwrap();
        assert_eq!(log.failure(), None);
        assert_eq!(lines_of(&dir.path().join("audit.jsonl")).len(), 1);
    }
}
