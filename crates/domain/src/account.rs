//! Accounts: the values a user registers with, parsed once at the boundary.

use crate::ids::UserId;
use crate::validation::FieldError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, trimmed and lower-cased so that comparisons ignore case.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// The longest address SMTP can carry (RFC 5321: 254 octets).
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_lowercase();
        let invalid = || FieldError::new("email", "must be a valid email address");
        if value.is_empty() {
            return Err(FieldError::new("email", "is required"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(FieldError::new("email", format!("must be at most {} characters", Self::MAX_LEN)));
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        let chars_ok = value.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if local.is_empty() || local.len() > 64 || !domain_ok || !chars_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A plain-text password on its way to the hasher. `Debug` never prints it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// NIST SP 800-63B: at least 8 characters; the upper bound keeps hashing cost bounded.
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let count = raw.chars().count();
        if count < Self::MIN_CHARS {
            return Err(FieldError::new("password", format!("must be at least {} characters", Self::MIN_CHARS)));
        }
        if count > Self::MAX_CHARS {
            return Err(FieldError::new("password", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A display name: any script, trimmed, 1–64 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldError::new("name", "is required"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new("name", "must not contain control characters"));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A byte count. 64-bit: quotas and file sizes pass 2 GiB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ByteSize(pub i64);

impl ByteSize {
    pub const KIB: i64 = 1024;
    pub const MIB: i64 = 1024 * 1024;
    pub const GIB: i64 = 1024 * 1024 * 1024;

    /// Parses `1048576`, `512MiB`, `10GB`, `2 GiB` (binary and decimal units, case-insensitive).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        let number: i64 = digits.parse().map_err(|_| format!("'{raw}' is not a byte size"))?;
        let factor: i64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "kib" => Self::KIB,
            "m" | "mb" => 1_000_000,
            "mib" => Self::MIB,
            "g" | "gb" => 1_000_000_000,
            "gib" => Self::GIB,
            "t" | "tb" => 1_000_000_000_000,
            "tib" => Self::GIB * 1024,
            other => return Err(format!("unknown unit '{other}' in '{raw}'")),
        };
        number.checked_mul(factor).map(Self).ok_or_else(|| format!("'{raw}' is too large"))
    }

    pub fn bytes(self) -> i64 {
        self.0
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [("GiB", Self::GIB), ("MiB", Self::MIB), ("KiB", Self::KIB)];
        for (name, size) in units {
            if self.0 >= size && self.0 % size == 0 {
                return write!(f, "{}{name}", self.0 / size);
            }
        }
        write!(f, "{}B", self.0)
    }
}

/// A stored account.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub password_hash: String,
    pub quota_total: ByteSize,
    pub quota_used: ByteSize,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// Share of the quota in use, 0–100 with two decimals.
    pub fn quota_percent(&self) -> f64 {
        if self.quota_total.0 <= 0 {
            return 100.0;
        }
        let percent = self.quota_used.0 as f64 * 100.0 / self.quota_total.0 as f64;
        (percent * 100.0).round() / 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in ["", "plain", "@example.com", "a@b", "a@.com", "a@b..com", "a b@c.com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad} was accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn passwords_have_bounds_and_hide_in_debug() {
        assert!(Password::parse("x").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        let password = Password::parse("correct horse").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
    }

    #[test]
    fn names_accept_any_script() {
        assert_eq!(DisplayName::parse(" 林黛玉 ").unwrap().as_str(), "林黛玉");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn byte_sizes_parse_units() {
        assert_eq!(ByteSize::parse("1048576").unwrap().0, 1_048_576);
        assert_eq!(ByteSize::parse("10GiB").unwrap().0, 10 * ByteSize::GIB);
        assert_eq!(ByteSize::parse("2 gb").unwrap().0, 2_000_000_000);
        assert!(ByteSize::parse("ten").is_err());
        assert!(ByteSize::parse("5 parsecs").is_err());
        assert_eq!(ByteSize(5 * ByteSize::GIB).to_string(), "5GiB");
    }

    #[test]
    fn quota_percent_is_rounded() {
        let user = User {
            id: UserId::new(),
            email: Email::parse("a@b.co").unwrap(),
            name: "a".into(),
            password_hash: String::new(),
            quota_total: ByteSize(3),
            quota_used: ByteSize(1),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        assert_eq!(user.quota_percent(), 33.33);
    }
}
