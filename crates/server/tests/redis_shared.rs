//! With `REDIS_URL` set, instances share rate limits and revoked tokens: two apps over one
//! database and one Redis behave as one service.

mod common;

use cinegen_server::config::Secret;
use cinegen_store::Engine;
use common::{PASSWORD, TestApp};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

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
    assert_eq!(b.get("/ready").await.data()["redis"], "ok", "readiness asks Redis when it is configured");

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

    // A tab whose feed is on B hears of a version written through A.
    let mut on_b = feed(&b, token, Some(&format!("{id}&projects=true"))).await;
    let renamed = a
        .send(
            a.client
                .put(a.url(&format!("/api/v1/projects/{id}")))
                .bearer_auth(token)
                .json(&json!({"version": 2, "title": "Again"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    let heard = loop {
        let message = tokio::time::timeout(std::time::Duration::from_secs(5), on_b.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = message else { panic!("no project event on B: {message:?}") };
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        if event["type"] == "project" {
            break event["project"].clone();
        }
    };
    assert_eq!((heard["id"].as_str(), heard["version"].as_i64()), (Some(id.as_str()), Some(3)));
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A live feed opened on `app` (one project's when `project` is given), past its snapshot.
async fn feed(app: &TestApp, token: &str, project: Option<&str>) -> Socket {
    let ticket = app.post_authed("/api/v1/ws/ticket", token, &json!({})).await;
    let ticket = ticket.data()["ticket"].as_str().unwrap().to_owned();
    let scope = project.map(|p| format!("&project_id={p}")).unwrap_or_default();
    let url = format!("ws://{}/api/v1/ws/tasks?ticket={ticket}{scope}", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("the feed opens");
    let snapshot = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next()).await;
    assert!(matches!(snapshot, Ok(Some(Ok(Message::Text(_))))), "{snapshot:?}");
    socket
}

/// The close code the feed ends with within `wait` (None: it stayed open).
async fn closed_with(socket: &mut Socket, wait: std::time::Duration) -> Option<u16> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| f.code.into()),
            Ok(Some(Ok(_))) => continue,
            Ok(None | Some(Err(_))) => return Some(1006),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_taken_away_on_one_instance_closes_feeds_open_on_the_other() {
    let a = TestApp::spawn_with(Engine::Postgres, |c| c.redis_url = Some(Secret::new(redis_url()))).await;
    let database_url = a.state.settings.database_url.expose().to_owned();
    let b = TestApp::spawn_on(&database_url, |c| c.redis_url = Some(Secret::new(redis_url()))).await;
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let (ann_email, bob_email) = (format!("feed-a-{unique}@example.com"), format!("feed-b-{unique}@example.com"));
    let ann = a.register(&ann_email).await["tokens"]["access"].as_str().unwrap().to_owned();
    let bob_session = a.register(&bob_email).await;
    let bob = bob_session["tokens"]["access"].as_str().unwrap().to_owned();
    let bob_id = bob_session["user"]["id"].as_str().unwrap().to_owned();
    let created = a.post_authed("/api/v1/projects", &ann, &json!({"title": "Shared feed"})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let share = json!({"email": bob_email, "role": "viewer"});
    assert_eq!(a.post_authed(&format!("/api/v1/projects/{project}/share"), &ann, &share).await.status, StatusCode::OK);

    // Bob watches the project on A; Ann removes him on B.
    let mut watching = feed(&a, &bob, Some(&project)).await;
    let removed =
        b.send(b.client.delete(b.url(&format!("/api/v1/projects/{project}/members/{bob_id}"))).bearer_auth(&ann)).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(closed_with(&mut watching, std::time::Duration::from_secs(6)).await, Some(4003), "access removed");

    // Bob's own feed on A ends when he signs out on B.
    let mut own = feed(&a, &bob, None).await;
    assert_eq!(b.post_authed("/api/v1/auth/logout", &bob, &json!({})).await.status, StatusCode::OK);
    assert_eq!(closed_with(&mut own, std::time::Duration::from_secs(6)).await, Some(4001), "session ended");
}

/// A provider's throttling met on one instance holds back the calls of every other: A checks a
/// key and meets a 429 asking for 2 s; B (the only instance running tasks) paints a picture with
/// that provider right after, and its call waits the pause out before it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_providers_throttling_met_on_one_instance_holds_back_the_others() {
    use cinegen_emulators::Fault;
    let emulator = cinegen_emulators::openai::start("sk-shared-limits-0123456789").await;
    // One deployment: one key seals the providers' keys on both instances.
    let sealing = "5e".repeat(32);
    let a = TestApp::spawn_with(Engine::Postgres, |c| {
        c.redis_url = Some(Secret::new(redis_url()));
        c.encryption_key = Some(Secret::new(sealing.clone()));
        c.fetch_allow_loopback = true;
        c.workers = 0;
    })
    .await;
    let database_url = a.state.settings.database_url.expose().to_owned();
    let b = TestApp::spawn_on(&database_url, |c| {
        c.redis_url = Some(Secret::new(redis_url()));
        c.encryption_key = Some(Secret::new(sealing.clone()));
        c.fetch_allow_loopback = true;
    })
    .await;
    let session = a.register(&format!("limits-{}@example.com", uuid::Uuid::new_v4().simple())).await;
    let token = session["tokens"]["access"].as_str().unwrap().to_owned();
    let providers = json!({
        "providers": {"openai": {"api_key": "sk-shared-limits-0123456789", "base_url": format!("{}/v1", emulator.base_url)}},
        "defaults": {"text": "local", "image": "openai", "video": "local"},
    });
    let saved = a.send(a.client.put(a.url("/api/v1/settings/providers")).bearer_auth(&token).json(&providers)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let created = a
        .post_authed(
            "/api/v1/projects",
            &token,
            &json!({"title": "限流", "language": "zh", "raw_script": "第一场 渡口 夜 外\n林晚舟：船家，渡我过江。"}),
        )
        .await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let run = |path: &'static str, body: serde_json::Value| {
        let (b, token) = (&b, token.clone());
        async move {
            let queued = b.post_authed(path, &token, &body).await;
            assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
            let task = b.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
            assert_eq!(task["status"], "completed", "{task}");
        }
    };
    run("/api/v1/ai/script/parse", json!({"project_id": id})).await;
    let doc = b.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    let character = doc["script_data"]["characters"][0]["id"].as_str().unwrap().to_owned();
    let paint = || {
        run(
            "/api/v1/ai/image/generate",
            json!({"project_id": id, "target": {"type": "character", "character_id": character}}),
        )
    };

    // Unthrottled, a picture is quick.
    let started = std::time::Instant::now();
    paint().await;
    let quick = started.elapsed();

    emulator.fail_next(Fault::RateLimited { retry_after_secs: 2 });
    let check = a.post_authed("/api/v1/settings/providers/openai/test", &token, &json!({})).await;
    assert_eq!(check.error_code(), "PROVIDER_ERROR", "{}", check.body);
    let settings = a.get_authed("/api/v1/settings/providers", &token).await;
    let openai =
        settings.data()["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").unwrap().clone();
    assert_eq!(openai["check"]["outcome"], "rate_limited", "{openai}");
    let started = std::time::Instant::now();
    paint().await;
    let held = started.elapsed();
    assert!(
        held >= std::time::Duration::from_millis(1500),
        "B waited out the pause A met: {held:?} (unthrottled {quick:?})"
    );
    assert_eq!(
        emulator.calls().iter().filter(|c| *c == "POST /v1/images/generations").count(),
        2,
        "each picture one call: the pause was waited, not met again"
    );
}
