use crate::scenarios::{CALL_TIMEOUT, Subject, video_request};
use cinegen_emulators::Fault;
use cinegen_providers::adapters::minimax;
use cinegen_providers::net::Transport;
use cinegen_providers::{ProviderError, VideoPoll};

async fn setup() -> Subject {
    let emulator = cinegen_emulators::minimax::start("sk-minimax-test").await;
    // MiniMax throttles with HTTP 200 and status code 1002, without a retry hint.
    Subject::new(minimax::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, "sk-minimax-test", "")
}

crate::suite!(setup, text, image, video, speech);

/// A throttled poll is transient and the job is polled on; the task and file calls go in order.
#[tokio::test]
async fn a_throttled_poll_is_transient_and_the_job_goes_on() {
    let subject = setup().await;
    subject.emulator.set_polls_until_done(1);
    let video = subject.provider.video().unwrap();
    let request = video_request(None);
    let job = video.submit(&request, &subject.credentials).await.expect("a job");
    assert_eq!(job.model, minimax::VIDEO_MODEL);
    subject.emulator.fail_next(Fault::RateLimited { retry_after_secs: 3 });
    assert!(matches!(
        video.poll(&job.job_id, &request, &subject.credentials).await,
        Err(ProviderError::Transient { .. })
    ));
    let mut polls = 0;
    loop {
        match video.poll(&job.job_id, &request, &subject.credentials).await.expect("a poll") {
            VideoPoll::Running { .. } => polls += 1,
            VideoPoll::Done { .. } => break,
        }
        assert!(polls < 5, "the job never finished");
    }
    let calls = subject.emulator.calls();
    assert_eq!(calls.last().map(String::as_str), Some("GET /v1/files/retrieve"), "{calls:?}");
    subject.emulator.assert_conformant();
}

/// A key of the other region (or a wrong one) is refused in a 200 answer, as a refused key.
#[tokio::test]
async fn a_refused_key_in_a_200_answer_is_not_configured() {
    let subject = setup().await;
    subject.emulator.fail_next(Fault::Unauthorized);
    match subject.provider.text().unwrap().complete(&crate::scenarios::text_request(None), &subject.credentials).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, minimax::NAME),
        other => panic!("status code 1004 is a refused key, got {other:?}"),
    }
}

/// MiniMax-Text-01, the model that takes `response_format`, is sent the answer's schema and its
/// answer is read; the emulator refuses a schema on any other model.
#[tokio::test]
async fn text_01_is_sent_the_answer_schema() {
    let subject = setup().await;
    let request = crate::scenarios::text_request(Some("MiniMax-Text-01".into()));
    subject.emulator.shared.clear_recorded();
    let output = subject.provider.text().unwrap().complete(&request, &subject.credentials).await.expect("an answer");
    assert!(!output.text.is_empty());
    let sent = &subject.emulator.shared.recorded_requests()[0]["body"];
    assert_eq!(sent["response_format"]["type"], "json_schema", "{sent}");
    subject.emulator.assert_conformant();
}
