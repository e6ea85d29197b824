//! Takes: every finished generation of an image or clip slot, kept with how it was made.
//!
//! A slot's document field holds the chosen take's file; earlier takes stay until pruned. Several
//! takes may share one file (identical bytes of a project are stored once), and a file goes only
//! when its last take does.

use crate::StoreResult;
use crate::files::FileRecord;
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind, ProjectId, TakeId, TaskId, UserId};
use serde_json::Value;

/// An amount of money in millionths of its currency's unit (so sums stay exact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub micros: i64,
    /// `USD` or `CNY`.
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TakeRecord {
    pub id: TakeId,
    pub project_id: ProjectId,
    /// The slot's key (`keyframe/shot-1/kf-1`, `clip/shot-1`, `film`).
    pub slot: String,
    pub file_id: FileId,
    pub pinned: bool,
    /// Who asked for it (none when kept from before takes, or the account is gone).
    pub made_by: Option<UserId>,
    pub task_id: Option<TaskId>,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// A fingerprint of the inputs the document gave (prompt, reference files): when the
    /// document's inputs no longer hash to it, the take is stale.
    pub inputs_hash: Option<String>,
    pub cost: Option<Money>,
    /// Everything else about how it was made (parameters, prompts, references, timings, job id).
    pub provenance: Value,
    pub created_at: DateTime<Utc>,
}

/// What deleting a take did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeletedTake {
    pub take: TakeRecord,
    /// The file, when this was its last take: now deleted and refunded; its object is the
    /// caller's to remove.
    pub file: Option<FileRecord>,
}

#[async_trait::async_trait]
pub trait TakeStore {
    /// Records a take of a ready file of its project; `NotFound` (nothing written) when the file
    /// is not, or no longer, a ready file of that project.
    async fn insert_take(&self, take: &TakeRecord) -> StoreResult<()>;

    /// The project's takes whose file is ready, newest first; only those of `slot` when given.
    async fn takes(&self, project: ProjectId, slot: Option<&str>) -> StoreResult<Vec<TakeRecord>>;

    async fn take(&self, project: ProjectId, id: TakeId) -> StoreResult<Option<TakeRecord>>;

    /// The project's takes of any of `files` (the takes a document's slots hold, or references).
    async fn takes_of_files(&self, project: ProjectId, files: &[FileId]) -> StoreResult<Vec<TakeRecord>>;

    /// Pins or unpins a take; `None` when the project has no such take.
    async fn set_take_pinned(&self, project: ProjectId, id: TakeId, pinned: bool) -> StoreResult<Option<TakeRecord>>;

    /// Deletes a take and, when no other take holds its file, the file too (refunding the quota),
    /// in one transaction. `None` when the project has no such take.
    async fn delete_take(&self, project: ProjectId, id: TakeId, now: DateTime<Utc>)
    -> StoreResult<Option<DeletedTake>>;

    /// Unpinned takes beyond their project's `keep_takes` in their slot (the oldest first to go),
    /// at most `limit`, each with its project's owner: what the upkeep prunes, unless a slot
    /// still holds one.
    async fn takes_beyond_keep(&self, limit: i64) -> StoreResult<Vec<(TakeRecord, UserId)>>;

    /// A ready file of `project` and `kind` with these bytes (by SHA-256) that a take holds: the
    /// file a generation with identical bytes reuses instead of storing them again.
    async fn take_file_with_digest(
        &self,
        project: ProjectId,
        kind: FileKind,
        sha256: &str,
    ) -> StoreResult<Option<FileRecord>>;
}
