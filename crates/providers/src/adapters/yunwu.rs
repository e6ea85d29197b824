//! Yunwu (云雾), an OpenAI-compatible relay with one `sk-…` key for every route: Chat Completions
//! with `json_object`, images through `/v1/images/generations` (GPT image answers `b64_json` or a
//! `url`; Seedream takes Ark's body with data-URI references) or `/v1/images/edits` (multipart
//! references), and video through the unified `/v1/video/create` + `/v1/video/query` format,
//! whose frames must be links. Errors are new-api's `{"error": {"message", "type", "code"}}`.
//! See `shared/providers/yunwu.md`.

use crate::adapters::{doubao, kling, minimax, openai};
use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, ProviderError, TextModel, TextOutput,
    TextRequest, Usage, VideoFrames, VideoJob, VideoModel, VideoPoll, VideoRequest,
};
use crate::net::chat::{self, AnswerFormat, ChatDialect};
use crate::net::images::nearest_ratio;
use crate::net::{Answer, Auth, Classified, Transport, api_key, base_url, classify, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

pub const NAME: &str = "yunwu";
pub const BASE_URL: &str = "https://yunwu.ai";
pub const TEXT_MODEL: &str = "gpt-5-mini";
pub const IMAGE_MODEL: &str = "gpt-image-2";
/// Veo 3 from a first frame: the default for clips with a start keyframe.
pub const VIDEO_MODEL: &str = "veo3-fast-frames";
/// Veo 2 with first and last frames: the default for clips with both keyframes.
pub const START_END_MODEL: &str = "veo2-fast-frames";
/// Veo 3.1 from reference images ("components"): the default for a storyboard grid.
pub const REFERENCE_MODEL: &str = "veo3.1-components";

const DIALECT: ChatDialect = ChatDialect {
    provider: NAME,
    path: "/v1/chat/completions",
    answer_format: AnswerFormat::JsonObject,
    max_tokens_field: "max_tokens",
    extra: None,
};

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(Yunwu { transport });
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

pub struct Yunwu {
    transport: Transport,
}

/// Whether a model is one of OpenAI's reasoning models, which refuse `max_tokens` and take
/// `max_completion_tokens` instead.
pub fn takes_max_completion_tokens(model: &str) -> bool {
    let model = model.rsplit('/').next().unwrap_or(model);
    model.starts_with("gpt-5") || ["o1", "o3", "o4"].iter().any(|series| model.starts_with(series))
}

fn dialect(model: &str) -> ChatDialect {
    let field = if takes_max_completion_tokens(model) { "max_completion_tokens" } else { "max_tokens" };
    ChatDialect { max_tokens_field: field, ..DIALECT }
}

/// The host calls go to. Routes carry their own `/v1`, so a base entered as
/// `https://yunwu.ai/v1` (as OpenAI clients are set up) is taken without it.
/// What a model the relay lists is for: OpenAI's by OpenAI's rules, Seedream paints, the video
/// families animate.
pub fn capability_of(id: &str) -> Option<Capability> {
    let video = ["veo", "kling", "seedance", "hailuo", "jimeng-video", "grok-video", "sora"];
    if id.starts_with("doubao-seedream") {
        Some(Capability::Image)
    } else if video.iter().any(|family| id.contains(family)) {
        Some(Capability::Video)
    } else {
        openai::capability_of(id).filter(|c| *c != Capability::Speech)
    }
}

#[async_trait::async_trait]
impl crate::catalog::ModelCatalog for Yunwu {
    async fn list_models(&self, credentials: &Credentials) -> Result<Vec<crate::catalog::ListedModel>, ProviderError> {
        let url = format!("{}/v1/models", api_base(credentials));
        chat::list_models(&self.transport, NAME, &url, &auth(credentials)?, capability_of).await
    }
}

fn api_base(credentials: &Credentials) -> String {
    let base = base_url(credentials, BASE_URL);
    match base.strip_suffix("/v1") {
        Some(host) => host.to_owned(),
        None => base,
    }
}

fn auth(credentials: &Credentials) -> Result<Auth, ProviderError> {
    Ok(Auth::Bearer(api_key(NAME, credentials)?.into()))
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Classifies a relay error. `model_not_found` (503) means the token's group has no channel for
/// the model: retrying does not help until the console changes, so it is permanent.
pub fn classify_relay(error: Classified) -> ProviderError {
    let no_channel = error.code.as_deref() == Some("model_not_found")
        || error.message.contains("No available channel")
        || error.message.contains("无可用渠道");
    if no_channel {
        return ProviderError::Permanent {
            message: format!(
                "{NAME}: {} — Yunwu has no channel for this model in the token's group; choose another model or \
                 enable it in the Yunwu console",
                error.message
            ),
        };
    }
    classify(NAME, error)
}

/// Reads new-api's `{"error": {…}}`, or an upstream body passed through (`{code, message}`).
pub fn relay_error(answer: &Answer) -> ProviderError {
    let body = answer.json(NAME).unwrap_or(Value::Null);
    let error = body.get("error").filter(|e| e.is_object()).unwrap_or(&body);
    let message = error
        .get("message")
        .or_else(|| body.get("error").filter(|e| e.is_string()))
        .and_then(Value::as_str)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(&answer.body);
            format!("HTTP {}: {}", answer.status.as_u16(), crate::net::transport::excerpt(&text))
        });
    let text_of = |value: &Value| value.as_str().map(str::to_owned).or_else(|| value.as_i64().map(|n| n.to_string()));
    let code = error.get("code").and_then(text_of).filter(|c| !c.is_empty());
    let code = code.or_else(|| error.get("type").and_then(text_of).filter(|t| !t.is_empty()));
    classify_relay(Classified { status: answer.status.as_u16(), code, message, retry_after: answer.retry_after })
}

// ---------------------------------------------------------------------------------------------
// Text

#[async_trait::async_trait]
impl TextModel for Yunwu {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let auth = auth(credentials)?;
        let model = model(request.model.as_deref(), TEXT_MODEL);
        let url = format!("{}{}", api_base(credentials), DIALECT.path);
        let call = self.transport.post(NAME, &url)?.json(&chat::body(&dialect(&model), &model, request));
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        chat::read_answer(NAME, &answer.json(NAME)?, &model)
    }
}

// ---------------------------------------------------------------------------------------------
// Images

fn is_seedream(model: &str) -> bool {
    model.starts_with("doubao-seedream")
}

/// The `size` and `n` an OpenAI-style image model takes (DALL·E 3: three sizes, one image).
pub fn openai_style_size(model: &str, width: u32, height: u32, count: u8) -> (String, u8) {
    if model.starts_with("dall-e-3") {
        let size = match width.cmp(&height) {
            std::cmp::Ordering::Greater => "1792x1024",
            std::cmp::Ordering::Less => "1024x1792",
            std::cmp::Ordering::Equal => "1024x1024",
        };
        return (size.into(), 1);
    }
    (openai::image_size(model, width, height), count.clamp(1, 9))
}

fn edits_form(model: &str, request: &ImageRequest) -> Result<reqwest::multipart::Form, ProviderError> {
    let (size, n) = openai_style_size(model, request.width, request.height, request.count);
    crate::net::images::edits_form(NAME, model, &request.prompt, n, size, &request.references)
}

#[async_trait::async_trait]
impl ImageModel for Yunwu {
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let auth = auth(credentials)?;
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let base = api_base(credentials);
        let call = if is_seedream(&model) {
            // Ark's body, relayed as is; references go inline as data URIs.
            let mut inline = request.clone();
            inline.references.iter_mut().for_each(|r| r.url = None);
            self.transport
                .post(NAME, &format!("{base}/v1/images/generations"))?
                .json(&doubao::seedream_body(&model, &inline))
        } else if request.references.is_empty() {
            let (size, n) = openai_style_size(&model, request.width, request.height, request.count);
            let body = json!({"model": model, "prompt": request.prompt, "n": n, "size": size});
            self.transport.post(NAME, &format!("{base}/v1/images/generations"))?.json(&body)
        } else {
            self.transport.post(NAME, &format!("{base}/v1/images/edits"))?.multipart(edits_form(&model, request)?)
        };
        let answer = self.transport.for_images().send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        let body = answer.json(NAME)?;
        // `b64_json`, `url`, or (Seedream groups) per-image errors.
        let images = doubao::read_images(NAME, &body)?;
        Ok(ImageOutput { images, model, usage: Usage::default() })
    }
}

// ---------------------------------------------------------------------------------------------
// Video: the vendors' own formats passed through (Kling, Volcengine, MiniMax), else the unified format

/// A vendor whose own video route Yunwu relays under a prefix, with the relay's token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Passthrough {
    /// `/kling/v1/videos/image2video`: Kling's body and envelope, no JWT.
    Kling,
    /// `/volc/v1/contents/generations/tasks`: Ark's Seedance task as is.
    Volc,
    /// `/minimax/v1/video_generation`: MiniMax's body; the query answers in new-api's task
    /// envelope with the file's link inside (no `files/retrieve`).
    Minimax,
}

impl Passthrough {
    /// The route family a model goes through, if it is a passed-through vendor's.
    pub fn of(model: &str) -> Option<Self> {
        if model.starts_with("kling-v") {
            Some(Self::Kling)
        } else if model.starts_with("doubao-seedance") {
            Some(Self::Volc)
        } else if model.starts_with("MiniMax-Hailuo") || model.starts_with("I2V-01") {
            Some(Self::Minimax)
        } else {
            None
        }
    }

    /// The prefix of its job ids, so a poll knows the route.
    fn prefix(self) -> &'static str {
        match self {
            Self::Kling => "via-kling:",
            Self::Volc => "via-volc:",
            Self::Minimax => "via-minimax:",
        }
    }

    fn tasks_path(self) -> &'static str {
        match self {
            Self::Kling => "/kling/v1/videos/image2video",
            Self::Volc => "/volc/v1/contents/generations/tasks",
            Self::Minimax => "/minimax/v1/video_generation",
        }
    }

    /// Where a task is polled: the tasks path and its id, but MiniMax's query route by parameter.
    fn poll_url(self, base: &str, task_id: &str) -> Result<Url, ProviderError> {
        let bad = |e: url::ParseError| ProviderError::Permanent { message: format!("{NAME}: a bad base URL ({e})") };
        match self {
            Self::Minimax => {
                let mut url = Url::parse(&format!("{base}/minimax/v1/query/video_generation")).map_err(bad)?;
                url.query_pairs_mut().append_pair("task_id", task_id);
                Ok(url)
            }
            _ => Url::parse(&format!("{base}{}/{task_id}", self.tasks_path())).map_err(bad),
        }
    }

    fn body(self, model: &str, request: &VideoRequest) -> Result<Value, ProviderError> {
        match self {
            Self::Kling => Ok(kling::video_body(request, model)),
            Self::Volc => doubao::seedance_body(model, request),
            Self::Minimax => Ok(minimax::video_body(request, model)),
        }
    }

    /// The created task's id: Kling's `data.task_id` (or, from some relay versions, a top-level
    /// `task_id` / `id`), Ark's `id`.
    fn created_id(self, answer: &Value) -> Result<String, ProviderError> {
        let id = match self {
            Self::Kling => {
                answer.get("data").filter(|d| d.get("task_id").is_some()).map(kling::task_id).unwrap_or_else(|| {
                    kling::task_id(&json!({"task_id": answer.get("task_id").or_else(|| answer.get("id"))}))
                })
            }
            Self::Volc => answer
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no task id") }),
            Self::Minimax => minimax::id_of(answer.get("task_id"))
                .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no task_id") }),
        }?;
        if kling::valid_task_id(&id) {
            Ok(id)
        } else {
            Err(ProviderError::Malformed { message: format!("{NAME}: task id '{id}' is not an id") })
        }
    }

    fn read(self, answer: &Value) -> Result<VideoPoll, ProviderError> {
        match self {
            Self::Kling => kling::read_video_task(answer.get("data").unwrap_or(answer)),
            Self::Volc => doubao::read_task(NAME, answer),
            Self::Minimax => read_minimax_task(answer),
        }
    }

    /// The route and task id of a passed-through job's id.
    fn parse(job_id: &str) -> Option<(Self, &str)> {
        [Self::Kling, Self::Volc, Self::Minimax]
            .into_iter()
            .find_map(|route| job_id.strip_prefix(route.prefix()).map(|id| (route, id)))
    }
}

/// A MiniMax task in new-api's envelope: the relay's own status outside (`NOT_START` …
/// `SUCCESS`, `FAILURE`), MiniMax's task inside with the file and its link once done.
pub fn read_minimax_task(answer: &Value) -> Result<VideoPoll, ProviderError> {
    let task = answer.get("data").unwrap_or(&Value::Null);
    let inner = task.get("data").unwrap_or(&Value::Null);
    match task.get("status").and_then(Value::as_str).unwrap_or_default() {
        "SUCCESS" => {
            let url = inner.pointer("/file/download_url").and_then(Value::as_str).filter(|u| !u.is_empty());
            let url = url.ok_or_else(|| ProviderError::Malformed {
                message: format!("{NAME}: the finished MiniMax task holds no file link"),
            })?;
            Ok(VideoPoll::done(Media::Url(url.to_owned())))
        }
        "FAILURE" => {
            let code = inner.pointer("/base_resp/status_code").and_then(Value::as_i64).filter(|c| *c != 0);
            let reason = task.get("fail_reason").and_then(Value::as_str).filter(|r| !r.is_empty());
            let message = reason.unwrap_or("the task failed");
            Err(match code {
                Some(code) => minimax::error_of(200, code, message, None),
                None => ProviderError::Permanent { message: format!("{NAME}: the MiniMax task failed: {message}") },
            })
        }
        "NOT_START" | "SUBMITTED" | "QUEUED" | "IN_PROGRESS" | "UNKNOWN" | "" => {
            let progress = task
                .get("progress")
                .and_then(Value::as_str)
                .and_then(|p| p.trim_end_matches('%').parse::<u8>().ok())
                .filter(|p| *p > 0);
            Ok(VideoPoll::Running { progress })
        }
        other => Err(ProviderError::Malformed { message: format!("{NAME}: unknown task status '{other}'") }),
    }
}

impl Yunwu {
    async fn submit_passthrough(
        &self,
        route: Passthrough,
        model: String,
        request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoJob, ProviderError> {
        let body = route.body(&model, request)?;
        let url = format!("{}{}", api_base(credentials), route.tasks_path());
        let call = self.transport.post(NAME, &url)?.json(&body);
        let answer = self.transport.send(NAME, auth(credentials)?.apply(call)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        let created = match route {
            // MiniMax says no with HTTP 200 and a `base_resp` code, passed through.
            Passthrough::Minimax => minimax::read(&answer)?,
            _ => answer.json(NAME)?,
        };
        let id = route.created_id(&created)?;
        Ok(VideoJob { job_id: format!("{}{id}", route.prefix()), model })
    }

    async fn poll_passthrough(
        &self,
        route: Passthrough,
        task_id: &str,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        if !kling::valid_task_id(task_id) {
            return Err(ProviderError::Permanent { message: format!("{NAME}: '{task_id}' is not a task id") });
        }
        let url = route.poll_url(&api_base(credentials), task_id)?;
        let answer =
            self.transport.send(NAME, auth(credentials)?.apply(self.transport.get(NAME, url.as_str())?)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        route.read(&answer.json(NAME)?)
    }
}

/// The model a clip is made with: the one asked for, unless it is the default, which is then
/// chosen by the frames (start only → Veo 3 frames, start + end → Veo 2 frames, grid → components).
pub fn video_model(requested: Option<&str>, frames: &VideoFrames) -> String {
    match requested.map(str::trim).filter(|m| !m.is_empty() && *m != VIDEO_MODEL) {
        Some(chosen) => chosen.to_owned(),
        None => match frames {
            VideoFrames::Start(_) => VIDEO_MODEL.into(),
            VideoFrames::StartEnd(..) => START_END_MODEL.into(),
            VideoFrames::Grid { .. } => REFERENCE_MODEL.into(),
        },
    }
}

/// The aspect ratios a unified-format model takes.
pub fn aspect_ratio(model: &str, width: u32, height: u32) -> &'static str {
    if model.starts_with("jimeng") {
        nearest_ratio(width, height, &["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"])
    } else if model.starts_with("grok") {
        nearest_ratio(width, height, &["3:2", "2:3", "1:1"])
    } else {
        nearest_ratio(width, height, &["16:9", "9:16"])
    }
}

/// The frames' links. The unified route takes no image bytes, so a frame without a link fails.
pub fn frame_links(frames: &VideoFrames) -> Result<Vec<String>, ProviderError> {
    let inputs: Vec<&MediaInput> = match frames {
        VideoFrames::Start(start) => vec![start],
        VideoFrames::StartEnd(start, end) => vec![start, end],
        VideoFrames::Grid { image, .. } => vec![image],
    };
    inputs
        .into_iter()
        .map(|input| {
            input.url.clone().filter(|u| u.starts_with("https://") || u.starts_with("http://")).ok_or_else(|| {
                ProviderError::Permanent {
                    message: format!(
                        "{NAME}: the unified video route (/v1/video/create) takes frames only as links, and a \
                         keyframe has none; configure public storage links or choose another video provider"
                    ),
                }
            })
        })
        .collect()
}

pub fn video_body(model: &str, request: &VideoRequest) -> Result<Value, ProviderError> {
    let mut body = json!({
        "model": model,
        "prompt": request.prompt,
        "aspect_ratio": aspect_ratio(model, request.width, request.height),
        "images": frame_links(&request.frames)?,
    });
    if model.starts_with("veo") {
        // Veo takes English prompts best; Yunwu translates when asked.
        body["enhance_prompt"] = json!(true);
    }
    Ok(body)
}

const SUCCEEDED: [&str; 5] =
    ["success", "succeeded", "completed", "video_generation_completed", "video_upsampling_completed"];

fn text_of(value: Option<&Value>) -> Option<String> {
    let value = value?;
    value
        .as_str()
        .or_else(|| value.get("message").and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Maps a query answer onto a poll: success with a link is done, a failure ends the job, anything
/// else is still running.
pub fn read_query(body: &Value) -> Result<VideoPoll, ProviderError> {
    let status = body
        .get("status")
        .or_else(|| body.pointer("/detail/status"))
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the task has no status") })?
        .to_ascii_lowercase();
    let url = [body.get("video_url"), body.pointer("/detail/generations/0/url"), body.get("url")]
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find(|u| !u.is_empty());
    if let (true, Some(url)) = (SUCCEEDED.contains(&status.as_str()), url) {
        return Ok(VideoPoll::done(Media::Url(url.to_owned())));
    }
    if status.contains("fail") || status == "error" {
        let message = text_of(body.get("error"))
            .or_else(|| text_of(body.get("fail_reason")))
            .or_else(|| text_of(body.pointer("/detail/error")))
            .or_else(|| text_of(body.get("message")))
            .unwrap_or_else(|| format!("the generation ended '{status}'"));
        // A failed job stays failed: it is permanent whatever the message.
        return Err(match classify(NAME, Classified { status: 400, code: None, message, retry_after: None }) {
            permanent @ ProviderError::Permanent { .. } => permanent,
            other => ProviderError::Permanent { message: other.to_string() },
        });
    }
    let progress = [body.get("progress"), body.pointer("/detail/progress_pct")]
        .into_iter()
        .flatten()
        .find_map(|p| p.as_f64().or_else(|| p.as_str().and_then(|s| s.trim().trim_end_matches('%').parse().ok())));
    Ok(VideoPoll::Running { progress: progress.map(|p| p.clamp(0.0, 100.0) as u8) })
}

#[async_trait::async_trait]
impl VideoModel for Yunwu {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError> {
        let model = video_model(request.model.as_deref(), &request.frames);
        if let Some(route) = Passthrough::of(&model) {
            return self.submit_passthrough(route, model, request, credentials).await;
        }
        let auth = auth(credentials)?;
        let body = video_body(&model, request)?;
        let call = self.transport.post(NAME, &format!("{}/v1/video/create", api_base(credentials)))?.json(&body);
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        let created = answer.json(NAME)?;
        match created.get("id").or_else(|| created.get("task_id")).and_then(Value::as_str).filter(|id| !id.is_empty()) {
            Some(id) => Ok(VideoJob { job_id: id.to_owned(), model }),
            None => match text_of(created.get("error")).or_else(|| text_of(created.get("message"))) {
                Some(message) => {
                    Err(classify_relay(Classified { status: 400, code: None, message, retry_after: None }))
                }
                None => Err(ProviderError::Malformed { message: format!("{NAME}: the answer has no task id") }),
            },
        }
    }

    /// Queries with the id exactly as the submission returned it (model prefix included).
    async fn poll(
        &self,
        job_id: &str,
        _request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        if let Some((route, task_id)) = Passthrough::parse(job_id) {
            return self.poll_passthrough(route, task_id, credentials).await;
        }
        let auth = auth(credentials)?;
        let call =
            self.transport.get(NAME, &format!("{}/v1/video/query", api_base(credentials)))?.query(&[("id", job_id)]);
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(relay_error(&answer));
        }
        read_query(&answer.json(NAME)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn input(url: Option<&str>) -> MediaInput {
        MediaInput { bytes: Bytes::from_static(b"png"), content_type: "image/png".into(), url: url.map(str::to_owned) }
    }

    fn relay(status: u16, code: &str, message: &str) -> ProviderError {
        classify_relay(Classified { status, code: Some(code.into()), message: message.into(), retry_after: None })
    }

    #[test]
    fn models_follow_the_frames_unless_one_is_chosen() {
        let start = VideoFrames::Start(input(None));
        let both = VideoFrames::StartEnd(input(None), input(None));
        let grid = VideoFrames::Grid { image: input(None), panels: 4 };
        assert_eq!(video_model(None, &start), "veo3-fast-frames");
        assert_eq!(video_model(Some(VIDEO_MODEL), &both), "veo2-fast-frames");
        assert_eq!(video_model(Some(" "), &grid), "veo3.1-components");
        assert_eq!(video_model(Some("jimeng-video-3.0"), &both), "jimeng-video-3.0");
    }

    #[test]
    fn frames_must_be_links() {
        let linked = VideoFrames::StartEnd(input(Some("https://s/a.png")), input(Some("https://s/b.png")));
        assert_eq!(frame_links(&linked).unwrap(), ["https://s/a.png", "https://s/b.png"]);
        let Err(ProviderError::Permanent { message }) = frame_links(&VideoFrames::Start(input(None))) else { panic!() };
        assert!(message.contains("links"), "{message}");
        assert_eq!(aspect_ratio("veo3-fast-frames", 1080, 1440), "9:16");
        assert_eq!(aspect_ratio("jimeng-video-3.0", 1080, 1440), "3:4");
    }

    #[test]
    fn statuses_map_onto_polls() {
        let done = json!({"id": "1", "status": "completed", "video_url": "https://v/a.mp4"});
        assert!(
            matches!(read_query(&done), Ok(VideoPoll::Done { media: Media::Url(u), .. }) if u == "https://v/a.mp4")
        );
        let nested = json!({"status": "success", "detail": {"generations": [{"url": "https://v/b.mp4"}]}});
        assert!(matches!(read_query(&nested), Ok(VideoPoll::Done { .. })));
        let no_link_yet = json!({"status": "video_upsampling_completed"});
        assert!(matches!(read_query(&no_link_yet), Ok(VideoPoll::Running { .. })));
        let running = json!({"status": "video_generating", "progress": "45%"});
        assert!(matches!(read_query(&running), Ok(VideoPoll::Running { progress: Some(45) })));
        assert!(matches!(read_query(&json!({"status": "pending"})), Ok(VideoPoll::Running { progress: None })));
        let failed = json!({"status": "video_generation_failed", "error": "Failure to pass the risk control system"});
        let Err(ProviderError::Permanent { message }) = read_query(&failed) else { panic!() };
        assert!(message.contains("risk control"), "{message}");
        let error = json!({"status": "error", "detail": {"error": {"message": "upstream timeout"}}});
        let Err(ProviderError::Permanent { message }) = read_query(&error) else { panic!() };
        assert!(message.contains("upstream timeout"), "{message}");
        assert!(matches!(read_query(&json!({"id": "x"})), Err(ProviderError::Malformed { .. })));
    }

    #[test]
    fn minimax_tasks_in_the_relays_envelope_are_read() {
        let running = json!({"code": "success", "data": {"status": "IN_PROGRESS", "progress": "40%", "data": {"status": "Processing"}}});
        assert!(matches!(read_minimax_task(&running), Ok(VideoPoll::Running { progress: Some(40) })));
        let done = json!({"code": "success", "data": {"status": "SUCCESS", "data": {"status": "Success",
            "file": {"download_url": "https://cdn.example/output.mp4"}}}});
        assert!(
            matches!(read_minimax_task(&done), Ok(VideoPoll::Done { media: Media::Url(url), .. }) if url == "https://cdn.example/output.mp4")
        );
        let refused = json!({"code": "success", "data": {"status": "FAILURE", "fail_reason": "output new_sensitive",
            "data": {"status": "Fail", "base_resp": {"status_code": 1027, "status_msg": "output new_sensitive"}}}});
        assert!(
            matches!(read_minimax_task(&refused), Err(ProviderError::Permanent { message }) if message.contains("content policy"))
        );
        assert!(matches!(
            read_minimax_task(&json!({"data": {"status": "WHAT"}})),
            Err(ProviderError::Malformed { .. })
        ));
        assert_eq!(Passthrough::of("MiniMax-Hailuo-02"), Some(Passthrough::Minimax));
    }

    #[test]
    fn relay_errors_are_classified() {
        assert!(matches!(
            relay(503, "model_not_found", "No available channel for model x"),
            ProviderError::Permanent { .. }
        ));
        assert!(matches!(relay(401, "", "无效的令牌"), ProviderError::NotConfigured { .. }));
        assert!(matches!(relay(429, "rate_limit_exceeded", "busy"), ProviderError::Transient { .. }));
        assert!(matches!(relay(500, "do_request_failed", "upstream error"), ProviderError::Transient { .. }));
        assert!(matches!(relay(429, "insufficient_quota", "余额不足"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(relay(400, "InputTextRiskDetection", "risky"), ProviderError::Permanent { .. }));
    }

    #[test]
    fn reasoning_models_take_max_completion_tokens() {
        assert!(takes_max_completion_tokens("gpt-5-mini") && takes_max_completion_tokens("o4-mini"));
        assert!(!takes_max_completion_tokens("deepseek-v4-pro") && !takes_max_completion_tokens("gpt-4.1-mini"));
        assert_eq!(dialect("gpt-5-mini").max_tokens_field, "max_completion_tokens");
        assert_eq!(dialect("claude-sonnet-4-5").max_tokens_field, "max_tokens");
    }

    #[test]
    fn sizes_and_bases() {
        assert_eq!(openai_style_size("gpt-image-2", 1920, 1080, 2), ("1920x1072".into(), 2));
        assert_eq!(openai_style_size("dall-e-3", 1080, 1440, 4), ("1024x1792".into(), 1));
        let with = |base: &str| Credentials { base_url: Some(base.into()), ..Credentials::default() };
        assert_eq!(api_base(&Credentials::default()), "https://yunwu.ai");
        assert_eq!(api_base(&with("https://yunwu.ai/v1/")), "https://yunwu.ai");
        assert_eq!(api_base(&with("https://api.yunwu.ai")), "https://api.yunwu.ai");
    }
}
