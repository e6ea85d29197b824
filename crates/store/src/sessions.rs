//! Refresh-token sessions: stored hashed, rotated on every use, revoked by family.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{SessionId, UserId};

/// One refresh token about to be stored. `token_hash` is the SHA-256 of the token; the token
/// itself is never stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: uuid::Uuid,
    pub family_id: SessionId,
    pub user_id: UserId,
    pub token_hash: String,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was live; it is now spent and its successor stored.
    Rotated { user_id: UserId, family_id: SessionId },
    /// The token was already rotated or revoked: someone replayed it. The caller revokes the family.
    Reused { user_id: UserId, family_id: SessionId },
    /// The token had expired.
    Expired,
    /// No such token was ever issued.
    Unknown,
}

#[async_trait::async_trait]
pub trait SessionStore {
    async fn create_session(&self, new: NewSession) -> StoreResult<()>;

    /// Spends the token whose hash is `presented_hash` and stores `next` (same user and family)
    /// in one transaction. Of two concurrent rotations of one token exactly one succeeds; the
    /// other sees `Reused`. `next.user_id` and `next.family_id` are taken from the spent row.
    async fn rotate_session(&self, presented_hash: &str, next: NewSession) -> StoreResult<RotateOutcome>;

    /// Revokes every token of a family (logout, or reuse detected). Returns how many were live.
    async fn revoke_family(&self, family_id: SessionId, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Revokes every token of a user (password reset). Returns how many were live.
    async fn revoke_user_sessions(&self, user_id: UserId, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Which of `families` still have a live refresh token (not rotated, revoked or expired):
    /// the sessions whose open connections may stay open.
    async fn live_families(&self, families: &[SessionId], now: DateTime<Utc>) -> StoreResult<Vec<SessionId>>;
}
