//! `POST /api/v1/callbacks/{provider}/{task_id}`: where Doubao and Kling say a video job changed.
//! No account calls it: the URL's signature (`sig`, given to the vendor with the job) is the
//! credential. Hearing one only wakes the task's poll (`ai::callbacks`).

use crate::api::projects::parse_id;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_domain::TaskId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The vendors that are given a callback URL.
const CALLING_BACK: [&str; 2] = ["doubao", "kling"];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallbackQuery {
    /// The signature this server put in the URL it gave the vendor.
    pub sig: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackHeard {
    /// Whether the task's poll was woken: false for a repeat, or a task already over.
    pub woken: bool,
}

/// A vendor's job callback: its body is read by nobody (the next poll asks the vendor), only
/// remembered to hear a repeat once.
#[utoipa::path(
    post, path = "/api/v1/callbacks/{provider}/{task_id}", tag = "tasks", operation_id = "provider_callback",
    params(("provider" = String, Path), ("task_id" = String, Path), CallbackQuery),
    request_body(content = serde_json::Value, description = "the vendor's task, as it posts it"),
    responses(
        (status = 200, body = Envelope<CallbackHeard>),
        (status = 401, body = ErrorEnvelope, description = "INVALID_TOKEN: the signature is not this server's"),
        (status = 404, body = ErrorEnvelope),
    )
)]
pub async fn provider_callback(
    State(state): State<AppState>,
    Path((provider, task)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
    body: Bytes,
) -> AppResult<Response> {
    if !CALLING_BACK.contains(&provider.as_str()) {
        return Err(AppError::not_found("provider"));
    }
    let task: TaskId = parse_id(&task, "task")?;
    let woken = state.ai.callbacks.heard(&provider, task, &query.sig, &body).await?;
    Ok(envelope::ok(CallbackHeard { woken }))
}
