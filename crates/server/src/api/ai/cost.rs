//! Money over HTTP: `POST /api/v1/ai/estimate` (what a request or batch would cost, before
//! anything is spent) and `GET /api/v1/usage/spending[.csv]` (what was spent).

use super::{days_param, image_target, invalid, prepare};
use crate::ai::Choice;
use crate::ai::batch_plan::BatchKind;
use crate::ai::generation::BatchWanted;
use crate::ai::handlers::{ImagePayload, ScriptParsePayload, VideoPayload};
use crate::cost::estimate::Estimate;
use crate::cost::spending::{GroupBy, SpendReport, csv, report};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use crate::tasks::kind::TaskKind;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cinegen_providers::Capability;
use std::collections::HashMap;

pub use super::requests::EstimateRequest;

/// What a request would cost and take, without queuing anything: the provider calls it makes,
/// per provider and model, with units (images, seconds, tokens), prices from the table in their
/// own currency, totals per currency and the expected time. `operation` is `image`, `video`,
/// `script` (a parse) or `batch` (with `kind` and the batch's own fields).
#[utoipa::path(
    post, path = "/api/v1/ai/estimate", tag = "ai", operation_id = "estimate",
    security(("bearer" = [])), request_body = EstimateRequest,
    responses((status = 200, body = Envelope<Estimate>), (status = 403, description = "a viewer of the project", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
pub async fn estimate(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<EstimateRequest>,
) -> AppResult<Response> {
    let project = prepare(&state, claims.sub, &body.project_id).await?;
    let kinds: Vec<TaskKind> = match body.operation.as_str() {
        "image" => {
            let target = image_target(&project, &body.target, &body.shot_id, body.keyframe_type)?;
            vec![ImagePayload::new(target, body.common().choice(Capability::Image)).into()]
        }
        "video" => {
            let shot = body.shot_id.clone().ok_or_else(|| invalid("shot_id", "is required for a video"))?;
            if crate::ai::targets::video_plan(&project.project, &shot, body.duration).is_err() {
                return Err(AppError::NotFound(format!("shot '{shot}' (with a start or full keyframe) not found")));
            }
            let image = Choice { provider: body.image_provider.clone(), model: None };
            let mut input = VideoPayload::new(shot, body.common().choice(Capability::Video), image);
            input.duration = body.duration;
            vec![input.into()]
        }
        "script" => vec![
            ScriptParsePayload { raw_script: None, language: None, choice: body.common().choice(Capability::Text) }
                .into(),
        ],
        "batch" => {
            let raw = body
                .kind
                .as_deref()
                .ok_or_else(|| invalid("kind", "is required for a batch: images, keyframes, clips or voices"))?;
            let kind =
                BatchKind::parse(raw).ok_or_else(|| invalid("kind", "must be images, keyframes, clips or voices"))?;
            let capability = kind.capability();
            let image = Choice { provider: body.image_provider.clone(), model: None };
            let wanted = BatchWanted {
                shot_ids: body.shot_ids.clone(),
                stale: body.stale,
                candidates: body.candidates.unwrap_or(1),
                fit_budget: false,
            };
            let choice = body.common().choice(capability);
            state.generation.plan(&project, kind, &choice, &image, &wanted).await?.items
        }
        _ => return Err(invalid("operation", "must be image, video, script or batch")),
    };
    Ok(envelope::ok(state.generation.estimate(&project, &kinds).await?))
}

fn group_param(raw: Option<&String>) -> AppResult<GroupBy> {
    match raw.map(String::as_str) {
        None | Some("day") => Ok(GroupBy::Day),
        Some("project") => Ok(GroupBy::Project),
        Some("provider") => Ok(GroupBy::Provider),
        Some("model") => Ok(GroupBy::Model),
        Some(_) => Err(invalid("group_by", "must be day, project, provider or model")),
    }
}

/// What the caller's provider calls cost, summed by day (UTC), project, provider or model, with
/// totals per currency (never converted) and the calls no price was known for.
#[utoipa::path(
    get, path = "/api/v1/usage/spending", tag = "ai", operation_id = "spending",
    security(("bearer" = [])),
    params(("days" = Option<u32>, Query, description = "1–366, default 30"),
           ("group_by" = Option<String>, Query, description = "day (default), project, provider or model")),
    responses((status = 200, body = Envelope<SpendReport>), (status = 422, body = ErrorEnvelope))
)]
pub async fn spending(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let days = days_param(params.get("days"))?;
    let group_by = group_param(params.get("group_by"))?;
    let rows = state.store.spending(claims.sub, Utc::now() - chrono::Duration::days(i64::from(days))).await?;
    Ok(envelope::ok(report(&rows, days, group_by)))
}

/// The same spending as CSV: one row per day, project, provider, model, kind and currency.
#[utoipa::path(
    get, path = "/api/v1/usage/spending.csv", tag = "ai", operation_id = "spending_csv",
    security(("bearer" = [])), params(("days" = Option<u32>, Query, description = "1–366, default 30")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorEnvelope))
)]
pub async fn spending_csv(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Query(params): Query<HashMap<String, String>>,
) -> AppResult<Response> {
    let days = days_param(params.get("days"))?;
    let rows = state.store.spending(claims.sub, Utc::now() - chrono::Duration::days(i64::from(days))).await?;
    let name = format!("attachment; filename=\"cinegen-spending-{}.csv\"", Utc::now().format("%Y-%m-%d"));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)],
        csv(&rows),
    )
        .into_response())
}
