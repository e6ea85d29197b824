//! The rules of controlling tasks, independent of HTTP: who may see, cancel and retry a task,
//! and what a cancel or retry does to the rest of the queue.

use super::TaskEvents;
use super::budget::{self, Budget, Charge};
use super::kind::{Spends, TaskKind};
use crate::ai::{AiService, Choice};
use crate::config::Settings;
use crate::ephemeral::Counters;
use crate::error::{AppError, AppResult};
use crate::projects::ProjectService;
use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_providers::Capability;
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
    ai: AiService,
}

impl TaskService {
    pub fn new(
        store: Arc<dyn Store>,
        projects: ProjectService,
        events: TaskEvents,
        counters: Arc<dyn Counters>,
        settings: Arc<Settings>,
        ai: AiService,
    ) -> Self {
        Self { store, projects, events, counters, settings, ai }
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

    /// What a task about to run again expects to spend, priced as its creator's work is now
    /// (the creator's keys and prices, the documents as they stand); none for work that is free.
    async fn spend_of(&self, task: &TaskRecord, kind: &TaskKind) -> AppResult<Option<cinegen_store::Spend>> {
        let Some(project) = task.project_id else { return Ok(None) };
        // A creator who can no longer see the project is stopped when the task is claimed.
        let Some((record, _)) = self.store.project_for(project, task.user_id).await? else { return Ok(None) };
        let priced =
            crate::cost::estimate::estimate(&self.ai, task.user_id, &record, std::slice::from_ref(kind)).await?;
        Ok(priced.per_task.into_iter().next().filter(|s| !s.amounts.is_empty()))
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
        let kind = TaskKind::of(&task).map_err(|_| AppError::Conflict {
            message: "this task can no longer be run".into(),
            details: json!({ "type": task.task_type }),
        })?;
        // Priced for the creator, whose defaults and keys the retry uses.
        let charge = self.charge_for(task.user_id, std::slice::from_ref(&kind)).await?;
        self.draw(caller, &charge).await?;
        if task.user_id != caller
            && let Err(error) = self.draw(task.user_id, &charge).await
        {
            self.refund(caller, &charge).await;
            return Err(error);
        }
        let requeued = async {
            let spend = self.spend_of(&task, &kind).await?;
            self.store.retry_task(task.id, Utc::now(), spend.as_ref()).await?.ok_or_else(|| AppError::Conflict {
                message: "only failed tasks can be retried".into(),
                details: json!({ "status": task.status.as_str() }),
            })
        };
        let retried = match requeued.await {
            Ok(retried) => retried,
            // Refused (a cap, a race with another retry): the hourly budgets get their draw back.
            Err(error) => {
                self.refund(caller, &charge).await;
                if task.user_id != caller {
                    self.refund(task.user_id, &charge).await;
                }
                return Err(error);
            }
        };
        self.events.publish(retried.clone());
        Ok(retried)
    }

    /// What `user` asking for `kinds` draws: each provider call on the budget of its provider
    /// and capability (an unknown provider, or one without the capability, is refused here),
    /// merges, archives and batches on the batch budget, downloads on their own.
    pub async fn charge_for(&self, user: UserId, kinds: &[TaskKind]) -> AppResult<Charge> {
        // A batch's items share one choice: the provider is looked up once per distinct one.
        let mut providers: Vec<((Capability, &Choice), Budget)> = Vec::new();
        let mut charge = Charge::default();
        for kind in kinds {
            let budget = match kind.spends() {
                Spends::Provider(capability, choice) => {
                    match providers.iter().find(|(seen, _)| *seen == (capability, choice)) {
                        Some((_, budget)) => *budget,
                        None => {
                            let name = self.ai.provider_for(user, capability, choice).await?;
                            let budget = Budget::for_call(name, capability);
                            providers.push(((capability, choice), budget));
                            budget
                        }
                    }
                }
                Spends::Cpu | Spends::Nothing => Budget::Batch,
                Spends::Download => Budget::Downloads,
            };
            charge = charge.and(budget, 1);
        }
        Ok(charge)
    }

    /// Draws `charge` from `user`'s hourly budgets: all of it, or nothing and a refusal.
    pub async fn draw(&self, user: UserId, charge: &Charge) -> AppResult<()> {
        budget::draw(self.counters.as_ref(), &self.settings, user, charge).await
    }

    /// Gives back a charge whose work was not queued after all.
    pub async fn refund(&self, user: UserId, charge: &Charge) {
        budget::refund(self.counters.as_ref(), user, charge).await;
    }
}
