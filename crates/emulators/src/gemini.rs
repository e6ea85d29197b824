//! Gemini (Generative Language API, `x-goog-api-key`): `generateContent` for text (JSON output)
//! and Nano Banana images (inline base64 in and out), Gemini Omni video as background
//! interactions (`POST /interactions`, polled by id, cancellable), and the auth-gated video download that redirects to a storage link which must be
//! fetched without the key. Errors are `{"error": {"code", "message", "status", "details"}}`, a
//! 429 carrying `RetryInfo.retryDelay`; a bad key is a 400 `API_KEY_INVALID`; content blocks are
//! answers, not errors. See `shared/providers/gemini.md`.

use crate::harness::{Emulator, Fault, Job, Shared, chat_answer, garbage, is_raw_base64, json, parse_body, sample_mp4};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const KEY_HEADER: &str = "x-goog-api-key";
const IMAGE_RATIOS: [&str; 10] = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
/// How long the Files API keeps a generated video.
const VIDEO_LIFETIME: Duration = Duration::from_secs(2 * 24 * 3600);
/// The fields a model interaction takes (`CreateModelInteraction`); anything else is refused.
const INTERACTION_FIELDS: [&str; 18] = [
    "model",
    "background",
    "cached_content",
    "continuation_token",
    "environment",
    "generation_config",
    "input",
    "labels",
    "previous_interaction_id",
    "response_format",
    "response_mime_type",
    "response_modalities",
    "safety_settings",
    "service_tier",
    "store",
    "stream",
    "system_instruction",
    "webhook_config",
];
/// The video tasks `generation_config.video_config.task` names.
const VIDEO_TASKS: [&str; 6] = ["text_to_video", "image_to_video", "reference_to_video", "edit", "extend", "upscale"];
/// Video output tokens per second of 720p.
const VIDEO_TOKENS_PER_SECOND: u64 = 5_792;

/// Starts a Gemini emulator; adapters use `{base_url}/v1beta` as their base URL.
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/v1beta/models", get(list_models))
        .route("/v1beta/models/{call}", post(model_call))
        .route("/v1beta/interactions", post(create_interaction))
        .route("/v1beta/interactions/{id}", get(get_interaction))
        .route("/v1beta/interactions/{id}/cancel", post(cancel_interaction))
        .route("/v1beta/files/{file}", get(download))
        .route("/_files-storage/{file}", get(storage));
    Emulator::start(routes, Shared::new(key, None)).await
}

fn error(status: StatusCode, google_status: &str, message: &str, details: Vec<Value>) -> Response {
    let mut error = json!({"code": status.as_u16(), "message": message, "status": google_status});
    if !details.is_empty() {
        error["details"] = Value::Array(details);
    }
    json(status, json!({"error": error}))
}

fn invalid(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message, vec![])
}

fn key_invalid() -> Response {
    let message = "API key not valid. Please pass a valid API key.";
    error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        message,
        vec![
            json!({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                   "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}),
            json!({"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": message}),
        ],
    )
}

/// Google's form of a fault that is an HTTP error (refusals are answers and are played per route).
fn fault_error(fault: &Fault) -> Option<Response> {
    Some(match fault {
        Fault::Unauthorized => error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            "Your API key was reported as leaked. Please use another API key.",
            vec![],
        ),
        Fault::RateLimited { retry_after_secs } => error(
            StatusCode::TOO_MANY_REQUESTS,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            vec![
                json!({"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                       "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests",
                                       "quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]}),
                json!({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": format!("{retry_after_secs}s")}),
            ],
        ),
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            vec![],
        ),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Fault::Refusal => return None,
    })
}

/// Checks the key header (never `?key=`) and answers the refusal of a missing key (403) or a
/// wrong one (400), if any.
fn key_refusal(shared: &Shared, route: &str, headers: &HeaderMap, query: Option<&str>) -> Option<Response> {
    if query.is_some_and(|q| q.split('&').any(|pair| pair.starts_with("key="))) {
        shared.violation(format!("{route}: the key travels in the query string; send the {KEY_HEADER} header"));
    }
    if headers.contains_key(header::AUTHORIZATION) {
        shared.violation(format!("{route}: an Authorization header was sent; Gemini keys go in {KEY_HEADER}"));
    }
    match headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()) {
        Some(key) if key == shared.key => None,
        Some(_) => Some(key_invalid()),
        None => {
            shared.violation(format!("{route}: no {KEY_HEADER} header"));
            Some(error(
                StatusCode::FORBIDDEN,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                vec![],
            ))
        }
    }
}

/// The models the emulator serves, as `models.list` describes them.
const MODELS: [(&str, &str, &[&str]); 5] = [
    (
        "gemini-3.5-flash",
        "Gemini 3.5 Flash",
        &["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"],
    ),
    ("gemini-3.1-flash-image", "Nano Banana 2", &["generateContent", "countTokens", "batchGenerateContent"]),
    ("gemini-embedding-001", "Gemini Embedding 001", &["embedContent", "countTextTokens", "countTokens"]),
    ("gemini-2.5-flash-preview-tts", "Gemini 2.5 Flash Preview TTS", &["countTokens", "generateContent"]),
    ("gemini-omni-1.1-flash", "Gemini Omni 1.1 Flash", &["generateContent", "countTokens"]),
];

/// `GET /v1beta/models`: pages of `pageSize` (default 50, at most 1000), `pageToken` from the page
/// before.
async fn list_models(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    const ROUTE: &str = "GET /v1beta/models";
    if let Some(refused) = key_refusal(&shared, ROUTE, &headers, query.as_deref()) {
        return refused;
    }
    if let Some(answer) = shared.take_fault().as_ref().and_then(fault_error) {
        return answer;
    }
    let params: std::collections::HashMap<String, String> = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let size = match params.get("pageSize").map(|s| s.parse::<usize>()) {
        None => 50,
        Some(Ok(size)) if (1..=1000).contains(&size) => size,
        Some(_) => {
            shared.violation(format!("{ROUTE}: pageSize {:?} is not 1–1000", params.get("pageSize")));
            return invalid("Invalid page size.");
        }
    };
    let start = match params.get("pageToken").map(|t| t.parse::<usize>()) {
        None => 0,
        Some(Ok(start)) if start < MODELS.len() => start,
        Some(_) => return invalid("Invalid page token."),
    };
    let models: Vec<Value> = MODELS
        .iter()
        .skip(start)
        .take(size)
        .map(|(id, name, methods)| {
            json!({"name": format!("models/{id}"), "version": "001", "displayName": name,
                   "description": format!("{name}, as the emulator serves it."), "inputTokenLimit": 1_048_576,
                   "outputTokenLimit": 65_536, "supportedGenerationMethods": methods})
        })
        .collect();
    let mut page = json!({"models": models});
    if start + size < MODELS.len() {
        page["nextPageToken"] = json!((start + size).to_string());
    }
    json(StatusCode::OK, page)
}

async fn model_call(
    State(shared): State<Arc<Shared>>,
    Path(call): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((model, method)) = call.split_once(':') else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("models/{call} is not found"), vec![]);
    };
    let route = format!("POST /v1beta/models/{{model}}:{method}");
    if let Some(refused) = key_refusal(&shared, &route, &headers, query.as_deref()) {
        return refused;
    }
    match method {
        "generateContent" => generate_content(&shared, &route, model, &body),
        "predictLongRunning" => {
            shared.violation(format!("{route}: Veo's long-running predictions are retired on this API"));
            error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!(
                    "models/{model} is not found for API version v1beta, or is not supported for predictLongRunning."
                ),
                vec![],
            )
        }
        other => {
            shared.violation(format!("{route}: method '{other}' is not one CineGen uses"));
            error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                &format!("models/{model} is not found for API version v1beta, or is not supported for {other}."),
                vec![],
            )
        }
    }
}

/// A `Schema` as the API takes it (the OpenAPI subset): upper-case types (the proto enum's
/// names), `nullable` rather than a null type, no `additionalProperties`.
fn check_schema(shared: &Shared, route: &str, schema: &Value, at: &str) {
    let Some(map) = schema.as_object() else { return };
    const TYPES: [&str; 7] = ["STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"];
    let kind = map.get("type").and_then(Value::as_str).unwrap_or_default();
    shared.expect(TYPES.contains(&kind), || format!("{route}: {at}.type {kind:?} is not one of {TYPES:?}"));
    shared.expect(!map.contains_key("additionalProperties"), || {
        format!("{route}: {at}: additionalProperties is not a field of Schema")
    });
    for (name, property) in map.get("properties").and_then(Value::as_object).into_iter().flatten() {
        check_schema(shared, route, property, &format!("{at}.{name}"));
    }
    if let Some(items) = map.get("items") {
        check_schema(shared, route, items, &format!("{at}[]"));
    }
}

/// A field by its JSON name or its proto name: the API reads JSON by the proto3 mapping, which
/// takes both (`mimeType` / `mime_type`; the official SDK sends the second).
fn proto_field<'a>(message: &'a Value, json_name: &str, proto_name: &str) -> &'a Value {
    message.get(json_name).or_else(|| message.get(proto_name)).unwrap_or(&Value::Null)
}

/// Bytes as the proto3 JSON mapping takes them: standard or URL-safe base64, padded or not.
fn is_proto_base64(text: &str) -> bool {
    use base64::Engine;
    let standard: String = text.trim_end_matches('=').replace('-', "+").replace('_', "/");
    is_raw_base64(text) || base64::engine::general_purpose::STANDARD_NO_PAD.decode(standard).is_ok()
}

/// Checks one `inlineData` part: raw base64 of an image and its lowercase MIME type.
fn check_inline(shared: &Shared, route: &str, at: &str, inline: &Value) {
    let mime = proto_field(inline, "mimeType", "mime_type").as_str().unwrap_or_default();
    shared.expect(matches!(mime, "image/png" | "image/jpeg" | "image/webp" | "image/heic" | "image/heif"), || {
        format!("{route}: {at}.inlineData.mimeType is {mime:?}")
    });
    let data = inline["data"].as_str().unwrap_or_default();
    shared.expect(!data.is_empty() && !data.starts_with("data:") && is_proto_base64(data), || {
        format!("{route}: {at}.inlineData.data is not raw base64 (no data: prefix)")
    });
}

fn generate_content(shared: &Shared, route: &str, model: &str, body: &Bytes) -> Response {
    let fault = shared.take_fault();
    if let Some(answer) = fault.as_ref().and_then(fault_error) {
        return answer;
    }
    let Some(body) = parse_body(shared, route, body) else {
        return invalid("Invalid JSON payload received.");
    };
    shared.expect(model.starts_with("gemini-"), || format!("{route}: model '{model}' is not a Gemini model"));
    let contents = body["contents"].as_array().cloned().unwrap_or_default();
    shared.expect(!contents.is_empty(), || format!("{route}: contents is missing or empty"));
    for (i, content) in contents.iter().enumerate() {
        shared.expect(matches!(content["role"].as_str(), Some("user" | "model")), || {
            format!("{route}: contents[{i}].role is {} (user or model)", content["role"])
        });
        let parts = content["parts"].as_array().cloned().unwrap_or_default();
        shared.expect(!parts.is_empty(), || format!("{route}: contents[{i}].parts is missing or empty"));
        for (j, part) in parts.iter().enumerate() {
            let at = format!("contents[{i}].parts[{j}]");
            if let Some(inline) = part.get("inlineData").or_else(|| part.get("inline_data")) {
                check_inline(shared, route, &at, inline);
            } else {
                shared.expect(part["text"].is_string() || part.get("fileData").is_some(), || {
                    format!("{route}: {at} has neither text, inlineData nor fileData: {part}")
                });
            }
        }
    }
    let config = &body["generationConfig"];
    shared.expect(config.get("aspectRatio").is_none(), || {
        format!("{route}: aspectRatio belongs in generationConfig.imageConfig (a top-level one is ignored)")
    });
    let wants_image = config["responseModalities"].as_array().is_some_and(|m| m.iter().any(|m| m == "IMAGE"));
    let user_text: String = contents
        .iter()
        .filter(|c| c["role"] == "user")
        .flat_map(|c| c["parts"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["text"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n");
    if wants_image {
        image_answer(shared, route, model, &body, &user_text, fault)
    } else {
        text_answer(shared, route, model, &body, &user_text, fault)
    }
}

fn text_answer(shared: &Shared, route: &str, model: &str, body: &Value, user: &str, fault: Option<Fault>) -> Response {
    shared.expect(!model.contains("image"), || format!("{route}: text asked of image model '{model}'"));
    shared.expect_field(route, body, "/systemInstruction/parts/0/text", Value::is_string);
    shared.expect_field(route, body, "/generationConfig/responseMimeType", |m| m == "application/json");
    let config = &body["generationConfig"];
    if let Some(schema) = config.get("responseSchema").or_else(|| config.get("response_schema")) {
        check_schema(shared, route, schema, "responseSchema");
    }
    if fault == Some(Fault::Refusal) {
        return json(
            StatusCode::OK,
            json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
                   "usageMetadata": {"promptTokenCount": 85, "totalTokenCount": 85}, "modelVersion": model}),
        );
    }
    let system: String = body["systemInstruction"]["parts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let text = chat_answer(shared, &system, user);
    json(
        StatusCode::OK,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 85, "candidatesTokenCount": 40, "totalTokenCount": 125},
               "modelVersion": model, "responseId": shared.new_id("resp-")}),
    )
}

fn image_answer(
    shared: &Shared,
    route: &str,
    model: &str,
    body: &Value,
    prompt: &str,
    fault: Option<Fault>,
) -> Response {
    shared.expect(model.contains("image"), || format!("{route}: images asked of model '{model}'"));
    let config = &body["generationConfig"];
    shared.expect(config.get("candidateCount").is_none_or(|n| n == 1) && body.get("n").is_none(), || {
        format!("{route}: image models take no n / candidateCount; loop calls instead")
    });
    shared.expect(config.get("responseMimeType").is_none_or(|m| m != "application/json"), || {
        format!("{route}: responseMimeType application/json cannot carry images")
    });
    let ratio = config.pointer("/imageConfig/aspectRatio").and_then(Value::as_str).unwrap_or("1:1");
    shared.expect_field(route, body, "/generationConfig/imageConfig/aspectRatio", |r| {
        r.as_str().is_some_and(|r| IMAGE_RATIOS.contains(&r))
    });
    match config.pointer("/imageConfig/imageSize") {
        None => {}
        Some(size) if model.starts_with("gemini-2") => {
            shared.violation(format!("{route}: imageSize {size} is not taken by {model}"));
        }
        Some(size) => {
            shared.expect(matches!(size.as_str(), Some("1K" | "2K" | "4K")), || {
                format!("{route}: imageSize {size} is not 1K, 2K or 4K (uppercase K)")
            });
        }
    }
    let references = body["contents"][0]["parts"]
        .as_array()
        .map_or(0, |p| p.iter().filter(|p| p.get("inlineData").or_else(|| p.get("inline_data")).is_some()).count());
    shared.expect(references <= 14, || format!("{route}: {references} reference images (at most 14)"));
    if fault == Some(Fault::Refusal) {
        return json(
            StatusCode::OK,
            json!({"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}],
                   "usageMetadata": {"promptTokenCount": 560, "totalTokenCount": 560}, "modelVersion": model}),
        );
    }
    let (w, h) = ratio
        .split_once(':')
        .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
        .unwrap_or((1, 1));
    let index = shared.new_id("").parse().unwrap_or(0);
    let png = shared.png(prompt, w * 8, h * 8, index);
    json(
        StatusCode::OK,
        json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"text": "Here is the scene."},
                    {"inlineData": {"mimeType": "image/png", "data": STANDARD.encode(&png)}}]},
                "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 560, "candidatesTokenCount": 1290, "totalTokenCount": 1850},
               "modelVersion": model, "responseId": shared.new_id("resp-")}),
    )
}

/// Checks an image block of an interaction's input: raw base64 of a PNG or JPEG file.
fn check_image_block(shared: &Shared, route: &str, at: &str, block: &Value) {
    shared.expect(block.get("uri").is_none(), || format!("{route}: {at} is a link; CineGen sends frames inline"));
    shared.expect(matches!(block["mime_type"].as_str(), Some("image/png" | "image/jpeg")), || {
        format!("{route}: {at}.mime_type is {}", block["mime_type"])
    });
    let decoded = block["data"].as_str().filter(|d| is_raw_base64(d)).and_then(|d| STANDARD.decode(d).ok());
    shared.expect(decoded.is_some_and(|d| d.starts_with(b"\x89PNG") || d.starts_with(b"\xff\xd8")), || {
        format!("{route}: {at}.data is not raw base64 of a PNG or JPEG file")
    });
}

/// Checks a video interaction's body against the `CreateModelInteraction` shape and Omni's limits.
fn check_video_interaction(shared: &Shared, route: &str, body: &Value) {
    for field in body.as_object().into_iter().flat_map(|o| o.keys()) {
        shared.expect(INTERACTION_FIELDS.contains(&field.as_str()), || format!("{route}: unknown field '{field}'"));
    }
    shared.expect(body["background"] == true, || format!("{route}: a video interaction must run in the background"));
    shared.expect(body.get("stream").is_none_or(|s| s == false), || format!("{route}: a video is not streamed"));
    let steps = body["input"].as_array().cloned().unwrap_or_default();
    shared.expect(steps.len() == 1 && steps[0]["type"] == "user_input", || {
        format!("{route}: input must be one user_input step, not {}", body["input"])
    });
    let content = steps.first().and_then(|s| s["content"].as_array()).cloned().unwrap_or_default();
    shared.expect(
        content
            .first()
            .is_some_and(|c| c["type"] == "text" && c["text"].as_str().is_some_and(|t| !t.trim().is_empty())),
        || format!("{route}: the turn must open with the prompt's text block"),
    );
    let images: Vec<&Value> = content.iter().filter(|c| c["type"] == "image").collect();
    shared.expect(images.len() + 1 == content.len(), || {
        format!("{route}: the turn holds blocks other than text and images")
    });
    shared.expect(images.len() <= 3, || format!("{route}: {} images; Omni takes at most 3", images.len()));
    for (index, image) in images.iter().enumerate() {
        check_image_block(shared, route, &format!("input[0].content[{}]", index + 1), image);
    }
    let format = &body["response_format"];
    shared.expect(format["type"] == "video", || format!("{route}: response_format.type is {}", format["type"]));
    shared.expect_field(route, body, "/response_format/aspect_ratio", |r| r == "16:9" || r == "9:16");
    shared.expect_field(route, body, "/response_format/duration", |d| {
        d.as_str()
            .and_then(|d| d.strip_suffix('s'))
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| (3..=10).contains(&n))
    });
    if let Some(resolution) = format.get("resolution") {
        shared.expect(matches!(resolution.as_str(), Some("360p" | "720p" | "1080p" | "4k")), || {
            format!("{route}: resolution {resolution} is not 360p, 720p, 1080p or 4k")
        });
    }
    if let Some(delivery) = format.get("delivery") {
        shared.expect(matches!(delivery.as_str(), Some("inline" | "uri")), || format!("{route}: delivery {delivery}"));
    }
    shared.expect(format.get("gcs_uri").is_none(), || format!("{route}: gcs_uri is for Agent Platform only"));
    if let Some(task) = body.pointer("/generation_config/video_config/task") {
        shared.expect(task.as_str().is_some_and(|t| VIDEO_TASKS.contains(&t)), || format!("{route}: task {task}"));
        shared.expect(task != "image_to_video" || images.len() == 1, || {
            format!("{route}: image_to_video with {} images", images.len())
        });
    }
}

/// An interaction as the API answers it.
fn interaction(id: &str, job: &Job, status: &str) -> Value {
    json!({"id": id, "status": status, "model": job.request["model"],
           "created": "2026-12-07T06:00:00Z", "updated": "2026-12-07T06:01:30Z"})
}

/// `POST /v1beta/interactions`: a background video interaction, answered at once `in_progress`.
async fn create_interaction(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    const ROUTE: &str = "POST /v1beta/interactions";
    if let Some(refused) = key_refusal(&shared, ROUTE, &headers, query.as_deref()) {
        return refused;
    }
    let fault = shared.take_fault();
    if let Some(answer) = fault.as_ref().and_then(fault_error) {
        return answer;
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return invalid("Invalid JSON payload received.");
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if !model.starts_with("gemini-omni") {
        shared.violation(format!("{ROUTE}: model '{model}' is not a Gemini Omni model"));
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("Model {model} is not found."), vec![]);
    }
    check_video_interaction(&shared, ROUTE, &body);
    let id = shared.new_id("v1_interaction-00");
    let job =
        Job { kind: "video".into(), request: body, polls: 0, cancelled: false, refused: fault == Some(Fault::Refusal) };
    let answer = interaction(&id, &job, "in_progress");
    shared.add_job(&id, job);
    json(StatusCode::OK, answer)
}

/// `GET /v1beta/interactions/{id}`: `in_progress` until done, then the video as a Files API link
/// (or inline when `delivery` is `inline`), with the tokens it used.
async fn get_interaction(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "GET /v1beta/interactions/{id}";
    if let Some(refused) = key_refusal(&shared, ROUTE, &headers, query.as_deref()) {
        return refused;
    }
    let fault = shared.take_fault();
    if let Some(answer) = fault.as_ref().and_then(fault_error) {
        return answer;
    }
    let Some(job) = shared.poll_job(&id) else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("Interaction {id} not found."), vec![]);
    };
    if job.cancelled {
        return json(StatusCode::OK, interaction(&id, &job, "cancelled"));
    }
    if job.refused || fault == Some(Fault::Refusal) {
        let mut answer = interaction(&id, &job, "failed");
        answer["steps"] = json!([{"type": "model_output", "error": {"code": 3,
            "message": "The input image was blocked by safety filters. You were not charged.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IMAGE_SAFETY",
                         "domain": "generativelanguage.googleapis.com"}]}}]);
        return json(StatusCode::OK, answer);
    }
    if !shared.is_done(&job) {
        return json(StatusCode::OK, interaction(&id, &job, "in_progress"));
    }
    let file = format!("vid{}", id.trim_start_matches("v1_interaction-"));
    if shared.job(&file).is_none() {
        let link = shared.file_url(sample_mp4().await, "video/mp4", VIDEO_LIFETIME);
        let record = json!({"storage": link});
        shared.add_job(&file, Job { kind: "file".into(), request: record, polls: 0, cancelled: false, refused: false });
    }
    let seconds = job
        .request
        .pointer("/response_format/duration")
        .and_then(Value::as_str)
        .and_then(|d| d.trim_end_matches('s').parse::<u64>().ok())
        .unwrap_or(8);
    let video = if job.request.pointer("/response_format/delivery") == Some(&json!("inline")) {
        json!({"type": "video", "mime_type": "video/mp4", "data": STANDARD.encode(sample_mp4().await)})
    } else {
        json!({"type": "video", "mime_type": "video/mp4",
               "uri": format!("{}/v1beta/files/{file}:download?alt=media", shared.base_url())})
    };
    let video_tokens = seconds * VIDEO_TOKENS_PER_SECOND;
    let mut answer = interaction(&id, &job, "completed");
    answer["steps"] = json!([{"type": "model_output", "content": [video]}]);
    answer["usage"] = json!({"total_input_tokens": 2_100, "total_output_tokens": video_tokens,
        "total_tokens": video_tokens + 2_100,
        "input_tokens_by_modality": [{"modality": "text", "tokens": 60}, {"modality": "image", "tokens": 2_040}],
        "output_tokens_by_modality": [{"modality": "video", "tokens": video_tokens}]});
    json(StatusCode::OK, answer)
}

/// `POST /v1beta/interactions/{id}/cancel`: stops a background interaction, answering it.
async fn cancel_interaction(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "POST /v1beta/interactions/{id}/cancel";
    if let Some(refused) = key_refusal(&shared, ROUTE, &headers, query.as_deref()) {
        return refused;
    }
    if let Some(answer) = shared.take_fault().as_ref().and_then(fault_error) {
        return answer;
    }
    match shared.job(&id) {
        Some(job) if shared.cancel_job(&id) => json(StatusCode::OK, interaction(&id, &job, "cancelled")),
        _ => error(StatusCode::NOT_FOUND, "NOT_FOUND", &format!("Interaction {id} not found."), vec![]),
    }
}

fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}

/// The auth-gated file: with the key, a redirect to the storage host.
async fn download(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "GET /v1beta/files/{file}:download";
    if let Some(refused) = key_refusal(&shared, ROUTE, &headers, query.as_deref()) {
        return refused;
    }
    if let Some(answer) = shared.take_fault().as_ref().and_then(fault_error) {
        return answer;
    }
    let Some(id) = file.strip_suffix(":download") else {
        shared.violation(format!("{ROUTE}: '{file}' is not a download link"));
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.", vec![]);
    };
    shared.expect(query.as_deref().is_some_and(|q| q.split('&').any(|p| p == "alt=media")), || {
        format!("{ROUTE}: alt=media is missing")
    });
    match shared.job(id) {
        Some(_) => redirect(&format!("{}/_files-storage/{id}", shared.base_url())),
        None => error(StatusCode::NOT_FOUND, "NOT_FOUND", "Requested entity was not found.", vec![]),
    }
}

/// The storage host the download redirects to: it must be reached without the API key.
async fn storage(State(shared): State<Arc<Shared>>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    const ROUTE: &str = "GET {storage host}/{file}";
    shared.expect(!headers.contains_key(KEY_HEADER) && !headers.contains_key(header::AUTHORIZATION), || {
        format!("{ROUTE}: the API key was forwarded to the storage host")
    });
    match shared.job(&file).and_then(|job| job.request["storage"].as_str().map(str::to_owned)) {
        Some(link) => redirect(&link),
        None => (StatusCode::NOT_FOUND, "NoSuchKey").into_response(),
    }
}
