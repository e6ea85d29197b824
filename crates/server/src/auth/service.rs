//! The rules of signing in, independent of HTTP.

use super::password::PasswordHasher;
use super::tokens::{Claims, TokenKeys, TokenType, fingerprint};
use crate::ephemeral::{Counters, Denylist};
use crate::error::{AppError, AppResult};
use chrono::{Duration as ChronoDuration, Utc};
use cinegen_domain::{ByteSize, DisplayName, Email, Password, SessionId, User, UserId, ValidationErrors};
use cinegen_store::{NewSession, NewUser, RotateOutcome, Store};
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

/// Who is asking, for session records and per-IP limits.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The token pair of the plan: `{"access", "refresh", "expiresIn"}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    /// Seconds until the access token expires.
    #[serde(rename = "expiresIn")]
    pub expires_in: u64,
}

/// Limits on failed logins within one window.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window: Duration,
}

#[derive(Clone)]
pub struct AuthService {
    store: Arc<dyn Store>,
    keys: TokenKeys,
    hasher: PasswordHasher,
    counters: Arc<dyn Counters>,
    denylist: Arc<dyn Denylist>,
    limits: LoginLimits,
    default_quota: ByteSize,
}

impl AuthService {
    pub fn new(
        store: Arc<dyn Store>,
        keys: TokenKeys,
        hasher: PasswordHasher,
        counters: Arc<dyn Counters>,
        denylist: Arc<dyn Denylist>,
        limits: LoginLimits,
        default_quota: ByteSize,
    ) -> Self {
        Self { store, keys, hasher, counters, denylist, limits, default_quota }
    }

    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
        client: &ClientInfo,
    ) -> AppResult<(User, TokenPair)> {
        let mut errors = ValidationErrors::default();
        let email = errors.check(Email::parse(email));
        let password = errors.check(Password::parse(password));
        let name = errors.check(DisplayName::parse(name));
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(AppError::validation(errors));
        };
        // Cheap check first so a taken email does not cost a hash; the unique index still decides.
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(AppError::EmailTaken);
        }
        let password_hash = self.hasher.hash(&password).await?;
        let new =
            NewUser { id: UserId::new(), email, name, password_hash, quota_total: self.default_quota, now: Utc::now() };
        let user = self.store.create_user(new).await?;
        tracing::info!(user.id = %user.id, "registered account");
        let tokens = self.start_session(user.id, client).await?;
        Ok((user, tokens))
    }

    /// Wrong password and unknown email answer alike, in the same time: both verify one hash.
    pub async fn login(&self, email: &str, password: &str, client: &ClientInfo) -> AppResult<(User, TokenPair)> {
        let account_key = format!("login:account:{}", email.trim().to_lowercase());
        let ip_key = client.ip.map(|ip| format!("login:ip:{ip}"));
        self.refuse_if_limited(&account_key, ip_key.as_deref()).await?;

        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let verified = self.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
        let Some(user) = user.filter(|_| verified) else {
            self.count_failure(&account_key, ip_key.as_deref()).await?;
            return Err(AppError::InvalidCredentials);
        };
        self.counters.reset(&account_key).await.map_err(AppError::internal)?;
        let tokens = self.start_session(user.id, client).await?;
        tracing::info!(user.id = %user.id, "signed in");
        Ok((user, tokens))
    }

    async fn refuse_if_limited(&self, account_key: &str, ip_key: Option<&str>) -> AppResult<()> {
        let account = self.counters.peek(account_key).await.map_err(AppError::internal)?;
        if account.count >= u64::from(self.limits.per_account) {
            return Err(too_many_failures(account.resets_in_secs));
        }
        if let Some(ip_key) = ip_key {
            let ip = self.counters.peek(ip_key).await.map_err(AppError::internal)?;
            if ip.count >= u64::from(self.limits.per_ip) {
                return Err(too_many_failures(ip.resets_in_secs));
            }
        }
        Ok(())
    }

    async fn count_failure(&self, account_key: &str, ip_key: Option<&str>) -> AppResult<()> {
        self.counters.increment(account_key, self.limits.window).await.map_err(AppError::internal)?;
        if let Some(ip_key) = ip_key {
            self.counters.increment(ip_key, self.limits.window).await.map_err(AppError::internal)?;
        }
        Ok(())
    }

    /// Spends a refresh token for a new pair. Presenting a spent token revokes its whole family:
    /// either the legitimate client or a thief holds a copy, and neither should go on.
    pub async fn refresh(&self, refresh_token: &str, client: &ClientInfo) -> AppResult<TokenPair> {
        let claims = self.keys.verify(refresh_token, TokenType::Refresh)?;
        let (pair, next) = self.issue_pair(claims.sub, claims.sid, client)?;
        match self.store.rotate_session(&fingerprint(refresh_token), next).await? {
            RotateOutcome::Rotated { .. } => Ok(pair),
            RotateOutcome::Reused { user_id, family_id } => {
                tracing::warn!(user.id = %user_id, session.family = %family_id, "refresh token reused; revoking its session");
                self.end_family(family_id).await?;
                Err(AppError::InvalidToken("refresh token already used; please sign in again"))
            }
            RotateOutcome::Expired => Err(AppError::TokenExpired),
            RotateOutcome::Unknown => Err(AppError::InvalidToken("unknown refresh token")),
        }
    }

    /// Ends the session of `claims` and refuses its access token from now on.
    pub async fn logout(&self, claims: &Claims) -> AppResult<()> {
        self.end_family(claims.sid).await?;
        let remaining = (claims.exp - Utc::now().timestamp()).max(1) as u64;
        self.denylist.deny(&claims.jti, Duration::from_secs(remaining)).await.map_err(AppError::internal)?;
        tracing::info!(user.id = %claims.sub, "signed out");
        Ok(())
    }

    /// Revokes every refresh token of the family and every access token issued to it.
    async fn end_family(&self, family: SessionId) -> AppResult<()> {
        self.store.revoke_family(family, Utc::now()).await?;
        let ttl = Duration::from_secs(self.keys.access_ttl_secs);
        self.denylist.deny(&family.to_string(), ttl).await.map_err(AppError::internal)
    }

    /// The claims of a valid, unrevoked access token.
    pub async fn authenticate(&self, access_token: &str) -> AppResult<Claims> {
        let claims = self.keys.verify(access_token, TokenType::Access)?;
        let family = claims.sid.to_string();
        if self.denylist.any_denied(&[&claims.jti, &family]).await.map_err(AppError::internal)? {
            return Err(AppError::InvalidToken("token has been revoked"));
        }
        Ok(claims)
    }

    async fn start_session(&self, user: UserId, client: &ClientInfo) -> AppResult<TokenPair> {
        let (pair, session) = self.issue_pair(user, SessionId::new(), client)?;
        self.store.create_session(session).await?;
        Ok(pair)
    }

    fn issue_pair(&self, user: UserId, family: SessionId, client: &ClientInfo) -> AppResult<(TokenPair, NewSession)> {
        let access = self.keys.issue(TokenType::Access, user, family)?;
        let refresh = self.keys.issue(TokenType::Refresh, user, family)?;
        let now = Utc::now();
        let session = NewSession {
            id: uuid::Uuid::now_v7(),
            family_id: family,
            user_id: user,
            token_hash: fingerprint(&refresh.token),
            user_agent: client.user_agent.as_ref().map(|ua| ua.chars().take(256).collect()),
            ip: client.ip.map(|ip| ip.to_string()),
            created_at: now,
            expires_at: now + ChronoDuration::seconds(self.keys.refresh_ttl_secs as i64),
        };
        let pair = TokenPair { access: access.token, refresh: refresh.token, expires_in: self.keys.access_ttl_secs };
        Ok((pair, session))
    }

    pub fn refresh_ttl_secs(&self) -> u64 {
        self.keys.refresh_ttl_secs
    }
}

fn too_many_failures(resets_in_secs: u64) -> AppError {
    AppError::RateLimited {
        retry_after_secs: resets_in_secs.max(1),
        message: "too many failed sign-in attempts; try again later".into(),
    }
}
