//! Attacks an ordinary account could make, each performed over HTTP against the real app: every
//! one must fail and change nothing.

mod common;

use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_server::config::Secret;
use cinegen_store::{Engine, NewTask, ProviderSettingRecord};
use common::TestApp;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both_engines!(
    server_keys_never_reach_a_host_a_user_chose,
    operators_limit_user_base_urls,
    a_sealed_key_opens_only_in_its_own_row,
    unfinished_uploads_reserve_the_quota,
    imports_cannot_smuggle_server_owned_fields,
    registration_follows_the_operators_policy,
    shares_and_registrations_are_throttled,
    metrics_can_live_on_an_internal_address,
    batches_and_imports_are_capped,
    batch_items_and_imports_draw_on_the_hourly_budgets,
    no_file_of_another_project_is_touched,
    only_creators_and_editors_control_tasks,
    a_burst_of_wrong_passwords_meets_the_limit,
    forged_forwarded_hops_do_not_escape_the_ip_limit,
    every_answer_carries_security_headers,
    documents_too_deep_to_read_back_are_refused,
    the_live_feed_follows_access_as_it_changes,
    provider_answers_are_read_only_up_to_a_limit,
    live_feeds_close_when_their_token_expires,
);

const SERVER_KEY: &str = "sk-server-0123456789abcdefSERVER";
const USER_KEY: &str = "sk-user-0123456789abcdefUSER";
/// A real 1×1 PNG.
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

struct Person {
    id: UserId,
    token: String,
}

async fn person(app: &TestApp, email: &str) -> Person {
    let data = app.register(email).await;
    Person {
        id: data["user"]["id"].as_str().unwrap().parse().unwrap(),
        token: data["tokens"]["access"].as_str().unwrap().to_owned(),
    }
}

async fn put_settings(app: &TestApp, token: &str, body: Value) -> common::Answer {
    app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(token).json(&body)).await
}

fn fields(answer: &common::Answer) -> Vec<String> {
    answer.body["error"]["details"]["fields"]
        .as_array()
        .map(|list| list.iter().map(|f| f["field"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// A settings row as an earlier version of the server could have saved it: a base URL only.
async fn base_url_only_row(app: &TestApp, user: UserId, provider: &str, base_url: &str) {
    let row = ProviderSettingRecord {
        user_id: user,
        provider: provider.into(),
        api_key: None,
        api_key_hint: None,
        secret_key: None,
        secret_hint: None,
        base_url: Some(base_url.into()),
        models: json!({}),
        updated_at: Utc::now(),
        check: None,
        prices: json!([]),
        extra_keys: json!([]),
    };
    app.state.store.put_provider_setting(&row).await.unwrap();
}

async fn server_keys_never_reach_a_host_a_user_chose(engine: Engine) {
    let server_openai = cinegen_emulators::openai::start(SERVER_KEY).await;
    // The attacker's host would accept the server's key: if it ever arrived, the check would pass.
    let attacker_openai = cinegen_emulators::openai::start(SERVER_KEY).await;
    let attacker_kling = cinegen_emulators::kling::start("AK-server", "SK-server-0123456789SECRET").await;
    let server_base = format!("{}/v1", server_openai.base_url);
    let app = TestApp::spawn_with(engine, |c| {
        c.fetch_allow_loopback = true;
        c.provider_keys = Some(Secret::new(format!("openai={SERVER_KEY},kling=AK-server:SK-server-0123456789SECRET")));
        c.provider_base_urls = Some(format!("openai={server_base}"));
    })
    .await;
    let mallory = person(&app, "mallory@example.com").await;

    // With no settings of their own, a user's calls go out with the server's key to the server's URL.
    let checked = app.post_authed("/api/v1/settings/providers/openai/test", &mallory.token, &json!({})).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(!server_openai.calls().is_empty());

    // A base URL without a key of one's own is refused, for every provider that takes a key.
    let attacker_base = format!("{}/v1", attacker_openai.base_url);
    for (provider, url) in [("openai", attacker_base.as_str()), ("kling", attacker_kling.base_url.as_str())] {
        let refused = put_settings(&app, &mallory.token, json!({"providers": {provider: {"base_url": url}}})).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
        assert_eq!(refused.error_code(), "VALIDATION_ERROR");
        assert_eq!(fields(&refused), [format!("providers.{provider}.base_url")]);
    }

    // A row saved that way before is never filled in with the server's key: the key check, a
    // generation and the settings page all say the user's own key is missing.
    base_url_only_row(&app, mallory.id, "openai", &attacker_base).await;
    base_url_only_row(&app, mallory.id, "kling", &attacker_kling.base_url).await;
    for provider in ["openai", "kling"] {
        let test =
            app.post_authed(&format!("/api/v1/settings/providers/{provider}/test"), &mallory.token, &json!({})).await;
        assert_eq!(test.error_code(), "PROVIDER_NOT_CONFIGURED", "{provider}: {}", test.body);
        assert!(test.body["error"]["message"].as_str().unwrap().contains("no API key of yours"), "{}", test.body);
    }
    let project = app
        .post_authed(
            "/api/v1/projects",
            &mallory.token,
            &json!({"title": "Exfil", "raw_script": "第一场 夜 内\n甲：你好。"}),
        )
        .await;
    let id = project.data()["project"]["id"].as_str().unwrap();
    let parse = app
        .post_authed("/api/v1/ai/script/parse", &mallory.token, &json!({"project_id": id, "provider": "openai"}))
        .await;
    assert_eq!(parse.status, StatusCode::ACCEPTED, "{}", parse.body);
    let task = app.finished_task(&mallory.token, parse.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["error"]["code"], "PROVIDER_NOT_CONFIGURED", "{task}");
    let shown = app.get_authed("/api/v1/settings/providers", &mallory.token).await;
    let openai = shown.data()["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").unwrap().clone();
    assert_eq!(openai["ready"], false, "{openai}");
    assert!(attacker_openai.calls().is_empty(), "the server's key went to {:?}", attacker_openai.calls());
    assert!(attacker_kling.calls().is_empty(), "Kling's JWT went to {:?}", attacker_kling.calls());

    // The user's own key goes with the user's own URL.
    let own = cinegen_emulators::openai::start(USER_KEY).await;
    let saved = put_settings(
        &app,
        &mallory.token,
        json!({"providers": {"openai": {"api_key": USER_KEY, "base_url": format!("{}/v1", own.base_url)}}}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let checked = app.post_authed("/api/v1/settings/providers/openai/test", &mallory.token, &json!({})).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    own.assert_conformant();
    // Removing the key while the URL stays is refused too.
    let orphaned = put_settings(&app, &mallory.token, json!({"providers": {"openai": {"api_key": null}}})).await;
    assert_eq!(fields(&orphaned), ["providers.openai.base_url"], "{}", orphaned.body);
}

async fn operators_limit_user_base_urls(engine: Engine) {
    let own = cinegen_emulators::openai::start(USER_KEY).await;
    let base = format!("{}/v1", own.base_url);
    let listed = TestApp::spawn_with(engine, |c| {
        c.fetch_allow_loopback = true;
        c.user_base_url_hosts = Some("api.openai.com, .volces.com".into());
    })
    .await;
    let ann = person(&listed, "hosts@example.com").await;
    let body = json!({"providers": {"openai": {"api_key": USER_KEY, "base_url": base}}});
    let refused = put_settings(&listed, &ann.token, body.clone()).await;
    assert_eq!(fields(&refused), ["providers.openai.base_url"], "{}", refused.body);
    assert!(refused.body.to_string().contains("127.0.0.1"), "the refusal names the host: {}", refused.body);
    let allowed = put_settings(
        &listed,
        &ann.token,
        json!({"providers": {"openai": {"api_key": USER_KEY, "base_url": "https://api.openai.com/v1"}}}),
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.body);
    drop(listed);

    let closed = TestApp::spawn_with(engine, |c| {
        c.fetch_allow_loopback = true;
        c.allow_user_base_urls = false;
    })
    .await;
    let bob = person(&closed, "no-urls@example.com").await;
    let refused = put_settings(&closed, &bob.token, body).await;
    assert_eq!(fields(&refused), ["providers.openai.base_url"], "{}", refused.body);
    // A URL saved before the operator closed them is not used either.
    base_url_only_row(&closed, bob.id, "openai", &base).await;
    let key_too = put_settings(&closed, &bob.token, json!({"providers": {"openai": {"api_key": USER_KEY}}})).await;
    assert_eq!(key_too.status, StatusCode::OK, "{}", key_too.body);
    let test = closed.post_authed("/api/v1/settings/providers/openai/test", &bob.token, &json!({})).await;
    assert_eq!(test.error_code(), "PROVIDER_NOT_CONFIGURED", "{}", test.body);
    assert!(own.calls().is_empty(), "{:?}", own.calls());
}

async fn project_with_image(app: &TestApp, token: &str, title: &str) -> (String, String) {
    let shots = json!([{"id": "shot-1", "keyframes": [{"id": "kf-1", "type": "start", "status": "completed",
        "visualPrompt": "雨夜", "imageUrl": format!("data:image/png;base64,{PNG_1X1}")}]}]);
    let created = app.post_authed("/api/v1/projects", token, &json!({"title": title, "shots": shots})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let project = &created.data()["project"];
    let file = project["shots"][0]["keyframes"][0]["imageFileId"].as_str().unwrap().to_owned();
    (project["id"].as_str().unwrap().to_owned(), file)
}

async fn no_file_of_another_project_is_touched(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "victim@example.com").await;
    let eve = person(&app, "editor@example.com").await;
    let (secret_project, secret_file) = project_with_image(&app, &ann.token, "Private").await;
    let (shared, own_file) = project_with_image(&app, &ann.token, "Shared").await;
    let share = json!({"email": "editor@example.com", "role": "editor"});
    assert_eq!(
        app.post_authed(&format!("/api/v1/projects/{shared}/share"), &ann.token, &share).await.status,
        StatusCode::OK
    );
    let current = app.get_authed(&format!("/api/v1/projects/{shared}"), &eve.token).await.data()["project"].clone();

    // Every way of writing the other project's file id into the shared one is refused.
    let mut shots = current["shots"].clone();
    shots[0]["keyframes"][0]["imageFileId"] = json!(secret_file);
    let put = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{shared}")))
                .bearer_auth(&eve.token)
                .json(&json!({"version": current["version"], "shots": shots})),
        )
        .await;
    assert_eq!(put.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", put.body);
    assert_eq!(fields(&put), ["shots[shot-1].keyframes[kf-1].imageFileId"]);
    let patch = |path: String, body: Value| {
        let request = app.client.patch(app.url(&path)).bearer_auth(&eve.token).json(&body);
        app.send(request)
    };
    let keyframe =
        patch(format!("/api/v1/projects/{shared}/shots/shot-1/keyframes/kf-1"), json!({"imageFileId": secret_file}))
            .await;
    assert_eq!(keyframe.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", keyframe.body);
    let shot = patch(
        format!("/api/v1/projects/{shared}/shots/shot-1"),
        json!({"interval": {"id": "i", "videoFileId": secret_file}}),
    )
    .await;
    assert_eq!(shot.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", shot.body);
    let after = app.get_authed(&format!("/api/v1/projects/{shared}"), &eve.token).await.data()["project"].clone();
    assert_eq!(after["version"], current["version"], "nothing changed");
    assert_eq!(after["shots"][0]["keyframes"][0]["imageFileId"], own_file);
    // A project's own files may move between its slots.
    let moved = patch(
        format!("/api/v1/projects/{shared}/shots/shot-1"),
        json!({"interval": {"id": "i", "videoFileId": own_file}}),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);

    // A new project, or an import, keeps no foreign id.
    let stolen = json!([{"id": "s", "keyframes": [{"id": "k", "type": "start", "imageFileId": secret_file}]}]);
    let copied = app.post_authed("/api/v1/projects", &eve.token, &json!({"title": "Copy", "shots": stolen})).await;
    assert_eq!(copied.status, StatusCode::CREATED, "{}", copied.body);
    assert!(copied.data()["project"]["shots"][0]["keyframes"][0].get("imageFileId").is_none(), "{}", copied.body);

    // A document that still names a foreign file (written before such ids were refused):
    // generating into that slot replaces the id but never deletes the other project's file.
    let foreign = secret_file.clone();
    let plant = move |record: &mut cinegen_store::ProjectRecord| {
        record.docs.shots[0]["keyframes"][0]["imageFileId"] = json!(foreign);
        Ok(())
    };
    app.state.store.change_project(shared.parse().unwrap(), Box::new(plant)).await.unwrap();
    let target = json!({"type": "keyframe", "shot_id": "shot-1", "keyframe_id": "kf-1"});
    let generate = app
        .post_authed("/api/v1/ai/image/generate", &eve.token, &json!({"project_id": shared, "target": target}))
        .await;
    assert_eq!(generate.status, StatusCode::ACCEPTED, "{}", generate.body);
    let task = app.finished_task(&eve.token, generate.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let private = app.get_authed(&format!("/api/v1/projects/{secret_project}"), &ann.token).await;
    let url = private.data()["project"]["shots"][0]["keyframes"][0]["imageUrl"].as_str().unwrap().to_owned();
    let fetched = app.client.get(app.url(&url)).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK, "the other project's file is still there");
    let record = app.state.store.file_by_id(secret_file.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(record.status, cinegen_domain::FileStatus::Ready);
}

fn pending_task(user: UserId, project: &str, task_type: &str) -> NewTask {
    let now = Utc::now();
    NewTask {
        id: TaskId::new(),
        user_id: user,
        project_id: Some(project.parse().unwrap()),
        parent_id: None,
        task_type: task_type.into(),
        priority: 0,
        payload: json!({}),
        max_attempts: 1,
        idempotency_key: None,
        // Not due for an hour: it stays pending while the test works on it.
        run_at: now + chrono::Duration::hours(1),
        now,
        spend: None,
    }
}

async fn only_creators_and_editors_control_tasks(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "task-owner@example.com").await;
    let vic = person(&app, "task-viewer@example.com").await;
    let eve = person(&app, "task-editor@example.com").await;
    let created = app
        .post_authed(
            "/api/v1/projects",
            &ann.token,
            &json!({"title": "Control", "raw_script": "第一场 夜 内\n甲：你好。"}),
        )
        .await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    for (email, role) in [("task-viewer@example.com", "viewer"), ("task-editor@example.com", "editor")] {
        let share = json!({"email": email, "role": role});
        app.post_authed(&format!("/api/v1/projects/{project}/share"), &ann.token, &share).await;
    }

    // A viewer sees the owner's batch but cannot cancel it; an editor can.
    let (batch, _) = app.state.store.enqueue(&pending_task(ann.id, &project, "ai.batch")).await.unwrap();
    let path = format!("/api/v1/ai/tasks/{}/cancel", batch.id);
    assert_eq!(app.get_authed(&format!("/api/v1/ai/tasks/{}", batch.id), &vic.token).await.status, StatusCode::OK);
    let refused = app.post_authed(&path, &vic.token, &json!({})).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{}", refused.body);
    assert_eq!(app.state.store.task(batch.id).await.unwrap().unwrap().status.as_str(), "pending");
    let cancelled = app.post_authed(&path, &eve.token, &json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.data()["task"]["status"], "cancelled");

    // A failed task: a viewer may not spend its creator's keys again; the creator may.
    // A vendor without a key: queued, then failed by the worker.
    let failing = json!({"project_id": project, "provider": "openai"});
    let parse = app.post_authed("/api/v1/ai/script/parse", &ann.token, &failing).await;
    let id = parse.data()["task"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.finished_task(&ann.token, &id).await["status"], "failed");
    let retry = format!("/api/v1/ai/tasks/{id}/retry");
    let refused = app.post_authed(&retry, &vic.token, &json!({})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(app.state.store.task(id.parse().unwrap()).await.unwrap().unwrap().status.as_str(), "failed");
    assert_eq!(app.post_authed(&retry, &ann.token, &json!({})).await.status, StatusCode::OK);

    // A creator made a viewer since: their retried task stops when it is claimed.
    let parse = app.post_authed("/api/v1/ai/script/parse", &eve.token, &failing).await;
    let id = parse.data()["task"]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.finished_task(&eve.token, &id).await["error"]["code"], "PROVIDER_NOT_CONFIGURED");
    let demote = json!({"email": "task-editor@example.com", "role": "viewer"});
    app.post_authed(&format!("/api/v1/projects/{project}/share"), &ann.token, &demote).await;
    let retried = app.post_authed(&format!("/api/v1/ai/tasks/{id}/retry"), &eve.token, &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    let task = app.finished_task(&eve.token, &id).await;
    assert_eq!(task["error"]["code"], "FORBIDDEN", "{task}");
}

async fn a_burst_of_wrong_passwords_meets_the_limit(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.register("burst@example.com").await;
    let attempts = (0..40).map(|i| {
        let app = &app;
        async move { app.login("burst@example.com", &format!("wrong password {i}")).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let checked = answers.iter().filter(|a| a.error_code() == "INVALID_CREDENTIALS").count();
    let limited = answers.iter().filter(|a| a.status == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, limited), (5, 35), "only the limit's worth of guesses reach the password check");
    let right = app.login("burst@example.com", common::PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "the account stays locked for the window");
}

async fn forged_forwarded_hops_do_not_escape_the_ip_limit(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.trust_forwarded_for = true;
        c.login_failures_per_ip = 3;
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        // Our proxy appends the address it saw; whatever the client wrote stays on the left.
        let forwarded = format!("198.51.100.{i}, 203.0.113.9");
        let body = json!({"email": format!("nobody{i}@example.com"), "password": "guess guess guess"});
        let request = app.client.post(app.url("/api/v1/auth/login")).header("x-forwarded-for", forwarded).json(&body);
        statuses.push(app.send(request).await.status.as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // Another client behind the same proxy is not held back.
    let other = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.10")
        .json(&json!({"email": "nobody@example.com", "password": "guess guess guess"}));
    assert_eq!(app.send(other).await.status, StatusCode::UNAUTHORIZED);
}

fn header<'a>(answer: &'a common::Answer, name: &str) -> &'a str {
    answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn every_answer_carries_security_headers(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "headers@example.com").await;
    let (project, _) = project_with_image(&app, &ann.token, "Headers").await;
    let doc = app.get_authed(&format!("/api/v1/projects/{project}"), &ann.token).await;
    let file_url = doc.data()["project"]["shots"][0]["keyframes"][0]["imageUrl"].as_str().unwrap().to_owned();
    let answers = [
        app.get("/health").await,
        app.get("/api/v1/projects").await,
        app.get("/docs").await,
        app.get("/no/such/page").await,
        doc,
    ];
    for answer in &answers {
        assert_eq!(header(answer, "x-content-type-options"), "nosniff");
        assert_eq!(header(answer, "referrer-policy"), "no-referrer");
        let csp = header(answer, "content-security-policy");
        for part in ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "script-src 'self'"] {
            assert!(csp.contains(part), "{part} missing from {csp}");
        }
        assert!(answer.headers.get("strict-transport-security").is_none(), "plain http: no HSTS");
    }
    let file = app.send(app.client.get(app.url(&file_url))).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(
        header(&file, "content-security-policy").starts_with("sandbox"),
        "{}",
        header(&file, "content-security-policy")
    );
    assert_eq!(header(&file, "referrer-policy"), "no-referrer");
    // The docs page runs no inline script, so the policy needs no 'unsafe-inline' for scripts.
    assert!(!app.get("/docs").await.body["raw"].as_str().unwrap().contains("<script>"));

    // Behind https: HSTS, and the refresh cookie is Secure without being told.
    let public = TestApp::spawn_with(engine, |c| c.public_url = Some("https://cinegen.example.com".into())).await;
    let registered = public
        .post(
            "/api/v1/auth/register",
            &json!({"email": "https@example.com", "password": common::PASSWORD, "name": "Https"}),
        )
        .await;
    assert!(header(&registered, "strict-transport-security").starts_with("max-age="), "{:?}", registered.headers);
    assert!(header(&registered, "set-cookie").contains("; Secure"), "{:?}", registered.headers);
}

/// `{"x": {"x": … 1 …}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!({ "x": inner }))
}

async fn documents_too_deep_to_read_back_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "deep@example.com").await;
    let shots = json!([{"id": "shot-1", "keyframes": [{"id": "kf-1", "type": "start"}]}]);
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Deep", "shots": shots})).await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/projects/{id}");

    // Just inside the JSON reader's limit, but stored three levels down in the document.
    let patches = [
        (format!("{path}/shots/shot-1"), json!({ "notes": nested(120) })),
        (format!("{path}/shots/shot-1/keyframes/kf-1"), json!({ "notes": nested(120) })),
    ];
    for (at, body) in patches {
        let answer = app.send(app.client.patch(app.url(&at)).bearer_auth(&ann.token).json(&body)).await;
        assert_eq!(
            (answer.status, answer.error_code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
            "{}",
            answer.body
        );
        assert!(answer.body["error"]["message"].as_str().unwrap().contains("deeper"), "{}", answer.body);
    }
    let put = |body: Value| app.send(app.client.put(app.url(&path)).bearer_auth(&ann.token).json(&body));
    let refused = put(json!({"version": 1, "script_data": {"characters": [], "notes": nested(100)}})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let extra = put(json!({"version": 1, "futureField": nested(100)})).await;
    assert_eq!(extra.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", extra.body);

    // The project is as it was and reads, writes and deletes as always.
    let read = app.get_authed(&path, &ann.token).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.data()["project"]["version"], 1);
    let fine = put(json!({"version": 1, "futureField": nested(20)})).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
    let deleted = app.send(app.client.delete(app.url(&path)).bearer_auth(&ann.token)).await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ticket(app: &TestApp, token: &str) -> String {
    let answer = app.post_authed("/api/v1/ws/ticket", token, &json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(answer.data()["expires_in"].as_u64().unwrap() <= 30);
    answer.data()["ticket"].as_str().unwrap().to_owned()
}

async fn feed(app: &TestApp, token: &str) -> Socket {
    let url = format!("ws://{}/api/v1/ws/tasks?ticket={}", app.addr, ticket(app, token).await);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    let first = next_event(&mut socket, Duration::from_secs(5)).await;
    assert!(matches!(first, Event::Message(ref m) if m["type"] == "snapshot"), "{first:?}");
    socket
}

#[derive(Debug)]
enum Event {
    Message(Value),
    Closed(Option<u16>),
    Quiet,
}

async fn next_event(socket: &mut Socket, wait: Duration) -> Event {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Event::Message(serde_json::from_str(&text).unwrap()),
            Ok(Some(Ok(Message::Close(frame)))) => return Event::Closed(frame.map(|f| f.code.into())),
            Ok(Some(Ok(_))) => continue,
            Ok(None | Some(Err(_))) => return Event::Closed(None),
            Err(_) => return Event::Quiet,
        }
    }
}

/// Events about `project` seen within `wait`.
async fn events_of(socket: &mut Socket, project: &str, wait: Duration) -> usize {
    let until = tokio::time::Instant::now() + wait;
    let mut seen = 0;
    loop {
        match next_event(socket, until.saturating_duration_since(tokio::time::Instant::now())).await {
            Event::Message(m) if m["task"]["project_id"] == project => seen += 1,
            Event::Message(_) => {}
            Event::Closed(_) | Event::Quiet => return seen,
        }
    }
}

async fn the_live_feed_follows_access_as_it_changes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "feed-owner@example.com").await;
    let bob = person(&app, "feed-member@example.com").await;
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Feed"})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let share = json!({"email": "feed-member@example.com", "role": "viewer"});
    app.post_authed(&format!("/api/v1/projects/{project}/share"), &ann.token, &share).await;
    let work = |n: usize| {
        let body = json!({"project_id": project, "raw_script": format!("第{n}场 夜\n甲：乙")});
        let request = app.client.post(app.url("/api/v1/ai/script/parse")).bearer_auth(&ann.token).json(&body);
        app.send(request)
    };

    // A ticket opens one feed, once; a forged one none.
    let single = ticket(&app, &bob.token).await;
    let url = format!("ws://{}/api/v1/ws/tasks?ticket={single}", app.addr);
    let (mut member, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a used ticket opened a second feed: {other:?}"),
    }
    let forged =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/ws/tasks?ticket={}", app.addr, ann.token)).await;
    assert!(forged.is_err(), "an access token is not a ticket");
    assert!(matches!(next_event(&mut member, Duration::from_secs(5)).await, Event::Message(_)));

    let first = work(1).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert!(events_of(&mut member, &project, Duration::from_secs(2)).await > 0, "a member sees the project's work");
    let removed = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/projects/{project}/members/{}", bob.id)))
                .bearer_auth(&ann.token),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    work(2).await;
    assert_eq!(events_of(&mut member, &project, Duration::from_secs(2)).await, 0, "a removed member still saw events");

    // Logout, and a password reset, close open feeds within a few seconds.
    let mut signed_in = feed(&app, &bob.token).await;
    assert_eq!(app.post_authed("/api/v1/auth/logout", &bob.token, &json!({})).await.status, StatusCode::OK);
    assert!(matches!(next_event(&mut signed_in, Duration::from_secs(6)).await, Event::Closed(Some(4001))));
    let mut owner = feed(&app, &ann.token).await;
    cinegen_server::admin::reset_password(
        app.state.store.as_ref(),
        "feed-owner@example.com",
        "another good password 2",
    )
    .await
    .unwrap();
    assert!(matches!(next_event(&mut owner, Duration::from_secs(6)).await, Event::Closed(Some(4001))));
}

async fn live_feeds_close_when_their_token_expires(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.access_token_ttl_secs = 3).await;
    let ann = person(&app, "feed-expiry@example.com").await;
    let mut socket = feed(&app, &ann.token).await;
    assert!(matches!(next_event(&mut socket, Duration::from_secs(6)).await, Event::Closed(Some(4002))));
}

async fn provider_answers_are_read_only_up_to_a_limit(engine: Engine) {
    // An endpoint that answers a key check with an endless body, and no length.
    // (The check lists the key's models; a completion answers the same.)
    let answer = || async {
        let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
        let body = futures::stream::repeat(chunk).take(16 * 1024).map(Ok::<_, std::io::Error>);
        axum::body::Body::from_stream(body)
    };
    let endless = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(answer))
        .route("/v1/models", axum::routing::get(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, endless).await.unwrap() });
    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let ann = person(&app, "endless@example.com").await;
    let saved =
        put_settings(&app, &ann.token, json!({"providers": {"openai": {"api_key": USER_KEY, "base_url": base}}})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let checked = app.post_authed("/api/v1/settings/providers/openai/test", &ann.token, &json!({})).await;
    assert_eq!(checked.error_code(), "PROVIDER_ERROR", "{}", checked.body);
    assert!(checked.body["error"]["message"].as_str().unwrap().contains("larger than 8 MiB"), "{}", checked.body);
}

async fn a_sealed_key_opens_only_in_its_own_row(engine: Engine) {
    let own = cinegen_emulators::openai::start(USER_KEY).await;
    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let ann = person(&app, "sealed-ann@example.com").await;
    let bob = person(&app, "sealed-bob@example.com").await;
    let body = json!({"providers": {"openai": {"api_key": USER_KEY, "base_url": format!("{}/v1", own.base_url)}}});
    assert_eq!(put_settings(&app, &ann.token, body.clone()).await.status, StatusCode::OK);
    assert_eq!(put_settings(&app, &bob.token, json!({"providers": {"openai": {"api_key": "sk-bob-0123456789abcdef", "base_url": format!("{}/v1", own.base_url)}}})).await.status, StatusCode::OK);
    // Someone who can write rows but not read keys copies Ann's sealed key into Bob's row.
    let ann_rows = app.state.store.provider_settings(ann.id).await.unwrap();
    let mut bob_row =
        app.state.store.provider_settings(bob.id).await.unwrap().into_iter().find(|r| r.provider == "openai").unwrap();
    bob_row.api_key = ann_rows.iter().find(|r| r.provider == "openai").unwrap().api_key.clone();
    app.state.store.put_provider_setting(&bob_row).await.unwrap();
    let test = app.post_authed("/api/v1/settings/providers/openai/test", &bob.token, &json!({})).await;
    assert_eq!(test.error_code(), "PROVIDER_NOT_CONFIGURED", "{}", test.body);
    assert!(test.body["error"]["message"].as_str().unwrap().contains("cannot be read"), "{}", test.body);
    let mine = app.post_authed("/api/v1/settings/providers/openai/test", &ann.token, &json!({})).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(own.calls().len(), 1, "Bob's calls never went out with Ann's key");
}

async fn unfinished_uploads_reserve_the_quota(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = person(&app, "uploads@example.com").await;
    app.state.store.set_quota_total(ann.id, cinegen_domain::ByteSize(1_000_000), Utc::now()).await.unwrap();
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Uploads"})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let request = |size: u64| {
        json!({"file_name": "scene.png", "file_type": "scene", "file_size": size, "project_id": project,
               "content_type": "image/png"})
    };
    // Promised bytes count at once: uploads never completed cannot hold more than the quota.
    let first = app.post_authed("/api/v1/storage/upload", &ann.token, &request(600_000)).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = app.post_authed("/api/v1/storage/upload", &ann.token, &request(600_000)).await;
    assert_eq!(second.error_code(), "QUOTA_EXCEEDED", "{}", second.body);
    let multipart = app.post_authed("/api/v1/storage/upload/multipart", &ann.token, &request(600_000)).await;
    assert_eq!(multipart.error_code(), "QUOTA_EXCEEDED", "{}", multipart.body);
    // A failed upload gives its reservation back.
    let failed = json!({"file_id": first.data()["file_id"], "upload_status": "failed"});
    app.post_authed("/api/v1/storage/upload/callback", &ann.token, &failed).await;
    let again = app.post_authed("/api/v1/storage/upload", &ann.token, &request(600_000)).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    // And there is a cap on how many may be unfinished at once.
    let mut statuses = Vec::new();
    for _ in 0..cinegen_server::files::service::MAX_PENDING_UPLOADS {
        statuses.push(app.post_authed("/api/v1/storage/upload", &ann.token, &request(10)).await.status.as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count() as i64,
        cinegen_server::files::service::MAX_PENDING_UPLOADS - 1
    );
}

async fn imports_cannot_smuggle_server_owned_fields(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let eve = person(&app, "smuggler@example.com").await;
    let stranger = UserId::new();
    let file = json!({"projects": [{"title": "Smuggled", "shots": [], "role": "owner", "owner_id": stranger,
        "version": 99, "status": "archived", "merged_video_file_id": "0193a000-0000-7000-8000-000000000000",
        "created_at": "2000-01-01T00:00:00Z", "futureThing": 1}]});
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file.to_string().into_bytes()).file_name("export.json"));
    let imported =
        app.send(app.client.post(app.url("/api/v1/import/legacy")).bearer_auth(&eve.token).multipart(form)).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{}", imported.body);
    let id = imported.data()["projects"][0]["id"].as_str().unwrap();
    let raw = app.send(app.client.get(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(&eve.token)).await;
    let text = raw.body.to_string();
    let project = &raw.data()["project"];
    assert_eq!((project["version"].as_i64(), project["status"].as_str()), (Some(1), Some("active")), "{project}");
    assert_eq!(project["owner_id"], json!(eve.id));
    assert_eq!(project["futureThing"], 1, "fields the server does not own are kept");
    assert!(!text.contains(&stranger.to_string()) && !text.contains("2000-01-01"), "{text}");
    let stored = app.state.store.project_for(id.parse().unwrap(), eve.id).await.unwrap().unwrap().0;
    assert_eq!(stored.extra.keys().collect::<Vec<_>>(), ["futureThing"]);
}

async fn registration_follows_the_operators_policy(engine: Engine) {
    use cinegen_server::config::Registration;
    async fn register(app: &TestApp, email: &str, code: Option<&str>) -> common::Answer {
        let body = json!({"email": email, "password": common::PASSWORD, "name": "Someone", "invite_code": code});
        app.post("/api/v1/auth/register", &body).await
    }
    let closed = TestApp::spawn_with(engine, |c| c.registration = Registration::Closed).await;
    let refused = register(&closed, "closed@example.com", None).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{}", refused.body);
    drop(closed);

    let invite = TestApp::spawn_with(engine, |c| c.registration = Registration::Invite).await;
    let invites = cinegen_server::auth::invites::Invites::new(common::JWT_SECRET.as_bytes());
    let ann = cinegen_domain::Email::parse("invited@example.com").unwrap();
    let code = invites.issue(&ann, Utc::now().timestamp() + 3600);
    assert_eq!(register(&invite, "invited@example.com", None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        register(&invite, "other@example.com", Some(&code)).await.status,
        StatusCode::FORBIDDEN,
        "another address"
    );
    let expired = invites.issue(&ann, Utc::now().timestamp() - 1);
    assert_eq!(register(&invite, "invited@example.com", Some(&expired)).await.status, StatusCode::FORBIDDEN);
    let welcomed = register(&invite, "invited@example.com", Some(&code)).await;
    assert_eq!(welcomed.status, StatusCode::CREATED, "{}", welcomed.body);
    assert_eq!(
        register(&invite, "invited@example.com", Some(&code)).await.error_code(),
        "EMAIL_TAKEN",
        "spent by its use"
    );
}

async fn shares_and_registrations_are_throttled(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.registrations_per_ip_per_hour = 3;
        c.shares_per_hour = 2;
    })
    .await;
    let ann = person(&app, "throttle-0@example.com").await;
    for i in 1..3 {
        person(&app, &format!("throttle-{i}@example.com")).await;
    }
    let fourth = app
        .post(
            "/api/v1/auth/register",
            &json!({"email": "throttle-3@example.com", "password": common::PASSWORD, "name": "N"}),
        )
        .await;
    assert_eq!(
        (fourth.status, fourth.error_code()),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"),
        "{}",
        fourth.body
    );
    assert!(fourth.headers.get("retry-after").is_some());

    // Probing which addresses have accounts through shares (an address without one is invited)
    // runs out quickly.
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Probe"})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let share = |email: &str| {
        let body = json!({"email": email, "role": "viewer"});
        let request =
            app.client.post(app.url(&format!("/api/v1/projects/{project}/share"))).bearer_auth(&ann.token).json(&body);
        app.send(request)
    };
    assert_eq!(share("throttle-1@example.com").await.status, StatusCode::OK);
    let invited = share("nobody@example.com").await;
    assert_eq!(invited.status, StatusCode::OK);
    assert_eq!(invited.data()["invitations"][0]["email"], "nobody@example.com");
    assert_eq!(share("throttle-2@example.com").await.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn metrics_can_live_on_an_internal_address(engine: Engine) {
    let internal = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let app = TestApp::spawn_with(engine, |c| c.metrics_addr = Some(internal.to_string())).await;
    app.get("/health").await;
    assert_eq!(app.get("/metrics").await.status, StatusCode::NOT_FOUND, "not beside the API");
    let mut scraped = None;
    for _ in 0..50 {
        if let Ok(response) = reqwest::get(format!("http://{internal}/metrics")).await {
            scraped = Some(response.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let text = scraped.expect("metrics answer on the internal address");
    assert!(text.contains("http_requests"), "{}", &text[..text.len().min(500)]);
}

async fn batches_and_imports_are_capped(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.workers = 0).await;
    let ann = person(&app, "caps@example.com").await;
    let keyframes = |n: usize, url: Option<&str>| -> Value {
        let list: Vec<Value> = (0..n)
            .map(|i| match url {
                Some(url) => json!({"id": format!("k{i}"), "type": "start", "imageUrl": format!("{url}/{i}.png")}),
                None => json!({"id": format!("k{i}"), "type": "start"}),
            })
            .collect();
        json!([{"id": "s1", "keyframes": list}])
    };
    let created =
        app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Huge", "shots": keyframes(501, None)})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let batch = app.post_authed("/api/v1/ai/batch/keyframes", &ann.token, &json!({"project_id": project})).await;
    assert_eq!(batch.error_code(), "VALIDATION_ERROR", "{}", batch.body);
    assert!(batch.body["error"]["message"].as_str().unwrap().contains("at most 500"), "{}", batch.body);
    let (tasks, _) = app
        .state
        .store
        .list_tasks(&cinegen_store::TaskQuery { size: 10, ..cinegen_store::TaskQuery::of(ann.id) })
        .await
        .unwrap();
    assert!(tasks.is_empty(), "nothing was queued");

    let file = json!({"projects": [{"title": "Links", "shots": keyframes(2001, Some("https://cdn.example.com"))}]});
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file.to_string().into_bytes()).file_name("export.json"));
    let imported =
        app.send(app.client.post(app.url("/api/v1/import/legacy")).bearer_auth(&ann.token).multipart(form)).await;
    assert_eq!(imported.error_code(), "VALIDATION_ERROR", "{}", imported.body);
    let listed = app.get_authed("/api/v1/projects", &ann.token).await;
    assert_eq!(listed.data()["pagination"]["total"], 1, "the import created nothing");
}

async fn batch_items_and_imports_draw_on_the_hourly_budgets(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.workers = 0;
        c.local_requests_per_hour = 4;
        c.downloads_per_hour = 2;
    })
    .await;
    let ann = person(&app, "budgets@example.com").await;
    let keyframes: Vec<Value> = (0..5).map(|i| json!({"id": format!("k{i}"), "type": "start"})).collect();
    let shots = json!([{"id": "s1", "keyframes": keyframes}]);
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Budget", "shots": shots})).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let queued = |app: &TestApp| {
        let query = cinegen_store::TaskQuery::of(ann.id);
        let store = app.state.store.clone();
        async move { store.list_tasks(&query).await.unwrap().1 }
    };

    // Five offline keyframes in one batch are five requests: over a budget of four, refused whole.
    let batch = app.post_authed("/api/v1/ai/batch/keyframes", &ann.token, &json!({"project_id": project})).await;
    assert_eq!((batch.status, batch.error_code()), (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED"), "{}", batch.body);
    let message = batch.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("4 left, and this asks for 5"), "{message}");
    assert!(batch.headers.get("retry-after").is_some());
    assert_eq!(queued(&app).await, 0, "nothing was queued");
    let doc = app.get_authed(&format!("/api/v1/projects/{project}"), &ann.token).await;
    assert!(doc.body.to_string().matches("generating").count() == 0, "no slot was marked: {}", doc.body);

    // The refusal drew nothing: four single requests still fit, the fifth does not.
    for i in 0..4 {
        let target = json!({"type": "keyframe", "shot_id": "s1", "keyframe_id": format!("k{i}")});
        let one = app
            .post_authed("/api/v1/ai/image/generate", &ann.token, &json!({"project_id": project, "target": target}))
            .await;
        assert_eq!(one.status, StatusCode::ACCEPTED, "{}", one.body);
    }
    let target = json!({"type": "keyframe", "shot_id": "s1", "keyframe_id": "k4"});
    let fifth = app
        .post_authed("/api/v1/ai/image/generate", &ann.token, &json!({"project_id": project, "target": target}))
        .await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS, "{}", fifth.body);

    // An import of three outside links is three downloads: over a budget of two, nothing is made.
    let linked: Vec<Value> = (0..3)
        .map(
            |i| json!({"id": format!("k{i}"), "type": "start", "imageUrl": format!("https://cdn.example.com/{i}.png")}),
        )
        .collect();
    let body = json!({"title": "Linked", "shots": [{"id": "s1", "keyframes": linked}]});
    let refused = app.post_authed("/api/v1/projects", &ann.token, &body).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("asset downloads"), "{}", refused.body);
    let listed = app.get_authed("/api/v1/projects", &ann.token).await;
    assert_eq!(listed.data()["pagination"]["total"], 1, "no project was created");
    assert_eq!(queued(&app).await, 4, "and no download was queued");
}
