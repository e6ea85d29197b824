//! The AI pipeline (DESIGN §1, §3, §6): endpoints enqueue tasks; the handlers here resolve a
//! provider, call it, store every result in our storage, record usage, and write the result back
//! into the project by id without touching anything else in it.

pub mod batch_plan;
pub mod callbacks;
pub mod fallback;
pub mod generation;
pub mod handlers;
pub mod key_check;
pub mod key_ring;
pub mod keys;
pub mod latency;
pub mod limits;
pub mod links;
pub mod retry;
pub mod settings;
pub mod speech;
pub mod targets;
pub mod text;

use crate::config::Settings;
use crate::error::{AppError, AppResult};
use crate::files::FileService;
use crate::files::service::PersistError;
use crate::tasks::{TaskContext, TaskError};
use chrono::Utc;
use cinegen_domain::{FieldError, FileId, FileKind, ProjectId, UserId, ValidationErrors};
use cinegen_providers::net::Transport;
use cinegen_providers::{Capability, Credentials, Media, MediaInput, Provider, ProviderError, Registry};
use cinegen_storage::{Allowance, FetchError, check_url, guarded_client};
use cinegen_store::{FileRecord, ProjectRecord, Store, UsageEvent};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Priorities: what a user waits on overtakes a batch's items, which overtake imports.
pub const INTERACTIVE: i32 = 10;
pub const BATCH_ITEM: i32 = 0;

/// Which provider and model a request asks for (else the user's, else the server's default).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Every provider this server can call: the offline `local` provider (rendering its clips under
/// the data directory's `work/`) and the networked adapters, which call out through the same
/// address guard as server-side downloads — base URLs are user input.
pub fn registry(settings: &Settings, hints: Arc<dyn cinegen_providers::net::RateHints>) -> Registry {
    let mut registry = Registry::default();
    registry.register(cinegen_providers::local::LocalProvider::provider(settings.data_dir.join("work")));
    for provider in cinegen_providers::adapters::all(&provider_transport(settings).with_rate_hints(hints)) {
        registry.register(provider);
    }
    registry
}

fn provider_transport(settings: &Settings) -> Transport {
    let allowance = if settings.fetch_allow_loopback { Allowance::AlsoLoopback } else { Allowance::GlobalOnly };
    let client = guarded_client(allowance).build().expect("a TLS backend is compiled in");
    let direct = guarded_client(allowance)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a TLS backend is compiled in");
    let guard = Arc::new(move |url: &url::Url| check_url(url, allowance));
    Transport::new(client, direct, guard, Duration::from_secs(settings.provider_timeout_secs))
}

/// Who made a provider call, for its usage record.
struct Caller {
    user: UserId,
    task: Option<cinegen_domain::TaskId>,
    project: Option<ProjectId>,
}

/// Which key of a provider's ring a call takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyTurn {
    /// The next healthy one in turn.
    Next,
    /// The first, as saved.
    First,
}

/// Why a provider could not be made ready to call.
pub(crate) struct Unready {
    pub error: TaskError,
    /// The provider, when every key of it is parked: it is down for this caller until its keys
    /// are saved again.
    pub every_key_parked: Option<&'static str>,
}

impl From<TaskError> for Unready {
    fn from(error: TaskError) -> Self {
        Self { error, every_key_parked: None }
    }
}

/// A provider ready to call.
pub struct Resolved {
    pub provider: Provider,
    pub credentials: Credentials,
    pub model: Option<String>,
    /// The credentials are the server's own (the user saved no key for this provider).
    pub server_key: bool,
    /// The user's own prices, for calls with their own key (empty with the server's).
    pub own_prices: Vec<crate::cost::prices::UserPrice>,
    /// Parks the key the calls use if its vendor refuses it (none without a key).
    pub parker: Option<key_ring::Parker>,
}

impl Resolved {
    /// Names a call of this provider for the metrics (`default`: the provider's own default model).
    pub fn call(&self, capability: Capability, operation: &'static str) -> cinegen_providers::net::CallLabels {
        cinegen_providers::net::CallLabels {
            provider: self.provider.name.to_owned(),
            model: self.model.clone().unwrap_or_else(|| "default".into()),
            capability: capability.as_str(),
            operation,
        }
    }
}

#[derive(Clone)]
pub struct AiService {
    pub store: Arc<dyn Store>,
    pub files: FileService,
    pub registry: Arc<Registry>,
    pub settings: Arc<Settings>,
    pub limits: limits::ProviderSlots,
    pub cipher: keys::KeyCipher,
    pub latencies: latency::Latencies,
    /// Vendors' callbacks, which wake the polls of the jobs they name.
    pub callbacks: callbacks::JobCallbacks,
    /// Whose turn it is among a provider's keys.
    key_turn: Arc<std::sync::atomic::AtomicUsize>,
}

impl AiService {
    pub fn new(
        store: Arc<dyn Store>,
        files: FileService,
        registry: Arc<Registry>,
        settings: Arc<Settings>,
        limits: limits::ProviderSlots,
        callbacks: callbacks::JobCallbacks,
    ) -> Self {
        let previous: Vec<&[u8]> = settings.previous_encryption_keys.iter().map(|k| k.expose()).collect();
        let cipher = keys::KeyCipher::new(settings.encryption_key.expose(), &previous);
        let latencies = latency::Latencies::default();
        let key_turn = Arc::default();
        Self { store, files, registry, settings, limits, cipher, latencies, callbacks, key_turn }
    }

    fn default_provider(&self, capability: Capability) -> &str {
        match capability {
            Capability::Text => &self.settings.text_provider,
            Capability::Image => &self.settings.image_provider,
            Capability::Video => &self.settings.video_provider,
            Capability::Speech => &self.settings.speech_provider,
        }
    }

    /// The provider a request of `capability` will use: the request's, else the user's default,
    /// else the server's. Answers the user's saved provider settings too.
    async fn pick(
        &self,
        user: UserId,
        capability: Capability,
        choice: &Choice,
    ) -> Result<(&Provider, Vec<cinegen_store::ProviderSettingRecord>), TaskError> {
        let saved = self.store.provider_settings(user).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let user_default = saved
            .iter()
            .find(|s| s.provider == settings::DEFAULTS_ROW)
            .and_then(|s| s.models.get(capability.as_str()))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        let name =
            choice.provider.clone().or(user_default).unwrap_or_else(|| self.default_provider(capability).to_owned());
        let not_configured = |reason: String| TaskError::permanent("PROVIDER_NOT_CONFIGURED", reason);
        let provider =
            self.registry.get(&name).ok_or_else(|| not_configured(format!("there is no provider named '{name}'")))?;
        if !provider.offers(capability) {
            return Err(not_configured(format!("provider '{name}' offers no {} capability", capability.as_str())));
        }
        Ok((provider, saved))
    }

    /// The provider and model a request of `capability` will use (the model: the request's, the
    /// user's saved one, else the provider's default), and whether the server's own key would be
    /// used, for estimates.
    pub async fn provider_and_model(
        &self,
        user: UserId,
        capability: Capability,
        choice: &Choice,
    ) -> AppResult<(&'static str, Option<String>, bool, Vec<crate::cost::prices::UserPrice>)> {
        let name = self.provider_for(user, capability, choice).await?;
        let (provider, saved) =
            self.pick(user, capability, choice).await.map_err(|e| AppError::internal(anyhow::anyhow!("{e:?}")))?;
        let mine = saved.iter().find(|s| s.provider == name);
        let server_key = provider.needs_key && mine.is_none_or(|m| m.api_key.is_none());
        Ok((name, model_of(provider, mine, capability, choice), server_key, own_prices(mine, server_key)))
    }

    /// The name of the provider a request of `capability` will use, checked when it is asked for.
    pub async fn provider_for(&self, user: UserId, capability: Capability, choice: &Choice) -> AppResult<&'static str> {
        match self.pick(user, capability, choice).await {
            Ok((provider, _)) => match &choice.model {
                Some(model) if !provider.takes_model(capability, model) => {
                    let known = provider.known_models.get(&capability).map(|m| m.join(", ")).unwrap_or_default();
                    let message = format!(
                        "provider '{}' has no {} model '{model}'; it takes {known}",
                        provider.name,
                        capability.as_str()
                    );
                    Err(AppError::validation(ValidationErrors(vec![FieldError::new("model_config", message)])))
                }
                _ => Ok(provider.name),
            },
            Err(TaskError::Permanent { message, .. }) => {
                Err(AppError::validation(ValidationErrors(vec![FieldError::new("provider", message)])))
            }
            Err(other) => Err(AppError::internal(anyhow::anyhow!("{other:?}"))),
        }
    }

    /// The provider for `capability` (see [`Self::pick`]); its key: the user's, else the
    /// server's; its model: the request's, else the user's, else the provider's default.
    pub async fn resolve(&self, user: UserId, capability: Capability, choice: &Choice) -> Result<Resolved, TaskError> {
        self.resolve_keys(user, capability, choice, KeyTurn::Next).await.map_err(|unready| unready.error)
    }

    /// [`Self::resolve`] with the first key of the provider's ring (the one its settings card
    /// names), parked or not: the key a check vouches for.
    pub(crate) async fn resolve_first_key(
        &self,
        user: UserId,
        capability: Capability,
        choice: &Choice,
    ) -> Result<Resolved, TaskError> {
        self.resolve_keys(user, capability, choice, KeyTurn::First).await.map_err(|unready| unready.error)
    }

    /// [`Self::resolve`], saying apart a provider all of whose keys are parked (it is down for
    /// this caller, and a fallback may stand in).
    async fn resolve_keys(
        &self,
        user: UserId,
        capability: Capability,
        choice: &Choice,
        turn: KeyTurn,
    ) -> Result<Resolved, Unready> {
        let (provider, saved) = self.pick(user, capability, choice).await?;
        let name = provider.name;
        let not_configured = |reason: String| TaskError::permanent("PROVIDER_NOT_CONFIGURED", reason);
        let mine = saved.iter().find(|s| s.provider == name);
        let mut ring = self.key_ring(provider, mine).await.map_err(not_configured)?;
        let owner = ring.owner.clone();
        // A lone key is never parked (`key_ring`): most calls need not ask the store.
        let parked = match ring.keys.len() {
            _ if turn == KeyTurn::First => {
                let mut keys = ring.keys;
                keys.truncate(1);
                ring = key_ring::KeyRing { keys, ..ring };
                Vec::new()
            }
            0 | 1 => Vec::new(),
            _ => {
                let parked = self.store.parked_keys(&owner).await.map_err(|e| TaskError::transient(e.to_string()))?;
                key_ring::in_force(parked, Utc::now())
            }
        };
        let (credentials, key, others) = key_ring::choose(name, ring, &parked, &self.key_turn).map_err(|reasons| {
            let error = not_configured(format!(
                "every key of provider '{name}' is parked: {}; save the keys again once the vendor takes them",
                reasons.join("; ")
            ));
            Unready { error, every_key_parked: Some(name) }
        })?;
        let parker = key.map(|key| key_ring::Parker {
            store: self.store.clone(),
            provider: name.to_owned(),
            key,
            others,
            parked: Arc::default(),
        });
        if provider.needs_key && credentials.api_key.is_none() {
            return Err(not_configured(format!(
                "provider '{name}' needs an API key; add one in the provider settings"
            ))
            .into());
        }
        if provider.has_secret_key && credentials.api_key.is_some() && credentials.secret_key.is_none() {
            return Err(not_configured(format!("provider '{name}' needs a secret key as well as an access key")).into());
        }
        let model = model_of(provider, mine, capability, choice);
        let server_key = provider.needs_key && mine.is_none_or(|m| m.api_key.is_none());
        let own_prices = own_prices(mine, server_key);
        Ok(Resolved { provider: provider.clone(), credentials, model, server_key, own_prices, parker })
    }

    /// Seconds until `task` (just queued, of `capability`) is likely done: the provider's recent
    /// median for the model, times the rounds of work of its kind queued before it.
    pub async fn estimate(
        &self,
        task: &cinegen_store::TaskRecord,
        capability: Capability,
        choice: &Choice,
    ) -> Option<u64> {
        let (provider, saved) = self.pick(task.user_id, capability, choice).await.ok()?;
        let mine = saved.iter().find(|s| s.provider == provider.name);
        let model = model_of(provider, mine, capability, choice);
        let typical = self.latencies.typical_secs(provider.name, model.as_deref(), capability);
        let ahead = self.store.queue_ahead(task).await.ok()?;
        let parallel = self.settings.provider_concurrency.min(self.settings.workers.max(1));
        Some(latency::estimate(typical, ahead, parallel))
    }

    /// The project a task works on, checked again when the task runs: its creator must still be
    /// able to edit it (a member removed or made a viewer since, or a retry after that, stops here).
    pub async fn project(&self, ctx: &TaskContext) -> Result<ProjectRecord, TaskError> {
        let id =
            ctx.task.project_id.ok_or_else(|| TaskError::permanent("VALIDATION_ERROR", "the task names no project"))?;
        match self.store.project_for(id, ctx.task.user_id).await {
            Ok(Some((project, role))) if role.can_edit() => Ok(project),
            Ok(Some(_)) => Err(TaskError::permanent("FORBIDDEN", "you can no longer edit this project")),
            Ok(None) => Err(TaskError::permanent("NOT_FOUND", "the project is gone or no longer shared with you")),
            Err(e) => Err(TaskError::transient(e.to_string())),
        }
    }

    /// Records a provider call's usage (`units` as counted: images, seconds, tokens) and what it
    /// cost, settled by what the vendor `reported` where the price is per that (`PriceTable::settle`),
    /// in the price's currency; answers the cost when the table knows it. A failure to record
    /// never fails the work.
    pub async fn record_usage(
        &self,
        ctx: &TaskContext,
        resolved: &Resolved,
        model: &str,
        kind: Capability,
        units: i64,
        reported: cinegen_providers::Usage,
    ) -> Option<cinegen_store::Money> {
        let by = Caller { user: ctx.task.user_id, task: Some(ctx.task.id), project: ctx.task.project_id };
        self.record_call(by, resolved, model, kind, units, reported).await
    }

    /// Records a call's usage and cost for whoever made it (a task, or a person outside the
    /// queue); answers the cost when the price table knows it.
    async fn record_call(
        &self,
        by: Caller,
        resolved: &Resolved,
        model: &str,
        kind: Capability,
        units: i64,
        reported: cinegen_providers::Usage,
    ) -> Option<cinegen_store::Money> {
        let provider = resolved.provider.name;
        let cost = self.settings.prices.settle(&resolved.own_prices, provider, Some(model), kind, units, reported);
        let event = UsageEvent {
            id: uuid::Uuid::now_v7(),
            user_id: by.user,
            task_id: by.task,
            provider: provider.into(),
            model: model.into(),
            kind: kind.as_str().into(),
            units,
            project_id: by.project,
            cost: cost.clone(),
            server_key: resolved.server_key,
            created_at: Utc::now(),
        };
        crate::ops::metrics::units_spent(provider, model, kind.as_str(), units);
        if let Err(error) = self.store.record_usage(&event).await {
            tracing::warn!(task.id = ?by.task, error = %error, "could not record usage");
        }
        cost
    }

    /// Says `text` in `voice` right away, outside the queue (a voice preview), recording the
    /// usage as a call without a task.
    pub async fn speak_now(
        &self,
        user: UserId,
        choice: &Choice,
        voice: cinegen_providers::Voice,
        text: String,
        language: &str,
    ) -> AppResult<(bytes::Bytes, String)> {
        let refused = |error: TaskError| match error {
            TaskError::Permanent { code, message } if code == "PROVIDER_NOT_CONFIGURED" => {
                AppError::ProviderNotConfigured(message)
            }
            TaskError::Permanent { message, .. } => AppError::ProviderError(message),
            TaskError::Transient { message, .. } => AppError::ServiceUnavailable(message),
            TaskError::Cancelled | TaskError::LeaseLost => AppError::ServiceUnavailable("the call was stopped".into()),
        };
        let resolved = self.resolve(user, Capability::Speech, choice).await.map_err(refused)?;
        let model = resolved.provider.speech().map_err(|e| refused(provider_to_task(e)))?;
        let request = cinegen_providers::SpeechRequest {
            text: text.clone(),
            voice,
            language: language.to_owned(),
            model: resolved.model.clone(),
        };
        let output = {
            let _slot = self.slot(&resolved, Capability::Speech).await;
            let call = resolved.call(Capability::Speech, "preview");
            retry::call_with_retry(call, retry::Retry::STARTS_WORK, self.pace_for(&resolved), || {
                model.synthesize(&request, &resolved.credentials)
            })
            .await
            .map_err(|e| refused(provider_to_task(e)))?
        };
        let units = text.chars().count() as i64;
        let by = Caller { user, task: None, project: None };
        self.record_call(by, &resolved, &output.model, Capability::Speech, units, output.usage).await;
        match output.audio {
            Media::Bytes { bytes, content_type } => Ok((bytes, content_type)),
            Media::Url(_) => Err(AppError::ProviderError("the speech provider answered a link, not audio".into())),
        }
    }

    /// A stored image handed to a provider: its bytes and a short-lived URL.
    pub async fn media_input(&self, project: ProjectId, file: FileId) -> Result<MediaInput, TaskError> {
        let found = self
            .store
            .ready_files_of_project(project, &[file])
            .await
            .map_err(|e| TaskError::transient(e.to_string()))?;
        let record = found
            .into_iter()
            .next()
            .ok_or_else(|| TaskError::permanent("NOT_FOUND", format!("file {file} is gone")))?;
        let bytes = self.files.read_all(&record).await.map_err(app_to_task)?;
        // Providers fetch links from outside: only absolute ones are of use to them.
        let url = self.files.mint(record.clone()).await.ok().and_then(|minted| match minted.url {
            url if url.starts_with("https://") || url.starts_with("http://") => Some(url),
            path => self.settings.public_url.as_ref().map(|base| format!("{base}{path}")),
        });
        Ok(MediaInput { bytes, content_type: record.content_type, url })
    }

    /// The first wait before a provider call is made again (the task retries' base).
    /// Whether vendors that mark results as AI-generated (Doubao's watermark) are asked to: the
    /// project labels AI content (its `ai_label`) and the operator lets vendors mark
    /// (`vendor_watermark`).
    pub fn vendor_label(&self, project: &ProjectRecord) -> bool {
        project.settings.ai_label && self.settings.vendor_watermark
    }

    /// How this service's provider calls are paced (`retry::Pace`).
    pub fn pace(&self) -> retry::Pace {
        let hints: Arc<dyn cinegen_providers::net::RateHints> = Arc::new(self.limits.clone());
        retry::Pace { base: Duration::from_millis(self.settings.task_retry_base_ms), hints: Some(hints), parker: None }
    }

    /// A slot for a call of `capability` with `resolved`'s provider and model (its default where
    /// none is named), waited for as the limits say.
    pub async fn slot(&self, resolved: &Resolved, capability: Capability) -> limits::Slot {
        let model = resolved.model.as_deref().or(resolved.provider.default_models.get(&capability).map(String::as_str));
        self.limits.acquire(resolved.provider.name, capability, model).await
    }

    /// The pace of calls made with `resolved`'s key, which is parked if its vendor refuses it.
    pub fn pace_for(&self, resolved: &Resolved) -> retry::Pace {
        retry::Pace { parker: resolved.parker.clone(), ..self.pace() }
    }

    /// Stores what a provider produced as a file of the project's owner, once: bytes a take of
    /// the project already holds are not stored again (the held file is answered).
    pub async fn store_media(
        &self,
        owner: UserId,
        project: ProjectId,
        kind: FileKind,
        media: Media,
        name: &str,
    ) -> Result<FileRecord, TaskError> {
        match media {
            // Bytes in hand are compared before anything is written.
            Media::Bytes { bytes, .. } => {
                self.files.persist_generated(owner, project, kind, bytes, name).await.map_err(app_to_task)
            }
            // A link's bytes are known once downloaded; a copy of a held file is dropped then.
            Media::Url(url) => {
                let fresh = self.files.persist_from_url(owner, project, kind, &url).await.map_err(|e| match e {
                    PersistError::Fetch(fetch) if fetch.is_transient() => TaskError::transient(fetch.to_string()),
                    // Our own storage failing is ours to try again, not the provider's fault.
                    PersistError::Fetch(FetchError::Storage(error)) => {
                        TaskError::transient(format!("storing the provider's result failed: {error}"))
                    }
                    PersistError::App(app) => app_to_task(app),
                    other => TaskError::permanent(
                        "PROVIDER_ERROR",
                        format!("the provider's result could not be stored: {other}"),
                    ),
                })?;
                self.files.reuse_identical(fresh).await.map_err(app_to_task)
            }
        }
    }
}

/// A user's own prices apply to calls with their own key only.
fn own_prices(
    mine: Option<&cinegen_store::ProviderSettingRecord>,
    server_key: bool,
) -> Vec<crate::cost::prices::UserPrice> {
    match mine {
        Some(saved) if !server_key => crate::cost::prices::user_prices(&saved.prices),
        _ => Vec::new(),
    }
}

/// The model of a call: the request's, else the user's saved one, else the provider's default.
fn model_of(
    provider: &Provider,
    mine: Option<&cinegen_store::ProviderSettingRecord>,
    capability: Capability,
    choice: &Choice,
) -> Option<String> {
    choice
        .model
        .clone()
        .or_else(|| mine.and_then(|s| s.models.get(capability.as_str())).and_then(|m| m.as_str()).map(str::to_owned))
        .or_else(|| {
            // The key's own model list, where its check listed one, outranks a built-in id.
            let listed = key_check::listed(mine.and_then(|s| s.check.as_ref()).and_then(|c| c.models.as_ref()));
            let built_in = provider.default_models.get(&capability).map(String::as_str);
            cinegen_providers::catalog::default_from(&listed, capability, built_in)
        })
}

/// A provider's failure as the task sees it.
pub fn provider_to_task(error: ProviderError) -> TaskError {
    match error {
        ProviderError::NotConfigured { .. } | ProviderError::Unsupported { .. } => {
            TaskError::permanent("PROVIDER_NOT_CONFIGURED", error.to_string())
        }
        ProviderError::Transient { message, retry_after } => TaskError::Transient { message, retry_after },
        ProviderError::NoAnswer { message } => TaskError::Transient { message, retry_after: None },
        ProviderError::Permanent { .. } | ProviderError::Malformed { .. } | ProviderError::OutOfCredit { .. } => {
            TaskError::permanent("PROVIDER_ERROR", error.to_string())
        }
    }
}

/// An application error met inside a task.
pub fn app_to_task(error: AppError) -> TaskError {
    match error {
        AppError::Internal(_) | AppError::ServiceUnavailable(_) => TaskError::transient(error.to_string()),
        other => TaskError::permanent(other.code(), other.to_string()),
    }
}
