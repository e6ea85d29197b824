use super::{if_match, parse_id};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cinegen_domain::ProjectId;
use cinegen_domain::project::document::id_matches;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The changed shot (or keyframe) and the project's new version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShotPatched {
    pub version: i64,
    #[schema(value_type = Object)]
    pub shot: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub keyframe: Option<Value>,
}

fn find<'a>(list: Option<&'a Value>, id: &str) -> Option<&'a Value> {
    list?.as_array()?.iter().find(|item| item.get("id").is_some_and(|v| id_matches(v, id)))
}

/// Merges a JSON merge patch (RFC 7396) into one shot. No whole-document version is needed, so
/// edits of other shots made meanwhile are kept; `If-Match` makes it conditional all the same.
#[utoipa::path(
    patch, path = "/api/v1/projects/{id}/shots/{shot_id}", tag = "projects", operation_id = "patch_shot",
    security(("bearer" = [])),
    request_body(content = Object, description = "fields of the shot to change; null removes a field"),
    responses(
        (status = 200, body = Envelope<ShotPatched>),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn patch_shot(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, shot_id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let project = state.projects.patch_shot(&access, shot_id.clone(), patch, if_match(&headers)).await?;
    let shot = find(Some(&project.docs.shots), &shot_id).cloned().ok_or_else(|| AppError::not_found("shot"))?;
    Ok(envelope::ok(ShotPatched { version: project.version, shot, keyframe: None }))
}

/// Merges a JSON merge patch into one keyframe of one shot.
#[utoipa::path(
    patch, path = "/api/v1/projects/{id}/shots/{shot_id}/keyframes/{keyframe_id}", tag = "projects",
    operation_id = "patch_keyframe", security(("bearer" = [])),
    request_body(content = Object, description = "fields of the keyframe to change; null removes a field"),
    responses(
        (status = 200, body = Envelope<ShotPatched>),
        (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn patch_keyframe(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, shot_id, keyframe_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    ApiJson(patch): ApiJson<Map<String, Value>>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let project =
        state.projects.patch_keyframe(&access, shot_id.clone(), keyframe_id.clone(), patch, if_match(&headers)).await?;
    let shot = find(Some(&project.docs.shots), &shot_id).cloned().ok_or_else(|| AppError::not_found("shot"))?;
    let keyframe = find(shot.get("keyframes"), &keyframe_id).cloned();
    Ok(envelope::ok(ShotPatched { version: project.version, shot, keyframe }))
}
