//! The rules of controlling tasks, independent of HTTP: who may see, cancel and retry a task,
//! and what a cancel or retry does to the rest of the queue.

use super::TaskEvents;
use crate::ai::limits::check_rate;
use crate::config::Settings;
use crate::ephemeral::Counters;
use crate::error::{AppError, AppResult};
use crate::projects::ProjectService;
use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_store::{Store, TaskRecord};
use serde_json::json;
use std::sync::Arc;

#[derive(Clone)]
pub struct TaskService {
    store: Arc<dyn Store>,
    projects: ProjectService,
    events: TaskEvents,
    counters: Arc<dyn Counters>,
    settings: Arc<Settings>,
}

/// The hourly budget a task type draws on when it is run again.
fn rate_kind(task_type: &str) -> &'static str {
    match task_type {
        crate::ai::IMAGE => "image",
        crate::ai::VIDEO => "video",
        crate::ai::MERGE | crate::ai::BATCH | crate::projects::archive::EXPORT => "batch",
        _ => "text",
    }
}

impl TaskService {
    pub fn new(
        store: Arc<dyn Store>,
        projects: ProjectService,
        events: TaskEvents,
        counters: Arc<dyn Counters>,
        settings: Arc<Settings>,
    ) -> Self {
        Self { store, projects, events, counters, settings }
    }

    /// A task the caller may see: their own, or one of a project they can see.
    pub async fn visible(&self, caller: UserId, id: TaskId) -> AppResult<TaskRecord> {
        self.store.task_for(id, caller).await?.ok_or_else(|| AppError::not_found("task"))
    }

    /// Seeing a task is not controlling it: only its creator, or an editor or the owner of its
    /// project, may cancel or retry it (a retry spends the creator's keys again).
    async fn controllable(&self, caller: UserId, id: TaskId) -> AppResult<TaskRecord> {
        let task = self.visible(caller, id).await?;
        if task.user_id == caller {
            return Ok(task);
        }
        let Some(project) = task.project_id else { return Err(AppError::not_found("task")) };
        // Seen through the project, controlled only as its editor.
        self.projects
            .authorize(caller, project)
            .await?
            .editor()
            .map_err(|_| AppError::Forbidden("only the task's creator or an editor of its project can do this"))?;
        Ok(task)
    }

    /// Cancels a task (a pending one at once, a running one at its next checkpoint) and, for a
    /// batch, its items; an item's end moves its batch on.
    pub async fn cancel(&self, caller: UserId, id: TaskId) -> AppResult<TaskRecord> {
        let task = self.controllable(caller, id).await?;
        let Some(cancelled) = self.store.request_cancel(task.id, Utc::now()).await? else {
            return Err(AppError::Conflict {
                message: "the task has already ended".into(),
                details: json!({ "status": task.status.as_str() }),
            });
        };
        self.events.publish(cancelled.clone());
        for item in self.store.children(task.id).await? {
            if let Some(item) = self.store.request_cancel(item.id, Utc::now()).await? {
                self.events.publish(item);
            }
        }
        if let Some(parent) = task.parent_id {
            super::batch::settle(&self.store, &self.events, parent).await?;
        }
        Ok(self.store.task(task.id).await?.unwrap_or(cancelled))
    }

    /// Runs a failed task again with a fresh set of attempts. It counts against the hourly
    /// budget of its kind like a new request — the caller's, and the creator's whose keys it
    /// spends — and the worker checks the creator's access again when it claims it.
    pub async fn retry(&self, caller: UserId, id: TaskId) -> AppResult<TaskRecord> {
        let task = self.controllable(caller, id).await?;
        if task.status != cinegen_store::TaskStatus::Failed {
            return Err(AppError::Conflict {
                message: "only failed tasks can be retried".into(),
                details: json!({ "status": task.status.as_str() }),
            });
        }
        let kind = rate_kind(&task.task_type);
        self.count(caller, kind).await?;
        if task.user_id != caller {
            self.count(task.user_id, kind).await?;
        }
        let Some(retried) = self.store.retry_task(task.id, Utc::now()).await? else {
            return Err(AppError::Conflict {
                message: "only failed tasks can be retried".into(),
                details: json!({ "status": task.status.as_str() }),
            });
        };
        self.events.publish(retried.clone());
        Ok(retried)
    }

    /// Counts one request of `kind` against `user`'s hourly budget.
    pub async fn count(&self, user: UserId, kind: &str) -> AppResult<()> {
        check_rate(self.counters.as_ref(), user, kind, self.settings.requests_per_hour(kind)).await
    }
}

#[cfg(test)]
mod tests {
    use super::rate_kind;

    #[test]
    fn retries_draw_on_the_budget_of_their_kind() {
        assert_eq!(rate_kind(crate::ai::IMAGE), "image");
        assert_eq!(rate_kind(crate::ai::VIDEO), "video");
        assert_eq!(rate_kind(crate::ai::MERGE), "batch");
        assert_eq!(rate_kind(crate::ai::SCRIPT_PARSE), "text");
    }
}
