//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool, and a semaphore
//! caps how many hashes run at once: a flood of logins queues here instead of taking every core
//! from the requests that need none.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use cinegen_domain::Password;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for a hashing slot before being told to come back later.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    /// A hash of a random password, verified against when an email is unknown, so that an unknown
    /// email costs exactly as much time as a wrong password.
    decoy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(argon2().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hash: {e}"))?.to_string())
}

fn verify_blocking(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

impl PasswordHasher {
    pub async fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let decoy: String = (0..24).map(|_| rand::random::<char>()).collect();
        let decoy_hash = tokio::task::spawn_blocking(move || hash_blocking(&decoy)).await??;
        Ok(Self { slots: Arc::new(Semaphore::new(max_concurrent.max(1))), decoy_hash: Arc::new(decoy_hash) })
    }

    pub async fn hash(&self, password: &Password) -> AppResult<String> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await?.map_err(AppError::internal)
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no account.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy_hash.as_str().to_owned(), str::to_owned);
        let password = password.to_owned();
        let matches = self.run(move || verify_blocking(&password, &hash)).await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::ServiceUnavailable("the server is busy; please retry shortly".into()))?
            .map_err(AppError::internal)?;
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(AppError::internal)?;
        Ok(result)
    }
}

/// Hashes outside the server (admin commands).
pub fn hash_password_blocking(password: &Password) -> anyhow::Result<String> {
    hash_blocking(password.expose())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        assert!(!hasher.verify("anything at all", None).await.unwrap());
    }
}
