//! Completions written together ("group commit"): while one statement is on its way, the attempts
//! that end meanwhile queue up and go in the next one, so a burst of short tasks costs a commit per
//! batch instead of one per task. Each row is still compared-and-set against its own lease, so a
//! late answer of an attempt that lost its lease changes nothing, as with a single finish.

use chrono::Utc;
use cinegen_domain::TaskId;
use cinegen_store::{Completion, Store, StoreError, StoreResult, TaskRecord};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// At most this many completions per statement.
const MAX_BATCH: usize = 256;

type Reply = oneshot::Sender<StoreResult<Option<TaskRecord>>>;

#[derive(Clone)]
pub(crate) struct Completer {
    queue: mpsc::UnboundedSender<(Completion, Reply)>,
}

impl Completer {
    /// Starts the writer; it stops once every handle is dropped.
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (queue, mut incoming) = mpsc::unbounded_channel::<(Completion, Reply)>();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (items, replies): (Vec<Completion>, Vec<Reply>) = batch.drain(..).unzip();
                match store.complete_many(&items, Utc::now()).await {
                    Ok(completed) => {
                        let mut by_id: HashMap<TaskId, TaskRecord> = completed.into_iter().map(|t| (t.id, t)).collect();
                        for (item, reply) in items.iter().zip(replies) {
                            let _ = reply.send(Ok(by_id.remove(&item.id)));
                        }
                    }
                    Err(error) => {
                        let message = error.to_string();
                        for reply in replies {
                            let _ = reply.send(Err(unavailable(&message)));
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Completes the attempt if it still holds its lease; answers the task as it now is, or `None`
    /// when the lease was lost.
    pub(crate) async fn complete(&self, completion: Completion) -> StoreResult<Option<TaskRecord>> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((completion, reply)).map_err(|_| unavailable("the completion writer stopped"))?;
        answer.await.map_err(|_| unavailable("the completion writer stopped"))?
    }
}

fn unavailable(message: &str) -> StoreError {
    StoreError::WriteFailed(message.to_owned())
}
