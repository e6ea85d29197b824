//! Batches: a parent task that no worker claims, settled by its items. Each time an item ends,
//! the parent's progress becomes the mean of its items' (an ended item counts 100), and when the
//! last one ends the parent completes with the tally. One item's failure never stops the rest.

use super::TaskEvents;
use chrono::Utc;
use cinegen_domain::TaskId;
use cinegen_store::{Store, StoreResult};
use serde_json::json;
use std::sync::Arc;

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
