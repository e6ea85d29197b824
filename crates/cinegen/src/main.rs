//! `cinegen`: the one binary. Parses the command line and configuration, then hands over to the
//! server library.

use anyhow::Context;
use cinegen_domain::ByteSize;
use cinegen_server::config::{Config, Overrides, Settings};
use cinegen_server::ops::backup;
use cinegen_server::{AppState, admin, telemetry};
use clap::{Args, Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

/// Fixes glibc's mmap threshold so that large blocks (an argon2id hash takes 19 MiB) are always
/// mapped and unmapped. By default glibc raises the threshold after the first such free, after
/// which every blocking thread's arena keeps its own 19 MiB: a login flood grew the process by
/// over 200 MiB that way.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    // SAFETY: mallopt only sets an allocator parameter; it runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

#[derive(Parser)]
#[command(name = "cinegen", version, about = "CineGen (AI 漫剧工场): AI motion-comic production server")]
struct Cli {
    /// Optional TOML configuration file (also CINEGEN_CONFIG).
    #[arg(long, global = true, env = "CINEGEN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Default)]
struct Location {
    /// Address to listen on (also CINEGEN_ADDR; default 0.0.0.0:8000).
    #[arg(long)]
    addr: Option<String>,
    /// Directory for the database, files and generated secrets (also CINEGEN_DATA_DIR; default ./data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and web app.
    Serve(Location),
    /// Run task workers only (no HTTP), alongside one or more `serve` instances.
    Worker(Location),
    /// Apply database migrations and exit.
    Migrate(Location),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Copy the embedded database, every file it refers to and the generated secrets into a new
    /// folder, with a manifest of checksums. Safe while the server runs.
    Backup {
        /// The folder to write; it must not exist or be empty.
        #[arg(long)]
        to: PathBuf,
        /// Leave the generated secrets out (keep `encryption_key` elsewhere: without it the
        /// stored provider keys cannot be read).
        #[arg(long)]
        without_secrets: bool,
        #[command(flatten)]
        location: Location,
    },
    /// Put a backup back: every checksum is checked first, then the database, files and secrets
    /// are restored and the database is checked against the manifest. Stop the server first.
    Restore {
        /// The backup folder (the one holding manifest.json).
        #[arg(long)]
        from: PathBuf,
        /// Overwrite an existing database and secrets.
        #[arg(long)]
        replace: bool,
        /// Only check the backup's checksums; change nothing.
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        location: Location,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from standard input when --password is left out.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        password: Option<String>,
        /// Storage quota such as 10GiB (default: the configured default quota).
        #[arg(long)]
        quota: Option<String>,
        #[command(flatten)]
        location: Location,
    },
    /// Set an account's storage quota, e.g. `--quota 50GiB`.
    SetQuota {
        #[arg(long)]
        email: String,
        #[arg(long)]
        quota: String,
        #[command(flatten)]
        location: Location,
    },
    /// Recompute an account's storage usage from its stored files and repair it.
    RepairUsage {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        location: Location,
    },
    /// Print an invitation code that lets this address register (with `registration = invite`).
    Invite {
        #[arg(long)]
        email: String,
        /// Days the code stays valid.
        #[arg(long, default_value_t = 7)]
        days: u32,
        #[command(flatten)]
        location: Location,
    },
    /// Set a new password and sign the account out everywhere. Reads standard input when
    /// --password is left out.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: Option<String>,
        #[command(flatten)]
        location: Location,
    },
}

fn settings(cli_config: Option<&PathBuf>, location: &Location) -> anyhow::Result<Settings> {
    let overrides = Overrides { addr: location.addr.clone(), data_dir: location.data_dir.clone() };
    let (config, warnings) = Config::load(cli_config.map(PathBuf::as_path), &overrides)?;
    let settings = config.resolve()?;
    telemetry::init(settings.log_format, &settings.log_level, settings.otlp_endpoint.as_deref())?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    for path in &settings.generated_secrets {
        tracing::info!(path = %path.display(), "generated a new secret; keep this file private and backed up");
    }
    Ok(settings)
}

fn password_from(flag: Option<String>) -> anyhow::Result<String> {
    match flag {
        Some(password) => Ok(password),
        None => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            Ok(line.trim_end_matches(['\r', '\n']).to_owned())
        }
    }
}

fn quota(raw: &str) -> anyhow::Result<ByteSize> {
    ByteSize::parse(raw).map_err(|e| anyhow::anyhow!("--quota: {e}"))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config.as_ref();
    match cli.command {
        Command::Serve(location) => {
            let settings = settings(config, &location)?;
            tracing::info!(
                addr = %settings.addr,
                data_dir = %settings.data_dir.display(),
                database = %settings.database_url_masked(),
                redis = settings.redis_url_masked().as_deref().unwrap_or("none (in-memory limits)"),
                settings = ?settings,
                "effective configuration"
            );
            let listener = tokio::net::TcpListener::bind(settings.addr)
                .await
                .with_context(|| format!("CINEGEN_ADDR: cannot listen on {}", settings.addr))?;
            let state = AppState::build(settings).await?;
            tracing::info!(addr = %listener.local_addr()?, engine = state.store.engine(), "cinegen is listening");
            cinegen_server::serve(state, listener, cinegen_server::shutdown_signal()).await?;
        }
        Command::Worker(location) => {
            let state = AppState::build(settings(config, &location)?).await?;
            tracing::info!(
                workers = state.settings.workers,
                engine = state.store.engine(),
                "cinegen worker is running"
            );
            cinegen_server::work(state, cinegen_server::shutdown_signal()).await?;
        }
        Command::Migrate(location) => {
            let state = AppState::build(settings(config, &location)?).await?;
            tracing::info!(engine = state.store.engine(), "migrations applied");
            println!("migrations applied ({})", state.store.engine());
        }
        Command::User(command) => run_user(config, command).await?,
        Command::Backup { to, without_secrets, location } => {
            let manifest = backup::backup(&settings(config, &location)?, &to, !without_secrets).await?;
            println!(
                "backed up {} users, {} projects and {} files ({} bytes) to {}",
                manifest.inventory.users,
                manifest.inventory.projects,
                manifest.inventory.files,
                manifest.bytes(),
                to.display()
            );
            for key in &manifest.missing_files {
                println!("warning: the database names {key}, which the file store no longer holds");
            }
            if manifest.secrets_included {
                println!("the backup holds the instance's secrets: keep it as private as they are");
            } else {
                println!(
                    "the backup holds no secrets: without the instance's encryption_key, stored provider keys are lost"
                );
            }
        }
        Command::Restore { from, replace, check, location } => {
            if check {
                let manifest = backup::read_manifest(&from).await?;
                backup::verify(&from, &manifest).await?;
                println!("{}: {} entries, every checksum matches", from.display(), manifest.entries.len());
            } else {
                let manifest = backup::restore(&settings(config, &location)?, &from, replace).await?;
                println!(
                    "restored {} users, {} projects and {} files ({} bytes) from {} (made {})",
                    manifest.inventory.users,
                    manifest.inventory.projects,
                    manifest.inventory.files,
                    manifest.bytes(),
                    from.display(),
                    manifest.created_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
        }
    }
    Ok(())
}

async fn run_user(config: Option<&PathBuf>, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { email, name, password, quota: raw_quota, location } => {
            let settings = settings(config, &location)?;
            let quota = raw_quota.as_deref().map(quota).transpose()?.unwrap_or(settings.default_quota);
            let store = AppState::build(settings).await?.store.clone();
            let user = admin::create_user(store.as_ref(), &email, &name, &password_from(password)?, quota).await?;
            println!("created user {} <{}> with a quota of {}", user.id, user.email, user.quota_total);
        }
        UserCommand::SetQuota { email, quota: raw_quota, location } => {
            let store = AppState::build(settings(config, &location)?).await?.store.clone();
            let user = admin::set_quota(store.as_ref(), &email, quota(&raw_quota)?).await?;
            println!("quota of <{}> is now {} ({} used)", user.email, user.quota_total, user.quota_used);
        }
        UserCommand::RepairUsage { email, location } => {
            let store = AppState::build(settings(config, &location)?).await?.store.clone();
            let (before, after) = admin::repair_usage(store.as_ref(), &email).await?;
            let verdict = if before == after { "already right" } else { "repaired" };
            println!("usage of <{email}>: {before} bytes recorded, {after} bytes in ready files ({verdict})");
        }
        UserCommand::Invite { email, days, location } => {
            let settings = settings(config, &location)?;
            let address =
                cinegen_domain::Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {}", e.message))?;
            let expires = chrono::Utc::now() + chrono::Duration::days(i64::from(days.clamp(1, 365)));
            let code = cinegen_server::auth::invites::Invites::new(settings.jwt_secret.expose())
                .issue(&address, expires.timestamp());
            println!("invitation for <{}>, valid until {}:", address.as_str(), expires.format("%Y-%m-%d %H:%M UTC"));
            println!("{code}");
        }
        UserCommand::ResetPassword { email, password, location } => {
            let store = AppState::build(settings(config, &location)?).await?.store.clone();
            let ended = admin::reset_password(store.as_ref(), &email, &password_from(password)?).await?;
            println!("password of <{email}> reset; {ended} session(s) signed out");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    tune_allocator();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cinegen: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        let outcome = run(Cli::parse()).await;
        // The exporter's requests run on this runtime: flush before it stops.
        tokio::task::spawn_blocking(telemetry::flush).await.ok();
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cinegen: {error:#}");
            ExitCode::FAILURE
        }
    }
}
