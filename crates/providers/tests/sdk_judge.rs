//! The vendors' official SDKs as the judge of our emulators and adapters (`tests/sdk/judge.py`,
//! run with the Python that `scripts/test` prepares: `ensure_sdks` in `scripts/lib.sh`).
//!
//! For each vendor with an SDK on the registries (OpenAI's `openai`, which DeepSeek's own
//! documentation tells its users to use; Google's `google-genai`; Volcengine's
//! `volcengine-ark-runtime`): the SDK drives the emulator through every operation the adapter uses
//! and must take its answers as it takes the vendor's — parsed and validated by its own models,
//! faults raised as its own exception classes, a 429 retried after its Retry-After. Then the
//! adapter runs the same operations with the same inputs, and what it sent is compared with what
//! the SDK sent: method, path, query, the headers that carry the key and the content type, and
//! every body field with its type and value. A difference fails the test unless it is listed in
//! `DOCUMENTED`, with the vendor's documentation as the reason.

#[path = "conformance/scenarios.rs"]
#[allow(dead_code)]
mod scenarios;

use cinegen_emulators::Emulator;
use cinegen_providers::adapters::{deepseek, doubao, gemini, openai, yunwu};
use cinegen_providers::net::Transport;
use cinegen_providers::{Credentials, Provider, VideoFrames};
use scenarios::{CALL_TIMEOUT, image_request, png_input, speech_request, text_request, video_request};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Differences between the SDK's request and ours that the vendor's documentation allows:
/// (vendor, operation, JSON pointer into the request — or `*` and its end, at any depth — why).
const DOCUMENTED: &[(&str, &str, &str, &str)] = &[
    (
        "gemini",
        "chat",
        "/body/systemInstruction/role",
        "google-genai gives the system instruction role \"user\"; the API reference's systemInstruction \
         is a Content whose role is optional and ignored there",
    ),
    (
        "gemini",
        "image",
        "/body/contents/0/parts/1/inlineData",
        "google-genai writes bytes as URL-safe base64 under the proto field name (`inline_data.mime_type`), \
         we as standard base64 under the JSON names (`inlineData.mimeType`) the API reference shows; the \
         proto3 JSON mapping the API reads takes both names and both alphabets",
    ),
    (
        "gemini",
        "chat",
        "*/propertyOrdering",
        "google-genai writes a schema's property order under the proto name `property_ordering`, we \
         under the JSON name `propertyOrdering`; the proto3 JSON mapping takes both",
    ),
    ("gemini", "chat", "*/property_ordering", "the same difference, seen from the SDK's side"),
    (
        "doubao",
        "video_cancel",
        "/body",
        "the Ark reference's DELETE /contents/generations/tasks/{id} has no request body; the SDK's \
         generic request path sends an empty JSON object",
    ),
    (
        "doubao",
        "video_cancel",
        "/headers/content-type",
        "with no body we send no content type; the SDK labels its empty object application/json",
    ),
];

/// What the judge printed: its checks and the requests the SDK made per operation.
struct Verdict {
    checks: Vec<Value>,
    requests: BTreeMap<String, Vec<Value>>,
}

fn python() -> Option<String> {
    if let Ok(python) = std::env::var("CINEGEN_SDK_PYTHON") {
        return Some(python);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let cached = format!("{home}/.cache/cinegen/sdks/bin/python");
    std::path::Path::new(&cached).exists().then_some(cached)
}

/// Runs the judge for `vendor` against `emulator`; None (with a notice) where the SDKs are not
/// installed, except in CI, where that fails.
async fn judge(vendor: &str, emulator: &Emulator, key: &str, case: &Value) -> Option<Verdict> {
    let Some(python) = python() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the vendors' SDKs are not installed (scripts/test installs them: ensure_sdks in scripts/lib.sh)"
        );
        eprintln!("SKIPPED: the vendors' SDKs are not installed; scripts/test installs them");
        return None;
    };
    let dir = tempfile::tempdir().expect("a temp dir");
    let case_path = dir.path().join("case.json");
    std::fs::write(&case_path, case.to_string()).expect("write the case");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/judge.py");
    let output = tokio::process::Command::new(&python)
        .arg(script)
        .arg(vendor)
        .arg(&emulator.base_url)
        .arg(key)
        .arg(&case_path)
        .output()
        .await
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {vendor} judge failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("the judge printed no JSON ({e}): {stdout}"));
    let checks = printed["checks"].as_array().cloned().unwrap_or_default();
    let requests = serde_json::from_value(printed["requests"].clone()).expect("requests per operation");
    Some(Verdict { checks, requests })
}

fn assert_checks_pass(vendor: &str, verdict: &Verdict, expected: usize) {
    let failed: Vec<String> = verdict
        .checks
        .iter()
        .filter(|c| c["ok"] != true)
        .map(|c| format!("  {}: {}", c["name"].as_str().unwrap_or("?"), c["detail"].as_str().unwrap_or("")))
        .collect();
    assert!(failed.is_empty(), "the {vendor} SDK did not take our emulator's answers:\n{}", failed.join("\n"));
    assert!(
        verdict.checks.len() >= expected,
        "the {vendor} judge made {} checks, fewer than the {expected} it should",
        verdict.checks.len()
    );
}

/// Runs `operation` through the adapter and answers the requests it made.
async fn ours<F, T>(emulator: &Emulator, operation: F) -> Vec<Value>
where
    F: std::future::Future<Output = T>,
{
    emulator.shared.clear_recorded();
    operation.await;
    emulator.shared.recorded_requests()
}

/// The parts of a request two clients of one API must agree on.
fn essentials(request: &Value) -> Value {
    let headers = &request["headers"];
    let header = |name: &str| headers.get(name).cloned().unwrap_or(Value::Null);
    // A content type without a body (google-genai labels its GETs) says nothing.
    let media_type = header("content-type")
        .as_str()
        .filter(|_| !request["body"].is_null())
        .map(|t| t.split(';').next().unwrap_or(t).trim().to_owned());
    json!({
        "method": request["method"],
        "path": masked_ids(request["path"].as_str().unwrap_or_default()),
        "query": request["query"],
        "headers": {
            "authorization": header("authorization"),
            "x-goog-api-key": header("x-goog-api-key"),
            "content-type": media_type,
        },
        "body": without_nulls(&request["body"]),
    })
}

/// A path with its job ids (segments holding six digits or more) as `{id}`: the two clients
/// cancel and poll different jobs.
fn masked_ids(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.chars().filter(char::is_ascii_digit).count() >= 6 { "{id}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// An absent field and a null one mean the same to these APIs (the SDKs send some as null).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Every place where `a` and `b` differ, as JSON pointers with both sides.
fn differences(pointer: &str, sdk: &Value, ours: &Value, out: &mut Vec<(String, String)>) {
    match (sdk, ours) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                differences(&child, a.get(key).unwrap_or(&Value::Null), b.get(key).unwrap_or(&Value::Null), out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                differences(&format!("{pointer}/{index}"), x, y, out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push((pointer.to_owned(), format!("SDK {} / ours {}", short(a), short(b)))),
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 { format!("{}…", text.chars().take(120).collect::<String>()) } else { text }
}

/// Compares, operation by operation, what the SDK sent with what the adapter sent.
fn assert_same_requests(vendor: &str, verdict: &Verdict, ours: &BTreeMap<&str, Vec<Value>>) {
    let mut report = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (operation, our_requests) in ours {
        let sdk_requests = verdict.requests.get(*operation).unwrap_or_else(|| panic!("the judge ran no {operation}"));
        if sdk_requests.len() != our_requests.len() {
            report.push(format!(
                "{operation}: the SDK made {} requests, the adapter {}: {:?} / {:?}",
                sdk_requests.len(),
                our_requests.len(),
                sdk_requests.iter().map(|r| format!("{} {}", r["method"], r["path"])).collect::<Vec<_>>(),
                our_requests.iter().map(|r| format!("{} {}", r["method"], r["path"])).collect::<Vec<_>>(),
            ));
            continue;
        }
        for (index, (sdk, ours)) in sdk_requests.iter().zip(our_requests).enumerate() {
            let mut found = Vec::new();
            differences("", &essentials(sdk), &essentials(ours), &mut found);
            for (pointer, detail) in found {
                let documented = DOCUMENTED.iter().find(|(v, o, p, _)| {
                    let at = match p.strip_prefix('*') {
                        Some(end) => pointer.ends_with(end),
                        None => pointer.starts_with(p),
                    };
                    *v == vendor && o == operation && at
                });
                match documented {
                    Some(entry) => {
                        used.insert(entry.2);
                    }
                    None => report.push(format!("{operation}[{index}] {pointer}: {detail}")),
                }
            }
        }
    }
    assert!(report.is_empty(), "the {vendor} adapter's requests differ from its SDK's:\n{}", report.join("\n"));
    for (v, operation, pointer, _) in DOCUMENTED.iter().filter(|(v, ..)| *v == vendor) {
        assert!(used.contains(pointer), "{v} {operation} {pointer} is documented as a difference but none was seen");
    }
}

fn credentials(emulator: &Emulator, key: &str, base_path: &str) -> Credentials {
    Credentials {
        api_key: Some(key.into()),
        secret_key: None,
        base_url: Some(format!("{}{base_path}", emulator.base_url)),
    }
}

fn png_base64() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(&png_input("reference character").bytes)
}

/// The inputs both clients get for the chat operation.
fn chat_case(model: &str, max_tokens_field: &str, extra: Value) -> Value {
    let request = text_request(None);
    json!({"system": request.system, "user": request.user, "text_model": model,
           "max_tokens_field": max_tokens_field, "chat_extra": extra, "png_base64": png_base64()})
}

fn merge(mut base: Value, more: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut base, more) {
        a.extend(b);
    }
    base
}

/// Lists the key's models through the adapter and checks which it kept.
async fn list_models(provider: &Provider, credentials: &Credentials, expected: &[&str]) {
    let catalog = provider.catalog.as_ref().expect("the provider lists models");
    let listed = catalog.list_models(credentials).await.expect("a model list");
    let ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, expected, "{listed:?}");
}

async fn run_chat(provider: &Provider, credentials: &Credentials) {
    provider.text().unwrap().complete(&text_request(None), credentials).await.expect("a completion");
}

#[tokio::test]
async fn openai_sdk_judges_the_openai_emulator_and_adapter() {
    const KEY: &str = "sk-openai-judge";
    let emulator = cinegen_emulators::openai::start(KEY).await;
    let provider = openai::provider(Transport::unguarded(CALL_TIMEOUT));
    let credentials = credentials(&emulator, KEY, "/v1");
    let image = image_request(None, 1);
    let speech = speech_request(&provider);
    let (name, schema) = cinegen_providers::schemas::answer_schema(&text_request(None).task);
    let case = merge(
        chat_case(openai::TEXT_MODEL, "max_completion_tokens", Value::Null),
        json!({
            "response_format": {"type": "json_schema", "json_schema": {"name": name, "strict": true, "schema": schema}},
            "image_model": openai::IMAGE_MODEL,
            "image_size": openai::image_size(openai::IMAGE_MODEL, image.width, image.height),
            "image_options": {"quality": openai::IMAGE_QUALITY, "output_format": "png"},
            "edit_options": {"input_fidelity": "high"},
            "prompt": image.prompt,
            "speech_model": openai::SPEECH_MODEL,
            "voice": speech.voice.voice_id,
            "line": speech.text,
            "speed": speech.voice.speed,
            "instructions": format!("Speak in a {} tone.", speech.voice.emotion.clone().unwrap_or_default()),
        }),
    );
    let Some(verdict) = judge("openai", &emulator, KEY, &case).await else { return };
    assert_checks_pass("openai", &verdict, 13);

    let mut sent = BTreeMap::new();
    let listed = ours(
        &emulator,
        list_models(&provider, &credentials, &["gpt-5-mini", "gpt-image-2", "gpt-4o-mini-tts", "tts-1"]),
    );
    sent.insert("models", listed.await);
    sent.insert("chat", ours(&emulator, run_chat(&provider, &credentials)).await);
    let plain = cinegen_providers::ImageRequest { references: vec![], ..image.clone() };
    let images = provider.image().unwrap();
    sent.insert(
        "image",
        ours(&emulator, async { images.generate(&plain, &credentials).await.expect("an image") }).await,
    );
    sent.insert(
        "image_edit",
        ours(&emulator, async { images.generate(&image, &credentials).await.expect("an edit") }).await,
    );
    let voice = provider.speech().unwrap();
    sent.insert(
        "speech",
        ours(&emulator, async { voice.synthesize(&speech, &credentials).await.expect("a line") }).await,
    );
    assert_same_requests("openai", &verdict, &sent);
    emulator.assert_conformant();
}

#[tokio::test]
async fn openai_sdk_judges_the_deepseek_emulator_and_adapter() {
    const KEY: &str = "sk-deepseek-judge";
    let emulator = cinegen_emulators::deepseek::start(KEY).await;
    let provider = deepseek::provider(Transport::unguarded(CALL_TIMEOUT));
    let credentials = credentials(&emulator, KEY, "");
    let dialect = deepseek::dialect();
    // DeepSeek documents 503 "Server overloaded" and a 429 without a retry hint.
    let case = merge(
        chat_case(deepseek::TEXT_MODEL, dialect.max_tokens_field, dialect.extra.clone().unwrap_or(Value::Null)),
        json!({"server_error_status": 503, "retry_after": false}),
    );
    let Some(verdict) = judge("deepseek", &emulator, KEY, &case).await else { return };
    assert_checks_pass("deepseek", &verdict, 7);
    let mut sent = BTreeMap::new();
    sent.insert(
        "models",
        ours(&emulator, list_models(&provider, &credentials, &["deepseek-flash", "deepseek-pro"])).await,
    );
    sent.insert("chat", ours(&emulator, run_chat(&provider, &credentials)).await);
    assert_same_requests("deepseek", &verdict, &sent);
    emulator.assert_conformant();
}

#[tokio::test]
async fn openai_sdk_judges_the_yunwu_emulator_and_adapter() {
    const KEY: &str = "sk-yunwu-judge";
    let emulator = cinegen_emulators::yunwu::start(KEY).await;
    let provider = yunwu::provider(Transport::unguarded(CALL_TIMEOUT));
    let credentials = credentials(&emulator, KEY, "");
    let image = image_request(None, 1);
    let field =
        if yunwu::takes_max_completion_tokens(yunwu::TEXT_MODEL) { "max_completion_tokens" } else { "max_tokens" };
    let case = merge(
        chat_case(yunwu::TEXT_MODEL, field, Value::Null),
        json!({
            "image_model": yunwu::IMAGE_MODEL,
            "image_size": openai::image_size(yunwu::IMAGE_MODEL, image.width, image.height),
            "prompt": image.prompt,
        }),
    );
    let Some(verdict) = judge("yunwu", &emulator, KEY, &case).await else { return };
    assert_checks_pass("yunwu", &verdict, 12);
    let mut sent = BTreeMap::new();
    let expected = ["gpt-5-mini", "gpt-image-2", "doubao-seedream-4-5-251128", "veo3-fast-frames", "veo2-fast-frames"];
    sent.insert("models", ours(&emulator, list_models(&provider, &credentials, &expected)).await);
    sent.insert("chat", ours(&emulator, run_chat(&provider, &credentials)).await);
    let plain = cinegen_providers::ImageRequest { references: vec![], ..image.clone() };
    let images = provider.image().unwrap();
    sent.insert(
        "image",
        ours(&emulator, async { images.generate(&plain, &credentials).await.expect("an image") }).await,
    );
    sent.insert(
        "image_edit",
        ours(&emulator, async { images.generate(&image, &credentials).await.expect("an edit") }).await,
    );
    assert_same_requests("yunwu", &verdict, &sent);
    emulator.assert_conformant();
}

#[tokio::test]
async fn google_genai_judges_the_gemini_emulator_and_adapter() {
    const KEY: &str = "gemini-judge-key";
    let emulator = cinegen_emulators::gemini::start(KEY).await;
    let provider = gemini::provider(Transport::unguarded(CALL_TIMEOUT));
    let credentials = credentials(&emulator, KEY, "/v1beta");
    let image = image_request(None, 1);
    let image_body = gemini::image_body(gemini::IMAGE_MODEL, &image);
    let video = video_request(None);
    let video_body = gemini::video_body(gemini::VIDEO_MODEL, &video);
    let case = merge(
        chat_case(gemini::TEXT_MODEL, "maxOutputTokens", Value::Null),
        json!({
            "gemini_schema": cinegen_providers::schemas::gemini_schema(
                &cinegen_providers::schemas::answer_schema(&text_request(None).task).1
            ),
            "image_model": gemini::IMAGE_MODEL,
            "prompt": image.prompt,
            "aspect_ratio": image_body.pointer("/generationConfig/imageConfig/aspectRatio"),
            "gemini_image_size": image_body.pointer("/generationConfig/imageConfig/imageSize"),
            "video_model": gemini::VIDEO_MODEL,
            "video_input": video_body.pointer("/input/0/content"),
            "video_format": video_body["response_format"],
            "video_config": video_body.get("generation_config"),
        }),
    );
    let Some(verdict) = judge("gemini", &emulator, KEY, &case).await else { return };
    assert_checks_pass("gemini", &verdict, 14);

    let mut sent = BTreeMap::new();
    let expected = ["gemini-3.5-flash", "gemini-3.1-flash-image", "gemini-omni-1.1-flash"];
    sent.insert("models", ours(&emulator, list_models(&provider, &credentials, &expected)).await);
    sent.insert("chat", ours(&emulator, run_chat(&provider, &credentials)).await);
    let images = provider.image().unwrap();
    sent.insert(
        "image",
        ours(&emulator, async { images.generate(&image, &credentials).await.expect("an image") }).await,
    );
    let videos = provider.video().unwrap();
    sent.insert(
        "video_submit",
        ours(&emulator, async { videos.submit(&video, &credentials).await.expect("a job") }).await,
    );
    let job = videos.submit(&video, &credentials).await.expect("a job");
    sent.insert("video_poll", ours(&emulator, async { videos.poll(&job.job_id, &video, &credentials).await }).await);
    sent.insert("video_cancel", ours(&emulator, async { videos.cancel(&job.job_id, &credentials).await }).await);
    assert_same_requests("gemini", &verdict, &sent);
    emulator.assert_conformant();
}

#[tokio::test]
async fn ark_sdk_judges_the_doubao_emulator_and_adapter() {
    const KEY: &str = "ark-judge-key";
    let emulator = cinegen_emulators::doubao::start(KEY).await;
    let provider = doubao::provider(Transport::unguarded(CALL_TIMEOUT));
    let credentials = credentials(&emulator, KEY, "/api/v3");
    let image = image_request(None, 1);
    let seedream = doubao::seedream_body(doubao::IMAGE_MODEL, &image);
    let video = video_request(None);
    let case = merge(
        chat_case(doubao::TEXT_MODEL, "max_tokens", Value::Null),
        json!({
            "image_model": doubao::IMAGE_MODEL,
            "image_size": seedream["size"],
            "prompt": video.prompt,
            "video_model": doubao::VIDEO_MODEL,
            "video_ratio": "adaptive",
            "video_duration": doubao::seedance_duration(doubao::VIDEO_MODEL, video.duration),
            "video_resolution": doubao::seedance_resolution(video.width, video.height, false),
            "generate_audio": false,
        }),
    );
    let Some(verdict) = judge("doubao", &emulator, KEY, &case).await else { return };
    assert_checks_pass("doubao", &verdict, 10);

    let mut sent = BTreeMap::new();
    sent.insert("chat", ours(&emulator, run_chat(&provider, &credentials)).await);
    let images = provider.image().unwrap();
    let image = cinegen_providers::ImageRequest { prompt: video.prompt.clone(), ..image };
    sent.insert(
        "image",
        ours(&emulator, async { images.generate(&image, &credentials).await.expect("an image") }).await,
    );
    let videos = provider.video().unwrap();
    let request = cinegen_providers::VideoRequest {
        frames: VideoFrames::StartEnd(png_input("reference character"), png_input("reference character")),
        ..video
    };
    let job_requests = ours(&emulator, async { videos.submit(&request, &credentials).await.expect("a job") }).await;
    sent.insert("video_submit", job_requests);
    let job = videos.submit(&request, &credentials).await.expect("a job");
    sent.insert("video_poll", ours(&emulator, async { videos.poll(&job.job_id, &request, &credentials).await }).await);
    sent.insert("video_cancel", ours(&emulator, async { videos.cancel(&job.job_id, &credentials).await }).await);
    assert_same_requests("doubao", &verdict, &sent);
    emulator.assert_conformant();
}
