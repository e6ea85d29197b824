//! Whose project lists a committed write changed, announced after the commit so a cache of those
//! lists in this process can drop them at once; a change of a project itself also names the
//! project and its new version, for the live feed of those who have it open.
//!
//! Only writes made through this store object are seen here; another process announces its own
//! (the server relays them between instances when it has Redis).

use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, UserId};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast;

/// A committed change of a project: which, its version now, when and by whom (`None`: the
/// system, e.g. a generation placing its picture).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectChanged {
    pub project: ProjectId,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

/// One announcement: the users whose project lists may now read differently (each once), and the
/// project change behind it when there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Announcement {
    pub users: Vec<UserId>,
    pub change: Option<ProjectChanged>,
}

/// How many announcements a slow listener may fall behind before it hears `Lagged` (and should
/// then forget everything it cached).
const CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct ProjectChanges {
    sender: broadcast::Sender<Arc<Announcement>>,
}

impl Default for ProjectChanges {
    fn default() -> Self {
        Self { sender: broadcast::channel(CAPACITY).0 }
    }
}

impl ProjectChanges {
    /// Every later announcement.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Announcement>> {
        self.sender.subscribe()
    }

    /// Announces that the lists of `users` changed; nobody listening is fine.
    pub fn announce(&self, users: Vec<UserId>) {
        self.send(users, None);
    }

    /// Announces a change of a project, to `users` (its owner and members).
    pub fn announce_change(&self, users: Vec<UserId>, change: ProjectChanged) {
        self.send(users, Some(change));
    }

    fn send(&self, mut users: Vec<UserId>, change: Option<ProjectChanged>) {
        users.sort_by_key(|u| u.as_uuid());
        users.dedup();
        if !users.is_empty() {
            let _ = self.sender.send(Arc::new(Announcement { users, change }));
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
        assert_eq!(heard.users.len(), 2);
        assert!(heard.users.contains(&a) && heard.users.contains(&b));
        assert_eq!(heard.change, None);
        assert!(listener.try_recv().is_err(), "an empty announcement is not sent");
    }

    #[tokio::test]
    async fn a_project_change_names_the_project_and_its_version() {
        let changes = ProjectChanges::default();
        let mut listener = changes.subscribe();
        let (owner, project) = (UserId::new(), ProjectId::new());
        let change = ProjectChanged { project, version: 7, updated_at: Utc::now(), updated_by: Some(owner) };
        changes.announce_change(vec![owner], change.clone());
        let heard = listener.recv().await.unwrap();
        assert_eq!((heard.users.as_slice(), heard.change.as_ref()), ([owner].as_slice(), Some(&change)));
    }
}
