//! The durable task queue's rows: enqueue (idempotent), claim with a lease, heartbeat, finish by
//! compare-and-set on the attempt that holds the lease, cancel.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "running" => Some(Self::Running),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A task to enqueue.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub id: TaskId,
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub parent_id: Option<TaskId>,
    pub task_type: String,
    /// Higher runs first: interactive work overtakes batches.
    pub priority: i32,
    pub payload: Value,
    pub max_attempts: i32,
    /// Enqueueing the same key again (per user) answers the existing task.
    pub idempotency_key: Option<String>,
    pub run_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// What it expects to spend: checked against the caps and reserved as it is enqueued.
    pub spend: Option<crate::Spend>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRecord {
    pub id: TaskId,
    pub user_id: UserId,
    pub project_id: Option<ProjectId>,
    pub parent_id: Option<TaskId>,
    pub task_type: String,
    pub status: TaskStatus,
    pub priority: i32,
    pub payload: Value,
    pub result: Option<Value>,
    pub progress: i32,
    pub progress_message: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub provider: Option<String>,
    pub provider_job_id: Option<String>,
    /// Whom the user's fallback provider stood in for, when it took the job.
    pub provider_fallback: Option<serde_json::Value>,
    pub idempotency_key: Option<String>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How far a batch's items got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchTally {
    pub total: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    /// Progress summed over the items, an ended item counting 100.
    pub progress_sum: i64,
}

impl BatchTally {
    pub fn ended(&self) -> i64 {
        self.completed + self.failed + self.cancelled
    }
}

/// The queue of one task type as a scrape sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStat {
    pub task_type: String,
    /// Waiting, due or not (a retry waits for its back-off).
    pub pending: i64,
    /// Waiting and due: what workers would take now if they had room.
    pub due: i64,
    pub running: i64,
    /// When the longest-waiting due task became due.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Which task a worker may take.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub worker: String,
    pub task_types: Vec<String>,
    pub lease_until: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// A user with this many running tasks gets no more until one ends (fairness).
    pub per_user_running: i64,
}

/// An attempt that ended well, for [`TaskStore::complete_many`].
#[derive(Debug, Clone)]
pub struct Completion {
    pub id: TaskId,
    pub worker: String,
    pub attempt: i32,
    pub result: Value,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed(Value),
    /// Tried again at `run_at` unless attempts are used up, in which case it fails.
    Retry {
        run_at: DateTime<Utc>,
        code: String,
        message: String,
    },
    Failed {
        code: String,
        message: String,
    },
    Cancelled,
}

/// Which tasks a list shows: the caller's own and those of projects they own or are a member of.
#[derive(Debug, Clone)]
pub struct TaskQuery {
    pub user: UserId,
    pub project: Option<ProjectId>,
    pub status: Option<TaskStatus>,
    pub task_type: Option<String>,
    /// Only tasks changed at or after this moment (a reconnecting feed's catch-up).
    pub updated_since: Option<DateTime<Utc>>,
    /// 1-based.
    pub page: u32,
    pub size: u32,
}

impl TaskQuery {
    /// Every task `user` may see, newest first: the first page of 50.
    pub fn of(user: UserId) -> Self {
        Self { user, project: None, status: None, task_type: None, updated_since: None, page: 1, size: 50 }
    }
}

#[async_trait::async_trait]
pub trait TaskStore {
    /// Enqueues a task; with an idempotency key already used by the user, answers that task
    /// instead (`false`: nothing new was created).
    async fn enqueue(&self, task: &NewTask) -> StoreResult<(TaskRecord, bool)>;

    /// Takes the next runnable task — pending and due, or running with a lapsed lease (its worker
    /// died) — highest priority first, and leases it to `request.worker`. Two workers never get
    /// the same task.
    async fn claim(&self, request: &ClaimRequest) -> StoreResult<Option<TaskRecord>> {
        Ok(self.claim_many(request, 1).await?.pop())
    }

    /// Takes up to `limit` runnable tasks at once, as [`TaskStore::claim`] would one by one (lapsed
    /// leases first, then by priority, within each user's running cap): a pool with several idle
    /// slots fills them with one statement instead of one per slot.
    async fn claim_many(&self, request: &ClaimRequest, limit: u32) -> StoreResult<Vec<TaskRecord>>;

    /// Extends the lease and records progress, if `worker`'s `attempt` still holds it, and
    /// answers the task as it now is (a cancel asked for meanwhile shows on it); `None` when the
    /// lease was lost.
    async fn heartbeat(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        lease_until: DateTime<Utc>,
        progress: Option<(i32, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>>;

    /// Gives a running attempt back to the queue at once (its worker is stopping), if `worker`'s
    /// `attempt` still holds it: pending and due now, the attempt not counted, the provider's job
    /// id kept so the next worker resumes the job.
    async fn hand_back(&self, id: TaskId, worker: &str, attempt: i32, now: DateTime<Utc>) -> StoreResult<bool>;

    /// Records the provider's job id, before anything else happens, so a resumed attempt polls it
    /// instead of paying for a second job; `fallback` says whom the provider stood in for, when
    /// it is the user's fallback.
    #[allow(clippy::too_many_arguments)]
    async fn set_provider_job(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        provider: &str,
        job_id: &str,
        fallback: Option<&serde_json::Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Ends the attempt, if it still holds the lease, and answers the task as it now is; a late
    /// answer from a lost lease changes nothing and answers `None`.
    async fn finish(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>>;

    /// Completes several attempts in one statement, each only if it still holds its lease (as
    /// [`TaskStore::finish`] would); answers the tasks that were completed.
    async fn complete_many(&self, done: &[Completion], now: DateTime<Utc>) -> StoreResult<Vec<TaskRecord>>;

    /// Cancels a pending task at once, or asks a running one to stop at its next checkpoint.
    async fn request_cancel(&self, id: TaskId, now: DateTime<Utc>) -> StoreResult<Option<TaskRecord>>;

    async fn task(&self, id: TaskId) -> StoreResult<Option<TaskRecord>>;

    /// The task if `user` enqueued it or can see its project.
    async fn task_for(&self, id: TaskId, user: UserId) -> StoreResult<Option<TaskRecord>>;

    /// A page of visible tasks, newest first, and their total.
    async fn list_tasks(&self, query: &TaskQuery) -> StoreResult<(Vec<TaskRecord>, i64)>;

    /// Queues a failed task again with fresh attempts; work that spends (`spend`) is admitted
    /// against the caps again in the same transaction (`BudgetExceeded` leaves it failed).
    async fn retry_task(
        &self,
        id: TaskId,
        now: DateTime<Utc>,
        spend: Option<&crate::Spend>,
    ) -> StoreResult<Option<TaskRecord>>;

    /// The tasks enqueued under `parent` (a batch's items), oldest first.
    async fn children(&self, parent: TaskId) -> StoreResult<Vec<TaskRecord>>;

    /// A batch's items counted by outcome, without reading them (settled after every item).
    async fn batch_tally(&self, parent: TaskId) -> StoreResult<BatchTally>;

    /// Tasks of `task`'s type a worker will take before it: running ones, and pending ones of a
    /// higher priority or the same priority and older (for a time estimate).
    async fn queue_ahead(&self, task: &TaskRecord) -> StoreResult<i64>;

    /// Unfinished tasks counted by type (for metrics), types with none left out.
    async fn queue_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStat>>;

    /// Deletes finished tasks: completed and cancelled ones last changed before `finished_before`,
    /// failed ones (kept longer, for inspection) before `failed_before`. Answers how many went.
    async fn prune_tasks(&self, finished_before: DateTime<Utc>, failed_before: DateTime<Utc>) -> StoreResult<u64>;

    /// Records a batch's aggregated progress (it is then `running`) or, with `result`, its end
    /// (`completed`). Batches are never claimed; their items settle them. A batch that already
    /// ended (cancelled) is left alone and `false` answered; so is a tally lower than the one
    /// recorded (it arrived late), so progress never goes back.
    async fn settle_batch(
        &self,
        id: TaskId,
        progress: i32,
        message: &str,
        result: Option<Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// Orders a claimed batch as the claim walked it: priority first, then the time it was due.
pub(crate) fn sort_in_claim_order(tasks: &mut [TaskRecord]) {
    tasks.sort_by(|a, b| {
        b.priority.cmp(&a.priority).then(a.run_at.cmp(&b.run_at)).then(a.id.as_uuid().cmp(&b.id.as_uuid()))
    });
}
