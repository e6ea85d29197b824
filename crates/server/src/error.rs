//! One error type for the whole API and the one place it becomes an HTTP answer.
//!
//! Every variant carries a stable code from the plan. Server-side failures (`Internal`) are
//! logged here once, with their cause, and answered without any detail.

use crate::envelope::{ErrorBody, ErrorEnvelope, now_unix};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cinegen_domain::project::ChangeError;
use cinegen_domain::{FieldError, ValidationErrors};
use cinegen_store::StoreError;
use serde_json::{Value, json};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input that cannot be accepted; `status` is 400 (syntax), 415 (content type) or 422 (fields).
    #[error("{message}")]
    Validation { status: StatusCode, message: String, fields: Vec<FieldError> },
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("{0}")]
    InvalidToken(&'static str),
    #[error("token expired")]
    TokenExpired,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { message: String, details: Value },
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("{0}")]
    QuotaExceeded(String),
    /// Work that would pass a monthly spending cap (402, with the numbers).
    #[error("{}", budget_message(.0))]
    BudgetExceeded(cinegen_store::BudgetRefusal),
    #[error("too many requests")]
    RateLimited { retry_after_secs: u64, message: String, left: Option<BudgetLeft> },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("{0}")]
    ProviderNotConfigured(String),
    #[error("{0}")]
    ProviderError(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Where a refused request stands in the budget it drew on: what a client shows beside the
/// time to wait ("3 of 60 image requests left this hour").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLeft {
    /// The budget's name, as in `/usage` and the metrics (`images`, `videos`, …).
    pub budget: &'static str,
    /// How many the window allows.
    pub limit: u64,
    /// How many may still be asked for in this window.
    pub remaining: u64,
}

impl AppError {
    pub fn validation(fields: ValidationErrors) -> Self {
        Self::Validation {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("invalid input: {fields}"),
            fields: fields.0,
        }
    }

    pub fn bad_request(message: impl Into<String>, fields: Vec<FieldError>) -> Self {
        Self::Validation { status: StatusCode::BAD_REQUEST, message: message.into(), fields }
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found"))
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Validation { status, .. } => *status,
            Self::InvalidCredentials | Self::InvalidToken(_) | Self::TokenExpired => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } | Self::EmailTaken => StatusCode::CONFLICT,
            Self::QuotaExceeded(_) | Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BudgetExceeded(_) => StatusCode::PAYMENT_REQUIRED,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::ProviderNotConfigured(_) => StatusCode::BAD_REQUEST,
            Self::ProviderError(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "VALIDATION_ERROR",
            Self::InvalidCredentials => "INVALID_CREDENTIALS",
            Self::InvalidToken(_) => "INVALID_TOKEN",
            Self::TokenExpired => "TOKEN_EXPIRED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Conflict { .. } => "CONFLICT",
            Self::EmailTaken => "EMAIL_TAKEN",
            Self::QuotaExceeded(_) => "QUOTA_EXCEEDED",
            Self::BudgetExceeded(_) => "BUDGET_EXCEEDED",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::ServiceUnavailable(_) => "SERVICE_UNAVAILABLE",
            Self::ProviderNotConfigured(_) => "PROVIDER_NOT_CONFIGURED",
            Self::ProviderError(_) => "PROVIDER_ERROR",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    fn details(&self) -> Value {
        match self {
            Self::Validation { fields, .. } if !fields.is_empty() => json!({ "fields": fields }),
            Self::Conflict { details, .. } => details.clone(),
            Self::BudgetExceeded(refusal) => {
                let amount = crate::cost::format_amount;
                json!({
                    "scope": refusal.scope,
                    "currency": refusal.currency,
                    "monthly_cap": amount(refusal.cap),
                    "used": amount(refusal.used),
                    "asked": amount(refusal.asked),
                    "remaining": amount((refusal.cap - refusal.used).max(0)),
                })
            }
            Self::RateLimited { retry_after_secs, left: None, .. } => json!({ "retry_after_secs": retry_after_secs }),
            Self::RateLimited { retry_after_secs, left: Some(left), .. } => json!({
                "retry_after_secs": retry_after_secs,
                "budget": left.budget,
                "limit": left.limit,
                "remaining": left.remaining,
            }),
            _ => json!({}),
        }
    }

    fn public_message(&self) -> String {
        match self {
            Self::RateLimited { message, .. } => message.clone(),
            Self::Internal(_) => "internal server error".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        let body = ErrorEnvelope {
            success: false,
            error: ErrorBody { code: self.code().into(), message: self.public_message(), details: self.details() },
            timestamp: now_unix(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::RateLimited { retry_after_secs, .. } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
        }
        response
    }
}

fn budget_message(refusal: &cinegen_store::BudgetRefusal) -> String {
    let amount = crate::cost::format_amount;
    format!(
        "this would pass the {} monthly budget: {} {} used or held of {}, and this asks {} more",
        refusal.scope,
        amount(refusal.used),
        refusal.currency,
        amount(refusal.cap),
        amount(refusal.asked)
    )
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict("users_email") => Self::EmailTaken,
            StoreError::Conflict(what) => Self::Conflict {
                message: "conflicts with an existing record".into(),
                details: json!({ "constraint": what }),
            },
            StoreError::NotFound => Self::NotFound("not found".into()),
            StoreError::BudgetExceeded(refusal) => Self::BudgetExceeded(refusal),
            StoreError::Rejected(refusal) => refusal.into(),
            other => Self::Internal(other.into()),
        }
    }
}

impl From<ChangeError> for AppError {
    fn from(refusal: ChangeError) -> Self {
        match refusal {
            ChangeError::Conflict { current_version } => Self::Conflict {
                message: "the project was changed since the version this change is based on".into(),
                details: json!({ "current_version": current_version }),
            },
            ChangeError::Invalid(errors) => Self::validation(errors),
            ChangeError::Missing(what) => Self::NotFound(format!("{what} not found")),
            ChangeError::Forbidden(why) => Self::Forbidden(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(error: AppError) -> (StatusCode, Value) {
        let response = error.into_response();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn internal_errors_say_nothing_of_their_cause() {
        let (status, body) = body_of(AppError::internal(anyhow::anyhow!("password=hunter2 in query"))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"]["code"], "INTERNAL_ERROR");
        assert!(!body.to_string().contains("hunter2"));
        assert_eq!(body["success"], false);
    }

    #[tokio::test]
    async fn validation_errors_list_fields() {
        let mut errors = ValidationErrors::default();
        errors.push(FieldError::new("email", "is required"));
        let (status, body) = body_of(AppError::validation(errors)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["details"]["fields"][0]["field"], "email");
    }

    #[tokio::test]
    async fn duplicate_email_maps_to_email_taken() {
        let (status, body) = body_of(StoreError::Conflict("users_email").into()).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["error"]["code"], "EMAIL_TAKEN");
    }
}
