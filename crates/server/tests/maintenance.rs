//! The scheduled cleanup: expired uploads, files of purged projects, orphan objects, vanished
//! objects, and one runner at a time.

mod common;

use chrono::{Duration, Utc};
use cinegen_server::maintenance::run_once;
use cinegen_storage::StorageKey;
use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(cleanup_removes_what_nobody_needs_and_reports_what_vanished);

fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(len, 7);
    bytes
}

async fn uploaded(app: &TestApp, token: &str, project: &str, complete: bool) -> Value {
    let bytes = png(500);
    let request = json!({"file_name": "a.png", "file_type": "scene", "file_size": bytes.len(), "project_id": project, "content_type": "image/png"});
    let target = app.post_authed("/api/v1/storage/upload", token, &request).await;
    if !complete {
        return target.data().clone();
    }
    let url = app.url(target.data()["upload_url"].as_str().unwrap());
    reqwest::Client::new().put(url).header("content-type", "image/png").body(bytes).send().await.unwrap();
    let callback = json!({"file_id": target.data()["file_id"], "upload_status": "success"});
    let done = app.post_authed("/api/v1/storage/upload/callback", token, &callback).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    done.data()["file"].clone()
}

async fn cleanup_removes_what_nobody_needs_and_reports_what_vanished(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = app.register("cleanup@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let new_project = |title: &str| {
        let body = json!({"title": title});
        let (app, token) = (&app, token.clone());
        async move {
            app.post_authed("/api/v1/projects", &token, &body).await.data()["project"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let kept = new_project("Kept").await;
    let doomed = new_project("Doomed").await;
    let abandoned = uploaded(&app, &token, &kept, false).await;
    let kept_file = uploaded(&app, &token, &kept, true).await;
    uploaded(&app, &token, &doomed, true).await;
    let vanishing = uploaded(&app, &token, &kept, true).await;
    app.send(app.client.delete(app.url(&format!("/api/v1/projects/{doomed}"))).bearer_auth(&token)).await;

    // A stray object nobody recorded, and a recorded object that vanished.
    let storage = app.state.files.storage();
    let stray_key = StorageKey::parse(&abandoned["storage_key"].as_str().unwrap().replace(".png", ".webp")).unwrap();
    let stray_key = StorageKey::parse(
        &stray_key.as_str().replace(&stray_key.file_id().unwrap().to_string(), &uuid::Uuid::now_v7().to_string()),
    )
    .unwrap();
    storage.put_bytes(&stray_key, png(100).into()).await.unwrap();
    let vanished_id = vanishing["id"].as_str().unwrap().parse().unwrap();
    let vanished = app.state.store.file_by_id(vanished_id).await.unwrap().unwrap();
    let vanished_key = StorageKey::parse(&vanished.storage_key).unwrap();
    storage.delete(&vanished_key).await.unwrap();

    // A task that ended (cancelled) today.
    let user = app
        .state
        .store
        .user_by_email(&cinegen_domain::Email::parse("cleanup@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let now = Utc::now();
    let ended = cinegen_store::NewTask {
        id: cinegen_domain::TaskId::new(),
        user_id: user.id,
        project_id: None,
        parent_id: None,
        task_type: "ai.image".into(),
        priority: 0,
        payload: json!({}),
        max_attempts: 1,
        idempotency_key: None,
        run_at: now,
        now,
        spend: None,
    };
    app.state.store.enqueue(&ended).await.unwrap();
    app.state.store.request_cancel(ended.id, now).await.unwrap();

    // Today nothing is due but the report of the vanished object.
    let today = run_once(&app.state, Utc::now()).await.unwrap().unwrap();
    assert_eq!((today.files.removed_files, today.files.orphan_objects, today.purged_projects), (0, 0, 0));
    assert_eq!(today.pruned_tasks, 0);
    assert_eq!(today.files.missing_objects, 1);

    // Forty days on: the abandoned upload and the deleted project's file go, then the project.
    let later = run_once(&app.state, Utc::now() + Duration::days(40)).await.unwrap().unwrap();
    assert_eq!(later.files.removed_files, 2, "{later:?}");
    assert_eq!(later.files.orphan_objects, 1);
    assert_eq!(later.purged_projects, 1);
    assert_eq!(later.pruned_tasks, 1, "the ended task's row is past its retention");
    assert!(storage.head(&stray_key).await.unwrap().is_none());
    let usage = app.get_authed("/api/v1/storage/usage", &token).await;
    assert_eq!(usage.data()["used"], 1000, "the kept and the vanished file still count");
    assert_eq!(app.get_authed(&format!("/api/v1/projects/{doomed}?"), &token).await.status, StatusCode::NOT_FOUND);
    let kept_url = app.get_authed(&format!("/api/v1/storage/url/{}", kept_file["id"].as_str().unwrap()), &token).await;
    assert_eq!(kept_url.status, StatusCode::OK);
    let late = json!({"file_id": abandoned["file_id"], "upload_status": "success"});
    assert_eq!(app.post_authed("/api/v1/storage/upload/callback", &token, &late).await.status, StatusCode::CONFLICT);

    // A second instance over the same database waits for the lease.
    let other = TestApp::spawn_on(app.state.settings.database_url.expose(), |_| {}).await;
    assert!(run_once(&other.state, Utc::now() + Duration::days(40)).await.unwrap().is_none());
}
