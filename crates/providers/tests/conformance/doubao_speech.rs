use crate::scenarios::{CALL_TIMEOUT, Subject, speech_request};
use cinegen_providers::adapters::doubao_speech;
use cinegen_providers::net::Transport;
use cinegen_providers::{Credentials, ProviderError};

const TOKEN: &str = "doubao-speech-access-token";
const APP_ID: &str = "7001234567";

async fn setup() -> Subject {
    let emulator = cinegen_emulators::doubao_speech::start(TOKEN, APP_ID).await;
    let mut subject = Subject::new(doubao_speech::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, TOKEN, "");
    subject.credentials.secret_key = Some(APP_ID.into());
    subject
}

crate::suite!(setup, speech);

/// The App ID is the second half of the credentials: without it nothing is sent; with another
/// one the vendor refuses the grant.
#[tokio::test]
async fn the_app_id_is_needed_and_checked() {
    let subject = setup().await;
    let speech = subject.provider.speech().unwrap();
    let request = speech_request(&subject.provider);
    let without = Credentials { secret_key: None, ..subject.credentials.clone() };
    assert!(matches!(speech.synthesize(&request, &without).await, Err(ProviderError::NotConfigured { .. })));
    assert!(subject.emulator.calls().is_empty(), "nothing was sent without the App ID");
    let other = Credentials { secret_key: Some("7009999999".into()), ..subject.credentials.clone() };
    match speech.synthesize(&request, &other).await {
        Err(ProviderError::NotConfigured { provider, .. }) => assert_eq!(provider, doubao_speech::NAME),
        other => panic!("another App ID is a refused key, got {other:?}"),
    }
}
