//! Monthly spending caps, enforced over HTTP with an emulated vendor: work that would pass a cap
//! is refused whole with the numbers (or admitted up to it on request); two batches racing for
//! one cap cannot pass it together; a refused provider call gives its reservation back; a
//! restart between reservation and the end of the work loses and doubles nothing; the server's
//! own keys have a cap of their own.

mod common;

use cinegen_emulators::Fault;
use cinegen_store::Engine;
use cinegen_store::testing::TestDatabase;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    caps_refuse_or_fit_work_and_racing_batches_cannot_pass_them,
    refused_calls_release_and_a_restart_loses_nothing,
    the_server_keys_have_a_cap_of_their_own,
);

/// 0.053 USD per image in the shipped price table.
const IMAGE: i64 = 53_000;

fn shots(count: usize) -> Value {
    let shots: Vec<Value> = (1..=count)
        .map(|n| {
            json!({"id": format!("s{n}"), "actionSummary": format!("第{n}镜"),
                   "keyframes": [{"id": format!("k{n}"), "type": "start", "visualPrompt": format!("渡口，第{n}镜")}]})
        })
        .collect();
    Value::Array(shots)
}

struct Person {
    token: String,
    project: String,
}

async fn person(app: &TestApp, email: &str, emulator: &cinegen_emulators::Emulator, shot_count: usize) -> Person {
    let token = app.register(email).await["tokens"]["access"].as_str().unwrap().to_owned();
    let providers = json!({"openai": {"api_key": "sk-budget", "base_url": format!("{}/v1", emulator.base_url)}});
    let saved = app
        .send(
            app.client
                .put(app.url("/api/v1/settings/providers"))
                .bearer_auth(&token)
                .json(&json!({"providers": providers})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let created =
        app.post_authed("/api/v1/projects", &token, &json!({"title": "预算", "shots": shots(shot_count)})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Person { token, project: created.data()["project"]["id"].as_str().unwrap().to_owned() }
}

impl Person {
    async fn cap(&self, app: &TestApp, path: &str, monthly: Value) -> reqwest::StatusCode {
        let answer =
            app.send(app.client.put(app.url(path)).bearer_auth(&self.token).json(&json!({"monthly": monthly}))).await;
        answer.status
    }

    async fn budget(&self, app: &TestApp, path: &str) -> Value {
        let answer = app.get_authed(path, &self.token).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.data()["budgets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["currency"] == "USD")
            .cloned()
            .unwrap_or(Value::Null)
    }

    async fn batch(&self, app: &TestApp, shots: &[&str], extra: Value) -> common::Answer {
        let mut body = json!({"project_id": self.project, "provider": "openai", "shot_ids": shots});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        app.post_authed("/api/v1/ai/batch/keyframes", &self.token, &body).await
    }

    async fn tasks(&self, app: &TestApp) -> i64 {
        app.get_authed(&format!("/api/v1/ai/tasks?project_id={}", self.project), &self.token).await.data()["pagination"]
            ["total"]
            .as_i64()
            .unwrap()
    }
}

fn micros(amount: &Value) -> i64 {
    cinegen_server::cost::prices::parse_amount(amount.as_str().unwrap()).unwrap()
}

async fn caps_refuse_or_fit_work_and_racing_batches_cannot_pass_them(engine: Engine) {
    let emulator = cinegen_emulators::openai::start("sk-budget").await;
    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let ann = person(&app, "capped@example.com", &emulator, 8).await;
    assert_eq!(ann.cap(&app, "/api/v1/budgets", json!({"USD": "0.2"})).await, StatusCode::OK);

    // Four pictures (0.212 USD) would pass a cap of 0.20: refused whole, with the numbers, and
    // nothing is queued or marked.
    let refused = ann.batch(&app, &["s1", "s2", "s3", "s4"], json!({})).await;
    assert_eq!(
        (refused.status, refused.error_code()),
        (StatusCode::PAYMENT_REQUIRED, "BUDGET_EXCEEDED"),
        "{}",
        refused.body
    );
    let details = &refused.body["error"]["details"];
    assert_eq!(
        (
            details["scope"].as_str(),
            details["currency"].as_str(),
            details["monthly_cap"].as_str(),
            details["asked"].as_str()
        ),
        (Some("user"), Some("USD"), Some("0.200000"), Some("0.212000")),
        "{details}"
    );
    assert_eq!(ann.tasks(&app).await, 0);
    let project = app.get_authed(&format!("/api/v1/projects/{}", ann.project), &ann.token).await;
    assert!(project.data()["project"]["shots"][0]["keyframes"][0].get("status").is_none(), "no slot was marked");

    // On request, the batch is admitted up to the cap: three of the four.
    let fitted = ann.batch(&app, &["s1", "s2", "s3", "s4"], json!({"fit_budget": true})).await;
    assert_eq!(fitted.status, StatusCode::ACCEPTED, "{}", fitted.body);
    assert_eq!(fitted.data()["estimate"]["calls"], 3);
    let done = app.finished_task(&ann.token, fitted.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(done["result"]["completed"], 3, "{done}");
    let mine = ann.budget(&app, "/api/v1/budgets").await;
    assert_eq!((micros(&mine["spent"]), micros(&mine["held"])), (3 * IMAGE, 0), "{mine}");
    assert_eq!(micros(&mine["remaining"]), 200_000 - 3 * IMAGE);

    // Two batches of two race for room for two: exactly one gets in.
    assert_eq!(ann.cap(&app, "/api/v1/budgets", json!({"USD": "0.265"})).await, StatusCode::OK);
    let (first, second) =
        tokio::join!(ann.batch(&app, &["s5", "s6"], json!({})), ann.batch(&app, &["s7", "s8"], json!({})));
    let statuses = [first.status, second.status];
    assert!(
        statuses.contains(&StatusCode::ACCEPTED) && statuses.contains(&StatusCode::PAYMENT_REQUIRED),
        "{statuses:?}"
    );
    let admitted = if first.status == StatusCode::ACCEPTED { &first } else { &second };
    app.finished_task(&ann.token, admitted.data()["task"]["id"].as_str().unwrap()).await;
    let mine = ann.budget(&app, "/api/v1/budgets").await;
    assert_eq!((micros(&mine["spent"]), micros(&mine["held"])), (5 * IMAGE, 0), "{mine}");
    let spending = app.get_authed("/api/v1/usage/spending", &ann.token).await;
    assert_eq!(spending.data()["totals"][0]["micros"], 5 * IMAGE, "{}", spending.body);

    // A project's cap, set by its owner only, applies to everyone working on it.
    assert_eq!(ann.cap(&app, "/api/v1/budgets", json!({"USD": null})).await, StatusCode::OK);
    let project_budget = format!("/api/v1/projects/{}/budget", ann.project);
    assert_eq!(ann.cap(&app, &project_budget, json!({"USD": "0.3"})).await, StatusCode::OK);
    let refused = ann.batch(&app, &["s1"], json!({})).await;
    assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED, "{}", refused.body);
    assert_eq!(refused.body["error"]["details"]["scope"], "project");
    let shared = app
        .post_authed(
            &format!("/api/v1/projects/{}/share", ann.project),
            &ann.token,
            &json!({"email": "editor@example.com", "role": "editor"}),
        )
        .await;
    assert!(shared.status.is_success(), "{}", shared.body);
    let bob = app.register("editor@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let editor = Person { token: bob, project: ann.project.clone() };
    assert_eq!(editor.cap(&app, &project_budget, json!({"USD": "9"})).await, StatusCode::FORBIDDEN);
    assert_eq!(micros(&editor.budget(&app, &project_budget).await["spent"]), 5 * IMAGE, "members read it");

    // Bad caps change nothing.
    for bad in [json!({"EUR": "1"}), json!({"USD": "-1"}), json!({"USD": "1.0000001"}), json!({"USD": 5}), json!({})] {
        let status = ann.cap(&app, "/api/v1/budgets", bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    assert!(ann.budget(&app, "/api/v1/budgets").await["monthly_cap"].is_null());
    emulator.assert_conformant();
}

async fn refused_calls_release_and_a_restart_loses_nothing(engine: Engine) {
    let emulator = cinegen_emulators::openai::start("sk-budget").await;
    let db = TestDatabase::create(engine).await;
    let url = db.connect_options().url;
    // Instances of one deployment share the key that seals provider keys.
    let sealing = cinegen_server::config::Secret::new("ab".repeat(32));
    // An instance that queues but runs nothing, as if it stopped right after admission.
    let mut api = TestApp::spawn_on(&url, |c| {
        c.fetch_allow_loopback = true;
        c.workers = 0;
        c.encryption_key = Some(sealing.clone());
    })
    .await;
    let ann = person(&api, "restart@example.com", &emulator, 2).await;
    assert_eq!(ann.cap(&api, "/api/v1/budgets", json!({"USD": "0.1"})).await, StatusCode::OK);
    let queued = ann.batch(&api, &["s1"], json!({})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let held = ann.budget(&api, "/api/v1/budgets").await;
    assert_eq!((micros(&held["spent"]), micros(&held["held"])), (0, IMAGE), "{held}");
    // The reservation holds the cap: a second picture does not fit beside it.
    assert_eq!(ann.batch(&api, &["s2"], json!({})).await.status, StatusCode::PAYMENT_REQUIRED);
    api.stop();

    // Another instance takes the work over and finishes it: the reservation becomes what the
    // call cost, once.
    let worker = TestApp::spawn_on(&url, |c| {
        c.fetch_allow_loopback = true;
        c.encryption_key = Some(sealing);
    })
    .await;
    let done = worker.finished_task(&ann.token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(done["result"]["completed"], 1, "{done}");
    let settled = ann.budget(&worker, "/api/v1/budgets").await;
    assert_eq!((micros(&settled["spent"]), micros(&settled["held"])), (IMAGE, 0), "{settled}");

    // A call the vendor refuses costs nothing and holds nothing once the task has ended: room
    // for one more picture is room for one more picture again.
    assert_eq!(ann.cap(&worker, "/api/v1/budgets", json!({"USD": "0.11"})).await, StatusCode::OK);
    emulator.fail_next(Fault::Unauthorized);
    let failed = ann.batch(&worker, &["s2"], json!({})).await;
    assert_eq!(failed.status, StatusCode::ACCEPTED, "{}", failed.body);
    let done = worker.finished_task(&ann.token, failed.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(done["result"]["failed"], 1, "{done}");
    let after = ann.budget(&worker, "/api/v1/budgets").await;
    assert_eq!((micros(&after["spent"]), micros(&after["held"])), (IMAGE, 0), "{after}");
    let again = ann.batch(&worker, &["s2"], json!({})).await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "released: {}", again.body);
    worker.finished_task(&ann.token, again.data()["task"]["id"].as_str().unwrap()).await;
    let spending = worker.get_authed("/api/v1/usage/spending", &ann.token).await;
    assert_eq!(spending.data()["totals"][0]["micros"], 2 * IMAGE, "{}", spending.body);

    // Running the refused picture again is new spending: over the cap it is refused with the
    // numbers and stays failed; with room it is admitted and held until it ends.
    let listed = worker.get_authed(&format!("/api/v1/ai/tasks?project_id={}&size=100", ann.project), &ann.token).await;
    let failed_item = listed.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["status"] == "failed" && t["type"] != "batch")
        .and_then(|t| t["id"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("a failed picture: {}", listed.body));
    let retry = format!("/api/v1/ai/tasks/{failed_item}/retry");
    let refused = worker.post_authed(&retry, &ann.token, &json!({})).await;
    assert_eq!(refused.status, StatusCode::PAYMENT_REQUIRED, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "BUDGET_EXCEEDED", "{}", refused.body);
    let still = worker.get_authed(&format!("/api/v1/ai/tasks/{failed_item}"), &ann.token).await;
    assert_eq!(still.data()["task"]["status"], "failed", "{}", still.body);
    assert_eq!(ann.cap(&worker, "/api/v1/budgets", json!({"USD": "0.2"})).await, StatusCode::OK);
    let retried = worker.post_authed(&retry, &ann.token, &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    worker.finished_task(&ann.token, &failed_item).await;
    let settled = ann.budget(&worker, "/api/v1/budgets").await;
    assert_eq!((micros(&settled["spent"]), micros(&settled["held"])), (3 * IMAGE, 0), "{settled}");
    drop(db);
}

async fn the_server_keys_have_a_cap_of_their_own(engine: Engine) {
    let emulator = cinegen_emulators::openai::start("sk-server-key").await;
    let app = TestApp::spawn_with(engine, |c| {
        c.fetch_allow_loopback = true;
        c.provider_keys = Some(cinegen_server::config::Secret::new("openai=sk-server-key"));
        c.provider_base_urls = Some(format!("openai={}/v1", emulator.base_url));
        c.server_key_budget = Some("USD=0.06".into());
    })
    .await;
    let token = app.register("server-key@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let created = app.post_authed("/api/v1/projects", &token, &json!({"title": "服务器", "shots": shots(2)})).await;
    let ann = Person { token, project: created.data()["project"]["id"].as_str().unwrap().to_owned() };
    let first = ann.batch(&app, &["s1"], json!({})).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    app.finished_task(&ann.token, first.data()["task"]["id"].as_str().unwrap()).await;
    let second = ann.batch(&app, &["s2"], json!({})).await;
    assert_eq!(
        (second.status, second.body["error"]["details"]["scope"].as_str()),
        (StatusCode::PAYMENT_REQUIRED, Some("server")),
        "{}",
        second.body
    );
    // The offline provider needs no key and is not under the server's cap.
    let local = app
        .post_authed(
            "/api/v1/ai/batch/keyframes",
            &ann.token,
            &json!({"project_id": ann.project, "provider": "local", "shot_ids": ["s2"]}),
        )
        .await;
    assert_eq!(local.status, StatusCode::ACCEPTED, "{}", local.body);
}
