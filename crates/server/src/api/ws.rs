//! `GET /api/v1/ws/tasks`: live task progress. The access token comes in the query string
//! (`?token=…`; browsers cannot set headers on a WebSocket) and is checked before the upgrade.
//! The first message is a snapshot of the caller's unfinished tasks, so a reconnecting client
//! misses nothing; then every change of a task the caller may see, optionally of one project.

use crate::api::projects::parse_id;
use crate::api::tasks::TaskView;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use cinegen_domain::{ProjectId, UserId};
use cinegen_store::{TaskQuery, TaskRecord, TaskStatus};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

const PING_EVERY: Duration = Duration::from_secs(20);

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    token: Option<String>,
    project_id: Option<String>,
}

pub async fn task_events(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> AppResult<Response> {
    let token = query.token.ok_or(AppError::InvalidToken("missing token (?token=…)"))?;
    let claims = state.auth.authenticate(&token).await?;
    let project = match query.project_id.as_deref() {
        Some(raw) => {
            let id: ProjectId = parse_id(raw, "project")?;
            state.projects.authorize(claims.sub, id).await?;
            Some(id)
        }
        None => None,
    };
    // Task events are small: modest buffers keep thousands of idle sockets cheap (the defaults
    // of 128 KiB each way cost ~136 KiB per connection).
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| stream(state, claims.sub, project, socket)))
}

async fn snapshot(state: &AppState, user: UserId, project: Option<ProjectId>) -> Vec<TaskView> {
    let mut tasks = Vec::new();
    for status in [TaskStatus::Running, TaskStatus::Pending] {
        let query = TaskQuery { user, project, status: Some(status), task_type: None, page: 1, size: 100 };
        if let Ok((found, _)) = state.store.list_tasks(&query).await {
            tasks.extend(found.into_iter().map(TaskView::from));
        }
    }
    tasks
}

/// Whether `user` may see `task` (their own, or of a project they can see), remembering answers.
async fn visible(state: &AppState, user: UserId, task: &TaskRecord, known: &mut HashMap<ProjectId, bool>) -> bool {
    if task.user_id == user {
        return true;
    }
    let Some(project) = task.project_id else { return false };
    if let Some(answer) = known.get(&project) {
        return *answer;
    }
    let answer = state.projects.authorize(user, project).await.is_ok();
    known.insert(project, answer);
    answer
}

async fn stream(state: AppState, user: UserId, project: Option<ProjectId>, mut socket: WebSocket) {
    let mut events = state.task_events.subscribe();
    let first = json!({ "type": "snapshot", "tasks": snapshot(&state, user, project).await });
    if socket.send(Message::Text(first.to_string().into())).await.is_err() {
        return;
    }
    let mut known = HashMap::new();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(task) => {
                    if project.is_some_and(|p| task.project_id != Some(p)) || !visible(&state, user, &task, &mut known).await {
                        continue;
                    }
                    let message = json!({ "type": "task", "task": TaskView::from((*task).clone()) });
                    if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                        return;
                    }
                }
                // Too slow to keep up: drop it rather than hold everyone back; it reconnects.
                Err(RecvError::Lagged(_)) => {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
