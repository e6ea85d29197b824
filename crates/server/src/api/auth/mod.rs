//! `/api/v1/auth/*`: register, login, refresh, logout, me.

pub mod login;
pub mod logout;
pub mod me;
pub mod refresh;
pub mod register;

use crate::api::views::UserView;
use crate::auth::TokenPair;
use crate::state::AppState;
use axum::http::header::{HeaderValue, SET_COOKIE};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

/// The refresh token also travels in an HttpOnly cookie, so the web app never has to hold it
/// where scripts can read it.
pub const REFRESH_COOKIE: &str = "cinegen_refresh";
const COOKIE_PATH: &str = "/api/v1/auth";

/// Answer of register and login: the plan names the pair `token`; earlier versions of this
/// server `tokens`. Both are sent, alike.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub user: UserView,
    pub token: TokenPair,
    pub tokens: TokenPair,
}

impl SessionView {
    pub fn new(user: UserView, tokens: TokenPair) -> Self {
        Self { user, token: tokens.clone(), tokens }
    }
}

/// Adds (or, with `None`, clears) the refresh cookie on `response`.
pub fn set_refresh_cookie(response: &mut Response, state: &AppState, token: Option<&str>) {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    let cookie = match token {
        Some(token) => format!(
            "{REFRESH_COOKIE}={token}; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            state.auth.refresh_ttl_secs()
        ),
        None => format!("{REFRESH_COOKIE}=; Path={COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}
