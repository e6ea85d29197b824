//! Accounts.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{ByteSize, DisplayName, Email, User, UserId};

/// A user about to be created; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub email: Email,
    pub name: DisplayName,
    pub password_hash: String,
    pub quota_total: ByteSize,
    pub now: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait UserStore {
    /// Creates the user; an email that exists in any letter case gives `Conflict("users_email")`.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;

    /// Finds by email, ignoring letter case.
    async fn user_by_email(&self, email: &Email) -> StoreResult<Option<User>>;

    /// Sets the quota; `NotFound` when there is no such user.
    async fn set_quota_total(&self, id: UserId, total: ByteSize, now: DateTime<Utc>) -> StoreResult<()>;

    /// Replaces the password hash; `NotFound` when there is no such user.
    async fn set_password_hash(&self, id: UserId, hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
}
