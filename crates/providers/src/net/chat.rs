//! The OpenAI-compatible Chat Completions call that OpenAI, DeepSeek, Doubao (Ark), Yunwu and
//! MiniMax share, each with its own dialect: where the JSON switch goes, what else the body needs.

use super::auth::Auth;
use super::errors::{Classified, classify};
use super::transport::{Answer, Transport};
use crate::capability::{ProviderError, TextOutput, TextRequest};
use serde_json::{Value, json};

/// How one vendor speaks Chat Completions.
#[derive(Debug, Clone)]
pub struct ChatDialect {
    pub provider: &'static str,
    /// Path below the base URL, e.g. `/chat/completions`.
    pub path: &'static str,
    /// How the answer is asked to be JSON.
    pub answer_format: AnswerFormat,
    /// Name of the output-token limit field (`max_completion_tokens` or `max_tokens`).
    pub max_tokens_field: &'static str,
    /// Extra top-level fields, such as `thinking: {"type": "disabled"}`.
    pub extra: Option<Value>,
}

/// How a chat call asks for its JSON answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerFormat {
    /// By the prompt alone: no `response_format` (MiniMax's M-series).
    Prompt,
    /// `response_format: {"type": "json_object"}`: some JSON object.
    JsonObject,
    /// The task's answer schema as a `json_schema` (MiniMax-Text-01 takes the schema, not strict
    /// mode).
    Schema,
    /// The task's answer schema as a strict `json_schema` (OpenAI's structured outputs): the
    /// answer is the shape asked for.
    StrictSchema,
}

const MAX_OUTPUT_TOKENS: u32 = 8192;

pub fn body(dialect: &ChatDialect, model: &str, request: &TextRequest) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ],
        "stream": false,
    });
    body[dialect.max_tokens_field] = json!(MAX_OUTPUT_TOKENS);
    match dialect.answer_format {
        AnswerFormat::Prompt => {}
        AnswerFormat::JsonObject => body["response_format"] = json!({"type": "json_object"}),
        AnswerFormat::Schema | AnswerFormat::StrictSchema => {
            let (name, schema) = crate::schemas::answer_schema(&request.task);
            let mut format = json!({"name": name, "schema": schema});
            if dialect.answer_format == AnswerFormat::StrictSchema {
                format["strict"] = json!(true);
            }
            body["response_format"] = json!({"type": "json_schema", "json_schema": format});
        }
    }
    if let Some(Value::Object(extra)) = &dialect.extra {
        for (key, value) in extra {
            body[key] = value.clone();
        }
    }
    body
}

pub async fn complete(
    transport: &Transport,
    dialect: &ChatDialect,
    base_url: &str,
    auth: &Auth,
    model: &str,
    request: &TextRequest,
) -> Result<TextOutput, ProviderError> {
    let provider = dialect.provider;
    let call = transport.post(provider, &format!("{base_url}{}", dialect.path))?.json(&body(dialect, model, request));
    let answer = transport.send(provider, auth.apply(call)).await?;
    if !answer.is_success() {
        return Err(openai_style_error(provider, &answer));
    }
    read_answer(provider, &answer.json(provider)?, model)
}

/// Reads a chat completion: the text of the first choice, with reasoning (`<think>…</think>`)
/// removed; a refusal is permanent, a blank answer (DeepSeek blanks unparsable JSON) transient.
/// Vendor status blocks (MiniMax's `base_resp`) are read by the vendor's adapter before this.
pub fn read_answer(provider: &str, answer: &Value, model: &str) -> Result<TextOutput, ProviderError> {
    let message = answer
        .pointer("/choices/0/message")
        .ok_or_else(|| ProviderError::Malformed { message: format!("{provider}: the answer has no choices") })?;
    if let Some(refusal) = message.get("refusal").and_then(Value::as_str).filter(|r| !r.is_empty()) {
        return Err(ProviderError::Permanent { message: format!("{provider} refused: {refusal}") });
    }
    let content = message.get("content").and_then(Value::as_str).unwrap_or_default();
    let text = strip_thinking(content).trim().to_owned();
    if text.is_empty() {
        let reason = answer.pointer("/choices/0/finish_reason").and_then(Value::as_str).unwrap_or("none");
        return Err(ProviderError::Transient {
            message: format!("{provider} gave a blank answer (finish reason: {reason})"),
            retry_after: None,
        });
    }
    let units = answer.pointer("/usage/total_tokens").and_then(Value::as_i64).unwrap_or(0);
    let model = answer.get("model").and_then(Value::as_str).unwrap_or(model).to_owned();
    Ok(TextOutput { text, model, units })
}

/// Drops `<think>…</think>` blocks some reasoning models put before their answer.
fn strip_thinking(content: &str) -> &str {
    match content.rfind("</think>") {
        Some(end) => &content[end + "</think>".len()..],
        None => content,
    }
}

/// The models of an OpenAI-style `GET …/models` (`{"object": "list", "data": [{"id", …}]}`)
/// that `capability_of` says serve a capability here.
pub async fn list_models(
    transport: &Transport,
    provider: &str,
    url: &str,
    auth: &Auth,
    capability_of: impl Fn(&str) -> Option<crate::registry::Capability>,
) -> Result<Vec<crate::catalog::ListedModel>, ProviderError> {
    let answer = transport.send(provider, auth.apply(transport.get(provider, url)?)).await?;
    if !answer.is_success() {
        return Err(openai_style_error(provider, &answer));
    }
    let body = answer.json(provider)?;
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::Malformed { message: format!("{provider}: the model list has no data") })?;
    Ok(data
        .iter()
        .filter_map(|m| m.get("id").and_then(Value::as_str))
        .filter_map(|id| {
            capability_of(id).map(|capability| crate::catalog::ListedModel { id: id.to_owned(), capability })
        })
        .collect())
}

/// The `{"error": {"message", "code", "type"}}` body OpenAI and its imitators answer with.
pub fn openai_style_error(provider: &str, answer: &Answer) -> ProviderError {
    let body = answer.json(provider).unwrap_or(Value::Null);
    let error = body.get("error").unwrap_or(&body);
    let message = error.get("message").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
        format!(
            "HTTP {}: {}",
            answer.status.as_u16(),
            super::transport::excerpt(&String::from_utf8_lossy(&answer.body))
        )
    });
    let code =
        error.get("code").and_then(|c| c.as_str().map(str::to_owned).or_else(|| c.as_i64().map(|n| n.to_string())));
    let code = code.or_else(|| error.get("type").and_then(Value::as_str).map(str::to_owned));
    classify(provider, Classified { status: answer.status.as_u16(), code, message, retry_after: answer.retry_after })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_is_stripped_and_blank_answers_are_transient() {
        let answer = json!({"model": "m", "choices": [{"message": {"content": "<think>hmm</think>\n{\"a\":1}"}}],
                            "usage": {"total_tokens": 9}});
        let output = read_answer("minimax", &answer, "m").unwrap();
        assert_eq!((output.text.as_str(), output.units), ("{\"a\":1}", 9));
        let blank = json!({"choices": [{"message": {"content": "   "}, "finish_reason": "stop"}]});
        assert!(matches!(read_answer("deepseek", &blank, "m"), Err(ProviderError::Transient { .. })));
        let refusal = json!({"choices": [{"message": {"content": null, "refusal": "no"}}]});
        assert!(matches!(read_answer("openai", &refusal, "m"), Err(ProviderError::Permanent { .. })));
    }
}
