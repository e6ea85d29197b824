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

pub fn with_status<T: Serialize>(status: StatusCode, data: T, message: &str) -> Response {
    let body = Envelope { success: true, data, message: message.to_owned(), code: 0, timestamp: now_unix() };
    (status, Json(body)).into_response()
}
