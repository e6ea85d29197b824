//! In-process counters and denylist for a single instance.

use super::{Counters, Denylist, Window};
use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Entries are pruned when a map grows past this, so abandoned keys cannot grow memory forever.
const PRUNE_THRESHOLD: usize = 10_000;

#[derive(Default)]
pub struct MemoryCounters {
    windows: Mutex<HashMap<String, (u64, Instant)>>,
}

fn window_of(entry: Option<&(u64, Instant)>, now: Instant) -> Window {
    match entry {
        Some(&(count, ends)) if ends > now => {
            Window { count, resets_in_secs: (ends - now).as_secs_f64().ceil() as u64 }
        }
        _ => Window { count: 0, resets_in_secs: 0 },
    }
}

#[async_trait::async_trait]
impl Counters for MemoryCounters {
    async fn peek(&self, key: &str) -> anyhow::Result<Window> {
        let windows = self.windows.lock().expect("counter lock");
        Ok(window_of(windows.get(key), Instant::now()))
    }

    async fn increment_by(&self, key: &str, by: u64, window: Duration) -> anyhow::Result<Window> {
        let now = Instant::now();
        let mut windows = self.windows.lock().expect("counter lock");
        if windows.len() > PRUNE_THRESHOLD {
            windows.retain(|_, (_, ends)| *ends > now);
        }
        let entry = windows.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += by;
        Ok(window_of(Some(entry), now))
    }

    async fn release_by(&self, key: &str, by: u64) -> anyhow::Result<()> {
        if let Some(entry) = self.windows.lock().expect("counter lock").get_mut(key) {
            entry.0 = entry.0.saturating_sub(by);
        }
        Ok(())
    }

    async fn reset(&self, key: &str) -> anyhow::Result<()> {
        self.windows.lock().expect("counter lock").remove(key);
        Ok(())
    }
}

#[derive(Default)]
pub struct MemoryDenylist {
    until: RwLock<HashMap<String, Instant>>,
}

#[async_trait::async_trait]
impl Denylist for MemoryDenylist {
    async fn deny(&self, id: &str, ttl: Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut until = self.until.write().expect("denylist lock");
        if until.len() > PRUNE_THRESHOLD {
            until.retain(|_, end| *end > now);
        }
        until.insert(id.to_owned(), now + ttl);
        Ok(())
    }

    async fn any_denied(&self, ids: &[&str]) -> anyhow::Result<bool> {
        let until = self.until.read().expect("denylist lock");
        if until.is_empty() {
            return Ok(false);
        }
        let now = Instant::now();
        Ok(ids.iter().any(|id| until.get(*id).is_some_and(|end| *end > now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::contract;

    #[tokio::test]
    async fn counters() {
        let counters = MemoryCounters::default();
        contract::counters_count_within_a_window(&counters, "k").await;
        contract::counters_forget_closed_windows(&counters, "short").await;
    }

    #[tokio::test]
    async fn denylist() {
        contract::denied_ids_expire(&MemoryDenylist::default(), "jti-1").await;
    }
}
