//! Whose project lists a committed write changed, announced after the commit so a cache of those
//! lists in this process can drop them at once.
//!
//! Only writes made through this store object are seen here; another process announces its own
//! (the server relays them between instances when it has Redis).

use cinegen_domain::UserId;
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many announcements a slow listener may fall behind before it hears `Lagged` (and should
/// then forget everything it cached).
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct ProjectChanges {
    sender: broadcast::Sender<Arc<[UserId]>>,
}

impl Default for ProjectChanges {
    fn default() -> Self {
        Self { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl ProjectChanges {
    /// Every later announcement: the users whose project lists may now read differently.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<[UserId]>> {
        self.sender.subscribe()
    }

    /// Announces that the lists of `users` changed; nobody listening is fine.
    pub fn announce(&self, mut users: Vec<UserId>) {
        users.sort_by_key(|u| u.as_uuid());
        users.dedup();
        if !users.is_empty() {
            let _ = self.sender.send(users.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn listeners_hear_each_user_once_per_announcement() {
        let changes = ProjectChanges::default();
        let mut listener = changes.subscribe();
        let (a, b) = (UserId::new(), UserId::new());
        changes.announce(vec![a, b, a]);
        changes.announce(Vec::new());
        let heard = listener.recv().await.unwrap();
        assert_eq!(heard.len(), 2);
        assert!(heard.contains(&a) && heard.contains(&b));
        assert!(listener.try_recv().is_err(), "an empty announcement is not sent");
    }
}
