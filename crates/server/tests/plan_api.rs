//! A client written from the plan's API chapter (`shared/plan/api.md`): each of its request
//! examples sent as written — the ids it leaves as `uuid` filled in, `provider: "local"` where it
//! names a vendor — is accepted and answered in the plan's shape.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    a_client_written_from_the_plan_works_unchanged,
    strict_parsing_names_the_field_and_the_likely_one,
    image_links_name_our_own_files_or_are_downloaded_first,
);

/// A real 1×1 PNG.
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
    keys.sort_unstable();
    keys
}

fn has_all(value: &Value, wanted: &[&str]) {
    for key in wanted {
        assert!(value.get(*key).is_some(), "`{key}` missing from {value}");
    }
}

/// Waits for the task with the plan's `task_id` to end, through the plan's task endpoint.
async fn finished(app: &TestApp, token: &str, accepted: &common::Answer) -> Value {
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let data = accepted.data();
    has_all(data, &["task_id", "status", "message"]);
    assert_eq!(data["status"], "pending", "{data}");
    app.finished_task(token, data["task_id"].as_str().unwrap()).await
}

async fn a_client_written_from_the_plan_works_unchanged(engine: Engine) {
    let app = TestApp::spawn(engine).await;

    // 认证: register and login answer `token {access, refresh, expiresIn}` and the user.
    let registered = app
        .post("/api/v1/auth/register", &json!({"email": "user@example.com", "password": "password123", "name": "张三"}))
        .await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.body);
    let data = registered.data();
    has_all(&data["token"], &["access", "refresh", "expiresIn"]);
    assert_eq!(
        (data["user"]["email"].as_str(), data["user"]["name"].as_str()),
        (Some("user@example.com"), Some("张三"))
    );
    let login = app.post("/api/v1/auth/login", &json!({"email": "user@example.com", "password": "password123"})).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.data()["token"]["access"].as_str().unwrap().to_owned();
    assert_eq!(login.data()["token"], login.data()["tokens"], "the plan's name and ours carry the same pair");
    let me = app.get_authed("/api/v1/auth/me", &token).await;
    has_all(&me.data()["user"], &["id", "email", "name", "quota_total", "quota_used", "quota_percent"]);

    // 项目: create answers the project with its settings; the list item has `thumbnail`.
    let created = app
        .post_authed(
            "/api/v1/projects",
            &token,
            &json!({"title": "新项目", "target_duration": "60s", "language": "zh", "visual_style": "写实",
                    "image_size": "2560x1440", "image_count": 1}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let project = &created.data()["project"];
    has_all(project, &["id", "title", "stage", "created_at", "settings"]);
    assert_eq!(project["stage"], "script");
    assert_eq!(project["settings"]["image_size"], "2560x1440", "{project}");
    let id = project["id"].as_str().unwrap().to_owned();
    let list = app.get_authed("/api/v1/projects?page=1&size=20&search=新项目&status=active", &token).await;
    let item = &list.data()["items"][0];
    has_all(item, &["id", "title", "stage", "status", "created_at", "updated_at", "thumbnail"]);
    assert_eq!(keys(&list.data()["pagination"]), ["page", "pages", "size", "total"]);

    // 更新项目: the plan's PUT names no version; it is taken as written.
    let shots = json!([{
        "id": "shot-1", "actionSummary": "少女在雨中回头", "cameraMovement": "推近", "shotSize": "中景",
        "keyframes": [{"id": "k1", "type": "start", "visualPrompt": "雨夜少女"},
                      {"id": "k2", "type": "end", "visualPrompt": "少女回头"}],
        "interval": {"id": "c1", "duration": 3, "startKeyframeId": "k1", "endKeyframeId": "k2"}
    }]);
    let put = json!({"title": "更新后的标题", "stage": "assets", "script_data": {"title": "雨夜", "characters": [], "scenes": []}, "shots": shots});
    let updated =
        app.send(app.client.put(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(&token).json(&put)).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.data()["project"]["title"], "更新后的标题");

    // 剧本解析: `raw_text`, `language`, `model_config.text_model`.
    let parse = app
        .post_authed(
            "/api/v1/ai/script/parse",
            &token,
            &json!({"project_id": id, "raw_text": "第一场 夜 内 客厅\n少女：你回来了。\n少年：嗯。", "language": "zh",
                    "provider": "local", "model_config": {"text_model": "doubao-1.5-pro-32k"}}),
        )
        .await;
    let task = finished(&app, &token, &parse).await;
    assert_eq!((task["type"].as_str(), task["status"].as_str()), (Some("script_parse"), Some("completed")), "{task}");
    let parsed = app.get_authed(&format!("/api/v1/projects/{id}"), &token).await;
    assert!(parsed.data()["project"]["raw_script"].as_str().unwrap().contains("你回来了"), "it ran on raw_text");

    // The parse replaced the shot list; the plan's client writes its shots back (no version).
    let back = json!({"shots": shots});
    let restored =
        app.send(app.client.put(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(&token).json(&back)).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);

    // 图片生成: `shot_id` + `keyframe_type`, `prompt`, `model_config.image_model`, and a reference
    // image by a link we minted; the answer tells the time to expect.
    let image = |keyframe_type: &str, references: Value| {
        json!({"project_id": id, "shot_id": "shot-1", "keyframe_type": keyframe_type, "prompt": "一个穿着古装的少女...",
               "provider": "local", "model_config": {"image_model": "gemini-2.5-flash-image"},
               "reference_images": references})
    };
    let start = app.post_authed("/api/v1/ai/image/generate", &token, &image("start", json!([]))).await;
    assert!(start.data()["estimated_time"].as_u64().is_some_and(|s| s >= 1), "{}", start.body);
    let task = finished(&app, &token, &start).await;
    assert_eq!((task["type"].as_str(), task["status"].as_str()), (Some("image_generate"), Some("completed")), "{task}");
    let result = &task["result"];
    has_all(result, &["url", "file_id"]);
    let start_url = result["url"].as_str().unwrap().to_owned();
    let end = app.post_authed("/api/v1/ai/image/generate", &token, &image("end", json!([start_url]))).await;
    let task = finished(&app, &token, &end).await;
    assert_eq!(task["status"], "completed", "{task}");
    let end_url = task["result"]["url"].as_str().unwrap().to_owned();

    // 视频生成: frames by link, `prompt`, `duration`, `full_frame`, `model_config.video_model`.
    let video = app
        .post_authed(
            "/api/v1/ai/video/generate",
            &token,
            &json!({"project_id": id, "shot_id": "shot-1", "prompt": "镜头运动：推近；取景：中景...", "provider": "local",
                    "model_config": {"video_model": "veo-3.1-fast"}, "start_image_url": start_url,
                    "end_image_url": end_url, "duration": 5, "full_frame": false}),
        )
        .await;
    let task = finished(&app, &token, &video).await;
    assert_eq!((task["type"].as_str(), task["status"].as_str()), (Some("video_generate"), Some("completed")), "{task}");
    has_all(&task["result"], &["url", "file_id"]);
    assert_eq!(task["result"]["duration"], 5.0);

    // 查询任务状态: `{id, type, status, progress, result}`.
    let got = app.get_authed(&format!("/api/v1/ai/tasks/{}", video.data()["task_id"].as_str().unwrap()), &token).await;
    has_all(&got.data()["task"], &["id", "type", "status", "progress", "result"]);

    // 存储: upload and its callback.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([0u8; 56]);
    let upload = app
        .post_authed(
            "/api/v1/storage/upload",
            &token,
            &json!({"file_name": "character_001.png", "file_type": "character", "file_size": png.len(),
                    "project_id": id, "content_type": "image/png"}),
        )
        .await;
    assert_eq!(upload.status, StatusCode::CREATED, "{}", upload.body);
    has_all(upload.data(), &["upload_url", "upload_headers", "file_id", "storage_key"]);
    let mut put = app.client.put(app.url(upload.data()["upload_url"].as_str().unwrap()));
    for (name, value) in upload.data()["upload_headers"].as_object().unwrap() {
        put = put.header(name.as_str(), value.as_str().unwrap());
    }
    let sent = put.body(png.clone()).send().await.unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
    let callback = app
        .post_authed(
            "/api/v1/storage/upload/callback",
            &token,
            &json!({"file_id": upload.data()["file_id"], "upload_status": "success", "actual_size": png.len(),
                    "md5": hex::encode(<md5::Md5 as md5::Digest>::digest(&png))}),
        )
        .await;
    assert_eq!(callback.status, StatusCode::OK, "{}", callback.body);
    has_all(&callback.data()["file"], &["id", "url", "presigned_url", "presigned_expires_at"]);

    // 请求格式: the plan's `{data, meta}` request envelope is read as its `data`.
    let wrapped = app
        .post_authed(
            "/api/v1/ai/script/parse",
            &token,
            &json!({"data": {"project_id": id, "raw_text": "第二场 日 外\n少女：走吧。", "provider": "local"}, "meta": {"client": "plan"}}),
        )
        .await;
    assert_eq!(wrapped.status, StatusCode::ACCEPTED, "{}", wrapped.body);
}

async fn strict_parsing_names_the_field_and_the_likely_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("strict@example.com").await;
    let token = session["token"]["access"].as_str().unwrap().to_owned();
    let user: cinegen_domain::UserId = session["user"]["id"].as_str().unwrap().parse().unwrap();
    let created = app
        .post_authed("/api/v1/projects", &token, &json!({"title": "Strict", "raw_script": "第一场 夜\n甲：乙"}))
        .await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();

    // A typo never runs on the saved script: it is refused, naming the intended field.
    let typo =
        app.post_authed("/api/v1/ai/script/parse", &token, &json!({"project_id": id, "raw_txt": "新剧本"})).await;
    assert_eq!(
        (typo.status, typo.error_code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"),
        "{}",
        typo.body
    );
    let field = &typo.body["error"]["details"]["fields"][0];
    assert_eq!(field["field"], "raw_txt", "{}", typo.body);
    assert!(field["message"].as_str().unwrap().contains("did you mean `raw_text`"), "{}", typo.body);
    let nested = app
        .post_authed("/api/v1/ai/script/parse", &token, &json!({"project_id": id, "model_config": {"text_modle": "m"}}))
        .await;
    assert_eq!(nested.body["error"]["details"]["fields"][0]["field"], "model_config.text_modle", "{}", nested.body);
    assert!(nested.body.to_string().contains("did you mean `text_model`"), "{}", nested.body);
    let login = app.post("/api/v1/auth/login", &json!({"email": "strict@example.com", "pasword": "x"})).await;
    assert!(login.body.to_string().contains("did you mean `password`"), "{}", login.body);

    // Unknown providers are refused when asked for, not later in a worker.
    let provider =
        app.post_authed("/api/v1/ai/script/parse", &token, &json!({"project_id": id, "provider": "nonesuch"})).await;
    assert_eq!((provider.status, provider.error_code()), (StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_ERROR"));
    let (tasks, _) = app
        .state
        .store
        .list_tasks(&cinegen_store::TaskQuery { size: 10, ..cinegen_store::TaskQuery::of(user) })
        .await
        .unwrap();
    assert!(tasks.is_empty(), "nothing was queued");

    // A vendor with a closed set of models refuses a name outside it when asked, naming the set.
    let shot = json!([{"id": "s1", "keyframes": [{"id": "k1", "type": "start"}]}]);
    let framed = app.post_authed("/api/v1/projects", &token, &json!({"title": "Kling", "shots": shot})).await;
    let framed = framed.data()["project"]["id"].as_str().unwrap().to_owned();
    let wrong_model = app
        .post_authed(
            "/api/v1/ai/image/generate",
            &token,
            &json!({"project_id": framed, "shot_id": "s1", "keyframe_type": "start", "provider": "kling",
                    "model_config": {"image_model": "dall-e-3"}}),
        )
        .await;
    assert_eq!(wrong_model.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong_model.body);
    let field = &wrong_model.body["error"]["details"]["fields"][0];
    assert_eq!(field["field"], "model_config");
    assert!(field["message"].as_str().unwrap().contains("kling-v2-1"), "{}", wrong_model.body);
    let doc = app.get_authed(&format!("/api/v1/projects/{framed}"), &token).await;
    assert_ne!(doc.data()["project"]["shots"][0]["keyframes"][0]["status"], "generating", "nothing was marked");

    // Project documents keep fields this server does not know.
    let kept = app.post_authed("/api/v1/projects", &token, &json!({"title": "Kept", "futureField": {"a": 1}})).await;
    assert_eq!(kept.data()["project"]["futureField"], json!({"a": 1}));
}

async fn image_links_name_our_own_files_or_are_downloaded_first(engine: Engine) {
    use base64::Engine as _;
    // An outside host serving one reference image, counting how often it is fetched.
    let fetched = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = fetched.clone();
    let png = base64::engine::general_purpose::STANDARD.decode(PNG_1X1).unwrap();
    let source = axum::Router::new().route(
        "/ref1.png",
        axum::routing::get(move || {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let png = png.clone();
            async move { ([("content-type", "image/png")], png) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outside = format!("http://{}/ref1.png", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, source).await.unwrap() });

    let app = TestApp::spawn_with(engine, |c| c.fetch_allow_loopback = true).await;
    let shot = json!([{"id": "s1", "keyframes": [{"id": "k1", "type": "start", "visualPrompt": "雨夜"}]}]);
    let mut people = Vec::new();
    for email in ["links-ann@example.com", "links-bob@example.com"] {
        let token = app.register(email).await["token"]["access"].as_str().unwrap().to_owned();
        let created = app.post_authed("/api/v1/projects", &token, &json!({"title": "Links", "shots": shot})).await;
        people.push((token, created.data()["project"]["id"].as_str().unwrap().to_owned()));
    }
    let ((ann, ann_project), (bob, bob_project)) = (people[0].clone(), people[1].clone());
    let paint = |project: &str, references: Value| {
        json!({"project_id": project, "shot_id": "s1", "keyframe_type": "start", "provider": "local",
               "reference_images": references})
    };
    // Bob paints his keyframe: its link and id are his.
    let his = app.post_authed("/api/v1/ai/image/generate", &bob, &paint(&bob_project, json!([]))).await;
    let his = app.finished_task(&bob, his.data()["task_id"].as_str().unwrap()).await;
    let (his_url, his_id) = (his["result"]["url"].as_str().unwrap(), his["result"]["file_id"].as_str().unwrap());

    // Ann cannot reach Bob's file through her request, by link or by id: it is not found.
    for reference in [his_url, his_id] {
        let refused =
            app.post_authed("/api/v1/ai/image/generate", &ann, &paint(&ann_project, json!([reference]))).await;
        assert_eq!((refused.status, refused.error_code()), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{}", refused.body);
    }
    let hostile =
        app.post_authed("/api/v1/ai/image/generate", &ann, &paint(&ann_project, json!(["file:///etc/passwd"]))).await;
    assert_eq!(hostile.body["error"]["details"]["fields"][0]["field"], "reference_images[0]", "{}", hostile.body);
    let doc = app.get_authed(&format!("/api/v1/projects/{ann_project}"), &ann).await;
    assert_ne!(doc.data()["project"]["shots"][0]["keyframes"][0]["status"], "generating", "refusals marked nothing");

    // An outside link is downloaded into Ann's project before the provider sees it.
    let before = app.get_authed("/api/v1/storage/usage", &ann).await.data()["used"].as_i64().unwrap();
    let accepted = app.post_authed("/api/v1/ai/image/generate", &ann, &paint(&ann_project, json!([outside]))).await;
    let task = app.finished_task(&ann, accepted.data()["task_id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(fetched.load(std::sync::atomic::Ordering::SeqCst), 1, "fetched once, by the server");
    let after = app.get_authed("/api/v1/storage/usage", &ann).await.data()["used"].as_i64().unwrap();
    let painted = task["result"]["file_id"].as_str().unwrap();
    let painted_size =
        app.get_authed(&format!("/api/v1/storage/url/{painted}"), &ann).await.data()["file"]["file_size"]
            .as_i64()
            .unwrap();
    assert_eq!(after - before, painted_size + 70, "the kept reference (70 bytes) and the painting are Ann's");
}
