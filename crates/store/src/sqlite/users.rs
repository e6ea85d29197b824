use super::{SqliteStore, from_millis, millis};
use crate::{NewUser, StoreError, StoreResult, UserStore};
use chrono::{DateTime, Utc};
use cinegen_domain::{ByteSize, Email, User, UserId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

const USER_COLUMNS: &str = "id, email, name, password_hash, quota_total, quota_used, created_at, updated_at";

fn user_from_row(row: &SqliteRow) -> StoreResult<User> {
    let email: String = row.try_get("email")?;
    Ok(User {
        id: UserId(row.try_get::<Uuid, _>("id")?),
        email: Email::parse(&email).map_err(|e| StoreError::Config(format!("stored email: {}", e.message)))?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        quota_total: ByteSize(row.try_get("quota_total")?),
        quota_used: ByteSize(row.try_get("quota_used")?),
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}

#[async_trait::async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let sql = format!(
            "INSERT INTO users (id, email, name, password_hash, quota_total, quota_used, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, 0, ?, ?) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.id.as_uuid())
            .bind(new.email.as_str())
            .bind(new.name.as_str())
            .bind(&new.password_hash)
            .bind(new.quota_total.0)
            .bind(millis(new.now))
            .bind(millis(new.now))
            .fetch_one(&self.pool)
            .await?;
        user_from_row(&row)
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?");
        let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = ? COLLATE NOCASE");
        let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_quota_total(&self, id: UserId, total: ByteSize, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET quota_total = ?, updated_at = ? WHERE id = ?")
            .bind(total.0)
            .bind(millis(now))
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(hash)
            .bind(millis(now))
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
