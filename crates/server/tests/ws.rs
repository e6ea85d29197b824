//! Live task events over the WebSocket: a snapshot first, then every change of the caller's
//! tasks; nothing of other users' tasks; tokens checked before the upgrade.

mod common;

use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_store::{Engine, NewTask};
use common::TestApp;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both_engines!(
    clients_get_a_snapshot_then_their_own_task_events,
    a_stopping_server_closes_feeds_with_a_reconnect_hint,
    owners_and_members_hear_of_each_new_version_and_nobody_else
);

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, token: &str) -> Socket {
    let url = format!("ws://{}/api/v1/ws/tasks?token={token}", app.addr);
    tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
}

/// The next JSON message, or None after `wait`.
async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(_))) => continue,
            _ => return None,
        }
    }
}

async fn clients_get_a_snapshot_then_their_own_task_events(engine: Engine) {
    let source = axum::Router::new().route("/gone.png", axum::routing::get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, source).await.unwrap() });
    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let owner = app.register("ws-owner@example.com").await;
    let owner_token = owner["tokens"]["access"].as_str().unwrap().to_owned();
    let stranger = app.register("ws-stranger@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();

    let mut mine = connect(&app, &owner_token).await;
    let mut theirs = connect(&app, &stranger).await;
    assert_eq!(next(&mut mine, Duration::from_secs(5)).await.unwrap(), json!({"type": "snapshot", "tasks": []}));
    assert_eq!(next(&mut theirs, Duration::from_secs(5)).await.unwrap()["type"], "snapshot");

    let shots = json!([{"id": "s", "keyframes": [{"id": "k", "type": "start", "status": "completed", "imageUrl": format!("{origin}/gone.png")}]}]);
    app.post_authed("/api/v1/projects", &owner_token, &json!({"title": "Live", "shots": shots})).await;
    let mut statuses = Vec::new();
    let mut last_seen = String::new();
    while let Some(event) = next(&mut mine, Duration::from_secs(15)).await {
        if event["type"] == "project" {
            continue; // the import writing its outcome into the project
        }
        if statuses.is_empty() {
            last_seen = event["task"]["updated_at"].as_str().unwrap().to_owned();
        }
        assert_eq!(event["type"], "task");
        assert_eq!(event["task"]["type"], "asset_import");
        let status = event["task"]["status"].as_str().unwrap().to_owned();
        statuses.push(status.clone());
        if status == "failed" {
            break;
        }
    }
    assert_eq!(statuses.first().map(String::as_str), Some("running"), "{statuses:?}");
    assert_eq!(statuses.last().map(String::as_str), Some("failed"), "{statuses:?}");
    assert!(next(&mut theirs, Duration::from_millis(500)).await.is_none(), "another user saw the task");

    // A reconnect starts with the unfinished tasks.
    let user: UserId = owner["user"]["id"].as_str().unwrap().parse().unwrap();
    let now = Utc::now();
    let waiting = NewTask {
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
    };
    app.state.store.enqueue(&waiting).await.unwrap();
    drop(mine);
    let mut again = connect(&app, &owner_token).await;
    let snapshot = next(&mut again, Duration::from_secs(5)).await.unwrap();
    assert_eq!(snapshot["tasks"][0]["id"], json!(waiting.id));
    assert_eq!(snapshot["tasks"][0]["status"], "pending");
    assert_eq!(snapshot["tasks"].as_array().unwrap().len(), 1, "finished tasks only when asked: {snapshot}");
    // A client that was away since its first event also gets what finished meanwhile.
    let since: String = url::form_urlencoded::byte_serialize(last_seen.as_bytes()).collect();
    let url = format!("ws://{}/api/v1/ws/tasks?token={owner_token}&since={since}", app.addr);
    let mut caught_up = tokio_tungstenite::connect_async(url).await.expect("websocket connects").0;
    let snapshot = next(&mut caught_up, Duration::from_secs(5)).await.unwrap();
    let seen: Vec<(&str, &str)> = snapshot["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["type"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert!(seen.contains(&("asset_import", "failed")), "the import that failed meanwhile: {snapshot}");
    assert!(seen.iter().any(|(_, status)| *status == "pending"), "{snapshot}");
    let malformed = tokio_tungstenite::connect_async(format!(
        "ws://{}/api/v1/ws/tasks?token={owner_token}&since=yesterday",
        app.addr
    ))
    .await;
    match malformed {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 422);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{body}");
        }
        other => panic!("a malformed since was accepted: {other:?}"),
    }

    // Tokens are checked before the upgrade.
    let refused = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws/tasks?token=forged", app.addr)).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a forged token was accepted: {other:?}"),
    }
}

/// The next `project` message within `wait`, past task messages.
async fn next_project(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(tokio::time::Instant::now());
        let message = next(socket, left).await?;
        if message["type"] == "project" {
            return Some(message["project"].clone());
        }
    }
}

async fn owners_and_members_hear_of_each_new_version_and_nobody_else(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = app.register("live-owner@example.com").await;
    let (owner_token, owner_id) = (owner["tokens"]["access"].as_str().unwrap(), owner["user"]["id"].clone());
    let member = app.register("live-member@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let stranger = app.register("live-stranger@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let created = app.post_authed("/api/v1/projects", owner_token, &json!({"title": "Shared"})).await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let other = app.post_authed("/api/v1/projects", owner_token, &json!({"title": "Other"})).await;
    let other = other.data()["project"]["id"].as_str().unwrap().to_owned();
    let share = json!({"email": "live-member@example.com", "role": "editor"});
    assert_eq!(
        app.post_authed(&format!("/api/v1/projects/{id}/share"), owner_token, &share).await.status,
        StatusCode::OK
    );

    // Another tab of the owner, the member's tab on this project, a stranger, and a tab on
    // another project of the owner's.
    let open = |query: String| async move {
        let url = format!("ws://{}/api/v1/ws/tasks?{query}&projects=true", app.addr);
        tokio_tungstenite::connect_async(url).await.unwrap().0
    };
    let mut other_tab = open(format!("token={owner_token}")).await;
    let mut members_tab = open(format!("token={member}&project_id={id}")).await;
    let mut strangers = open(format!("token={stranger}")).await;
    let mut elsewhere = open(format!("token={owner_token}&project_id={other}")).await;
    // A client that did not ask for project versions (one written before they existed) hears
    // only of tasks.
    let mut tasks_only = connect(&app, owner_token).await;
    for socket in [&mut other_tab, &mut members_tab, &mut strangers, &mut elsewhere, &mut tasks_only] {
        assert_eq!(next(socket, Duration::from_secs(5)).await.unwrap()["type"], "snapshot");
    }

    let put = |version: i64, title: &str| {
        app.client
            .put(app.url(&format!("/api/v1/projects/{id}")))
            .bearer_auth(owner_token)
            .json(&json!({"version": version, "title": title}))
    };
    let saved = app.send(put(1, "Shared, renamed")).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for socket in [&mut other_tab, &mut members_tab] {
        let heard = next_project(socket, Duration::from_secs(5)).await.expect("a project event");
        assert_eq!((&heard["id"], &heard["version"], &heard["updated_by"]), (&json!(id), &json!(2), &owner_id));
        assert!(heard["updated_at"].is_string(), "{heard}");
    }
    assert!(next_project(&mut strangers, Duration::from_millis(500)).await.is_none(), "a stranger heard of it");
    assert!(
        next_project(&mut elsewhere, Duration::from_millis(200)).await.is_none(),
        "another project's feed heard of it"
    );

    // A refused save changes nothing and tells no one.
    assert_eq!(app.send(put(1, "stale")).await.status, StatusCode::CONFLICT);
    assert!(next_project(&mut members_tab, Duration::from_millis(500)).await.is_none());
}

fn redis_url() -> String {
    std::env::var("CINEGEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// Instance A serves the API and the WebSocket, runs no workers; instance B runs the task. With
/// Redis, A's client sees B's progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_redis_relays_task_events_between_instances() {
    let source = axum::Router::new().route("/gone.png", axum::routing::get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, source).await.unwrap() });
    let api_only = TestApp::spawn_with(Engine::Postgres, |c| {
        c.redis_url = Some(cinegen_server::config::Secret::new(redis_url()));
        c.workers = 0;
    })
    .await;
    let database = api_only.state.settings.database_url.expose().to_owned();
    let _worker = TestApp::spawn_on(&database, |c| {
        c.redis_url = Some(cinegen_server::config::Secret::new(redis_url()));
        c.fetch_allow_loopback = true;
    })
    .await;
    let token = api_only.register("relay@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let mut socket = connect(&api_only, &token).await;
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await.unwrap()["type"], "snapshot");
    let shots = json!([{"id": "s", "keyframes": [{"id": "k", "type": "start", "status": "completed", "imageUrl": format!("{origin}/gone.png")}]}]);
    api_only.post_authed("/api/v1/projects", &token, &json!({"title": "Relayed", "shots": shots})).await;
    let mut last = Value::Null;
    while let Some(event) = next(&mut socket, Duration::from_secs(15)).await {
        last = event;
        if last["task"]["status"] == "failed" {
            break;
        }
    }
    assert_eq!(last["task"]["status"], "failed", "{last}");
    assert_eq!(last["task"]["type"], "asset_import");
}

/// On SIGTERM the server stops accepting, says so on the readiness probe while it drains, and
/// closes live feeds with 1012 (service restart) so clients reconnect, to another instance.
async fn a_stopping_server_closes_feeds_with_a_reconnect_hint(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let token = app.register("ws-restart@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let mut feed = connect(&app, &token).await;
    assert_eq!(next(&mut feed, Duration::from_secs(5)).await.unwrap()["type"], "snapshot");

    app.stop();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), feed.next()).await.expect("the feed closes at once") {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close frame with a code"),
            Some(Ok(_)) => continue,
            other => panic!("the feed ended without a close frame: {other:?}"),
        }
    };
    assert_eq!(u16::from(closed.code), 1012, "{closed:?}");
    assert!(closed.reason.contains("reconnect"), "{closed:?}");
    let refused = reqwest::get(app.url("/health")).await;
    assert!(refused.is_err(), "a stopped server takes no new connections");
}

/// On SIGTERM the API drains before it refuses connections: for `shutdown_drain_ms` it still
/// answers, each answer closing its connection (so a proxy never reuses one the server is about
/// to close, where nginx would answer a POST with 502), and the readiness probe says 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_server_drains_answering_with_connection_close() {
    let mut app = TestApp::spawn_with(Engine::Sqlite, |config| config.shutdown_drain_ms = 1_500).await;
    let pooled = app.client.get(app.url("/health")).send().await.unwrap();
    assert!(pooled.headers().get("connection").is_none(), "kept alive while serving");

    app.stop();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let draining = app.client.post(app.url("/api/v1/auth/login")).json(&json!({})).send().await.unwrap();
    assert_eq!(draining.headers().get("connection").and_then(|v| v.to_str().ok()), Some("close"));
    assert_eq!(draining.status(), StatusCode::UNPROCESSABLE_ENTITY, "still answered while draining");
    let ready = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert!(reqwest::get(app.url("/health")).await.is_err(), "then no new connections");
}
