//! Every account path over HTTP against the real app, on SQLite and PostgreSQL.

mod common;

use base64::Engine as _;
use cinegen_store::Engine;
use common::{JWT_SECRET, PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

on_both_engines!(
    register_signs_in_with_quota_figures,
    duplicate_email_in_another_case_is_taken,
    bad_registration_input_is_refused_with_field_errors,
    oversize_and_non_json_bodies_are_refused,
    login_accepts_any_email_case,
    wrong_password_and_unknown_email_answer_alike,
    failed_logins_are_limited_per_account,
    failed_logins_are_limited_per_ip,
    bad_access_tokens_are_refused,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_works_from_the_cookie,
    logout_ends_the_session,
);

async fn register_signs_in_with_quota_figures(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let answer = app
        .post(
            "/api/v1/auth/register",
            &json!({ "email": " Lin.Daiyu@Example.COM ", "password": PASSWORD, "name": "林黛玉 🌸" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.body["code"], 0);
    assert!(answer.body["timestamp"].as_i64().unwrap() > 1_700_000_000);
    let user = &answer.data()["user"];
    assert_eq!(user["email"], "lin.daiyu@example.com");
    assert_eq!(user["name"], "林黛玉 🌸");
    assert_eq!(user["quota_total"], 5 * 1024 * 1024 * 1024_i64);
    assert_eq!(user["quota_used"], 0);
    assert_eq!(user["quota_percent"], 0.0);
    assert!(user.get("password_hash").is_none());
    let tokens = &answer.data()["tokens"];
    assert_eq!(tokens["expiresIn"], 900);
    let cookie = answer.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("cinegen_refresh="), "{cookie}");

    let me = app.get_authed("/api/v1/auth/me", tokens["access"].as_str().unwrap()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.data()["user"]["id"], user["id"]);
    assert_eq!(me.data()["user"]["quota_percent"], 0.0);
}

async fn duplicate_email_in_another_case_is_taken(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.register("mei@example.com").await;
    let again = app
        .post("/api/v1/auth/register", &json!({ "email": "MEI@Example.com", "password": PASSWORD, "name": "Other" }))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "EMAIL_TAKEN");
}

fn fields_of(body: &Value) -> Vec<String> {
    body["error"]["details"]["fields"]
        .as_array()
        .map(|list| list.iter().map(|f| f["field"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

async fn bad_registration_input_is_refused_with_field_errors(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let path = "/api/v1/auth/register";
    let huge_email = format!("{}@example.com", "a".repeat(200_000));
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (json!({ "email": "a@example.com", "password": PASSWORD }), StatusCode::UNPROCESSABLE_ENTITY, "name"),
        (json!({ "email": 42, "password": PASSWORD, "name": "x" }), StatusCode::UNPROCESSABLE_ENTITY, "email"),
        (
            json!({ "email": "a@example.com", "password": ["x"], "name": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({ "email": "a@example.com", "password": "x", "name": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "password",
        ),
        (
            json!({ "email": "not-an-email", "password": PASSWORD, "name": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "email",
        ),
        (json!({ "email": huge_email, "password": PASSWORD, "name": "x" }), StatusCode::UNPROCESSABLE_ENTITY, "email"),
        (
            json!({ "email": "a@example.com", "password": PASSWORD, "name": "   " }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "name",
        ),
        (json!([1, 2, 3]), StatusCode::UNPROCESSABLE_ENTITY, "body"),
    ];
    for (body, status, field) in cases {
        let answer = app.post(path, &body).await;
        assert_eq!(answer.status, status, "{body:.80}: {}", answer.body);
        assert_eq!(answer.error_code(), "VALIDATION_ERROR");
        assert!(fields_of(&answer.body).contains(&field.to_owned()), "{field} not named in {}", answer.body);
    }
    let malformed = app
        .send(app.client.post(app.url(path)).header("content-type", "application/json").body("{\"email\": \"a@b.co\","))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_code(), "VALIDATION_ERROR");
    assert!(malformed.body["error"]["message"].as_str().unwrap().contains("malformed JSON"));
    // Nothing was created by any of it.
    assert_eq!(app.login("a@example.com", PASSWORD).await.error_code(), "INVALID_CREDENTIALS");
}

async fn oversize_and_non_json_bodies_are_refused(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.body_limit = "64KiB".into()).await;
    let path = "/api/v1/auth/register";
    let big = json!({ "email": "big@example.com", "password": PASSWORD, "name": "x".repeat(100_000) });
    let answer = app.post_oversize(path, None, &big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.error_code(), "PAYLOAD_TOO_LARGE");
    let form = app.send(app.client.post(app.url(path)).body("email=a@b.co&password=x")).await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(form.error_code(), "VALIDATION_ERROR");
}

async fn login_accepts_any_email_case(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    app.register("zhou@example.com").await;
    let answer = app.login("ZHOU@EXAMPLE.com", PASSWORD).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.data()["user"]["email"], "zhou@example.com");
    assert!(answer.data()["tokens"]["refresh"].as_str().unwrap().len() > 20);
}

async fn wrong_password_and_unknown_email_answer_alike(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.login_failures_per_account = 1000;
        c.login_failures_per_ip = 1000;
    })
    .await;
    app.register("known@example.com").await;
    let mut wrong_times = Vec::new();
    let mut unknown_times = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..8 {
        let started = Instant::now();
        let wrong = app.login("known@example.com", "not the password").await;
        wrong_times.push(started.elapsed());
        let started = Instant::now();
        let unknown = app.login("nobody@example.com", "not the password").await;
        unknown_times.push(started.elapsed());
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
        bodies.push((wrong.body["error"].clone(), unknown.body["error"].clone()));
    }
    for (wrong, unknown) in &bodies {
        assert_eq!(wrong, unknown);
        assert_eq!(wrong["code"], "INVALID_CREDENTIALS");
    }
    // Both paths verify one argon2id hash (tens of milliseconds), so their medians are of one
    // order; an unknown email that skipped hashing would answer in about a millisecond. The bounds
    // are wide because other tests share the machine's cores.
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64()
    };
    let (wrong, unknown) = (median(wrong_times), median(unknown_times));
    let ratio = unknown / wrong;
    assert!((0.3..3.3).contains(&ratio), "unknown {unknown:.4}s vs wrong {wrong:.4}s");
}

async fn failed_logins_are_limited_per_account(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.login_failures_per_account = 3).await;
    app.register("target@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.login("target@example.com", "guess guess").await.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app.login("TARGET@example.com", "guess guess").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.error_code(), "RATE_LIMITED");
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");
    // While limited, even the right password waits: the limit protects the account.
    assert_eq!(app.login("target@example.com", PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn failed_logins_are_limited_per_ip(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.login_failures_per_account = 100;
        c.login_failures_per_ip = 4;
    })
    .await;
    for i in 0..4 {
        let answer = app.login(&format!("spray{i}@example.com"), "guess guess").await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    let limited = app.login("spray-next@example.com", "guess guess").await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
}

fn forge(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn bad_access_tokens_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("tokens@example.com").await;
    let access = session["tokens"]["access"].as_str().unwrap();
    let refresh = session["tokens"]["refresh"].as_str().unwrap();
    let claims = claims_of(access);

    let mut tampered = access.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    let mut elevated = claims.clone();
    elevated["sub"] = json!(uuid::Uuid::now_v7());
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", access.split('.').nth(1).unwrap());

    let cases = [
        (tampered.clone(), "INVALID_TOKEN"),
        (forge(&expired, JWT_SECRET), "TOKEN_EXPIRED"),
        (forge(&elevated, "some-other-secret-of-sufficient-length!"), "INVALID_TOKEN"),
        (alg_none, "INVALID_TOKEN"),
        (refresh.to_owned(), "INVALID_TOKEN"),
        ("garbage".to_owned(), "INVALID_TOKEN"),
    ];
    for (token, code) in cases {
        let answer = app.get_authed("/api/v1/auth/me", &token).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(answer.error_code(), code, "{token}");
    }
    let missing = app.get("/api/v1/auth/me").await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert_eq!(missing.error_code(), "INVALID_TOKEN");
    // An access token is not a refresh token either.
    let swapped = app.post("/api/v1/auth/refresh", &json!({ "refresh": access })).await;
    assert_eq!(swapped.error_code(), "INVALID_TOKEN");
}

async fn refresh_rotates_and_reuse_revokes_the_family(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("rotate@example.com").await;
    let first_refresh = session["tokens"]["refresh"].as_str().unwrap().to_owned();

    let rotated = app.post("/api/v1/auth/refresh", &json!({ "refresh": first_refresh })).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let second_refresh = rotated.data()["refresh"].as_str().unwrap().to_owned();
    let second_access = rotated.data()["access"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert_eq!(rotated.data()["expiresIn"], 900);
    assert_eq!(app.get_authed("/api/v1/auth/me", &second_access).await.status, StatusCode::OK);

    // Replaying the spent token ends the whole session, including the tokens issued after it.
    let replay = app.post("/api/v1/auth/refresh", &json!({ "refresh": first_refresh })).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.error_code(), "INVALID_TOKEN");
    let successor = app.post("/api/v1/auth/refresh", &json!({ "refresh": second_refresh })).await;
    assert_eq!(successor.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get_authed("/api/v1/auth/me", &second_access).await.status, StatusCode::UNAUTHORIZED);

    // Another login of the same user is untouched.
    let other = app.login("rotate@example.com", PASSWORD).await;
    let other_access = other.data()["tokens"]["access"].as_str().unwrap();
    assert_eq!(app.get_authed("/api/v1/auth/me", other_access).await.status, StatusCode::OK);

    let unknown = app.post("/api/v1/auth/refresh", &json!({ "refresh": "not-a-token" })).await;
    assert_eq!(unknown.error_code(), "INVALID_TOKEN");
    let empty = app.send(app.client.post(app.url("/api/v1/auth/refresh"))).await;
    assert_eq!(empty.status, StatusCode::UNAUTHORIZED);
}

async fn refresh_works_from_the_cookie(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("cookie@example.com").await;
    let refresh = session["tokens"]["refresh"].as_str().unwrap();
    let answer = app
        .send(app.client.post(app.url("/api/v1/auth/refresh")).header("cookie", format!("cinegen_refresh={refresh}")))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let cookie = answer.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.contains(answer.data()["refresh"].as_str().unwrap()));
}

async fn logout_ends_the_session(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let session = app.register("bye@example.com").await;
    let access = session["tokens"]["access"].as_str().unwrap();
    let refresh = session["tokens"]["refresh"].as_str().unwrap();
    let out = app.post_authed("/api/v1/auth/logout", access, &json!({})).await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(out.headers["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let me = app.get_authed("/api/v1/auth/me", access).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    assert_eq!(me.error_code(), "INVALID_TOKEN");
    let again = app.post("/api/v1/auth/refresh", &json!({ "refresh": refresh })).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let twice = app.post_authed("/api/v1/auth/logout", access, &json!({})).await;
    assert_eq!(twice.status, StatusCode::UNAUTHORIZED);
}
