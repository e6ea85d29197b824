//! Periodic upkeep inside `serve`: purging projects deleted longer ago than the retention period.
//!
//! Every step is idempotent, so several instances running it at once do no harm; only one of them
//! finds work to do.

use crate::state::AppState;
use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(3600);

pub async fn run(state: AppState) {
    let retention = chrono::Duration::days(i64::from(state.settings.project_retention_days));
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = state.projects.purge_deleted(retention).await {
            tracing::warn!(error = %error, "purging deleted projects failed; will retry");
        }
    }
}
