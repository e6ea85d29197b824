//! Task changes as they happen, for WebSocket clients of this process.
//!
//! An in-process broadcast: a client that falls behind by more than the channel holds is dropped
//! (it reconnects and gets a fresh snapshot) rather than slowing everyone else.

use cinegen_store::TaskRecord;
use std::sync::Arc;
use tokio::sync::broadcast;

const CAPACITY: usize = 1024;

#[derive(Clone)]
pub struct TaskEvents {
    sender: broadcast::Sender<Arc<TaskRecord>>,
}

impl Default for TaskEvents {
    fn default() -> Self {
        Self { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl TaskEvents {
    /// Announces a task's new state; nobody listening is fine.
    pub fn publish(&self, task: TaskRecord) {
        let _ = self.sender.send(Arc::new(task));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TaskRecord>> {
        self.sender.subscribe()
    }
}
