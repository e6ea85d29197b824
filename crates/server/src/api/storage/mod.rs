//! `/api/v1/storage/*`: request an upload, complete it, fresh URLs, delete, usage.

pub mod files;
pub mod upload;

use crate::state::AppState;
use axum::Router;
use axum::routing::{delete, get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/storage/upload", post(upload::create_upload))
        .route("/storage/upload/callback", post(upload::complete_upload))
        .route("/storage/url/{file_id}", get(files::file_url))
        .route("/storage/file/{file_id}", delete(files::delete_file))
        .route("/storage/usage", get(files::storage_usage))
}
