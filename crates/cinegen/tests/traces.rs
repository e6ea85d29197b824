//! Trace export: with `otlp_endpoint` set, a running server sends its request spans to an
//! OpenTelemetry collector over OTLP/HTTP, named by method and route, and flushes them on SIGTERM.

mod common;

use common::cinegen;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One export a collector received: its path, content type and decoded body.
struct Export {
    path: String,
    content_type: String,
    request: ExportTraceServiceRequest,
}

/// A collector's OTLP/HTTP receiver, as small as the protocol allows: every POST is answered 200.
fn collector() -> (u16, Arc<Mutex<Vec<Export>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let sink = sink.clone();
            std::thread::spawn(move || serve(stream, &sink));
        }
    });
    (port, received)
}

fn serve(stream: TcpStream, sink: &Mutex<Vec<Export>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let (mut length, mut content_type) = (0usize, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "content-type" => content_type = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("an OTLP protobuf body");
        sink.lock().unwrap().push(Export { path, content_type, request });
        writer
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    }
}

#[tokio::test]
async fn request_spans_reach_the_collector_by_route() {
    let (collector_port, received) = collector();
    let dir = std::env::temp_dir().join(format!("cinegen-traces-{}", uuid::Uuid::new_v4()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = cinegen(&["serve", "--addr", &format!("127.0.0.1:{port}"), "--data-dir", dir.to_str().unwrap()])
        .env("CINEGEN_OTLP_ENDPOINT", format!("http://127.0.0.1:{collector_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{base}/health")).await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "cinegen serve did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let project = format!("{base}/api/v1/projects/{}", uuid::Uuid::new_v4());
    assert_eq!(reqwest::get(&project).await.unwrap().status(), 401);
    // A task that calls a provider (the offline one): its run and its call are spans too.
    let client = reqwest::Client::new();
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    let registered = post(
        "/api/v1/auth/register",
        None,
        json!({"email": "traces@example.com", "password": "correct horse battery staple", "name": "Traces"}),
    )
    .await;
    let token = registered["data"]["tokens"]["access"].as_str().unwrap().to_owned();
    let script =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/scripts/dukou-zh.txt")).unwrap();
    let created = post("/api/v1/projects", Some(&token), json!({"title": "渡口记", "raw_script": script})).await;
    let id = created["data"]["project"]["id"].as_str().unwrap().to_owned();
    let parse = post("/api/v1/ai/script/parse", Some(&token), json!({"project_id": id})).await;
    let task = parse["data"]["task"]["id"].as_str().unwrap_or_else(|| panic!("{parse}")).to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer: serde_json::Value = client
            .get(format!("{base}/api/v1/ai/tasks/{task}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if answer["data"]["task"]["status"] == "completed" {
            break;
        }
        assert!(Instant::now() < deadline, "the parse did not finish: {answer}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The batch is sent at once on SIGTERM, not on the exporter's schedule.
    let stopped = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(stopped.success());
    let exit = tokio::task::spawn_blocking(move || server.wait().unwrap()).await.unwrap();
    assert!(exit.success(), "{exit:?}");

    let received = received.lock().unwrap();
    assert!(!received.is_empty(), "no export reached the collector");
    let (mut names, mut spans_by_name) = (Vec::new(), std::collections::HashMap::new());
    for export in received.iter() {
        assert_eq!(export.path, "/v1/traces");
        assert_eq!(export.content_type, "application/x-protobuf");
        for spans in &export.request.resource_spans {
            let service = spans.resource.as_ref().unwrap().attributes.iter().find(|a| a.key == "service.name");
            let service = service.and_then(|a| a.value.as_ref()).and_then(|v| v.value.clone());
            assert_eq!(service, Some(AnyValue::StringValue("cinegen".into())));
            for scope in &spans.scope_spans {
                for span in &scope.spans {
                    names.push(span.name.clone());
                    spans_by_name.insert(span.name.clone(), span.clone());
                }
            }
        }
    }
    assert!(names.contains(&"GET /health".to_owned()), "{names:?}");
    assert!(names.contains(&"GET /api/v1/projects/{id}".to_owned()), "{names:?}");
    assert!(names.contains(&"POST /api/v1/ai/script/parse".to_owned()), "{names:?}");
    let (run, call) = (&spans_by_name["task ai.script_parse"], &spans_by_name["local complete"]);
    assert_eq!(
        (&call.trace_id, &call.parent_span_id),
        (&run.trace_id, &run.span_id),
        "the call is inside the task's run"
    );
    let _ = std::fs::remove_dir_all(dir);
}
