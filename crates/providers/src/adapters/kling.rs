//! Kling (Kuaishou): images and image-to-video, both asynchronous tasks. Calls carry a JWT signed
//! from the access key and secret key; every answer is the `{code, message, request_id, data}`
//! envelope, and errors are told apart by `code` (HTTP 429 holds both billing and throttling).
//! Image generation polls its task inside the one call; video jobs are polled by the caller, with
//! the endpoint family kept in the job id. See `shared/providers/kling.md`.

use crate::camera::CameraMove;
use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, ProviderError, Usage, VideoFrames, VideoJob,
    VideoModel, VideoPoll, VideoRequest,
};
use crate::net::images::{nearest_ratio, raw_base64};
use crate::net::{Answer, Classified, KlingSigner, Transport, base_url, classify, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const NAME: &str = "kling";
pub const BASE_URL: &str = "https://api-singapore.klingai.com";
/// The base URL of accounts registered in mainland China.
pub const BASE_URL_CHINA: &str = "https://api-beijing.klingai.com";
pub const IMAGE_MODEL: &str = "kling-v2-1";
pub const VIDEO_MODEL: &str = "kling-v2-1";
/// The `model_name`s Kling documents for image generation and for image-to-video.
pub const IMAGE_MODELS: &[&str] = &["kling-v1", "kling-v1-5", "kling-v2", "kling-v2-new", "kling-v2-1"];
pub const VIDEO_MODELS: &[&str] = &[
    "kling-v1",
    "kling-v1-5",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
];

/// How often an image task is polled inside [`ImageModel::generate`], and for how long.
pub const IMAGE_POLL_INTERVAL: Duration = Duration::from_secs(1);
pub const IMAGE_DEADLINE: Duration = Duration::from_secs(5 * 60);

/// What Kling waits for after a throttling answer that names no time (the docs ask for ≥ 1 s).
const THROTTLE_BACKOFF: Duration = Duration::from_secs(1);
/// Polls in a row that may fail transiently before an image generation gives up.
const POLL_FAILURES_TOLERATED: u32 = 3;
/// Kling refuses inline images above 10 MB; larger ones go as links where there is one.
const INLINE_IMAGE_LIMIT: usize = 10 * 1024 * 1024;
const PROMPT_LIMIT: usize = 2500;

const IMAGE_RATIOS: [&str; 8] = ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9"];
const IMAGE_FAMILY: &str = "images/generations";
/// Several subjects (the characters in a frame) kept as they are: up to four references.
const MULTI_IMAGE_FAMILY: &str = "images/multi-image2image";
/// The models `multi-image2image` takes, and how many subjects.
const MULTI_IMAGE_MODELS: [&str; 2] = ["kling-v2", "kling-v2-1"];
const MAX_SUBJECTS: usize = 4;
const IMAGE2VIDEO: &str = "image2video";
/// The models that take `camera_control` on image-to-video (the capability map).
const CAMERA_CONTROL_MODELS: [&str; 2] = ["kling-v1", "kling-v1-5"];
/// How far a simple camera control moves along its axis, of 10.
const CAMERA_STRENGTH: i32 = 5;
/// Video endpoint families a job id may name.
const VIDEO_FAMILIES: [&str; 2] = [IMAGE2VIDEO, "text2video"];

pub fn provider(transport: Transport) -> Provider {
    Kling::new(transport).into_provider()
}

pub struct Kling {
    transport: Transport,
    /// One signer per adapter: tokens are cached per access key and re-signed before they expire.
    signer: KlingSigner,
    pub image_poll_interval: Duration,
    pub image_deadline: Duration,
}

impl Kling {
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            signer: KlingSigner::default(),
            image_poll_interval: IMAGE_POLL_INTERVAL,
            image_deadline: IMAGE_DEADLINE,
        }
    }

    /// Polls image tasks every `interval`, giving up after `deadline`.
    pub fn with_image_polling(mut self, interval: Duration, deadline: Duration) -> Self {
        self.image_poll_interval = interval;
        self.image_deadline = deadline;
        self
    }

    pub fn into_provider(self) -> Provider {
        let adapter = Arc::new(self);
        Provider {
            name: NAME,
            needs_key: true,
            has_secret_key: true,
            text: None,
            image: Some(adapter.clone()),
            video: Some(adapter),
            speech: None,
            default_models: BTreeMap::from([
                (Capability::Image, IMAGE_MODEL.into()),
                (Capability::Video, VIDEO_MODEL.into()),
            ]),
            // Kling takes a closed set of `model_name`s (its fact sheet, `docs/providers.md`).
            known_models: BTreeMap::from([(Capability::Image, IMAGE_MODELS), (Capability::Video, VIDEO_MODELS)]),
            catalog: None,
        }
    }

    /// Calls `path` (below the base URL) with a fresh or cached token and answers the envelope's
    /// `data`. A token the vendor calls expired (1004) is dropped, re-signed and the call made once
    /// more: the request was refused, so nothing was paid for.
    async fn call(&self, credentials: &Credentials, path: &str, body: Option<&Value>) -> Result<Value, ProviderError> {
        let (access_key, secret_key) = keys(credentials)?;
        let url = format!("{}{path}", base_url(credentials, BASE_URL));
        let mut resigned = false;
        loop {
            let token = self.signer.token(access_key, secret_key)?;
            let request = match body {
                Some(body) => self.transport.post(NAME, &url)?.json(body),
                None => self.transport.get(NAME, &url)?,
            };
            let answer = self.transport.send(NAME, request.bearer_auth(token)).await?;
            match read_envelope(&answer) {
                Err(Refused::Expired(_)) if !resigned => {
                    tracing::debug!(provider = NAME, "the token was called expired; signing a new one");
                    self.signer.forget(access_key);
                    resigned = true;
                }
                Err(Refused::Expired(error) | Refused::Other(error)) => return Err(error),
                Ok(data) => return Ok(data),
            }
        }
    }

    async fn poll_image(
        &self,
        family: &str,
        task_id: &str,
        credentials: &Credentials,
    ) -> Result<Vec<Media>, ProviderError> {
        let path = format!("/v1/{family}/{task_id}");
        let deadline = Instant::now() + self.image_deadline;
        let mut failures = 0;
        loop {
            let mut pause = self.image_poll_interval;
            match self.call(credentials, &path, None).await {
                Ok(data) => {
                    failures = 0;
                    match task_state(&data)? {
                        TaskState::Running => {}
                        TaskState::Failed(message) => return Err(failed(&message)),
                        TaskState::Succeeded => return result_media(&data, "images"),
                    }
                }
                Err(ProviderError::Transient { message, retry_after }) if failures < POLL_FAILURES_TOLERATED => {
                    failures += 1;
                    tracing::debug!(provider = NAME, task_id, %message, "polling the image task failed; trying again");
                    pause = pause.max(retry_after.unwrap_or_default());
                }
                Err(error) => return Err(error),
            }
            if Instant::now() + pause > deadline {
                return Err(ProviderError::Transient {
                    message: format!(
                        "{NAME}: image task {task_id} did not finish within {} s",
                        self.image_deadline.as_secs()
                    ),
                    retry_after: None,
                });
            }
            tokio::time::sleep(pause).await;
        }
    }
}

/// The access key and secret key; Kling signs with both, so either missing is a missing key.
fn keys(credentials: &Credentials) -> Result<(&str, &str), ProviderError> {
    fn present(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    match (present(&credentials.api_key), present(&credentials.secret_key)) {
        (Some(access), Some(secret)) => Ok((access, secret)),
        (None, _) => Err(ProviderError::NotConfigured { provider: NAME.into(), reason: "no access key is set".into() }),
        (_, None) => Err(ProviderError::NotConfigured { provider: NAME.into(), reason: "no secret key is set".into() }),
    }
}

/// Why an answer is not a result: an expired token (worth re-signing once), or anything else.
enum Refused {
    Expired(ProviderError),
    Other(ProviderError),
}

/// Reads the `{code, message, request_id, data}` envelope: its `data` when `code` is 0.
fn read_envelope(answer: &Answer) -> Result<Value, Refused> {
    let status = answer.status.as_u16();
    let body = match answer.json(NAME) {
        Ok(body) => body,
        // An error page from a gateway in front of the API: the status is all there is.
        Err(_) if !answer.is_success() => {
            let text = crate::net::transport::excerpt(&String::from_utf8_lossy(&answer.body));
            let message = format!("HTTP {status}: {text}");
            let error = classify(NAME, Classified { status, code: None, message, retry_after: answer.retry_after });
            return Err(Refused::Other(error));
        }
        Err(error) => return Err(Refused::Other(error)),
    };
    let code = body.get("code").and_then(Value::as_i64);
    match code {
        Some(0) if answer.is_success() => {
            body.get("data").cloned().filter(|data| data.is_object() || data.is_array()).ok_or_else(|| {
                Refused::Other(ProviderError::Malformed { message: format!("{NAME}: the answer has no data") })
            })
        }
        None if answer.is_success() => {
            Err(Refused::Other(ProviderError::Malformed { message: format!("{NAME}: the answer has no code") }))
        }
        _ => {
            let code = code.unwrap_or_default();
            let message = body.get("message").and_then(Value::as_str).unwrap_or("error").to_owned();
            let request = body.get("request_id").and_then(Value::as_str).or(answer.request_id.as_deref());
            if let Some(request) = request {
                tracing::debug!(provider = NAME, code, status, request, %message, "the call was refused");
            }
            let error = error_of(status, code, &message, answer.retry_after);
            Err(if code == 1004 { Refused::Expired(error) } else { Refused::Other(error) })
        }
    }
}

/// Kling's error codes in the common taxonomy (`kling.md` §2): the code decides, the HTTP status
/// only where the code is not one of the documented ones.
pub fn error_of(status: u16, code: i64, message: &str, retry_after: Option<Duration>) -> ProviderError {
    let text = format!("{NAME}: {message} (code {code})");
    let not_configured = |reason: String| ProviderError::NotConfigured { provider: NAME.into(), reason };
    match code {
        1000..=1004 => not_configured(format!("the access key or secret key was refused: {message} (code {code})")),
        1100..=1102 => ProviderError::OutOfCredit { message: format!("{text} — the account cannot pay for this") },
        1103 => not_configured(format!("the key may not use this interface or model: {message} (code {code})")),
        1200..=1203 => ProviderError::Permanent { message: text },
        1300 | 1301 => {
            ProviderError::Permanent { message: format!("{text} — refused by the provider's content policy") }
        }
        1302 | 1303 => {
            crate::net::observe::throttled(NAME);
            ProviderError::Transient { message: text, retry_after: Some(retry_after.unwrap_or(THROTTLE_BACKOFF)) }
        }
        1304 => not_configured(format!("this server's address is not on the key's IP whitelist: {message}")),
        5000..=5002 => ProviderError::Transient { message: text, retry_after },
        _ => classify(NAME, Classified { status, code: Some(code.to_string()), message: message.into(), retry_after }),
    }
}

#[derive(Debug, PartialEq)]
enum TaskState {
    Running,
    Succeeded,
    Failed(String),
}

/// A task's `task_status`: `submitted` and `processing` run, `succeed` (sic) and `failed` end.
fn task_state(data: &Value) -> Result<TaskState, ProviderError> {
    let status = data.get("task_status").and_then(Value::as_str).unwrap_or_default();
    match status {
        "submitted" | "processing" => Ok(TaskState::Running),
        "succeed" => Ok(TaskState::Succeeded),
        "failed" => {
            let message = data.get("task_status_msg").and_then(Value::as_str).map(str::trim).unwrap_or_default();
            Ok(TaskState::Failed(if message.is_empty() {
                "the task failed without a reason".into()
            } else {
                message.into()
            }))
        }
        other => Err(ProviderError::Malformed { message: format!("{NAME}: unknown task status '{other}'") }),
    }
}

/// A failed task. Kling names content-safety failures "risk control"; they are the user's to fix.
fn failed(message: &str) -> ProviderError {
    let lower = message.to_ascii_lowercase();
    if lower.contains("risk") || lower.contains("safety") || lower.contains("sensitive") || lower.contains("policy") {
        ProviderError::Permanent { message: format!("{NAME}: {message} — refused by the provider's content policy") }
    } else {
        ProviderError::Permanent { message: format!("{NAME}: the task failed: {message}") }
    }
}

/// The links of a finished task's `task_result.images` or `task_result.videos`.
fn result_media(data: &Value, kind: &str) -> Result<Vec<Media>, ProviderError> {
    let media: Vec<Media> = data
        .pointer(&format!("/task_result/{kind}"))
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.get("url").and_then(Value::as_str))
                .filter(|url| !url.is_empty())
                .map(|url| Media::Url(url.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    if media.is_empty() {
        return Err(ProviderError::Malformed { message: format!("{NAME}: the finished task holds no {kind}") });
    }
    Ok(media)
}

/// A video task's state as a poll answers it (the `data` of Kling's envelope).
pub fn read_video_task(data: &Value) -> Result<VideoPoll, ProviderError> {
    match task_state(data)? {
        TaskState::Running => Ok(VideoPoll::Running { progress: None }),
        TaskState::Failed(message) => Err(failed(&message)),
        TaskState::Succeeded => {
            let mut videos = result_media(data, "videos")?;
            Ok(VideoPoll::done(videos.swap_remove(0)))
        }
    }
}

/// The `data.task_id` of a created task, checked to be safe in a path.
pub fn task_id(data: &Value) -> Result<String, ProviderError> {
    let id = match data.get("task_id") {
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(ProviderError::Malformed { message: format!("{NAME}: the answer has no data.task_id") }),
    };
    if valid_task_id(&id) {
        Ok(id)
    } else {
        Err(ProviderError::Malformed { message: format!("{NAME}: task id '{id}' is not an id") })
    }
}

pub fn valid_task_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A job id names the endpoint family the task was created on, since the poll path follows it:
/// `image2video:<task_id>`.
pub fn job_id(family: &str, task_id: &str) -> String {
    format!("{family}:{task_id}")
}

/// The endpoint family and task id of a job id (a bare task id is an image-to-video task).
pub fn parse_job_id(job_id: &str) -> Result<(&'static str, &str), ProviderError> {
    let (family, task) = job_id.split_once(':').unwrap_or((IMAGE2VIDEO, job_id));
    let family = VIDEO_FAMILIES.into_iter().find(|f| *f == family);
    match family {
        Some(family) if valid_task_id(task) => Ok((family, task)),
        _ => Err(ProviderError::Permanent { message: format!("{NAME}: '{job_id}' is not a Kling video job") }),
    }
}

/// The aspect ratios a model takes (kling-v1 has no 21:9).
fn image_ratios(model: &str) -> &'static [&'static str] {
    if model == "kling-v1" { &IMAGE_RATIOS[..7] } else { &IMAGE_RATIOS }
}

/// `aspect_ratio` for `width × height`: the nearest one the model takes.
pub fn aspect_ratio(model: &str, width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, image_ratios(model))
}

/// `resolution`: `2k` for targets beyond what `1k` gives, where the model offers it. Kling
/// documents 2k for text-to-image only, so a request with a reference image asks for `1k`.
pub fn resolution(width: u32, height: u32, with_reference: bool) -> &'static str {
    if !with_reference && width.max(height) > 1536 { "2k" } else { "1k" }
}

/// `duration` as Kling takes it: the string "5" or "10", whichever is nearer (kling-v1 takes only
/// 5 s between a start and an end frame).
pub fn duration(model: &str, seconds: f64, with_tail: bool) -> &'static str {
    if seconds > 7.5 && !(model == "kling-v1" && with_tail) { "10" } else { "5" }
}

/// An image as Kling takes it: raw base64 without a `data:` prefix, or a link when too large.
fn image_field(input: &MediaInput) -> String {
    match &input.url {
        Some(url) if input.bytes.len() > INLINE_IMAGE_LIMIT => url.clone(),
        _ => raw_base64(input),
    }
}

/// At most `limit` characters of a prompt.
fn clip_prompt(prompt: &str, limit: usize) -> &str {
    match prompt.char_indices().nth(limit) {
        Some((cut, _)) => &prompt[..cut],
        None => prompt,
    }
}

/// Whether a request goes to `multi-image2image`: several references (the characters a frame
/// holds) on a model that takes them there; one reference goes to `generations` as `image`.
pub fn uses_subjects(request: &ImageRequest, model: &str) -> bool {
    request.references.len() >= 2 && MULTI_IMAGE_MODELS.contains(&model)
}

/// The `multi-image2image` body: each reference a subject (the first four), the prompt.
pub fn subjects_body(request: &ImageRequest, model: &str) -> Value {
    let subjects: Vec<Value> = request
        .references
        .iter()
        .take(MAX_SUBJECTS)
        .map(|reference| json!({"subject_image": image_field(reference)}))
        .collect();
    json!({
        "model_name": model,
        "prompt": clip_prompt(&request.prompt, PROMPT_LIMIT),
        "subject_image_list": subjects,
        "n": request.count.clamp(1, 9),
        "aspect_ratio": aspect_ratio(model, request.width, request.height),
    })
}

pub fn image_body(request: &ImageRequest, model: &str) -> Value {
    let reference = request.references.first();
    let mut body = json!({
        "model_name": model,
        "prompt": clip_prompt(&request.prompt, PROMPT_LIMIT),
        "n": request.count.clamp(1, 9),
        "aspect_ratio": aspect_ratio(model, request.width, request.height),
        "resolution": resolution(request.width, request.height, reference.is_some()),
    });
    if let Some(reference) = reference {
        body["image"] = json!(image_field(reference));
        if model == "kling-v1-5" {
            body["image_reference"] = json!("subject");
        }
    }
    body
}

/// `camera_control` of type `simple` for a movement: exactly one of Kling's six axes set. Kling
/// names rotations its own way: `pan` turns the camera up (+) or down (−), `tilt` turns it right
/// (+) or left (−); `zoom` below zero narrows the field of view (in), above widens it (out).
pub fn camera_control(movement: CameraMove) -> Value {
    let (axis, sign) = match movement {
        CameraMove::PushIn => ("zoom", -1),
        CameraMove::PullOut => ("zoom", 1),
        CameraMove::PanLeft => ("tilt", -1),
        CameraMove::PanRight => ("tilt", 1),
        CameraMove::TiltUp => ("pan", 1),
        CameraMove::TiltDown => ("pan", -1),
        CameraMove::TruckLeft => ("horizontal", -1),
        CameraMove::TruckRight => ("horizontal", 1),
        CameraMove::CraneUp => ("vertical", 1),
        CameraMove::CraneDown => ("vertical", -1),
        CameraMove::Roll => ("roll", 1),
    };
    let mut config = json!({"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 0, "roll": 0, "zoom": 0});
    config[axis] = json!(sign * CAMERA_STRENGTH);
    json!({"type": "simple", "config": config})
}

pub fn video_body(request: &VideoRequest, model: &str) -> Value {
    let (start, tail) = match &request.frames {
        VideoFrames::Start(start) => (start, None),
        VideoFrames::StartEnd(start, end) => (start, Some(end)),
        VideoFrames::Grid { image, .. } => (image, None),
    };
    let mut body = json!({
        "model_name": model,
        "image": image_field(start),
        "mode": if tail.is_some() { "pro" } else { "std" },
        "duration": duration(model, request.duration, tail.is_some()),
        "prompt": clip_prompt(&request.prompt, PROMPT_LIMIT),
    });
    if let Some(negative) = request.negative_prompt.as_deref().filter(|n| !n.trim().is_empty()) {
        body["negative_prompt"] = json!(clip_prompt(negative, PROMPT_LIMIT));
    }
    match (tail, request.camera) {
        (Some(tail), _) => body["image_tail"] = json!(image_field(tail)),
        // Camera control and an end frame exclude each other; the end frame wins.
        (None, Some(movement)) if CAMERA_CONTROL_MODELS.contains(&model) => {
            body["camera_control"] = camera_control(movement);
        }
        _ => {}
    }
    if let Some(key) = &request.idempotency_key {
        body["external_task_id"] = json!(key);
    }
    body
}

/// How many of the latest video tasks `find` reads: a lost submission is minutes old, so it is
/// among them (the list is newest first; 500 is the most one page holds).
const FIND_WINDOW: u32 = 500;

#[async_trait::async_trait]
impl ImageModel for Kling {
    /// Lists one image task: free, and refused with the vendor's auth codes when the keys are wrong.
    async fn check_key(&self, credentials: &Credentials) -> Result<bool, ProviderError> {
        self.call(credentials, &format!("/v1/{IMAGE_FAMILY}?pageNum=1&pageSize=1"), None).await?;
        Ok(true)
    }

    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let (family, body) = if uses_subjects(request, &model) {
            (MULTI_IMAGE_FAMILY, subjects_body(request, &model))
        } else {
            (IMAGE_FAMILY, image_body(request, &model))
        };
        let data = self.call(credentials, &format!("/v1/{family}"), Some(&body)).await?;
        let task_id = task_id(&data)?;
        let images = self.poll_image(family, &task_id, credentials).await?;
        Ok(ImageOutput { images, model, usage: Usage::default() })
    }
}

#[async_trait::async_trait]
impl VideoModel for Kling {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError> {
        let model = model(request.model.as_deref(), VIDEO_MODEL);
        let mut body = video_body(request, &model);
        // Kling posts the task to it on each status change (direct API only, as for Ark).
        if let Some(callback) = &request.callback_url {
            body["callback_url"] = json!(callback);
        }
        match self.call(credentials, &format!("/v1/videos/{IMAGE2VIDEO}"), Some(&body)).await {
            Ok(data) => Ok(VideoJob { job_id: job_id(IMAGE2VIDEO, &task_id(&data)?), model }),
            // The key is taken: an earlier submission of this task was accepted; that job is it.
            Err(ProviderError::Permanent { message }) if message.contains("external_task_id") => {
                self.find(request, credentials).await?.ok_or(ProviderError::Permanent { message })
            }
            Err(error) => Err(error),
        }
    }

    /// Looks the key up among the latest tasks (the list route; the documented query by
    /// `external_task_id` has no verified form).
    async fn find(&self, request: &VideoRequest, credentials: &Credentials) -> Result<Option<VideoJob>, ProviderError> {
        let Some(key) = &request.idempotency_key else { return Ok(None) };
        let path = format!("/v1/videos/{IMAGE2VIDEO}?pageNum=1&pageSize={FIND_WINDOW}");
        let data = self.call(credentials, &path, None).await?;
        let tasks = data
            .as_array()
            .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the task list is not a list") })?;
        let found =
            tasks.iter().find(|task| task.pointer("/task_info/external_task_id").and_then(Value::as_str) == Some(key));
        Ok(match found {
            Some(task) => Some(VideoJob {
                job_id: job_id(IMAGE2VIDEO, &task_id(task)?),
                model: model(request.model.as_deref(), VIDEO_MODEL),
            }),
            None => None,
        })
    }

    fn finds_by_key(&self) -> bool {
        true
    }

    async fn poll(
        &self,
        job_id: &str,
        _: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        let (family, task_id) = parse_job_id(job_id)?;
        let data = self.call(credentials, &format!("/v1/videos/{family}/{task_id}"), None).await?;
        read_video_task(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &'static [u8]) -> MediaInput {
        MediaInput { bytes: bytes::Bytes::from_static(bytes), content_type: "image/png".into(), url: None }
    }

    #[test]
    fn ratios_resolutions_and_durations() {
        assert_eq!(aspect_ratio("kling-v2-1", 2560, 1440), "16:9");
        assert_eq!(aspect_ratio("kling-v2-1", 1080, 1440), "3:4");
        assert_eq!(aspect_ratio("kling-v2-1", 2520, 1080), "21:9");
        assert_eq!(aspect_ratio("kling-v1", 2520, 1080), "16:9");
        assert_eq!(resolution(2560, 1440, false), "2k");
        assert_eq!(resolution(2560, 1440, true), "1k");
        assert_eq!(resolution(1024, 1024, false), "1k");
        assert_eq!(duration("kling-v2-1", 4.0, true), "5");
        assert_eq!(duration("kling-v2-1", 7.4, false), "5");
        assert_eq!(duration("kling-v2-1", 8.0, true), "10");
        assert_eq!(duration("kling-v2-1", 30.0, false), "10");
        assert_eq!(duration("kling-v1", 10.0, true), "5");
    }

    #[test]
    fn bodies_carry_raw_base64_and_string_durations() {
        let request = VideoRequest {
            prompt: "p".into(),
            frames: VideoFrames::StartEnd(input(b"start"), input(b"end")),
            duration: 10.0,
            width: 1920,
            height: 1080,
            model: None,
            seed: None,
            idempotency_key: None,
            camera: None,
            negative_prompt: None,
            callback_url: None,
            vendor_label: false,
        };
        let body = video_body(&request, "kling-v2-1");
        assert_eq!(body["image"], "c3RhcnQ=");
        assert_eq!(body["image_tail"], "ZW5k");
        assert_eq!((body["mode"].as_str(), body["duration"].as_str()), (Some("pro"), Some("10")));
        let start_only = VideoRequest { frames: VideoFrames::Start(input(b"start")), ..request };
        let body = video_body(&start_only, "kling-v2-1");
        assert!(body.get("image_tail").is_none());
        assert_eq!(body["mode"], "std");
        assert!(body.get("camera_control").is_none() && body.get("negative_prompt").is_none());
    }

    #[test]
    fn camera_movements_steer_the_models_that_take_them_and_negatives_go_apart() {
        let request = VideoRequest {
            prompt: "p".into(),
            frames: VideoFrames::Start(input(b"start")),
            duration: 5.0,
            width: 1920,
            height: 1080,
            model: None,
            seed: None,
            idempotency_key: None,
            vendor_label: false,
            camera: Some(CameraMove::PanRight),
            negative_prompt: Some("blurry".into()),
            callback_url: None,
        };
        let body = video_body(&request, "kling-v1-5");
        assert_eq!(
            body["camera_control"],
            json!({"type": "simple", "config": {"horizontal": 0, "vertical": 0, "pan": 0, "tilt": 5, "roll": 0, "zoom": 0}})
        );
        assert_eq!(body["negative_prompt"], "blurry");
        assert!(video_body(&request, "kling-v2-1").get("camera_control").is_none(), "v2 models take no camera control");
        let with_tail = VideoRequest { frames: VideoFrames::StartEnd(input(b"s"), input(b"e")), ..request };
        let body = video_body(&with_tail, "kling-v1-5");
        assert!(body.get("camera_control").is_none() && body.get("image_tail").is_some());
        assert_eq!(camera_control(CameraMove::PushIn)["config"]["zoom"], -5);
        assert_eq!(camera_control(CameraMove::TiltUp)["config"]["pan"], 5);
        assert_eq!(camera_control(CameraMove::CraneDown)["config"]["vertical"], -5);

        let image = ImageRequest {
            prompt: "x".repeat(3000),
            width: 1920,
            height: 1080,
            count: 12,
            panels: 1,
            references: vec![input(b"ref")],
            model: None,
            card: None,
            vendor_label: false,
        };
        let body = image_body(&image, "kling-v2-1");
        assert_eq!((body["n"].as_u64(), body["image"].as_str()), (Some(9), Some("cmVm")));
        assert_eq!(body["prompt"].as_str().unwrap().len(), 2500);
    }

    #[test]
    fn codes_map_to_the_taxonomy() {
        let not_configured =
            |e: ProviderError| matches!(e, ProviderError::NotConfigured { provider, .. } if provider == NAME);
        for code in [1000, 1001, 1002, 1003, 1004, 1103] {
            assert!(not_configured(error_of(401, code, "m", None)), "{code}");
        }
        for code in [1100, 1101, 1102] {
            assert!(matches!(error_of(429, code, "m", None), ProviderError::OutOfCredit { .. }), "{code}");
        }
        for code in [1200, 1201, 1202, 1203] {
            assert!(matches!(error_of(400, code, "m", None), ProviderError::Permanent { .. }), "{code}");
        }
        let refusal = error_of(400, 1301, "risk control", None);
        assert!(refusal.to_string().contains("content policy"), "{refusal}");
        assert!(matches!(
            error_of(429, 1303, "busy", None),
            ProviderError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(1)
        ));
        assert!(matches!(
            error_of(429, 1302, "slow down", Some(Duration::from_secs(4))),
            ProviderError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(4)
        ));
        for code in [5000, 5001, 5002] {
            assert!(matches!(error_of(500, code, "m", None), ProviderError::Transient { .. }), "{code}");
        }
        assert!(matches!(error_of(503, 9999, "m", None), ProviderError::Transient { .. }));
    }

    fn answer(status: u16, body: &'static str) -> Answer {
        Answer::canned(status, body)
    }

    #[test]
    fn envelopes_are_read_by_code() {
        let ok = answer(200, r#"{"code": 0, "message": "SUCCEED", "request_id": "r", "data": {"task_id": "1"}}"#);
        assert!(matches!(read_envelope(&ok), Ok(data) if data["task_id"] == "1"));
        let expired = answer(401, r#"{"code": 1004, "message": "Authorization is expired", "request_id": "r"}"#);
        assert!(matches!(read_envelope(&expired), Err(Refused::Expired(ProviderError::NotConfigured { .. }))));
        let billing = answer(429, r#"{"code": 1102, "message": "resource pack exhausted", "request_id": "r"}"#);
        assert!(matches!(read_envelope(&billing), Err(Refused::Other(ProviderError::OutOfCredit { .. }))));
        let throttled = answer(200, r#"{"code": 1303, "message": "parallel task over resource pack limit"}"#);
        assert!(matches!(read_envelope(&throttled), Err(Refused::Other(ProviderError::Transient { .. }))));
        let gateway = answer(502, "<html>Bad Gateway</html>");
        assert!(matches!(read_envelope(&gateway), Err(Refused::Other(ProviderError::Transient { .. }))));
        let garbage = answer(200, "<html>oops</html>");
        assert!(matches!(read_envelope(&garbage), Err(Refused::Other(ProviderError::Malformed { .. }))));
    }

    #[test]
    fn statuses_and_results() {
        assert_eq!(task_state(&json!({"task_status": "submitted"})).unwrap(), TaskState::Running);
        assert_eq!(task_state(&json!({"task_status": "processing"})).unwrap(), TaskState::Running);
        assert_eq!(task_state(&json!({"task_status": "succeed"})).unwrap(), TaskState::Succeeded);
        assert_eq!(
            task_state(&json!({"task_status": "failed", "task_status_msg": "no"})).unwrap(),
            TaskState::Failed("no".into())
        );
        assert!(task_state(&json!({"task_status": "succeeded"})).is_err());
        assert!(failed("Failure to pass the risk control system").to_string().contains("content policy"));
        let data = json!({"task_result": {"videos": [{"id": "a", "url": "https://cdn/v.mp4", "duration": "5.1"}]}});
        assert!(matches!(&result_media(&data, "videos").unwrap()[..], [Media::Url(url)] if url == "https://cdn/v.mp4"));
        assert!(result_media(&json!({"task_result": {"images": []}}), "images").is_err());
    }

    #[test]
    fn several_references_are_subjects_on_the_models_that_take_them() {
        let reference = || input(b"face");
        let request = ImageRequest {
            prompt: "Two friends at the pier".into(),
            width: 1920,
            height: 1080,
            count: 1,
            panels: 1,
            references: (0..5).map(|_| reference()).collect(),
            model: None,
            card: None,
            vendor_label: false,
        };
        assert!(uses_subjects(&request, "kling-v2-1"));
        assert!(!uses_subjects(&request, "kling-v1-5"), "an older model gets the first reference");
        assert!(!uses_subjects(&ImageRequest { references: vec![reference()], ..request.clone() }, "kling-v2-1"));
        let body = subjects_body(&request, "kling-v2-1");
        assert_eq!(body["subject_image_list"].as_array().unwrap().len(), 4, "at most four subjects");
        assert_eq!(body["subject_image_list"][0]["subject_image"], "ZmFjZQ==");
        assert_eq!(body["aspect_ratio"], "16:9");
        assert!(body.get("image").is_none() && body.get("resolution").is_none());
    }

    #[test]
    fn job_ids_keep_the_endpoint_family() {
        assert_eq!(job_id("image2video", "8654"), "image2video:8654");
        assert_eq!(parse_job_id("image2video:8654").unwrap(), ("image2video", "8654"));
        assert_eq!(parse_job_id("text2video:77").unwrap(), ("text2video", "77"));
        assert_eq!(parse_job_id("8654").unwrap(), ("image2video", "8654"));
        assert!(parse_job_id("image2video:../x").is_err());
        assert!(parse_job_id("lipsync:1").is_err());
        assert_eq!(task_id(&json!({"task_id": 865})).unwrap(), "865");
        assert!(task_id(&json!({"task_id": "a/b"})).is_err());
    }

    #[test]
    fn both_keys_are_needed() {
        let credentials = |a: Option<&str>, s: Option<&str>| Credentials {
            api_key: a.map(Into::into),
            secret_key: s.map(Into::into),
            base_url: None,
        };
        assert!(keys(&credentials(Some("ak"), Some("sk"))).is_ok());
        for missing in
            [credentials(None, Some("sk")), credentials(Some("ak"), None), credentials(Some("ak"), Some(" "))]
        {
            assert!(matches!(keys(&missing), Err(ProviderError::NotConfigured { provider, .. }) if provider == NAME));
        }
    }
}
