//! The CineGen server: an axum application over the store, with accounts, the response envelope,
//! metrics and the OpenAPI document.
//!
//! [`serve`] takes a bound listener and a shutdown signal, so the CLI and the tests start the very
//! same application.

pub mod admin;
pub mod ai;
pub mod api;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod cost;
pub mod envelope;
pub mod ephemeral;
pub mod error;
pub mod extract;
pub mod files;
pub mod film;
pub mod http;
pub mod live;
pub mod maintenance;
pub mod openapi;
pub mod ops;
pub mod projects;
pub mod state;
pub mod takes;
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
    let sessions = tokio::spawn(state.live_sessions.clone().run(state.store.clone()));
    let metrics = serve_metrics(&state).await?;
    let stop_workers = tokio_util::sync::CancellationToken::new();
    let workers = worker_pool(&state).spawn(stop_workers.clone());
    let (stopping, stop_claiming) = (state.stopping.clone(), stop_workers.clone());
    let drain = std::time::Duration::from_millis(state.settings.shutdown_drain_ms);
    let signal = async move {
        shutdown.await;
        // Live feeds close with a reconnect hint; `/ready` says 503 and every answer closes its
        // connection while the proxy stops sending here (`http::drain`); then new connections
        // are refused while the requests in flight are answered. The workers claim nothing more
        // and hand back what cannot finish within the grace period.
        stopping.cancel();
        stop_claiming.cancel();
        tokio::time::sleep(drain).await;
    };
    let app = api::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(signal).await;
    wait_for_sockets_to_close(&state).await;
    maintenance.abort();
    sessions.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    stop_workers.cancel();
    futures::future::join_all(workers).await;
    served
}

/// Gives the live feeds a moment to send their close frames before the process goes.
async fn wait_for_sockets_to_close(state: &AppState) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while state.open_sockets.load(std::sync::atomic::Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Serves `/metrics` and the probes on `metrics_addr`, when one is set.
async fn serve_metrics(state: &AppState) -> std::io::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = state.settings.metrics_addr else { return Ok(None) };
    let listener = TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "metrics and probes are served on their own address");
    let router = api::metrics_router(state.clone());
    Ok(Some(tokio::spawn(async move { axum::serve(listener, router).await })))
}

/// The task workers of this process, with every task type's handler.
pub fn worker_pool(state: &AppState) -> std::sync::Arc<tasks::WorkerPool> {
    let settings = &state.settings;
    let config = tasks::WorkerConfig {
        name: state.instance_id.clone(),
        workers: settings.workers,
        per_user_running: settings.per_user_running_tasks,
        retry_base: std::time::Duration::from_millis(settings.task_retry_base_ms),
        lease: std::time::Duration::from_secs(settings.task_lease_secs),
        // Three beats per lease: one lost beat never loses the task.
        heartbeat: std::time::Duration::from_millis(settings.task_lease_secs * 1000 / 3),
        shutdown_grace: std::time::Duration::from_secs(settings.shutdown_grace_secs),
        ..tasks::WorkerConfig::default()
    };
    use ai::handlers::*;
    let ai = &state.ai;
    let handlers: Vec<std::sync::Arc<dyn tasks::TaskHandler>> = vec![
        std::sync::Arc::new(projects::assets::ImportAssetHandler { assets: state.assets.clone() }),
        std::sync::Arc::new(ScriptParseHandler(ai.clone())),
        std::sync::Arc::new(ScriptGenerateHandler(ai.clone())),
        std::sync::Arc::new(ShotsGenerateHandler(ai.clone())),
        std::sync::Arc::new(VisualPromptHandler(ai.clone())),
        std::sync::Arc::new(ImageHandler(ai.clone())),
        std::sync::Arc::new(VideoHandler(ai.clone())),
        std::sync::Arc::new(crate::ai::speech::SpeechHandler(ai.clone())),
        std::sync::Arc::new(MergeHandler(ai.clone())),
        std::sync::Arc::new(projects::archive::ExportHandler(ai.clone())),
    ];
    std::sync::Arc::new(tasks::WorkerPool::with_events(
        state.store.clone(),
        handlers,
        config,
        state.task_events.clone(),
    ))
}

/// Runs only the task workers (`cinegen worker`) until `shutdown` resolves.
pub async fn work(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let metrics = serve_metrics(&state).await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = worker_pool(&state).spawn(stop.clone());
    shutdown.await;
    state.stopping.cancel();
    stop.cancel();
    futures::future::join_all(workers).await;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(())
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
