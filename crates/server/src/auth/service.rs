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

/// Limits on failed logins within one window, and on registrations.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    pub per_account: u32,
    pub per_ip: u32,
    pub window: Duration,
    /// Accounts one client address may register per hour.
    pub registrations_per_ip_per_hour: u32,
}

/// Who may register, with the invitations of `invite` mode.
#[derive(Clone)]
pub struct RegistrationPolicy {
    pub mode: crate::config::Registration,
    pub invites: super::invites::Invites,
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
    registration: RegistrationPolicy,
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
        registration: RegistrationPolicy,
    ) -> Self {
        Self { store, keys, hasher, counters, denylist, limits, default_quota, registration }
    }

    /// Creates an account, if the server's registration policy lets this caller (open; with a
    /// valid invitation for this address; never when closed), at most so many per client address
    /// and hour.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
        invite_code: Option<&str>,
        client: &ClientInfo,
    ) -> AppResult<(User, TokenPair)> {
        use crate::config::Registration;
        if self.registration.mode == Registration::Closed {
            return Err(AppError::Forbidden("registration is closed on this server; ask its operator for an account"));
        }
        let mut errors = ValidationErrors::default();
        let email = errors.check(Email::parse(email));
        let password = errors.check(Password::parse(password));
        let name = errors.check(DisplayName::parse(name));
        let (Some(email), Some(password), Some(name)) = (email, password, name) else {
            return Err(AppError::validation(errors));
        };
        if self.registration.mode == Registration::Invite
            && !invite_code.is_some_and(|code| self.registration.invites.admits(&email, code, Utc::now().timestamp()))
        {
            return Err(AppError::Forbidden("registration needs an invitation for this address (invite_code)"));
        }
        if let Some(ip) = client.ip {
            let key = format!("register:ip:{ip}");
            let window = self.counters.increment(&key, Duration::from_secs(3600)).await.map_err(AppError::internal)?;
            if window.count > u64::from(self.limits.registrations_per_ip_per_hour) {
                crate::ops::metrics::rate_limited("register");
                return Err(AppError::RateLimited {
                    retry_after_secs: window.resets_in_secs.max(1),
                    message: "too many accounts registered from this address; try again later".into(),
                    left: None,
                });
            }
        }
        // Cheap check first so a taken email does not cost a hash; the unique index still decides.
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(AppError::EmailTaken);
        }
        let password_hash = self.hasher.hash(&password).await?;
        let new =
            NewUser { id: UserId::new(), email, name, password_hash, quota_total: self.default_quota, now: Utc::now() };
        let user = self.store.create_user(new).await?;
        tracing::info!(user.id = %user.id, "registered account");
        // Projects shared with the address before it had an account open to it now.
        match self.store.accept_invitations(user.id, user.email.as_str(), Utc::now()).await {
            Ok(joined) if !joined.is_empty() => {
                tracing::info!(user.id = %user.id, projects = joined.len(), "accepted invitations")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(user.id = %user.id, error = %error, "could not accept invitations"),
        }
        let tokens = self.start_session(user.id, client).await?;
        Ok((user, tokens))
    }

    /// Wrong password and unknown email answer alike, in the same time: both verify one hash.
    /// Each attempt is reserved against both failure limits before the hash is checked, so a burst
    /// of parallel guesses cannot all pass a check made before any of them has failed.
    pub async fn login(&self, email: &str, password: &str, client: &ClientInfo) -> AppResult<(User, TokenPair)> {
        let account_key = format!("login:account:{}", email.trim().to_lowercase());
        let ip_key = client.ip.map(|ip| format!("login:ip:{ip}"));
        self.reserve_attempt(&account_key, ip_key.as_deref()).await?;

        let checked = async {
            let user = match Email::parse(email) {
                Ok(email) => self.store.user_by_email(&email).await?,
                Err(_) => None,
            };
            let verified = self.hasher.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?;
            Ok::<_, AppError>(user.filter(|_| verified))
        }
        .await;
        let user = match checked {
            // The reservation stands: it was a failure.
            Ok(None) => {
                crate::ops::metrics::login_failed("wrong_credentials");
                return Err(AppError::InvalidCredentials);
            }
            Ok(Some(user)) => user,
            // Not the caller's failure (the hashing queue was full, the database away).
            Err(error) => {
                self.release_attempt(&account_key, ip_key.as_deref()).await;
                return Err(error);
            }
        };
        self.counters.reset(&account_key).await.map_err(AppError::internal)?;
        if let Some(ip_key) = &ip_key {
            self.counters.release(ip_key).await.map_err(AppError::internal)?;
        }
        let tokens = self.start_session(user.id, client).await?;
        tracing::info!(user.id = %user.id, "signed in");
        Ok((user, tokens))
    }

    /// Counts the attempt against the account and the client address; one over either limit is
    /// refused (and given back, so refusals do not extend the lockout).
    async fn reserve_attempt(&self, account_key: &str, ip_key: Option<&str>) -> AppResult<()> {
        let window = self.limits.window;
        let account = self.counters.increment(account_key, window).await.map_err(AppError::internal)?;
        if account.count > u64::from(self.limits.per_account) {
            self.counters.release(account_key).await.map_err(AppError::internal)?;
            return Err(too_many_failures(account.resets_in_secs));
        }
        if let Some(ip_key) = ip_key {
            let ip = self.counters.increment(ip_key, window).await.map_err(AppError::internal)?;
            if ip.count > u64::from(self.limits.per_ip) {
                self.release_attempt(account_key, Some(ip_key)).await;
                return Err(too_many_failures(ip.resets_in_secs));
            }
        }
        Ok(())
    }

    async fn release_attempt(&self, account_key: &str, ip_key: Option<&str>) {
        for key in std::iter::once(account_key).chain(ip_key) {
            if let Err(error) = self.counters.release(key).await {
                tracing::warn!(error = %error, "could not give back a reserved sign-in attempt");
            }
        }
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

    /// A single-use ticket for the live feed, for the holder of a valid access token.
    pub fn issue_ticket(&self, access: &Claims) -> AppResult<(String, u64)> {
        let issued = self.keys.issue_ticket(access)?;
        let lifetime = (issued.claims.exp - issued.claims.iat).max(0) as u64;
        Ok((issued.token, lifetime))
    }

    /// Spends a ticket: valid, unused, of a session not ended. Answers its claims (`ses` is when
    /// the access token it was issued for expires).
    pub async fn redeem_ticket(&self, ticket: &str) -> AppResult<Claims> {
        let claims = self.keys.verify(ticket, TokenType::Ticket)?;
        let family = claims.sid.to_string();
        let used = format!("ticket:{}", claims.jti);
        if self.denylist.any_denied(&[&used, &family]).await.map_err(AppError::internal)? {
            return Err(AppError::InvalidToken("ticket already used or revoked"));
        }
        let remaining = (claims.exp - Utc::now().timestamp()).max(1) as u64;
        self.denylist.deny(&used, Duration::from_secs(remaining)).await.map_err(AppError::internal)?;
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
    crate::ops::metrics::login_failed("locked_out");
    crate::ops::metrics::rate_limited("login");
    AppError::RateLimited {
        retry_after_secs: resets_in_secs.max(1),
        message: "too many failed sign-in attempts; try again later".into(),
        left: None,
    }
}
