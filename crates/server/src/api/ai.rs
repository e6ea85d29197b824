//! `/api/v1/ai/*`: each generation endpoint checks the request, counts it against the caller's
//! hourly limit, and enqueues a task (answering 202 with it). `Idempotency-Key` (or `client_key`
//! in the body) answers the task a repeated request already made. Where a generation fills a
//! slot, the slot is marked `generating` in the same transaction that enqueues the task.

use crate::ai::Choice;
use crate::ai::batch_plan::{BatchKind, has_interval};
use crate::ai::generation::{Editable, Queued};
use crate::ai::handlers::{
    ImagePayload, MergePayload, ScriptGeneratePayload, ScriptParsePayload, ShotsGeneratePayload, VideoPayload,
    VisualPromptPayload,
};
use crate::ai::targets::{self, Target, image_plan, video_plan};
use crate::api::projects::parse_id;
use crate::api::tasks::{TaskEnvelope, TaskView};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use cinegen_domain::project::assets::SlotId;
use cinegen_domain::{FieldError, UserId, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use utoipa::ToSchema;

/// Model options of a request (the plan's `model_config`).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ModelConfig {
    /// The provider's model id; else the user's or the provider's default.
    #[serde(default)]
    pub model: Option<String>,
}

/// Fields every generation request may carry.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Common {
    pub project_id: String,
    /// A provider name (`local`, `openai`, …); else the user's or the server's default.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model_config: Option<ModelConfig>,
    /// Same as the `Idempotency-Key` header.
    #[serde(default)]
    pub client_key: Option<String>,
}

impl Common {
    fn choice(&self) -> Choice {
        Choice { provider: self.provider.clone(), model: self.model_config.as_ref().and_then(|m| m.model.clone()) }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ParseScriptRequest {
    #[serde(flatten)]
    pub common: Common,
    /// The script; else the project's saved `raw_script`.
    #[serde(default)]
    pub raw_script: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateScriptRequest {
    #[serde(flatten)]
    pub common: Common,
    pub idea: String,
    #[serde(default)]
    pub genre: Option<String>,
    /// `60s`, `2min`, …; else the project's target duration.
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateShotsRequest {
    #[serde(flatten)]
    pub common: Common,
    /// Plan only this scene's shots (replacing them); else every shot.
    #[serde(default)]
    pub scene_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TargetRequest {
    #[serde(flatten)]
    pub common: Common,
    pub target: Target,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GenerateVideoRequest {
    #[serde(flatten)]
    pub common: Common,
    pub shot_id: String,
    /// Seconds (1–60); else the shot's clip duration.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Provider of a keyframe that must be painted first; else the default image provider.
    #[serde(default)]
    pub image_provider: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MergeRequest {
    pub project_id: String,
    /// The shots whose clips make the film, in order.
    pub shot_ids: Vec<String>,
    #[serde(default)]
    pub client_key: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchRequest {
    #[serde(flatten)]
    pub common: Common,
    #[serde(default)]
    pub image_provider: Option<String>,
}

/// The idempotency key of a request: the header, else the body's `client_key`.
fn idempotency_key(headers: &HeaderMap, body: Option<&String>) -> AppResult<Option<String>> {
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

/// 202 with a new task, 200 with the task an earlier identical request made.
fn answer(queued: Queued) -> Response {
    let Queued { task, created } = queued;
    if created {
        envelope::with_status(StatusCode::ACCEPTED, TaskEnvelope { task: TaskView::from(task) }, "queued")
    } else {
        envelope::ok(TaskEnvelope { task: TaskView::from(task) })
    }
}

/// The project, for an editor of it.
async fn prepare(state: &AppState, user: UserId, raw_id: &str) -> AppResult<Editable> {
    state.generation.editable(user, parse_id(raw_id, "project")?).await
}

/// Parses the script into characters, scenes, paragraphs and shots (replacing the project's).
#[utoipa::path(
    post, path = "/api/v1/ai/script/parse", tag = "ai", operation_id = "parse_script",
    security(("bearer" = [])), request_body = ParseScriptRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn parse_script(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ParseScriptRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    let script = body.raw_script.as_deref().unwrap_or(&project.project.raw_script);
    if script.trim().is_empty() {
        let error = FieldError::new("raw_script", "is empty, and the project has no saved script");
        return Err(AppError::validation(ValidationErrors(vec![error])));
    }
    let input = ScriptParsePayload { raw_script: body.raw_script, choice: body.common.choice() };
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}

/// Writes a screenplay from an idea (saved as the project's `raw_script`).
#[utoipa::path(
    post, path = "/api/v1/ai/script/generate", tag = "ai", operation_id = "generate_script",
    security(("bearer" = [])), request_body = GenerateScriptRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_script(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateScriptRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
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
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    let input = ScriptGeneratePayload {
        idea: body.idea,
        genre: body.genre,
        duration_secs: seconds,
        choice: body.common.choice(),
    };
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}

/// Plans the shot list from the script data (all of it, or one scene's shots).
#[utoipa::path(
    post, path = "/api/v1/ai/shots/generate", tag = "ai", operation_id = "generate_shots",
    security(("bearer" = [])), request_body = GenerateShotsRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_shots(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateShotsRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    if let Some(scene) = &body.scene_id
        && targets::scene(&project.project, scene).is_none()
    {
        return Err(missing(format!("scene '{scene}'")));
    }
    let input = ShotsGeneratePayload { scene_id: body.scene_id, choice: body.common.choice() };
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}

/// Writes the visual prompt of a character, variation, scene or keyframe.
#[utoipa::path(
    post, path = "/api/v1/ai/visual-prompt", tag = "ai", operation_id = "generate_visual_prompt",
    security(("bearer" = [])), request_body = TargetRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn visual_prompt(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TargetRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    image_plan(&project.project, &body.target).map_err(missing)?;
    let input = VisualPromptPayload { target: body.target, choice: body.common.choice() };
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}

/// Paints one image: a character's base look, a wardrobe variation (keeping the face), a scene,
/// or a shot's start / end / full keyframe (with the scene and the characters' looks as
/// references). The result lands in the target's slot.
#[utoipa::path(
    post, path = "/api/v1/ai/image/generate", tag = "ai", operation_id = "generate_image",
    security(("bearer" = [])), request_body = TargetRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_image(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TargetRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    let plan = image_plan(&project.project, &body.target).map_err(missing)?;
    let input = ImagePayload { target: body.target, choice: body.common.choice(), then: vec![] };
    Ok(answer(state.generation.enqueue_into(&project, vec![plan.slot], input.into(), key).await?))
}

/// Animates one shot from its keyframes (painting a missing first keyframe before).
#[utoipa::path(
    post, path = "/api/v1/ai/video/generate", tag = "ai", operation_id = "generate_video",
    security(("bearer" = [])), request_body = GenerateVideoRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_video(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateVideoRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    if let Some(d) = body.duration
        && !(1.0..=60.0).contains(&d)
    {
        return Err(AppError::validation(ValidationErrors(vec![FieldError::new("duration", "must be 1–60 seconds")])));
    }
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    if targets::shot(&project.project, &body.shot_id).is_none() {
        return Err(missing(format!("shot '{}'", body.shot_id)));
    }
    video_plan(&project.project, &body.shot_id, body.duration).map_err(|what| {
        AppError::validation(ValidationErrors(vec![FieldError::new("shot_id", format!("needs {what}"))]))
    })?;
    let input = VideoPayload {
        shot_id: body.shot_id.clone(),
        duration: body.duration,
        choice: body.common.choice(),
        image: Choice { provider: body.image_provider, model: None },
    };
    let slots =
        if has_interval(&project.project, &body.shot_id) { vec![SlotId::Clip { shot: body.shot_id }] } else { vec![] };
    Ok(answer(state.generation.enqueue_into(&project, slots, input.into(), key).await?))
}

/// Joins the clips of the named shots, in order, into the project's film.
#[utoipa::path(
    post, path = "/api/v1/ai/video/merge", tag = "ai", operation_id = "merge_video",
    security(("bearer" = [])), request_body = MergeRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope),
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
        return Err(AppError::validation(ValidationErrors(vec![FieldError::new(
            "shot_ids",
            "must name 1–1000 shots",
        )])));
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
    let input = MergePayload { shot_ids: body.shot_ids };
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}

/// Generates everything missing of one kind: one task per item under a parent task whose
/// progress is the items' mean; one item's failure never stops the rest.
#[utoipa::path(
    post, path = "/api/v1/ai/batch/{kind}", tag = "ai", operation_id = "generate_batch",
    security(("bearer" = [])), request_body = BatchRequest,
    params(("kind" = String, Path, description = "images, keyframes or clips"), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_batch(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    axum::extract::Path(kind): axum::extract::Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BatchRequest>,
) -> AppResult<Response> {
    let kind = BatchKind::parse(&kind).ok_or_else(|| AppError::not_found("batch kind"))?;
    let key = idempotency_key(&headers, body.common.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.common.project_id).await?;
    let image = Choice { provider: body.image_provider.clone(), model: None };
    Ok(answer(state.generation.batch(&project, kind, &body.common.choice(), &image, key).await?))
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
    let days = match params.get("days") {
        None => 30,
        Some(raw) => raw.parse::<u32>().ok().filter(|d| (1..=366).contains(d)).ok_or_else(|| {
            AppError::validation(ValidationErrors(vec![FieldError::new(
                "days",
                "must be a whole number from 1 to 366",
            )]))
        })?,
    };
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
    responses((status = 202, body = Envelope<TaskEnvelope>), (status = 403, body = ErrorEnvelope),
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
    Ok(answer(state.generation.enqueue(&project, input.into(), key).await?))
}
