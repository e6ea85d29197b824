use crate::scenarios::{CALL_TIMEOUT, Subject};
use cinegen_providers::adapters::deepseek;
use cinegen_providers::net::Transport;

async fn setup() -> Subject {
    let emulator = cinegen_emulators::deepseek::start("sk-deepseek-test").await;
    // DeepSeek's 429 (a concurrency limit) carries no retry hint.
    Subject::new(deepseek::provider(Transport::unguarded(CALL_TIMEOUT)), emulator, "sk-deepseek-test", "")
}

crate::suite!(setup, text);

/// JSON mode needs the word "json" in a prompt: the adapter adds it when the prompts lack it.
#[tokio::test]
async fn the_json_word_is_added_when_the_prompts_lack_it() {
    let subject = setup().await;
    let mut request = crate::scenarios::text_request(None);
    request.system = "You split screenplays into characters, scenes and shots.".into();
    request.user = "Script:\nINT. KITCHEN - NIGHT".into();
    let output = subject.provider.text().unwrap().complete(&request, &subject.credentials).await.expect("an answer");
    assert!(serde_json::from_str::<serde_json::Value>(&output.text).is_ok_and(|v| v.is_object()));
    subject.emulator.assert_conformant();
}
