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
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Signs in. Unknown email and wrong password answer alike; repeated failures are rate limited
/// per account and per IP.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth", operation_id = "login",
    request_body = LoginRequest,
    responses(
        (status = 200, body = Envelope<SessionView>),
        (status = 401, description = "INVALID_CREDENTIALS", body = crate::envelope::ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED, with Retry-After", body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> AppResult<Response> {
    let (user, tokens) = state.auth.login(&body.email, &body.password, &client).await?;
    let refresh = tokens.refresh.clone();
    let mut response = envelope::ok(SessionView::new((&user).into(), tokens));
    set_refresh_cookie(&mut response, &state, Some(&refresh));
    Ok(response)
}
