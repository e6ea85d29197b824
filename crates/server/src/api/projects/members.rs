use super::parse_id;
use super::views::{InvitationView, MemberView, MembersView};
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::AppResult;
use crate::extract::{ApiJson, CurrentUser};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::Response;
use cinegen_domain::{ProjectId, UserId};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    pub email: String,
    /// `viewer` (reads) or `editor` (reads and writes).
    pub role: String,
}

async fn members_answer(state: &AppState, access: &crate::projects::ProjectAccess) -> AppResult<Response> {
    let members = state.projects.members(access).await?;
    let invitations = state.projects.invitations(access).await?;
    Ok(envelope::ok(MembersView {
        members: members.into_iter().map(MemberView::from).collect(),
        invitations: invitations.into_iter().map(InvitationView::from).collect(),
    }))
}

/// Shares the project with an account (owner only); sharing again changes the role. An address
/// with no account yet is invited for 14 days (it is listed under `invitations`, with the path
/// where it registers); registering with it makes it a member.
#[utoipa::path(
    post, path = "/api/v1/projects/{id}/share", tag = "projects", operation_id = "share_project",
    security(("bearer" = [])), request_body = ShareRequest,
    responses(
        (status = 200, body = Envelope<MembersView>),
        (status = 403, body = ErrorEnvelope), (status = 404, description = "no such project", body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope),
    )
)]
pub async fn share_project(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ShareRequest>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?.owner()?;
    state.projects.share(&access, claims.sub, &body.email, &body.role).await?;
    members_answer(&state, &access).await
}

/// The project's members (not its owner).
#[utoipa::path(
    get, path = "/api/v1/projects/{id}/members", tag = "projects", operation_id = "list_members",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<MembersView>), (status = 404, body = ErrorEnvelope))
)]
pub async fn list_members(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    members_answer(&state, &access).await
}

/// Removes a member (the owner removes anyone; a member may leave).
#[utoipa::path(
    delete, path = "/api/v1/projects/{id}/members/{user_id}", tag = "projects", operation_id = "remove_member",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<MembersView>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope))
)]
pub async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, user_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let member: UserId = parse_id(&user_id, "member")?;
    let access = state.projects.authorize(claims.sub, id).await?;
    state.projects.unshare(&access, claims.sub, member).await?;
    members_answer(&state, &access).await
}

/// Withdraws an invitation (owner only).
#[utoipa::path(
    delete, path = "/api/v1/projects/{id}/invitations/{email}", tag = "projects", operation_id = "cancel_invitation",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<MembersView>), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 422, description = "not an email address", body = ErrorEnvelope))
)]
pub async fn cancel_invitation(
    State(state): State<AppState>,
    CurrentUser(claims): CurrentUser,
    Path((id, email)): Path<(String, String)>,
) -> AppResult<Response> {
    let id: ProjectId = parse_id(&id, "project")?;
    let access = state.projects.authorize(claims.sub, id).await?.owner()?;
    state.projects.cancel_invitation(&access, &email).await?;
    members_answer(&state, &access).await
}
