//! The task API over HTTP: a background download's task seen by its owner and project members,
//! failed tasks retried, pending ones cancelled, strangers answered 404.

mod common;

use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_store::{Engine, NewTask};
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

on_both_engines!(tasks_of_downloads_are_visible_and_retryable, pending_tasks_cancel_and_bad_requests_are_refused);

async fn tasks_of(app: &TestApp, token: &str, query: &str) -> Value {
    app.get_authed(&format!("/api/v1/ai/tasks{query}"), token).await.data().clone()
}

async fn tasks_of_downloads_are_visible_and_retryable(engine: Engine) {
    let source = axum::Router::new().route("/gone.png", axum::routing::get(|| async { StatusCode::FORBIDDEN }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, source).await.unwrap() });
    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let owner = app.register("task-owner@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let stranger = app.register("task-stranger@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let shots = json!([{"id": "s", "keyframes": [{"id": "k", "type": "start", "status": "completed", "imageUrl": format!("{origin}/gone.png")}]}]);
    let created = app.post_authed("/api/v1/projects", &owner, &json!({"title": "Tasks", "shots": shots})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();

    let mut task = Value::Null;
    for _ in 0..300 {
        let listed = tasks_of(&app, &owner, &format!("?project_id={project}")).await;
        task = listed["items"][0].clone();
        if task["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((task["type"].as_str(), task["kind"].as_str()), (Some("asset_import"), Some("import_asset")));
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(task["error"]["code"], "ASSET_MISSING");
    assert!(task["error"]["message"].as_str().unwrap().contains("403"), "{task}");
    let id = task["id"].as_str().unwrap();
    let one = app.get_authed(&format!("/api/v1/ai/tasks/{id}"), &owner).await;
    assert_eq!(one.data()["task"]["id"], task["id"]);

    // Strangers see nothing of it; a member of the project does.
    assert_eq!(app.get_authed(&format!("/api/v1/ai/tasks/{id}"), &stranger).await.status, StatusCode::NOT_FOUND);
    assert_eq!(tasks_of(&app, &stranger, "").await["pagination"]["total"], 0);
    let retry_by_stranger = app.post_authed(&format!("/api/v1/ai/tasks/{id}/retry"), &stranger, &json!({})).await;
    assert_eq!(retry_by_stranger.status, StatusCode::NOT_FOUND);
    let share = json!({"email": "task-stranger@example.com", "role": "viewer"});
    app.post_authed(&format!("/api/v1/projects/{project}/share"), &owner, &share).await;
    assert_eq!(app.get_authed(&format!("/api/v1/ai/tasks/{id}"), &stranger).await.status, StatusCode::OK);

    let retried = app.post_authed(&format!("/api/v1/ai/tasks/{id}/retry"), &owner, &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert!(matches!(retried.data()["task"]["status"].as_str(), Some("pending" | "running" | "failed")));
    assert_eq!(tasks_of(&app, &owner, "?status=completed").await["pagination"]["total"], 0);
}

async fn pending_tasks_cancel_and_bad_requests_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("cancel@example.com").await;
    let token = session["tokens"]["access"].as_str().unwrap().to_owned();
    let user: UserId = session["user"]["id"].as_str().unwrap().parse().unwrap();
    // A task of a type no worker here runs stays pending.
    let now = Utc::now();
    let (task, _) = app
        .state
        .store
        .enqueue(&NewTask {
            id: TaskId::new(),
            user_id: user,
            project_id: None,
            parent_id: None,
            task_type: "video".into(),
            priority: 0,
            payload: json!({}),
            max_attempts: 3,
            idempotency_key: None,
            run_at: now,
            now,
            spend: None,
        })
        .await
        .unwrap();
    let path = format!("/api/v1/ai/tasks/{}", task.id);
    assert_eq!(app.get_authed(&path, &token).await.data()["task"]["status"], "pending");
    let cancelled = app.post_authed(&format!("{path}/cancel"), &token, &json!({})).await;
    assert_eq!(cancelled.data()["task"]["status"], "cancelled");
    let again = app.post_authed(&format!("{path}/cancel"), &token, &json!({})).await;
    assert_eq!((again.status, again.error_code()), (StatusCode::CONFLICT, "CONFLICT"));
    let retry = app.post_authed(&format!("{path}/retry"), &token, &json!({})).await;
    assert_eq!(retry.status, StatusCode::CONFLICT);
    assert_eq!(tasks_of(&app, &token, "?type=video&status=cancelled").await["pagination"]["total"], 1);

    for (query, field) in [("?status=bogus", "status"), ("?page=0", "page"), ("?project_id=nope", "project_id")] {
        let answer = app.get_authed(&format!("/api/v1/ai/tasks{query}"), &token).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(answer.body["error"]["details"]["fields"][0]["field"], field);
    }
    assert_eq!(app.get_authed("/api/v1/ai/tasks/not-an-id", &token).await.status, StatusCode::NOT_FOUND);
    let unknown = format!("/api/v1/ai/tasks/{}", uuid::Uuid::now_v7());
    assert_eq!(app.get_authed(&unknown, &token).await.status, StatusCode::NOT_FOUND);
}
