//! The OpenAPI document and an offline API docs page (Swagger UI, vendored under `assets/`).

use crate::error::AppError;
use axum::Json;
use axum::extract::Path;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>CineGen API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>"##;

const INIT: &str = "window.ui = SwaggerUIBundle({ url: \"/api/v1/openapi.json\", dom_id: \"#swagger-ui\" });\n";

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// `GET /docs`.
pub async fn docs_page() -> Html<&'static str> {
    Html(PAGE)
}

/// `GET /docs/{asset}`: the viewer's script and stylesheet, cached for a day.
pub async fn docs_asset(Path(asset): Path<String>) -> Result<Response, AppError> {
    let (body, content_type): (&'static [u8], &str) = match asset.as_str() {
        "swagger-ui-bundle.js" => {
            (include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"), "text/javascript; charset=utf-8")
        }
        "swagger-ui.css" => (include_bytes!("../../assets/swagger-ui/swagger-ui.css"), "text/css; charset=utf-8"),
        // A file, not an inline script, so the page needs no `'unsafe-inline'` in its CSP.
        "init.js" => (INIT.as_bytes(), "text/javascript; charset=utf-8"),
        _ => return Err(AppError::not_found("asset")),
    };
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=86400")], body).into_response())
}
