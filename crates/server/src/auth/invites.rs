//! Invitations for `registration = invite`: a code that lets one email address register until a
//! date. Codes are signed (HMAC-SHA256 under a key derived from the signing secret) rather than
//! stored: an operator prints one with `cinegen user invite`, and since an address can register
//! only once, a code is spent by its use.

use base64::Engine as _;
use cinegen_domain::Email;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Invites {
    key: Vec<u8>,
}

impl Invites {
    pub fn new(signing_secret: &[u8]) -> Self {
        // A key of its own, so an invite code can never pass as any other signature of ours.
        let mut derive = HmacSha256::new_from_slice(signing_secret).expect("HMAC takes any key length");
        derive.update(b"cinegen invitations");
        Self { key: derive.finalize().into_bytes().to_vec() }
    }

    fn mac(&self, email: &Email, expires: i64) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(format!("{}\n{expires}", email.as_str()).as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A code for `email`, valid until `expires` (Unix seconds).
    pub fn issue(&self, email: &Email, expires: i64) -> String {
        let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.mac(email, expires));
        format!("{expires}.{mac}")
    }

    /// Whether `code` invites `email` at `now`.
    pub fn admits(&self, email: &Email, code: &str, now: i64) -> bool {
        let Some((expires, mac)) = code.trim().split_once('.') else { return false };
        let (Ok(expires), Ok(mac)) =
            (expires.parse::<i64>(), base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(mac))
        else {
            return false;
        };
        let mut check = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        check.update(format!("{}\n{expires}", email.as_str()).as_bytes());
        // verify_slice compares in constant time.
        expires > now && check.verify_slice(&mac).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_admits_its_address_until_it_expires() {
        let invites = Invites::new(b"a signing secret of enough length....");
        let ann = Email::parse("ann@example.com").unwrap();
        let bob = Email::parse("bob@example.com").unwrap();
        let code = invites.issue(&ann, 2_000);
        assert!(invites.admits(&ann, &code, 1_000));
        assert!(!invites.admits(&ann, &code, 2_000), "expired");
        assert!(!invites.admits(&bob, &code, 1_000), "another address");
        assert!(!invites.admits(&ann, &code.replace("2000.", "9999."), 1_000), "a longer life is forged");
        assert!(!invites.admits(&ann, "nonsense", 1_000));
        let other = Invites::new(b"another server's secret of some length");
        assert!(!other.admits(&ann, &code, 1_000));
    }
}
