use super::SqlStore;
use crate::db::{Row, Time};
use crate::{Engine, NewUser, StoreError, StoreResult, UserStore};
use chrono::{DateTime, Utc};
use cinegen_domain::{ByteSize, Email, User, UserId};

const USER_COLUMNS: &str = "id, email, name, password_hash, quota_total, quota_used, created_at, updated_at";

fn user_from_row(row: &Row) -> StoreResult<User> {
    let email: String = row.get("email")?;
    Ok(User {
        id: UserId(row.uuid("id")?),
        email: Email::parse(&email).map_err(|e| StoreError::Corrupt(format!("stored email: {}", e.message)))?,
        name: row.get("name")?,
        password_hash: row.get("password_hash")?,
        quota_total: ByteSize(row.get("quota_total")?),
        quota_used: ByteSize(row.get("quota_used")?),
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// Matches `email` to `$1` in any case, the way each engine's unique index on it is built
/// (SQLite: NOCASE collation; PostgreSQL: `lower(email)`), so the lookup walks that index.
fn email_matches(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "email = $1 COLLATE NOCASE",
        Engine::Postgres => "lower(email) = lower($1)",
    }
}

#[async_trait::async_trait]
impl UserStore for SqlStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let sql = format!(
            "INSERT INTO users (id, email, name, password_hash, quota_total, quota_used, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING {USER_COLUMNS}"
        );
        let row = self
            .db
            .query(sql)
            .bind(new.id.as_uuid())
            .bind(new.email.as_str())
            .bind(new.name.as_str())
            .bind(&new.password_hash)
            .bind(new.quota_total.0)
            .bind(Time(new.now))
            .fetch_one()
            .await?;
        user_from_row(&row)
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = self.db.query(sql).bind(id.as_uuid()).fetch_optional().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {}", email_matches(self.db.engine()));
        let row = self.db.query(sql).bind(email.as_str()).fetch_optional().await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_quota_total(&self, id: UserId, total: ByteSize, now: DateTime<Utc>) -> StoreResult<()> {
        let changed = self
            .db
            .query("UPDATE users SET quota_total = $1, updated_at = $2 WHERE id = $3")
            .bind(total.0)
            .bind(Time(now))
            .bind(id.as_uuid())
            .execute()
            .await?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let changed = self
            .db
            .query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(Time(now))
            .bind(id.as_uuid())
            .execute()
            .await?;
        if changed == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
