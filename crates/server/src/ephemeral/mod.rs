//! Short-lived shared state: windowed counters (rate limits) and the token denylist.
//!
//! In memory on a single instance; in Redis when `REDIS_URL` is set, so every instance sees the
//! same counts and the same revoked tokens.

mod memory;
pub mod redis;

pub use memory::{MemoryCounters, MemoryDenylist};
pub use redis::{RedisCounters, RedisDenylist};

use std::time::Duration;

/// The state of one counter window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: u64,
    /// Seconds until the window closes and the count starts again from zero.
    pub resets_in_secs: u64,
}

/// Fixed-window counters keyed by strings such as `login:ip:203.0.113.9`.
#[async_trait::async_trait]
pub trait Counters: Send + Sync + 'static {
    /// The current window of `key`, without counting.
    async fn peek(&self, key: &str) -> anyhow::Result<Window>;
    /// Counts `by` events at once; the first count of a window opens it for `window`.
    async fn increment_by(&self, key: &str, by: u64, window: Duration) -> anyhow::Result<Window>;
    /// Gives back `by` counted events (never below zero), keeping the window: for work that was
    /// reserved up front and turned out not to count.
    async fn release_by(&self, key: &str, by: u64) -> anyhow::Result<()>;
    /// Counts one event.
    async fn increment(&self, key: &str, window: Duration) -> anyhow::Result<Window> {
        self.increment_by(key, 1, window).await
    }
    /// Gives back one event.
    async fn release(&self, key: &str) -> anyhow::Result<()> {
        self.release_by(key, 1).await
    }
    async fn reset(&self, key: &str) -> anyhow::Result<()>;
}

/// Ids (token ids, session families) refused until they would have expired anyway.
#[async_trait::async_trait]
pub trait Denylist: Send + Sync + 'static {
    async fn deny(&self, id: &str, ttl: Duration) -> anyhow::Result<()>;
    /// True when any of `ids` is denied.
    async fn any_denied(&self, ids: &[&str]) -> anyhow::Result<bool>;
}

#[cfg(test)]
pub(crate) mod contract {
    //! Scenarios every backend must pass.
    use super::*;

    pub async fn counters_count_within_a_window(counters: &dyn Counters, key: &str) {
        assert_eq!(counters.peek(key).await.unwrap().count, 0);
        let first = counters.increment(key, Duration::from_secs(60)).await.unwrap();
        assert_eq!(first.count, 1);
        assert!(first.resets_in_secs > 0 && first.resets_in_secs <= 60, "{first:?}");
        counters.increment(key, Duration::from_secs(60)).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 2);
        counters.release(key).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 1);
        counters.release(key).await.unwrap();
        counters.release(key).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 0, "never below zero");
        let many = counters.increment_by(key, 12, Duration::from_secs(60)).await.unwrap();
        assert_eq!(many.count, 12, "counts several at once");
        counters.release_by(key, 5).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 7);
        counters.release_by(key, 50).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 0, "gives back at most what was counted");
        counters.increment(key, Duration::from_secs(60)).await.unwrap();
        counters.reset(key).await.unwrap();
        assert_eq!(counters.peek(key).await.unwrap().count, 0);
    }

    pub async fn counters_forget_closed_windows(counters: &dyn Counters, key: &str) {
        counters.increment(key, Duration::from_millis(50)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(counters.peek(key).await.unwrap().count, 0);
    }

    pub async fn denied_ids_expire(denylist: &dyn Denylist, id: &str) {
        assert!(!denylist.any_denied(&[id, "other"]).await.unwrap());
        denylist.deny(id, Duration::from_millis(100)).await.unwrap();
        assert!(denylist.any_denied(&["other", id]).await.unwrap());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!denylist.any_denied(&[id]).await.unwrap());
    }
}
