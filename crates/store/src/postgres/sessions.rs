use super::PostgresStore;
use crate::{NewSession, RotateOutcome, SessionStore, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{SessionId, UserId};
use sqlx::Row;
use uuid::Uuid;

const INSERT_SESSION: &str = "INSERT INTO sessions
    (id, family_id, user_id, token_hash, user_agent, ip, created_at, expires_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

fn insert<'q>(new: &'q NewSession) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(INSERT_SESSION)
        .bind(new.id)
        .bind(new.family_id.as_uuid())
        .bind(new.user_id.as_uuid())
        .bind(&new.token_hash)
        .bind(&new.user_agent)
        .bind(&new.ip)
        .bind(new.created_at)
        .bind(new.expires_at)
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        insert(&new).execute(&self.pool).await?;
        Ok(())
    }

    async fn rotate_session(&self, presented_hash: &str, mut next: NewSession) -> StoreResult<RotateOutcome> {
        let now = next.created_at;
        let mut tx = self.pool.begin().await?;
        // The conditional UPDATE row-locks the token; a concurrent rotation waits, then matches
        // nothing because rotated_at is set, and reports reuse.
        let spent = sqlx::query(
            "UPDATE sessions SET rotated_at = $1
             WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1
             RETURNING user_id, family_id",
        )
        .bind(now)
        .bind(presented_hash)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = spent {
            next.user_id = UserId(row.try_get::<Uuid, _>("user_id")?);
            next.family_id = SessionId(row.try_get::<Uuid, _>("family_id")?);
            insert(&next).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Rotated { user_id: next.user_id, family_id: next.family_id });
        }
        tx.rollback().await?;
        let row = sqlx::query("SELECT user_id, family_id, expires_at FROM sessions WHERE token_hash = $1")
            .bind(presented_hash)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(RotateOutcome::Unknown) };
        if row.try_get::<DateTime<Utc>, _>("expires_at")? <= now {
            return Ok(RotateOutcome::Expired);
        }
        Ok(RotateOutcome::Reused {
            user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
            family_id: SessionId(row.try_get::<Uuid, _>("family_id")?),
        })
    }

    async fn revoke_family(&self, family_id: SessionId, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL AND rotated_at IS NULL",
        )
        .bind(now)
        .bind(family_id.as_uuid())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn revoke_user_sessions(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND rotated_at IS NULL",
        )
        .bind(now)
        .bind(user_id.as_uuid())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn live_families(&self, families: &[SessionId], now: DateTime<Utc>) -> StoreResult<Vec<SessionId>> {
        if families.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT DISTINCT family_id FROM sessions WHERE revoked_at IS NULL AND rotated_at IS NULL AND expires_at > ",
        );
        query.push_bind(now).push(" AND family_id IN (");
        let mut list = query.separated(", ");
        for family in families {
            list.push_bind(family.as_uuid());
        }
        query.push(")");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(|row| Ok(SessionId::from(row.try_get::<Uuid, _>("family_id")?))).collect()
    }
}
