//! The test harness: the real application on a random port, over a throwaway database.

#![allow(dead_code, reason = "each test file uses a different part of the harness")]

use cinegen_server::AppState;
use cinegen_server::config::{Config, Secret};
use cinegen_store::Engine;
use cinegen_store::testing::TestDatabase;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// The signing key the test apps use, so tests can mint their own (expired, forged…) tokens.
pub const JWT_SECRET: &str = "test-signing-key-that-is-long-enough-0123456789";

/// Runs one `async fn(Engine)` scenario on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(cinegen_store::Engine::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(cinegen_store::Engine::Postgres).await;
            }
        }
    )*};
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _db: Option<TestDatabase>,
    pub data_dir: std::path::PathBuf,
}

/// One answer: status, headers and the parsed JSON envelope.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, |_| {}).await
    }

    /// Starts the app after `configure` has adjusted the configuration.
    pub async fn spawn_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDatabase::create(engine).await;
        let url = db.url.clone();
        Self::start(Some(db), &url, configure).await
    }

    /// A second instance over an existing database (which the first instance owns).
    pub async fn spawn_on(database_url: &str, configure: impl FnOnce(&mut Config)) -> Self {
        Self::start(None, database_url, configure).await
    }

    async fn start(db: Option<TestDatabase>, database_url: &str, configure: impl FnOnce(&mut Config)) -> Self {
        let data_dir = std::env::temp_dir().join(format!("cinegen-app-{}", uuid::Uuid::new_v4()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = Config {
            public_url: Some(format!("http://{addr}")),
            addr: "127.0.0.1:0".into(),
            data_dir: data_dir.clone(),
            database_url: Some(Secret::new(database_url)),
            database_max_connections: 8,
            jwt_secret: Some(Secret::new(JWT_SECRET)),
            // Retries of background tasks come quickly in tests.
            task_retry_base_ms: 50,
            // A test app stops at once: nothing of its tasks is waited for.
            shutdown_grace_secs: 0,
            shutdown_drain_ms: 0,
            // Every test account registers from 127.0.0.1 (and, with Redis, into shared counters).
            registrations_per_ip_per_hour: 1_000_000,
            ..Config::default()
        };
        configure(&mut config);
        let settings = config.resolve().expect("valid test configuration");
        let state = AppState::build(settings).await.expect("app state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        tokio::spawn(async move {
            cinegen_server::serve(serving, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Self { addr, client, state, shutdown: Some(tx), _db: db, data_dir }
    }

    /// Waits (up to two minutes) for a task to end; answers its view.
    pub async fn finished_task(&self, token: &str, id: &str) -> Value {
        for _ in 0..1200 {
            let task = self.get_authed(&format!("/api/v1/ai/tasks/{id}"), token).await.data()["task"].clone();
            if matches!(task["status"].as_str(), Some("completed" | "failed" | "cancelled")) {
                return task;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("task {id} did not end in two minutes");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
        Answer { status, headers, body }
    }

    /// Posts a body meant to be refused as too large. The server may answer 413 and close the
    /// connection before the client has finished sending; the client then sometimes sees the reset
    /// instead of the answer, so the request is retried until an answer is read. It goes on a
    /// connection of its own, so the one the server closes is never reused by a later request.
    pub async fn post_oversize(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let client = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(0).build().unwrap();
        for _ in 0..5 {
            let mut request = client.post(self.url(path)).json(body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Ok(response) = request.send().await {
                let status = response.status();
                let headers = response.headers().clone();
                let text = response.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text }));
                return Answer { status, headers, body };
            }
        }
        panic!("no answer to an oversize request in five tries");
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).json(body)).await
    }

    pub async fn post_authed(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.client.post(self.url(path)).bearer_auth(token).json(body)).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn get_authed(&self, path: &str, token: &str) -> Answer {
        self.send(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    /// Registers `email` with a fixed good password; answers the `{user, tokens}` data.
    pub async fn register(&self, email: &str) -> Value {
        let answer = self
            .post("/api/v1/auth/register", &json!({ "email": email, "password": PASSWORD, "name": "Test User" }))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.data().clone()
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.post("/api/v1/auth/login", &json!({ "email": email, "password": password })).await
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// Tells the server to stop, as SIGTERM would, and keeps the test's handles.
    #[allow(dead_code)]
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// An editor's timeline as the format's reference implementation reads it (OpenTimelineIO with
/// its FCPXML and CMX 3600 adapters, installed by `scripts/test`; `scripts/read-timeline.py`).
pub fn read_timeline(path: &std::path::Path) -> serde_json::Value {
    let python = std::env::var("CINEGEN_OTIO_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/cinegen/otio/bin/python")
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/read-timeline.py");
    let output = std::process::Command::new(&python).arg(script).arg(path).output().unwrap_or_else(|e| {
        panic!("{python}: {e} — OpenTimelineIO is installed by scripts/test (ensure_otio in scripts/lib.sh)")
    });
    assert!(
        output.status.success(),
        "{} could not be read: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reader answers JSON")
}
