//! Uploads, signed URLs, quotas and file visibility over HTTP, on the local backend (SQLite and
//! PostgreSQL) and on a real S3-compatible server.

mod common;

use cinegen_server::config::{Config, Secret};
use cinegen_store::Engine;
use common::TestApp;
use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    presigned_put_then_get_on_local_storage,
    bad_uploads_are_refused_and_leave_nothing,
    signatures_and_keys_are_checked,
    concurrent_uploads_cannot_pass_the_quota,
    files_are_reachable_only_through_their_project,
    multipart_uploads_resume_after_an_interruption_on_local_storage,
);

/// PNG magic followed by `len - 8` filler bytes: enough for the type check.
fn png(len: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..len - 8).map(|i| (i % 251) as u8));
    bytes
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

struct Session {
    token: String,
    project: String,
}

async fn session(app: &TestApp, email: &str) -> Session {
    let data = app.register(email).await;
    let token = data["tokens"]["access"].as_str().unwrap().to_owned();
    let created = app.post_authed("/api/v1/projects", &token, &json!({"title": "Files"})).await;
    Session { token, project: created.data()["project"]["id"].as_str().unwrap().to_owned() }
}

fn absolute(app: &TestApp, url: &str) -> String {
    if url.starts_with('/') { app.url(url) } else { url.to_owned() }
}

/// Requests an upload, PUTs the bytes with a plain HTTP client, and completes it.
async fn upload(app: &TestApp, who: &Session, bytes: &[u8], declared: usize, md5: Option<String>) -> common::Answer {
    let request = json!({"file_name": "scene.png", "file_type": "scene", "file_size": declared,
                         "project_id": who.project, "content_type": "image/png"});
    let target = app.post_authed("/api/v1/storage/upload", &who.token, &request).await;
    if target.error_code() == "QUOTA_EXCEEDED" {
        // Promised bytes are reserved: an upload that cannot fit is refused before it is made.
        return target;
    }
    assert_eq!(target.status, StatusCode::CREATED, "{}", target.body);
    let url = absolute(app, target.data()["upload_url"].as_str().unwrap());
    let put =
        reqwest::Client::new().put(url).header("content-type", "image/png").body(bytes.to_vec()).send().await.unwrap();
    assert!(put.status().is_success() || put.status() == StatusCode::PAYLOAD_TOO_LARGE, "{}", put.status());
    let callback = json!({"file_id": target.data()["file_id"], "upload_status": "success", "actual_size": bytes.len(), "md5": md5});
    app.post_authed("/api/v1/storage/upload/callback", &who.token, &callback).await
}

async fn usage(app: &TestApp, who: &Session) -> Value {
    app.get_authed("/api/v1/storage/usage", &who.token).await.data().clone()
}

async fn presigned_put_then_get_on_local_storage(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "files@example.com").await;
    round_trip(&app, &ann, true).await;
}

/// The flow every backend must pass: upload, read back whole and in ranges, delete with refund.
async fn round_trip(app: &TestApp, who: &Session, local: bool) {
    let bytes = png(200_000);
    let done = upload(app, who, &bytes, bytes.len(), Some(md5_hex(&bytes))).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let file = &done.data()["file"];
    assert_eq!(file["file_size"], 200_000);
    assert_eq!(file["content_type"], "image/png");
    assert_eq!(file["url"], file["presigned_url"]);
    let url = absolute(app, file["url"].as_str().unwrap());
    let client = reqwest::Client::new();
    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    let etag = whole.headers().get("etag").cloned();
    assert_eq!(whole.bytes().await.unwrap().as_ref(), bytes.as_slice());
    let part = client.get(&url).header("range", "bytes=100-199").send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.bytes().await.unwrap().as_ref(), &bytes[100..200]);
    if local {
        let etag = etag.expect("local files carry an ETag");
        let cached = client.get(&url).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
        let beyond = client.get(&url).header("range", "bytes=999999-").send().await.unwrap();
        assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }
    let fresh = app.get_authed(&format!("/api/v1/storage/url/{}", file["id"].as_str().unwrap()), &who.token).await;
    assert_eq!(fresh.status, StatusCode::OK);
    let before = usage(app, who).await;
    assert_eq!(before["used"], 200_000);
    assert_eq!(before["by_type"]["scene"], json!({"bytes": 200_000, "files": 1}));
    let me = app.get_authed("/api/v1/auth/me", &who.token).await;
    assert_eq!(me.data()["user"]["quota_used"], 200_000);
    let deleted = app
        .send(
            app.client
                .delete(app.url(&format!("/api/v1/storage/file/{}", file["id"].as_str().unwrap())))
                .bearer_auth(&who.token),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(usage(app, who).await["used"], 0);
    assert_eq!(client.get(&url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

async fn bad_uploads_are_refused_and_leave_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "bad-uploads@example.com").await;
    let bytes = png(5000);
    let wrong_md5 = upload(&app, &ann, &bytes, bytes.len(), Some(md5_hex(b"other"))).await;
    assert_eq!(wrong_md5.status, StatusCode::BAD_REQUEST);
    assert!(wrong_md5.body["error"]["message"].as_str().unwrap().contains("checksum"));
    let short = upload(&app, &ann, &bytes[..4000], bytes.len(), None).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST, "{}", short.body);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(vec![0u8; 996]);
    let wrong_type = upload(&app, &ann, &jpeg, jpeg.len(), None).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert!(wrong_type.body["error"]["message"].as_str().unwrap().contains("image/png"));
    let too_long = upload(&app, &ann, &png(6000), 5000, None).await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST, "{}", too_long.body);
    assert_eq!(usage(&app, &ann).await["used"], 0);

    let (app_ref, token) = (&app, ann.token.as_str());
    let request = move |body: Value| async move { app_ref.post_authed("/api/v1/storage/upload", token, &body).await };
    let base = json!({"file_name": "a.png", "file_type": "scene", "file_size": 10, "project_id": ann.project, "content_type": "image/png"});
    for (change, field) in [
        (json!({"file_type": "../../etc"}), "file_type"),
        (json!({"content_type": "video/mp4"}), "content_type"),
        (json!({"file_size": 0}), "file_size"),
        (json!({"file_size": 60 * 1024 * 1024}), "file_size"),
        (json!({"project_id": "nope"}), "project_id"),
    ] {
        let mut body = base.clone();
        body.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        let answer = request(body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", answer.body);
        assert_eq!(answer.body["error"]["details"]["fields"][0]["field"], field);
    }
    let mut too_big = base.clone();
    too_big["file_size"] = json!(6 * 1024 * 1024 * 1024_i64);
    too_big["file_type"] = json!("video");
    too_big["content_type"] = json!("video/mp4");
    let quota = request(too_big).await;
    assert_eq!((quota.status, quota.error_code()), (StatusCode::PAYLOAD_TOO_LARGE, "QUOTA_EXCEEDED"));
}

async fn signatures_and_keys_are_checked(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c: &mut Config| c.url_ttl_secs = 60).await;
    let ann = session(&app, "signed@example.com").await;
    let bytes = png(1000);
    let done = upload(&app, &ann, &bytes, bytes.len(), None).await;
    let url = absolute(&app, done.data()["file"]["url"].as_str().unwrap());
    let client = reqwest::Client::new();
    assert_eq!(client.get(&url).send().await.unwrap().status(), StatusCode::OK);
    let parsed = reqwest::Url::parse(&url).unwrap();
    let query: std::collections::HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    let base = format!("{}{}", app.url(""), parsed.path());
    let expired = format!("{base}?exp={}&sig={}", chrono::Utc::now().timestamp() - 10, query["sig"]);
    let forged = format!("{base}?exp={}&sig={}", query["exp"], "0".repeat(64));
    let longer = format!("{base}?exp={}&sig={}", query["exp"].parse::<i64>().unwrap() + 3600, query["sig"]);
    let renamed = format!("{url}&dl=evil.html");
    for bad in [expired, forged, longer, renamed, base.clone()] {
        let response = client.get(&bad).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "FORBIDDEN");
    }
    for traversal in
        ["/files/../secrets/jwt_secret", "/files/users/..%2f..%2fsecrets/jwt_secret", "/files/%2e%2e/cinegen.db"]
    {
        let response = client.get(app.url(traversal)).send().await.unwrap();
        assert!(matches!(response.status(), StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST), "{traversal}");
    }
    // A download name is part of what is signed.
    let id = done.data()["file"]["id"].as_str().unwrap();
    assert_eq!(app.get_authed(&format!("/api/v1/storage/url/{id}"), &ann.token).await.status, StatusCode::OK);
}

async fn concurrent_uploads_cannot_pass_the_quota(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c: &mut Config| c.default_quota = "1000".into()).await;
    let ann = session(&app, "edge@example.com").await;
    let bytes = png(300);
    let uploads = (0..5).map(|_| upload(&app, &ann, &bytes, bytes.len(), None));
    let answers = futures::future::join_all(uploads).await;
    let ok = answers.iter().filter(|a| a.status == StatusCode::OK).count();
    let refused = answers.iter().filter(|a| a.error_code() == "QUOTA_EXCEEDED").count();
    assert_eq!((ok, refused), (3, 2), "{:?}", answers.iter().map(|a| a.body.to_string()).collect::<Vec<_>>());
    let now = usage(&app, &ann).await;
    assert_eq!((now["used"].as_i64(), now["available"].as_i64()), (Some(900), Some(100)));
    assert_eq!(now["percent"], 90.0);
}

async fn files_are_reachable_only_through_their_project(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "ann-files@example.com").await;
    let eve = session(&app, "eve-files@example.com").await;
    let done = upload(&app, &ann, &png(100), 100, None).await;
    let id = done.data()["file"]["id"].as_str().unwrap();
    assert_eq!(app.get_authed(&format!("/api/v1/storage/url/{id}"), &eve.token).await.status, StatusCode::NOT_FOUND);
    let delete =
        app.send(app.client.delete(app.url(&format!("/api/v1/storage/file/{id}"))).bearer_auth(&eve.token)).await;
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    // Uploading into someone else's project is refused as if it did not exist.
    let request = json!({"file_name": "a.png", "file_type": "scene", "file_size": 10, "project_id": ann.project, "content_type": "image/png"});
    assert_eq!(app.post_authed("/api/v1/storage/upload", &eve.token, &request).await.status, StatusCode::NOT_FOUND);
    // Once shared, Eve can reach it.
    let share = json!({"email": "eve-files@example.com", "role": "viewer"});
    app.post_authed(&format!("/api/v1/projects/{}/share", ann.project), &ann.token, &share).await;
    assert_eq!(app.get_authed(&format!("/api/v1/storage/url/{id}"), &eve.token).await.status, StatusCode::OK);
    let viewer_delete =
        app.send(app.client.delete(app.url(&format!("/api/v1/storage/file/{id}"))).bearer_auth(&eve.token)).await;
    assert_eq!(viewer_delete.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_authed("/api/v1/storage/url/not-an-id", &ann.token).await.status, StatusCode::NOT_FOUND);
}

/// s3s-fs: checks signatures strictly (moto accepts forged ones).
fn s3_config(config: &mut Config) {
    s3_config_at(config, "CINEGEN_TEST_S3_ENDPOINT", "http://127.0.0.1:8014");
}

/// moto: s3s-fs cannot hold a multipart upload of keys as long as our layout's (it names a file
/// after the base64 of the key and passes the 255-byte limit), so multipart runs against moto.
fn s3_multipart_config(config: &mut Config) {
    s3_config_at(config, "CINEGEN_TEST_MOTO_ENDPOINT", "http://127.0.0.1:8015");
}

fn s3_config_at(config: &mut Config, variable: &str, default: &str) {
    let endpoint = std::env::var(variable).unwrap_or_else(|_| default.into());
    let bucket = std::env::var("CINEGEN_TEST_S3_BUCKET").unwrap_or_else(|_| "cinegen-test".into());
    config.storage_url = Some(format!("s3://{bucket}?endpoint={endpoint}&region=us-east-1&path_style=true"));
    config.s3_access_key_id =
        Some(Secret::new(std::env::var("CINEGEN_TEST_S3_ACCESS_KEY").unwrap_or_else(|_| "cinegen".into())));
    config.s3_secret_access_key =
        Some(Secret::new(std::env::var("CINEGEN_TEST_S3_SECRET_KEY").unwrap_or_else(|_| "cinegen-secret".into())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_asks_the_object_store() {
    let app = TestApp::spawn_with(Engine::Sqlite, s3_config).await;
    let ready = app.get("/ready").await;
    assert_eq!((ready.status, ready.data()["storage"].as_str()), (StatusCode::OK, Some("s3")), "{}", ready.body);
    // A store that does not answer: the instance is alive, but not ready for traffic.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let app = TestApp::spawn_with(Engine::Sqlite, |c| {
        s3_config(c);
        c.storage_url = Some(format!("s3://cinegen-test?endpoint=http://{closed}&region=us-east-1&path_style=true"));
    })
    .await;
    assert_eq!(app.get("/health").await.status, StatusCode::OK);
    let unready = app.get("/ready").await;
    assert_eq!((unready.status, unready.error_code()), (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE"));
    assert!(unready.body["error"]["message"].as_str().unwrap().contains("storage"), "{}", unready.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_presigned_put_then_get_and_refused_forgeries() {
    let app = TestApp::spawn_with(Engine::Sqlite, s3_config).await;
    let ann = session(&app, "s3@example.com").await;
    round_trip(&app, &ann, false).await;
    let bytes = png(2000);
    let done = upload(&app, &ann, &bytes, bytes.len(), Some(md5_hex(&bytes))).await;
    let url = done.data()["file"]["url"].as_str().unwrap().to_owned();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0");
    assert!(reqwest::get(&forged).await.unwrap().status().is_client_error());
    let mismatch = upload(&app, &ann, &bytes, bytes.len(), Some(md5_hex(b"x"))).await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);

    // The presigned PUT takes exactly the declared type and length, and lands in staging: once
    // the upload is verified, the same URL can no longer change the stored file.
    let request = json!({"file_name": "scene.png", "file_type": "scene", "file_size": bytes.len(),
                         "project_id": ann.project, "content_type": "image/png"});
    let target = app.post_authed("/api/v1/storage/upload", &ann.token, &request).await;
    let put_url = target.data()["upload_url"].as_str().unwrap().to_owned();
    let put = |content_type: &'static str, body: Vec<u8>| {
        reqwest::Client::new().put(&put_url).header("content-type", content_type).body(body).send()
    };
    assert_eq!(put("image/jpeg", bytes.clone()).await.unwrap().status(), StatusCode::FORBIDDEN, "another type");
    assert!(put("image/png", png(1500)).await.unwrap().status().is_client_error(), "another length");
    assert!(put("image/png", bytes.clone()).await.unwrap().status().is_success());
    let callback = json!({"file_id": target.data()["file_id"], "upload_status": "success", "actual_size": bytes.len()});
    let verified = app.post_authed("/api/v1/storage/upload/callback", &ann.token, &callback).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let mut other = bytes.clone();
    *other.last_mut().unwrap() ^= 0xff;
    assert!(put("image/png", other).await.unwrap().status().is_success(), "it writes to staging only");
    let stored = reqwest::get(verified.data()["file"]["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(md5_hex(&stored), md5_hex(&bytes), "the verified file is unchanged");
    // A file's presigned link is one URL for a while, so a browser's cache keeps the file.
    let link = || async {
        let path = format!("/api/v1/storage/url/{}", verified.data()["file"]["id"].as_str().unwrap());
        app.get_authed(&path, &ann.token).await.data()["file"]["url"].as_str().unwrap().to_owned()
    };
    let first = link().await;
    // Past the second its signing time is written in.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = link().await;
    assert_eq!(first, second, "two links minted a second apart");
    assert_eq!(reqwest::get(&first).await.unwrap().status(), StatusCode::OK);

    // Presigned URLs expire.
    let short = TestApp::spawn_with(Engine::Sqlite, |c: &mut Config| {
        s3_config(c);
        c.url_ttl_secs = 3;
    })
    .await;
    let bob = session(&short, "s3-expiry@example.com").await;
    let done = upload(&short, &bob, &bytes, bytes.len(), None).await;
    let url = done.data()["file"]["url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(4100)).await;
    assert!(reqwest::get(&url).await.unwrap().status().is_client_error(), "an expired presigned URL still works");
}

/// An MP4 header followed by filler: `len` bytes.
fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = b"\0\0\0\x20ftypisom".to_vec();
    bytes.extend((0..len - bytes.len()).map(|i| (i % 253) as u8));
    bytes
}

async fn multipart_uploads_resume_after_an_interruption_on_local_storage(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "multipart@example.com").await;
    multipart_round_trip(&app, &ann).await;
}

async fn send_part(app: &TestApp, who: &Session, id: &str, number: i64, bytes: &[u8]) -> common::Answer {
    let url = app.url(&format!("/api/v1/storage/upload/chunk?file_id={id}&part_number={number}"));
    app.send(app.client.post(url).bearer_auth(&who.token).body(bytes.to_vec())).await
}

async fn multipart_round_trip(app: &TestApp, who: &Session) {
    const MIB: usize = 1024 * 1024;
    let video = mp4(12 * MIB);
    let start = json!({"file_name": "film.mp4", "file_type": "video", "file_size": video.len(), "project_id": who.project,
                       "content_type": "video/mp4", "part_size": 5 * MIB});
    let started = app.post_authed("/api/v1/storage/upload/multipart", &who.token, &start).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    assert_eq!(
        (started.data()["parts"].as_i64(), started.data()["part_size"].as_i64()),
        (Some(3), Some(5 * MIB as i64))
    );
    let id = started.data()["file_id"].as_str().unwrap().to_owned();
    let parts: Vec<&[u8]> = video.chunks(5 * MIB).collect();

    assert_eq!(send_part(app, who, &id, 3, parts[2]).await.status, StatusCode::OK);
    assert_eq!(send_part(app, who, &id, 1, parts[0]).await.status, StatusCode::OK);
    // The connection drops halfway through part 2: the server keeps nothing of it.
    let cut = send_part(app, who, &id, 2, &parts[1][..MIB]).await;
    assert_eq!(cut.status, StatusCode::BAD_REQUEST, "{}", cut.body);
    let status = app.get_authed(&format!("/api/v1/storage/upload/{id}/parts"), &who.token).await;
    assert_eq!(status.data()["missing"], json!([2]));
    let early = app.post_authed(&format!("/api/v1/storage/upload/{id}/complete"), &who.token, &json!({})).await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    // Resumed: part 2 again, then part 1 once more (a retry), and complete with the checksum.
    assert_eq!(send_part(app, who, &id, 2, parts[1]).await.status, StatusCode::OK);
    assert_eq!(send_part(app, who, &id, 1, parts[0]).await.status, StatusCode::OK);
    // Refused by its number alone (a small body: the server answers before reading any).
    assert_eq!(send_part(app, who, &id, 4, b"x").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let done = app
        .post_authed(&format!("/api/v1/storage/upload/{id}/complete"), &who.token, &json!({"md5": md5_hex(&video)}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.data()["file"]["file_size"], video.len());
    let url = absolute(app, done.data()["file"]["url"].as_str().unwrap());
    let fetched = reqwest::get(&url).await.unwrap().bytes().await.unwrap();
    assert_eq!(md5_hex(&fetched), md5_hex(&video));
    assert_eq!(usage(app, who).await["by_type"]["video"]["bytes"], video.len());
    // A completed upload takes no more parts; an aborted one is gone.
    assert_eq!(send_part(app, who, &id, 1, b"x").await.status, StatusCode::NOT_FOUND);
    let second = app.post_authed("/api/v1/storage/upload/multipart", &who.token, &start).await;
    let second_id = second.data()["file_id"].as_str().unwrap().to_owned();
    send_part(app, who, &second_id, 1, parts[0]).await;
    let aborted = app
        .send(app.client.delete(app.url(&format!("/api/v1/storage/upload/{second_id}"))).bearer_auth(&who.token))
        .await;
    assert_eq!(aborted.status, StatusCode::OK);
    assert_eq!(
        app.get_authed(&format!("/api/v1/storage/upload/{second_id}/parts"), &who.token).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_multipart_uploads_resume_after_an_interruption() {
    let app = TestApp::spawn_with(Engine::Postgres, s3_multipart_config).await;
    let ann = session(&app, "s3-multipart@example.com").await;
    multipart_round_trip(&app, &ann).await;
}
