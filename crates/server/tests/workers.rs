//! The worker pool against real stores: retries with backoff, permanent failures, panics,
//! cancellation, a dead worker's task rescued without paying the provider twice, and many workers
//! running every task exactly once.

use chrono::Utc;
use cinegen_domain::{ByteSize, DisplayName, Email, TaskId, UserId};
use cinegen_server::tasks::{TaskContext, TaskError, TaskHandler, WorkerConfig, WorkerPool};
use cinegen_store::testing::TestDatabase;
use cinegen_store::{ClaimRequest, Engine, NewTask, NewUser, Store, TaskStatus};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { super::$name(cinegen_store::Engine::Sqlite).await; }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { super::$name(cinegen_store::Engine::Postgres).await; }
        }
    )*};
}

on_both_engines!(
    transient_failures_retry_with_backoff_then_succeed,
    permanent_failures_and_panics_fail_at_once,
    running_tasks_stop_when_cancelled,
    a_dead_workers_task_is_resumed_without_a_second_provider_job,
    many_workers_run_every_task_exactly_once,
    a_stopping_worker_hands_a_resumable_job_back_at_once,
    a_stopping_worker_lets_short_tasks_finish_and_hands_back_the_rest,
);

async fn setup(engine: Engine) -> (TestDatabase, Arc<dyn Store>, UserId) {
    let db = TestDatabase::create(engine).await;
    let store = cinegen_store::connect(&db.connect_options()).await.unwrap();
    let user = store
        .create_user(NewUser {
            id: UserId::new(),
            email: Email::parse("worker@example.com").unwrap(),
            name: DisplayName::parse("Worker").unwrap(),
            password_hash: "x".into(),
            quota_total: ByteSize(1),
            now: Utc::now(),
        })
        .await
        .unwrap();
    (db, store, user.id)
}

async fn enqueue(store: &Arc<dyn Store>, user: UserId, task_type: &str, payload: Value) -> TaskId {
    let now = Utc::now();
    let task = NewTask {
        id: TaskId::new(),
        user_id: user,
        project_id: None,
        parent_id: None,
        task_type: task_type.into(),
        priority: 0,
        payload,
        max_attempts: 3,
        idempotency_key: None,
        run_at: now,
        now,
        spend: None,
    };
    store.enqueue(&task).await.unwrap().0.id
}

fn quick() -> WorkerConfig {
    WorkerConfig {
        workers: 2,
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_millis(200),
        poll: Duration::from_millis(20),
        per_user_running: 100,
        retry_base: Duration::from_millis(20),
        ..WorkerConfig::default()
    }
}

/// Fails transiently `failures` times, then answers the attempt number.
struct Flaky {
    failures: i32,
}

#[async_trait::async_trait]
impl TaskHandler for Flaky {
    fn task_type(&self) -> &'static str {
        "flaky"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        ctx.progress(50, "halfway").await?;
        if ctx.attempt() <= self.failures {
            return Err(TaskError::transient(format!("HTTP 503 on attempt {}", ctx.attempt())));
        }
        Ok(json!({ "attempt": ctx.attempt() }))
    }
}

async fn drain(pool: &WorkerPool, until: impl Fn() -> bool) {
    for _ in 0..500 {
        if until() {
            return;
        }
        if !pool.run_one("test-worker").await.unwrap() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn wait_for_status(store: &Arc<dyn Store>, id: TaskId, status: TaskStatus) -> cinegen_store::TaskRecord {
    for _ in 0..500 {
        let task = store.task(id).await.unwrap().unwrap();
        if task.status == status {
            return task;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task never became {status:?}");
}

async fn transient_failures_retry_with_backoff_then_succeed(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let pool = WorkerPool::new(store.clone(), vec![Arc::new(Flaky { failures: 2 })], quick());
    let id = enqueue(&store, user, "flaky", json!({})).await;
    assert!(pool.run_one("w").await.unwrap());
    let after_first = store.task(id).await.unwrap().unwrap();
    assert_eq!((after_first.status, after_first.attempts), (TaskStatus::Pending, 1));
    assert_eq!(after_first.error_message.as_deref(), Some("HTTP 503 on attempt 1"));
    assert!(after_first.run_at > Utc::now() - chrono::Duration::milliseconds(5), "it waits before the retry");
    let done = {
        let store = store.clone();
        drain(&pool, || false).await;
        wait_for_status(&store, id, TaskStatus::Completed).await
    };
    assert_eq!((done.attempts, done.result), (3, Some(json!({"attempt": 3}))));
    // With too few attempts left, the same failure fails the task.
    let stubborn = WorkerPool::new(store.clone(), vec![Arc::new(Flaky { failures: 10 })], quick());
    let id = enqueue(&store, user, "flaky", json!({})).await;
    drain(&stubborn, || false).await;
    let failed = wait_for_status(&store, id, TaskStatus::Failed).await;
    assert_eq!(failed.attempts, 3);
}

struct Refuses;

#[async_trait::async_trait]
impl TaskHandler for Refuses {
    fn task_type(&self) -> &'static str {
        "refuses"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        if ctx.task.payload["panic"] == true {
            panic!("handler bug");
        }
        Err(TaskError::permanent("PROVIDER_ERROR", "the prompt was refused by the content policy"))
    }
}

async fn permanent_failures_and_panics_fail_at_once(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let pool = WorkerPool::new(store.clone(), vec![Arc::new(Refuses)], quick());
    let refused = enqueue(&store, user, "refuses", json!({})).await;
    let buggy = enqueue(&store, user, "refuses", json!({"panic": true})).await;
    pool.run_one("w").await.unwrap();
    pool.run_one("w").await.unwrap();
    let refused = store.task(refused).await.unwrap().unwrap();
    assert_eq!((refused.status, refused.attempts), (TaskStatus::Failed, 1));
    assert_eq!(refused.error_code.as_deref(), Some("PROVIDER_ERROR"));
    assert_eq!(refused.error_message.as_deref(), Some("the prompt was refused by the content policy"));
    let buggy = store.task(buggy).await.unwrap().unwrap();
    assert_eq!((buggy.status, buggy.error_code.as_deref()), (TaskStatus::Failed, Some("INTERNAL_ERROR")));
}

/// Works in steps until cancelled.
struct Long;

#[async_trait::async_trait]
impl TaskHandler for Long {
    fn task_type(&self) -> &'static str {
        "long"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        for step in 0..1000 {
            ctx.progress(step / 10, "rendering").await?;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(json!({}))
    }
}

async fn running_tasks_stop_when_cancelled(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let pool = Arc::new(WorkerPool::new(store.clone(), vec![Arc::new(Long)], quick()));
    let shutdown = CancellationToken::new();
    let workers = pool.spawn(shutdown.clone());
    let id = enqueue(&store, user, "long", json!({})).await;
    pool.wake();
    let running = wait_for_status(&store, id, TaskStatus::Running).await;
    assert_eq!(running.status, TaskStatus::Running);
    store.request_cancel(id, Utc::now()).await.unwrap();
    let cancelled = wait_for_status(&store, id, TaskStatus::Cancelled).await;
    assert!(cancelled.progress < 100);
    shutdown.cancel();
    futures::future::join_all(workers).await;
}

/// Submits a paid job once (or resumes the recorded one), then polls it for `render`.
struct PaidJob {
    submissions: Arc<AtomicUsize>,
    render: Duration,
}

#[async_trait::async_trait]
impl TaskHandler for PaidJob {
    fn task_type(&self) -> &'static str {
        "video"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let job = match &ctx.task.provider_job_id {
            Some(job) => job.clone(),
            None => {
                let job = format!("job-{}", self.submissions.fetch_add(1, Ordering::SeqCst));
                ctx.record_provider_job("kling", &job, None).await?;
                job
            }
        };
        ctx.progress(80, "polling").await?;
        tokio::time::sleep(self.render).await;
        Ok(json!({ "job": job }))
    }
}

async fn a_dead_workers_task_is_resumed_without_a_second_provider_job(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let submissions = Arc::new(AtomicUsize::new(0));
    let id = enqueue(&store, user, "video", json!({})).await;
    // A worker claims it, submits the job and records the id, then dies (its lease lapses).
    let now = Utc::now();
    let claim = ClaimRequest {
        worker: "doomed".into(),
        task_types: vec!["video".into()],
        lease_until: now + chrono::Duration::milliseconds(100),
        now,
        per_user_running: 10,
    };
    let claimed = store.claim(&claim).await.unwrap().unwrap();
    submissions.fetch_add(1, Ordering::SeqCst);
    store.set_provider_job(id, "doomed", claimed.attempts, "kling", "job-0", None, Utc::now()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let pool = WorkerPool::new(
        store.clone(),
        vec![Arc::new(PaidJob { submissions: submissions.clone(), render: Duration::ZERO })],
        quick(),
    );
    assert!(pool.run_one("rescuer").await.unwrap());
    let done = store.task(id).await.unwrap().unwrap();
    assert_eq!((done.status, done.attempts), (TaskStatus::Completed, 2));
    assert_eq!(done.result, Some(json!({"job": "job-0"})));
    assert_eq!(submissions.load(Ordering::SeqCst), 1, "the provider was paid once");
    // The dead attempt's late answer changes nothing.
    let late = store.finish(
        id,
        "doomed",
        1,
        cinegen_store::Outcome::Failed { code: "X".into(), message: "late".into() },
        Utc::now(),
    );
    assert!(late.await.unwrap().is_none());
    assert_eq!(store.task(id).await.unwrap().unwrap().status, TaskStatus::Completed);
}

async fn a_stopping_worker_hands_a_resumable_job_back_at_once(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let submissions = Arc::new(AtomicUsize::new(0));
    // A lease far longer than the test: only the hand-back can free the task in time.
    let config = WorkerConfig { lease: Duration::from_secs(600), shutdown_grace: Duration::from_secs(600), ..quick() };
    let slow = PaidJob { submissions: submissions.clone(), render: Duration::from_secs(600) };
    let stopping = Arc::new(WorkerPool::new(store.clone(), vec![Arc::new(slow)], config));
    let shutdown = CancellationToken::new();
    let workers = stopping.spawn(shutdown.clone());
    let id = enqueue(&store, user, "video", json!({})).await;
    stopping.wake();
    wait_for(&store, id, |t| t.provider_job_id.is_some()).await;

    let asked = std::time::Instant::now();
    shutdown.cancel();
    futures::future::join_all(workers).await;
    assert!(asked.elapsed() < Duration::from_secs(5), "stopped at once, not after the grace period");
    let back = store.task(id).await.unwrap().unwrap();
    assert_eq!((back.status, back.attempts, back.locked_by.as_deref()), (TaskStatus::Pending, 0, None));

    let quick_render = PaidJob { submissions: submissions.clone(), render: Duration::ZERO };
    let next = WorkerPool::new(store.clone(), vec![Arc::new(quick_render)], quick());
    assert!(next.run_one("next-worker").await.unwrap(), "claimed at once: no lease to wait out");
    let done = store.task(id).await.unwrap().unwrap();
    assert_eq!((done.status, done.result), (TaskStatus::Completed, Some(json!({"job": "job-0"}))));
    assert_eq!(submissions.load(Ordering::SeqCst), 1, "the provider was paid once");
}

/// Sleeps for the payload's `ms`, then answers.
struct Sleeps;

#[async_trait::async_trait]
impl TaskHandler for Sleeps {
    fn task_type(&self) -> &'static str {
        "sleeps"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        ctx.progress(10, "working").await?;
        tokio::time::sleep(Duration::from_millis(ctx.task.payload["ms"].as_u64().unwrap_or(0))).await;
        Ok(json!({"slept": true}))
    }
}

async fn a_stopping_worker_lets_short_tasks_finish_and_hands_back_the_rest(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let config =
        WorkerConfig { lease: Duration::from_secs(600), shutdown_grace: Duration::from_millis(1500), ..quick() };
    let pool = Arc::new(WorkerPool::new(store.clone(), vec![Arc::new(Sleeps)], config));
    let shutdown = CancellationToken::new();
    let workers = pool.spawn(shutdown.clone());
    let short = enqueue(&store, user, "sleeps", json!({"ms": 500})).await;
    let long = enqueue(&store, user, "sleeps", json!({"ms": 60_000})).await;
    pool.wake();
    wait_for(&store, short, |t| t.status == TaskStatus::Running).await;
    wait_for(&store, long, |t| t.status == TaskStatus::Running).await;
    let later = enqueue(&store, user, "sleeps", json!({"ms": 0})).await;

    shutdown.cancel();
    futures::future::join_all(workers).await;
    let short = store.task(short).await.unwrap().unwrap();
    assert_eq!(
        (short.status, short.result),
        (TaskStatus::Completed, Some(json!({"slept": true}))),
        "finished in the grace period"
    );
    let long = store.task(long).await.unwrap().unwrap();
    assert_eq!((long.status, long.attempts), (TaskStatus::Pending, 0), "handed back when the grace period ended");
    let later = store.task(later).await.unwrap().unwrap();
    assert_eq!((later.status, later.attempts), (TaskStatus::Pending, 0), "nothing new is claimed while stopping");
}

/// Waits until the task satisfies `test`.
async fn wait_for(store: &Arc<dyn Store>, id: TaskId, test: impl Fn(&cinegen_store::TaskRecord) -> bool) {
    for _ in 0..500 {
        if test(&store.task(id).await.unwrap().unwrap()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("task {id} never got there: {:?}", store.task(id).await.unwrap());
}

struct Counting {
    runs: Arc<std::sync::Mutex<Vec<TaskId>>>,
}

#[async_trait::async_trait]
impl TaskHandler for Counting {
    fn task_type(&self) -> &'static str {
        "count"
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        self.runs.lock().unwrap().push(ctx.task.id);
        Ok(json!({}))
    }
}

async fn many_workers_run_every_task_exactly_once(engine: Engine) {
    let (_db, store, user) = setup(engine).await;
    let mut ids = Vec::new();
    for _ in 0..1000 {
        ids.push(enqueue(&store, user, "count", json!({})).await);
    }
    let runs = Arc::new(std::sync::Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let mut handles = Vec::new();
    for name in ["instance-a", "instance-b"] {
        let config = WorkerConfig { name: name.into(), workers: 4, ..quick() };
        let pool = Arc::new(WorkerPool::new(store.clone(), vec![Arc::new(Counting { runs: runs.clone() })], config));
        handles.extend(pool.spawn(shutdown.clone()));
    }
    for id in &ids {
        wait_for_status(&store, *id, TaskStatus::Completed).await;
    }
    shutdown.cancel();
    futures::future::join_all(handles).await;
    let mut ran = runs.lock().unwrap().clone();
    assert_eq!(ran.len(), 1000);
    ran.sort();
    ran.dedup();
    assert_eq!(ran.len(), 1000, "a task ran twice");
}
