use crate::scenarios::{CALL_TIMEOUT, Subject};
use cinegen_providers::adapters::gemini;
use cinegen_providers::net::Transport;

async fn setup() -> Subject {
    let emulator = cinegen_emulators::gemini::start("AIza-gemini-test").await;
    Subject {
        // Google's 429 carries RetryInfo.retryDelay.
        retry_hint: true,
        ..Subject::new(gemini::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, "AIza-gemini-test", "/v1beta")
    }
}

crate::suite!(setup, text, image, video);

/// The video is fetched with the key from the vendor's host, then without it from the storage host
/// the download redirects to; the emulator notices a key that travels there.
#[tokio::test]
async fn the_key_stays_on_the_vendor_host() {
    let subject = setup().await;
    crate::scenarios::happy_path(&subject, cinegen_providers::Capability::Video).await;
    let calls = subject.emulator.calls();
    assert!(calls.iter().any(|c| c.starts_with("GET /v1beta/files/") && c.ends_with(":download")), "{calls:?}");
    let storage = calls.iter().find(|c| c.starts_with("GET /_files-storage/")).expect("the storage host was called");
    let leaked = format!("{}{}", subject.emulator.base_url, storage.trim_start_matches("GET "));
    reqwest::Client::new().get(leaked).header("x-goog-api-key", "AIza-gemini-test").send().await.expect("an answer");
    let violations = subject.emulator.violations();
    assert!(violations.iter().any(|v| v.contains("forwarded to the storage host")), "{violations:?}");
}
