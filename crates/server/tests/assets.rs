//! Asset slots of project documents: inline images become files, our own URLs are kept as file
//! ids, outside links are downloaded in the background, and the legacy fixtures import.

mod common;

use cinegen_server::config::Config;
use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

on_both_engines!(
    inline_images_become_files_and_minted_urls_round_trip,
    outside_links_are_downloaded_into_their_slots,
    legacy_export_file_imports,
    legacy_project_state_imports,
    bad_import_files_are_refused,
);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/legacy");
/// A real 1×1 PNG.
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn allow_loopback(config: &mut Config) {
    config.fetch_allow_loopback = true;
}

async fn token(app: &TestApp, email: &str) -> String {
    app.register(email).await["tokens"]["access"].as_str().unwrap().to_owned()
}

fn keyframe_shot(image_url: &str) -> Value {
    json!([{"id": "shot-1", "keyframes": [{"id": "kf-1", "type": "start", "status": "completed", "imageUrl": image_url}]}])
}

async fn get_project(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_authed(&format!("/api/v1/projects/{id}"), token).await.data()["project"].clone()
}

async fn inline_images_become_files_and_minted_urls_round_trip(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = token(&app, "inline@example.com").await;
    let data_uri = format!("data:image/png;base64,{PNG_1X1}");
    let created = app
        .post_authed("/api/v1/projects", &token, &json!({"title": "Inline", "shots": keyframe_shot(&data_uri)}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let project = &created.data()["project"];
    let keyframe = &project["shots"][0]["keyframes"][0];
    assert!(keyframe["imageFileId"].is_string(), "{keyframe}");
    let url = keyframe["imageUrl"].as_str().unwrap();
    assert!(url.starts_with("/files/users/"), "{url}");
    let image = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    let size = image.bytes().await.unwrap().len() as i64;
    let me = app.get_authed("/api/v1/auth/me", &token).await;
    assert_eq!(me.data()["user"]["quota_used"], size);

    // Sending the document back with our own (minted) URL keeps the file, stores nothing new.
    let mut again = project.clone();
    again["title"] = json!("Inline II");
    let saved = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{}", project["id"].as_str().unwrap())))
                .bearer_auth(&token)
                .json(&again),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let kept = &saved.data()["project"]["shots"][0]["keyframes"][0];
    assert_eq!(kept["imageFileId"], keyframe["imageFileId"]);
    assert_eq!(app.get_authed("/api/v1/auth/me", &token).await.data()["user"]["quota_used"], size);
    let listed = app.get_authed("/api/v1/projects", &token).await;
    assert_eq!(listed.data()["items"][0]["counts"]["keyframes_completed"], 1);
    let thumbnail = listed.data()["items"][0]["thumbnail_url"].as_str().unwrap();
    assert_eq!(reqwest::get(app.url(thumbnail)).await.unwrap().status(), StatusCode::OK);

    // Another user naming this file in their own document gets no link to it.
    let thief = app.register("thief@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let stolen = json!([{"id": "s", "keyframes": [{"id": "k", "type": "start", "status": "completed",
                                                   "imageFileId": keyframe["imageFileId"]}]}]);
    let theirs = app.post_authed("/api/v1/projects", &thief, &json!({"title": "Mine", "shots": stolen})).await;
    assert!(theirs.data()["project"]["shots"][0]["keyframes"][0].get("imageUrl").is_none());
    let their_list = app.get_authed("/api/v1/projects", &thief).await;
    assert!(their_list.data()["items"][0]["thumbnail_url"].is_null());

    // A data: URI that is not an image of an accepted type leaves the slot empty and failed.
    let bad = app
        .post_authed(
            "/api/v1/projects",
            &token,
            &json!({"title": "Bad", "shots": keyframe_shot("data:image/png;base64,aGVsbG8=")}),
        )
        .await;
    let slot = &bad.data()["project"]["shots"][0]["keyframes"][0];
    assert_eq!(slot["status"], "failed");
    assert!(slot.get("imageUrl").is_none());
}

async fn wait_for<F: Fn(&Value) -> bool>(app: &TestApp, token: &str, id: &str, done: F) -> Value {
    for _ in 0..300 {
        let project = get_project(app, token, id).await;
        if done(&project) {
            return project;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("background imports did not finish");
}

async fn outside_links_are_downloaded_into_their_slots(engine: Engine) {
    let png = base64_decode(PNG_1X1);
    let served = png.clone();
    let source = axum::Router::new()
        .route(
            "/provider/image.png",
            axum::routing::get(move || async move { ([("content-type", "image/png")], served) }),
        )
        .route("/provider/expired.png", axum::routing::get(|| async { StatusCode::FORBIDDEN }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, source).await.unwrap() });

    let app = TestApp::spawn_with(engine, allow_loopback).await;
    let token = token(&app, "links@example.com").await;
    let shots = json!([
        {"id": "a", "keyframes": [{"id": "ka", "type": "start", "status": "completed", "imageUrl": format!("{origin}/provider/image.png")}]},
        {"id": "b", "keyframes": [{"id": "kb", "type": "end", "status": "completed", "imageUrl": format!("{origin}/provider/expired.png")}]},
        {"id": "c", "keyframes": [{"id": "kc", "type": "full", "status": "completed", "imageUrl": "http://10.0.0.1/inside.png"}]}
    ]);
    let created = app.post_authed("/api/v1/projects", &token, &json!({"title": "Links", "shots": shots})).await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let project = wait_for(&app, &token, &id, |p| {
        p["shots"].as_array().unwrap().iter().all(|s| {
            let k = &s["keyframes"][0];
            k["imageFileId"].is_string() || k["status"] == "failed"
        })
    })
    .await;
    let stored = &project["shots"][0]["keyframes"][0];
    let bytes = reqwest::get(app.url(stored["imageUrl"].as_str().unwrap())).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), png.as_slice());
    for failed in [&project["shots"][1]["keyframes"][0], &project["shots"][2]["keyframes"][0]] {
        assert_eq!(failed["status"], "failed", "{failed}");
        assert!(failed.get("imageUrl").is_none(), "{failed}");
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

async fn import(app: &TestApp, token: &str, name: &str, bytes: Vec<u8>) -> common::Answer {
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    app.send(app.client.post(app.url("/api/v1/import/legacy")).bearer_auth(token).multipart(form)).await
}

async fn legacy_export_file_imports(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = token(&app, "legacy@example.com").await;
    let bytes = std::fs::read(format!("{FIXTURES}/cinegen-export-2026-10-08.json")).unwrap();
    let report = import(&app, &token, "cinegen-export.json", bytes).await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    let projects = report.data()["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 2);
    assert_eq!(projects[0]["title"], "渡口记");
    assert_eq!(projects[1]["title"], "Last Train");
    let assets = &projects[0]["assets"];
    assert_eq!(assets["imported"], 6, "{assets}");
    assert_eq!(assets["pending"].as_array().unwrap().len(), 2, "{assets}");
    let id = projects[0]["id"].as_str().unwrap();
    let project = get_project(&app, &token, id).await;
    assert_eq!(project["language"], "zh");
    assert_eq!(project["visual_style"], "xianxia");
    assert_eq!(project["image_count"], 4);
    assert_eq!(project["script_data"]["characters"][0]["name"], "林晚舟");
    let character = &project["script_data"]["characters"][0];
    assert!(character["referenceImageFileId"].is_string());
    let image = reqwest::get(app.url(character["referenceImage"].as_str().unwrap())).await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    // The expired provider links fail (this machine reaches no provider) and leave their slots empty.
    // Both downloads run at once: wait for each to have failed.
    let project = wait_for(&app, &token, id, |p| {
        let clip = &p["shots"][0]["interval"];
        clip["status"] == "failed"
            && clip.get("videoUrl").is_none()
            && p["script_data"]["characters"][1].get("referenceImage").is_none()
    })
    .await;
    assert!(project["script_data"]["characters"][1].get("referenceImage").is_none());
    // The report named each download's task, and each says why it failed.
    for pending in assets["pending"].as_array().unwrap() {
        let task = pending["task_id"].as_str().expect("a pending asset names its download");
        let task = app.finished_task(&token, task).await;
        assert_eq!(task["status"], "failed", "{task}");
        assert!(task["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{task}");
    }
    // Imported projects say so in lists, to be told apart from one of the same title made here.
    let made_here = app.post_authed("/api/v1/projects", &token, &json!({"title": "渡口记"})).await;
    assert!(made_here.status.is_success(), "{}", made_here.body);
    let list = app.get_authed("/api/v1/projects?search=渡口记", &token).await;
    let mut marks: Vec<bool> =
        list.data()["items"].as_array().unwrap().iter().map(|p| p["imported_at"].is_string()).collect();
    marks.sort();
    assert_eq!(marks, [false, true], "{}", list.body);
    let imported = get_project(&app, &token, id).await;
    assert!(imported["settings"]["imported_at"].is_string(), "{imported}");
    // A client cannot claim it.
    let claimed = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{}", made_here.data()["project"]["id"].as_str().unwrap())))
                .bearer_auth(&token)
                .json(&json!({"version": 1, "imported_at": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert!(claimed.status.is_success() || claimed.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", claimed.body);
    let list = app.get_authed("/api/v1/projects?search=渡口记", &token).await;
    let imported = list.data()["items"].as_array().unwrap().iter().filter(|p| p["imported_at"].is_string()).count();
    assert_eq!(imported, 1, "{}", list.body);
    let train = get_project(&app, &token, projects[1]["id"].as_str().unwrap()).await;
    assert_eq!((train["language"].as_str(), train["image_size"].as_str()), (Some("en"), Some("2560x1440")));
}

async fn legacy_project_state_imports(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = token(&app, "state@example.com").await;
    let bytes = std::fs::read(format!("{FIXTURES}/project-state.json")).unwrap();
    let report = import(&app, &token, "state.json", bytes).await;
    assert_eq!(report.status, StatusCode::CREATED, "{}", report.body);
    let entry = &report.data()["projects"][0];
    assert_eq!(entry["assets"]["imported"], 6);
    let project = get_project(&app, &token, entry["id"].as_str().unwrap()).await;
    assert_eq!(project["stage"], "director");
    assert_eq!(project["shots"].as_array().unwrap().len(), 3);
    assert!(project.get("isParsingScript").is_none());
    // The export of the imported project imports again.
    let exported = app
        .client
        .get(app.url(&format!("/api/v1/projects/{}/export.json", entry["id"].as_str().unwrap())))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let again = import(&app, &token, "export.json", exported.to_vec()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.data()["projects"][0]["title"], "渡口记");
}

async fn bad_import_files_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let token = token(&app, "bad-import@example.com").await;
    let not_json = import(&app, &token, "x.json", b"{oops".to_vec()).await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    let not_export = import(&app, &token, "x.json", br#"{"hello": "world"}"#.to_vec()).await;
    assert_eq!(not_export.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_doc = import(
        &app,
        &token,
        "x.json",
        br#"{"projects": [{"title": "ok", "shots": [{"id": "s", "keyframes": [{"id": "k", "type": "sideways"}]}]}]}"#
            .to_vec(),
    )
    .await;
    assert_eq!(bad_doc.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_doc.body["error"]["details"]["fields"][0]["field"], "projects[0].shots[0].keyframes[0].type");
    let form = reqwest::multipart::Form::new().text("other", "x");
    let no_file = app.send(app.client.post(app.url("/api/v1/import/legacy")).bearer_auth(&token).multipart(form)).await;
    assert_eq!(no_file.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get_authed("/api/v1/projects", &token).await.data()["pagination"]["total"], 0);
}
