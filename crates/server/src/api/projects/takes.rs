//! `/api/v1/projects/{id}/takes`: every generation of the project's images, clips and film, kept
//! with how it was made. List (of one slot), choose, pin, delete, run again.

use super::crud::project_view;
use super::parse_id;
use super::views::ProjectEnvelope;
use crate::api::ai::{TaskAccepted, answer, idempotency_key};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::state::AppState;
use crate::takes::TakeView;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use cinegen_domain::{ProjectId, TakeId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TakesQuery {
    /// Only this slot's takes: a slot key as takes carry it (`keyframe/shot-1/kf-1`,
    /// `clip/shot-1`, `character/c1`, `film`, …).
    pub slot: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TakesView {
    pub takes: Vec<TakeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TakeEnvelope {
    pub take: TakeView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTakeRequest {
    /// Pinned takes are never pruned.
    pub pinned: bool,
}

fn take_path(id: &str, take: &str) -> AppResult<(ProjectId, TakeId)> {
    Ok((parse_id(id, "project")?, parse_id(take, "take")?))
}

/// The project's takes, newest first, each with a fresh link, how it was made, what it cost,
/// whether its slot holds it and whether it is stale (anyone who can see the project).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/takes", tag = "takes", operation_id = "list_takes",
    security(("bearer" = [])), params(TakesQuery),
    responses((status = 200, body = Envelope<TakesView>), (status = 400, description = "not a slot key", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope))
)]
pub async fn list_takes(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TakesQuery>,
) -> AppResult<Response> {
    let access = state.projects.authorize(claims.sub, parse_id(&id, "project")?).await?;
    let takes = state.takes.list(&access, query.slot.as_deref()).await?;
    Ok(envelope::ok(TakesView { takes }))
}

/// Makes a take its slot's choice: the documents switch to its file (and link) in one versioned
/// write, kept in the history like any edit (editors and owners).
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/takes/{take_id}/choose", tag = "takes", operation_id = "choose_take",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<ProjectEnvelope>), (status = 403, body = ErrorEnvelope),
              (status = 404, description = "no such project, take or slot", body = ErrorEnvelope))
)]
pub async fn choose_take(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, take)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, take) = take_path(&id, &take)?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let project = state.takes.choose(&access, take).await?;
    Ok(envelope::ok(ProjectEnvelope { project: project_view(&state, project, access.role()).await? }))
}

/// Pins a take (never pruned) or unpins it (editors and owners).
#[utoipa::path(
    patch, path = "/api/v1/projects/{id}/takes/{take_id}", tag = "takes", operation_id = "update_take",
    security(("bearer" = [])), request_body = UpdateTakeRequest,
    responses((status = 200, body = Envelope<TakeEnvelope>), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
pub async fn update_take(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, take)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateTakeRequest>,
) -> AppResult<Response> {
    let (id, take) = take_path(&id, &take)?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let take = state.takes.pin(&access, take, body.pinned).await?;
    Ok(envelope::ok(TakeEnvelope { take }))
}

/// Deletes a take, and its file when no other take holds the same bytes (refunding the quota).
/// The take a slot holds cannot be deleted: 409 until another is chosen (editors and owners).
#[utoipa::path(
    delete, path = "/api/v1/projects/{id}/takes/{take_id}", tag = "takes", operation_id = "delete_take",
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "the slot holds this take", body = ErrorEnvelope))
)]
pub async fn delete_take(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, take)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, take) = take_path(&id, &take)?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    state.takes.delete(&access, take).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Runs a take's recipe again: the same provider, model, prompt as sent, references and frames,
/// into the same slot, as a new task (editors and owners; budgets apply as to any generation).
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/takes/{take_id}/rerun", tag = "takes", operation_id = "rerun_take",
    security(("bearer" = [])), params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 402, description = "over a monthly spending cap", body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope),
              (status = 422, description = "the take has no recipe, or an image it used is gone", body = ErrorEnvelope),
              (status = 429, body = ErrorEnvelope))
)]
pub async fn rerun_take(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    Path((id, take)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, take) = take_path(&id, &take)?;
    let key = idempotency_key(&headers, None)?;
    let on = state.generation.editable(claims.sub, id).await?;
    let take = state.takes.get(&on.access, take).await?;
    let queued = state.generation.rerun(&on, &take, key).await?;
    Ok(answer(&state, queued, None).await)
}
