use crate::scenarios::{CALL_TIMEOUT, Subject, image_request, video_request};
use cinegen_emulators::Fault;
use cinegen_providers::adapters::kling::{self, Kling};
use cinegen_providers::net::Transport;
use cinegen_providers::{Credentials, ProviderError};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ACCESS_KEY: &str = "ak-kling-test";
const SECRET_KEY: &str = "sk-kling-secret";

async fn setup() -> Subject {
    let emulator = cinegen_emulators::kling::start(ACCESS_KEY, SECRET_KEY).await;
    let adapter = Kling::new(Transport::unguarded(CALL_TIMEOUT))
        .with_image_polling(Duration::from_millis(20), Duration::from_secs(10));
    // Kling's 1302/1303 answers carry no Retry-After; the adapter waits its own second.
    let mut subject = Subject::new(adapter.into_provider(), emulator, ACCESS_KEY, "");
    subject.credentials.secret_key = Some(SECRET_KEY.into());
    subject
}

crate::suite!(setup, image, video);

fn calls_to(subject: &Subject, call: &str) -> usize {
    subject.emulator.calls().iter().filter(|c| c.as_str() == call).count()
}

/// A token the vendor calls expired (1004) is signed anew and the call made once more, unseen.
#[tokio::test]
async fn an_expired_token_is_resigned_and_the_call_retried_once() {
    let subject = setup().await;
    subject.emulator.fail_next(Fault::Unauthorized);
    let output = subject
        .provider
        .image()
        .unwrap()
        .generate(&image_request(None, 1), &subject.credentials)
        .await
        .expect("the retried call succeeds");
    assert_eq!(output.images.len(), 1);
    assert_eq!(calls_to(&subject, "POST /v1/images/generations"), 2);

    // Twice in a row is not retried again: the key is reported as refused.
    subject.emulator.fail_next(Fault::Unauthorized);
    subject.emulator.fail_next(Fault::Unauthorized);
    let video = subject.provider.video().unwrap();
    match video.submit(&video_request(None), &subject.credentials).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, kling::NAME),
        other => panic!("a token refused twice is a refused key, got {other:?}"),
    }
    assert_eq!(calls_to(&subject, "POST /v1/videos/image2video"), 2);
    subject.emulator.assert_conformant();
}

/// A missing secret key is a missing key, whatever the access key.
#[tokio::test]
async fn the_secret_key_is_required() {
    let subject = setup().await;
    let credentials = Credentials { secret_key: None, ..subject.credentials.clone() };
    match subject.provider.image().unwrap().generate(&image_request(None, 1), &credentials).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, kling::NAME),
        other => panic!("no secret key is PROVIDER_NOT_CONFIGURED, got {other:?}"),
    }
    let wrong = Credentials { secret_key: Some("not the secret".into()), ..subject.credentials.clone() };
    match subject.provider.video().unwrap().submit(&video_request(None), &wrong).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, kling::NAME),
        other => panic!("a token signed with a wrong secret is refused, got {other:?}"),
    }
    assert!(subject.emulator.calls().len() == 1, "only the wrongly signed call reached Kling");
}

/// Throttling without a hint waits Kling's documented second.
#[tokio::test]
async fn throttling_without_a_hint_waits_a_second() {
    let subject = setup().await;
    subject.emulator.fail_next(Fault::RateLimited { retry_after_secs: 3 });
    match subject.provider.video().unwrap().submit(&video_request(None), &subject.credentials).await {
        Err(ProviderError::Transient { retry_after, .. }) => assert_eq!(retry_after, Some(Duration::from_secs(1))),
        other => panic!("throttling is transient, got {other:?}"),
    }
}

/// The job id keeps the endpoint family the poll path depends on.
#[tokio::test]
async fn video_jobs_name_their_endpoint_family() {
    let subject = setup().await;
    let job = subject.provider.video().unwrap().submit(&video_request(None), &subject.credentials).await.unwrap();
    assert!(job.job_id.starts_with("image2video:"), "{}", job.job_id);
    assert_eq!(job.model, kling::VIDEO_MODEL);
}

fn token(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn code_for(base_url: &str, authorization: Option<String>) -> (u16, i64) {
    let mut request = reqwest::Client::new().get(format!("{base_url}/v1/videos/image2video/1"));
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["code"].as_i64().unwrap())
}

/// The emulator checks tokens as Kling does: missing, wrongly signed, not yet valid, expired.
#[tokio::test]
async fn the_emulator_checks_tokens_as_kling_does() {
    let emulator = cinegen_emulators::kling::start(ACCESS_KEY, SECRET_KEY).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let bearer = |claims: Value, secret: &str| Some(format!("Bearer {}", token(claims, secret)));
    let base = emulator.base_url.as_str();
    assert_eq!(code_for(base, None).await, (401, 1001));
    let expired = json!({"iss": ACCESS_KEY, "exp": now - 10, "nbf": now - 1800});
    assert_eq!(code_for(base, bearer(expired, SECRET_KEY)).await, (401, 1004));
    let early = json!({"iss": ACCESS_KEY, "exp": now + 1800, "nbf": now + 600});
    assert_eq!(code_for(base, bearer(early, SECRET_KEY)).await, (401, 1003));
    let valid = json!({"iss": ACCESS_KEY, "exp": now + 1800, "nbf": now - 5});
    assert_eq!(code_for(base, bearer(valid.clone(), "wrong secret")).await, (401, 1002));
    let stranger = json!({"iss": "someone else", "exp": now + 1800, "nbf": now - 5});
    assert_eq!(code_for(base, bearer(stranger, SECRET_KEY)).await, (401, 1002));
    // A well-signed token gets past auth to the (unknown) task.
    assert_eq!(code_for(base, bearer(valid, SECRET_KEY)).await, (404, 1203));
}

/// The key check lists one image task: free, and refused like any call when the keys are wrong.
#[tokio::test]
async fn keys_are_checked_without_paying() {
    let subject = setup().await;
    let image = subject.provider.image().unwrap();
    assert!(image.check_key(&subject.credentials).await.expect("a check"));
    assert_eq!(subject.emulator.calls(), ["GET /v1/images/generations"]);
    match image.check_key(&subject.wrong_key()).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, "kling"),
        other => panic!("a wrong access key is refused, got {other:?}"),
    }
    subject.emulator.assert_conformant();
}

/// A submission whose answer is lost after Kling took the job: the job is found by the key it was
/// filed under (`external_task_id`), and a second submission with the key is refused by the
/// vendor and answered with the job it already has — one job, never two.
#[tokio::test]
async fn a_lost_submission_is_found_by_its_key() {
    let subject = setup().await;
    let video = subject.provider.video().unwrap();
    assert!(video.finds_by_key());
    let request =
        cinegen_providers::VideoRequest { idempotency_key: Some("cinegen-task-7".into()), ..video_request(None) };
    assert_eq!(video.find(&request, &subject.credentials).await.expect("a lookup"), None, "nothing filed yet");
    subject.emulator.shared.lose_next_answers(1);
    match video.submit(&request, &subject.credentials).await {
        Err(ProviderError::NoAnswer { .. }) => {}
        other => panic!("the answer was lost, got {other:?}"),
    }
    let found = video.find(&request, &subject.credentials).await.expect("a lookup").expect("the job was found");
    let again = video.submit(&request, &subject.credentials).await.expect("the key's job");
    assert_eq!(found.job_id, again.job_id);
    assert_eq!(subject.emulator.shared.job_counts().get("video"), Some(&1), "one job");
    let (_, job) = &subject.emulator.shared.jobs_of("video")[0];
    assert_eq!(job.request["external_task_id"], "cinegen-task-7");
    // Without a key there is nothing to find.
    assert_eq!(video.find(&video_request(None), &subject.credentials).await.unwrap(), None);
    subject.emulator.assert_conformant();
}

/// A frame with several characters keeps each as a subject (`multi-image2image`, at most four),
/// polled on its own family; one reference stays on `generations`.
#[tokio::test]
async fn several_references_go_as_subjects() {
    let subject = setup().await;
    let images = subject.provider.image().unwrap();
    let mut request = image_request(None, 1);
    request.references = (0..5).map(|i| crate::scenarios::png_input(&format!("character {i}"))).collect();
    let output = images.generate(&request, &subject.credentials).await.expect("a picture");
    assert_eq!(output.images.len(), 1);
    assert_eq!(calls_to(&subject, "POST /v1/images/multi-image2image"), 1, "{:?}", subject.emulator.calls());
    assert!(calls_to(&subject, "POST /v1/images/generations") == 0);
    let (_, job) = &subject.emulator.shared.jobs_of("multi-image")[0];
    assert_eq!(job.request["subject_image_list"].as_array().map(Vec::len), Some(4));
    assert!(subject.emulator.calls().iter().any(|c| c.starts_with("GET /v1/images/multi-image2image/")));
    subject.emulator.assert_conformant();
}

/// A shot's camera movement steers the models that take `camera_control` (the emulator checks
/// one axis set, in range, no end frame); every model gets the negative prompt apart.
#[tokio::test]
async fn camera_movements_and_negative_prompts_reach_the_vendor_in_its_form() {
    let subject = setup().await;
    let video = subject.provider.video().unwrap();
    let start_only = cinegen_providers::VideoRequest {
        frames: cinegen_providers::VideoFrames::Start(crate::scenarios::png_input("start")),
        camera: cinegen_providers::CameraMove::read("镜头缓慢上摇"),
        negative_prompt: Some(cinegen_providers::prompts::clip_negative("zh").into()),
        ..video_request(Some("kling-v1-5".into()))
    };
    subject.emulator.shared.clear_recorded();
    video.submit(&start_only, &subject.credentials).await.expect("a job with camera control");
    let sent = &subject.emulator.shared.recorded_requests()[0]["body"];
    assert_eq!(sent["camera_control"]["config"]["pan"], 5, "{sent}");
    assert!(sent["negative_prompt"].as_str().is_some_and(|n| n.contains("模糊")), "{sent}");

    // An end frame and the default v2 model: the movement stays in the prompt only.
    let with_end = cinegen_providers::VideoRequest { model: None, ..video_request(None) };
    let with_end = cinegen_providers::VideoRequest { camera: start_only.camera, ..with_end };
    subject.emulator.shared.clear_recorded();
    video.submit(&with_end, &subject.credentials).await.expect("a job");
    let sent = &subject.emulator.shared.recorded_requests()[0]["body"];
    assert!(sent.get("camera_control").is_none() && sent.get("image_tail").is_some(), "{sent}");
    subject.emulator.assert_conformant();
}
