use super::{REFRESH_COOKIE, set_refresh_cookie};
use crate::auth::TokenPair;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::extract::{Client, parse_json};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; may be left out when the `cinegen_refresh` cookie carries it.
    pub refresh: Option<String>,
}

/// Spends a refresh token for a new token pair. A token that was already spent revokes its whole
/// session.
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "auth", operation_id = "refresh",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = Envelope<TokenPair>),
        (status = 401, description = "INVALID_TOKEN or TOKEN_EXPIRED", body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    body: Bytes,
) -> AppResult<Response> {
    // The body is optional here (the cookie may carry the token), so it is parsed by hand.
    let from_body =
        if body.iter().all(u8::is_ascii_whitespace) { None } else { parse_json::<RefreshRequest>(&body)?.refresh };
    let token = from_body
        .or_else(|| cookie(&headers, REFRESH_COOKIE))
        .ok_or(AppError::InvalidToken("missing refresh token"))?;
    let tokens = state.auth.refresh(&token, &client).await?;
    let next = tokens.refresh.clone();
    let mut response = envelope::ok(tokens);
    set_refresh_cookie(&mut response, &state, Some(&next));
    Ok(response)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}
