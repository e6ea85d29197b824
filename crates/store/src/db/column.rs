//! The column types both engines share, so a value is written and read back the same on either.
//! Ids are UUIDs (a 16-byte BLOB in SQLite, `UUID` in PostgreSQL), JSON is `serde_json::Value`
//! or `Json<T>` (TEXT in SQLite, JSONB in PostgreSQL), and times are [`Time`].
//!
//! Only the types listed here can be bound or read: a `DateTime` would bind on both engines, but
//! SQLite would keep it as TEXT where the schema has milliseconds, so it is refused at compile time.

use chrono::{DateTime, TimeZone, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::types::Json;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type};

/// A value that can be bound as an argument on both engines.
pub(crate) trait Param<'q>:
    Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres> + Send + 'q
{
}

/// A value that can be read from a column on both engines.
pub(crate) trait FromColumn:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

macro_rules! shared {
    ($($t:ty),*) => {$(
        impl<'q> Param<'q> for $t {}
        impl FromColumn for $t {}
    )*};
}
shared!(uuid::Uuid, String, i64, i32, bool, serde_json::Value, Time);

impl<'q> Param<'q> for &'q str {}
impl<'q, T: Param<'q> + Sync> Param<'q> for &'q T {}
impl<'q, T: Param<'q>> Param<'q> for Option<T> where Option<T>: Encode<'q, Sqlite> + Encode<'q, Postgres> {}
impl<'q, T: serde::Serialize + Send + Sync + 'q> Param<'q> for Json<T> {}

impl<T: FromColumn> FromColumn for Option<T> {}

/// A moment, to the millisecond: Unix milliseconds in SQLite's INTEGER columns (so comparisons
/// are integer comparisons), `TIMESTAMPTZ` in PostgreSQL. PostgreSQL would keep microseconds;
/// both directions round down to the millisecond so the engines read the same value back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Time(pub DateTime<Utc>);

impl Time {
    fn millis(self) -> i64 {
        self.0.timestamp_millis()
    }

    fn from_millis(ms: i64) -> Self {
        Self(Utc.timestamp_millis_opt(ms).single().unwrap_or_default())
    }

    fn truncated(at: DateTime<Utc>) -> Self {
        Self::from_millis(at.timestamp_millis())
    }
}

impl From<DateTime<Utc>> for Time {
    fn from(at: DateTime<Utc>) -> Self {
        Self(at)
    }
}

impl From<Time> for DateTime<Utc> {
    fn from(time: Time) -> Self {
        time.0
    }
}

impl Type<Sqlite> for Time {
    fn type_info() -> <Sqlite as Database>::TypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Time {
    fn encode_by_ref(&self, buf: &mut <Sqlite as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.millis(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Time {
    fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::from_millis(<i64 as Decode<'r, Sqlite>>::decode(value)?))
    }
}

impl Type<Postgres> for Time {
    fn type_info() -> <Postgres as Database>::TypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &<Postgres as Database>::TypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Time {
    fn encode_by_ref(&self, buf: &mut <Postgres as Database>::ArgumentBuffer<'q>) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'q, Postgres>>::encode(Self::truncated(self.0).0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Time {
    fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::truncated(<DateTime<Utc> as Decode<'r, Postgres>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_keep_milliseconds_and_drop_the_rest() {
        let at = Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap();
        let kept = Time::truncated(at);
        assert_eq!(kept.0.timestamp_subsec_nanos(), 123_000_000);
        assert_eq!(Time::from_millis(kept.millis()), kept);
    }
}
