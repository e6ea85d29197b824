//! Envelope answers for requests no route takes.

use crate::error::AppError;

pub async fn not_found() -> AppError {
    AppError::NotFound("no such route".into())
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
