//! How each vendor is authorised: a Bearer key, Gemini's `x-goog-api-key`, or Kling's HS256 JWT
//! signed from the access key and secret key and re-signed before it expires.

use crate::capability::ProviderError;
use reqwest::RequestBuilder;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Clone)]
pub enum Auth {
    Bearer(String),
    GoogApiKey(String),
}

impl Auth {
    pub fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        match self {
            Self::Bearer(token) => request.bearer_auth(token),
            Self::GoogApiKey(key) => request.header("x-goog-api-key", key),
        }
    }
}

/// Kling tokens live 30 minutes; one is re-signed when less than this is left.
const KLING_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);
const KLING_RESIGN_BEFORE: Duration = Duration::from_secs(5 * 60);

#[derive(serde::Serialize)]
struct KlingClaims<'a> {
    iss: &'a str,
    exp: u64,
    nbf: u64,
}

struct CachedToken {
    access_key: String,
    /// A digest of the secret, so a changed secret signs anew without keeping the secret here.
    secret_digest: [u8; 32],
    token: String,
    expires_at: u64,
}

/// Signs and caches Kling's JWT (iss = access key, exp = now + 30 min, nbf = now − 5 s).
#[derive(Default)]
pub struct KlingSigner {
    cached: Mutex<Vec<CachedToken>>,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl KlingSigner {
    pub fn token(&self, access_key: &str, secret_key: &str) -> Result<String, ProviderError> {
        use sha2::Digest;
        let secret_digest: [u8; 32] = sha2::Sha256::digest(secret_key.as_bytes()).into();
        let now = now();
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached.retain(|t| t.expires_at > now + KLING_RESIGN_BEFORE.as_secs());
        if let Some(hit) = cached.iter().find(|t| t.access_key == access_key && t.secret_digest == secret_digest) {
            return Ok(hit.token.clone());
        }
        let expires_at = now + KLING_TOKEN_LIFETIME.as_secs();
        let claims = KlingClaims { iss: access_key, exp: expires_at, nbf: now.saturating_sub(5) };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(secret_key.as_bytes()),
        )
        .map_err(|e| ProviderError::NotConfigured { provider: "kling".into(), reason: format!("cannot sign: {e}") })?;
        cached.push(CachedToken { access_key: access_key.into(), secret_digest, token: token.clone(), expires_at });
        Ok(token)
    }

    /// Drops the cached token of `access_key` (after the vendor called it expired).
    pub fn forget(&self, access_key: &str) {
        self.cached.lock().unwrap_or_else(|e| e.into_inner()).retain(|t| t.access_key != access_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kling_tokens_are_cached_and_carry_the_documented_claims() {
        let signer = KlingSigner::default();
        let first = signer.token("AK", "SK").unwrap();
        assert_eq!(first, signer.token("AK", "SK").unwrap());
        assert_ne!(first, signer.token("AK", "other secret").unwrap());
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.required_spec_claims = ["exp", "nbf", "iss"].into_iter().map(String::from).collect();
        validation.set_issuer(&["AK"]);
        let data: jsonwebtoken::TokenData<serde_json::Value> =
            jsonwebtoken::decode(&first, &jsonwebtoken::DecodingKey::from_secret(b"SK"), &validation).unwrap();
        let exp = data.claims["exp"].as_u64().unwrap();
        let nbf = data.claims["nbf"].as_u64().unwrap();
        assert_eq!(exp - nbf, 1805);
        signer.forget("AK");
    }
}
