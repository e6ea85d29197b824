use crate::api::views::UserView;
use crate::envelope::{self, Envelope};
use crate::error::{AppError, AppResult};
use crate::extract::CurrentUser;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub user: UserView,
}

/// The signed-in user, with quota figures.
#[utoipa::path(
    get, path = "/api/v1/auth/me", tag = "auth", operation_id = "me",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Envelope<MeView>),
        (status = 401, description = "INVALID_TOKEN or TOKEN_EXPIRED", body = crate::envelope::ErrorEnvelope),
    )
)]
pub async fn me(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    let user = state
        .users
        .get(state.store.as_ref(), claims.sub)
        .await?
        .ok_or(AppError::InvalidToken("account no longer exists"))?;
    Ok(envelope::ok(MeView { user: user.as_ref().into() }))
}
