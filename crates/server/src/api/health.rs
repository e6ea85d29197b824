//! Probes and metrics, at the root for load balancers and scrapers.

use crate::envelope;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The process is alive.
#[utoipa::path(get, path = "/health", tag = "ops", operation_id = "health", responses((status = 200)))]
pub async fn health() -> Response {
    envelope::ok(json!({ "status": "ok" }))
}

/// The database answers.
#[utoipa::path(
    get, path = "/ready", tag = "ops", operation_id = "ready",
    responses((status = 200), (status = 503, description = "SERVICE_UNAVAILABLE"))
)]
pub async fn ready(State(state): State<AppState>) -> AppResult<Response> {
    match state.store.ping().await {
        Ok(()) => Ok(envelope::ok(json!({ "status": "ready", "database": state.store.engine() }))),
        Err(error) => {
            tracing::warn!(error = %error, "readiness check failed");
            Err(AppError::ServiceUnavailable("database unreachable".into()))
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", operation_id = "metrics", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
