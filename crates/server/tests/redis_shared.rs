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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_write_on_one_instance_shows_in_lists_on_the_other_at_once() {
    let a = TestApp::spawn_with(Engine::Postgres, |c| c.redis_url = Some(Secret::new(redis_url()))).await;
    let database_url = a.state.settings.database_url.expose().to_owned();
    let b = TestApp::spawn_on(&database_url, |c| c.redis_url = Some(Secret::new(redis_url()))).await;
    let session = a.register(&format!("lists-{}@example.com", uuid::Uuid::new_v4().simple())).await;
    let token = session["tokens"]["access"].as_str().unwrap();
    let created = a.post_authed("/api/v1/projects", token, &json!({"title": "Before"})).await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let title_on_b = || async { b.get_authed("/api/v1/projects", token).await.data()["items"][0]["title"].clone() };
    assert_eq!(title_on_b().await, "Before", "B has read (and kept) the list");

    let renamed = a
        .send(
            a.client
                .put(a.url(&format!("/api/v1/projects/{id}")))
                .bearer_auth(token)
                .json(&json!({"version": 1, "title": "After"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    // Redis delivers the change in well under the two seconds a kept page may live.
    let started = std::time::Instant::now();
    while title_on_b().await != "After" {
        assert!(started.elapsed() < std::time::Duration::from_millis(1000), "B still lists the old title");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
