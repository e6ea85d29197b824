use super::views::{CreateProjectBody, ProjectEnvelope, ProjectView};
use super::{if_match, parse_id};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::projects::assets::Normalized;
use crate::projects::update::ProjectUpdate;
use crate::state::AppState;
use crate::tasks::budget::{Budget, Charge};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cinegen_domain::project::assets::for_each_slot;
use cinegen_domain::project::{Documents, ProjectRole};
use cinegen_domain::{ProjectId, UserId};
use cinegen_store::ProjectRecord;
use serde_json::{Map, Value};

/// The project as the API shows it: every asset slot with a fresh URL, and `stale` on those
/// whose chosen take was made from inputs that have changed since.
pub async fn project_view(state: &AppState, mut project: ProjectRecord, role: ProjectRole) -> AppResult<ProjectView> {
    state.takes.mark_stale(&mut project).await?;
    state.assets.mint(project.id, &mut project.docs).await?;
    let merged = state.assets.merged_video_url(project.id, project.merged_video_file_id).await?;
    let mut view = ProjectView::new(project, role);
    view.merged_video_url = merged;
    Ok(view)
}

async fn answer(state: &AppState, project: ProjectRecord, role: ProjectRole) -> AppResult<Response> {
    Ok(envelope::ok(ProjectEnvelope { project: project_view(state, project, role).await? }))
}

/// Stores the inline images of the documents an update carries (after checking the documents, so
/// a refused one stores nothing), and returns what the normalisation did.
pub async fn normalize_assets(
    state: &AppState,
    owner: UserId,
    project: ProjectId,
    update: &mut ProjectUpdate,
) -> AppResult<Normalized> {
    let has_script = update.script_data.is_some();
    let has_shots = update.shots.is_some();
    if !has_script && !has_shots {
        return Ok(Normalized::default());
    }
    let mut docs = Documents {
        script_data: update.script_data.take().unwrap_or(Value::Null),
        shots: update.shots.take().unwrap_or(Value::Array(Vec::new())),
    };
    let errors = docs.validate();
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let normalized = state.assets.normalize(owner, project, &mut docs).await;
    update.script_data = has_script.then_some(docs.script_data);
    update.shots = has_shots.then_some(docs.shots);
    Ok(normalized)
}

/// Creates a project owned by the caller. Only `title` is required.
#[utoipa::path(
    post, path = "/api/v1/projects", tag = "projects", operation_id = "create_project",
    security(("bearer" = [])),
    request_body(content = CreateProjectBody, description = "title (required) and settings, the script, script_data and shots; any other fields are kept"),
    responses((status = 201, body = Envelope<ProjectEnvelope>), (status = 422, body = ErrorEnvelope))
)]
pub async fn create_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> AppResult<Response> {
    let id = ProjectId::new();
    let update = ProjectUpdate::parse(body)?;
    let (project, _) = create_with_assets(&state, claims.sub, id, update).await?;
    let view = project_view(&state, project, ProjectRole::Owner).await?;
    Ok(envelope::created_at(&format!("/api/v1/projects/{id}"), ProjectEnvelope { project: view }))
}

/// Creates a project whose documents may carry assets. Files must belong to an existing project,
/// so documents with assets to store are attached in a second step, after the project exists.
pub async fn create_with_assets(
    state: &AppState,
    owner: UserId,
    id: ProjectId,
    mut update: ProjectUpdate,
) -> AppResult<(ProjectRecord, Normalized)> {
    let mut docs = Documents {
        script_data: update.script_data.clone().unwrap_or(Value::Null),
        shots: update.shots.clone().unwrap_or(Value::Array(Vec::new())),
    };
    let errors = docs.validate();
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let (mut has_assets, mut links) = (false, 0);
    for_each_slot(&mut docs, |slot| {
        has_assets |= slot.url().is_some();
        links += u64::from(slot.url().is_some_and(|url| url.starts_with("http://") || url.starts_with("https://")));
    });
    if !has_assets {
        return Ok((state.projects.create(owner, id, update).await?, Normalized::default()));
    }
    // Drawn before anything is created; links that turn out to be our own files are given back.
    let downloads = Charge::of(Budget::Downloads, links);
    state.tasks.draw(owner, &downloads).await?;
    let created = async {
        let (script_data, shots) = (update.script_data.take(), update.shots.take());
        let project = state.projects.create(owner, id, update).await?;
        debug_assert_eq!(project.version, 1);
        let mut attach = ProjectUpdate { script_data, shots, ..ProjectUpdate::default() };
        let mut normalized = normalize_assets(state, owner, id, &mut attach).await?;
        match state.projects.attach_documents(id, attach.script_data, attach.shots).await {
            Ok(project) => {
                normalized.downloads = state.assets.enqueue_downloads(owner, id, normalized.pending.clone()).await?;
                state.users.invalidate(owner);
                Ok((project, normalized))
            }
            Err(error) => {
                state.assets.discard(owner, &normalized.stored).await;
                Err(error)
            }
        }
    }
    .await;
    let used = created.as_ref().map_or(0, |(_, normalized)| normalized.pending.len() as u64);
    state.tasks.refund(owner, &Charge::of(Budget::Downloads, links.saturating_sub(used))).await;
    created
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
    // Access is checked against what this caller last saw of the project, kept until a write to
    // it is announced; the document itself is cached by version.
    let seen = state.seen_projects.of(claims.sub);
    let access = match seen.access(id) {
        Some(access) => access,
        None => {
            let access = state.projects.authorize(claims.sub, id).await?;
            seen.remember_access(access);
            access
        }
    };
    if let Some(body) = state.project_cache.get(id, access.version()) {
        return Ok(cached_answer(&body, access.role()));
    }
    let (project, role) = state.projects.load(claims.sub, id).await?;
    let version = project.version;
    let mut view = project_view(&state, project, role).await?;
    view.role = None;
    let body = bytes::Bytes::from(serde_json::to_vec(&view).map_err(AppError::internal)?);
    state.project_cache.insert(id, version, body.clone());
    Ok(cached_answer(&body, role))
}

/// The envelope around a serialised project (without its role), with the caller's role put in
/// front: the one part of the answer that differs between callers.
fn cached_answer(project: &bytes::Bytes, role: ProjectRole) -> Response {
    let fields = project.strip_prefix(b"{").map_or_else(|| project.clone(), |_| project.slice(1..));
    envelope::ok_serialised([
        bytes::Bytes::from(format!(r#"{{"project":{{"role":"{role}","#)),
        fields,
        bytes::Bytes::from_static(b"}"),
    ])
}

/// Updates settings and documents. The body names the `version` it was based on (or `If-Match`);
/// a stale one answers 409 with the current version and changes nothing.
#[utoipa::path(
    put, path = "/api/v1/projects/{id}", tag = "projects", operation_id = "update_project",
    security(("bearer" = [])),
    request_body(content = Object, description = "any fields to change; `version` (or If-Match) makes the write conditional: a stale one answers 409"),
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
    let access = state.projects.authorize(claims.sub, id).await?.editor()?;
    let mut update = ProjectUpdate::parse(body)?;
    update.version = update.version.or_else(|| if_match(&headers));
    let normalized = normalize_assets(&state, access.owner_id(), id, &mut update).await?;
    // Outside links are downloaded by the owner's workers, from the owner's budget.
    let downloads = Charge::of(Budget::Downloads, normalized.pending.len() as u64);
    if let Err(error) = state.tasks.draw(access.owner_id(), &downloads).await {
        state.assets.discard(access.owner_id(), &normalized.stored).await;
        return Err(error);
    }
    match state.projects.update(&access, update).await {
        Ok(project) => {
            state.assets.enqueue_downloads(access.owner_id(), id, normalized.pending).await?;
            state.users.invalidate(access.owner_id());
            answer(&state, project, access.role()).await
        }
        Err(error) => {
            state.tasks.refund(access.owner_id(), &downloads).await;
            state.assets.discard(access.owner_id(), &normalized.stored).await;
            Err(error)
        }
    }
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
    let access = state.projects.authorize(claims.sub, id).await?.owner()?;
    let project = state.projects.delete(&access).await?;
    answer(&state, project, access.role()).await
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
    // A deleted project is not disclosed to its members: anyone but the owner gets 404.
    let access = state.projects.authorize(claims.sub, id).await?.owner().map_err(|_| AppError::not_found("project"))?;
    let project = state.projects.restore(&access).await?;
    answer(&state, project, access.role()).await
}
