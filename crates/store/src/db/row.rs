//! A row of either engine, read through the shared column types.

use super::Time;
use super::column::FromColumn;
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

pub(crate) enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    /// The value of `column` as `T`.
    pub(crate) fn get<T: FromColumn>(&self, column: &str) -> StoreResult<T> {
        Ok(match self {
            Self::Sqlite(row) => row.try_get(column)?,
            Self::Postgres(row) => row.try_get(column)?,
        })
    }

    pub(crate) fn uuid(&self, column: &str) -> StoreResult<uuid::Uuid> {
        self.get(column)
    }

    pub(crate) fn time(&self, column: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.get::<Time>(column)?.0)
    }

    pub(crate) fn opt_time(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(self.get::<Option<Time>>(column)?.map(|t| t.0))
    }

    /// A JSON column decoded into `T`; a document that does not fit is corrupt.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self, column: &str) -> StoreResult<T> {
        let value: serde_json::Value = self.get(column)?;
        serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
    }

    /// A text column parsed by `parse`; a value it refuses is corrupt.
    pub(crate) fn parsed<T>(&self, column: &str, parse: impl FnOnce(&str) -> Option<T>) -> StoreResult<T> {
        let text: String = self.get(column)?;
        parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{column} '{text}'")))
    }
}
