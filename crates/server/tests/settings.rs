//! Provider settings: keys are encrypted at rest, shown only as hints, never logged; bad changes
//! are refused whole; a key can be checked.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

on_both_engines!(keys_are_sealed_hinted_and_never_logged);

const KEY: &str = "sk-live-0123456789abcdefSECRET9f3a";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn local(settings: &Value) -> Value {
    settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "local").cloned().unwrap()
}

async fn put(app: &TestApp, token: &str, body: Value) -> common::Answer {
    app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(token).json(&body)).await
}

async fn keys_are_sealed_hinted_and_never_logged(engine: Engine) {
    // Every log line of the server, at the most detailed level, is kept to be searched.
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let app = TestApp::spawn_with(engine, |config| config.fetch_allow_loopback = true).await;
    let ann = app.register("keys@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let bob = app.register("keys-bob@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let before = app.get_authed("/api/v1/settings/providers", &ann).await;
    assert_eq!(before.status, StatusCode::OK);
    let fresh = local(before.data());
    assert_eq!(
        (fresh["ready"].as_bool(), fresh["needs_key"].as_bool(), &fresh["api_key"]),
        (Some(true), Some(false), &Value::Null)
    );

    let saved = put(&app, &ann, json!({"providers": {"local": {"api_key": KEY, "models": {"text": "screenplay-parser-1"}}}, "defaults": {"video": "local"}})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(local(saved.data())["api_key"], "sk-…9f3a");
    assert_eq!(saved.data()["defaults"]["video"], "local");
    let shown = app.get_authed("/api/v1/settings/providers", &ann).await;
    assert!(!shown.body.to_string().contains(KEY));
    assert_eq!(local(shown.data())["models"]["text"], "screenplay-parser-1");
    assert_eq!(
        local(app.get_authed("/api/v1/settings/providers", &bob).await.data())["api_key"],
        Value::Null,
        "settings are per user"
    );

    // At rest the key is ciphertext.
    let rows = app
        .state
        .store
        .provider_settings(
            app.state
                .store
                .user_by_email(&cinegen_domain::Email::parse("keys@example.com").unwrap())
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap();
    let sealed = rows.iter().find(|r| r.provider == "local").unwrap().api_key.clone().unwrap();
    assert!(sealed.starts_with("aesgcm2:") && !sealed.contains("SECRET"), "{sealed}");

    // A bad change is refused whole, naming each bad field.
    let refused = put(
        &app,
        &ann,
        json!({"providers": {
        "local": {"api_key": "sk-other-key-that-is-long", "secret_key": "nope", "base_url": "ftp://example.com"},
        "nonesuch": {"api_key": "x"}}, "defaults": {"text": "nonesuch"}}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = refused.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for field in ["providers.local.secret_key", "providers.local.base_url", "providers.nonesuch", "defaults.text"] {
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    assert_eq!(
        local(app.get_authed("/api/v1/settings/providers", &ann).await.data())["api_key"],
        "sk-…9f3a",
        "nothing was saved"
    );
    let malformed = app
        .send(
            app.client
                .put(app.url("/api/v1/settings/providers"))
                .bearer_auth(&ann)
                .header("content-type", "application/json")
                .body("{\"providers\": {"),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let wrong_type = put(&app, &ann, json!({"providers": 3})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The check calls the provider with the key.
    let checked = app.post_authed("/api/v1/settings/providers/local/test", &ann, &json!({})).await;
    assert_eq!(
        (checked.status, checked.data()["message"].as_str()),
        (StatusCode::OK, Some("the key works")),
        "{}",
        checked.body
    );
    assert_eq!(
        app.post_authed("/api/v1/settings/providers/nonesuch/test", &ann, &json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    // A generation with the key in use.
    let project = app
        .post_authed("/api/v1/projects", &ann, &json!({"title": "Keys", "raw_script": "第一场 夜 内\n甲：你好。"}))
        .await;
    let id = project.data()["project"]["id"].as_str().unwrap();
    let parse = app.post_authed("/api/v1/ai/script/parse", &ann, &json!({"project_id": id})).await;
    assert_eq!(parse.status, StatusCode::ACCEPTED);
    let task_id = parse.data()["task"]["id"].as_str().unwrap().to_owned();
    for _ in 0..100 {
        let task = app.get_authed(&format!("/api/v1/ai/tasks/{task_id}"), &ann).await;
        if task.data()["task"]["status"] == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // A networked provider, called with the key at the most detailed log level: the key travels
    // in its header, and reaches no log line, no answer and no task error.
    let openai = cinegen_emulators::openai::start(KEY).await;
    let base = format!("{}/v1", openai.base_url);
    let saved = put(&app, &ann, json!({"providers": {"openai": {"api_key": KEY, "base_url": base}}})).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // A saved key is not yet available: only a passing check makes it so.
    let openai_view = |settings: &Value| {
        settings["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").unwrap().clone()
    };
    let view = openai_view(saved.data());
    assert_eq!((view["status"].as_str(), view["ready"].as_bool()), (Some("unchecked"), Some(false)), "{view}");
    let checked = app.post_authed("/api/v1/settings/providers/openai/test", &ann, &json!({})).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.data()["outcome"], "working");
    // OpenAI lists the key's models: the check is that free call, and its answer offers them.
    assert_eq!(openai.calls(), ["GET /v1/models"], "one free call");
    let listed = |models: &Value| -> Vec<(String, String)> {
        models
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["id"].as_str().unwrap().into(), m["capability"].as_str().unwrap().into()))
            .collect()
    };
    let expected: Vec<(String, String)> =
        [("gpt-5-mini", "text"), ("gpt-image-2", "image"), ("gpt-4o-mini-tts", "speech"), ("tts-1", "speech")]
            .iter()
            .map(|(id, c)| (id.to_string(), c.to_string()))
            .collect();
    assert_eq!(listed(&checked.data()["models"]), expected, "{}", checked.body);
    openai.assert_conformant();
    let view = openai_view(app.get_authed("/api/v1/settings/providers", &ann).await.data());
    assert_eq!((view["status"].as_str(), view["ready"].as_bool()), (Some("working"), Some(true)), "{view}");
    assert_eq!(view["check"]["outcome"], "working");
    assert_eq!(listed(&view["check"]["models"]), expected, "the list is kept with the check");
    assert_eq!(view["default_models"]["text"], "gpt-5-mini", "a listed default stays");

    // A new key is unchecked again; a refused one is failing, with the vendor's reason.
    let wrong = put(&app, &ann, json!({"providers": {"openai": {"api_key": "sk-wrong-0123456789SECRET"}}})).await;
    assert_eq!(wrong.status, StatusCode::OK);
    assert_eq!(openai_view(wrong.data())["status"], "unchecked");
    assert_eq!(openai_view(wrong.data())["check"], Value::Null, "the check of the old key no longer applies");
    let refused = app.post_authed("/api/v1/settings/providers/openai/test", &ann, &json!({})).await;
    assert_eq!(refused.error_code(), "PROVIDER_NOT_CONFIGURED", "{}", refused.body);
    assert!(!refused.body.to_string().contains("0123456789SECRET"), "{}", refused.body);
    let view = openai_view(app.get_authed("/api/v1/settings/providers", &ann).await.data());
    assert_eq!((view["status"].as_str(), view["ready"].as_bool()), (Some("failing"), Some(false)), "{view}");
    assert_eq!(view["check"]["outcome"], "key_refused", "{view}");
    assert!(view["check"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{view}");
    assert!(!view.to_string().contains("0123456789SECRET"), "{view}");

    // Kling has no text: its keys are checked by a free call (listing image tasks).
    let kling = cinegen_emulators::kling::start("AK-settings", "SK-settings-0123456789SECRET").await;
    let saved = put(
        &app,
        &ann,
        json!({"providers": {"kling": {"api_key": "AK-settings", "secret_key": "SK-settings-0123456789SECRET", "base_url": kling.base_url}}}),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let checked = app.post_authed("/api/v1/settings/providers/kling/test", &ann, &json!({})).await;
    assert_eq!(checked.data()["message"], "the key works", "{}", checked.body);
    put(&app, &ann, json!({"providers": {"kling": {"secret_key": "SK-wrong"}}})).await;
    let refused = app.post_authed("/api/v1/settings/providers/kling/test", &ann, &json!({})).await;
    assert_eq!(refused.error_code(), "PROVIDER_NOT_CONFIGURED", "{}", refused.body);
    kling.assert_conformant();

    // Removing the key.
    let removed = put(&app, &ann, json!({"providers": {"local": {"api_key": null}}})).await;
    assert_eq!(local(removed.data())["api_key"], Value::Null);

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logs.contains("provider settings changed"), "the log was captured");
    assert!(logs.contains("/chat/completions") || logs.contains("openai"), "the provider calls were logged");
    for secret in [KEY, "SECRET9f3a", "0123456789SECRET", "SK-settings"] {
        assert!(!logs.contains(secret), "a key reached the log");
    }
}

/// A server setting naming a provider this server does not have (a typo: `ark` for `doubao`)
/// stops the start with the setting and the name, instead of leaving the key or cap unused.
#[tokio::test]
async fn a_server_setting_naming_an_unknown_provider_stops_the_start() {
    use cinegen_server::config::{Config, Secret};
    for (config, setting) in [
        (Config { provider_keys: Some(Secret::new("ark=sk-server")), ..Config::default() }, "CINEGEN_PROVIDER_KEYS"),
        (
            Config { provider_base_urls: Some("ark=https://ark.example.com".into()), ..Config::default() },
            "CINEGEN_PROVIDER_BASE_URLS",
        ),
        (Config { model_concurrency: Some("ark/seedance=2".into()), ..Config::default() }, "CINEGEN_MODEL_CONCURRENCY"),
    ] {
        let data_dir = std::env::temp_dir().join(format!("cinegen-names-{}", uuid::Uuid::new_v4()));
        let settings = Config { data_dir: data_dir.clone(), ..config }.resolve().expect("a well-formed setting");
        let refused = cinegen_server::state::AppState::build(settings).await.err().expect("the start is refused");
        let message = refused.to_string();
        assert!(message.contains(setting) && message.contains("'ark'") && message.contains("doubao"), "{message}");
        let _ = std::fs::remove_dir_all(data_dir);
    }
}
