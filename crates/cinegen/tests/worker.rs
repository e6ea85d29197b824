//! A separate `cinegen worker` process killed with SIGKILL in the middle of a paid provider step:
//! another worker process takes the task over once the lease lapses, polls the job the first one
//! recorded instead of submitting a second, and finishes it.

use chrono::Utc;
use cinegen_domain::project::{Documents, ProjectSettings, ProjectStatus};
use cinegen_domain::{ProjectId, TaskId};
use cinegen_store::testing::TestDatabase;
use cinegen_store::{ConnectOptions, Engine, NewTask, ProjectRecord, TaskStatus};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cinegen");

fn worker(db: &str, dir: &PathBuf) -> Child {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("CINEGEN_") || ["DATABASE_URL", "REDIS_URL"].contains(&name.as_str()) {
            command.env_remove(name);
        }
    }
    command
        .args(["worker", "--data-dir"])
        .arg(dir)
        .env("DATABASE_URL", db)
        .env("CINEGEN_TASK_LEASE_SECS", "2")
        .env("CINEGEN_WORKERS", "2")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cinegen worker starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_video_task_is_finished_by_another_without_a_second_job() {
    let db = TestDatabase::create(Engine::Postgres).await;
    let store = cinegen_store::connect(&ConnectOptions { url: db.url.clone(), max_connections: 4 }).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cinegen-worker-{}", uuid::Uuid::new_v4()));
    // Both workers share the data directory (and so the local storage), as they would a bucket.
    std::fs::create_dir_all(&dir).unwrap();
    let user = store
        .create_user(cinegen_store::NewUser {
            id: cinegen_domain::UserId::new(),
            email: cinegen_domain::Email::parse("worker@example.com").unwrap(),
            name: cinegen_domain::DisplayName::parse("Worker").unwrap(),
            password_hash: "unused".into(),
            quota_total: cinegen_domain::ByteSize(1 << 30),
            now: Utc::now(),
        })
        .await
        .unwrap();
    let now = Utc::now();
    // A long clip, so the first worker is surely still rendering when it is killed.
    let shots = json!([{"id": "s1", "actionSummary": "雨夜长街", "keyframes": [{"id": "k1", "type": "start", "visualPrompt": "雨夜长街"}],
                        "interval": {"id": "c1", "startKeyframeId": "k1", "duration": 30}}]);
    let project = ProjectRecord {
        id: ProjectId::new(),
        owner_id: user.id,
        title: "Killed".into(),
        status: ProjectStatus::Active,
        settings: ProjectSettings::default(),
        raw_script: String::new(),
        docs: Documents { script_data: json!({}), shots },
        extra: Default::default(),
        merged_video_file_id: None,
        version: 1,
        created_at: now,
        updated_at: now,
        updated_by: None,
        deleted_at: None,
    };
    store.create_project(&project).await.unwrap();
    let task = NewTask {
        id: TaskId::new(),
        user_id: user.id,
        project_id: Some(project.id),
        parent_id: None,
        task_type: "ai.video".into(),
        priority: 10,
        payload: json!({"shot_id": "s1"}),
        max_attempts: 3,
        idempotency_key: None,
        run_at: now,
        now,
        spend: None,
    };
    store.enqueue(&task).await.unwrap();

    let mut first = worker(&db.url, &dir);
    let deadline = Instant::now() + Duration::from_secs(60);
    let job = loop {
        let row = store.task(task.id).await.unwrap().unwrap();
        if let Some(job) = row.provider_job_id {
            break job;
        }
        assert!(Instant::now() < deadline, "the first worker never submitted the job: {row:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    first.kill().expect("SIGKILL");
    let first_log = first.wait_with_output().unwrap();
    let running = store.task(task.id).await.unwrap().unwrap();
    assert_eq!((running.status, running.attempts), (TaskStatus::Running, 1), "killed mid-render");

    let second = worker(&db.url, &dir);
    let deadline = Instant::now() + Duration::from_secs(120);
    let done = loop {
        let row = store.task(task.id).await.unwrap().unwrap();
        if row.status.is_final() {
            break row;
        }
        assert!(Instant::now() < deadline, "the task was not taken over: {row:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut second = second;
    let _ = second.kill();
    let output = second.wait_with_output().unwrap();
    let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(done.status, TaskStatus::Completed, "{done:?}\n{log}");
    assert_eq!((done.attempts, done.provider_job_id.as_deref()), (2, Some(job.as_str())));
    assert!(log.contains("resuming the provider job"), "{log}");
    assert!(!log.contains("submitted a provider job"), "the second worker submitted again:\n{log}");
    let first_log =
        format!("{}{}", String::from_utf8_lossy(&first_log.stdout), String::from_utf8_lossy(&first_log.stderr));
    assert!(first_log.contains("submitted a provider job"), "{first_log}");
    let (stored, _) = store.project_for(project.id, user.id).await.unwrap().unwrap();
    assert_eq!(stored.docs.shots[0]["interval"]["status"], "completed");
    assert!(stored.docs.shots[0]["interval"]["videoFileId"].is_string());
    let _ = std::fs::remove_dir_all(dir);
}
