//! Checking that a provider key works, with the smallest call the provider offers, and keeping
//! how it went beside the user's saved key: a key reads as working only after a check passed,
//! and a failing check says why in the vendor's own words.

use super::{AiService, Choice, provider_to_task};
use crate::error::{AppError, AppResult};
use crate::tasks::TaskError;
use chrono::Utc;
use cinegen_domain::UserId;
use cinegen_providers::{Capability, ListedModel, PromptTarget, ProviderError, TextRequest, TextTask, prompts};
use cinegen_store::KeyCheckRecord;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use utoipa::ToSchema;

/// A model the vendor listed for the key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListedModelView {
    pub id: String,
    /// text, image, video or speech: what the model serves here.
    pub capability: String,
}

/// The listed models kept with a check, for the settings page.
pub fn listed_views(models: Option<&serde_json::Value>) -> Vec<ListedModelView> {
    listed(models)
        .into_iter()
        .map(|m| ListedModelView { id: m.id, capability: m.capability.as_str().to_owned() })
        .collect()
}

/// The listed models kept with a check (none where the vendor lists none or the check is older).
pub fn listed(models: Option<&serde_json::Value>) -> Vec<ListedModel> {
    models.and_then(|m| serde_json::from_value(m.clone()).ok()).unwrap_or_default()
}

/// A check that passed.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyCheck {
    pub provider: String,
    /// The capability the check called.
    pub capability: String,
    pub model: Option<String>,
    pub latency_ms: u64,
    /// `working`: the vendor accepted the key; `unverified`: the provider offers no call that
    /// costs nothing, so the key is checked on first use.
    pub outcome: String,
    pub message: String,
    /// The models the vendor lists for the key, where it lists them (the check then costs
    /// nothing): the settings page offers them, and a capability whose built-in default is not
    /// among them uses the first that is.
    pub models: Vec<ListedModelView>,
}

/// Why a check failed, as the settings page names it.
fn outcome_of(error: &ProviderError) -> &'static str {
    match error {
        ProviderError::NotConfigured { .. } => "key_refused",
        ProviderError::Transient { retry_after: Some(_), .. } => "rate_limited",
        ProviderError::Transient { .. } | ProviderError::NoAnswer { .. } => "unreachable",
        ProviderError::Permanent { .. } | ProviderError::Unsupported { .. } => "refused",
        ProviderError::Malformed { .. } => "unreadable",
        ProviderError::OutOfCredit { .. } => "out_of_credit",
    }
}

fn task_to_app(error: TaskError) -> AppError {
    match error {
        TaskError::Permanent { code, message } if code == "PROVIDER_NOT_CONFIGURED" => {
            AppError::ProviderNotConfigured(message)
        }
        TaskError::Permanent { message, .. } | TaskError::Transient { message, .. } => AppError::ProviderError(message),
        TaskError::Cancelled | TaskError::LeaseLost => AppError::ProviderError("the check was interrupted".into()),
    }
}

impl AiService {
    /// Checks `user`'s key for provider `name` (or the server's, where the user has none) and,
    /// for the user's own key, records how it went.
    pub async fn check_key(&self, user: UserId, name: &str) -> AppResult<KeyCheck> {
        let provider = self.registry.get(name).ok_or_else(|| AppError::not_found("provider"))?.clone();
        let capability = provider.capabilities().first().copied().ok_or_else(|| AppError::not_found("provider"))?;
        let choice = Choice { provider: Some(name.to_owned()), model: None };
        // The check vouches for the first key (the one the card names), whichever's turn it is.
        let resolved = self.resolve_first_key(user, capability, &choice).await.map_err(task_to_app)?;
        // Recorded only against the user's own saved key, as it was when the check began.
        let own =
            self.store.provider_settings(user).await?.into_iter().find(|s| s.provider == name && s.api_key.is_some());
        let started = Instant::now();
        let mut models: Option<Vec<ListedModel>> = None;
        let checked = match (&resolved.provider.catalog, capability) {
            // The vendor's model list: a free call, and it says what the key can use.
            (Some(catalog), _) => match catalog.list_models(&resolved.credentials).await {
                Ok(listed) => {
                    models = Some(listed);
                    Ok(true)
                }
                Err(error) => Err(error),
            },
            (None, capability) => match capability {
                Capability::Text => {
                    let task = TextTask::VisualPrompt {
                        target: PromptTarget::Scene,
                        subject: json!({"location": "test", "time": "day"}),
                        context: json!({}),
                    };
                    let (system, user) = prompts::render(&task, "en", "");
                    let request = TextRequest {
                        task,
                        language: "en".into(),
                        visual_style: String::new(),
                        system,
                        user,
                        model: resolved.model.clone(),
                    };
                    match resolved.provider.text() {
                        Ok(model) => model.complete(&request, &resolved.credentials).await.map(|_| true),
                        Err(error) => Err(error),
                    }
                }
                // Image and video calls cost money: a key is checked by a free call where the vendor
                // has one, else on its first use.
                Capability::Image => match resolved.provider.image() {
                    Ok(model) => model.check_key(&resolved.credentials).await,
                    Err(error) => Err(error),
                },
                Capability::Video | Capability::Speech => Ok(false),
            },
        };
        let (outcome, message) = match &checked {
            Ok(true) => ("working", None),
            Ok(false) => ("unverified", None),
            Err(error) => (outcome_of(error), Some(error.to_string())),
        };
        if let Some(own) = own {
            let record = KeyCheckRecord {
                at: Utc::now(),
                outcome: outcome.into(),
                message: message.clone(),
                models: models.as_ref().and_then(|m| serde_json::to_value(m).ok()),
            };
            self.store.record_key_check(user, name, own.updated_at, &record).await?;
        }
        checked.map_err(|error| task_to_app(provider_to_task(error)))?;
        let listed = models.as_ref().and_then(|m| serde_json::to_value(m).ok());
        Ok(KeyCheck {
            models: listed_views(listed.as_ref()),
            provider: name.to_owned(),
            capability: capability.as_str().into(),
            model: resolved.model,
            latency_ms: started.elapsed().as_millis() as u64,
            outcome: outcome.into(),
            message: match outcome {
                "working" if models.is_some() => "the key works; its models are listed",
                "working" => "the key works",
                _ => "a key is at hand; it is checked on first use",
            }
            .into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn failures_are_named_by_what_the_user_can_do_about_them() {
        let named = |e: ProviderError| outcome_of(&e);
        assert_eq!(
            named(ProviderError::NotConfigured { provider: "openai".into(), reason: "401".into() }),
            "key_refused"
        );
        let limited = ProviderError::Transient { message: "429".into(), retry_after: Some(Duration::from_secs(3)) };
        assert_eq!(named(limited), "rate_limited");
        assert_eq!(named(ProviderError::Transient { message: "503".into(), retry_after: None }), "unreachable");
        assert_eq!(named(ProviderError::NoAnswer { message: "timed out".into() }), "unreachable");
        assert_eq!(named(ProviderError::Permanent { message: "model not found".into() }), "refused");
        assert_eq!(named(ProviderError::Malformed { message: "<html>".into() }), "unreadable");
    }
}
