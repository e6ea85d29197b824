//! The takes of a project as its people meet them: listed with their files, chosen, pinned,
//! deleted; staleness marked on the documents; the upkeep's pruning.

use super::{Provenance, inputs_hash};
use crate::cost::estimate::Amount;
use crate::error::{AppError, AppResult};
use crate::files::FileService;
use crate::projects::ProjectService;
use crate::projects::access::{EditorAccess, ProjectAccess};
use chrono::{DateTime, Utc};
use cinegen_domain::project::assets::{SlotId, TakeSlot, for_each_slot};
use cinegen_domain::{FileId, TakeId, UserId};
use cinegen_store::{ProjectRecord, Store, TakeRecord};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// One take as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TakeView {
    pub id: TakeId,
    /// The slot's key: `character/{id}`, `variation/{character}/{id}`, `scene/{id}`,
    /// `keyframe/{shot}/{id}`, `clip/{shot}` or `film` (ids with `%` and `/` escaped).
    pub slot: String,
    pub file_id: FileId,
    /// A fresh link to the take's file.
    pub url: String,
    pub content_type: String,
    pub file_size: i64,
    /// The slot holds this take now.
    pub chosen: bool,
    /// Pinned takes are never pruned.
    pub pinned: bool,
    /// The documents no longer give what this take was made from (a prompt, a look or a frame
    /// changed since).
    pub stale: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Amount>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub made_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub provenance: Provenance,
}

#[derive(Clone)]
pub struct TakeService {
    store: Arc<dyn Store>,
    files: FileService,
    projects: ProjectService,
}

fn slot_of(take: &TakeRecord) -> AppResult<TakeSlot> {
    TakeSlot::from_key(&take.slot)
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("take {} has an unreadable slot '{}'", take.id, take.slot)))
}

/// The file each slot holds now, by slot key.
fn held_files(project: &mut ProjectRecord) -> HashMap<String, FileId> {
    let mut held = HashMap::new();
    for_each_slot(&mut project.docs, |slot| {
        if let Some(file) = slot.file_id().and_then(|id| id.parse::<FileId>().ok()) {
            held.insert(slot.id.key(), file);
        }
    });
    if let Some(film) = project.merged_video_file_id {
        held.insert(TakeSlot::Film.key(), film);
    }
    held
}

impl TakeService {
    pub fn new(store: Arc<dyn Store>, files: FileService, projects: ProjectService) -> Self {
        Self { store, files, projects }
    }

    /// The project's takes (of one slot when `slot` is given), newest first.
    pub async fn list(&self, access: &ProjectAccess, slot: Option<&str>) -> AppResult<Vec<TakeView>> {
        if let Some(key) = slot
            && TakeSlot::from_key(key).is_none()
        {
            return Err(AppError::bad_request(
                format!("slot '{key}' is not a slot key (e.g. keyframe/shot-1/kf-1, clip/shot-1, film)"),
                Vec::new(),
            ));
        }
        let (mut project, _) = self.projects.load(access.caller(), access.id()).await?;
        let takes = self.store.takes(project.id, slot).await?;
        self.views(&mut project, takes).await
    }

    async fn views(&self, project: &mut ProjectRecord, takes: Vec<TakeRecord>) -> AppResult<Vec<TakeView>> {
        let ids: Vec<FileId> = takes.iter().map(|t| t.file_id).collect::<HashSet<_>>().into_iter().collect();
        let files = self.store.ready_files_of_project(project.id, &ids).await?;
        let mut minted = HashMap::with_capacity(files.len());
        for file in files {
            let id = file.id;
            minted.insert(id, self.files.mint(file).await?);
        }
        let held = held_files(project);
        let mut hashes: HashMap<String, Option<String>> = HashMap::new();
        let mut views = Vec::with_capacity(takes.len());
        for take in takes {
            let Some(file) = minted.get(&take.file_id) else { continue };
            let current = match hashes.get(&take.slot) {
                Some(hash) => hash.clone(),
                None => {
                    let hash = TakeSlot::from_key(&take.slot).and_then(|slot| inputs_hash(project, &slot));
                    hashes.insert(take.slot.clone(), hash.clone());
                    hash
                }
            };
            views.push(TakeView {
                id: take.id,
                chosen: held.get(&take.slot) == Some(&take.file_id),
                stale: take.inputs_hash.is_some() && take.inputs_hash != current,
                slot: take.slot,
                file_id: take.file_id,
                url: file.url.clone(),
                content_type: file.file.content_type.clone(),
                file_size: file.file.file_size,
                pinned: take.pinned,
                provider: take.provider,
                model: take.model,
                cost: take.cost.as_ref().map(Amount::from),
                made_by: take.made_by,
                created_at: take.created_at,
                provenance: serde_json::from_value(take.provenance).unwrap_or_default(),
            });
        }
        Ok(views)
    }

    /// One take of the project, else `NOT_FOUND`.
    pub async fn get(&self, access: &ProjectAccess, id: TakeId) -> AppResult<TakeRecord> {
        self.store.take(access.id(), id).await?.ok_or_else(|| AppError::not_found("take"))
    }

    /// Makes a take its slot's choice: the documents switch to its file in one versioned write.
    pub async fn choose(&self, access: &EditorAccess, id: TakeId) -> AppResult<ProjectRecord> {
        let take = self.get(access, id).await?;
        let slot = slot_of(&take)?;
        if self.store.ready_files_of_project(access.id(), &[take.file_id]).await?.is_empty() {
            return Err(AppError::not_found("take"));
        }
        // A voice's slot says how long it speaks: the chosen take's length comes with it.
        let mut fields = serde_json::Map::new();
        if matches!(slot, TakeSlot::Asset(SlotId::Voice { .. }))
            && let Some(duration) = take.provenance.pointer("/params/duration").filter(|d| d.is_number())
        {
            fields.insert("duration".into(), duration.clone());
        }
        self.projects.choose_file(access, slot, take.file_id, fields).await
    }

    pub async fn pin(&self, access: &EditorAccess, id: TakeId, pinned: bool) -> AppResult<TakeView> {
        let take =
            self.store.set_take_pinned(access.id(), id, pinned).await?.ok_or_else(|| AppError::not_found("take"))?;
        let (mut project, _) = self.projects.load(access.caller(), access.id()).await?;
        self.views(&mut project, vec![take]).await?.pop().ok_or_else(|| AppError::not_found("take"))
    }

    /// Deletes a take (and its file, when no other take holds it, refunding the quota). The take
    /// a slot holds cannot go: another is chosen first.
    pub async fn delete(&self, access: &EditorAccess, id: TakeId) -> AppResult<()> {
        let take = self.get(access, id).await?;
        let (mut project, _) = self.projects.load(access.caller(), access.id()).await?;
        if held_files(&mut project).get(&take.slot) == Some(&take.file_id) {
            return Err(AppError::Conflict {
                message: "this take is the slot's choice; choose another take before deleting it".into(),
                details: serde_json::json!({ "take_id": take.id, "slot": take.slot }),
            });
        }
        if let Some(deleted) = self.store.delete_take(access.id(), id, Utc::now()).await?
            && let Some(file) = deleted.file
        {
            self.files.remove_object(&file).await?;
        }
        Ok(())
    }

    /// Marks every slot of the documents whose chosen take was made from other inputs than the
    /// documents give now (`"stale": true`), and clears the mark elsewhere.
    pub async fn mark_stale(&self, project: &mut ProjectRecord) -> AppResult<()> {
        let held = held_files(project);
        let files: Vec<FileId> = held.values().copied().collect::<HashSet<_>>().into_iter().collect();
        let takes = self.store.takes_of_files(project.id, &files).await?;
        let mut stale: HashSet<String> = HashSet::new();
        for (key, file) in &held {
            // The newest take of this slot holding the file (identical bytes may be in several).
            let Some(take) = takes.iter().find(|t| t.slot == *key && t.file_id == *file) else { continue };
            let Some(made_from) = &take.inputs_hash else { continue };
            let Some(slot) = TakeSlot::from_key(key) else { continue };
            if inputs_hash(project, &slot).as_ref() != Some(made_from) {
                stale.insert(key.clone());
            }
        }
        for_each_slot(&mut project.docs, |mut slot| {
            let is_stale = stale.contains(&slot.id.key());
            slot.set_stale(is_stale);
        });
        Ok(())
    }

    /// The slots of `project` marked stale: what "regenerate stale" queues.
    pub async fn stale_slots(&self, project: &ProjectRecord) -> AppResult<Vec<SlotId>> {
        let mut copy = project.clone();
        self.mark_stale(&mut copy).await?;
        let mut found = Vec::new();
        for_each_slot(&mut copy.docs, |slot| {
            if slot.object.get("stale").and_then(serde_json::Value::as_bool) == Some(true) {
                found.push(slot.id.clone());
            }
        });
        Ok(found)
    }

    /// Deletes up to `limit` takes beyond their slot's keep (never one a slot holds), with their
    /// files where no other take holds them. Answers how many went.
    pub async fn prune(&self, limit: i64) -> AppResult<usize> {
        let candidates = self.store.takes_beyond_keep(limit).await?;
        let mut held_by_project: HashMap<cinegen_domain::ProjectId, HashMap<String, FileId>> = HashMap::new();
        let mut pruned = 0;
        for (take, owner) in candidates {
            let held = match held_by_project.entry(take.project_id) {
                std::collections::hash_map::Entry::Occupied(found) => found.into_mut(),
                std::collections::hash_map::Entry::Vacant(empty) => {
                    let held = match self.store.project_for(take.project_id, owner).await? {
                        Some((mut project, _)) => held_files(&mut project),
                        None => HashMap::new(),
                    };
                    empty.insert(held)
                }
            };
            if held.get(&take.slot) == Some(&take.file_id) {
                continue;
            }
            if let Some(deleted) = self.store.delete_take(take.project_id, take.id, Utc::now()).await? {
                pruned += 1;
                if let Some(file) = deleted.file {
                    self.files.remove_object(&file).await?;
                }
            }
        }
        Ok(pruned)
    }
}
