//! Probes and metrics, at the root for load balancers and scrapers.

use crate::envelope;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// The process is alive.
#[utoipa::path(get, path = "/health", tag = "ops", operation_id = "health", responses((status = 200)))]
pub async fn health() -> Response {
    envelope::ok(json!({ "status": "ok" }))
}

/// Everything configured answers: the database; Redis, when configured; the file store (a listing
/// of an empty prefix: it proves the bucket or folder is reachable and the keys accepted). Each
/// check is bounded, so a hanging dependency reads as not ready rather than hanging the probe.
#[utoipa::path(
    get, path = "/ready", tag = "ops", operation_id = "ready",
    responses((status = 200), (status = 503, description = "SERVICE_UNAVAILABLE: names what does not answer"))
)]
pub async fn ready(State(state): State<AppState>) -> AppResult<Response> {
    if state.stopping.is_cancelled() {
        return Err(AppError::ServiceUnavailable("shutting down".into()));
    }
    check("database", async { Ok(state.store.ping().await?) }).await?;
    let redis = match &state.settings.redis_url {
        Some(_) => {
            check("redis", async { state.counters.peek("ready").await.map(drop) }).await?;
            Some("ok")
        }
        None => None,
    };
    check("storage", async { Ok(state.files.storage().list("ready-probe/").await.map(drop)?) }).await?;
    let storage = state.files.storage().backend_name();
    Ok(envelope::ok(json!({ "status": "ready", "database": state.store.engine(), "redis": redis, "storage": storage })))
}

/// One dependency's answer, within a few seconds.
async fn check(what: &str, probe: impl Future<Output = anyhow::Result<()>>) -> AppResult<()> {
    const LIMIT: Duration = Duration::from_secs(3);
    match tokio::time::timeout(LIMIT, probe).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::warn!(error = %error, dependency = what, "readiness check failed");
            Err(AppError::ServiceUnavailable(format!("{what} unreachable")))
        }
        Err(_) => Err(AppError::ServiceUnavailable(format!("{what} did not answer in {} s", LIMIT.as_secs()))),
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", operation_id = "metrics", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    crate::ops::scrape::refresh(&state).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}
