//! `POST /api/v1/import/legacy`: projects from the original browser app's files.

use crate::api::projects::crud::create_with_assets;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::CurrentUser;
use crate::projects::assets::AssetReport;
use crate::projects::legacy;
use crate::state::AppState;
use axum::extract::{Multipart, State};
use axum::response::Response;
use cinegen_domain::{FieldError, ProjectId};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedAssets {
    /// Images and videos stored from the file itself.
    pub imported: usize,
    /// Links being downloaded in the background; each lands in its slot (or marks it failed).
    pub pending: Vec<AssetReport>,
    /// Assets that could not be imported; their slots are left empty.
    pub missing: Vec<AssetReport>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedProject {
    pub id: ProjectId,
    pub title: String,
    pub assets: ImportedAssets,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub projects: Vec<ImportedProject>,
}

async fn read_file(mut multipart: Multipart) -> AppResult<Vec<u8>> {
    let field_error = |message: &str| AppError::bad_request(message.to_owned(), vec![FieldError::new("file", message)]);
    while let Some(field) = multipart.next_field().await.map_err(|e| field_error(&e.body_text()))? {
        if field.name() == Some("file") {
            return field.bytes().await.map(|b| b.to_vec()).map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::PayloadTooLarge("the import file is too large".into())
                } else {
                    field_error(&e.body_text())
                }
            });
        }
    }
    Err(field_error("a multipart field named `file` is required"))
}

/// Outside links one import may queue for download.
pub const MAX_IMPORT_LINKS: usize = 2_000;

/// Imports the old app's export file, an exported project, or a raw `ProjectState`: one project
/// per entry. Inline images become files at once; links are downloaded in the background
/// (SSRF-guarded); an asset that cannot be had is reported and never fails the import.
#[utoipa::path(
    post, path = "/api/v1/import/legacy", tag = "projects", operation_id = "import_legacy",
    security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "field `file`: the JSON file"),
    responses(
        (status = 201, body = Envelope<ImportReport>),
        (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn import_legacy(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    multipart: Multipart,
) -> AppResult<Response> {
    let bytes = read_file(multipart).await?;
    let file: serde_json::Value = crate::extract::parse_json(&bytes).map_err(|_| {
        AppError::validation(cinegen_domain::ValidationErrors(vec![FieldError::new("file", "is not valid JSON")]))
    })?;
    let entries = legacy::entries(file).map_err(|reason| {
        AppError::validation(cinegen_domain::ValidationErrors(vec![FieldError::new("file", reason)]))
    })?;
    // Every entry is checked before any is created, so a bad file creates nothing.
    let mut prepared = Vec::new();
    let mut errors = cinegen_domain::ValidationErrors::default();
    let mut links = 0;
    for (index, entry) in entries.into_iter().enumerate() {
        let (update, merged_video) = legacy::to_update(entry);
        let mut docs = cinegen_domain::project::Documents {
            script_data: update.script_data.clone().unwrap_or_default(),
            shots: update.shots.clone().unwrap_or_default(),
        };
        for error in docs.validate().0 {
            errors.push(FieldError::new(format!("projects[{index}].{}", error.field), error.message));
        }
        cinegen_domain::project::assets::for_each_slot(&mut docs, |slot| {
            links += usize::from(slot.url().is_some_and(|u| u.starts_with("http://") || u.starts_with("https://")));
        });
        prepared.push((update, merged_video));
    }
    // Each outside link becomes a download on the queue: one file cannot fill it.
    if links > MAX_IMPORT_LINKS {
        errors.push(FieldError::new(
            "file",
            format!("links to {links} outside images and clips; an import may bring at most {MAX_IMPORT_LINKS}"),
        ));
    }
    errors.into_result().map_err(AppError::validation)?;
    let mut projects = Vec::new();
    for (update, merged_video) in prepared {
        let id = ProjectId::new();
        let (project, normalized) = create_with_assets(&state, claims.sub, id, update).await?;
        let mut missing = normalized.missing;
        if let Some(url) = merged_video {
            missing.push(AssetReport {
                slot: "merged_video".into(),
                source: url.chars().take(200).collect(),
                reason: Some("merged films are not imported; merge the clips again".into()),
                task_id: None,
            });
        }
        let pending = normalized
            .pending
            .iter()
            .zip(normalized.downloads.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|((slot, _, url), task)| AssetReport {
                slot: slot.describe(),
                source: url.chars().take(200).collect(),
                reason: None,
                task_id: task.copied(),
            })
            .collect();
        projects.push(ImportedProject {
            id,
            title: project.title,
            assets: ImportedAssets { imported: normalized.imported.len(), pending, missing },
        });
    }
    state.users.invalidate(claims.sub);
    tracing::info!(user.id = %claims.sub, count = projects.len(), "imported legacy projects");
    Ok(envelope::created(ImportReport { projects }))
}
