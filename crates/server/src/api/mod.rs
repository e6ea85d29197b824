//! HTTP routes, one folder per resource. Handlers parse and validate, call a service, and answer
//! in the envelope; they hold no SQL and no business rules.

pub mod ai;
pub mod auth;
pub mod budgets;
pub mod callbacks;
pub mod docs;
pub mod health;
pub mod import;
pub mod local_files;
pub mod projects;
pub mod settings;
pub mod storage;
pub mod tasks;
pub mod views;
pub mod ws;

use crate::http::fallback;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

/// `/metrics` and the probes, for the internal address of `metrics_addr` (a worker process has
/// no other address, so its probes are here too).
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(health::metrics))
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .with_state(state)
}

/// The whole application: API under `/api/v1`, probes and metrics at the root, docs at `/docs`.
pub fn router(state: AppState) -> Router {
    let body_limit = usize::try_from(state.settings.body_limit.bytes()).unwrap_or(usize::MAX);
    let document_limit = usize::try_from(state.settings.document_limit.bytes()).unwrap_or(usize::MAX);
    let api = Router::new()
        .route("/auth/register", post(auth::register::register))
        .route("/auth/login", post(auth::login::login))
        .route("/auth/refresh", post(auth::refresh::refresh))
        .route("/auth/logout", post(auth::logout::logout))
        .route("/auth/me", get(auth::me::me))
        .route("/openapi.json", get(docs::openapi_json))
        .merge(projects::routes(document_limit))
        .merge(storage::routes())
        .route("/ai/script/parse", post(ai::parse_script))
        .route("/ai/script/generate", post(ai::generate_script))
        .route("/ai/shots/generate", post(ai::generate_shots))
        .route("/ai/visual-prompt", post(ai::visual_prompt))
        .route("/ai/image/generate", post(ai::generate_image))
        .route("/ai/video/generate", post(ai::generate_video))
        .route("/ai/video/merge", post(ai::merge_video))
        .route("/ai/speech/generate", post(ai::speech::generate_speech))
        .route("/ai/speech/preview", post(ai::speech::preview_voice))
        .route("/ai/voices", get(ai::speech::list_voices))
        .route("/ai/batch/{kind}", post(ai::generate_batch))
        .route("/ai/estimate", post(ai::cost::estimate))
        .route("/usage/spending", get(ai::cost::spending))
        .route("/usage/spending.csv", get(ai::cost::spending_csv))
        .route("/budgets", get(budgets::get_budget).put(budgets::set_budget))
        .route("/projects/{id}/budget", get(budgets::get_project_budget).put(budgets::set_project_budget))
        .route("/projects/{id}/export", post(ai::export_archive))
        .route("/usage", get(ai::usage))
        .route("/settings/providers", get(settings::get_providers).put(settings::put_providers))
        .route("/settings/providers/{name}/test", post(settings::test_provider))
        .route("/ai/tasks", get(tasks::list_tasks))
        .route("/ws/tasks", get(ws::task_events))
        .route("/ws/ticket", post(ws::ticket))
        .route("/ai/tasks/{id}", get(tasks::get_task))
        .route("/ai/tasks/{id}/cancel", post(tasks::cancel_task))
        .route("/ai/tasks/{id}/retry", post(tasks::retry_task))
        .route("/callbacks/{provider}/{task_id}", post(callbacks::provider_callback))
        .route(
            "/import/legacy",
            post(import::import_legacy).layer(DefaultBodyLimit::max(document_limit.saturating_mul(5))),
        );
    let headers = crate::http::security_headers::SecurityHeaders::new(&state.settings);
    let mut app = Router::new();
    // With `metrics_addr`, metrics are served there only (see `metrics_router`).
    if state.settings.metrics_addr.is_none() {
        app = app.route("/metrics", get(health::metrics));
    }
    let app = app
        .nest("/api/v1", api)
        .route("/health", get(health::health))
        .route("/ready", get(health::ready))
        .route(
            "/files/{*key}",
            get(local_files::get_file).put(local_files::put_file).layer(DefaultBodyLimit::disable()),
        )
        .route("/docs", get(docs::docs_page))
        .route("/docs/{asset}", get(docs::docs_asset))
        .fallback(crate::http::web_app::serve)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.stopping.clone(), crate::http::drain::close_when_stopping))
        .with_state(state);
    crate::http::layers(app, headers)
}
