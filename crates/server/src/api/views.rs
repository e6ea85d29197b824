//! Response shapes shared by several routes.

use chrono::{DateTime, Utc};
use cinegen_domain::{User, UserId};
use serde::Serialize;
use utoipa::ToSchema;

/// A user as the API shows it: never the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: String,
    /// Bytes the user may store.
    pub quota_total: i64,
    /// Bytes the user's ready files take.
    pub quota_used: i64,
    /// `quota_used` as a share of `quota_total`, 0–100.
    pub quota_percent: f64,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.to_string(),
            name: user.name.clone(),
            quota_total: user.quota_total.0,
            quota_used: user.quota_used.0,
            quota_percent: user.quota_percent(),
            created_at: user.created_at,
        }
    }
}
