//! HMAC-signed, expiring URLs for the local backend: the server serves `/files/{key}` itself and
//! accepts a request only with a valid signature that has not expired.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

/// What a signature covers: the method, the key, the expiry and the extra fields that change what
/// the request may do (the download name of a GET; the type and size of a PUT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub key: &'a str,
    pub expires: i64,
    pub extra: &'a str,
}

impl UrlSigner {
    /// `secret` should be a key of its own; the server derives one from its signing secret.
    pub fn new(secret: &[u8]) -> Self {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"cinegen file urls v1");
        Self { key: mac.finalize().into_bytes().to_vec() }
    }

    fn mac(&self, request: &SignedRequest<'_>) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        let message = format!("{}\n{}\n{}\n{}", request.method, request.key, request.expires, request.extra);
        mac.update(message.as_bytes());
        mac
    }

    pub fn sign(&self, request: &SignedRequest<'_>) -> String {
        hex::encode(self.mac(request).finalize().into_bytes())
    }

    /// Checks the signature (in constant time) and the expiry against `now` (Unix seconds).
    pub fn verify(&self, request: &SignedRequest<'_>, signature: &str, now: i64) -> bool {
        let Ok(bytes) = hex::decode(signature) else { return false };
        request.expires >= now && self.mac(request).verify_slice(&bytes).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_every_field_and_expire() {
        let signer = UrlSigner::new(b"secret");
        let request = SignedRequest { method: "GET", key: "users/a/b.png", expires: 2_000, extra: "" };
        let signature = signer.sign(&request);
        assert!(signer.verify(&request, &signature, 1_000));
        assert!(!signer.verify(&request, &signature, 2_001), "expired");
        for forged in [
            SignedRequest { key: "users/a/c.png", ..request.clone() },
            SignedRequest { expires: 9_999, ..request.clone() },
            SignedRequest { method: "PUT", ..request.clone() },
            SignedRequest { extra: "attachment", ..request.clone() },
        ] {
            assert!(!signer.verify(&forged, &signature, 1_000), "{forged:?}");
        }
        assert!(!signer.verify(&request, "zz", 1_000));
        assert!(!UrlSigner::new(b"other").verify(&request, &signature, 1_000));
    }
}
