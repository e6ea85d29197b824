//! Calls in flight per provider and capability, so a batch does not trip a provider's own
//! limits, and within that per model where the operator caps one (`model_concurrency`: vendors
//! such as Ark and Kling limit a model's concurrent jobs below the account's); and the pauses a
//! provider asks for (a 429's `Retry-After`, a spent `x-ratelimit-*` quota), which every caller
//! of the provider then waits out (hourly budgets per user are `tasks::budget`). A pause holds the
//! whole provider, not the model: Kling and MiniMax limit the account, and holding back a little
//! too much never trips a vendor.
//!
//! On one instance the slots are semaphores. With Redis configured they are shared by every
//! instance: a slot is a member of a sorted set scored by its lease's end (renewed while held,
//! so a crashed instance's slots free themselves), a pause is a key that expires with it, and the
//! time is Redis's own, so instances with skewed clocks agree.

use cinegen_providers::Capability;
use cinegen_providers::net::RateHints;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Semaphores by slot key, each made with its permits when first asked for.
type SlotMap = HashMap<String, Arc<Semaphore>>;

/// How long a shared slot is held without renewal; a third of it between renewals.
const LEASE: Duration = Duration::from_secs(30);
/// How often a caller waiting for a full shared slot asks again.
const POLL: Duration = Duration::from_millis(100);
/// The longest pause honoured: a vendor asking for more is asked again then.
const MAX_PAUSE: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct ProviderSlots {
    permits: usize,
    /// Calls in flight per model, by `provider/model` in lower case, where the operator caps it.
    model_caps: Arc<HashMap<String, usize>>,
    /// How long a shared slot lasts without renewal (a crashed instance's, at most this).
    lease: Duration,
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Local { slots: Arc<Mutex<SlotMap>>, pauses: Arc<Mutex<HashMap<String, Instant>>> },
    Redis { conn: ConnectionManager, scripts: Arc<Scripts> },
}

struct Scripts {
    acquire: redis::Script,
    renew: redis::Script,
    pause: redis::Script,
}

/// A slot of a provider's capability (and of its model, where capped), given back when dropped.
pub struct Slot {
    _held: Vec<Held>,
}

enum Held {
    Local(#[allow(dead_code)] OwnedSemaphorePermit),
    Redis { conn: ConnectionManager, key: String, id: String, renewal: tokio::task::JoinHandle<()> },
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Held::Redis { conn, key, id, renewal } = self {
            renewal.abort();
            let (mut conn, key, id) = (conn.clone(), std::mem::take(key), std::mem::take(id));
            // Given back at once where a runtime runs; else the lease ends it.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let _: Result<i64, _> = redis::cmd("ZREM").arg(&key).arg(&id).query_async(&mut conn).await;
                });
            }
        }
    }
}

fn slots_key(provider: &str, capability: Capability) -> String {
    format!("cinegen:provider-slots:{provider}:{}", capability.as_str())
}

fn model_slots_key(provider: &str, model: &str) -> String {
    format!("cinegen:model-slots:{provider}:{model}")
}

fn pause_key(provider: &str) -> String {
    format!("cinegen:provider-pause:{provider}")
}

impl ProviderSlots {
    /// Slots of this process alone.
    pub fn local(permits: usize) -> Self {
        let backend = Backend::Local { slots: Arc::default(), pauses: Arc::default() };
        Self { permits: permits.max(1), model_caps: Arc::default(), lease: LEASE, backend }
    }

    /// Slots and pauses shared by every instance through Redis.
    pub fn redis(permits: usize, conn: ConnectionManager) -> Self {
        // Redis's clock, in milliseconds.
        const NOW: &str = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)";
        let acquire = redis::Script::new(&format!(
            "{NOW}
             local paused = redis.call('PTTL', KEYS[2])
             if paused > 0 then return paused end
             redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
             if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
               redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
               redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
               return 0
             end
             return -1"
        ));
        let renew = redis::Script::new(&format!(
            "{NOW}
             redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
             redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
             return 0"
        ));
        // A pause only grows: a shorter hint never shortens one in force.
        let pause = redis::Script::new(
            "if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
               redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
             end
             return 0",
        );
        let scripts = Arc::new(Scripts { acquire, renew, pause });
        Self {
            permits: permits.max(1),
            model_caps: Arc::default(),
            lease: LEASE,
            backend: Backend::Redis { conn, scripts },
        }
    }

    /// The same slots with shared leases of `lease` (renewed every third of it).
    pub fn with_lease(self, lease: Duration) -> Self {
        Self { lease, ..self }
    }

    /// The same slots, with calls in flight per model capped: `provider/model` → at most so many.
    pub fn with_model_caps(self, caps: &std::collections::BTreeMap<String, usize>) -> Self {
        let caps = caps.iter().map(|(key, cap)| (key.to_lowercase(), (*cap).max(1))).collect();
        Self { model_caps: Arc::new(caps), ..self }
    }

    /// Waits until `provider` is not paused, a slot of its `model` is free where the operator
    /// caps the model, and a slot of its `capability` is free; the slots are held until the
    /// answer drops. The model's slot is taken first, so a call waiting for its model holds no
    /// slot other models could use. Should Redis fail, the call goes ahead (the vendor's own
    /// limits still answer), and says so in the log.
    pub async fn acquire(&self, provider: &str, capability: Capability, model: Option<&str>) -> Slot {
        let mut held = Vec::with_capacity(2);
        let capped = model.and_then(|model| {
            let cap = self.model_caps.get(&format!("{provider}/{model}").to_lowercase())?;
            Some((model_slots_key(provider, &model.to_lowercase()), *cap))
        });
        if let Some((key, cap)) = capped {
            held.push(self.take(provider, key, cap).await);
        }
        held.push(self.take(provider, slots_key(provider, capability), self.permits).await);
        Slot { _held: held }
    }

    /// Waits until `provider` is not paused and one of the `permits` slots under `key` is free.
    async fn take(&self, provider: &str, key: String, permits: usize) -> Held {
        match &self.backend {
            Backend::Local { slots, pauses } => {
                loop {
                    let until = pauses.lock().expect("pause map").get(provider).copied();
                    match until.map(|until| until.saturating_duration_since(Instant::now())) {
                        Some(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                        _ => break,
                    }
                }
                let semaphore = {
                    let mut slots = slots.lock().expect("slot map");
                    slots.entry(key).or_insert_with(|| Arc::new(Semaphore::new(permits))).clone()
                };
                let permit = semaphore.acquire_owned().await.expect("semaphores are never closed");
                Held::Local(permit)
            }
            Backend::Redis { conn, scripts } => {
                let id = uuid::Uuid::new_v4().to_string();
                loop {
                    let answer: Result<i64, _> = scripts
                        .acquire
                        .key(&key)
                        .key(pause_key(provider))
                        .arg(self.lease.as_millis() as u64)
                        .arg(permits)
                        .arg(&id)
                        .invoke_async(&mut conn.clone())
                        .await;
                    match answer {
                        Ok(0) => break,
                        Ok(paused) if paused > 0 => {
                            let wait = Duration::from_millis(paused as u64).min(MAX_PAUSE);
                            tracing::debug!(provider, ?wait, "the provider asked every caller to hold back");
                            tokio::time::sleep(wait).await;
                        }
                        Ok(_) => tokio::time::sleep(POLL).await,
                        Err(error) => {
                            tracing::warn!(provider, %error, "the shared provider slots could not be reached; calling anyway");
                            break;
                        }
                    }
                }
                let renewal = {
                    let (mut conn, renew, key, id) = (conn.clone(), scripts.clone(), key.clone(), id.clone());
                    let lease = self.lease;
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(lease / 3).await;
                            let renewed: Result<i64, _> = renew
                                .renew
                                .key(&key)
                                .arg(lease.as_millis() as u64)
                                .arg(&id)
                                .invoke_async(&mut conn)
                                .await;
                            if let Err(error) = renewed {
                                tracing::warn!(%error, "a shared provider slot could not be renewed");
                            }
                        }
                    })
                };
                Held::Redis { conn: conn.clone(), key, id, renewal }
            }
        }
    }
}

impl RateHints for ProviderSlots {
    fn pause(&self, provider: &str, pause: Duration) {
        let pause = pause.min(MAX_PAUSE);
        if pause.is_zero() {
            return;
        }
        tracing::info!(provider, ?pause, "the provider asked to hold back; every caller waits");
        match &self.backend {
            Backend::Local { pauses, .. } => {
                let until = Instant::now() + pause;
                let mut pauses = pauses.lock().expect("pause map");
                let entry = pauses.entry(provider.to_owned()).or_insert(until);
                *entry = (*entry).max(until);
            }
            Backend::Redis { conn, scripts } => {
                let (mut conn, scripts, key) = (conn.clone(), scripts.clone(), pause_key(provider));
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        let set: Result<i64, _> =
                            scripts.pause.key(&key).arg(pause.as_millis() as u64).invoke_async(&mut conn).await;
                        if let Err(error) = set {
                            tracing::warn!(%error, "a provider's pause could not be shared");
                        }
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_cap_calls_in_flight() {
        let slots = ProviderSlots::local(2);
        let a = slots.acquire("kling", Capability::Video, None).await;
        let _b = slots.acquire("kling", Capability::Video, None).await;
        let third =
            tokio::time::timeout(Duration::from_millis(50), slots.acquire("kling", Capability::Video, None)).await;
        assert!(third.is_err(), "a third call waits");
        let _other = slots.acquire("kling", Capability::Image, None).await;
        drop(a);
        let _freed = tokio::time::timeout(Duration::from_millis(50), slots.acquire("kling", Capability::Video, None))
            .await
            .unwrap();
    }

    fn redis_url() -> String {
        std::env::var("CINEGEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
    }

    /// Two instances, each with its own connection, over one Redis.
    async fn two_redis_instances(permits: usize) -> (ProviderSlots, ProviderSlots) {
        let connect = || async { crate::ephemeral::redis::connect(&redis_url()).await.expect("Redis is needed here") };
        let lease = Duration::from_millis(600);
        (
            ProviderSlots::redis(permits, connect().await).with_lease(lease),
            ProviderSlots::redis(permits, connect().await).with_lease(lease),
        )
    }

    #[tokio::test]
    async fn redis_slots_and_pauses_are_shared_between_instances() {
        let (a, b) = two_redis_instances(1).await;
        let provider = format!("test-{}", uuid::Uuid::new_v4().simple());
        let held = a.acquire(&provider, Capability::Video, None).await;
        let waiting =
            tokio::time::timeout(Duration::from_millis(300), b.acquire(&provider, Capability::Video, None)).await;
        assert!(waiting.is_err(), "B waits while A holds the only slot");
        // Held past its lease: the renewal keeps it.
        tokio::time::sleep(Duration::from_millis(900)).await;
        let still =
            tokio::time::timeout(Duration::from_millis(200), b.acquire(&provider, Capability::Video, None)).await;
        assert!(still.is_err(), "a renewed slot stays taken");
        drop(held);
        let freed = tokio::time::timeout(Duration::from_secs(2), b.acquire(&provider, Capability::Video, None)).await;
        let _freed = freed.expect("A's slot, given back, is B's");
        let _image = tokio::time::timeout(Duration::from_millis(500), a.acquire(&provider, Capability::Image, None))
            .await
            .expect("another capability has slots of its own");

        // A pause met by A holds B's calls to the provider.
        a.pause(&provider, Duration::from_millis(700));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let _text = b.acquire(&provider, Capability::Text, None).await;
        assert!(started.elapsed() >= Duration::from_millis(500), "B waited out A's pause: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn redis_slots_of_a_crashed_instance_free_themselves() {
        let (_, b) = two_redis_instances(1).await;
        let provider = format!("test-{}", uuid::Uuid::new_v4().simple());
        // A holder that stopped renewing (its instance died): its lease ended a moment ago.
        let Backend::Redis { conn, .. } = &b.backend else { unreachable!() };
        let stale: i64 = redis::cmd("ZADD")
            .arg(slots_key(&provider, Capability::Video))
            .arg(1)
            .arg("crashed-instance")
            .query_async(&mut conn.clone())
            .await
            .unwrap();
        assert_eq!(stale, 1);
        let _mine = tokio::time::timeout(Duration::from_millis(500), b.acquire(&provider, Capability::Video, None))
            .await
            .expect("an expired lease frees its slot");
    }

    #[tokio::test]
    async fn a_capped_model_waits_for_its_own_slots_only() {
        let caps = [("Doubao/doubao-seedance-pro".to_owned(), 1)].into();
        let slots = ProviderSlots::local(2).with_model_caps(&caps);
        let _first = slots.acquire("doubao", Capability::Video, Some("doubao-seedance-pro")).await;
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { drop(slots.acquire("doubao", Capability::Video, Some("Doubao-Seedance-Pro")).await) }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "the model's one slot is taken");
        // The call waiting for its model holds none of the provider's two slots.
        let other = slots.acquire("doubao", Capability::Video, Some("doubao-seedance-lite"));
        let _other = tokio::time::timeout(Duration::from_millis(50), other).await.expect("an uncapped model goes on");
        waiting.abort();
    }

    #[tokio::test]
    async fn redis_model_caps_are_shared_between_instances() {
        let (a, b) = two_redis_instances(4).await;
        let provider = format!("test-{}", uuid::Uuid::new_v4().simple());
        let caps = [(format!("{provider}/seedance"), 1)].into();
        let (a, b) = (a.with_model_caps(&caps), b.with_model_caps(&caps));
        let held = a.acquire(&provider, Capability::Video, Some("seedance")).await;
        let waiting = b.acquire(&provider, Capability::Video, Some("seedance"));
        assert!(tokio::time::timeout(Duration::from_millis(300), waiting).await.is_err(), "B waits for A's model slot");
        drop(held);
        let freed =
            tokio::time::timeout(Duration::from_secs(2), b.acquire(&provider, Capability::Video, Some("seedance")));
        let _freed = freed.await.expect("A's model slot, given back, is B's");
    }

    #[tokio::test]
    async fn a_pause_holds_every_caller_of_the_provider_only() {
        let slots = ProviderSlots::local(4);
        slots.pause("openai", Duration::from_millis(300));
        slots.pause("openai", Duration::from_millis(10));
        let started = Instant::now();
        let _other = slots.acquire("gemini", Capability::Text, None).await;
        assert!(started.elapsed() < Duration::from_millis(100), "another provider is not held");
        let _held = slots.acquire("openai", Capability::Text, None).await;
        assert!(started.elapsed() >= Duration::from_millis(290), "a shorter hint does not shorten a pause");
    }
}
