//! One HTTP transport for every adapter: a per-call timeout, the address guard the server installs
//! (so a user's base URL cannot reach inside the network), and answers read into [`Answer`].

use crate::capability::ProviderError;
use bytes::Bytes;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Checks a URL before it is called; the server plugs in its SSRF guard.
pub type UrlGuard = Arc<dyn Fn(&Url) -> Result<(), String> + Send + Sync>;

/// Where a vendor's throttling goes, so every caller of the provider (on every instance) holds
/// back, not only the call that met it: a 429's `Retry-After`, or a request or token quota the
/// `x-ratelimit-*` headers say is spent until its reset.
pub trait RateHints: Send + Sync {
    fn pause(&self, provider: &str, pause: Duration);
}

#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    /// Follows no redirects: for downloads whose redirect must not carry the provider's key.
    direct: reqwest::Client,
    guard: UrlGuard,
    /// Limit of one call; a video job's whole life is bounded separately by the task.
    pub timeout: Duration,
    /// The largest answer body read: a hostile or broken endpoint cannot exhaust memory.
    pub answer_limit: u64,
    hints: Option<Arc<dyn RateHints>>,
}

/// Answers of JSON calls (text, job status): a few MiB.
pub const JSON_ANSWER_LIMIT: u64 = 8 * 1024 * 1024;
/// Answers that carry images inline (base64 in JSON): the image kind's 50 MiB, encoded, and room.
pub const IMAGE_ANSWER_LIMIT: u64 = 96 * 1024 * 1024;
/// A video file fetched into memory from a vendor's file store.
pub const VIDEO_FILE_LIMIT: u64 = 2 * 1024 * 1024 * 1024;

/// An answer as received: status, the provider's retry hint, request id, and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub request_id: Option<String>,
    pub location: Option<String>,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON. Leading blank lines (DeepSeek's keep-alive while queued) are skipped.
    pub fn json(&self, provider: &str) -> Result<Value, ProviderError> {
        let text = std::str::from_utf8(&self.body).map_err(|_| malformed(provider, "the body is not UTF-8"))?;
        serde_json::from_str(text.trim_start())
            .map_err(|e| malformed(provider, &format!("the body is not JSON ({e}): {}", excerpt(text))))
    }

    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// A canned answer, for tests of how adapters read their vendor's bodies.
    #[cfg(test)]
    pub fn canned(status: u16, body: &'static str) -> Self {
        Self {
            status: StatusCode::from_u16(status).expect("a valid status"),
            retry_after: None,
            request_id: None,
            location: None,
            body: Bytes::from_static(body.as_bytes()),
        }
    }
}

fn malformed(provider: &str, message: &str) -> ProviderError {
    ProviderError::Malformed { message: format!("{provider}: {message}") }
}

/// At most 200 characters of a body, for error messages.
pub fn excerpt(text: &str) -> String {
    let trimmed = text.trim();
    match trimmed.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_owned(),
    }
}

impl Transport {
    pub fn new(client: reqwest::Client, direct: reqwest::Client, guard: UrlGuard, timeout: Duration) -> Self {
        Self { client, direct, guard, timeout, answer_limit: JSON_ANSWER_LIMIT, hints: None }
    }

    /// The same transport telling `hints` of every throttling it meets.
    pub fn with_rate_hints(self, hints: Arc<dyn RateHints>) -> Self {
        Self { hints: Some(hints), ..self }
    }

    /// The same transport reading answers of up to `limit` bytes.
    pub fn with_answer_limit(&self, limit: u64) -> Self {
        Self { answer_limit: limit, ..self.clone() }
    }

    /// For calls whose answers carry images inline.
    pub fn for_images(&self) -> Self {
        self.with_answer_limit(IMAGE_ANSWER_LIMIT)
    }

    /// A transport without an address guard, for tests against emulators on loopback.
    pub fn unguarded(timeout: Duration) -> Self {
        let client = reqwest::Client::builder().no_proxy().build().expect("a TLS backend is compiled in");
        let direct = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a TLS backend is compiled in");
        Self::new(client, direct, Arc::new(|_| Ok(())), timeout)
    }

    pub fn with_timeout(&self, timeout: Duration) -> Self {
        Self { timeout, ..self.clone() }
    }

    fn checked(&self, provider: &str, url: &str) -> Result<Url, ProviderError> {
        let parsed = Url::parse(url).map_err(|e| ProviderError::NotConfigured {
            provider: provider.into(),
            reason: format!("the base URL is not a URL: {e}"),
        })?;
        (self.guard)(&parsed).map_err(|reason| ProviderError::NotConfigured {
            provider: provider.into(),
            reason: format!("the base URL may not be called: {reason}"),
        })?;
        Ok(parsed)
    }

    pub fn get(&self, provider: &str, url: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(self.client.get(self.checked(provider, url)?))
    }

    pub fn post(&self, provider: &str, url: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(self.client.post(self.checked(provider, url)?))
    }

    pub fn delete(&self, provider: &str, url: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(self.client.delete(self.checked(provider, url)?))
    }

    /// A GET that does not follow redirects, so a key header never travels to another host.
    pub fn get_direct(&self, provider: &str, url: &str) -> Result<RequestBuilder, ProviderError> {
        Ok(self.direct.get(self.checked(provider, url)?))
    }

    /// Sends a request and reads the whole answer within the timeout. A refused connection is
    /// transient; no answer after sending is [`ProviderError::NoAnswer`]; the caller classifies
    /// error statuses with the provider's codes.
    pub async fn send(&self, provider: &str, request: RequestBuilder) -> Result<Answer, ProviderError> {
        let limit = self.answer_limit;
        let call = async {
            let mut response = request.send().await.map_err(Read::Network)?;
            let status = response.status();
            let headers = response.headers().clone();
            if response.content_length().is_some_and(|n| n > limit) {
                return Err(Read::TooLarge);
            }
            // Read in chunks, so an answer without a length (or lying about it) stops at the limit.
            let mut body = bytes::BytesMut::new();
            while let Some(chunk) = response.chunk().await.map_err(Read::Network)? {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(Read::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body.freeze()))
        };
        let (status, headers, body) = match tokio::time::timeout(self.timeout, call).await {
            Err(_) => {
                return Err(ProviderError::NoAnswer {
                    message: format!("{provider} did not answer within {} s", self.timeout.as_secs_f64()),
                });
            }
            Ok(Err(Read::Network(error))) => return Err(network_error(provider, &error)),
            Ok(Err(Read::TooLarge)) => {
                return Err(ProviderError::Malformed {
                    message: format!("{provider}: the answer is larger than {} MiB", limit / (1024 * 1024)),
                });
            }
            Ok(Ok(answer)) => answer,
        };
        super::observe::answered(provider, status.as_u16());
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let retry_after = header("retry-after").as_deref().and_then(parse_retry_after);
        if let Some(hints) = &self.hints
            && let Some(pause) = throttled_for(status, retry_after, &header)
        {
            hints.pause(provider, pause);
        }
        Ok(Answer {
            status,
            retry_after,
            request_id: header("x-request-id").or_else(|| header("trace-id")),
            location: header("location"),
            body,
        })
    }
}

/// Why an answer could not be read.
enum Read {
    Network(reqwest::Error),
    TooLarge,
}

fn network_error(provider: &str, error: &reqwest::Error) -> ProviderError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    if text.contains("may not be fetched") || text.contains("redirect refused") {
        return ProviderError::NotConfigured { provider: provider.into(), reason: text };
    }
    if error.is_connect() {
        // Nothing was sent: trying again cannot do the work twice.
        return ProviderError::Transient {
            message: format!("{provider} could not be reached: {text}"),
            retry_after: None,
        };
    }
    ProviderError::NoAnswer { message: format!("{provider} broke off the call: {text}") }
}

/// How long the vendor says to hold back: a 429's `Retry-After` (a second where it gives none),
/// or, on any answer, the reset of a request or token quota whose `x-ratelimit-remaining-*` is 0
/// (OpenAI's headers, which its imitators copy).
fn throttled_for(
    status: StatusCode,
    retry_after: Option<Duration>,
    header: &dyn Fn(&str) -> Option<String>,
) -> Option<Duration> {
    let spent = |what: &str| {
        let remaining = header(&format!("x-ratelimit-remaining-{what}"))?;
        (remaining.trim() == "0")
            .then(|| header(&format!("x-ratelimit-reset-{what}")).as_deref().and_then(parse_reset))?
    };
    let quota = [spent("requests"), spent("tokens")].into_iter().flatten().max();
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Some(retry_after.or(quota).unwrap_or(Duration::from_secs(1)));
    }
    quota.filter(|pause| !pause.is_zero())
}

/// A reset in Go's duration form (`12ms`, `1s`, `6m0s`, `1h2m3.5s`), as `x-ratelimit-reset-*`
/// carries it.
pub fn parse_reset(value: &str) -> Option<Duration> {
    let mut total = 0.0;
    let mut number = String::new();
    let mut chars = value.trim().chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * unit;
        number.clear();
        any = true;
    }
    if !number.is_empty() {
        total += number.parse::<f64>().ok()?;
        any = true;
    }
    (any && total.is_finite()).then(|| Duration::from_secs_f64(total.min(3600.0)))
}

/// `Retry-After` in seconds (fractions allowed); HTTP dates are rare from APIs and ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().trim_end_matches('s').parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(3600.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_google_durations() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("57.5s"), Some(Duration::from_millis(57_500)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }

    #[test]
    fn resets_read_go_durations() {
        assert_eq!(parse_reset("12ms"), Some(Duration::from_millis(12)));
        assert_eq!(parse_reset("6m0s"), Some(Duration::from_secs(360)));
        assert_eq!(parse_reset("2m3.5s"), Some(Duration::from_millis(123_500)));
        assert_eq!(parse_reset("2h0m0s"), Some(Duration::from_secs(3600)), "at most an hour");
        assert_eq!(parse_reset("20"), Some(Duration::from_secs(20)));
        assert_eq!(parse_reset("soon"), None);
    }

    #[test]
    fn throttling_is_read_from_429s_and_spent_quotas() {
        let headers = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        let none = headers(&[]);
        assert_eq!(throttled_for(StatusCode::OK, None, &none), None);
        assert_eq!(
            throttled_for(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(7)), &none),
            Some(Duration::from_secs(7))
        );
        assert_eq!(throttled_for(StatusCode::TOO_MANY_REQUESTS, None, &none), Some(Duration::from_secs(1)));
        let spent = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "1.5s"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(throttled_for(StatusCode::OK, None, &spent), Some(Duration::from_secs(360)));
        let plenty = headers(&[("x-ratelimit-remaining-requests", "499"), ("x-ratelimit-reset-requests", "120ms")]);
        assert_eq!(throttled_for(StatusCode::OK, None, &plenty), None);
    }

    #[test]
    fn leading_blank_lines_are_skipped() {
        let answer = Answer {
            status: StatusCode::OK,
            retry_after: None,
            request_id: None,
            location: None,
            body: Bytes::from_static(b"\n\n  \n{\"ok\":true}"),
        };
        assert_eq!(answer.json("deepseek").unwrap()["ok"], true);
        let garbage = Answer { body: Bytes::from_static(b"<html>oops"), ..answer };
        assert!(matches!(garbage.json("deepseek"), Err(ProviderError::Malformed { .. })));
    }
}
