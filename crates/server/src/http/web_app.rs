//! The built web app at `/`: hashed assets cached for a year, every other page path answered with
//! `index.html` (the app routes in the browser), and API-looking paths left to the envelope 404.

use crate::error::AppError;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Paths that belong to the server, never to the app: a miss there is an API 404.
const SERVER_PREFIXES: [&str; 5] = ["/api/", "/files/", "/docs/", "/metrics", "/health"];

pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    let Some(dir) = state.settings.web_dir.as_ref() else {
        return not_routed().into_response();
    };
    if SERVER_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) || path == "/api" {
        return not_routed().into_response();
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return AppError::MethodNotAllowed.into_response();
    }
    // Vite names bundled files by content hash, so they never change under one name.
    let immutable = path.starts_with("/assets/");
    let index = dir.join("index.html");
    let answer = if immutable {
        ServeDir::new(dir).oneshot(request).await
    } else {
        ServeDir::new(dir).fallback(ServeFile::new(index)).oneshot(request).await
    };
    let mut response = match answer {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if immutable && response.status().is_success() {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    } else if response.status().is_success() {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

fn not_routed() -> AppError {
    AppError::NotFound("no such route".into())
}
