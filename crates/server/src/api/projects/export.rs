use super::parse_id;
use crate::error::AppResult;
use crate::extract::{ApiQuery, CurrentUser};
use crate::projects::export::{export_file, project_entry};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use cinegen_domain::ProjectId;
use serde::Deserialize;
use utoipa::IntoParams;

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

fn invalid(field: &str, message: String) -> crate::error::AppError {
    use cinegen_domain::{FieldError, ValidationErrors};
    crate::error::AppError::validation(ValidationErrors(vec![FieldError::new(field, message)]))
}

/// A file made from the project, as a download named after the project.
fn download(id: ProjectId, name: &str, content_type: &'static str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"cinegen-{id}-{name}\"");
    ([(header::CONTENT_TYPE, content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubtitlesQuery {
    /// `srt` (SubRip, the default) or `vtt` (WebVTT).
    #[serde(default)]
    pub format: Option<String>,
    /// Names the speaker before each line (`萧砚：……`); WebVTT names voices either way.
    #[serde(default)]
    pub speakers: Option<bool>,
}

/// The film's subtitles: each shot's dialogue lines on the cut's timings (the merged film's, else
/// the shots' planned lengths), sharing the shot's time by their length.
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/subtitles", tag = "projects", operation_id = "project_subtitles",
    security(("bearer" = [])), params(SubtitlesQuery),
    responses(
        (status = 200, content_type = "application/x-subrip", description = "SubRip or WebVTT text"),
        (status = 400, body = crate::envelope::ErrorEnvelope),
        (status = 404, body = crate::envelope::ErrorEnvelope),
        (status = 422, body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn subtitles(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<SubtitlesQuery>,
) -> AppResult<Response> {
    use crate::film::subtitles::Format;
    let id: ProjectId = parse_id(&id, "project")?;
    let raw = query.format.as_deref().unwrap_or("srt");
    let format = Format::parse(raw).ok_or_else(|| invalid("format", format!("'{raw}' is not srt or vtt")))?;
    let body = state.film.subtitles(claims.sub, id, format, query.speakers.unwrap_or(false)).await?;
    Ok(download(id, &format!("subtitles.{}", format.extension()), format.content_type(), body))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SubtitleCues {
    pub cues: Vec<crate::film::subtitles::Cue>,
}

/// The subtitles as cues to edit: each with its shot, its times on the film and from the shot's
/// first frame, and whether a person edited that shot's subtitles. Edits are saved on the shot
/// (`subtitles: [{text, speaker, start, end}]`, seconds from its first frame; `null` goes back to
/// the dialogue's).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/subtitles/cues", tag = "projects", operation_id = "project_subtitle_cues",
    security(("bearer" = [])),
    responses((status = 200, body = crate::envelope::Envelope<SubtitleCues>), (status = 404, body = crate::envelope::ErrorEnvelope))
)]
pub async fn subtitle_cues(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    Ok(crate::envelope::ok(SubtitleCues { cues: state.film.cues(claims.sub, id).await? }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// `otio` (OpenTimelineIO), `fcpxml` (Final Cut Pro XML 1.9) or `edl` (CMX 3600).
    pub format: String,
}

/// The cut as a timeline an editor opens: one clip a shot in order, named by shot, dialogue as
/// markers (and captions in FCPXML), media named as the project archive holds it
/// (`clips/{shot}.mp4`), so a timeline beside the unpacked archive relinks.
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/timeline", tag = "projects", operation_id = "project_timeline",
    security(("bearer" = [])), params(TimelineQuery),
    responses(
        (status = 200, content_type = "application/json", description = "the timeline file"),
        (status = 400, body = crate::envelope::ErrorEnvelope),
        (status = 404, body = crate::envelope::ErrorEnvelope),
        (status = 422, body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn timeline(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<TimelineQuery>,
) -> AppResult<Response> {
    use crate::film::timeline::Format;
    let id: ProjectId = parse_id(&id, "project")?;
    let format = Format::parse(&query.format)
        .ok_or_else(|| invalid("format", format!("'{}' is not otio, fcpxml or edl", query.format)))?;
    let body = state.film.timeline(claims.sub, id, format).await?;
    Ok(download(id, &format!("timeline.{}", format.extension()), format.content_type(), body))
}
