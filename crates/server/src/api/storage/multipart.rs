//! Resumable uploads of large files in parts: start, send parts (in any order, again after a
//! dropped connection), ask which parts are stored, complete (verified like any upload), abort.

use super::upload::{CreateUploadRequest, FileEnvelope};
use crate::api::projects::parse_id;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::files::UploadRequest;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_domain::FileId;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartMultipartRequest {
    #[serde(flatten)]
    pub file: CreateUploadRequest,
    /// Bytes per part, 5–64 MiB (default 16 MiB); the last part takes the rest.
    pub part_size: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MultipartView {
    pub file_id: FileId,
    pub part_size: i64,
    pub parts: i64,
    /// Parts stored so far (when asked for the status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<Vec<PartView>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartView {
    pub part_number: i32,
    pub size: i64,
    pub etag: String,
}

/// Starts a resumable upload (checks like `/storage/upload`).
#[utoipa::path(
    post, path = "/api/v1/storage/upload/multipart", tag = "storage", operation_id = "start_multipart_upload",
    security(("bearer" = [])), request_body = StartMultipartRequest,
    responses((status = 201, body = Envelope<MultipartView>), (status = 413, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
pub async fn start_multipart_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<StartMultipartRequest>,
) -> AppResult<Response> {
    let request = UploadRequest {
        file_name: body.file.file_name,
        file_type: body.file.file_type,
        file_size: body.file.file_size,
        project_id: body.file.project_id,
        content_type: body.file.content_type,
    };
    let (file, plan) = state.files.start_multipart(claims.sub, request, body.part_size).await?;
    Ok(envelope::created(MultipartView {
        file_id: file.id,
        part_size: plan.part_size,
        parts: plan.parts,
        uploaded: None,
        missing: None,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ChunkQuery {
    file_id: Option<String>,
    part_number: Option<String>,
}

/// Stores one part: the raw bytes as the body, `file_id` and `part_number` (1-based) in the query.
#[utoipa::path(
    post, path = "/api/v1/storage/upload/chunk", tag = "storage", operation_id = "upload_chunk",
    security(("bearer" = [])),
    params(("file_id" = String, Query), ("part_number" = i64, Query)),
    request_body(content_type = "application/octet-stream", description = "the part's bytes"),
    responses((status = 200, body = Envelope<PartView>), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
pub async fn upload_chunk(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiQuery(query): ApiQuery<ChunkQuery>,
    body: Body,
) -> AppResult<Response> {
    let id: FileId = parse_id(query.file_id.as_deref().unwrap_or_default(), "upload")?;
    let number: i64 = query.part_number.as_deref().and_then(|n| n.parse().ok()).ok_or_else(|| {
        AppError::validation(cinegen_domain::ValidationErrors(vec![cinegen_domain::FieldError::new(
            "part_number",
            "is required: a whole number from 1",
        )]))
    })?;
    let expected = state.files.expected_part_size(claims.sub, id, number).await?;
    // Read at most one byte more than the part may have: memory is bounded by the part size.
    let limited = http_body_util::Limited::new(body, expected as usize + 1);
    let bytes = limited
        .collect()
        .await
        .map_err(|_| AppError::PayloadTooLarge(format!("part {number} must have {expected} bytes")))?
        .to_bytes();
    let part = state.files.upload_part(claims.sub, id, number, bytes).await?;
    Ok(envelope::ok(PartView { part_number: part.part_number, size: part.size, etag: part.etag }))
}

/// Which parts are stored and which are missing, to resume after an interruption.
#[utoipa::path(
    get, path = "/api/v1/storage/upload/{file_id}/parts", tag = "storage", operation_id = "list_upload_parts",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<MultipartView>), (status = 404, body = ErrorEnvelope))
)]
pub async fn list_upload_parts(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(file_id): Path<String>,
) -> AppResult<Response> {
    let id: FileId = parse_id(&file_id, "upload")?;
    let (plan, parts) = state.files.upload_status(claims.sub, id).await?;
    let missing = (1..=plan.parts).filter(|n| !parts.iter().any(|p| i64::from(p.part_number) == *n)).collect();
    let uploaded =
        parts.into_iter().map(|p| PartView { part_number: p.part_number, size: p.size, etag: p.etag }).collect();
    Ok(envelope::ok(MultipartView {
        file_id: id,
        part_size: plan.part_size,
        parts: plan.parts,
        uploaded: Some(uploaded),
        missing: Some(missing),
    }))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteMultipart {
    /// Hex MD5 of the whole file, checked against the assembled object when given.
    pub md5: Option<String>,
}

/// Assembles the parts and verifies the file (size, checksum, type, quota).
#[utoipa::path(
    post, path = "/api/v1/storage/upload/{file_id}/complete", tag = "storage", operation_id = "complete_multipart_upload",
    security(("bearer" = [])), request_body = CompleteMultipart,
    responses(
        (status = 200, body = Envelope<FileEnvelope>), (status = 400, description = "missing parts or a mismatch", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 413, body = ErrorEnvelope),
    )
)]
pub async fn complete_multipart_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(file_id): Path<String>,
    ApiJson(body): ApiJson<CompleteMultipart>,
) -> AppResult<Response> {
    let id: FileId = parse_id(&file_id, "upload")?;
    let minted = state.files.complete_multipart(claims.sub, id, body.md5.as_deref()).await?;
    state.users.invalidate(claims.sub);
    Ok(envelope::ok(FileEnvelope { file: minted.into() }))
}

/// Abandons a multipart upload and its stored parts.
#[utoipa::path(
    delete, path = "/api/v1/storage/upload/{file_id}", tag = "storage", operation_id = "abort_multipart_upload",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<serde_json::Value>), (status = 404, body = ErrorEnvelope))
)]
pub async fn abort_multipart_upload(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(file_id): Path<String>,
) -> AppResult<Response> {
    let id: FileId = parse_id(&file_id, "upload")?;
    state.files.abort_multipart(claims.sub, id).await?;
    Ok(envelope::ok(json!({ "aborted": true })))
}
