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

/// How long a cached page of a project list (or a user's access to a project) may be served. Changes written by this process drop
/// the pages they touch at once; this bounds how late a change written by another process (a
/// separate `cinegen worker`, another instance) shows, and keeps minted thumbnail links fresh.
pub const SEEN_TTL: Duration = Duration::from_secs(2);

/// What each user sees of projects: serialised pages of their project lists, and their access to
/// single projects (role and current version, which pick the cached document). The store
/// announces every committed project write with the users it concerns (owner and members); what
/// those users saw is dropped before their next request is served, so a caller always sees their
/// own writes and those of anyone in the same process.
#[derive(Clone)]
pub struct SeenProjects {
    users: Cache<UserId, Arc<UserSees>>,
    changes: Arc<std::sync::Mutex<tokio::sync::broadcast::Receiver<Arc<cinegen_store::Announcement>>>>,
}

/// What one user saw: list pages by query, access by project. A handle taken before reading the
/// database and filled after can never serve something from before a change: the change drops
/// the handle from the cache.
#[derive(Default)]
pub struct UserSees {
    pages: std::sync::Mutex<std::collections::HashMap<String, bytes::Bytes>>,
    access: std::sync::Mutex<std::collections::HashMap<cinegen_domain::ProjectId, crate::projects::ProjectAccess>>,
}

impl UserSees {
    pub fn access(&self, project: cinegen_domain::ProjectId) -> Option<crate::projects::ProjectAccess> {
        self.access.lock().unwrap_or_else(|e| e.into_inner()).get(&project).copied()
    }

    pub fn remember_access(&self, access: crate::projects::ProjectAccess) {
        self.access.lock().unwrap_or_else(|e| e.into_inner()).insert(access.id(), access);
    }

    pub fn get(&self, query: &str) -> Option<bytes::Bytes> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).get(query).cloned()
    }

    pub fn insert(&self, query: String, page: bytes::Bytes) {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).insert(query, page);
    }
}

impl SeenProjects {
    /// A cache of `store`'s lists whose pages carry file links valid for `url_ttl`.
    pub fn new(store: &dyn Store, url_ttl: Duration) -> Self {
        let changes = Arc::new(std::sync::Mutex::new(store.project_changes().subscribe()));
        let ttl = SEEN_TTL.min(url_ttl / 2);
        Self { users: Cache::builder().max_capacity(CAPACITY).time_to_live(ttl).build(), changes }
    }

    /// What `user` saw, after applying every change announced so far.
    pub fn of(&self, user: UserId) -> Arc<UserSees> {
        self.apply_changes();
        self.users.get_with(user, || Arc::new(UserSees::default()))
    }

    fn apply_changes(&self) {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match changes.try_recv() {
                Ok(heard) => heard.users.iter().for_each(|user| self.users.invalidate(user)),
                // Missed announcements: any page may be stale.
                Err(TryRecvError::Lagged(_)) => self.users.invalidate_all(),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
    }
}

/// The Redis channel on which instances tell each other whose project lists changed.
const LIST_CHANGES_CHANNEL: &str = "cinegen:project-list-changes";

/// An announcement as it travels between instances.
#[derive(serde::Serialize, serde::Deserialize)]
struct ListChange {
    /// The instance that wrote (it has applied the change already).
    from: String,
    /// Whose lists changed; `None`: anyone's (the announcer missed some of its own).
    users: Option<Vec<UserId>>,
}

impl SeenProjects {
    /// Drops the pages of `users`.
    pub fn forget(&self, users: &[UserId]) {
        users.iter().for_each(|user| self.users.invalidate(user));
    }

    /// Shares announcements with the other instances through Redis at `url`: this process's
    /// writes drop pages there, and theirs drop pages here, as soon as Redis delivers them.
    pub async fn share_through_redis(&self, store: &dyn Store, url: &str) -> anyhow::Result<()> {
        use futures::StreamExt;
        use redis::AsyncCommands;
        use tokio::sync::broadcast::error::RecvError;
        let instance = uuid::Uuid::new_v4().simple().to_string();

        let client = redis::Client::open(url)?;
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(LIST_CHANGES_CHANNEL).await?;
        let (cache, me) = (self.clone(), instance.clone());
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let Ok(payload) = message.get_payload::<String>() else { continue };
                match serde_json::from_str::<ListChange>(&payload) {
                    Ok(change) if change.from == me => {}
                    Ok(ListChange { users: Some(users), .. }) => cache.forget(&users),
                    Ok(ListChange { users: None, .. }) => cache.users.invalidate_all(),
                    Err(error) => tracing::warn!(error = %error, "unreadable project-list change on Redis"),
                }
            }
            tracing::warn!("the Redis project-list subscription ended");
        });

        let mut local = store.project_changes().subscribe();
        let mut publisher = crate::ephemeral::redis::connect(url).await?;
        tokio::spawn(async move {
            loop {
                let users = match local.recv().await {
                    Ok(heard) => Some(heard.users.clone()),
                    Err(RecvError::Lagged(_)) => None,
                    Err(RecvError::Closed) => return,
                };
                let change = ListChange { from: instance.clone(), users };
                let Ok(payload) = serde_json::to_string(&change) else { continue };
                if let Err(error) = publisher.publish::<_, _, ()>(LIST_CHANGES_CHANNEL, payload).await {
                    tracing::warn!(error = %error, "publishing a project-list change failed");
                }
            }
        });
        Ok(())
    }
}
