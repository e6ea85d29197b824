//! Doubao on Volcengine Ark (China) or BytePlus ModelArk (international): Chat Completions with
//! `json_object` output and thinking switched off, Seedream images (synchronous, 24-hour links,
//! group output with per-image failures) and Seedance video (asynchronous `cgt-…` tasks with first
//! and last frames). Errors are `{"error": {"code", "message", "param", "type"}}`, classified by
//! HTTP status and code prefix. See `shared/providers/doubao.md`.

use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, ProviderError, TextModel, TextOutput,
    TextRequest, Usage, VideoFrames, VideoJob, VideoModel, VideoPoll, VideoRequest,
};
use crate::net::chat::{self, AnswerFormat, ChatDialect};
use crate::net::images::{data_uri, decode_base64};
use crate::net::{Answer, Auth, Classified, Transport, api_key, base_url, classify, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

pub const NAME: &str = "doubao";
/// Volcengine Ark, Beijing.
pub const BASE_URL: &str = "https://ark.cn-beijing.volces.com/api/v3";
/// BytePlus ModelArk, Johor (model ids there carry no `doubao-` prefix).
pub const BYTEPLUS_BASE_URL: &str = "https://ark.ap-southeast.bytepluses.com/api/v3";
pub const TEXT_MODEL: &str = "doubao-seed-1-6-251015";
pub const IMAGE_MODEL: &str = "doubao-seedream-4-5-251128";
pub const VIDEO_MODEL: &str = "doubao-seedance-1-5-pro-251215";

static DIALECT: LazyLock<ChatDialect> = LazyLock::new(|| ChatDialect {
    provider: NAME,
    path: "/chat/completions",
    answer_format: AnswerFormat::JsonObject,
    max_tokens_field: "max_tokens",
    extra: Some(json!({"thinking": {"type": "disabled"}})),
});

/// Seedream and Seedance mark their results with Doubao's own "AI生成" watermark when the request
/// asks (`vendor_label`: the project labels AI content and the operator allows it).
pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(Doubao { transport });
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: Some(adapter.clone()),
        image: Some(adapter.clone()),
        video: Some(adapter),
        speech: None,
        default_models: BTreeMap::from([
            (Capability::Text, TEXT_MODEL.into()),
            (Capability::Image, IMAGE_MODEL.into()),
            (Capability::Video, VIDEO_MODEL.into()),
        ]),
        known_models: Default::default(),
        catalog: None,
    }
}

pub struct Doubao {
    transport: Transport,
}

/// The base URL calls go to. A bare host (`https://ark.cn-beijing.volces.com`) gets Ark's
/// `/api/v3` path, so either form can be entered in the settings.
fn api_base(credentials: &Credentials) -> String {
    let base = base_url(credentials, BASE_URL);
    match url::Url::parse(&base) {
        Ok(parsed) if parsed.path().trim_matches('/').is_empty() => format!("{base}/api/v3"),
        _ => base,
    }
}

fn auth(credentials: &Credentials) -> Result<Auth, ProviderError> {
    Ok(Auth::Bearer(api_key(NAME, credentials)?.into()))
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Classifies an Ark error by HTTP status and code. Codes are namespaced
/// (`RateLimitExceeded.EndpointRPMExceeded`), so they are matched by prefix and suffix.
pub fn classify_ark(provider: &str, error: Classified) -> ProviderError {
    let code = error.code.clone().unwrap_or_default();
    let text = || match code.as_str() {
        "" => format!("{provider}: {}", error.message),
        code => format!("{provider}: {} ({code})", error.message),
    };
    let throttled = code.starts_with("RateLimitExceeded")
        || code.ends_with("RateLimitExceeded")
        || code.starts_with("RequestBurstTooFast")
        || code.starts_with("ServerOverloaded");
    if throttled {
        crate::net::observe::throttled(provider);
        return ProviderError::Transient { message: text(), retry_after: error.retry_after };
    }
    if code.starts_with("QuotaExceeded") || code.starts_with("SetLimitExceeded") || code == "AccountOverdueError" {
        return ProviderError::OutOfCredit {
            message: format!("{} — the Ark account's quota or balance is spent", text()),
        };
    }
    if code.ends_with("RiskDetection") || code.contains("SensitiveContentDetected") {
        return ProviderError::Permanent {
            message: format!("{} — refused by the provider's content policy", text())
        };
    }
    if code == "ModelNotOpen" || code.starts_with("InvalidEndpointOrModel") {
        return ProviderError::Permanent {
            message: format!("{} — check the model id and activate the model in the Ark console", text()),
        };
    }
    classify(provider, error)
}

/// Reads an Ark error answer.
pub fn ark_error(provider: &str, answer: &Answer) -> ProviderError {
    let body = answer.json(provider).unwrap_or(Value::Null);
    let error = body.get("error").filter(|e| e.is_object()).unwrap_or(&body);
    let message = error.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&answer.body);
        format!("HTTP {}: {}", answer.status.as_u16(), crate::net::transport::excerpt(&text))
    });
    let code = error
        .get("code")
        .and_then(|c| c.as_str().map(str::to_owned).or_else(|| c.as_i64().map(|n| n.to_string())))
        .filter(|c| !c.is_empty());
    classify_ark(
        provider,
        Classified { status: answer.status.as_u16(), code, message, retry_after: answer.retry_after },
    )
}

// ---------------------------------------------------------------------------------------------
// Text

#[async_trait::async_trait]
impl TextModel for Doubao {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let auth = auth(credentials)?;
        let model = model(request.model.as_deref(), TEXT_MODEL);
        let url = format!("{}{}", api_base(credentials), DIALECT.path);
        let call = self.transport.post(NAME, &url)?.json(&chat::body(&DIALECT, &model, request));
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(ark_error(NAME, &answer));
        }
        chat::read_answer(NAME, &answer.json(NAME)?, &model)
    }
}

// ---------------------------------------------------------------------------------------------
// Images (Seedream)

/// Seedream's officially recommended explicit sizes per aspect ratio (all within every current
/// model's pixel range).
const RECOMMENDED_SIZES: [(u32, u32); 8] =
    [(2048, 2048), (2304, 1728), (1728, 2304), (2560, 1440), (1440, 2560), (2496, 1664), (1664, 2496), (3024, 1296)];

/// The range of total pixels an explicit `WxH` may have on `model`. Unknown ids (endpoint ids
/// `ep-…`) get the range every current model accepts.
pub fn pixel_range(model: &str) -> (u64, u64) {
    if model.contains("seedream-4-0") {
        (1280 * 720, 4096 * 4096)
    } else if model.contains("seedream-4-5") {
        (3_686_400, 16_777_216)
    } else {
        (3_686_400, 10_404_496)
    }
}

/// The explicit `WxH` sent for a requested size: the request itself when its total pixels are
/// within the model's range, else the recommended size of its aspect ratio, else the request
/// scaled (in steps of 16 pixels) into the range. Aspect ratios are kept within [1/16, 16].
pub fn seedream_size(model: &str, width: u32, height: u32) -> String {
    let (min, max) = pixel_range(model);
    let (mut w, mut h) = (u64::from(width.max(1)), u64::from(height.max(1)));
    if w > 16 * h {
        w = 16 * h;
    } else if h > 16 * w {
        h = 16 * w;
    }
    let pixels = w * h;
    if (min..=max).contains(&pixels) {
        return format!("{w}x{h}");
    }
    let ratio = w as f64 / h as f64;
    if let Some((rw, rh)) = RECOMMENDED_SIZES.iter().find(|(rw, rh)| {
        let recommended = f64::from(*rw) / f64::from(*rh);
        let fits = (min..=max).contains(&(u64::from(*rw) * u64::from(*rh)));
        fits && (recommended / ratio - 1.0).abs() < 0.01
    }) {
        return format!("{rw}x{rh}");
    }
    let target = if pixels < min { min } else { max };
    let scale = (target as f64 / pixels as f64).sqrt();
    let snap = |edge: u64| {
        let scaled = edge as f64 * scale / 16.0;
        let steps = if pixels < min { scaled.ceil() } else { scaled.floor() };
        (steps as u64).max(1) * 16
    };
    format!("{}x{}", snap(w), snap(h))
}

/// How many references a Seedream model takes (and references + outputs stay within 15).
fn reference_limit(model: &str, count: u8) -> usize {
    let model_limit = if model.contains("seedream-4-0") { 10 } else { 14 };
    model_limit.min(15 - usize::from(count.clamp(1, 9)))
}

/// A reference as Ark takes it: our storage link where there is one, else a data URI.
pub fn image_ref(input: &MediaInput) -> String {
    input
        .url
        .clone()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .unwrap_or_else(|| data_uri(input))
}

/// The Seedream body (Ark's, which relays such as Yunwu forward as is).
pub fn seedream_body(model: &str, request: &ImageRequest) -> Value {
    let count = request.count.clamp(1, 9);
    let prompt = if count > 1 {
        format!("{}\nGenerate a set of {count} separate images.", request.prompt.trim_end())
    } else {
        request.prompt.clone()
    };
    let mut body = json!({
        "model": model,
        "prompt": prompt,
        "size": seedream_size(model, request.width, request.height),
        "response_format": "url",
        "watermark": request.vendor_label,
    });
    let references: Vec<String> =
        request.references.iter().take(reference_limit(model, count)).map(image_ref).collect();
    match references.len() {
        0 => {}
        1 => body["image"] = json!(references[0]),
        _ => body["image"] = json!(references),
    }
    if count > 1 {
        body["sequential_image_generation"] = json!("auto");
        body["sequential_image_generation_options"] = json!({"max_images": count});
    }
    body
}

/// Labels inline image bytes by their signature (Seedream gives JPEG, GPT image models PNG).
fn sniffed(media: Media) -> Media {
    match media {
        Media::Bytes { bytes, content_type } => {
            let content_type = if bytes.starts_with(b"\x89PNG") {
                "image/png".to_owned()
            } else if bytes.starts_with(b"\xff\xd8") {
                "image/jpeg".to_owned()
            } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
                "image/webp".to_owned()
            } else {
                content_type
            };
            Media::Bytes { bytes, content_type }
        }
        link => link,
    }
}

/// Reads Seedream's `data[]`: links (24 h) or base64, skipping per-image failures; if every image
/// failed, the first failure is the error.
pub fn read_images(provider: &str, body: &Value) -> Result<Vec<Media>, ProviderError> {
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed { message: format!("{provider}: the answer has no data") })?;
    let mut images = Vec::new();
    let mut failures = Vec::new();
    for item in data {
        if let Some(url) = item.get("url").and_then(Value::as_str).filter(|u| !u.is_empty()) {
            images.push(Media::Url(url.to_owned()));
        } else if let Some(encoded) = item.get("b64_json").and_then(Value::as_str) {
            images.push(sniffed(decode_base64(provider, encoded, "image/jpeg")?));
        } else if let Some(error) = item.get("error").filter(|e| !e.is_null()) {
            failures.push(error.clone());
        } else {
            return Err(ProviderError::Malformed {
                message: format!("{provider}: an image has neither url nor error"),
            });
        }
    }
    if !failures.is_empty() {
        tracing::warn!(provider, failed = failures.len(), succeeded = images.len(), "images failed inside a group");
    }
    if !images.is_empty() {
        return Ok(images);
    }
    match failures.first() {
        Some(error) => {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("the image failed").to_owned();
            let code = error.get("code").and_then(Value::as_str).map(str::to_owned);
            Err(classify_ark(provider, Classified { status: 400, code, message, retry_after: None }))
        }
        None => Err(ProviderError::Malformed { message: format!("{provider}: the answer holds no image") }),
    }
}

#[async_trait::async_trait]
impl ImageModel for Doubao {
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let auth = auth(credentials)?;
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let url = format!("{}/images/generations", api_base(credentials));
        let body = seedream_body(&model, request);
        let call = self.transport.post(NAME, &url)?.json(&body);
        let answer = self.transport.for_images().send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(ark_error(NAME, &answer));
        }
        let body = answer.json(NAME)?;
        let images = read_images(NAME, &body)?;
        let model = body.get("model").and_then(Value::as_str).unwrap_or(&model).to_owned();
        let usage = Usage {
            images: Usage::count_at(&body, "/usage/generated_images"),
            tokens: Usage::count_at(&body, "/usage/output_tokens"),
            ..Usage::default()
        };
        Ok(ImageOutput { images, model, usage })
    }
}

// ---------------------------------------------------------------------------------------------
// Video (Seedance)

/// The whole seconds Seedance takes on `model`: 1.0 models 2–12, 1.5 pro 4–12, 2.0 4–15; unknown
/// ids (endpoints) the range every model accepts.
pub fn seedance_duration(model: &str, seconds: f64) -> i64 {
    let (min, max) = if model.contains("seedance-1-0") {
        (2, 12)
    } else if model.contains("seedance-2-0") {
        (4, 15)
    } else {
        (4, 12)
    };
    let rounded = if seconds.is_finite() { seconds.round() as i64 } else { 5 };
    rounded.clamp(min, max)
}

/// The resolution tier for a target frame size (1080p is not offered with reference images).
pub fn seedance_resolution(width: u32, height: u32, references: bool) -> &'static str {
    match width.min(height) {
        1080.. if !references => "1080p",
        720.. => "720p",
        _ => "480p",
    }
}

/// The frame size Seedance renders a tier at (16:9; other ratios hold about as many pixels).
fn seedance_frame(resolution: &str) -> (i64, i64) {
    match resolution {
        "1080p" => (1920, 1088),
        "720p" => (1248, 704),
        _ => (864, 480),
    }
}

/// The video tokens Seedance bills a clip by: width × height × frames / 1024, with 24 frames a
/// second and one more (the vendor's own example: 1080p for 5 s is 1920 × 1088 × 121 / 1024 =
/// 246,840 tokens).
pub fn seedance_tokens(model: &str, seconds: f64, width: u32, height: u32) -> i64 {
    let (w, h) = seedance_frame(seedance_resolution(width, height, false));
    w * h * (24 * seedance_duration(model, seconds) + 1) / 1024
}

/// Whether a Seedance model takes reference images (1.0 lite i2v and 2.0).
fn takes_references(model: &str) -> bool {
    model.contains("lite-i2v") || model.contains("seedance-2-0")
}

fn frame(input: &MediaInput, role: &str) -> Value {
    json!({"type": "image_url", "image_url": {"url": image_ref(input)}, "role": role})
}

/// The task body: the prompt, then the frames with their roles.
pub fn seedance_body(model: &str, request: &VideoRequest) -> Result<Value, ProviderError> {
    let refuse = |what: &str| ProviderError::Permanent { message: format!("{NAME}: model '{model}' {what}") };
    if model.contains("lite-t2v") {
        return Err(refuse("makes video from text only; choose an image-to-video Seedance model"));
    }
    let mut content = vec![json!({"type": "text", "text": request.prompt})];
    let references = match &request.frames {
        VideoFrames::Start(start) => {
            content.push(frame(start, "first_frame"));
            false
        }
        VideoFrames::StartEnd(start, end) => {
            if model.contains("pro-fast") {
                return Err(refuse("takes no last frame; choose a model with first and last frames"));
            }
            content.push(frame(start, "first_frame"));
            content.push(frame(end, "last_frame"));
            false
        }
        VideoFrames::Grid { image, .. } => {
            if !takes_references(model) {
                return Err(refuse(
                    "takes no reference images, so a storyboard grid cannot guide it; paint the shot's start \
                     keyframe, or choose doubao-seedance-1-0-lite-i2v-250428 or a Seedance 2.0 model",
                ));
            }
            content.push(frame(image, "reference_image"));
            true
        }
    };
    let mut body = json!({
        "model": model,
        "content": content,
        "ratio": "adaptive",
        "duration": seedance_duration(model, request.duration),
        "resolution": seedance_resolution(request.width, request.height, references),
        "watermark": request.vendor_label,
    });
    if model.contains("seedance-1-5") || model.contains("seedance-2-0") {
        body["generate_audio"] = json!(false);
    }
    // Seedance takes 0 … 2^32 − 1 (−1 is "random", the same as none).
    if let Some(seed) = request.seed.filter(|s| (0..=i64::from(u32::MAX)).contains(s)) {
        body["seed"] = json!(seed);
    }
    Ok(body)
}

/// Maps a task object onto a poll result.
pub fn read_task(provider: &str, task: &Value) -> Result<VideoPoll, ProviderError> {
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Malformed { message: format!("{provider}: the task has no status") })?;
    match status {
        // Seedance reports no progress figure while a task waits or runs.
        "queued" | "running" => Ok(VideoPoll::Running { progress: None }),
        "succeeded" => match task.pointer("/content/video_url").and_then(Value::as_str).filter(|u| !u.is_empty()) {
            Some(url) => Ok(VideoPoll::Done {
                media: Media::Url(url.to_owned()),
                usage: Usage { tokens: Usage::count_at(task, "/usage/completion_tokens"), ..Usage::default() },
                seed: task.get("seed").and_then(Value::as_i64),
            }),
            None => {
                Err(ProviderError::Malformed { message: format!("{provider}: the task succeeded without a video_url") })
            }
        },
        "failed" => {
            let message =
                task.pointer("/error/message").and_then(Value::as_str).unwrap_or("the generation failed").to_owned();
            let code = task.pointer("/error/code").and_then(Value::as_str).map(str::to_owned);
            // A failed task stays failed: whatever the code, polling again cannot help.
            let error = classify_ark(provider, Classified { status: 400, code, message, retry_after: None });
            Err(match error {
                ProviderError::Permanent { message } => ProviderError::Permanent { message },
                other => ProviderError::Permanent { message: format!("the task failed: {other}") },
            })
        }
        "cancelled" => Err(ProviderError::Permanent { message: format!("{provider}: the task was cancelled") }),
        "expired" => {
            Err(ProviderError::Permanent { message: format!("{provider}: the task expired before it finished") })
        }
        other => {
            tracing::warn!(provider, status = other, "unknown task status; polling on");
            Ok(VideoPoll::Running { progress: None })
        }
    }
}

#[async_trait::async_trait]
impl VideoModel for Doubao {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError> {
        let auth = auth(credentials)?;
        let model = model(request.model.as_deref(), VIDEO_MODEL);
        let mut body = seedance_body(&model, request)?;
        // Ark posts the task to it on each status change (only on the direct API: a relay's
        // forwarding of it is not documented).
        if let Some(callback) = &request.callback_url {
            body["callback_url"] = json!(callback);
        }
        let url = format!("{}/contents/generations/tasks", api_base(credentials));
        let call = self.transport.post(NAME, &url)?.json(&body);
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(ark_error(NAME, &answer));
        }
        let job_id = crate::net::images::field(NAME, &answer.json(NAME)?, "/id")?.to_owned();
        Ok(VideoJob { job_id, model })
    }

    async fn poll(
        &self,
        job_id: &str,
        _request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        let auth = auth(credentials)?;
        let url = format!("{}/contents/generations/tasks/{job_id}", api_base(credentials));
        let answer = self.transport.send(NAME, auth.apply(self.transport.get(NAME, &url)?)).await?;
        if !answer.is_success() {
            return Err(ark_error(NAME, &answer));
        }
        read_task(NAME, &answer.json(NAME)?)
    }

    fn expected_usage(&self, model: &str, seconds: f64, width: u32, height: u32) -> Usage {
        Usage { tokens: Some(seedance_tokens(model, seconds, width, height)), ..Usage::default() }
    }

    /// Ark cancels queued tasks (and deletes finished ones' records).
    async fn cancel(&self, job_id: &str, credentials: &Credentials) -> Result<(), ProviderError> {
        let auth = auth(credentials)?;
        let url = format!("{}/contents/generations/tasks/{job_id}", api_base(credentials));
        let answer = self.transport.send(NAME, auth.apply(self.transport.delete(NAME, &url)?)).await?;
        if !answer.is_success() {
            return Err(ark_error(NAME, &answer));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn ark(status: u16, code: &str) -> ProviderError {
        classify_ark(NAME, Classified { status, code: Some(code.into()), message: "m".into(), retry_after: None })
    }

    #[test]
    fn sizes_are_scaled_into_the_models_pixel_range() {
        assert_eq!(seedream_size(IMAGE_MODEL, 1920, 1080), "2560x1440");
        assert_eq!(seedream_size(IMAGE_MODEL, 1080, 1440), "1728x2304");
        assert_eq!(seedream_size(IMAGE_MODEL, 1080, 1920), "1440x2560");
        assert_eq!(seedream_size(IMAGE_MODEL, 512, 512), "2048x2048");
        assert_eq!(seedream_size(IMAGE_MODEL, 3840, 2160), "3840x2160");
        assert_eq!(seedream_size("doubao-seedream-4-0-250828", 1920, 1080), "1920x1080");
        // No recommended size: scaled up in steps of 16 until the minimum is reached.
        let odd = seedream_size(IMAGE_MODEL, 1000, 700);
        let (w, h) = odd.split_once('x').map(|(w, h)| (w.parse::<u64>().unwrap(), h.parse::<u64>().unwrap())).unwrap();
        assert!(w * h >= 3_686_400 && w * h <= 16_777_216 && w % 16 == 0 && h % 16 == 0, "{odd}");
        // Too large for 5.0 lite: scaled down.
        let big = seedream_size("doubao-seedream-5-0-260128", 8000, 4000);
        let (w, h) = big.split_once('x').map(|(w, h)| (w.parse::<u64>().unwrap(), h.parse::<u64>().unwrap())).unwrap();
        assert!(w * h <= 10_404_496 && w * h >= 3_686_400, "{big}");
    }

    #[test]
    fn video_tokens_follow_the_vendors_own_example() {
        assert_eq!(seedance_tokens(VIDEO_MODEL, 5.0, 1920, 1080), 246_840);
        assert!(seedance_tokens(VIDEO_MODEL, 5.0, 1280, 720) < 246_840);
        let done = json!({"status": "succeeded", "content": {"video_url": "https://x/v.mp4"},
                          "usage": {"completion_tokens": 246840, "total_tokens": 246840}});
        let Ok(VideoPoll::Done { usage, seed, .. }) = read_task(NAME, &done) else { panic!("a finished task") };
        assert_eq!(usage.tokens, Some(246_840));
        assert_eq!(seed, None);
    }

    #[test]
    fn durations_are_clamped_per_model() {
        assert_eq!(seedance_duration(VIDEO_MODEL, 5.0), 5);
        assert_eq!(seedance_duration(VIDEO_MODEL, 2.4), 4);
        assert_eq!(seedance_duration(VIDEO_MODEL, 30.0), 12);
        assert_eq!(seedance_duration("doubao-seedance-1-0-pro-250528", 2.4), 2);
        assert_eq!(seedance_duration("doubao-seedance-2-0-260128", 14.6), 15);
        assert_eq!(seedance_duration("ep-20261126-abcde", f64::NAN), 5);
        assert_eq!(seedance_resolution(1920, 1080, false), "1080p");
        assert_eq!(seedance_resolution(1920, 1080, true), "720p");
        assert_eq!(seedance_resolution(640, 360, false), "480p");
    }

    #[test]
    fn statuses_map_onto_polls() {
        assert!(matches!(read_task(NAME, &json!({"status": "queued"})), Ok(VideoPoll::Running { .. })));
        assert!(matches!(read_task(NAME, &json!({"status": "running"})), Ok(VideoPoll::Running { .. })));
        let done = json!({"status": "succeeded", "content": {"video_url": "https://x/v.mp4"}});
        assert!(
            matches!(read_task(NAME, &done), Ok(VideoPoll::Done { media: Media::Url(u), .. }) if u == "https://x/v.mp4")
        );
        let failed = json!({"status": "failed",
                            "error": {"code": "OutputVideoSensitiveContentDetected", "message": "sensitive output"}});
        let Err(ProviderError::Permanent { message }) = read_task(NAME, &failed) else { panic!() };
        assert!(message.contains("sensitive output") && message.contains("content policy"), "{message}");
        let internal = json!({"status": "failed", "error": {"code": "InternalServiceError", "message": "boom"}});
        assert!(matches!(read_task(NAME, &internal), Err(ProviderError::Permanent { .. })));
        for status in ["cancelled", "expired"] {
            assert!(matches!(read_task(NAME, &json!({"status": status})), Err(ProviderError::Permanent { .. })));
        }
        assert!(matches!(read_task(NAME, &json!({"status": "succeeded"})), Err(ProviderError::Malformed { .. })));
        assert!(matches!(read_task(NAME, &json!({})), Err(ProviderError::Malformed { .. })));
    }

    #[test]
    fn errors_are_classified_by_status_and_code_prefix() {
        assert!(matches!(ark(401, "AuthenticationError"), ProviderError::NotConfigured { .. }));
        assert!(matches!(ark(403, "AccountOverdueError"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(ark(403, "AccessDenied"), ProviderError::NotConfigured { .. }));
        assert!(matches!(ark(429, "RateLimitExceeded.EndpointRPMExceeded"), ProviderError::Transient { .. }));
        assert!(matches!(ark(429, "ModelAccountTpmRateLimitExceeded"), ProviderError::Transient { .. }));
        assert!(matches!(ark(400, "ServerOverloaded"), ProviderError::Transient { .. }));
        assert!(matches!(ark(429, "QuotaExceeded"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(ark(429, "SetLimitExceeded"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(ark(500, "InternalServiceError"), ProviderError::Transient { .. }));
        assert!(matches!(ark(404, "ModelNotOpen"), ProviderError::Permanent { .. }));
        assert!(matches!(ark(400, "InvalidParameter"), ProviderError::Permanent { .. }));
        let ProviderError::Permanent { message } = ark(400, "InputImageRiskDetection") else { panic!() };
        assert!(message.contains("content policy"), "{message}");
    }

    #[test]
    fn group_answers_keep_the_images_that_succeeded() {
        let partial = json!({"data": [{"url": "https://x/0.jpeg"},
                                      {"error": {"code": "OutputImageSensitiveContentDetected",
                                                 "message": "sensitive"}},
                                      {"url": "https://x/2.jpeg"}]});
        assert_eq!(read_images(NAME, &partial).unwrap().len(), 2);
        let none =
            json!({"data": [{"error": {"code": "OutputImageSensitiveContentDetected", "message": "sensitive"}}]});
        let Err(ProviderError::Permanent { message }) = read_images(NAME, &none) else { panic!() };
        assert!(message.contains("sensitive"), "{message}");
        assert!(matches!(read_images(NAME, &json!({"data": []})), Err(ProviderError::Malformed { .. })));
    }

    #[test]
    fn bodies_carry_references_counts_and_frames() {
        let input = MediaInput { bytes: Bytes::from_static(b"png"), content_type: "IMAGE/PNG".into(), url: None };
        let linked = MediaInput { url: Some("https://store/x.png".into()), ..input.clone() };
        let request = ImageRequest {
            prompt: "a street".into(),
            width: 1920,
            height: 1080,
            count: 3,
            panels: 1,
            references: vec![input.clone(), linked.clone()],
            model: None,
            card: None,
            vendor_label: false,
        };
        let body = seedream_body(IMAGE_MODEL, &request);
        assert_eq!(body["image"][0], "data:image/png;base64,cG5n");
        assert_eq!(body["image"][1], "https://store/x.png");
        assert_eq!(body["sequential_image_generation_options"]["max_images"], 3);
        assert!(body["prompt"].as_str().unwrap().contains('3'));
        assert_eq!((body["size"].as_str(), body["watermark"].as_bool()), (Some("2560x1440"), Some(false)));
        let single = seedream_body(IMAGE_MODEL, &ImageRequest { count: 1, references: vec![linked], ..request });
        assert_eq!(single["image"], "https://store/x.png");
        assert!(single.get("sequential_image_generation").is_none());

        let video = VideoRequest {
            prompt: "p".into(),
            frames: VideoFrames::StartEnd(input.clone(), input.clone()),
            duration: 5.0,
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
        let body = seedance_body(VIDEO_MODEL, &video).unwrap();
        assert_eq!(body["content"][1]["role"], "first_frame");
        assert!(body.get("seed").is_none());
        let seeded = seedance_body(VIDEO_MODEL, &VideoRequest { seed: Some(4242), ..video.clone() }).unwrap();
        assert_eq!(seeded["seed"], 4242);
        assert_eq!(body["content"][2]["role"], "last_frame");
        assert_eq!((body["duration"].as_i64(), body["resolution"].as_str()), (Some(5), Some("1080p")));
        assert!(seedance_body("doubao-seedance-1-0-pro-fast-251015", &video).is_err());
        let grid = VideoRequest { frames: VideoFrames::Grid { image: input, panels: 4 }, ..video };
        assert!(seedance_body(VIDEO_MODEL, &grid).is_err());
        let body = seedance_body("doubao-seedance-1-0-lite-i2v-250428", &grid).unwrap();
        assert_eq!(
            (body["content"][1]["role"].as_str(), body["resolution"].as_str()),
            (Some("reference_image"), Some("720p"))
        );
    }

    #[test]
    fn bare_hosts_get_the_api_path() {
        let with = |base: &str| Credentials { base_url: Some(base.into()), ..Credentials::default() };
        assert_eq!(api_base(&Credentials::default()), BASE_URL);
        assert_eq!(api_base(&with("https://ark.ap-southeast.bytepluses.com/")), BYTEPLUS_BASE_URL);
        assert_eq!(api_base(&with("http://127.0.0.1:9/api/v3/")), "http://127.0.0.1:9/api/v3");
    }
}
