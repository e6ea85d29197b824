//! Request extractors whose failures speak the API's envelope.

use crate::auth::Claims;
use crate::error::AppError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use cinegen_domain::FieldError;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// A JSON body. Wrong content type, malformed JSON, missing or mistyped fields and oversize
/// bodies each answer with their own clear error, naming the field where there is one.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(AppError::Validation {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "expected a JSON body with Content-Type: application/json".into(),
                fields: Vec::new(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge("request body too large".into())
            } else {
                AppError::bad_request(format!("could not read the request body: {rejection}"), Vec::new())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A query string. An unknown parameter, a missing or mistyped one answers 400 in the envelope,
/// naming the parameter (axum's own rejection would answer in plain text).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(query)) => Ok(ApiQuery(query)),
            Err(rejection) => Err(query_error(&rejection.body_text())),
        }
    }
}

/// axum's "Failed to deserialize query string: unknown field `x`, expected …" as a field error.
fn query_error(text: &str) -> AppError {
    let inner = strip_position(text.split_once(": ").map_or(text, |(_, inner)| inner));
    // serde names the parameter before its complaint (`limit: invalid digit …`).
    let (path, message) = match inner.split_once(": ") {
        Some((path, message)) if !path.is_empty() && !path.contains(' ') => (Some(path), message),
        _ => (None, inner.as_str()),
    };
    let (field, text) = match (unknown_field(message), missing_field(message)) {
        (Some((name, expected)), _) => (name.to_owned(), unknown_field_text(name, &expected)),
        (None, Some(name)) => (name.to_owned(), "is required".to_owned()),
        (None, None) => (path.unwrap_or("query").to_owned(), message.to_owned()),
    };
    AppError::bad_request(format!("invalid query: {field}: {text}"), vec![FieldError::new(field, text)])
}

/// Parses a JSON object, turning serde's complaint into a field-level validation error.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // Every request body of this API is an object; serde would otherwise read a struct from an
    // array positionally and blame "[0]".
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => AppError::bad_request(format!("malformed JSON: {e}"), Vec::new()),
            Ok(_) => AppError::Validation {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: "invalid input: body: must be a JSON object".into(),
                fields: vec![FieldError::new("body", "must be a JSON object")],
            },
        });
    }
    if let Some(inner) = enveloped(bytes)? {
        return serde_path_to_error::deserialize(inner).map_err(field_error);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    if parsed.is_ok() {
        deserializer.end().map_err(|e| AppError::bad_request(format!("malformed JSON: {e}"), Vec::new()))?;
    }
    parsed.map_err(field_error)
}

/// The plan's request envelope, `{"data": {…}, "meta": {…}}`: answers what `data` holds when the
/// body is exactly that (only those keys, `data` an object), so both forms are accepted.
fn enveloped(bytes: &[u8]) -> Result<Option<serde_json::Value>, AppError> {
    let rest = bytes.iter().skip_while(|b| b.is_ascii_whitespace()).skip(1);
    let first: Vec<u8> = rest.skip_while(|b| b.is_ascii_whitespace()).take(6).copied().collect();
    if first != b"\"data\"" && first != b"\"meta\"" {
        return Ok(None);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| AppError::bad_request(format!("malformed JSON: {e}"), Vec::new()))?;
    let serde_json::Value::Object(mut map) = value else { return Ok(None) };
    let wrapped = map.keys().all(|k| k == "data" || k == "meta") && map.get("data").is_some_and(|d| d.is_object());
    Ok(wrapped.then(|| map.remove("data")).flatten())
}

fn field_error(error: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let inner = error.inner();
    if inner.is_syntax() || inner.is_eof() {
        return AppError::bad_request(format!("malformed JSON: {inner}"), Vec::new());
    }
    let message = strip_position(&inner.to_string());
    let path = error.path().to_string();
    let unknown = unknown_field(&message);
    // serde_path_to_error already ends the path of an unknown field with its name.
    let name = if unknown.is_some() && path != "." {
        None
    } else {
        missing_field(&message).or(unknown.as_ref().map(|(n, _)| *n))
    };
    let field = match (path.as_str(), name) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "body".to_owned(),
        (path, Some(name)) => format!("{path}.{name}"),
        (path, None) => path.to_owned(),
    };
    let text = match (missing_field(&message), &unknown) {
        (Some(_), _) => "is required".to_owned(),
        (None, Some((name, expected))) => unknown_field_text(name, expected),
        (None, None) => message.clone(),
    };
    AppError::Validation {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        message: format!("invalid input: {field}: {text}"),
        fields: vec![FieldError::new(field, text)],
    }
}

/// serde's "unknown field `x`, expected one of `a`, `b`": the field and the names it expected.
fn unknown_field(message: &str) -> Option<(&str, Vec<&str>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (name, expected) = rest.split_once('`')?;
    let known = expected.split('`').skip(1).step_by(2).collect();
    Some((name, known))
}

/// "is not a field here", with the known name it is most likely a typo of.
fn unknown_field_text(name: &str, known: &[&str]) -> String {
    let closest = known
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(name, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 4))
        .min();
    match closest {
        Some((_, candidate)) => format!("is not a field here; did you mean `{candidate}`?"),
        None if known.is_empty() => "is not a field here".to_owned(),
        None => format!("is not a field here (known: {})", known.join(", ")),
    }
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

/// The caller's verified access-token claims. Missing, malformed, expired, revoked or
/// wrong-type tokens are refused here, before any handler runs.
pub struct CurrentUser(pub Claims);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(parts).ok_or(AppError::InvalidToken("missing bearer token"))?;
        state.auth.authenticate(token).await.map(CurrentUser)
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// The client's address (from `X-Forwarded-For` only when the proxy is trusted) and user agent.
pub struct Client(pub crate::auth::ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let settings = &state.settings;
        let ip = match peer {
            Some(peer) if settings.trust_forwarded_for => {
                let hops = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
                Some(client_ip(peer, hops, &settings.trusted_proxies))
            }
            other => other,
        };
        let user_agent = parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Client(crate::auth::ClientInfo { ip, user_agent }))
    }
}

/// The client behind a trusted peer: walking `X-Forwarded-For` from the right (the hop our proxy
/// added) leftwards past the trusted proxies, the first hop outside them. Hops to its left were
/// written by the client and prove nothing; a hop that is not an address ends the walk there.
fn client_ip<'a>(peer: IpAddr, headers: impl Iterator<Item = &'a str>, trusted: &[ipnet::IpNet]) -> IpAddr {
    let hops: Vec<&str> = headers.flat_map(|h| h.split(',')).map(str::trim).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !(client == peer || trusted.iter().any(|net| net.contains(&client))) {
            break;
        }
        match hop.parse::<IpAddr>() {
            Ok(ip) => client = ip,
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code, reason = "fields exist to be deserialised")]
    struct Body {
        email: String,
        age: u32,
    }

    fn field_of(error: AppError) -> String {
        match error {
            AppError::Validation { fields, .. } => fields[0].field.clone(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn missing_and_mistyped_fields_are_named() {
        assert_eq!(field_of(parse_json::<Body>(br#"{"email":"a"}"#).unwrap_err()), "age");
        assert_eq!(field_of(parse_json::<Body>(br#"{"email":5,"age":1}"#).unwrap_err()), "email");
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip =
            |headers: &[&str], trusted: &[ipnet::IpNet]| client_ip(peer, headers.iter().copied(), trusted).to_string();
        // A forged left-most hop is skipped: the proxy appended the real one.
        assert_eq!(ip(&["6.6.6.6, 203.0.113.9"], &[]), "203.0.113.9");
        // Behind two proxies, the hop the inner one saw.
        assert_eq!(ip(&["6.6.6.6, 203.0.113.9, 10.1.2.3"], &trusted), "203.0.113.9");
        // Without trusting the inner proxy, its address is the client.
        assert_eq!(ip(&["6.6.6.6, 203.0.113.9, 10.1.2.3"], &[]), "10.1.2.3");
        // Several headers read as one list; garbage stops the walk at the last good hop.
        assert_eq!(ip(&["6.6.6.6", "203.0.113.9"], &[]), "203.0.113.9");
        assert_eq!(ip(&["nonsense"], &[]), "10.0.0.2");
        assert_eq!(ip(&[], &[]), "10.0.0.2");
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        let error = parse_json::<Body>(b"{\"email\": ").unwrap_err();
        assert!(matches!(error, AppError::Validation { status: StatusCode::BAD_REQUEST, .. }));
        let trailing = parse_json::<Body>(br#"{"email":"a","age":1} x"#).unwrap_err();
        assert!(matches!(trailing, AppError::Validation { status: StatusCode::BAD_REQUEST, .. }));
    }
}
