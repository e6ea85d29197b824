//! `/api/v1/projects/{id}/history`: earlier versions of the documents, who made them and when,
//! and restoring one as a new version.

use super::crud::project_view;
use super::parse_id;
use super::views::{ProjectEnvelope, RevisionDetailView, RevisionView, RevisionsView};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::CurrentUser;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_domain::ProjectId;

/// The project and version a revision's path names; either malformed names nothing (404).
fn revision_path(id: &str, version: &str) -> AppResult<(ProjectId, i64)> {
    Ok((parse_id(id, "project")?, parse_id(version, "revision")?))
}

/// The kept earlier versions of the project's documents, newest first (anyone who can see it).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/history", tag = "projects", operation_id = "list_history",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<RevisionsView>), (status = 404, body = ErrorEnvelope))
)]
pub async fn list_history(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let revisions = state.projects.history(&access).await?;
    Ok(envelope::ok(RevisionsView {
        current_version: access.version(),
        revisions: revisions.into_iter().map(RevisionView::from).collect(),
    }))
}

/// One kept version with its documents (file links minted as for the project).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/history/{version}", tag = "projects", operation_id = "get_revision",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<RevisionDetailView>), (status = 404, description = "no such project or version", body = ErrorEnvelope))
)]
pub async fn get_revision(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, version)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, version) = revision_path(&id, &version)?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let mut revision = state.projects.revision(&access, version).await?;
    state.assets.mint(id, &mut revision.docs).await?;
    Ok(envelope::ok(RevisionDetailView::from(revision)))
}

/// Makes a kept version the project's documents again, as a new version (editors and owners).
/// What it replaces is kept in turn.
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/history/{version}/restore", tag = "projects", operation_id = "restore_revision",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<ProjectEnvelope>), (status = 403, body = ErrorEnvelope),
        (status = 404, description = "no such project or version", body = ErrorEnvelope),
    )
)]
pub async fn restore_revision(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, version)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, version) = revision_path(&id, &version)?;
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let project = state.projects.restore_revision(&access, version).await?;
    Ok(envelope::ok(ProjectEnvelope { project: project_view(&state, project, access.role()).await? }))
}
