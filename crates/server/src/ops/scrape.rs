//! Values read fresh when Prometheus scrapes: the queue (from the database, so every instance
//! reports the same figures: take their `max`) and this instance's connection pool.

use super::metrics;
use crate::state::AppState;
use crate::tasks::kind::TaskKind;
use chrono::Utc;
use std::collections::BTreeSet;

/// Sets the scrape-time gauges; a database that does not answer leaves them as they were (the
/// readiness probe and the `database down` alert say so).
pub async fn refresh(state: &AppState) {
    let now = Utc::now();
    let queue = state.store.queue_stats(now).await;
    metrics::database_up(queue.is_ok());
    match queue {
        Ok(stats) => {
            // Every known type is reported, 0 when it has nothing queued, so a drained queue reads
            // as 0 rather than as the last figure seen.
            // A batch is never claimed (its items settle it): it is not work waiting.
            let mut quiet: BTreeSet<&str> = TaskKind::NAMES.iter().copied().filter(|t| *t != TaskKind::BATCH).collect();
            for stat in stats.iter().filter(|s| s.task_type != TaskKind::BATCH) {
                quiet.remove(stat.task_type.as_str());
                let age = stat.oldest_due.map_or(0.0, |due| (now - due).num_milliseconds().max(0) as f64 / 1000.0);
                metrics::queue(&stat.task_type, stat.pending, stat.due, stat.running, age);
            }
            for task_type in quiet {
                metrics::queue(task_type, 0, 0, 0, 0.0);
            }
        }
        Err(error) => tracing::warn!(error = %error, "could not read the queue for metrics"),
    }
    match state.store.pool_sample().await {
        Ok(pool) => metrics::db_pool(pool.open, pool.idle, pool.max, pool.acquire),
        Err(error) => tracing::warn!(error = %error, "could not sample the connection pool"),
    }
}
