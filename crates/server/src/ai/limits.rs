//! Calls in flight per provider and capability, so a batch does not trip a provider's own
//! limits (hourly budgets per user are `tasks::budget`).

use cinegen_providers::Capability;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    use std::time::Duration;

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
