//! Limits around provider work: requests per user and hour (in memory or Redis), and calls in
//! flight per provider and capability, so a batch does not trip a provider's own limits.

use crate::ephemeral::Counters;
use crate::error::{AppError, AppResult};
use cinegen_domain::UserId;
use cinegen_providers::Capability;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Counts a request of `kind` by `user` against `per_hour`; the one over the limit is refused
/// with the seconds until the window opens again.
pub async fn check_rate(counters: &dyn Counters, user: UserId, kind: &str, per_hour: u32) -> AppResult<()> {
    let key = format!("rate:{kind}:{user}");
    let window = counters.increment(&key, Duration::from_secs(3600)).await.map_err(AppError::internal)?;
    if window.count > u64::from(per_hour) {
        return Err(AppError::RateLimited {
            retry_after_secs: window.resets_in_secs.max(1),
            message: format!(
                "at most {per_hour} {kind} requests an hour; try again in {} s",
                window.resets_in_secs.max(1)
            ),
        });
    }
    Ok(())
}

type SlotMap = HashMap<(String, Capability), Arc<Semaphore>>;

/// Semaphores per provider and capability.
#[derive(Clone)]
pub struct ProviderSlots {
    permits: usize,
    slots: Arc<Mutex<SlotMap>>,
}

impl ProviderSlots {
    pub fn new(permits: usize) -> Self {
        Self { permits: permits.max(1), slots: Arc::default() }
    }

    /// Waits for a free slot of `provider`'s `capability`; the slot is held until the permit drops.
    pub async fn acquire(&self, provider: &str, capability: Capability) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut slots = self.slots.lock().expect("slot map");
            slots
                .entry((provider.to_owned(), capability))
                .or_insert_with(|| Arc::new(Semaphore::new(self.permits)))
                .clone()
        };
        semaphore.acquire_owned().await.expect("semaphores are never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::MemoryCounters;

    #[tokio::test]
    async fn the_request_over_the_limit_is_refused_with_retry_after() {
        let counters = MemoryCounters::default();
        let user = UserId::new();
        for _ in 0..10 {
            check_rate(&counters, user, "video", 10).await.unwrap();
        }
        let refused = check_rate(&counters, user, "video", 10).await.unwrap_err();
        assert!(matches!(refused, AppError::RateLimited { retry_after_secs, .. } if retry_after_secs > 3500));
        check_rate(&counters, UserId::new(), "video", 10).await.expect("other users have their own count");
        check_rate(&counters, user, "image", 10).await.expect("and each kind its own");
    }

    #[tokio::test]
    async fn slots_cap_calls_in_flight() {
        let slots = ProviderSlots::new(2);
        let a = slots.acquire("kling", Capability::Video).await;
        let _b = slots.acquire("kling", Capability::Video).await;
        let third = tokio::time::timeout(Duration::from_millis(50), slots.acquire("kling", Capability::Video)).await;
        assert!(third.is_err(), "a third call waits");
        let _other = slots.acquire("kling", Capability::Image).await;
        drop(a);
        let _freed =
            tokio::time::timeout(Duration::from_millis(50), slots.acquire("kling", Capability::Video)).await.unwrap();
    }
}
