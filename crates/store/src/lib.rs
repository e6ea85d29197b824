//! Persistence for CineGen.
//!
//! Narrow, use-case-shaped traits (`UserStore`, `SessionStore`, …) gathered into one `Store`,
//! implemented once (`queries`) over a thin layer that speaks to either engine (`db`): SQLite,
//! the embedded default, or PostgreSQL. The contract suite in `tests/contract.rs` runs the same
//! scenarios against both, which is what proves them equal. No SQL lives outside this crate.

pub mod audit;
pub mod budgets;
pub mod changes;
mod db;
pub mod error;
pub mod files;
mod migrate;
pub mod projects;
mod queries;
pub mod revisions;
pub mod sessions;
pub mod takes;
pub mod tasks;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod usage;
pub mod users;

use chrono::{DateTime, Utc};
use std::sync::Arc;

pub use audit::{AuditEvent, AuditStore};
pub use budgets::{BudgetRefusal, BudgetScope, BudgetStore, BudgetUse, Spend};
pub use changes::{Announcement, ProjectChanged, ProjectChanges};
pub use error::{StoreError, StoreResult};
pub use files::{FileRecord, FileStore, KindUsage, UploadPart, Usage};
pub use projects::Invitation;
pub use projects::{
    AccessInfo, Enqueued, Member, ProjectChange, ProjectListItem, ProjectQuery, ProjectRecord, ProjectStore,
    StatusFilter,
};
pub use revisions::{Author, Person, Revision, RevisionStore, RevisionSummary};
pub use sessions::{NewSession, RotateOutcome, SessionStore};
pub use takes::{DeletedTake, Money, TakeRecord, TakeStore};
pub use tasks::{
    BatchTally, ClaimRequest, Completion, NewTask, Outcome, QueueStat, TaskQuery, TaskRecord, TaskStatus, TaskStore,
};
pub use usage::{KeyCheckRecord, ParkedKey, ProviderSettingRecord, SpendRow, UsageEvent, UsageRow, UsageStore};
pub use users::{NewUser, UserStore};

/// Everything the application persists, behind one object.
#[async_trait::async_trait]
pub trait Store:
    UserStore
    + SessionStore
    + ProjectStore
    + RevisionStore
    + FileStore
    + TakeStore
    + TaskStore
    + BudgetStore
    + UsageStore
    + AuditStore
    + Send
    + Sync
    + 'static
{
    /// `sqlite` or `postgres`, for logs and the readiness probe.
    fn engine(&self) -> &'static str;

    /// Cheap round trip proving the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// How the connection pool is used now, and how long taking a connection took (for metrics).
    async fn pool_sample(&self) -> StoreResult<PoolSample>;

    /// Takes (or renews) the lease `name` for `holder` until `until`, unless another holder's
    /// lease is still running. Answers whether `holder` now has it.
    async fn try_lease(&self, name: &str, holder: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Writes a consistent copy of the whole database to `path` (a file that must not exist yet)
    /// while others keep reading and writing. Only the embedded engine can: a PostgreSQL
    /// database is copied with its own tools (pg_dump, base backups), which this answers with.
    async fn snapshot_to(&self, path: &std::path::Path) -> StoreResult<()>;

    /// How many accounts, projects and live files the database holds: what a restore is
    /// checked against.
    async fn inventory(&self) -> StoreResult<Inventory>;

    /// Announcements of committed project writes (whose lists changed), for list caches.
    fn project_changes(&self) -> &ProjectChanges;

    /// Closes every pooled connection; later calls fail.
    async fn close(&self);
}

/// The size of a database in the units an operator checks a restore by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inventory {
    pub users: i64,
    pub projects: i64,
    /// Files not deleted (ready or still uploading).
    pub files: i64,
}

/// The connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolSample {
    /// Connections open, busy or idle.
    pub open: u32,
    pub idle: u32,
    pub max: u32,
    /// How long this sample waited for a connection: what a query arriving now waits.
    pub acquire: std::time::Duration,
}

impl PoolSample {
    /// Samples `pool`: its counts as others see them, then the time to take a connection (handed
    /// straight back).
    pub(crate) async fn take<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> StoreResult<Self> {
        let (open, idle, max) = (pool.size(), pool.num_idle() as u32, pool.options().get_max_connections());
        let started = std::time::Instant::now();
        drop(pool.acquire().await?);
        Ok(Self { open, idle, max, acquire: started.elapsed() })
    }
}

/// Which engine a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// Reads the scheme of `url`; anything but SQLite and PostgreSQL is refused with a reason.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "" => Err(format!("'{url}' has no scheme (expected sqlite:// or postgres://)")),
            other => Err(format!("unsupported scheme '{other}' (expected sqlite:// or postgres://)")),
        }
    }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub url: String,
    pub max_connections: u32,
}

/// Opens the database that `options.url` names and applies pending migrations.
pub async fn connect(options: &ConnectOptions) -> StoreResult<Arc<dyn Store>> {
    Ok(Arc::new(queries::SqlStore::connect(options).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_read_from_the_scheme() {
        assert_eq!(Engine::from_url("sqlite://data/cinegen.db"), Ok(Engine::Sqlite));
        assert_eq!(Engine::from_url("postgres://u@h/db"), Ok(Engine::Postgres));
        assert_eq!(Engine::from_url("postgresql://u@h/db"), Ok(Engine::Postgres));
        assert!(Engine::from_url("mysql://x").unwrap_err().contains("mysql"));
        assert!(Engine::from_url("nothing").is_err());
    }
}
