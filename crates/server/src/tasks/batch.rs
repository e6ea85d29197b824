//! Batches: a parent task that no worker claims, settled by its items. Each time an item ends,
//! the parent's progress becomes the mean of its items' (an ended item counts 100), and when the
//! last one ends the parent completes with the tally. One item's failure never stops the rest.

use super::TaskEvents;
use chrono::Utc;
use cinegen_domain::TaskId;
use cinegen_store::{Store, StoreResult, TaskStatus};
use serde_json::json;
use std::sync::Arc;

pub async fn settle(store: &Arc<dyn Store>, events: &TaskEvents, parent: TaskId) -> StoreResult<()> {
    let items = store.children(parent).await?;
    if items.is_empty() {
        return Ok(());
    }
    let count = |status: TaskStatus| items.iter().filter(|t| t.status == status).count();
    let (completed, failed, cancelled) =
        (count(TaskStatus::Completed), count(TaskStatus::Failed), count(TaskStatus::Cancelled));
    let ended = completed + failed + cancelled;
    let sum: i64 = items.iter().map(|t| if t.status.is_final() { 100 } else { i64::from(t.progress) }).sum();
    let progress = (sum / items.len() as i64) as i32;
    let message = format!("{ended} of {} done, {failed} failed", items.len());
    let result = (ended == items.len())
        .then(|| json!({ "total": items.len(), "completed": completed, "failed": failed, "cancelled": cancelled }));
    if store.settle_batch(parent, progress, &message, result, Utc::now()).await?
        && let Some(task) = store.task(parent).await?
    {
        events.publish(task);
    }
    Ok(())
}
