//! Security headers on every answer. Signed file URLs carry their signature in the query, so no
//! page may leak its address through `Referer`; stored files are user content and are served in
//! a sandbox, so an uploaded HTML or SVG file can never run script on our origin.

use crate::config::{Settings, StorageLocation};
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// The headers, worked out once from the settings.
#[derive(Clone)]
pub struct SecurityHeaders {
    app_policy: HeaderValue,
    hsts: Option<HeaderValue>,
}

const FILES_POLICY: HeaderValue = HeaderValue::from_static(
    "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'",
);

impl Default for SecurityHeaders {
    /// Files on this server, plain http.
    fn default() -> Self {
        Self::with(&[], false)
    }
}

impl SecurityHeaders {
    pub fn new(settings: &Settings) -> Self {
        let https = settings.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        Self::with(&storage_origins(settings), https)
    }

    /// Images and clips come from this origin, or from the object store's (presigned S3 URLs, a
    /// CDN); uploads PUT to the object store directly.
    fn with(storage_origins: &[String], https: bool) -> Self {
        let with_storage = |sources: &str| {
            std::iter::once(sources).chain(storage_origins.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
        };
        let policy = [
            "default-src 'self'".to_owned(),
            "script-src 'self'".to_owned(),
            "style-src 'self' 'unsafe-inline'".to_owned(),
            with_storage("img-src 'self' data: blob: https:"),
            with_storage("media-src 'self' blob: https:"),
            with_storage("connect-src 'self'"),
            "font-src 'self' data:".to_owned(),
            "object-src 'none'".to_owned(),
            "base-uri 'self'".to_owned(),
            "form-action 'self'".to_owned(),
            "frame-ancestors 'none'".to_owned(),
        ]
        .join("; ");
        Self {
            app_policy: HeaderValue::from_str(&policy).expect("a CSP of ASCII origins"),
            hsts: https.then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        }
    }
}

/// The origins (scheme, host, port) files are served from when they are not on this server.
fn storage_origins(settings: &Settings) -> Vec<String> {
    let mut origins = Vec::new();
    let mut add = |raw: &str| {
        if let Ok(url) = url::Url::parse(raw)
            && matches!(url.scheme(), "http" | "https")
        {
            let origin = url.origin().ascii_serialization();
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    };
    if let StorageLocation::S3(s3) = &settings.storage {
        match &s3.endpoint {
            Some(endpoint) if s3.path_style => add(endpoint),
            Some(endpoint) => {
                if let Ok(mut url) = url::Url::parse(endpoint)
                    && let Some(host) = url.host_str().map(|h| format!("{}.{h}", s3.bucket))
                    && url.set_host(Some(&host)).is_ok()
                {
                    add(url.as_str());
                }
            }
            None => add(&format!("https://{}.s3.{}.amazonaws.com", s3.bucket, s3.region)),
        }
        if let Some(base) = &s3.public_base_url {
            add(base);
        }
    }
    origins
}

/// The layer: `nosniff` and `no-referrer` everywhere, the app's CSP on pages and API answers,
/// a sandbox on stored files, HSTS behind https.
pub async fn apply(headers: Arc<SecurityHeaders>, request: Request, next: Next) -> Response {
    let is_file = request.uri().path().starts_with("/files/");
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    out.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    out.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let policy = if is_file { FILES_POLICY } else { headers.app_policy.clone() };
    out.insert(header::CONTENT_SECURITY_POLICY, policy);
    out.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(hsts) = &headers.hsts {
        out.insert(header::STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    response
}
