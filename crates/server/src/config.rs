//! Configuration: defaults, then an optional TOML file, then environment variables, then flags,
//! merged into one typed [`Config`] and checked once into [`Settings`]. Secrets are typed so that
//! `Debug` cannot print them; with none configured they are generated once into the data directory.

use base64::Engine as _;
use cinegen_domain::ByteSize;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables read without the `CINEGEN_` prefix, as deployments usually name them.
const UNPREFIXED_ENV: [&str; 4] = ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY"];

/// The raw configuration as the sources give it. Every key can be set in the file, as
/// `CINEGEN_<KEY>` in the environment, and the four above also without the prefix.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub addr: String,
    pub data_dir: PathBuf,
    /// May carry a password, so it is a [`Secret`] (masked in logs).
    pub database_url: Option<Secret>,
    pub database_max_connections: u32,
    pub redis_url: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub encryption_key: Option<Secret>,
    /// Keys that encrypted provider keys before a rotation (comma-separated, hex or base64):
    /// still read, never written; values are re-encrypted with the current key when next read.
    pub encryption_keys_previous: Option<Secret>,
    /// Server-wide provider keys, used where a user has none: `openai=sk-…,kling=AK:SK`.
    pub provider_keys: Option<Secret>,
    /// Server-wide provider base URLs: `openai=https://gateway.example.com/v1,…`.
    pub provider_base_urls: Option<String>,
    /// Whether users may point a provider at a base URL of their own (always with their own key).
    pub allow_user_base_urls: bool,
    /// Hosts users' base URLs may name (`api.example.com`, or `.example.com` for its subdomains);
    /// empty: any public host.
    pub user_base_url_hosts: Option<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub storage_url: Option<String>,
    pub s3_access_key_id: Option<Secret>,
    pub s3_secret_access_key: Option<Secret>,
    pub storage_public_base_url: Option<String>,
    /// The address users and providers reach this server at (`https://cinegen.example.com`):
    /// turns the local backend's file links into absolute ones for providers that take links.
    pub public_url: Option<String>,
    pub url_ttl_secs: u64,
    pub fetch_timeout_secs: u64,
    pub fetch_allow_loopback: bool,
    pub workers: usize,
    pub per_user_running_tasks: i64,
    pub task_retry_base_ms: u64,
    /// How long a claimed task is held without a heartbeat; a dead worker's task is rescued after it.
    pub task_lease_secs: u64,
    /// On SIGTERM, how long running tasks may take to finish before they are handed back to the
    /// queue (keep it below the orchestrator's grace period: compose 60 s, Kubernetes 120 s).
    pub shutdown_grace_secs: u64,
    /// On SIGTERM, how long the API keeps answering (each answer closing its connection, `/ready`
    /// saying 503) before it refuses new connections, so the proxy in front moves off cleanly.
    pub shutdown_drain_ms: u64,
    /// The provider used per capability when neither the request nor the user names one.
    pub text_provider: String,
    pub image_provider: String,
    pub video_provider: String,
    pub speech_provider: String,
    /// Let vendors that mark results with a watermark of their own (Doubao) do so for projects
    /// that label AI content; off, they are never asked to.
    pub vendor_watermark: bool,
    /// Limit of one call to a provider (a synchronous image can take a minute).
    pub provider_timeout_secs: u64,
    /// How often a running video job is polled.
    pub video_poll_ms: u64,
    /// A video job not finished after this long fails.
    pub video_deadline_secs: u64,
    /// Requests per user and hour, per budget (a batch item counts like a request).
    pub text_requests_per_hour: u32,
    pub image_requests_per_hour: u32,
    pub video_requests_per_hour: u32,
    pub batch_requests_per_hour: u32,
    /// Anything the offline provider makes (it costs CPU, not money).
    pub local_requests_per_hour: u32,
    /// Outside assets an import may download.
    pub downloads_per_hour: u32,
    /// Calls in flight at once per provider and capability across this process's workers.
    pub provider_concurrency: usize,
    /// Calls in flight at once per model, below the provider's: `doubao/doubao-seedance-1-0-pro-250528=2,…`.
    pub model_concurrency: Option<String>,
    pub body_limit: String,
    pub document_limit: String,
    pub default_quota: String,
    pub project_retention_days: u32,
    /// Days finished tasks are kept; failed ones are kept for `failed_task_retention_days`.
    pub task_retention_days: u32,
    pub failed_task_retention_days: u32,
    pub login_failures_per_account: u32,
    pub login_failures_per_ip: u32,
    pub login_failure_window_secs: u64,
    pub max_concurrent_password_hashes: usize,
    pub trust_forwarded_for: bool,
    /// Who may create an account through the API: `open` (anyone), `invite` (with a code from
    /// `cinegen user invite`), `closed` (only operators, with `cinegen user create`).
    pub registration: Registration,
    /// Accounts one client address may register per hour.
    pub registrations_per_ip_per_hour: u32,
    /// Shares (invitations into a project) one user may send per hour.
    pub shares_per_hour: u32,
    /// Serve `/metrics` only on this address (an internal network), not beside the API.
    pub metrics_addr: Option<String>,
    /// Networks of the proxies in front of this server (`10.0.0.0/8,192.168.1.7`): with
    /// `trust_forwarded_for`, the client is the right-most `X-Forwarded-For` hop outside them.
    /// Empty: only the connecting peer is trusted.
    pub trusted_proxies: Option<String>,
    /// Marks the refresh cookie `Secure`; unset: on exactly when `public_url` is https.
    pub secure_cookies: Option<bool>,
    /// The built web app (`index.html` and hashed assets), served at `/` when the folder exists.
    pub web_dir: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
    /// An OpenTelemetry collector (OTLP over HTTP, e.g. `http://collector:4318`) to export traces to.
    pub otlp_endpoint: Option<String>,
    /// A TOML price table whose entries replace the shipped defaults of the same provider, model
    /// and unit (see `crates/server/assets/prices.toml` for the format).
    pub prices_file: Option<PathBuf>,
    /// Monthly caps on what calls with the server's own keys may cost, all users together
    /// (`USD=100,CNY=500`); unset: none.
    pub server_key_budget: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            addr: "0.0.0.0:8000".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            database_max_connections: 16,
            redis_url: None,
            jwt_secret: None,
            encryption_key: None,
            encryption_keys_previous: None,
            provider_keys: None,
            provider_base_urls: None,
            allow_user_base_urls: true,
            user_base_url_hosts: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            storage_url: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            storage_public_base_url: None,
            public_url: None,
            url_ttl_secs: 24 * 3600,
            fetch_timeout_secs: 120,
            fetch_allow_loopback: false,
            workers: 4,
            per_user_running_tasks: 8,
            task_retry_base_ms: 2000,
            task_lease_secs: 30,
            shutdown_grace_secs: 20,
            shutdown_drain_ms: 1500,
            text_provider: "local".into(),
            image_provider: "local".into(),
            video_provider: "local".into(),
            speech_provider: "local".into(),
            vendor_watermark: true,
            provider_timeout_secs: 180,
            video_poll_ms: 2000,
            video_deadline_secs: 30 * 60,
            text_requests_per_hour: 120,
            image_requests_per_hour: 300,
            video_requests_per_hour: 10,
            batch_requests_per_hour: 30,
            local_requests_per_hour: 1000,
            downloads_per_hour: 5000,
            provider_concurrency: 8,
            model_concurrency: None,
            body_limit: "2MiB".into(),
            document_limit: "20MiB".into(),
            default_quota: "5GiB".into(),
            project_retention_days: 30,
            task_retention_days: 7,
            failed_task_retention_days: 30,
            login_failures_per_account: 5,
            login_failures_per_ip: 20,
            login_failure_window_secs: 15 * 60,
            // Each argon2id hash holds a core for tens of milliseconds; leaving half the cores to
            // everything else keeps a login flood from stalling other requests.
            max_concurrent_password_hashes: (cores / 2).max(1),
            trust_forwarded_for: false,
            registration: Registration::Open,
            registrations_per_ip_per_hour: 20,
            shares_per_hour: 60,
            metrics_addr: None,
            trusted_proxies: None,
            secure_cookies: None,
            web_dir: PathBuf::from("./web/dist"),
            log_format: LogFormat::Json,
            log_level: "info".into(),
            otlp_endpoint: None,
            prices_file: None,
            server_key_budget: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Open,
    Invite,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Values given on the command line; they win over every other source.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// A secret value: `Debug` and `Serialize` show `***`.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// A configuration problem, naming the setting.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(pub String);

fn invalid(setting: &str, reason: impl fmt::Display) -> ConfigError {
    ConfigError(format!("{setting}: {reason}"))
}

impl Config {
    /// Merges defaults, the file (if any), the environment and the overrides. Also returns a
    /// warning for each key that no setting has (a typo would otherwise be silently ignored).
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<(Self, Vec<String>), ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let mut warnings = Vec::new();
        let known = known_keys();
        if let Some(path) = file {
            if !path.exists() {
                return Err(invalid("CINEGEN_CONFIG", format!("file {} does not exist", path.display())));
            }
            let text = std::fs::read_to_string(path).map_err(|e| invalid("CINEGEN_CONFIG", e))?;
            let table: toml::Table = text.parse().map_err(|e| invalid(&path.display().to_string(), e))?;
            warnings.extend(
                table
                    .keys()
                    .filter(|k| !known.contains(k))
                    .map(|k| format!("unknown setting '{k}' in {}", path.display())),
            );
            figment = figment.merge(Toml::file(path));
        }
        warnings.extend(std::env::vars().filter_map(|(name, _)| {
            let key = name.strip_prefix("CINEGEN_")?.to_lowercase();
            let ours = known.contains(&key) || key == "config" || key.starts_with("test_");
            (!ours).then(|| format!("unknown setting in environment variable {name}"))
        }));
        figment = figment
            .merge(Env::prefixed("CINEGEN_").only(&known.iter().map(String::as_str).collect::<Vec<_>>()))
            .merge(Env::raw().only(&UNPREFIXED_ENV))
            .merge(Serialized::defaults(overrides));
        let config = figment.extract().map_err(|e| ConfigError(describe_figment_error(e)))?;
        Ok((config, warnings))
    }

    /// Checks every value and prepares the data directory and secrets.
    pub fn resolve(self) -> Result<Settings, ConfigError> {
        let addr: SocketAddr = self
            .addr
            .parse()
            .map_err(|e| invalid("CINEGEN_ADDR", format!("'{}' is not host:port ({e})", self.addr)))?;
        let data_dir = self.data_dir.clone();
        if !data_dir.exists() {
            create_private_dir(&data_dir)
                .map_err(|e| invalid("CINEGEN_DATA_DIR", format!("cannot create {}: {e}", data_dir.display())))?;
        }
        let storage = storage_location(&self, &data_dir)?;
        if self.url_ttl_secs == 0 || self.url_ttl_secs > MAX_URL_TTL_SECS {
            return Err(invalid("CINEGEN_URL_TTL_SECS", "must be between 1 and 604800 (7 days)"));
        }
        let database_url = match &self.database_url {
            Some(url) => {
                cinegen_store::Engine::from_url(url.expose()).map_err(|reason| invalid("DATABASE_URL", reason))?;
                url.expose().to_owned()
            }
            None => format!("sqlite://{}", data_dir.join("cinegen.db").display()),
        };
        let redis_url = self.redis_url;
        if let Some(url) = redis_url.as_ref().map(Secret::expose)
            && !(url.starts_with("redis://") || url.starts_with("rediss://"))
        {
            return Err(invalid("REDIS_URL", "must start with redis:// or rediss://"));
        }
        let mut generated = Vec::new();
        let jwt_secret = match self.jwt_secret {
            Some(secret) if secret.0.len() >= 32 => secret.0.into_bytes(),
            Some(_) => return Err(invalid("JWT_SECRET", "must be at least 32 characters")),
            None => load_or_generate(&data_dir, "jwt_secret", &mut generated)?,
        };
        let encryption_key = match self.encryption_key {
            Some(secret) => decode_key(secret.expose())
                .ok_or_else(|| invalid("ENCRYPTION_KEY", "must be 32 bytes, as 64 hex digits or base64"))?,
            None => load_or_generate(&data_dir, "encryption_key", &mut generated)?,
        };
        let mut previous_keys = Vec::new();
        for part in self.encryption_keys_previous.as_ref().map(|s| s.expose().to_owned()).unwrap_or_default().split(',')
        {
            if part.trim().is_empty() {
                continue;
            }
            previous_keys.push(SecretBytes(decode_key(part).ok_or_else(|| {
                invalid("ENCRYPTION_KEYS_PREVIOUS", "each key must be 32 bytes, as 64 hex digits or base64")
            })?));
        }
        let provider_keys = pairs("CINEGEN_PROVIDER_KEYS", self.provider_keys.as_ref().map(Secret::expose))?;
        let provider_base_urls = pairs("CINEGEN_PROVIDER_BASE_URLS", self.provider_base_urls.as_deref())?;
        let mut model_concurrency = std::collections::BTreeMap::new();
        for (model, cap) in pairs("CINEGEN_MODEL_CONCURRENCY", self.model_concurrency.as_deref())? {
            let cap = cap.parse::<usize>().ok().filter(|cap| *cap >= 1);
            match (model.split_once('/'), cap) {
                (Some((provider, name)), Some(cap)) if !provider.is_empty() && !name.is_empty() => {
                    model_concurrency.insert(model, cap);
                }
                _ => {
                    return Err(invalid("CINEGEN_MODEL_CONCURRENCY", "each entry must be provider/model=N with N ≥ 1"));
                }
            }
        }
        for url in provider_base_urls.values() {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid("CINEGEN_PROVIDER_BASE_URLS", "each URL must start with http:// or https://"));
            }
        }
        let user_base_url_hosts: Vec<String> = self
            .user_base_url_hosts
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        if let Some(bad) = user_base_url_hosts
            .iter()
            .find(|h| h.contains(['/', ':', '@', ' ']) || h.trim_start_matches('.').is_empty())
        {
            return Err(invalid(
                "CINEGEN_USER_BASE_URL_HOSTS",
                format!("'{bad}' is not a host name (api.example.com or .example.com)"),
            ));
        }
        let mut trusted_proxies = Vec::new();
        for part in
            self.trusted_proxies.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty())
        {
            let net = part
                .parse::<ipnet::IpNet>()
                .or_else(|_| part.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    invalid("CINEGEN_TRUSTED_PROXIES", format!("'{part}' is not an address or network (10.0.0.0/8)"))
                })?;
            trusted_proxies.push(net);
        }
        let ttl = |setting: &str, secs: u64| {
            if secs == 0 { Err(invalid(setting, "must be greater than 0")) } else { Ok(secs) }
        };
        Ok(Settings {
            addr,
            database_max_connections: self.database_max_connections.max(1),
            redis_url,
            access_token_ttl_secs: ttl("CINEGEN_ACCESS_TOKEN_TTL_SECS", self.access_token_ttl_secs)?,
            refresh_token_ttl_secs: ttl("CINEGEN_REFRESH_TOKEN_TTL_SECS", self.refresh_token_ttl_secs)?,
            storage,
            url_ttl_secs: self.url_ttl_secs,
            fetch_timeout_secs: self.fetch_timeout_secs.max(1),
            fetch_allow_loopback: self.fetch_allow_loopback,
            workers: self.workers,
            per_user_running_tasks: self.per_user_running_tasks.max(1),
            task_retry_base_ms: self.task_retry_base_ms.max(1),
            task_lease_secs: self.task_lease_secs.max(1),
            shutdown_grace_secs: self.shutdown_grace_secs,
            shutdown_drain_ms: self.shutdown_drain_ms,
            text_provider: self.text_provider,
            image_provider: self.image_provider,
            video_provider: self.video_provider,
            speech_provider: self.speech_provider,
            vendor_watermark: self.vendor_watermark,
            provider_timeout_secs: self.provider_timeout_secs.max(1),
            video_poll_ms: self.video_poll_ms.max(1),
            video_deadline_secs: self.video_deadline_secs.max(1),
            text_requests_per_hour: self.text_requests_per_hour,
            image_requests_per_hour: self.image_requests_per_hour,
            video_requests_per_hour: self.video_requests_per_hour,
            batch_requests_per_hour: self.batch_requests_per_hour,
            local_requests_per_hour: self.local_requests_per_hour,
            downloads_per_hour: self.downloads_per_hour,
            provider_concurrency: self.provider_concurrency.max(1),
            model_concurrency,
            body_limit: positive_size("CINEGEN_BODY_LIMIT", &self.body_limit)?,
            document_limit: positive_size("CINEGEN_DOCUMENT_LIMIT", &self.document_limit)?,
            project_retention_days: self.project_retention_days,
            task_retention_days: self.task_retention_days,
            failed_task_retention_days: self.failed_task_retention_days.max(self.task_retention_days),
            default_quota: ByteSize::parse(&self.default_quota).map_err(|e| invalid("CINEGEN_DEFAULT_QUOTA", e))?,
            login_failures_per_account: self.login_failures_per_account.max(1),
            login_failures_per_ip: self.login_failures_per_ip.max(1),
            login_failure_window_secs: ttl("CINEGEN_LOGIN_FAILURE_WINDOW_SECS", self.login_failure_window_secs)?,
            max_concurrent_password_hashes: self.max_concurrent_password_hashes.max(1),
            trust_forwarded_for: self.trust_forwarded_for,
            registration: self.registration,
            registrations_per_ip_per_hour: self.registrations_per_ip_per_hour.max(1),
            shares_per_hour: self.shares_per_hour.max(1),
            metrics_addr: match self.metrics_addr.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
                Some(raw) => Some(
                    raw.parse::<SocketAddr>()
                        .map_err(|e| invalid("CINEGEN_METRICS_ADDR", format!("'{raw}' is not host:port ({e})")))?,
                ),
                None => None,
            },
            trusted_proxies,
            public_url: http_url(self.public_url.as_deref(), "CINEGEN_PUBLIC_URL")?
                .map(|url| url.trim_end_matches('/').to_owned()),
            secure_cookies: self
                .secure_cookies
                .unwrap_or_else(|| self.public_url.as_deref().is_some_and(|u| u.trim().starts_with("https://"))),
            web_dir: self.web_dir.join("index.html").is_file().then(|| self.web_dir.clone()),
            log_format: self.log_format,
            log_level: self.log_level,
            otlp_endpoint: http_url(self.otlp_endpoint.as_deref(), "CINEGEN_OTLP_ENDPOINT")?,
            server_key_budget: crate::cost::budgets::parse_server_caps(self.server_key_budget.as_deref().unwrap_or(""))
                .map_err(|e| invalid("CINEGEN_SERVER_KEY_BUDGET", e))?,
            prices: std::sync::Arc::new(match &self.prices_file {
                Some(path) => {
                    crate::cost::PriceTable::with_file(path).map_err(|e| invalid("CINEGEN_PRICES_FILE", &e))?
                }
                None => crate::cost::PriceTable::defaults(),
            }),
            data_dir,
            database_url: Secret(database_url),
            jwt_secret: SecretBytes(jwt_secret),
            encryption_key: SecretBytes(encryption_key),
            previous_encryption_keys: previous_keys,
            provider_keys: provider_keys.into_iter().map(|(k, v)| (k, Secret(v))).collect(),
            provider_base_urls,
            allow_user_base_urls: self.allow_user_base_urls,
            user_base_url_hosts,
            generated_secrets: generated,
        })
    }
}

const MAX_URL_TTL_SECS: u64 = 7 * 24 * 3600;

/// Where files are kept.
#[derive(Debug, Clone)]
pub enum StorageLocation {
    Local { root: PathBuf },
    S3(S3Location),
}

#[derive(Clone)]
pub struct S3Location {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub public_base_url: Option<String>,
}

impl fmt::Debug for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "s3://{}?endpoint={}&region={}&path_style={}",
            self.bucket,
            self.endpoint.as_deref().unwrap_or("aws"),
            self.region,
            self.path_style
        )
    }
}

/// `file:///path` (default `DATA_DIR/files`) or
/// `s3://bucket?endpoint=http://host:9000&region=us-east-1&path_style=true`.
fn storage_location(config: &Config, data_dir: &Path) -> Result<StorageLocation, ConfigError> {
    let setting = "CINEGEN_STORAGE_URL";
    let Some(raw) = config.storage_url.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(StorageLocation::Local { root: data_dir.join("files") });
    };
    if let Some(path) = raw.strip_prefix("file://") {
        if path.is_empty() {
            return Err(invalid(setting, "file:// needs a directory"));
        }
        return Ok(StorageLocation::Local { root: PathBuf::from(path) });
    }
    let url = url::Url::parse(raw).map_err(|e| invalid(setting, e))?;
    if url.scheme() != "s3" {
        return Err(invalid(setting, "must be file://DIR or s3://BUCKET?endpoint=…&region=…"));
    }
    let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| invalid(setting, "names no bucket"))?;
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    let access_key_id = config
        .s3_access_key_id
        .as_ref()
        .map(|s| s.expose().to_owned())
        .ok_or_else(|| invalid("CINEGEN_S3_ACCESS_KEY_ID", "is required with an s3:// storage URL"))?;
    let secret_access_key = config
        .s3_secret_access_key
        .clone()
        .ok_or_else(|| invalid("CINEGEN_S3_SECRET_ACCESS_KEY", "is required with an s3:// storage URL"))?;
    Ok(StorageLocation::S3(S3Location {
        bucket: bucket.to_owned(),
        endpoint: query.get("endpoint").cloned(),
        region: query.get("region").cloned().unwrap_or_else(|| "us-east-1".into()),
        path_style: query.get("path_style").is_some_and(|v| v == "true" || v == "1"),
        access_key_id,
        secret_access_key,
        public_base_url: http_url(config.storage_public_base_url.as_deref(), "CINEGEN_STORAGE_PUBLIC_BASE_URL")?,
    }))
}

/// An optional http(s) URL setting. Blank is unset: compose passes an unset `${X:-}` as "".
fn http_url(raw: Option<&str>, setting: &'static str) -> Result<Option<String>, ConfigError> {
    match raw.map(str::trim).filter(|url| !url.is_empty()) {
        Some(url) if url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) => {
            Ok(Some(url.to_owned()))
        }
        Some(url) => Err(invalid(setting, format!("'{url}' is not an http(s) URL"))),
        None => Ok(None),
    }
}

fn known_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

fn positive_size(setting: &str, raw: &str) -> Result<ByteSize, ConfigError> {
    match ByteSize::parse(raw) {
        Ok(size) if size.0 > 0 => Ok(size),
        Ok(_) => Err(invalid(setting, "must be greater than 0")),
        Err(e) => Err(invalid(setting, e)),
    }
}

/// figment names the key and the source (file or environment variable); keep that, drop its
/// internal profile prefix.
fn describe_figment_error(error: figment::Error) -> String {
    error.into_iter().map(|e| e.to_string().replace("default.", "")).collect::<Vec<_>>().join("; ")
}

/// `name=value,name=value` into a map; names are lower-cased provider names.
fn pairs(setting: &str, raw: Option<&str>) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    let mut map = std::collections::BTreeMap::new();
    for part in raw.unwrap_or_default().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .filter(|(n, v)| !n.trim().is_empty() && !v.trim().is_empty())
            .ok_or_else(|| invalid(setting, "must be a list of name=value pairs"))?;
        map.insert(name.trim().to_lowercase(), value.trim().to_owned());
    }
    Ok(map)
}

fn decode_key(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).ok()?
    } else {
        base64::engine::general_purpose::STANDARD.decode(text).ok()?
    };
    (bytes.len() == 32).then_some(bytes)
}

/// Reads `DATA_DIR/secrets/NAME`, or creates it with 32 random bytes (mode 0600).
fn load_or_generate(data_dir: &Path, name: &str, generated: &mut Vec<PathBuf>) -> Result<Vec<u8>, ConfigError> {
    let dir = data_dir.join("secrets");
    let path = dir.join(name);
    let setting = format!("secret file {}", path.display());
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(|e| invalid(&setting, e))?;
        return decode_key(&text).ok_or_else(|| invalid(&setting, "is not 32 bytes of hex"));
    }
    create_private_dir(&dir).map_err(|e| invalid(&setting, e))?;
    let bytes: [u8; 32] = rand::random();
    write_private(&path, &hex::encode(bytes)).map_err(|e| invalid(&setting, e))?;
    generated.push(path);
    Ok(bytes.to_vec())
}

/// Creates `dir` (and its parents) readable by this user only (mode 0700).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// Secret bytes (signing and encryption keys); `Debug` shows `***`.
#[derive(Clone)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The checked configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// May carry a password, so it is a secret; [`Settings::database_url_masked`] is loggable.
    pub database_url: Secret,
    pub database_max_connections: u32,
    /// May carry a password: [`Settings::redis_url_masked`] is loggable.
    pub redis_url: Option<Secret>,
    pub jwt_secret: SecretBytes,
    pub encryption_key: SecretBytes,
    pub previous_encryption_keys: Vec<SecretBytes>,
    /// Provider name → server-wide key (`KEY` or `ACCESS:SECRET`).
    pub provider_keys: std::collections::BTreeMap<String, Secret>,
    pub provider_base_urls: std::collections::BTreeMap<String, String>,
    /// Whether users may save base URLs of their own (only ever used with their own keys).
    pub allow_user_base_urls: bool,
    /// Hosts (exact, or `.suffix`) users' base URLs may name; empty: any public host.
    pub user_base_url_hosts: Vec<String>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub storage: StorageLocation,
    /// Lifetime of minted file URLs (at most 7 days).
    pub url_ttl_secs: u64,
    pub fetch_timeout_secs: u64,
    /// Lets server-side downloads reach loopback addresses: for tests against local emulators only.
    pub fetch_allow_loopback: bool,
    /// Task workers this process runs (0: none, for an API-only instance).
    pub workers: usize,
    /// Running tasks one user may have at once (fairness).
    pub per_user_running_tasks: i64,
    /// First wait before a task's retry, doubled for each later one.
    pub task_retry_base_ms: u64,
    /// How long a claimed task is held without a heartbeat; a dead worker's task is rescued after it.
    pub task_lease_secs: u64,
    pub shutdown_grace_secs: u64,
    pub shutdown_drain_ms: u64,
    pub text_provider: String,
    pub image_provider: String,
    pub video_provider: String,
    pub speech_provider: String,
    pub vendor_watermark: bool,
    pub provider_timeout_secs: u64,
    pub video_poll_ms: u64,
    pub video_deadline_secs: u64,
    pub text_requests_per_hour: u32,
    pub image_requests_per_hour: u32,
    pub video_requests_per_hour: u32,
    pub batch_requests_per_hour: u32,
    pub local_requests_per_hour: u32,
    pub downloads_per_hour: u32,
    pub provider_concurrency: usize,
    /// Calls in flight per model where the operator caps it, by `provider/model` (lower case).
    pub model_concurrency: std::collections::BTreeMap<String, usize>,
    pub body_limit: ByteSize,
    /// Largest project document body (PUT/POST of a project).
    pub document_limit: ByteSize,
    /// Days a deleted project stays restorable before it is purged.
    pub project_retention_days: u32,
    /// Days finished tasks are kept; failed ones are kept for `failed_task_retention_days`.
    pub task_retention_days: u32,
    pub failed_task_retention_days: u32,
    pub default_quota: ByteSize,
    pub login_failures_per_account: u32,
    pub login_failures_per_ip: u32,
    pub login_failure_window_secs: u64,
    pub max_concurrent_password_hashes: usize,
    pub trust_forwarded_for: bool,
    pub registration: Registration,
    pub registrations_per_ip_per_hour: u32,
    pub shares_per_hour: u32,
    /// Where `/metrics` is served when not beside the API.
    pub metrics_addr: Option<SocketAddr>,
    /// Proxies whose `X-Forwarded-For` hops are skipped when finding the client (beside the peer).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub secure_cookies: bool,
    /// The server's external address, without a trailing slash.
    pub public_url: Option<String>,
    /// The built web app's folder, when it holds an `index.html`.
    pub web_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    pub log_level: String,
    /// Where traces are exported (OTLP/HTTP), when set.
    pub otlp_endpoint: Option<String>,
    /// What provider calls cost: the shipped defaults, with the operator's file over them.
    pub prices: std::sync::Arc<crate::cost::PriceTable>,
    /// Monthly caps on calls with the server's own keys, per currency (millionths).
    pub server_key_budget: Vec<(crate::cost::Currency, i64)>,
    /// Secret files created by this start, so the caller can say so once in the log.
    pub generated_secrets: Vec<PathBuf>,
}

impl Settings {
    /// What one user may draw of `budget` in an hour.
    pub fn requests_per_hour(&self, budget: crate::tasks::budget::Budget) -> u32 {
        use crate::tasks::budget::Budget;
        match budget {
            Budget::Text => self.text_requests_per_hour,
            Budget::Image => self.image_requests_per_hour,
            Budget::Video => self.video_requests_per_hour,
            Budget::Batch => self.batch_requests_per_hour,
            Budget::Local => self.local_requests_per_hour,
            Budget::Downloads => self.downloads_per_hour,
            Budget::Shares => self.shares_per_hour,
        }
    }

    /// The database URL with any password replaced by `***`.
    pub fn database_url_masked(&self) -> String {
        mask_url_password(self.database_url.expose())
    }

    /// The Redis URL with any password replaced by `***`.
    pub fn redis_url_masked(&self) -> Option<String> {
        self.redis_url.as_ref().map(|url| mask_url_password(url.expose()))
    }
}

fn mask_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let Some((credentials, host)) = rest.split_once('@') else { return url.to_owned() };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        // `redis://secret@host`: some clients read a lone credential as the password.
        None => format!("{scheme}://***@{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cinegen-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn defaults_resolve_to_sqlite_and_generate_secrets_once() {
        let dir = temp_dir();
        let config = Config { data_dir: dir.clone(), ..Config::default() };
        let first = config.clone().resolve().unwrap();
        assert!(first.database_url.expose().starts_with("sqlite://"));
        assert_eq!(first.generated_secrets.len(), 2);
        let second = config.resolve().unwrap();
        assert!(second.generated_secrets.is_empty());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir.join("secrets")), 0o700);
            assert_eq!(mode(&first.generated_secrets[0]), 0o600);
        }
        assert_eq!(first.jwt_secret.expose(), second.jwt_secret.expose());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn bad_values_name_the_setting() {
        let dir = temp_dir();
        let base = Config { data_dir: dir.clone(), ..Config::default() };
        let s3 = |public: Option<&str>| Config {
            storage_url: Some("s3://media?endpoint=http://minio:9000".into()),
            s3_access_key_id: Some(Secret::new("ak")),
            s3_secret_access_key: Some(Secret::new("sk")),
            storage_public_base_url: public.map(str::to_owned),
            ..base.clone()
        };
        let cases = [
            (Config { addr: "nowhere".into(), ..base.clone() }, "CINEGEN_ADDR"),
            (Config { database_url: Some(Secret::new("mysql://x")), ..base.clone() }, "DATABASE_URL"),
            (Config { jwt_secret: Some(Secret::new("short")), ..base.clone() }, "JWT_SECRET"),
            (Config { encryption_key: Some(Secret::new("abc")), ..base.clone() }, "ENCRYPTION_KEY"),
            (Config { default_quota: "lots".into(), ..base.clone() }, "CINEGEN_DEFAULT_QUOTA"),
            (Config { redis_url: Some(Secret::new("http://x")), ..base.clone() }, "REDIS_URL"),
            (Config { public_url: Some("studio.example.com".into()), ..base.clone() }, "CINEGEN_PUBLIC_URL"),
            (s3(Some("cdn.example.com")), "CINEGEN_STORAGE_PUBLIC_BASE_URL"),
            (Config { model_concurrency: Some("doubao=2".into()), ..base.clone() }, "CINEGEN_MODEL_CONCURRENCY"),
            (
                Config { model_concurrency: Some("doubao/seedance=0".into()), ..base.clone() },
                "CINEGEN_MODEL_CONCURRENCY",
            ),
        ];
        for (config, setting) in cases {
            let error = config.resolve().unwrap_err().to_string();
            assert!(error.contains(setting), "{error} should name {setting}");
        }
        let capped =
            Config { model_concurrency: Some("Doubao/Seedance-Pro=2, kling/kling-v2-1=1".into()), ..base.clone() };
        let caps = capped.resolve().unwrap().model_concurrency;
        assert_eq!(caps, [("doubao/seedance-pro".to_owned(), 2), ("kling/kling-v2-1".to_owned(), 1)].into());
        // Blank is unset, as compose passes an unset variable.
        let blank = s3(Some(" ")).resolve().unwrap();
        assert!(matches!(blank.storage, StorageLocation::S3(ref s3) if s3.public_base_url.is_none()), "{blank:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let dir = temp_dir();
        let config = Config {
            data_dir: dir.clone(),
            jwt_secret: Some(Secret::new("s".repeat(40))),
            database_url: Some(Secret::new("postgres://app:hunter2@db/cinegen")),
            ..Config::default()
        };
        let text = format!("{config:?} {:?}", config.clone().resolve().unwrap());
        assert!(!text.contains("ssssssss") && !text.contains("hunter2"), "{text}");
        assert_eq!(config.clone().resolve().unwrap().database_url_masked(), "postgres://app:***@db/cinegen");
        let redis = Config { redis_url: Some(Secret::new("redis://:hunter2@cache:6379/0")), ..config };
        let settings = redis.resolve().unwrap();
        assert_eq!(settings.redis_url_masked().as_deref(), Some("redis://:***@cache:6379/0"));
        assert!(!format!("{settings:?}").contains("hunter2"), "the settings never print the Redis password");
        assert_eq!(mask_url_password("redis://hunter2@cache"), "redis://***@cache");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn mistyped_file_values_name_the_key() {
        let dir = temp_dir();
        let file = dir.join("cinegen.toml");
        std::fs::write(&file, "access_token_ttl_secs = \"soon\"\n").unwrap();
        let error = Config::load(Some(&file), &Overrides::default()).unwrap_err().to_string();
        assert!(error.contains("access_token_ttl_secs"), "{error}");
        std::fs::write(&file, "no_such_setting = 1\n").unwrap();
        let (_, warnings) = Config::load(Some(&file), &Overrides::default()).unwrap();
        assert!(warnings.iter().any(|w| w.contains("no_such_setting")), "{warnings:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
