//! The response envelope of the API, exactly as the plan gives it:
//! `{"success": true, "data": …, "message": "…", "code": 0, "timestamp": …}` for success, and
//! `{"success": false, "error": {"code", "message", "details"}, "timestamp": …}` (built by
//! [`crate::error::AppError`]) for failure.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// A successful answer carrying `data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub success: bool,
    pub data: T,
    pub message: String,
    pub code: i32,
    /// Unix seconds when the answer was made.
    pub timestamp: i64,
}

/// The error half of the envelope, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    pub success: bool,
    pub error: ErrorBody,
    pub timestamp: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable SCREAMING_SNAKE code such as `VALIDATION_ERROR`.
    pub code: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

pub fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `200 OK` with `data` in the envelope.
pub fn ok<T: Serialize>(data: T) -> Response {
    with_status(StatusCode::OK, data, "ok")
}

/// `201 Created` with `data` in the envelope.
pub fn created<T: Serialize>(data: T) -> Response {
    with_status(StatusCode::CREATED, data, "created")
}

/// `201 Created` with `data`, and `Location` naming where the new resource lives.
pub fn created_at<T: Serialize>(location: &str, data: T) -> Response {
    let mut response = created(data);
    if let Ok(value) = axum::http::HeaderValue::from_str(location) {
        response.headers_mut().insert(axum::http::header::LOCATION, value);
    }
    response
}

pub fn with_status<T: Serialize>(status: StatusCode, data: T, message: &str) -> Response {
    let body = Envelope { success: true, data, message: message.to_owned(), code: 0, timestamp: now_unix() };
    (status, Json(body)).into_response()
}

/// `200 OK` around `data` that is already serialised JSON, given as pieces that are sent as they
/// are (a cached object is not copied into a new buffer for every answer).
pub fn ok_serialised(data: impl IntoIterator<Item = bytes::Bytes>) -> Response {
    let mut pieces = std::collections::VecDeque::from([bytes::Bytes::from_static(br#"{"success":true,"data":"#)]);
    pieces.extend(data);
    pieces.push_back(bytes::Bytes::from(format!(r#","message":"ok","code":0,"timestamp":{}}}"#, now_unix())));
    let body = Pieces { remaining: pieces.iter().map(|p| p.len() as u64).sum(), pieces };
    ([(axum::http::header::CONTENT_TYPE, "application/json")], axum::body::Body::new(body)).into_response()
}

/// A body sent as a few shared pieces, with its exact length announced.
struct Pieces {
    pieces: std::collections::VecDeque<bytes::Bytes>,
    remaining: u64,
}

impl http_body::Body for Pieces {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        let next = self.pieces.pop_front();
        if let Some(piece) = &next {
            self.remaining -= piece.len() as u64;
        }
        std::task::Poll::Ready(next.map(|piece| Ok(http_body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.pieces.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn serialised_data_is_wrapped_in_the_envelope() {
        let pieces = [bytes::Bytes::from_static(b"{\"role\":\"viewer\","), bytes::Bytes::from_static(b"\"id\":\"p\"}")];
        let response = ok_serialised(pieces);
        let length = http_body::Body::size_hint(response.body()).exact();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(length, Some(body.len() as u64), "the exact length is announced");
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["success"], true);
        assert_eq!(answer["data"], serde_json::json!({"role": "viewer", "id": "p"}));
        assert_eq!(answer["message"], "ok");
        assert_eq!(answer["code"], 0);
        assert!(answer["timestamp"].as_i64().unwrap() > 1_700_000_000);
    }
}
