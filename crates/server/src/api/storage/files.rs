use super::upload::FileEnvelope;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::CurrentUser;
use crate::files::service::MintedFile;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A file with a fresh URL (`url` and `presigned_url` are the same link).
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    pub id: FileId,
    pub file_name: String,
    pub file_type: FileKind,
    pub content_type: String,
    pub file_size: i64,
    pub sha256: Option<String>,
    pub url: String,
    pub presigned_url: String,
    pub presigned_expires_at: DateTime<Utc>,
}

impl From<MintedFile> for FileView {
    fn from(minted: MintedFile) -> Self {
        let file = minted.file;
        Self {
            id: file.id,
            file_name: file.file_name,
            file_type: file.kind,
            content_type: file.content_type,
            file_size: file.file_size,
            sha256: file.sha256,
            url: minted.url.clone(),
            presigned_url: minted.url,
            presigned_expires_at: minted.expires_at,
        }
    }
}

/// A fresh URL for a file the caller owns or can see through a project.
#[utoipa::path(
    get, path = "/api/v1/storage/url/{file_id}", tag = "storage", operation_id = "file_url",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<FileEnvelope>), (status = 404, body = ErrorEnvelope))
)]
pub async fn file_url(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(file_id): Path<String>,
) -> AppResult<Response> {
    let id: FileId = crate::api::projects::parse_id(&file_id, "file")?;
    let file = state.files.visible(claims.sub, id).await?;
    if file.status != cinegen_domain::FileStatus::Ready {
        return Err(crate::error::AppError::not_found("file"));
    }
    Ok(envelope::ok(FileEnvelope { file: state.files.mint(file).await?.into() }))
}

/// Deletes a file (its owner, or an editor of its project) and refunds its bytes.
#[utoipa::path(
    delete, path = "/api/v1/storage/file/{file_id}", tag = "storage", operation_id = "delete_file",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<serde_json::Value>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
pub async fn delete_file(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(file_id): Path<String>,
) -> AppResult<Response> {
    let id: FileId = crate::api::projects::parse_id(&file_id, "file")?;
    state.files.delete(claims.sub, id).await?;
    state.users.invalidate(claims.sub);
    Ok(envelope::ok(json!({ "deleted": true })))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindUsageView {
    pub bytes: i64,
    pub files: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub total: i64,
    pub used: i64,
    pub available: i64,
    pub percent: f64,
    /// Bytes and file counts by file type.
    pub by_type: BTreeMap<String, KindUsageView>,
}

/// Storage used by the caller, in all and by file type.
#[utoipa::path(
    get, path = "/api/v1/storage/usage", tag = "storage", operation_id = "storage_usage",
    security(("bearer" = [])), responses((status = 200, body = Envelope<UsageView>))
)]
pub async fn storage_usage(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    let usage = state.files.usage(claims.sub).await?;
    let percent =
        if usage.total > 0 { (usage.used as f64 * 10_000.0 / usage.total as f64).round() / 100.0 } else { 100.0 };
    Ok(envelope::ok(UsageView {
        total: usage.total,
        used: usage.used,
        available: (usage.total - usage.used).max(0),
        percent,
        by_type: usage
            .by_kind
            .into_iter()
            .map(|k| (k.kind, KindUsageView { bytes: k.bytes, files: k.files }))
            .collect(),
    }))
}
