//! Dialogue, spoken: a shot's lines rendered to audio, each in its speaker's voice (the
//! character's chosen provider, voice id, speed, pitch and emotion), joined into one track with a
//! breath between lines, kept as the shot's `voice` take. The merge lays it under the clip.

use super::handlers::payload;
use super::retry::{Retry, call_with_retry};
use super::{AiService, Choice, app_to_task, provider_to_task, targets};
use crate::film::cut::spoken;
use crate::takes::{Provenance, TakeDraft, inputs_hash};
use crate::tasks::kind::TaskKind;
use crate::tasks::{TaskContext, TaskError, TaskHandler};
use cinegen_domain::FileKind;
use cinegen_domain::project::assets::{SlotId, TakeSlot};
use cinegen_providers::{Capability, Media, SpeechRequest, Voice};
use cinegen_store::{Money, ProjectRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

/// Quiet between two lines of one shot, in seconds.
const BETWEEN_LINES: f64 = 0.3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeechPayload {
    pub shot_id: String,
    /// The provider (and model) of lines whose speaker names none.
    #[serde(flatten)]
    pub choice: Choice,
}

/// One line to say, with who says it and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineToSay {
    pub speaker: Option<String>,
    pub text: String,
    /// The speaker's provider, where their voice names one.
    pub provider: Option<String>,
    pub voice: Voice,
}

/// The character `name` is the name of, if any.
fn character_named<'a>(project: &'a ProjectRecord, name: &str) -> Option<&'a Value> {
    project.docs.script_data.get("characters")?.as_array()?.iter().find(|c| targets::text(c, "name") == name)
}

/// A character's `voice` as the documents hold it (validated on every write).
fn voice_of(character: Option<&Value>) -> (Option<String>, Voice) {
    let Some(voice) = character.and_then(|c| c.get("voice")) else { return (None, Voice::default()) };
    let provider = voice.get("provider").and_then(Value::as_str).map(str::to_owned);
    (provider, serde_json::from_value(voice.clone()).unwrap_or_default())
}

/// The shot's lines in order, each with its speaker's voice; `None` when the shot is gone.
pub fn lines_of(project: &ProjectRecord, shot_id: &str) -> Option<Vec<LineToSay>> {
    let shot = targets::shot(project, shot_id)?;
    let lines = spoken(project, shot)
        .into_iter()
        .filter(|line| line.text.chars().any(char::is_alphanumeric))
        .map(|line| {
            let character = line.speaker.as_deref().and_then(|name| character_named(project, name));
            let (provider, voice) = voice_of(character);
            LineToSay { speaker: line.speaker, text: line.text, provider, voice }
        })
        .collect();
    Some(lines)
}

/// The choice a line is said with: its speaker's provider (with the voice's own settings),
/// else the request's.
pub fn choice_for(line: &LineToSay, request: &Choice) -> Choice {
    match &line.provider {
        Some(provider) if request.provider.as_deref() != Some(provider) => {
            Choice { provider: Some(provider.clone()), model: None }
        }
        _ => request.clone(),
    }
}

/// Adds a line's cost to the take's, where both are in one currency.
fn add_cost(total: Option<Money>, cost: Option<Money>) -> Option<Money> {
    match (total, cost) {
        (Some(total), Some(cost)) if total.currency == cost.currency => {
            Some(Money { micros: total.micros + cost.micros, currency: total.currency })
        }
        (None, cost) => cost,
        (total, _) => total,
    }
}

pub struct SpeechHandler(pub AiService);

impl SpeechHandler {
    async fn speak(
        &self,
        ctx: &TaskContext,
        input: &SpeechPayload,
        work: &std::path::Path,
    ) -> Result<Value, TaskError> {
        let ai = &self.0;
        let project = ai.project(ctx).await?;
        let lines = lines_of(&project, &input.shot_id)
            .ok_or_else(|| TaskError::permanent("NOT_FOUND", format!("shot '{}' is gone", input.shot_id)))?;
        if lines.is_empty() {
            return Err(TaskError::permanent(
                "VALIDATION_ERROR",
                format!("shot '{}' has no dialogue to speak", input.shot_id),
            ));
        }
        let ffmpeg =
            cinegen_media::Ffmpeg::locate().map_err(|e| TaskError::permanent("MEDIA_TOOL_MISSING", e.to_string()))?;
        let slot = TakeSlot::Asset(SlotId::Voice { shot: input.shot_id.clone() });
        let made_from = inputs_hash(&project, &slot);
        let started = Instant::now();
        let mut paths: Vec<PathBuf> = Vec::with_capacity(lines.len());
        let mut said = Vec::with_capacity(lines.len());
        let mut cost = None;
        let mut first_model = None;
        for (n, line) in lines.iter().enumerate() {
            ctx.progress(10 + (70 * n / lines.len()) as i32, "speaking").await?;
            let choice = choice_for(line, &input.choice);
            let resolved = ai.resolve(ctx.task.user_id, Capability::Speech, &choice).await?;
            let model = resolved.provider.speech().map_err(provider_to_task)?;
            let request = SpeechRequest {
                text: line.text.clone(),
                voice: line.voice.clone(),
                language: project.settings.language.clone(),
                model: resolved.model.clone(),
            };
            let output = {
                let _slot = ai.slot(&resolved, Capability::Speech).await;
                let call = resolved.call(Capability::Speech, "synthesize");
                call_with_retry(call, Retry::STARTS_WORK, ai.pace_for(&resolved), || {
                    model.synthesize(&request, &resolved.credentials)
                })
                .await
                .map_err(provider_to_task)?
            };
            let characters = line.text.chars().count() as i64;
            let spent =
                ai.record_usage(ctx, &resolved, &output.model, Capability::Speech, characters, output.usage).await;
            cost = add_cost(cost, spent);
            let (bytes, content_type) = match output.audio {
                Media::Bytes { bytes, content_type } => (bytes, content_type),
                Media::Url(_) => {
                    return Err(TaskError::permanent(
                        "PROVIDER_ERROR",
                        "the speech provider answered a link, not audio",
                    ));
                }
            };
            let extension = cinegen_domain::files::extension_for(&content_type);
            let path = work.join(format!("line-{n:03}.{extension}"));
            tokio::fs::write(&path, &bytes).await.map_err(|e| TaskError::transient(e.to_string()))?;
            paths.push(path);
            first_model.get_or_insert_with(|| (resolved.provider.name.to_owned(), output.model.clone()));
            said.push(json!({
                "speaker": line.speaker, "text": line.text, "provider": resolved.provider.name,
                "model": output.model, "voice": request.voice, "characters": characters,
            }));
        }
        ctx.progress(82, "joining the lines").await?;
        let out = work.join("voice.wav");
        let duration = ffmpeg.join_audio(&paths, BETWEEN_LINES, &out).await.map_err(|e| {
            TaskError::permanent("PROVIDER_ERROR", format!("the spoken lines could not be joined: {e}"))
        })?;
        let bytes = tokio::fs::read(&out).await.map_err(|e| TaskError::transient(e.to_string()))?;
        ctx.progress(90, "storing").await?;
        let file = ai
            .files
            .persist_generated(project.owner_id, project.id, FileKind::Audio, bytes.into(), "voice.wav")
            .await
            .map_err(app_to_task)?;
        let (provider, model) = first_model.unzip();
        let characters: i64 = lines.iter().map(|l| l.text.chars().count() as i64).sum();
        let draft = TakeDraft {
            slot: slot.clone(),
            provider,
            model,
            inputs_hash: made_from,
            references: Vec::new(),
            cost,
            provenance: Provenance {
                origin: "generated".into(),
                params: json!({ "duration": duration, "lines": said }),
                prompt: Some(lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")),
                provider_ms: Some(started.elapsed().as_millis() as u64),
                usage: Some(json!({ "unit": "character", "quantity": characters })),
                recipe: Some(json!({ "task_type": TaskKind::SPEECH, "payload": input })),
                ..Provenance::default()
            },
        };
        let mut fields = serde_json::Map::new();
        fields.insert("duration".into(), json!((duration * 1000.0).round() / 1000.0));
        ai.place_with(ctx, &project, draft, file.id, fields).await?;
        Ok(json!({ "file_id": file.id, "shot_id": input.shot_id, "duration": duration, "lines": said.len() }))
    }
}

#[async_trait::async_trait]
impl TaskHandler for SpeechHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::SPEECH
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: SpeechPayload = payload(ctx)?;
        let project =
            ctx.task.project_id.ok_or_else(|| TaskError::permanent("VALIDATION_ERROR", "the task names no project"))?;
        let work = self.0.settings.data_dir.join("work").join(ctx.task.id.to_string());
        tokio::fs::create_dir_all(&work).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let result = self.speak(ctx, &input, &work).await;
        let _ = tokio::fs::remove_dir_all(&work).await;
        if let Err(error) = &result {
            self.0.release_slot(ctx, project, SlotId::Voice { shot: input.shot_id.clone() }, error).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speakers_provider_overrides_the_requests() {
        let line =
            LineToSay { speaker: None, text: "hi".into(), provider: Some("minimax".into()), voice: Voice::default() };
        let request = Choice { provider: Some("local".into()), model: Some("espeak-ng-1".into()) };
        assert_eq!(choice_for(&line, &request), Choice { provider: Some("minimax".into()), model: None });
        let plain = LineToSay { provider: None, ..line };
        assert_eq!(choice_for(&plain, &request), request);
    }

    #[test]
    fn costs_add_up_in_one_currency() {
        let usd = |micros| Some(Money { micros, currency: "USD".into() });
        assert_eq!(add_cost(usd(10), usd(5)), usd(15));
        assert_eq!(add_cost(None, usd(5)), usd(5));
        assert_eq!(add_cost(usd(10), Some(Money { micros: 1, currency: "CNY".into() })), usd(10));
    }
}
