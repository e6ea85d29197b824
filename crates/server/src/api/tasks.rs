//! `/api/v1/ai/tasks/*`: a task's state, the caller's tasks, cancel and retry.

use crate::api::projects::parse_id;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::CurrentUser;
use crate::state::AppState;
use crate::tasks::kind::TaskKind;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cinegen_domain::{FieldError, ProjectId, TaskId, ValidationErrors};
use cinegen_store::{TaskQuery, TaskRecord, TaskStatus};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskErrorView {
    pub code: String,
    pub message: String,
}

/// A task as the plan shows it: `{id, type, status, progress, result, error}` and a little more.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    pub id: TaskId,
    /// The plan's name of the kind: script_parse, script_generate, shot_generate,
    /// prompt_generate, image_generate, video_generate, video_merge, batch_generate,
    /// project_export or asset_import.
    #[serde(rename = "type")]
    pub task_type: String,
    /// This server's name of the kind (`ai.image`, …), as earlier versions answered in `type`.
    pub kind: String,
    /// pending, running, completed, failed or cancelled.
    pub status: String,
    /// 0–100.
    pub progress: i32,
    pub message: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    pub error: Option<TaskErrorView>,
    pub project_id: Option<ProjectId>,
    /// The batch this task is an item of.
    pub parent_id: Option<TaskId>,
    /// What the task works on, so a client can show progress in place: an image's or prompt's
    /// target (`{"type": "keyframe", "shot_id", "keyframe_id"}`, `character`, `variation`,
    /// `scene`), a clip's shot (`{"type": "clip", "shot_id"}`), a shot's spoken dialogue
    /// (`{"type": "voice", "shot_id"}`), a batch (`{"type": "batch",
    /// "kind": "images"|"keyframes"|"clips"|"voices"}`), the film (`{"type": "film"}`), the archive
    /// (`{"type": "archive"}`) or the script (`{"type": "script", "action": "parse"|"generate"}`).
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    pub target: Option<Value>,
    pub attempts: i32,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<TaskRecord> for TaskView {
    fn from(task: TaskRecord) -> Self {
        let error = match (task.error_code, task.error_message) {
            (Some(code), Some(message)) if task.status != TaskStatus::Completed => {
                Some(TaskErrorView { code, message })
            }
            _ => None,
        };
        let target = target_of(&task.task_type, &task.payload);
        Self {
            id: task.id,
            task_type: TaskKind::plan_name(&task.task_type).to_owned(),
            kind: task.task_type,
            status: task.status.as_str().to_owned(),
            progress: task.progress,
            message: task.progress_message,
            result: task.result,
            error,
            project_id: task.project_id,
            parent_id: task.parent_id,
            target,
            attempts: task.attempts,
            cancel_requested: task.cancel_requested,
            created_at: task.created_at,
            updated_at: task.updated_at,
        }
    }
}

fn target_of(kind: &str, payload: &Value) -> Option<Value> {
    use serde_json::json;
    // Work on a whole project names what it works on too, so a client that reloads finds its
    // batch's, film's or archive's progress again.
    match kind {
        TaskKind::BATCH => return Some(json!({"type": "batch", "kind": payload.get("kind")?})),
        TaskKind::MERGE => return Some(json!({"type": "film"})),
        TaskKind::EXPORT => return Some(json!({"type": "archive"})),
        TaskKind::SCRIPT_PARSE => return Some(json!({"type": "script", "action": "parse"})),
        TaskKind::SCRIPT_GENERATE => return Some(json!({"type": "script", "action": "generate"})),
        TaskKind::SPEECH => return Some(json!({"type": "voice", "shot_id": payload.get("shot_id")?})),
        _ => {}
    }
    if let Some(target) = payload.get("target").filter(|t| t.is_object()) {
        return Some(target.clone());
    }
    let shot = payload.get("shot_id")?.as_str()?;
    Some(json!({"type": "clip", "shot_id": shot}))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskEnvelope {
    pub task: TaskView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    pub pagination: crate::api::projects::views::Pagination,
}

async fn visible(state: &AppState, user: cinegen_domain::UserId, raw: &str) -> AppResult<TaskRecord> {
    state.tasks.visible(user, parse_id(raw, "task")?).await
}

/// One task: its status, progress, result (with a fresh `url` of the file it made) or error.
#[utoipa::path(
    get, path = "/api/v1/ai/tasks/{id}", tag = "tasks", operation_id = "get_task",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope))
)]
pub async fn get_task(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let task = visible(&state, claims.sub, &id).await?;
    let mut view = TaskView::from(task);
    if let Some(result) = view.result.as_mut() {
        add_file_url(&state, claims.sub, result).await;
    }
    Ok(envelope::ok(TaskEnvelope { task: view }))
}

/// The plan's `result.url`: a fresh link to the file a finished task made, when the caller may
/// still reach it (results keep only the id; links expire).
async fn add_file_url(state: &AppState, user: cinegen_domain::UserId, result: &mut Value) {
    let Some(id) = result.get("file_id").and_then(Value::as_str).and_then(|id| id.parse().ok()) else { return };
    let Ok(file) = state.files.visible(user, id).await else { return };
    if let Ok(minted) = state.files.mint(file).await
        && let Some(object) = result.as_object_mut()
    {
        object.insert("url".into(), Value::String(minted.url));
    }
}

/// The caller's tasks and those of projects they can see, newest first.
#[utoipa::path(
    get, path = "/api/v1/ai/tasks", tag = "tasks", operation_id = "list_tasks",
    security(("bearer" = [])),
    params(
        ("project_id" = Option<String>, Query), ("status" = Option<String>, Query),
        ("type" = Option<String>, Query), ("page" = Option<u32>, Query), ("size" = Option<u32>, Query),
    ),
    responses((status = 200, body = Envelope<TaskPage>), (status = 422, body = ErrorEnvelope))
)]
pub async fn list_tasks(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::default();
    let mut number = |key: &str, default: u32, max: u32| match params.get(key) {
        None => default,
        Some(raw) => raw.parse().ok().filter(|n| (1..=max).contains(n)).unwrap_or_else(|| {
            errors.push(FieldError::new(key, format!("must be a whole number from 1 to {max}")));
            default
        }),
    };
    let (page, size) = (number("page", 1, 1_000_000), number("size", 20, 100));
    let project = params.get("project_id").map(|raw| {
        raw.parse::<ProjectId>().map_err(|_| errors.push(FieldError::new("project_id", "must be a project id"))).ok()
    });
    let status = params.get("status").map(|raw| {
        TaskStatus::parse(raw).or_else(|| {
            errors.push(FieldError::new("status", "must be pending, running, completed, failed or cancelled"));
            None
        })
    });
    errors.into_result().map_err(AppError::validation)?;
    let query = TaskQuery {
        project: project.flatten(),
        status: status.flatten(),
        // Either name of a kind; an unknown one matches nothing.
        task_type: params.get("type").map(|t| TaskKind::stored_name(t).map_or_else(|| t.clone(), str::to_owned)),
        page,
        size,
        ..TaskQuery::of(claims.sub)
    };
    let (tasks, total) = state.store.list_tasks(&query).await?;
    let pages = (total + i64::from(size) - 1) / i64::from(size);
    Ok(envelope::ok(TaskPage {
        items: tasks.into_iter().map(TaskView::from).collect(),
        pagination: crate::api::projects::views::Pagination { page, size, total, pages },
    }))
}

/// Cancels a task: a pending one at once, a running one at its next checkpoint.
#[utoipa::path(
    post, path = "/api/v1/ai/tasks/{id}/cancel", tag = "tasks", operation_id = "cancel_task",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<TaskEnvelope>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope))
)]
pub async fn cancel_task(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let cancelled = state.tasks.cancel(claims.sub, parse_id(&id, "task")?).await?;
    Ok(envelope::ok(TaskEnvelope { task: cancelled.into() }))
}

/// Runs a failed task again, with a fresh set of attempts; work that spends is admitted against
/// the monthly caps again.
#[utoipa::path(
    post, path = "/api/v1/ai/tasks/{id}/retry", tag = "tasks", operation_id = "retry_task",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<TaskEnvelope>), (status = 402, description = "BUDGET_EXCEEDED: running it again would pass a monthly cap", body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn retry_task(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let retried = state.tasks.retry(claims.sub, parse_id(&id, "task")?).await?;
    Ok(envelope::ok(TaskEnvelope { task: retried.into() }))
}
