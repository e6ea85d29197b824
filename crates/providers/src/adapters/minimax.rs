//! MiniMax: chatcompletion_v2 (M-series reasoning models, JSON by prompt, `<think>` stripped),
//! image-01 (synchronous, links, one character reference) and Hailuo video (task → status →
//! `file_id` → files/retrieve → download link) and T2A v2 speech (synchronous, hex-encoded WAV,
//! billed by the characters it reports). Errors usually come as HTTP 200 with a non-zero
//! `base_resp.status_code`, so every answer is checked for both. See `shared/providers/minimax.md`.

use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, ProviderError, SpeechModel, SpeechOutput,
    SpeechRequest, TextModel, TextOutput, TextRequest, Usage, VideoFrames, VideoJob, VideoModel, VideoPoll,
    VideoRequest, VoiceInfo,
};
use crate::net::chat::{self, AnswerFormat, ChatDialect};
use crate::net::images::{data_uri, decode_base64, nearest_ratio};
use crate::net::{Answer, Auth, Classified, Transport, api_key, base_url, classify, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub const NAME: &str = "minimax";
pub const BASE_URL: &str = "https://api.minimax.io";
/// The base URL of keys issued in mainland China (keys are bound to their region).
pub const BASE_URL_CHINA: &str = "https://api.minimaxi.com";
pub const TEXT_MODEL: &str = "MiniMax-M2.5";
pub const IMAGE_MODEL: &str = "image-01";
pub const VIDEO_MODEL: &str = "MiniMax-Hailuo-02";
pub const SPEECH_MODEL: &str = "speech-2.8-hd";
/// The longest text one synchronous T2A call takes, in characters.
const SPEECH_TEXT_LIMIT: usize = 10_000;

/// Some of the system voices (the account's cloned and designed voices work by id too).
pub const VOICES: &[VoiceInfo] = &[
    VoiceInfo { id: "female-shaonv", name: "少女", language: "zh", gender: "female" },
    VoiceInfo { id: "male-qn-qingse", name: "青涩青年", language: "zh", gender: "male" },
    VoiceInfo { id: "female-yujie", name: "御姐", language: "zh", gender: "female" },
    VoiceInfo { id: "male-qn-jingying", name: "精英青年", language: "zh", gender: "male" },
    VoiceInfo { id: "female-chengshu", name: "成熟女性", language: "zh", gender: "female" },
    VoiceInfo { id: "male-qn-badao", name: "霸道青年", language: "zh", gender: "male" },
    VoiceInfo { id: "presenter_female", name: "女性主持人", language: "zh", gender: "female" },
    VoiceInfo { id: "presenter_male", name: "男性主持人", language: "zh", gender: "male" },
    VoiceInfo { id: "English_Graceful_Lady", name: "Graceful Lady", language: "en", gender: "female" },
    VoiceInfo { id: "English_Trustworth_Man", name: "Trustworthy Man", language: "en", gender: "male" },
];

/// The one MiniMax model that takes `response_format` (a `json_schema`); the M-series take JSON
/// by prompt only.
const SCHEMA_MODEL: &str = "MiniMax-Text-01";

/// M-series models take JSON by prompt only: no `response_format`.
const DIALECT: ChatDialect = ChatDialect {
    provider: NAME,
    path: "/v1/text/chatcompletion_v2",
    answer_format: AnswerFormat::Prompt,
    max_tokens_field: "max_completion_tokens",
    extra: None,
};

const IMAGE_RATIOS: [&str; 8] = ["1:1", "16:9", "4:3", "3:2", "2:3", "3:4", "9:16", "21:9"];
const IMAGE_PROMPT_LIMIT: usize = 1500;
const VIDEO_PROMPT_LIMIT: usize = 2000;

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(MiniMax { transport });
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: Some(adapter.clone()),
        image: Some(adapter.clone()),
        video: Some(adapter.clone()),
        speech: Some(adapter),
        default_models: BTreeMap::from([
            (Capability::Text, TEXT_MODEL.into()),
            (Capability::Image, IMAGE_MODEL.into()),
            (Capability::Video, VIDEO_MODEL.into()),
            (Capability::Speech, SPEECH_MODEL.into()),
        ]),
        known_models: Default::default(),
        catalog: None,
    }
}

pub struct MiniMax {
    transport: Transport,
}

impl MiniMax {
    /// Sends a call and answers its body when both the HTTP status and `base_resp` say success.
    async fn send(&self, credentials: &Credentials, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        // One sender for every call; image answers may carry base64 images.
        let answer = self.transport.for_images().send(NAME, auth.apply(request)).await?;
        read(&answer)
    }

    async fn post(&self, credentials: &Credentials, path: &str, body: &Value) -> Result<Value, ProviderError> {
        api_key(NAME, credentials)?;
        let url = format!("{}{path}", base_url(credentials, BASE_URL));
        self.send(credentials, self.transport.post(NAME, &url)?.json(body)).await
    }

    async fn get(&self, credentials: &Credentials, path: &str, query: &[(&str, &str)]) -> Result<Value, ProviderError> {
        api_key(NAME, credentials)?;
        let url = format!("{}{path}", base_url(credentials, BASE_URL));
        self.send(credentials, self.transport.get(NAME, &url)?.query(query)).await
    }
}

/// An answer's body, or its error: `base_resp.status_code` where there is one (HTTP 200 included),
/// else the HTTP status.
pub(crate) fn read(answer: &Answer) -> Result<Value, ProviderError> {
    let status = answer.status.as_u16();
    let body = match answer.json(NAME) {
        Ok(body) => body,
        Err(_) if !answer.is_success() => return Err(chat::openai_style_error(NAME, answer)),
        Err(error) => return Err(error),
    };
    if let Some(code) = body.pointer("/base_resp/status_code").and_then(Value::as_i64).filter(|c| *c != 0) {
        let message = body.pointer("/base_resp/status_msg").and_then(Value::as_str).unwrap_or("error");
        if let Some(trace) = &answer.request_id {
            tracing::debug!(provider = NAME, code, status, trace, message, "the call was refused");
        }
        return Err(error_of(status, code, message, answer.retry_after));
    }
    if !answer.is_success() {
        return Err(chat::openai_style_error(NAME, answer));
    }
    Ok(body)
}

/// MiniMax's `base_resp.status_code` in the common taxonomy (`minimax.md` §2).
pub fn error_of(status: u16, code: i64, message: &str, retry_after: Option<Duration>) -> ProviderError {
    let text = format!("{NAME}: {message} (status code {code})");
    let not_configured = |reason: String| ProviderError::NotConfigured { provider: NAME.into(), reason };
    match code {
        1002 | 2045 => {
            crate::net::observe::throttled(NAME);
            ProviderError::Transient { message: format!("{text} — rate limited"), retry_after }
        }
        1000 | 1001 | 1024 | 1033 => ProviderError::Transient { message: text, retry_after },
        1004 | 2049 => not_configured(format!(
            "the key was refused (keys work only on the host of their region): {message} (status code {code})"
        )),
        2038 => not_configured(format!("the account needs real-name verification: {message} (status code {code})")),
        1008 => ProviderError::OutOfCredit { message: format!("{text} — the account's balance is used up") },
        2056 => ProviderError::OutOfCredit { message: format!("{text} — the plan's usage limit is reached") },
        1026 | 1027 => {
            ProviderError::Permanent { message: format!("{text} — refused by the provider's content policy") }
        }
        2013 | 1039 | 1041 => ProviderError::Permanent { message: text },
        _ => classify(NAME, Classified { status, code: Some(code.to_string()), message: message.into(), retry_after }),
    }
}

/// At most `limit` characters of a prompt.
fn clip_prompt(prompt: &str, limit: usize) -> &str {
    match prompt.char_indices().nth(limit) {
        Some((cut, _)) => &prompt[..cut],
        None => prompt,
    }
}

/// An image as MiniMax takes it: our storage's link where there is one, else a data URI.
fn image_field(input: &MediaInput) -> String {
    input.url.clone().filter(|url| url.starts_with("http")).unwrap_or_else(|| data_uri(input))
}

/// `aspect_ratio` for `width × height`: the nearest of image-01's.
pub fn aspect_ratio(width: u32, height: u32) -> &'static str {
    nearest_ratio(width, height, &IMAGE_RATIOS)
}

pub fn image_body(request: &ImageRequest, model: &str) -> Value {
    let mut body = json!({
        "model": model,
        "prompt": clip_prompt(&request.prompt, IMAGE_PROMPT_LIMIT),
        "aspect_ratio": aspect_ratio(request.width, request.height),
        "n": request.count.clamp(1, 9),
        "response_format": "url",
        "prompt_optimizer": false,
    });
    if let Some(reference) = request.references.first() {
        body["subject_reference"] = json!([{"type": "character", "image_file": image_field(reference)}]);
    }
    body
}

/// The images of an answer: `data.image_urls` (or `data.image_base64`). Images withheld by
/// moderation are counted in `metadata.failed_count` (a string); only all of them withheld fails.
fn read_images(body: &Value) -> Result<Vec<Media>, ProviderError> {
    let strings = |pointer: &str| {
        body.pointer(pointer)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).collect::<Vec<_>>())
    };
    let images = match (strings("/data/image_urls"), strings("/data/image_base64")) {
        (Some(urls), _) if !urls.is_empty() => urls.into_iter().map(|url| Media::Url(url.to_owned())).collect(),
        (_, Some(encoded)) if !encoded.is_empty() => {
            encoded.into_iter().map(|e| decode_base64(NAME, e, "image/jpeg")).collect::<Result<Vec<_>, _>>()?
        }
        _ => Vec::new(),
    };
    let count = |field: &str| {
        let value = body.pointer(&format!("/metadata/{field}"));
        value.and_then(|v| v.as_str().and_then(|s| s.trim().parse().ok()).or_else(|| v.as_u64())).unwrap_or(0u64)
    };
    let failed = count("failed_count");
    if images.is_empty() {
        return Err(if failed > 0 {
            ProviderError::Permanent {
                message: format!("{NAME}: all {failed} images were withheld by the provider's content moderation"),
            }
        } else {
            ProviderError::Malformed { message: format!("{NAME}: the answer holds no image") }
        });
    }
    if failed > 0 {
        tracing::warn!(provider = NAME, failed, delivered = images.len(), "some images were withheld by moderation");
    }
    Ok(images)
}

/// Whether a video model takes an end frame (`last_frame_image`): Hailuo 02 does, 2.3 and the
/// 01 series do not.
fn takes_last_frame(model: &str) -> bool {
    !model.starts_with("MiniMax-Hailuo-2.3") && !is_legacy(model)
}

/// The 01-series video models (`I2V-01`, `T2V-01-Director`, …): 6 s at 720P only.
fn is_legacy(model: &str) -> bool {
    model.contains("-01")
}

/// `duration` (an integer): 6 or 10, whichever is nearer; the 01 series take only 6.
pub fn duration(model: &str, seconds: f64) -> u32 {
    if seconds > 8.0 && !is_legacy(model) { 10 } else { 6 }
}

/// `resolution` for a clip of `seconds` whose frames are `width`×`height`: 1080P where the frames
/// are at least that sharp and the clip is 6 s (Hailuo 02 and 2.3 make 1080P at 6 s only), else
/// 768P, which takes both durations; the 01 series are 720P.
pub fn resolution(model: &str, seconds: f64, width: u32, height: u32) -> &'static str {
    if is_legacy(model) {
        "720P"
    } else if width.min(height) >= 1080 && duration(model, seconds) == 6 {
        "1080P"
    } else {
        "768P"
    }
}

pub fn video_body(request: &VideoRequest, model: &str) -> Value {
    let (first, last) = match &request.frames {
        VideoFrames::Start(first) => (first, None),
        VideoFrames::StartEnd(first, last) => (first, Some(last)),
        VideoFrames::Grid { image, .. } => (image, None),
    };
    let mut body = json!({
        "model": model,
        "prompt": clip_prompt(&request.prompt, VIDEO_PROMPT_LIMIT),
        "first_frame_image": image_field(first),
        "duration": duration(model, request.duration),
        "resolution": resolution(model, request.duration, request.width, request.height),
        "prompt_optimizer": false,
        // The vendor's own AI mark follows the project's label (as Doubao's does).
        "aigc_watermark": request.vendor_label,
    });
    match last {
        Some(last) if takes_last_frame(model) => body["last_frame_image"] = json!(image_field(last)),
        Some(_) => tracing::warn!(provider = NAME, model, "the model takes no end frame; it is left out"),
        None => {}
    }
    body
}

#[derive(Debug, PartialEq)]
enum TaskState {
    Running,
    Succeeded { file_id: String },
    Failed(String),
}

/// A query answer's `status`: `Preparing`, `Queueing`, `Processing`, `Success` (with `file_id`, a
/// string here) or `Fail`.
fn task_state(body: &Value) -> Result<TaskState, ProviderError> {
    match body.get("status").and_then(Value::as_str).unwrap_or_default() {
        "Preparing" | "Queueing" | "Processing" => Ok(TaskState::Running),
        "Success" => match id_of(body.get("file_id")) {
            Some(file_id) => Ok(TaskState::Succeeded { file_id }),
            None => Err(ProviderError::Malformed { message: format!("{NAME}: a finished task has no file_id") }),
        },
        "Fail" => {
            let message = body.pointer("/base_resp/status_msg").and_then(Value::as_str).unwrap_or_default();
            let message = if message.trim().is_empty() || message == "success" { "no reason given" } else { message };
            Ok(TaskState::Failed(message.into()))
        }
        other => Err(ProviderError::Malformed { message: format!("{NAME}: unknown task status '{other}'") }),
    }
}

/// An id MiniMax gives as a string in one answer and as an integer in another.
pub(crate) fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_owned()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// The chat body: the answer's schema for the model that takes one, JSON by prompt for the rest.
pub fn chat_body(model: &str, request: &TextRequest) -> Value {
    let format = if model == SCHEMA_MODEL { AnswerFormat::Schema } else { AnswerFormat::Prompt };
    chat::body(&ChatDialect { answer_format: format, ..DIALECT }, model, request)
}

#[async_trait::async_trait]
impl TextModel for MiniMax {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let model = model(request.model.as_deref(), TEXT_MODEL);
        let body = self.post(credentials, DIALECT.path, &chat_body(&model, request)).await?;
        chat::read_answer(NAME, &body, &model)
    }
}

#[async_trait::async_trait]
impl ImageModel for MiniMax {
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let body = self.post(credentials, "/v1/image_generation", &image_body(request, &model)).await?;
        Ok(ImageOutput { images: read_images(&body)?, model, usage: Usage::default() })
    }
}

/// The T2A v2 body: WAV, mono, hex in the answer; speed, pitch and emotion where asked for.
pub fn speech_body(request: &SpeechRequest, model: &str, voice: &str) -> Result<Value, ProviderError> {
    if request.text.chars().count() > SPEECH_TEXT_LIMIT {
        return Err(ProviderError::Permanent {
            message: format!("{NAME}: a line may be at most {SPEECH_TEXT_LIMIT} characters"),
        });
    }
    let mut setting = json!({"voice_id": voice, "speed": request.voice.speed.unwrap_or(1.0).clamp(0.5, 2.0),
                             "vol": 1.0, "pitch": request.voice.pitch.unwrap_or(0).clamp(-12, 12)});
    if let Some(emotion) = &request.voice.emotion {
        setting["emotion"] = json!(emotion);
    }
    Ok(json!({
        "model": model,
        "text": request.text,
        "stream": false,
        "voice_setting": setting,
        "audio_setting": {"sample_rate": 32000, "format": "wav", "channel": 1},
        "output_format": "hex",
    }))
}

/// The audio of a T2A answer (`data.audio`, hex) and the characters it was billed.
fn read_speech(body: &Value) -> Result<(bytes::Bytes, Option<i64>), ProviderError> {
    let audio = body
        .pointer("/data/audio")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no data.audio") })?;
    let bytes = hex::decode(audio)
        .map_err(|e| ProviderError::Malformed { message: format!("{NAME}: data.audio is not hex: {e}") })?;
    Ok((bytes.into(), Usage::count_at(body, "/extra_info/usage_characters")))
}

#[async_trait::async_trait]
impl SpeechModel for MiniMax {
    async fn synthesize(
        &self,
        request: &SpeechRequest,
        credentials: &Credentials,
    ) -> Result<SpeechOutput, ProviderError> {
        let model = model(request.model.as_deref(), SPEECH_MODEL);
        let voice = request.voice.voice_id.clone().unwrap_or_else(|| self.default_voice(&request.language).into());
        let body = self.post(credentials, "/v1/t2a_v2", &speech_body(request, &model, &voice)?).await?;
        let (bytes, characters) = read_speech(&body)?;
        let content_type = if bytes.starts_with(b"RIFF") { "audio/wav" } else { "audio/mpeg" };
        Ok(SpeechOutput {
            audio: Media::Bytes { bytes, content_type: content_type.into() },
            model,
            usage: Usage { characters, ..Usage::default() },
        })
    }

    fn voices(&self) -> &'static [VoiceInfo] {
        VOICES
    }
}

#[async_trait::async_trait]
impl VideoModel for MiniMax {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError> {
        let model = model(request.model.as_deref(), VIDEO_MODEL);
        let body = self.post(credentials, "/v1/video_generation", &video_body(request, &model)).await?;
        let job_id = id_of(body.get("task_id"))
            .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no task_id") })?;
        Ok(VideoJob { job_id, model })
    }

    async fn poll(
        &self,
        job_id: &str,
        request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError> {
        let body = self.get(credentials, "/v1/query/video_generation", &[("task_id", job_id)]).await?;
        match task_state(&body)? {
            TaskState::Running => Ok(VideoPoll::Running { progress: None }),
            TaskState::Failed(message) => {
                Err(ProviderError::Permanent { message: format!("{NAME}: the task failed: {message}") })
            }
            TaskState::Succeeded { file_id } => {
                let file = self.get(credentials, "/v1/files/retrieve", &[("file_id", &file_id)]).await?;
                let url = file.pointer("/file/download_url").and_then(Value::as_str).filter(|u| !u.is_empty());
                let url = url.ok_or_else(|| ProviderError::Malformed {
                    message: format!("{NAME}: the file {file_id} has no download_url"),
                })?;
                let model = model(request.model.as_deref(), VIDEO_MODEL);
                let usage = self.expected_usage(&model, request.duration, request.width, request.height);
                Ok(VideoPoll::Done { media: Media::Url(url.to_owned()), usage, seed: None })
            }
        }
    }

    /// Hailuo is priced per clip by duration and resolution: the tier the clip was made at.
    fn expected_usage(&self, model: &str, seconds: f64, width: u32, height: u32) -> Usage {
        Usage { resolution: Some(resolution(model, seconds, width, height)), ..Usage::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_01_is_sent_the_answer_schema() {
        let request = TextRequest {
            task: crate::TextTask::GenerateScript { idea: "i".into(), genre: "g".into(), duration_secs: 60 },
            language: "zh".into(),
            visual_style: "anime".into(),
            system: "s".into(),
            user: "u".into(),
            model: None,
        };
        let body = chat_body(SCHEMA_MODEL, &request);
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["schema"]["type"], "object");
        assert!(body["response_format"]["json_schema"].get("strict").is_none());
        assert!(chat_body(TEXT_MODEL, &request).get("response_format").is_none());
    }

    fn input() -> MediaInput {
        MediaInput { bytes: bytes::Bytes::from_static(b"png"), content_type: "image/PNG".into(), url: None }
    }

    #[test]
    fn ratios_durations_and_resolutions() {
        assert_eq!(aspect_ratio(2560, 1440), "16:9");
        assert_eq!(aspect_ratio(1080, 1440), "3:4");
        assert_eq!(aspect_ratio(1440, 2560), "9:16");
        assert_eq!(aspect_ratio(2520, 1080), "21:9");
        assert_eq!(duration("MiniMax-Hailuo-02", 5.0), 6);
        assert_eq!(duration("MiniMax-Hailuo-02", 8.0), 6);
        assert_eq!(duration("MiniMax-Hailuo-02", 9.0), 10);
        assert_eq!(duration("I2V-01-Director", 10.0), 6);
        assert_eq!(resolution("MiniMax-Hailuo-02", 5.0, 1440, 2560), "1080P");
        assert_eq!(resolution("MiniMax-Hailuo-2.3", 6.0, 1920, 1080), "1080P");
        assert_eq!(resolution("MiniMax-Hailuo-02", 10.0, 1440, 2560), "768P", "1080P is 6 s only");
        assert_eq!(resolution("MiniMax-Hailuo-02", 6.0, 720, 1280), "768P", "frames below 1080 are not blown up");
        assert_eq!(resolution("I2V-01", 6.0, 1440, 2560), "720P");
    }

    #[test]
    fn bodies_follow_the_documented_fields() {
        let request = VideoRequest {
            prompt: "p".into(),
            frames: VideoFrames::StartEnd(input(), MediaInput { url: Some("https://s/end.png".into()), ..input() }),
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
        let body = video_body(&request, "MiniMax-Hailuo-02");
        assert_eq!(body["first_frame_image"], "data:image/png;base64,cG5n");
        assert_eq!(body["last_frame_image"], "https://s/end.png");
        assert_eq!((body["duration"].as_u64(), body["resolution"].as_str()), (Some(10), Some("768P")));
        let short = VideoRequest { duration: 6.0, ..request.clone() };
        assert_eq!(video_body(&short, "MiniMax-Hailuo-02")["resolution"], "1080P");
        assert_eq!(body["aigc_watermark"], false);
        assert_eq!(body["prompt_optimizer"], false);
        assert!(video_body(&request, "MiniMax-Hailuo-2.3").get("last_frame_image").is_none());

        let image = ImageRequest {
            prompt: "p".into(),
            width: 1080,
            height: 1440,
            count: 3,
            panels: 1,
            references: vec![input()],
            model: None,
            card: None,
            vendor_label: false,
        };
        let body = image_body(&image, "image-01");
        assert_eq!(
            body["subject_reference"],
            json!([{"type": "character", "image_file": "data:image/png;base64,cG5n"}])
        );
        assert_eq!((body["aspect_ratio"].as_str(), body["n"].as_u64()), (Some("3:4"), Some(3)));
        assert_eq!(body["response_format"], "url");
        assert!(
            image_body(&ImageRequest { references: vec![], ..image }, "image-01").get("subject_reference").is_none()
        );
    }

    #[test]
    fn speech_follows_the_t2a_fields() {
        let voice = crate::capability::Voice {
            voice_id: None,
            speed: Some(3.0),
            pitch: Some(-4),
            emotion: Some("angry".into()),
        };
        let request = SpeechRequest { text: "站住！".into(), voice, language: "zh".into(), model: None };
        let body = speech_body(&request, SPEECH_MODEL, "male-qn-qingse").unwrap();
        assert_eq!(body["voice_setting"]["speed"], 2.0);
        assert_eq!(body["voice_setting"]["pitch"], -4);
        assert_eq!(body["voice_setting"]["emotion"], "angry");
        assert_eq!(body["audio_setting"]["format"], "wav");
        assert_eq!(body["output_format"], "hex");
        let answer = json!({"data": {"audio": "52494646", "status": 2}, "extra_info": {"usage_characters": 3}});
        let (bytes, characters) = read_speech(&answer).unwrap();
        assert_eq!((&bytes[..], characters), (&b"RIFF"[..], Some(3)));
        assert!(read_speech(&json!({"data": {"audio": "zz"}})).is_err());
    }

    #[test]
    fn codes_map_to_the_taxonomy() {
        for code in [1002, 2045, 1000, 1001, 1024, 1033] {
            assert!(matches!(error_of(200, code, "m", None), ProviderError::Transient { .. }), "{code}");
        }
        for code in [1004, 2049] {
            assert!(
                matches!(error_of(200, code, "m", None), ProviderError::NotConfigured { provider, .. } if provider == NAME),
                "{code}"
            );
        }
        for code in [1008, 2056] {
            assert!(matches!(error_of(200, code, "m", None), ProviderError::OutOfCredit { .. }), "{code}");
        }
        for code in [2013, 1026, 1027] {
            assert!(matches!(error_of(200, code, "m", None), ProviderError::Permanent { .. }), "{code}");
        }
        assert!(error_of(200, 1026, "input new_sensitive", None).to_string().contains("content policy"));
        assert!(matches!(error_of(503, 4242, "m", None), ProviderError::Transient { .. }));
    }

    fn answer(status: u16, body: &'static str) -> Answer {
        Answer::canned(status, body)
    }

    #[test]
    fn errors_are_read_from_base_resp_and_status() {
        let ok = answer(200, r#"{"task_id": "1", "base_resp": {"status_code": 0, "status_msg": "success"}}"#);
        assert!(read(&ok).is_ok());
        let throttled = answer(200, r#"{"base_resp": {"status_code": 1002, "status_msg": "rate limit"}}"#);
        assert!(matches!(read(&throttled), Err(ProviderError::Transient { .. })));
        let refused = answer(200, r#"{"base_resp": {"status_code": 2049, "status_msg": "invalid api key"}}"#);
        assert!(matches!(read(&refused), Err(ProviderError::NotConfigured { .. })));
        let unauthorized = answer(401, r#"{"error": {"message": "unauthorized"}}"#);
        assert!(matches!(read(&unauthorized), Err(ProviderError::NotConfigured { .. })));
        let gateway = answer(502, "<html>Bad Gateway</html>");
        assert!(matches!(read(&gateway), Err(ProviderError::Transient { .. })));
        assert!(matches!(read(&answer(200, "<html>")), Err(ProviderError::Malformed { .. })));
    }

    #[test]
    fn statuses_and_ids() {
        assert_eq!(task_state(&json!({"status": "Preparing"})).unwrap(), TaskState::Running);
        assert_eq!(task_state(&json!({"status": "Queueing"})).unwrap(), TaskState::Running);
        assert_eq!(task_state(&json!({"status": "Processing"})).unwrap(), TaskState::Running);
        assert_eq!(
            task_state(&json!({"status": "Success", "file_id": "205258526306433"})).unwrap(),
            TaskState::Succeeded { file_id: "205258526306433".into() }
        );
        assert_eq!(
            task_state(&json!({"status": "Success", "file_id": 205258526306433u64})).unwrap(),
            TaskState::Succeeded { file_id: "205258526306433".into() }
        );
        assert!(task_state(&json!({"status": "Success", "file_id": ""})).is_err());
        assert!(matches!(task_state(&json!({"status": "Fail"})).unwrap(), TaskState::Failed(_)));
        assert!(task_state(&json!({"status": "succeeded"})).is_err());
    }

    #[test]
    fn withheld_images_are_counted() {
        let partial = json!({"data": {"image_urls": ["https://a/1.jpeg"]},
                             "metadata": {"success_count": "1", "failed_count": "1"}});
        assert_eq!(read_images(&partial).unwrap().len(), 1);
        let withheld = json!({"data": {"image_urls": []}, "metadata": {"success_count": "0", "failed_count": "2"}});
        assert!(matches!(read_images(&withheld), Err(ProviderError::Permanent { .. })));
        assert!(matches!(read_images(&json!({"data": {}})), Err(ProviderError::Malformed { .. })));
        let inline = json!({"data": {"image_base64": ["aGk="]}});
        assert!(matches!(&read_images(&inline).unwrap()[..], [Media::Bytes { .. }]));
    }
}
