use super::SqlStore;
use crate::db::{Conn, Time};
use crate::{NewSession, RotateOutcome, SessionStore, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{SessionId, UserId};

async fn insert(conn: &mut Conn<'_>, new: &NewSession) -> StoreResult<()> {
    conn.query(
        "INSERT INTO sessions (id, family_id, user_id, token_hash, user_agent, ip, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new.id)
    .bind(new.family_id.as_uuid())
    .bind(new.user_id.as_uuid())
    .bind(&new.token_hash)
    .bind(&new.user_agent)
    .bind(&new.ip)
    .bind(Time(new.created_at))
    .bind(Time(new.expires_at))
    .execute()
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()> {
        insert(&mut self.db.acquire().await?.conn(), &new).await
    }

    async fn rotate_session(&self, presented_hash: &str, mut next: NewSession) -> StoreResult<RotateOutcome> {
        let now = Time(next.created_at);
        let mut tx = self.db.begin().await?;
        // The conditional UPDATE is the lock (SQLite's write lock, PostgreSQL's row lock): a
        // concurrent rotation of the same token waits, then matches nothing because rotated_at
        // is set, and reports reuse.
        let spent = tx
            .query(
                "UPDATE sessions SET rotated_at = $1
                 WHERE token_hash = $2 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $1
                 RETURNING user_id, family_id",
            )
            .bind(now)
            .bind(presented_hash)
            .fetch_optional()
            .await?;
        if let Some(row) = spent {
            next.user_id = UserId(row.uuid("user_id")?);
            next.family_id = SessionId(row.uuid("family_id")?);
            insert(&mut tx.conn(), &next).await?;
            tx.commit().await?;
            return Ok(RotateOutcome::Rotated { user_id: next.user_id, family_id: next.family_id });
        }
        tx.rollback().await?;
        let row = self
            .db
            .query("SELECT user_id, family_id, expires_at FROM sessions WHERE token_hash = $1")
            .bind(presented_hash)
            .fetch_optional()
            .await?;
        let Some(row) = row else { return Ok(RotateOutcome::Unknown) };
        if row.get::<Time>("expires_at")? <= now {
            return Ok(RotateOutcome::Expired);
        }
        Ok(RotateOutcome::Reused {
            user_id: UserId(row.uuid("user_id")?),
            family_id: SessionId(row.uuid("family_id")?),
        })
    }

    async fn revoke_family(&self, family_id: SessionId, now: DateTime<Utc>) -> StoreResult<u64> {
        self.revoke_live("family_id", family_id.as_uuid(), now).await
    }

    async fn revoke_user_sessions(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<u64> {
        self.revoke_live("user_id", user_id.as_uuid(), now).await
    }

    async fn live_families(&self, families: &[SessionId], now: DateTime<Utc>) -> StoreResult<Vec<SessionId>> {
        if families.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(
                "SELECT DISTINCT family_id FROM sessions
                 WHERE revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $1 AND family_id IN ",
            )
            .bind(Time(now))
            .push_list(families.iter().map(|f| f.as_uuid()))
            .fetch_all()
            .await?;
        rows.iter().map(|row| Ok(SessionId::from(row.uuid("family_id")?))).collect()
    }
}

impl SqlStore {
    /// Revokes the live tokens whose `column` is `id`; answers how many.
    async fn revoke_live(&self, column: &str, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        let sql = format!(
            "UPDATE sessions SET revoked_at = $1 WHERE {column} = $2 AND revoked_at IS NULL AND rotated_at IS NULL"
        );
        self.db.query(sql).bind(Time(now)).bind(id).execute().await
    }
}
