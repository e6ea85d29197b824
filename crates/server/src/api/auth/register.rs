use super::{SessionView, set_refresh_cookie};
use crate::envelope::{self, Envelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, Client};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    pub email: String,
    /// 8–128 characters.
    pub password: String,
    /// Display name, 1–64 characters, any script.
    pub name: String,
    /// Required when the server registers by invitation only (`cinegen user invite`).
    #[serde(default)]
    pub invite_code: Option<String>,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "auth", operation_id = "register",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = Envelope<SessionView>),
        (status = 403, description = "registration closed, or no valid invitation", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "EMAIL_TAKEN", body = crate::envelope::ErrorEnvelope),
        (status = 429, description = "too many registrations from this address", body = crate::envelope::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR", body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> AppResult<Response> {
    let (user, tokens) =
        state.auth.register(&body.email, &body.password, &body.name, body.invite_code.as_deref(), &client).await?;
    let refresh = tokens.refresh.clone();
    let mut response = envelope::created(SessionView::new((&user).into(), tokens));
    set_refresh_cookie(&mut response, &state, Some(&refresh));
    Ok(response)
}
