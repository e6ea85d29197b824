//! Takes over HTTP on the offline provider: every generation is kept with its provenance; a take
//! is chosen, pinned, deleted, run again; identical bytes are stored once; stale slots are marked
//! and regenerated in one batch; the upkeep prunes beyond the project's keep, refunding quota.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    regenerations_are_kept_as_takes_to_choose_pin_delete_and_prune,
    stale_marks_follow_changed_inputs_and_one_batch_regenerates_them,
    a_rerun_repeats_a_take_exactly_and_batches_make_candidates,
);

const KEYFRAME: &str = "keyframe/shot-1/kf-1s";

fn script_data() -> Value {
    json!({
        "title": "渡口",
        "characters": [{"id": "c1", "name": "林晚舟", "visualPrompt": "青衣少女，油纸伞"}],
        "scenes": [{"id": "s1", "location": "渡口", "time": "夜", "visualPrompt": "雨夜渡口，灯笼"}],
    })
}

fn shots() -> Value {
    json!([{
        "id": "shot-1", "sceneId": "s1", "characters": ["c1"], "actionSummary": "林晚舟撑伞走向渡船",
        "shotSize": "中景", "cameraMovement": "缓推",
        "keyframes": [{"id": "kf-1s", "type": "start", "visualPrompt": "林晚舟撑伞站在渡口"}],
        "interval": {"id": "shot-1-clip", "startKeyframeId": "kf-1s", "duration": 2},
    }])
}

struct Creator {
    token: String,
    project: String,
}

async fn creator(app: &TestApp, email: &str) -> Creator {
    let token = app.register(email).await["tokens"]["access"].as_str().unwrap().to_owned();
    let created = app
        .post_authed(
            "/api/v1/projects",
            &token,
            &json!({"title": "渡口", "language": "zh", "script_data": script_data(), "shots": shots()}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    Creator { token, project: created.data()["project"]["id"].as_str().unwrap().to_owned() }
}

impl Creator {
    async fn run(&self, app: &TestApp, path: &str, body: Value) -> Value {
        let mut body = body;
        body["project_id"] = json!(self.project);
        let answer = app.post_authed(path, &self.token, &body).await;
        assert_eq!(answer.status, StatusCode::ACCEPTED, "{path}: {}", answer.body);
        let task = app.finished_task(&self.token, answer.data()["task"]["id"].as_str().unwrap()).await;
        assert_eq!(task["status"], "completed", "{task}");
        task
    }

    async fn keyframe(&self, app: &TestApp, prompt: Option<&str>) -> Value {
        let mut body = json!({"target": {"type": "keyframe", "shot_id": "shot-1", "keyframe_id": "kf-1s"}});
        if let Some(prompt) = prompt {
            body["prompt"] = json!(prompt);
        }
        self.run(app, "/api/v1/ai/image/generate", body).await
    }

    async fn takes(&self, app: &TestApp, slot: &str) -> Vec<Value> {
        let answer = app.get_authed(&format!("/api/v1/projects/{}/takes?slot={slot}", self.project), &self.token).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        answer.data()["takes"].as_array().unwrap().clone()
    }

    async fn project(&self, app: &TestApp) -> Value {
        app.get_authed(&format!("/api/v1/projects/{}", self.project), &self.token).await.data()["project"].clone()
    }

    async fn used(&self, app: &TestApp) -> i64 {
        app.get_authed("/api/v1/storage/usage", &self.token).await.data()["used"].as_i64().unwrap()
    }

    fn take_path(&self, take: &Value, tail: &str) -> String {
        format!("/api/v1/projects/{}/takes/{}{tail}", self.project, take["id"].as_str().unwrap())
    }
}

fn keyframe_of(project: &Value) -> Value {
    project["shots"][0]["keyframes"][0].clone()
}

async fn regenerations_are_kept_as_takes_to_choose_pin_delete_and_prune(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = creator(&app, "takes@example.com").await;

    // The first generation is a take with its provenance, and the slot's choice.
    let first_task = ann.keyframe(&app, None).await;
    let takes = ann.takes(&app, KEYFRAME).await;
    assert_eq!(takes.len(), 1, "{takes:?}");
    let first = takes[0].clone();
    assert_eq!(first["slot"], KEYFRAME);
    assert_eq!(
        (first["chosen"].as_bool(), first["pinned"].as_bool(), first["stale"].as_bool()),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(first["provider"], "local");
    assert_eq!(first["content_type"], "image/png");
    assert_eq!(first["file_id"], keyframe_of(&ann.project(&app).await)["imageFileId"]);
    let made = &first["provenance"];
    assert_eq!(made["origin"], "generated");
    assert_eq!(made["task_id"], first_task["id"]);
    assert_eq!(made["attempt"], 1);
    assert_eq!(made["params"]["width"], 1440);
    assert!(made["prompt"].as_str().unwrap().contains("林晚舟撑伞站在渡口"), "{made}");
    assert!(made.get("user_prompt").is_none());
    assert_eq!(made["usage"], json!({"unit": "image", "quantity": 1}));
    assert!(made["provider_ms"].is_u64() && made["queued_at"].is_string() && made["started_at"].is_string());
    assert_eq!(made["recipe"]["task_type"], "ai.image");
    // The reference the keyframe was painted with is none yet (no look, no scene image).
    assert!(made.get("references").is_none(), "{made}");
    let png = app.client.get(app.url(first["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(png.status(), StatusCode::OK);
    let used_after_one = ann.used(&app).await;
    assert_eq!(used_after_one, first["file_size"].as_i64().unwrap());

    // The same request again makes the same bytes: a second take of the same file, counted once.
    ann.keyframe(&app, None).await;
    let takes = ann.takes(&app, KEYFRAME).await;
    assert_eq!(takes.len(), 2);
    assert_eq!(takes[0]["file_id"], first["file_id"], "identical bytes are stored once");
    assert_eq!(ann.used(&app).await, used_after_one, "and counted once");

    // Another prompt: a new file, now the choice; the earlier takes stay.
    ann.keyframe(&app, Some("林晚舟收伞，回望江面")).await;
    let takes = ann.takes(&app, KEYFRAME).await;
    assert_eq!(takes.len(), 3);
    let third = takes[0].clone();
    assert_ne!(third["file_id"], first["file_id"]);
    assert_eq!(third["provenance"]["user_prompt"], "林晚舟收伞，回望江面");
    assert_eq!(takes.iter().filter(|t| t["chosen"] == true).count(), 1, "{takes:?}");
    assert_eq!(takes[0]["chosen"], true);
    let used_after_three = ann.used(&app).await;
    assert_eq!(used_after_three, used_after_one + third["file_size"].as_i64().unwrap());

    // Choosing the first take switches the document in one versioned write.
    let before = ann.project(&app).await["version"].as_i64().unwrap();
    let chosen = app.post_authed(&ann.take_path(&first, "/choose"), &ann.token, &json!({})).await;
    assert_eq!(chosen.status, StatusCode::OK, "{}", chosen.body);
    let project = &chosen.data()["project"];
    assert_eq!(project["version"].as_i64(), Some(before + 1));
    assert_eq!(keyframe_of(project)["imageFileId"], first["file_id"]);
    assert!(keyframe_of(project)["imageUrl"].as_str().unwrap().contains(first["file_id"].as_str().unwrap()));
    let history = app.get_authed(&format!("/api/v1/projects/{}/history", ann.project), &ann.token).await;
    assert!(!history.data()["revisions"].as_array().unwrap().is_empty(), "the replaced state is kept");

    // The chosen take cannot be deleted; another can, refunding its bytes.
    let refused = app.send(app.client.delete(app.url(&ann.take_path(&first, ""))).bearer_auth(&ann.token)).await;
    assert_eq!((refused.status, refused.error_code()), (StatusCode::CONFLICT, "CONFLICT"), "{}", refused.body);
    let deleted = app.send(app.client.delete(app.url(&ann.take_path(&third, ""))).bearer_auth(&ann.token)).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(ann.used(&app).await, used_after_one);
    assert_eq!(ann.takes(&app, KEYFRAME).await.len(), 2);
    let again = app.send(app.client.delete(app.url(&ann.take_path(&third, ""))).bearer_auth(&ann.token)).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Bad input changes nothing: an unknown slot key, a take of nowhere, an unknown field.
    let bad = app.get_authed(&format!("/api/v1/projects/{}/takes?slot=shelf/1", ann.project), &ann.token).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let nowhere = format!("/api/v1/projects/{}/takes/{}/choose", ann.project, uuid::Uuid::now_v7());
    assert_eq!(app.post_authed(&nowhere, &ann.token, &json!({})).await.status, StatusCode::NOT_FOUND);
    let pin = |body: Value| {
        app.send(app.client.patch(app.url(&ann.take_path(&first, ""))).bearer_auth(&ann.token).json(&body))
    };
    assert_eq!(pin(json!({"pinned": true, "color": "red"})).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pin(json!({"pinned": "yes"})).await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Others: a viewer sees the takes but cannot choose; a stranger finds nothing.
    let viewer = app.register("viewer@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let stranger = app.register("stranger@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let shared = app
        .post_authed(
            &format!("/api/v1/projects/{}/share", ann.project),
            &ann.token,
            &json!({"email": "viewer@example.com", "role": "viewer"}),
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.body);
    let listed = app.get_authed(&format!("/api/v1/projects/{}/takes", ann.project), &viewer).await;
    assert_eq!(listed.data()["takes"].as_array().unwrap().len(), 2);
    let third_take = ann.takes(&app, KEYFRAME).await[0].clone();
    assert_eq!(
        app.post_authed(&ann.take_path(&third_take, "/choose"), &viewer, &json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get_authed(&format!("/api/v1/projects/{}/takes", ann.project), &stranger).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post_authed(&ann.take_path(&third_take, "/choose"), &stranger, &json!({})).await.status,
        StatusCode::NOT_FOUND
    );

    // Pruning keeps the project's number of unpinned takes per slot, never the chosen or a
    // pinned one, and refunds what goes.
    let pinned = pin(json!({"pinned": true})).await;
    assert_eq!(pinned.status, StatusCode::OK, "{}", pinned.body);
    assert_eq!(pinned.data()["take"]["pinned"], true);
    let version = ann.project(&app).await["version"].clone();
    let kept = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{}", ann.project)))
                .bearer_auth(&ann.token)
                .json(&json!({"version": version, "keep_takes": 1})),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    assert_eq!(kept.data()["project"]["settings"]["keep_takes"], 1, "{}", kept.body);
    for prompt in ["江面起雾", "船夫摇橹", "灯笼熄灭"] {
        ann.keyframe(&app, Some(prompt)).await;
    }
    let before = ann.takes(&app, KEYFRAME).await;
    assert_eq!(before.len(), 5);
    let report = cinegen_server::maintenance::run_once(&app.state, chrono::Utc::now()).await.unwrap().unwrap();
    assert_eq!(report.pruned_takes, 3, "{report:?}");
    let after = ann.takes(&app, KEYFRAME).await;
    let prompts: Vec<&str> = after.iter().map(|t| t["provenance"]["user_prompt"].as_str().unwrap_or("")).collect();
    assert_eq!(prompts, ["灯笼熄灭", ""], "the newest (chosen) and the pinned first take stay: {after:?}");
    assert_eq!(after[1]["pinned"], true);
    let sizes: i64 = after.iter().map(|t| t["file_size"].as_i64().unwrap()).sum();
    assert_eq!(ann.used(&app).await, sizes, "what was pruned was refunded");
}

async fn stale_marks_follow_changed_inputs_and_one_batch_regenerates_them(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = creator(&app, "stale@example.com").await;
    ann.run(&app, "/api/v1/ai/image/generate", json!({"target": {"type": "character", "character_id": "c1"}})).await;
    ann.keyframe(&app, None).await;
    ann.run(&app, "/api/v1/ai/video/generate", json!({"shot_id": "shot-1"})).await;
    let project = ann.project(&app).await;
    assert!(keyframe_of(&project).get("stale").is_none(), "{project}");
    assert!(project["shots"][0]["interval"].get("stale").is_none());
    // The keyframe names the look it was painted with, by take.
    let look = ann.takes(&app, "character/c1").await[0].clone();
    let frame = ann.takes(&app, KEYFRAME).await[0].clone();
    assert_eq!(frame["provenance"]["references"], json!([{"file_id": look["file_id"], "take_id": look["id"]}]));
    let clip = ann.takes(&app, "clip/shot-1").await[0].clone();
    assert_eq!(clip["provenance"]["references"][0]["take_id"], frame["id"]);
    assert_eq!(clip["provenance"]["params"]["frames"], "start");
    assert!(clip["provenance"]["provider_job_id"].is_string());
    assert_eq!(clip["provenance"]["usage"], json!({"unit": "second", "quantity": 2}));

    // A new look of the character makes the keyframe painted from the old one stale; the clip
    // is still what its keyframe gives.
    let mut script = project["script_data"].clone();
    script["characters"][0]["visualPrompt"] = json!("青衣少女，斗笠，蓑衣");
    let saved = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{}", ann.project)))
                .bearer_auth(&ann.token)
                .json(&json!({"version": project["version"], "script_data": script})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    assert_eq!(saved.data()["project"]["script_data"]["characters"][0]["stale"], true, "its own prompt changed");
    assert!(keyframe_of(&saved.data()["project"]).get("stale").is_none(), "its look is still the same file");
    ann.run(&app, "/api/v1/ai/batch/images", json!({"stale": true})).await;
    let project = ann.project(&app).await;
    assert!(project["script_data"]["characters"][0].get("stale").is_none(), "{}", project["script_data"]);
    assert_eq!(keyframe_of(&project)["stale"], true, "painted from the old look");
    assert!(project["shots"][0]["interval"].get("stale").is_none());
    assert_eq!(ann.takes(&app, KEYFRAME).await.iter().filter(|t| t["stale"] == true).count(), 1);

    // "Regenerate stale": the keyframe, then its clip, which the new keyframe made stale.
    let nothing =
        app.post_authed("/api/v1/ai/batch/clips", &ann.token, &json!({"project_id": ann.project, "stale": true})).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", nothing.body);
    let batch = ann.run(&app, "/api/v1/ai/batch/keyframes", json!({"stale": true})).await;
    assert_eq!(batch["result"]["total"], 1, "{batch}");
    let project = ann.project(&app).await;
    assert!(keyframe_of(&project).get("stale").is_none(), "{project}");
    assert_eq!(project["shots"][0]["interval"]["stale"], true);
    ann.run(&app, "/api/v1/ai/batch/clips", json!({"stale": true})).await;
    let project = ann.project(&app).await;
    assert!(project["shots"][0]["interval"].get("stale").is_none(), "{project}");
    assert_eq!(ann.takes(&app, "clip/shot-1").await.len(), 2);
    // A stale mark is never kept: one written back by a client means nothing.
    let mut shots = project["shots"].clone();
    shots[0]["keyframes"][0]["stale"] = json!(true);
    let saved = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{}", ann.project)))
                .bearer_auth(&ann.token)
                .json(&json!({"version": project["version"], "shots": shots})),
        )
        .await;
    assert!(keyframe_of(&saved.data()["project"]).get("stale").is_none());
    let bad = app
        .post_authed(
            "/api/v1/ai/batch/keyframes",
            &ann.token,
            &json!({"project_id": ann.project, "stale": true, "shot_ids": ["shot-1"]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn a_rerun_repeats_a_take_exactly_and_batches_make_candidates(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = creator(&app, "rerun@example.com").await;
    ann.run(&app, "/api/v1/ai/image/generate", json!({"target": {"type": "scene", "scene_id": "s1"}})).await;
    ann.keyframe(&app, Some("渡口，孤灯")).await;
    let original = ann.takes(&app, KEYFRAME).await[0].clone();
    // The documents move on: a new prompt, a new frame.
    ann.keyframe(&app, Some("渡口，船已离岸")).await;
    let rerun = app.post_authed(&ann.take_path(&original, "/rerun"), &ann.token, &json!({})).await;
    assert_eq!(rerun.status, StatusCode::ACCEPTED, "{}", rerun.body);
    let task = app.finished_task(&ann.token, rerun.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let takes = ann.takes(&app, KEYFRAME).await;
    assert_eq!(takes.len(), 3);
    let again = &takes[0];
    assert_eq!(again["file_id"], original["file_id"], "the same recipe paints the same picture");
    assert_eq!(again["provenance"]["prompt"], original["provenance"]["prompt"]);
    assert_eq!(again["provenance"]["references"], original["provenance"]["references"]);
    assert_eq!((&again["provider"], &again["model"]), (&original["provider"], &original["model"]));
    assert_eq!(keyframe_of(&ann.project(&app).await)["imageFileId"], original["file_id"]);
    // A take kept from before takes (no recipe) cannot be run again.
    // Candidates: two takes per keyframe of the selected shot.
    let batch = ann.run(&app, "/api/v1/ai/batch/keyframes", json!({"shot_ids": ["shot-1"], "candidates": 2})).await;
    assert_eq!(batch["result"]["total"], 2, "{batch}");
    assert_eq!(ann.takes(&app, KEYFRAME).await.len(), 5);
    for bad in [json!(0), json!(5), json!("two")] {
        let refused = app
            .post_authed(
                "/api/v1/ai/batch/keyframes",
                &ann.token,
                &json!({"project_id": ann.project, "candidates": bad}),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {}", refused.body);
    }
}
