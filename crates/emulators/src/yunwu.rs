//! Yunwu (云雾), a new-api relay with one Bearer `sk-…` key for every route: OpenAI-style Chat
//! Completions, image generations (GPT image JSON answering `b64_json`; Seedream's Ark body
//! answering links) and edits (multipart), and the unified video format (`/v1/video/create`,
//! `/v1/video/query?id=<full id>`, frames as links). Errors are new-api's
//! `{"error": {"message", "type", "code"}}`; a model without a channel is 503 `model_not_found`.
//! See `shared/providers/yunwu.md`.

use crate::harness::{Emulator, Fault, Job, Shared, garbage, json, parse_body, sample_mp4};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// How long result links live (undocumented for Yunwu; a day here).
const LINK_TTL: Duration = Duration::from_secs(24 * 3600);

/// Models with a channel in the emulated token's group, by route; others answer `model_not_found`.
const CHAT_MODELS: [&str; 6] = ["gpt-", "claude-", "deepseek-", "gemini-", "doubao-", "qwen"];
const IMAGE_MODELS: [&str; 4] = ["gpt-image-", "dall-e-3", "doubao-seedream-", "flux"];
const VIDEO_MODELS: [&str; 4] = ["veo2", "veo3", "jimeng-video", "grok-video"];

/// Starts a Yunwu emulator; adapters use `{base_url}` (no `/v1`) as their base URL.
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/v1/images/generations", post(generate))
        .route("/v1/images/edits", post(edit))
        .route("/v1/video/create", post(create_video))
        .route("/v1/video/query", get(query_video))
        .route("/v1/models", get(list_models))
        // The vendors' own formats, passed through with the relay's token.
        .route("/kling/v1/videos/image2video", post(crate::kling::relayed_create_video))
        .route("/kling/v1/videos/image2video/{task_id}", get(crate::kling::relayed_query_video))
        .route("/volc/v1/contents/generations/tasks", post(crate::doubao::create_task))
        .route("/volc/v1/contents/generations/tasks/{id}", get(crate::doubao::get_task))
        .route("/minimax/v1/video_generation", post(crate::minimax::create_video))
        .route("/minimax/v1/query/video_generation", get(minimax_query));
    Emulator::start(routes, Shared::new(key, None)).await
}

/// new-api's error body; its messages end with the relay's request id.
fn error(status: StatusCode, code: &str, kind: &str, message: &str) -> Response {
    let request_id = format!("20261126{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    json(
        status,
        json!({"error": {"message": format!("{message} (request id: {request_id})"), "type": kind, "code": code}}),
    )
}

fn fault_answer(fault: Fault) -> Response {
    match fault {
        Fault::Unauthorized => error(StatusCode::UNAUTHORIZED, "", "new_api_error", "无效的令牌"),
        Fault::RateLimited { retry_after_secs } => {
            let mut answer = error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_exceeded",
                "new_api_error",
                "当前分组上游负载已饱和，请稍后再试",
            );
            answer.headers_mut().insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            answer
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "do_request_failed",
            "new_api_error",
            "upstream error: do request failed",
        ),
        Fault::Refusal => error(
            StatusCode::BAD_REQUEST,
            "content_policy_violation",
            "upstream_error",
            "Your request was rejected as a result of our safety system.",
        ),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /v1/models`: every model the relay sells to the key, of every vendor.
async fn list_models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !shared.bearer_ok("GET /v1/models", &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let ids = [
        "gpt-5-mini",
        "gpt-image-2",
        "doubao-seedream-4-5-251128",
        "veo3-fast-frames",
        "veo2-fast-frames",
        "text-embedding-3-small",
    ];
    crate::harness::openai_model_list(&ids, "custom")
}

fn unauthorized() -> Response {
    fault_answer(Fault::Unauthorized)
}

fn bad_json() -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", "new_api_error", "invalid character in request body")
}

/// 503 `model_not_found` when the group has no channel for `model`.
fn no_channel(model: &str, available: &[&str]) -> Option<Response> {
    (!available.iter().any(|prefix| model.starts_with(prefix))).then(|| {
        error(
            StatusCode::SERVICE_UNAVAILABLE,
            "model_not_found",
            "new_api_error",
            &format!("No available channel for model {model} under group default"),
        )
    })
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/chat/completions";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    shared.expect_field(ROUTE, &body, "/model", Value::is_string);
    shared.expect_field(ROUTE, &body, "/messages/0/role", |r| r == "system");
    shared.expect_field(ROUTE, &body, "/messages/1/role", |r| r == "user");
    shared.expect_field(ROUTE, &body, "/response_format/type", |t| t == "json_object" || t == "json_schema");
    let model = body["model"].as_str().unwrap_or_default();
    // OpenAI's reasoning models refuse max_tokens; the relay passes the field through.
    let reasoning = model.starts_with("gpt-5") || ["o1", "o3", "o4"].iter().any(|s| model.starts_with(s));
    if reasoning {
        shared.expect(body.get("max_tokens").is_none(), || format!("{ROUTE}: {model} takes max_completion_tokens"));
    } else {
        shared.expect(body.get("max_completion_tokens").is_none(), || format!("{ROUTE}: {model} takes max_tokens"));
    }
    if let Some(answer) = no_channel(model, &CHAT_MODELS) {
        return answer;
    }
    let system = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or_default();
    let user = body.pointer("/messages/1/content").and_then(Value::as_str).unwrap_or_default();
    let content = crate::harness::chat_answer(&shared, system, user);
    json(
        StatusCode::OK,
        json!({"id": shared.new_id("chatcmpl-"), "object": "chat.completion", "created": 1764000000, "model": model,
               "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
               "usage": {"prompt_tokens": 60, "completion_tokens": 12, "total_tokens": 72}}),
    )
}

/// `WxH` as OpenAI-style models take it.
fn size_of(shared: &Shared, route: &str, model: &str, size: &str) -> (u32, u32) {
    let parsed = size.split_once('x').and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)));
    let ok = |w: u32, h: u32| {
        if model.starts_with("dall-e-3") {
            ["1024x1024", "1792x1024", "1024x1792"].contains(&size)
        } else if model.starts_with("gpt-image-1") {
            ["1024x1024", "1536x1024", "1024x1536"].contains(&size)
        } else {
            w.is_multiple_of(16) && h.is_multiple_of(16) && w.max(h) <= 3840
        }
    };
    match parsed {
        Some((w, h)) if ok(w, h) => (w, h),
        _ => {
            shared.violation(format!("{route}: size '{size}' is not one {model} takes"));
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
        json!({"created": 1764000000, "data": data,
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
        return fault_answer(fault);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    if let Some(answer) = no_channel(&model, &IMAGE_MODELS) {
        return answer;
    }
    if model.starts_with("doubao-seedream") {
        // Ark's body, relayed; references only as data URIs here.
        let inline = |v: &Value| v.as_str().is_some_and(crate::harness::is_data_uri);
        let ok = match body.get("image") {
            None => true,
            Some(Value::Array(items)) => items.iter().all(inline),
            Some(one) => inline(one),
        };
        shared.expect(ok, || format!("{ROUTE}: Seedream references through the relay go as data URIs"));
        return crate::doubao::seedream(&shared, ROUTE, &body);
    }
    shared.expect(body.get("image").is_none(), || format!("{ROUTE}: references to {model} go to /v1/images/edits"));
    shared.expect_field(ROUTE, &body, "/prompt", |p| p.as_str().is_some_and(|p| !p.is_empty()));
    let max = if model.starts_with("dall-e-3") { 1 } else { 10 };
    shared.expect_field(ROUTE, &body, "/n", |n| n.as_u64().is_some_and(|n| (1..=max).contains(&n)));
    if model.starts_with("gpt-image") {
        shared.expect(body.get("response_format").is_none(), || format!("{ROUTE}: response_format is DALL·E only"));
    }
    let size = size_of(&shared, ROUTE, &model, body["size"].as_str().unwrap_or_default());
    let prompt = body["prompt"].as_str().unwrap_or_default();
    let n = body["n"].as_u64().unwrap_or(1);
    if model.starts_with("gpt-image") {
        return images_answer(&shared, prompt, n, size);
    }
    // Other OpenAI-style models answer links.
    let data: Vec<Value> = (0..n)
        .map(|i| {
            let png = shared.png(prompt, size.0 / 8, size.1 / 8, i as u32);
            json!({"url": shared.file_url(png, "image/png", LINK_TTL)})
        })
        .collect();
    json(StatusCode::OK, json!({"created": 1764000000, "data": data}))
}

async fn edit(State(shared): State<Arc<Shared>>, headers: HeaderMap, form: Multipart) -> Response {
    const ROUTE: &str = "POST /v1/images/edits";
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    shared.expect(content_type.starts_with("multipart/form-data"), || format!("{ROUTE}: not multipart/form-data"));
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let crate::openai::EditForm { prompt, model, size, n, images, .. } =
        crate::openai::read_edit_form(&shared, ROUTE, form).await;
    if let Some(answer) = no_channel(&model, &IMAGE_MODELS) {
        return answer;
    }
    shared.expect(!model.starts_with("doubao-seedream"), || {
        format!("{ROUTE}: Seedream takes references in its JSON body")
    });
    shared.expect((1..=16).contains(&images), || format!("{ROUTE}: {images} images; 1 to 16 are allowed"));
    shared.expect(!prompt.is_empty(), || format!("{ROUTE}: no prompt"));
    shared.expect((1..=10).contains(&n), || format!("{ROUTE}: n = {n}"));
    let size = size_of(&shared, ROUTE, &model, &size);
    images_answer(&shared, &prompt, n, size)
}

/// How many images a unified-format model takes.
fn image_range(model: &str) -> (usize, usize) {
    if model.starts_with("veo2-fast-frames") {
        (1, 2)
    } else if model.contains("-frames") {
        (1, 1)
    } else if model.contains("components") {
        (1, 3)
    } else if model.starts_with("veo3.1") || model.starts_with("jimeng") || model.starts_with("grok") {
        (0, 1)
    } else {
        (0, 0)
    }
}

async fn create_video(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/video/create";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    let refused = match shared.take_fault() {
        Some(Fault::Refusal) => true,
        Some(fault) => return fault_answer(fault),
        None => false,
    };
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.expect(!model.is_empty(), || format!("{ROUTE}: no model"));
    shared.expect_field(ROUTE, &body, "/prompt", |p| p.as_str().is_some_and(|p| !p.is_empty()));
    if let Some(ratio) = body.get("aspect_ratio") {
        let allowed: &[&str] = if model.starts_with("jimeng") {
            &["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"]
        } else if model.starts_with("grok") {
            &["2:3", "3:2", "1:1"]
        } else {
            &["16:9", "9:16"]
        };
        shared.expect(allowed.contains(&ratio.as_str().unwrap_or("")), || {
            format!("{ROUTE}: aspect_ratio {ratio} for {model}")
        });
    }
    let images = body.get("images").and_then(Value::as_array).cloned().unwrap_or_default();
    shared.expect(
        images.iter().all(|i| i.as_str().is_some_and(|u| u.starts_with("https://") || u.starts_with("http://"))),
        || format!("{ROUTE}: images must be public links, not data or base64"),
    );
    let (min, max) = image_range(&model);
    shared.expect((min..=max).contains(&images.len()), || {
        format!("{ROUTE}: {} images for {model}; it takes {min} to {max}", images.len())
    });
    for field in ["duration", "first_frame_image", "image", "image_tail"] {
        shared.expect(body.get(field).is_none(), || format!("{ROUTE}: '{field}' is not a unified-format field"));
    }
    if let Some(answer) = no_channel(&model, &VIDEO_MODELS) {
        return answer;
    }
    let id = format!("{model}:1764000000-{}", shared.new_id("mmzJb"));
    shared.add_job(&id, Job { kind: "video".into(), request: body, polls: 0, cancelled: false, refused });
    json(StatusCode::OK, json!({"id": id, "status": "pending", "status_update_time": 1764000000410u64}))
}

/// The MiniMax passthrough's query: MiniMax's task wrapped in new-api's task envelope, holding
/// the file (and its download link) itself — no `files/retrieve` step.
async fn minimax_query(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    const ROUTE: &str = "GET /minimax/v1/query/video_generation";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let task_id = query.get("task_id").cloned().unwrap_or_default();
    let Some(mut task) = crate::minimax::video_task(&shared, &task_id) else {
        shared.expect(!task_id.is_empty(), || format!("{ROUTE}: no task_id parameter"));
        return error(StatusCode::NOT_FOUND, "task_not_exist", "new_api_error", "task_not_exist");
    };
    let (status, progress, fail_reason) = match task["status"].as_str() {
        Some("Success") => ("SUCCESS", "100%", ""),
        Some("Fail") => ("FAILURE", "100%", "output new_sensitive"),
        Some("Processing") => ("IN_PROGRESS", "50%", ""),
        _ => ("QUEUED", "0%", ""),
    };
    if let Some(number) = task["file_id"].as_str().and_then(|id| id.parse::<u64>().ok()) {
        task["file"] = crate::minimax::file_record(&shared, number).await;
    }
    json(
        StatusCode::OK,
        json!({"code": "success", "message": "", "data": {
            "task_id": task_id, "action": "video_generation", "status": status, "fail_reason": fail_reason,
            "submit_time": 1764000000, "start_time": 1764000010, "finish_time": 1764000070,
            "progress": progress, "data": task}}),
    )
}

async fn query_video(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    const ROUTE: &str = "GET /v1/video/query";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let id = query.get("id").cloned().unwrap_or_default();
    shared.expect(!id.is_empty(), || format!("{ROUTE}: no id parameter"));
    let Some(job) = shared.poll_job(&id) else {
        shared.expect(id.contains(':'), || format!("{ROUTE}: id '{id}' lost the model prefix it was returned with"));
        return error(StatusCode::NOT_FOUND, "task_not_exist", "new_api_error", "task_not_exist");
    };
    // The query echoes the id without its model prefix.
    let bare = id.split_once(':').map_or(id.as_str(), |(_, rest)| rest);
    let mut answer = json!({"id": bare, "status_update_time": 1764000090123u64});
    if !shared.is_done(&job) {
        let (status, progress) = if job.polls <= 1 { ("pending", 0) } else { ("video_generating", 50) };
        answer["status"] = json!(status);
        answer["progress"] = json!(format!("{progress}%"));
    } else if job.refused {
        answer["status"] = json!("failed");
        answer["error"] = json!("Failure to pass the risk control system");
    } else {
        answer["status"] = json!("completed");
        answer["video_url"] = json!(shared.file_url(sample_mp4().await, "video/mp4", LINK_TTL));
        answer["enhanced_prompt"] = job.request["prompt"].clone();
    }
    json(StatusCode::OK, answer)
}
