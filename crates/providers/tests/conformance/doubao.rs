use crate::scenarios::{CALL_TIMEOUT, Subject, materialize, video_request};
use cinegen_providers::adapters::doubao;
use cinegen_providers::net::Transport;
use cinegen_providers::{Credentials, ImageRequest, Media, ProviderError, VideoPoll};

const KEY: &str = "ark-doubao-test-key";

async fn setup() -> Subject {
    let emulator = cinegen_emulators::doubao::start(KEY).await;
    Subject {
        retry_hint: true,
        ..Subject::new(doubao::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, KEY, "/api/v3")
    }
}

crate::suite!(setup, text, image, video);

/// A bare host in the settings reaches the same routes.
#[tokio::test]
async fn a_bare_host_gets_the_api_path() {
    let subject = setup().await;
    let credentials = Credentials { base_url: Some(subject.emulator.base_url.clone()), ..subject.credentials.clone() };
    let request = crate::scenarios::text_request(None);
    subject.provider.text().unwrap().complete(&request, &credentials).await.expect("a completion");
    assert_eq!(subject.emulator.calls(), ["POST /api/v3/chat/completions"]);
    subject.emulator.assert_conformant();
}

/// References that have a link go as links; a group of four is asked for in one call.
#[tokio::test]
async fn linked_references_and_a_group_of_four() {
    let subject = setup().await;
    let mut request: ImageRequest = crate::scenarios::image_request(None, 4);
    request.width = 1080;
    request.height = 1440;
    let linked = subject.emulator.shared.file_url(request.references[0].bytes.clone(), "image/png", CALL_TIMEOUT * 100);
    request.references[0].url = Some(linked);
    let output = subject.provider.image().unwrap().generate(&request, &subject.credentials).await.expect("images");
    assert_eq!(output.images.len(), 4);
    assert!(output.images.iter().all(|m| matches!(m, Media::Url(_))));
    subject.emulator.assert_conformant();
}

/// A queued job can be cancelled; its next poll says so, permanently.
#[tokio::test]
async fn cancelled_jobs_end() {
    let subject = setup().await;
    let video = subject.provider.video().unwrap();
    let request = video_request(None);
    let job = video.submit(&request, &subject.credentials).await.expect("a job");
    assert!(job.job_id.starts_with("cgt-"), "{}", job.job_id);
    video.cancel(&job.job_id, &subject.credentials).await.expect("cancelled");
    match video.poll(&job.job_id, &request, &subject.credentials).await {
        Err(ProviderError::Permanent { message }) => assert!(message.contains("cancelled"), "{message}"),
        other => panic!("a cancelled job ends, got {other:?}"),
    }
    assert!(subject.emulator.calls().iter().any(|c| c.starts_with("DELETE /api/v3/contents/generations/tasks/cgt-")));
    subject.emulator.assert_conformant();
}

/// A start frame alone makes a video too.
#[tokio::test]
async fn start_frame_only() {
    let subject = setup().await;
    subject.emulator.set_polls_until_done(0);
    let video = subject.provider.video().unwrap();
    let mut request = video_request(None);
    request.frames = cinegen_providers::VideoFrames::Start(crate::scenarios::png_input("start"));
    let job = video.submit(&request, &subject.credentials).await.expect("a job");
    let VideoPoll::Done { media, .. } = video.poll(&job.job_id, &request, &subject.credentials).await.expect("a poll")
    else {
        panic!("the job is done")
    };
    assert_eq!(&materialize(&media).await[4..8], b"ftyp");
    subject.emulator.assert_conformant();
}

/// The emulator records departures from Ark's format (a check of the checker).
#[tokio::test]
async fn departures_are_recorded() {
    let subject = setup().await;
    let body = serde_json::json!({
        "model": "doubao-seedream-4-5-251128", "prompt": "p", "size": "1920x1080", "response_format": "url",
        "watermark": "yes", "image": "data:image/PNG;base64,aGk=",
    });
    let url = format!("{}/api/v3/images/generations", subject.emulator.base_url);
    reqwest::Client::new().post(url).bearer_auth(KEY).json(&body).send().await.expect("an answer");
    let violations = subject.emulator.violations().join("\n");
    for expected in ["watermark", "data URI", "pixels"] {
        assert!(violations.contains(expected), "{expected} not flagged in:\n{violations}");
    }
}
