//! Kling: asynchronous image (`/v1/images/generations`) and image-to-video
//! (`/v1/videos/image2video`) tasks, polled at the create path plus `/{task_id}`. Every call
//! carries an HS256 JWT signed with the secret key (iss = access key, exp, nbf), which is checked
//! here as the vendor does; every answer is the `{code, message, request_id, data}` envelope, and
//! errors keep it with a non-zero `code`. See `shared/providers/kling.md`.

use crate::harness::{Emulator, Fault, Job, Shared, garbage, is_raw_base64, json, parse_body, sample_mp4};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Results are kept 30 days by the vendor.
const RESULT_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
const ASPECT_RATIOS: [&str; 8] = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"];
/// The token lifetime the docs prescribe (30 min), with a little room for clock skew.
const MAX_TOKEN_LIFETIME_SECS: u64 = 1800 + 60;

/// Starts a Kling emulator accepting tokens signed for `access_key` with `secret_key`; adapters use
/// its `base_url` as their base URL.
pub async fn start(access_key: &str, secret_key: &str) -> Emulator {
    let routes = Router::new()
        .route("/v1/images/generations", post(create_image).get(list_images))
        .route("/v1/images/generations/{task_id}", get(query_image))
        .route("/v1/images/multi-image2image", post(create_multi_image))
        .route("/v1/images/multi-image2image/{task_id}", get(query_multi_image))
        .route("/v1/videos/image2video", post(create_video).get(list_videos))
        .route("/v1/videos/image2video/{task_id}", get(query_video));
    Emulator::start(routes, Shared::new(access_key, Some(secret_key))).await
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn request_id(shared: &Shared) -> String {
    shared.new_id("req-")
}

/// An error in the vendor's envelope.
fn error(shared: &Shared, status: StatusCode, code: u32, message: &str) -> Response {
    json(status, json!({"code": code, "message": message, "request_id": request_id(shared)}))
}

fn success(shared: &Shared, data: Value) -> Response {
    json(StatusCode::OK, json!({"code": 0, "message": "SUCCEED", "request_id": request_id(shared), "data": data}))
}

/// Checks the `Authorization: Bearer <JWT>` header as Kling does: 1001 when it is missing, 1002 when
/// the token is not one signed by the secret for the access key, 1003 before `nbf`, 1004 after `exp`.
/// Answers the refusal, if there is one.
fn refusal_of_auth(shared: &Shared, route: &str, headers: &HeaderMap) -> Option<Response> {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        shared.violation(format!("{route}: no Authorization header"));
        return Some(error(shared, StatusCode::UNAUTHORIZED, 1001, "Authorization is empty"));
    };
    let Some(token) = value.strip_prefix("Bearer ") else {
        shared.violation(format!("{route}: the Authorization header is not 'Bearer <token>'"));
        return Some(error(shared, StatusCode::UNAUTHORIZED, 1002, "Authorization is invalid"));
    };
    let secret = shared.secret.as_deref().unwrap_or_default();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.required_spec_claims = ["exp", "nbf", "iss"].into_iter().map(String::from).collect();
    validation.set_issuer(&[shared.key.as_str()]);
    let decoded =
        jsonwebtoken::decode::<Value>(token, &jsonwebtoken::DecodingKey::from_secret(secret.as_bytes()), &validation);
    use jsonwebtoken::errors::ErrorKind;
    match decoded {
        Ok(data) => {
            shared.expect(data.header.typ.as_deref() == Some("JWT"), || format!("{route}: the token's typ is not JWT"));
            let exp = data.claims["exp"].as_u64().unwrap_or_default();
            shared.expect(exp <= now() + MAX_TOKEN_LIFETIME_SECS, || {
                format!("{route}: the token lives {} s; Kling tokens live 30 minutes", exp.saturating_sub(now()))
            });
            None
        }
        Err(e) => {
            let (code, message) = match e.kind() {
                ErrorKind::ExpiredSignature => (1004, "Authorization is expired"),
                ErrorKind::ImmatureSignature => (1003, "Authorization is not active"),
                ErrorKind::MissingRequiredClaim(claim) => {
                    shared.violation(format!("{route}: the token has no '{claim}' claim"));
                    (1002, "Authorization is invalid")
                }
                ErrorKind::InvalidAlgorithm => {
                    shared.violation(format!("{route}: the token is not signed with HS256"));
                    (1002, "Authorization is invalid")
                }
                _ => (1002, "Authorization is invalid"),
            };
            Some(error(shared, StatusCode::UNAUTHORIZED, code, message))
        }
    }
}

/// The vendor's form of a fault on a create call. A refusal is not an error here: the task is
/// accepted and ends `failed` with Kling's risk-control message, so it is left to the caller.
fn fault_answer(shared: &Shared, fault: Fault) -> Option<Response> {
    Some(match fault {
        // A token Kling calls expired: the signer must sign anew and try once more.
        Fault::Unauthorized => error(shared, StatusCode::UNAUTHORIZED, 1004, "Authorization is expired"),
        // Kling documents no Retry-After header with 1302/1303.
        Fault::RateLimited { .. } => {
            error(shared, StatusCode::TOO_MANY_REQUESTS, 1302, "request too fast, please slow down")
        }
        Fault::ServerError => error(shared, StatusCode::INTERNAL_SERVER_ERROR, 5000, "internal server error"),
        Fault::Malformed => garbage(),
        Fault::Refusal => return None,
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    })
}

/// A fault on a query call (a refusal shows on the create call, not here).
fn query_fault(shared: &Shared) -> Option<Response> {
    match shared.take_fault() {
        Some(Fault::Refusal) => {
            error(shared, StatusCode::BAD_REQUEST, 1301, "Failure to pass the risk control system").into()
        }
        Some(fault) => fault_answer(shared, fault),
        None => None,
    }
}

/// An image field: a link, or raw base64 without a `data:` prefix.
fn check_image(shared: &Shared, route: &str, body: &Value, field: &str) -> Result<(), String> {
    let Some(value) = body.get(field) else { return Ok(()) };
    let text = value.as_str().unwrap_or_default();
    let ok = if text.starts_with("http://") || text.starts_with("https://") {
        true
    } else if text.starts_with("data:") {
        shared.violation(format!("{route}: {field} has a data: prefix; Kling takes raw base64"));
        false
    } else {
        shared
            .expect(is_raw_base64(text) && !text.is_empty(), || format!("{route}: {field} is neither a URL nor base64"))
    };
    if ok { Ok(()) } else { Err(format!("{field} is invalid")) }
}

fn check_model(shared: &Shared, route: &str, body: &Value) {
    shared.expect_field(route, body, "/model_name", |m| m.as_str().is_some_and(|m| m.starts_with("kling-")));
    shared.expect(body.get("model").is_none(), || {
        format!("{route}: 'model' is the old field (kling-v1); use model_name")
    });
}

fn check_prompt(shared: &Shared, route: &str, body: &Value, required: bool) {
    match body.get("prompt") {
        Some(Value::String(prompt)) => {
            shared.expect(!prompt.trim().is_empty(), || format!("{route}: the prompt is blank"));
            shared.expect(prompt.chars().count() <= 2500, || format!("{route}: the prompt is over 2500 characters"));
        }
        None if !required => {}
        other => shared.violation(format!("{route}: field /prompt is missing or wrong: {other:?}")),
    }
}

fn created(shared: &Shared, kind: &str, body: Value, refused: bool) -> Response {
    created_task(shared, kind, body, refused).1
}

/// Files a task and answers it, with its id.
fn created_task(shared: &Shared, kind: &str, body: Value, refused: bool) -> (String, Response) {
    let task_id = shared.new_id("86543210987654");
    let info = task_info(&body);
    shared.add_job(&task_id, Job { kind: kind.into(), request: body, polls: 0, cancelled: false, refused });
    let millis = now() * 1000;
    let answer = success(
        shared,
        json!({"task_id": task_id, "task_status": "submitted", "task_info": info, "created_at": millis, "updated_at": millis}),
    );
    (task_id, answer)
}

/// Who may call: Kling itself takes its signed JWT; a relay (Yunwu's `/kling/…` passthrough)
/// takes its own Bearer token instead.
#[derive(Clone, Copy, PartialEq)]
enum Caller {
    Direct,
    Relayed,
}

fn refusal_of(shared: &Shared, caller: Caller, route: &str, headers: &HeaderMap) -> Option<Response> {
    match caller {
        Caller::Direct => refusal_of_auth(shared, route, headers),
        Caller::Relayed if shared.bearer_ok(route, headers) => None,
        Caller::Relayed => Some(error(shared, StatusCode::UNAUTHORIZED, 401, "invalid token")),
    }
}

/// What every task creation does first: the token, a queued fault (a refusal is played when
/// the task is polled), and the JSON body. Answers the body and whether the task is refused.
fn task_request(shared: &Shared, route: &str, headers: &HeaderMap, body: &Bytes) -> Result<(Value, bool), Response> {
    task_request_from(shared, Caller::Direct, route, headers, body)
}

fn task_request_from(
    shared: &Shared,
    caller: Caller,
    route: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Value, bool), Response> {
    if let Some(answer) = refusal_of(shared, caller, route, headers) {
        return Err(answer);
    }
    let fault = shared.take_fault();
    let refused = fault == Some(Fault::Refusal);
    if let Some(answer) = fault.and_then(|f| fault_answer(shared, f)) {
        return Err(answer);
    }
    match parse_body(shared, route, body) {
        Some(body) => Ok((body, refused)),
        None => Err(error(shared, StatusCode::BAD_REQUEST, 1200, "invalid request body")),
    }
}

async fn create_image(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/images/generations";
    let (body, refused) = match task_request(&shared, ROUTE, &headers, &body) {
        Ok(read) => read,
        Err(answer) => return answer,
    };
    check_model(&shared, ROUTE, &body);
    check_prompt(&shared, ROUTE, &body, true);
    if let Err(message) = check_image(&shared, ROUTE, &body, "image") {
        return error(&shared, StatusCode::BAD_REQUEST, 1201, &message);
    }
    shared.expect(body.get("negative_prompt").is_none() || body.get("image").is_none(), || {
        format!("{ROUTE}: negative_prompt is not allowed with an image reference")
    });
    if body.get("n").is_some() {
        shared.expect_field(ROUTE, &body, "/n", |n| n.as_u64().is_some_and(|n| (1..=9).contains(&n)));
    }
    if body.get("aspect_ratio").is_some() {
        shared.expect_field(ROUTE, &body, "/aspect_ratio", |r| r.as_str().is_some_and(|r| ASPECT_RATIOS.contains(&r)));
    }
    if body.get("resolution").is_some() {
        shared.expect_field(ROUTE, &body, "/resolution", |r| r == "1k" || r == "2k");
    }
    created(&shared, "image", body, refused)
}

/// `POST /v1/images/multi-image2image`: 1–4 subjects (`subject_image_list`), an optional scene
/// and style image, on kling-v2 and kling-v2-1.
async fn create_multi_image(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /v1/images/multi-image2image";
    let (body, refused) = match task_request(&shared, ROUTE, &headers, &body) {
        Ok(read) => read,
        Err(answer) => return answer,
    };
    check_model(&shared, ROUTE, &body);
    let model = body["model_name"].as_str().unwrap_or_default();
    shared.expect(model == "kling-v2" || model == "kling-v2-1", || format!("{ROUTE}: {model} takes no subjects"));
    check_prompt(&shared, ROUTE, &body, false);
    let subjects = body["subject_image_list"].as_array().cloned().unwrap_or_default();
    if !shared.expect((1..=4).contains(&subjects.len()), || {
        format!("{ROUTE}: subject_image_list holds {} items (1–4)", subjects.len())
    }) {
        return error(&shared, StatusCode::BAD_REQUEST, 1201, "subject_image_list must hold 1 to 4 images");
    }
    for (i, subject) in subjects.iter().enumerate() {
        if let Err(message) = check_image(&shared, &format!("{ROUTE} subject {i}"), subject, "subject_image") {
            return error(&shared, StatusCode::BAD_REQUEST, 1201, &message);
        }
        shared.expect(subject.get("subject_image").is_some(), || format!("{ROUTE}: subject {i} has no subject_image"));
    }
    for field in ["scene_image", "style_image"] {
        if let Err(message) = check_image(&shared, ROUTE, &body, field) {
            return error(&shared, StatusCode::BAD_REQUEST, 1201, &message);
        }
    }
    shared.expect(body.get("image").is_none() && body.get("resolution").is_none(), || {
        format!("{ROUTE}: image and resolution belong to images/generations")
    });
    if body.get("n").is_some() {
        shared.expect_field(ROUTE, &body, "/n", |n| n.as_u64().is_some_and(|n| (1..=9).contains(&n)));
    }
    if body.get("aspect_ratio").is_some() {
        shared.expect_field(ROUTE, &body, "/aspect_ratio", |r| r.as_str().is_some_and(|r| ASPECT_RATIOS.contains(&r)));
    }
    created(&shared, "multi-image", body, refused)
}

async fn query_multi_image(
    State(shared): State<Arc<Shared>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    const ROUTE: &str = "GET /v1/images/multi-image2image/{task_id}";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(answer) = query_fault(&shared) {
        return answer;
    }
    query(&shared, "multi-image", &task_id, |job| images_result(&shared, job))
}

/// The images of a finished image task: `n` pictures in its aspect ratio.
fn images_result(shared: &Shared, job: &Job) -> Value {
    let prompt = job.request["prompt"].as_str().unwrap_or_default();
    let (width, height) = pixels(job.request["aspect_ratio"].as_str().unwrap_or("16:9"));
    let images: Vec<Value> = (0..job.request["n"].as_u64().unwrap_or(1) as u32)
        .map(|i| json!({"index": i, "url": shared.file_url(shared.png(prompt, width, height, i), "image/png", RESULT_TTL)}))
        .collect();
    json!({"images": images})
}

/// `GET /v1/images/generations?pageNum&pageSize`: the account's image tasks, newest first.
async fn list_images(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    list_tasks(&shared, "GET /v1/images/generations", &headers, &query, "image")
}

async fn create_video(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    create_video_from(&shared, Caller::Direct, &headers, &body).await
}

/// Yunwu's passthrough of image-to-video: Kling's body and envelope, the relay's token.
pub(crate) async fn relayed_create_video(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    create_video_from(&shared, Caller::Relayed, &headers, &body).await
}

async fn create_video_from(shared: &Arc<Shared>, caller: Caller, headers: &HeaderMap, body: &Bytes) -> Response {
    const ROUTE: &str = "POST /v1/videos/image2video";
    let (body, refused) = match task_request_from(shared, caller, ROUTE, headers, body) {
        Ok(read) => read,
        Err(answer) => return answer,
    };
    check_model(shared, ROUTE, &body);
    check_prompt(shared, ROUTE, &body, false);
    for field in ["image", "image_tail"] {
        if let Err(message) = check_image(shared, ROUTE, &body, field) {
            return error(shared, StatusCode::BAD_REQUEST, 1201, &message);
        }
    }
    shared.expect(body.get("image").is_some() || body.get("image_tail").is_some(), || {
        format!("{ROUTE}: neither image nor image_tail")
    });
    if let Some(duration) = body.get("duration")
        && !shared.expect(duration == "5" || duration == "10", || {
            format!("{ROUTE}: duration {duration} is not the string \"5\" or \"10\"")
        })
    {
        return error(shared, StatusCode::BAD_REQUEST, 1201, "duration must be \"5\" or \"10\"");
    }
    if body.get("mode").is_some() {
        shared.expect_field(ROUTE, &body, "/mode", |m| m == "std" || m == "pro");
    }
    if body.get("image_tail").is_some() {
        let model = body["model_name"].as_str().unwrap_or_default();
        shared.expect(body["mode"] == "pro", || format!("{ROUTE}: an end frame needs mode \"pro\""));
        shared.expect(!model.ends_with("-master"), || format!("{ROUTE}: {model} takes no end frame"));
        if model == "kling-v1" {
            shared.expect(body["duration"] != "10", || format!("{ROUTE}: kling-v1 takes an end frame at 5 s only"));
        }
    }
    shared.expect(body.get("aspect_ratio").is_none(), || format!("{ROUTE}: image2video has no aspect_ratio"));
    if let Some(negative) = body.get("negative_prompt") {
        shared.expect(negative.as_str().is_some_and(|n| n.chars().count() <= 2500), || {
            format!("{ROUTE}: negative_prompt is not a string of at most 2500 characters")
        });
    }
    if let Some(camera) = body.get("camera_control") {
        check_camera_control(shared, ROUTE, &body, camera);
    }
    if let Some(key) = body.get("external_task_id") {
        let Some(key) = key.as_str().filter(|k| !k.is_empty()) else {
            shared.violation(format!("{ROUTE}: external_task_id {key} is not a string"));
            return error(shared, StatusCode::BAD_REQUEST, 1201, "external_task_id must be a string");
        };
        // Unique per account: a second task with the key is refused, never run twice.
        let used = shared.jobs_of("video").iter().any(|(_, job)| job.request["external_task_id"] == key);
        if used {
            return error(shared, StatusCode::BAD_REQUEST, 1201, "external_task_id already exists");
        }
    }
    let callback = body.get("callback_url").filter(|url| !url.is_null()).cloned();
    let (id, answer) = created_task(shared, "video", body, refused);
    if let Some(url) = callback {
        match url.as_str().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
            Some(url) => shared.schedule_callback(
                &id,
                url,
                Box::new(|shared, id, job| {
                    Box::pin(async move {
                        let mp4 = sample_mp4().await;
                        let data = task_data(&shared, &id, &job, |job| video_result(&shared, mp4, job));
                        json!({"code": 0, "message": "SUCCEED", "request_id": request_id(&shared), "data": data})
                    })
                }),
            ),
            None => shared.violation(format!("{ROUTE}: callback_url {url} is not an http(s) URL")),
        }
    }
    if shared.take_lost_answer() {
        return shared.never_answer().await;
    }
    answer
}

/// `camera_control`: a preset type, or `simple` with exactly one of six axes in [-10, 10] set;
/// only on the models the capability map gives it, and never with an end frame or a motion brush.
fn check_camera_control(shared: &Shared, route: &str, body: &Value, camera: &Value) {
    const PRESETS: [&str; 4] = ["down_back", "forward_up", "right_turn_forward", "left_turn_forward"];
    const AXES: [&str; 6] = ["horizontal", "vertical", "pan", "tilt", "roll", "zoom"];
    let model = body["model_name"].as_str().unwrap_or("kling-v1");
    shared.expect(model == "kling-v1" || model == "kling-v1-5", || format!("{route}: {model} takes no camera_control"));
    for excluded in ["image_tail", "static_mask", "dynamic_masks"] {
        shared.expect(body.get(excluded).is_none(), || format!("{route}: camera_control with {excluded}"));
    }
    match camera["type"].as_str() {
        Some("simple") => {
            let config = &camera["config"];
            let unknown = config.as_object().into_iter().flat_map(|c| c.keys()).find(|k| !AXES.contains(&k.as_str()));
            shared.expect(unknown.is_none(), || format!("{route}: camera_control.config has '{unknown:?}'"));
            let set: Vec<f64> = AXES
                .iter()
                .filter_map(|axis| config.get(*axis).and_then(Value::as_f64))
                .filter(|v| *v != 0.0)
                .collect();
            shared
                .expect(set.len() == 1, || format!("{route}: a simple camera_control sets {} axes, not 1", set.len()));
            shared.expect(set.iter().all(|v| (-10.0..=10.0).contains(v)), || {
                format!("{route}: camera axis outside [-10, 10]")
            });
        }
        Some(preset) if PRESETS.contains(&preset) => {
            shared.expect(camera.get("config").is_none_or(Value::is_null), || {
                format!("{route}: preset {preset} with a config")
            });
        }
        other => shared.violation(format!("{route}: camera_control.type {other:?}")),
    }
}

/// The latest video tasks, newest first (`pageNum`, `pageSize` as documented).
async fn list_videos(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    list_tasks(&shared, "GET /v1/videos/image2video", &headers, &query, "video")
}

/// A page of a family's tasks, newest first (`pageNum` 1–1000, default 1; `pageSize` 1–500,
/// default 30).
fn list_tasks(
    shared: &Shared,
    route: &str,
    headers: &HeaderMap,
    query: &std::collections::HashMap<String, String>,
    kind: &str,
) -> Response {
    if let Some(answer) = refusal_of_auth(shared, route, headers) {
        return answer;
    }
    let number = |name: &str, default: u64| query.get(name).map_or(Some(default), |v| v.parse::<u64>().ok());
    let (page, size) = (number("pageNum", 1), number("pageSize", 30));
    let valid = page.is_some_and(|p| (1..=1000).contains(&p)) && size.is_some_and(|s| (1..=500).contains(&s));
    if !shared.expect(valid, || format!("{route}: pageNum must be 1–1000 and pageSize 1–500: {query:?}")) {
        return error(shared, StatusCode::BAD_REQUEST, 1201, "invalid pageNum or pageSize");
    }
    let (page, size) = (page.unwrap_or(1) as usize, size.unwrap_or(30) as usize);
    let millis = now() * 1000;
    let tasks: Vec<Value> = shared
        .jobs_of(kind)
        .into_iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|(id, job)| {
            let status = if job.refused && shared.is_done(&job) {
                "failed"
            } else if shared.is_done(&job) {
                "succeed"
            } else {
                "processing"
            };
            json!({"task_id": id, "task_status": status, "task_status_msg": "", "task_info": task_info(&job.request),
                   "created_at": millis, "updated_at": millis})
        })
        .collect();
    success(shared, json!(tasks))
}

/// `task_info` as answers carry it: the caller's `external_task_id`, when it gave one.
fn task_info(request: &Value) -> Value {
    match request.get("external_task_id") {
        Some(key) => json!({"external_task_id": key}),
        None => json!({}),
    }
}

/// A task's state as its query answers it, after counting this poll.
fn query(shared: &Shared, kind: &str, task_id: &str, result: impl FnOnce(&Job) -> Value) -> Response {
    let job = match shared.job(task_id) {
        Some(job) if job.kind == kind => shared.poll_job(task_id).unwrap_or(job),
        _ => return error(shared, StatusCode::NOT_FOUND, 1203, "task not found"),
    };
    success(shared, task_data(shared, task_id, &job, result))
}

/// A task's `data` as the query answers it (and the callback posts it, in the same envelope).
fn task_data(shared: &Shared, task_id: &str, job: &Job, result: impl FnOnce(&Job) -> Value) -> Value {
    let millis = now() * 1000;
    let mut data = json!({"task_id": task_id, "task_info": task_info(&job.request), "task_status_msg": "",
                          "created_at": millis, "updated_at": millis});
    if !shared.is_done(job) {
        data["task_status"] = json!(if job.polls <= 1 { "submitted" } else { "processing" });
    } else if job.refused {
        data["task_status"] = json!("failed");
        data["task_status_msg"] = json!("Failure to pass the risk control system");
    } else {
        data["task_status"] = json!("succeed");
        data["final_unit_deduction"] = json!("1");
        data["task_result"] = result(job);
    }
    data
}

/// A finished video's `task_result`: the clip's link and length.
fn video_result(shared: &Shared, mp4: Bytes, job: &Job) -> Value {
    let url = shared.file_url(mp4, "video/mp4", RESULT_TTL);
    json!({"videos": [{"id": uuid::Uuid::new_v4().to_string(), "url": url,
                       "duration": job.request["duration"].as_str().unwrap_or("5")}]})
}

/// Pixels of an `aspect_ratio` at the emulator's small scale.
fn pixels(ratio: &str) -> (u32, u32) {
    let (w, h) = ratio.split_once(':').unwrap_or(("16", "9"));
    let (w, h) = (w.parse::<u32>().unwrap_or(16), h.parse::<u32>().unwrap_or(9));
    let scale = 512 / w.max(h).max(1);
    (w * scale, h * scale)
}

async fn query_image(State(shared): State<Arc<Shared>>, Path(task_id): Path<String>, headers: HeaderMap) -> Response {
    const ROUTE: &str = "GET /v1/images/generations/{task_id}";
    if let Some(answer) = refusal_of_auth(&shared, ROUTE, &headers) {
        return answer;
    }
    if let Some(answer) = query_fault(&shared) {
        return answer;
    }
    query(&shared, "image", &task_id, |job| images_result(&shared, job))
}

async fn query_video(State(shared): State<Arc<Shared>>, Path(task_id): Path<String>, headers: HeaderMap) -> Response {
    query_video_from(&shared, Caller::Direct, &task_id, &headers).await
}

/// Yunwu's passthrough of the image-to-video query.
pub(crate) async fn relayed_query_video(
    State(shared): State<Arc<Shared>>,
    Path(task_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    query_video_from(&shared, Caller::Relayed, &task_id, &headers).await
}

async fn query_video_from(shared: &Arc<Shared>, caller: Caller, task_id: &str, headers: &HeaderMap) -> Response {
    const ROUTE: &str = "GET /v1/videos/image2video/{task_id}";
    if let Some(answer) = refusal_of(shared, caller, ROUTE, headers) {
        return answer;
    }
    if let Some(answer) = query_fault(shared) {
        return answer;
    }
    let mp4 = sample_mp4().await;
    query(shared, "video", task_id, |job| video_result(shared, mp4, job))
}
