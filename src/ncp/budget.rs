//! The request budget every call of one client shares (getList, getDetail, kill, accounts, the
//! waits' polls): a token bucket whose rate follows the API Gateway's throttling, as the AWS
//! SDKs' adaptive retry mode does. Until the gateway first throttles, calls go out as fast as
//! they come (up to the configured ceiling, when there is one). A throttling answer lowers the
//! rate for every call, at most once a second, to 70 % of the rate allowed (the first time, of
//! the rate the calls were going out at);
//! each answered call raises it again by a little (about one request per second, every second);
//! `Retry-After` pauses the whole budget. The rate never exceeds the ceiling.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The lowest rate throttling brings the budget to, in requests per second.
const LOWEST_RATE: f64 = 0.5;
/// What a throttling answer leaves of the rate.
const DECREASE: f64 = 0.7;
/// How long after one decrease another throttling answer is taken for the same burst.
const DECREASE_SPACING: Duration = Duration::from_secs(1);
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
    /// The most requests per second, when configured.
    ceiling: Option<f64>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// The rate allowed, once limited (by throttling, or by the ceiling).
    rate: Option<f64>,
    /// Tokens in the bucket, which holds a second's worth at the current rate.
    tokens: f64,
    refilled: Instant,
    /// Until when every call waits, as `Retry-After` asked.
    paused_until: Option<Instant>,
    last_decrease: Option<Instant>,
    /// When the calls of the last [`WINDOW`] went out.
    sent: VecDeque<Instant>,
    throttled: u64,
}

impl Budget {
    /// A budget that never allows more than `ceiling` requests per second, when one is given.
    pub fn new(ceiling: Option<f64>) -> Budget {
        let state = State {
            rate: ceiling,
            tokens: ceiling.map_or(0.0, |rate| rate.max(1.0)),
            refilled: Instant::now(),
            paused_until: None,
            last_decrease: None,
            sent: VecDeque::new(),
            throttled: 0,
        };
        Budget { ceiling, state: Mutex::new(state) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change leaves the state whole, so a poisoned lock still holds a usable one.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until a call may go out, and counts it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state();
                let now = Instant::now();
                match state.paused_until {
                    Some(until) if until > now => until - now,
                    _ => {
                        state.paused_until = None;
                        match state.take(now) {
                            None => return,
                            Some(wait) => wait,
                        }
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The gateway throttled a call: the rate falls for every call (once per burst of such
    /// answers), and `retry_after`, when given, pauses them all.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut state = self.state();
        let now = Instant::now();
        state.throttled += 1;
        if let Some(pause) = retry_after {
            let until = now + pause;
            state.paused_until = Some(state.paused_until.map_or(until, |earlier| earlier.max(until)));
        }
        if state.last_decrease.is_some_and(|last| now - last < DECREASE_SPACING) {
            return;
        }
        state.last_decrease = Some(now);
        // From the rate allowed, or, the first time, from the rate the calls went out at.
        let from = match state.rate {
            Some(rate) => rate,
            None => state.measured(now),
        };
        let rate = (from * DECREASE).max(LOWEST_RATE);
        state.rate = Some(self.ceiling.map_or(rate, |ceiling| rate.min(ceiling)));
        state.tokens = state.tokens.min(1.0);
        tracing::debug!(rate, throttled = state.throttled, "request rate lowered after throttling");
    }

    /// A call was answered without throttling: the rate rises a little, up to the ceiling.
    pub fn answered(&self) {
        let mut state = self.state();
        if let Some(rate) = state.rate {
            let raised = rate + 1.0 / rate.max(1.0);
            let raised = self.ceiling.map_or(raised, |ceiling| raised.min(ceiling));
            if raised.floor() > rate.floor() {
                tracing::debug!(rate = raised, "request rate raised");
            }
            state.rate = Some(raised);
        }
    }

    pub fn stats(&self) -> BudgetStats {
        let state = self.state();
        BudgetStats { throttled: state.throttled, rate: state.rate }
    }
}

impl State {
    /// Takes a token for a call going out `now`, or answers how long until one is there.
    fn take(&mut self, now: Instant) -> Option<Duration> {
        if let Some(rate) = self.rate {
            let elapsed = (now - self.refilled).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
            self.refilled = now;
            if self.tokens < 1.0 {
                return Some(Duration::from_secs_f64((1.0 - self.tokens) / rate));
            }
            self.tokens -= 1.0;
        }
        self.sent.push_back(now);
        self.forget_before(now);
        None
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

    #[tokio::test(start_paused = true)]
    async fn unthrottled_calls_go_out_at_once() {
        let budget = Arc::new(Budget::new(None));
        assert_eq!(acquired_within(&budget, 1000, Duration::ZERO).await, 1000);
        assert_eq!(budget.stats(), BudgetStats { throttled: 0, rate: None });
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_lowers_the_rate_once_per_burst_and_answers_raise_it() {
        let budget = Arc::new(Budget::new(None));
        acquired_within(&budget, 100, Duration::ZERO).await;
        // A burst of throttling answers to calls that went out at 100 a second: one decrease.
        for _ in 0..20 {
            budget.throttled(None);
        }
        let stats = budget.stats();
        assert_eq!(stats.throttled, 20);
        assert_eq!(stats.rate, Some(70.0));
        // At 70 a second, 2 s of calls: about 140, not the 1000 asked for.
        tokio::time::advance(Duration::from_secs(2)).await;
        let start = Instant::now();
        for _ in 0..141 {
            budget.acquire().await;
        }
        let took = Instant::now() - start;
        assert!(took >= Duration::from_millis(1000) && took <= Duration::from_millis(1100), "{took:?}");
        // A later burst lowers it again; answers raise it, a little each.
        tokio::time::advance(DECREASE_SPACING).await;
        budget.throttled(None);
        let lowered = budget.stats().rate.unwrap();
        assert!(lowered < 70.0, "{lowered}");
        for _ in 0..100 {
            budget.answered();
        }
        let raised = budget.stats().rate.unwrap();
        assert!(raised > lowered && raised < lowered + 3.0, "{lowered} -> {raised}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_every_caller() {
        // Calls went out at 100 a second: after the throttling answer, the rate alone would let
        // the next call go within 15 ms; `Retry-After` holds every caller 5 s.
        let budget = Arc::new(Budget::new(None));
        acquired_within(&budget, 100, Duration::ZERO).await;
        budget.throttled(Some(Duration::from_secs(5)));
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
    }

    #[tokio::test(start_paused = true)]
    async fn the_ceiling_holds_from_the_start_and_after_answers() {
        let budget = Arc::new(Budget::new(Some(10.0)));
        // A second's burst, then 10 a second.
        let start = Instant::now();
        for _ in 0..30 {
            budget.acquire().await;
        }
        let took = Instant::now() - start;
        assert!(took >= Duration::from_millis(1900) && took <= Duration::from_millis(2100), "{took:?}");
        for _ in 0..1000 {
            budget.answered();
        }
        assert_eq!(budget.stats().rate, Some(10.0));
    }
}
