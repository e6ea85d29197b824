//! Task changes as they happen, for WebSocket clients.
//!
//! On one instance: an in-process broadcast. With `REDIS_URL`: every change is published on a
//! Redis channel and each instance relays what it receives to its own clients, so a WebSocket on
//! one instance sees progress made by a worker on another. A client that falls behind by more than
//! the channel holds is dropped (it reconnects and gets a fresh snapshot) rather than slowing
//! everyone else.

use cinegen_store::TaskRecord;
use futures::StreamExt;
use redis::AsyncCommands;
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

const CAPACITY: usize = 1024;
const CHANNEL: &str = "cinegen:task-events";

#[derive(Clone)]
pub struct TaskEvents {
    local: broadcast::Sender<Arc<TaskRecord>>,
    /// With Redis, changes go out through here and come back through the relay.
    outgoing: Option<mpsc::UnboundedSender<TaskRecord>>,
}

impl Default for TaskEvents {
    fn default() -> Self {
        Self { local: broadcast::channel(CAPACITY).0, outgoing: None }
    }
}

impl TaskEvents {
    /// Events shared by every instance through Redis at `url`.
    pub async fn redis(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let local = broadcast::channel(CAPACITY).0;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        let relay = local.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Ok(payload) = message.get_payload::<String>() else { continue };
                match serde_json::from_str::<TaskRecord>(&payload) {
                    Ok(task) => {
                        let _ = relay.send(Arc::new(task));
                    }
                    Err(error) => tracing::warn!(error = %error, "unreadable task event on Redis"),
                }
            }
            tracing::warn!("the Redis task-event subscription ended");
        });
        let mut publisher = crate::ephemeral::redis::connect(url).await?;
        let (outgoing, mut queue) = mpsc::unbounded_channel::<TaskRecord>();
        tokio::spawn(async move {
            while let Some(task) = queue.recv().await {
                let Ok(payload) = serde_json::to_string(&task) else { continue };
                if let Err(error) = publisher.publish::<_, _, ()>(CHANNEL, payload).await {
                    tracing::warn!(error = %error, "publishing a task event failed");
                }
            }
        });
        Ok(Self { local, outgoing: Some(outgoing) })
    }

    /// Announces a task's new state; nobody listening is fine.
    pub fn publish(&self, task: TaskRecord) {
        match &self.outgoing {
            Some(outgoing) => {
                let _ = outgoing.send(task);
            }
            None => {
                let _ = self.local.send(Arc::new(task));
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TaskRecord>> {
        self.local.subscribe()
    }
}
