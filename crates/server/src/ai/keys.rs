//! Provider keys at rest: AES-256-GCM with a random nonce per value, under the key from
//! `ENCRYPTION_KEY`. Each ciphertext names its key by a short fingerprint, so after a rotation
//! values written under an earlier key (listed in `ENCRYPTION_KEYS_PREVIOUS`) still open, and
//! are re-encrypted under the current key when next read. Each ciphertext is bound to its row
//! (the user, provider and field, as AES-GCM associated data), so a sealed key copied into
//! another user's row, or into another field, does not open. Keys in the clear never leave this
//! module except into a provider call; what is shown is a hint such as `sk-…3f9a`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Bound to its row by associated data.
const PREFIX: &str = "aesgcm2";
/// Written before values were bound to their rows: still read, re-sealed when next read.
const UNBOUND_PREFIX: &str = "aesgcm";

#[derive(Clone)]
pub struct KeyCipher {
    /// The current key first, then earlier ones; each with its fingerprint.
    keys: Vec<(String, Aes256Gcm)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CipherError {
    #[error("the stored key was encrypted under a key this server no longer has")]
    UnknownKey,
    #[error("the stored key is damaged")]
    Damaged,
}

fn fingerprint(key: &[u8]) -> String {
    hex::encode(&Sha256::digest(key)[..4])
}

impl KeyCipher {
    /// `current` encrypts; `previous` keys only decrypt.
    pub fn new(current: &[u8], previous: &[&[u8]]) -> Self {
        let keys = std::iter::once(current)
            .chain(previous.iter().copied())
            .filter(|k| k.len() == 32)
            .map(|k| (fingerprint(k), Aes256Gcm::new_from_slice(k).expect("a 32-byte key")))
            .collect();
        Self { keys }
    }

    /// Seals `plain` for the row named by `context` (e.g. `user:provider:api_key`).
    pub fn encrypt(&self, plain: &str, context: &str) -> String {
        let (id, cipher) = &self.keys[0];
        let nonce_bytes: [u8; 12] = rand::random();
        let payload = Payload { msg: plain.as_bytes(), aad: context.as_bytes() };
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce_bytes), payload).expect("AES-GCM encrypts");
        let mut payload = nonce_bytes.to_vec();
        payload.extend(sealed);
        format!("{PREFIX}:{id}:{}", base64::engine::general_purpose::STANDARD.encode(payload))
    }

    /// The value in the clear, and whether it should be sealed again (it used an earlier key,
    /// or was sealed before values were bound to their rows). A value sealed for another
    /// `context` is damaged.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<(String, bool), CipherError> {
        let mut parts = stored.splitn(3, ':');
        let (Some(prefix), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CipherError::Damaged);
        };
        let aad = match prefix {
            PREFIX => context.as_bytes(),
            UNBOUND_PREFIX => b"",
            _ => return Err(CipherError::Damaged),
        };
        let at = self.keys.iter().position(|(k, _)| k == id).ok_or(CipherError::UnknownKey)?;
        let payload = base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| CipherError::Damaged)?;
        if payload.len() < 12 + 16 {
            return Err(CipherError::Damaged);
        }
        let (nonce, sealed) = payload.split_at(12);
        let plain = self.keys[at]
            .1
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
            .map_err(|_| CipherError::Damaged)?;
        Ok((String::from_utf8(plain).map_err(|_| CipherError::Damaged)?, at > 0 || prefix == UNBOUND_PREFIX))
    }
}

/// A hint of a key for display: its first three and last four characters, or nothing of a
/// short one.
pub fn hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 16 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        "••••".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_never_appear_in_the_ciphertext() {
        let cipher = KeyCipher::new(&[7; 32], &[]);
        let sealed = cipher.encrypt("sk-very-secret-key-123456", "u1:openai:api_key");
        assert!(!sealed.contains("secret"));
        assert_ne!(sealed, cipher.encrypt("sk-very-secret-key-123456", "u1:openai:api_key"), "a fresh nonce each time");
        assert_eq!(cipher.decrypt(&sealed, "u1:openai:api_key").unwrap(), ("sk-very-secret-key-123456".into(), false));
        assert_eq!(cipher.decrypt(&sealed, "u2:openai:api_key"), Err(CipherError::Damaged), "bound to its row");
        assert_eq!(cipher.decrypt(&sealed, "u1:openai:secret_key"), Err(CipherError::Damaged), "and its field");
    }

    #[test]
    fn rotation_reads_old_values_and_asks_for_re_encryption() {
        let old = KeyCipher::new(&[1; 32], &[]);
        let sealed = old.encrypt("sk-old", "row");
        let rotated = KeyCipher::new(&[2; 32], &[&[1; 32]]);
        assert_eq!(rotated.decrypt(&sealed, "row").unwrap(), ("sk-old".into(), true));
        let forgot = KeyCipher::new(&[2; 32], &[]);
        assert_eq!(forgot.decrypt(&sealed, "row"), Err(CipherError::UnknownKey));
    }

    #[test]
    fn tampering_is_detected() {
        let cipher = KeyCipher::new(&[3; 32], &[]);
        let mut sealed = cipher.encrypt("sk-abc", "row");
        sealed.pop();
        sealed.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(cipher.decrypt(&sealed, "row").is_err());
        assert_eq!(cipher.decrypt("plain text", "row"), Err(CipherError::Damaged));
    }

    #[test]
    fn values_sealed_before_binding_open_and_ask_to_be_sealed_again() {
        let cipher = KeyCipher::new(&[4; 32], &[]);
        let (id, aes) = &cipher.keys[0];
        let nonce = [9u8; 12];
        let mut payload = nonce.to_vec();
        payload.extend(aes.encrypt(Nonce::from_slice(&nonce), b"sk-legacy".as_slice()).unwrap());
        let legacy = format!("{UNBOUND_PREFIX}:{id}:{}", base64::engine::general_purpose::STANDARD.encode(payload));
        assert_eq!(cipher.decrypt(&legacy, "any row").unwrap(), ("sk-legacy".into(), true));
    }

    #[test]
    fn hints_show_little() {
        assert_eq!(hint("sk-proj-abcdefghijklmnop3f9a"), "sk-…3f9a");
        assert_eq!(hint("short"), "••••");
    }
}
