//! OpenAI: Chat Completions with JSON output, GPT Image generations (JSON) and edits (multipart,
//! `image[]` references); images come back inline as base64; speech answers the audio itself.
//! Errors are `{"error": {…}}`.
//! See `shared/providers/openai.md`.

use crate::harness::{Emulator, Fault, Shared, garbage, json, parse_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::sync::Arc;

/// Starts an OpenAI emulator; adapters use `{base_url}/v1` as their base URL.
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/images/generations", post(generate))
        .route("/v1/images/edits", post(edit))
        .route("/v1/audio/speech", post(speech))
        .route("/v1/models", axum::routing::get(list_models));
    Emulator::start(routes, Shared::new(key, None)).await
}

fn error(status: StatusCode, code: &str, kind: &str, message: &str) -> Response {
    json(status, json!({"error": {"message": message, "type": kind, "param": null, "code": code}}))
}

/// The vendor's form of a fault; `image` chooses how a refusal looks.
fn fault_answer(fault: Fault, image: bool) -> Response {
    match fault {
        Fault::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "invalid_api_key",
            "invalid_request_error",
            "Incorrect API key provided: sk-…xx",
        ),
        Fault::RateLimited { retry_after_secs } => {
            let mut answer = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "requests",
                "Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1.",
            );
            let headers = answer.headers_mut();
            headers.insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            headers.insert("x-ratelimit-reset-requests", format!("{retry_after_secs}s").parse().unwrap());
            answer
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "server_error",
            "The server had an error processing your request.",
        ),
        Fault::Refusal if image => error(
            StatusCode::BAD_REQUEST,
            "moderation_blocked",
            "invalid_request_error",
            "Your request was rejected by the safety system.",
        ),
        Fault::Refusal => json(
            StatusCode::OK,
            json!({"id": "chatcmpl-refused", "object": "chat.completion", "created": 1764000000, "model": "gpt-5-mini",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": null, "refusal": "I can't help with that request."}}],
                   "usage": {"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10}}),
        ),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /v1/models`: the models the emulator serves, and some the adapter leaves aside.
async fn list_models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    const ROUTE: &str = "GET /v1/models";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, false);
    }
    let ids = ["gpt-5-mini", "gpt-image-2", "gpt-4o-mini-tts", "tts-1", "text-embedding-3-large", "whisper-1"];
    crate::harness::openai_model_list(&ids, "system")
}

/// A structured-output request: a name of `[a-zA-Z0-9_-]` (at most 64), a schema, and in strict
/// mode every object listing all its properties as required and allowing no others.
fn check_json_schema(shared: &Shared, route: &str, format: &Value) {
    let name = format["name"].as_str().unwrap_or_default();
    shared.expect(
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        || format!("{route}: json_schema.name {name:?} is not [a-zA-Z0-9_-]{{1,64}}"),
    );
    fn strict_ok(schema: &Value, at: &str, problems: &mut Vec<String>) {
        let Some(map) = schema.as_object() else { return };
        if map.get("type") == Some(&json!("object")) {
            let properties = map.get("properties").and_then(Value::as_object).cloned().unwrap_or_default();
            let required: Vec<&str> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if map.get("additionalProperties") != Some(&json!(false)) {
                problems.push(format!("{at}: additionalProperties must be false"));
            }
            for (key, property) in &properties {
                if !required.contains(&key.as_str()) {
                    problems.push(format!("{at}.{key}: not in required"));
                }
                strict_ok(property, &format!("{at}.{key}"), problems);
            }
        }
        if let Some(items) = map.get("items") {
            strict_ok(items, &format!("{at}[]"), problems);
        }
    }
    if format["strict"] == true {
        let mut problems = Vec::new();
        strict_ok(&format["schema"], "schema", &mut problems);
        for problem in problems {
            shared.violation(format!("{route}: strict json_schema: {problem}"));
        }
    }
    shared.expect(format["schema"]["type"] == "object", || format!("{route}: the json_schema's root is not an object"));
}

fn unauthorized() -> Response {
    fault_answer(Fault::Unauthorized, false)
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/chat/completions";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, false);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "invalid_request_error",
            "We could not parse the JSON body.",
        );
    };
    shared.expect_field(ROUTE, &body, "/model", Value::is_string);
    shared.expect_field(ROUTE, &body, "/messages/0/role", |r| r == "system");
    shared.expect_field(ROUTE, &body, "/messages/1/role", |r| r == "user");
    shared.expect_field(ROUTE, &body, "/response_format/type", |t| t == "json_object" || t == "json_schema");
    if body.pointer("/response_format/type") == Some(&json!("json_schema")) {
        check_json_schema(&shared, ROUTE, &body["response_format"]["json_schema"]);
    }
    shared.expect(body.get("max_tokens").is_none(), || format!("{ROUTE}: use max_completion_tokens, not max_tokens"));
    let system = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or_default();
    let user = body.pointer("/messages/1/content").and_then(Value::as_str).unwrap_or_default();
    let content = crate::harness::chat_answer(&shared, system, user);
    json(
        StatusCode::OK,
        json!({"id": shared.new_id("chatcmpl-"), "object": "chat.completion", "created": 1764000000,
               "model": body["model"], "choices": [{"index": 0, "finish_reason": "stop",
               "message": {"role": "assistant", "content": content, "refusal": null}}],
               "usage": {"prompt_tokens": 60, "completion_tokens": 12, "total_tokens": 72}}),
    )
}

const SPEECH_MODELS: [&str; 4] = ["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"];
const SPEECH_FORMATS: [&str; 6] = ["mp3", "opus", "aac", "flac", "wav", "pcm"];

/// `/audio/speech`: the audio itself in the asked format (WAV here; other formats answer WAV
/// bytes too, which a test asking for them would notice).
async fn speech(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/audio/speech";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, true);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "invalid_request_error",
            "We could not parse the JSON body.",
        );
    };
    let model = body["model"].as_str().unwrap_or_default();
    shared.expect(SPEECH_MODELS.contains(&model), || format!("{ROUTE}: model '{model}' is not a TTS model"));
    let input = body["input"].as_str().unwrap_or_default();
    shared.expect(!input.is_empty() && input.chars().count() <= 4096, || {
        format!("{ROUTE}: input must be 1–4096 characters")
    });
    shared.expect_field(ROUTE, &body, "/voice", |v| v.is_string() || v.get("id").is_some_and(Value::is_string));
    if let Some(format) = body.get("response_format") {
        shared.expect(format.as_str().is_some_and(|f| SPEECH_FORMATS.contains(&f)), || {
            format!("{ROUTE}: response_format {format}")
        });
    }
    let speed = body.get("speed").map_or(Some(1.0), Value::as_f64);
    shared.expect(speed.is_some_and(|s| (0.25..=4.0).contains(&s)), || format!("{ROUTE}: speed must be 0.25–4"));
    shared.expect(body.get("instructions").is_none() || !model.starts_with("tts-1"), || {
        format!("{ROUTE}: instructions do not work with {model}")
    });
    let voice = body["voice"].as_str().unwrap_or_default();
    let wav = crate::harness::speech_wav(input, voice, speed.unwrap_or(1.0));
    (StatusCode::OK, [(header::CONTENT_TYPE, "audio/wav")], wav).into_response()
}

/// `WxH` as the GPT image models take it.
fn size_of(shared: &Shared, route: &str, size: &str) -> (u32, u32) {
    let parsed = size.split_once('x').and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)));
    match parsed {
        Some((w, h)) if w % 16 == 0 && h % 16 == 0 && w.max(h) <= 3840 => (w, h),
        _ => {
            shared.violation(format!("{route}: size '{size}' is not WxH in multiples of 16 up to 3840"));
            (1024, 1024)
        }
    }
}

fn images_answer(shared: &Shared, prompt: &str, n: u64, (width, height): (u32, u32)) -> Response {
    let data: Vec<Value> = (0..n)
        .map(|i| json!({"b64_json": STANDARD.encode(shared.png(prompt, width / 8, height / 8, i as u32))}))
        .collect();
    json(
        StatusCode::OK,
        json!({"created": 1764000000, "data": data, "output_format": "png", "size": format!("{width}x{height}"),
               "usage": {"input_tokens": 40, "output_tokens": 8000, "total_tokens": 8040,
                         "input_tokens_details": {"text_tokens": 40, "image_tokens": 0}}}),
    )
}

async fn generate(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/images/generations";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, true);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "invalid_request_error",
            "We could not parse the JSON body.",
        );
    };
    shared.expect_field(ROUTE, &body, "/model", |m| m.as_str().is_some_and(|m| m.starts_with("gpt-image")));
    shared.expect_field(ROUTE, &body, "/prompt", Value::is_string);
    shared.expect_field(ROUTE, &body, "/n", |n| n.as_u64().is_some_and(|n| (1..=10).contains(&n)));
    shared.expect(body.get("response_format").is_none(), || format!("{ROUTE}: response_format is DALL·E only"));
    let option = |name: &str| body.get(name).map(|v| v.as_str().unwrap_or("<not a string>").to_owned());
    check_image_options(&shared, ROUTE, option("quality"), option("output_format"));
    shared.expect(body.get("input_fidelity").is_none(), || format!("{ROUTE}: input_fidelity is for edits only"));
    let size = size_of(&shared, ROUTE, body["size"].as_str().unwrap_or_default());
    images_answer(&shared, body["prompt"].as_str().unwrap_or_default(), body["n"].as_u64().unwrap_or(1), size)
}

async fn edit(State(shared): State<Arc<Shared>>, headers: HeaderMap, form: Multipart) -> Response {
    const ROUTE: &str = "POST /v1/images/edits";
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    shared.expect(content_type.starts_with("multipart/form-data"), || format!("{ROUTE}: not multipart/form-data"));
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, true);
    }
    let EditForm { prompt, model, size, n, images, quality, output_format, input_fidelity } =
        read_edit_form(&shared, ROUTE, form).await;
    check_image_options(&shared, ROUTE, quality, output_format);
    if let Some(fidelity) = input_fidelity {
        shared.expect(matches!(fidelity.as_str(), "high" | "low"), || format!("{ROUTE}: input_fidelity {fidelity}"));
        shared.expect(!model.contains("mini") && model != "gpt-image-1", || {
            format!("{ROUTE}: {model} takes no input_fidelity (gpt-image-1.5 and later, not -mini)")
        });
    }
    shared.expect((1..=16).contains(&images), || format!("{ROUTE}: {images} images; 1 to 16 are allowed"));
    shared.expect(!prompt.is_empty(), || format!("{ROUTE}: no prompt"));
    shared.expect(model.starts_with("gpt-image"), || format!("{ROUTE}: model '{model}' is not a GPT image model"));
    shared.expect((1..=10).contains(&n), || format!("{ROUTE}: n = {n}"));
    let size = size_of(&shared, ROUTE, &size);
    images_answer(&shared, &prompt, n, size)
}

/// `quality` and `output_format`, where given, take the documented values.
fn check_image_options(shared: &Shared, route: &str, quality: Option<String>, output_format: Option<String>) {
    if let Some(quality) = quality {
        shared.expect(matches!(quality.as_str(), "low" | "medium" | "high" | "auto"), || {
            format!("{route}: quality {quality} (low, medium, high or auto)")
        });
    }
    if let Some(format) = output_format {
        shared.expect(matches!(format.as_str(), "png" | "jpeg" | "webp"), || {
            format!("{route}: output_format {format} (png, jpeg or webp)")
        });
    }
}

/// The fields of an image edit (`multipart/form-data`, references as `image[]` files).
pub struct EditForm {
    pub prompt: String,
    pub model: String,
    pub size: String,
    pub n: u64,
    pub images: usize,
    pub quality: Option<String>,
    pub output_format: Option<String>,
    pub input_fidelity: Option<String>,
}

/// Reads an edit's parts, recording image parts that are not PNG, JPEG or WebP files.
pub async fn read_edit_form(shared: &Shared, route: &str, mut form: Multipart) -> EditForm {
    let (mut prompt, mut model, mut size, mut n, mut images) = (String::new(), String::new(), String::new(), 1, 0);
    let (mut quality, mut output_format, mut input_fidelity) = (None, None, None);
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_owned();
        let file_type = field.content_type().map(str::to_owned);
        let Ok(data) = field.bytes().await else {
            shared.violation(format!("{route}: a part could not be read"));
            break;
        };
        match name.as_str() {
            "image[]" | "image" => {
                images += 1;
                shared.expect(matches!(file_type.as_deref(), Some("image/png" | "image/jpeg" | "image/webp")), || {
                    format!("{route}: an image part is {file_type:?}, not png, jpeg or webp")
                });
                shared.expect(data.starts_with(b"\x89PNG") || data.starts_with(b"\xff\xd8"), || {
                    format!("{route}: an image part is not an image file")
                });
            }
            "prompt" => prompt = String::from_utf8_lossy(&data).into_owned(),
            "model" => model = String::from_utf8_lossy(&data).into_owned(),
            "size" => size = String::from_utf8_lossy(&data).into_owned(),
            "n" => n = String::from_utf8_lossy(&data).parse().unwrap_or(0),
            "quality" => quality = Some(String::from_utf8_lossy(&data).into_owned()),
            "output_format" => output_format = Some(String::from_utf8_lossy(&data).into_owned()),
            "input_fidelity" => input_fidelity = Some(String::from_utf8_lossy(&data).into_owned()),
            _ => {}
        }
    }
    EditForm { prompt, model, size, n, images, quality, output_format, input_fidelity }
}
