//! Text → JSON with strict validation: the answer is read as one JSON object and checked against
//! the domain types; a bad answer gets one repair attempt, then a clear PROVIDER_ERROR.

use super::retry::{Retry, call_with_retry};
use super::{AiService, Resolved, provider_to_task};
use crate::tasks::{TaskContext, TaskError};
use cinegen_providers::{Capability, TextRequest, TextTask, prompts};
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

impl AiService {
    /// Asks for `task` and answers the validated object.
    pub async fn ask(
        &self,
        ctx: &TaskContext,
        resolved: &Resolved,
        task: TextTask,
        language: &str,
        visual_style: &str,
        validate: impl Fn(&Value) -> Result<(), String>,
    ) -> Result<Value, TaskError> {
        let (system, user) = prompts::render(&task, language, visual_style);
        let model = resolved.provider.text().map_err(provider_to_task)?;
        let mut request = TextRequest {
            task,
            language: language.into(),
            visual_style: visual_style.into(),
            system,
            user: user.clone(),
            model: resolved.model.clone(),
        };
        let mut problem = String::new();
        for attempt in 0..2 {
            let output = {
                let _slot = self.limits.acquire(resolved.provider.name, Capability::Text).await;
                let started = std::time::Instant::now();
                let call = resolved.call(Capability::Text, "complete");
                let complete = || model.complete(&request, &resolved.credentials);
                let output = call_with_retry(call, Retry::STARTS_WORK, self.pace_for(&resolved), complete)
                    .await
                    .map_err(provider_to_task)?;
                let name = resolved.model.as_deref().unwrap_or(&output.model);
                self.latencies.record(resolved.provider.name, name, started.elapsed());
                output
            };
            self.record_usage(ctx, resolved, &output.model, Capability::Text, output.units, Default::default()).await;
            match json_object(&output.text).and_then(|value| validate(&value).map(|()| value)) {
                Ok(value) => return Ok(value),
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
