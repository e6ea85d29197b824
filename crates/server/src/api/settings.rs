//! `/api/v1/settings/providers`: the caller's provider keys (shown only as hints), base URLs,
//! default models and default providers, and a check that a key works.

use crate::ai::key_check::KeyCheck;
use crate::ai::settings::{ProviderSettings, SettingsChange};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;

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

/// Checks that the caller's (or the server's) key for a provider works, with the smallest call
/// the provider offers: a short text completion where it has text. How a check of the caller's
/// own key went is kept beside it (`check` in the settings) until the key changes.
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
    // A key check is one small call: it draws on the text budget like a request.
    let check = crate::tasks::budget::Charge::of(crate::tasks::budget::Budget::Text, 1);
    state.tasks.draw(claims.sub, &check).await?;
    Ok(envelope::ok(state.ai.check_key(claims.sub, &name).await?))
}
