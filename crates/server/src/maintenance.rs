//! Scheduled upkeep inside `serve`: removing expired uploads and files, files of projects past
//! their retention and then the projects themselves, objects no record names, and task rows past
//! their retention (failed ones are kept longer), earlier versions of documents past theirs, and
//! takes beyond what each project keeps per slot.
//!
//! Several instances may run; a lease row lets one of them at a time do a pass.

use crate::error::AppResult;
use crate::files::service::CleanupReport;
use crate::state::AppState;
use chrono::{DateTime, Utc};
use std::time::Duration;

const PERIOD: Duration = Duration::from_secs(15 * 60);
/// Longer than a pass takes; a crashed holder's lease lapses after this.
const LEASE: chrono::Duration = chrono::Duration::minutes(10);
const LEASE_NAME: &str = "maintenance";
/// Earlier versions of a project's documents are kept this long after they were replaced.
pub const HISTORY_RETENTION: chrono::Duration = chrono::Duration::days(90);

/// What one pass did; `None` when another instance holds the lease.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub files: CleanupReport,
    pub purged_projects: usize,
    pub pruned_tasks: u64,
    pub pruned_revisions: u64,
    pub expired_invitations: u64,
    /// Takes beyond their slot's keep, removed (with their files where no other take held them).
    pub pruned_takes: usize,
}

/// Takes one pass prunes at most (the next pass goes on).
const TAKES_PER_PASS: i64 = 5_000;

pub async fn run(state: AppState) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match run_once(&state, Utc::now()).await {
            Ok(Some(report)) if report != MaintenanceReport::default() => {
                tracing::info!(
                    removed_files = report.files.removed_files,
                    orphan_objects = report.files.orphan_objects,
                    missing_objects = report.files.missing_objects,
                    purged_projects = report.purged_projects,
                    pruned_tasks = report.pruned_tasks,
                    pruned_revisions = report.pruned_revisions,
                    expired_invitations = report.expired_invitations,
                    pruned_takes = report.pruned_takes,
                    "maintenance pass done"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %error, "maintenance pass failed; will retry"),
        }
    }
}

/// One pass, as if it were `now`, if this instance gets the lease.
pub async fn run_once(state: &AppState, now: DateTime<Utc>) -> AppResult<Option<MaintenanceReport>> {
    if !state.store.try_lease(LEASE_NAME, &state.instance_id, now + LEASE, now).await? {
        return Ok(None);
    }
    let purge_before = now - chrono::Duration::days(i64::from(state.settings.project_retention_days));
    // Files first: once a project row is gone, its files no longer point at it.
    let files = state.files.clean_up(now, purge_before).await?;
    let purged_projects = state.projects.purge_deleted_before(purge_before).await?;
    let days = |n: u32| now - chrono::Duration::days(i64::from(n));
    let settings = &state.settings;
    let pruned_tasks =
        state.store.prune_tasks(days(settings.task_retention_days), days(settings.failed_task_retention_days)).await?;
    let pruned_revisions = state.store.prune_revisions_before(now - HISTORY_RETENTION).await?;
    let expired_invitations = state.store.drop_invitations_expired_by(now).await?;
    let pruned_takes = state.takes.prune(TAKES_PER_PASS).await?;
    Ok(Some(MaintenanceReport {
        files,
        purged_projects,
        pruned_tasks,
        pruned_revisions,
        expired_invitations,
        pruned_takes,
    }))
}
