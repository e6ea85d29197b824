//! The `cinegen` binary as an operator uses it: flags and environment, bad configuration, admin
//! commands, on SQLite and PostgreSQL.

use cinegen_store::Engine;
use cinegen_store::testing::TestDatabase;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{cinegen, run};

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cinegen-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `cinegen serve`, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(mut command: Command, port: u16) -> Self {
        let child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/health", server.base)).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cinegen serve did not come up on port {port}");
    }

    async fn login(&self, email: &str, password: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Stops the server and answers what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let output =
            std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap()).wait_with_output().unwrap();
        String::from_utf8_lossy(&output.stderr).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn serve_listens_on_the_given_address_and_data_dir() {
    let dir = temp_dir();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server::start(cinegen(&["serve", "--addr", &addr, "--data-dir", dir.to_str().unwrap()]), port).await;
    let ready: Value = reqwest::get(format!("{}/ready", server.base)).await.unwrap().json().await.unwrap();
    assert_eq!(ready["data"]["database"], "sqlite");
    let log = server.stop();
    assert!(dir.join("cinegen.db").exists());
    // Secrets were generated into the data dir, announced once, and never printed.
    for name in ["jwt_secret", "encryption_key"] {
        let secret = std::fs::read_to_string(dir.join("secrets").join(name)).unwrap();
        assert!(!log.contains(secret.trim()), "{name} leaked into the log");
    }
    assert!(log.contains("generated a new secret"));
    assert!(log.contains("effective configuration"));
    for line in log.lines() {
        serde_json::from_str::<Value>(line).unwrap_or_else(|_| panic!("log line is not JSON: {line}"));
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn serve_reads_address_and_data_dir_from_the_environment() {
    let dir = temp_dir();
    let port = free_port();
    let mut command = cinegen(&["serve"]);
    command.env("CINEGEN_ADDR", format!("127.0.0.1:{port}")).env("CINEGEN_DATA_DIR", &dir);
    let server = Server::start(command, port).await;
    let log = server.stop();
    assert!(dir.join("cinegen.db").exists());
    assert!(!log.contains("generated a new secret") || dir.join("secrets/jwt_secret").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_configuration_stops_with_the_setting_named() {
    let dir = temp_dir();
    let data_dir = dir.to_str().unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("CINEGEN_ACCESS_TOKEN_TTL_SECS", "soon", "ACCESS_TOKEN_TTL_SECS"),
        ("CINEGEN_OTLP_ENDPOINT", "collector:4318", "OTLP_ENDPOINT"),
        ("DATABASE_URL", "mysql://localhost/x", "DATABASE_URL"),
        ("JWT_SECRET", "short", "JWT_SECRET"),
        ("ENCRYPTION_KEY", "not-a-key", "ENCRYPTION_KEY"),
        ("CINEGEN_ADDR", "no-port-here", "CINEGEN_ADDR"),
    ];
    for (name, value, named) in cases {
        let output = run(cinegen(&["migrate", "--data-dir", data_dir]).env(name, value));
        assert!(!output.status.success(), "{name}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{name}={value}: {stderr}");
    }
    let missing = run(&mut cinegen(&["migrate", "--config", "/no/such/file.toml", "--data-dir", data_dir]));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/no/such/file.toml"));
    std::fs::remove_dir_all(dir).unwrap();
}

async fn admin_commands_manage_accounts(engine: Engine) {
    let db = TestDatabase::create(engine).await;
    let dir = temp_dir();
    let with_db = |args: &[&str]| {
        let mut command = cinegen(args);
        command.arg("--data-dir").arg(&dir).env("DATABASE_URL", &db.url);
        command
    };
    let migrated = run(&mut with_db(&["migrate"]));
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));

    let created = run(&mut with_db(&[
        "user",
        "create",
        "--email",
        "Admin@Example.com",
        "--name",
        "管理员",
        "--password",
        "first password",
        "--quota",
        "20GiB",
    ]));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(String::from_utf8_lossy(&created.stdout).contains("20GiB"));
    let duplicate = run(&mut with_db(&[
        "user",
        "create",
        "--email",
        "admin@example.com",
        "--name",
        "x",
        "--password",
        "another one",
    ]));
    assert!(!duplicate.status.success());
    assert!(String::from_utf8_lossy(&duplicate.stderr).contains("already exists"));
    let weak = run(&mut with_db(&["user", "create", "--email", "weak@example.com", "--name", "x", "--password", "x"]));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));

    let quota = run(&mut with_db(&["user", "set-quota", "--email", "admin@example.com", "--quota", "3TiB"]));
    assert!(quota.status.success(), "{}", String::from_utf8_lossy(&quota.stderr));
    let bad_quota = run(&mut with_db(&["user", "set-quota", "--email", "admin@example.com", "--quota", "lots"]));
    assert!(String::from_utf8_lossy(&bad_quota.stderr).contains("--quota"));
    let repaired = run(&mut with_db(&["user", "repair-usage", "--email", "admin@example.com"]));
    assert!(
        String::from_utf8_lossy(&repaired.stdout).contains("0 bytes in ready files (already right)"),
        "{repaired:?}"
    );
    let nobody = run(&mut with_db(&["user", "set-quota", "--email", "nobody@example.com", "--quota", "1GiB"]));
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user"));

    let port = free_port();
    let mut serve = with_db(&["serve", "--addr", &format!("127.0.0.1:{port}")]);
    serve.env("CINEGEN_DATA_DIR", &dir);
    let server = Server::start(serve, port).await;
    let (status, body) = server.login("admin@example.com", "first password").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["user"]["name"], "管理员");
    assert_eq!(body["data"]["user"]["quota_total"], 3_i64 << 40);
    let refresh = body["data"]["tokens"]["refresh"].as_str().unwrap().to_owned();

    // A reset through standard input signs the account out everywhere.
    let mut reset = with_db(&["user", "reset-password", "--email", "admin@example.com"]);
    let mut child = reset.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"second password\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("1 session(s) signed out"));
    assert_eq!(server.login("admin@example.com", "first password").await.0, 401);
    assert_eq!(server.login("admin@example.com", "second password").await.0, 200);
    let refreshed = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/refresh", server.base))
        .json(&json!({ "refresh": refresh }))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status().as_u16(), 401);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn admin_commands_on_sqlite() {
    admin_commands_manage_accounts(Engine::Sqlite).await;
}

#[tokio::test]
async fn admin_commands_on_postgres() {
    admin_commands_manage_accounts(Engine::Postgres).await;
}
