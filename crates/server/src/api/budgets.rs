//! `/api/v1/budgets` and `/api/v1/projects/{id}/budget`: monthly spending caps per currency, with
//! this month's spending and what queued work holds. Work that would pass a cap is refused with
//! `402 BUDGET_EXCEEDED` and the numbers.

use crate::api::projects::parse_id;
use crate::cost::budgets::{BudgetUpdate, BudgetView, apply, parse_update, view};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_store::BudgetScope;

/// The caller's own monthly caps and this month's use (all their projects together).
#[utoipa::path(
    get, path = "/api/v1/budgets", tag = "budgets", operation_id = "get_budget",
    security(("bearer" = [])), responses((status = 200, body = Envelope<BudgetView>))
)]
pub async fn get_budget(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    Ok(envelope::ok(view(state.store.as_ref(), BudgetScope::User(claims.sub)).await?))
}

/// Sets (or, with null, removes) the caller's monthly caps per currency.
#[utoipa::path(
    put, path = "/api/v1/budgets", tag = "budgets", operation_id = "set_budget",
    security(("bearer" = [])), request_body = BudgetUpdate,
    responses((status = 200, body = Envelope<BudgetView>), (status = 422, body = ErrorEnvelope))
)]
pub async fn set_budget(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    ApiJson(body): ApiJson<BudgetUpdate>,
) -> AppResult<Response> {
    let caps = parse_update(&body)?;
    let scope = BudgetScope::User(claims.sub);
    apply(state.store.as_ref(), scope, &caps).await?;
    Ok(envelope::ok(view(state.store.as_ref(), scope).await?))
}

/// A project's monthly caps and this month's use, by everyone working on it (its members).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/budget", tag = "budgets", operation_id = "get_project_budget",
    security(("bearer" = [])), responses((status = 200, body = Envelope<BudgetView>), (status = 404, body = ErrorEnvelope))
)]
pub async fn get_project_budget(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let access = state.projects.authorize(claims.sub, parse_id(&id, "project")?).await?;
    Ok(envelope::ok(view(state.store.as_ref(), BudgetScope::Project(access.id())).await?))
}

/// Sets (or removes) a project's monthly caps (its owner).
#[utoipa::path(
    put, path = "/api/v1/projects/{id}/budget", tag = "budgets", operation_id = "set_project_budget",
    security(("bearer" = [])), request_body = BudgetUpdate,
    responses((status = 200, body = Envelope<BudgetView>), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
pub async fn set_project_budget(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BudgetUpdate>,
) -> AppResult<Response> {
    let access = state.projects.authorize(claims.sub, parse_id(&id, "project")?).await?.owner()?;
    let caps = parse_update(&body)?;
    let scope = BudgetScope::Project(access.id());
    apply(state.store.as_ref(), scope, &caps).await?;
    Ok(envelope::ok(view(state.store.as_ref(), scope).await?))
}
