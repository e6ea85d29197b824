use super::set_refresh_cookie;
use crate::envelope::{self, Envelope};
use crate::error::AppResult;
use crate::extract::CurrentUser;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde_json::json;

/// Ends the current session: its refresh tokens and the access token in use stop working.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth", operation_id = "logout",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<serde_json::Value>),
        (status = 401, description = "INVALID_TOKEN", body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn logout(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    state.auth.logout(&claims).await?;
    let mut response = envelope::ok(json!({ "loggedOut": true }));
    set_refresh_cookie(&mut response, &state, None);
    Ok(response)
}
