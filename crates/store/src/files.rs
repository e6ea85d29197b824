//! Stored files and the quota they count against.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind, FileStatus, ProjectId, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: FileId,
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub kind: FileKind,
    /// The name to offer on download (never used in a storage key).
    pub file_name: String,
    pub content_type: String,
    pub file_size: i64,
    pub sha256: Option<String>,
    pub storage_key: String,
    pub status: FileStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One stored part of a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadPart {
    pub part_number: i32,
    pub size: i64,
    pub etag: String,
}

/// Bytes and files of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindUsage {
    pub kind: String,
    pub bytes: i64,
    pub files: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    pub total: i64,
    pub used: i64,
    pub by_kind: Vec<KindUsage>,
}

/// What an owner holds and has promised, read under their row lock before a new upload is promised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reservations {
    pub total: i64,
    pub used: i64,
    /// Unfinished (unexpired pending) uploads, and the bytes they promise.
    pub pending: i64,
    pub reserved: i64,
}

impl Reservations {
    /// Whether one more pending upload of `size` bytes fits.
    pub fn admit(self, size: i64, max_pending: i64) -> crate::StoreResult<()> {
        if self.pending >= max_pending {
            return Err(crate::StoreError::TooManyPending);
        }
        if self.used + self.reserved + size > self.total {
            return Err(crate::StoreError::QuotaExceeded);
        }
        Ok(())
    }
}

#[async_trait::async_trait]
pub trait FileStore {
    /// Records an upload that has been promised but not yet made, reserving its size: the owner's
    /// ready files plus every unexpired pending upload must fit the quota (`QuotaExceeded`), and
    /// the owner may have at most `max_pending` of them (`TooManyPending`). Checked and written
    /// under the owner's row lock, so concurrent requests cannot together pass either limit. A
    /// reservation ends when the upload completes (and is charged), fails or expires.
    async fn create_pending_file(&self, file: &FileRecord, max_pending: i64) -> StoreResult<()>;

    /// Records a stored file as ready and charges its size to the owner's quota, atomically:
    /// `QuotaExceeded` (and nothing written) when it does not fit.
    async fn insert_ready_file(&self, file: &FileRecord) -> StoreResult<()>;

    /// Marks a pending upload ready (no longer expiring) with the size and checksum the server measured, charging the
    /// quota in the same transaction. Concurrent completions can never together pass the quota.
    async fn complete_file(&self, id: FileId, size: i64, sha256: &str, now: DateTime<Utc>) -> StoreResult<FileRecord>;

    /// The file if `user` owns it or is a member of its (not deleted) project.
    async fn file_for(&self, id: FileId, user: UserId) -> StoreResult<Option<FileRecord>>;

    async fn file_by_id(&self, id: FileId) -> StoreResult<Option<FileRecord>>;

    /// The ready files among `ids`, whatever their project (callers check that).
    async fn ready_files(&self, ids: &[FileId]) -> StoreResult<Vec<FileRecord>>;

    /// The ready files among `ids` that belong to `project` (for minting a document's URLs).
    async fn ready_files_of_project(&self, project: ProjectId, ids: &[FileId]) -> StoreResult<Vec<FileRecord>>;

    /// Marks a file deleted, refunding its bytes if it was ready. Answers the file as it was.
    async fn delete_file(&self, id: FileId, now: DateTime<Utc>) -> StoreResult<Option<FileRecord>>;

    async fn usage(&self, user: UserId) -> StoreResult<Usage>;

    /// Notes that a pending file is assembled from the multipart upload `upload_id`.
    async fn set_multipart(&self, id: FileId, upload_id: &str, part_size: i64) -> StoreResult<()>;

    /// The multipart upload of a pending file: `(upload_id, part_size)`.
    async fn multipart_of(&self, id: FileId) -> StoreResult<Option<(String, i64)>>;

    /// Records a stored part (again, when a part is sent again).
    async fn record_part(&self, id: FileId, part: &UploadPart, now: DateTime<Utc>) -> StoreResult<()>;

    /// Files the cleanup removes: pending uploads and other files past `expires_at`, and files of
    /// projects deleted before `purge_before`. At most `limit`.
    async fn files_to_clean(
        &self,
        now: DateTime<Utc>,
        purge_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<FileRecord>>;

    /// Storage keys of every file that is pending or ready, with its status.
    async fn live_file_keys(&self) -> StoreResult<Vec<(String, FileStatus)>>;

    /// The parts stored so far, by number.
    async fn parts(&self, id: FileId) -> StoreResult<Vec<UploadPart>>;

    /// Sets `quota_used` to the sum of the user's ready files; answers (before, after).
    async fn recompute_quota(&self, user: UserId) -> StoreResult<(i64, i64)>;
}
