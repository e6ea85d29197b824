//! One provider emulator as a process, for rehearsals of the whole topology (`scripts/cluster`):
//! `provider-emulator kling --key ak --secret sk --fault-rate 0.3 --latency-ms 1000`. Prints its
//! base URL on the first line of standard output, then serves until stopped. `GET
//! /_emulator/stats` answers what it saw: calls, jobs submitted by kind, and any request that
//! departed from the vendor's wire format.

use axum::Json;
use axum::routing::get;
use cinegen_emulators::{Emulator, deepseek, doubao, doubao_speech, gemini, kling, minimax, openai, yunwu};
use serde_json::json;
use std::io::Write;
use std::time::Duration;

const USAGE: &str =
    "usage: provider-emulator VENDOR --key KEY [--secret SECRET] [--fault-rate 0.3] [--latency-ms 1000] [--polls N]
vendors: openai deepseek gemini kling minimax doubao doubao-speech yunwu";

struct Options {
    vendor: String,
    key: String,
    secret: String,
    fault_rate: f64,
    latency: Duration,
    polls: Option<u32>,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let vendor = args.next().ok_or("a vendor is required")?;
    let mut options = Options {
        vendor,
        key: String::new(),
        secret: "emulator-secret".into(),
        fault_rate: 0.0,
        latency: Duration::ZERO,
        polls: None,
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: '{v}' is not a number"));
        match flag.as_str() {
            "--key" => options.key = value,
            "--secret" => options.secret = value,
            "--fault-rate" => options.fault_rate = number(&value)?,
            "--latency-ms" => options.latency = Duration::from_millis(number(&value)? as u64),
            "--polls" => options.polls = Some(number(&value)? as u32),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.key.is_empty() {
        return Err("--key is required".into());
    }
    Ok(options)
}

async fn start(options: &Options) -> Result<Emulator, String> {
    let key = options.key.as_str();
    Ok(match options.vendor.as_str() {
        "openai" => openai::start(key).await,
        "deepseek" => deepseek::start(key).await,
        "gemini" => gemini::start(key).await,
        "kling" => kling::start(key, &options.secret).await,
        "minimax" => minimax::start(key).await,
        "doubao" => doubao::start(key).await,
        "doubao-speech" => doubao_speech::start(key, &options.secret).await,
        "yunwu" => yunwu::start(key).await,
        other => return Err(format!("unknown vendor {other}")),
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("provider-emulator: {error}\n{USAGE}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let emulator = match start(&options).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("provider-emulator: {error}\n{USAGE}");
            return std::process::ExitCode::FAILURE;
        }
    };
    emulator.shared.set_fault_rate(options.fault_rate);
    emulator.set_latency(options.latency);
    if let Some(polls) = options.polls {
        emulator.set_polls_until_done(polls);
    }
    // The stats answer on a port of their own, so they are never delayed, faulted or counted.
    let stats = emulator.shared.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let stats_url = format!("http://{}", listener.local_addr().expect("bound"));
    let routes = axum::Router::new().route(
        "/_emulator/stats",
        get(move || {
            let shared = stats.clone();
            async move {
                Json(json!({"calls": shared.call_count(), "jobs": shared.job_counts(), "violations": shared.violation_list()}))
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, routes).await;
    });
    println!("{} {stats_url}", emulator.base_url);
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    std::process::ExitCode::SUCCESS
}
