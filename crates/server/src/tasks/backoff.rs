//! When a failed attempt is tried again: exponential backoff with jitter, or the provider's
//! `Retry-After` when it gave one.

use std::time::Duration;

/// The first retry's wait, doubled for each later one.
pub const BASE: Duration = Duration::from_secs(2);
const CAP: Duration = Duration::from_secs(300);

/// The wait before attempt `attempt + 1`, after `attempt` (1-based) failed.
pub fn delay(attempt: i32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    delay_from(BASE, attempt, retry_after, jitter)
}

/// [`delay`] with another first wait (tests use milliseconds).
pub fn delay_from(base: Duration, attempt: i32, retry_after: Option<Duration>, jitter: f64) -> Duration {
    if let Some(wait) = retry_after {
        return wait.min(CAP);
    }
    let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(16);
    let backoff = base.saturating_mul(2u32.saturating_pow(exponent)).min(CAP);
    // Up to half again, so retries of many tasks that failed together spread out.
    backoff.mul_f64(1.0 + jitter.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_cap() {
        assert_eq!(delay(1, None, 0.0), Duration::from_secs(2));
        assert_eq!(delay(2, None, 0.0), Duration::from_secs(4));
        assert_eq!(delay(4, None, 0.0), Duration::from_secs(16));
        assert_eq!(delay(30, None, 0.0), CAP);
        assert_eq!(delay(1, None, 1.0), Duration::from_secs(3));
    }

    #[test]
    fn retry_after_wins() {
        assert_eq!(delay(3, Some(Duration::from_secs(7)), 0.9), Duration::from_secs(7));
        assert_eq!(delay(1, Some(Duration::from_secs(9999)), 0.0), CAP);
    }
}
