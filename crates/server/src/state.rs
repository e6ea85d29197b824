//! What every handler can reach, built once at start.

use crate::auth::password::PasswordHasher;
use crate::auth::service::LoginLimits;
use crate::auth::{AuthService, TokenKeys};
use crate::cache::UserCache;
use crate::config::Settings;
use crate::ephemeral::{self, Counters, Denylist};
use crate::projects::ProjectService;
use cinegen_store::{ConnectOptions, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub auth: AuthService,
    pub users: UserCache,
    pub projects: ProjectService,
    pub metrics: PrometheusHandle,
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
        let (counters, denylist): (Arc<dyn Counters>, Arc<dyn Denylist>) = match &settings.redis_url {
            Some(url) => {
                let conn = ephemeral::redis::connect(url).await?;
                (Arc::new(ephemeral::RedisCounters::new(conn.clone())), Arc::new(ephemeral::RedisDenylist::new(conn)))
            }
            None => (Arc::new(ephemeral::MemoryCounters::default()), Arc::new(ephemeral::MemoryDenylist::default())),
        };
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
        };
        let auth = AuthService::new(store.clone(), keys, hasher, counters, denylist, limits, settings.default_quota);
        Ok(Self {
            settings: Arc::new(settings),
            store: store.clone(),
            auth,
            users: UserCache::default(),
            projects: ProjectService::new(store.clone()),
            metrics: crate::http::metrics::handle(),
        })
    }
}
