//! `/api/v1/projects/{id}/audit`: who generated and exported what in the project.

use super::parse_id;
use crate::audit::AuditView;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiQuery, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cinegen_domain::{FieldError, ProjectId, ValidationErrors};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only events before this moment (RFC 3339): the next page is before the last event's `at`.
    #[serde(default)]
    pub before: Option<String>,
    /// 1–500, 100 when absent.
    #[serde(default)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditView>,
}

/// The project's audit log, newest first: every generation that landed (its slot, provider,
/// model, cost, task and take) and every export (archive, subtitles, timelines), with who did
/// it. Anyone who can see the project may read it.
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/audit", tag = "projects", operation_id = "project_audit",
    security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Envelope<AuditPage>), (status = 400, description = "an unknown query parameter", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 422, body = ErrorEnvelope))
)]
pub async fn project_audit(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> AppResult<Response> {
    let invalid =
        |field: &str, message: &str| AppError::validation(ValidationErrors(vec![FieldError::new(field, message)]));
    let before = match query.before.as_deref() {
        Some(raw) => Some(
            DateTime::parse_from_rfc3339(raw)
                .map_err(|_| invalid("before", "must be an RFC 3339 moment"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(invalid("limit", "must be 1–500"));
    }
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    let items = state.audit.of_project(&access, before, limit).await?;
    Ok(envelope::ok(AuditPage { items }))
}
