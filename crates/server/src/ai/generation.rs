//! The rules of asking for generations, independent of HTTP: only an editor of a project may
//! queue work on it, every task queued (a batch's items each) draws on its hourly budget, a slot
//! being filled is marked `generating` in the same transaction that queues its task, and a batch
//! is planned from what the documents are missing.

use super::batch_plan::{BatchKind, Selection, plan_batch};
use super::links::Link;
use super::{BATCH_ITEM, Choice, INTERACTIVE};
use crate::cost::estimate::{Estimate, Priced};
use crate::error::{AppError, AppResult};
use crate::projects::ProjectService;
use crate::projects::access::EditorAccess;
use crate::tasks::budget::{Budget, Charge};
use crate::tasks::kind::{BatchPayload, TaskKind};
use crate::tasks::{TaskEvents, TaskService};
use chrono::Utc;
use cinegen_domain::project::ChangeError;
use cinegen_domain::project::assets::{SlotId, prepare_slot, slot_mut};
use cinegen_domain::{FieldError, FileId, ProjectId, TaskId, UserId, ValidationErrors};
use cinegen_providers::Capability;
use cinegen_store::{BudgetScope, NewTask, ProjectRecord, Store, StoreError, TakeRecord, TaskRecord};
use std::collections::HashSet;
use std::sync::Arc;

/// Items one batch may queue.
pub const MAX_BATCH_ITEMS: usize = 500;
/// The longest sample a voice preview says.
pub const PREVIEW_CHARS: usize = 200;

/// What a voice says when the person previewing it gives no text.
fn sample_line(language: &str) -> &'static str {
    match language {
        "en" => "The rain has not stopped since you left. Tonight, I will find him.",
        _ => "雨一直没停。今晚，我一定要找到他。",
    }
}

/// Takes a batch may ask for per item.
pub const MAX_CANDIDATES: u8 = 4;

/// What a batch makes, besides its kind.
#[derive(Debug, Clone)]
pub struct BatchWanted {
    /// Only these shots, generated before or not.
    pub shot_ids: Option<Vec<String>>,
    /// Only the slots whose chosen take is stale.
    pub stale: bool,
    /// Takes per item (1–[`MAX_CANDIDATES`]).
    pub candidates: u8,
    /// Queue as many items as fit under the spending caps, rather than refusing the batch.
    pub fit_budget: bool,
}

impl Default for BatchWanted {
    fn default() -> Self {
        Self { shot_ids: None, stale: false, candidates: 1, fit_budget: false }
    }
}

#[derive(Clone)]
pub struct GenerationService {
    store: Arc<dyn Store>,
    projects: ProjectService,
    tasks: TaskService,
    events: TaskEvents,
    takes: crate::takes::TakeService,
    ai: super::AiService,
}

/// A project the caller may generate into: the proof, and the documents as they are now.
pub struct Editable {
    pub caller: UserId,
    pub access: EditorAccess,
    pub project: ProjectRecord,
}

/// What a queued request answers: its task, and whether this request made it (an idempotent
/// repeat answers the earlier one's).
pub struct Queued {
    pub task: TaskRecord,
    pub created: bool,
    /// What the work is expected to cost and take (absent for a repeat of an earlier request).
    pub estimate: Option<Estimate>,
}

impl Queued {
    /// Names the estimate of newly queued work (a repeat answers the earlier task, without one).
    fn with(mut self, estimate: Estimate) -> Self {
        if self.created {
            self.estimate = Some(estimate);
        }
        self
    }
}

fn missing(what: String) -> AppError {
    AppError::NotFound(format!("{what} not found"))
}

impl GenerationService {
    pub fn new(
        store: Arc<dyn Store>,
        projects: ProjectService,
        tasks: TaskService,
        events: TaskEvents,
        takes: crate::takes::TakeService,
        ai: super::AiService,
    ) -> Self {
        Self { store, projects, tasks, events, takes, ai }
    }

    /// What `kinds` would cost and take on this project, for the caller.
    pub async fn estimate(&self, on: &Editable, kinds: &[TaskKind]) -> AppResult<Estimate> {
        Ok(self.price(on, kinds).await?.estimate)
    }

    async fn price(&self, on: &Editable, kinds: &[TaskKind]) -> AppResult<Priced> {
        crate::cost::estimate::estimate(&self.ai, on.caller, &on.project, kinds).await
    }

    /// The project, for an editor of it (viewers: 403; strangers: 404).
    pub async fn editable(&self, caller: UserId, id: ProjectId) -> AppResult<Editable> {
        let (access, project) = self.projects.load_with_access(caller, id).await?;
        Ok(Editable { caller, access: access.editor()?, project })
    }

    /// A task of the caller's on the project, interactive priority.
    fn task(&self, on: &Editable, kind: &TaskKind, key: Option<String>) -> NewTask {
        let now = Utc::now();
        NewTask {
            id: TaskId::new(),
            user_id: on.caller,
            project_id: Some(on.access.id()),
            parent_id: None,
            task_type: kind.name().into(),
            priority: INTERACTIVE,
            payload: kind.payload(),
            max_attempts: 3,
            idempotency_key: key,
            run_at: now,
            now,
            spend: None,
        }
    }

    /// Queues one task, drawn from the caller's hourly budget.
    pub async fn enqueue(&self, on: &Editable, kind: TaskKind, key: Option<String>) -> AppResult<Queued> {
        let charge = self.tasks.charge_for(on.caller, std::slice::from_ref(&kind)).await?;
        let Priced { estimate, per_task } = self.price(on, std::slice::from_ref(&kind)).await?;
        self.tasks.draw(on.caller, &charge).await?;
        let task = spending(self.task(on, &kind, key), per_task.into_iter().next());
        let queued = self.store.enqueue(&task).await.map_err(AppError::from);
        let queued = self.settle_charge(on, &charge, queued.map(|(task, created)| self.announce(task, created))).await;
        queued.map(|q| q.with(estimate))
    }

    /// Queues one task that fills `slots`, marking them as generating in the same transaction.
    pub async fn enqueue_into(
        &self,
        on: &Editable,
        slots: Vec<SlotId>,
        kind: TaskKind,
        key: Option<String>,
    ) -> AppResult<Queued> {
        let charge = self.tasks.charge_for(on.caller, std::slice::from_ref(&kind)).await?;
        let Priced { estimate, per_task } = self.price(on, std::slice::from_ref(&kind)).await?;
        let task = spending(self.task(on, &kind, key), per_task.into_iter().next());
        Ok(self.enqueue_charged(on, slots, vec![task], charge).await?.with(estimate))
    }

    /// Gives the charge back when nothing new was queued (refused, or an idempotent repeat).
    async fn settle_charge(&self, on: &Editable, charge: &Charge, queued: AppResult<Queued>) -> AppResult<Queued> {
        if !matches!(queued, Ok(Queued { created: true, .. })) {
            self.tasks.refund(on.caller, charge).await;
        }
        queued
    }

    /// Draws `charge`, then queues `tasks` (the first is answered) and marks `slots` as
    /// generating, in one transaction.
    async fn enqueue_charged(
        &self,
        on: &Editable,
        slots: Vec<SlotId>,
        tasks: Vec<NewTask>,
        charge: Charge,
    ) -> AppResult<Queued> {
        self.tasks.draw(on.caller, &charge).await?;
        let queued = self.enqueue_marking(on, slots, tasks).await;
        self.settle_charge(on, &charge, queued).await
    }

    async fn enqueue_marking(&self, on: &Editable, slots: Vec<SlotId>, tasks: Vec<NewTask>) -> AppResult<Queued> {
        let change = move |record: &mut ProjectRecord| {
            for slot in &slots {
                prepare_slot(&mut record.docs, slot);
                slot_mut(&mut record.docs, slot)
                    .ok_or_else(|| ChangeError::Missing(slot.describe()))?
                    .set_status("generating");
            }
            Ok(())
        };
        let done = self.store.change_project_and_enqueue(on.access.id(), Box::new(change), tasks).await.map_err(
            |e| match e {
                StoreError::Rejected(ChangeError::Missing(what)) => missing(what),
                StoreError::NotFound => AppError::not_found("project"),
                other => other.into(),
            },
        )?;
        let first =
            done.tasks.into_iter().next().ok_or_else(|| AppError::internal(anyhow::anyhow!("nothing enqueued")))?;
        Ok(self.announce(first, done.created))
    }

    /// The music bed a merge names: an audio file of the project's, ready.
    pub async fn music(&self, on: &Editable, raw: &str) -> AppResult<FileId> {
        let invalid =
            |message: &str| AppError::validation(ValidationErrors(vec![FieldError::new("music_file_id", message)]));
        let id: FileId = raw.parse().map_err(|_| invalid("is not a file id"))?;
        let found = self.store.ready_files_of_project(on.access.id(), &[id]).await?;
        let file = found
            .into_iter()
            .next()
            .ok_or_else(|| AppError::NotFound(format!("file {id} not found in this project")))?;
        if file.kind != cinegen_domain::FileKind::Audio {
            return Err(invalid("must be an audio file (uploaded with file_type audio)"));
        }
        Ok(id)
    }

    /// Speaks `text` (else a sample line) in `voice`, for a person choosing a voice: a short
    /// synchronous call, drawn from the caller's hourly budget of its provider and recorded as
    /// usage like any other. Answers the audio and its content type.
    pub async fn preview_voice(
        &self,
        caller: UserId,
        choice: &Choice,
        voice: cinegen_providers::Voice,
        text: Option<String>,
        language: &str,
    ) -> AppResult<(bytes::Bytes, String)> {
        let mut errors = ValidationErrors::default();
        for (field, problem) in voice.problems() {
            errors.push(FieldError::new(field, problem));
        }
        let text =
            text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).unwrap_or_else(|| sample_line(language).into());
        if text.chars().count() > PREVIEW_CHARS {
            errors.push(FieldError::new("text", format!("must be at most {PREVIEW_CHARS} characters")));
        }
        errors.into_result().map_err(AppError::validation)?;
        let provider = self.ai.provider_for(caller, Capability::Speech, choice).await?;
        let charge = Charge::of(Budget::for_call(provider, Capability::Speech), 1);
        self.tasks.draw(caller, &charge).await?;
        let spoken = self.ai.speak_now(caller, choice, voice, text, language).await;
        if spoken.is_err() {
            self.tasks.refund(caller, &charge).await;
        }
        spoken
    }

    /// What a batch of `kind` would make: everything missing, every frame or clip of the shots
    /// `wanted` names, or every stale slot; each item `candidates` times. Refused when it would
    /// make nothing or more than [`MAX_BATCH_ITEMS`].
    pub async fn plan(
        &self,
        on: &Editable,
        kind: BatchKind,
        choice: &Choice,
        image: &Choice,
        wanted: &BatchWanted,
    ) -> AppResult<super::batch_plan::BatchPlan> {
        if let Some(shots) = &wanted.shot_ids {
            check_selection(&on.project, kind, shots)?;
        }
        if !(1..=MAX_CANDIDATES).contains(&wanted.candidates) {
            let error = FieldError::new("candidates", format!("must be between 1 and {MAX_CANDIDATES}"));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        let stale: HashSet<SlotId> = if wanted.stale {
            if wanted.shot_ids.is_some() {
                let error = FieldError::new("stale", "selects slots itself: give it without shot_ids");
                return Err(AppError::validation(ValidationErrors(vec![error])));
            }
            self.takes.stale_slots(&on.project).await?.into_iter().collect()
        } else {
            HashSet::new()
        };
        let selection = match (&wanted.shot_ids, wanted.stale) {
            (Some(shots), _) => Selection::Shots(shots),
            (None, true) => Selection::Stale(&stale),
            (None, false) => Selection::Missing,
        };
        let plan = plan_batch(&on.project, kind, choice, image, selection, usize::from(wanted.candidates));
        if plan.items.is_empty() {
            let what = if wanted.stale { "stale" } else { "missing" };
            let error = FieldError::new("kind", format!("nothing to generate: no {} are {what}", kind.as_str()));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        if plan.items.len() > MAX_BATCH_ITEMS {
            let error = FieldError::new(
                "kind",
                format!(
                    "{} {} are asked for; a batch makes at most {MAX_BATCH_ITEMS}",
                    plan.items.len(),
                    kind.as_str()
                ),
            );
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        Ok(plan)
    }

    /// A batch (see [`Self::plan`]): one item per slot under a parent task that no worker
    /// claims; the items' slots are marked in the same transaction.
    pub async fn batch(
        &self,
        on: &Editable,
        kind: BatchKind,
        choice: &Choice,
        image: &Choice,
        wanted: &BatchWanted,
        key: Option<String>,
    ) -> AppResult<Queued> {
        let mut plan = self.plan(on, kind, choice, image, wanted).await?;
        let mut priced = self.price(on, &plan.items).await?;
        if wanted.fit_budget {
            let fits = self.items_within_budget(on, &priced.per_task).await?;
            if fits < plan.items.len() {
                plan.items.truncate(fits.max(1));
                let kept: Vec<SlotId> = plan.items.iter().filter_map(slot_of).collect();
                plan.slots.retain(|slot| kept.contains(slot));
                priced = self.price(on, &plan.items).await?;
            }
        }
        let Priced { estimate, per_task } = priced;
        let batch = TaskKind::from(BatchPayload { kind, items: plan.items.len() });
        // The batch itself, and each item like a request of its own.
        let charge = self.tasks.charge_for(on.caller, &plan.items).await?.and(Budget::Batch, 1);
        let mut parent = self.task(on, &batch, key);
        parent.max_attempts = 1;
        let mut tasks = vec![parent.clone()];
        for (input, spend) in plan.items.iter().zip(per_task) {
            let mut item = spending(self.task(on, input, None), Some(spend));
            item.parent_id = Some(parent.id);
            item.priority = BATCH_ITEM;
            tasks.push(item);
        }
        Ok(self.enqueue_charged(on, plan.slots, tasks, charge).await?.with(estimate))
    }

    /// How many of the first items fit under every cap they fall under (the caller's, the
    /// project's, the server's for its own keys), as things stand: a batch "up to the cap".
    async fn items_within_budget(&self, on: &Editable, spends: &[cinegen_store::Spend]) -> AppResult<usize> {
        let now = Utc::now();
        let mut room: Vec<(cinegen_store::BudgetScope, String, i64)> = Vec::new();
        let mut scopes = vec![BudgetScope::User(on.caller), BudgetScope::Project(on.access.id())];
        if spends.iter().any(|s| s.server_key) {
            scopes.push(BudgetScope::Server);
        }
        for scope in scopes {
            for used in self.store.budget_use(scope, now).await? {
                if let Some(cap) = used.cap {
                    room.push((scope, used.currency, cap - used.spent - used.held));
                }
            }
        }
        let mut fits = 0;
        for spend in spends {
            for money in &spend.amounts {
                for (scope, currency, left) in room.iter_mut() {
                    if *currency == money.currency && (spend.server_key || *scope != BudgetScope::Server) {
                        *left -= money.micros;
                    }
                }
            }
            if room.iter().any(|(_, _, left)| *left < 0) {
                break;
            }
            fits += 1;
        }
        Ok(fits)
    }

    /// Queues a take's recipe again: the same provider, model, prompt, references and frames, into
    /// the same slot.
    pub async fn rerun(&self, on: &Editable, take: &TakeRecord, key: Option<String>) -> AppResult<Queued> {
        let provenance: crate::takes::Provenance = serde_json::from_value(take.provenance.clone()).unwrap_or_default();
        let no_recipe = || {
            let error = FieldError::new(
                "take",
                "has no recipe to run again: it was not generated here, or is a film (merge again)",
            );
            AppError::validation(ValidationErrors(vec![error]))
        };
        let recipe = provenance.recipe.ok_or_else(no_recipe)?;
        let name = recipe.get("task_type").and_then(serde_json::Value::as_str).ok_or_else(no_recipe)?;
        let payload = recipe.get("payload").ok_or_else(no_recipe)?;
        let kind = TaskKind::decode(name, payload)
            .map_err(|e| AppError::internal(anyhow::anyhow!("take {}: {e}", take.id)))?;
        let (slots, files) = match &kind {
            TaskKind::Image(image) => (vec![image.target.slot()], link_files(&image.inputs.references)),
            TaskKind::Video(video) => {
                let slots = if super::batch_plan::has_interval(&on.project, &video.shot_id) {
                    vec![SlotId::Clip { shot: video.shot_id.clone() }]
                } else {
                    Vec::new()
                };
                (slots, link_files(video.start.iter().chain(video.end.iter())))
            }
            _ => return Err(no_recipe()),
        };
        let found = self.store.ready_files_of_project(on.access.id(), &files).await?;
        if let Some(gone) = files.iter().find(|id| !found.iter().any(|f| f.id == **id)) {
            let error = FieldError::new("take", format!("an image it was made from (file {gone}) is no longer kept"));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        self.enqueue_into(on, slots, kind, key).await
    }

    /// The images a request names by link, each checked: a file must be a ready file of this
    /// project (else `NOT_FOUND`, whoever's it is); an outside link must be http(s), and is
    /// downloaded by the worker. `field` names the request's field in errors.
    pub async fn links(&self, on: &Editable, field: &str, raw: &[String]) -> AppResult<Vec<Link>> {
        const MAX_LINKS: usize = 8;
        if raw.len() > MAX_LINKS {
            let error = FieldError::new(field, format!("names at most {MAX_LINKS} images"));
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        let mut errors = ValidationErrors::default();
        let mut links = Vec::with_capacity(raw.len());
        for (n, text) in raw.iter().enumerate() {
            let name = if raw.len() == 1 && !field.ends_with('s') { field.to_owned() } else { format!("{field}[{n}]") };
            match super::links::parse(text) {
                Some(link) => links.push(link),
                None => errors.push(FieldError::new(name, "must be an http(s) link to an image, or a file id")),
            }
        }
        errors.into_result().map_err(AppError::validation)?;
        let ids: Vec<FileId> =
            links.iter().filter_map(|l| if let Link::File(id) = l { Some(*id) } else { None }).collect();
        let found = self.store.ready_files_of_project(on.access.id(), &ids).await?;
        if let Some(absent) = ids.iter().find(|id| !found.iter().any(|f| f.id == **id)) {
            return Err(AppError::NotFound(format!("file {absent} not found in this project")));
        }
        Ok(links)
    }

    /// A new task is announced on the live feed; a repeat is not.
    fn announce(&self, task: TaskRecord, created: bool) -> Queued {
        if created {
            self.events.publish(task.clone());
        }
        Queued { task, created, estimate: None }
    }
}

/// The slot a batch item fills, where it marks one.
fn slot_of(item: &TaskKind) -> Option<SlotId> {
    match item {
        TaskKind::Image(image) => Some(image.target.slot()),
        TaskKind::Video(video) => Some(SlotId::Clip { shot: video.shot_id.clone() }),
        TaskKind::Speech(speech) => Some(SlotId::Voice { shot: speech.shot_id.clone() }),
        _ => None,
    }
}

/// A task with what it expects to spend, when that is anything (checked against the caps and
/// reserved as it is enqueued).
fn spending(mut task: NewTask, spend: Option<cinegen_store::Spend>) -> NewTask {
    task.spend = spend.filter(|s| !s.amounts.is_empty());
    task
}

/// The files among links (outside links are downloaded anew).
fn link_files<'a>(links: impl IntoIterator<Item = &'a Link>) -> Vec<FileId> {
    links.into_iter().filter_map(|l| if let Link::File(id) = l { Some(*id) } else { None }).collect()
}

/// A selection of shots for a batch: keyframes or clips only, 1–`MAX_BATCH_ITEMS` shots, each one
/// of the project's.
fn check_selection(project: &cinegen_store::ProjectRecord, kind: BatchKind, shots: &[String]) -> AppResult<()> {
    let mut errors = ValidationErrors::default();
    if kind == BatchKind::Images {
        errors.push(FieldError::new("shot_ids", "selects shots: it applies to keyframes, clips and voices"));
    } else if shots.is_empty() || shots.len() > MAX_BATCH_ITEMS {
        errors.push(FieldError::new("shot_ids", format!("names 1–{MAX_BATCH_ITEMS} shots")));
    }
    let known: std::collections::HashSet<&str> = project
        .docs
        .shots
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|shot| shot.get("id").and_then(serde_json::Value::as_str))
        .collect();
    for (n, id) in shots.iter().enumerate() {
        if !known.contains(id.as_str()) {
            errors.push(FieldError::new(format!("shot_ids[{n}]"), format!("no shot '{id}' in this project")));
        }
    }
    errors.into_result().map_err(AppError::validation)
}
