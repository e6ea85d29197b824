//! The restore drill: back up a running instance, wipe its data directory, restore, and find every
//! account, project and file back, with the same secrets (sessions and file links keep working).
//! And a damaged or foreign backup is refused before anything changes.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::{cinegen, run};
const PASSWORD: &str = "correct horse battery staple";

fn temp_dir() -> PathBuf {
    std::env::temp_dir().join(format!("cinegen-backup-{}", uuid::Uuid::new_v4()))
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Server {
    async fn start(data_dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let child = cinegen(&["serve", "--addr", &addr, "--data-dir", data_dir.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { child, base: format!("http://{addr}"), client: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if reqwest::get(format!("{}/health", server.base)).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cinegen serve did not come up");
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.call(request).await
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(self.client.get(self.url(path)).bearer_auth(token)).await
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the drill checks after the restore.
struct Work {
    token: String,
    project: String,
    file_url: String,
    picture: Vec<u8>,
}

/// An account with a project and an uploaded picture, made through the API.
async fn make_work(server: &Server) -> Work {
    let (status, registered) = server
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "drill@example.com", "password": PASSWORD, "name": "Drill"}),
        )
        .await;
    assert_eq!(status, 201, "{registered}");
    let token = registered["data"]["tokens"]["access"].as_str().unwrap().to_owned();
    let (status, created) = server.post("/api/v1/projects", Some(&token), json!({"title": "渡口记"})).await;
    assert_eq!(status, 201, "{created}");
    let project = created["data"]["project"]["id"].as_str().unwrap().to_owned();

    let mut picture = b"\x89PNG\r\n\x1a\n".to_vec();
    picture.extend((0..300_000u32).map(|i| (i % 251) as u8));
    let request = json!({"file_name": "harbour.png", "file_type": "scene", "file_size": picture.len(),
                         "project_id": project, "content_type": "image/png"});
    let (status, target) = server.post("/api/v1/storage/upload", Some(&token), request).await;
    assert_eq!(status, 201, "{target}");
    let put = server
        .client
        .put(server.url(target["data"]["upload_url"].as_str().unwrap()))
        .header("content-type", "image/png")
        .body(picture.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());
    let callback =
        json!({"file_id": target["data"]["file_id"], "upload_status": "success", "actual_size": picture.len()});
    let (status, done) = server.post("/api/v1/storage/upload/callback", Some(&token), callback).await;
    assert_eq!(status, 200, "{done}");
    let file_url = done["data"]["file"]["url"].as_str().unwrap().to_owned();
    Work { token, project, file_url, picture }
}

fn secrets(data_dir: &Path) -> Vec<String> {
    ["jwt_secret", "encryption_key"]
        .iter()
        .map(|name| std::fs::read_to_string(data_dir.join("secrets").join(name)).unwrap())
        .collect()
}

#[tokio::test]
async fn backup_wipe_restore_brings_every_project_and_file_back() {
    let (data_dir, backup_dir) = (temp_dir(), temp_dir());
    let server = Server::start(&data_dir).await;
    let work = make_work(&server).await;
    let before = secrets(&data_dir);

    // Taken while the server runs.
    let backed_up =
        run(&mut cinegen(&["backup", "--to", backup_dir.to_str().unwrap(), "--data-dir", data_dir.to_str().unwrap()]));
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    assert!(text(&backed_up).contains("backed up 1 users, 1 projects and 1 files"), "{}", text(&backed_up));
    let manifest: Value = serde_json::from_slice(&std::fs::read(backup_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], "cinegen-backup/1");
    assert_eq!(manifest["secrets_included"], true);
    assert_eq!(manifest["entries"].as_array().unwrap().len(), 4, "database, one file, two secrets: {manifest}");

    // A backup never goes over another one.
    let again =
        run(&mut cinegen(&["backup", "--to", backup_dir.to_str().unwrap(), "--data-dir", data_dir.to_str().unwrap()]));
    assert!(!again.status.success() && text(&again).contains("not empty"), "{}", text(&again));

    server.stop();
    std::fs::remove_dir_all(&data_dir).unwrap();

    let checked = run(&mut cinegen(&["restore", "--check", "--from", backup_dir.to_str().unwrap()]));
    assert!(checked.status.success() && text(&checked).contains("every checksum matches"), "{}", text(&checked));
    let restored = run(&mut cinegen(&[
        "restore",
        "--from",
        backup_dir.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]));
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(text(&restored).contains("restored 1 users, 1 projects and 1 files"), "{}", text(&restored));
    assert_eq!(secrets(&data_dir), before, "the secrets came back as they were");

    // Over a database that is there, a restore asks for --replace.
    let over = run(&mut cinegen(&[
        "restore",
        "--from",
        backup_dir.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]));
    assert!(!over.status.success() && text(&over).contains("--replace"), "{}", text(&over));

    let server = Server::start(&data_dir).await;
    // The session from before the backup still works: the signing key came back.
    let (status, projects) = server.get("/api/v1/projects", &work.token).await;
    assert_eq!(status, 200, "{projects}");
    let listed = projects["data"]["projects"].as_array().or(projects["data"]["items"].as_array()).unwrap().clone();
    assert_eq!(listed.len(), 1, "{projects}");
    assert_eq!(listed[0]["id"], work.project.as_str());
    assert_eq!(listed[0]["title"], "渡口记");
    // So does the file link handed out before, with the same bytes.
    let file = server.client.get(server.url(&work.file_url)).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), work.picture.as_slice());
    let (status, usage) = server.get("/api/v1/storage/usage", &work.token).await;
    assert_eq!((status, &usage["data"]["used"]), (200, &json!(work.picture.len())), "{usage}");
    let (status, login) =
        server.post("/api/v1/auth/login", None, json!({"email": "drill@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 200, "{login}");
    server.stop();
    for dir in [data_dir, backup_dir] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[tokio::test]
async fn a_damaged_or_foreign_backup_is_refused_and_changes_nothing() {
    let (data_dir, backup_dir) = (temp_dir(), temp_dir());
    let server = Server::start(&data_dir).await;
    make_work(&server).await;
    let backed_up =
        run(&mut cinegen(&["backup", "--to", backup_dir.to_str().unwrap(), "--data-dir", data_dir.to_str().unwrap()]));
    assert!(backed_up.status.success(), "{}", text(&backed_up));
    server.stop();

    let manifest_path = backup_dir.join("manifest.json");
    let manifest: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let picture = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|e| e["path"].as_str().filter(|p| p.starts_with("files/")))
        .unwrap()
        .to_owned();
    let mut bytes = std::fs::read(backup_dir.join(&picture)).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(backup_dir.join(&picture), bytes).unwrap();

    let target = temp_dir();
    let restore = |from: &Path| {
        run(&mut cinegen(&["restore", "--from", from.to_str().unwrap(), "--data-dir", target.to_str().unwrap()]))
    };
    let refused = restore(&backup_dir);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains(&format!("{picture} (changed)")), "{}", text(&refused));
    assert!(!target.join("cinegen.db").exists() && !target.join("files").exists(), "nothing was restored");

    // A manifest naming a path outside the layout is refused whatever its checksum.
    let mut hostile = manifest.clone();
    hostile["entries"].as_array_mut().unwrap().push(json!({"path": "../../etc/passwd", "bytes": 1, "sha256": "00"}));
    std::fs::write(&manifest_path, serde_json::to_vec(&hostile).unwrap()).unwrap();
    let refused = restore(&backup_dir);
    assert!(!refused.status.success() && text(&refused).contains("never holds"), "{}", text(&refused));

    // A folder that is not a finished backup.
    std::fs::remove_file(&manifest_path).unwrap();
    let refused = restore(&backup_dir);
    assert!(!refused.status.success() && text(&refused).contains("not a finished backup"), "{}", text(&refused));
    assert!(!target.join("cinegen.db").exists());

    // PostgreSQL is backed up with its own tools.
    let postgres =
        run(cinegen(&["backup", "--to", target.join("b").to_str().unwrap(), "--data-dir", target.to_str().unwrap()])
            .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"));
    assert!(!postgres.status.success() && text(&postgres).contains("pg_dump"), "{}", text(&postgres));
    for dir in [data_dir, backup_dir, target] {
        let _ = std::fs::remove_dir_all(dir);
    }
}
