//! Gemini (the Generative Language API with an API key in `x-goog-api-key`): text and Nano Banana
//! images through `generateContent`, Gemini Omni video through background interactions (the
//! Interactions API) whose result is an auth-gated file that redirects to a storage host. Errors are
//! `{"error": {"code", "message", "status", "details"}}` with the retry delay in `RetryInfo`.
//! See `shared/providers/gemini.md`.

use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, ProviderError, TextModel, TextOutput,
    TextRequest, Usage, VideoFrames, VideoJob, VideoModel, VideoPoll, VideoRequest,
};
use crate::net::errors::{Classified, classify};
use crate::net::images::{decode_base64, field, nearest_ratio, raw_base64};
use crate::net::transport::{Answer, excerpt, parse_retry_after};
use crate::net::{Auth, Transport, api_key, base_url, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub const NAME: &str = "gemini";
pub const BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";
pub const TEXT_MODEL: &str = "gemini-3.5-flash";
pub const IMAGE_MODEL: &str = "gemini-3.1-flash-image";
/// The Veo 3.1 preview ids were retired on the Developer API (fact sheet §0); Omni replaced them.
pub const VIDEO_MODEL: &str = "gemini-omni-1.1-flash";

/// The aspect ratios `imageConfig.aspectRatio` takes.
pub const IMAGE_RATIOS: [&str; 10] = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];
/// The aspect ratios an Omni video takes (`response_format.aspect_ratio`).
pub const VIDEO_RATIOS: [&str; 2] = ["16:9", "9:16"];
/// The clip lengths Omni takes: whole seconds from 3 to 10.
pub const VIDEO_SECONDS: std::ops::RangeInclusive<u32> = 3..=10;
/// The resolution the price table is for (the API's default).
const VIDEO_RESOLUTION: &str = "720p";

/// Video output tokens per second of a 720p Omni clip, sound included (the vendor's token count
/// that resellers quote; the answer's `usage` says what was billed).
pub const VIDEO_TOKENS_PER_SECOND: i64 = 5_792;

/// Output limit of a text call; thinking tokens count against it on 3.x models.
const MAX_OUTPUT_TOKENS: u32 = 32_768;
/// Reference images per call: 3 on 2.x image models, up to 14 on 3.x.
const MAX_REFERENCES_LEGACY: usize = 3;
const MAX_REFERENCES: usize = 14;

/// Finish and block reasons that mean the content was refused.
const REFUSALS: [&str; 8] = [
    "SAFETY",
    "PROHIBITED_CONTENT",
    "BLOCKLIST",
    "SPII",
    "RECITATION",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
    "IMAGE_RECITATION",
];

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(Gemini { transport });
    let catalog: Arc<dyn crate::catalog::ModelCatalog> = adapter.clone();
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
        catalog: Some(catalog),
    }
}

pub struct Gemini {
    transport: Transport,
}

/// The most models one page of `models.list` holds.
const MODELS_PAGE: u32 = 1000;

/// What a listed model is for here, from its id and `supportedGenerationMethods`: the Omni models
/// make video (through interactions, whatever methods they list), Imagen's predictions and the
/// `-image` Gemini models make pictures, the other `generateContent` models write. Veo's
/// `predictLongRunning` models are left out (that API is gone here), as are speech, live,
/// embedding and answer-finding models.
pub fn capability_of(id: &str, methods: &[&str]) -> Option<Capability> {
    let id = model_path(id);
    let unused = ["tts", "live", "native-audio", "embedding", "aqa", "robotics", "computer-use"];
    if unused.iter().any(|word| id.contains(word)) {
        return None;
    }
    if id.starts_with("gemini-omni") {
        Some(Capability::Video)
    } else if methods.contains(&"predict") && id.starts_with("imagen") {
        Some(Capability::Image)
    } else if methods.contains(&"generateContent") {
        Some(if id.contains("-image") { Capability::Image } else { Capability::Text })
    } else {
        None
    }
}

#[async_trait::async_trait]
impl crate::catalog::ModelCatalog for Gemini {
    /// `GET /models`, every page.
    async fn list_models(&self, credentials: &Credentials) -> Result<Vec<crate::catalog::ListedModel>, ProviderError> {
        let auth = Auth::GoogApiKey(api_key(NAME, credentials)?.into());
        let base = base_url(credentials, BASE_URL);
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..20 {
            let mut url = Url::parse(&format!("{base}/models")).map_err(|e| ProviderError::Permanent {
                message: format!("{NAME}: the base URL is not a URL ({e})"),
            })?;
            url.query_pairs_mut().append_pair("pageSize", &MODELS_PAGE.to_string());
            if let Some(token) = &token {
                url.query_pairs_mut().append_pair("pageToken", token);
            }
            let answer = self.transport.send(NAME, auth.apply(self.transport.get(NAME, url.as_str())?)).await?;
            if !answer.is_success() {
                return Err(error_of(&answer));
            }
            let page = answer.json(NAME)?;
            for model in page.get("models").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = model.get("name").and_then(Value::as_str) else { continue };
                let methods: Vec<&str> = model
                    .get("supportedGenerationMethods")
                    .and_then(Value::as_array)
                    .map(|m| m.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(capability) = capability_of(name, &methods) {
                    listed.push(crate::catalog::ListedModel { id: model_path(name).to_owned(), capability });
                }
            }
            token = page.get("nextPageToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        Ok(listed)
    }
}

/// A model id as it goes into a path (`models/` is added by the path itself).
fn model_path(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// The major version of a `gemini-<major>.<minor>-…` id, if it has one.
fn gemini_generation(model: &str) -> Option<u32> {
    let rest = model_path(model).strip_prefix("gemini-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `imageConfig.imageSize`: "2K" on 3.x image models when the long edge asked for exceeds 1500
/// pixels, else "1K"; none on 2.x models, which have one fixed size per ratio.
pub fn image_size(model: &str, width: u32, height: u32) -> Option<&'static str> {
    if gemini_generation(model).is_some_and(|major| major < 3) {
        return None;
    }
    Some(if width.max(height) > 1500 { "2K" } else { "1K" })
}

/// The clip length to ask for: whole seconds, not shorter than asked, within `VIDEO_SECONDS`.
pub fn video_duration(seconds: f64) -> u32 {
    let (shortest, longest) = (*VIDEO_SECONDS.start(), *VIDEO_SECONDS.end());
    if !seconds.is_finite() {
        return longest;
    }
    ((seconds - 1e-6).ceil().max(0.0) as u32).clamp(shortest, longest)
}

/// Reads a Gemini error body into the common taxonomy. A bad key is a 400 with reason
/// `API_KEY_INVALID`; a 429 is throttling unless it is a daily (or zero) quota.
pub fn error_from(status: u16, body: &Value, header_retry: Option<Duration>) -> ProviderError {
    let error = body.get("error").or_else(|| body.pointer("/0/error")).unwrap_or(&Value::Null);
    let message = error.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
        let raw = body.as_str().map(str::to_owned).unwrap_or_else(|| body.to_string());
        format!("HTTP {status}: {}", excerpt(&raw))
    });
    let code = error.get("status").and_then(Value::as_str).map(str::to_owned);
    let details = error.get("details").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let detail =
        |kind: &str| details.iter().find(|d| d.get("@type").and_then(Value::as_str).is_some_and(|t| t.ends_with(kind)));
    let retry_after = detail("google.rpc.RetryInfo")
        .and_then(|d| d.get("retryDelay"))
        .and_then(Value::as_str)
        .and_then(parse_retry_after)
        .or(header_retry);
    let reason = detail("google.rpc.ErrorInfo").and_then(|d| d.get("reason")).and_then(Value::as_str);
    if reason.is_some_and(|r| r.starts_with("API_KEY_")) || (status == 400 && message.contains("API key")) {
        return ProviderError::NotConfigured {
            provider: NAME.into(),
            reason: format!("the key was refused: {message}"),
        };
    }
    let text = match code.as_deref() {
        Some(code) => format!("{NAME}: {message} ({code})"),
        None => format!("{NAME}: {message}"),
    };
    if status == 429 {
        let daily = detail("google.rpc.QuotaFailure")
            .and_then(|d| d.get("violations"))
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| v["quotaId"].as_str().is_some_and(|q| q.contains("PerDay"))));
        if daily || message.contains("limit: 0") {
            return ProviderError::OutOfCredit { message: format!("{text} — the quota of this key is used up") };
        }
        // Google's throttling message mentions "billing" as a hint, so it is not classified by words.
        crate::net::observe::throttled(NAME);
        return ProviderError::Transient { message: text, retry_after };
    }
    classify(NAME, Classified { status, code, message, retry_after })
}

fn error_of(answer: &Answer) -> ProviderError {
    // A page that is not JSON (a proxy's 502) is passed on as text.
    let body = answer.json(NAME).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&answer.body).into_owned()));
    error_from(answer.status.as_u16(), &body, answer.retry_after)
}

fn refused(what: &str, reason: &str, detail: Option<&str>) -> ProviderError {
    let detail = detail.filter(|d| !d.is_empty()).map(|d| format!(": {d}")).unwrap_or_default();
    ProviderError::Permanent {
        message: format!("{NAME} refused the {what} under its content policy ({reason}){detail}"),
    }
}

/// A blocked prompt (`promptFeedback.blockReason`), as a refusal.
fn prompt_blocked(answer: &Value, what: &str) -> Option<ProviderError> {
    let reason = answer.pointer("/promptFeedback/blockReason").and_then(Value::as_str)?;
    let detail = answer.pointer("/promptFeedback/blockReasonMessage").and_then(Value::as_str);
    Some(refused(what, reason, detail))
}

fn parts(candidate: &Value) -> impl Iterator<Item = &Value> {
    candidate.pointer("/content/parts").and_then(Value::as_array).into_iter().flatten()
}

/// Parts that are the model's thinking (interim thoughts and draft images), not its answer.
fn is_thought(part: &Value) -> bool {
    part.get("thought").and_then(Value::as_bool).unwrap_or(false)
}

/// Reads a text answer: the non-thought text parts of the first candidate.
pub fn read_text(answer: &Value, model: &str) -> Result<TextOutput, ProviderError> {
    if let Some(blocked) = prompt_blocked(answer, "prompt") {
        return Err(blocked);
    }
    let candidate = answer
        .pointer("/candidates/0")
        .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no candidates") })?;
    let finish = candidate.get("finishReason").and_then(Value::as_str).unwrap_or("STOP");
    if REFUSALS.contains(&finish) {
        return Err(refused("answer", finish, candidate.get("finishMessage").and_then(Value::as_str)));
    }
    let text: String =
        parts(candidate).filter(|p| !is_thought(p)).filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
    let text = text.trim().to_owned();
    if finish == "MAX_TOKENS" {
        return Err(ProviderError::Transient {
            message: format!("{NAME}: the answer was cut off at the output limit ({MAX_OUTPUT_TOKENS} tokens)"),
            retry_after: None,
        });
    }
    if text.is_empty() {
        return Err(ProviderError::Transient {
            message: format!("{NAME} gave a blank answer (finish reason: {finish})"),
            retry_after: None,
        });
    }
    let units = answer.pointer("/usageMetadata/totalTokenCount").and_then(Value::as_i64).unwrap_or(0);
    let model = answer.get("modelVersion").and_then(Value::as_str).unwrap_or(model).to_owned();
    Ok(TextOutput { text, model, units })
}

/// Reads an image answer: every non-thought `inlineData` part of every candidate. No image is
/// a refusal, with the model's own words when it gave some.
pub fn read_images(answer: &Value) -> Result<Vec<Media>, ProviderError> {
    if let Some(blocked) = prompt_blocked(answer, "image") {
        return Err(blocked);
    }
    let candidates = answer
        .get("candidates")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no candidates") })?;
    let mut images = Vec::new();
    for part in candidates.iter().flat_map(parts).filter(|p| !is_thought(p)) {
        let Some(inline) = part.get("inlineData").or_else(|| part.get("inline_data")) else { continue };
        let mime = inline.get("mimeType").or_else(|| inline.get("mime_type")).and_then(Value::as_str);
        let data = inline
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: an image part has no data") })?;
        images.push(decode_base64(NAME, data, mime.unwrap_or("image/png"))?);
    }
    if images.is_empty() {
        let candidate = candidates.first().unwrap_or(&Value::Null);
        let finish = candidate.get("finishReason").and_then(Value::as_str).unwrap_or("NO_IMAGE");
        let said: String = parts(candidate).filter_map(|p| p.get("text").and_then(Value::as_str)).collect();
        let detail = candidate.get("finishMessage").and_then(Value::as_str).map(str::to_owned).unwrap_or(said);
        return Err(refused("image", finish, Some(excerpt(&detail).as_str())));
    }
    Ok(images)
}

/// The `generateContent` body of an image call.
pub fn image_body(model: &str, request: &ImageRequest) -> Value {
    let limit = if gemini_generation(model).is_some_and(|m| m < 3) { MAX_REFERENCES_LEGACY } else { MAX_REFERENCES };
    let mut parts = vec![json!({"text": request.prompt})];
    parts.extend(request.references.iter().take(limit).map(|reference| {
        json!({"inlineData": {"mimeType": reference.content_type.to_ascii_lowercase(), "data": raw_base64(reference)}})
    }));
    let mut image_config = json!({"aspectRatio": nearest_ratio(request.width, request.height, &IMAGE_RATIOS)});
    if let Some(size) = image_size(model, request.width, request.height) {
        image_config["imageSize"] = json!(size);
    }
    json!({
        "contents": [{"role": "user", "parts": parts}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": image_config},
    })
}

/// An image block of an interaction's input: inline base64 with its MIME type.
fn image_block(input: &MediaInput) -> Value {
    json!({"type": "image", "data": raw_base64(input), "mime_type": input.content_type.to_ascii_lowercase()})
}

/// The body of `POST /interactions` for a clip: a background interaction whose input is one
/// user turn (the prompt, then the frames) and whose `response_format` asks for a video delivered
/// as a file link. A start frame alone is `image_to_video`; with an end frame the model is left to
/// infer the interpolation from the two images, in order, as the prompt says. A grid image is the
/// start frame.
pub fn video_body(model: &str, request: &VideoRequest) -> Value {
    let (frames, task) = match &request.frames {
        VideoFrames::Start(start) => (vec![start], Some("image_to_video")),
        VideoFrames::StartEnd(start, end) => (vec![start, end], None),
        VideoFrames::Grid { image, .. } => (vec![image], Some("image_to_video")),
    };
    let prompt = if frames.len() == 2 {
        format!("{}\n\nThe first image is the opening frame and the second image the closing frame.", request.prompt)
    } else {
        request.prompt.clone()
    };
    let mut content = vec![json!({"type": "text", "text": prompt})];
    content.extend(frames.into_iter().map(image_block));
    let mut body = json!({
        "model": model,
        "background": true,
        "input": [{"type": "user_input", "content": content}],
        "response_format": {
            "type": "video",
            "aspect_ratio": nearest_ratio(request.width, request.height, &VIDEO_RATIOS),
            "duration": format!("{}s", video_duration(request.duration)),
            "resolution": VIDEO_RESOLUTION,
            "delivery": "uri",
        },
    });
    if let Some(task) = task {
        body["generation_config"] = json!({"video_config": {"task": task}});
    }
    body
}

/// Where a background interaction stands: still running, or the video's location.
#[derive(Debug, PartialEq)]
pub enum InteractionState {
    Running,
    /// The link of the video file (auth-gated).
    Uri(String),
    /// The video inline, base64.
    Inline(String),
}

/// The content blocks of the interaction's model output steps, in order.
fn output_blocks(interaction: &Value) -> impl Iterator<Item = &Value> {
    interaction
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|step| step.get("type").and_then(Value::as_str) == Some("model_output"))
        .flat_map(|step| step.get("content").and_then(Value::as_array).into_iter().flatten())
}

/// Whether an error reads as a content-policy block rather than a fault.
fn is_policy_block(error: &Value) -> bool {
    let reasons = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|detail| detail.get("reason").and_then(Value::as_str));
    let text = [error.get("code"), error.get("message")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    reasons.into_iter().any(|reason| REFUSALS.contains(&reason))
        || ["safety", "blocked", "prohibited", "responsible ai"].iter().any(|word| text.contains(word))
}

/// The first error the interaction or one of its output steps records.
fn interaction_error(interaction: &Value) -> Option<&Value> {
    let step_error = interaction
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|step| step.get("error"))
        .find(|error| !error.is_null());
    interaction.pointer("/errors/0").or(step_error)
}

pub fn read_interaction(interaction: &Value) -> Result<InteractionState, ProviderError> {
    let status = interaction.get("status").and_then(Value::as_str).unwrap_or_default();
    match status {
        "in_progress" | "queued" => return Ok(InteractionState::Running),
        "completed" => {}
        "failed" | "cancelled" | "incomplete" | "budget_exceeded" => {
            let error = interaction_error(interaction);
            let message = error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or(status);
            if error.is_some_and(is_policy_block) {
                return Err(refused("video", "SAFETY", Some(message)));
            }
            return Err(ProviderError::Permanent { message: format!("{NAME}: the video {status}: {message}") });
        }
        other => {
            return Err(ProviderError::Malformed {
                message: format!("{NAME}: a video interaction in state '{other}', which a video never enters"),
            });
        }
    }
    if let Some(video) =
        output_blocks(interaction).find(|block| block.get("type").and_then(Value::as_str) == Some("video"))
    {
        if let Some(uri) = video.get("uri").and_then(Value::as_str).filter(|u| !u.is_empty()) {
            return Ok(InteractionState::Uri(uri.to_owned()));
        }
        if let Some(encoded) = video.get("data").and_then(Value::as_str).filter(|d| !d.is_empty()) {
            return Ok(InteractionState::Inline(encoded.to_owned()));
        }
        return Err(ProviderError::Malformed { message: format!("{NAME}: the video block has neither uri nor data") });
    }
    if let Some(error) = interaction_error(interaction).filter(|e| is_policy_block(e)) {
        let message = error.get("message").and_then(Value::as_str);
        return Err(refused("video", "SAFETY", message));
    }
    // A model that declines answers in words instead of a clip.
    let said: Vec<&str> = output_blocks(interaction)
        .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect();
    if !said.is_empty() {
        return Err(refused("video", "NO_VIDEO", Some(excerpt(&said.join(" ")).as_str())));
    }
    Err(ProviderError::Malformed { message: format!("{NAME}: the finished interaction holds no video") })
}

/// The video output tokens the interaction reports (what Omni bills the clip by).
fn video_tokens(interaction: &Value) -> Option<i64> {
    interaction
        .pointer("/usage/output_tokens_by_modality")
        .and_then(Value::as_array)?
        .iter()
        .find(|entry| entry.get("modality").and_then(Value::as_str) == Some("video"))
        .and_then(|entry| Usage::count_at(entry, "/tokens"))
}

/// Whether a downloaded file can be a video: not empty, and not an HTML or JSON page.
fn looks_like_video(bytes: &[u8]) -> bool {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| !matches!(bytes[i], b'<' | b'{' | b'['))
}

/// Whether `uri` is on the same scheme, host and port as `base`: only there does the key go.
fn same_origin(uri: &str, base: &str) -> bool {
    match (Url::parse(uri), Url::parse(base)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// An interaction id as the vendor gives it: one path segment of letters, digits, `_` and `-`.
/// A Veo operation name (`models/…/operations/…`) from before the move to interactions is not one.
fn interaction_id(job_id: &str) -> Result<&str, ProviderError> {
    let id = job_id.trim();
    if id.contains("/operations/") {
        return Err(ProviderError::Permanent {
            message: format!(
                "{NAME}: '{job_id}' is a Veo operation; Veo's preview models were retired on this API — retry the task to submit it anew"
            ),
        });
    }
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(ProviderError::Permanent { message: format!("{NAME}: '{job_id}' is not an interaction id") });
    }
    Ok(id)
}

impl Gemini {
    async fn generate_content(
        &self,
        base: &str,
        auth: &Auth,
        model: &str,
        body: &Value,
    ) -> Result<Value, ProviderError> {
        let url = format!("{base}/models/{}:generateContent", model_path(model));
        // Images come back inline.
        let transport = self.transport.for_images();
        let answer = transport.send(NAME, auth.apply(transport.post(NAME, &url)?.json(body))).await?;
        if !answer.is_success() {
            return Err(error_of(&answer));
        }
        answer.json(NAME)
    }

    /// Fetches the video file: with the key on the vendor's own host (without following
    /// redirects), then the storage host it redirects to without the key.
    async fn download(&self, uri: &str, base: &str, key: &str) -> Result<Media, ProviderError> {
        let mut call = self.transport.get_direct(NAME, uri)?;
        if same_origin(uri, base) {
            call = Auth::GoogApiKey(key.into()).apply(call);
        }
        let files = self.transport.with_answer_limit(crate::net::transport::VIDEO_FILE_LIMIT);
        let answer = files.send(NAME, call).await?;
        let answer = if answer.status.is_redirection() {
            let location = answer.location.as_deref().ok_or_else(|| ProviderError::Malformed {
                message: format!("{NAME}: the video download redirects nowhere"),
            })?;
            let target = Url::parse(uri).and_then(|u| u.join(location)).map_err(|e| ProviderError::Malformed {
                message: format!("{NAME}: the video download redirects to a bad address ({e})"),
            })?;
            let answer = files.send(NAME, files.get(NAME, target.as_str())?).await?;
            if !answer.is_success() {
                let message = format!(
                    "{NAME}: the video could not be fetched from storage (HTTP {}: {})",
                    answer.status.as_u16(),
                    excerpt(&String::from_utf8_lossy(&answer.body))
                );
                return Err(match answer.status.as_u16() {
                    408 | 429 | 500..=599 => ProviderError::Transient { message, retry_after: answer.retry_after },
                    _ => ProviderError::Permanent { message },
                });
            }
            answer
        } else if answer.is_success() {
            answer
        } else {
            return Err(error_of(&answer));
        };
        if !looks_like_video(&answer.body) {
            let head = excerpt(&String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)]));
            return Err(ProviderError::Malformed { message: format!("{NAME}: the video file is not a video: {head}") });
        }
        Ok(Media::Bytes { bytes: answer.body, content_type: "video/mp4".into() })
    }
}

#[async_trait::async_trait]
impl TextModel for Gemini {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let auth = Auth::GoogApiKey(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), TEXT_MODEL);
        let body = json!({
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user", "parts": [{"text": request.user}]}],
            // The answer's shape as a schema: the model answers that shape, not only JSON.
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": crate::schemas::gemini_schema(&crate::schemas::answer_schema(&request.task).1),
                "maxOutputTokens": MAX_OUTPUT_TOKENS,
            },
        });
        let answer = self.generate_content(&base_url(credentials, BASE_URL), &auth, &model, &body).await?;
        read_text(&answer, &model)
    }
}

#[async_trait::async_trait]
impl ImageModel for Gemini {
    /// Gemini has no `n`: one call per image until `count` are in hand. Should a later call fail,
    /// the images already paid for are returned rather than dropped.
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let auth = Auth::GoogApiKey(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let base = base_url(credentials, BASE_URL);
        let body = image_body(&model, request);
        let count = usize::from(request.count.clamp(1, 9));
        let mut images = Vec::with_capacity(count);
        for _ in 0..count {
            let batch = match self.generate_content(&base, &auth, &model, &body).await.and_then(|a| read_images(&a)) {
                Ok(batch) => batch,
                Err(error) if images.is_empty() => return Err(error),
                Err(error) => {
                    tracing::warn!(provider = NAME, %error, got = images.len(), wanted = count, "an image call failed");
                    break;
                }
            };
            images.extend(batch);
            if images.len() >= count {
                break;
            }
        }
        images.truncate(count);
        Ok(ImageOutput { images, model, usage: Usage::default() })
    }
}

#[async_trait::async_trait]
impl VideoModel for Gemini {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError> {
        let auth = Auth::GoogApiKey(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), VIDEO_MODEL);
        let url = format!("{}/interactions", base_url(credentials, BASE_URL));
        let call = self.transport.post(NAME, &url)?.json(&video_body(model_path(&model), request));
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(error_of(&answer));
        }
        let interaction = answer.json(NAME)?;
        let job_id = field(NAME, &interaction, "/id")?.to_owned();
        interaction_id(&job_id)?;
        Ok(VideoJob { job_id, model })
    }

    async fn poll(
        &self,
        job_id: &str,
        _request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        let key = api_key(NAME, credentials)?;
        let auth = Auth::GoogApiKey(key.into());
        let base = base_url(credentials, BASE_URL);
        let url = format!("{base}/interactions/{}?stream=false", interaction_id(job_id)?);
        let answer = self.transport.send(NAME, auth.apply(self.transport.get(NAME, &url)?)).await?;
        if !answer.is_success() {
            return Err(error_of(&answer));
        }
        let interaction = answer.json(NAME)?;
        let media = match read_interaction(&interaction)? {
            InteractionState::Running => return Ok(VideoPoll::Running { progress: None }),
            InteractionState::Uri(uri) => self.download(&uri, &base, key).await?,
            InteractionState::Inline(encoded) => decode_base64(NAME, &encoded, "video/mp4")?,
        };
        let usage = Usage { tokens: video_tokens(&interaction), ..Usage::default() };
        Ok(VideoPoll::Done { media, usage, seed: None })
    }

    fn expected_usage(&self, _model: &str, seconds: f64, _width: u32, _height: u32) -> Usage {
        let seconds = i64::from(video_duration(seconds));
        Usage { tokens: Some(seconds * VIDEO_TOKENS_PER_SECOND), ..Usage::default() }
    }

    /// `POST /interactions/{id}/cancel`: a background interaction stops and is not billed further.
    async fn cancel(&self, job_id: &str, credentials: &Credentials) -> Result<(), ProviderError> {
        let auth = Auth::GoogApiKey(api_key(NAME, credentials)?.into());
        let url = format!("{}/interactions/{}/cancel", base_url(credentials, BASE_URL), interaction_id(job_id)?);
        let answer = self.transport.send(NAME, auth.apply(self.transport.post(NAME, &url)?)).await?;
        if !answer.is_success() {
            return Err(error_of(&answer));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_models_sort_into_capabilities() {
        assert_eq!(
            capability_of("models/gemini-3.5-flash", &["generateContent", "countTokens"]),
            Some(Capability::Text)
        );
        assert_eq!(capability_of("models/gemini-3.1-flash-image", &["generateContent"]), Some(Capability::Image));
        assert_eq!(capability_of("models/gemini-omni-1.2-flash", &["generateContent"]), Some(Capability::Video));
        assert_eq!(capability_of("models/veo-4.0-generate", &["predictLongRunning"]), None);
        assert_eq!(capability_of("models/imagen-4.0-generate-001", &["predict"]), Some(Capability::Image));
        assert_eq!(capability_of("models/gemini-2.5-flash-preview-tts", &["generateContent"]), None);
        assert_eq!(capability_of("models/gemini-embedding-001", &["embedContent"]), None);
    }

    #[test]
    fn image_sizes_follow_the_generation_and_the_long_edge() {
        assert_eq!(image_size("gemini-3.1-flash-image", 2560, 1440), Some("2K"));
        assert_eq!(image_size("gemini-3-pro-image", 1440, 2560), Some("2K"));
        assert_eq!(image_size("models/gemini-3.1-flash-image", 1024, 1024), Some("1K"));
        assert_eq!(image_size("gemini-3.1-flash-image", 1500, 1000), Some("1K"));
        assert_eq!(image_size("gemini-2.5-flash-image", 2560, 1440), None);
    }

    #[test]
    fn image_ratios_snap_to_the_documented_list() {
        assert_eq!(nearest_ratio(2560, 1440, &IMAGE_RATIOS), "16:9");
        assert_eq!(nearest_ratio(1728, 2304, &IMAGE_RATIOS), "3:4");
        assert_eq!(nearest_ratio(2520, 1080, &IMAGE_RATIOS), "21:9");
        assert_eq!(nearest_ratio(1080, 1350, &IMAGE_RATIOS), "4:5");
        assert_eq!(nearest_ratio(1080, 1080, &IMAGE_RATIOS), "1:1");
    }

    #[test]
    fn video_parameters_take_allowed_values() {
        assert_eq!(video_duration(2.0), 3);
        assert_eq!(video_duration(4.0), 4);
        assert_eq!(video_duration(4.2), 5);
        assert_eq!(video_duration(6.5), 7);
        assert_eq!(video_duration(12.0), 10);
        assert_eq!(video_duration(f64::NAN), 10);
        assert_eq!(nearest_ratio(1920, 1080, &VIDEO_RATIOS), "16:9");
        assert_eq!(nearest_ratio(1440, 2560, &VIDEO_RATIOS), "9:16");
        assert_eq!(nearest_ratio(1000, 1000, &VIDEO_RATIOS), "16:9");
    }

    fn png(label: &str) -> MediaInput {
        MediaInput { bytes: bytes::Bytes::from(label.to_owned()), content_type: "image/PNG".into(), url: None }
    }

    #[test]
    fn video_bodies_are_background_interactions_with_frames_in_order() {
        let request = VideoRequest {
            prompt: "door".into(),
            frames: VideoFrames::StartEnd(png("a"), png("b")),
            duration: 5.0,
            width: 1080,
            height: 1920,
            model: None,
            seed: None,
            idempotency_key: None,
            camera: None,
            negative_prompt: None,
            callback_url: None,
            vendor_label: false,
        };
        let body = video_body(VIDEO_MODEL, &request);
        assert_eq!(body["model"], VIDEO_MODEL);
        assert_eq!(body["background"], true);
        let content = &body["input"][0]["content"];
        assert_eq!(body["input"][0]["type"], "user_input");
        assert!(content[0]["text"].as_str().unwrap().starts_with("door\n\nThe first image is the opening frame"));
        assert_eq!(content[1], json!({"type": "image", "data": "YQ==", "mime_type": "image/png"}));
        assert_eq!(content[2]["data"], "Yg==");
        assert_eq!(
            body["response_format"],
            json!({"type": "video", "aspect_ratio": "9:16", "duration": "5s", "resolution": "720p", "delivery": "uri"})
        );
        assert!(body.get("generation_config").is_none(), "the model infers first-and-last-frame from two images");
        let grid = VideoRequest { frames: VideoFrames::Grid { image: png("g"), panels: 4 }, ..request };
        let body = video_body(VIDEO_MODEL, &grid);
        assert_eq!(body["input"][0]["content"][0]["text"], "door");
        assert_eq!(body["input"][0]["content"][1]["data"], "Zw==");
        assert_eq!(body["input"][0]["content"].as_array().unwrap().len(), 2);
        assert_eq!(body["generation_config"], json!({"video_config": {"task": "image_to_video"}}));
    }

    #[test]
    fn image_bodies_nest_the_config_and_inline_references() {
        let request = ImageRequest {
            prompt: "alley".into(),
            width: 2560,
            height: 1440,
            count: 2,
            panels: 1,
            references: vec![png("r")],
            model: None,
            card: None,
            vendor_label: false,
        };
        let body = image_body("gemini-3.1-flash-image", &request);
        assert_eq!(body["generationConfig"]["imageConfig"], json!({"aspectRatio": "16:9", "imageSize": "2K"}));
        assert_eq!(body["contents"][0]["parts"][1]["inlineData"], json!({"mimeType": "image/png", "data": "cg=="}));
        assert!(body.get("n").is_none() && body["generationConfig"].get("candidateCount").is_none());
    }

    #[test]
    fn errors_map_by_status_reason_and_quota() {
        let bad_key = json!({"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT", "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]}});
        assert!(matches!(error_from(400, &bad_key, None), ProviderError::NotConfigured { .. }));
        let throttled = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                         "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"}]}});
        assert_eq!(
            error_from(429, &throttled, Some(Duration::from_secs(1))),
            ProviderError::Transient {
                message: "gemini: You exceeded your current quota, please check your plan and billing details. \
                          (RESOURCE_EXHAUSTED)"
                    .into(),
                retry_after: Some(Duration::from_secs(42)),
            }
        );
        let mut daily = throttled.clone();
        daily["error"]["details"][0]["violations"][0]["quotaId"] = json!("GenerateRequestsPerDayPerProjectPerModel");
        assert!(matches!(error_from(429, &daily, None), ProviderError::OutOfCredit { .. }));
        let no_hint = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "busy"}});
        assert!(matches!(
            error_from(429, &no_hint, Some(Duration::from_secs(7))),
            ProviderError::Transient { retry_after: Some(d), .. } if d == Duration::from_secs(7)
        ));
        let overloaded =
            json!({"error": {"code": 503, "status": "UNAVAILABLE", "message": "The model is overloaded."}});
        assert!(matches!(error_from(503, &overloaded, None), ProviderError::Transient { .. }));
        let denied = json!({"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "leaked key"}});
        assert!(matches!(error_from(403, &denied, None), ProviderError::NotConfigured { .. }));
        let invalid = json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "bad field"}});
        assert!(matches!(error_from(400, &invalid, None), ProviderError::Permanent { .. }));
        let page = Value::String("<html>Bad Gateway</html>".into());
        assert!(
            matches!(error_from(502, &page, None), ProviderError::Transient { message, .. } if message.contains("Bad Gateway"))
        );
    }

    #[test]
    fn text_answers_refusals_and_blanks() {
        let answer = json!({"candidates": [{"content": {"role": "model", "parts": [
                {"text": "thinking…", "thought": true}, {"text": "{\"a\":"}, {"text": "1}"}]},
            "finishReason": "STOP"}], "usageMetadata": {"totalTokenCount": 125}, "modelVersion": "gemini-3.5-flash"});
        let output = read_text(&answer, "m").unwrap();
        assert_eq!((output.text.as_str(), output.units, output.model.as_str()), ("{\"a\":1}", 125, "gemini-3.5-flash"));
        let blocked = json!({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}});
        assert!(matches!(read_text(&blocked, "m"), Err(ProviderError::Permanent { .. })));
        let unsafe_answer = json!({"candidates": [{"finishReason": "SAFETY"}]});
        assert!(matches!(read_text(&unsafe_answer, "m"), Err(ProviderError::Permanent { .. })));
        let blank = json!({"candidates": [{"content": {"parts": [{"text": " "}]}, "finishReason": "STOP"}]});
        assert!(matches!(read_text(&blank, "m"), Err(ProviderError::Transient { .. })));
        let cut = json!({"candidates": [{"content": {"parts": [{"text": "{\"a\""}]}, "finishReason": "MAX_TOKENS"}]});
        assert!(matches!(read_text(&cut, "m"), Err(ProviderError::Transient { .. })));
        assert!(matches!(read_text(&json!({}), "m"), Err(ProviderError::Malformed { .. })));
    }

    #[test]
    fn image_answers_skip_thoughts_and_treat_no_image_as_refusal() {
        let answer = json!({"candidates": [{"content": {"parts": [
            {"text": "Here it is."},
            {"inlineData": {"mimeType": "image/png", "data": "ZHJhZnQ="}, "thought": true},
            {"inlineData": {"mimeType": "image/jpeg", "data": "aGk="}}]}, "finishReason": "STOP"}]});
        let images = read_images(&answer).unwrap();
        assert_eq!(images.len(), 1);
        assert!(
            matches!(&images[0], Media::Bytes { bytes, content_type } if &bytes[..] == b"hi" && content_type == "image/jpeg")
        );
        let refused = json!({"candidates": [{"finishReason": "IMAGE_SAFETY"}]});
        assert!(
            matches!(read_images(&refused), Err(ProviderError::Permanent { message }) if message.contains("IMAGE_SAFETY"))
        );
        let text_only =
            json!({"candidates": [{"content": {"parts": [{"text": "I can't draw that."}]}, "finishReason": "STOP"}]});
        assert!(
            matches!(read_images(&text_only), Err(ProviderError::Permanent { message }) if message.contains("can't draw"))
        );
    }

    #[test]
    fn interactions_map_to_running_done_failed_and_refused() {
        assert_eq!(read_interaction(&json!({"id": "v1", "status": "in_progress"})).unwrap(), InteractionState::Running);
        assert_eq!(read_interaction(&json!({"id": "v1", "status": "queued"})).unwrap(), InteractionState::Running);
        let uri = "https://example.test/v1beta/files/x:download?alt=media";
        let done = json!({"status": "completed", "steps": [
            {"type": "thought", "summary": []},
            {"type": "model_output", "content": [{"type": "video", "uri": uri, "mime_type": "video/mp4"}]}],
            "usage": {"output_tokens_by_modality": [{"modality": "text", "tokens": 3}, {"modality": "video", "tokens": 46336}]}});
        assert_eq!(read_interaction(&done).unwrap(), InteractionState::Uri(uri.into()));
        assert_eq!(video_tokens(&done), Some(46_336));
        let inline = json!({"status": "completed", "steps": [{"type": "model_output", "content": [{"type": "video", "data": "AAAA"}]}]});
        assert_eq!(read_interaction(&inline).unwrap(), InteractionState::Inline("AAAA".into()));
        let failed = json!({"status": "failed", "errors": [{"code": "internal", "message": "the render crashed"}]});
        assert!(
            matches!(read_interaction(&failed), Err(ProviderError::Permanent { message }) if message.contains("render crashed") && !message.contains("content policy"))
        );
        let blocked = json!({"status": "failed", "steps": [{"type": "model_output", "error": {"code": 3,
            "message": "The input image was blocked.", "details": [{"reason": "IMAGE_SAFETY"}]}}]});
        assert!(
            matches!(read_interaction(&blocked), Err(ProviderError::Permanent { message }) if message.contains("content policy") && message.contains("was blocked"))
        );
        let words = json!({"status": "completed", "steps": [{"type": "model_output", "content": [{"type": "text", "text": "I can't make that clip."}]}]});
        assert!(
            matches!(read_interaction(&words), Err(ProviderError::Permanent { message }) if message.contains("can't make that clip"))
        );
        assert!(matches!(read_interaction(&json!({"status": "completed"})), Err(ProviderError::Malformed { .. })));
        assert!(matches!(
            read_interaction(&json!({"status": "requires_action"})),
            Err(ProviderError::Malformed { .. })
        ));
    }

    #[test]
    fn pages_are_not_videos() {
        assert!(looks_like_video(b"\0\0\0\x20ftypisom"));
        assert!(!looks_like_video(b""));
        assert!(!looks_like_video(b"\n<html><body>502 Bad Gateway</body></html>"));
        assert!(!looks_like_video(b"{\"error\": {}}"));
    }

    #[test]
    fn keys_go_only_to_the_vendor_host_and_names_stay_names() {
        assert!(same_origin("https://generativelanguage.googleapis.com/v1beta/files/a:download", BASE_URL));
        assert!(!same_origin("https://storage.example.com/a.mp4", BASE_URL));
        assert!(!same_origin("http://generativelanguage.googleapis.com/v1beta/files/a", BASE_URL));
        assert_eq!(interaction_id("v1_ChdYb3Vy-abc").unwrap(), "v1_ChdYb3Vy-abc");
        assert!(interaction_id("https://elsewhere.test/x").is_err());
        assert!(interaction_id("../x").is_err());
        assert!(interaction_id("a?b").is_err());
        assert!(
            matches!(interaction_id("models/veo-3.1-generate-preview/operations/7q"), Err(ProviderError::Permanent { message }) if message.contains("retry the task"))
        );
    }
}
