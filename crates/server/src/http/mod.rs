//! Cross-cutting HTTP layers: request ids, access logs, metrics, panics, body limits, and the
//! envelope answers for unknown routes and methods.

pub mod drain;
pub mod fallback;
pub mod metrics;
pub mod security_headers;
pub mod web_app;

use crate::error::AppError;
use axum::Router;
use axum::http::{HeaderName, Request};
use axum::response::{IntoResponse, Response};
use std::any::Any;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps the router in the layers every request passes, outermost first: request id, trace span,
/// metrics, security headers, panic catcher.
pub fn layers<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    headers: security_headers::SecurityHeaders,
) -> Router<S> {
    let headers = std::sync::Arc::new(headers);
    router
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(move |request, next| security_headers::apply(headers.clone(), request, next)))
        .layer(axum::middleware::from_fn(metrics::record))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    let route =
                        request.extensions().get::<axum::extract::MatchedPath>().map_or("unmatched", |p| p.as_str());
                    // `otel.*` name and kind the span when traces are exported; logs ignore them.
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                        otel.name = %format_args!("{} {route}", request.method()),
                        otel.kind = "server",
                    )
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Micros)),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A panic is logged (inside the request's span, so with its request id) and answered 500 with
/// no detail.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".into());
    AppError::internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}
