//! With `REDIS_URL` set, instances share rate limits and revoked tokens: two apps over one
//! database and one Redis behave as one service.

mod common;

use cinegen_server::config::Secret;
use cinegen_store::Engine;
use common::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

fn redis_url() -> String {
    std::env::var("CINEGEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_redis_shares_logout_and_login_limits_between_instances() {
    let a = TestApp::spawn_with(Engine::Postgres, |c| {
        c.redis_url = Some(Secret::new(redis_url()));
        c.login_failures_per_account = 2;
    })
    .await;
    let database_url = a.state.settings.database_url.expose().to_owned();
    let b = TestApp::spawn_on(&database_url, |c| {
        c.redis_url = Some(Secret::new(redis_url()));
        c.login_failures_per_account = 2;
    })
    .await;
    let email = format!("shared-{}@example.com", uuid::Uuid::new_v4().simple());

    let session = a.register(&email).await;
    let access = session["tokens"]["access"].as_str().unwrap();
    assert_eq!(b.get_authed("/api/v1/auth/me", access).await.status, StatusCode::OK);
    assert_eq!(a.post_authed("/api/v1/auth/logout", access, &json!({})).await.status, StatusCode::OK);
    let after = b.get_authed("/api/v1/auth/me", access).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "logout on A must reach B: {}", after.body);

    // Failures counted on A lock the account on B too.
    assert_eq!(a.login(&email, "wrong guess 1").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.login(&email, "wrong guess 2").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(b.login(&email, PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
}
