//! One way to speak to either engine: queries are written once, with `$1`-style placeholders
//! (which SQLite reads too), bound with the shared column types of [`column`] and read through
//! [`Row`]. The few places where the engines really behave differently ask [`Db::engine`].
//!
//! Why a layer of our own rather than a query builder or sqlx generics: see "One store over two
//! engines" in docs/ARCHITECTURE.md.

mod column;
mod query;
mod row;

pub(crate) use column::{Param, Time};
pub(crate) use query::Query;
pub(crate) use row::Row;

use crate::{ConnectOptions, Engine, StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// The connection pool of one engine.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Opens the pool `options.url` names. Only the connection settings differ by engine.
    pub(crate) async fn connect(options: &ConnectOptions) -> StoreResult<Self> {
        let max = options.max_connections.max(1);
        match Engine::from_url(&options.url).map_err(StoreError::Config)? {
            Engine::Sqlite => {
                let connect = SqliteConnectOptions::from_str(&options.url)
                    .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // NORMAL is durable in WAL mode except for the last commits on power loss.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10));
                Ok(Self::Sqlite(SqlitePoolOptions::new().max_connections(max).connect_with(connect).await?))
            }
            Engine::Postgres => {
                let connect = Self::postgres_options(&options.url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(connect)
                    .await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub(crate) fn postgres_options(url: &str) -> StoreResult<PgConnectOptions> {
        Ok(PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?
            .application_name("cinegen"))
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Self::Sqlite(_) => Engine::Sqlite,
            Self::Postgres(_) => Engine::Postgres,
        }
    }

    /// A statement run on any connection of the pool.
    pub(crate) fn query<'q>(&self, sql: impl Into<std::borrow::Cow<'q, str>>) -> Query<'q, '_> {
        match self {
            Self::Sqlite(pool) => Query::sqlite(sql.into(), query::SqliteOn::Pool(pool)),
            Self::Postgres(pool) => Query::postgres(sql.into(), query::PgOn::Pool(pool)),
        }
    }

    pub(crate) async fn begin(&self) -> StoreResult<Tx> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// One connection held for several statements that need no transaction.
    pub(crate) async fn acquire(&self) -> StoreResult<Pooled> {
        Ok(match self {
            Self::Sqlite(pool) => Pooled::Sqlite(pool.acquire().await?),
            Self::Postgres(pool) => Pooled::Postgres(pool.acquire().await?),
        })
    }

    pub(crate) async fn pool_sample(&self) -> StoreResult<crate::PoolSample> {
        match self {
            Self::Sqlite(pool) => crate::PoolSample::take(pool).await,
            Self::Postgres(pool) => crate::PoolSample::take(pool).await,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// An open transaction; dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn query<'q>(&mut self, sql: impl Into<std::borrow::Cow<'q, str>>) -> Query<'q, '_> {
        self.conn().into_query(sql.into())
    }

    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(tx) => Conn::Sqlite(tx),
            Self::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> StoreResult<()> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await?,
            Self::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }

    /// Locks the row of `table` whose `id` is given until the transaction ends, so what is read
    /// after stays true until then; false when there is no such row. SQLite has one writer, and
    /// a write takes its lock at once: a write that changes nothing is the lock. PostgreSQL locks
    /// the row itself, so writers of other rows go on.
    pub(crate) async fn lock_row(&mut self, table: &str, id: uuid::Uuid) -> StoreResult<bool> {
        let sql = match self {
            Self::Sqlite(_) => format!("UPDATE {table} SET updated_at = updated_at WHERE id = $1"),
            Self::Postgres(_) => format!("SELECT 1 FROM {table} WHERE id = $1 FOR UPDATE"),
        };
        Ok(self.query(sql).bind(id).execute().await? > 0)
    }
}

/// A connection taken from the pool, given back when dropped.
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// A borrowed connection, inside a transaction or not: what helpers shared by both take.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl<'c> Conn<'c> {
    pub(crate) fn query<'q>(&mut self, sql: impl Into<std::borrow::Cow<'q, str>>) -> Query<'q, '_> {
        match self {
            Self::Sqlite(c) => Query::sqlite(sql.into(), query::SqliteOn::Conn(c)),
            Self::Postgres(c) => Query::postgres(sql.into(), query::PgOn::Conn(c)),
        }
    }

    fn into_query<'q>(self, sql: std::borrow::Cow<'q, str>) -> Query<'q, 'c> {
        match self {
            Self::Sqlite(c) => Query::sqlite(sql, query::SqliteOn::Conn(c)),
            Self::Postgres(c) => Query::postgres(sql, query::PgOn::Conn(c)),
        }
    }
}
