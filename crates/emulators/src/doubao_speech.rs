//! Doubao speech (Volcengine openspeech), the synchronous HTTP TTS call: `POST /api/v1/tts` with
//! `Authorization: Bearer;{token}` (semicolon, no space) and the App ID and token in the body's
//! `app`; success is `code` 3000 with base64 audio in `data` and its length in
//! `addition.duration` (milliseconds, a string). Errors keep the envelope with another code.

use crate::harness::{Emulator, Fault, Shared, garbage, json, parse_body};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::sync::Arc;

/// Starts an emulator for an access token `key` and App ID `app_id`; adapters use its `base_url`.
pub async fn start(key: &str, app_id: &str) -> Emulator {
    let routes = Router::new().route("/api/v1/tts", post(tts));
    Emulator::start(routes, Shared::new(key, Some(app_id))).await
}

const ENCODINGS: [&str; 4] = ["wav", "pcm", "ogg_opus", "mp3"];
const CLUSTERS: [&str; 2] = ["volcano_tts", "volcano_icl"];

fn failure(status: StatusCode, reqid: &str, code: u32, message: &str) -> Response {
    json(status, json!({"reqid": reqid, "code": code, "operation": "query", "message": message, "sequence": -1}))
}

fn fault_answer(fault: Fault, reqid: &str) -> Response {
    match fault {
        Fault::Unauthorized => failure(
            StatusCode::UNAUTHORIZED,
            reqid,
            3001,
            "authenticate request: load grant: requested grant not found",
        ),
        Fault::RateLimited { .. } => failure(StatusCode::OK, reqid, 3003, "quota exceeded for types: concurrency"),
        Fault::ServerError => failure(StatusCode::INTERNAL_SERVER_ERROR, reqid, 3031, "processing error"),
        Fault::Refusal => failure(StatusCode::OK, reqid, 3011, "invalid text: text contains sensitive content"),
        Fault::Malformed => garbage(),
        Fault::Slow(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn tts(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    const ROUTE: &str = "POST /api/v1/tts";
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    shared.expect(authorization.starts_with("Bearer;"), || {
        format!(
            "{ROUTE}: the header is 'Authorization: Bearer;{{token}}' (a semicolon), not '{}'",
            authorization.split(' ').next().unwrap_or("")
        )
    });
    let Some(body) = parse_body(&shared, ROUTE, &body) else {
        return failure(StatusCode::BAD_REQUEST, "", 3001, "invalid request: body is not JSON");
    };
    let reqid = body.pointer("/request/reqid").and_then(Value::as_str).unwrap_or_default().to_owned();
    let token_ok = authorization.strip_prefix("Bearer;") == Some(shared.key.as_str())
        && body.pointer("/app/token").and_then(Value::as_str) == Some(shared.key.as_str());
    let app_ok = body.pointer("/app/appid").and_then(Value::as_str) == shared.secret.as_deref();
    if !token_ok || !app_ok {
        return fault_answer(Fault::Unauthorized, &reqid);
    }
    if let Some(fault) = shared.take_fault() {
        return fault_answer(fault, &reqid);
    }
    shared.expect(!reqid.is_empty(), || format!("{ROUTE}: request.reqid is required (unique per call)"));
    shared.expect_field(ROUTE, &body, "/app/cluster", |c| c.as_str().is_some_and(|c| CLUSTERS.contains(&c)));
    shared.expect_field(ROUTE, &body, "/user/uid", Value::is_string);
    shared.expect_field(ROUTE, &body, "/audio/voice_type", Value::is_string);
    shared.expect_field(ROUTE, &body, "/request/operation", |o| o == "query");
    let text = body.pointer("/request/text").and_then(Value::as_str).unwrap_or_default();
    shared.expect(!text.is_empty() && text.len() <= 1024, || format!("{ROUTE}: text must be 1–1024 bytes"));
    let encoding = body.pointer("/audio/encoding").and_then(Value::as_str).unwrap_or("pcm");
    shared.expect(ENCODINGS.contains(&encoding), || format!("{ROUTE}: encoding '{encoding}'"));
    let speed = body.pointer("/audio/speed_ratio").map_or(Some(1.0), Value::as_f64);
    shared.expect(speed.is_some_and(|s| (0.8..=2.0).contains(&s)), || format!("{ROUTE}: speed_ratio must be 0.8–2"));
    if body.pointer("/audio/emotion").is_some() {
        shared.expect(body.pointer("/audio/enable_emotion") == Some(&json!(true)), || {
            format!("{ROUTE}: emotion is ignored unless enable_emotion is true")
        });
    }
    let voice = body.pointer("/audio/voice_type").and_then(Value::as_str).unwrap_or_default();
    let wav = crate::harness::speech_wav(text, voice, speed.unwrap_or(1.0));
    let millis = (wav.len().saturating_sub(44) as u64) * 1000 / 32_000;
    json(
        StatusCode::OK,
        json!({"reqid": reqid, "code": 3000, "operation": "query", "message": "Success", "sequence": -1,
               "data": STANDARD.encode(&wav), "addition": {"duration": millis.to_string()}}),
    )
}
