//! `GET /api/v1/ws/tasks`: live task progress. Browsers cannot set headers on a WebSocket, so the
//! caller first trades its access token for a single-use ticket (`POST /api/v1/ws/ticket`, valid
//! 30 s) and opens `?ticket=…`; `?token=…` (the access token itself) is still accepted. Either is
//! checked before the upgrade. The first message is a snapshot of the caller's unfinished tasks
//! and, with `?since=` (the `updated_at` of the last event a reconnecting client got), of every
//! task that changed meanwhile, finished ones included, so a reconnecting client misses nothing;
//! then every change of a task the caller may see, optionally of one project. With
//! `?projects=true`, also every new version of a project the caller owns or is a member of
//! (`{"type": "project", "project": {id, version, updated_at, updated_by}}`), so other tabs and
//! other members load it; asked for, so a client that knows only task messages gets only those.
//!
//! The feed follows access as it changes: the socket closes when the session ends (logout, a
//! revoked refresh family, a password reset — checked every two seconds), when the access token
//! it was opened with expires, and, for a one-project feed, when the caller loses the project;
//! a project's events stop reaching a member within two seconds of their removal.

use crate::api::projects::parse_id;
use crate::api::tasks::TaskView;
use crate::envelope::{self, Envelope, ErrorEnvelope};
use crate::error::{AppError, AppResult};
use crate::extract::CurrentUser;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use cinegen_domain::{FieldError, ProjectId, SessionId, UserId, ValidationErrors};
use cinegen_store::{TaskQuery, TaskRecord, TaskStatus};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;

const PING_EVERY: Duration = Duration::from_secs(20);
/// How long an answer to "may this caller see this project" is trusted before it is asked again.
const ACCESS_RECHECK: Duration = Duration::from_secs(2);
/// At most this many changed tasks in a reconnecting client's catch-up (a client away longer
/// than that reloads the list).
const CATCH_UP_LIMIT: u32 = 500;
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

/// Close codes (the private range 4000–4999), so a client knows whether to reconnect.
const SESSION_ENDED: u16 = 4001;
const TOKEN_EXPIRED: u16 = 4002;
const ACCESS_REMOVED: u16 = 4003;
/// RFC 6455's "Service Restart": this instance is stopping; reconnect (to another) after a moment.
const SERVICE_RESTART: u16 = 1012;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    ticket: Option<String>,
    token: Option<String>,
    project_id: Option<String>,
    /// RFC 3339: also send the tasks changed at or after this moment.
    since: Option<String>,
    /// Also send each new version of the caller's projects.
    #[serde(default)]
    projects: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    /// Put in `?ticket=` of `/api/v1/ws/tasks`; it works once, within `expires_in` seconds.
    pub ticket: String,
    pub expires_in: u64,
}

/// A single-use ticket for opening the live task feed.
#[utoipa::path(
    post, path = "/api/v1/ws/ticket", tag = "tasks", operation_id = "ws_ticket",
    security(("bearer" = [])),
    responses((status = 200, body = Envelope<Ticket>), (status = 401, body = ErrorEnvelope))
)]
pub async fn ticket(State(state): State<AppState>, CurrentUser(claims): CurrentUser) -> AppResult<Response> {
    let (ticket, expires_in) = state.auth.issue_ticket(&claims)?;
    Ok(envelope::ok(Ticket { ticket, expires_in }))
}

/// Who opened a feed, and until when it may stay open.
struct Holder {
    user: UserId,
    session: SessionId,
    /// Unix seconds: when the access token behind the feed expires.
    until: i64,
}

pub async fn task_events(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    let since = query.since.as_deref().map(parse_since).transpose()?;
    let holder = match (query.ticket, query.token) {
        (Some(ticket), _) => {
            let claims = state.auth.redeem_ticket(&ticket).await?;
            Holder { user: claims.sub, session: claims.sid, until: claims.ses.unwrap_or(claims.exp) }
        }
        (None, Some(token)) => {
            let claims = state.auth.authenticate(&token).await?;
            Holder { user: claims.sub, session: claims.sid, until: claims.exp }
        }
        (None, None) => return Err(AppError::InvalidToken("missing ticket (?ticket=…, from POST /api/v1/ws/ticket)")),
    };
    let projects = query.projects;
    let project = match query.project_id.as_deref() {
        Some(raw) => {
            let id: ProjectId = parse_id(raw, "project")?;
            state.projects.authorize(holder.user, id).await?;
            Some(id)
        }
        None => None,
    };
    let scope = Scope { project, projects };
    // Task events are small: modest buffers keep thousands of idle sockets cheap (the defaults
    // of 128 KiB each way cost ~136 KiB per connection).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| stream(state, holder, scope, since, socket)))
}

fn parse_since(raw: &str) -> AppResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw).map(|at| at.with_timezone(&Utc)).map_err(|_| {
        let field = FieldError::new("since", "a moment in RFC 3339, as a task's updated_at");
        AppError::validation(ValidationErrors(vec![field]))
    })
}

async fn snapshot(
    state: &AppState,
    user: UserId,
    project: Option<ProjectId>,
    since: Option<DateTime<Utc>>,
) -> Vec<TaskView> {
    let unfinished = [TaskStatus::Running, TaskStatus::Pending].map(|status| (Some(status), None, 100));
    // A little before, for clocks of instances that do not quite agree; a task sent twice is
    // harmless, one missed is not.
    let changed = since.map(|at| (None, Some(at - CLOCK_SKEW), CATCH_UP_LIMIT));
    let mut tasks: Vec<TaskView> = Vec::new();
    for (status, updated_since, size) in unfinished.into_iter().chain(changed) {
        let query = TaskQuery { project, status, updated_since, size, ..TaskQuery::of(user) };
        if let Ok((found, _)) = state.store.list_tasks(&query).await {
            for task in found {
                if !tasks.iter().any(|seen| seen.id == task.id) {
                    tasks.push(TaskView::from(task));
                }
            }
        }
    }
    tasks
}

/// Answers to "may this user see this project", each trusted for [`ACCESS_RECHECK`].
#[derive(Default)]
struct KnownAccess(HashMap<ProjectId, (bool, Instant)>);

impl KnownAccess {
    async fn project(&mut self, state: &AppState, user: UserId, project: ProjectId) -> bool {
        if let Some((answer, at)) = self.0.get(&project)
            && at.elapsed() < ACCESS_RECHECK
        {
            return *answer;
        }
        let answer = state.projects.authorize(user, project).await.is_ok();
        self.0.insert(project, (answer, Instant::now()));
        answer
    }

    /// Whether `user` may see `task`: their own, or one of a project they can see now.
    async fn task(&mut self, state: &AppState, user: UserId, task: &TaskRecord) -> bool {
        if task.user_id == user {
            return true;
        }
        match task.project_id {
            Some(project) => self.project(state, user, project).await,
            None => false,
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The event heard, or `None` when the feed must end: the channel closed, or this client fell too
/// far behind to keep up — it is dropped rather than holding everyone back, and reconnects.
async fn kept_up<T>(socket: &mut WebSocket, heard: Result<T, RecvError>) -> Option<T> {
    match heard {
        Ok(event) => Some(event),
        Err(RecvError::Lagged(_)) => {
            let _ = socket.send(Message::Close(None)).await;
            None
        }
        Err(RecvError::Closed) => None,
    }
}

/// Sends a JSON message; false when the client has gone.
async fn send(socket: &mut WebSocket, message: serde_json::Value) -> bool {
    socket.send(Message::Text(message.to_string().into())).await.is_ok()
}

/// What a feed carries: the tasks of one project or all, and whether project versions too.
struct Scope {
    project: Option<ProjectId>,
    projects: bool,
}

async fn stream(state: AppState, holder: Holder, scope: Scope, since: Option<DateTime<Utc>>, mut socket: WebSocket) {
    let project = scope.project;
    let _open = crate::ops::metrics::OpenSocket::open(&state.open_sockets);
    let user = holder.user;
    let session = state.live_sessions.watch(holder.session);
    let remaining = (holder.until - chrono::Utc::now().timestamp()).max(0) as u64;
    let expiry = tokio::time::sleep(Duration::from_secs(remaining));
    tokio::pin!(expiry);
    let mut events = state.task_events.subscribe();
    let mut projects = state.project_events.subscribe();
    let first = json!({ "type": "snapshot", "tasks": snapshot(&state, user, project, since).await });
    if !send(&mut socket, first).await {
        return;
    }
    let mut known = KnownAccess::default();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    // A one-project feed asks again even when nothing happens, so a member removed on any
    // instance is let go within a few seconds, not at the project's next event.
    let mut recheck = tokio::time::interval(ACCESS_RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(task) = kept_up(&mut socket, event).await else { return };
                if let Some(p) = project {
                    if task.project_id != Some(p) {
                        continue;
                    }
                    if !known.project(&state, user, p).await {
                        return close(&mut socket, ACCESS_REMOVED, "no longer a member of this project").await;
                    }
                }
                if !known.task(&state, user, &task).await {
                    continue;
                }
                if !send(&mut socket, json!({ "type": "task", "task": TaskView::from((*task).clone()) })).await {
                    return;
                }
            },
            event = projects.recv(), if scope.projects => {
                let Some(event) = kept_up(&mut socket, event).await else { return };
                if !event.audience.contains(&user) || project.is_some_and(|p| p != event.change.project) {
                    continue;
                }
                let change = &event.change;
                let message = json!({ "type": "project", "project": {
                    "id": change.project, "version": change.version,
                    "updated_at": change.updated_at, "updated_by": change.updated_by,
                }});
                if !send(&mut socket, message).await {
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = session.ended() => return close(&mut socket, SESSION_ENDED, "signed out").await,
            () = state.stopping.cancelled() => {
                return close(&mut socket, SERVICE_RESTART, "the server is restarting; reconnect").await;
            }
            () = &mut expiry => return close(&mut socket, TOKEN_EXPIRED, "token expired; reconnect with a new ticket").await,
            _ = recheck.tick(), if project.is_some() => {
                if let Some(p) = project
                    && !known.project(&state, user, p).await
                {
                    return close(&mut socket, ACCESS_REMOVED, "no longer a member of this project").await;
                }
            }
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
