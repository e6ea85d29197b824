//! The worker pool: claim, run with a renewed lease, finish by compare-and-set.

use super::backoff;
use super::handler::{TaskContext, TaskError, TaskHandler};
use crate::ops::metrics::{self, BusyWorker, TaskOutcome};
use chrono::Utc;
use cinegen_store::{ClaimRequest, Completion, Outcome, Store, StoreResult, TaskRecord};
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this process in leases (`locked_by`).
    pub name: String,
    /// Tasks run at once by this process.
    pub workers: usize,
    /// How long a claim holds a task without a heartbeat (seconds, not hours: a dead worker's
    /// task is rescued soon).
    pub lease: Duration,
    /// How often a running task's lease is renewed; well inside `lease`.
    pub heartbeat: Duration,
    /// How long an idle worker waits before looking again (an in-process enqueue wakes it sooner).
    pub poll: Duration,
    /// Running tasks one user may have at once across all workers.
    pub per_user_running: i64,
    /// First retry wait, doubled for each later retry.
    pub retry_base: Duration,
    /// On shutdown, how long running tasks may take to finish before they are handed back to the
    /// queue; a task resumable from a recorded provider job is handed back at once.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            workers: 4,
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            per_user_running: 8,
            retry_base: backoff::BASE,
            shutdown_grace: Duration::from_secs(20),
        }
    }
}

pub struct WorkerPool {
    store: Arc<dyn Store>,
    events: super::TaskEvents,
    handlers: HashMap<&'static str, Arc<dyn TaskHandler>>,
    config: WorkerConfig,
    wake: Notify,
}

impl WorkerPool {
    pub fn new(store: Arc<dyn Store>, handlers: Vec<Arc<dyn TaskHandler>>, config: WorkerConfig) -> Self {
        Self::with_events(store, handlers, config, super::TaskEvents::default())
    }

    /// A pool that announces every change of its tasks on `events`.
    pub fn with_events(
        store: Arc<dyn Store>,
        handlers: Vec<Arc<dyn TaskHandler>>,
        config: WorkerConfig,
        events: super::TaskEvents,
    ) -> Self {
        let handlers = handlers.into_iter().map(|h| (h.task_type(), h)).collect();
        Self { store, events, handlers, config, wake: Notify::new() }
    }

    /// Wakes one idle worker (after an enqueue in this process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the workers. When `shutdown` is cancelled they claim nothing more; running tasks
    /// get [`WorkerConfig::shutdown_grace`] to finish, and those still running then (or at once,
    /// when they resume from a provider job) are handed back to the queue for another worker.
    pub fn spawn(self: &Arc<Self>, shutdown: CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        metrics::worker_slots(self.config.workers);
        // An API-only instance (`workers = 0`) runs none.
        if self.config.workers == 0 {
            return Vec::new();
        }
        // A newly queued task (announced here or, through Redis, by another instance) wakes an
        // idle worker at once instead of at its next poll.
        let pool = self.clone();
        let stop = shutdown.clone();
        let mut events = self.events.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    event = events.recv() => match event {
                        Ok(task) if task.status == cinegen_store::TaskStatus::Pending => pool.wake(),
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
        let pool = self.clone();
        vec![tokio::spawn(async move { pool.dispatch(shutdown).await })]
    }

    /// Keeps up to `workers` tasks running: claims as many as there are free slots in one
    /// statement, runs each on its own, and looks again as soon as a slot frees up (or a task is
    /// queued). On shutdown it waits for the running tasks to be interrupted.
    async fn dispatch(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(tokio::sync::Semaphore::new(self.config.workers.max(1)));
        let completer = super::completer::Completer::start(self.store.clone());
        let mut running = tokio::task::JoinSet::new();
        loop {
            let first = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let mut permits = vec![first];
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                permits.push(permit);
            }
            let wanted = permits.len();
            let claimed = tokio::select! {
                () = shutdown.cancelled() => break,
                claimed = self.claim(wanted) => claimed,
            };
            let got = match claimed {
                Ok(tasks) => {
                    let got = tasks.len();
                    for (task, permit) in tasks.into_iter().zip(permits.drain(..)) {
                        let pool = self.clone();
                        let stop = shutdown.clone();
                        let completer = completer.clone();
                        running.spawn(async move {
                            if let Err(error) = pool.run(task, Some(&completer), &stop).await {
                                tracing::warn!(error = %error, "finishing a task failed");
                            }
                            drop(permit);
                            // A free slot: look for more work at once.
                            pool.wake.notify_one();
                        });
                    }
                    got
                }
                Err(error) => {
                    tracing::warn!(worker = %self.config.name, error = %error, "claiming tasks failed; will retry");
                    0
                }
            };
            drop(permits);
            while running.try_join_next().is_some() {}
            if got == wanted {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.config.poll) => {}
                () = self.wake.notified() => {}
            }
        }
        while running.join_next().await.is_some() {}
    }

    /// Claims up to `limit` due tasks for this pool.
    async fn claim(&self, limit: usize) -> StoreResult<Vec<TaskRecord>> {
        let request = self.claim_request(&self.config.name);
        self.store.claim_many(&request, u32::try_from(limit).unwrap_or(u32::MAX)).await
    }

    fn claim_request(&self, worker: &str) -> ClaimRequest {
        let now = Utc::now();
        ClaimRequest {
            worker: worker.to_owned(),
            task_types: self.handlers.keys().map(|t| (*t).to_owned()).collect(),
            lease_until: now + chrono::Duration::from_std(self.config.lease).unwrap_or_default(),
            now,
            per_user_running: self.config.per_user_running,
        }
    }

    /// Claims and runs one task as `worker`; false when none was due.
    pub async fn run_one(&self, worker: &str) -> StoreResult<bool> {
        let Some(task) = self.store.claim(&self.claim_request(worker)).await? else { return Ok(false) };
        self.run(task, None, &CancellationToken::new()).await?;
        Ok(true)
    }

    /// Runs a claimed task and records how it ended; completions go through `completer` when
    /// there is one (batched with others), every other ending is written on its own.
    #[tracing::instrument(name = "task", skip_all, fields(
        task.id = %task.id, task_type = %task.task_type, attempt = task.attempts,
        otel.name = %format_args!("task {}", task.task_type),
    ))]
    async fn run(
        &self,
        task: TaskRecord,
        completer: Option<&super::completer::Completer>,
        stop: &CancellationToken,
    ) -> StoreResult<()> {
        let worker = task.locked_by.clone().unwrap_or_default();
        let worker = worker.as_str();
        let Some(handler) = self.handlers.get(task.task_type.as_str()).cloned() else { return Ok(()) };
        let (id, attempt) = (task.id, task.attempts);
        let task_resumes = task.provider_job_id.is_some();
        tracing::info!(task.id = %id, task.r#type = %task.task_type, attempt, worker, "task started");
        self.events.publish(task.clone());
        let ctx = TaskContext {
            task,
            store: self.store.clone(),
            worker: worker.to_owned(),
            lease: self.config.lease,
            events: self.events.clone(),
            resumable: std::sync::atomic::AtomicBool::new(task_resumes),
        };
        let _busy = BusyWorker::start();
        let started = std::time::Instant::now();
        let work = AssertUnwindSafe(handler.run(&ctx)).catch_unwind();
        let result = tokio::select! {
            result = work => result.unwrap_or_else(|_| Err(TaskError::permanent("INTERNAL_ERROR", "the task failed unexpectedly"))),
            () = self.keep_lease(&ctx) => Err(TaskError::LeaseLost),
            () = self.stopping(&ctx, stop) => return self.hand_back(&ctx, started.elapsed()).await,
        };
        let now = Utc::now();
        let outcome = match result {
            Ok(value) => Outcome::Completed(value),
            Err(TaskError::Transient { message, retry_after }) => {
                let wait = backoff::delay_from(self.config.retry_base, attempt, retry_after, rand::random());
                Outcome::Retry {
                    run_at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
                    code: "TRANSIENT_ERROR".into(),
                    message,
                }
            }
            Err(TaskError::Permanent { code, message }) => Outcome::Failed { code, message },
            Err(TaskError::Cancelled) => Outcome::Cancelled,
            Err(TaskError::LeaseLost) => {
                metrics::task_finished(&ctx.task.task_type, TaskOutcome::LeaseLost, started.elapsed());
                tracing::warn!(task.id = %id, attempt, "task taken over by another worker; this attempt writes nothing");
                return Ok(());
            }
        };
        let label = match &outcome {
            Outcome::Completed(_) => TaskOutcome::Completed,
            Outcome::Retry { .. } if attempt >= ctx.task.max_attempts => TaskOutcome::Failed,
            Outcome::Retry { .. } => TaskOutcome::Retried,
            Outcome::Failed { .. } => TaskOutcome::Failed,
            Outcome::Cancelled => TaskOutcome::Cancelled,
        };
        metrics::task_finished(&ctx.task.task_type, label, started.elapsed());
        let finished = match (outcome, completer) {
            (Outcome::Completed(result), Some(completer)) => {
                completer.complete(Completion { id, worker: worker.to_owned(), attempt, result }).await?
            }
            (outcome, _) => self.store.finish(id, worker, attempt, outcome, now).await?,
        };
        if let Some(finished) = finished {
            self.events.publish(finished);
            if let Some(parent) = ctx.task.parent_id
                && let Err(error) = super::batch::settle(&self.store, &self.events, parent).await
            {
                tracing::warn!(task.id = %id, error = %error, "could not settle the batch");
            }
        } else {
            tracing::warn!(task.id = %id, attempt, "late answer of an attempt that lost its lease; ignored");
        }
        Ok(())
    }

    /// Returns once a stopping pool should let go of this task: at once for a task that resumes
    /// from its provider job, else when the grace period is over.
    async fn stopping(&self, ctx: &TaskContext, stop: &CancellationToken) {
        stop.cancelled().await;
        let deadline = tokio::time::Instant::now() + self.config.shutdown_grace;
        while !ctx.is_resumable() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100).min(self.config.shutdown_grace)).await;
        }
    }

    /// Gives an interrupted task back to the queue, for another worker to take at once.
    async fn hand_back(&self, ctx: &TaskContext, ran: Duration) -> StoreResult<()> {
        let task = &ctx.task;
        if self.store.hand_back(task.id, &ctx.worker, ctx.attempt(), Utc::now()).await? {
            metrics::task_finished(&task.task_type, TaskOutcome::HandedBack, ran);
            tracing::info!(task.id = %task.id, resumable = ctx.is_resumable(), "stopping: task handed back to the queue");
            if let Some(back) = self.store.task(task.id).await? {
                self.events.publish(back);
            }
        }
        Ok(())
    }

    /// Renews the lease every heartbeat; returns only when it was lost.
    async fn keep_lease(&self, ctx: &TaskContext) {
        loop {
            tokio::time::sleep(self.config.heartbeat).await;
            let until = Utc::now() + chrono::Duration::from_std(self.config.lease).unwrap_or_default();
            match self.store.heartbeat(ctx.task.id, &ctx.worker, ctx.attempt(), until, None, Utc::now()).await {
                Ok(Some(_)) => {}
                Ok(None) => return,
                // A database hiccup: keep working; the next beat may get through before the lease ends.
                Err(error) => tracing::warn!(task.id = %ctx.task.id, error = %error, "heartbeat failed"),
            }
        }
    }
}
