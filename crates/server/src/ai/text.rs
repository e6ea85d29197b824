//! Text → JSON with strict validation: the answer is read as one JSON object and checked against
//! the domain types; a bad answer gets one repair attempt, then a clear PROVIDER_ERROR.

use super::fallback::{FellBack, Unanswered};
use super::retry::{Retry, call_with_retry};
use super::{AiService, Choice, Resolved};
use crate::tasks::{TaskContext, TaskError};
use cinegen_providers::{Capability, ProviderError, TextOutput, TextRequest, TextTask, prompts};
use serde_json::Value;

/// Reads the first JSON object of a model's answer, tolerating code fences and text around it.
pub fn json_object(answer: &str) -> Result<Value, String> {
    let start = answer.find('{').ok_or("the answer holds no JSON object")?;
    let end = answer.rfind('}').ok_or("the answer holds no complete JSON object")?;
    if end < start {
        return Err("the answer holds no complete JSON object".into());
    }
    let value: Value =
        serde_json::from_str(&answer[start..=end]).map_err(|e| format!("the answer is not valid JSON: {e}"))?;
    if value.is_object() { Ok(value) } else { Err("the answer is not a JSON object".into()) }
}

/// A model's validated answer, and the provider it came from when the fallback gave it.
pub struct Answer {
    pub value: Value,
    pub fell_back: Option<FellBack>,
}

impl Answer {
    /// A task's result, saying which provider stood in where the fallback answered.
    pub fn note(&self, mut result: Value) -> Value {
        if let (Some(fell_back), Some(fields)) = (&self.fell_back, result.as_object_mut()) {
            fields.insert("fell_back".into(), serde_json::to_value(fell_back).unwrap_or_default());
        }
        result
    }
}

impl AiService {
    /// Asks for `task` of the provider `choice` resolves to (or the user's fallback, when that
    /// one is down) and answers the validated object.
    pub async fn ask(
        &self,
        ctx: &TaskContext,
        choice: &Choice,
        task: TextTask,
        language: &str,
        visual_style: &str,
        validate: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Answer, TaskError> {
        let (system, user) = prompts::render(&task, language, visual_style);
        let mut request = TextRequest {
            task,
            language: language.into(),
            visual_style: visual_style.into(),
            system,
            user: user.clone(),
            model: None,
        };
        let mut turns = self.turns(ctx.task.user_id, Capability::Text, choice, Unanswered::FallsBack);
        let mut resolved = turns.provider().await?;
        let mut problem = String::new();
        for attempt in 0..2 {
            let output = loop {
                match self.complete(&resolved, &request).await {
                    Ok(output) => break output,
                    Err(error) => {
                        turns.failed(&resolved, error).await?;
                        resolved = turns.provider().await?;
                    }
                }
            };
            self.record_usage(ctx, &resolved, &output.model, Capability::Text, output.units, Default::default()).await;
            match json_object(&output.text).and_then(|value| validate(&value).map(|()| value)) {
                Ok(value) => return Ok(Answer { value, fell_back: turns.fell_back() }),
                Err(reason) => {
                    tracing::info!(task.id = %ctx.task.id, attempt, reason = %reason, "unusable model answer");
                    problem = reason;
                    request.user = format!("{user}\n\n{}", prompts::repair(&output.text, &problem));
                    ctx.progress(50, "repairing the model's answer").await?;
                }
            }
        }
        Err(TaskError::permanent(
            "PROVIDER_ERROR",
            format!("the model's answer was unusable after one repair: {problem}"),
        ))
    }

    /// Completes `request` with `resolved`'s provider, model and key.
    async fn complete(&self, resolved: &Resolved, request: &TextRequest) -> Result<TextOutput, ProviderError> {
        let model = resolved.provider.text()?;
        let request = TextRequest { model: resolved.model.clone(), ..request.clone() };
        let _slot = self.slot(resolved, Capability::Text).await;
        let started = std::time::Instant::now();
        let call = resolved.call(Capability::Text, "complete");
        let complete = || model.complete(&request, &resolved.credentials);
        let output = call_with_retry(call, Retry::STARTS_WORK, self.pace_for(resolved), complete).await?;
        let name = resolved.model.as_deref().unwrap_or(&output.model);
        self.latencies.record(resolved.provider.name, name, started.elapsed());
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_found_inside_fences_and_prose() {
        assert_eq!(json_object("```json\n{\"a\": 1}\n```").unwrap()["a"], 1);
        assert_eq!(json_object("Sure! {\"a\": {\"b\": 2}} Hope this helps").unwrap()["a"]["b"], 2);
        assert!(json_object("no json here").is_err());
        assert!(json_object("{\"a\": ").is_err());
        assert!(json_object("} {").is_err());
    }
}
