//! What every emulator shares: the server on a loopback port, the queue of faults to play, the
//! record of calls and violations, expiring file links, and generated media.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A misbehaviour played on the next request that can show it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The key is refused (401 or the vendor's equivalent).
    Unauthorized,
    /// Throttled, with the vendor's retry hint.
    RateLimited { retry_after_secs: u64 },
    /// An internal error (500 or the vendor's equivalent).
    ServerError,
    /// A content-policy refusal, in the form the vendor uses for the route.
    Refusal,
    /// An answer that is not the documented shape.
    Malformed,
    /// No answer for this long.
    Slow(Duration),
}

/// A generation job the emulator keeps between submit and poll.
#[derive(Debug, Clone)]
pub struct Job {
    pub kind: String,
    pub request: Value,
    pub polls: u32,
    pub cancelled: bool,
    /// The job ends in a refusal instead of a result.
    pub refused: bool,
}

/// What a chat model answers, given the system and user prompts (a JSON text).
pub type ChatResponder = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

pub struct Shared {
    pub key: String,
    /// Kling's secret key (its JWTs are signed with it).
    pub secret: Option<String>,
    faults: Mutex<VecDeque<Fault>>,
    violations: Mutex<Vec<String>>,
    calls: Mutex<Vec<String>>,
    latency: Mutex<Duration>,
    jobs: Mutex<HashMap<String, Job>>,
    files: Mutex<HashMap<String, (Bytes, &'static str, Instant)>>,
    /// Polls a job answers "running" before it is done.
    pub polls_until_done: AtomicU32,
    base_url: OnceLock<String>,
    next_id: AtomicU32,
    responder: Mutex<Option<ChatResponder>>,
    /// Faults per thousand requests played without being queued (throttling and server errors,
    /// alternately), for rehearsals of a vendor having a bad day.
    fault_permille: AtomicU32,
    requests_seen: AtomicU32,
    /// Every request as it arrived, for comparing what two clients send for one operation.
    recorded: Mutex<Vec<Value>>,
    /// Job submissions still to be accepted and then never answered (a crash, a cut line).
    lost_answers: AtomicU32,
    /// When set, jobs that name a callback URL finish this long after submission and the
    /// vendor's callback is posted there; unset, callbacks never come (an unreachable address).
    callback_after: Mutex<Option<Duration>>,
    /// Callbacks posted so far: (url, the HTTP status the receiver answered).
    callbacks_sent: Mutex<Vec<(String, u16)>>,
}

/// Renders the body of a job's callback: the vendor's view of the finished job.
pub type CallbackBody = Box<dyn FnOnce(Arc<Shared>, String, Job) -> futures::future::BoxFuture<'static, Value> + Send>;

impl Shared {
    pub fn new(key: &str, secret: Option<&str>) -> Arc<Self> {
        Arc::new(Self {
            key: key.into(),
            secret: secret.map(str::to_owned),
            faults: Mutex::default(),
            violations: Mutex::default(),
            calls: Mutex::default(),
            latency: Mutex::new(Duration::ZERO),
            jobs: Mutex::default(),
            files: Mutex::default(),
            polls_until_done: AtomicU32::new(1),
            base_url: OnceLock::new(),
            next_id: AtomicU32::new(1),
            responder: Mutex::new(None),
            fault_permille: AtomicU32::new(0),
            requests_seen: AtomicU32::new(0),
            recorded: Mutex::default(),
            lost_answers: AtomicU32::new(0),
            callback_after: Mutex::new(None),
            callbacks_sent: Mutex::default(),
        })
    }

    pub fn base_url(&self) -> &str {
        self.base_url.get().map_or("", String::as_str)
    }

    /// The next fault to play, if any (stalls are played by the server before handlers run).
    pub fn take_fault(&self) -> Option<Fault> {
        let mut faults = self.faults.lock().unwrap();
        match faults.front() {
            Some(Fault::Slow(_)) => None,
            None => self.random_fault(),
            Some(_) => faults.pop_front(),
        }
    }

    /// A fault at the configured rate, spread evenly over the requests (request n faults when
    /// the running count of faults due passes a whole number).
    fn random_fault(&self) -> Option<Fault> {
        let permille = self.fault_permille.load(Ordering::Relaxed);
        if permille == 0 {
            return None;
        }
        let n = self.requests_seen.fetch_add(1, Ordering::Relaxed);
        let due = |n: u32| u64::from(n) * u64::from(permille) / 1000;
        (due(n + 1) > due(n))
            .then(|| if due(n) % 2 == 0 { Fault::RateLimited { retry_after_secs: 1 } } else { Fault::ServerError })
    }

    /// Makes this share of requests (0.0 to 1.0) fail with a 429 or a 5xx, alternately.
    pub fn set_fault_rate(&self, rate: f64) {
        self.fault_permille.store((rate.clamp(0.0, 1.0) * 1000.0).round() as u32, Ordering::Relaxed);
    }

    /// Requests received so far as `{method, path, query, headers, body}` (see [`recorded`]).
    pub fn recorded_requests(&self) -> Vec<Value> {
        self.recorded.lock().unwrap().clone()
    }

    /// Forgets the recorded requests, so the next ones are one operation's.
    pub fn clear_recorded(&self) {
        self.recorded.lock().unwrap().clear();
    }

    /// Plays `fault` on the next request that can show it.
    pub fn push_fault(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    /// Requests received so far (file downloads aside).
    pub fn call_count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    /// Requests that departed from the documented format, so far.
    pub fn violation_list(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    /// How many jobs of each kind were submitted (a resubmission shows as one too many).
    pub fn job_counts(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for job in self.jobs.lock().unwrap().values() {
            *counts.entry(job.kind.clone()).or_default() += 1;
        }
        counts
    }

    fn take_stall(&self) -> Option<Duration> {
        let mut faults = self.faults.lock().unwrap();
        match faults.front() {
            Some(Fault::Slow(pause)) => {
                let pause = *pause;
                faults.pop_front();
                Some(pause)
            }
            _ => None,
        }
    }

    /// Records that a request departed from the documented format.
    pub fn violation(&self, what: impl Into<String>) {
        self.violations.lock().unwrap().push(what.into());
    }

    /// Checks `condition`; a failed check is recorded as a violation. Returns the condition.
    pub fn expect(&self, condition: bool, what: impl FnOnce() -> String) -> bool {
        if !condition {
            self.violation(what());
        }
        condition
    }

    /// Checks that `body[field]` exists and satisfies `test`.
    pub fn expect_field(&self, route: &str, body: &Value, field: &str, test: impl Fn(&Value) -> bool) -> bool {
        let value = body.pointer(field).unwrap_or(&Value::Null);
        self.expect(!value.is_null() && test(value), || format!("{route}: field {field} is missing or wrong: {value}"))
    }

    /// Whether the `Authorization: Bearer` header carries the emulator's key.
    pub fn bearer_ok(&self, route: &str, headers: &HeaderMap) -> bool {
        let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
        if !value.starts_with("Bearer ") {
            self.violation(format!("{route}: no 'Authorization: Bearer …' header"));
            return false;
        }
        value["Bearer ".len()..] == self.key
    }

    pub fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.next_id.fetch_add(1, Ordering::Relaxed) + 1000)
    }

    pub fn add_job(&self, id: &str, job: Job) {
        self.jobs.lock().unwrap().insert(id.into(), job);
    }

    /// Counts a poll of job `id` and answers its state after it.
    pub fn poll_job(&self, id: &str) -> Option<Job> {
        let mut jobs = self.jobs.lock().unwrap();
        let job = jobs.get_mut(id)?;
        job.polls += 1;
        Some(job.clone())
    }

    /// The jobs of `kind`, newest first (ids end in a rising number).
    pub fn jobs_of(&self, kind: &str) -> Vec<(String, Job)> {
        let rank = |id: &str| id.chars().rev().take_while(char::is_ascii_digit).count();
        let mut jobs: Vec<(String, Job)> = self
            .jobs
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, j)| j.kind == kind)
            .map(|(i, j)| (i.clone(), j.clone()))
            .collect();
        jobs.sort_by(|(a, _), (b, _)| (rank(b), b.as_str()).cmp(&(rank(a), a.as_str())));
        jobs
    }

    /// Makes the next `count` job submissions be accepted and then never answered, as when the
    /// line drops after the vendor took the job.
    pub fn lose_next_answers(&self, count: u32) {
        self.lost_answers.store(count, Ordering::SeqCst);
    }

    /// Whether this submission's answer is to be lost (counting it).
    pub fn take_lost_answer(&self) -> bool {
        self.lost_answers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }

    /// Never answers: the caller's deadline passes first.
    pub async fn never_answer(&self) -> Response {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        StatusCode::GATEWAY_TIMEOUT.into_response()
    }

    /// Jobs naming a callback URL finish `after` their submission and are called back.
    pub fn call_back_after(&self, after: Duration) {
        *self.callback_after.lock().unwrap() = Some(after);
    }

    /// The callbacks posted so far, with the status each receiver answered.
    pub fn callbacks_sent(&self) -> Vec<(String, u16)> {
        self.callbacks_sent.lock().unwrap().clone()
    }

    /// Makes job `id` done at its next poll.
    pub fn finish_job(&self, id: &str) {
        let threshold = self.polls_until_done.load(Ordering::Relaxed);
        if let Some(job) = self.jobs.lock().unwrap().get_mut(id) {
            job.polls = job.polls.max(threshold);
        }
    }

    /// Where callbacks are on, finishes job `id` after the set delay and posts `body`'s
    /// rendering of it to `url`, as the vendor does on a status change (retried up to 3 times
    /// while the receiver does not answer 2xx, as Ark documents).
    pub fn schedule_callback(self: &Arc<Self>, id: &str, url: &str, body: CallbackBody) {
        let Some(after) = *self.callback_after.lock().unwrap() else { return };
        let (shared, id, url) = (self.clone(), id.to_owned(), url.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            shared.finish_job(&id);
            let Some(job) = shared.job(&id) else { return };
            let payload = body(shared.clone(), id.clone(), job).await;
            let client = reqwest::Client::new();
            for _ in 0..3 {
                let status = match client.post(&url).json(&payload).send().await {
                    Ok(answer) => answer.status().as_u16(),
                    Err(_) => 0,
                };
                shared.callbacks_sent.lock().unwrap().push((url.clone(), status));
                if (200..300).contains(&status) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }

    pub fn job(&self, id: &str) -> Option<Job> {
        self.jobs.lock().unwrap().get(id).cloned()
    }

    pub fn cancel_job(&self, id: &str) -> bool {
        self.jobs.lock().unwrap().get_mut(id).map(|job| job.cancelled = true).is_some()
    }

    pub fn is_done(&self, job: &Job) -> bool {
        job.polls > self.polls_until_done.load(Ordering::Relaxed)
    }

    /// Keeps `bytes` and answers a link that expires after `ttl`, as vendors' signed links do.
    pub fn file_url(&self, bytes: Bytes, content_type: &'static str, ttl: Duration) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let extension = if content_type == "video/mp4" { "mp4" } else { "png" };
        self.files.lock().unwrap().insert(id.clone(), (bytes, content_type, Instant::now() + ttl));
        format!("{}/_files/{id}.{extension}?Expires={}", self.base_url(), ttl.as_secs())
    }

    /// A PNG that differs per prompt and index.
    pub fn png(&self, prompt: &str, width: u32, height: u32, index: u32) -> Bytes {
        Bytes::from(cinegen_media::picture::render_png(prompt, width.clamp(16, 512), height.clamp(16, 512), index))
    }

    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap() = latency;
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    pub base_url: String,
    pub shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Emulator {
    /// Starts `routes` on a loopback port with the shared file route, stalls and the call record.
    pub async fn start(routes: Router<Arc<Shared>>, shared: Arc<Shared>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let base_url = format!("http://{}", listener.local_addr().expect("bound"));
        shared.base_url.set(base_url.clone()).expect("set once");
        let app = routes
            .route("/_files/{name}", get(serve_file))
            .route("/_emulator/requests", get(list_recorded).delete(clear_recorded))
            .route("/_emulator/faults", axum::routing::post(queue_fault))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record_and_stall))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base_url, shared, server }
    }

    /// Plays `fault` on the next request that can show it.
    pub fn fail_next(&self, fault: Fault) {
        self.shared.push_fault(fault);
    }

    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    /// Calls received so far, as `METHOD /path`.
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// Makes chat completions answer what `responder` says (the default echoes the prompt).
    pub fn set_chat_responder(&self, responder: ChatResponder) {
        *self.shared.responder.lock().unwrap() = Some(responder);
    }

    /// Makes every answer wait this long (for load tests).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// Polls a job answers "running" before it is done.
    pub fn set_polls_until_done(&self, polls: u32) {
        self.shared.polls_until_done.store(polls, Ordering::Relaxed);
    }

    /// Panics with the list of violations, if any.
    pub fn assert_conformant(&self) {
        let violations = self.violations();
        assert!(violations.is_empty(), "requests departed from the documented wire format:\n{}", violations.join("\n"));
    }
}

async fn record_and_stall(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_files/") || path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 256 << 20).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    shared.calls.lock().unwrap().push(format!("{} {}", parts.method, path));
    shared.recorded.lock().unwrap().push(recorded(&parts, &bytes));
    if let Some(pause) = shared.take_stall() {
        tokio::time::sleep(pause).await;
    }
    let latency = *shared.latency.lock().unwrap();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// A request as the comparison of clients needs it: method, path, query, headers (names in lower
/// case; credentials kept, since which header carries the key is part of the format) and the body
/// — JSON as parsed, a multipart form as its fields (`"file"` or the text value), else its length.
fn recorded(parts: &axum::http::request::Parts, body: &Bytes) -> Value {
    let headers: serde_json::Map<String, Value> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), Value::from(value.to_str().unwrap_or("<binary>"))))
        .collect();
    let query: serde_json::Map<String, Value> = parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), Value::from(value))
        })
        .collect();
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let body = if let Some(boundary) = content_type.split("boundary=").nth(1) {
        multipart_fields(body, boundary.trim_matches('"'))
    } else if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body).unwrap_or_else(|_| serde_json::json!({"bytes": body.len()}))
    };
    serde_json::json!({"method": parts.method.as_str(), "path": parts.uri.path(), "query": query, "headers": headers, "body": body})
}

/// A multipart form's fields: each name with `"file"` when the part carries a file name, else
/// its text. Repeated names (`image[]`) keep every value in a list.
fn multipart_fields(body: &[u8], boundary: &str) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut fields = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = head.split("name=\"").nth(1).and_then(|rest| rest.split('"').next()) else { continue };
        let value =
            if head.contains("filename=") { Value::from("file") } else { Value::from(value.trim_end_matches("\r\n")) };
        match fields.get_mut(name) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                fields.insert(name.to_owned(), value);
            }
        }
    }
    Value::Object(fields)
}

async fn list_recorded(State(shared): State<Arc<Shared>>) -> axum::Json<Vec<Value>> {
    axum::Json(shared.recorded_requests())
}

async fn clear_recorded(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.clear_recorded();
    StatusCode::NO_CONTENT
}

/// Queues a fault from outside the process (the SDK judges): `{"fault": "unauthorized" |
/// "rate_limited" | "server_error" | "refusal" | "malformed", "retry_after_secs": 1}`.
async fn queue_fault(State(shared): State<Arc<Shared>>, axum::Json(body): axum::Json<Value>) -> Response {
    let retry_after_secs = body.get("retry_after_secs").and_then(Value::as_u64).unwrap_or(1);
    let fault = match body.get("fault").and_then(Value::as_str) {
        Some("unauthorized") => Fault::Unauthorized,
        Some("rate_limited") => Fault::RateLimited { retry_after_secs },
        Some("server_error") => Fault::ServerError,
        Some("refusal") => Fault::Refusal,
        Some("malformed") => Fault::Malformed,
        other => return (StatusCode::BAD_REQUEST, format!("unknown fault {other:?}")).into_response(),
    };
    shared.push_fault(fault);
    StatusCode::NO_CONTENT.into_response()
}

async fn serve_file(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Query(_query): Query<HashMap<String, String>>,
) -> Response {
    let id = name.split('.').next().unwrap_or_default();
    let found = shared.files.lock().unwrap().get(id).cloned();
    match found {
        Some((bytes, content_type, expires)) if Instant::now() < expires => {
            ([(header::CONTENT_TYPE, content_type)], Body::from(bytes)).into_response()
        }
        Some(_) => (StatusCode::FORBIDDEN, "Request has expired").into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A short MP4 (made once with ffmpeg), the result of every emulated video job.
pub async fn sample_mp4() -> Bytes {
    static MP4: tokio::sync::OnceCell<Bytes> = tokio::sync::OnceCell::const_new();
    MP4.get_or_init(|| async {
        let dir = std::env::temp_dir().join(format!("cinegen-emulator-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("a temp dir");
        let still = dir.join("still.png");
        std::fs::write(&still, cinegen_media::picture::render_png("emulated video", 320, 180, 0)).expect("write");
        let out = dir.join("clip.mp4");
        let ffmpeg = cinegen_media::ffmpeg::Ffmpeg::locate().expect("ffmpeg for the emulators' videos");
        ffmpeg
            .clip(
                &cinegen_media::ffmpeg::ClipSpec {
                    frames: cinegen_media::ffmpeg::ClipFrames::Start(still),
                    duration: 1.0,
                    width: 320,
                    height: 180,
                    fps: 12,
                    out: out.clone(),
                },
                |_| {},
            )
            .await
            .expect("an emulated clip");
        let bytes = Bytes::from(std::fs::read(&out).expect("read the clip"));
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    })
    .await
    .clone()
}

/// Spoken audio as the speech vendors answer it: a mono 16-bit PCM WAV, a tone whose length
/// follows the text (about 0.2 s a character at speed 1, at least 0.6 s) and whose pitch follows
/// the voice, so lines of different lengths and voices differ.
pub fn speech_wav(text: &str, voice: &str, speed: f64) -> Bytes {
    const RATE: u32 = 16_000;
    let characters = text.chars().filter(|c| !c.is_whitespace()).count().max(1) as f64;
    let seconds = (characters * 0.2 / speed.clamp(0.25, 4.0)).clamp(0.6, 60.0);
    let samples = (seconds * f64::from(RATE)) as u32;
    let tone = 180.0 + (voice.bytes().map(u32::from).sum::<u32>() % 200) as f64;
    let mut wav = Vec::with_capacity(44 + samples as usize * 2);
    let data_len = samples * 2;
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let t = f64::from(n) / f64::from(RATE);
        let sample = (t * tone * std::f64::consts::TAU).sin() * 8000.0;
        wav.extend_from_slice(&(sample as i16).to_le_bytes());
    }
    Bytes::from(wav)
}

/// The text a chat model answers: the test's responder, else a JSON echo of the prompt.
pub fn chat_answer(shared: &Shared, system: &str, user: &str) -> String {
    let responder = shared.responder.lock().unwrap().clone();
    match responder {
        Some(responder) => responder(system, user),
        None => serde_json::json!({"answer": "ok", "echo": user.chars().take(80).collect::<String>()}).to_string(),
    }
}

/// An OpenAI-style model list (`{"object": "list", "data": [{"id", "object", "created", "owned_by"}]}`).
pub fn openai_model_list(ids: &[&str], owner: &str) -> Response {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "object": "model", "created": 1764000000, "owned_by": owner}))
        .collect();
    json(StatusCode::OK, serde_json::json!({"object": "list", "data": data}))
}

/// A JSON answer with a status.
pub fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Text that is not JSON, for the malformed-answer fault.
pub fn garbage() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "<html><body>502 Bad Gateway</body></html>")
        .into_response()
}

/// Parses a JSON body, recording a violation if it is not JSON.
pub fn parse_body(shared: &Shared, route: &str, body: &Bytes) -> Option<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Some(value),
        Err(e) => {
            shared.violation(format!("{route}: the body is not JSON: {e}"));
            None
        }
    }
}

/// Whether `text` is base64 without a `data:` prefix and decodes.
pub fn is_raw_base64(text: &str) -> bool {
    use base64::Engine;
    !text.starts_with("data:") && base64::engine::general_purpose::STANDARD.decode(text).is_ok()
}

/// Whether `text` is a `data:image/<lowercase>;base64,…` URI.
pub fn is_data_uri(text: &str) -> bool {
    text.strip_prefix("data:image/")
        .and_then(|rest| rest.split_once(";base64,"))
        .is_some_and(|(format, payload)| format == format.to_ascii_lowercase() && is_raw_base64(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_rate_fails_that_share_of_requests_evenly_with_both_kinds() {
        let shared = Shared::new("k", None);
        assert_eq!((0..100).filter_map(|_| shared.take_fault()).count(), 0, "no rate, no faults");
        shared.set_fault_rate(0.3);
        let faults: Vec<Fault> = (0..1000).filter_map(|_| shared.take_fault()).collect();
        assert_eq!(faults.len(), 300);
        let throttled = faults.iter().filter(|f| matches!(f, Fault::RateLimited { .. })).count();
        assert_eq!((throttled, faults.len() - throttled), (150, 150));
        // Never more than one fault in a row at 30 %: every window of ten holds three.
        shared.set_fault_rate(0.3);
        let window: usize = (0..10).filter(|_| shared.take_fault().is_some()).count();
        assert_eq!(window, 3);
        // A queued fault still comes first.
        shared.faults.lock().unwrap().push_back(Fault::Unauthorized);
        assert_eq!(shared.take_fault(), Some(Fault::Unauthorized));
    }
}
