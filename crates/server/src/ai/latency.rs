//! How long provider calls take, per provider and model: the median of the last calls this
//! process made, and until there are any, a default per provider and capability (the figures
//! and their sources are in `docs/providers.md`). Used to tell a client how long to wait.

use cinegen_providers::Capability;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Calls kept per provider and model.
const KEPT: usize = 50;

type Samples = HashMap<(String, String), VecDeque<f64>>;

#[derive(Clone, Default)]
pub struct Latencies(Arc<Mutex<Samples>>);

impl Latencies {
    pub fn record(&self, provider: &str, model: &str, took: Duration) {
        let mut samples = self.0.lock().expect("latency samples");
        let kept = samples.entry((provider.to_owned(), model.to_owned())).or_default();
        if kept.len() == KEPT {
            kept.pop_front();
        }
        kept.push_back(took.as_secs_f64());
    }

    /// Seconds one call of `model` on `provider` takes: the recent median, else the default.
    pub fn typical_secs(&self, provider: &str, model: Option<&str>, capability: Capability) -> f64 {
        let samples = self.0.lock().expect("latency samples");
        let recent = model.and_then(|m| samples.get(&(provider.to_owned(), m.to_owned()))).filter(|s| !s.is_empty());
        match recent {
            Some(kept) => {
                let mut sorted: Vec<f64> = kept.iter().copied().collect();
                sorted.sort_by(f64::total_cmp);
                sorted[sorted.len() / 2]
            }
            None => default_secs(provider, capability),
        }
    }
}

/// Typical seconds per call before any has been seen (see `docs/providers.md`).
fn default_secs(provider: &str, capability: Capability) -> f64 {
    match (provider, capability) {
        ("local", Capability::Text) => 1.0,
        ("local", Capability::Image) => 1.0,
        ("local", Capability::Video) => 4.0,
        ("local", Capability::Speech) => 0.5,
        (_, Capability::Speech) => 4.0,
        (_, Capability::Text) => 15.0,
        ("openai", Capability::Image) => 40.0,
        (_, Capability::Image) => 20.0,
        ("kling" | "minimax", Capability::Video) => 180.0,
        (_, Capability::Video) => 90.0,
    }
}

/// Seconds until a task is likely done: its own call, after `ahead` calls of the same kind
/// queued before it, run `parallel` at a time.
pub fn estimate(typical_secs: f64, ahead: i64, parallel: usize) -> u64 {
    let rounds = (ahead.max(0) as f64 / parallel.max(1) as f64).floor() + 1.0;
    (typical_secs * rounds).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_recent_calls_replaces_the_default() {
        let latencies = Latencies::default();
        assert_eq!(latencies.typical_secs("openai", Some("gpt-image-1"), Capability::Image), 40.0);
        for secs in [10, 12, 50, 11, 13] {
            latencies.record("openai", "gpt-image-1", Duration::from_secs(secs));
        }
        assert_eq!(latencies.typical_secs("openai", Some("gpt-image-1"), Capability::Image), 12.0);
        assert_eq!(latencies.typical_secs("openai", Some("dall-e-3"), Capability::Image), 40.0, "per model");
    }

    #[test]
    fn the_queue_ahead_adds_rounds() {
        assert_eq!(estimate(20.0, 0, 8), 20);
        assert_eq!(estimate(20.0, 7, 8), 20, "fits beside the running ones");
        assert_eq!(estimate(20.0, 8, 8), 40);
        assert_eq!(estimate(1.5, 30, 0), 47);
    }
}
