//! Access and refresh tokens: HS256 JWTs with a `typ` claim that is always checked, so a refresh
//! token can never be used as an access token. Only HS256 is accepted (`alg: none` and every other
//! algorithm are refused).

use crate::error::{AppError, AppResult};
use chrono::Utc;
use cinegen_domain::{SessionId, UserId};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const ISSUER: &str = "cinegen";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
    /// A ticket for opening the live task feed: seconds long, used once, so no long-lived token
    /// ever sits in a WebSocket URL (and so in proxy logs).
    Ticket,
}

/// How long a live-feed ticket may wait to be used.
pub const TICKET_TTL_SECS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    /// The session family this token belongs to.
    pub sid: SessionId,
    pub jti: String,
    pub typ: TokenType,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// On a ticket: when the access token it was issued for expires (the feed closes then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses: Option<i64>,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

/// A freshly issued token with its claims.
pub struct Issued {
    pub token: String,
    pub claims: Claims,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_secs: u64, refresh_ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn issue(&self, typ: TokenType, user: UserId, family: SessionId) -> AppResult<Issued> {
        let now = Utc::now().timestamp();
        let ttl = match typ {
            TokenType::Access => self.access_ttl_secs,
            TokenType::Refresh => self.refresh_ttl_secs,
            TokenType::Ticket => TICKET_TTL_SECS,
        };
        let claims = Claims {
            sub: user,
            sid: family,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            typ,
            iss: ISSUER.into(),
            iat: now,
            exp: now + ttl as i64,
            ses: None,
        };
        self.sign(claims)
    }

    /// A live-feed ticket for the holder of `access`: same user and session, never outliving it.
    pub fn issue_ticket(&self, access: &Claims) -> AppResult<Issued> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: access.sub,
            sid: access.sid,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            typ: TokenType::Ticket,
            iss: ISSUER.into(),
            iat: now,
            exp: (now + TICKET_TTL_SECS as i64).min(access.exp),
            ses: Some(access.exp),
        };
        self.sign(claims)
    }

    fn sign(&self, claims: Claims) -> AppResult<Issued> {
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok(Issued { token, claims })
    }

    /// Checks signature, issuer, expiry and type.
    pub fn verify(&self, token: &str, expected: TokenType) -> AppResult<Claims> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AppError::TokenExpired,
                _ => AppError::InvalidToken("invalid token"),
            })?;
        if data.claims.typ != expected {
            return Err(AppError::InvalidToken(match expected {
                TokenType::Access => "not an access token",
                TokenType::Refresh => "not a refresh token",
                TokenType::Ticket => "not a live-feed ticket",
            }));
        }
        Ok(data.claims)
    }
}

/// What the database keeps of a refresh token.
pub fn fingerprint(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], 900, 3600)
    }

    #[test]
    fn access_tokens_verify_and_refresh_tokens_do_not_pass_as_access() {
        let keys = keys();
        let access = keys.issue(TokenType::Access, UserId::new(), SessionId::new()).unwrap();
        assert_eq!(keys.verify(&access.token, TokenType::Access).unwrap().sub, access.claims.sub);
        let refresh = keys.issue(TokenType::Refresh, UserId::new(), SessionId::new()).unwrap();
        assert!(matches!(keys.verify(&refresh.token, TokenType::Access), Err(AppError::InvalidToken(_))));
    }

    #[test]
    fn alg_none_and_foreign_signatures_are_refused() {
        let keys = keys();
        let issued = keys.issue(TokenType::Access, UserId::new(), SessionId::new()).unwrap();
        let payload = issued.token.split('.').nth(1).unwrap();
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{none_header}.{payload}.");
        assert!(matches!(keys.verify(&unsigned, TokenType::Access), Err(AppError::InvalidToken(_))));
        let other = TokenKeys::new(&[8u8; 32], 900, 3600);
        let forged = other.issue(TokenType::Access, UserId::new(), SessionId::new()).unwrap();
        assert!(matches!(keys.verify(&forged.token, TokenType::Access), Err(AppError::InvalidToken(_))));
    }

    #[test]
    fn tickets_are_their_own_type_and_never_outlive_the_access_token() {
        let keys = keys();
        let access = keys.issue(TokenType::Access, UserId::new(), SessionId::new()).unwrap();
        let ticket = keys.issue_ticket(&access.claims).unwrap();
        let claims = keys.verify(&ticket.token, TokenType::Ticket).unwrap();
        assert_eq!(
            (claims.sub, claims.sid, claims.ses),
            (access.claims.sub, access.claims.sid, Some(access.claims.exp))
        );
        assert!(claims.exp <= access.claims.exp && claims.exp <= Utc::now().timestamp() + TICKET_TTL_SECS as i64);
        assert!(keys.verify(&ticket.token, TokenType::Access).is_err(), "a ticket is no access token");
        assert!(keys.verify(&access.token, TokenType::Ticket).is_err());
    }

    #[test]
    fn expired_tokens_say_so() {
        let keys = keys();
        let mut claims = keys.issue(TokenType::Access, UserId::new(), SessionId::new()).unwrap().claims;
        claims.exp = Utc::now().timestamp() - 10;
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[7u8; 32]))
                .unwrap();
        assert!(matches!(keys.verify(&token, TokenType::Access), Err(AppError::TokenExpired)));
    }
}
