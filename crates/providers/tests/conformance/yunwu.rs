use crate::scenarios::{CALL_TIMEOUT, Subject};
use cinegen_providers::adapters::yunwu;
use cinegen_providers::net::Transport;
use cinegen_providers::{Credentials, Media, ProviderError};

const KEY: &str = "sk-yunwu-test-key";

async fn setup() -> Subject {
    let emulator = cinegen_emulators::yunwu::start(KEY).await;
    Subject {
        retry_hint: true,
        linked_frames: true,
        ..Subject::new(yunwu::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, KEY, "")
    }
}

crate::suite!(setup, text, image, video);

/// Seedream through the relay: Ark's body with inline references, links back.
#[tokio::test]
async fn seedream_through_the_relay() {
    let subject = setup().await;
    let request = crate::scenarios::image_request(Some("doubao-seedream-4-5-251128".into()), 2);
    let output = subject.provider.image().unwrap().generate(&request, &subject.credentials).await.expect("images");
    assert_eq!(output.images.len(), 2);
    for media in &output.images {
        assert!(matches!(media, Media::Url(_)), "{media:?}");
        assert!(crate::scenarios::materialize(media).await.starts_with(b"\x89PNG"));
    }
    assert_eq!(subject.emulator.calls(), ["POST /v1/images/generations"]);
    subject.emulator.assert_conformant();
}

/// A base URL entered the OpenAI way (`…/v1`) reaches the same routes.
#[tokio::test]
async fn a_v1_base_url_is_accepted() {
    let subject = setup().await;
    let credentials =
        Credentials { base_url: Some(format!("{}/v1/", subject.emulator.base_url)), ..subject.credentials.clone() };
    let request = crate::scenarios::text_request(None);
    subject.provider.text().unwrap().complete(&request, &credentials).await.expect("a completion");
    assert_eq!(subject.emulator.calls(), ["POST /v1/chat/completions"]);
    subject.emulator.assert_conformant();
}

/// Models other than OpenAI's reasoning ones get `max_tokens`.
#[tokio::test]
async fn other_chat_models_get_max_tokens() {
    let subject = setup().await;
    let request = crate::scenarios::text_request(Some("deepseek-v4-pro".into()));
    let output = subject.provider.text().unwrap().complete(&request, &subject.credentials).await.expect("a completion");
    assert_eq!(output.model, "deepseek-v4-pro");
    subject.emulator.assert_conformant();
}

/// A model the token's group has no channel for is a permanent error naming the cause.
#[tokio::test]
async fn a_model_without_a_channel_is_permanent() {
    let subject = setup().await;
    let request = crate::scenarios::text_request(Some("mystery-model-1".into()));
    match subject.provider.text().unwrap().complete(&request, &subject.credentials).await {
        Err(ProviderError::Permanent { message }) => assert!(message.contains("No available channel"), "{message}"),
        other => panic!("no channel is permanent, got {other:?}"),
    }
    subject.emulator.assert_conformant();
}

/// Video through the unified format, beyond the suite: frames must be links.
mod video_frames {
    use super::setup;
    use crate::scenarios::video_request;
    use cinegen_providers::{ProviderError, VideoFrames};

    /// A frame without a link cannot go to the unified route: a clear permanent error, no call.
    #[tokio::test]
    async fn frames_without_links_fail_clearly() {
        let subject = setup().await;
        let request = video_request(None);
        match subject.provider.video().unwrap().submit(&request, &subject.credentials).await {
            Err(ProviderError::Permanent { message }) => assert!(message.contains("links"), "{message}"),
            other => panic!("a frame without a link is refused, got {other:?}"),
        }
        assert!(subject.emulator.calls().is_empty());
    }

    /// A start frame alone picks the Veo 3 frames model; a chosen model is kept.
    #[tokio::test]
    async fn models_follow_the_frames() {
        let subject = setup().await;
        let video = subject.provider.video().unwrap();
        let mut request = subject.video_request();
        let VideoFrames::StartEnd(start, _) = request.frames.clone() else { unreachable!() };
        request.frames = VideoFrames::Start(start);
        request.model = Some(cinegen_providers::adapters::yunwu::VIDEO_MODEL.into());
        let job = video.submit(&request, &subject.credentials).await.expect("a job");
        assert_eq!(job.model, "veo3-fast-frames");
        request.model = Some("jimeng-video-3.0".into());
        let job = video.submit(&request, &subject.credentials).await.expect("a job");
        assert!(job.job_id.starts_with("jimeng-video-3.0:"), "{}", job.job_id);
        subject.emulator.assert_conformant();
    }
}

/// The emulator records departures from the unified format (a check of the checker).
#[tokio::test]
async fn departures_are_recorded() {
    let subject = setup().await;
    let body = serde_json::json!({"model": "veo3-fast-frames", "prompt": "p", "aspect_ratio": "4:3",
                                  "images": ["data:image/png;base64,aGk="], "duration": 5});
    let url = format!("{}/v1/video/create", subject.emulator.base_url);
    reqwest::Client::new().post(url).bearer_auth(KEY).json(&body).send().await.expect("an answer");
    let violations = subject.emulator.violations().join("\n");
    for expected in ["aspect_ratio", "public links", "duration"] {
        assert!(violations.contains(expected), "{expected} not flagged in:\n{violations}");
    }
}

/// Kling, Seedance and Hailuo through the relay's passthrough routes: the vendors' own bodies
/// under `/kling/…`, `/volc/…` and `/minimax/…`, the one Yunwu token instead of Kling's JWT, an Ark
/// or a MiniMax key, polled until the clip is there (MiniMax's query by parameter, its answer in
/// new-api's envelope with the file's link inside).
#[tokio::test]
async fn kling_seedance_and_hailuo_through_the_passthrough_routes() {
    use cinegen_providers::VideoPoll;
    for (model, prefix, create, poll) in [
        ("kling-v2-1", "via-kling:", "POST /kling/v1/videos/image2video", "GET /kling/v1/videos/image2video/"),
        (
            "doubao-seedance-1-5-pro-251215",
            "via-volc:",
            "POST /volc/v1/contents/generations/tasks",
            "GET /volc/v1/contents/generations/tasks/",
        ),
        (
            "MiniMax-Hailuo-02",
            "via-minimax:",
            "POST /minimax/v1/video_generation",
            "GET /minimax/v1/query/video_generation",
        ),
    ] {
        let subject = setup().await;
        let video = subject.provider.video().unwrap();
        let request = crate::scenarios::video_request(Some(model.into()));
        let job = video.submit(&request, &subject.credentials).await.expect("a job");
        assert!(job.job_id.starts_with(prefix), "{}", job.job_id);
        let media = loop {
            match video.poll(&job.job_id, &request, &subject.credentials).await.expect("a poll") {
                VideoPoll::Done { media, .. } => break media,
                VideoPoll::Running { .. } => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            }
        };
        assert_eq!(&crate::scenarios::materialize(&media).await[4..8], b"ftyp", "{model}: an MP4");
        let calls = subject.emulator.calls();
        assert_eq!(calls[0], create, "{calls:?}");
        assert!(calls[1..].iter().all(|c| c.starts_with(poll)), "{calls:?}");
        subject.emulator.assert_conformant();
    }
    // A job id naming no task is refused before any call.
    let subject = setup().await;
    let request = crate::scenarios::video_request(Some("kling-v2-1".into()));
    let refused = subject.provider.video().unwrap().poll("via-kling:../admin", &request, &subject.credentials).await;
    assert!(matches!(refused, Err(ProviderError::Permanent { .. })), "{refused:?}");
    assert!(subject.emulator.calls().is_empty());
}
