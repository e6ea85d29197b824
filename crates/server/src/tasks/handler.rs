//! What a task type does, and what it can ask of the runtime while it works.

use chrono::Utc;
use cinegen_store::{Store, TaskRecord};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// Why an attempt did not complete.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskError {
    /// Worth trying again (a timeout, 429, 5xx), after `retry_after` if the source said so.
    Transient { message: String, retry_after: Option<Duration> },
    /// Trying again cannot help (a refused prompt, bad input); fails at once.
    Permanent { code: String, message: String },
    /// The user cancelled; the handler stopped at a checkpoint.
    Cancelled,
    /// This attempt lost its lease (another worker took the task over); nothing more may be written.
    LeaseLost,
}

impl TaskError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient { message: message.into(), retry_after: None }
    }

    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self::Permanent { code: code.into(), message: message.into() }
    }
}

/// One task type's work.
#[async_trait::async_trait]
pub trait TaskHandler: Send + Sync + 'static {
    fn task_type(&self) -> &'static str;

    /// Does the work of `ctx.task` and answers its result. Long work calls [`TaskContext::progress`]
    /// between steps; paid provider work records its job id with
    /// [`TaskContext::record_provider_job`] before anything else and, when resumed, finds it in
    /// `ctx.task.provider_job_id`.
    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError>;
}

/// The running attempt's handle on its task.
pub struct TaskContext {
    pub task: TaskRecord,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) worker: String,
    pub(crate) lease: Duration,
    pub(crate) events: super::TaskEvents,
    /// The provider's job id is recorded: the work now resumes from it, so a stopping worker can
    /// hand the task back at once instead of waiting for it.
    pub(crate) resumable: std::sync::atomic::AtomicBool,
}

impl TaskContext {
    pub fn attempt(&self) -> i32 {
        self.task.attempts
    }

    fn lease_until(&self) -> chrono::DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(self.lease).unwrap_or_default()
    }

    /// Reports progress (0–100), renews the lease, and is a checkpoint: it answers `Cancelled`
    /// when the user asked to stop and `LeaseLost` when the task was taken over.
    pub async fn progress(&self, percent: i32, message: &str) -> Result<(), TaskError> {
        let task = self
            .store
            .heartbeat(
                self.task.id,
                &self.worker,
                self.attempt(),
                self.lease_until(),
                Some((percent, message)),
                Utc::now(),
            )
            .await
            .map_err(|e| TaskError::transient(e.to_string()))?
            .ok_or(TaskError::LeaseLost)?;
        // A batch shows the mean progress of its items as they go, not only as they end.
        if let Some(parent) = self.task.parent_id
            && let Err(error) = super::batch::settle_on_progress(&self.store, &self.events, parent).await
        {
            tracing::debug!(task.id = %self.task.id, error = %error, "could not settle the batch");
        }
        // The write answered the task as it now is: no second read to see a cancel.
        self.stop_if_cancelled(task)
    }

    /// Stops the work when the user asked to cancel (and announces the progress made so far).
    pub async fn checkpoint(&self) -> Result<(), TaskError> {
        match self.store.task(self.task.id).await {
            Ok(Some(task)) => self.stop_if_cancelled(task),
            Ok(None) => Ok(()),
            Err(e) => Err(TaskError::transient(e.to_string())),
        }
    }

    /// `Cancelled` when the task as it now is asks to stop; else its progress is announced.
    fn stop_if_cancelled(&self, task: TaskRecord) -> Result<(), TaskError> {
        if task.cancel_requested {
            return Err(TaskError::Cancelled);
        }
        self.events.publish(task);
        Ok(())
    }

    /// Saves the provider's job id before anything else is done with it, with whom the provider
    /// stood in for when it is the user's fallback.
    pub async fn record_provider_job(
        &self,
        provider: &str,
        job_id: &str,
        fallback: Option<&serde_json::Value>,
    ) -> Result<(), TaskError> {
        let kept = self
            .store
            .set_provider_job(self.task.id, &self.worker, self.attempt(), provider, job_id, fallback, Utc::now())
            .await
            .map_err(|e| TaskError::transient(e.to_string()))?;
        if !kept {
            return Err(TaskError::LeaseLost);
        }
        self.resumable.store(true, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    pub(crate) fn is_resumable(&self) -> bool {
        self.resumable.load(std::sync::atomic::Ordering::Acquire)
    }
}
