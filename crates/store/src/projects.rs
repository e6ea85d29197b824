//! Projects and their members.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::project::search::{self, RANGE_END};
use cinegen_domain::project::{ChangeError, Documents, ProjectRole, ProjectSettings, ProjectStatus};
use cinegen_domain::{FileId, ProjectId, UserId};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A whole project as stored.
#[derive(Debug, Clone)]
pub struct ProjectRecord {
    pub id: ProjectId,
    pub owner_id: UserId,
    pub title: String,
    pub status: ProjectStatus,
    pub settings: ProjectSettings,
    pub raw_script: String,
    pub docs: Documents,
    /// Top-level fields this server does not know, kept for the client that sent them.
    pub extra: Map<String, Value>,
    pub merged_video_file_id: Option<FileId>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who made the latest change; `None` when it was a generation (or the creation).
    pub updated_by: Option<UserId>,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl ProjectRecord {
    /// The search terms of this project's title and logline.
    pub fn search_terms(&self) -> BTreeSet<String> {
        let logline = self.docs.summary().logline;
        search::index_terms([self.title.as_str(), logline.as_str()])
    }
}

/// A project as a list shows it: no documents, only figures derived from them.
#[derive(Debug, Clone)]
pub struct ProjectListItem {
    pub id: ProjectId,
    pub owner_id: UserId,
    pub title: String,
    pub status: ProjectStatus,
    pub settings: ProjectSettings,
    pub role: ProjectRole,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub shot_count: i64,
    pub keyframes_done: i64,
    pub clips_done: i64,
    pub thumbnail: Option<String>,
    pub logline: String,
}

/// Which projects a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Active,
    Archived,
    /// The caller's own deleted projects, which can still be restored.
    Deleted,
    /// Active and archived.
    Live,
}

impl StatusFilter {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            "deleted" => Some(Self::Deleted),
            "all" => Some(Self::Live),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectQuery {
    /// Only projects this user owns or is a member of.
    pub user: UserId,
    /// 1-based.
    pub page: u32,
    pub size: u32,
    /// Search words (see `search::query_words`); a project matches when it matches all.
    pub words: Vec<String>,
    pub status: StatusFilter,
}

impl ProjectQuery {
    pub fn offset(&self) -> i64 {
        i64::from(self.page.saturating_sub(1)) * i64::from(self.size)
    }

    /// `(from, to)` bounds of each word's prefix range.
    pub fn word_ranges(&self) -> Vec<(String, String)> {
        self.words.iter().map(|w| (w.clone(), format!("{w}{RANGE_END}"))).collect()
    }
}

/// A member of a project, with the account's public fields.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: ProjectRole,
    pub since: DateTime<Utc>,
}

/// An invitation to a project for an address with no account yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub project_id: ProjectId,
    /// As `Email` normalises it (trimmed, lower case).
    pub email: String,
    pub role: ProjectRole,
    pub invited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the caller may do with a project, and its current version and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessInfo {
    pub owner_id: UserId,
    pub role: ProjectRole,
    pub version: i64,
    pub status: ProjectStatus,
}

/// What [`ProjectStore::change_project_and_enqueue`] did.
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub project: ProjectRecord,
    pub tasks: Vec<crate::TaskRecord>,
    /// False when an idempotent replay answered the earlier task and changed nothing.
    pub created: bool,
}

/// A change to a project, run while the project is locked for writing. It may refuse (nothing is
/// written); otherwise the store bumps the version, re-derives the list figures and search terms,
/// and writes everything in the same transaction.
pub type ProjectChange = Box<dyn FnOnce(&mut ProjectRecord) -> Result<(), ChangeError> + Send>;

#[async_trait::async_trait]
pub trait ProjectStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()>;

    /// The project with the caller's role, if the caller owns it or is a member.
    async fn project_for(&self, id: ProjectId, user: UserId) -> StoreResult<Option<(ProjectRecord, ProjectRole)>>;

    /// The caller's role and the project's version, without loading the documents.
    async fn access_info(&self, id: ProjectId, user: UserId) -> StoreResult<Option<AccessInfo>>;

    /// A page of the caller's projects, newest change first, and the total count.
    async fn list_projects(&self, query: &ProjectQuery) -> StoreResult<(Vec<ProjectListItem>, i64)>;

    /// Applies `change` atomically; `NotFound` when the project is gone, `Rejected` when the change
    /// refuses.
    async fn change_project(&self, id: ProjectId, change: ProjectChange) -> StoreResult<ProjectRecord> {
        Ok(self.change_project_and_enqueue(id, change, Vec::new()).await?.project)
    }

    /// Applies `change` and enqueues `tasks` in one transaction: the change that asks for work (a
    /// slot marked `generating`) and the work land together or not at all. When the first task's
    /// idempotency key was used before by its user, nothing changes and that task is answered.
    async fn change_project_and_enqueue(
        &self,
        id: ProjectId,
        change: ProjectChange,
        tasks: Vec<crate::NewTask>,
    ) -> StoreResult<Enqueued>;

    /// Applies a person's `change` ([`ProjectStore::change_project`]): they become the project's
    /// `updated_by`, and when the documents change, the version they replace is kept in the
    /// document history (see [`crate::revisions`]).
    async fn change_project_as(
        &self,
        id: ProjectId,
        author: crate::revisions::Author,
        change: ProjectChange,
    ) -> StoreResult<ProjectRecord>;

    /// Adds a member or changes their role.
    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: ProjectRole,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Removes a member; false when they were not one.
    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<bool>;

    /// The members of a project (not its owner), oldest first.
    async fn members(&self, project: ProjectId) -> StoreResult<Vec<Member>>;

    /// Invites an address to a project; an earlier invitation of the address is replaced.
    async fn invite(&self, invitation: &Invitation) -> StoreResult<()>;

    /// The project's invitations that have not expired by `now`, oldest first.
    async fn invitations(&self, project: ProjectId, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>>;

    /// Withdraws an invitation; false when there was none.
    async fn cancel_invitation(&self, project: ProjectId, email: &str) -> StoreResult<bool>;

    /// Makes each invitation of `email` unexpired at `now` a membership of `user` (a role they
    /// already hold is kept), and removes every invitation of the address; answers the projects
    /// joined.
    async fn accept_invitations(&self, user: UserId, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<ProjectId>>;

    /// Removes the invitations that expired by `now`; answers how many.
    async fn drop_invitations_expired_by(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Deletes for good the projects deleted before `before`; answers their ids.
    async fn purge_projects_deleted_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<ProjectId>>;
}
