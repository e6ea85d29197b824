//! A second provider per capability, which the user opts into: when the first is down — it cannot
//! be reached, still answers 5xx or 429 once the call's own retries are spent, its account is out
//! of credit, or every key of it is parked — the call goes to the second, and what it made says
//! which provider stood in for which, and why. A refusal of the content or of the request never
//! falls back (another vendor is no answer to a prompt one would not paint), nor does a key the
//! vendor refuses (that is the settings to mend). Speech has none: a voice belongs to its provider.

use super::{AiService, Choice, Resolved, Unready, provider_to_task};
use crate::tasks::TaskError;
use cinegen_domain::UserId;
use cinegen_providers::{Capability, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The settings row that holds the user's fallback provider per capability.
pub const FALLBACKS_ROW: &str = "@fallbacks";

/// The capabilities that may fall back to a second provider.
pub const CAPABILITIES: [Capability; 3] = [Capability::Text, Capability::Image, Capability::Video];

/// The provider a result was meant to come from, when the user's fallback made it instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FellBack {
    /// The provider that was down.
    pub from: String,
    /// The model that was asked of it, where one was named or saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_model: Option<String>,
    /// Why it was down: `unavailable` (no connection, 5xx or throttling past the call's retries),
    /// `no_answer` (the call timed out or broke off), `out_of_credit`, or `keys_parked` (every
    /// key of it is parked). The vendor's own words stay in the server's log: they may name an
    /// address or a masked key of the operator's.
    pub reason: String,
}

/// A call that failed: the provider's answer (which may send the call to the fallback), or the
/// task's own reason (cancelled, the project gone).
#[derive(Debug)]
pub enum CallError {
    Provider(ProviderError),
    Task(TaskError),
}

impl From<ProviderError> for CallError {
    fn from(error: ProviderError) -> Self {
        Self::Provider(error)
    }
}

impl From<TaskError> for CallError {
    fn from(error: TaskError) -> Self {
        Self::Task(error)
    }
}

impl From<CallError> for TaskError {
    fn from(error: CallError) -> Self {
        match error {
            CallError::Provider(error) => provider_to_task(error),
            CallError::Task(error) => error,
        }
    }
}

/// Whether a call that went out and got no answer may go to the fallback: where its answer is
/// lost anyway (a picture, a text) it may; a video submission the vendor may have taken (and can
/// still be asked about) stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unanswered {
    FallsBack,
    Stays,
}

/// Whether `error` says the provider is down, rather than that it refused this call.
pub fn is_down(error: &ProviderError, unanswered: Unanswered) -> bool {
    match error {
        ProviderError::Transient { .. } | ProviderError::OutOfCredit { .. } => true,
        ProviderError::NoAnswer { .. } => unanswered == Unanswered::FallsBack,
        ProviderError::NotConfigured { .. }
        | ProviderError::Permanent { .. }
        | ProviderError::Malformed { .. }
        | ProviderError::Unsupported { .. } => false,
    }
}

/// Why `error` says its provider is down, as [`FellBack::reason`] names it.
pub fn reason_of(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::OutOfCredit { .. } => "out_of_credit",
        ProviderError::NoAnswer { .. } => "no_answer",
        _ => "unavailable",
    }
}

/// The error a call ends with when the fallback failed too: passing (the task tries again later)
/// when either failure was, since the first provider may be back by then; saying both.
fn both_failed(before: &str, first: &TaskError, second: TaskError) -> TaskError {
    match (first, after(before, second)) {
        (_, passing @ TaskError::Transient { .. }) => passing,
        (TaskError::Transient { retry_after, .. }, TaskError::Permanent { message, .. }) => {
            TaskError::Transient { message, retry_after: *retry_after }
        }
        (_, other) => other,
    }
}

/// `error` with what came before it said first, of the same kind (passing or final).
fn after(before: &str, error: TaskError) -> TaskError {
    match error {
        TaskError::Permanent { code, message } => {
            TaskError::Permanent { code, message: format!("{before}; {message}") }
        }
        TaskError::Transient { message, retry_after } => {
            TaskError::Transient { message: format!("{before}; {message}"), retry_after }
        }
        other => other,
    }
}

/// The providers a call goes to in turn: the one asked for, then — when that one is down and
/// the user chose a fallback for the capability — the fallback (its own key and saved model).
/// A call whose failure parked its key goes back to the queue instead: the next attempt uses the
/// provider's next key.
///
/// ```text
/// let mut turns = ai.turns(user, capability, &choice, Unanswered::FallsBack);
/// let (resolved, output) = loop {
///     let resolved = turns.provider().await?;
///     match call(&resolved).await {
///         Ok(output) => break (resolved, output),
///         Err(error) => turns.failed(&resolved, error).await?,
///     }
/// };
/// ```
pub struct Turns<'a> {
    ai: &'a AiService,
    user: UserId,
    capability: Capability,
    choice: &'a Choice,
    unanswered: Unanswered,
    /// Whether the fallback may be called at all (see [`Turns::alone`]).
    may_fall_back: bool,
    stage: Stage,
}

enum Stage {
    First,
    /// The first was down: its name, model, why, and the error the task would get.
    Fallback {
        from: &'static str,
        from_model: Option<String>,
        reason: &'static str,
        failure: TaskError,
    },
    /// The fallback is being called; `failure` is the first's.
    Standing {
        fell_back: FellBack,
        before: String,
        failure: TaskError,
    },
}

impl AiService {
    /// The providers a call of `capability` for `user` goes to in turn (see [`Turns`]).
    pub fn turns<'a>(
        &'a self,
        user: UserId,
        capability: Capability,
        choice: &'a Choice,
        unanswered: Unanswered,
    ) -> Turns<'a> {
        Turns { ai: self, user, capability, choice, unanswered, may_fall_back: true, stage: Stage::First }
    }

    /// The provider the user chose to stand in for `capability`'s when it is down, if any.
    pub async fn fallback_of(&self, user: UserId, capability: Capability) -> Result<Option<&'static str>, TaskError> {
        if !CAPABILITIES.contains(&capability) {
            return Ok(None);
        }
        let saved = self.store.provider_settings(user).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let chosen = saved
            .iter()
            .find(|row| row.provider == FALLBACKS_ROW)
            .and_then(|row| row.models.get(capability.as_str()))
            .and_then(Value::as_str);
        Ok(chosen.and_then(|name| self.registry.get(name)).filter(|p| p.offers(capability)).map(|p| p.name))
    }
}

impl Turns<'_> {
    /// The same turns without the fallback when `alone`: a video attempt after the first may
    /// follow a submission whose answer was lost, which only the first provider can be asked about.
    pub fn alone(self, alone: bool) -> Self {
        Self { may_fall_back: self.may_fall_back && !alone, ..self }
    }

    /// Whom the provider being called stands in for, when it is the fallback.
    pub fn standing_for(&self) -> Option<&FellBack> {
        match &self.stage {
            Stage::Standing { fell_back, .. } => Some(fell_back),
            _ => None,
        }
    }

    /// The provider to call now: the one asked for, or the fallback once that one is down (a
    /// provider every key of which is parked is down before it is called).
    pub async fn provider(&mut self) -> Result<Resolved, TaskError> {
        let (ai, user, capability) = (self.ai, self.user, self.capability);
        if matches!(self.stage, Stage::First) {
            match ai.resolve_keys(user, capability, self.choice, super::KeyTurn::Next).await {
                Ok(first) => return Ok(first),
                Err(Unready { error, every_key_parked: Some(from) }) if self.may_fall_back => {
                    let from_model = self.choice.model.clone();
                    tracing::info!(capability = capability.as_str(), from, error = ?error, "every key of the provider is parked");
                    self.stage = Stage::Fallback { from, from_model, reason: "keys_parked", failure: error };
                }
                Err(unready) => return Err(unready.error),
            }
        }
        let Stage::Fallback { from, from_model, reason, failure } = std::mem::replace(&mut self.stage, Stage::First)
        else {
            return Err(TaskError::permanent("PROVIDER_ERROR", "the fallback provider was called already"));
        };
        let Some(second) = ai.fallback_of(user, capability).await?.filter(|name| *name != from) else {
            return Err(failure);
        };
        let standing_in = Choice { provider: Some(second.to_owned()), model: None };
        let resolved = match ai.resolve(user, capability, &standing_in).await {
            Ok(resolved) => resolved,
            Err(unusable) => {
                tracing::warn!(capability = capability.as_str(), from, to = second, error = ?unusable, "the fallback provider cannot be called either");
                return Err(after(&format!("the fallback provider '{second}' cannot be called"), failure));
            }
        };
        tracing::warn!(
            capability = capability.as_str(),
            from,
            to = second,
            reason,
            "a provider is down; the fallback stands in"
        );
        crate::ops::metrics::provider_fell_back(capability.as_str(), from, second);
        let before = format!("provider '{from}' is down ({reason}); the fallback '{second}' failed too");
        let fell_back = FellBack { from: from.to_owned(), from_model, reason: reason.to_owned() };
        self.stage = Stage::Standing { fell_back, before, failure };
        Ok(resolved)
    }

    /// After the call with `resolved` failed: `Ok` when the fallback is to be called next,
    /// else the error the task ends (or is retried) with.
    pub async fn failed(&mut self, resolved: &Resolved, error: impl Into<CallError>) -> Result<(), TaskError> {
        let error = match error.into() {
            CallError::Task(error) => return Err(error),
            CallError::Provider(error) => error,
        };
        match &self.stage {
            Stage::First
                if self.may_fall_back
                    && is_down(&error, self.unanswered)
                    && !resolved.parker.as_ref().is_some_and(|p| p.has_parked()) =>
            {
                let (from, from_model, reason) = (resolved.provider.name, resolved.model.clone(), reason_of(&error));
                tracing::info!(capability = self.capability.as_str(), from, %error, "the provider is down");
                self.stage = Stage::Fallback { from, from_model, reason, failure: provider_to_task(error) };
                Ok(())
            }
            Stage::Standing { before, failure, .. } => Err(both_failed(before, failure, provider_to_task(error))),
            _ => Err(provider_to_task(error)),
        }
    }

    /// Whom the fallback stood in for, once it was called.
    pub fn fell_back(self) -> Option<FellBack> {
        match self.stage {
            Stage::Standing { fell_back, .. } => Some(fell_back),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn only_an_unavailable_provider_falls_back() {
        let throttled = ProviderError::Transient { message: "503".into(), retry_after: Some(Duration::ZERO) };
        let broke = ProviderError::NoAnswer { message: "timed out".into() };
        assert!(is_down(&throttled, Unanswered::Stays));
        assert!(is_down(&ProviderError::OutOfCredit { message: "402".into() }, Unanswered::Stays));
        assert!(is_down(&broke, Unanswered::FallsBack));
        assert!(!is_down(&broke, Unanswered::Stays));
        assert!(!is_down(&ProviderError::Permanent { message: "content policy".into() }, Unanswered::FallsBack));
        let refused = ProviderError::NotConfigured { provider: "kling".into(), reason: "401".into() };
        assert!(!is_down(&refused, Unanswered::FallsBack));
    }

    #[test]
    fn when_both_fail_the_task_tries_again_if_either_failure_passes() {
        let down = TaskError::transient("kling: 503");
        let refused = TaskError::permanent("PROVIDER_ERROR", "content policy");
        let retried = both_failed("kling is down", &down, refused.clone());
        assert!(
            matches!(&retried, TaskError::Transient { message, .. } if message == "kling is down; content policy"),
            "{retried:?}"
        );
        let broke = TaskError::permanent("PROVIDER_ERROR", "out of credit");
        assert!(matches!(both_failed("x", &broke, refused), TaskError::Permanent { .. }));
        assert!(matches!(both_failed("x", &broke, TaskError::transient("503")), TaskError::Transient { .. }));
        assert_eq!(reason_of(&ProviderError::OutOfCredit { message: "402 sk-…1234".into() }), "out_of_credit");
    }

    #[test]
    fn a_second_failure_keeps_its_kind_and_says_the_first() {
        let passing = after("kling is down", TaskError::transient("503"));
        assert!(matches!(&passing, TaskError::Transient { message, .. } if message == "kling is down; 503"));
        let last = after("kling is down", TaskError::permanent("PROVIDER_ERROR", "refused"));
        assert!(
            matches!(&last, TaskError::Permanent { code, message } if code == "PROVIDER_ERROR" && message == "kling is down; refused")
        );
    }
}
