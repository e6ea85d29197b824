//! Asset slots of project documents on their way in and out (DESIGN §2, asset references).
//!
//! In: inline `data:` images are stored as files and replaced by their file id; URLs of our own
//! files are dropped (the id is what counts); other URLs (an old export, a provider link) are
//! downloaded into storage in the background, each result written back into its slot.
//! Out: every slot with a file id gets a freshly minted URL.

use crate::error::AppResult;
use crate::files::FileService;
use crate::files::service::PersistError;
use crate::tasks::kind::TaskKind;
use base64::Engine as _;
use cinegen_domain::project::Documents;
use cinegen_domain::project::assets::{SlotId, for_each_slot, slot_mut};
use cinegen_domain::{FileId, FileKind, ProjectId, UserId};
use cinegen_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// An asset that is not stored yet, and where it came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssetReport {
    /// Where it sits, e.g. `shots[shot-1].keyframes[kf-1s]`.
    pub slot: String,
    /// The source (cut to 200 characters; `data:` URIs are not repeated).
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The download of a pending asset, to follow on the live feed: it may still fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub task_id: Option<cinegen_domain::TaskId>,
}

/// What normalising a document did.
#[derive(Debug, Default)]
pub struct Normalized {
    /// Files stored from inline data, to remove again if the document is then refused.
    pub stored: Vec<FileId>,
    pub imported: Vec<AssetReport>,
    /// External URLs to download after the document is saved.
    pub pending: Vec<(SlotId, FileKind, String)>,
    /// The download queued for each of `pending`, in the same order, once queued.
    pub downloads: Vec<cinegen_domain::TaskId>,
    pub missing: Vec<AssetReport>,
}

#[derive(Clone)]
pub struct AssetService {
    files: FileService,
    store: Arc<dyn Store>,
}

fn source_label(url: &str) -> String {
    if url.starts_with("data:") { "data: URI".into() } else { url.chars().take(200).collect() }
}

/// Decodes `data:<type>;base64,<payload>`.
fn decode_data_uri(url: &str) -> Option<Vec<u8>> {
    let (meta, payload) = url.strip_prefix("data:")?.split_once(',')?;
    if !meta.ends_with(";base64") {
        return None;
    }
    base64::engine::general_purpose::STANDARD.decode(payload.trim()).ok()
}

/// Whether a URL points at one of our own stored objects.
fn is_ours(url: &str) -> bool {
    url.starts_with("/files/users/")
        || (url.contains("/users/") && url.contains("/projects/") && url.contains("X-Amz-"))
}

impl AssetService {
    pub fn new(files: FileService, store: Arc<dyn Store>) -> Self {
        Self { files, store }
    }

    /// Stores inline images, drops our own URLs and lists external ones (see the module docs).
    /// Files are charged to `owner`, the project's owner.
    pub async fn normalize(&self, owner: UserId, project: ProjectId, docs: &mut Documents) -> Normalized {
        let mut found = Vec::new();
        for_each_slot(docs, |slot| {
            if let Some(url) = slot.url() {
                found.push((slot.id.clone(), slot.kind, url.to_owned(), slot.file_id().is_some()));
            }
        });
        let mut outcome = Normalized::default();
        for (slot_id, kind, url, has_file) in found {
            let Some(mut slot) = slot_mut(docs, &slot_id) else { continue };
            let report = |reason: Option<String>| AssetReport {
                slot: slot_id.describe(),
                source: source_label(&url),
                reason,
                task_id: None,
            };
            if url.starts_with("data:") {
                let stored = match decode_data_uri(&url) {
                    Some(bytes) => self.files.persist_bytes(owner, project, kind, bytes.into(), "inline").await,
                    None => Err(crate::error::AppError::bad_request("not a base64 data: URI", Vec::new())),
                };
                match stored {
                    Ok(file) => {
                        slot.set_file_id(Some(file.id.to_string()));
                        slot.set_url(None);
                        outcome.stored.push(file.id);
                        outcome.imported.push(report(None));
                    }
                    Err(error) => {
                        tracing::info!(project.id = %project, slot = %slot_id.describe(), error = %error, "inline asset refused");
                        slot.set_url(None);
                        slot.set_status("failed");
                        outcome.missing.push(report(Some(error.to_string())));
                    }
                }
            } else if is_ours(&url) && has_file {
                slot.set_url(None);
            } else if !has_file && (url.starts_with("http://") || url.starts_with("https://")) {
                outcome.pending.push((slot_id, kind, url));
            }
        }
        outcome
    }

    /// Removes files stored by a normalisation whose document was then refused.
    pub async fn discard(&self, owner: UserId, stored: &[FileId]) {
        for id in stored {
            let _ = self.files.delete(owner, *id).await;
        }
    }

    /// Queues one download task per external asset; a worker stores each result (a file id, or
    /// an empty slot marked failed) into the slot it came from.
    pub async fn enqueue_downloads(
        &self,
        owner: UserId,
        project: ProjectId,
        pending: Vec<(SlotId, FileKind, String)>,
    ) -> AppResult<Vec<cinegen_domain::TaskId>> {
        let now = chrono::Utc::now();
        let mut queued = Vec::with_capacity(pending.len());
        for (slot, kind, url) in pending {
            let task = cinegen_store::NewTask {
                id: cinegen_domain::TaskId::new(),
                user_id: owner,
                project_id: Some(project),
                parent_id: None,
                task_type: TaskKind::IMPORT_ASSET.into(),
                // Background work: anything a user waits on goes first.
                priority: -10,
                payload: TaskKind::from(ImportAssetPayload { slot, kind, url }).payload(),
                max_attempts: 3,
                idempotency_key: None,
                run_at: now,
                now,
                spend: None,
            };
            queued.push(self.store.enqueue(&task).await?.0.id);
        }
        Ok(queued)
    }

    pub(crate) async fn write_back(
        &self,
        owner: UserId,
        project: ProjectId,
        slot_id: SlotId,
        url: String,
        result: Result<cinegen_store::FileRecord, PersistError>,
    ) {
        let file_id = result.as_ref().ok().map(|f| f.id);
        let change = move |record: &mut cinegen_store::ProjectRecord| {
            if let Some(mut slot) = slot_mut(&mut record.docs, &slot_id)
                && slot.url() == Some(url.as_str())
            {
                slot.set_url(None);
                match file_id {
                    Some(id) => slot.set_file_id(Some(id.to_string())),
                    None => slot.set_status("failed"),
                }
            }
            Ok(())
        };
        if self.store.change_project(project, Box::new(change)).await.is_err()
            && let Some(id) = file_id
        {
            // The project is gone; the file has no home.
            let _ = self.files.delete(owner, id).await;
        }
    }

    /// Puts a fresh URL into every slot that holds a file id of this project.
    pub async fn mint(&self, project: ProjectId, docs: &mut Documents) -> AppResult<()> {
        let mut ids = Vec::new();
        for_each_slot(docs, |slot| {
            if let Some(id) = slot.file_id().and_then(|id| id.parse::<FileId>().ok()) {
                ids.push(id);
            }
        });
        let files = self.store.ready_files_of_project(project, &ids).await?;
        let mut urls = HashMap::with_capacity(files.len());
        for file in files {
            let id = file.id.to_string();
            urls.insert(id, self.files.mint(file).await?.url);
        }
        for_each_slot(docs, |mut slot| {
            if let Some(url) = slot.file_id().and_then(|id| urls.get(id)).cloned() {
                slot.set_url(Some(url));
            }
        });
        Ok(())
    }

    /// Fresh URLs for list thumbnails (`file:<id>` references of each project). A reference to a
    /// file of another project is ignored: documents are client-written, and a file id in them
    /// must never reach a file the project does not own.
    pub async fn thumbnail_urls(&self, items: &[(ProjectId, Option<String>)]) -> AppResult<HashMap<ProjectId, String>> {
        let wanted: Vec<(ProjectId, FileId)> = items
            .iter()
            .filter_map(|(project, thumb)| {
                let id = thumb.as_deref()?.strip_prefix("file:")?.parse().ok()?;
                Some((*project, id))
            })
            .collect();
        let ids: Vec<FileId> = wanted.iter().map(|(_, id)| *id).collect();
        let files = self.store.ready_files(&ids).await?;
        let mut urls = HashMap::new();
        for file in files {
            let Some((project, _)) = wanted.iter().find(|(p, id)| *id == file.id && file.project_id == Some(*p)) else {
                continue;
            };
            let project = *project;
            urls.insert(project, self.files.mint(file).await?.url);
        }
        Ok(urls)
    }

    /// A fresh URL for the project's merged film.
    pub async fn merged_video_url(&self, project: ProjectId, file: Option<FileId>) -> AppResult<Option<String>> {
        let Some(id) = file else { return Ok(None) };
        let files = self.store.ready_files_of_project(project, &[id]).await?;
        match files.into_iter().next() {
            Some(file) => Ok(Some(self.files.mint(file).await?.url)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_uris_decode() {
        assert_eq!(decode_data_uri("data:image/png;base64,iVBORw0K"), Some(vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a]));
        assert_eq!(decode_data_uri("data:text/plain,hello"), None);
        assert_eq!(decode_data_uri("https://x"), None);
    }

    #[test]
    fn our_urls_are_recognised() {
        assert!(is_ours("/files/users/a/projects/b/scenes/c.png?exp=1&sig=2"));
        assert!(!is_ours("https://ark-content.example.com/x.png"));
    }
}

/// Runs `import_asset` tasks: downloads one outside asset into storage and writes the result
/// into its slot. Transient failures retry (with the queue's backoff) while attempts remain; the
/// last failure leaves the slot empty and failed.
pub struct ImportAssetHandler {
    pub assets: AssetService,
}

/// One outside asset to download into its slot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportAssetPayload {
    pub slot: SlotId,
    pub kind: FileKind,
    pub url: String,
}

#[async_trait::async_trait]
impl crate::tasks::TaskHandler for ImportAssetHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::IMPORT_ASSET
    }

    async fn run(&self, ctx: &crate::tasks::TaskContext) -> Result<serde_json::Value, crate::tasks::TaskError> {
        use crate::tasks::TaskError;
        let payload: ImportAssetPayload = TaskKind::input(&ctx.task)?;
        let (owner, project) = match ctx.task.project_id {
            Some(project) => (ctx.task.user_id, project),
            None => return Err(TaskError::permanent("VALIDATION_ERROR", "an import task names no project")),
        };
        ctx.progress(10, "downloading").await?;
        let result = self.assets.files.persist_from_url(owner, project, payload.kind, &payload.url).await;
        let transient = matches!(&result, Err(PersistError::Fetch(error)) if error.is_transient());
        if transient && ctx.attempt() < ctx.task.max_attempts {
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            return Err(TaskError::transient(message));
        }
        let outcome = result.as_ref().map(|file| file.id.to_string()).map_err(ToString::to_string);
        self.assets.write_back(owner, project, payload.slot, payload.url, result).await;
        match outcome {
            Ok(file_id) => Ok(serde_json::json!({ "file_id": file_id })),
            Err(reason) => Err(TaskError::permanent("ASSET_MISSING", reason)),
        }
    }
}
