//! One taxonomy for every vendor's errors. Adapters read their vendor's body into a
//! [`Classified`] (HTTP status, vendor code, message) and [`classify`] decides by both together —
//! never by status alone, since vendors put billing under 429 or 403 and some answer errors with 200.

use crate::capability::ProviderError;
use std::time::Duration;

#[derive(Debug, Clone, Default)]
pub struct Classified {
    pub status: u16,
    /// The vendor's own code (`rate_limit_exceeded`, `RateLimitExceeded.EndpointRPMExceeded`, …).
    pub code: Option<String>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// Vendor codes that say the account cannot pay: not worth retrying though some come as 429.
/// Matched against codes only — ordinary throttling messages mention "billing details" too.
const BILLING_CODES: [&str; 4] = ["insufficient_quota", "quotaexceeded", "setlimitexceeded", "accountoverdueerror"];
/// Messages that say the same where a vendor gives no code.
const BILLING_MESSAGES: [&str; 2] = ["insufficient balance", "insufficient quota"];

/// Vendor codes of content-safety refusals, passed through to the user.
const POLICY: [&str; 6] =
    ["moderation", "content_policy", "riskdetection", "sensitivecontent", "safety", "risk control"];

pub fn classify(provider: &str, error: Classified) -> ProviderError {
    let Classified { status, code, message, retry_after } = error;
    let code_lower = code.as_deref().unwrap_or_default().to_ascii_lowercase();
    let message_lower = message.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| code_lower.contains(w) || message_lower.contains(w));
    let billing = BILLING_CODES.iter().any(|w| code_lower.contains(w)) || says(&BILLING_MESSAGES);
    let text = match code.as_deref() {
        Some(code) if !code.is_empty() && !message.contains(code) => format!("{provider}: {message} ({code})"),
        _ => format!("{provider}: {message}"),
    };
    match status {
        401 => ProviderError::NotConfigured {
            provider: provider.into(),
            reason: format!("the key was refused: {message}"),
        },
        402 => ProviderError::OutOfCredit { message: text },
        403 if billing => ProviderError::OutOfCredit { message: text },
        403 => ProviderError::NotConfigured {
            provider: provider.into(),
            reason: format!("the key may not do this: {message}"),
        },
        429 if billing => ProviderError::OutOfCredit { message: text },
        429 => {
            super::observe::throttled(provider);
            ProviderError::Transient { message: text, retry_after }
        }
        408 => ProviderError::Transient { message: text, retry_after },
        500..=599 => ProviderError::Transient { message: text, retry_after },
        _ if says(&POLICY) => {
            ProviderError::Permanent { message: format!("{text} — refused by the provider's content policy") }
        }
        _ => ProviderError::Permanent { message: text },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(status: u16, code: &str) -> ProviderError {
        classify("x", Classified { status, code: Some(code.into()), message: "m".into(), retry_after: None })
    }

    #[test]
    fn billing_under_429_and_403_is_not_retried() {
        assert!(matches!(at(429, "insufficient_quota"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(at(429, "SetLimitExceeded"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(at(403, "AccountOverdueError"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(at(402, "payment_required"), ProviderError::OutOfCredit { .. }));
        assert!(matches!(at(429, "RateLimitExceeded.EndpointRPMExceeded"), ProviderError::Transient { .. }));
    }

    #[test]
    fn throttling_that_mentions_billing_is_still_retried() {
        let error = classify(
            "gemini",
            Classified {
                status: 429,
                code: Some("RESOURCE_EXHAUSTED".into()),
                message: "You exceeded your current quota, please check your plan and billing details.".into(),
                retry_after: None,
            },
        );
        assert!(matches!(error, ProviderError::Transient { .. }), "{error:?}");
    }

    #[test]
    fn refused_keys_name_the_provider() {
        let error = at(401, "invalid_api_key");
        assert!(matches!(&error, ProviderError::NotConfigured { provider, .. } if provider == "x"));
    }

    #[test]
    fn policy_refusals_pass_the_message_through() {
        let error = classify(
            "doubao",
            Classified {
                status: 400,
                code: Some("InputTextRiskDetection".into()),
                message: "risky".into(),
                retry_after: None,
            },
        );
        assert!(error.to_string().contains("risky"), "{error}");
        assert!(error.to_string().contains("content policy"), "{error}");
    }
}
