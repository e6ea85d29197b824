//! MiniMax: chatcompletion_v2 (reasoning models whose content starts with `<think>…</think>`),
//! image-01 generations answering links, and Hailuo video in three steps — create a task, query
//! its status until `Success` gives a `file_id` (a string), retrieve the file (whose `file_id` is an
//! integer there) for its download link; T2A v2 speech answering hex audio. Errors come as HTTP 200 with a non-zero
//! `base_resp.status_code`, rate limits included. See `shared/providers/minimax.md`.

use crate::harness::{Emulator, Fault, Job, Shared, garbage, is_data_uri, json, parse_body, sample_mp4};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const IMAGE_TTL: Duration = Duration::from_secs(24 * 3600);
const VIDEO_TTL: Duration = Duration::from_secs(32_400);
/// Task ids are numbers as long as the vendor's (`106916112212032`).
const TASK_PREFIX: &str = "10691611221";
const ASPECT_RATIOS: [&str; 8] = ["1:1", "16:9", "4:3", "3:2", "2:3", "3:4", "9:16", "21:9"];
const VIDEO_MODELS: [&str; 9] = [
    "MiniMax-Hailuo-2.3",
    "MiniMax-Hailuo-2.3-Fast",
    "MiniMax-Hailuo-02",
    "T2V-01-Director",
    "T2V-01",
    "I2V-01-Director",
    "I2V-01-live",
    "I2V-01",
    "S2V-01",
];

/// Starts a MiniMax emulator; adapters use its `base_url` as their base URL.
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/v1/text/chatcompletion_v2", post(chat))
        .route("/v1/image_generation", post(image))
        .route("/v1/video_generation", post(create_video))
        .route("/v1/query/video_generation", get(query_video))
        .route("/v1/files/retrieve", get(retrieve_file))
        .route("/v1/t2a_v2", post(speech));
    Emulator::start(routes, Shared::new(key, None)).await
}

const SPEECH_MODELS: [&str; 8] = [
    "speech-2.8-hd",
    "speech-2.8-turbo",
    "speech-2.6-hd",
    "speech-2.6-turbo",
    "speech-02-hd",
    "speech-02-turbo",
    "speech-01-hd",
    "speech-01-turbo",
];
const EMOTIONS: [&str; 9] = ["happy", "sad", "angry", "fearful", "disgusted", "surprised", "calm", "fluent", "whisper"];

/// T2A v2, not streamed: the whole audio as hex in `data.audio`, its length and the billed
/// characters in `extra_info`.
async fn speech(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/t2a_v2";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(fault) = shared.take_fault() {
        let refusal = error(1026, "input new_sensitive");
        if let Some(answer) = fault_answer(fault, Some(refusal)) {
            return answer;
        }
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(2013, "invalid params, body is not JSON");
    };
    let model = body["model"].as_str().unwrap_or_default();
    shared.expect(SPEECH_MODELS.contains(&model), || format!("{ROUTE}: model '{model}' is not a speech model"));
    let text = body["text"].as_str().unwrap_or_default();
    shared.expect(!text.is_empty() && text.chars().count() < 10_000, || {
        format!("{ROUTE}: text must be 1–9,999 characters")
    });
    shared.expect(body.get("stream").is_none_or(|s| s == false), || format!("{ROUTE}: stream must be false here"));
    shared.expect_field(ROUTE, &body, "/voice_setting/voice_id", Value::is_string);
    let speed = body.pointer("/voice_setting/speed").map_or(Some(1.0), Value::as_f64);
    shared.expect(speed.is_some_and(|s| (0.5..=2.0).contains(&s)), || format!("{ROUTE}: speed must be 0.5–2"));
    if let Some(pitch) = body.pointer("/voice_setting/pitch") {
        shared.expect(pitch.as_i64().is_some_and(|p| (-12..=12).contains(&p)), || {
            format!("{ROUTE}: pitch {pitch} is not an integer in -12..12")
        });
    }
    if let Some(emotion) = body.pointer("/voice_setting/emotion") {
        shared
            .expect(emotion.as_str().is_some_and(|e| EMOTIONS.contains(&e)), || format!("{ROUTE}: emotion {emotion}"));
    }
    let format = body.pointer("/audio_setting/format").and_then(Value::as_str).unwrap_or("mp3");
    shared.expect(["mp3", "pcm", "flac", "wav"].contains(&format), || format!("{ROUTE}: format '{format}'"));
    shared.expect(body.get("output_format").is_none_or(|f| f == "hex" || f == "url"), || {
        format!("{ROUTE}: output_format")
    });
    let voice = body.pointer("/voice_setting/voice_id").and_then(Value::as_str).unwrap_or_default();
    let wav = crate::harness::speech_wav(text, voice, speed.unwrap_or(1.0));
    let millis = (wav.len().saturating_sub(44) as u64) * 1000 / 32_000;
    ok(json!({
        "data": {"audio": hex::encode(&wav), "status": 2},
        "extra_info": {"audio_length": millis, "audio_sample_rate": 16000, "audio_size": wav.len(), "bitrate": 256000,
                       "word_count": text.chars().count(), "invisible_character_ratio": 0,
                       "usage_characters": text.chars().count(), "audio_format": "wav", "audio_channel": 1},
        "trace_id": uuid::Uuid::new_v4().simple().to_string(),
    }))
}

fn base_resp(code: u32, message: &str) -> Value {
    json!({"status_code": code, "status_msg": message})
}

/// An error as MiniMax answers most of them: HTTP 200 and a non-zero `base_resp.status_code`.
fn error(code: u32, message: &str) -> Response {
    let mut answer = json(StatusCode::OK, json!({"base_resp": base_resp(code, message)}));
    answer.headers_mut().insert("trace-id", uuid::Uuid::new_v4().simple().to_string().parse().unwrap());
    answer
}

fn ok(mut body: Value) -> Response {
    body["base_resp"] = base_resp(0, "success");
    let mut answer = json(StatusCode::OK, body);
    answer.headers_mut().insert("trace-id", uuid::Uuid::new_v4().simple().to_string().parse().unwrap());
    answer
}

/// Checks the key and answers the refusal, if there is one: a wrong key is 2049, a missing header
/// 1004 (both HTTP 200).
fn refusal_of_auth(shared: &Shared, route: &str, headers: &HeaderMap) -> Option<Response> {
    let present = headers.get(header::AUTHORIZATION).is_some();
    if shared.bearer_ok(route, headers) {
        None
    } else if present {
        Some(error(2049, "invalid api key"))
    } else {
        Some(error(
            1004,
            "login fail: Please carry the API secret key in the 'Authorization' field of the request header",
        ))
    }
}

/// The vendor's form of a fault; `refusal` is the route's own (None: the route shows it later).
fn fault_answer(fault: Fault, refusal: Option<Response>) -> Option<Response> {
    Some(match fault {
        Fault::Unauthorized => error(1004, "login fail: Please carry the API secret key in the 'Authorization' field"),
        // Documented quirk: throttling is HTTP 200 with code 1002, and no Retry-After.
        Fault::RateLimited { .. } => error(1002, "rate limit exceeded(RPM)"),
        Fault::ServerError => error(1033, "system error"),
        Fault::Refusal => return refusal,
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    })
}

fn sensitive(code: u32, message: &str, input: bool) -> Response {
    json(
        StatusCode::OK,
        json!({"input_sensitive": input, "input_sensitive_type": if input { 1 } else { 0 },
               "output_sensitive": !input, "output_sensitive_type": if input { 0 } else { 1 },
               "base_resp": base_resp(code, message)}),
    )
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/text/chatcompletion_v2";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(fault) = shared.take_fault() {
        let refusal = sensitive(1026, "input new_sensitive", true);
        if let Some(answer) = fault_answer(fault, Some(refusal)) {
            return answer;
        }
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(2013, "invalid params, body is not JSON");
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.expect_field(ROUTE, &body, "/model", |m| m.as_str().is_some_and(|m| m.starts_with("MiniMax-")));
    shared.expect_field(ROUTE, &body, "/messages/0/role", |r| r == "system");
    shared.expect_field(ROUTE, &body, "/messages/1/role", |r| r == "user");
    shared.expect_field(ROUTE, &body, "/max_completion_tokens", |n| n.as_u64().is_some_and(|n| n > 0));
    shared.expect(body.get("max_tokens").is_none(), || {
        format!("{ROUTE}: max_tokens is deprecated; use max_completion_tokens")
    });
    shared.expect(body.get("response_format").is_none() || model == "MiniMax-Text-01", || {
        format!("{ROUTE}: response_format is only for MiniMax-Text-01; {model} takes JSON by prompt")
    });
    if let Some(format) = body.get("response_format") {
        shared.expect(format["type"] == "json_schema", || format!("{ROUTE}: response_format.type {}", format["type"]));
        shared
            .expect(format.pointer("/json_schema/name").and_then(Value::as_str).is_some_and(|n| !n.is_empty()), || {
                format!("{ROUTE}: json_schema.name is missing")
            });
        shared.expect(format.pointer("/json_schema/schema/type") == Some(&json!("object")), || {
            format!("{ROUTE}: json_schema.schema is not an object schema")
        });
    }
    if let Some(temperature) = body.get("temperature") {
        let ok = temperature.as_f64().is_some_and(|t| t > 0.0 && t <= 1.0);
        shared.expect(ok, || format!("{ROUTE}: temperature {temperature} is outside (0, 1]"));
    }
    let system = body.pointer("/messages/0/content").and_then(Value::as_str).unwrap_or_default();
    let user = body.pointer("/messages/1/content").and_then(Value::as_str).unwrap_or_default();
    let content = crate::harness::chat_answer(&shared, system, user);
    ok(json!({
        "id": shared.new_id("06a1c2d3e4f5"), "object": "chat.completion", "created": 1764000000, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {
            "role": "assistant",
            "content": format!("<think>\nThe user wants one JSON object.\n</think>\n\n{content}"),
            "reasoning_content": "The user wants one JSON object."}}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 40, "total_tokens": 100,
                  "completion_tokens_details": {"reasoning_tokens": 28}},
        "input_sensitive": false, "output_sensitive": false
    }))
}

/// An image passed by link or as a `data:image/…;base64,` URI.
fn link_or_data_uri(value: &Value) -> bool {
    value.as_str().is_some_and(|v| v.starts_with("http://") || v.starts_with("https://") || is_data_uri(v))
}

fn pixels(ratio: &str) -> (u32, u32) {
    let (w, h) = ratio.split_once(':').unwrap_or(("1", "1"));
    let (w, h) = (w.parse::<u32>().unwrap_or(1), h.parse::<u32>().unwrap_or(1));
    let scale = 512 / w.max(h).max(1);
    (w * scale, h * scale)
}

async fn image(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/image_generation";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(fault) = shared.take_fault() {
        let refusal = sensitive(1026, "input new_sensitive", true);
        if let Some(answer) = fault_answer(fault, Some(refusal)) {
            return answer;
        }
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(2013, "invalid params, body is not JSON");
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.expect_field(ROUTE, &body, "/model", |m| m == "image-01" || m == "image-01-live");
    shared.expect_field(ROUTE, &body, "/prompt", |p| {
        p.as_str().is_some_and(|p| !p.trim().is_empty() && p.chars().count() <= 1500)
    });
    let optional = |field: &str, test: fn(&Value) -> bool| {
        if body.pointer(field).is_some() {
            shared.expect_field(ROUTE, &body, field, test);
        }
    };
    optional("/aspect_ratio", |r| r.as_str().is_some_and(|r| ASPECT_RATIOS.contains(&r)));
    optional("/n", |n| n.as_u64().is_some_and(|n| (1..=9).contains(&n)));
    optional("/response_format", |f| f == "url" || f == "base64");
    optional("/prompt_optimizer", Value::is_boolean);
    optional("/seed", Value::is_i64);
    for field in ["width", "height"] {
        if let Some(value) = body.get(field) {
            let ok =
                model == "image-01" && value.as_u64().is_some_and(|v| (512..=2048).contains(&v) && v.is_multiple_of(8));
            shared.expect(ok, || format!("{ROUTE}: {field} {value} is not 512–2048 in multiples of 8 on image-01"));
        }
    }
    match body.get("subject_reference") {
        Some(Value::Array(items)) => {
            shared.expect(items.len() == 1, || {
                format!("{ROUTE}: subject_reference holds {} items, not one", items.len())
            });
            for item in items {
                shared.expect(item["type"] == "character", || {
                    format!("{ROUTE}: subject_reference type is not 'character'")
                });
                shared.expect(link_or_data_uri(&item["image_file"]), || {
                    format!("{ROUTE}: subject_reference image_file is neither a link nor a data:image/…;base64 URI")
                });
            }
        }
        Some(other) => shared.violation(format!("{ROUTE}: subject_reference is not an array: {other}")),
        None => {
            shared.expect(model != "image-01-live", || format!("{ROUTE}: image-01-live needs a subject_reference"));
        }
    }
    let prompt = body["prompt"].as_str().unwrap_or_default();
    let n = body["n"].as_u64().unwrap_or(1).clamp(1, 9) as u32;
    let (width, height) = pixels(body["aspect_ratio"].as_str().unwrap_or("1:1"));
    let images: Vec<Bytes> = (0..n).map(|i| shared.png(prompt, width, height, i)).collect();
    let data = if body["response_format"] == "base64" {
        use base64::Engine;
        let encoded: Vec<String> = images.iter().map(|b| base64::engine::general_purpose::STANDARD.encode(b)).collect();
        json!({"image_base64": encoded})
    } else {
        let urls: Vec<String> = images.into_iter().map(|b| shared.file_url(b, "image/png", IMAGE_TTL)).collect();
        json!({"image_urls": urls})
    };
    ok(json!({"id": shared.new_id("03ff3cd0820949eb8a41"), "data": data,
              "metadata": {"success_count": n.to_string(), "failed_count": "0"}}))
}

/// Also Yunwu's passthrough (`/minimax/v1/video_generation`): the same body, its Bearer token.
pub(crate) async fn create_video(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/video_generation";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    // A refused video is accepted, and fails when it has been made (1026/1027 on the query).
    let fault = shared.take_fault();
    let refused = fault == Some(Fault::Refusal);
    if let Some(answer) = fault.and_then(|f| fault_answer(f, None)) {
        return answer;
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(2013, "invalid params, body is not JSON");
    };
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    shared.expect_field(ROUTE, &body, "/model", |m| m.as_str().is_some_and(|m| VIDEO_MODELS.contains(&m)));
    if let Some(prompt) = body.get("prompt") {
        let ok = prompt.as_str().is_some_and(|p| p.chars().count() <= 2000);
        shared.expect(ok, || format!("{ROUTE}: the prompt is not text of at most 2000 characters"));
    }
    for field in ["first_frame_image", "last_frame_image"] {
        if let Some(value) = body.get(field) {
            shared.expect(link_or_data_uri(value), || {
                format!("{ROUTE}: {field} is neither a link nor a data:image/…;base64 URI")
            });
        }
    }
    if body.get("last_frame_image").is_some() {
        shared.expect(model == "MiniMax-Hailuo-02", || format!("{ROUTE}: {model} takes no last_frame_image"));
        shared.expect(body.get("first_frame_image").is_some(), || format!("{ROUTE}: last_frame_image without first"));
    }
    let duration = body.get("duration").cloned().unwrap_or(json!(6));
    let resolution = body.get("resolution").cloned().unwrap_or(json!("768P"));
    if !shared
        .expect(duration == 6 || duration == 10, || format!("{ROUTE}: duration {duration} is not the integer 6 or 10"))
        || !shared.expect(resolution.as_str().is_some_and(|r| ["512P", "720P", "768P", "1080P"].contains(&r)), || {
            format!("{ROUTE}: resolution {resolution} is not one of 512P, 720P, 768P, 1080P")
        })
        || !shared.expect(!(duration == 10 && resolution == "1080P"), || format!("{ROUTE}: 1080P is 6 s only"))
        || !shared.expect(!(model.contains("-01") && resolution != "720P"), || {
            format!("{ROUTE}: the 01 series make 720P only, not {resolution}")
        })
    {
        return error(2013, "invalid params, duration or resolution");
    }
    for flag in ["prompt_optimizer", "aigc_watermark"] {
        if let Some(value) = body.get(flag) {
            shared.expect(value.is_boolean(), || format!("{ROUTE}: {flag} is not a boolean"));
        }
    }
    let task_id = shared.new_id(TASK_PREFIX);
    shared.add_job(&task_id, Job { kind: "video".into(), request: body, polls: 0, cancelled: false, refused });
    ok(json!({"task_id": task_id}))
}

async fn query_video(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    const ROUTE: &str = "GET /v1/query/video_generation";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(fault) = shared.take_fault() {
        let refusal = sensitive(1026, "input new_sensitive", true);
        if let Some(answer) = fault_answer(fault, Some(refusal)) {
            return answer;
        }
    }
    let Some(task_id) = query.get("task_id") else {
        shared.violation(format!("{ROUTE}: no task_id parameter"));
        return error(2013, "invalid params, task_id is required");
    };
    match video_task(&shared, task_id) {
        Some(task) if task["base_resp"]["status_code"] == 0 => ok(task),
        Some(task) => json(StatusCode::OK, task),
        None => error(2013, "invalid params, task not found"),
    }
}

/// Counts a poll of video task `task_id` and answers its state as the query does (with
/// `base_resp`), or none for an unknown task.
pub(crate) fn video_task(shared: &Shared, task_id: &str) -> Option<Value> {
    let job = match shared.job(task_id) {
        Some(job) if job.kind == "video" => shared.poll_job(task_id).unwrap_or(job),
        _ => return None,
    };
    if !shared.is_done(&job) {
        let status = match job.polls {
            0 | 1 => "Preparing",
            2 => "Queueing",
            _ => "Processing",
        };
        return Some(
            json!({"task_id": task_id, "status": status, "file_id": "", "base_resp": base_resp(0, "success")}),
        );
    }
    if job.refused {
        return Some(json!({"task_id": task_id, "status": "Fail", "file_id": "",
                           "base_resp": base_resp(1027, "output new_sensitive")}));
    }
    // The file's id is a number of its own, derived from the task's so the query answers it again.
    let file_id = format!("20525852630{}", task_id.strip_prefix(TASK_PREFIX).unwrap_or(task_id));
    if shared.job(&file_id).is_none() {
        shared.add_job(
            &file_id,
            Job {
                kind: "file".into(),
                request: json!({"task_id": task_id}),
                polls: 0,
                cancelled: false,
                refused: false,
            },
        );
    }
    Some(json!({"task_id": task_id, "status": "Success", "file_id": file_id, "video_width": 1366,
                "video_height": 768, "base_resp": base_resp(0, "success")}))
}

/// A finished task's file as `files/retrieve` describes it, with a fresh download link.
pub(crate) async fn file_record(shared: &Shared, number: u64) -> Value {
    let created_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mp4 = sample_mp4().await;
    let bytes = mp4.len();
    let download_url = shared.file_url(mp4, "video/mp4", VIDEO_TTL);
    json!({"file_id": number, "bytes": bytes, "created_at": created_at, "filename": "output.mp4",
           "purpose": "video_generation", "download_url": download_url})
}

async fn retrieve_file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    const ROUTE: &str = "GET /v1/files/retrieve";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(fault) = shared.take_fault()
        && let Some(answer) = fault_answer(fault, Some(error(1000, "unknown error")))
    {
        return answer;
    }
    let Some(file_id) = query.get("file_id") else {
        shared.violation(format!("{ROUTE}: no file_id parameter"));
        return error(2013, "invalid params, file_id is required");
    };
    let Some(number) = file_id.parse::<u64>().ok().filter(|_| shared.job(file_id).is_some_and(|j| j.kind == "file"))
    else {
        shared.violation(format!("{ROUTE}: file_id '{file_id}' is no file of a finished task"));
        return error(2013, "invalid params, file not found");
    };
    ok(json!({"file": file_record(&shared, number).await}))
}
