//! `/api/v1/ai/*`: each generation endpoint checks the request, draws it from the caller's
//! hourly budget, and enqueues a task (answering 202 with the plan's `task_id`, `status`,
//! `message`, `estimated_time`, and the task). `Idempotency-Key` (or `client_key`
//! in the body) answers the task a repeated request already made. Where a generation fills a
//! slot, the slot is marked `generating` in the same transaction that enqueues the task.

use crate::ai::Choice;
use crate::ai::batch_plan::{BatchKind, has_interval};
use crate::ai::generation::{BatchWanted, Editable, Queued};
use crate::ai::handlers::{
    ImageInputs, ImagePayload, MergePayload, ScriptGeneratePayload, ScriptParsePayload, ShotsGeneratePayload,
    VideoPayload, VisualPromptPayload,
};
use crate::ai::links::Link;
use crate::ai::targets::{self, Target, image_plan, video_plan};
use crate::api::projects::parse_id;
use crate::api::tasks::TaskView;
use crate::cost::estimate::Estimate;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use cinegen_domain::project::assets::SlotId;
use cinegen_domain::{FieldError, TaskId, UserId, ValidationErrors};
use cinegen_providers::Capability;
use cinegen_store::TaskStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

pub mod cost;
mod requests;
pub mod speech;
pub use requests::*;

/// The idempotency key of a request: the header, else the body's `client_key`.
pub(crate) fn idempotency_key(headers: &HeaderMap, body: Option<&String>) -> AppResult<Option<String>> {
    let raw = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| bad_key())?.to_owned()),
        None => body.cloned(),
    };
    match raw {
        Some(key) if key.is_empty() || key.len() > 200 || key.chars().any(char::is_control) => Err(bad_key()),
        other => Ok(other),
    }
}

fn bad_key() -> AppError {
    AppError::validation(ValidationErrors(vec![FieldError::new(
        "Idempotency-Key",
        "must be 1–200 printable characters",
    )]))
}

fn missing(what: String) -> AppError {
    AppError::NotFound(format!("{what} not found"))
}

/// What a generation request answers: the plan's `task_id`, `status`, `message` and (where it
/// can be told) `estimated_time`, and this server's whole `task` beside them.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskAccepted {
    pub task_id: TaskId,
    /// The task's status now: `pending` when just queued.
    pub status: String,
    pub message: String,
    /// Seconds until the result is likely ready: the provider's recent median for the model and
    /// the work of the same kind queued before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimated_time: Option<u64>,
    /// What the queued work is expected to cost (per currency), in how many provider calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    pub task: TaskView,
}

/// The plan's words for what was queued.
fn queued_message(plan_type: &str, created: bool) -> String {
    let what = match plan_type {
        "script_parse" => "剧本解析",
        "script_generate" => "剧本创作",
        "shot_generate" => "分镜生成",
        "prompt_generate" => "提示词生成",
        "image_generate" => "图片生成",
        "video_generate" => "视频生成",
        "video_merge" => "视频合成",
        "speech_generate" => "配音生成",
        "batch_generate" => "批量生成",
        "project_export" => "项目导出",
        _ => "生成",
    };
    if created {
        format!("{what}任务已提交，请稍候...")
    } else {
        format!("{what}任务已提交过，这是同一个任务")
    }
}

/// 202 with a new task, 200 with the task an earlier identical request made. `estimate` names
/// the provider work whose time is told.
pub(crate) async fn answer(state: &AppState, queued: Queued, estimate: Option<(Capability, &Choice)>) -> Response {
    let Queued { task, created, estimate: cost } = queued;
    let estimated_time = match estimate {
        Some((capability, choice)) if matches!(task.status, TaskStatus::Pending | TaskStatus::Running) => {
            state.ai.estimate(&task, capability, choice).await
        }
        _ => None,
    };
    let view = TaskView::from(task);
    let body = TaskAccepted {
        task_id: view.id,
        status: view.status.clone(),
        message: queued_message(&view.task_type, created),
        estimated_time,
        estimate: cost,
        task: view,
    };
    if created { envelope::with_status(StatusCode::ACCEPTED, body, "queued") } else { envelope::ok(body) }
}

/// The project, for an editor of it.
pub(crate) async fn prepare(state: &AppState, user: UserId, raw_id: &str) -> AppResult<Editable> {
    state.generation.editable(user, parse_id(raw_id, "project")?).await
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(ValidationErrors(vec![FieldError::new(field, message)]))
}

/// Parses the script into characters, scenes, paragraphs and shots (replacing the project's).
#[utoipa::path(
    post, path = "/api/v1/ai/script/parse", tag = "ai", operation_id = "parse_script",
    security(("bearer" = [])), request_body = ParseScriptRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn parse_script(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ParseScriptRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let script = body.raw_script.as_deref().unwrap_or(&project.project.raw_script);
    if script.trim().is_empty() {
        return Err(invalid("raw_text", "is empty, and the project has no saved script"));
    }
    if let Some(language) = &body.language
        && !cinegen_domain::project::settings::LANGUAGES.contains(&language.as_str())
    {
        return Err(invalid(
            "language",
            format!("must be one of {}", cinegen_domain::project::settings::LANGUAGES.join(", ")),
        ));
    }
    let choice = body.common().choice(Capability::Text);
    let input = ScriptParsePayload { raw_script: body.raw_script, language: body.language, choice: choice.clone() };
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Text, &choice))).await)
}

/// Writes a screenplay from an idea (saved as the project's `raw_script`).
#[utoipa::path(
    post, path = "/api/v1/ai/script/generate", tag = "ai", operation_id = "generate_script",
    security(("bearer" = [])), request_body = GenerateScriptRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_script(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateScriptRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let mut errors = ValidationErrors::default();
    if body.idea.trim().is_empty() || body.idea.chars().count() > 5000 {
        errors.push(FieldError::new("idea", "must be 1–5000 characters"));
    }
    let seconds = match body.duration.as_deref() {
        None => None,
        Some(raw) => {
            let seconds = cinegen_domain::project::settings::target_duration_secs(raw);
            if seconds.is_none() {
                errors.push(FieldError::new("duration", "must be like 30s, 60s or 2min"));
            }
            seconds
        }
    };
    errors.into_result().map_err(AppError::validation)?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let choice = body.common().choice(Capability::Text);
    let input =
        ScriptGeneratePayload { idea: body.idea, genre: body.genre, duration_secs: seconds, choice: choice.clone() };
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Text, &choice))).await)
}

/// Plans the shot list from the script data (all of it, or one scene's shots).
#[utoipa::path(
    post, path = "/api/v1/ai/shots/generate", tag = "ai", operation_id = "generate_shots",
    security(("bearer" = [])), request_body = GenerateShotsRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_shots(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateShotsRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    if let Some(scene) = &body.scene_id
        && targets::scene(&project.project, scene).is_none()
    {
        return Err(missing(format!("scene '{scene}'")));
    }
    let choice = body.common().choice(Capability::Text);
    let input = ShotsGeneratePayload { scene_id: body.scene_id, choice: choice.clone() };
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Text, &choice))).await)
}

/// Writes the visual prompt of a character, variation, scene or keyframe.
#[utoipa::path(
    post, path = "/api/v1/ai/visual-prompt", tag = "ai", operation_id = "generate_visual_prompt",
    security(("bearer" = [])), request_body = TargetRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn visual_prompt(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TargetRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    image_plan(&project.project, &body.target).map_err(missing)?;
    let choice = body.common().choice(Capability::Text);
    let input = VisualPromptPayload { target: body.target.clone(), choice: choice.clone() };
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Text, &choice))).await)
}

/// The target of an image request: `target`, or the plan's `shot_id` with `keyframe_type`.
fn image_target(
    project: &Editable,
    target: &Option<Target>,
    shot_id: &Option<String>,
    keyframe_type: Option<KeyframeType>,
) -> AppResult<Target> {
    match (target, shot_id, keyframe_type) {
        (Some(target), None, None) => Ok(target.clone()),
        (None, Some(shot_id), Some(kind)) => {
            if targets::shot(&project.project, shot_id).is_none() {
                return Err(missing(format!("shot '{shot_id}'")));
            }
            let keyframe_id = targets::keyframe_of_type(&project.project, shot_id, kind.as_str())
                .ok_or_else(|| missing(format!("the {} keyframe of shot '{shot_id}'", kind.as_str())))?;
            Ok(Target::Keyframe { shot_id: shot_id.clone(), keyframe_id })
        }
        (None, Some(_), None) => Err(invalid("keyframe_type", "is required with shot_id: start, end or full")),
        (None, None, Some(_)) => Err(invalid("shot_id", "is required with keyframe_type")),
        (None, None, None) => Err(invalid("target", "is required (or the plan's shot_id with keyframe_type)")),
        (Some(_), _, _) => Err(invalid("target", "give either target, or shot_id with keyframe_type, not both")),
    }
}

/// Paints one image: a character's base look, a wardrobe variation (keeping the face), a scene,
/// or a shot's start / end / full keyframe (with the scene and the characters' looks as
/// references). The result lands in the target's slot.
#[utoipa::path(
    post, path = "/api/v1/ai/image/generate", tag = "ai", operation_id = "generate_image",
    security(("bearer" = [])), request_body = GenerateImageRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_image(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateImageRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let target = image_target(&project, &body.target, &body.shot_id, body.keyframe_type)?;
    let plan = image_plan(&project.project, &target).map_err(missing)?;
    let references = match &body.reference_images {
        Some(links) => state.generation.links(&project, "reference_images", links).await?,
        None => Vec::new(),
    };
    let choice = body.common().choice(Capability::Image);
    let mut input = ImagePayload::new(target, choice.clone());
    input.inputs = ImageInputs { prompt: body.prompt.clone(), references, exact: false };
    let queued = state.generation.enqueue_into(&project, vec![plan.slot], input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Image, &choice))).await)
}

/// One frame link of a video request, checked.
async fn frame_link(
    state: &AppState,
    project: &Editable,
    field: &str,
    raw: Option<&String>,
) -> AppResult<Option<Link>> {
    match raw {
        Some(raw) => Ok(state.generation.links(project, field, std::slice::from_ref(raw)).await?.pop()),
        None => Ok(None),
    }
}

/// Animates one shot from its keyframes (painting a missing first keyframe before), or from the
/// frames the request names.
#[utoipa::path(
    post, path = "/api/v1/ai/video/generate", tag = "ai", operation_id = "generate_video",
    security(("bearer" = [])), request_body = GenerateVideoRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_video(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateVideoRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    if let Some(d) = body.duration
        && !(1.0..=60.0).contains(&d)
    {
        return Err(invalid("duration", "must be 1–60 seconds"));
    }
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    if targets::shot(&project.project, &body.shot_id).is_none() {
        return Err(missing(format!("shot '{}'", body.shot_id)));
    }
    let start = frame_link(&state, &project, "start_image_url", body.start_image_url.as_ref()).await?;
    let end = frame_link(&state, &project, "end_image_url", body.end_image_url.as_ref()).await?;
    let full_frame = body.full_frame.unwrap_or(false);
    if start.is_none() {
        let plan = video_plan(&project.project, &body.shot_id, body.duration)
            .map_err(|what| invalid("shot_id", format!("needs {what}")))?;
        if full_frame && plan.full.is_none() {
            return Err(invalid("full_frame", format!("shot '{}' has no full keyframe", body.shot_id)));
        }
    }
    let choice = body.common().choice(Capability::Video);
    let image = Choice { provider: body.image_provider.clone(), model: None };
    let mut input = VideoPayload::new(body.shot_id.clone(), choice.clone(), image);
    input.duration = body.duration;
    input.prompt = body.prompt.clone();
    (input.start, input.end, input.full_frame) = (start, end, full_frame);
    let slots =
        if has_interval(&project.project, &body.shot_id) { vec![SlotId::Clip { shot: body.shot_id }] } else { vec![] };
    let queued = state.generation.enqueue_into(&project, slots, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Video, &choice))).await)
}

/// Joins the clips of the named shots, in order, into the project's film.
#[utoipa::path(
    post, path = "/api/v1/ai/video/merge", tag = "ai", operation_id = "merge_video",
    security(("bearer" = [])), request_body = MergeRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn merge_video(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MergeRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    if body.shot_ids.is_empty() || body.shot_ids.len() > 1000 {
        return Err(invalid("shot_ids", "must name 1–1000 shots"));
    }
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let mut errors = ValidationErrors::default();
    for (i, shot_id) in body.shot_ids.iter().enumerate() {
        let shot = targets::shot(&project.project, shot_id);
        let clip = shot.and_then(|s| s.get("interval")).and_then(|i| i.get("videoFileId"));
        if shot.is_none() {
            errors.push(FieldError::new(format!("shot_ids[{i}]"), format!("shot '{shot_id}' does not exist")));
        } else if clip.and_then(Value::as_str).is_none() {
            errors.push(FieldError::new(format!("shot_ids[{i}]"), format!("shot '{shot_id}' has no clip yet")));
        }
    }
    errors.into_result().map_err(AppError::validation)?;
    let music = match &body.music_file_id {
        Some(raw) => Some(state.generation.music(&project, raw).await?),
        None => None,
    };
    let input = MergePayload { shot_ids: body.shot_ids, music_file_id: music, burn_subtitles: body.burn_subtitles };
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, None).await)
}

/// Generates everything missing of one kind: one task per item under a parent task whose
/// progress is the items' mean; one item's failure never stops the rest.
#[utoipa::path(
    post, path = "/api/v1/ai/batch/{kind}", tag = "ai", operation_id = "generate_batch",
    security(("bearer" = [])), request_body = BatchRequest,
    params(("kind" = String, Path, description = "images, keyframes, clips or voices"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_batch(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    axum::extract::Path(kind): axum::extract::Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BatchRequest>,
) -> AppResult<Response> {
    let kind = BatchKind::parse(&kind).ok_or_else(|| AppError::not_found("batch kind"))?;
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let capability = kind.capability();
    let image = Choice { provider: body.image_provider.clone(), model: None };
    let wanted = BatchWanted {
        shot_ids: body.shot_ids.clone(),
        stale: body.stale,
        candidates: body.candidates.unwrap_or(1),
        fit_budget: body.fit_budget,
    };
    let queued =
        state.generation.batch(&project, kind, &body.common().choice(capability), &image, &wanted, key).await?;
    Ok(answer(&state, queued, None).await)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageSummary {
    pub days: u32,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<cinegen_store::UsageRow>,
    /// Calls and units per provider over the period.
    #[schema(value_type = Object)]
    pub providers: HashMap<String, Value>,
}

/// The `days` of a usage view: 1–366, 30 when absent.
pub(crate) fn days_param(raw: Option<&String>) -> AppResult<u32> {
    match raw {
        None => Ok(30),
        Some(raw) => raw.parse::<u32>().ok().filter(|d| (1..=366).contains(d)).ok_or_else(|| {
            AppError::validation(ValidationErrors(vec![FieldError::new(
                "days",
                "must be a whole number from 1 to 366",
            )]))
        }),
    }
}

/// The caller's provider usage by day (UTC), provider and kind.
#[utoipa::path(
    get, path = "/api/v1/usage", tag = "ai", operation_id = "usage",
    security(("bearer" = [])), params(("days" = Option<u32>, Query, description = "1–366, default 30")),
    responses((status = 200, body = Envelope<UsageSummary>), (status = 422, body = ErrorEnvelope))
)]
pub async fn usage(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let days = days_param(params.get("days"))?;
    let since = Utc::now() - chrono::Duration::days(i64::from(days));
    let items = state.store.usage_summary(claims.sub, since).await?;
    let mut providers: HashMap<String, Value> = HashMap::new();
    for row in &items {
        let entry = providers.entry(row.provider.clone()).or_insert_with(|| json!({"calls": 0, "units": {}}));
        entry["calls"] = json!(entry["calls"].as_i64().unwrap_or(0) + row.calls);
        let units = entry["units"][&row.kind].as_i64().unwrap_or(0) + row.units;
        entry["units"][&row.kind] = json!(units);
    }
    Ok(envelope::ok(UsageSummary { days, items, providers }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    #[serde(default)]
    pub client_key: Option<String>,
}

/// Archives the project: a zip of its JSON, every image and clip, and the film, kept as an
/// export file; the task's result names the file (`storage/url/{file_id}` gives a download link).
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/export", tag = "projects", operation_id = "export_archive",
    security(("bearer" = [])), request_body(content = Option<ExportRequest>),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn export_archive(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let request: ExportRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ExportRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    let key = idempotency_key(&headers, request.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &id).await?;
    let input = crate::tasks::kind::ExportPayload {};
    let queued = state.generation.enqueue(&project, input.into(), key).await?;
    Ok(answer(&state, queued, None).await)
}
