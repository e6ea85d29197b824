//! DeepSeek: Chat Completions with `json_object` output and thinking switched off; text only.
//! JSON mode needs the word "json" in the prompt, a queued answer starts with blank lines, and a
//! blank answer means the model's JSON could not be parsed (worth a retry). Errors are
//! OpenAI-style bodies read by HTTP status. See `shared/providers/deepseek.md`.

use crate::capability::{Credentials, ProviderError, TextModel, TextOutput, TextRequest};
use crate::net::chat::{self, AnswerFormat, ChatDialect, openai_style_error};
use crate::net::{Answer, Auth, Transport, api_key, base_url, model};
use crate::registry::{Capability, Provider};
use serde_json::json;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAME: &str = "deepseek";
pub const BASE_URL: &str = "https://api.deepseek.com";
pub const TEXT_MODEL: &str = "deepseek-flash";

/// What DeepSeek answers when it will not take the content (HTTP 400).
const CONTENT_RISK: &str = "content exists risk";

pub fn dialect() -> ChatDialect {
    ChatDialect {
        provider: NAME,
        path: "/chat/completions",
        answer_format: AnswerFormat::JsonObject,
        max_tokens_field: "max_tokens",
        // Thinking is on by default on the V4 family; JSON tasks do not need it.
        extra: Some(json!({"thinking": {"type": "disabled"}})),
    }
}

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(DeepSeek { transport });
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: Some(adapter.clone()),
        image: None,
        video: None,
        speech: None,
        default_models: BTreeMap::from([(Capability::Text, TEXT_MODEL.into())]),
        known_models: Default::default(),
        catalog: Some(adapter),
    }
}

pub struct DeepSeek {
    transport: Transport,
}

/// `GET /models`: every model DeepSeek lists is a chat model.
#[async_trait::async_trait]
impl crate::catalog::ModelCatalog for DeepSeek {
    async fn list_models(&self, credentials: &Credentials) -> Result<Vec<crate::catalog::ListedModel>, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let url = format!("{}/models", base_url(credentials, BASE_URL));
        chat::list_models(&self.transport, NAME, &url, &auth, |_| Some(Capability::Text)).await
    }
}

/// JSON mode is refused unless a prompt says "json": the system prompt gets the word if neither has it.
pub fn with_json_word(request: &TextRequest) -> Cow<'_, TextRequest> {
    let says_json = |text: &str| text.to_ascii_lowercase().contains("json");
    if says_json(&request.system) || says_json(&request.user) {
        return Cow::Borrowed(request);
    }
    let mut request = request.clone();
    request.system = format!("{}\n\nAnswer with one json object.", request.system.trim_end());
    Cow::Owned(request)
}

/// An error answer in the common taxonomy; the content-risk refusal is marked as such.
pub fn error_of(answer: &Answer) -> ProviderError {
    match openai_style_error(NAME, answer) {
        ProviderError::Permanent { message } if message.to_ascii_lowercase().contains(CONTENT_RISK) => {
            ProviderError::Permanent { message: format!("{message} — refused by the provider's content policy") }
        }
        other => other,
    }
}

#[async_trait::async_trait]
impl TextModel for DeepSeek {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), TEXT_MODEL);
        let dialect = dialect();
        let request = with_json_word(request);
        let url = format!("{}{}", base_url(credentials, BASE_URL), dialect.path);
        let call = self.transport.post(NAME, &url)?.json(&chat::body(&dialect, &model, &request));
        let answer = self.transport.send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(error_of(&answer));
        }
        chat::read_answer(NAME, &answer.json(NAME)?, &model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::TextTask;
    use bytes::Bytes;
    use reqwest::StatusCode;

    fn request(system: &str, user: &str) -> TextRequest {
        TextRequest {
            task: TextTask::GenerateScript { idea: "i".into(), genre: "g".into(), duration_secs: 30 },
            language: "en".into(),
            visual_style: "s".into(),
            system: system.into(),
            user: user.into(),
            model: None,
        }
    }

    #[test]
    fn the_json_word_is_added_only_when_missing() {
        assert!(matches!(with_json_word(&request("Answer in JSON.", "x")), Cow::Borrowed(_)));
        assert!(matches!(with_json_word(&request("x", "return the json")), Cow::Borrowed(_)));
        let plain = request("You write scripts.", "An idea");
        let added = with_json_word(&plain);
        assert!(added.system.starts_with("You write scripts.") && added.system.contains("json"));
    }

    #[test]
    fn the_body_asks_for_json_without_thinking() {
        let body = chat::body(&dialect(), TEXT_MODEL, &request("json", "u"));
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        assert_eq!(body["thinking"], json!({"type": "disabled"}));
        assert!(body["max_tokens"].is_u64() && body.get("max_completion_tokens").is_none());
        assert_eq!(body["messages"][0]["role"], "system");
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            request_id: None,
            location: None,
            body: Bytes::from(body.to_owned()),
        }
    }

    #[test]
    fn statuses_map_to_the_taxonomy() {
        let body = |message: &str| {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
                .to_string()
        };
        assert!(matches!(error_of(&answer(401, &body("Authentication Fails"))), ProviderError::NotConfigured { .. }));
        assert!(matches!(error_of(&answer(402, &body("Insufficient Balance"))), ProviderError::OutOfCredit { .. }));
        assert!(matches!(error_of(&answer(422, &body("Invalid max_tokens"))), ProviderError::Permanent { .. }));
        assert!(matches!(error_of(&answer(429, &body("Rate Limit Reached"))), ProviderError::Transient { .. }));
        assert!(matches!(error_of(&answer(500, &body("Server Error"))), ProviderError::Transient { .. }));
        assert!(matches!(error_of(&answer(503, "\n\nService Unavailable")), ProviderError::Transient { .. }));
        let risk = error_of(&answer(400, &body("Content Exists Risk")));
        assert!(
            matches!(&risk, ProviderError::Permanent { message } if message.contains("Content Exists Risk") && message.contains("content policy")),
            "{risk:?}"
        );
    }
}
