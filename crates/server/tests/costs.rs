//! Money over HTTP, with vendors' emulators: an estimate names the calls, units and cost of a
//! request before it is queued; what the call then cost is recorded from the vendor's answer and
//! the price table; the takes carry it; spending is summed by day, project, provider and model,
//! and exported as CSV.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(estimates_are_what_the_emulated_vendors_then_cost);
on_both_engines!(seedance_clips_cost_the_video_tokens_the_vendor_reports);

fn documents() -> Value {
    json!({
        "title": "渡口", "language": "zh",
        "script_data": {"characters": [{"id": "c1", "name": "林晚舟", "visualPrompt": "青衣少女"}],
                        "scenes": [{"id": "s1", "location": "渡口", "visualPrompt": "雨夜渡口"}]},
        "shots": [{"id": "shot-1", "sceneId": "s1", "characters": ["c1"], "actionSummary": "林晚舟撑伞",
                   "keyframes": [{"id": "kf-1s", "type": "start", "visualPrompt": "林晚舟撑伞站在渡口"}],
                   "interval": {"id": "shot-1-clip", "startKeyframeId": "kf-1s", "duration": 3}}],
    })
}

fn usd(estimate: &Value) -> i64 {
    estimate["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["currency"] == "USD")
        .map_or(0, |t| t["micros"].as_i64().unwrap())
}

async fn estimates_are_what_the_emulated_vendors_then_cost(engine: Engine) {
    let openai = cinegen_emulators::openai::start("sk-openai-cost").await;
    let gemini = cinegen_emulators::gemini::start("gm-gemini-cost").await;
    let app = TestApp::spawn_with(engine, |config| {
        config.fetch_allow_loopback = true;
        config.video_poll_ms = 50;
    })
    .await;
    let token = app.register("costs@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let providers = json!({
        "openai": {"api_key": "sk-openai-cost", "base_url": format!("{}/v1", openai.base_url)},
        "gemini": {"api_key": "gm-gemini-cost", "base_url": format!("{}/v1beta", gemini.base_url)},
    });
    let saved = app
        .send(
            app.client
                .put(app.url("/api/v1/settings/providers"))
                .bearer_auth(&token)
                .json(&json!({"providers": providers})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let created = app.post_authed("/api/v1/projects", &token, &documents()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let estimate = |body: Value| {
        let (app, token, project) = (&app, &token, &project);
        async move {
            let mut body = body;
            body["project_id"] = json!(project);
            let answer = app.post_authed("/api/v1/ai/estimate", token, &body).await;
            assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.body);
            answer.data().clone()
        }
    };

    // One keyframe from OpenAI: one call, one image, at the table's price.
    let keyframe = json!({"shot_id": "shot-1", "keyframe_type": "start", "provider": "openai"});
    let mut ask = keyframe.clone();
    ask["operation"] = json!("image");
    let before = estimate(ask).await;
    assert_eq!(before["calls"], 1, "{before}");
    let line = &before["lines"][0];
    assert_eq!(
        (line["provider"].as_str(), line["unit"].as_str(), line["quantity"].as_i64()),
        (Some("openai"), Some("image"), Some(1))
    );
    assert_eq!(usd(&before), 53_000, "{before}");
    assert_eq!(before["totals"][0]["amount"], "0.053000");
    // The generation answers the same estimate, and then costs it.
    let mut body = keyframe.clone();
    body["project_id"] = json!(project);
    let queued = app.post_authed("/api/v1/ai/image/generate", &token, &body).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    assert_eq!(usd(&queued.data()["estimate"]), 53_000, "{}", queued.body);
    let task = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let takes = app.get_authed(&format!("/api/v1/projects/{project}/takes?slot=keyframe/shot-1/kf-1s"), &token).await;
    assert_eq!(
        takes.data()["takes"][0]["cost"],
        json!({"amount": "0.053000", "currency": "USD", "micros": 53_000}),
        "{}",
        takes.body
    );

    // A 3-second clip from Gemini Omni: the video tokens it will report (5,792 a second) at the
    // table's price per thousand.
    let clip = estimate(json!({"operation": "video", "shot_id": "shot-1", "provider": "gemini"})).await;
    assert_eq!((clip["calls"].as_i64(), usd(&clip)), (Some(1), 304_080), "{clip}");
    let queued = app
        .post_authed(
            "/api/v1/ai/video/generate",
            &token,
            &json!({"project_id": project, "shot_id": "shot-1", "provider": "gemini"}),
        )
        .await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let task = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");

    // What was spent is what was estimated, per provider and in total.
    let spent = app.get_authed("/api/v1/usage/spending?group_by=provider", &token).await;
    assert_eq!(spent.status, StatusCode::OK, "{}", spent.body);
    let report = spent.data();
    let of = |key: &str| report["groups"].as_array().unwrap().iter().find(|g| g["key"] == key).cloned().unwrap();
    assert_eq!(usd(&of("openai")), 53_000, "{report}");
    assert_eq!(usd(&of("gemini")), 304_080, "{report}");
    assert_eq!(usd(report), 357_080);
    assert_eq!(report["unpriced_calls"], 0);
    let by_project = app.get_authed("/api/v1/usage/spending?group_by=project&days=7", &token).await;
    assert_eq!(by_project.data()["groups"][0]["label"], "渡口", "{}", by_project.body);
    let by_model = app.get_authed("/api/v1/usage/spending?group_by=model", &token).await;
    let keys: Vec<&str> =
        by_model.data()["groups"].as_array().unwrap().iter().map(|g| g["key"].as_str().unwrap()).collect();
    assert!(keys.iter().any(|k| k.starts_with("openai/")) && keys.iter().any(|k| k.starts_with("gemini/")), "{keys:?}");
    let csv = app.client.get(app.url("/api/v1/usage/spending.csv")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert_eq!(text.lines().next().unwrap(), "day,project_id,project,provider,model,kind,calls,units,currency,amount");
    assert!(text.lines().any(|l| l.contains(",openai,") && l.ends_with(",USD,0.053000")), "{text}");

    // A batch: two candidates of the keyframe, two calls; the offline provider costs nothing.
    let batch = estimate(json!({"operation": "batch", "kind": "keyframes", "shot_ids": ["shot-1"], "candidates": 2, "provider": "openai"})).await;
    assert_eq!((batch["calls"].as_i64(), usd(&batch)), (Some(2), 106_000), "{batch}");
    let free =
        estimate(json!({"operation": "image", "target": {"type": "scene", "scene_id": "s1"}, "provider": "local"}))
            .await;
    assert_eq!((free["calls"].as_i64(), usd(&free), free["unpriced_calls"].as_i64()), (Some(1), 0, Some(0)), "{free}");

    // Bad input is refused with the field named, and nothing is queued.
    for (body, field) in [
        (json!({"operation": "sing"}), "operation"),
        (json!({"operation": "batch", "kind": "songs"}), "kind"),
        (json!({"operation": "video"}), "shot_id"),
        (
            json!({"operation": "image", "provider": "nobody", "target": {"type": "scene", "scene_id": "s1"}}),
            "provider",
        ),
    ] {
        let mut body = body;
        body["project_id"] = json!(project);
        let refused = app.post_authed("/api/v1/ai/estimate", &token, &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", refused.body);
        assert!(refused.body.to_string().contains(field), "{field}: {}", refused.body);
    }
    assert_eq!(
        app.get_authed("/api/v1/usage/spending?group_by=color", &token).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let stranger = app.register("nosy@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let hidden =
        app.post_authed("/api/v1/ai/estimate", &stranger, &json!({"project_id": project, "operation": "script"})).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    let theirs = app.get_authed("/api/v1/usage/spending", &stranger).await;
    assert_eq!(theirs.data()["calls"], 0, "spending is each user's own");
    // A user's own price for their own key replaces the table's for their calls, in its currency.
    let own = json!({"providers": {"openai": {"prices": [{"model": "*", "unit": "image", "amount": "0.1", "currency": "CNY"}]}}});
    let saved = app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(&token).json(&own)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let listed = saved.data()["providers"].as_array().unwrap().iter().find(|p| p["name"] == "openai").cloned().unwrap();
    assert_eq!(listed["prices"][0]["amount"], "0.1", "{listed}");
    let mine =
        estimate(json!({"operation": "image", "shot_id": "shot-1", "keyframe_type": "start", "provider": "openai"}))
            .await;
    assert_eq!(
        (mine["totals"][0]["currency"].as_str(), mine["totals"][0]["micros"].as_i64()),
        (Some("CNY"), Some(100_000)),
        "{mine}"
    );
    for (bad, reason) in [
        (json!([{"model": "*", "unit": "image", "amount": "lots", "currency": "CNY"}]), "amount"),
        (json!([{"model": "", "unit": "image", "amount": "1", "currency": "CNY"}]), "model"),
        (json!([{"model": "*", "unit": "image", "amount": "1", "currency": "EUR"}]), "currency"),
        (json!([{"model": "*", "unit": "minute", "amount": "1", "currency": "USD"}]), "unit"),
    ] {
        let body = json!({"providers": {"openai": {"prices": bad}}});
        let refused =
            app.send(app.client.put(app.url("/api/v1/settings/providers")).bearer_auth(&token).json(&body)).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", refused.body);
        assert!(refused.body.to_string().contains(reason), "{reason}: {}", refused.body);
    }
    openai.assert_conformant();
    gemini.assert_conformant();
}

/// Seedance bills the video tokens its answer reports: the estimate counts them as the vendor
/// will, and the settled cost is read from the answer, not from seconds times a price.
async fn seedance_clips_cost_the_video_tokens_the_vendor_reports(engine: Engine) {
    let doubao = cinegen_emulators::doubao::start("ark-cost").await;
    let app = TestApp::spawn_with(engine, |config| {
        config.fetch_allow_loopback = true;
        config.video_poll_ms = 50;
    })
    .await;
    let token = app.register("seedance@example.com").await["tokens"]["access"].as_str().unwrap().to_owned();
    let providers = json!({"doubao": {"api_key": "ark-cost", "base_url": format!("{}/api/v3", doubao.base_url)}});
    let saved = app
        .send(
            app.client
                .put(app.url("/api/v1/settings/providers"))
                .bearer_auth(&token)
                .json(&json!({"providers": providers})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let created = app.post_authed("/api/v1/projects", &token, &documents()).await;
    let project = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let ask = json!({"project_id": project, "operation": "video", "shot_id": "shot-1", "provider": "doubao"});
    let estimate = app.post_authed("/api/v1/ai/estimate", &token, &ask).await;
    assert_eq!(estimate.status, StatusCode::OK, "{}", estimate.body);
    let expected = usd(estimate.data());
    // Three seconds at the table's price per second would be 0.17496 USD; Seedance renders at
    // least four, and bills their tokens.
    assert!(expected > 0 && expected != 174_960, "{}", estimate.body);

    let body = json!({"project_id": project, "shot_id": "shot-1", "provider": "doubao"});
    let queued = app.post_authed("/api/v1/ai/video/generate", &token, &body).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let task = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let spent = app.get_authed("/api/v1/usage/spending?group_by=provider", &token).await;
    let report = spent.data();
    let doubao_spent = report["groups"].as_array().unwrap().iter().find(|g| g["key"] == "doubao").cloned();
    assert_eq!(doubao_spent.as_ref().map(usd), Some(expected), "{report}");
    let takes = app.get_authed(&format!("/api/v1/projects/{project}/takes?slot=clip/shot-1"), &token).await;
    assert_eq!(takes.data()["takes"][0]["cost"]["micros"], expected, "{}", takes.body);

    // The seed the vendor rendered with is kept, and a re-run of the take renders with it again.
    let first = takes.data()["takes"][0].clone();
    let seed = first["provenance"]["params"]["seed"].as_i64().unwrap_or_else(|| panic!("no seed: {first}"));
    let rerun = format!("/api/v1/projects/{project}/takes/{}/rerun", first["id"].as_str().unwrap());
    let queued = app.post_authed(&rerun, &token, &json!({})).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.body);
    let task = app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    assert_eq!(task["status"], "completed", "{task}");
    let takes = app.get_authed(&format!("/api/v1/projects/{project}/takes?slot=clip/shot-1"), &token).await;
    let again = takes.data()["takes"][0].clone();
    assert_ne!(again["id"], first["id"], "{}", takes.body);
    assert_eq!(again["provenance"]["params"]["seed"], seed, "{again}");
    // A new clip of the shot (not a re-run) lets the vendor pick its own.
    let queued = app.post_authed("/api/v1/ai/video/generate", &token, &body).await;
    app.finished_task(&token, queued.data()["task"]["id"].as_str().unwrap()).await;
    let takes = app.get_authed(&format!("/api/v1/projects/{project}/takes?slot=clip/shot-1"), &token).await;
    assert_ne!(takes.data()["takes"][0]["provenance"]["params"]["seed"], seed, "{}", takes.body);
}
