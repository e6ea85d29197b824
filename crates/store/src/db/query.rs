//! A statement with its arguments and the connection it will run on, for either engine.

use super::{Param, Row};
use crate::StoreResult;
use sqlx::{Arguments, Database, PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool};
use std::borrow::Cow;

pub(crate) enum SqliteOn<'c> {
    Pool(&'c SqlitePool),
    Conn(&'c mut SqliteConnection),
}

pub(crate) enum PgOn<'c> {
    Pool(&'c PgPool),
    Conn(&'c mut PgConnection),
}

enum Bound<'q, 'c> {
    Sqlite(<Sqlite as Database>::Arguments<'q>, SqliteOn<'c>),
    Postgres(<Postgres as Database>::Arguments<'q>, PgOn<'c>),
}

/// SQL text (placeholders `$1`, `$2`, …), its arguments so far, and where it runs. Made by
/// `Db::query`, `Tx::query` or `Conn::query`; ends with one of the fetch methods or `execute`.
pub(crate) struct Query<'q, 'c> {
    sql: Cow<'q, str>,
    bound: Bound<'q, 'c>,
    /// The first argument that failed to encode, reported when the statement would run.
    error: Option<sqlx::error::BoxDynError>,
}

/// Runs `$query` with the executor of whichever engine it is for, mapping rows into [`Row`].
macro_rules! run {
    ($self:ident, |$q:ident, $on:ident| $call:expr, $wrap:expr) => {{
        if let Some(error) = $self.error {
            return Err(sqlx::Error::Encode(error).into());
        }
        let sql = $self.sql;
        match $self.bound {
            Bound::Sqlite(args, on) => {
                let $q = sqlx::query_with::<Sqlite, _>(&sql, args);
                match on {
                    SqliteOn::Pool($on) => $wrap($call.await?, Row::Sqlite),
                    SqliteOn::Conn($on) => $wrap($call.await?, Row::Sqlite),
                }
            }
            Bound::Postgres(args, on) => {
                let $q = sqlx::query_with::<Postgres, _>(&sql, args);
                match on {
                    PgOn::Pool($on) => $wrap($call.await?, Row::Postgres),
                    PgOn::Conn($on) => $wrap($call.await?, Row::Postgres),
                }
            }
        }
    }};
}

impl<'q, 'c> Query<'q, 'c> {
    pub(super) fn sqlite(sql: Cow<'q, str>, on: SqliteOn<'c>) -> Self {
        Self { sql, bound: Bound::Sqlite(Default::default(), on), error: None }
    }

    pub(super) fn postgres(sql: Cow<'q, str>, on: PgOn<'c>) -> Self {
        Self { sql, bound: Bound::Postgres(Default::default(), on), error: None }
    }

    /// Binds the next argument: `$n` for the n-th call.
    pub(crate) fn bind<T: Param<'q>>(mut self, value: T) -> Self {
        let added = match &mut self.bound {
            Bound::Sqlite(args, _) => args.add(value),
            Bound::Postgres(args, _) => args.add(value),
        };
        if let Err(error) = added {
            self.error.get_or_insert(error);
        }
        self
    }

    /// Appends SQL text, for statements whose shape depends on the input.
    pub(crate) fn push(mut self, sql: &str) -> Self {
        self.sql.to_mut().push_str(sql);
        self
    }

    /// Appends a placeholder for the next argument and binds it. Use after every placeholder
    /// written in the text so far has been bound, each once and in order.
    pub(crate) fn push_bind<T: Param<'q>>(self, value: T) -> Self {
        let next = self.bound_count() + 1;
        self.push(&format!("${next}")).bind(value)
    }

    /// Appends `(` the placeholders of `values`, bound in order, `)`: an `IN` list.
    pub(crate) fn push_list<T: Param<'q>>(mut self, values: impl IntoIterator<Item = T>) -> Self {
        self = self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self = self.push(", ");
            }
            self = self.push_bind(value);
        }
        self.push(")")
    }

    fn bound_count(&self) -> usize {
        match &self.bound {
            Bound::Sqlite(args, _) => args.len(),
            Bound::Postgres(args, _) => args.len(),
        }
    }

    pub(crate) async fn fetch_all(self) -> StoreResult<Vec<Row>> {
        run!(self, |q, on| q.fetch_all(on), |rows: Vec<_>, wrap| Ok(rows.into_iter().map(wrap).collect()))
    }

    pub(crate) async fn fetch_optional(self) -> StoreResult<Option<Row>> {
        run!(self, |q, on| q.fetch_optional(on), |row: Option<_>, wrap| Ok(row.map(wrap)))
    }

    pub(crate) async fn fetch_one(self) -> StoreResult<Row> {
        run!(self, |q, on| q.fetch_one(on), |row, wrap: fn(_) -> Row| Ok(wrap(row)))
    }

    /// Runs the statement; answers how many rows it changed.
    pub(crate) async fn execute(self) -> StoreResult<u64> {
        run!(self, |q, on| q.execute(on), |done, _wrap: fn(_) -> Row| Ok(rows_affected(done)))
    }
}

/// What both engines' `execute` results have in common.
trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::sqlite::SqliteQueryResult::rows_affected(self)
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        sqlx::postgres::PgQueryResult::rows_affected(self)
    }
}

fn rows_affected(done: impl RowsAffected) -> u64 {
    done.rows_affected()
}

#[cfg(test)]
mod tests {
    use crate::db::{Db, Time};
    use chrono::{TimeZone, Utc};

    async fn memory() -> Db {
        Db::Sqlite(sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap())
    }

    #[tokio::test]
    async fn pushed_arguments_follow_the_bound_ones() {
        let db = memory().await;
        let row = db
            .query("SELECT $1 AS first, ")
            .bind("a")
            .push_bind("b")
            .push(" AS second, 3 IN ")
            .push_list([1_i64, 2, 3])
            .push(" AS listed")
            .fetch_one()
            .await
            .unwrap();
        assert_eq!(row.get::<String>("first").unwrap(), "a");
        assert_eq!(row.get::<String>("second").unwrap(), "b");
        assert!(row.get::<bool>("listed").unwrap());
    }

    #[tokio::test]
    async fn times_are_milliseconds_in_sqlite() {
        let db = memory().await;
        let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
        let row =
            db.query("SELECT $1 AS at, typeof($1) AS kind, $1 + 0 AS raw").bind(Time(at)).fetch_one().await.unwrap();
        assert_eq!(row.time("at").unwrap(), at);
        assert_eq!(row.get::<String>("kind").unwrap(), "integer");
        assert_eq!(row.get::<i64>("raw").unwrap(), 1_700_000_000_123);
    }
}
