//! A short-lived read cache of accounts for the hottest read (`GET /auth/me` and, later, every
//! permission check).
//!
//! Entries live for [`USER_TTL`] and are dropped at once when this process changes the user, so
//! a change made here is seen here immediately; a change made by another process (an admin
//! command, another instance) is seen within the TTL.

use cinegen_domain::{User, UserId};
use cinegen_store::{Store, StoreResult};
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;

pub const USER_TTL: Duration = Duration::from_secs(2);
const CAPACITY: u64 = 100_000;

#[derive(Clone)]
pub struct UserCache {
    entries: Cache<UserId, Arc<User>>,
}

impl Default for UserCache {
    fn default() -> Self {
        Self { entries: Cache::builder().max_capacity(CAPACITY).time_to_live(USER_TTL).build() }
    }
}

impl UserCache {
    /// The user, from the cache or else from the store.
    pub async fn get(&self, store: &dyn Store, id: UserId) -> StoreResult<Option<Arc<User>>> {
        if let Some(user) = self.entries.get(&id) {
            return Ok(Some(user));
        }
        let Some(user) = store.user_by_id(id).await? else { return Ok(None) };
        let user = Arc::new(user);
        self.entries.insert(id, user.clone());
        Ok(Some(user))
    }

    /// Forgets `id`; call after every write to that user.
    pub fn invalidate(&self, id: UserId) {
        self.entries.invalidate(&id);
    }
}

/// Serialised projects keyed by `(id, version)`: a version never changes, so an entry is never
/// stale as a document; it lives only as long as the file URLs minted into it stay comfortably
/// valid (half their lifetime, at most an hour). Entries are weighed by size, 256 MiB in all.
#[derive(Clone)]
pub struct ProjectCache {
    entries: Cache<(cinegen_domain::ProjectId, i64), bytes::Bytes>,
}

impl ProjectCache {
    pub fn new(url_ttl: Duration) -> Self {
        let ttl = (url_ttl / 2).min(Duration::from_secs(3600));
        let entries = Cache::builder()
            .max_capacity(256 * 1024 * 1024)
            .weigher(|_, body: &bytes::Bytes| u32::try_from(body.len()).unwrap_or(u32::MAX))
            .time_to_live(ttl)
            .build();
        Self { entries }
    }

    pub fn get(&self, id: cinegen_domain::ProjectId, version: i64) -> Option<bytes::Bytes> {
        self.entries.get(&(id, version))
    }

    pub fn insert(&self, id: cinegen_domain::ProjectId, version: i64, body: bytes::Bytes) {
        self.entries.insert((id, version), body);
    }
}
