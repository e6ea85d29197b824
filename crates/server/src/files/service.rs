//! The rules of files, independent of HTTP.

use crate::error::{AppError, AppResult};
use crate::projects::ProjectService;
use chrono::{DateTime, Utc};
use cinegen_domain::files::{content_matches, sniff};
use cinegen_domain::{FieldError, FileId, FileKind, FileStatus, ProjectId, UserId, ValidationErrors};
use cinegen_storage::{FetchError, Fetcher, Storage, StorageError, StorageKey, UploadTarget};
use cinegen_store::{FileRecord, Store, StoreError, UploadPart, Usage};
use std::sync::Arc;
use std::time::Duration;

const MIB: i64 = 1024 * 1024;
/// S3 needs parts of 5 MiB at least (but the last); 64 MiB bounds what one request buffers.
const MIN_PART: i64 = 5 * MIB;
const MAX_PART: i64 = 64 * MIB;
const DEFAULT_PART: i64 = 16 * MIB;
const MAX_PARTS: i64 = 10_000;

/// How many parts of `part_size` bytes carry `size` bytes (both positive).
fn parts_of(size: i64, part_size: i64) -> i64 {
    // Not `(size + part_size - 1) / part_size`: a declared size near i64::MAX would overflow.
    size / part_size + i64::from(size % part_size != 0)
}

/// How a multipart upload is cut.
#[derive(Debug, Clone, Copy)]
pub struct MultipartPlan {
    pub part_size: i64,
    pub parts: i64,
}

/// Pending uploads expire after this long if never completed.
const UPLOAD_WINDOW: chrono::Duration = chrono::Duration::hours(24);

#[derive(Clone)]
pub struct FileService {
    store: Arc<dyn Store>,
    storage: Storage,
    fetcher: Fetcher,
    projects: ProjectService,
    url_ttl: Duration,
}

/// What a client asks to upload.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    pub file_name: String,
    pub file_type: String,
    pub file_size: i64,
    pub project_id: String,
    pub content_type: String,
}

/// A file with a fresh URL.
#[derive(Debug, Clone)]
pub struct MintedFile {
    pub file: FileRecord,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// A display name: the last path segment, without control characters, at most 200 characters.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let trimmed = cleaned.trim().trim_start_matches('.');
    if trimmed.is_empty() { "file".to_owned() } else { trimmed.to_owned() }
}

fn storage_error(error: StorageError) -> AppError {
    match error {
        StorageError::TooLarge { limit } => AppError::PayloadTooLarge(format!("the file is larger than {limit} bytes")),
        other => AppError::internal(other),
    }
}

/// Where an upload's bytes are when it is completed: where the client's own PUT put them
/// (staged, on S3), or already at the key (parts the server assembled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landed {
    AsUploaded,
    AtKey,
}

/// Unfinished uploads one user may have at once (each reserves its size until it ends).
pub const MAX_PENDING_UPLOADS: i64 = 20;

fn quota_exceeded() -> AppError {
    crate::ops::metrics::quota_exceeded("storage");
    AppError::QuotaExceeded("this file does not fit in your storage quota".into())
}

impl FileService {
    pub fn new(
        store: Arc<dyn Store>,
        storage: Storage,
        fetcher: Fetcher,
        projects: ProjectService,
        url_ttl: Duration,
    ) -> Self {
        Self { store, storage, fetcher, projects, url_ttl }
    }

    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Checks an upload request (project role, type, size, quota) and answers where to put it.
    pub async fn request_upload(&self, user: UserId, request: UploadRequest) -> AppResult<(FileRecord, UploadTarget)> {
        let (file, key) = self.prepare_upload(user, request).await?;
        let target = self
            .storage
            .upload_target(&key, &file.content_type, file.file_size as u64, self.url_ttl)
            .await
            .map_err(storage_error)?;
        Ok((file, target))
    }

    /// Validates an upload request and records the pending file.
    async fn prepare_upload(&self, user: UserId, request: UploadRequest) -> AppResult<(FileRecord, StorageKey)> {
        let mut errors = ValidationErrors::default();
        let kind = errors.check(FileKind::parse(&request.file_type));
        let project_id = request.project_id.parse::<ProjectId>().ok();
        if project_id.is_none() {
            errors.push(FieldError::new("project_id", "must be a project id"));
        }
        let content_type = request.content_type.trim().to_ascii_lowercase();
        if let Some(kind) = kind {
            if !kind.accepted_types().contains(&content_type.as_str()) {
                let accepted = kind.accepted_types().join(", ");
                errors.push(FieldError::new(
                    "content_type",
                    format!("a {} file must be one of {accepted}", kind.as_str()),
                ));
            }
            if request.file_size <= 0 {
                errors.push(FieldError::new("file_size", "must be greater than 0"));
            } else if request.file_size > kind.max_bytes() {
                errors.push(FieldError::new("file_size", format!("must be at most {} bytes", kind.max_bytes())));
            }
        }
        let (Some(kind), Some(project_id)) = (kind, project_id) else { return Err(AppError::validation(errors)) };
        errors.into_result().map_err(AppError::validation)?;
        self.projects.authorize(user, project_id).await?.editor()?;
        let now = Utc::now();
        let id = FileId::new();
        let key = StorageKey::for_file(user, project_id, kind, id, &content_type);
        let file = FileRecord {
            id,
            user_id: user,
            project_id: Some(project_id),
            kind,
            file_name: clean_file_name(&request.file_name),
            content_type: content_type.clone(),
            file_size: request.file_size,
            sha256: None,
            storage_key: key.to_string(),
            status: FileStatus::Pending,
            created_at: now,
            updated_at: now,
            expires_at: Some(now + UPLOAD_WINDOW),
        };
        // The promised bytes are reserved now, so uploads that are never completed cannot fill
        // the disk beyond the quota.
        self.store.create_pending_file(&file, MAX_PENDING_UPLOADS).await.map_err(|e| match e {
            StoreError::QuotaExceeded => quota_exceeded(),
            StoreError::TooManyPending => {
                crate::ops::metrics::rate_limited("uploads");
                AppError::RateLimited {
                    retry_after_secs: 60,
                    message: format!(
                        "at most {MAX_PENDING_UPLOADS} uploads may be unfinished at once; complete or abort some first"
                    ),
                    left: None,
                }
            }
            other => other.into(),
        })?;
        Ok((file, key))
    }

    /// Starts a resumable upload in parts of `part_size` bytes (5–64 MiB, default 16 MiB).
    pub async fn start_multipart(
        &self,
        user: UserId,
        request: UploadRequest,
        part_size: Option<i64>,
    ) -> AppResult<(FileRecord, MultipartPlan)> {
        let part_size = part_size.unwrap_or(DEFAULT_PART);
        if !(MIN_PART..=MAX_PART).contains(&part_size) {
            let error = FieldError::new("part_size", format!("must be between {MIN_PART} and {MAX_PART} bytes"));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        let parts = parts_of(request.file_size.max(1), part_size);
        if parts > MAX_PARTS {
            let error = FieldError::new("part_size", format!("makes {parts} parts; at most {MAX_PARTS} are allowed"));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        let (file, key) = self.prepare_upload(user, request).await?;
        let upload_id = self.storage.start_multipart(&key).await.map_err(storage_error)?;
        self.store.set_multipart(file.id, &upload_id, part_size).await?;
        Ok((file, MultipartPlan { part_size, parts }))
    }

    /// The caller's pending multipart upload `id`, its key, upload id and plan.
    async fn multipart(&self, user: UserId, id: FileId) -> AppResult<(FileRecord, StorageKey, String, MultipartPlan)> {
        let file = self.store.file_by_id(id).await?.filter(|f| f.user_id == user && f.status == FileStatus::Pending);
        let file = file.ok_or_else(|| AppError::not_found("upload"))?;
        let (upload_id, part_size) = self.store.multipart_of(id).await?.ok_or_else(|| AppError::not_found("upload"))?;
        let key = StorageKey::parse(&file.storage_key).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad key")))?;
        let parts = parts_of(file.file_size, part_size);
        Ok((file, key, upload_id, MultipartPlan { part_size, parts }))
    }

    /// The size part `number` must have: the part size, except for the last part.
    pub async fn expected_part_size(&self, user: UserId, id: FileId, number: i64) -> AppResult<i64> {
        let (file, _, _, plan) = self.multipart(user, id).await?;
        if !(1..=plan.parts).contains(&number) {
            let error = FieldError::new("part_number", format!("must be between 1 and {}", plan.parts));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        Ok(if number == plan.parts { file.file_size - plan.part_size * (plan.parts - 1) } else { plan.part_size })
    }

    /// Stores one part (again, if it was sent before). The body must have exactly the size
    /// [`Self::expected_part_size`] gives.
    pub async fn upload_part(
        &self,
        user: UserId,
        id: FileId,
        number: i64,
        bytes: bytes::Bytes,
    ) -> AppResult<UploadPart> {
        let expected = self.expected_part_size(user, id, number).await?;
        if bytes.len() as i64 != expected {
            return Err(AppError::bad_request(
                format!("part {number} must have {expected} bytes, not {}", bytes.len()),
                Vec::new(),
            ));
        }
        let (_, key, upload_id, _) = self.multipart(user, id).await?;
        let etag = self.storage.put_part(&key, &upload_id, number as u32, bytes).await.map_err(storage_error)?;
        let part = UploadPart { part_number: number as i32, size: expected, etag };
        self.store.record_part(id, &part, Utc::now()).await?;
        Ok(part)
    }

    /// The parts stored so far and the plan, so a client can resume.
    pub async fn upload_status(&self, user: UserId, id: FileId) -> AppResult<(MultipartPlan, Vec<UploadPart>)> {
        let (_, _, _, plan) = self.multipart(user, id).await?;
        Ok((plan, self.store.parts(id).await?))
    }

    /// Assembles the parts and verifies the result like a single upload (size, checksum, type,
    /// quota). A missing part answers 400 and keeps the upload resumable.
    pub async fn complete_multipart(&self, user: UserId, id: FileId, md5: Option<&str>) -> AppResult<MintedFile> {
        let (file, key, upload_id, plan) = self.multipart(user, id).await?;
        let parts = self.store.parts(id).await?;
        let missing: Vec<i64> =
            (1..=plan.parts).filter(|n| !parts.iter().any(|p| i64::from(p.part_number) == *n)).collect();
        if !missing.is_empty() {
            return Err(AppError::bad_request(
                format!("parts {missing:?} have not been uploaded yet"),
                vec![FieldError::new("parts", format!("missing: {missing:?}"))],
            ));
        }
        let tags: Vec<(u32, String)> = parts.iter().map(|p| (p.part_number as u32, p.etag.clone())).collect();
        if let Err(error) = self.storage.complete_multipart(&key, &upload_id, &tags, file.file_size as u64).await {
            let _ = self.storage.abort_multipart(&key, &upload_id).await;
            self.discard(&file, &key).await;
            return Err(storage_error(error));
        }
        // The server wrote the parts itself, at the key: nothing is staged.
        self.finish_upload(user, id, true, Some(file.file_size), md5, Landed::AtKey).await
    }

    /// Abandons a multipart upload and everything stored for it.
    pub async fn abort_multipart(&self, user: UserId, id: FileId) -> AppResult<()> {
        let (file, key, upload_id, _) = self.multipart(user, id).await?;
        self.storage.abort_multipart(&key, &upload_id).await.map_err(storage_error)?;
        self.discard(&file, &key).await;
        Ok(())
    }

    /// Verifies a client's upload against the stored object itself — it exists, has the declared
    /// size, the given MD5, and bytes of the declared type — then charges the quota and marks it
    /// ready. Any failure removes the object and the record.
    pub async fn complete_upload(
        &self,
        user: UserId,
        file_id: FileId,
        succeeded: bool,
        actual_size: Option<i64>,
        md5: Option<&str>,
    ) -> AppResult<MintedFile> {
        self.finish_upload(user, file_id, succeeded, actual_size, md5, Landed::AsUploaded).await
    }

    async fn finish_upload(
        &self,
        user: UserId,
        file_id: FileId,
        succeeded: bool,
        actual_size: Option<i64>,
        md5: Option<&str>,
        landed: Landed,
    ) -> AppResult<MintedFile> {
        let file = self.store.file_by_id(file_id).await?.filter(|f| f.user_id == user);
        let file = file.ok_or_else(|| AppError::not_found("file"))?;
        if file.status != FileStatus::Pending {
            return Err(AppError::Conflict {
                message: "this upload is already completed or deleted".into(),
                details: serde_json::json!({ "status": file.status.as_str() }),
            });
        }
        let key = StorageKey::parse(&file.storage_key).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad key")))?;
        let verified = match self.verify_upload(&file, &key, succeeded, actual_size, md5, landed).await {
            Ok(sha256) if landed == Landed::AsUploaded => {
                self.storage.promote_upload(&key).await.map_err(storage_error).map(|()| sha256)
            }
            other => other,
        };
        match verified {
            Ok(sha256) => match self.store.complete_file(file.id, file.file_size, &sha256, Utc::now()).await {
                Ok(ready) => self.mint(ready).await,
                Err(StoreError::QuotaExceeded) => {
                    self.discard(&file, &key).await;
                    Err(quota_exceeded())
                }
                Err(other) => Err(other.into()),
            },
            Err(error) => {
                self.discard(&file, &key).await;
                Err(error)
            }
        }
    }

    async fn verify_upload(
        &self,
        file: &FileRecord,
        key: &StorageKey,
        succeeded: bool,
        actual_size: Option<i64>,
        md5: Option<&str>,
        landed: Landed,
    ) -> AppResult<String> {
        let refuse = |message: String| AppError::bad_request(message, Vec::new());
        if !succeeded {
            return Err(refuse("the client reported the upload as failed; it was discarded".into()));
        }
        let head = match landed {
            Landed::AsUploaded => self.storage.head_upload(key).await,
            Landed::AtKey => self.storage.head(key).await,
        };
        if head.map_err(storage_error)?.is_none() {
            return Err(refuse("no uploaded object was found; upload the file before completing it".into()));
        }
        let digest = match landed {
            Landed::AsUploaded => self.storage.digest_upload(key).await,
            Landed::AtKey => self.storage.digest(key).await,
        };
        let digest = digest.map_err(storage_error)?;
        let size = digest.size as i64;
        if size != file.file_size || actual_size.is_some_and(|claimed| claimed != size) {
            return Err(refuse(format!("the stored object has {size} bytes, not the {} declared", file.file_size)));
        }
        if let Some(claimed) = md5.filter(|m| !m.is_empty())
            && !claimed.eq_ignore_ascii_case(&digest.md5)
        {
            return Err(refuse("checksum mismatch: the stored object's MD5 differs from the one given".into()));
        }
        if !content_matches(&file.content_type, &digest.head) {
            return Err(refuse(format!("the file's content is not {}", file.content_type)));
        }
        Ok(digest.sha256)
    }

    async fn discard(&self, file: &FileRecord, key: &StorageKey) {
        if let Err(error) = self.storage.delete(key).await {
            tracing::warn!(file.id = %file.id, error = %error, "could not remove a refused upload");
        }
        let _ = self.store.delete_file(file.id, Utc::now()).await;
    }

    /// Stores bytes made by the server (a generated image, a decoded `data:` URI) as a ready file,
    /// charging the owner's quota. The type is read from the bytes, not trusted.
    pub async fn persist_bytes(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        bytes: bytes::Bytes,
        file_name: &str,
    ) -> AppResult<FileRecord> {
        let content_type = self.accepted_type(kind, &bytes)?;
        if bytes.len() as i64 > kind.max_bytes() {
            return Err(AppError::PayloadTooLarge(format!(
                "a {} file may have at most {} bytes",
                kind.as_str(),
                kind.max_bytes()
            )));
        }
        let id = FileId::new();
        let key = StorageKey::for_file(owner, project, kind, id, content_type);
        let digest = self.storage.put_bytes(&key, bytes).await.map_err(storage_error)?;
        self.record_stored(owner, project, kind, id, key, content_type, file_name, digest).await
    }

    /// Stores generated bytes once per project and kind: where a take of the project already holds
    /// the same bytes (by SHA-256), that file is answered and nothing is written or counted again.
    pub async fn persist_generated(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        bytes: bytes::Bytes,
        file_name: &str,
    ) -> AppResult<FileRecord> {
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(&bytes));
        if let Some(held) = self.store.take_file_with_digest(project, kind, &digest).await? {
            return Ok(held);
        }
        self.persist_bytes(owner, project, kind, bytes, file_name).await
    }

    /// Stores a file made on disk (a merged film, an export archive) as a ready file, streaming
    /// it; the type is read from its first bytes.
    pub async fn persist_file(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        path: &std::path::Path,
        file_name: &str,
    ) -> AppResult<FileRecord> {
        use tokio::io::AsyncReadExt;
        let mut head = vec![0u8; 64];
        let mut file = tokio::fs::File::open(path).await.map_err(AppError::internal)?;
        let read = file.read(&mut head).await.map_err(AppError::internal)?;
        head.truncate(read);
        let content_type = self.accepted_type(kind, &head)?;
        let file = tokio::fs::File::open(path).await.map_err(AppError::internal)?;
        let id = FileId::new();
        let key = StorageKey::for_file(owner, project, kind, id, content_type);
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024);
        let digest = self.storage.put_stream(&key, stream, kind.max_bytes() as u64).await.map_err(storage_error)?;
        self.record_stored(owner, project, kind, id, key, content_type, file_name, digest).await
    }

    /// A stored file's bytes (an image handed to a provider).
    pub async fn read_all(&self, file: &FileRecord) -> AppResult<bytes::Bytes> {
        let key = StorageKey::parse(&file.storage_key).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad key")))?;
        let found = self.storage.get(&key, None).await.map_err(storage_error)?;
        found.bytes().await.map_err(|e| storage_error(e.into()))
    }

    /// Copies a stored file to `path` on local disk (a clip to merge), chunk by chunk.
    pub async fn copy_to(&self, file: &FileRecord, path: &std::path::Path) -> AppResult<()> {
        use futures::TryStreamExt;
        use tokio::io::AsyncWriteExt;
        let key = StorageKey::parse(&file.storage_key).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad key")))?;
        let mut stream = self.storage.get(&key, None).await.map_err(storage_error)?.into_stream();
        let mut out = tokio::fs::File::create(path).await.map_err(AppError::internal)?;
        while let Some(chunk) = stream.try_next().await.map_err(|e| storage_error(e.into()))? {
            out.write_all(&chunk).await.map_err(AppError::internal)?;
        }
        out.flush().await.map_err(AppError::internal)
    }

    /// Downloads a URL (SSRF-guarded, size-capped, retried) into storage as a ready file.
    pub async fn persist_from_url(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        url: &str,
    ) -> Result<FileRecord, PersistError> {
        let id = FileId::new();
        // The key's extension is fixed before the type is known; it is only a hint for humans.
        let provisional = kind.accepted_types()[0];
        let key = StorageKey::for_file(owner, project, kind, id, provisional);
        let fetched = self.fetcher.fetch_into(url, &self.storage, &key, kind.max_bytes() as u64).await?;
        let content_type = match sniff(&fetched.digest.head).filter(|t| kind.accepted_types().contains(t)) {
            Some(found) => found,
            None => {
                let _ = self.storage.delete(&key).await;
                return Err(PersistError::NotAccepted(kind));
            }
        };
        let name = url.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap_or("download");
        self.record_stored(owner, project, kind, id, key, content_type, name, fetched.digest)
            .await
            .map_err(PersistError::App)
    }

    fn accepted_type(&self, kind: FileKind, bytes: &[u8]) -> AppResult<&'static str> {
        sniff(bytes).filter(|t| kind.accepted_types().contains(t)).ok_or_else(|| {
            let accepted = kind.accepted_types().join(", ");
            AppError::bad_request(format!("a {} file must be one of {accepted}", kind.as_str()), Vec::new())
        })
    }

    #[expect(clippy::too_many_arguments, reason = "one record's fields, gathered in one place")]
    async fn record_stored(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        id: FileId,
        key: StorageKey,
        content_type: &str,
        file_name: &str,
        digest: cinegen_storage::Digest,
    ) -> AppResult<FileRecord> {
        let now = Utc::now();
        let file = FileRecord {
            id,
            user_id: owner,
            project_id: Some(project),
            kind,
            file_name: clean_file_name(file_name),
            content_type: content_type.to_owned(),
            file_size: digest.size as i64,
            sha256: Some(digest.sha256),
            storage_key: key.to_string(),
            status: FileStatus::Ready,
            created_at: now,
            updated_at: now,
            expires_at: None,
        };
        match self.store.insert_ready_file(&file).await {
            Ok(()) => Ok(file),
            Err(error) => {
                let _ = self.storage.delete(&key).await;
                Err(match error {
                    StoreError::QuotaExceeded => quota_exceeded(),
                    other => other.into(),
                })
            }
        }
    }

    /// A file the caller may reach (owner or project member), else `NOT_FOUND`.
    pub async fn visible(&self, user: UserId, id: FileId) -> AppResult<FileRecord> {
        self.store.file_for(id, user).await?.ok_or_else(|| AppError::not_found("file"))
    }

    /// A fresh URL for a ready file.
    pub async fn mint(&self, file: FileRecord) -> AppResult<MintedFile> {
        let key = StorageKey::parse(&file.storage_key).ok_or_else(|| AppError::internal(anyhow::anyhow!("bad key")))?;
        let (url, expires_at) = self.storage.download_url(&key, self.url_ttl, None).await.map_err(storage_error)?;
        Ok(MintedFile { file, url, expires_at })
    }

    /// A fresh URL for the file with `id`, if it is ready (for documents).
    pub async fn url_of(&self, id: FileId) -> Option<String> {
        let file = self.store.file_by_id(id).await.ok()??;
        if file.status != FileStatus::Ready {
            return None;
        }
        let key = StorageKey::parse(&file.storage_key)?;
        self.storage.download_url(&key, self.url_ttl, None).await.ok().map(|(url, _)| url)
    }

    /// Deletes a file that a slot of `project` held before it was replaced — only if the file
    /// belongs to that project: a document may still name another project's file (written before
    /// such ids were refused), and replacing it must never touch that project's work.
    pub async fn delete_replaced(&self, project: ProjectId, id: FileId) -> AppResult<()> {
        if self.store.ready_files_of_project(project, &[id]).await?.is_empty() {
            tracing::warn!(project.id = %project, file.id = %id, "a replaced slot named a file of another project; kept it");
            return Ok(());
        }
        if let Some(deleted) = self.store.delete_file(id, Utc::now()).await?
            && let Some(key) = StorageKey::parse(&deleted.storage_key)
        {
            self.storage.delete(&key).await.map_err(storage_error)?;
        }
        Ok(())
    }

    /// Removes the object of a file whose record the store has just deleted.
    pub async fn remove_object(&self, file: &FileRecord) -> AppResult<()> {
        match StorageKey::parse(&file.storage_key) {
            Some(key) => self.storage.delete(&key).await.map_err(storage_error),
            None => Ok(()),
        }
    }

    /// Content addressing for generated files: when a take of the project already holds a file of
    /// the same kind with these bytes (SHA-256), `fresh` is deleted (refunding its bytes) and that
    /// file is answered, so identical bytes are stored and counted once.
    pub async fn reuse_identical(&self, fresh: FileRecord) -> AppResult<FileRecord> {
        let (Some(project), Some(digest)) = (fresh.project_id, fresh.sha256.as_deref()) else { return Ok(fresh) };
        match self.store.take_file_with_digest(project, fresh.kind, digest).await? {
            Some(held) if held.id != fresh.id => {
                if let Some(deleted) = self.store.delete_file(fresh.id, Utc::now()).await? {
                    self.remove_object(&deleted).await?;
                }
                Ok(held)
            }
            _ => Ok(fresh),
        }
    }

    /// Deletes a file: its owner, or an editor of its project.
    pub async fn delete(&self, user: UserId, id: FileId) -> AppResult<()> {
        let file = self.visible(user, id).await?;
        if file.user_id != user {
            let project = file.project_id.ok_or_else(|| AppError::not_found("file"))?;
            self.projects.authorize(user, project).await?.editor()?;
        }
        if let Some(deleted) = self.store.delete_file(id, Utc::now()).await?
            && let Some(key) = StorageKey::parse(&deleted.storage_key)
        {
            self.storage.delete(&key).await.map_err(storage_error)?;
        }
        Ok(())
    }

    pub async fn usage(&self, user: UserId) -> AppResult<Usage> {
        Ok(self.store.usage(user).await?)
    }
}

/// What one cleanup pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CleanupReport {
    /// Expired uploads, expired files and files of purged projects, removed with their objects.
    pub removed_files: usize,
    /// Objects in storage that no file record names (older than an hour), removed.
    pub orphan_objects: usize,
    /// Files whose object has vanished from storage (reported, not changed).
    pub missing_objects: usize,
}

/// Objects younger than this may belong to an upload whose record is being written.
const ORPHAN_GRACE: chrono::Duration = chrono::Duration::hours(1);

impl FileService {
    /// Removes expired uploads and files, files of projects deleted before `purge_before`, and
    /// objects no record names; reports records whose object is gone.
    pub async fn clean_up(&self, now: DateTime<Utc>, purge_before: DateTime<Utc>) -> AppResult<CleanupReport> {
        let mut report = CleanupReport::default();
        loop {
            let batch = self.store.files_to_clean(now, purge_before, 200).await?;
            if batch.is_empty() {
                break;
            }
            for file in batch {
                let key = StorageKey::parse(&file.storage_key);
                if let (Some(key), Some((upload_id, _))) = (&key, self.store.multipart_of(file.id).await?) {
                    let _ = self.storage.abort_multipart(key, &upload_id).await;
                }
                if let Some(key) = &key {
                    self.storage.delete(key).await.map_err(storage_error)?;
                }
                self.store.delete_file(file.id, now).await?;
                report.removed_files += 1;
            }
        }
        let records = self.store.live_file_keys().await?;
        let live: std::collections::HashSet<&str> = records.iter().map(|(key, _)| key.as_str()).collect();
        let objects = self.storage.list("users").await.map_err(storage_error)?;
        let stored: std::collections::HashSet<String> = objects.iter().map(|o| o.location.to_string()).collect();
        for object in &objects {
            let name = object.location.to_string();
            if !live.contains(name.as_str())
                && object.last_modified < now - ORPHAN_GRACE
                && let Some(key) = StorageKey::parse(&name)
            {
                self.storage.delete(&key).await.map_err(storage_error)?;
                report.orphan_objects += 1;
            }
        }
        let missing: Vec<&String> = records
            .iter()
            .filter(|(key, status)| *status == FileStatus::Ready && !stored.contains(key))
            .map(|(key, _)| key)
            .collect();
        if !missing.is_empty() {
            tracing::warn!(count = missing.len(), first = %missing[0], "files whose object is missing from storage");
        }
        report.missing_objects = missing.len();
        Ok(report)
    }
}

/// Why `persist_from_url` stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the download is not a {} file of an accepted type", .0.as_str())]
    NotAccepted(FileKind),
    #[error(transparent)]
    App(AppError),
}

#[cfg(test)]
mod tests {
    use super::{clean_file_name, parts_of};

    #[test]
    fn parts_are_counted_without_overflow() {
        assert_eq!(parts_of(10, 5), 2);
        assert_eq!(parts_of(11, 5), 3);
        assert_eq!(parts_of(1, 5), 1);
        assert_eq!(parts_of(i64::MAX - 1, 5 << 20), (i64::MAX - 1) / (5 << 20) + 1, "a hostile declared size");
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\\\Users\\\\me\\\\场景.png"), "场景.png");
        assert_eq!(clean_file_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(clean_file_name(".."), "file");
        assert_eq!(clean_file_name("   "), "file");
    }
}
