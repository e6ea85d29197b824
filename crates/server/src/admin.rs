//! Operator commands (`cinegen user …`), run against the database without the HTTP server.

use crate::auth::password::hash_password_blocking;
use chrono::Utc;
use cinegen_domain::{ByteSize, DisplayName, Email, Password, User, UserId};
use cinegen_store::{NewUser, Store};

fn parse<T>(result: Result<T, cinegen_domain::FieldError>) -> anyhow::Result<T> {
    result.map_err(|e| anyhow::anyhow!("{}: {}", e.field, e.message))
}

async fn hash(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_password_blocking(&password)).await?
}

async fn find(store: &dyn Store, email: &str) -> anyhow::Result<User> {
    let email = parse(Email::parse(email))?;
    store.user_by_email(&email).await?.ok_or_else(|| anyhow::anyhow!("no user with email {email}"))
}

pub async fn create_user(
    store: &dyn Store,
    email: &str,
    name: &str,
    password: &str,
    quota: ByteSize,
) -> anyhow::Result<User> {
    let new = NewUser {
        id: UserId::new(),
        email: parse(Email::parse(email))?,
        name: parse(DisplayName::parse(name))?,
        password_hash: hash(parse(Password::parse(password))?).await?,
        quota_total: quota,
        now: Utc::now(),
    };
    store.create_user(new).await.map_err(|e| match e {
        cinegen_store::StoreError::Conflict(_) => anyhow::anyhow!("a user with email {email} already exists"),
        other => other.into(),
    })
}

pub async fn set_quota(store: &dyn Store, email: &str, quota: ByteSize) -> anyhow::Result<User> {
    let user = find(store, email).await?;
    store.set_quota_total(user.id, quota, Utc::now()).await?;
    find(store, email).await
}

/// Sets a new password and signs the user out everywhere (their refresh tokens stop working; access
/// tokens already issued lapse within their short lifetime).
pub async fn reset_password(store: &dyn Store, email: &str, password: &str) -> anyhow::Result<u64> {
    let user = find(store, email).await?;
    let password_hash = hash(parse(Password::parse(password))?).await?;
    store.set_password_hash(user.id, &password_hash, Utc::now()).await?;
    Ok(store.revoke_user_sessions(user.id, Utc::now()).await?)
}

/// Recomputes a user's `quota_used` from their ready files and repairs it; answers (before, after).
pub async fn repair_usage(store: &dyn Store, email: &str) -> anyhow::Result<(i64, i64)> {
    let user = find(store, email).await?;
    Ok(store.recompute_quota(user.id).await?)
}
