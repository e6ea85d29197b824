//! Provider calls as metrics. The caller wraps a call in [`observe`], naming provider, model and
//! capability; the transport, which sees each HTTP answer but not what it is for, reads those
//! names from the task-local scope to count answers by status, and the classifiers count
//! throttling however each vendor signals it.

use crate::capability::ProviderError;
use metrics::{counter, histogram};
use std::time::Instant;
use tracing::Instrument;

/// What a call is for.
#[derive(Debug, Clone)]
pub struct CallLabels {
    pub provider: String,
    pub model: String,
    pub capability: &'static str,
    /// `complete`, `generate`, `submit`, `poll`, `check`.
    pub operation: &'static str,
}

tokio::task_local! {
    static CALL: CallLabels;
}

/// Runs `call` as one provider call: counted by outcome and timed.
pub async fn observe<T>(
    labels: CallLabels,
    call: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    let started = Instant::now();
    let span = tracing::info_span!(
        "provider call",
        provider = %labels.provider,
        model = %labels.model,
        capability = labels.capability,
        operation = labels.operation,
        otel.name = %format_args!("{} {}", labels.provider, labels.operation),
        otel.kind = "client",
    );
    let result = CALL.scope(labels.clone(), call).instrument(span).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(ProviderError::Transient { .. }) => "transient",
        Err(ProviderError::NoAnswer { .. }) => "no_answer",
        Err(ProviderError::Permanent { .. }) => "refused",
        Err(ProviderError::Malformed { .. }) => "malformed",
        Err(ProviderError::NotConfigured { .. }) => "not_configured",
        Err(ProviderError::Unsupported { .. }) => "unsupported",
        Err(ProviderError::OutOfCredit { .. }) => "out_of_credit",
    };
    let CallLabels { provider, model, capability, operation } = labels;
    histogram!(
        "cinegen_provider_call_duration_seconds",
        "provider" => provider.clone(), "model" => model.clone(), "capability" => capability, "operation" => operation
    )
    .record(started.elapsed());
    counter!(
        "cinegen_provider_calls_total",
        "provider" => provider, "model" => model, "capability" => capability, "operation" => operation,
        "outcome" => outcome
    )
    .increment(1);
    result
}

/// The model and capability of the call in progress (empty outside [`observe`]).
fn current_call() -> (String, &'static str) {
    CALL.try_with(|call| (call.model.clone(), call.capability)).unwrap_or_else(|_| (String::new(), ""))
}

/// Counts one HTTP answer from `provider` (called by the transport).
pub(crate) fn answered(provider: &str, status: u16) {
    let (model, capability) = current_call();
    counter!(
        "cinegen_provider_responses_total",
        "provider" => provider.to_owned(), "model" => model, "capability" => capability, "status" => status.to_string()
    )
    .increment(1);
}

/// Counts a throttled answer from `provider`, however the vendor says it (HTTP 429, or a code in
/// a 200 answer as MiniMax and Kling do): called where answers are classified.
pub(crate) fn throttled(provider: &str) {
    let (model, capability) = current_call();
    counter!(
        "cinegen_provider_throttled_total",
        "provider" => provider.to_owned(), "model" => model, "capability" => capability
    )
    .increment(1);
}
