//! What every handler can reach, built once at start.

use crate::auth::password::PasswordHasher;
use crate::auth::service::LoginLimits;
use crate::auth::{AuthService, TokenKeys};
use crate::cache::{ProjectCache, SeenProjects, UserCache};
use crate::config::Settings;
use crate::config::StorageLocation;
use crate::ephemeral::{self, Counters, Denylist};
use crate::files::FileService;
use crate::projects::ProjectService;
use crate::projects::assets::AssetService;
use cinegen_storage::{Allowance, Fetcher, S3Config, Storage, UrlSigner};
use cinegen_store::{ConnectOptions, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;

/// What every handler can reach: one shared handle, so the per-request clone axum makes of its
/// state is a single reference count, however many services there are.
#[derive(Clone)]
pub struct AppState(Arc<AppServices>);

impl std::ops::Deref for AppState {
    type Target = AppServices;

    fn deref(&self) -> &AppServices {
        &self.0
    }
}

pub struct AppServices {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub auth: AuthService,
    pub users: UserCache,
    pub project_cache: ProjectCache,
    /// Serialised pages of project lists, dropped when the store announces a change to them.
    pub seen_projects: SeenProjects,
    pub projects: ProjectService,
    pub files: FileService,
    pub assets: AssetService,
    pub metrics: PrometheusHandle,
    pub task_events: crate::tasks::TaskEvents,
    /// New versions of projects, for the live feeds of those who have them open.
    pub project_events: crate::live::ProjectEvents,
    pub ai: crate::ai::AiService,
    /// Who may cancel and retry tasks, and what that does.
    pub tasks: crate::tasks::TaskService,
    /// Every generation kept as a take: listed, chosen, pinned, deleted, pruned; staleness.
    pub takes: crate::takes::TakeService,
    pub film: crate::film::FilmService,
    pub audit: crate::audit::AuditService,
    /// Who may queue generations, and how slots and batches are marked and planned.
    pub generation: crate::ai::generation::GenerationService,
    /// Windowed counters for rate limits (in memory, or Redis when configured).
    pub counters: Arc<dyn Counters>,
    /// Open live-feed sockets, ended when their session ends.
    pub live_sessions: crate::auth::LiveSessions,
    /// Names this process in leases of scheduled jobs.
    pub instance_id: String,
    /// Cancelled when the process is told to stop: live feeds close with a reconnect hint and
    /// the readiness probe fails, while in-flight requests drain.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Live feeds open now (shutdown waits briefly for their close frames to go out).
    pub open_sockets: Arc<std::sync::atomic::AtomicUsize>,
}

impl AppState {
    /// Connects the database (applying migrations) and Redis when configured, and wires services.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let options = ConnectOptions {
            url: settings.database_url.expose().to_owned(),
            max_connections: settings.database_max_connections,
        };
        let store = cinegen_store::connect(&options).await?;
        Self::with_store(settings, store).await
    }

    pub async fn with_store(settings: Settings, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let redis = match &settings.redis_url {
            Some(url) => Some(ephemeral::redis::connect(url.expose()).await?),
            None => None,
        };
        let (counters, denylist): (Arc<dyn Counters>, Arc<dyn Denylist>) = match &redis {
            Some(conn) => (
                Arc::new(ephemeral::RedisCounters::new(conn.clone())),
                Arc::new(ephemeral::RedisDenylist::new(conn.clone())),
            ),
            None => (Arc::new(ephemeral::MemoryCounters::default()), Arc::new(ephemeral::MemoryDenylist::default())),
        };
        // Calls in flight per provider (and capped model), and the pauses providers ask for,
        // shared where Redis is.
        let provider_slots = match &redis {
            Some(conn) => crate::ai::limits::ProviderSlots::redis(settings.provider_concurrency, conn.clone()),
            None => crate::ai::limits::ProviderSlots::local(settings.provider_concurrency),
        }
        .with_model_caps(&settings.model_concurrency);
        let keys = TokenKeys::new(
            settings.jwt_secret.expose(),
            settings.access_token_ttl_secs,
            settings.refresh_token_ttl_secs,
        );
        let hasher = PasswordHasher::new(settings.max_concurrent_password_hashes).await?;
        let limits = LoginLimits {
            per_account: settings.login_failures_per_account,
            per_ip: settings.login_failures_per_ip,
            window: Duration::from_secs(settings.login_failure_window_secs),
            registrations_per_ip_per_hour: settings.registrations_per_ip_per_hour,
        };
        let registration = crate::auth::service::RegistrationPolicy {
            mode: settings.registration,
            invites: crate::auth::invites::Invites::new(settings.jwt_secret.expose()),
        };
        let storage = open_storage(&settings)?;
        let allowance = if settings.fetch_allow_loopback { Allowance::AlsoLoopback } else { Allowance::GlobalOnly };
        let fetcher = Fetcher::new(allowance, Duration::from_secs(settings.fetch_timeout_secs));
        let projects = ProjectService::new(store.clone(), counters.clone(), settings.shares_per_hour);
        let files = FileService::new(
            store.clone(),
            storage,
            fetcher,
            projects.clone(),
            Duration::from_secs(settings.url_ttl_secs),
        );
        let (task_events, project_events) = match &settings.redis_url {
            Some(url) => (
                crate::live::TaskEvents::redis(url.expose(), crate::live::TASK_CHANNEL).await?,
                crate::live::ProjectEvents::redis(url.expose(), crate::live::PROJECT_CHANNEL).await?,
            ),
            None => Default::default(),
        };
        project_events.follow(store.as_ref());
        let project_cache = ProjectCache::new(Duration::from_secs(settings.url_ttl_secs));
        let seen_projects = SeenProjects::new(store.as_ref(), Duration::from_secs(settings.url_ttl_secs));
        if let Some(url) = &settings.redis_url {
            seen_projects.share_through_redis(store.as_ref(), url.expose()).await?;
        }
        let auth = AuthService::new(
            store.clone(),
            keys,
            hasher,
            counters.clone(),
            denylist,
            limits,
            settings.default_quota,
            registration,
        );
        let settings = Arc::new(settings);
        let registry = Arc::new(crate::ai::registry(&settings, Arc::new(provider_slots.clone())));
        check_provider_names(&settings, &registry)?;
        let wakes = match &settings.redis_url {
            Some(url) => {
                crate::ai::callbacks::JobWakes::redis(url.expose(), crate::ai::callbacks::WAKE_CHANNEL).await?
            }
            None => Default::default(),
        };
        let callbacks = crate::ai::callbacks::JobCallbacks::new(
            settings.jwt_secret.expose(),
            settings.public_url.clone(),
            wakes,
            counters.clone(),
            store.clone(),
        );
        let ai = crate::ai::AiService::new(
            store.clone(),
            files.clone(),
            registry,
            settings.clone(),
            provider_slots,
            callbacks,
        );
        let tasks = crate::tasks::TaskService::new(
            store.clone(),
            projects.clone(),
            task_events.clone(),
            counters.clone(),
            settings.clone(),
            ai.clone(),
        );
        let takes = crate::takes::TakeService::new(store.clone(), files.clone(), projects.clone());
        crate::cost::budgets::apply_server_caps(store.as_ref(), &settings.server_key_budget)
            .await
            .map_err(|e| anyhow::anyhow!("setting the server-wide budget: {e}"))?;
        let generation = crate::ai::generation::GenerationService::new(
            store.clone(),
            projects.clone(),
            tasks.clone(),
            task_events.clone(),
            takes.clone(),
            ai.clone(),
        );
        let film = crate::film::FilmService::new(store.clone(), projects.clone());
        let audit = crate::audit::AuditService::new(store.clone());
        Ok(Self(Arc::new(AppServices {
            takes,
            film,
            audit,
            generation,
            tasks,
            live_sessions: crate::auth::LiveSessions::default(),
            settings,
            ai,
            counters,
            store: store.clone(),
            auth,
            users: UserCache::default(),
            project_cache,
            seen_projects,
            projects,
            assets: AssetService::new(files.clone(), store.clone()),
            files,
            metrics: crate::ops::metrics::handle(),
            task_events,
            project_events,
            instance_id: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            stopping: tokio_util::sync::CancellationToken::new(),
            open_sockets: Arc::default(),
        })))
    }
}

/// The configured storage backend; URLs of the local one are signed with a key derived from the
/// JWT secret.
pub fn open_storage(settings: &Settings) -> anyhow::Result<Storage> {
    let signer = UrlSigner::new(settings.jwt_secret.expose());
    let storage = match &settings.storage {
        StorageLocation::Local { root } => Storage::local(root.clone(), signer)?,
        StorageLocation::S3(s3) => Storage::s3(
            S3Config {
                bucket: s3.bucket.clone(),
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.expose().to_owned(),
                path_style: s3.path_style,
                public_base_url: s3.public_base_url.clone(),
            },
            signer,
        )?,
    };
    Ok(storage)
}

/// A server setting that names a provider this server does not have is a typo (`ark=` for
/// `doubao=`), which would otherwise leave a key or a cap silently unused: the server refuses to
/// start and says which.
fn check_provider_names(settings: &Settings, registry: &cinegen_providers::Registry) -> anyhow::Result<()> {
    let named = [
        ("CINEGEN_PROVIDER_KEYS", settings.provider_keys.keys().map(String::as_str).collect::<Vec<_>>()),
        ("CINEGEN_PROVIDER_BASE_URLS", settings.provider_base_urls.keys().map(String::as_str).collect()),
        (
            "CINEGEN_MODEL_CONCURRENCY",
            settings.model_concurrency.keys().filter_map(|key| key.split_once('/')).map(|(p, _)| p).collect(),
        ),
    ];
    for (setting, names) in named {
        if let Some(unknown) = names.into_iter().find(|name| registry.get(name).is_none()) {
            let known: Vec<&str> = registry.providers().map(|p| p.name).collect();
            anyhow::bail!(
                "{setting} names provider '{unknown}', which this server does not have (it has {})",
                known.join(", ")
            );
        }
    }
    Ok(())
}
