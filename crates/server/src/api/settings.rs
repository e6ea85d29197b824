//! `/api/v1/settings/providers`: the caller's provider keys (shown only as hints), base URLs,
//! default models and default providers, and a check that a key works.

use crate::ai::Choice;
use crate::ai::settings::{ProviderSettings, SettingsChange};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use crate::tasks::TaskError;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_providers::{Capability, PromptTarget, TextRequest, TextTask, prompts};
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use utoipa::ToSchema;

/// Every provider with the caller's settings for it (keys as hints only).
#[utoipa::path(
    get, path = "/api/v1/settings/providers", tag = "settings", operation_id = "get_provider_settings",
    security(("bearer" = [])), responses((status = 200, body = Envelope<ProviderSettings>))
)]
pub async fn get_providers(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    Ok(envelope::ok(state.ai.provider_settings(claims.sub).await?))
}

/// Changes keys, base URLs, models and default providers; an absent field stays as it is,
/// `null` removes it. Keys are encrypted at rest and never returned.
#[utoipa::path(
    put, path = "/api/v1/settings/providers", tag = "settings", operation_id = "put_provider_settings",
    security(("bearer" = [])), request_body = SettingsChange,
    responses((status = 200, body = Envelope<ProviderSettings>), (status = 422, body = ErrorEnvelope))
)]
pub async fn put_providers(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(change): ApiJson<SettingsChange>,
) -> AppResult<Response> {
    Ok(envelope::ok(state.ai.change_provider_settings(claims.sub, change).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCheck {
    pub provider: String,
    /// The capability the check called.
    pub capability: String,
    pub model: Option<String>,
    pub latency_ms: u64,
    pub message: String,
}

fn task_to_app(error: TaskError) -> AppError {
    match error {
        TaskError::Permanent { code, message } if code == "PROVIDER_NOT_CONFIGURED" => {
            AppError::ProviderNotConfigured(message)
        }
        TaskError::Permanent { message, .. } | TaskError::Transient { message, .. } => AppError::ProviderError(message),
        TaskError::Cancelled | TaskError::LeaseLost => AppError::ProviderError("the check was interrupted".into()),
    }
}

/// Checks that the caller's (or the server's) key for a provider works, with the smallest call
/// the provider offers: a short text completion where it has text.
#[utoipa::path(
    post, path = "/api/v1/settings/providers/{name}/test", tag = "settings", operation_id = "test_provider",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<KeyCheck>), (status = 400, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope), (status = 502, body = ErrorEnvelope))
)]
pub async fn test_provider(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(name): Path<String>,
) -> AppResult<Response> {
    let provider = state.ai.registry.get(&name).ok_or_else(|| AppError::not_found("provider"))?.clone();
    // A key check is one small call: it draws on the text budget like a request.
    let check = crate::tasks::budget::Charge::of(crate::tasks::budget::Budget::Text, 1);
    state.tasks.draw(claims.sub, &check).await?;
    let capability = provider.capabilities().first().copied().ok_or_else(|| AppError::not_found("provider"))?;
    let choice = Choice { provider: Some(name.clone()), model: None };
    let resolved = state.ai.resolve(claims.sub, capability, &choice).await.map_err(task_to_app)?;
    let started = Instant::now();
    let message = match capability {
        Capability::Text => {
            let task = TextTask::VisualPrompt {
                target: PromptTarget::Scene,
                subject: json!({"location": "test", "time": "day"}),
                context: json!({}),
            };
            let (system, user) = prompts::render(&task, "en", "");
            let request = TextRequest {
                task,
                language: "en".into(),
                visual_style: String::new(),
                system,
                user,
                model: resolved.model.clone(),
            };
            let model = resolved.provider.text().map_err(|e| AppError::ProviderNotConfigured(e.to_string()))?;
            model
                .complete(&request, &resolved.credentials)
                .await
                .map_err(|e| task_to_app(crate::ai::provider_to_task(e)))?;
            "the key works".to_owned()
        }
        // Image and video calls cost money: a key is checked by a free call where the vendor has one,
        // else on its first use.
        Capability::Image => {
            let model = resolved.provider.image().map_err(|e| AppError::ProviderNotConfigured(e.to_string()))?;
            let checked = model
                .check_key(&resolved.credentials)
                .await
                .map_err(|e| task_to_app(crate::ai::provider_to_task(e)))?;
            if checked { "the key works" } else { "a key is at hand; it is checked on first use" }.to_owned()
        }
        Capability::Video => "a key is at hand; it is checked on first use".to_owned(),
    };
    Ok(envelope::ok(KeyCheck {
        provider: name,
        capability: capability.as_str().into(),
        model: resolved.model,
        latency_ms: started.elapsed().as_millis() as u64,
        message,
    }))
}
