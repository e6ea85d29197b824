//! Password hashing with argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane).
//!
//! Hashing is CPU-bound for tens of milliseconds, so it runs on the blocking pool, and a pool of
//! work areas caps how many hashes run at once: a flood of logins queues here instead of taking
//! every core from the requests that need none. Each work area is one 19 MiB block buffer, made on
//! first use and reused: allocating it per hash cost page faults on every login (half the login
//! throughput) and, with glibc, left a retained copy in every blocking thread's arena.

use crate::error::{AppError, AppResult};
use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use cinegen_domain::Password;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How long a request waits for a hashing slot before being told to come back later.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(10);
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

type WorkArea = Vec<Block>;

#[derive(Clone)]
pub struct PasswordHasher {
    slots: Arc<Semaphore>,
    areas: Arc<Mutex<Vec<WorkArea>>>,
    /// A hash of a random password, verified against when an email is unknown, so that an unknown
    /// email costs exactly as much time as a wrong password.
    decoy_hash: Arc<String>,
}

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters")
}

fn new_work_area() -> WorkArea {
    vec![Block::default(); params().block_count()]
}

/// Hashes into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
fn hash_with(password: &str, area: &mut WorkArea) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_bytes = [0u8; Salt::RECOMMENDED_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let params = params();
    let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password.as_bytes(), salt_bytes, &mut out, area.as_mut_slice())
        .map_err(|e| anyhow::anyhow!("hash: {e}"))?;
    let output = Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Verifies against a PHC string; stored hashes with other parameters still verify.
fn verify_with(password: &str, hash: &str, area: &mut WorkArea) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    if area.len() < params.block_count() {
        area.resize(params.block_count(), Block::default());
    }
    let algorithm = Algorithm::try_from(parsed.algorithm).unwrap_or(Algorithm::Argon2id);
    let version = parsed.version.and_then(|v| Version::try_from(v).ok()).unwrap_or(Version::V0x13);
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt_bytes,
        &mut out,
        area.as_mut_slice(),
    );
    // `Output` compares in constant time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

impl PasswordHasher {
    pub async fn new(max_concurrent: usize) -> anyhow::Result<Self> {
        let decoy: String = (0..24).map(|_| rand::random::<char>()).collect();
        let decoy_hash = tokio::task::spawn_blocking(move || hash_with(&decoy, &mut new_work_area())).await??;
        Ok(Self {
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            areas: Arc::new(Mutex::new(Vec::new())),
            decoy_hash: Arc::new(decoy_hash),
        })
    }

    pub async fn hash(&self, password: &Password) -> AppResult<String> {
        let password = password.expose().to_owned();
        self.run(move |area| hash_with(&password, area)).await?.map_err(AppError::internal)
    }

    /// Verifies `password` against `hash`, or against the decoy when there is no account.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> AppResult<bool> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy_hash.as_str().to_owned(), str::to_owned);
        let password = password.to_owned();
        let matches = self.run(move |area| verify_with(&password, &hash, area)).await?;
        Ok(known && matches)
    }

    /// Runs `work` on the blocking pool with a work area, once a slot is free.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut WorkArea) -> T + Send + 'static) -> AppResult<T> {
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| AppError::ServiceUnavailable("the server is busy; please retry shortly".into()))?
            .map_err(AppError::internal)?;
        let areas = self.areas.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut area = areas.lock().expect("work areas").pop().unwrap_or_else(new_work_area);
            let result = work(&mut area);
            areas.lock().expect("work areas").push(area);
            result
        })
        .await
        .map_err(AppError::internal)?;
        Ok(result)
    }
}

/// Hashes outside the server (admin commands).
pub fn hash_password_blocking(password: &Password) -> anyhow::Result<String> {
    hash_with(password.expose(), &mut new_work_area())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_are_standard_argon2id_and_verify() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await.unwrap());
        // The reference implementation agrees with what we wrote.
        let parsed = PasswordHash::new(&hash).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse battery", &parsed).is_ok());
    }

    #[tokio::test]
    async fn hashes_made_elsewhere_verify() {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let params = Params::new(8 * 1024, 1, 1, None).unwrap();
        let foreign = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"legacy password", &salt)
            .unwrap()
            .to_string();
        let hasher = PasswordHasher::new(1).await.unwrap();
        assert!(hasher.verify("legacy password", Some(&foreign)).await.unwrap());
        assert!(!hasher.verify("legacy passwork", Some(&foreign)).await.unwrap());
        assert!(!hasher.verify("legacy password", Some("not a phc string")).await.unwrap());
    }

    #[tokio::test]
    async fn unknown_accounts_never_verify() {
        let hasher = PasswordHasher::new(1).await.unwrap();
        assert!(!hasher.verify("anything at all", None).await.unwrap());
    }
}
