//! One kill per app per run. Once DataForest accepted a kill of an app (or the app was found
//! already ended), later kills of it under the same configuration reuse that answer instead of
//! killing it again: the two halves of a replacement when `when` changes (in either order), two
//! instances of one app applied at once, a bulk kill and a single kill of one app. A kill holds
//! its app's lock only until DataForest answered; each kill then waits for the app on its own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;

use super::error::{KillFailure, ProviderError};
use super::kill::{Kill, KillReport};

/// The answer of the kill of each app accepted in this run, behind the app's lock.
#[derive(Default)]
pub struct KillMemory {
    killed: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<KillReport>>>>>,
}

impl KillMemory {
    /// The lock of `app_id`'s kills in this run, holding the answer of the one accepted.
    fn of(&self, app_id: &str) -> Arc<tokio::sync::Mutex<Option<KillReport>>> {
        // Entries are inserted whole, so a poisoned map is still consistent.
        let mut killed = self.killed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(killed.entry(app_id.to_string()).or_default())
    }

    /// Runs `send` (the kill of `kill`'s app, not yet started) unless a kill of the app was
    /// accepted earlier in this run; then its answer is reused, without its warnings, which were
    /// given with it. A kill of the app in flight is waited for, until `deadline` or `stop`. An
    /// app found gone is not remembered: a later create-time kill of it must fail.
    pub async fn send_once(
        &self,
        kill: &Kill,
        deadline: Instant,
        stop: &CancellationToken,
        progress: &(dyn Fn(String) + Sync),
        send: impl Future<Output = Result<KillReport, ProviderError>>,
    ) -> Result<KillReport, ProviderError> {
        let kills_of_app = self.of(&kill.app_id);
        let mut answered = tokio::select! {
            biased;
            () = stop.cancelled() => return Err(ProviderError::Stopped),
            locked = timeout_at(deadline, kills_of_app.lock()) => {
                locked.map_err(|_| kill.failed(KillFailure::TimedOut { limit: kill.limit }))?
            }
        };
        if let Some(earlier) = answered.as_ref() {
            progress(format!("AI app {} was killed earlier in this run; its answer is reused", kill.app_id));
            return Ok(KillReport { warnings: Vec::new(), reused: true, ..earlier.clone() });
        }
        let report = send.await?;
        if report.success || report.observed.is_some() {
            *answered = Some(report.clone());
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::ncp::AppInfo;
    use crate::ncp::Text;
    use crate::provider::error::Phase;

    fn kill(app_id: &str) -> Kill {
        Kill {
            app_id: app_id.into(),
            attribute: Some("app_id"),
            phase: Phase::Create,
            wait_for_termination: false,
            limit: Duration::from_secs(60),
        }
    }

    fn report(app_id: &str, success: bool, observed: Option<AppInfo>) -> KillReport {
        KillReport {
            id: app_id.into(),
            success,
            message: if success { "kill requested".into() } else { "no such element".into() },
            killed_at: "2026-11-29T00:00:00Z".into(),
            status: Some(200),
            attempts: 1,
            observed,
            reused: false,
            uncertain: false,
            warnings: Vec::new(),
        }
    }

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    /// A kill that counts itself in `sent`, takes `pause`, and answers `answer`.
    async fn counted(
        sent: &AtomicUsize,
        pause: Duration,
        answer: KillReport,
    ) -> Result<KillReport, ProviderError> {
        sent.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(pause).await;
        Ok(answer)
    }

    #[tokio::test(start_paused = true)]
    async fn an_accepted_kill_is_sent_once_and_its_answer_reused_without_warnings() {
        let memory = KillMemory::default();
        let sent = AtomicUsize::new(0);
        let stop = CancellationToken::new();
        let heard = Mutex::new(Vec::new());
        let progress = |step: String| heard.lock().unwrap().push(step);
        let mut first = report("A1", true, None);
        first.warnings.push(crate::provider::error::ProviderWarning::VanishedWhileWaiting {
            app_id: "A1".into(),
            attribute: None,
            record: crate::provider::error::Record::Nothing,
        });
        let answer = first.clone();
        let once = memory
            .send_once(&kill("A1"), deadline(), &stop, &progress, counted(&sent, Duration::ZERO, answer))
            .await
            .unwrap();
        assert_eq!(once, first);
        let again = memory
            .send_once(
                &kill("A1"),
                deadline(),
                &stop,
                &progress,
                counted(&sent, Duration::ZERO, first.clone()),
            )
            .await
            .unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 1, "the second kill of A1 must not be sent");
        assert_eq!(again, KillReport { warnings: Vec::new(), reused: true, ..first });
        assert!(heard.lock().unwrap().iter().any(|step| step.contains("its answer is reused")));
        // Another app is another kill.
        memory
            .send_once(
                &kill("B2"),
                deadline(),
                &stop,
                &progress,
                counted(&sent, Duration::ZERO, report("B2", true, None)),
            )
            .await
            .unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn two_kills_of_one_app_at_once_send_one() {
        let memory = KillMemory::default();
        let sent = AtomicUsize::new(0);
        let stop = CancellationToken::new();
        let progress = |_: String| {};
        let slow = || counted(&sent, Duration::from_secs(5), report("A1", true, None));
        let a1 = kill("A1");
        let (first, second) = tokio::join!(
            memory.send_once(&a1, deadline(), &stop, &progress, slow()),
            memory.send_once(&a1, deadline(), &stop, &progress, slow()),
        );
        assert!(first.unwrap().success && second.unwrap().success);
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_gone_app_is_not_remembered_but_an_ended_one_is() {
        let memory = KillMemory::default();
        let sent = AtomicUsize::new(0);
        let stop = CancellationToken::new();
        let progress = |_: String| {};
        let gone = || counted(&sent, Duration::ZERO, report("A1", false, None));
        memory.send_once(&kill("A1"), deadline(), &stop, &progress, gone()).await.unwrap();
        memory.send_once(&kill("A1"), deadline(), &stop, &progress, gone()).await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 2, "a refusal that found the app gone is no kill");
        let ended = AppInfo::default().with(Text::Id, "B2").with(Text::State, "KILLED");
        let already = || counted(&sent, Duration::ZERO, report("B2", false, Some(ended.clone())));
        memory.send_once(&kill("B2"), deadline(), &stop, &progress, already()).await.unwrap();
        memory.send_once(&kill("B2"), deadline(), &stop, &progress, already()).await.unwrap();
        assert_eq!(sent.load(Ordering::SeqCst), 3, "an app found already ended counts as killed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_kill_waiting_for_its_apps_lock_keeps_its_own_deadline_and_stop() {
        let memory = KillMemory::default();
        let sent = AtomicUsize::new(0);
        let stop = CancellationToken::new();
        let progress = |_: String| {};
        let first_deadline = Instant::now() + Duration::from_secs(600);
        let hour = counted(&sent, Duration::from_secs(300), report("A1", true, None));
        let a1 = kill("A1");
        let first = memory.send_once(&a1, first_deadline, &stop, &progress, hour);
        let second_deadline = Instant::now() + Duration::from_secs(2);
        let second = async {
            // Let the first kill take the lock.
            tokio::task::yield_now().await;
            let started = Instant::now();
            let never = counted(&sent, Duration::ZERO, report("A1", true, None));
            let result = memory.send_once(&a1, second_deadline, &stop, &progress, never).await;
            (result, started.elapsed())
        };
        let (first, (second, waited)) = tokio::join!(first, second);
        assert!(first.is_ok());
        assert!(
            matches!(second, Err(ProviderError::Kill { failure: KillFailure::TimedOut { .. }, .. })),
            "{second:?}"
        );
        assert!(waited <= Duration::from_secs(2), "waited {waited:?}");
        assert_eq!(sent.load(Ordering::SeqCst), 1);

        // Stop ends the wait for the lock, and sends nothing.
        let holder = counted(&sent, Duration::from_secs(300), report("C3", true, None));
        let c3 = kill("C3");
        let held = memory.send_once(&c3, first_deadline, &stop, &progress, holder);
        let stopped = async {
            tokio::task::yield_now().await;
            let waiting = memory.send_once(
                &c3,
                first_deadline,
                &stop,
                &progress,
                counted(&sent, Duration::ZERO, report("C3", true, None)),
            );
            tokio::pin!(waiting);
            tokio::select! {
                _ = &mut waiting => panic!("the kill took a lock another kill holds"),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            stop.cancel();
            waiting.await
        };
        let (_, stopped) = tokio::join!(held, stopped);
        assert!(matches!(stopped, Err(ProviderError::Stopped)), "{stopped:?}");
        assert_eq!(sent.load(Ordering::SeqCst), 2);
    }
}
