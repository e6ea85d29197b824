use super::views::{ProjectEnvelope, ProjectView};
use super::{if_match, parse_id};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::projects::update::ProjectUpdate;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cinegen_domain::ProjectId;
use cinegen_domain::project::ProjectRole;
use serde_json::{Map, Value};

fn answer(project: cinegen_store::ProjectRecord, role: ProjectRole) -> Response {
    envelope::ok(ProjectEnvelope { project: ProjectView::new(project, role) })
}

/// Creates a project owned by the caller. Only `title` is required.
#[utoipa::path(
    post, path = "/api/v1/projects", tag = "projects", operation_id = "create_project",
    security(("bearer" = [])),
    request_body(content = Object, description = "title (required), stage, target_duration, language, visual_style, image_size, image_count, genre, raw_script, script_data, shots, and any other fields to keep"),
    responses((status = 201, body = Envelope<ProjectEnvelope>), (status = 422, body = ErrorEnvelope))
)]
pub async fn create_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> AppResult<Response> {
    let project = state.projects.create(claims.sub, ProjectUpdate::parse(body)?).await?;
    Ok(envelope::created(ProjectEnvelope { project: ProjectView::new(project, ProjectRole::Owner) }))
}

/// A whole project, with the caller's role.
#[utoipa::path(
    get, path = "/api/v1/projects/{id}", tag = "projects", operation_id = "get_project",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<ProjectEnvelope>), (status = 404, body = ErrorEnvelope))
)]
pub async fn get_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let (project, role) = state.projects.load(claims.sub, id).await?;
    Ok(answer(project, role))
}

/// Updates settings and documents. The body names the `version` it was based on (or `If-Match`);
/// a stale one answers 409 with the current version and changes nothing.
#[utoipa::path(
    put, path = "/api/v1/projects/{id}", tag = "projects", operation_id = "update_project",
    security(("bearer" = [])),
    request_body(content = Object, description = "version (required) and any fields to change"),
    responses(
        (status = 200, body = Envelope<ProjectEnvelope>),
        (status = 403, description = "viewer", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "stale version; details.current_version", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn update_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let mut update = ProjectUpdate::parse(body)?;
    update.version = update.version.or_else(|| if_match(&headers));
    let project = state.projects.update(&access, update).await?;
    Ok(answer(project, access.role))
}

/// Moves the project to `deleted` (owner only); it can be restored until it is purged.
#[utoipa::path(
    delete, path = "/api/v1/projects/{id}", tag = "projects", operation_id = "delete_project",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<ProjectEnvelope>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
pub async fn delete_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let project = state.projects.delete(&access).await?;
    Ok(answer(project, access.role))
}

/// Brings a deleted project back (owner only).
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/restore", tag = "projects", operation_id = "restore_project",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<ProjectEnvelope>), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope))
)]
pub async fn restore_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let project = state.projects.restore(&access).await.map_err(|e| match e {
        AppError::Forbidden(_) => AppError::not_found("project"),
        other => other,
    })?;
    Ok(answer(project, access.role))
}
