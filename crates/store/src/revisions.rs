//! Document history: earlier versions of a project's script, parsed script and shot list.
//!
//! A version is kept when a person's change replaces it (a generation writing a picture keeps
//! none). Changes by the same person within [`SESSION`] of the last kept version are one step,
//! so autosave keeps a version every ten minutes of editing rather than one a second. At most
//! [`KEEP_PER_PROJECT`] are kept per project; the scheduled upkeep drops those older than its
//! retention.

use crate::StoreResult;
use chrono::{DateTime, Duration, Utc};
use cinegen_domain::project::Documents;
use cinegen_domain::{ProjectId, UserId};

/// Changes by one person closer together than this to the last kept version keep no other.
pub const SESSION: Duration = Duration::minutes(10);

/// Earlier versions kept per project; the oldest go first.
pub const KEEP_PER_PROJECT: i64 = 50;

/// Who makes an authored change, and whether the version it replaces must be kept whatever the
/// session (a restore: what it replaces must stay reachable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Author {
    pub user: UserId,
    pub keep_replaced: bool,
}

impl Author {
    pub fn editing(user: UserId) -> Self {
        Self { user, keep_replaced: false }
    }

    pub fn restoring(user: UserId) -> Self {
        Self { user, keep_replaced: true }
    }
}

/// A kept version without its documents, as the history list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionSummary {
    pub version: i64,
    /// Who made this version; `None` for a generation (or an account since deleted).
    pub made_by: Option<Person>,
    pub made_at: DateTime<Utc>,
    /// Whose change replaced it, and when.
    pub replaced_by: Option<Person>,
    pub replaced_at: DateTime<Utc>,
    pub shot_count: i64,
    pub character_count: i64,
    pub scene_count: i64,
    /// Characters of the written script.
    pub script_chars: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: UserId,
    pub name: String,
}

/// A kept version with its documents.
#[derive(Debug, Clone)]
pub struct Revision {
    pub summary: RevisionSummary,
    pub raw_script: String,
    pub docs: Documents,
}

#[async_trait::async_trait]
pub trait RevisionStore {
    /// The project's kept versions, newest first.
    async fn revisions(&self, project: ProjectId) -> StoreResult<Vec<RevisionSummary>>;

    /// One kept version with its documents.
    async fn revision(&self, project: ProjectId, version: i64) -> StoreResult<Option<Revision>>;

    /// Drops the versions replaced before `before`; answers how many.
    async fn prune_revisions_before(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}
