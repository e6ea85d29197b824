//! `/api/v1/projects/*`: list, create, read, update, delete and restore projects; patch one shot
//! or keyframe; share with members; export; document history; takes.

pub mod audit;
pub mod crud;
pub mod export;
pub mod history;
pub mod list;
pub mod members;
pub mod shots;
pub mod takes;
pub mod views;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::routing::{get, patch, post};
use std::str::FromStr;

/// The project routes, with the document size limit on their bodies.
pub fn routes(document_limit: usize) -> Router<AppState> {
    Router::new()
        .route("/projects", get(list::list_projects).post(crud::create_project))
        .route("/projects/{id}", get(crud::get_project).put(crud::update_project).delete(crud::delete_project))
        .route("/projects/{id}/restore", post(crud::restore_project))
        .route("/projects/{id}/shots/{shot_id}", patch(shots::patch_shot))
        .route("/projects/{id}/shots/{shot_id}/keyframes/{keyframe_id}", patch(shots::patch_keyframe))
        .route("/projects/{id}/share", post(members::share_project))
        .route("/projects/{id}/members", get(members::list_members))
        .route("/projects/{id}/members/{user_id}", axum::routing::delete(members::remove_member))
        .route("/projects/{id}/invitations/{email}", axum::routing::delete(members::cancel_invitation))
        .route("/projects/{id}/export.json", get(export::export_project))
        .route("/projects/{id}/subtitles", get(export::subtitles))
        .route("/projects/{id}/subtitles/cues", get(export::subtitle_cues))
        .route("/projects/{id}/timeline", get(export::timeline))
        .route("/projects/{id}/history", get(history::list_history))
        .route("/projects/{id}/audit", get(audit::project_audit))
        .route("/projects/{id}/history/{version}", get(history::get_revision))
        .route("/projects/{id}/history/{version}/restore", post(history::restore_revision))
        .route("/projects/{id}/takes", get(takes::list_takes))
        .route("/projects/{id}/takes/{take_id}", patch(takes::update_take).delete(takes::delete_take))
        .route("/projects/{id}/takes/{take_id}/choose", post(takes::choose_take))
        .route("/projects/{id}/takes/{take_id}/rerun", post(takes::rerun_take))
        .layer(DefaultBodyLimit::max(document_limit))
}

/// Parses an id from a path. A malformed id names nothing, so it is `NOT_FOUND` like an unknown one.
pub fn parse_id<T: FromStr>(raw: &str, what: &str) -> AppResult<T> {
    raw.parse().map_err(|_| AppError::not_found(what))
}

/// The version named by an `If-Match` header, if any.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::projects::update::version_from_if_match)
}
