//! A provider call made again within one task attempt after a passing fault, as the vendors' own
//! SDKs do, so one 429 or 5xx does not spend one of the task's few attempts (and a video job that
//! took minutes is not lost to a hiccup while it is polled). Each call is observed on its own: the
//! metrics and traces see every answer.

use crate::tasks::backoff;
use cinegen_providers::ProviderError;
use cinegen_providers::net::{CallLabels, RateHints, observe};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A Retry-After longer than this is left to the queue, which frees the worker slot meanwhile.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// How a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Further calls after the first.
    pub times: u32,
    /// Whether a call that got no answer (timeout, dropped connection) may be repeated: only
    /// where repeating cannot start paid work twice.
    pub unanswered: bool,
}

impl Retry {
    /// Calls that start work (complete, generate, submit): again only after an answer that says
    /// "not now" (429, 5xx), two times as the vendors' SDKs do.
    pub const STARTS_WORK: Retry = Retry { times: 2, unanswered: false };
    /// Reading a job's state: safe to repeat whatever happened.
    pub const READS: Retry = Retry { times: 5, unanswered: true };

    /// The wait before call `failed + 1`, or `None` when `error` goes back to the task.
    fn wait(self, error: &ProviderError, failed: u32, base: Duration, jitter: f64) -> Option<Duration> {
        if failed >= self.times {
            return None;
        }
        let retry_after = match error {
            ProviderError::Transient { retry_after, .. } => *retry_after,
            ProviderError::NoAnswer { .. } if self.unanswered => None,
            _ => return None,
        };
        let wait = backoff::delay_from(base, failed as i32 + 1, retry_after, jitter);
        (wait <= LONGEST_WAIT).then_some(wait)
    }
}

/// How a task's calls are paced: the backoff's base, and where a provider's "wait" is shared. A
/// wait read from an answer's headers is shared by the transport itself; one read from a body
/// (Gemini's `RetryInfo`, MiniMax's and Kling's throttling codes) reaches it only as the error's
/// `retry_after`, so it is shared here: every caller of the provider, on every instance, holds
/// back, not only the call that read it.
#[derive(Clone)]
pub struct Pace {
    pub base: Duration,
    pub hints: Option<Arc<dyn RateHints>>,
    /// Parks the call's key when its vendor refuses it (`key_ring`).
    pub parker: Option<super::key_ring::Parker>,
}

impl Pace {
    pub fn new(base: Duration) -> Self {
        Self { base, hints: None, parker: None }
    }
}

/// Makes the call `make` builds, again after each passing fault `retry` allows, waiting the
/// provider's Retry-After or the pace's base doubled per failure.
pub async fn call_with_retry<T, F, Fut>(
    labels: CallLabels,
    retry: Retry,
    pace: Pace,
    mut make: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let mut failed = 0;
    loop {
        let error = match observe(labels.clone(), make()).await {
            Ok(answer) => return Ok(answer),
            Err(error) => error,
        };
        if let (Some(hints), ProviderError::Transient { retry_after: Some(wait), .. }) = (&pace.hints, &error)
            && !wait.is_zero()
        {
            hints.pause(&labels.provider, *wait);
        }
        let Some(wait) = retry.wait(&error, failed, pace.base, rand::random()) else {
            return Err(match &pace.parker {
                Some(parker) => parker.after(error).await,
                None => error,
            });
        };
        failed += 1;
        tracing::info!(
            provider = %labels.provider,
            operation = labels.operation,
            failed,
            wait_ms = wait.as_millis() as u64,
            error = %error,
            "calling the provider again"
        );
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn labels() -> CallLabels {
        CallLabels { provider: "p".into(), model: "m".into(), capability: "image", operation: "generate" }
    }

    fn throttled() -> ProviderError {
        ProviderError::Transient { message: "429".into(), retry_after: Some(Duration::ZERO) }
    }

    fn unanswered() -> ProviderError {
        ProviderError::NoAnswer { message: "timed out".into() }
    }

    /// Runs a call that fails with the given errors first, then answers; returns the result and
    /// how many calls were made.
    async fn run(retry: Retry, errors: Vec<ProviderError>) -> (Result<u32, ProviderError>, u32) {
        let calls = AtomicU32::new(0);
        let errors = std::sync::Mutex::new(errors.into_iter());
        let result = call_with_retry(labels(), retry, Pace::new(Duration::from_millis(1)), || {
            calls.fetch_add(1, Ordering::SeqCst);
            let next = errors.lock().unwrap().next();
            async move { next.map_or(Ok(7), Err) }
        })
        .await;
        (result, calls.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_passing_fault_is_called_through() {
        let (result, calls) = run(Retry::STARTS_WORK, vec![throttled(), throttled()]).await;
        assert_eq!((result.unwrap(), calls), (7, 3));
    }

    #[tokio::test]
    async fn a_lasting_fault_goes_back_to_the_task() {
        let (result, calls) = run(Retry::STARTS_WORK, vec![throttled(), throttled(), throttled()]).await;
        assert!(matches!(result, Err(ProviderError::Transient { .. })));
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn work_is_not_started_again_without_an_answer() {
        let (result, calls) = run(Retry::STARTS_WORK, vec![unanswered()]).await;
        assert!(matches!(result, Err(ProviderError::NoAnswer { .. })));
        assert_eq!(calls, 1);
        let (result, calls) = run(Retry::READS, vec![unanswered(), throttled()]).await;
        assert_eq!((result.unwrap(), calls), (7, 3), "a job's state is read again");
    }

    /// Records the pauses asked of the provider limiter.
    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<(String, Duration)>>);

    impl RateHints for Heard {
        fn pause(&self, provider: &str, pause: Duration) {
            self.0.lock().unwrap().push((provider.to_owned(), pause));
        }
    }

    #[tokio::test]
    async fn a_wait_read_from_a_body_holds_back_every_caller() {
        let heard = Arc::new(Heard::default());
        let pace = Pace { base: Duration::from_millis(1), hints: Some(heard.clone()), parker: None };
        let body_hint = ProviderError::Transient {
            message: "RESOURCE_EXHAUSTED".into(),
            retry_after: Some(Duration::from_millis(5)),
        };
        let errors = std::sync::Mutex::new(vec![body_hint, throttled()].into_iter());
        let result = call_with_retry(labels(), Retry::STARTS_WORK, pace, || {
            let next = errors.lock().unwrap().next();
            async move { next.map_or(Ok(7), Err) }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        let heard = heard.0.lock().unwrap().clone();
        assert_eq!(heard, vec![("p".to_owned(), Duration::from_millis(5))]);
    }

    #[tokio::test]
    async fn refusals_are_not_repeated() {
        let refused = ProviderError::Permanent { message: "bad prompt".into() };
        let (result, calls) = run(Retry::READS, vec![refused]).await;
        assert!(matches!(result, Err(ProviderError::Permanent { .. })));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_long_retry_after_is_left_to_the_queue() {
        let long = ProviderError::Transient { message: "429".into(), retry_after: Some(Duration::from_secs(60)) };
        assert_eq!(Retry::READS.wait(&long, 0, Duration::from_secs(1), 0.0), None);
        let short = ProviderError::Transient { message: "429".into(), retry_after: Some(Duration::from_secs(3)) };
        assert_eq!(Retry::READS.wait(&short, 0, Duration::from_secs(1), 0.0), Some(Duration::from_secs(3)));
        let plain = ProviderError::Transient { message: "502".into(), retry_after: None };
        assert_eq!(Retry::READS.wait(&plain, 1, Duration::from_secs(1), 0.0), Some(Duration::from_secs(2)));
    }
}
