//! Logging: JSON lines by default (one object per event, fields filterable), or human-readable.
//! With `otlp_endpoint` set, the same spans (each request, each task run, each provider call) are
//! also exported as OpenTelemetry traces over OTLP/HTTP.

use crate::config::LogFormat;
use axum::http;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::OnceLock;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// The trace exporter, kept so that [`flush`] can send what is still queued at exit.
static TRACES: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber. `RUST_LOG` wins over the configured level. Traces go to
/// `otlp_endpoint` when one is given (a collector's base URL such as `http://collector:4318`, or
/// its full `/v1/traces` URL); this must run inside the Tokio runtime, which sends them.
pub fn init(format: LogFormat, level: &str, otlp_endpoint: Option<&str>) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> = vec![match format {
        LogFormat::Json => fmt.json().with_current_span(true).with_span_list(false).boxed(),
        LogFormat::Pretty => fmt.boxed(),
    }];
    if let Some(endpoint) = otlp_endpoint {
        let provider = tracer_provider(endpoint)?;
        layers.push(tracing_opentelemetry::layer().with_tracer(provider.tracer("cinegen")).boxed());
        let _ = TRACES.set(provider);
    }
    // A second init (tests, several commands in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry().with(layers.with_filter(filter)).try_init();
    Ok(())
}

/// Sends the spans still queued for export; call before the process exits.
pub fn flush() {
    if let Some(provider) = TRACES.get() {
        let _ = provider.force_flush();
        let _ = provider.shutdown();
    }
}

fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = endpoint.trim_end_matches('/');
    let endpoint = if endpoint.ends_with("/v1/traces") { endpoint.to_owned() } else { format!("{endpoint}/v1/traces") };
    let client = OnTokio {
        client: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
        runtime: tokio::runtime::Handle::try_current()?,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client)
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("cinegen")
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    Ok(SdkTracerProvider::builder().with_resource(resource).with_batch_exporter(exporter).build())
}

/// The exporter's HTTP client: the exporter runs on a thread of its own, so each request is
/// handed to the Tokio runtime that our reqwest client needs.
#[derive(Debug)]
struct OnTokio {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OnTokio {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        let (parts, body) = request.into_parts();
        let sent = self.runtime.spawn(async move {
            let response =
                client.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await?;
            let (status, headers) = (response.status(), response.headers().clone());
            Ok::<_, reqwest::Error>((status, headers, response.bytes().await?))
        });
        let (status, headers, body) = sent.await??;
        let mut answer = http::Response::builder().status(status).body(body)?;
        *answer.headers_mut() = headers;
        Ok(answer)
    }
}
