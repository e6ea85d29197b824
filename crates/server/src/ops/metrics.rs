//! Every metric the server exports, named and described once. Code records through the functions
//! here, never with a metric name of its own, so the alert rules and the dashboard
//! (`deploy/prometheus`, `deploy/grafana`) have one list to follow.
//!
//! Labels hold only bounded values: route templates, task types, provider and model names,
//! outcomes. Never ids or user input.

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// Request latency buckets, from 0.5 ms (a cached read) to 10 s (a slow upload step).
const HTTP_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
/// Task and provider call buckets, from 50 ms (a text call) to 30 min (a slow video job).
const WORK_BUCKETS: [f64; 14] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0];

/// The process-wide recorder; the first call installs it and describes every metric.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full("http_request_duration_seconds".into()), &HTTP_BUCKETS)
                .and_then(|b| b.set_buckets_for_metric(Matcher::Prefix("cinegen_task_duration".into()), &WORK_BUCKETS))
                .and_then(|b| b.set_buckets_for_metric(Matcher::Prefix("cinegen_provider_call".into()), &WORK_BUCKETS))
                .expect("valid buckets")
                .install_recorder()
                .expect("one metrics recorder per process");
            describe();
            gauge!("cinegen_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

fn describe() {
    describe_counter!("http_requests_total", "HTTP answers by method, route template and status.");
    describe_histogram!("http_request_duration_seconds", Unit::Seconds, "HTTP answer time by method and route.");
    describe_gauge!("cinegen_build_info", "Always 1; the version label names the running build.");
    describe_gauge!("cinegen_queue_pending", "Tasks waiting, by type (due or backing off).");
    describe_gauge!("cinegen_queue_due", "Tasks waiting and due now, by type.");
    describe_gauge!("cinegen_queue_running", "Tasks running, by type.");
    describe_gauge!(
        "cinegen_queue_oldest_due_age_seconds",
        Unit::Seconds,
        "How long the longest-waiting due task of each type has waited."
    );
    describe_counter!("cinegen_tasks_finished_total", "Task attempts by type and outcome.");
    describe_histogram!("cinegen_task_duration_seconds", Unit::Seconds, "Task attempt run time by type and outcome.");
    describe_gauge!("cinegen_worker_slots", "Tasks this process runs at once (0: it runs none).");
    describe_gauge!("cinegen_worker_busy", "Tasks this process is running now.");
    describe_counter!(
        "cinegen_provider_calls_total",
        "Provider calls by provider, model, capability, operation and outcome."
    );
    describe_histogram!(
        "cinegen_provider_call_duration_seconds",
        Unit::Seconds,
        "Provider call time by provider, model, capability and operation."
    );
    describe_counter!(
        "cinegen_provider_responses_total",
        "HTTP answers from providers by provider, model, capability and status."
    );
    describe_counter!(
        "cinegen_provider_throttled_total",
        "Throttled provider answers (429, or the vendor's rate-limit code) by provider, model and capability."
    );
    describe_counter!(
        "cinegen_provider_units_total",
        "Units spent at providers: tokens (text), images (image), seconds (video)."
    );
    describe_counter!(
        "cinegen_provider_fallbacks_total",
        "Calls that went to a user's fallback provider because the first was down, by capability, from and to."
    );
    describe_counter!(
        "cinegen_provider_keys_parked_total",
        "Provider keys set aside after their vendor refused them, by provider, whose (server or user) and reason."
    );
    describe_counter!("cinegen_storage_written_bytes_total", Unit::Bytes, "Bytes written to the file store.");
    describe_counter!("cinegen_storage_failures_total", "File store operations that failed, by operation.");
    describe_gauge!("cinegen_database_up", "1 when the database answered at the last scrape, else 0.");
    describe_counter!("cinegen_quota_exceeded_total", "Writes refused over an owner's quota, by quota.");
    describe_gauge!("cinegen_db_pool_connections", "Database connections by state (open, idle, max).");
    describe_gauge!(
        "cinegen_db_pool_acquire_seconds",
        Unit::Seconds,
        "How long taking a database connection took at the last scrape."
    );
    describe_gauge!("cinegen_websockets_open", "Live feeds open on this instance.");
    describe_counter!("cinegen_login_failures_total", "Failed sign-ins by reason.");
    describe_counter!("cinegen_rate_limited_total", "Requests refused over a limit, by budget.");
}

/// One HTTP answer.
pub fn http_answer(method: String, route: String, status: u16, elapsed: Duration) {
    counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    histogram!("http_request_duration_seconds", "method" => method, "route" => route).record(elapsed);
}

/// How an attempt ended, as a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskOutcome {
    Completed,
    Retried,
    Failed,
    Cancelled,
    /// Another worker holds it now (this one stalled or lost its lease).
    LeaseLost,
    /// Given back at shutdown for another worker to resume.
    HandedBack,
}

impl TaskOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Retried => "retried",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::LeaseLost => "lease_lost",
            Self::HandedBack => "handed_back",
        }
    }
}

pub fn task_finished(task_type: &str, outcome: TaskOutcome, elapsed: Duration) {
    let (task_type, outcome) = (task_type.to_owned(), outcome.as_str());
    counter!("cinegen_tasks_finished_total", "type" => task_type.clone(), "outcome" => outcome).increment(1);
    histogram!("cinegen_task_duration_seconds", "type" => task_type, "outcome" => outcome).record(elapsed);
}

pub fn worker_slots(slots: usize) {
    gauge!("cinegen_worker_slots").set(slots as f64);
}

/// Counts a running task until dropped.
pub struct BusyWorker(());

impl BusyWorker {
    pub fn start() -> Self {
        gauge!("cinegen_worker_busy").increment(1.0);
        Self(())
    }
}

impl Drop for BusyWorker {
    fn drop(&mut self) {
        gauge!("cinegen_worker_busy").decrement(1.0);
    }
}

/// A call of `capability` went to the user's fallback provider because `from` was down.
pub fn provider_fell_back(capability: &'static str, from: &str, to: &str) {
    counter!(
        "cinegen_provider_fallbacks_total",
        "capability" => capability, "from" => from.to_owned(), "to" => to.to_owned()
    )
    .increment(1);
}

/// A key of `provider` was parked (`whose`: the operator's `server` keys, or a `user`'s).
pub fn key_parked(provider: &str, whose: &'static str, reason: &'static str) {
    counter!(
        "cinegen_provider_keys_parked_total",
        "provider" => provider.to_owned(), "whose" => whose, "reason" => reason
    )
    .increment(1);
}

pub fn units_spent(provider: &str, model: &str, capability: &'static str, units: i64) {
    let unit = match capability {
        "text" => "tokens",
        "image" => "images",
        "video" => "seconds",
        _ => "units",
    };
    counter!(
        "cinegen_provider_units_total",
        "provider" => provider.to_owned(), "model" => model.to_owned(), "capability" => capability, "unit" => unit
    )
    .increment(units.max(0) as u64);
}

/// Counts an open live feed until dropped: in the metrics and in `open` (which shutdown waits on).
pub struct OpenSocket(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl OpenSocket {
    pub fn open(open: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> Self {
        open.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        gauge!("cinegen_websockets_open").increment(1.0);
        Self(open.clone())
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        gauge!("cinegen_websockets_open").decrement(1.0);
    }
}

/// Why a sign-in failed.
pub fn login_failed(reason: &'static str) {
    counter!("cinegen_login_failures_total", "reason" => reason).increment(1);
}

/// A request refused over `budget` (`image`, `login`, `register`, `uploads`, …).
pub fn rate_limited(budget: &'static str) {
    counter!("cinegen_rate_limited_total", "budget" => budget).increment(1);
}

/// Queue figures of one task type, as read at a scrape.
pub fn queue(task_type: &str, pending: i64, due: i64, running: i64, oldest_due_age: f64) {
    let t = task_type.to_owned();
    gauge!("cinegen_queue_pending", "type" => t.clone()).set(pending as f64);
    gauge!("cinegen_queue_due", "type" => t.clone()).set(due as f64);
    gauge!("cinegen_queue_running", "type" => t.clone()).set(running as f64);
    gauge!("cinegen_queue_oldest_due_age_seconds", "type" => t).set(oldest_due_age);
}

pub fn database_up(up: bool) {
    gauge!("cinegen_database_up").set(if up { 1.0 } else { 0.0 });
}

/// A write refused because the owner's storage quota is used up.
pub fn quota_exceeded(quota: &'static str) {
    counter!("cinegen_quota_exceeded_total", "quota" => quota).increment(1);
}

pub fn db_pool(open: u32, idle: u32, max: u32, acquire: Duration) {
    gauge!("cinegen_db_pool_connections", "state" => "open").set(f64::from(open));
    gauge!("cinegen_db_pool_connections", "state" => "idle").set(f64::from(idle));
    gauge!("cinegen_db_pool_connections", "state" => "max").set(f64::from(max));
    gauge!("cinegen_db_pool_acquire_seconds").set(acquire.as_secs_f64());
}
