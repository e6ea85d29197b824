//! DeepSeek: Chat Completions only, with JSON output that requires the word "json" in a prompt,
//! the `thinking` switch and `max_tokens`. Successful answers start with blank lines, as DeepSeek
//! sends while a request is queued. Errors are OpenAI-style bodies chosen by HTTP status; content
//! refusals are a 400 "Content Exists Risk". See `shared/providers/deepseek.md`.

use crate::harness::{Emulator, Fault, Shared, chat_answer, garbage, json, parse_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use std::sync::Arc;

/// The output limit DeepSeek's V4-family models accept (384K).
const MAX_OUTPUT_TOKENS: u64 = 384 * 1024;

/// Starts a DeepSeek emulator; adapters use its `base_url` itself as their base URL (`/v1` is
/// accepted too, as on the real host).
pub async fn start(key: &str) -> Emulator {
    let routes = Router::new()
        .route("/chat/completions", post(chat))
        .route("/v1/chat/completions", post(chat))
        .route("/models", axum::routing::get(list_models))
        .route("/v1/models", axum::routing::get(list_models));
    Emulator::start(routes, Shared::new(key, None)).await
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    json(status, json!({"error": {"message": message, "type": kind, "param": null, "code": "invalid_request_error"}}))
}

/// `GET /models`: DeepSeek's chat models.
async fn list_models(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if !shared.bearer_ok("GET /models", &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    crate::harness::openai_model_list(&["deepseek-flash", "deepseek-pro"], "deepseek")
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "authentication_error", "Authentication Fails, Your api key: ****-key is invalid")
}

fn fault_answer(fault: Fault) -> Response {
    match fault {
        Fault::Unauthorized => unauthorized(),
        // DeepSeek limits concurrency and sends no retry hint.
        Fault::RateLimited { .. } => error(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", "Rate Limit Reached"),
        Fault::ServerError => {
            error(StatusCode::SERVICE_UNAVAILABLE, "server_error", "Server overloaded, please retry later")
        }
        Fault::Refusal => error(StatusCode::BAD_REQUEST, "invalid_request_error", "Content Exists Risk"),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /chat/completions";
    if !shared.bearer_ok(ROUTE, &headers) {
        return unauthorized();
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault);
    }
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return error(StatusCode::BAD_REQUEST, "invalid_request_error", "Failed to deserialize the JSON body");
    };
    shared.expect_field(ROUTE, &body, "/model", |m| m.as_str().is_some_and(|m| m.starts_with("deepseek-")));
    shared.expect_field(ROUTE, &body, "/messages", |m| m.as_array().is_some_and(|m| !m.is_empty()));
    let messages = body["messages"].as_array().cloned().unwrap_or_default();
    for (index, message) in messages.iter().enumerate() {
        shared.expect(matches!(message["role"].as_str(), Some("system" | "user" | "assistant" | "tool")), || {
            format!("{ROUTE}: messages[{index}].role is {}", message["role"])
        });
    }
    shared.expect_field(ROUTE, &body, "/response_format/type", |t| t == "json_object");
    shared.expect_field(ROUTE, &body, "/thinking/type", |t| t == "enabled" || t == "disabled");
    shared.expect_field(ROUTE, &body, "/max_tokens", |n| {
        n.as_u64().is_some_and(|n| (1..=MAX_OUTPUT_TOKENS).contains(&n))
    });
    shared.expect(body.get("max_completion_tokens").is_none(), || {
        format!("{ROUTE}: DeepSeek takes max_tokens, not max_completion_tokens")
    });
    shared.expect(body.get("stream").is_none_or(|s| s == false), || format!("{ROUTE}: streaming was not expected"));
    let says_json = messages
        .iter()
        .filter_map(|m| m["content"].as_str())
        .any(|content| content.to_ascii_lowercase().contains("json"));
    if !shared.expect(says_json, || format!("{ROUTE}: json_object output but no prompt contains the word \"json\"")) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'.",
        );
    }
    let text_of = |role: &str| {
        messages
            .iter()
            .filter(|m| m["role"] == role)
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let content = chat_answer(&shared, &text_of("system"), &text_of("user"));
    let answer = json!({
        "id": uuid::Uuid::new_v4().to_string(), "object": "chat.completion", "created": 1764000000,
        "model": body["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "logprobs": null,
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 210, "completion_tokens": 95, "total_tokens": 305,
                  "prompt_cache_hit_tokens": 128, "prompt_cache_miss_tokens": 82},
        "system_fingerprint": "fp_emulated",
    });
    // Blank lines first: DeepSeek keeps a queued connection alive with them.
    let body = format!("\n\n\n{answer}");
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
