//! `/api/v1/storage/*`: request an upload, complete it, fresh URLs, delete, usage.

pub mod files;
pub mod multipart;
pub mod upload;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/storage/upload", post(upload::create_upload))
        .route("/storage/upload/callback", post(upload::complete_upload))
        .route("/storage/url/{file_id}", get(files::file_url))
        .route("/storage/file/{file_id}", delete(files::delete_file))
        .route("/storage/usage", get(files::storage_usage))
        .route("/storage/upload/multipart", post(multipart::start_multipart_upload))
        .route(
            "/storage/upload/chunk",
            post(multipart::upload_chunk).put(multipart::upload_chunk).layer(DefaultBodyLimit::disable()),
        )
        .route("/storage/upload/{file_id}/parts", get(multipart::list_upload_parts))
        .route("/storage/upload/{file_id}/complete", post(multipart::complete_multipart_upload))
        .route("/storage/upload/{file_id}", delete(multipart::abort_multipart_upload))
}
