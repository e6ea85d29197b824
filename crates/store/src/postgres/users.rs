use super::PostgresStore;
use crate::{NewUser, StoreError, StoreResult, UserStore};
use chrono::{DateTime, Utc};
use cinegen_domain::{ByteSize, Email, User, UserId};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

const USER_COLUMNS: &str = "id, email, name, password_hash, quota_total, quota_used, created_at, updated_at";

fn user_from_row(row: &PgRow) -> StoreResult<User> {
    let email: String = row.try_get("email")?;
    Ok(User {
        id: UserId(row.try_get::<Uuid, _>("id")?),
        email: Email::parse(&email).map_err(|e| StoreError::Config(format!("stored email: {}", e.message)))?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        quota_total: ByteSize(row.try_get("quota_total")?),
        quota_used: ByteSize(row.try_get("quota_used")?),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait::async_trait]
impl UserStore for PostgresStore {
    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let sql = format!(
            "INSERT INTO users (id, email, name, password_hash, quota_total, quota_used, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING {USER_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.id.as_uuid())
            .bind(new.email.as_str())
            .bind(new.name.as_str())
            .bind(&new.password_hash)
            .bind(new.quota_total.0)
            .bind(new.now)
            .fetch_one(&self.pool)
            .await?;
        user_from_row(&row)
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower($1)");
        let row = sqlx::query(&sql).bind(email.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn set_quota_total(&self, id: UserId, total: ByteSize, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET quota_total = $1, updated_at = $2 WHERE id = $3")
            .bind(total.0)
            .bind(now)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    async fn set_password_hash(&self, id: UserId, hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
