//! Task-queue figures, printed (run by `scripts/bench tasks`):
//!
//! - `throughput`: empty tasks claimed and completed per second by a pool of workers, on SQLite
//!   and on PostgreSQL (the queue's own cost: claim, heartbeat-free run, compare-and-set finish,
//!   events);
//! - `latency <base-url>`: enqueue → WebSocket event, p50/p99, against a running server;
//! - `sockets <base-url> <pid>`: the server's RSS with 5,000 idle WebSocket connections;
//! - `pipeline <base-url> <pid>`: the offline pipeline end to end for a 60-second, 12-shot
//!   project (wall time per stage, the server's peak RSS).

use chrono::Utc;
use cinegen_domain::{TaskId, UserId};
use cinegen_server::tasks::{TaskContext, TaskError, TaskHandler, WorkerConfig, WorkerPool};
use cinegen_store::testing::TestDatabase;
use cinegen_store::{Engine, NewTask, Store, TaskQuery, TaskStatus};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A request sent, answered with JSON.
trait SendJson {
    async fn send_json(self) -> Value;
}

impl SendJson for reqwest::RequestBuilder {
    async fn send_json(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}

struct Empty(Arc<std::sync::atomic::AtomicUsize>);

#[async_trait::async_trait]
impl TaskHandler for Empty {
    fn task_type(&self) -> &'static str {
        "bench.empty"
    }

    async fn run(&self, _: &TaskContext) -> Result<Value, TaskError> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(json!({}))
    }
}

async fn throughput(engine: Engine, tasks: usize, workers: usize, users: usize) {
    let db = TestDatabase::create(engine).await;
    let mut options = db.connect_options();
    options.max_connections = (workers as u32 + 4).max(8);
    let store: Arc<dyn Store> = cinegen_store::connect(&options).await.unwrap();
    let mut owners = Vec::new();
    for n in 0..users {
        let user = store
            .create_user(cinegen_store::NewUser {
                id: UserId::new(),
                email: cinegen_domain::Email::parse(&format!("bench{n}@example.com")).unwrap(),
                name: cinegen_domain::DisplayName::parse("Bench").unwrap(),
                password_hash: "-".into(),
                quota_total: cinegen_domain::ByteSize(1 << 30),
                now: Utc::now(),
            })
            .await
            .unwrap();
        owners.push(user.id);
    }
    let enqueued = Instant::now();
    for n in 0..tasks {
        let now = Utc::now();
        let task = NewTask {
            id: TaskId::new(),
            user_id: owners[n % users],
            project_id: None,
            parent_id: None,
            task_type: "bench.empty".into(),
            priority: 0,
            payload: json!({}),
            max_attempts: 1,
            idempotency_key: None,
            run_at: now,
            now,
            spend: None,
        };
        store.enqueue(&task).await.unwrap();
    }
    eprintln!("enqueued {tasks} in {:.1} s", enqueued.elapsed().as_secs_f64());
    let config = WorkerConfig {
        name: "bench".into(),
        workers,
        per_user_running: 1_000_000,
        poll: Duration::from_millis(20),
        ..WorkerConfig::default()
    };
    let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let pool = Arc::new(WorkerPool::new(store.clone(), vec![Arc::new(Empty(ran.clone()))], config));
    let started = Instant::now();
    let stop = CancellationToken::new();
    let handles = pool.spawn(stop.clone());
    let query = TaskQuery { status: Some(TaskStatus::Completed), size: 1, ..TaskQuery::of(owners[0]) };
    // Cheap waiting while the workers run; the store is asked only once they have all run.
    while ran.load(std::sync::atomic::Ordering::Relaxed) < tasks {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    loop {
        let (_, done) = store.list_tasks(&query).await.unwrap();
        if done as usize >= tasks.div_ceil(users) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let took = started.elapsed();
    stop.cancel();
    futures::future::join_all(handles).await;
    println!(
        "{:<9} {tasks:>6} empty tasks of {users:>2} users, {workers:>2} workers: {:>8.0} tasks/s ({:.2} s)",
        format!("{engine:?}").to_lowercase(),
        tasks as f64 / took.as_secs_f64(),
        took.as_secs_f64()
    );
}

async fn session(base: &str) -> (reqwest::Client, String, String) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let email = format!("bench-{}@example.com", uuid::Uuid::new_v4().simple());
    let registered: Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": email, "password": "bench password 123", "name": "Bench"}))
        .send_json()
        .await;
    let token = registered["data"]["tokens"]["access"].as_str().unwrap().to_owned();
    let project: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(&json!({"title": "Bench", "script_data": {"characters": [{"id": "c", "name": "沈青禾"}]}}))
        .send_json()
        .await;
    (client, token, project["data"]["project"]["id"].as_str().unwrap().to_owned())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

/// Time from the enqueue request to the WebSocket event of the task's completion (and to the
/// first event about it), over `rounds` visual-prompt tasks on the offline provider.
async fn latency(base: &str, rounds: usize) {
    let (client, token, project) = session(base).await;
    let ws = format!("{}/api/v1/ws/tasks?token={token}", base.replacen("http", "ws", 1));
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    socket.next().await; // the snapshot
    let (mut first, mut done) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let sent = Instant::now();
        let answer: Value = client
            .post(format!("{base}/api/v1/ai/visual-prompt"))
            .bearer_auth(&token)
            .json(&json!({"project_id": project, "target": {"type": "character", "character_id": "c"}}))
            .send_json()
            .await;
        let id = answer["data"]["task"]["id"].as_str().unwrap().to_owned();
        let mut seen_first = false;
        while let Some(Ok(message)) = socket.next().await {
            let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["task"]["id"] != id.as_str() {
                continue;
            }
            if !seen_first {
                first.push(sent.elapsed());
                seen_first = true;
            }
            if event["task"]["status"] == "completed" {
                done.push(sent.elapsed());
                break;
            }
        }
    }
    first.sort();
    done.sort();
    println!(
        "enqueue → first event:     p50 {:>6.2} ms  p99 {:>6.2} ms  ({rounds} tasks)",
        percentile(&first, 0.5),
        percentile(&first, 0.99)
    );
    println!(
        "enqueue → completed event: p50 {:>6.2} ms  p99 {:>6.2} ms  (queue, worker, provider, write-back)",
        percentile(&done, 0.5),
        percentile(&done, 0.99)
    );
    let _ = socket.close(None).await;
}

fn rss_kib(pid: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key).and_then(|v| v.trim_start_matches(':').split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

async fn sockets(base: &str, pid: &str, count: usize) {
    let (_, token, _) = session(base).await;
    let before = rss_kib(pid, "VmRSS");
    let ws = format!("{}/api/v1/ws/tasks?token={token}", base.replacen("http", "ws", 1));
    let mut open = Vec::with_capacity(count);
    let started = Instant::now();
    for _ in 0..count {
        let (mut socket, _) = tokio_tungstenite::connect_async(ws.as_str()).await.unwrap();
        socket.next().await; // the snapshot
        open.push(socket);
    }
    let opened = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid, "VmRSS");
    println!(
        "{count} idle WebSockets: server RSS {} MiB → {} MiB (+{:.1} KiB each), opened in {:.1} s",
        before / 1024,
        after / 1024,
        (after.saturating_sub(before)) as f64 / count as f64,
        opened.as_secs_f64()
    );
    for mut socket in open {
        let _ = socket.send(tokio_tungstenite::tungstenite::Message::Close(None)).await;
    }
}

/// Three scenes of two action beats and two lines each: twelve shots of five seconds.
const TWELVE_SHOTS: &str = "《雨夜》\n\n第一场 长街 夜 外\n大雨倾盆，霓虹倒映在积水里。\n沈青禾撑伞独行。\n沈青禾：今夜必须找到他。\n萧砚：你来晚了。\n\n\
第二场 茶楼 夜 内\n茶楼空无一人，烛火摇曳。\n萧砚推开窗，望向远处。\n沈青禾：卷宗在哪里？\n萧砚：在一个你想不到的地方。\n\n\
第三场 城门 黎明 外\n城门缓缓打开，晨光洒落。\n两人并肩走出城门。\n沈青禾：我们还会回来。\n萧砚：一定。\n";

async fn wait(client: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    loop {
        let task: Value = client.get(format!("{base}/api/v1/ai/tasks/{id}")).bearer_auth(token).send_json().await;
        let task = task["data"]["task"].clone();
        if matches!(task["status"].as_str(), Some("completed" | "failed" | "cancelled")) {
            assert_eq!(task["status"], "completed", "{task}");
            return task;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pipeline(base: &str, pid: &str) {
    let (client, token, _) = session(base).await;
    let created: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(&json!({"title": "雨夜", "language": "zh", "target_duration": "60s", "raw_script": TWELVE_SHOTS}))
        .send_json()
        .await;
    let project = created["data"]["project"]["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let mut shot_ids = Vec::new();
    // The film is merged three times: pictures alone, with the spoken dialogue, and with the
    // subtitles burned in as well — the difference is what sound and subtitles cost.
    let merge = "/api/v1/ai/video/merge";
    let stages: [(&str, String, Value); 9] = [
        ("parse", "/api/v1/ai/script/parse".into(), json!({"project_id": project})),
        ("character and scene images", "/api/v1/ai/batch/images".into(), json!({"project_id": project})),
        ("keyframes", "/api/v1/ai/batch/keyframes".into(), json!({"project_id": project})),
        ("clips", "/api/v1/ai/batch/clips".into(), json!({"project_id": project})),
        ("merge, pictures only", merge.into(), json!({})),
        ("voices (espeak-ng)", "/api/v1/ai/batch/voices".into(), json!({"project_id": project})),
        ("merge with voices", merge.into(), json!({})),
        ("merge, voices + subtitles", merge.into(), json!({"burn_subtitles": true})),
        ("export zip", format!("/api/v1/projects/{project}/export"), json!({})),
    ];
    for (name, path, mut body) in stages {
        if path == merge {
            let burn = body.get("burn_subtitles").is_some();
            body = json!({"project_id": project, "shot_ids": shot_ids, "burn_subtitles": burn});
        }
        let stage = Instant::now();
        let answer: Value = client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send_json().await;
        let id = answer["data"]["task"]["id"].as_str().unwrap_or_else(|| panic!("{name}: {answer}")).to_owned();
        let task = wait(&client, base, &token, &id).await;
        println!("  {name:<28} {:>6.1} s   {}", stage.elapsed().as_secs_f64(), task["result"]);
        if name == "parse" {
            let doc: Value =
                client.get(format!("{base}/api/v1/projects/{project}")).bearer_auth(&token).send_json().await;
            shot_ids = doc["data"]["project"]["shots"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
        }
    }
    println!(
        "offline pipeline, {} shots: {:.1} s end to end; server peak RSS {} MiB",
        shot_ids.len(),
        started.elapsed().as_secs_f64(),
        rss_kib(pid, "VmHWM") / 1024
    );
}

/// Orchestration overhead: `items` image tasks (one batch) against an emulated provider that
/// answers each call after `latency`, with the server's workers and provider slots set to
/// `concurrency`. The ideal is `items / concurrency × latency`. With `budgets`, the caller and the
/// project have monthly caps, so the batch is admitted against them and every item reserves.
async fn orchestration(base: &str, pid: &str, items: usize, concurrency: usize, latency: Duration, budgets: bool) {
    let emulator = cinegen_emulators::openai::start("sk-bench").await;
    emulator.set_latency(latency);
    let (client, token, _) = session(base).await;
    let settings: Value = client
        .put(format!("{base}/api/v1/settings/providers"))
        .bearer_auth(&token)
        .json(
            &json!({"providers": {"openai": {"api_key": "sk-bench", "base_url": format!("{}/v1", emulator.base_url)}},
                      "defaults": {"image": "openai"}}),
        )
        .send_json()
        .await;
    assert_eq!(settings["success"], true, "{settings}");
    let characters: Vec<Value> = (0..items / 2)
        .map(|i| json!({"id": format!("char-{i}"), "name": format!("角色{i}"), "visualPrompt": format!("角色{i}，古装"), "variations": []}))
        .collect();
    let scenes: Vec<Value> = (0..items - items / 2)
        .map(|i| json!({"id": format!("scene-{i}"), "location": format!("地点{i}"), "visualPrompt": format!("地点{i}，黄昏")}))
        .collect();
    let created: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(&json!({"title": "编排", "language": "zh",
                      "script_data": {"title": "编排", "characters": characters, "scenes": scenes, "storyParagraphs": []}}))
        .send_json()
        .await;
    let project = created["data"]["project"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    if budgets {
        for path in ["budgets".to_owned(), format!("projects/{project}/budget")] {
            let capped: Value = client
                .put(format!("{base}/api/v1/{path}"))
                .bearer_auth(&token)
                .json(&json!({"monthly": {"USD": "1000", "CNY": "5000"}}))
                .send_json()
                .await;
            assert_eq!(capped["success"], true, "{capped}");
        }
    }
    let started = Instant::now();
    let answer: Value = client
        .post(format!("{base}/api/v1/ai/batch/images"))
        .bearer_auth(&token)
        .json(&json!({"project_id": project}))
        .send_json()
        .await;
    let id = answer["data"]["task"]["id"].as_str().unwrap_or_else(|| panic!("{answer}")).to_owned();
    let task = wait(&client, base, &token, &id).await;
    let wall = started.elapsed().as_secs_f64();
    assert_eq!(task["result"]["completed"], items, "{task}");
    let ideal = (items as f64 / concurrency as f64).ceil() * latency.as_secs_f64();
    let calls = emulator.calls().len();
    println!(
        "{items} image tasks{}, provider latency {:.1} s, concurrency {concurrency}: {wall:.2} s \
         (ideal {ideal:.1} s, {:.3}×); {calls} provider calls; server peak RSS {} MiB",
        if budgets { " with budgets" } else { "" },
        latency.as_secs_f64(),
        wall / ideal,
        rss_kib(pid, "VmHWM") / 1024
    );
    emulator.assert_conformant();
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("throughput") => {
            let tasks: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(10_000);
            let engines = match args.get(2).map(String::as_str) {
                Some("sqlite") => vec![Engine::Sqlite],
                Some("postgres") => vec![Engine::Postgres],
                _ => vec![Engine::Sqlite, Engine::Postgres],
            };
            for engine in engines {
                for (workers, users) in [(4, 1), (16, 1), (16, 20)] {
                    throughput(engine, tasks, workers, users).await;
                }
            }
        }
        Some("latency") => latency(&args[1], 500).await,
        Some("sockets") => sockets(&args[1], &args[2], 5000).await,
        Some("pipeline") => pipeline(&args[1], &args[2]).await,
        Some("orchestration") => {
            let budgets = args.get(3).is_some_and(|a| a == "budgets");
            orchestration(&args[1], &args[2], 500, 50, Duration::from_secs(1), budgets).await;
        }
        _ => eprintln!(
            "usage: tasks throughput [N] [sqlite|postgres] | latency <base-url> | sockets|pipeline|orchestration <base-url> <server-pid> [budgets]"
        ),
    }
}
