use super::parse_id;
use crate::error::AppResult;
use crate::extract::CurrentUser;
use crate::projects::export::{export_file, project_entry};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cinegen_domain::ProjectId;

/// The project in the original app's export format (`{version, exportDate, projects: [...]}`), as
/// a download; importing it gives the project back.
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/export.json", tag = "projects", operation_id = "export_project_json",
    security(("bearer" = [])),
    responses((status = 200, content_type = "application/json", description = "the export file"), (status = 404, body = crate::envelope::ErrorEnvelope))
)]
pub async fn export_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let (mut project, _) = state.projects.load(claims.sub, id).await?;
    state.assets.mint(project.id, &mut project.docs).await?;
    let merged = state.assets.merged_video_url(project.id, project.merged_video_file_id).await?;
    let file_name = format!("cinegen-{}.json", project.id);
    let body = export_file(vec![project_entry(&project, merged)]);
    let disposition = format!("attachment; filename=\"{file_name}\"");
    Ok(([(header::CONTENT_DISPOSITION, disposition)], Json(body)).into_response())
}
