//! Doubao on Volcengine Ark: Chat Completions (`json_object`, `thinking`), Seedream image
//! generations (synchronous, 24-hour links, group output with per-image errors) and Seedance
//! content-generation tasks (`cgt-…`, queued → running → succeeded | failed, cancel by DELETE).
//! Errors are `{"error": {"code", "message", "param", "type"}}`. See `shared/providers/doubao.md`.

use crate::harness::{Emulator, Fault, Job, Shared, garbage, is_data_uri, json, parse_body, sample_mp4};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Result links live 24 hours.
const LINK_TTL: Duration = Duration::from_secs(24 * 3600);

/// Starts a Doubao (Ark) emulator; adapters use `{base_url}/api/v3` as their base URL.
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/api/v3/chat/completions", post(chat))
        .route("/api/v3/images/generations", post(images))
        .route("/api/v3/contents/generations/tasks", post(create_task))
        .route("/api/v3/contents/generations/tasks/{id}", get(get_task).delete(delete_task));
    Emulator::start(routes, Shared::new(key, None)).await
}

fn request_id() -> String {
    format!("0217{}", uuid::Uuid::new_v4().simple())
}

/// Ark's error body.
pub fn error(status: StatusCode, code: &str, kind: &str, message: &str) -> Response {
    let message = format!("{message} Request id: {}", request_id());
    json(status, json!({"error": {"code": code, "message": message, "param": "", "type": kind}}))
}

/// Where a refusal shows: chat and task submissions refuse the input with 400; images report it
/// inside `data[]`; video tasks end `failed`.
#[derive(Clone, Copy, PartialEq)]
enum Route {
    Chat,
    Images,
    Task,
}

/// The vendor's form of a fault that is answered at once (a video refusal is not: it ends the job).
fn fault_answer(fault: Fault, route: Route) -> Response {
    match fault {
        Fault::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationError",
            "Unauthorized",
            "The API key in the request is missing or invalid.",
        ),
        Fault::RateLimited { retry_after_secs } => {
            let mut answer = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RateLimitExceeded.EndpointRPMExceeded",
                "TooManyRequests",
                "The request has exceeded the RPM rate limit of the endpoint. Please try again later.",
            );
            answer.headers_mut().insert("retry-after", retry_after_secs.to_string().parse().unwrap());
            answer
        }
        Fault::ServerError => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServiceError",
            "InternalServerError",
            "The service encountered an unexpected internal error.",
        ),
        Fault::Refusal if route == Route::Images => json(
            StatusCode::OK,
            json!({"model": "doubao-seedream-4-5-251128", "created": 1764000123,
                   "data": [{"error": {"code": "OutputImageSensitiveContentDetected",
                                       "message": "The generated image may contain sensitive content."}}],
                   "usage": {"generated_images": 0, "output_tokens": 0, "total_tokens": 0}}),
        ),
        Fault::Refusal => error(
            StatusCode::BAD_REQUEST,
            "InputTextRiskDetection",
            "BadRequest",
            "The request failed because the input text may contain sensitive information.",
        ),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn unauthorized() -> Response {
    fault_answer(Fault::Unauthorized, Route::Chat)
}

fn bad_json() -> Response {
    error(StatusCode::BAD_REQUEST, "InvalidParameter", "BadRequest", "The request body is not valid JSON.")
}

/// Whether an image is given the way Ark takes it: a link or a lowercase `data:image/…` URI.
fn is_image_ref(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with("https://") || s.starts_with("http://") || is_data_uri(s))
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /api/v3/chat/completions";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, Route::Chat);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    shared.expect_field(ROUTE, &body, "/model", Value::is_string);
    shared.expect_field(ROUTE, &body, "/messages/0/role", |r| r == "system");
    shared.expect_field(ROUTE, &body, "/messages/1/role", |r| r == "user");
    shared.expect_field(ROUTE, &body, "/response_format/type", |t| t == "json_object" || t == "json_schema");
    shared.expect_field(ROUTE, &body, "/thinking/type", |t| {
        ["enabled", "disabled", "auto"].contains(&t.as_str().unwrap_or(""))
    });
    shared.expect(body.get("max_completion_tokens").is_none_or(Value::is_null), || {
        format!("{ROUTE}: max_completion_tokens set; the limit in Ark's chat reference is max_tokens")
    });
    if let Some(stream) = body.get("stream") {
        shared.expect(stream == false, || format!("{ROUTE}: stream must be false for one JSON answer"));
    }
    let system = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or_default();
    let user = body.pointer("/messages/1/content").and_then(Value::as_str).unwrap_or_default();
    let content = crate::harness::chat_answer(&shared, system, user);
    json(
        StatusCode::OK,
        json!({"id": request_id(), "object": "chat.completion", "created": 1764000000, "model": body["model"],
               "service_tier": "default",
               "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
               "usage": {"prompt_tokens": 120, "completion_tokens": 48, "total_tokens": 168}}),
    )
}

/// The explicit `WxH` range of total pixels per model, as documented.
fn pixel_range(model: &str) -> (u64, u64) {
    if model.contains("seedream-4-0") {
        (1280 * 720, 4096 * 4096)
    } else if model.contains("seedream-4-5") {
        (3_686_400, 16_777_216)
    } else {
        (3_686_400, 10_404_496)
    }
}

/// Checks a Seedream body (Ark's, also forwarded as is by relays) and answers the images.
pub fn seedream(shared: &Shared, route: &str, body: &Value) -> Response {
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.expect(model.contains("seedream") || model.starts_with("ep-"), || {
        format!("{route}: model '{model}' is not Seedream")
    });
    shared.expect_field(route, body, "/prompt", |p| p.as_str().is_some_and(|p| !p.is_empty()));
    shared.expect_field(route, body, "/watermark", Value::is_boolean);
    shared.expect_field(route, body, "/response_format", |f| f == "url" || f == "b64_json");
    let references = match body.get("image") {
        None => 0,
        Some(Value::Array(items)) => {
            shared.expect(items.iter().all(is_image_ref), || {
                format!("{route}: an image is not a link or lowercase data URI")
            });
            items.len()
        }
        Some(one) => {
            shared.expect(is_image_ref(one), || format!("{route}: image is not a link or lowercase data URI"));
            1
        }
    };
    let limit = if model.contains("seedream-4-0") { 10 } else { 14 };
    shared.expect(references <= limit, || format!("{route}: {references} reference images; at most {limit}"));
    let size = body["size"].as_str().unwrap_or_default();
    let (width, height) =
        match size.split_once('x').and_then(|(w, h)| Some((w.parse::<u64>().ok()?, h.parse::<u64>().ok()?))) {
            Some((w, h)) => {
                let (min, max) = pixel_range(&model);
                shared.expect((min..=max).contains(&(w * h)), || {
                    format!("{route}: size {size} has {} pixels, outside [{min}, {max}] for {model}", w * h)
                });
                shared.expect(w <= 16 * h && h <= 16 * w, || {
                    format!("{route}: size {size} is beyond the 1/16–16 aspect range")
                });
                (w as u32, h as u32)
            }
            None => {
                shared.violation(format!("{route}: size '{size}' is not an explicit WxH"));
                (2048, 2048)
            }
        };
    let count = match body.get("sequential_image_generation").and_then(Value::as_str) {
        Some("auto") => {
            let max = body.pointer("/sequential_image_generation_options/max_images").and_then(Value::as_u64);
            shared.expect(max.is_some_and(|m| (1..=15).contains(&m)), || {
                format!("{route}: sequential_image_generation_options.max_images is missing or outside 1–15")
            });
            let max = max.unwrap_or(15).clamp(1, 15);
            shared.expect(references as u64 + max <= 15, || format!("{route}: references + images exceed 15"));
            max
        }
        Some("disabled") | None => 1,
        Some(other) => {
            shared.violation(format!("{route}: sequential_image_generation '{other}'"));
            1
        }
    };
    let prompt = body["prompt"].as_str().unwrap_or_default();
    let b64 = body["response_format"] == "b64_json";
    let data: Vec<Value> = (0..count)
        .map(|i| {
            let png = shared.png(prompt, width / 8, height / 8, i as u32);
            if b64 {
                use base64::Engine;
                json!({"b64_json": base64::engine::general_purpose::STANDARD.encode(&png), "size": size})
            } else {
                json!({"url": shared.file_url(png, "image/png", LINK_TTL), "size": size})
            }
        })
        .collect();
    json(
        StatusCode::OK,
        json!({"model": model, "created": 1764000123, "data": data,
               "usage": {"generated_images": count, "output_tokens": 16000 * count, "total_tokens": 16000 * count}}),
    )
}

async fn images(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /api/v3/images/generations";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, Route::Images);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    seedream(&shared, ROUTE, &body)
}

/// The documented duration range of a Seedance model.
fn duration_range(model: &str) -> (i64, i64) {
    if model.contains("seedance-1-0") {
        (2, 12)
    } else if model.contains("seedance-2-0") {
        (4, 15)
    } else {
        (4, 12)
    }
}

/// Checks a Seedance task body.
fn check_task(shared: &Shared, route: &str, body: &Value) {
    let model = body["model"].as_str().unwrap_or_default();
    shared.expect(model.contains("seedance") || model.starts_with("ep-"), || {
        format!("{route}: model '{model}' is not Seedance")
    });
    let content = body.get("content").and_then(Value::as_array).cloned().unwrap_or_default();
    shared.expect(!content.is_empty(), || format!("{route}: content[] is missing or empty"));
    let texts = content.iter().filter(|item| item["type"] == "text").count();
    shared.expect(texts == 1, || format!("{route}: content[] has {texts} text items; one is expected"));
    let mut roles = Vec::new();
    for item in &content {
        match item["type"].as_str() {
            Some("text") => {
                shared.expect(item["text"].as_str().is_some_and(|t| !t.is_empty()), || {
                    format!("{route}: an empty text item")
                });
            }
            Some("image_url") => {
                shared.expect(is_image_ref(&item["image_url"]["url"]), || {
                    format!("{route}: image_url.url is not a link or lowercase data URI")
                });
                let role = item["role"].as_str().unwrap_or("first_frame");
                shared.expect(["first_frame", "last_frame", "reference_image"].contains(&role), || {
                    format!("{route}: unknown image role '{role}'")
                });
                roles.push(role.to_owned());
            }
            other => shared.violation(format!("{route}: content item of type {other:?}")),
        }
    }
    let has = |role: &str| roles.iter().filter(|r| *r == role).count();
    shared.expect(has("first_frame") <= 1 && has("last_frame") <= 1, || {
        format!("{route}: repeated frame roles {roles:?}")
    });
    shared
        .expect(has("last_frame") == 0 || has("first_frame") == 1, || format!("{route}: a last frame without a first"));
    shared.expect(has("reference_image") == 0 || (has("first_frame") == 0 && has("last_frame") == 0), || {
        format!("{route}: reference images mixed with frames {roles:?}")
    });
    if has("last_frame") > 0 {
        shared.expect(!model.contains("pro-fast"), || format!("{route}: {model} takes no last frame"));
    }
    if let Some(ratio) = body.get("ratio") {
        shared.expect(
            ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"].contains(&ratio.as_str().unwrap_or("")),
            || format!("{route}: ratio {ratio}"),
        );
    }
    if let Some(duration) = body.get("duration") {
        let (min, max) = duration_range(model);
        let ok =
            duration.as_i64().is_some_and(|d| (min..=max).contains(&d) || (d == -1 && model.contains("seedance-1-5")));
        shared.expect(ok, || format!("{route}: duration {duration} is not an integer in [{min}, {max}] for {model}"));
    }
    if let Some(resolution) = body.get("resolution") {
        shared.expect(["480p", "720p", "1080p"].contains(&resolution.as_str().unwrap_or("")), || {
            format!("{route}: resolution {resolution}")
        });
        shared.expect(!(resolution == "1080p" && has("reference_image") > 0), || {
            format!("{route}: 1080p is not offered with reference images")
        });
    }
    shared.expect_field(route, body, "/watermark", Value::is_boolean);
    if body.get("generate_audio").is_some() {
        shared.expect(model.contains("seedance-1-5") || model.contains("seedance-2-0"), || {
            format!("{route}: generate_audio is for 1.5 pro and 2.0 only")
        });
    }
    let flags = content.iter().filter_map(|item| item["text"].as_str()).any(|t| t.contains(" --"));
    shared.expect(!flags, || format!("{route}: text flags (--ratio …) mixed with body parameters"));
}

pub(crate) async fn create_task(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /api/v3/contents/generations/tasks";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    let refused = match shared.take_fault() {
        Some(Fault::Refusal) => true,
        Some(fault) => return fault_answer(fault, Route::Task),
        None => false,
    };
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return bad_json();
    };
    check_task(&shared, ROUTE, &body);
    let id = shared.new_id("cgt-20261126103000-");
    let callback = body.get("callback_url").filter(|url| !url.is_null()).cloned();
    shared.add_job(&id, Job { kind: "video".into(), request: body, polls: 0, cancelled: false, refused });
    if let Some(url) = callback {
        match url.as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
            Some(url) => shared.schedule_callback(
                &id,
                url,
                Box::new(|shared, id, job| Box::pin(async move { task_view(&shared, &id, &job).await })),
            ),
            None => shared.violation(format!("{ROUTE}: callback_url {url} is not an http(s) URL")),
        }
    }
    json(StatusCode::OK, json!({"id": id}))
}

fn not_found(id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "NotFound",
        &format!("The specified task {id} is not found or has been deleted."),
    )
}

pub(crate) async fn get_task(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    const ROUTE: &str = "GET /api/v3/contents/generations/tasks/{id}";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, Route::Task);
    }
    let Some(job) = shared.poll_job(&id) else {
        return not_found(&id);
    };
    json(StatusCode::OK, task_view(&shared, &id, &job).await)
}

/// The task object as `GET …/tasks/{id}` answers it (and the callback posts it).
async fn task_view(shared: &Shared, id: &str, job: &Job) -> Value {
    let model = job.request["model"].clone();
    let mut task = json!({"id": id, "model": model, "created_at": 1765510475, "updated_at": 1765510559,
                          "resolution": job.request["resolution"], "ratio": "16:9",
                          "duration": job.request["duration"], "framespersecond": 24});
    if job.cancelled {
        task["status"] = json!("cancelled");
    } else if !shared.is_done(job) {
        task["status"] = json!(if job.polls <= 1 { "queued" } else { "running" });
    } else if job.refused {
        task["status"] = json!("failed");
        task["error"] = json!({
            "code": "OutputVideoSensitiveContentDetected",
            "message": "The request failed because the output video may contain sensitive information.",
        });
    } else {
        let video_url = shared.file_url(sample_mp4().await, "video/mp4", LINK_TTL);
        task["status"] = json!("succeeded");
        task["error"] = Value::Null;
        task["content"] = json!({"video_url": video_url});
        // The seed asked for, else one of the job's own (as the vendor picks one at random).
        let seed =
            job.request["seed"].as_i64().unwrap_or_else(|| 1000 + (id.bytes().map(i64::from).sum::<i64>() % 9000));
        task["seed"] = json!(seed);
        let tokens = video_tokens(&job.request);
        task["usage"] = json!({"completion_tokens": tokens, "total_tokens": tokens});
    }
    task
}

/// The tokens Ark bills a clip by: width × height × (24 × seconds + 1) / 1024 at the tier's
/// 16:9 size (its own example: 1080p for 5 s is 246,840).
fn video_tokens(request: &Value) -> i64 {
    let (w, h) = match request["resolution"].as_str().unwrap_or("720p") {
        "1080p" => (1920, 1088),
        "720p" => (1248, 704),
        _ => (864, 480),
    };
    let seconds = request["duration"].as_i64().unwrap_or(5);
    w * h * (24 * seconds + 1) / 1024
}

async fn delete_task(State(shared): State<Arc<Shared>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    const ROUTE: &str = "DELETE /api/v3/contents/generations/tasks/{id}";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, Route::Task);
    }
    if shared.cancel_job(&id) { json(StatusCode::OK, json!({})) } else { not_found(&id) }
}
