//! What every response shares: the envelope on unknown routes and methods, request ids, probes,
//! metrics, the OpenAPI document, the docs page and panics.

mod common;

use axum::routing::get;
use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;

on_both_engines!(unknown_routes_and_methods_answer_in_the_envelope, probes_metrics_and_docs);

async fn unknown_routes_and_methods_answer_in_the_envelope(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let missing = app.get("/api/v1/no/such/thing").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "NOT_FOUND");
    assert_eq!(missing.body["success"], false);
    let id = missing.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
    let wrong_method = app.send(app.client.delete(app.url("/api/v1/auth/me"))).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error_code(), "METHOD_NOT_ALLOWED");
    // A request id sent by a proxy is kept.
    let traced = app.send(app.client.get(app.url("/health")).header("x-request-id", "edge-42")).await;
    assert_eq!(traced.headers["x-request-id"], "edge-42");
}

async fn probes_metrics_and_docs(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    let ready = app.get("/ready").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.data()["database"], if engine == Engine::Sqlite { "sqlite" } else { "postgres" });
    assert_eq!((ready.data()["storage"].as_str(), ready.data()["redis"].as_str()), (Some("local"), None));

    app.get("/api/v1/auth/me").await;
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"http_requests_total{method="GET",route="/api/v1/auth/me",status="401"}"#), "{metrics}");
    assert!(metrics.contains("http_request_duration_seconds_bucket"), "{metrics}");

    let doc = app.get("/api/v1/openapi.json").await;
    assert_eq!(doc.body["openapi"], "3.1.0");
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
    ] {
        assert!(doc.body["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert_eq!(doc.body["paths"]["/api/v1/auth/me"]["get"]["operationId"], "me");

    let page = app.client.get(app.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/docs/swagger-ui-bundle.js") && !page.contains("https://"));
    let script = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(script.bytes().await.unwrap().len() > 100_000);
}

/// A panicking handler behind the application's own layers answers 500 in the envelope, with no
/// detail of the panic.
#[tokio::test]
async fn panics_answer_500_without_detail() {
    let router = cinegen_server::http::layers(
        axum::Router::new().route(
            "/boom",
            get(|| async {
                if std::hint::black_box(true) {
                    panic!("secret detail 0xdeadbeef");
                }
                "unreachable"
            }),
        ),
        Default::default(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let response = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.headers()["x-content-type-options"], "nosniff", "security headers on a panic's answer too");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
    assert!(!body.to_string().contains("deadbeef"));
}

/// The built web app is served at `/`: hashed assets cached for good, page paths answered with
/// `index.html` (the app routes in the browser), and server paths still answered by the server.
#[tokio::test]
async fn the_web_app_is_served_with_spa_fallback_and_cached_assets() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html><div id=root></div>").unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app-3f9a1c.js"), "console.log('app')").unwrap();
    let dir = web.path().to_path_buf();
    let app = TestApp::spawn_with(Engine::Sqlite, move |config| config.web_dir = dir).await;

    for page in ["/", "/projects/0194b2c4-1111-7000-8000-000000000000/director", "/login"] {
        let response = app.client.get(app.url(page)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        assert_eq!(response.headers()["cache-control"], "no-cache", "{page}");
        assert!(response.text().await.unwrap().contains("id=root"), "{page}");
    }
    let asset = app.client.get(app.url("/assets/app-3f9a1c.js")).send().await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(asset.headers()["cache-control"], "public, max-age=31536000, immutable");
    let missing_asset = app.client.get(app.url("/assets/gone-000000.js")).send().await.unwrap();
    assert_eq!(missing_asset.status(), StatusCode::NOT_FOUND, "a missing asset is not the page");

    // Server paths keep their envelope answers.
    let api = app.get("/api/v1/no/such/thing").await;
    assert_eq!((api.status, api.error_code()), (StatusCode::NOT_FOUND, "NOT_FOUND"));
    let write = app.send(app.client.post(app.url("/some/page"))).await;
    assert_eq!(write.status, StatusCode::METHOD_NOT_ALLOWED);
    let traversal = app.client.get(app.url("/..%2f..%2fetc%2fpasswd")).send().await.unwrap();
    assert!(!traversal.text().await.unwrap().contains("root:"), "no file outside the web folder is served");
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
