//! Projects over HTTP on SQLite and PostgreSQL: ownership, sharing, versions, shot patches,
//! search, large documents, deletion, export, document history.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    create_read_and_list_with_pagination,
    search_finds_chinese_and_english_substrings,
    other_users_get_404_on_every_route,
    viewer_editor_owner_matrix,
    stale_versions_conflict_and_change_nothing,
    concurrent_shot_patches_are_both_kept,
    large_documents_round_trip_with_unknown_fields,
    malformed_documents_are_refused_with_field_paths,
    delete_hides_and_restore_brings_back,
    export_uses_the_legacy_format,
    bad_list_parameters_are_refused,
    repeated_reads_answer_each_caller_with_their_role,
    lists_show_every_write_at_once_to_owner_and_members,
    history_lists_who_changed_what_and_restores_as_a_new_version,
    edited_subtitles_replace_the_dialogues_on_their_shot,
);

struct User {
    token: String,
    id: String,
}

async fn user(app: &TestApp, email: &str) -> User {
    let session = app.register(email).await;
    User {
        token: session["tokens"]["access"].as_str().unwrap().to_owned(),
        id: session["user"]["id"].as_str().unwrap().to_owned(),
    }
}

async fn create(app: &TestApp, who: &User, body: Value) -> Value {
    let answer = app.post_authed("/api/v1/projects", &who.token, &body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.data()["project"].clone()
}

fn shot(id: &str) -> Value {
    json!({"id": id, "sceneId": "scene-1", "actionSummary": "走", "cameraMovement": "推近", "characters": [],
           "keyframes": [{"id": format!("{id}-start"), "type": "start", "visualPrompt": "p", "status": "pending"}]})
}

async fn put(app: &TestApp, who: &User, id: &str, body: Value) -> common::Answer {
    app.send(app.client.put(app.url(&format!("/api/v1/projects/{id}"))).bearer_auth(&who.token).json(&body)).await
}

async fn patch(app: &TestApp, who: &User, path: &str, body: Value) -> common::Answer {
    app.send(app.client.patch(app.url(path)).bearer_auth(&who.token).json(&body)).await
}

async fn delete(app: &TestApp, who: &User, path: &str) -> common::Answer {
    app.send(app.client.delete(app.url(path)).bearer_auth(&who.token)).await
}

async fn create_read_and_list_with_pagination(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "ann@example.com").await;
    let project = create(
        &app,
        &ann,
        json!({"title": " 青禾记 ", "language": "中文", "visual_style": "仙侠古装", "image_count": 4, "target_duration": "2min"}),
    )
    .await;
    assert_eq!(project["title"], "青禾记");
    assert_eq!(project["language"], "zh");
    assert_eq!(project["visual_style"], "xianxia");
    assert_eq!((project["version"].as_i64(), project["role"].as_str()), (Some(1), Some("owner")));
    assert_eq!(project["status"], "active");
    assert_eq!(project["shots"], json!([]));

    let id = project["id"].as_str().unwrap();
    let fetched = app.get_authed(&format!("/api/v1/projects/{id}"), &ann.token).await;
    assert_eq!(fetched.data()["project"]["title"], "青禾记");

    for i in 0..24 {
        create(&app, &ann, json!({"title": format!("Project {i}")})).await;
    }
    let first = app.get_authed("/api/v1/projects?page=1&size=10", &ann.token).await;
    assert_eq!(first.data()["pagination"], json!({"page": 1, "size": 10, "total": 25, "pages": 3}));
    assert_eq!(first.data()["items"].as_array().unwrap().len(), 10);
    assert_eq!(first.data()["items"][0]["title"], "Project 23");
    let last = app.get_authed("/api/v1/projects?page=3&size=10", &ann.token).await;
    assert_eq!(last.data()["items"].as_array().unwrap().len(), 5);
    assert_eq!(last.data()["items"][4]["title"], "青禾记");
    assert_eq!(last.data()["items"][4]["counts"], json!({"shots": 0, "keyframes_completed": 0, "clips_completed": 0}));
    let beyond = app.get_authed("/api/v1/projects?page=9&size=10", &ann.token).await;
    assert_eq!(beyond.data()["items"], json!([]));
    assert_eq!(beyond.data()["pagination"]["total"], 25);
}

async fn search_finds_chinese_and_english_substrings(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "search@example.com").await;
    create(&app, &ann, json!({"title": "古装少女的复仇"})).await;
    create(
        &app,
        &ann,
        json!({"title": "Neon Rain", "script_data": {"title": "Neon Rain", "logline": "A courier's revenge"}}),
    )
    .await;
    create(&app, &ann, json!({"title": "Untitled", "script_data": {"logline": "蒙冤少女夜探京城"}})).await;
    let search = |q: &str| {
        let url = reqwest::Url::parse_with_params(&app.url("/api/v1/projects"), &[("search", q)]).unwrap();
        app.send(app.client.get(url).bearer_auth(&ann.token))
    };
    let titles = |answer: common::Answer| {
        let mut titles: Vec<String> = answer.data()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["title"].as_str().unwrap().to_owned())
            .collect();
        titles.sort();
        titles
    };
    assert_eq!(titles(search("少女").await), ["Untitled", "古装少女的复仇"]);
    assert_eq!(titles(search("复仇").await), ["古装少女的复仇"]);
    assert_eq!(titles(search("rain").await), ["Neon Rain"]);
    assert_eq!(titles(search("REVENGE").await), ["Neon Rain"]);
    assert_eq!(titles(search("夜探").await), ["Untitled"]);
    assert!(titles(search("nothing here").await).is_empty());
    assert_eq!(titles(search("").await).len(), 3);
}

async fn other_users_get_404_on_every_route(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "owner@example.com").await;
    let eve = user(&app, "eve@example.com").await;
    let project = create(&app, &ann, json!({"title": "Secret", "shots": [shot("s1")]})).await;
    let id = project["id"].as_str().unwrap();
    let base = format!("/api/v1/projects/{id}");
    let answers = vec![
        app.get_authed(&base, &eve.token).await,
        put(&app, &eve, id, json!({"version": 1, "title": "Mine"})).await,
        patch(&app, &eve, &format!("{base}/shots/s1"), json!({"dialogue": "x"})).await,
        patch(&app, &eve, &format!("{base}/shots/s1/keyframes/s1-start"), json!({"status": "failed"})).await,
        delete(&app, &eve, &base).await,
        app.post_authed(&format!("{base}/restore"), &eve.token, &json!({})).await,
        app.post_authed(&format!("{base}/share"), &eve.token, &json!({"email": "eve@example.com", "role": "editor"}))
            .await,
        app.get_authed(&format!("{base}/members"), &eve.token).await,
        delete(&app, &eve, &format!("{base}/members/{}", ann.id)).await,
        app.get_authed(&format!("{base}/export.json"), &eve.token).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);
        assert_eq!(answer.error_code(), "NOT_FOUND");
    }
    // Unknown and malformed ids answer the same way.
    assert_eq!(app.get_authed("/api/v1/projects/not-a-uuid", &eve.token).await.status, StatusCode::NOT_FOUND);
    let unknown = format!("/api/v1/projects/{}", uuid::Uuid::now_v7());
    assert_eq!(app.get_authed(&unknown, &ann.token).await.status, StatusCode::NOT_FOUND);
    // Eve's list is empty and nothing changed for Ann.
    assert_eq!(app.get_authed("/api/v1/projects", &eve.token).await.data()["pagination"]["total"], 0);
    let unchanged = app.get_authed(&base, &ann.token).await;
    assert_eq!(unchanged.data()["project"]["title"], "Secret");
    assert_eq!(unchanged.data()["project"]["version"], 1);
}

async fn viewer_editor_owner_matrix(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = user(&app, "boss@example.com").await;
    let editor = user(&app, "ed@example.com").await;
    let viewer = user(&app, "vi@example.com").await;
    let project = create(&app, &owner, json!({"title": "Shared", "shots": [shot("s1")]})).await;
    let id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/projects/{id}");
    for (email, role) in [("ed@example.com", "editor"), ("VI@example.com", "viewer")] {
        let shared =
            app.post_authed(&format!("{base}/share"), &owner.token, &json!({"email": email, "role": role})).await;
        assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    }
    let members = app.get_authed(&format!("{base}/members"), &viewer.token).await;
    assert_eq!(members.data()["members"].as_array().unwrap().len(), 2);

    // Members see it in their list with their role.
    let listed = app.get_authed("/api/v1/projects", &viewer.token).await;
    assert_eq!(listed.data()["items"][0]["role"], "viewer");

    // Viewers read only.
    assert_eq!(app.get_authed(&base, &viewer.token).await.data()["project"]["role"], "viewer");
    let viewer_put = put(&app, &viewer, &id, json!({"version": 1, "title": "No"})).await;
    assert_eq!((viewer_put.status, viewer_put.error_code()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    let viewer_patch = patch(&app, &viewer, &format!("{base}/shots/s1"), json!({"dialogue": "no"})).await;
    assert_eq!(viewer_patch.status, StatusCode::FORBIDDEN);

    // Editors write, but neither delete, archive nor share.
    let edited = put(&app, &editor, &id, json!({"version": 1, "title": "Edited"})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.data()["project"]["role"], "editor");
    let archive = put(&app, &editor, &id, json!({"version": 2, "status": "archived"})).await;
    assert_eq!(archive.status, StatusCode::FORBIDDEN);
    // The AI-content label is the owner's to answer for: an editor cannot turn it off.
    assert_eq!(edited.data()["project"]["ai_label"], true, "on by default");
    let unlabel = put(&app, &editor, &id, json!({"version": 2, "settings": {"ai_label": false}})).await;
    assert_eq!(unlabel.status, StatusCode::FORBIDDEN, "{}", unlabel.body);
    let same = put(&app, &editor, &id, json!({"version": 2, "ai_label": true, "genre": "武侠"})).await;
    assert_eq!(same.status, StatusCode::OK, "leaving it as it is is no change: {}", same.body);
    assert_eq!(delete(&app, &editor, &base).await.status, StatusCode::FORBIDDEN);
    let reshare = app
        .post_authed(&format!("{base}/share"), &editor.token, &json!({"email": "x@example.com", "role": "viewer"}))
        .await;
    assert_eq!(reshare.status, StatusCode::FORBIDDEN);
    let kick = delete(&app, &editor, &format!("{base}/members/{}", viewer.id)).await;
    assert_eq!(kick.status, StatusCode::FORBIDDEN);

    // The owner archives; a member may leave; the owner removes members.
    let archived = put(&app, &owner, &id, json!({"version": 3, "status": "archived"})).await;
    assert_eq!(archived.data()["project"]["status"], "archived");
    assert_eq!(delete(&app, &viewer, &format!("{base}/members/{}", viewer.id)).await.status, StatusCode::OK);
    assert_eq!(app.get_authed(&base, &viewer.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(delete(&app, &owner, &format!("{base}/members/{}", editor.id)).await.status, StatusCode::OK);
    assert_eq!(app.get_authed(&base, &editor.token).await.status, StatusCode::NOT_FOUND);

    // An address with no account is invited: the owner sees where it registers; members don't
    // see the address; registering with it opens the project to its new account.
    let invited = app
        .post_authed(
            &format!("{base}/share"),
            &owner.token,
            &json!({"email": " Newcomer@Example.com ", "role": "editor"}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let invitation = &invited.data()["invitations"][0];
    assert_eq!(
        (invitation["email"].as_str(), invitation["role"].as_str()),
        (Some("newcomer@example.com"), Some("editor"))
    );
    assert_eq!(invitation["register_path"], "/register?email=newcomer%40example.com");
    assert_eq!(invited.data()["invitations"].as_array().unwrap().len(), 1);
    let stranger = user(&app, "stranger-invites@example.com").await;
    assert_eq!(app.get_authed(&format!("{base}/members"), &stranger.token).await.status, StatusCode::NOT_FOUND);
    let newcomer = user(&app, "newcomer@example.com").await;
    let opened = app.get_authed(&base, &newcomer.token).await;
    assert_eq!(
        (opened.status, opened.data()["project"]["role"].as_str()),
        (StatusCode::OK, Some("editor")),
        "{}",
        opened.body
    );
    let members = app.get_authed(&format!("{base}/members"), &owner.token).await;
    assert!(members.data()["invitations"].as_array().unwrap().is_empty(), "the invitation is used up");
    // A withdrawn invitation opens nothing.
    app.post_authed(&format!("{base}/share"), &owner.token, &json!({"email": "later@example.com", "role": "viewer"}))
        .await;
    let withdrawn = delete(&app, &owner, &format!("{base}/invitations/later@example.com")).await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    assert!(withdrawn.data()["invitations"].as_array().unwrap().is_empty());
    assert_eq!(
        delete(&app, &owner, &format!("{base}/invitations/later@example.com")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        delete(&app, &newcomer, &format!("{base}/invitations/x@example.com")).await.status,
        StatusCode::FORBIDDEN
    );
    let later = user(&app, "later@example.com").await;
    assert_eq!(app.get_authed(&base, &later.token).await.status, StatusCode::NOT_FOUND);

    // Sharing with oneself, or with a bad role, is refused.
    let myself = app
        .post_authed(&format!("{base}/share"), &owner.token, &json!({"email": "boss@example.com", "role": "viewer"}))
        .await;
    assert_eq!(myself.status, StatusCode::UNPROCESSABLE_ENTITY);
    let admin = app
        .post_authed(&format!("{base}/share"), &owner.token, &json!({"email": "ed@example.com", "role": "admin"}))
        .await;
    assert_eq!(admin.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn stale_versions_conflict_and_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "versions@example.com").await;
    let project = create(&app, &ann, json!({"title": "v1"})).await;
    let id = project["id"].as_str().unwrap();
    let second = put(&app, &ann, id, json!({"version": 1, "title": "v2"})).await;
    assert_eq!(second.data()["project"]["version"], 2);
    let stale = put(&app, &ann, id, json!({"version": 1, "title": "lost update"})).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(stale.error_code(), "CONFLICT");
    assert_eq!(stale.body["error"]["details"]["current_version"], 2);
    let now = app.get_authed(&format!("/api/v1/projects/{id}"), &ann.token).await;
    assert_eq!(
        (now.data()["project"]["title"].as_str(), now.data()["project"]["version"].as_i64()),
        (Some("v2"), Some(2))
    );

    // If-Match carries the version too; without any version the update is refused.
    let with_header = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{id}")))
                .bearer_auth(&ann.token)
                .header("if-match", "\"2\"")
                .json(&json!({"title": "v3"})),
        )
        .await;
    assert_eq!(with_header.data()["project"]["version"], 3);
    // Naming no version is the plan's form: the write is taken as it comes (last write wins).
    let unversioned = put(&app, &ann, id, json!({"title": "v4"})).await;
    assert_eq!(unversioned.status, StatusCode::OK, "{}", unversioned.body);
    assert_eq!(unversioned.data()["project"]["version"], 4);
}

async fn concurrent_shot_patches_are_both_kept(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "tabs@example.com").await;
    let project = create(&app, &ann, json!({"title": "Tabs", "shots": [shot("a"), shot("b")]})).await;
    let id = project["id"].as_str().unwrap();
    let base = format!("/api/v1/projects/{id}");
    let (shot_a, keyframe_b) = (format!("{base}/shots/a"), format!("{base}/shots/b/keyframes/b-start"));
    let (first, second) = tokio::join!(
        patch(&app, &ann, &shot_a, json!({"dialogue": "from tab one"})),
        patch(&app, &ann, &keyframe_b, json!({"visualPrompt": "from tab two"})),
    );
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(second.data()["keyframe"]["visualPrompt"], "from tab two");
    let now = app.get_authed(&base, &ann.token).await;
    let shots = &now.data()["project"]["shots"];
    assert_eq!(shots[0]["dialogue"], "from tab one");
    assert_eq!(shots[1]["keyframes"][0]["visualPrompt"], "from tab two");
    assert_eq!(now.data()["project"]["version"], 3);

    // Patches are checked too: unknown shot, an id change, a bad value, a stale If-Match.
    assert_eq!(
        patch(&app, &ann, &format!("{base}/shots/zzz"), json!({"dialogue": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        patch(&app, &ann, &format!("{base}/shots/a"), json!({"id": "other"})).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let bad = patch(&app, &ann, &format!("{base}/shots/a/keyframes/a-start"), json!({"status": "done-ish"})).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.body["error"]["details"]["fields"][0]["field"], "shots[0].keyframes[0].status");
    let stale = app
        .send(
            app.client
                .patch(app.url(&format!("{base}/shots/a")))
                .bearer_auth(&ann.token)
                .header("if-match", "1")
                .json(&json!({"dialogue": "old"})),
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
}

async fn large_documents_round_trip_with_unknown_fields(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "large@example.com").await;
    let shots: Vec<Value> = (0..300)
        .map(|i| {
            json!({"id": format!("shot-{i}"), "sceneId": "scene-1", "actionSummary": "长街上两人并肩而行".repeat(3),
                   "cameraMovement": "横移", "characters": ["char-1"], "characterVariations": {"char-1": "var-1"},
                   "keyframes": [
                       {"id": format!("kf-{i}-s"), "type": "start", "visualPrompt": "晨雾长街".repeat(10), "status": "completed",
                        "imageUrl": format!("https://cdn.example.com/{i}.png"), "seed": i, "futureKeyframeField": {"x": [1, 2]}},
                       {"id": format!("kf-{i}-e"), "type": "end", "visualPrompt": "end", "status": "pending"}],
                   "interval": {"id": format!("int-{i}"), "startKeyframeId": format!("kf-{i}-s"), "endKeyframeId": format!("kf-{i}-e"),
                                "duration": 5, "motionStrength": 5, "status": "pending"},
                   "futureShotField": "kept"})
        })
        .collect();
    let script = json!({"title": "Epic", "logline": "长篇", "characters": [{"id": "char-1", "name": "沈青禾", "age": 18,
        "variations": [{"id": "var-1", "name": "夜行衣", "newVariationField": true}]}], "scenes": [], "storyParagraphs": [],
        "unknownScriptField": {"deep": [1, {"deeper": null}]}});
    let project = create(
        &app,
        &ann,
        json!({"title": "Epic", "script_data": script, "shots": shots, "futureTopLevel": {"kept": [1, 2, 3]}}),
    )
    .await;
    let id = project["id"].as_str().unwrap();
    let fetched = app.get_authed(&format!("/api/v1/projects/{id}"), &ann.token).await;
    let body = &fetched.data()["project"];
    assert_eq!(body["shots"], Value::Array(shots.clone()));
    assert_eq!(body["script_data"], script);
    assert_eq!(body["futureTopLevel"], json!({"kept": [1, 2, 3]}));
    // Sending the whole document back, as the web app's autosave does, keeps everything too.
    let mut again = body.clone();
    again["title"] = json!("Epic II");
    let saved = put(&app, &ann, id, again).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.data()["project"]["shots"], Value::Array(shots));
    assert_eq!(saved.data()["project"]["futureTopLevel"], json!({"kept": [1, 2, 3]}));
    let listed = app.get_authed("/api/v1/projects", &ann.token).await;
    let item = &listed.data()["items"][0];
    assert_eq!(item["counts"], json!({"shots": 300, "keyframes_completed": 300, "clips_completed": 0}));
    assert_eq!(item["thumbnail_url"], "https://cdn.example.com/0.png");
}

async fn malformed_documents_are_refused_with_field_paths(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "malformed@example.com").await;
    let project = create(&app, &ann, json!({"title": "Valid"})).await;
    let id = project["id"].as_str().unwrap();
    let mut bad_keyframe = shot("b");
    bad_keyframe["keyframes"][0]["type"] = json!("middle");
    let cases = [
        (json!({"version": 1, "shots": [shot("a"), bad_keyframe]}), "shots[1].keyframes[0].type"),
        (json!({"version": 1, "shots": {"not": "a list"}}), "shots"),
        (json!({"version": 1, "shots": [shot("a"), shot("a")]}), "shots[1].id"),
        (json!({"version": 1, "script_data": {"characters": [{"id": "c1"}]}}), "script_data.characters[0]"),
        (
            json!({"version": 1, "script_data": {"scenes": [{"id": "s", "location": 5}]}}),
            "script_data.scenes[0].location",
        ),
        (json!({"version": 1, "image_count": 12}), "image_count"),
        (json!({"version": 1, "image_size": "800x600"}), "image_size"),
        (json!({"version": 1, "language": "klingon"}), "language"),
        (json!({"version": 1, "title": ""}), "title"),
        (json!({"version": "one"}), "version"),
    ];
    for (body, field) in cases {
        let answer = put(&app, &ann, id, body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", answer.body);
        let fields: Vec<&str> = answer.body["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} not in {fields:?}");
    }
    let unchanged = app.get_authed(&format!("/api/v1/projects/{id}"), &ann.token).await;
    assert_eq!(unchanged.data()["project"]["version"], 1);
    let missing_title = app.post_authed("/api/v1/projects", &ann.token, &json!({"genre": "x"})).await;
    assert_eq!(missing_title.body["error"]["details"]["fields"][0]["field"], "title");
}

async fn delete_hides_and_restore_brings_back(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "deleter@example.com").await;
    let bob = user(&app, "bob@example.com").await;
    let project = create(&app, &ann, json!({"title": "Doomed"})).await;
    let id = project["id"].as_str().unwrap();
    let base = format!("/api/v1/projects/{id}");
    app.post_authed(&format!("{base}/share"), &ann.token, &json!({"email": "bob@example.com", "role": "editor"})).await;
    let deleted = delete(&app, &ann, &base).await;
    assert_eq!(deleted.data()["project"]["status"], "deleted");
    assert!(deleted.data()["project"]["deleted_at"].is_string());
    assert_eq!(app.get_authed("/api/v1/projects", &ann.token).await.data()["pagination"]["total"], 0);
    let trash = app.get_authed("/api/v1/projects?status=deleted", &ann.token).await;
    assert_eq!(trash.data()["items"][0]["title"], "Doomed");
    assert_eq!(app.get_authed(&base, &bob.token).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get_authed("/api/v1/projects?status=deleted", &bob.token).await.data()["pagination"]["total"], 0);
    let restored = app.post_authed(&format!("{base}/restore"), &ann.token, &json!({})).await;
    assert_eq!(restored.data()["project"]["status"], "active");
    assert_eq!(app.get_authed(&base, &bob.token).await.status, StatusCode::OK);
    let twice = app.post_authed(&format!("{base}/restore"), &ann.token, &json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
}

async fn export_uses_the_legacy_format(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "export@example.com").await;
    let project = create(
        &app,
        &ann,
        json!({"title": "Exported", "raw_script": "第一场", "shots": [shot("a")], "script_data": {"title": "Exported"}, "extraThing": 1}),
    )
    .await;
    let id = project["id"].as_str().unwrap();
    let response = app
        .client
        .get(app.url(&format!("/api/v1/projects/{id}/export.json")))
        .bearer_auth(&ann.token)
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let file: Value = response.json().await.unwrap();
    assert_eq!(file["version"], "1.0");
    assert!(file["exportDate"].is_string());
    let entry = &file["projects"][0];
    assert_eq!(entry["title"], "Exported");
    assert_eq!(entry["rawScript"], "第一场");
    assert_eq!(entry["shots"][0]["id"], "a");
    assert_eq!(entry["settings"]["imageSize"], "1440x2560");
    assert_eq!(entry["extraThing"], 1);
}

async fn bad_list_parameters_are_refused(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.document_limit = "256KiB".into()).await;
    let ann = user(&app, "params@example.com").await;
    for (query, field) in [("page=0", "page"), ("size=1000", "size"), ("page=abc", "page"), ("status=gone", "status")] {
        let answer = app.get_authed(&format!("/api/v1/projects?{query}"), &ann.token).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(answer.body["error"]["details"]["fields"][0]["field"], field);
    }
    // Routes with a typed query answer a bad parameter in the envelope too, naming it.
    let project = create(&app, &ann, json!({"title": "Params"})).await;
    let id = project["id"].as_str().unwrap();
    for (query, field, says) in [
        (format!("/api/v1/projects/{id}/takes?slot=film&bogus=1"), "bogus", "is not a field here"),
        (format!("/api/v1/projects/{id}/audit?limt=5"), "limt", "did you mean `limit`?"),
        (format!("/api/v1/projects/{id}/audit?limit=many"), "limit", "invalid digit"),
        (format!("/api/v1/projects/{id}/subtitles?formt=srt"), "formt", "did you mean `format`?"),
        (format!("/api/v1/projects/{id}/timeline?format=otio&extra=1"), "extra", "is not a field here"),
    ] {
        let answer = app.get_authed(&query, &ann.token).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}: {}", answer.body);
        assert_eq!(answer.error_code(), "VALIDATION_ERROR", "{query}: {}", answer.body);
        let named = &answer.body["error"]["details"]["fields"][0];
        assert_eq!(named["field"], field, "{query}: {}", answer.body);
        assert!(named["message"].as_str().unwrap().contains(says), "{query}: {}", answer.body);
    }
    let huge = json!({"title": "Huge", "raw_script": "字".repeat(200_000)});
    let answer = app.post_oversize("/api/v1/projects", Some(&ann.token), &huge).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let no_token = app.get("/api/v1/projects").await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

async fn repeated_reads_answer_each_caller_with_their_role(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = user(&app, "cache-owner@example.com").await;
    let viewer = user(&app, "cache-viewer@example.com").await;
    let project = create(&app, &owner, json!({"title": "Cached", "shots": [shot("a")]})).await;
    let id = project["id"].as_str().unwrap();
    let share = json!({"email": "cache-viewer@example.com", "role": "viewer"});
    app.post_authed(&format!("/api/v1/projects/{id}/share"), &owner.token, &share).await;
    let path = format!("/api/v1/projects/{id}");
    let first = app.get_authed(&path, &owner.token).await;
    let second = app.get_authed(&path, &viewer.token).await;
    let third = app.get_authed(&path, &owner.token).await;
    assert_eq!(first.data()["project"]["role"], "owner");
    assert_eq!(second.data()["project"]["role"], "viewer");
    assert_eq!(third.data()["project"]["role"], "owner");
    let strip = |answer: &common::Answer| {
        let mut project = answer.data()["project"].clone();
        project.as_object_mut().unwrap().remove("role");
        project
    };
    assert_eq!(strip(&first), strip(&second));
    assert_eq!(second.body["success"], true);
    // A change makes a new version, and the next read shows it.
    put(&app, &owner, id, json!({"version": 1, "title": "Changed"})).await;
    assert_eq!(app.get_authed(&path, &viewer.token).await.data()["project"]["title"], "Changed");
}

async fn lists_show_every_write_at_once_to_owner_and_members(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = user(&app, "list-owner@example.com").await;
    let member = user(&app, "list-member@example.com").await;
    let project = create(&app, &owner, json!({"title": "First title", "shots": [shot("a")]})).await;
    let id = project["id"].as_str().unwrap();
    let titles = |answer: common::Answer| -> Vec<String> {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.data()["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap().to_owned()).collect()
    };
    let list = "/api/v1/projects";
    // Lists read (and kept) before each write must not hide it.
    assert_eq!(titles(app.get_authed(list, &owner.token).await), ["First title"]);
    assert!(titles(app.get_authed(list, &member.token).await).is_empty());

    let share = json!({"email": "list-member@example.com", "role": "editor"});
    assert_eq!(
        app.post_authed(&format!("/api/v1/projects/{id}/share"), &owner.token, &share).await.status,
        StatusCode::OK
    );
    assert_eq!(titles(app.get_authed(list, &member.token).await), ["First title"], "shared: in the member's list");

    // The member renames it: the owner's list shows it too.
    assert_eq!(put(&app, &member, id, json!({"version": 1, "title": "Renamed"})).await.status, StatusCode::OK);
    assert_eq!(titles(app.get_authed(list, &owner.token).await), ["Renamed"]);
    assert_eq!(titles(app.get_authed(list, &member.token).await), ["Renamed"]);

    // A new project comes first, with its counts, and is found by a search read before.
    let counts = |answer: common::Answer| answer.data()["items"][0]["counts"]["shots"].clone();
    assert!(titles(app.get_authed("/api/v1/projects?search=second", &owner.token).await).is_empty());
    let second = create(&app, &owner, json!({"title": "Second", "shots": [shot("a"), shot("b")]})).await;
    assert_eq!(counts(app.get_authed(list, &owner.token).await), 2, "the newest project first, with its counts");
    assert_eq!(titles(app.get_authed("/api/v1/projects?search=second", &owner.token).await), ["Second"]);

    // Removing the member takes the project out of their list at once.
    let removed = delete(&app, &owner, &format!("/api/v1/projects/{id}/members/{}", member.id)).await;
    assert!(removed.status.is_success(), "{}", removed.body);
    assert!(titles(app.get_authed(list, &member.token).await).is_empty());
    // Deleting moves a project from the list to the deleted ones.
    let second_id = second["id"].as_str().unwrap();
    assert!(delete(&app, &owner, &format!("/api/v1/projects/{second_id}")).await.status.is_success());
    assert_eq!(titles(app.get_authed(list, &owner.token).await), ["Renamed"]);
    assert_eq!(titles(app.get_authed("/api/v1/projects?status=deleted", &owner.token).await), ["Second"]);
}

async fn history_lists_who_changed_what_and_restores_as_a_new_version(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let owner = user(&app, "hist-owner@example.com").await;
    let editor = user(&app, "hist-editor@example.com").await;
    let viewer = user(&app, "hist-viewer@example.com").await;
    let stranger = user(&app, "hist-stranger@example.com").await;
    let project = create(&app, &owner, json!({"title": "History", "shots": [shot("a"), shot("b")]})).await;
    let id = project["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/projects/{id}");
    for (email, role) in [("hist-editor@example.com", "editor"), ("hist-viewer@example.com", "viewer")] {
        let shared =
            app.post_authed(&format!("{base}/share"), &owner.token, &json!({"email": email, "role": role})).await;
        assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    }

    // The owner writes a script, then the editor deletes a shot: each keeps what it replaced.
    let written = put(&app, &owner, &id, json!({"version": 1, "raw_script": "第一场 渡口"})).await;
    assert_eq!(written.status, StatusCode::OK, "{}", written.body);
    let cut = put(&app, &editor, &id, json!({"version": 2, "shots": [shot("a")]})).await;
    assert_eq!(cut.status, StatusCode::OK, "{}", cut.body);

    let history = app.get_authed(&format!("{base}/history"), &viewer.token).await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    assert_eq!(history.data()["current_version"], 3);
    let kept = history.data()["revisions"].as_array().unwrap();
    assert_eq!(kept.iter().map(|r| r["version"].as_i64().unwrap()).collect::<Vec<_>>(), [2, 1], "{kept:?}");
    assert_eq!(
        (kept[0]["made_by"]["id"].as_str(), kept[0]["replaced_by"]["id"].as_str()),
        (Some(owner.id.as_str()), Some(editor.id.as_str()))
    );
    assert_eq!((kept[0]["shot_count"].as_i64(), kept[0]["script_chars"].as_i64()), (Some(2), Some(6)));
    assert_eq!(kept[1]["replaced_by"]["id"], owner.id.as_str());

    let two = app.get_authed(&format!("{base}/history/2"), &viewer.token).await;
    assert_eq!(two.status, StatusCode::OK, "{}", two.body);
    assert_eq!(
        (two.data()["raw_script"].as_str(), two.data()["shots"].as_array().map(Vec::len)),
        (Some("第一场 渡口"), Some(2))
    );

    // A viewer may read the history but not restore; a stranger sees nothing of it.
    let refused = app.post_authed(&format!("{base}/history/2/restore"), &viewer.token, &json!({})).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    for path in [format!("{base}/history"), format!("{base}/history/2")] {
        assert_eq!(app.get_authed(&path, &stranger.token).await.status, StatusCode::NOT_FOUND);
    }
    let stranger_restore = app.post_authed(&format!("{base}/history/2/restore"), &stranger.token, &json!({})).await;
    assert_eq!(stranger_restore.status, StatusCode::NOT_FOUND);
    for missing in ["99", "x", "-1"] {
        let answer = app.get_authed(&format!("{base}/history/{missing}"), &owner.token).await;
        assert_eq!((answer.status, answer.error_code()), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{missing}");
    }
    assert_eq!(
        app.get_authed(&format!("/api/v1/projects/{id}"), &owner.token).await.data()["project"]["version"],
        3,
        "nothing changed"
    );

    // The editor restores version 2: a new version with both shots back, and the cut kept.
    let restored = app.post_authed(&format!("{base}/history/2/restore"), &editor.token, &json!({})).await;
    assert_eq!(restored.status, StatusCode::OK, "{}", restored.body);
    let project = &restored.data()["project"];
    assert_eq!((project["version"].as_i64(), project["shots"].as_array().map(Vec::len)), (Some(4), Some(2)));
    assert_eq!(project["raw_script"], "第一场 渡口");
    let history = app.get_authed(&format!("{base}/history"), &owner.token).await;
    let versions: Vec<i64> =
        history.data()["revisions"].as_array().unwrap().iter().map(|r| r["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, [3, 2, 1], "the restore kept the version it replaced");
}

async fn edited_subtitles_replace_the_dialogues_on_their_shot(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = user(&app, "subtitles@example.com").await;
    let mut first = shot("s1");
    first["dialogue"] = json!("林晚舟：今晚一定要找到他。\n程野：我陪你去。");
    first["interval"] = json!({"id": "i1", "duration": 4.0});
    let mut second = shot("s2");
    second["dialogue"] = json!("林晚舟：走。");
    second["interval"] = json!({"id": "i2", "duration": 2.0});
    let project = create(&app, &ann, json!({"title": "字幕", "shots": [first, second]})).await;
    let id = project["id"].as_str().unwrap();
    let made = cues(&app, &ann, id).await;
    assert_eq!(made.len(), 3, "{made:?}");
    assert!(made.iter().all(|c| c["edited"] == false));
    assert_eq!(made[2]["shot_start_ms"], 4000, "the second shot starts after the first's four seconds");

    // An edit of the first shot's subtitles: its own words and times, the second shot's untouched.
    let edited = json!({"subtitles": [{"text": "今晚，必须找到他。", "speaker": "林晚舟", "start": 0.5, "end": 2.25}]});
    let saved = patch(&app, &ann, &format!("/api/v1/projects/{id}/shots/s1"), edited).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let srt =
        app.client.get(app.url(&format!("/api/v1/projects/{id}/subtitles?speakers=true"))).bearer_auth(&ann.token);
    let srt = srt.send().await.unwrap().text().await.unwrap();
    assert!(
        srt.starts_with("1\n00:00:00,500 --> 00:00:02,250\n林晚舟：今晚，必须找到他。\n\n2\n00:00:04,000"),
        "{srt}"
    );
    assert_eq!(srt.matches(" --> ").count(), 2, "{srt}");
    let now = cues(&app, &ann, id).await;
    assert_eq!((now[0]["edited"].as_bool(), now[1]["edited"].as_bool()), (Some(true), Some(false)));

    // Bad edits are refused with their paths and change nothing.
    let bad = json!({"subtitles": [{"text": " ", "start": 3.0, "end": 1.0}, {"text": "x", "start": 0, "end": 1, "style": "bold"}]});
    let refused = patch(&app, &ann, &format!("/api/v1/projects/{id}/shots/s1"), bad).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    let fields: Vec<&str> = refused.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert!(fields.iter().any(|f| f.contains("subtitles[1]")), "an unknown field: {fields:?}");
    assert_eq!(cues(&app, &ann, id).await, now, "nothing changed");

    // `null` goes back to the dialogue's subtitles.
    let reset = patch(&app, &ann, &format!("/api/v1/projects/{id}/shots/s1"), json!({"subtitles": null})).await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(cues(&app, &ann, id).await, made);
}

async fn cues(app: &TestApp, who: &User, id: &str) -> Vec<Value> {
    let answer = app.get_authed(&format!("/api/v1/projects/{id}/subtitles/cues"), &who.token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.data()["cues"].as_array().unwrap().clone()
}
