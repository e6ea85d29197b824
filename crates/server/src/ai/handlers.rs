//! The task handlers of the pipeline, one per task type. Each reads its payload, works, stores
//! what it made, and writes the result back into the project by id.

use super::fallback::{CallError, FellBack, Unanswered};
use super::links::Link;
use super::retry::{Retry, call_with_retry};
use super::targets::{self, FrameRef, Target, image_plan, video_plan};
use super::{AiService, Choice, Resolved, app_to_task, provider_to_task};
use crate::takes::{self, Provenance, TakeDraft, inputs_hash};
use crate::tasks::kind::{KindPayload, TaskKind};
use crate::tasks::{TaskContext, TaskError, TaskHandler};
use cinegen_domain::project::ChangeError;
use cinegen_domain::project::assets::{SlotId, TakeSlot, prepare_slot, slot_mut};
use cinegen_domain::project::document::{id_matches, validate_script_data, validate_shots};
use cinegen_domain::project::settings::target_duration_secs;
use cinegen_domain::{FileId, FileKind, ProjectId, ValidationErrors};
use cinegen_providers::{
    CameraMove, Capability, ImageRequest, PromptTarget, ProviderError, TextTask, VideoFrames, VideoPoll, VideoRequest,
    prompts,
};
use cinegen_store::{ProjectRecord, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) fn payload<P: KindPayload>(ctx: &TaskContext) -> Result<P, TaskError> {
    TaskKind::input(&ctx.task)
}

fn project_id(ctx: &TaskContext) -> Result<ProjectId, TaskError> {
    ctx.task.project_id.ok_or_else(|| TaskError::permanent("VALIDATION_ERROR", "the task names no project"))
}

/// Seconds of the project's target duration (`60s`, `2min`).
fn duration_secs(project: &ProjectRecord) -> u32 {
    target_duration_secs(&project.settings.target_duration).unwrap_or(60)
}

fn store_error(error: StoreError) -> TaskError {
    match error {
        StoreError::NotFound => TaskError::permanent("NOT_FOUND", "the project is gone"),
        StoreError::Rejected(ChangeError::Missing(what)) => {
            TaskError::permanent("NOT_FOUND", format!("{what} is gone"))
        }
        StoreError::Rejected(other) => TaskError::permanent("VALIDATION_ERROR", other.to_string()),
        other => TaskError::transient(other.to_string()),
    }
}

/// Whether this error ends the task (rather than being retried).
fn is_final(ctx: &TaskContext, error: &TaskError) -> bool {
    match error {
        TaskError::Permanent { .. } => true,
        TaskError::Transient { .. } => ctx.attempt() >= ctx.task.max_attempts,
        TaskError::Cancelled | TaskError::LeaseLost => false,
    }
}

impl AiService {
    /// Puts `file` into `slot` with `status`. Answers the file the slot held before (now
    /// unreferenced), or `Err(NOT_FOUND)` when the slot no longer exists.
    pub(crate) async fn settle_slot(
        &self,
        project: ProjectId,
        slot: SlotId,
        file: Option<FileId>,
        status: &'static str,
    ) -> Result<Option<FileId>, TaskError> {
        self.settle_slot_with(project, slot, file, status, serde_json::Map::new()).await
    }

    /// [`Self::settle_slot`], also writing `fields` beside the file (a voice's `duration`).
    async fn settle_slot_with(
        &self,
        project: ProjectId,
        slot: SlotId,
        file: Option<FileId>,
        status: &'static str,
        fields: serde_json::Map<String, Value>,
    ) -> Result<Option<FileId>, TaskError> {
        let previous = Arc::new(Mutex::new(None));
        let seen = previous.clone();
        let change = move |record: &mut ProjectRecord| {
            prepare_slot(&mut record.docs, &slot);
            let mut found = slot_mut(&mut record.docs, &slot).ok_or_else(|| ChangeError::Missing(slot.describe()))?;
            if let Some(file) = file {
                *seen.lock().expect("slot") = found.file_id().and_then(|id| id.parse::<FileId>().ok());
                found.set_file_id(Some(file.to_string()));
                found.set_url(None);
                for (key, value) in &fields {
                    found.object.insert(key.clone(), value.clone());
                }
            }
            found.set_status(status);
            Ok(())
        };
        self.store.change_project(project, Box::new(change)).await.map_err(store_error)?;
        let previous = *previous.lock().expect("slot");
        Ok(previous.filter(|old| Some(*old) != file))
    }

    /// Marks `slot` failed (or back to pending when cancelled) once the task has really ended.
    pub(crate) async fn release_slot(&self, ctx: &TaskContext, project: ProjectId, slot: SlotId, error: &TaskError) {
        let status = match error {
            TaskError::Cancelled => "pending",
            other if is_final(ctx, other) => "failed",
            _ => return,
        };
        let _ = self.settle_slot(project, slot, None, status).await;
    }

    /// Generates the image of `target`, stores it, keeps it as a take and writes it back;
    /// answers the new file.
    pub async fn generate_image(
        &self,
        ctx: &TaskContext,
        target: &Target,
        choice: &Choice,
        inputs: &ImageInputs,
    ) -> Result<FileId, TaskError> {
        let project = self.project(ctx).await?;
        let mut plan = image_plan(&project, target)
            .map_err(|what| TaskError::permanent("NOT_FOUND", format!("{what} is gone")))?;
        let slot = TakeSlot::Asset(plan.slot.clone());
        let made_from = inputs_hash(&project, &slot);
        let user_prompt = inputs.prompt.clone().filter(|p| !p.trim().is_empty());
        if let Some(prompt) = &user_prompt {
            plan.prompt = prompt.clone();
        }
        // A re-run names every reference itself; the documents' are not added again.
        if inputs.exact {
            plan.references.clear();
        }
        for link in &inputs.references {
            plan.references.push(self.fetch_link(&project, link, plan.kind).await?);
        }
        let mut references = Vec::with_capacity(plan.references.len());
        for file in &plan.references {
            references.push(self.media_input(project.id, *file).await?);
        }
        let request = ImageRequest {
            prompt: plan.prompt.clone(),
            width: plan.width,
            height: plan.height,
            count: 1,
            panels: plan.panels,
            references,
            model: None,
            // The card says what the picture shows: the prompt as sent, the person's own included.
            card: plan.card.clone().map(|card| cinegen_media::Card { picture: plan.prompt.clone(), ..card }),
            vendor_label: self.vendor_label(&project),
        };
        ctx.progress(20, "painting").await?;
        let mut turns = self.turns(ctx.task.user_id, Capability::Image, choice, Unanswered::FallsBack);
        let (resolved, output, took) = loop {
            let resolved = turns.provider().await?;
            match self.paint(&resolved, &request).await {
                Ok((output, took)) => break (resolved, output, took),
                Err(error) => turns.failed(&resolved, error).await?,
            }
        };
        let fell_back = turns.fell_back();
        let count = output.images.len() as i64;
        let cost = self.record_usage(ctx, &resolved, &output.model, Capability::Image, count, output.usage).await;
        let media = output
            .images
            .into_iter()
            .next()
            .ok_or_else(|| TaskError::permanent("PROVIDER_ERROR", "the provider answered no image"))?;
        ctx.progress(80, "storing").await?;
        let name = format!("{}.png", plan.kind.as_str());
        let file = self.store_media(project.owner_id, project.id, plan.kind, media, &name).await?;
        let rerun = ImagePayload {
            target: target.clone(),
            choice: Choice { provider: Some(resolved.provider.name.to_owned()), model: Some(output.model.clone()) },
            inputs: ImageInputs {
                prompt: Some(plan.prompt.clone()),
                references: plan.references.iter().map(|f| Link::File(*f)).collect(),
                exact: true,
            },
            then: Vec::new(),
        };
        let draft = TakeDraft {
            slot,
            provider: Some(resolved.provider.name.to_owned()),
            model: Some(output.model.clone()),
            inputs_hash: made_from,
            references: plan.references.clone(),
            cost,
            provenance: Provenance {
                origin: "generated".into(),
                params: json!({ "width": plan.width, "height": plan.height, "count": 1, "panels": plan.panels }),
                prompt: Some(plan.prompt.clone()),
                user_prompt,
                provider_ms: Some(took.as_millis() as u64),
                usage: Some(json!({ "unit": "image", "quantity": count })),
                fell_back,
                recipe: Some(json!({ "task_type": TaskKind::IMAGE, "payload": rerun })),
                ..Provenance::default()
            },
        };
        self.place(ctx, &project, draft, file.id).await?;
        Ok(file.id)
    }

    /// Paints `request` with `resolved`'s provider, model and key; answers what it made and how
    /// long the provider took.
    async fn paint(
        &self,
        resolved: &Resolved,
        request: &ImageRequest,
    ) -> Result<(cinegen_providers::ImageOutput, Duration), ProviderError> {
        let request = ImageRequest { model: resolved.model.clone(), ..request.clone() };
        let _slot = self.slot(resolved, Capability::Image).await;
        let model = resolved.provider.image()?;
        let started = Instant::now();
        let call = resolved.call(Capability::Image, "generate");
        let generate = || model.generate(&request, &resolved.credentials);
        let output = call_with_retry(call, Retry::STARTS_WORK, self.pace_for(resolved), generate).await?;
        let name = resolved.model.as_deref().unwrap_or(&output.model);
        self.latencies.record(resolved.provider.name, name, started.elapsed());
        Ok((output, started.elapsed()))
    }

    /// Submits a new clip job with `resolved`'s provider (or finds the one a lost submission
    /// started) and records it: the job's id and the model the vendor named. A fallback's
    /// submission that got no answer is never made again on its own: the next attempt goes to
    /// the first provider, which cannot be asked about the fallback's job. `standing_for` (the
    /// fallback's note) is kept with the job.
    async fn submit_clip(
        &self,
        ctx: &TaskContext,
        resolved: &Resolved,
        request: &VideoRequest,
        standing_for: Option<&FellBack>,
    ) -> Result<(String, String), CallError> {
        let model = resolved.provider.video()?;
        ctx.progress(15, "submitting").await?;
        // A re-run may follow a submission whose answer was lost: where the vendor files jobs
        // under our key, the job it took is found rather than paid for twice.
        let earlier = if ctx.attempt() > 1 && model.finds_by_key() {
            let call = resolved.call(Capability::Video, "find");
            let find = || model.find(request, &resolved.credentials);
            call_with_retry(call, Retry::READS, self.pace_for(resolved), find).await?
        } else {
            None
        };
        let job = match earlier {
            Some(job) => {
                tracing::info!(task.id = %ctx.task.id, job = %job.job_id, "found the job an earlier submission started");
                job
            }
            None => {
                let call = resolved.call(Capability::Video, "submit");
                let submit = || model.submit(request, &resolved.credentials);
                call_with_retry(call, Retry::STARTS_WORK, self.pace_for(resolved), submit).await.map_err(|error| match error {
                    // The vendor can say whether it took the job: the next attempt asks.
                    ProviderError::NoAnswer { message } if model.finds_by_key() && standing_for.is_none() => CallError::Task(TaskError::transient(format!(
                        "{message}; the next attempt looks the job up before submitting again"
                    ))),
                    // The job may have been accepted; submitting again could pay for it twice.
                    ProviderError::NoAnswer { message } => CallError::Task(TaskError::permanent(
                        "PROVIDER_ERROR",
                        format!("{message}; the video job may have been accepted, so it is not submitted again on its own — retry the task to submit anew"),
                    )),
                    other => CallError::Provider(other),
                })?
            }
        };
        tracing::info!(task.id = %ctx.task.id, job = %job.job_id, "submitted a provider job");
        let note = standing_for.and_then(|fell_back| serde_json::to_value(fell_back).ok());
        ctx.record_provider_job(resolved.provider.name, &job.job_id, note.as_ref()).await?;
        Ok((job.job_id, job.model))
    }

    /// The clip job this attempt follows: a resumed attempt's recorded job, at the provider that
    /// took it; else a new job at the provider `choice` resolves to (or at the user's fallback,
    /// when that one is down).
    async fn start_clip(&self, ctx: &TaskContext, choice: &Choice, base: &VideoRequest) -> Result<ClipJob, TaskError> {
        if let Some(job) = &ctx.task.provider_job_id {
            tracing::info!(task.id = %ctx.task.id, job, attempt = ctx.attempt(), "resuming the provider job");
            let (resolved, fell_back) = self.provider_of_job(ctx, choice).await?;
            let _slot = self.slot(&resolved, Capability::Video).await;
            let request = clip_request(self, ctx, &resolved, base);
            let model_name = resolved.model.clone().unwrap_or_default();
            let submitted = Instant::now();
            return Ok(ClipJob { resolved, _slot, submitted, fell_back, request, job_id: job.clone(), model_name });
        }
        // A later attempt may follow a submission whose answer was lost, at the provider asked
        // first: only that provider can say whether it took the job.
        let mut turns =
            self.turns(ctx.task.user_id, Capability::Video, choice, Unanswered::Stays).alone(ctx.attempt() > 1);
        loop {
            let resolved = turns.provider().await?;
            let _slot = self.slot(&resolved, Capability::Video).await;
            let submitted = Instant::now();
            let request = clip_request(self, ctx, &resolved, base);
            match self.submit_clip(ctx, &resolved, &request, turns.standing_for()).await {
                Ok((job_id, model_name)) => {
                    let fell_back = turns.fell_back();
                    return Ok(ClipJob { resolved, _slot, submitted, fell_back, request, job_id, model_name });
                }
                Err(error) => turns.failed(&resolved, error).await?,
            }
        }
    }

    /// The provider that took the task's recorded job (a resumed attempt polls it there, even
    /// when the request's provider or the user's default has changed since), and whom it stood
    /// in for when it was the user's fallback, as kept with the job.
    async fn provider_of_job(
        &self,
        ctx: &TaskContext,
        choice: &Choice,
    ) -> Result<(Resolved, Option<FellBack>), TaskError> {
        let user = ctx.task.user_id;
        let fell_back = ctx.task.provider_fallback.clone().and_then(|note| serde_json::from_value(note).ok());
        let Some(took) = ctx.task.provider.clone() else {
            return Ok((self.resolve(user, Capability::Video, choice).await?, fell_back));
        };
        let asked = self.pick(user, Capability::Video, choice).await?.0.name;
        // The job's own model is the vendor's to say; the request's belongs to the provider asked.
        let choice = if took == asked { choice.clone() } else { Choice { provider: Some(took), model: None } };
        Ok((self.resolve(user, Capability::Video, &choice).await?, fell_back))
    }

    /// The file a link names: the project's own, or an outside image downloaded into the
    /// project first (through the guarded downloader), so it is ours before a provider sees it.
    async fn fetch_link(&self, project: &ProjectRecord, link: &Link, kind: FileKind) -> Result<FileId, TaskError> {
        match link {
            Link::File(id) => Ok(*id),
            Link::Url(url) => {
                let media = cinegen_providers::Media::Url(url.clone());
                Ok(self.store_media(project.owner_id, project.id, kind, media, "reference").await?.id)
            }
        }
    }

    /// Keeps a new file as a take and puts it into its slot as `completed`; the file the slot
    /// held before stays, as a take of its own. When the slot (or project) went away meanwhile,
    /// the take has no home and is deleted (with its file, unless another take holds it).
    pub(crate) async fn place(
        &self,
        ctx: &TaskContext,
        project: &ProjectRecord,
        draft: TakeDraft,
        file: FileId,
    ) -> Result<(), TaskError> {
        self.place_with(ctx, project, draft, file, serde_json::Map::new()).await
    }

    /// [`Self::place`], writing `fields` into the slot beside the file.
    pub(crate) async fn place_with(
        &self,
        ctx: &TaskContext,
        project: &ProjectRecord,
        draft: TakeDraft,
        file: FileId,
        fields: serde_json::Map<String, Value>,
    ) -> Result<(), TaskError> {
        let TakeSlot::Asset(slot) = draft.slot.clone() else {
            return Err(TaskError::permanent("VALIDATION_ERROR", "a film is placed by the merge"));
        };
        let take = takes::keep(self.store.as_ref(), ctx, project, file, draft).await?;
        match self.settle_slot_with(project.id, slot.clone(), Some(file), "completed", fields).await {
            Ok(previous) => {
                if let Some(old) = previous {
                    takes::keep_replaced(self.store.as_ref(), project, &TakeSlot::Asset(slot), old).await;
                }
                Ok(())
            }
            Err(error) => {
                if let Ok(Some(deleted)) = self.store.delete_take(project.id, take.id, chrono::Utc::now()).await
                    && let Some(file) = deleted.file
                {
                    let _ = self.files.remove_object(&file).await;
                }
                Err(error)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptParsePayload {
    /// The script to parse; else the project's `raw_script`.
    #[serde(default)]
    pub raw_script: Option<String>,
    /// The script's language; else the project's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(flatten)]
    pub choice: Choice,
}

pub struct ScriptParseHandler(pub AiService);

fn check_breakdown(value: &Value) -> Result<(), String> {
    let mut errors = ValidationErrors::default();
    match value.get("scriptData") {
        Some(data) if data.is_object() => validate_script_data(data, &mut errors),
        _ => return Err("`scriptData` must be an object".into()),
    }
    match value.get("shots") {
        Some(shots) => validate_shots(shots, &mut errors),
        None => return Err("`shots` is missing".into()),
    }
    if errors.0.is_empty() { Ok(()) } else { Err(errors.to_string()) }
}

#[async_trait::async_trait]
impl TaskHandler for ScriptParseHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::SCRIPT_PARSE
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: ScriptParsePayload = payload(ctx)?;
        let project = self.0.project(ctx).await?;
        let script = input.raw_script.clone().unwrap_or_else(|| project.raw_script.clone());
        if script.trim().is_empty() {
            return Err(TaskError::permanent("VALIDATION_ERROR", "there is no script to parse"));
        }
        ctx.progress(10, "reading the script").await?;
        let task = TextTask::ParseScript {
            script: script.clone(),
            genre: project.settings.genre.clone(),
            duration_secs: duration_secs(&project),
        };
        let style = targets::style_words(&project);
        let language = input.language.as_deref().unwrap_or(&project.settings.language);
        let answer = self.0.ask(ctx, &input.choice, task, language, &style, check_breakdown).await?;
        ctx.progress(90, "saving the breakdown").await?;
        let (data, shots) = (answer.value["scriptData"].clone(), answer.value["shots"].clone());
        let summary = json!({
            "characters": data["characters"].as_array().map_or(0, Vec::len),
            "scenes": data["scenes"].as_array().map_or(0, Vec::len),
            "shots": shots.as_array().map_or(0, Vec::len),
        });
        let change = move |record: &mut ProjectRecord| {
            record.raw_script = script;
            record.docs.script_data = data;
            record.docs.shots = shots;
            Ok(())
        };
        self.0.store.change_project(project.id, Box::new(change)).await.map_err(store_error)?;
        Ok(answer.note(summary))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptGeneratePayload {
    pub idea: String,
    #[serde(default)]
    pub genre: Option<String>,
    #[serde(default)]
    pub duration_secs: Option<u32>,
    #[serde(flatten)]
    pub choice: Choice,
}

pub struct ScriptGenerateHandler(pub AiService);

#[async_trait::async_trait]
impl TaskHandler for ScriptGenerateHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::SCRIPT_GENERATE
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: ScriptGeneratePayload = payload(ctx)?;
        let project = self.0.project(ctx).await?;
        ctx.progress(10, "writing").await?;
        let task = TextTask::GenerateScript {
            idea: input.idea,
            genre: input.genre.unwrap_or_else(|| project.settings.genre.clone()),
            duration_secs: input.duration_secs.unwrap_or_else(|| duration_secs(&project)),
        };
        let check = |value: &Value| match value.get("script").and_then(Value::as_str) {
            Some(script) if !script.trim().is_empty() => Ok(()),
            _ => Err("`script` must be a non-empty string".to_owned()),
        };
        let style = targets::style_words(&project);
        let answer = self.0.ask(ctx, &input.choice, task, &project.settings.language, &style, check).await?;
        let script = answer.value["script"].as_str().unwrap_or_default().to_owned();
        let title = answer.value.get("title").and_then(Value::as_str).unwrap_or_default().to_owned();
        let saved = script.clone();
        let change = move |record: &mut ProjectRecord| {
            record.raw_script = saved;
            Ok(())
        };
        self.0.store.change_project(project.id, Box::new(change)).await.map_err(store_error)?;
        Ok(answer.note(json!({ "title": title, "script": script })))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShotsGeneratePayload {
    /// Only this scene's shots are planned (and replaced); else every shot.
    #[serde(default)]
    pub scene_id: Option<String>,
    #[serde(flatten)]
    pub choice: Choice,
}

pub struct ShotsGenerateHandler(pub AiService);

/// Gives planned shots ids no other shot uses: `{prefix}-{n}` with keyframe and clip ids after it.
fn renumber(shots: &mut [Value], prefix: &str) {
    for (n, shot) in shots.iter_mut().enumerate() {
        let id = format!("{prefix}-{}", n + 1);
        let mut renamed = std::collections::HashMap::new();
        if let Some(keyframes) = shot.get_mut("keyframes").and_then(Value::as_array_mut) {
            for (k, keyframe) in keyframes.iter_mut().enumerate() {
                let kind = keyframe.get("type").and_then(Value::as_str).unwrap_or("frame").to_owned();
                let new = format!("{id}-{kind}-{}", k + 1);
                if let Some(old) = keyframe.get("id").and_then(Value::as_str) {
                    renamed.insert(old.to_owned(), new.clone());
                }
                keyframe["id"] = json!(new);
            }
        }
        if let Some(interval) = shot.get_mut("interval").filter(|i| i.is_object()) {
            interval["id"] = json!(format!("{id}-clip"));
            for field in ["startKeyframeId", "endKeyframeId"] {
                if let Some(new) = interval.get(field).and_then(Value::as_str).and_then(|old| renamed.get(old)) {
                    interval[field] = json!(new);
                }
            }
        }
        shot["id"] = json!(id);
    }
}

#[async_trait::async_trait]
impl TaskHandler for ShotsGenerateHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::SHOTS_GENERATE
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: ShotsGeneratePayload = payload(ctx)?;
        let project = self.0.project(ctx).await?;
        if let Some(scene) = &input.scene_id
            && targets::scene(&project, scene).is_none()
        {
            return Err(TaskError::permanent("NOT_FOUND", format!("scene '{scene}' is gone")));
        }
        ctx.progress(10, "planning shots").await?;
        let task = TextTask::GenerateShots {
            script_data: project.docs.script_data.clone(),
            scene_id: input.scene_id.clone(),
            duration_secs: duration_secs(&project),
        };
        let check = |value: &Value| {
            let mut errors = ValidationErrors::default();
            match value.get("shots") {
                Some(shots) => validate_shots(shots, &mut errors),
                None => return Err("`shots` is missing".to_owned()),
            }
            if errors.0.is_empty() { Ok(()) } else { Err(errors.to_string()) }
        };
        let style = targets::style_words(&project);
        let answer = self.0.ask(ctx, &input.choice, task, &project.settings.language, &style, check).await?;
        let mut planned = answer.value["shots"].as_array().cloned().unwrap_or_default();
        let count = planned.len();
        let scene = input.scene_id.clone();
        let prefix = format!("shot-{}", &ctx.task.id.to_string()[..8]);
        if scene.is_some() {
            renumber(&mut planned, &prefix);
        }
        let change = move |record: &mut ProjectRecord| {
            let Some(scene) = scene else {
                record.docs.shots = Value::Array(planned);
                return Ok(());
            };
            let existing = record.docs.shots.as_array().cloned().unwrap_or_default();
            let in_scene = |shot: &Value| shot.get("sceneId").is_some_and(|id| id_matches(id, &scene));
            let at = existing.iter().position(in_scene).unwrap_or(existing.len());
            let mut kept: Vec<Value> = existing.iter().filter(|s| !in_scene(s)).cloned().collect();
            let at = at.min(kept.len());
            kept.splice(at..at, planned);
            record.docs.shots = Value::Array(kept);
            Ok(())
        };
        self.0.store.change_project(project.id, Box::new(change)).await.map_err(store_error)?;
        Ok(answer.note(json!({ "shots": count })))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisualPromptPayload {
    pub target: Target,
    #[serde(flatten)]
    pub choice: Choice,
}

pub struct VisualPromptHandler(pub AiService);

#[async_trait::async_trait]
impl TaskHandler for VisualPromptHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::VISUAL_PROMPT
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: VisualPromptPayload = payload(ctx)?;
        let project = self.0.project(ctx).await?;
        let gone = |what: String| TaskError::permanent("NOT_FOUND", format!("{what} is gone"));
        let (kind, subject, context) = match &input.target {
            Target::Character { character_id } => {
                let c = targets::character(&project, character_id)
                    .ok_or_else(|| gone(format!("character '{character_id}'")))?;
                (PromptTarget::Character, c.clone(), json!({}))
            }
            Target::Variation { character_id, variation_id } => {
                let c = targets::character(&project, character_id)
                    .ok_or_else(|| gone(format!("character '{character_id}'")))?;
                let v = targets::find(c.get("variations"), variation_id)
                    .ok_or_else(|| gone(format!("variation '{variation_id}'")))?;
                (PromptTarget::Variation, v.clone(), c.clone())
            }
            Target::Scene { scene_id } => {
                let s = targets::scene(&project, scene_id).ok_or_else(|| gone(format!("scene '{scene_id}'")))?;
                (PromptTarget::Scene, s.clone(), json!({}))
            }
            Target::Keyframe { shot_id, .. } => {
                let shot = targets::shot(&project, shot_id).ok_or_else(|| gone(format!("shot '{shot_id}'")))?;
                let scene = shot
                    .get("sceneId")
                    .and_then(Value::as_str)
                    .and_then(|id| targets::scene(&project, id))
                    .cloned()
                    .unwrap_or(json!({}));
                (PromptTarget::Keyframe, shot.clone(), scene)
            }
        };
        let check = |value: &Value| match value.get("visualPrompt").and_then(Value::as_str) {
            Some(prompt) if !prompt.trim().is_empty() => Ok(()),
            _ => Err("`visualPrompt` must be a non-empty string".to_owned()),
        };
        let task = TextTask::VisualPrompt { target: kind, subject, context };
        let style = targets::style_words(&project);
        let answer = self.0.ask(ctx, &input.choice, task, &project.settings.language, &style, check).await?;
        let prompt = answer.value["visualPrompt"].as_str().unwrap_or_default().trim().to_owned();
        let slot = input.target.slot();
        let written = prompt.clone();
        let change = move |record: &mut ProjectRecord| {
            let found = slot_mut(&mut record.docs, &slot).ok_or_else(|| ChangeError::Missing(slot.describe()))?;
            found.object.insert("visualPrompt".into(), Value::String(written));
            Ok(())
        };
        self.0.store.change_project(project.id, Box::new(change)).await.map_err(store_error)?;
        Ok(answer.note(json!({ "visualPrompt": prompt })))
    }
}

/// What a request adds to an image's plan: its own prompt, and more reference images.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageInputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Link>,
    /// `references` are all the references (a re-run of a take): the documents' are not added.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exact: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePayload {
    pub target: Target,
    #[serde(flatten)]
    pub choice: Choice,
    #[serde(flatten)]
    pub inputs: ImageInputs,
    /// Images painted after this one, in the same task: a batch's variations of a character
    /// whose base look this task paints first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<Target>,
}

impl ImagePayload {
    pub fn new(target: Target, choice: Choice) -> Self {
        Self { target, choice, inputs: ImageInputs::default(), then: vec![] }
    }
}

pub struct ImageHandler(pub AiService);

#[async_trait::async_trait]
impl TaskHandler for ImageHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::IMAGE
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: ImagePayload = payload(ctx)?;
        let project = project_id(ctx)?;
        let file = match self.0.generate_image(ctx, &input.target, &input.choice, &input.inputs).await {
            Ok(file) => file,
            Err(error) => {
                self.0.release_slot(ctx, project, input.target.slot(), &error).await;
                for follower in &input.then {
                    self.0.release_slot(ctx, project, follower.slot(), &error).await;
                }
                return Err(error);
            }
        };
        let mut followers = Vec::with_capacity(input.then.len());
        for follower in &input.then {
            // A follower's failure is its own: it is reported, and the others still run.
            let outcome = match self.0.generate_image(ctx, follower, &input.choice, &ImageInputs::default()).await {
                Ok(file) => json!({ "target": follower, "file_id": file }),
                Err(error @ (TaskError::Cancelled | TaskError::LeaseLost)) => return Err(error),
                Err(error) => {
                    let _ = self.0.settle_slot(project, follower.slot(), None, "failed").await;
                    json!({ "target": follower, "error": format!("{error:?}") })
                }
            };
            followers.push(outcome);
        }
        Ok(json!({ "file_id": file, "target": input.target, "then": followers }))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoPayload {
    pub shot_id: String,
    /// Seconds; else the shot's clip duration.
    #[serde(default)]
    pub duration: Option<f64>,
    #[serde(flatten)]
    pub choice: Choice,
    /// The provider of a keyframe that must be made first.
    #[serde(default)]
    pub image: Choice,
    /// The motion prompt; else the one built from the shot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// The first and last frames the request names; else the shot's keyframes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Link>,
    /// Animate the shot's `full` keyframe (a grid of panels).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full_frame: bool,
    /// The seed to render with, where the vendor takes one (a take's re-run carries its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
}

impl VideoPayload {
    /// The shot's clip from its own keyframes and prompt.
    pub fn new(shot_id: String, choice: Choice, image: Choice) -> Self {
        Self {
            shot_id,
            duration: None,
            choice,
            image,
            prompt: None,
            start: None,
            end: None,
            full_frame: false,
            seed: None,
        }
    }
}

pub struct VideoHandler(pub AiService);

/// Which of the shot's frames a clip was animated from.
#[derive(Debug, Clone, Copy)]
enum FramesUsed {
    Start,
    StartEnd,
    Grid,
}

impl FramesUsed {
    fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::StartEnd => "start_end",
            Self::Grid => "grid",
        }
    }
}

impl VideoHandler {
    async fn clip(&self, ctx: &TaskContext, input: &VideoPayload) -> Result<Value, TaskError> {
        let ai = &self.0;
        let mut project = ai.project(ctx).await?;
        let gone = |what: String| TaskError::permanent("NOT_FOUND", format!("{what} is gone"));
        let mut plan = video_plan(&project, &input.shot_id, input.duration).map_err(gone)?;
        if input.full_frame && plan.full.is_none() {
            return Err(gone(format!("the full keyframe of shot '{}'", input.shot_id)));
        }
        let first = if input.full_frame { plan.full.as_ref() } else { plan.start.as_ref().or(plan.full.as_ref()) };
        // A clip whose first keyframe has no image gets it first (unless the request names one).
        if input.start.is_none()
            && let Some(frame) = first.filter(|f| f.file.is_none()).cloned()
        {
            ctx.progress(5, "painting the missing keyframe").await?;
            let target = Target::Keyframe { shot_id: input.shot_id.clone(), keyframe_id: frame.keyframe_id.clone() };
            ai.generate_image(ctx, &target, &input.image, &ImageInputs::default()).await?;
            project = ai.project(ctx).await?;
            plan = video_plan(&project, &input.shot_id, input.duration).map_err(gone)?;
        }
        let made_for = TakeSlot::Asset(SlotId::Clip { shot: input.shot_id.clone() });
        let made_from = inputs_hash(&project, &made_for);
        // Frames the request names replace the shot's own.
        if let Some(link) = &input.start {
            let file = ai.fetch_link(&project, link, FileKind::KeyframeStart).await?;
            plan.start = Some(FrameRef { keyframe_id: String::new(), file: Some(file) });
        }
        if let Some(link) = &input.end {
            let file = ai.fetch_link(&project, link, FileKind::KeyframeEnd).await?;
            plan.end = Some(FrameRef { keyframe_id: String::new(), file: Some(file) });
        }
        if let Some(prompt) = input.prompt.as_ref().filter(|p| !p.trim().is_empty()) {
            plan.prompt = prompt.clone();
        }
        let input_of = |file: Option<FileId>| async move {
            match file {
                Some(file) => ai.media_input(project.id, file).await,
                None => Err(TaskError::permanent("NOT_FOUND", "a keyframe of the shot has no image")),
            }
        };
        let (frames, frames_used) = match (&plan.start, &plan.end, &plan.full) {
            (_, _, Some(full)) if input.full_frame => {
                (VideoFrames::Grid { image: input_of(full.file).await?, panels: plan.panels }, FramesUsed::Grid)
            }
            (Some(start), Some(end), _) if start.file.is_some() && end.file.is_some() => {
                (VideoFrames::StartEnd(input_of(start.file).await?, input_of(end.file).await?), FramesUsed::StartEnd)
            }
            (Some(start), _, _) if start.file.is_some() => {
                (VideoFrames::Start(input_of(start.file).await?), FramesUsed::Start)
            }
            (_, _, Some(full)) => {
                (VideoFrames::Grid { image: input_of(full.file).await?, panels: plan.panels }, FramesUsed::Grid)
            }
            (Some(start), _, None) => (VideoFrames::Start(input_of(start.file).await?), FramesUsed::Start),
            (None, _, None) => return Err(gone(format!("the keyframes of shot '{}'", input.shot_id))),
        };
        let (width, height) = targets::frame_size(&project);
        let request = VideoRequest {
            prompt: plan.prompt.clone(),
            frames,
            duration: plan.duration,
            width,
            height,
            model: None,
            seed: input.seed,
            // One key for every submission of this task (Kling's `external_task_id`).
            idempotency_key: Some(format!("cinegen-{}", ctx.task.id)),
            camera: CameraMove::read(&plan.camera_movement),
            callback_url: None,
            negative_prompt: Some(prompts::clip_negative(&project.settings.language).to_owned()),
            vendor_label: ai.vendor_label(&project),
        };
        let ClipJob { resolved, _slot, submitted, fell_back, request, mut job_id, mut model_name } =
            ai.start_clip(ctx, &input.choice, &request).await?;
        let model = resolved.provider.video().map_err(provider_to_task)?;
        // A user's retry (attempts start again from one) of a task whose job was recorded asks
        // that job first, so a clip the vendor finished is not paid for twice; a job the vendor
        // failed or refused is submitted anew, which is what the retry asks for.
        let mut may_resubmit = ctx.task.provider_job_id.is_some() && ctx.attempt() == 1;
        let deadline = Instant::now() + Duration::from_secs(ai.settings.video_deadline_secs);
        let mut wakes = ai.callbacks.wakes();
        let (media, reported, seed) = loop {
            let call = resolved.call(Capability::Video, "poll");
            let poll = || model.poll(&job_id, &request, &resolved.credentials);
            let polled = match call_with_retry(call, Retry::READS, ai.pace_for(&resolved), poll).await {
                Err(ProviderError::Permanent { message }) if may_resubmit => {
                    tracing::info!(task.id = %ctx.task.id, job = %job_id, %message, "the retried task's job failed; submitting anew");
                    may_resubmit = false;
                    // Filed under a key of its own: the failed job holds the task's first one.
                    let key = format!("cinegen-{}-after-{}", ctx.task.id, short_digest(&job_id));
                    let anew = VideoRequest { idempotency_key: Some(key), ..request.clone() };
                    (job_id, model_name) = ai.submit_clip(ctx, &resolved, &anew, fell_back.as_ref()).await?;
                    continue;
                }
                polled => polled.map_err(provider_to_task)?,
            };
            may_resubmit = false;
            match polled {
                VideoPoll::Done { media, usage, seed } => break (media, usage, seed.or(input.seed)),
                VideoPoll::Running { progress } => {
                    if Instant::now() > deadline {
                        let _ = model.cancel(&job_id, &resolved.credentials).await;
                        return Err(TaskError::permanent("PROVIDER_ERROR", "the video job did not finish in time"));
                    }
                    // The vendor's own progress where it reports one; else how far along a
                    // typical job of this model is by now (never past 95 %), said to be an estimate.
                    let (done, message) = match progress {
                        Some(p) => (f64::from(p.min(100)) / 100.0, "rendering"),
                        None => {
                            let typical =
                                ai.latencies.typical_secs(resolved.provider.name, Some(&model_name), Capability::Video);
                            ((submitted.elapsed().as_secs_f64() / typical.max(1.0)).min(0.95), "rendering (estimated)")
                        }
                    };
                    let percent = 20 + (done * 60.0) as i32;
                    if let Err(error) = ctx.progress(percent, message).await {
                        if error == TaskError::Cancelled {
                            let _ = model.cancel(&job_id, &resolved.credentials).await;
                        }
                        return Err(error);
                    }
                    let configured = Duration::from_millis(ai.settings.video_poll_ms);
                    let pause = model.poll_every().map_or(configured, |every| every.min(configured));
                    super::callbacks::pause_or_wake(&mut wakes, ctx.task.id, pause).await;
                }
            }
        };
        // A resumed job's time is not the job's: only whole runs teach the estimate.
        if ctx.task.provider_job_id.is_none() {
            let name = resolved.model.as_deref().unwrap_or(&model_name);
            ai.latencies.record(resolved.provider.name, name, submitted.elapsed());
        }
        let seconds = plan.duration.ceil() as i64;
        let cost = ai.record_usage(ctx, &resolved, &model_name, Capability::Video, seconds, reported).await;
        ctx.progress(85, "storing").await?;
        let file = ai.store_media(project.owner_id, project.id, FileKind::Video, media, "clip.mp4").await?;
        let frame_file = |frame: &Option<FrameRef>| frame.as_ref().and_then(|f| f.file);
        let used_full = matches!(frames_used, FramesUsed::Grid);
        let (start, end) = match frames_used {
            FramesUsed::Grid => (frame_file(&plan.full), None),
            FramesUsed::Start => (frame_file(&plan.start), None),
            FramesUsed::StartEnd => (frame_file(&plan.start), frame_file(&plan.end)),
        };
        let model = (!model_name.is_empty()).then(|| model_name.clone()).or_else(|| resolved.model.clone());
        let rerun = VideoPayload {
            shot_id: input.shot_id.clone(),
            duration: Some(plan.duration),
            choice: Choice { provider: Some(resolved.provider.name.to_owned()), model: model.clone() },
            image: input.image.clone(),
            prompt: Some(plan.prompt.clone()),
            start: start.map(Link::File),
            end: end.map(Link::File),
            full_frame: used_full,
            seed,
        };
        let draft = TakeDraft {
            slot: made_for,
            provider: Some(resolved.provider.name.to_owned()),
            model,
            inputs_hash: made_from,
            references: start.into_iter().chain(end).collect(),
            cost,
            provenance: Provenance {
                origin: "generated".into(),
                params: json!({
                    "duration": plan.duration, "width": width, "height": height,
                    "frames": frames_used.as_str(), "panels": plan.panels, "seed": seed,
                }),
                prompt: Some(plan.prompt.clone()),
                user_prompt: input.prompt.clone().filter(|p| !p.trim().is_empty()),
                provider_ms: Some(submitted.elapsed().as_millis() as u64),
                provider_job_id: Some(job_id.clone()),
                usage: Some(json!({ "unit": "second", "quantity": seconds })),
                fell_back,
                recipe: Some(json!({ "task_type": TaskKind::VIDEO, "payload": rerun })),
                ..Provenance::default()
            },
        };
        ai.place(ctx, &project, draft, file.id).await?;
        Ok(json!({ "file_id": file.id, "shot_id": input.shot_id, "duration": plan.duration }))
    }
}

#[async_trait::async_trait]
impl TaskHandler for VideoHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::VIDEO
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: VideoPayload = payload(ctx)?;
        let project = project_id(ctx)?;
        let result = self.clip(ctx, &input).await;
        if let Err(error) = &result {
            self.0.release_slot(ctx, project, SlotId::Clip { shot: input.shot_id.clone() }, error).await;
        }
        result
    }
}

/// The film's subtitles as an SRT file timed to `reel` as it will be merged, in a font with
/// Chinese glyphs, to draw into the pictures.
async fn burn_in(
    ffmpeg: &cinegen_media::Ffmpeg,
    project: &ProjectRecord,
    reel: &cinegen_media::Reel,
    shot_ids: &[String],
    work: &std::path::Path,
) -> Result<cinegen_media::BurnIn, TaskError> {
    let font = cinegen_media::cjk_font().ok_or_else(|| {
        TaskError::permanent(
            "MEDIA_TOOL_MISSING",
            "subtitles need a font with Chinese glyphs; install fonts-wqy-microhei (Debian)",
        )
    })?;
    let seconds = ffmpeg.reel_seconds(reel).await.map_err(|e| TaskError::permanent("PROVIDER_ERROR", e.to_string()))?;
    let joined: Vec<crate::film::cut::Joined> = shot_ids
        .iter()
        .zip(seconds)
        .map(|(shot_id, seconds)| crate::film::cut::Joined { shot_id: shot_id.clone(), seconds })
        .collect();
    let cut = crate::film::cut::Cut::of(project, Some(&joined));
    let srt =
        crate::film::subtitles::render(&crate::film::subtitles::cues(&cut), crate::film::subtitles::Format::Srt, false);
    let path = work.join("film.srt");
    tokio::fs::write(&path, srt).await.map_err(|e| TaskError::transient(e.to_string()))?;
    Ok(cinegen_media::BurnIn { srt: path, font })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergePayload {
    pub shot_ids: Vec<String>,
    /// An audio file of the project played under the film, ducked under speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub music_file_id: Option<FileId>,
    /// Draw the dialogue's subtitles into the pictures (they are shipped beside it either way).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub burn_subtitles: bool,
}

/// The file id a shot's slot object holds in `field`, if any.
fn file_in(shot: &Value, object: &str, field: &str) -> Option<FileId> {
    shot.get(object).and_then(|o| o.get(field)).and_then(Value::as_str).and_then(|id| id.parse().ok())
}

pub struct MergeHandler(pub AiService);

#[async_trait::async_trait]
impl TaskHandler for MergeHandler {
    fn task_type(&self) -> &'static str {
        TaskKind::MERGE
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let input: MergePayload = payload(ctx)?;
        let ai = &self.0;
        let project = ai.project(ctx).await?;
        let ffmpeg =
            cinegen_media::Ffmpeg::locate().map_err(|e| TaskError::permanent("MEDIA_TOOL_MISSING", e.to_string()))?;
        let mut clips = Vec::with_capacity(input.shot_ids.len());
        let mut voices = Vec::with_capacity(input.shot_ids.len());
        for shot_id in &input.shot_ids {
            let shot = targets::shot(&project, shot_id)
                .ok_or_else(|| TaskError::permanent("NOT_FOUND", format!("shot '{shot_id}' is gone")))?;
            let file = file_in(shot, "interval", "videoFileId")
                .ok_or_else(|| TaskError::permanent("VALIDATION_ERROR", format!("shot '{shot_id}' has no clip yet")))?;
            clips.push(file);
            voices.push(file_in(shot, "voice", "audioFileId"));
        }
        let wanted: Vec<FileId> =
            clips.iter().copied().chain(voices.iter().flatten().copied()).chain(input.music_file_id).collect();
        let records = ai
            .store
            .ready_files_of_project(project.id, &wanted)
            .await
            .map_err(|e| TaskError::transient(e.to_string()))?;
        let work = ai.settings.data_dir.join("work").join(ctx.task.id.to_string());
        tokio::fs::create_dir_all(&work).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let result = async {
            let copy = |id: FileId, path: std::path::PathBuf, what: String| {
                let record = records.iter().find(|r| r.id == id).cloned();
                async move {
                    let record = record.ok_or_else(|| TaskError::permanent("NOT_FOUND", format!("{what} is gone")))?;
                    ai.files.copy_to(&record, &path).await.map_err(app_to_task)?;
                    Ok::<_, TaskError>(path)
                }
            };
            let mut reel = cinegen_media::Reel::default();
            for (n, (clip, voice)) in clips.iter().zip(&voices).enumerate() {
                let shot = &input.shot_ids[n];
                let clip = copy(*clip, work.join(format!("{n:04}.mp4")), format!("the clip of shot '{shot}'")).await?;
                let voice = match voice {
                    Some(id) => Some(copy(*id, work.join(format!("{n:04}-voice")), format!("the voice of shot '{shot}'")).await?),
                    None => None,
                };
                reel.shots.push(cinegen_media::ReelShot { clip, voice });
            }
            if let Some(music) = input.music_file_id {
                reel.music = Some(copy(music, work.join("music"), "the music".into()).await?);
            }
            if input.burn_subtitles {
                reel.subtitles = Some(burn_in(&ffmpeg, &project, &reel, &input.shot_ids, &work).await?);
            }
            ctx.progress(10, "merging").await?;
            let out = work.join("film.mp4");
            let seen = Arc::new(std::sync::atomic::AtomicU8::new(0));
            let reported = seen.clone();
            let labels = crate::film::labels::film(&project, ctx.task.id)?;
            let merging =
                ffmpeg.merge(&reel, &out, &labels, move |p| reported.store(p, std::sync::atomic::Ordering::Relaxed));
            tokio::pin!(merging);
            let merged = loop {
                tokio::select! {
                    done = &mut merging => break done.map_err(|e| TaskError::permanent("PROVIDER_ERROR", e.to_string()))?,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {
                        let p = i32::from(seen.load(std::sync::atomic::Ordering::Relaxed));
                        ctx.progress(10 + p * 8 / 10, "merging").await?;
                    }
                }
            };
            let duration = ffmpeg.probe(&out).await.map(|p| p.duration()).unwrap_or(0.0);
            // The cut as joined: each shot's length on the film (a clip held for its dialogue is
            // longer than the clip), for subtitles and editors' timelines; the held shots named.
            let mut cut = Vec::with_capacity(reel.shots.len());
            let mut held = Vec::new();
            for ((shot, shot_id), seconds) in reel.shots.iter().zip(&input.shot_ids).zip(&merged.seconds) {
                let clip = ffmpeg.probe(&shot.clip).await.map(|p| p.duration()).unwrap_or(0.0);
                if *seconds > clip + 0.01 {
                    held.push(json!({ "shot_id": shot_id, "clip_seconds": clip, "seconds": seconds }));
                }
                cut.push(crate::film::cut::Joined { shot_id: shot_id.clone(), seconds: *seconds });
            }
            ctx.progress(92, "storing the film").await?;
            let file = ai.files.persist_file(project.owner_id, project.id, FileKind::Video, &out, "film.mp4").await.map_err(app_to_task)?;
            Ok::<_, TaskError>((file, merged.mode, duration, cut, held))
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&work).await;
        let (file, mode, duration, cut, held) = result?;
        let file = ai.files.reuse_identical(file).await.map_err(app_to_task)?;
        let draft = TakeDraft {
            slot: TakeSlot::Film,
            provider: None,
            model: None,
            inputs_hash: inputs_hash(&project, &TakeSlot::Film),
            references: clips
                .iter()
                .copied()
                .chain(voices.iter().flatten().copied())
                .chain(input.music_file_id)
                .collect(),
            cost: None,
            provenance: Provenance {
                origin: "merged".into(),
                params: json!({
                    "mode": mode, "duration": duration, "clips": clips.len(), "shot_ids": input.shot_ids, "cut": cut,
                    "voices": voices.iter().flatten().count(), "music_file_id": input.music_file_id, "held": held,
                    "burned_subtitles": input.burn_subtitles,
                }),
                ..Provenance::default()
            },
        };
        let take = takes::keep(ai.store.as_ref(), ctx, &project, file.id, draft).await?;
        let previous = Arc::new(Mutex::new(None));
        let seen = previous.clone();
        let film = file.id;
        let change = move |record: &mut ProjectRecord| {
            *seen.lock().expect("film") = record.merged_video_file_id.replace(film);
            Ok(())
        };
        if let Err(error) = ai.store.change_project(project.id, Box::new(change)).await {
            if let Ok(Some(deleted)) = ai.store.delete_take(project.id, take.id, chrono::Utc::now()).await
                && let Some(file) = deleted.file
            {
                let _ = ai.files.remove_object(&file).await;
            }
            return Err(store_error(error));
        }
        let old = *previous.lock().expect("film");
        if let Some(old) = old.filter(|old| *old != file.id) {
            takes::keep_replaced(ai.store.as_ref(), &project, &TakeSlot::Film, old).await;
        }
        // Shots held for their dialogue are named, so the creator can lengthen those clips.
        Ok(json!({ "file_id": file.id, "mode": mode, "duration": duration, "clips": clips.len(), "held": held }))
    }
}

/// A clip job under way: the provider that took it, the job, and the request it was sent.
struct ClipJob {
    resolved: super::Resolved,
    /// The provider's video slot, held while the job runs.
    _slot: super::limits::Slot,
    /// When the job was submitted (or this attempt took it up).
    submitted: Instant,
    fell_back: Option<FellBack>,
    request: VideoRequest,
    job_id: String,
    /// The model the vendor named for the job.
    model_name: String,
}

/// `base` for `resolved`'s provider: its model, and where it can reach us, the address it says
/// the job changed at (polling stays the truth).
fn clip_request(ai: &AiService, ctx: &TaskContext, resolved: &Resolved, base: &VideoRequest) -> VideoRequest {
    VideoRequest {
        model: resolved.model.clone(),
        callback_url: ai.callbacks.url_for(resolved.provider.name, ctx.task.id),
        ..base.clone()
    }
}

/// Eight hex digits of `text`'s SHA-256: a short, stable tag for an id inside another key.
fn short_digest(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..4])
}
