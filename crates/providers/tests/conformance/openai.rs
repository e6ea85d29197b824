use crate::scenarios::{CALL_TIMEOUT, Subject};
use cinegen_providers::adapters::openai;
use cinegen_providers::net::Transport;

async fn setup() -> Subject {
    let emulator = cinegen_emulators::openai::start("sk-openai-test").await;
    Subject {
        retry_hint: true,
        ..Subject::new(openai::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, "sk-openai-test", "/v1")
    }
}

crate::suite!(setup, text, image, speech);
