//! The embedded engine: one SQLite file in WAL mode. Ids are stored as 16-byte BLOBs and times
//! as Unix milliseconds, so comparisons in SQL are plain integer comparisons.

mod files;
mod projects;
mod sessions;
mod tasks;
mod usage;
mod users;

use crate::{ConnectOptions, StoreError, StoreResult};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    changes: crate::ProjectChanges,
}

impl SqliteStore {
    pub async fn connect(options: &ConnectOptions) -> StoreResult<Self> {
        let connect = SqliteConnectOptions::from_str(&options.url)
            .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable in WAL mode except for the last commits on power loss.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool =
            SqlitePoolOptions::new().max_connections(options.max_connections.max(1)).connect_with(connect).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, changes: crate::ProjectChanges::default() })
    }
}

#[async_trait::async_trait]
impl crate::Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn pool_sample(&self) -> StoreResult<crate::PoolSample> {
        crate::PoolSample::take(&self.pool).await
    }

    async fn try_lease(&self, name: &str, holder: &str, until: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO job_leases (name, holder, locked_until) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, locked_until = excluded.locked_until
             WHERE job_leases.locked_until < ?4 OR job_leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(until))
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn snapshot_to(&self, path: &std::path::Path) -> StoreResult<()> {
        let target = path.to_str().ok_or_else(|| StoreError::Config(format!("{} is not UTF-8", path.display())))?;
        // VACUUM INTO reads in one transaction: the copy is consistent and writers are not held up.
        sqlx::query("VACUUM INTO ?1").bind(target).execute(&self.pool).await?;
        Ok(())
    }

    async fn inventory(&self) -> StoreResult<crate::Inventory> {
        let counts: (i64, i64, i64) = sqlx::query_as(crate::INVENTORY_SQL).fetch_one(&self.pool).await?;
        Ok(counts.into())
    }

    fn project_changes(&self) -> &crate::ProjectChanges {
        &self.changes
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
