use super::files::FileView;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, CurrentUser};
use crate::files::UploadRequest;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use cinegen_domain::FileId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUploadRequest {
    pub file_name: String,
    /// character, scene, keyframe_start, keyframe_end, keyframe_full, video, export or audio.
    pub file_type: String,
    pub file_size: i64,
    pub project_id: String,
    pub content_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadTargetView {
    pub file_id: FileId,
    pub storage_key: String,
    /// PUT the bytes here (a path on this server, or a presigned S3 URL).
    pub upload_url: String,
    pub upload_method: String,
    pub upload_headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// Requests an upload into a project (editors): checks type, size and quota, and answers where to
/// PUT the bytes. Complete it with `/storage/upload/callback`.
#[utoipa::path(
    post, path = "/api/v1/storage/upload", tag = "storage", operation_id = "create_upload",
    security(("bearer" = [])), request_body = CreateUploadRequest,
    responses(
        (status = 201, body = Envelope<UploadTargetView>),
        (status = 404, body = ErrorEnvelope), (status = 413, description = "QUOTA_EXCEEDED", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn create_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<CreateUploadRequest>,
) -> AppResult<Response> {
    let request = UploadRequest {
        file_name: body.file_name,
        file_type: body.file_type,
        file_size: body.file_size,
        project_id: body.project_id,
        content_type: body.content_type,
    };
    let (file, target) = state.files.request_upload(claims.sub, request).await?;
    Ok(envelope::created(UploadTargetView {
        file_id: file.id,
        storage_key: file.storage_key,
        upload_url: target.url,
        upload_method: target.method.to_owned(),
        upload_headers: target.headers.into_iter().collect(),
        expires_at: target.expires_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadCallback {
    pub file_id: String,
    /// `success`, or anything else to abandon the upload.
    pub upload_status: String,
    pub actual_size: Option<i64>,
    /// Hex MD5 of the bytes, checked against the stored object when given.
    pub md5: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileEnvelope {
    pub file: FileView,
}

/// Completes an upload. The server checks the stored object itself (exists, size, checksum,
/// type) before charging the quota and marking the file ready.
#[utoipa::path(
    post, path = "/api/v1/storage/upload/callback", tag = "storage", operation_id = "complete_upload",
    security(("bearer" = [])), request_body = UploadCallback,
    responses(
        (status = 200, body = Envelope<FileEnvelope>),
        (status = 400, description = "the stored object does not match", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 413, description = "QUOTA_EXCEEDED", body = ErrorEnvelope),
    )
)]
pub async fn complete_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<UploadCallback>,
) -> AppResult<Response> {
    let file_id: FileId = crate::api::projects::parse_id(&body.file_id, "file")?;
    let succeeded = body.upload_status == "success";
    let minted =
        state.files.complete_upload(claims.sub, file_id, succeeded, body.actual_size, body.md5.as_deref()).await?;
    state.users.invalidate(claims.sub);
    Ok(envelope::ok(FileEnvelope { file: minted.into() }))
}
