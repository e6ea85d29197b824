//! Speech: a shot's dialogue spoken as a task, the voices each provider offers, and a voice heard
//! before it is chosen.

use super::{GenerateSpeechRequest, TaskAccepted, VoicePreviewRequest, answer, idempotency_key, invalid, prepare};
use crate::ai::Choice;
use crate::ai::speech::{SpeechPayload, lines_of};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery, CurrentUser};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use cinegen_domain::project::assets::SlotId;
use cinegen_providers::{Capability, Voice, VoiceInfo};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Speaks one shot's dialogue, each line in its speaker's voice, into the shot's `voice`.
#[utoipa::path(
    post, path = "/api/v1/ai/speech/generate", tag = "ai", operation_id = "generate_speech",
    security(("bearer" = [])), request_body = GenerateSpeechRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 202, body = Envelope<TaskAccepted>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 402, description = "over a monthly spending cap (BUDGET_EXCEEDED)", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope))
)]
pub async fn generate_speech(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<GenerateSpeechRequest>,
) -> AppResult<Response> {
    let key = idempotency_key(&headers, body.client_key.as_ref())?;
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let lines = lines_of(&project.project, &body.shot_id)
        .ok_or_else(|| AppError::NotFound(format!("shot '{}' not found", body.shot_id)))?;
    if lines.is_empty() {
        return Err(invalid("shot_id", format!("shot '{}' has no dialogue to speak", body.shot_id)));
    }
    let choice = body.common().choice(Capability::Speech);
    state.ai.provider_for(claims.sub, Capability::Speech, &choice).await?;
    let input = SpeechPayload { shot_id: body.shot_id.clone(), choice: choice.clone() };
    let slots = vec![SlotId::Voice { shot: body.shot_id }];
    let queued = state.generation.enqueue_into(&project, slots, input.into(), key).await?;
    Ok(answer(&state, queued, Some((Capability::Speech, &choice))).await)
}

/// The voices of one provider that speaks.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderVoices {
    pub provider: String,
    pub default_model: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub voices: Vec<VoiceInfo>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoicesQuery {
    /// Only this provider's voices.
    #[serde(default)]
    pub provider: Option<String>,
}

/// The voices each provider offers (an account's own cloned voices work by id too).
#[utoipa::path(
    get, path = "/api/v1/ai/voices", tag = "ai", operation_id = "list_voices",
    security(("bearer" = [])), params(("provider" = Option<String>, Query, description = "only this provider's voices")),
    responses((status = 200, body = Envelope<Vec<ProviderVoices>>), (status = 400, description = "an unknown query parameter", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope))
)]
pub async fn list_voices(
    State(state): State<AppState>,
    CurrentUser(_claims): CurrentUser,
    ApiQuery(query): ApiQuery<VoicesQuery>,
) -> AppResult<Response> {
    let voices: Vec<ProviderVoices> = state
        .ai
        .registry
        .providers()
        .filter(|p| query.provider.as_deref().is_none_or(|name| name == p.name))
        .filter_map(|provider| {
            let speech = provider.speech.as_ref()?;
            Some(ProviderVoices {
                provider: provider.name.to_owned(),
                default_model: provider.default_models.get(&Capability::Speech).cloned(),
                voices: speech.voices().to_vec(),
            })
        })
        .collect();
    if let Some(name) = &query.provider
        && voices.is_empty()
    {
        return Err(AppError::NotFound(format!("no provider '{name}' that speaks")));
    }
    Ok(envelope::ok(voices))
}

/// Says a sample (or the given text) in a voice, answering the audio itself (`audio/wav` or
/// `audio/mpeg`); drawn from the hourly budget and recorded as usage like any call.
#[utoipa::path(
    post, path = "/api/v1/ai/speech/preview", tag = "ai", operation_id = "preview_voice",
    security(("bearer" = [])), request_body = VoicePreviewRequest,
    responses((status = 200, description = "the audio", content_type = "audio/wav"),
              (status = 400, description = "the provider is not configured", body = ErrorEnvelope),
              (status = 422, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope),
              (status = 502, description = "the provider refused or failed", body = ErrorEnvelope),
              (status = 503, description = "the provider is busy; try again", body = ErrorEnvelope))
)]
pub async fn preview_voice(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<VoicePreviewRequest>,
) -> AppResult<Response> {
    let language = body.language.clone().unwrap_or_else(|| "zh".into());
    if !cinegen_domain::project::settings::LANGUAGES.contains(&language.as_str()) {
        return Err(invalid(
            "language",
            format!("must be one of {}", cinegen_domain::project::settings::LANGUAGES.join(", ")),
        ));
    }
    let choice = Choice { provider: body.provider.clone(), model: body.model.clone() };
    let voice =
        Voice { voice_id: body.voice_id.clone(), speed: body.speed, pitch: body.pitch, emotion: body.emotion.clone() };
    let (audio, content_type) =
        state.generation.preview_voice(claims.sub, &choice, voice, body.text, &language).await?;
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store".into())], audio).into_response())
}
