use crate::scenarios::{CALL_TIMEOUT, Subject};
use cinegen_providers::Credentials;
use cinegen_providers::adapters::openai;
use cinegen_providers::net::Transport;

async fn setup() -> Subject {
    let emulator = cinegen_emulators::openai::start("sk-openai-test").await;
    Subject {
        provider: openai::provider(Transport::unguarded(CALL_TIMEOUT)),
        credentials: Credentials {
            api_key: Some("sk-openai-test".into()),
            secret_key: None,
            base_url: Some(format!("{}/v1", emulator.base_url)),
        },
        emulator,
        retry_hint: true,
        text_model: None,
        image_model: None,
        video_model: None,
    }
}

crate::suite!(setup, text, image);
