//! Several keys per provider (the plan's rotation over several accounts): calls spread over the
//! keys that are not parked, and a key whose vendor refuses it (the key itself, or an account out
//! of credit) is parked with the vendor's words until its owner saves the provider's settings
//! again, and the call that met the refusal goes back to the queue so the next attempt uses
//! another key. The last healthy key is never parked: with one key (or one left) a refusal fails
//! the call with the vendor's words, as it always did, and the next call tries the key again — a
//! topped-up account works without saving anything.

use cinegen_providers::{Credentials, ProviderError};
use cinegen_store::{ParkedKey, Store};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Whose keys: a user's id, or the operator's.
pub const SERVER_OWNER: &str = "server";

/// A key as parking knows it: its owner, and a hash of it (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub owner: String,
    pub fingerprint: String,
}

/// Sixteen hex digits of the SHA-256 of the provider and the key.
pub fn fingerprint(provider: &str, api_key: &str) -> String {
    hex::encode(&Sha256::digest(format!("{provider}\n{api_key}").as_bytes())[..8])
}

/// How long a parked key of the server's rests before it is tried again: the operator has no
/// settings to save anew, and a topped-up account should work without a restart.
pub const SERVER_KEY_REST: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The parkings that hold at `now`: a user's until the user saves the keys again, the server's
/// for [`SERVER_KEY_REST`].
pub fn in_force(parked: Vec<ParkedKey>, now: chrono::DateTime<chrono::Utc>) -> Vec<ParkedKey> {
    parked.into_iter().filter(|p| p.owner != SERVER_OWNER || now - p.parked_at < SERVER_KEY_REST).collect()
}

/// Why a key is parked, from what its vendor answered; `None` for every other failure.
pub fn parking_reason(error: &ProviderError) -> Option<&'static str> {
    match error {
        ProviderError::NotConfigured { .. } => Some("key_refused"),
        ProviderError::OutOfCredit { .. } => Some("out_of_credit"),
        _ => None,
    }
}

/// The keys of one owner for one provider, in the order they were saved.
pub struct KeyRing {
    pub owner: String,
    pub keys: Vec<Credentials>,
}

/// Picks the next key in turn among those not parked: (the key, its reference, whether another
/// healthy key is left). `Err` lists the parking reasons when every key is parked.
pub fn choose(
    provider: &str,
    ring: KeyRing,
    parked: &[ParkedKey],
    turn: &AtomicUsize,
) -> Result<(Credentials, Option<KeyRef>, bool), Vec<String>> {
    let with_refs: Vec<(Credentials, Option<KeyRef>)> = ring
        .keys
        .into_iter()
        .map(|credentials| {
            let key = credentials
                .api_key
                .as_deref()
                .map(|key| KeyRef { owner: ring.owner.clone(), fingerprint: fingerprint(provider, key) });
            (credentials, key)
        })
        .collect();
    let is_parked = |key: &Option<KeyRef>| {
        key.as_ref().is_some_and(|k| parked.iter().any(|p| p.provider == provider && p.fingerprint == k.fingerprint))
    };
    let reasons: Vec<String> = parked
        .iter()
        .filter(|p| p.provider == provider)
        .filter(|p| with_refs.iter().any(|(_, k)| k.as_ref().is_some_and(|k| k.fingerprint == p.fingerprint)))
        .map(|p| match &p.message {
            Some(message) => format!("{} ({message})", p.reason),
            None => p.reason.clone(),
        })
        .collect();
    let mut healthy: Vec<(Credentials, Option<KeyRef>)> =
        with_refs.into_iter().filter(|(_, k)| !is_parked(k)).collect();
    if healthy.is_empty() {
        return Err(reasons);
    }
    let others = healthy.len() > 1;
    let index = turn.fetch_add(1, Ordering::Relaxed) % healthy.len();
    let (credentials, key) = healthy.swap_remove(index);
    Ok((credentials, key, others))
}

/// Parks the key a call used when its vendor refuses it (`Pace::parker`).
#[derive(Clone)]
pub struct Parker {
    pub store: Arc<dyn Store>,
    pub provider: String,
    pub key: KeyRef,
    /// Another key of the ring is not parked: only then is this one parked on a refusal.
    pub others: bool,
    /// Set once this key was parked: the call's failure is the key's, not the provider's.
    pub parked: Arc<AtomicBool>,
}

impl Parker {
    /// Whether a call with this key parked it (another key of the provider takes the next attempt).
    pub fn has_parked(&self) -> bool {
        self.parked.load(Ordering::Acquire)
    }

    /// Parks the key if `error` refuses it and another key can take the call, and answers the
    /// error the caller should see: then a passing one.
    pub async fn after(&self, error: ProviderError) -> ProviderError {
        let Some(reason) = parking_reason(&error).filter(|_| self.others) else { return error };
        self.parked.store(true, Ordering::Release);
        let parked = ParkedKey {
            owner: self.key.owner.clone(),
            provider: self.provider.clone(),
            fingerprint: self.key.fingerprint.clone(),
            reason: reason.into(),
            message: Some(cinegen_providers::net::transport::excerpt(&error.to_string())),
            parked_at: chrono::Utc::now(),
        };
        match self.store.park_key(&parked).await {
            Ok(()) => {
                let whose = if self.key.owner == SERVER_OWNER { "server" } else { "user" };
                crate::ops::metrics::key_parked(&self.provider, whose, reason);
                tracing::warn!(provider = %self.provider, key = %self.key.fingerprint, reason, whose, "a provider key is parked")
            }
            Err(store) => tracing::warn!(error = %store, "a refused provider key could not be parked"),
        }
        ProviderError::Transient {
            message: format!("{error}; the key is parked and the next attempt uses another"),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Credentials {
        Credentials { api_key: Some(k.into()), ..Credentials::default() }
    }

    fn parked(provider: &str, k: &str) -> ParkedKey {
        ParkedKey {
            owner: "u".into(),
            provider: provider.into(),
            fingerprint: fingerprint(provider, k),
            reason: "key_refused".into(),
            message: Some("Incorrect API key".into()),
            parked_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_server_key_rests_an_hour_a_users_until_saved() {
        let now = chrono::Utc::now();
        let at = |owner: &str, minutes: i64| ParkedKey {
            owner: owner.into(),
            parked_at: now - chrono::TimeDelta::minutes(minutes),
            ..parked("openai", "sk-a")
        };
        let held = in_force(vec![at(SERVER_OWNER, 59), at(SERVER_OWNER, 61), at("u", 600)], now);
        let ages: Vec<(String, i64)> =
            held.iter().map(|p| (p.owner.clone(), (now - p.parked_at).num_minutes())).collect();
        assert_eq!(ages, vec![(SERVER_OWNER.to_owned(), 59), ("u".to_owned(), 600)]);
    }

    #[test]
    fn keys_take_turns_and_parked_ones_sit_out() {
        let turn = AtomicUsize::new(0);
        let ring = || KeyRing { owner: "u".into(), keys: vec![key("a"), key("b"), key("c")] };
        let picked: Vec<String> =
            (0..3).map(|_| choose("openai", ring(), &[], &turn).unwrap().0.api_key.unwrap()).collect();
        assert_eq!(picked.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "{picked:?}");
        let some = [parked("openai", "a"), parked("openai", "b"), parked("gemini", "c")];
        for _ in 0..3 {
            let (chosen, reference, others) = choose("openai", ring(), &some, &turn).unwrap();
            assert_eq!((chosen.api_key.as_deref(), others), (Some("c"), false));
            assert_eq!(reference.unwrap().fingerprint, fingerprint("openai", "c"));
        }
        let all = [parked("openai", "a"), parked("openai", "b"), parked("openai", "c")];
        let reasons = choose("openai", ring(), &all, &turn).unwrap_err();
        assert_eq!(reasons.len(), 3);
        assert!(reasons[0].contains("key_refused") && reasons[0].contains("Incorrect"));
    }

    #[test]
    fn only_refusals_of_the_key_or_the_account_park_it() {
        assert_eq!(
            parking_reason(&ProviderError::NotConfigured { provider: "p".into(), reason: "401".into() }),
            Some("key_refused")
        );
        assert_eq!(parking_reason(&ProviderError::OutOfCredit { message: "402".into() }), Some("out_of_credit"));
        assert_eq!(parking_reason(&ProviderError::Permanent { message: "policy".into() }), None);
        assert_eq!(parking_reason(&ProviderError::Transient { message: "429".into(), retry_after: None }), None);
    }
}
