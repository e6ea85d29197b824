//! What every networked adapter shares: the HTTP transport (timeouts, the address guard, error
//! statuses read once), auth headers (Bearer, Gemini's key header, Kling's signed JWT), the
//! OpenAI-compatible chat call, and conversions of images into the forms vendors take.

pub mod auth;
pub mod chat;
pub mod errors;
pub mod images;
pub mod observe;
pub mod transport;

pub use auth::{Auth, KlingSigner};
pub use errors::{Classified, classify};
pub use observe::{CallLabels, observe};
pub use transport::{Answer, RateHints, Transport};

use crate::capability::{Credentials, ProviderError};

/// The key a call is made with, or PROVIDER_NOT_CONFIGURED naming the provider.
pub fn api_key<'a>(provider: &str, credentials: &'a Credentials) -> Result<&'a str, ProviderError> {
    match credentials.api_key.as_deref().map(str::trim) {
        Some(key) if !key.is_empty() => Ok(key),
        _ => Err(ProviderError::NotConfigured { provider: provider.into(), reason: "no API key is set".into() }),
    }
}

/// The base URL a call goes to: the user's or server's override, else the provider's own, without
/// a trailing slash.
pub fn base_url(credentials: &Credentials, default: &str) -> String {
    let base = credentials.base_url.as_deref().map(str::trim).filter(|b| !b.is_empty()).unwrap_or(default);
    base.trim_end_matches('/').to_owned()
}

/// The model a call uses: the one asked for, else the provider's default.
pub fn model(requested: Option<&str>, default: &str) -> String {
    requested.map(str::trim).filter(|m| !m.is_empty()).unwrap_or(default).to_owned()
}
