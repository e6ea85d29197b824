//! Batches: a parent task that no worker claims, settled by its items. Each time an item ends,
//! the parent's progress becomes the mean of its items' (an ended item counts 100), and when the
//! last one ends the parent completes with the tally. One item's failure never stops the rest.

use super::TaskEvents;
use chrono::Utc;
use cinegen_domain::TaskId;
use cinegen_store::{Store, StoreResult};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

/// How often an item's progress may move its batch (per batch and process): the items' ends
/// always settle it, progress in between only this often, so a batch of hundreds does not turn
/// every heartbeat into a write of one hot row.
const PROGRESS_SETTLE_EVERY: Duration = Duration::from_millis(500);

static LAST_PROGRESS_SETTLE: LazyLock<Mutex<HashMap<TaskId, Instant>>> = LazyLock::new(Mutex::default);

/// Settles `parent` after an item's progress, unless that was done a moment ago.
pub async fn settle_on_progress(store: &Arc<dyn Store>, events: &TaskEvents, parent: TaskId) -> StoreResult<()> {
    let now = Instant::now();
    {
        let mut last = LAST_PROGRESS_SETTLE.lock().unwrap_or_else(|e| e.into_inner());
        if last.get(&parent).is_some_and(|at| now.duration_since(*at) < PROGRESS_SETTLE_EVERY) {
            return Ok(());
        }
        last.retain(|_, at| now.duration_since(*at) < PROGRESS_SETTLE_EVERY * 20);
        last.insert(parent, now);
    }
    settle(store, events, parent).await
}

pub async fn settle(store: &Arc<dyn Store>, events: &TaskEvents, parent: TaskId) -> StoreResult<()> {
    // Counted in the database: a batch of hundreds settles after each item without reading them.
    let tally = store.batch_tally(parent).await?;
    if tally.total == 0 {
        return Ok(());
    }
    let ended = tally.ended();
    let progress = (tally.progress_sum / tally.total) as i32;
    let message = format!("{ended} of {} done, {} failed", tally.total, tally.failed);
    let result = (ended == tally.total).then(|| {
        json!({ "total": tally.total, "completed": tally.completed, "failed": tally.failed, "cancelled": tally.cancelled })
    });
    if store.settle_batch(parent, progress, &message, result, Utc::now()).await?
        && let Some(task) = store.task(parent).await?
    {
        events.publish(task);
    }
    Ok(())
}
