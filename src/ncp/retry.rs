//! The retry policy, stated once:
//!
//! - **What is retried**: no HTTP answer at all (connection refused or reset, a TLS failure, the
//!   per-attempt time-out), and HTTP 429, 500, 502, 503 and 504 whatever their body (either error
//!   shape, or an HTML page). A throttled call (429, but for a spent quota) is sent again once the
//!   client's request budget ([`super::budget`]) allows, without counting as a retry. Never a refused TLS certificate, never a redirect (which is not
//!   followed either), never another status, and never a 2xx answer, even one that says
//!   `"success": false` or cannot be read.
//! - **How long to wait**: 0.5 s before the first retry, doubling each time, capped at 8 s, each
//!   wait scaled by a random factor in [0.5, 1) so that parallel kills do not retry in lock-step. An
//!   answer with `Retry-After: N` (seconds) waits N seconds instead, at most 60.
//! - **How often**: at most `max_retries` retries ([`DEFAULT_MAX_RETRIES`] unless configured;
//!   0 sends each call once). Every attempt is signed afresh with a new timestamp.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use super::error::ApiError;

pub const DEFAULT_MAX_RETRIES: u32 = 4;
/// The most retries a configuration may ask for.
pub const MAX_RETRIES_LIMIT: u32 = 20;
const FIRST_WAIT: Duration = Duration::from_millis(500);
const LONGEST_WAIT: Duration = Duration::from_secs(8);
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);
const RETRYABLE_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: DEFAULT_MAX_RETRIES }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first), given the answer's `Retry-After`
    /// and a `jitter` factor in [0.5, 1).
    pub fn wait(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(asked) = retry_after {
            return asked;
        }
        let exponential = FIRST_WAIT.saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        exponential.min(LONGEST_WAIT).mul_f64(jitter.clamp(0.5, 1.0))
    }
}

pub fn is_retryable(error: &ApiError) -> bool {
    match error {
        ApiError::Transport { .. } => true,
        // A spent quota holds until it is raised: sending again only spends more.
        other if other.is_quota_exceeded() => false,
        other => other.status().is_some_and(|status| RETRYABLE_STATUSES.contains(&status)),
    }
}

/// A random factor in [0.5, 1), from the standard library's randomly keyed hasher.
pub fn jitter() -> f64 {
    let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
    0.5 + (random >> 11) as f64 / (1u64 << 54) as f64
}

/// `Retry-After` in seconds, at most 60 s (a retry's wait, and the whole budget's pause); the
/// HTTP-date form is not used by NCP and is ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(|seconds| Duration::from_secs(seconds).min(LONGEST_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_cap_with_jitter() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait(1, None, 1.0), Duration::from_millis(500));
        assert_eq!(policy.wait(2, None, 1.0), Duration::from_secs(1));
        assert_eq!(policy.wait(4, None, 1.0), Duration::from_secs(4));
        assert_eq!(policy.wait(5, None, 1.0), Duration::from_secs(8));
        assert_eq!(policy.wait(30, None, 1.0), Duration::from_secs(8));
        assert_eq!(policy.wait(2, None, 0.5), Duration::from_millis(500));
    }

    #[test]
    fn retry_after_wins_but_is_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.wait(1, Some(Duration::from_secs(3)), 0.5), Duration::from_secs(3));
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("3600"), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after(&u64::MAX.to_string()), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..1000 {
            let factor = jitter();
            assert!((0.5..1.0).contains(&factor), "{factor}");
        }
    }

    #[test]
    fn retryable_errors() {
        let transport = ApiError::Transport { reason: "reset".into(), timed_out: false, connected: true };
        assert!(is_retryable(&transport));
        assert!(!is_retryable(&ApiError::Local { reason: "bad header".into() }));
        assert!(!is_retryable(&ApiError::Redirect { status: 307, location: "https://elsewhere".into() }));
        for status in [429, 500, 502, 503, 504] {
            assert!(is_retryable(&ApiError::unexpected(status, "html", b"<html>")), "{status}");
            assert!(
                is_retryable(&ApiError::Rejected { status, message: "unexpected error".into() }),
                "{status}"
            );
        }
        for status in [200, 400, 401, 403, 404, 413, 501] {
            assert!(!is_retryable(&ApiError::Rejected { status, message: "no".into() }), "{status}");
        }
        let gateway = ApiError::Gateway {
            status: 401,
            code: "200".into(),
            message: "Authentication Failed".into(),
            details: None,
        };
        assert!(!is_retryable(&gateway));
        let quota = ApiError::Gateway {
            status: 429,
            code: "400".into(),
            message: "Quota Exceeded".into(),
            details: None,
        };
        assert!(!is_retryable(&quota));
        let throttled = ApiError::Gateway {
            status: 429,
            code: "420".into(),
            message: "Rate Limited".into(),
            details: None,
        };
        assert!(is_retryable(&throttled));
        assert!(!is_retryable(&ApiError::Certificate { reason: "UnknownIssuer".into() }));
    }
}
