//! The CineGen server: an axum application over the store, with accounts, the response envelope,
//! metrics and the OpenAPI document.
//!
//! [`serve`] takes a bound listener and a shutdown signal, so the CLI and the tests start the very
//! same application.

pub mod admin;
pub mod api;
pub mod auth;
pub mod cache;
pub mod config;
pub mod envelope;
pub mod ephemeral;
pub mod error;
pub mod extract;
pub mod files;
pub mod http;
pub mod maintenance;
pub mod openapi;
pub mod projects;
pub mod state;
pub mod tasks;
pub mod telemetry;

pub use config::{Config, Overrides, Settings};
pub use state::AppState;

use std::future::Future;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves the application on `listener` until `shutdown` resolves, then finishes open requests.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let maintenance = tokio::spawn(maintenance::run(state.clone()));
    let app = api::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    maintenance.abort();
    served
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
