//! The capability interfaces every provider implements, and their requests and answers.

use bytes::Bytes;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// What a call is authorised with: the user's key, else the server's. Never printed in full.
#[derive(Clone, Default)]
pub struct Credentials {
    pub api_key: Option<String>,
    pub secret_key: Option<String>,
    pub base_url: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("base_url", &self.base_url)
            .finish()
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum ProviderError {
    /// No key, or the provider refused the key.
    #[error("provider '{provider}' is not configured: {reason}")]
    NotConfigured { provider: String, reason: String },
    /// Worth trying again (429, 5xx, a timeout), after `retry_after` if the provider said so.
    #[error("{message}")]
    Transient { message: String, retry_after: Option<Duration> },
    /// The call went out but no answer came back (a timeout, a broken connection): the provider
    /// may have done — and charged for — the work. Reads may simply be retried; a paid submission
    /// is not resubmitted on its own.
    #[error("{message}")]
    NoAnswer { message: String },
    /// A refusal (content policy) or invalid parameters; the provider's message is passed through.
    #[error("{message}")]
    Permanent { message: String },
    /// The account behind the key cannot pay: balance, credit or quota used up (402, and billing
    /// codes vendors put under 403 or 429). Not retried; the key is parked until it is saved again.
    #[error("{message}")]
    OutOfCredit { message: String },
    /// The answer could not be read as the documented shape.
    #[error("the provider's answer could not be read: {message}")]
    Malformed { message: String },
    #[error("provider '{provider}' offers no {capability} capability")]
    Unsupported { provider: String, capability: &'static str },
}

/// The structured job behind a text request. Language models get [`TextRequest::system`] and
/// [`TextRequest::user`]; the offline provider works from these fields directly.
#[derive(Debug, Clone)]
pub enum TextTask {
    /// Script text → `{"scriptData": ScriptData, "shots": [Shot]}`.
    ParseScript { script: String, genre: String, duration_secs: u32 },
    /// An idea → `{"title": …, "script": …}`.
    GenerateScript { idea: String, genre: String, duration_secs: u32 },
    /// ScriptData (and optionally one scene) → `{"shots": [Shot]}`.
    GenerateShots { script_data: Value, scene_id: Option<String>, duration_secs: u32 },
    /// One character, variation, scene or shot → `{"visualPrompt": …}`.
    VisualPrompt { target: PromptTarget, subject: Value, context: Value },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PromptTarget {
    Character,
    Variation,
    Scene,
    Keyframe,
}

#[derive(Debug, Clone)]
pub struct TextRequest {
    pub task: TextTask,
    /// The project's output language (zh, en, ja, fr, es).
    pub language: String,
    pub visual_style: String,
    pub system: String,
    pub user: String,
    pub model: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TextOutput {
    /// The answer, expected to be one JSON object.
    pub text: String,
    pub model: String,
    /// Tokens (or characters, where a provider counts no tokens), for usage records.
    pub units: i64,
}

/// An image or video a provider produced: bytes in the answer, or a (soon expiring) link.
#[derive(Clone)]
pub enum Media {
    Bytes { bytes: Bytes, content_type: String },
    Url(String),
}

impl fmt::Debug for Media {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes { bytes, content_type } => write!(f, "Media::Bytes({content_type}, {} bytes)", bytes.len()),
            Self::Url(url) => write!(f, "Media::Url({url})"),
        }
    }
}

/// An image handed to a provider (a reference, a keyframe): its bytes, and a short-lived URL of
/// our storage for providers that take links.
#[derive(Clone)]
pub struct MediaInput {
    pub bytes: Bytes,
    pub content_type: String,
    pub url: Option<String>,
}

impl fmt::Debug for MediaInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MediaInput({}, {} bytes)", self.content_type, self.bytes.len())
    }
}

#[derive(Debug, Clone)]
pub struct ImageRequest {
    pub prompt: String,
    pub width: u32,
    pub height: u32,
    /// 1–9.
    pub count: u8,
    /// 1: each image is one picture; 2–9: each is a storyboard grid of that many panels (the
    /// prompt asks vendors' models for it; the offline provider paints it).
    pub panels: u8,
    pub references: Vec<MediaInput>,
    pub model: Option<String>,
    /// What a keyframe's storyboard card shows: the offline provider draws the card; vendors
    /// paint from the prompt and ignore it.
    pub card: Option<cinegen_media::Card>,
    /// Whether a vendor that marks its results as AI-generated (Doubao's "AI生成" watermark)
    /// should: the project labels AI content and the operator lets vendors mark.
    pub vendor_label: bool,
}

#[derive(Debug, Clone)]
pub struct ImageOutput {
    pub images: Vec<Media>,
    pub model: String,
    /// What the vendor's answer says the call used, where it says so.
    pub usage: Usage,
}

/// What a vendor's answer says a call used, where it reports usage: what a call is settled by
/// before anything is counted on our side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Images the vendor says it made (and bills).
    pub images: Option<i64>,
    /// Tokens the vendor bills the output by (an image model's output tokens, Seedance's video
    /// tokens).
    pub tokens: Option<i64>,
    /// Characters a speech vendor says it billed (MiniMax's `usage_characters`).
    pub characters: Option<i64>,
    /// The resolution tier a clip was made at, where the vendor prices tiers apart (MiniMax's
    /// `768P` and `1080P`): only a price for that tier applies.
    pub resolution: Option<&'static str>,
}

impl Usage {
    /// Reads a whole, non-negative count at `pointer` of a vendor's answer.
    pub fn count_at(answer: &serde_json::Value, pointer: &str) -> Option<i64> {
        answer.pointer(pointer).and_then(serde_json::Value::as_i64).filter(|n| *n >= 0)
    }
}

#[derive(Debug, Clone)]
pub enum VideoFrames {
    Start(MediaInput),
    StartEnd(MediaInput, MediaInput),
    Grid { image: MediaInput, panels: u32 },
}

#[derive(Debug, Clone)]
pub struct VideoRequest {
    pub prompt: String,
    pub frames: VideoFrames,
    /// Seconds.
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    pub model: Option<String>,
    /// The seed to render with, where the vendor takes one (a re-run of a take sends the seed
    /// its job answered); others ignore it.
    pub seed: Option<i64>,
    /// A key the vendor files the job under (Kling's `external_task_id`), the same on every
    /// submission of one task: after a submission whose answer was lost, `VideoModel::find`
    /// finds the job by it instead of paying for a second one.
    pub idempotency_key: Option<String>,
    /// As `ImageRequest::vendor_label`.
    pub vendor_label: bool,
    /// The shot's camera movement, where its words name one, for vendors that steer the camera
    /// by parameters (the prompt carries the words for all).
    pub camera: Option<crate::camera::CameraMove>,
    /// What the clip should not show, for vendors that take it apart from the prompt.
    pub negative_prompt: Option<String>,
    /// Where the vendor may say the job changed (Doubao's and Kling's `callback_url`); a hint to
    /// poll, never a result.
    pub callback_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoJob {
    pub job_id: String,
    pub model: String,
}

#[derive(Debug, Clone)]
pub enum VideoPoll {
    Running {
        progress: Option<u8>,
    },
    /// `seed`: the seed the vendor says it rendered with, where it says so.
    Done {
        media: Media,
        usage: Usage,
        seed: Option<i64>,
    },
}

impl VideoPoll {
    /// A finished job whose answer reported neither usage nor seed.
    pub fn done(media: Media) -> Self {
        Self::Done { media, usage: Usage::default(), seed: None }
    }
}

/// How a character speaks: the vendor's voice id and, where the vendor takes them, speed, pitch
/// and emotion. Every field is optional; a provider uses its own default for what is absent.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Voice {
    /// The vendor's voice id (`alloy`, `male-qn-qingse`, `zh_female_shuangkuaisisi_moon_bigtts`,
    /// `cmn+f3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
    /// 0.5–2.0, 1 is the voice's own pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Semitones, −12 to 12; 0 is the voice's own pitch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<i32>,
    /// `happy`, `sad`, `angry`, `fearful`, `surprised`, `calm`, where the vendor has emotions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<String>,
}

/// The emotions a voice may be asked for; vendors without them ignore the field.
pub const EMOTIONS: [&str; 6] = ["happy", "sad", "angry", "fearful", "surprised", "calm"];

impl Voice {
    /// What is wrong with the settings, if anything, in words for the person who chose them.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Some(id) = &self.voice_id
            && (id.trim().is_empty() || id.len() > 128 || id.chars().any(char::is_control))
        {
            problems.push(("voiceId", "must be 1–128 characters without control characters".to_owned()));
        }
        if let Some(speed) = self.speed
            && !(0.5..=2.0).contains(&speed)
        {
            problems.push(("speed", "must be between 0.5 and 2".to_owned()));
        }
        if let Some(pitch) = self.pitch
            && !(-12..=12).contains(&pitch)
        {
            problems.push(("pitch", "must be between -12 and 12 semitones".to_owned()));
        }
        if let Some(emotion) = &self.emotion
            && !EMOTIONS.contains(&emotion.as_str())
        {
            problems.push(("emotion", format!("must be one of {}", EMOTIONS.join(", "))));
        }
        problems
    }
}

/// A voice a provider offers, as the voice picker lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VoiceInfo {
    pub id: &'static str,
    pub name: &'static str,
    /// `zh`, `en`, or `multi`.
    pub language: &'static str,
    /// `female`, `male`, or `neutral`.
    pub gender: &'static str,
}

#[derive(Debug, Clone)]
pub struct SpeechRequest {
    /// One line, as it is to be said (no speaker name, no directions).
    pub text: String,
    pub voice: Voice,
    /// The project's language (zh, en, ja, fr, es).
    pub language: String,
    pub model: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SpeechOutput {
    /// The audio (MP3 or WAV, as the content type says).
    pub audio: Media,
    pub model: String,
    pub usage: Usage,
}

#[async_trait::async_trait]
pub trait SpeechModel: Send + Sync {
    async fn synthesize(
        &self,
        request: &SpeechRequest,
        credentials: &Credentials,
    ) -> Result<SpeechOutput, ProviderError>;

    /// The voices to choose from, the first being the default for `language` where none is named.
    fn voices(&self) -> &'static [VoiceInfo];

    /// The voice a line is spoken with when the character names none: the first of the
    /// project's language, else the first of all.
    fn default_voice(&self, language: &str) -> &'static str {
        let voices = self.voices();
        voices.iter().find(|v| v.language == language).or_else(|| voices.first()).map_or("", |v| v.id)
    }
}

#[async_trait::async_trait]
pub trait TextModel: Send + Sync {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError>;
}

#[async_trait::async_trait]
pub trait ImageModel: Send + Sync {
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError>;

    /// Checks the key with a call that costs nothing, where the vendor has one (`Ok(true)`);
    /// `Ok(false)` where every call would be a paid generation.
    async fn check_key(&self, _credentials: &Credentials) -> Result<bool, ProviderError> {
        Ok(false)
    }
}

/// Video is asynchronous everywhere: submit answers a job id (recorded before anything else is
/// done, so a resumed task polls instead of paying twice), then poll until done.
#[async_trait::async_trait]
pub trait VideoModel: Send + Sync {
    async fn submit(&self, request: &VideoRequest, credentials: &Credentials) -> Result<VideoJob, ProviderError>;

    /// `request` is the one submitted (providers that keep the job ignore it).
    async fn poll(
        &self,
        job_id: &str,
        request: &VideoRequest,
        credentials: &Credentials,
    ) -> Result<VideoPoll, ProviderError>;

    /// Cancels a job where the provider allows it.
    async fn cancel(&self, _job_id: &str, _credentials: &Credentials) -> Result<(), ProviderError> {
        Ok(())
    }

    /// The job an earlier submission of `request` filed under its `idempotency_key`, where the
    /// vendor keeps one (`finds_by_key`); `None` when there is none (it was never accepted).
    async fn find(
        &self,
        _request: &VideoRequest,
        _credentials: &Credentials,
    ) -> Result<Option<VideoJob>, ProviderError> {
        Ok(None)
    }

    /// Whether `find` can tell if a lost submission was accepted, so submitting again is safe.
    fn finds_by_key(&self) -> bool {
        false
    }

    /// What a job of `seconds` at `width`×`height` on `model` will be billed by, where the vendor
    /// bills by something the answer reports (Seedance's video tokens); the estimate prices it as
    /// the settlement will.
    fn expected_usage(&self, _model: &str, _seconds: f64, _width: u32, _height: u32) -> Usage {
        Usage::default()
    }

    /// How often to poll, where the provider knows better than the configured pace (a job
    /// running on this machine); `None` for the configured pace.
    fn poll_every(&self) -> Option<std::time::Duration> {
        None
    }
}
