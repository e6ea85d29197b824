//! Takes: every finished generation of an image or clip slot (and of the merged film) is kept
//! with how it was made. A generation records its take before it lands in the slot; the slot
//! keeps pointing at a chosen take; older ones stay until the upkeep prunes them (the project's
//! `keep_takes` unpinned ones per slot are kept). A file held by several takes (identical bytes)
//! goes with the last of them.

pub mod inputs;
pub mod service;

pub use inputs::inputs_hash;
pub use service::{TakeService, TakeView};

use crate::tasks::{TaskContext, TaskError};
use chrono::{DateTime, Utc};
use cinegen_domain::project::assets::TakeSlot;
use cinegen_domain::{FileId, TakeId};
use cinegen_store::{ProjectRecord, Store, TakeRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a take was made, as kept beside it and shown on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Provenance {
    /// `generated`, `merged` (a film), or `kept` (a file the slot held before takes were kept).
    pub origin: String,
    /// Size, panels, duration, count, seed: what the provider was asked for.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: Value,
    /// The prompt as sent to the provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The prompt the person gave, when they gave one instead of the documents'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_prompt: Option<String>,
    /// The images the provider was given, each with the take it came from where it was one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<ReferenceUsed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<cinegen_domain::TaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// Milliseconds the provider took (submission to result for video).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_ms: Option<u64>,
    /// The provider's own id of the job, where it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_job_id: Option<String>,
    /// What the call used: `{"unit": "image" | "second" | "token", "quantity": n}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub usage: Option<Value>,
    /// Set when the provider meant for the call was down and the user's fallback made this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fell_back: Option<crate::ai::fallback::FellBack>,
    /// The task a re-run queues: its type and payload, with everything the documents supplied
    /// pinned (prompt, references, frames, provider and model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub recipe: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReferenceUsed {
    pub file_id: FileId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub take_id: Option<TakeId>,
}

/// What a generation knows about the take it made, before it is kept.
pub struct TakeDraft {
    pub slot: TakeSlot,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub inputs_hash: Option<String>,
    pub references: Vec<FileId>,
    /// What the provider call cost, when known.
    pub cost: Option<cinegen_store::Money>,
    pub provenance: Provenance,
}

fn store_failure(error: cinegen_store::StoreError) -> TaskError {
    match error {
        // The file went (pruned, or its project deleted) before the take could hold it.
        cinegen_store::StoreError::NotFound => TaskError::transient("the stored result went away; trying again"),
        other => TaskError::transient(other.to_string()),
    }
}

/// Keeps the take a task made of `file` in `project`, naming the takes its references came from.
pub async fn keep(
    store: &dyn Store,
    ctx: &TaskContext,
    project: &ProjectRecord,
    file: FileId,
    draft: TakeDraft,
) -> Result<TakeRecord, TaskError> {
    let mut provenance = draft.provenance;
    let sources = if draft.references.is_empty() {
        Vec::new()
    } else {
        store.takes_of_files(project.id, &draft.references).await.map_err(store_failure)?
    };
    provenance.references = draft
        .references
        .iter()
        .map(|file_id| ReferenceUsed {
            file_id: *file_id,
            take_id: sources.iter().find(|t| t.file_id == *file_id).map(|t| t.id),
        })
        .collect();
    provenance.task_id = Some(ctx.task.id);
    provenance.attempt = Some(ctx.attempt());
    provenance.queued_at = Some(ctx.task.created_at);
    // The claim that began this attempt is the task's last update before the work.
    provenance.started_at = Some(ctx.task.updated_at);
    let take = TakeRecord {
        id: TakeId::new(),
        project_id: project.id,
        slot: draft.slot.key(),
        file_id: file,
        pinned: false,
        made_by: Some(ctx.task.user_id),
        task_id: Some(ctx.task.id),
        provider: draft.provider,
        model: draft.model,
        inputs_hash: draft.inputs_hash,
        cost: draft.cost,
        provenance: serde_json::to_value(&provenance).unwrap_or_default(),
        created_at: Utc::now(),
    };
    store.insert_take(&take).await.map_err(store_failure)?;
    let detail = serde_json::json!({
        "take_id": take.id, "file_id": take.file_id, "task_id": take.task_id,
        "provider": take.provider, "model": take.model,
        "cost": take.cost.as_ref().map(|c| serde_json::json!({"amount": crate::cost::format_amount(c.micros), "currency": c.currency})),
    });
    crate::audit::record(
        store,
        Some(project.id),
        ctx.task.user_id,
        crate::audit::Action::Generated,
        &take.slot,
        detail,
    )
    .await;
    Ok(take)
}

/// A take as the project archive lists it (`takes.json`): its slot, file, whether the slot holds
/// it, pins, provider and model, cost, and its whole provenance.
pub fn archive_entry(take: &TakeRecord, held: &[(String, FileId)]) -> Value {
    serde_json::json!({
        "id": take.id,
        "slot": take.slot,
        "file_id": take.file_id,
        "chosen": held.iter().any(|(slot, file)| *slot == take.slot && *file == take.file_id),
        "pinned": take.pinned,
        "provider": take.provider,
        "model": take.model,
        "cost": take.cost.as_ref().map(|c| serde_json::json!({
            "amount": crate::cost::format_amount(c.micros),
            "currency": c.currency,
        })),
        "made_by": take.made_by,
        "created_at": take.created_at,
        "provenance": take.provenance,
    })
}

/// A file a slot held before it was replaced, kept as a take of its own when none holds it yet
/// (an upload, or a generation from before takes were kept), so replacing it loses nothing.
pub async fn keep_replaced(store: &dyn Store, project: &ProjectRecord, slot: &TakeSlot, file: FileId) {
    match store.takes_of_files(project.id, &[file]).await {
        Ok(held) if held.is_empty() => {}
        _ => return,
    }
    let take = TakeRecord {
        id: TakeId::new(),
        project_id: project.id,
        slot: slot.key(),
        file_id: file,
        pinned: false,
        made_by: None,
        task_id: None,
        provider: None,
        model: None,
        inputs_hash: None,
        cost: None,
        provenance: serde_json::json!({ "origin": "kept" }),
        created_at: Utc::now(),
    };
    // A file of another project, or one already gone, is simply not kept.
    let _ = store.insert_take(&take).await;
}
