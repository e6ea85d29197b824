//! The whole pipeline through networked providers, as users mix them: text from one vendor,
//! images from a second, video from a third — each an emulator speaking that vendor's wire format
//! and checking every request against it. Every generated asset must land in our storage.

mod common;

use cinegen_emulators::Emulator;
use cinegen_providers::local::{director, screenplay};
use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

const SCRIPT: &str = "第一场 城门 外 黄昏\n沈青禾牵马走到城门下，抬头看着城楼。\n沈青禾：总算回来了。\n萧砚从城楼上走下来，拦住她的去路。\n萧砚：你不该回来。\n";

/// A language model that answers our prompts as a capable model would: it reads the task from
/// the prompt and answers the JSON object the prompt asks for.
fn screenwriter(system: &str, user: &str) -> String {
    let language = if system.contains("Chinese") { "zh" } else { "en" };
    let after = |marker: &str| user.split_once(marker).map(|(_, rest)| rest.trim().to_owned());
    if let Some(script) = after("SCREENPLAY:\n") {
        let seconds = user
            .split_once("Target length: ")
            .and_then(|(_, rest)| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(30);
        let data = screenplay::script_data(&screenplay::parse(&script), language, "古装", seconds);
        let shots = director::plan_shots(&data, None, seconds, language);
        return json!({"scriptData": data, "shots": shots}).to_string();
    }
    if user.contains("\"visualPrompt\"") && user.contains("SUBJECT:") {
        return json!({"visualPrompt": "城门下的黄昏，电影感构图"}).to_string();
    }
    json!({"title": "回城", "script": SCRIPT}).to_string()
}

struct Emulators {
    list: Vec<(&'static str, Emulator, Value)>,
}

impl Emulators {
    /// Starts the emulators of `names` (one per distinct provider), each with its settings entry.
    async fn start(names: &[&'static str]) -> Self {
        let mut list: Vec<(&'static str, Emulator, Value)> = Vec::new();
        for &name in names {
            if name == "local" || list.iter().any(|(n, ..)| *n == name) {
                continue;
            }
            let key = format!("sk-{name}-pipeline-key");
            let (emulator, base_path) = match name {
                "openai" => (cinegen_emulators::openai::start(&key).await, "/v1"),
                "gemini" => (cinegen_emulators::gemini::start(&key).await, "/v1beta"),
                "doubao" => (cinegen_emulators::doubao::start(&key).await, "/api/v3"),
                "deepseek" => (cinegen_emulators::deepseek::start(&key).await, ""),
                "yunwu" => (cinegen_emulators::yunwu::start(&key).await, ""),
                "minimax" => (cinegen_emulators::minimax::start(&key).await, ""),
                "kling" => (cinegen_emulators::kling::start(&key, "kling-secret-key").await, ""),
                other => panic!("no emulator for {other}"),
            };
            let base_url = format!("{}{base_path}", emulator.base_url);
            let settings = match name {
                "kling" => json!({"api_key": key, "secret_key": "kling-secret-key", "base_url": base_url}),
                _ => json!({"api_key": key, "base_url": base_url}),
            };
            emulator.set_chat_responder(Arc::new(screenwriter));
            list.push((name, emulator, settings));
        }
        Self { list }
    }

    fn settings(&self) -> Value {
        let providers: serde_json::Map<String, Value> =
            self.list.iter().map(|(name, _, settings)| ((*name).to_owned(), settings.clone())).collect();
        Value::Object(providers)
    }

    fn assert_conformant(&self) {
        for (name, emulator, _) in &self.list {
            assert!(!emulator.calls().is_empty(), "{name} was called");
            emulator.assert_conformant();
        }
    }
}

async fn run(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let answer = app.post_authed(path, token, &body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{path}: {}", answer.body);
    let task = app.finished_task(token, answer.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{path}: {task}");
    task
}

/// Saves the caller's provider settings (keys, base URLs) and default providers.
async fn save_providers(app: &TestApp, token: &str, providers: Value, defaults: Value) -> Value {
    let saved = app
        .send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(token).json(&json!({
            "providers": providers,
            "defaults": defaults,
        })))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    saved.body
}

async fn download(app: &TestApp, url: &str) -> bytes::Bytes {
    assert!(url.starts_with('/') || url.starts_with(&app.url("/")), "served from our storage: {url}");
    let url = if url.starts_with('/') { app.url(url) } else { url.to_owned() };
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap()
}

fn each<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value[key].as_array().into_iter().flatten()
}

/// A story becomes a film with `text`, `image` and `video` from the named providers.
async fn story_to_film(engine: Engine, text: &'static str, image: &'static str, video: &'static str) {
    let emulators = Emulators::start(&[text, image, video]).await;
    let app = TestApp::spawn_with(engine, |config| {
        config.fetch_allow_loopback = true;
        config.video_poll_ms = 50;
    })
    .await;
    let token = app.register(&format!("{text}-{image}-{video}@example.com")).await["tokens"]["access"]
        .as_str()
        .unwrap()
        .to_owned();
    let defaults = json!({"text": text, "image": image, "video": video});
    let saved = save_providers(&app, &token, emulators.settings(), defaults).await;
    assert!(!saved.to_string().contains("pipeline-key"), "keys are shown only as hints");

    let created = app
        .post_authed(
            "/api/v1/projects",
            &token,
            &json!({"title": "回城", "language": "zh", "target_duration": "15s", "raw_script": SCRIPT}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();

    let parsed = run(&app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
    let shots = parsed["result"]["shots"].as_u64().unwrap();
    assert!(shots >= 2, "{parsed}");
    // The image vendor throttles the first picture once: the call is made again within the
    // attempt, and the metrics count the 429.
    if let Some((_, emulator, _)) = emulators.list.iter().find(|(name, ..)| *name == image) {
        emulator.fail_next(cinegen_emulators::Fault::RateLimited { retry_after_secs: 0 });
    }
    // Every change of a clip task, as the live feed carries it.
    let mut events = app.state.task_events.subscribe();
    for path in ["/api/v1/ai/batch/images", "/api/v1/ai/batch/keyframes", "/api/v1/ai/batch/clips"] {
        let batch = run(&app, &token, path, json!({"project_id": id})).await;
        assert_eq!(batch["result"]["failed"], 0, "{path}: {batch}");
    }
    let mut rendering = Vec::new();
    while let Ok(task) = events.try_recv() {
        if task.task_type == "ai.video" && task.progress_message.as_deref().is_some_and(|m| m.starts_with("rendering"))
        {
            rendering.push((task.progress, task.progress_message.clone().unwrap()));
        }
    }
    // While a vendor renders, the clip moves on: by the vendor's own figure where it reports one
    // (Yunwu), else by how long its jobs take, said to be an estimate.
    match video {
        "local" | "yunwu" => assert!(rendering.iter().any(|(_, m)| m == "rendering"), "{rendering:?}"),
        _ => assert!(rendering.iter().any(|(p, m)| m == "rendering (estimated)" && *p >= 20), "{rendering:?}"),
    }
    let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    for character in each(&doc["script_data"], "characters") {
        let image = download(&app, character["referenceImage"].as_str().unwrap()).await;
        assert!(image.starts_with(b"\x89PNG") || image.starts_with(b"\xff\xd8"), "a stored image");
    }
    let mut shot_ids = Vec::new();
    for shot in each(&doc, "shots") {
        for keyframe in each(shot, "keyframes") {
            assert_eq!(keyframe["status"], "completed", "{keyframe}");
            download(&app, keyframe["imageUrl"].as_str().unwrap()).await;
        }
        assert_eq!(shot["interval"]["status"], "completed", "{shot}");
        let clip = download(&app, shot["interval"]["videoUrl"].as_str().unwrap()).await;
        assert_eq!(&clip[4..8], b"ftyp", "a stored MP4");
        shot_ids.push(shot["id"].clone());
    }
    run(&app, &token, "/api/v1/ai/video/merge", json!({"project_id": id, "shot_ids": shot_ids})).await;
    let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    let film = download(&app, doc["merged_video_url"].as_str().unwrap()).await;
    assert_eq!(&film[4..8], b"ftyp");

    // Usage is recorded under each provider that did the work.
    let usage = app.get_authed("/api/v1/usage", &token).await;
    let rows = usage.data()["items"].as_array().unwrap().clone();
    for (kind, provider) in [("text", text), ("image", image), ("video", video)] {
        assert!(rows.iter().any(|r| r["kind"] == kind && r["provider"] == provider), "{kind} by {provider}: {rows:?}");
    }

    // What an operator sees of this work.
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| sample(&metrics, name, labels);
    for (capability, provider) in [("text", text), ("image", image), ("video", video)] {
        let ok = value(
            "cinegen_provider_calls_total",
            &[("provider", provider), ("capability", capability), ("outcome", "ok")],
        );
        assert!(ok >= 1.0, "{provider} {capability} calls counted:\n{metrics}");
        let units = value("cinegen_provider_units_total", &[("provider", provider), ("capability", capability)]);
        assert!(units >= 1.0, "{provider} {capability} units counted");
    }
    if image != "local" {
        let throttled = value("cinegen_provider_throttled_total", &[("provider", image), ("capability", "image")]);
        assert_eq!(throttled, 1.0, "the one throttled answer is counted, however the vendor says it:\n{metrics}");
        let answers = value("cinegen_provider_responses_total", &[("provider", image), ("capability", "image")]);
        assert!(answers >= 2.0, "HTTP answers counted");
        assert!(value("cinegen_provider_calls_total", &[("provider", image), ("outcome", "transient")]) >= 1.0);
        let retried = value("cinegen_tasks_finished_total", &[("type", "ai.image"), ("outcome", "retried")]);
        assert_eq!(retried, 0.0, "a passing 429 does not spend one of the task's attempts");
    }
    for task_type in ["ai.script_parse", "ai.image", "ai.video", "ai.merge"] {
        let done = value("cinegen_tasks_finished_total", &[("type", task_type), ("outcome", "completed")]);
        assert!(done >= 1.0, "{task_type} completions counted");
        assert_eq!(value("cinegen_queue_due", &[("type", task_type)]), 0.0, "the queue is drained");
    }
    assert!(
        value("cinegen_storage_written_bytes_total", &[("backend", "local")]) > 10_000.0,
        "clips and images written"
    );
    assert_eq!(value("cinegen_db_pool_connections", &[("state", "max")]), 8.0);
    assert_eq!(value("cinegen_database_up", &[]), 1.0);
    emulators.assert_conformant();
}

/// The sum of the samples of `name` whose labels include all of `labels` (0 when none do), from
/// Prometheus's text format.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            let matches = metric == name && labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            matches.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}

/// Each provider takes part in each capability it offers, mixed with others.
macro_rules! mixes {
    ($($name:ident: $text:literal, $image:literal, $video:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            story_to_film(Engine::Sqlite, $text, $image, $video).await;
        }
    )*};
}

mixes! {
    deepseek_text_openai_images_kling_video: "deepseek", "openai", "kling";
    openai_text_kling_images_doubao_video: "openai", "kling", "doubao";
    doubao_text_gemini_images_minimax_video: "doubao", "gemini", "minimax";
    gemini_text_minimax_images_yunwu_video: "gemini", "minimax", "yunwu";
    minimax_text_doubao_images_gemini_video: "minimax", "doubao", "gemini";
    yunwu_text_yunwu_images_local_video: "yunwu", "yunwu", "local";
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mix_on_postgres() {
    story_to_film(Engine::Postgres, "deepseek", "openai", "kling").await;
}

/// A project parsed and painted offline whose clips go to the Kling emulator: (token, id).
async fn keyframed_project_for_kling_clips(app: &TestApp, emulators: &Emulators, email: &str) -> (String, String) {
    keyframed_project_for_clips(app, emulators, email, "kling").await
}

/// An app that may call the emulators on loopback, polling video jobs every `poll_ms`, after
/// `configure` has adjusted the rest.
async fn emulator_app(poll_ms: u64, configure: impl FnOnce(&mut cinegen_server::config::Config)) -> TestApp {
    TestApp::spawn_with(Engine::Sqlite, |config| {
        config.fetch_allow_loopback = true;
        config.video_poll_ms = poll_ms;
        configure(config);
    })
    .await
}

/// A project parsed and painted offline whose clips go to the `video` emulator: (token, id).
async fn keyframed_project_for_clips(
    app: &TestApp,
    emulators: &Emulators,
    email: &str,
    video: &str,
) -> (String, String) {
    let token = app.register(email).await["tokens"]["access"].as_str().unwrap().to_owned();
    save_providers(app, &token, emulators.settings(), json!({"text": "local", "image": "local", "video": video})).await;
    let created = app
        .post_authed("/api/v1/projects", &token, &json!({"title": "回城", "language": "zh", "raw_script": SCRIPT}))
        .await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    run(app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
    run(app, &token, "/api/v1/ai/batch/keyframes", json!({"project_id": id})).await;
    (token, id)
}

/// A video vendor failing every other request (429 and 5xx in turn) while clips are submitted and
/// polled: every clip still arrives, each from exactly one provider job — a passing fault is
/// called through within the attempt, and a poll's fault never costs the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_failing_every_other_call_still_delivers_every_clip_from_one_job() {
    let emulators = Emulators::start(&["kling"]).await;
    let app = emulator_app(50, |_| {}).await;
    let (token, id) = keyframed_project_for_kling_clips(&app, &emulators, "flaky-vendor@example.com").await;

    let (_, kling, _) = &emulators.list[0];
    kling.shared.set_fault_rate(0.5);
    let batch = run(&app, &token, "/api/v1/ai/batch/clips", json!({"project_id": id})).await;
    assert_eq!(batch["result"]["failed"], 0, "{batch}");
    let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    let clips = each(&doc, "shots").count();
    assert!(clips >= 2, "{doc}");
    for shot in each(&doc, "shots") {
        assert_eq!(shot["interval"]["status"], "completed", "{shot}");
        let clip = download(&app, shot["interval"]["videoUrl"].as_str().unwrap()).await;
        assert_eq!(&clip[4..8], b"ftyp", "a stored MP4");
    }
    let jobs: usize = kling.shared.job_counts().values().sum();
    assert_eq!(jobs, clips, "one provider job per clip");
    let polls = kling.calls().iter().filter(|c| c.starts_with("GET ")).count();
    assert!(polls >= clips, "the jobs were polled: {:?}", kling.calls());
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let faults = sample(&metrics, "cinegen_provider_calls_total", &[("provider", "kling"), ("outcome", "transient")]);
    assert!(faults >= 2.0, "the faults were met and counted:\n{metrics}");
    emulators.assert_conformant();
}

/// Kling took a clip's job and the answer never came back (the line dropped): the next attempt
/// finds the job by the key it was filed under (`external_task_id`) and the clip comes from that
/// one job — the lost submission is never paid for twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submission_whose_answer_was_lost_is_found_by_its_key_not_paid_twice() {
    let emulators = Emulators::start(&["kling"]).await;
    let app = emulator_app(50, |config| {
        config.provider_timeout_secs = 2;
        config.task_retry_base_ms = 100;
    })
    .await;
    let (token, id) = keyframed_project_for_kling_clips(&app, &emulators, "lost-answer@example.com").await;

    let (_, kling, _) = &emulators.list[0];
    kling.shared.lose_next_answers(1);
    let batch = run(&app, &token, "/api/v1/ai/batch/clips", json!({"project_id": id})).await;
    assert_eq!(batch["result"]["failed"], 0, "{batch}");
    let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    let clips = each(&doc, "shots").count();
    for shot in each(&doc, "shots") {
        assert_eq!(shot["interval"]["status"], "completed", "{shot}");
    }
    let jobs: usize = kling.shared.job_counts().values().sum();
    assert_eq!(jobs, clips, "one provider job per clip, the lost one included");
    let keys: std::collections::BTreeSet<String> = kling
        .shared
        .jobs_of("video")
        .iter()
        .map(|(_, job)| job.request["external_task_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(keys.len(), clips, "every job is filed under its task's own key: {keys:?}");
    assert!(keys.iter().all(|k| k.starts_with("cinegen-")), "{keys:?}");
    let lookups = kling.calls().iter().filter(|c| *c == "GET /v1/videos/image2video").count();
    assert_eq!(lookups, 1, "the re-run looked the lost job up once: {:?}", kling.calls());
    emulators.assert_conformant();
}

/// Where vendors can reach the server (`public_url`), each video job is given a callback URL
/// signed for its task. A callback wakes the job's poll at once — with polls an hour apart, clips
/// still arrive as soon as their jobs finish — while the poll stays the source of truth. A forged
/// signature, another task's or another provider's URL is refused and changes nothing; the same
/// callback heard twice wakes the poll once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_callbacks_wake_polls_once_and_forgeries_are_refused() {
    let emulators = Emulators::start(&["doubao"]).await;
    let app = emulator_app(3_600_000, |_| {}).await;
    let (token, id) = keyframed_project_for_clips(&app, &emulators, "callbacks@example.com", "doubao").await;
    let (_, doubao, _) = &emulators.list[0];
    doubao.set_polls_until_done(1_000);

    // One clip, whose job the vendor keeps running: its callback URL is read from the job.
    let queued =
        app.post_authed("/api/v1/ai/video/generate", &token, &json!({"project_id": id, "shot_id": "shot-1"})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let task_id = queued.data()["task"]["id"].as_str().unwrap().to_owned();
    let (job, callback) = loop {
        let jobs = doubao.shared.jobs_of("video");
        if let Some((job, record)) = jobs.first() {
            break (job.clone(), record.request["callback_url"].as_str().expect("a callback URL").to_owned());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(callback.starts_with(&app.url(&format!("/api/v1/callbacks/doubao/{task_id}?sig="))), "{callback}");
    let polls = || doubao.calls().iter().filter(|c| c.starts_with("GET /api/v3/contents/generations/tasks/")).count();
    while polls() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let knock = |url: String, body: Value| {
        let client = app.client.clone();
        async move {
            let answer = client.post(url).json(&body).send().await.unwrap();
            let status = answer.status();
            (status, answer.json::<Value>().await.unwrap())
        }
    };
    let running = json!({"id": job, "status": "running"});
    let forged = callback.replace("sig=", "sig=AAAA");
    let (status, body) = knock(forged, running.clone()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_TOKEN")), "{body}");
    let other_provider = callback.replace("/callbacks/doubao/", "/callbacks/kling/");
    assert_eq!(knock(other_provider, running.clone()).await.0, StatusCode::UNAUTHORIZED);
    let other_task = callback.replace(&task_id, &uuid::Uuid::new_v4().to_string());
    assert_eq!(knock(other_task, running.clone()).await.0, StatusCode::UNAUTHORIZED);
    let nobody = callback.replace("/callbacks/doubao/", "/callbacks/nobody/");
    assert_eq!(knock(nobody, running.clone()).await.0, StatusCode::NOT_FOUND);
    let unsigned = callback.split_once('?').unwrap().0.to_owned();
    assert_eq!(knock(unsigned, running.clone()).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(polls(), 1, "refused callbacks wake nothing");

    let (status, body) = knock(callback.clone(), running.clone()).await;
    assert_eq!((status, body["data"]["woken"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (_, again) = knock(callback.clone(), running).await;
    assert_eq!(again["data"]["woken"], false, "a repeat is heard once: {again}");
    while polls() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(polls(), 2, "one callback, one poll");

    // The vendor finishes and says so: the clip arrives now, not in an hour.
    doubao.shared.finish_job(&job);
    let (_, body) = knock(callback.clone(), json!({"id": job, "status": "succeeded"})).await;
    assert_eq!(body["data"]["woken"], true, "{body}");
    let task = app.finished_task(&token, &task_id).await;
    assert_eq!(task["status"], "completed", "{task}");
    let (_, late) = knock(callback, json!({"id": job, "status": "succeeded", "late": true})).await;
    assert_eq!(late["data"]["woken"], false, "a finished task is not woken: {late}");

    // The emulated vendor calling back on its own: every clip of the project, each job finishing
    // a moment after it was taken.
    doubao.shared.call_back_after(std::time::Duration::from_millis(300));
    let batch = run(&app, &token, "/api/v1/ai/batch/clips", json!({"project_id": id})).await;
    assert_eq!(batch["result"]["failed"], 0, "{batch}");
    let sent = doubao.shared.callbacks_sent();
    assert!(!sent.is_empty() && sent.iter().all(|(_, status)| *status == 200), "{sent:?}");
    emulators.assert_conformant();
}

/// A clip whose job the vendor refused fails; the user's retry asks that job once more (a clip
/// the vendor had finished would not be paid for again), finds it failed and submits a new job,
/// filed under a key of its own (Kling refuses a key it has seen), and the clip arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_a_clip_whose_job_failed_submits_a_new_job() {
    for vendor in ["doubao", "kling"] {
        let emulators = Emulators::start(&[vendor]).await;
        let app = emulator_app(50, |_| {}).await;
        let email = format!("retry-{vendor}@example.com");
        let (token, id) = keyframed_project_for_clips(&app, &emulators, &email, vendor).await;
        let (_, emulator, _) = &emulators.list[0];
        emulator.fail_next(cinegen_emulators::Fault::Refusal);
        let queued =
            app.post_authed("/api/v1/ai/video/generate", &token, &json!({"project_id": id, "shot_id": "shot-1"})).await;
        let task_id = queued.data()["task"]["id"].as_str().unwrap().to_owned();
        let failed = app.finished_task(&token, &task_id).await;
        assert_eq!(failed["status"], "failed", "{vendor}: {failed}");
        assert_eq!(emulator.shared.jobs_of("video").len(), 1);

        let retried = app.post_authed(&format!("/api/v1/ai/tasks/{task_id}/retry"), &token, &json!({})).await;
        assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
        let task = app.finished_task(&token, &task_id).await;
        assert_eq!(task["status"], "completed", "{vendor}: the retry made the clip: {task}");
        let jobs = emulator.shared.jobs_of("video");
        assert_eq!(jobs.len(), 2, "{vendor}: one new job for the retry");
        if vendor == "kling" {
            let keys: Vec<&str> = jobs.iter().map(|(_, j)| j.request["external_task_id"].as_str().unwrap()).collect();
            assert_ne!(keys[0], keys[1], "the new job has a key of its own: {keys:?}");
        }
        emulators.assert_conformant();
    }
}

/// Several keys for one provider: calls take turns over them; a key the vendor refuses is parked
/// with its reason — the settings page shows which and why — and the call goes to the other key,
/// so every picture still arrives. Saving the keys again lets the parked one be tried again. The
/// last healthy key is never parked: when it is refused too, the call fails with the vendor's
/// words and the next one tries it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_parked_and_calls_go_to_the_others() {
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let openai = cinegen_emulators::openai::start("sk-the-right-key-1111").await;
        let base = format!("{}/v1", openai.base_url);
        let app = TestApp::spawn_with(engine, |config| {
            config.fetch_allow_loopback = true;
            config.task_retry_base_ms = 50;
        })
        .await;
        let token = app.register("several-keys@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
        let keys = json!({"openai": {"api_key": "sk-a-refused-key-2222", "base_url": base,
                                     "extra_keys": [{"api_key": "sk-the-right-key-1111"}]}});
        save_providers(&app, &token, keys.clone(), json!({"text": "local", "image": "openai", "video": "local"})).await;
        // A fallback stands in only for a provider that is down, not for a key refused.
        let fallback = json!({"fallbacks": {"image": "local"}});
        let saved =
            app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(&token).json(&fallback)).await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
        let created = app
            .post_authed("/api/v1/projects", &token, &json!({"title": "回城", "language": "zh", "raw_script": SCRIPT}))
            .await;
        let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
        run(&app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
        let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
        let characters: Vec<String> =
            each(&doc["script_data"], "characters").map(|c| c["id"].as_str().unwrap().to_owned()).collect();
        // Keys take turns: two pictures use both, and the refused one is met on the way.
        for character in characters.iter().cycle().take(2) {
            let target = json!({"type": "character", "character_id": character});
            run(&app, &token, "/api/v1/ai/image/generate", json!({"project_id": id, "target": target})).await;
        }
        let openai_view = |settings: &Value| {
            settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").unwrap().clone()
        };
        let view = openai_view(app.get_authed("/api/v1/settings/providers", &token).await.data());
        let keys_shown = view["keys"].as_array().unwrap().clone();
        assert_eq!(keys_shown.len(), 2, "{view}");
        assert_eq!(keys_shown[0]["parked"]["reason"], "key_refused", "{view}");
        assert!(keys_shown[0]["parked"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{view}");
        assert_eq!(keys_shown[1]["parked"], Value::Null, "{view}");
        assert!(!view.to_string().contains("sk-a-refused-key"), "keys are shown as hints only: {view}");
        let refusals = openai.calls().iter().filter(|c| c.starts_with("POST /v1/images")).count();
        assert!(refusals >= 2, "{:?}", openai.calls());
        let takes = app.get_authed(&format!("/api/v1/projects/{id}/takes"), &token).await;
        let makers: Vec<&Value> = takes.data()["takes"].as_array().unwrap().iter().map(|t| &t["provider"]).collect();
        assert!(
            makers.len() >= 2 && makers.iter().all(|p| *p == "openai"),
            "the other key, not the fallback: {makers:?}"
        );

        // Saved again, the parked key is tried again.
        save_providers(&app, &token, keys, json!({})).await;
        let view = openai_view(app.get_authed("/api/v1/settings/providers", &token).await.data());
        assert!(view["keys"].as_array().unwrap().iter().all(|k| k["parked"].is_null()), "{view}");

        // Every key refused: one is parked, the last is not; calls fail with the vendor's words.
        let wrong = json!({"openai": {"api_key": "sk-a-refused-key-2222", "base_url": base,
                                      "extra_keys": [{"api_key": "sk-another-refused-3333"}]}});
        save_providers(&app, &token, wrong, json!({})).await;
        let target = json!({"type": "character", "character_id": characters[0]});
        for _ in 0..2 {
            let queued = app
                .post_authed("/api/v1/ai/image/generate", &token, &json!({"project_id": id, "target": target}))
                .await;
            let task = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
            assert_eq!(task["error"]["code"], "PROVIDER_NOT_CONFIGURED", "{task}");
        }
        let view = openai_view(app.get_authed("/api/v1/settings/providers", &token).await.data());
        let parked = view["keys"].as_array().unwrap().iter().filter(|k| !k["parked"].is_null()).count();
        assert_eq!(parked, 1, "the last healthy key is never parked: {view}");
        openai.assert_conformant();
    }
}

/// After the operator rotates the key that seals provider keys, the further keys are sealed
/// again as they are read, like the first: an instance that knows only the new key still opens
/// every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn further_keys_are_sealed_again_after_a_rotation() {
    let db = cinegen_store::testing::TestDatabase::create(Engine::Sqlite).await;
    let url = db.connect_options().url;
    let (old, new) =
        (cinegen_server::config::Secret::new("ab".repeat(32)), cinegen_server::config::Secret::new("cd".repeat(32)));
    let mut before = TestApp::spawn_on(&url, |c| c.encryption_key = Some(old.clone())).await;
    let token = before.register("rotation@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let keys = json!({"openai": {"api_key": "sk-first-key-1111", "extra_keys": [{"api_key": "sk-second-key-2222"}]}});
    save_providers(&before, &token, keys, json!({})).await;
    assert_eq!(openai_key_hints(&before, &token).await.len(), 2);
    before.stop();

    // Rotated: the new key seals, the old one only opens — and reading seals everything again.
    let mut rotating = TestApp::spawn_on(&url, |c| {
        c.encryption_key = Some(new.clone());
        c.encryption_keys_previous = Some(old);
    })
    .await;
    assert_eq!(openai_key_hints(&rotating, &token).await.len(), 2);
    rotating.stop();
    // The old key retired: both keys still open.
    let after = TestApp::spawn_on(&url, |c| c.encryption_key = Some(new)).await;
    let hints = openai_key_hints(&after, &token).await;
    assert_eq!(hints.len(), 2, "{hints:?}");
    assert!(hints[1].ends_with("2222"), "{hints:?}");
    drop(db);
}

/// The hints of the caller's OpenAI keys, as the settings page shows them.
async fn openai_key_hints(app: &TestApp, token: &str) -> Vec<String> {
    let settings = app.get_authed("/api/v1/settings/providers", token).await.data().clone();
    let openai = settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").unwrap().clone();
    openai["keys"].as_array().unwrap().iter().map(|k| k["hint"].as_str().unwrap().to_owned()).collect()
}

/// Doubao marks Seedream's pictures with its own "AI生成" watermark where the project labels AI
/// content, and not once its owner turns the label off; an operator who lets no vendor mark
/// (`vendor_watermark = false`) is obeyed either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doubao_watermarks_follow_the_projects_ai_label() {
    for allowed in [true, false] {
        let emulators = Emulators::start(&["doubao"]).await;
        let app = TestApp::spawn_with(Engine::Sqlite, |config| {
            config.fetch_allow_loopback = true;
            config.vendor_watermark = allowed;
        })
        .await;
        let token = app.register("watermark@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
        save_providers(
            &app,
            &token,
            emulators.settings(),
            json!({"text": "local", "image": "doubao", "video": "local"}),
        )
        .await;
        let created = app
            .post_authed("/api/v1/projects", &token, &json!({"title": "回城", "language": "zh", "raw_script": SCRIPT}))
            .await;
        let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
        run(&app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
        let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
        let character = doc["script_data"]["characters"][0]["id"].as_str().unwrap().to_owned();
        let (_, doubao, _) = &emulators.list[0];
        let paint = || async {
            doubao.shared.clear_recorded();
            let target = json!({"type": "character", "character_id": character});
            run(&app, &token, "/api/v1/ai/image/generate", json!({"project_id": id, "target": target})).await;
            doubao
                .shared
                .recorded_requests()
                .iter()
                .filter(|r| r["path"] == "/api/v3/images/generations")
                .map(|r| r["body"]["watermark"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paint().await, [json!(allowed)], "labelled by default (operator allows: {allowed})");
        let off = app
            .send(
                app.client
                    .put(app.url(&format!("/api/v1/projects/{id}")))
                    .bearer_auth(&token)
                    .json(&json!({"ai_label": false})),
            )
            .await;
        assert_eq!(off.status, StatusCode::OK, "{}", off.body);
        assert_eq!(paint().await, [json!(false)], "the owner turned the label off");
        emulators.assert_conformant();
    }
}

/// A model answering garbage gets one repair request; garbage again fails the task with
/// PROVIDER_ERROR and the reason, and the project is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_model_is_repaired_once_then_reported() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let emulator = cinegen_emulators::openai::start("sk-garbage-key").await;
    let garbage_left = Arc::new(AtomicUsize::new(1));
    let left = garbage_left.clone();
    emulator.set_chat_responder(Arc::new(move |system, user| {
        let spend = left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        if spend { "Sure! Here is the breakdown: {\"scriptData\": [oops".into() } else { screenwriter(system, user) }
    }));
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.fetch_allow_loopback = true).await;
    let token = app.register("garbage@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let base = format!("{}/v1", emulator.base_url);
    save_providers(
        &app,
        &token,
        json!({"openai": {"api_key": "sk-garbage-key", "base_url": base}}),
        json!({"text": "openai"}),
    )
    .await;
    let created = app
        .post_authed("/api/v1/projects", &token, &json!({"title": "回城", "language": "zh", "raw_script": SCRIPT}))
        .await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();

    // One bad answer: repaired.
    let repaired = run(&app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
    assert!(repaired["result"]["shots"].as_u64().unwrap() >= 2, "{repaired}");
    let chats = |e: &Emulator| e.calls().iter().filter(|c| c.ends_with("/chat/completions")).count();
    assert_eq!(chats(&emulator), 2, "one repair request");
    let before = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();

    // Two bad answers: a clear failure, nothing changed.
    garbage_left.store(2, Ordering::SeqCst);
    let answer = app
        .post_authed("/api/v1/ai/script/parse", &token, &json!({"project_id": id, "client_key": "second-parse"}))
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let failed = app.finished_task(&token, answer.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["code"], "PROVIDER_ERROR", "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("after one repair") && message.contains("JSON"), "{message}");
    assert_eq!(chats(&emulator), 4);
    let after = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    assert_eq!(
        (&after["version"], &after["shots"]),
        (&before["version"], &before["shots"]),
        "the project is unchanged"
    );
    emulator.assert_conformant();
}

/// An address nothing listens on: a provider there is down (the connection is refused).
fn closed_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// A user opts into a second provider per capability: while the first is down (its address
/// refuses connections) text, pictures and clips come from the fallback, and each take says
/// which provider stood in for which and why. Without the opt-in the work fails as before; a
/// refusal of the request itself never falls back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_falls_back_to_the_second_when_opted_in() {
    let emulators = Emulators::start(&["doubao", "openai"]).await;
    let app = emulator_app(50, |config| {
        config.task_retry_base_ms = 20;
    })
    .await;
    let token = app.register("fallback@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let down = closed_address();
    let mut providers = emulators.settings();
    providers["kling"] = json!({"api_key": "ak-kling", "secret_key": "sk-kling", "base_url": down});
    providers["deepseek"] = json!({"api_key": "sk-deepseek", "base_url": down});
    let first = json!({"text": "deepseek", "image": "local", "video": "kling"});
    save_providers(&app, &token, providers, first).await;
    let created = app
        .post_authed("/api/v1/projects", &token, &json!({"title": "回城", "language": "zh", "raw_script": SCRIPT}))
        .await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();

    // Not opted in: the script cannot be read while DeepSeek is down.
    let queued = app.post_authed("/api/v1/ai/script/parse", &token, &json!({"project_id": id})).await;
    let failed = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed", "{failed}");

    let choose = |fallbacks: Value| {
        app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(&token).json(&json!({
            "fallbacks": fallbacks,
        })))
    };
    for (bad, field) in [
        (json!({"speech": "doubao"}), "fallbacks.speech"),
        (json!({"video": "deepseek"}), "fallbacks.video"),
        (json!({"video": "nobody"}), "fallbacks.video"),
        (json!({"video": 7}), "fallbacks.video"),
    ] {
        let refused = choose(bad.clone()).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", refused.body);
        assert!(refused.body.to_string().contains(field), "{bad}: {}", refused.body);
    }
    let saved = choose(json!({"text": "local", "image": "doubao", "video": "doubao"})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.body["data"]["fallbacks"], json!({"text": "local", "image": "doubao", "video": "doubao"}));

    // Text: the offline screenwriter stands in, and the task's result says so.
    let parsed = run(&app, &token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
    let fell_back = &parsed["result"]["fell_back"];
    assert_eq!(
        (fell_back["from"].as_str(), fell_back["reason"].as_str()),
        (Some("deepseek"), Some("unavailable")),
        "{parsed}"
    );
    assert!(parsed["result"]["shots"].as_u64().unwrap() >= 1, "{parsed}");

    // Pictures: OpenAI is the first choice now, and it is down too.
    let down_openai = json!({"openai": {"api_key": "sk-openai-pipeline-key", "base_url": down}});
    save_providers(&app, &token, down_openai, json!({"image": "openai"})).await;
    run(&app, &token, "/api/v1/ai/batch/keyframes", json!({"project_id": id})).await;
    let takes = app.get_authed(&format!("/api/v1/projects/{id}/takes?slot=keyframe/shot-1/shot-1-start"), &token).await;
    let keyframe = takes.data()["takes"][0].clone();
    assert_eq!(keyframe["provider"], "doubao", "{keyframe}");
    assert_eq!(keyframe["provenance"]["fell_back"]["from"], "openai", "{keyframe}");
    assert_eq!(keyframe["provenance"]["fell_back"]["reason"], "unavailable", "why, in a word: {keyframe}");
    assert!(!keyframe.to_string().contains(&down), "the down address is the server's to know: {keyframe}");

    // Clips: Kling is down, Doubao makes the clip, and the take names both.
    let clip = run(&app, &token, "/api/v1/ai/video/generate", json!({"project_id": id, "shot_id": "shot-1"})).await;
    let takes = app.get_authed(&format!("/api/v1/projects/{id}/takes?slot=clip/shot-1"), &token).await;
    let take = takes.data()["takes"][0].clone();
    assert_eq!(
        (take["provider"].as_str(), take["provenance"]["fell_back"]["from"].as_str()),
        (Some("doubao"), Some("kling")),
        "{take} {clip}"
    );
    assert_eq!(
        take["provenance"]["recipe"]["payload"]["provider"], "doubao",
        "a re-run asks the provider that made it"
    );
    let doc = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await.data()["project"].clone();
    let first_shot = each(&doc, "shots").next().unwrap().clone();
    let stored = download(&app, first_shot["interval"]["videoUrl"].as_str().unwrap()).await;
    assert_eq!(&stored[4..8], b"ftyp", "a stored MP4");
    // A clip whose job the fallback refused, retried: the retry asks that job again at the
    // provider that took it and submits anew there, and the take still says whom it stood in for.
    let (_, doubao, _) = emulators.list.iter().find(|(name, ..)| *name == "doubao").unwrap();
    doubao.fail_next(cinegen_emulators::Fault::Refusal);
    let queued =
        app.post_authed("/api/v1/ai/video/generate", &token, &json!({"project_id": id, "shot_id": "shot-2"})).await;
    let task_id = queued.data()["task"]["id"].as_str().unwrap().to_owned();
    let failed = app.finished_task(&token, &task_id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    let retried = app.post_authed(&format!("/api/v1/ai/tasks/{task_id}/retry"), &token, &json!({})).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.body);
    assert_eq!(app.finished_task(&token, &task_id).await["status"], "completed");
    let takes = app.get_authed(&format!("/api/v1/projects/{id}/takes?slot=clip/shot-2"), &token).await;
    let retried_take = takes.data()["takes"][0].clone();
    assert_eq!(retried_take["provider"], "doubao", "{retried_take}");
    assert_eq!(retried_take["provenance"]["fell_back"]["from"], "kling", "kept with the job: {retried_take}");

    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let fell = |capability: &str, from: &str| {
        sample(&metrics, "cinegen_provider_fallbacks_total", &[("capability", capability), ("from", from)])
    };
    assert!(fell("text", "deepseek") >= 1.0 && fell("image", "openai") >= 1.0 && fell("video", "kling") >= 1.0);

    // A refusal of the request is no outage: it fails with the vendor's words, and the fallback
    // is not asked.
    let (_, openai, openai_settings) = emulators.list.iter().find(|(name, ..)| *name == "openai").unwrap();
    save_providers(&app, &token, json!({"openai": openai_settings}), json!({})).await;
    let pictures_before = doubao.calls().iter().filter(|c| c.contains("/images/")).count();
    openai.fail_next(cinegen_emulators::Fault::Refusal);
    let target = json!({"type": "keyframe", "shot_id": "shot-1", "keyframe_id": "shot-1-start"});
    let queued =
        app.post_authed("/api/v1/ai/image/generate", &token, &json!({"project_id": id, "target": target})).await;
    let refused = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(refused["status"], "failed", "{refused}");
    assert_eq!(
        doubao.calls().iter().filter(|c| c.contains("/images/")).count(),
        pictures_before,
        "{:?}",
        doubao.calls()
    );
    emulators.assert_conformant();
}

/// The operator caps a model's jobs in flight below the provider's (`model_concurrency`): a batch
/// of clips runs one Kling job at a time, though the provider and the workers would take more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_model_runs_no_more_jobs_at_once_than_its_cap() {
    let emulators = Emulators::start(&["kling"]).await;
    let app = emulator_app(30, |config| {
        config.workers = 4;
        config.model_concurrency = Some(format!("kling/{}=1", cinegen_providers::adapters::kling::VIDEO_MODEL));
    })
    .await;
    let (token, id) = keyframed_project_for_kling_clips(&app, &emulators, "capped-model@example.com").await;
    let (_, kling, _) = &emulators.list[0];
    kling.set_polls_until_done(4);
    let queued = app.post_authed("/api/v1/ai/batch/clips", &token, &json!({"project_id": id})).await;
    let batch_id = queued.data()["task"]["id"].as_str().unwrap().to_owned();
    let mut most = 0;
    loop {
        let running = kling.shared.jobs_of("video").iter().filter(|(_, job)| !kling.shared.is_done(job)).count();
        most = most.max(running);
        let batch = app.get_authed(&format!("/api/v1/ai/tasks/{batch_id}"), &token).await.data()["task"].clone();
        if matches!(batch["status"].as_str(), Some("completed" | "failed")) {
            assert_eq!(batch["status"], "completed", "{batch}");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let jobs = kling.shared.jobs_of("video").len();
    assert!(jobs >= 2, "the batch made several clips: {jobs}");
    assert_eq!(most, 1, "one job of the capped model at a time");
    emulators.assert_conformant();
}
