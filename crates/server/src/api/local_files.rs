//! `/files/{key}`: the local backend's objects, served by the server itself. A request is
//! accepted only with a valid, unexpired signature minted by the API; reads support `Range`
//! (video seeking), `ETag` / `If-None-Match`, and downloads by name.

use crate::envelope;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cinegen_domain::FileStatus;
use cinegen_storage::StorageKey;
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
pub struct Signature {
    exp: Option<i64>,
    sig: Option<String>,
    dl: Option<String>,
}

fn refused() -> AppError {
    AppError::Forbidden("this link is invalid or has expired; ask the API for a fresh one")
}

fn checked_key(state: &AppState, raw: &str) -> AppResult<StorageKey> {
    if !state.files.storage().is_local() {
        return Err(AppError::not_found("file"));
    }
    StorageKey::parse(raw).ok_or_else(|| AppError::not_found("file"))
}

fn content_type_of(key: &StorageKey) -> &'static str {
    match key.as_str().rsplit('.').next().unwrap_or_default() {
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "zip" => "application/zip",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// One range of `bytes=a-b`, `bytes=a-` or `bytes=-n`; `Err` when it cannot be satisfied.
fn parse_range(value: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None); // several ranges: answer the whole object, as RFC 9110 allows
    }
    let (start, end) = spec.split_once('-').ok_or(())?;
    let range = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            size.saturating_sub(n)..size
        }
        (start, "") => start.parse().map_err(|_| ())?..size,
        (start, end) => {
            let start: u64 = start.parse().map_err(|_| ())?;
            let end: u64 = end.parse().map_err(|_| ())?;
            start..(end + 1).min(size)
        }
    };
    if range.start >= size || range.start >= range.end { Err(()) } else { Ok(Some(range)) }
}

fn disposition(name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._- ".contains(c) { c } else { '_' }).collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>().replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /files/{key}?exp&sig[&dl]`.
pub async fn get_file(
    State(state): State<AppState>,
    Path(raw_key): Path<String>,
    Query(signature): Query<Signature>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let key = checked_key(&state, &raw_key)?;
    let (Some(expires), Some(sig)) = (signature.exp, signature.sig.as_deref()) else { return Err(refused()) };
    let download = signature.dl.unwrap_or_default();
    if !state.files.storage().verify_local("GET", &key, expires, &download, sig) {
        return Err(refused());
    }
    let storage = state.files.storage();
    let meta = storage.head(&key).await.map_err(AppError::internal)?.ok_or_else(|| AppError::not_found("file"))?;
    let etag = format!(
        "\"{}\"",
        meta.e_tag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp()))
    );
    let mut common = HeaderMap::new();
    common.insert(header::ETAG, HeaderValue::from_str(&etag).map_err(AppError::internal)?);
    common.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // The URL itself expires, so caches may keep it only as long as the link is valid.
    let max_age = (expires - chrono::Utc::now().timestamp()).max(0);
    common.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("private, max-age={max_age}")).map_err(AppError::internal)?,
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    let size = meta.size as u64;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(value) => match parse_range(value, size) {
            Ok(range) => range,
            Err(()) => {
                common.insert(
                    header::CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}")).map_err(AppError::internal)?,
                );
                return Ok((StatusCode::RANGE_NOT_SATISFIABLE, common).into_response());
            }
        },
        None => None,
    };
    let object = storage.get(&key, range.clone()).await.map_err(AppError::internal)?;
    let body = Body::from_stream(object.into_stream().map_err(std::io::Error::other));
    common.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type_of(&key)));
    if !download.is_empty() {
        common.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&disposition(&download)).map_err(AppError::internal)?,
        );
    }
    let (status, length) = match &range {
        Some(r) => {
            let value = format!("bytes {}-{}/{size}", r.start, r.end - 1);
            common.insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).map_err(AppError::internal)?);
            (StatusCode::PARTIAL_CONTENT, r.end - r.start)
        }
        None => (StatusCode::OK, size),
    };
    common.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok((status, common, body).into_response())
}

/// `PUT /files/{key}?exp&sig`: the bytes of a requested upload, streamed into storage. The
/// signature covers the declared type and size; more bytes than declared are refused.
pub async fn put_file(
    State(state): State<AppState>,
    Path(raw_key): Path<String>,
    Query(signature): Query<Signature>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Response> {
    let key = checked_key(&state, &raw_key)?;
    let (Some(expires), Some(sig)) = (signature.exp, signature.sig.as_deref()) else { return Err(refused()) };
    let file_id = key.file_id().ok_or_else(|| AppError::not_found("file"))?;
    let file = state
        .store
        .file_by_id(file_id)
        .await?
        .filter(|f| f.storage_key == key.as_str() && f.status == FileStatus::Pending)
        .ok_or_else(refused)?;
    let extra = format!("{}\n{}", file.content_type, file.file_size);
    if !state.files.storage().verify_local("PUT", &key, expires, &extra, sig) {
        return Err(refused());
    }
    let sent_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !sent_type.eq_ignore_ascii_case(&file.content_type) {
        return Err(AppError::Validation {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!("this upload was requested as {}", file.content_type),
            fields: Vec::new(),
        });
    }
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let written = state.files.storage().put_stream(&key, stream, file.file_size as u64).await.map_err(|e| match e {
        cinegen_storage::StorageError::TooLarge { limit } => {
            AppError::PayloadTooLarge(format!("this upload was requested with {limit} bytes"))
        }
        other => AppError::internal(other),
    })?;
    Ok(envelope::ok(json!({ "stored_bytes": written.size, "md5": written.md5 })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(Some(0..100)));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some(900..1000)));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(Some(900..1000)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Ok(Some(990..1000)));
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()));
        assert_eq!(parse_range("bytes=5-1", 1000), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None));
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
    }

    #[test]
    fn download_names_are_safe_in_headers() {
        let value = disposition("成片 \"final\".mp4");
        assert!(value.starts_with("attachment; filename=\"__ _final_.mp4\""), "{value}");
        assert!(value.contains("filename*=UTF-8''%E6%88%90"));
    }
}
