//! The scenarios every adapter runs, and the macro that instantiates them per capability.

use cinegen_emulators::{Emulator, Fault};
use cinegen_providers::{
    Capability, Credentials, ImageRequest, Media, MediaInput, Provider, ProviderError, SpeechRequest, TextRequest,
    TextTask, VideoFrames, VideoPoll, VideoRequest, Voice,
};
use std::time::Duration;

/// An adapter wired to its emulator.
pub struct Subject {
    pub provider: Provider,
    pub emulator: Emulator,
    /// The right key and the emulator's base URL.
    pub credentials: Credentials,
    /// Whether the vendor's throttling answer carries a retry hint the adapter must pass on.
    pub retry_hint: bool,
    /// Models to ask for per capability (None: the adapter's default).
    pub text_model: Option<String>,
    pub image_model: Option<String>,
    pub video_model: Option<String>,
    /// Frames go as links the emulator serves (for vendors whose video route takes only links).
    pub linked_frames: bool,
}

impl Subject {
    /// An adapter wired to its emulator: `key`, and the emulator's address plus `base_path` as the
    /// base URL. No retry hint, default models, frames as bytes.
    pub fn new(provider: Provider, emulator: Emulator, key: &str, base_path: &str) -> Self {
        let credentials = Credentials {
            api_key: Some(key.into()),
            secret_key: None,
            base_url: Some(format!("{}{base_path}", emulator.base_url)),
        };
        Self {
            provider,
            emulator,
            credentials,
            retry_hint: false,
            text_model: None,
            image_model: None,
            video_model: None,
            linked_frames: false,
        }
    }

    pub fn wrong_key(&self) -> Credentials {
        let mut wrong = self.credentials.clone();
        wrong.api_key = Some("sk-wrong-key".into());
        wrong
    }

    pub fn no_key(&self) -> Credentials {
        Credentials { api_key: None, ..self.credentials.clone() }
    }

    /// The suite's video request, with frames given links when the vendor needs them.
    pub fn video_request(&self) -> VideoRequest {
        let mut request = video_request(self.video_model.clone());
        if self.linked_frames {
            let link = |label: &str| {
                let mut input = png_input(label);
                let url = self.emulator.shared.file_url(input.bytes.clone(), "image/png", Duration::from_secs(3600));
                input.url = Some(url);
                input
            };
            request.frames = VideoFrames::StartEnd(link("start"), link("end"));
        }
        request
    }
}

pub fn capability(name: &str) -> Capability {
    match name {
        "text" => Capability::Text,
        "image" => Capability::Image,
        "video" => Capability::Video,
        "speech" => Capability::Speech,
        other => panic!("no capability {other}"),
    }
}

pub fn text_request(model: Option<String>) -> TextRequest {
    let script = "第一场 雨夜 外\n林夏撑伞走过长街。\n林夏：今晚一定要找到他。";
    TextRequest {
        task: TextTask::ParseScript { script: script.into(), genre: "悬疑".into(), duration_secs: 30 },
        language: "zh".into(),
        visual_style: "cinematic".into(),
        system: "You split screenplays into characters, scenes and shots. Answer with one JSON object only.".into(),
        user: format!("Script:\n{script}\nReturn the json object."),
        model,
    }
}

pub fn png_input(label: &str) -> MediaInput {
    MediaInput {
        bytes: cinegen_media::picture::render_png(label, 64, 48, 0).into(),
        content_type: "image/png".into(),
        url: None,
    }
}

pub fn image_request(model: Option<String>, count: u8) -> ImageRequest {
    ImageRequest {
        prompt: "Wide establishing shot of a rain-soaked neon alley, cinematic lighting".into(),
        width: 1920,
        height: 1080,
        count,
        panels: 1,
        references: vec![png_input("reference character")],
        model,
        card: None,
        vendor_label: false,
    }
}

pub fn video_request(model: Option<String>) -> VideoRequest {
    VideoRequest {
        prompt: "The camera slowly pushes in as the door swings open.".into(),
        frames: VideoFrames::StartEnd(png_input("start"), png_input("end")),
        duration: 5.0,
        width: 1920,
        height: 1080,
        model,
        seed: None,
        idempotency_key: None,
        camera: None,
        negative_prompt: None,
        callback_url: None,
        vendor_label: false,
    }
}

/// A line with a voice of the vendor's own list, a little faster, in a mood.
pub fn speech_request(provider: &Provider) -> SpeechRequest {
    let speech = provider.speech().expect("a speech capability");
    let voice = speech.voices().last().map(|v| v.id.to_owned());
    SpeechRequest {
        text: "林夏：今晚一定要找到他。".split_once('：').map(|(_, line)| line.to_owned()).unwrap_or_default(),
        voice: Voice { voice_id: voice, speed: Some(1.1), pitch: None, emotion: Some("sad".into()) },
        language: "zh".into(),
        model: None,
    }
}

/// The bytes of a result, fetched if it is a link.
pub async fn materialize(media: &Media) -> Vec<u8> {
    match media {
        Media::Bytes { bytes, .. } => bytes.to_vec(),
        Media::Url(url) => {
            let response = reqwest::get(url).await.expect("the result link answers");
            assert!(response.status().is_success(), "the result link answered {}", response.status());
            response.bytes().await.expect("the result body").to_vec()
        }
    }
}

fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG") || bytes.starts_with(b"\xff\xd8")
}

/// One call of `capability` with `credentials`: a completion, an image, or a video submission.
pub async fn call(subject: &Subject, capability: Capability, credentials: &Credentials) -> Result<(), ProviderError> {
    match capability {
        Capability::Text => {
            subject.provider.text()?.complete(&text_request(subject.text_model.clone()), credentials).await.map(drop)
        }
        Capability::Image => subject
            .provider
            .image()?
            .generate(&image_request(subject.image_model.clone(), 1), credentials)
            .await
            .map(drop),
        Capability::Video => subject.provider.video()?.submit(&subject.video_request(), credentials).await.map(drop),
        Capability::Speech => {
            subject.provider.speech()?.synthesize(&speech_request(&subject.provider), credentials).await.map(drop)
        }
    }
}

pub async fn happy_path(subject: &Subject, capability: Capability) {
    match capability {
        Capability::Text => text_json(subject).await,
        Capability::Image => image_with_reference(subject).await,
        Capability::Video => video_round_trip(subject).await,
        Capability::Speech => spoken_line(subject).await,
    }
    subject.emulator.assert_conformant();
}

async fn spoken_line(subject: &Subject) {
    let request = speech_request(&subject.provider);
    let output =
        subject.provider.speech().unwrap().synthesize(&request, &subject.credentials).await.expect("a spoken line");
    let bytes = materialize(&output.audio).await;
    assert!(bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE", "the line is a WAV file");
    assert!(bytes.len() > 44 + 1000, "the WAV holds sound: {} bytes", bytes.len());
    assert!(!output.model.is_empty());
    assert_eq!(output.usage.characters, Some(request.text.chars().count() as i64), "the characters billed");
}

async fn text_json(subject: &Subject) {
    let output = subject
        .provider
        .text()
        .unwrap()
        .complete(&text_request(subject.text_model.clone()), &subject.credentials)
        .await
        .expect("a completion");
    let value: serde_json::Value = serde_json::from_str(&output.text).expect("the answer is JSON");
    assert!(value.is_object(), "one JSON object: {value}");
    assert!(!output.model.is_empty());
}

async fn image_with_reference(subject: &Subject) {
    let output = subject
        .provider
        .image()
        .unwrap()
        .generate(&image_request(subject.image_model.clone(), 2), &subject.credentials)
        .await
        .expect("images");
    assert_eq!(output.images.len(), 2, "two images were asked for: {:?}", output.images);
    for media in &output.images {
        assert!(is_image(&materialize(media).await), "the result is a PNG or JPEG image");
    }
}

async fn video_round_trip(subject: &Subject) {
    subject.emulator.set_polls_until_done(2);
    let video = subject.provider.video().unwrap();
    let request = subject.video_request();
    let job = video.submit(&request, &subject.credentials).await.expect("a submitted job");
    assert!(!job.job_id.is_empty());
    let mut running = 0;
    let media = loop {
        match video.poll(&job.job_id, &request, &subject.credentials).await.expect("a poll") {
            VideoPoll::Running { .. } => running += 1,
            VideoPoll::Done { media, .. } => break media,
        }
        assert!(running < 10, "the job never finished");
    };
    assert!(running >= 1, "the job was reported running before it was done");
    let bytes = materialize(&media).await;
    assert_eq!(&bytes[4..8], b"ftyp", "the result is an MP4 file");
}

pub async fn auth_failure(subject: &Subject, capability: Capability) {
    for credentials in [subject.wrong_key(), subject.no_key()] {
        match call(subject, capability, &credentials).await {
            Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, subject.provider.name),
            other => panic!("a refused key is PROVIDER_NOT_CONFIGURED naming the provider, got {other:?}"),
        }
    }
}

pub async fn rate_limited_then_success(subject: &Subject, capability: Capability) {
    subject.emulator.fail_next(Fault::RateLimited { retry_after_secs: 3 });
    match call(subject, capability, &subject.credentials).await {
        Err(ProviderError::Transient { retry_after, .. }) => {
            if subject.retry_hint {
                assert_eq!(retry_after, Some(Duration::from_secs(3)), "the provider's retry hint is honoured");
            }
        }
        other => panic!("throttling is transient, got {other:?}"),
    }
    call(subject, capability, &subject.credentials).await.expect("the retry succeeds");
    subject.emulator.assert_conformant();
}

pub async fn server_error_then_success(subject: &Subject, capability: Capability) {
    subject.emulator.fail_next(Fault::ServerError);
    match call(subject, capability, &subject.credentials).await {
        Err(ProviderError::Transient { .. }) => {}
        other => panic!("a server error is transient, got {other:?}"),
    }
    call(subject, capability, &subject.credentials).await.expect("the retry succeeds");
    subject.emulator.assert_conformant();
}

pub async fn content_refusal(subject: &Subject, capability: Capability) {
    subject.emulator.fail_next(Fault::Refusal);
    let error = match capability {
        Capability::Video => {
            // Video refusals come when the job ends.
            let video = subject.provider.video().unwrap();
            let request = subject.video_request();
            match video.submit(&request, &subject.credentials).await {
                Err(error) => error,
                Ok(job) => loop {
                    match video.poll(&job.job_id, &request, &subject.credentials).await {
                        Ok(VideoPoll::Running { .. }) => continue,
                        Ok(VideoPoll::Done { .. }) => panic!("a refused job produced a video"),
                        Err(error) => break error,
                    }
                },
            }
        }
        _ => call(subject, capability, &subject.credentials).await.expect_err("a refusal"),
    };
    match &error {
        ProviderError::Permanent { message } => assert!(message.len() > 10, "the provider's message: {message}"),
        other => panic!("a refusal is permanent, got {other:?}"),
    }
    subject.emulator.assert_conformant();
}

pub async fn malformed_answer(subject: &Subject, capability: Capability) {
    subject.emulator.fail_next(Fault::Malformed);
    match call(subject, capability, &subject.credentials).await {
        Err(ProviderError::Malformed { .. }) => {}
        other => panic!("an unreadable answer is reported as such, got {other:?}"),
    }
}

/// The adapter gives up on a stalled call within its timeout and says no answer came (the server
/// retries reads, but does not resubmit paid work that may have been accepted).
pub async fn slow_answer(subject: &Subject, capability: Capability) {
    subject.emulator.fail_next(Fault::Slow(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    match call(subject, capability, &subject.credentials).await {
        Err(ProviderError::NoAnswer { message }) => assert!(message.contains("did not answer"), "{message}"),
        other => panic!("a stalled call times out as 'no answer', got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(4), "gave up within the timeout");
}

/// The per-call timeout the suite's transports use (the stalled scenario waits longer than it).
pub const CALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// Instantiates every scenario for one capability of one provider: `suite!(setup, text);`.
#[macro_export]
macro_rules! suite {
    ($setup:ident, $($capability:ident),+) => {$(
        mod $capability {
            use $crate::scenarios;

            fn capability() -> cinegen_providers::Capability {
                scenarios::capability(stringify!($capability))
            }

            #[tokio::test]
            async fn happy_path() {
                scenarios::happy_path(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn auth_failure() {
                scenarios::auth_failure(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn rate_limited_then_success() {
                scenarios::rate_limited_then_success(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn server_error_then_success() {
                scenarios::server_error_then_success(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn content_refusal() {
                scenarios::content_refusal(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn malformed_answer() {
                scenarios::malformed_answer(&super::$setup().await, capability()).await;
            }

            #[tokio::test]
            async fn slow_answer() {
                scenarios::slow_answer(&super::$setup().await, capability()).await;
            }
        }
    )+};
}
