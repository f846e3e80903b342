//! The request budget every call of one client shares (getList, getDetail, kill, accounts, the
//! waits' polls): a token bucket whose rate follows the API Gateway's throttling, as the AWS
//! SDKs' adaptive retry mode does. Until the gateway first throttles, calls go out as fast as
//! they come (up to the configured ceiling, when there is one). A throttling answer lowers the
//! rate for every call to 70 % of the rate the calls went out at; answers to calls sent before
//! that decrease do not lower it again, but a throttled call sent after it does. Answered calls
//! raise the rate again along CUBIC's curve: quickly back towards the rate last throttled,
//! slowly near it, then faster past it, and never past twice the rate the calls go out at.
//! `Retry-After` pauses the whole budget. The rate never exceeds the ceiling, and under a
//! ceiling the calls are spaced evenly, with no burst.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The lowest rate throttling brings the budget to, in requests per second.
const LOWEST_RATE: f64 = 0.5;
/// What a throttling answer leaves of the rate (CUBIC's and the AWS SDKs' beta).
const DECREASE: f64 = 0.7;
/// How fast the rate climbs back after a decrease (CUBIC's and the AWS SDKs' C).
const CUBIC_SCALE: f64 = 0.4;
/// The window over which the rate the calls go out at is measured.
const WINDOW: Duration = Duration::from_secs(1);

/// A rate of requests per second, as configured: kept in thousandths, so that settings compare
/// exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRate(u64);

impl RequestRate {
    pub fn per_second(rate: f64) -> RequestRate {
        RequestRate((rate * 1000.0).round() as u64)
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// How many calls were throttled, and the rate the budget allows now (`None`: unlimited).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BudgetStats {
    pub throttled: u64,
    pub rate: Option<f64>,
}

/// A client's request budget.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The most requests per second, when configured.
    ceiling: Option<f64>,
    /// The rate allowed, once limited (by throttling, or by the ceiling).
    rate: Option<f64>,
    /// Tokens in the bucket, which holds a second's worth at the current rate, or one call's
    /// under a ceiling (so that no second sees more than one call past the ceiling).
    tokens: f64,
    refilled: Instant,
    /// Until when every call waits, as `Retry-After` asked.
    paused_until: Option<Instant>,
    /// The last decrease: when, and the rate it decreased from (CUBIC's W_max).
    decrease: Option<(Instant, f64)>,
    /// When the calls of the last [`WINDOW`] went out.
    sent: VecDeque<Instant>,
    throttled: u64,
}

impl Budget {
    /// A budget that never allows more than `ceiling` requests per second, when one is given
    /// (at least 0.1, the setting's floor).
    pub fn new(ceiling: Option<f64>) -> Budget {
        let ceiling = ceiling.map(|rate| rate.max(0.1));
        let state = State {
            ceiling,
            rate: ceiling,
            tokens: 1.0,
            refilled: Instant::now(),
            paused_until: None,
            decrease: None,
            sent: VecDeque::new(),
            throttled: 0,
        };
        Budget { state: Mutex::new(state) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change leaves the state whole, so a poisoned lock still holds a usable one.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a call may go out, counts it, and answers when it went.
    pub async fn acquire(&self) -> Instant {
        loop {
            let wait = {
                let mut state = self.state();
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        state.paused_until = None;
                        match state.take(now) {
                            None => return now,
                            Some(wait) => wait,
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The gateway throttled a call that went out at `sent`: unless an earlier answer already
    /// lowered the rate since then, the rate falls for every call; `retry_after`, when given (at
    /// most a minute, as [`super::retry::parse_retry_after`] reads it), pauses them all.
    pub fn throttled(&self, sent: Instant, retry_after: Option<Duration>) {
        let mut state = self.state();
        let now = Instant::now();
        state.throttled += 1;
        // The bucket keeps what it gathered, a call's worth at most.
        state.refill(now);
        state.tokens = state.tokens.min(1.0);
        if let Some(pause) = retry_after {
            let until = state.paused_until.map_or(now + pause, |earlier| earlier.max(now + pause));
            state.paused_until = Some(until);
            // The pause gathers nothing: once it is over, one call goes at once and the others
            // follow at the rate.
            state.tokens = 1.0;
            state.refilled = until;
        }
        if state.decrease.is_some_and(|(last, _)| sent < last) {
            // Sent at the rate before the last decrease: it says nothing of the rate now.
            return;
        }
        // From the rate the calls went out at, or the rate allowed when that is lower.
        let measured = state.measured(now);
        let from = state.rate.map_or(measured, |rate| rate.min(measured)).max(LOWEST_RATE);
        let rate = (from * DECREASE).max(LOWEST_RATE);
        state.rate = Some(state.ceiling.map_or(rate, |ceiling| rate.min(ceiling)));
        state.decrease = Some((now, from));
        tracing::debug!(rate, throttled = state.throttled, "request rate lowered after throttling");
    }

    /// A call was answered without throttling: the rate rises along CUBIC's curve since the last
    /// decrease, up to the ceiling, and never past twice the rate the calls go out at (as the AWS
    /// SDKs do), so that a quiet while or a long pause does not leave it far above what the
    /// gateway was ever asked.
    pub fn answered(&self) {
        let mut state = self.state();
        let (Some(rate), Some((last, from))) = (state.rate, state.decrease) else {
            return;
        };
        let now = Instant::now();
        let since = (now - last).as_secs_f64();
        let back = (from * (1.0 - DECREASE) / CUBIC_SCALE).cbrt();
        let used = 2.0 * state.measured(now);
        let raised = (CUBIC_SCALE * (since - back).powi(3) + from).min(used).max(rate);
        let raised = state.ceiling.map_or(raised, |ceiling| raised.min(ceiling));
        if raised.floor() > rate.floor() {
            tracing::debug!(rate = raised, "request rate raised");
        }
        state.rate = Some(raised);
    }

    pub fn stats(&self) -> BudgetStats {
        let state = self.state();
        BudgetStats { throttled: state.throttled, rate: state.rate }
    }
}

impl State {
    /// Takes a token for a call going out `now`, or answers how long until one is there.
    fn take(&mut self, now: Instant) -> Option<Duration> {
        self.refill(now);
        if let Some(rate) = self.rate {
            if self.tokens < 1.0 {
                return Some(Duration::from_secs_f64((1.0 - self.tokens) / rate));
            }
            self.tokens -= 1.0;
        }
        self.sent.push_back(now);
        self.forget_before(now);
        None
    }

    /// Adds the tokens the rate allowed since the last refill, up to a second's worth.
    fn refill(&mut self, now: Instant) {
        if let Some(rate) = self.rate {
            let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
            let capacity = if self.ceiling.is_none() { rate.max(1.0) } else { 1.0 };
            self.tokens = (self.tokens + elapsed * rate).min(capacity);
        }
        self.refilled = self.refilled.max(now);
    }

    fn forget_before(&mut self, now: Instant) {
        while self.sent.front().is_some_and(|sent| now - *sent > WINDOW) {
            self.sent.pop_front();
        }
    }

    /// The rate the calls went out at over the last [`WINDOW`], in requests per second.
    fn measured(&mut self, now: Instant) -> f64 {
        self.forget_before(now);
        self.sent.len() as f64 / WINDOW.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// How many of `calls` acquisitions finish within `within`, from now.
    async fn acquired_within(budget: &Arc<Budget>, calls: usize, within: Duration) -> usize {
        let start = Instant::now();
        let mut done = 0;
        for _ in 0..calls {
            budget.acquire().await;
            if Instant::now() - start <= within {
                done += 1;
            }
        }
        done
    }

    /// How long `calls` acquisitions take, one after the other, from now.
    async fn time_to_acquire(budget: &Budget, calls: usize) -> Duration {
        let start = Instant::now();
        for _ in 0..calls {
            budget.acquire().await;
        }
        Instant::now() - start
    }

    #[tokio::test(start_paused = true)]
    async fn unthrottled_calls_go_out_at_once() {
        let budget = Arc::new(Budget::new(None));
        assert_eq!(acquired_within(&budget, 1000, Duration::ZERO).await, 1000);
        assert_eq!(budget.stats(), BudgetStats { throttled: 0, rate: None });
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_lowers_the_rate_once_for_the_calls_sent_before_it() {
        let budget = Arc::new(Budget::new(None));
        let sent = budget.acquire().await;
        acquired_within(&budget, 99, Duration::ZERO).await;
        // Throttling answers to calls that all went out at 100 a second: one decrease.
        tokio::time::advance(Duration::from_millis(900)).await;
        for _ in 0..20 {
            budget.throttled(sent, None);
        }
        let stats = budget.stats();
        assert_eq!(stats.throttled, 20);
        assert_eq!(stats.rate, Some(70.0));
        // The next calls go out at 70 a second, with no burst gathered before the decrease.
        let took = time_to_acquire(&budget, 8).await;
        assert!(took >= Duration::from_millis(100) && took <= Duration::from_millis(120), "{took:?}");
        // At 70 a second, 2 s of calls: about 140, not the 1000 asked for.
        tokio::time::advance(Duration::from_secs(2)).await;
        let took = time_to_acquire(&budget, 141).await;
        assert!(took >= Duration::from_millis(1000) && took <= Duration::from_millis(1100), "{took:?}");
        // A call sent after the decrease and throttled too lowers it again, from the rate
        // allowed; one sent before it again does not.
        let later = budget.acquire().await;
        budget.throttled(later, None);
        assert_eq!(budget.stats().rate, Some(49.0));
        budget.throttled(sent, None);
        assert_eq!(budget.stats().rate, Some(49.0));
        // A full bucket is emptied by a throttling answer: what it gathered does not go out at
        // once into a gateway that refuses.
        tokio::time::advance(Duration::from_secs(2)).await;
        acquired_within(&budget, 20, Duration::ZERO).await;
        let full = budget.acquire().await;
        budget.throttled(full, None);
        assert_eq!(budget.stats().rate, Some(14.7));
        let took = time_to_acquire(&budget, 5).await;
        assert!(took >= Duration::from_millis(250), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn answers_raise_the_rate_back_quickly_then_past_the_rate_throttled() {
        let budget = Arc::new(Budget::new(None));
        let sent = budget.acquire().await;
        acquired_within(&budget, 99, Duration::ZERO).await;
        budget.throttled(sent, None);
        budget.answered();
        assert_eq!(budget.stats().rate, Some(70.0));
        // CUBIC's curve from 100: back at 100 after cbrt(100 x 0.3 / 0.4) = 4.2 s, most of the
        // way there after half of it; past 100 after that. Calls keep going out (60 in each
        // last second), so that twice their rate does not bound it.
        tokio::time::advance(Duration::from_millis(2100)).await;
        acquired_within(&budget, 60, Duration::ZERO).await;
        budget.answered();
        let halfway = budget.stats().rate.unwrap();
        assert!(halfway > 95.0 && halfway < 100.0, "{halfway}");
        tokio::time::advance(Duration::from_millis(2120)).await;
        acquired_within(&budget, 60, Duration::ZERO).await;
        budget.answered();
        let back = budget.stats().rate.unwrap();
        assert!(back > 99.9 && back < 100.1, "{back}");
        tokio::time::advance(Duration::from_secs(2)).await;
        acquired_within(&budget, 60, Duration::ZERO).await;
        budget.answered();
        let past = budget.stats().rate.unwrap();
        assert!(past > 103.0 && past < 103.4, "{past}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_never_rises_past_twice_what_the_calls_use() {
        let budget = Arc::new(Budget::new(None));
        let sent = budget.acquire().await;
        budget.throttled(sent, None);
        assert_eq!(budget.stats().rate, Some(0.7));
        // Ten quiet seconds: the curve alone would be at about 300 a second.
        tokio::time::advance(Duration::from_secs(10)).await;
        budget.answered();
        assert_eq!(budget.stats().rate, Some(0.7));
        // One call in the last second: up to 2 a second, no more.
        budget.acquire().await;
        budget.answered();
        assert_eq!(budget.stats().rate, Some(2.0));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_every_caller() {
        // Calls went out at 100 a second: after the throttling answer, the rate alone would let
        // the next call go within 15 ms; `Retry-After` holds every caller 5 s.
        let budget = Arc::new(Budget::new(None));
        let sent = budget.acquire().await;
        acquired_within(&budget, 99, Duration::ZERO).await;
        budget.throttled(sent, Some(Duration::from_secs(5)));
        let start = Instant::now();
        let callers: Vec<_> = (0..3)
            .map(|_| {
                let budget = Arc::clone(&budget);
                tokio::spawn(async move {
                    budget.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        for caller in callers {
            let went = caller.await.unwrap();
            let waited = went - start;
            assert!(waited >= Duration::from_secs(5) && waited < Duration::from_millis(5100), "{waited:?}");
        }
        // The pause gathered no burst: the next 70 calls take a second at 70 a second.
        let took = time_to_acquire(&budget, 70).await;
        assert!(took >= Duration::from_millis(950) && took <= Duration::from_millis(1050), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_pause_one_call_goes_at_once() {
        // Two calls throttled, the bucket empty: 0.5 a second, which alone would hold the next
        // call 2 s after the pause.
        let budget = Budget::new(None);
        let first = budget.acquire().await;
        budget.throttled(first, None);
        let sent = budget.acquire().await;
        budget.throttled(sent, Some(Duration::from_secs(3)));
        assert_eq!(budget.stats().rate, Some(0.5));
        let start = Instant::now();
        budget.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_holds_from_the_start_and_after_answers() {
        let budget = Arc::new(Budget::new(Some(10.0)));
        // No burst, from the start or after a quiet while: one call at once, then 10 a second.
        for _ in 0..2 {
            let took = time_to_acquire(&budget, 30).await;
            assert!(took >= Duration::from_millis(2850) && took <= Duration::from_millis(2950), "{took:?}");
            tokio::time::advance(Duration::from_secs(5)).await;
        }
        for _ in 0..1000 {
            budget.answered();
        }
        assert_eq!(budget.stats().rate, Some(10.0));
        // Throttled, it falls below the ceiling (from the one call of the last second), and
        // climbs back to it as calls are answered, not past it.
        let sent = budget.acquire().await;
        budget.throttled(sent, None);
        assert_eq!(budget.stats().rate, Some(0.7));
        for _ in 0..60 {
            budget.acquire().await;
            budget.answered();
        }
        assert_eq!(budget.stats().rate, Some(10.0));
        // A ceiling below the lowest rate throttling leaves holds too.
        let slow = Budget::new(Some(0.2));
        let sent = slow.acquire().await;
        slow.throttled(sent, None);
        assert_eq!(slow.stats().rate, Some(0.2));
    }
}
