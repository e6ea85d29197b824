//! Changes as they happen, for WebSocket clients: tasks' progress and projects' new versions.
//!
//! On one instance: an in-process broadcast. With `REDIS_URL`: every change is published on a
//! Redis channel and each instance relays what it receives to its own clients, so a WebSocket on
//! one instance sees progress made by a worker on another. A client that falls behind by more than
//! the channel holds is dropped (it reconnects and gets a fresh snapshot) rather than slowing
//! everyone else.

use cinegen_domain::UserId;
use cinegen_store::{ProjectChanged, Store, TaskRecord};
use futures::StreamExt;
use redis::AsyncCommands;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};

const CAPACITY: usize = 1024;

/// Every change of a task.
pub type TaskEvents = LiveFeed<TaskRecord>;
pub const TASK_CHANNEL: &str = "cinegen:task-events";

/// Every committed change of a project, for those who may see it.
pub type ProjectEvents = LiveFeed<ProjectEvent>;
pub const PROJECT_CHANNEL: &str = "cinegen:project-events";

/// A project changed: which, its version now, and who was told (its owner and members when it
/// was written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectEvent {
    #[serde(flatten)]
    pub change: ProjectChanged,
    pub audience: Vec<UserId>,
}

impl ProjectEvents {
    /// Tells the feed of every project change `store` commits in this process (with Redis, every
    /// instance hears it).
    pub fn follow(&self, store: &dyn Store) {
        use tokio::sync::broadcast::error::RecvError;
        let mut changes = store.project_changes().subscribe();
        let feed = self.clone();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(heard) => {
                        if let Some(change) = &heard.change {
                            feed.publish(ProjectEvent { change: change.clone(), audience: heard.users.clone() });
                        }
                    }
                    // A client that missed a change still sees it at its next save or reload.
                    Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "project changes missed by the live feed"),
                    Err(RecvError::Closed) => return,
                }
            }
        });
    }
}

pub struct LiveFeed<T> {
    local: broadcast::Sender<Arc<T>>,
    /// With Redis, changes go out through here and come back through the relay.
    outgoing: Option<mpsc::UnboundedSender<T>>,
}

impl<T> Clone for LiveFeed<T> {
    fn clone(&self) -> Self {
        Self { local: self.local.clone(), outgoing: self.outgoing.clone() }
    }
}

impl<T> Default for LiveFeed<T> {
    fn default() -> Self {
        Self { local: broadcast::channel(CAPACITY).0, outgoing: None }
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> LiveFeed<T> {
    /// Events shared by every instance through the Redis at `url`, on `channel`.
    pub async fn redis(url: &str, channel: &'static str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let local = broadcast::channel(CAPACITY).0;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        let relay = local.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Ok(payload) = message.get_payload::<String>() else { continue };
                match serde_json::from_str::<T>(&payload) {
                    Ok(event) => {
                        let _ = relay.send(Arc::new(event));
                    }
                    Err(error) => tracing::warn!(error = %error, channel, "unreadable event on Redis"),
                }
            }
            tracing::warn!(channel, "the Redis event subscription ended");
        });
        let mut publisher = crate::ephemeral::redis::connect(url).await?;
        let (outgoing, mut queue) = mpsc::unbounded_channel::<T>();
        tokio::spawn(async move {
            while let Some(event) = queue.recv().await {
                let Ok(payload) = serde_json::to_string(&event) else { continue };
                if let Err(error) = publisher.publish::<_, _, ()>(channel, payload).await {
                    tracing::warn!(error = %error, channel, "publishing an event failed");
                }
            }
        });
        Ok(Self { local, outgoing: Some(outgoing) })
    }

    /// Announces a change; nobody listening is fine.
    pub fn publish(&self, event: T) {
        match &self.outgoing {
            Some(outgoing) => {
                let _ = outgoing.send(event);
            }
            None => {
                let _ = self.local.send(Arc::new(event));
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<T>> {
        self.local.subscribe()
    }
}
