//! Leaving a load balancer's pool cleanly. Once the instance is stopping, every answer says
//! `Connection: close`, so the proxy drops the pooled connection after reading it instead of
//! sending the next request down a connection the instance is about to close (nginx does not pass
//! a POST that met a closed connection to another instance: the client would see a 502). The
//! listener keeps accepting for `shutdown_drain_ms` meanwhile (`serve`), and `/ready` says 503.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio_util::sync::CancellationToken;

/// Adds `Connection: close` to every answer once `stopping` is cancelled.
pub async fn close_when_stopping(State(stopping): State<CancellationToken>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if stopping.is_cancelled() {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
