//! Vendors' job callbacks (the `callback_url` of Doubao's and Kling's video tasks).
//!
//! A callback only says "look now": it wakes the poll of the task it names, and that poll — our
//! own call to the vendor, with our key — stays the one source of truth. Neither vendor signs its
//! callbacks, so the URL we hand out is what is signed: it names the provider and the task and
//! carries our HMAC of both, and only a URL we made is heard. A forged, replayed or stale callback
//! can therefore do no more than cause one early poll, and a callback heard twice (Ark retries one
//! left unanswered for 5 s) wakes the poll once. Without `public_url` no callback is asked for and
//! polling alone finishes every job.

use crate::ephemeral::Counters;
use crate::error::{AppError, AppResult};
use crate::live::LiveFeed;
use base64::Engine as _;
use cinegen_domain::TaskId;
use cinegen_store::{Store, TaskStatus};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

type HmacSha256 = Hmac<Sha256>;

/// The Redis channel wakes travel on, so a callback heard by one instance wakes the poll running
/// on another.
pub const WAKE_CHANNEL: &str = "cinegen:job-callbacks";
/// How long a callback's body is remembered, to hear a repeat once.
const REMEMBERED: Duration = Duration::from_secs(3600);

/// A task's provider job may have changed: poll it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobWoken {
    pub task_id: TaskId,
}

pub type JobWakes = LiveFeed<JobWoken>;

#[derive(Clone)]
pub struct JobCallbacks {
    key: Vec<u8>,
    /// Where vendors reach this server (`public_url`), if they can.
    public_url: Option<String>,
    wakes: JobWakes,
    counters: Arc<dyn Counters>,
    store: Arc<dyn Store>,
}

impl JobCallbacks {
    pub fn new(
        signing_secret: &[u8],
        public_url: Option<String>,
        wakes: JobWakes,
        counters: Arc<dyn Counters>,
        store: Arc<dyn Store>,
    ) -> Self {
        // A key of its own, so a callback signature can never pass as any other of ours.
        let mut derive = HmacSha256::new_from_slice(signing_secret).expect("HMAC takes any key length");
        derive.update(b"cinegen job callbacks");
        let key = derive.finalize().into_bytes().to_vec();
        Self { key, public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()), wakes, counters, store }
    }

    fn mac(&self, provider: &str, task: TaskId) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{provider}\n{task}").as_bytes());
        mac
    }

    /// The callback URL for `task`'s job at `provider`, when vendors can reach this server.
    pub fn url_for(&self, provider: &str, task: TaskId) -> Option<String> {
        let base = self.public_url.as_deref()?;
        let signature =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.mac(provider, task).finalize().into_bytes());
        Some(format!("{base}/api/v1/callbacks/{provider}/{task}?sig={signature}"))
    }

    /// Whether `signature` is ours for `provider` and `task` (compared in constant time).
    pub fn verify(&self, provider: &str, task: TaskId, signature: &str) -> bool {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(signature.trim())
            .is_ok_and(|bytes| self.mac(provider, task).verify_slice(&bytes).is_ok())
    }

    /// Hears a callback: checks the signature, then wakes the task's poll unless the task is over
    /// or the same body was heard before. Answers whether a poll was woken.
    pub async fn heard(&self, provider: &str, task: TaskId, signature: &str, body: &[u8]) -> AppResult<bool> {
        if !self.verify(provider, task, signature) {
            return Err(AppError::InvalidToken("the callback's signature is not one this server gave"));
        }
        let running =
            self.store.task(task).await?.is_some_and(|t| matches!(t.status, TaskStatus::Running | TaskStatus::Pending));
        if !running {
            return Ok(false);
        }
        let digest = hex::encode(Sha256::digest(body));
        let seen = self
            .counters
            .increment(&format!("callback:{task}:{digest}"), REMEMBERED)
            .await
            .map_err(AppError::Internal)?;
        if seen.count > 1 {
            return Ok(false);
        }
        self.wakes.publish(JobWoken { task_id: task });
        Ok(true)
    }

    /// Wakes as they come, for a poll loop to wait on beside its timer.
    pub fn wakes(&self) -> tokio::sync::broadcast::Receiver<Arc<JobWoken>> {
        self.wakes.subscribe()
    }
}

/// Waits `pause`, or less when a callback wakes `task`'s poll.
pub async fn pause_or_wake(wakes: &mut tokio::sync::broadcast::Receiver<Arc<JobWoken>>, task: TaskId, pause: Duration) {
    use tokio::sync::broadcast::error::RecvError;
    let woken = async {
        loop {
            match wakes.recv().await {
                Ok(wake) if wake.task_id == task => return,
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                // No more wakes: the timer alone ends the pause.
                Err(RecvError::Closed) => std::future::pending::<()>().await,
            }
        }
    };
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = woken => tracing::debug!(task.id = %task, "a callback woke the poll"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn receiver(public_url: Option<&str>) -> JobCallbacks {
        let folder = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", folder.path().join("callbacks.db").display());
        let store = cinegen_store::connect(&cinegen_store::ConnectOptions { url, max_connections: 1 }).await.unwrap();
        // The store keeps its file open; the folder may go.
        std::mem::forget(folder);
        JobCallbacks::new(
            b"a signing secret of enough length....",
            public_url.map(str::to_owned),
            JobWakes::default(),
            Arc::new(crate::ephemeral::MemoryCounters::default()),
            store,
        )
    }

    #[tokio::test]
    async fn urls_are_signed_for_one_provider_and_task() {
        let callbacks = receiver(Some("https://studio.example.com/")).await;
        let task = TaskId::new();
        let url = callbacks.url_for("doubao", task).unwrap();
        assert!(url.starts_with(&format!("https://studio.example.com/api/v1/callbacks/doubao/{task}?sig=")), "{url}");
        let signature = url.split_once("sig=").unwrap().1;
        assert!(callbacks.verify("doubao", task, signature));
        assert!(!callbacks.verify("kling", task, signature), "another provider");
        assert!(!callbacks.verify("doubao", TaskId::new(), signature), "another task");
        assert!(!callbacks.verify("doubao", task, "AAAA"), "a forgery");
        assert!(receiver(None).await.url_for("doubao", task).is_none(), "no public address, no callback");
    }

    #[tokio::test]
    async fn a_wake_ends_the_pause_of_its_own_task_only() {
        let wakes = JobWakes::default();
        let (mine, other) = (TaskId::new(), TaskId::new());
        let mut heard = wakes.subscribe();
        let started = std::time::Instant::now();
        let sender = wakes.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            sender.publish(JobWoken { task_id: other });
            sender.publish(JobWoken { task_id: mine });
        });
        pause_or_wake(&mut heard, mine, Duration::from_secs(30)).await;
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
