//! `cinegen backup` / `cinegen restore` for the embedded default: the SQLite database copied
//! online, every file it refers to, and the generated secrets, in one folder with a manifest of
//! checksums. A restore checks every checksum before it touches anything, then checks the restored
//! database holds what the manifest says.
//!
//! The folder layout:
//!
//! ```text
//! manifest.json            written last: a folder without one is an unfinished backup
//! cinegen.db               the database (VACUUM INTO: consistent, writers are not held up)
//! files/users/…            each live file the copied database refers to, by its storage key
//! secrets/jwt_secret       the generated secrets, unless left out (--without-secrets)
//! secrets/encryption_key
//! ```

use crate::config::{Settings, create_private_dir, write_private};
use anyhow::{Context, bail, ensure};
use chrono::{DateTime, Utc};
use cinegen_domain::FileStatus;
use cinegen_storage::{Storage, StorageError, StorageKey};
use cinegen_store::{ConnectOptions, Engine, Inventory, Store};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Names this layout; a restore refuses any other.
pub const FORMAT: &str = "cinegen-backup/1";
const MANIFEST: &str = "manifest.json";
const DATABASE: &str = "cinegen.db";
const SECRETS: [&str; 2] = ["jwt_secret", "encryption_key"];
/// Files are written back through the storage API; none of ours is larger than this.
const MAX_FILE_BYTES: u64 = 64 << 30;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub created_at: DateTime<Utc>,
    /// The version of cinegen that wrote it; a newer one restores it and migrates forward.
    pub cinegen_version: String,
    pub inventory: Inventory,
    /// Whether `secrets/` is in the backup. Without it, stored provider keys can only be read
    /// with the instance's own `encryption_key`, kept elsewhere.
    pub secrets_included: bool,
    /// Live files the database named that the file store no longer had when copied.
    pub missing_files: Vec<String>,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Relative to the backup folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    /// The size of everything the backup holds.
    pub fn bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }
}

/// Copies the running (or stopped) instance that `settings` describe into `to`, which must not
/// exist or be empty.
pub async fn backup(settings: &Settings, to: &Path, with_secrets: bool) -> anyhow::Result<Manifest> {
    let database = sqlite_path(settings)?;
    prepare_empty_dir(to)?;
    let store = open_store(settings).await?;
    let storage = crate::state::open_storage(settings)?;

    let snapshot = to.join(DATABASE);
    store.snapshot_to(&snapshot).await.with_context(|| format!("copying {}", database.display()))?;
    store.close().await;
    // What the copy refers to is what must be saved with it: files written after the copy are
    // not needed by it, and files deleted since are reported.
    let copy = cinegen_store::connect(&ConnectOptions { url: sqlite_url(&snapshot), max_connections: 1 }).await?;
    let (inventory, keys) = (copy.inventory().await?, copy.live_file_keys().await?);
    copy.close().await;

    let mut entries = vec![entry_of(to, DATABASE).await?];
    let mut missing_files = Vec::new();
    for (raw, status) in keys {
        let key =
            StorageKey::parse(&raw).with_context(|| format!("the database holds a malformed storage key {raw:?}"))?;
        match save_file(&storage, &key, to).await? {
            Some(entry) => entries.push(entry),
            // An upload that never finished has nothing to save.
            None if status == FileStatus::Pending => {}
            None => missing_files.push(raw),
        }
    }
    let secrets_included = with_secrets && save_secrets(settings, to, &mut entries).await?;

    let manifest = Manifest {
        format: FORMAT.into(),
        created_at: Utc::now(),
        cinegen_version: env!("CARGO_PKG_VERSION").into(),
        inventory,
        secrets_included,
        missing_files,
        entries,
    };
    let staged = to.join(format!("{MANIFEST}.partial"));
    tokio::fs::write(&staged, serde_json::to_vec_pretty(&manifest)?).await?;
    tokio::fs::rename(&staged, to.join(MANIFEST)).await?;
    Ok(manifest)
}

/// Puts the backup in `from` back into the instance `settings` describe. Refuses to replace an
/// existing database or secret unless `replace` is set.
pub async fn restore(settings: &Settings, from: &Path, replace: bool) -> anyhow::Result<Manifest> {
    let database = sqlite_path(settings)?;
    let manifest = read_manifest(from).await?;
    verify(from, &manifest).await?;

    if database.exists() && !replace {
        bail!(
            "{} already holds a database: restore into an empty data directory, or pass --replace to overwrite it",
            database.display()
        );
    }
    if manifest.secrets_included {
        restore_secrets(settings, from, replace).await?;
    }
    for suffix in ["", "-wal", "-shm"] {
        remove_if_present(&PathBuf::from(format!("{}{suffix}", database.display()))).await?;
    }
    if let Some(parent) = database.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let staged = PathBuf::from(format!("{}.restoring", database.display()));
    tokio::fs::copy(from.join(DATABASE), &staged).await?;
    tokio::fs::rename(&staged, &database).await?;

    let storage = crate::state::open_storage(settings)?;
    for entry in manifest.entries.iter().filter(|e| e.path.starts_with("files/")) {
        let key = StorageKey::parse(&entry.path["files/".len()..]).context("checked by verify")?;
        let file = tokio::fs::File::open(from.join(&entry.path)).await?;
        let stream = tokio_util::io::ReaderStream::new(file);
        let written = storage.put_stream(&key, stream, MAX_FILE_BYTES).await?;
        ensure!(written.sha256 == entry.sha256, "{} changed while it was being restored", entry.path);
    }

    let store = open_store(settings).await?;
    let restored = store.inventory().await?;
    store.close().await;
    ensure!(
        restored == manifest.inventory,
        "the restored database holds {restored:?}, the manifest says {:?}",
        manifest.inventory
    );
    Ok(manifest)
}

/// Reads and checks the manifest of the backup in `from`.
pub async fn read_manifest(from: &Path) -> anyhow::Result<Manifest> {
    let path = from.join(MANIFEST);
    let text = tokio::fs::read(&path)
        .await
        .with_context(|| format!("{} is missing: {} is not a finished backup", path.display(), from.display()))?;
    let manifest: Manifest =
        serde_json::from_slice(&text).with_context(|| format!("{} is unreadable", path.display()))?;
    ensure!(
        manifest.format == FORMAT,
        "{} is a {:?} backup; this version reads {FORMAT}",
        from.display(),
        manifest.format
    );
    Ok(manifest)
}

/// Checks that every entry is a path this layout allows and that its bytes match the manifest.
pub async fn verify(from: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    ensure!(manifest.entries.iter().any(|e| e.path == DATABASE), "the backup has no {DATABASE}");
    let mut damaged = Vec::new();
    for entry in &manifest.entries {
        ensure!(allowed_path(&entry.path), "the manifest names {:?}, which a backup never holds", entry.path);
        match digest_file(&from.join(&entry.path)).await {
            Ok((bytes, sha256)) if bytes == entry.bytes && sha256 == entry.sha256 => {}
            Ok(_) => damaged.push(format!("{} (changed)", entry.path)),
            Err(_) => damaged.push(format!("{} (missing)", entry.path)),
        }
    }
    ensure!(damaged.is_empty(), "the backup is damaged, nothing was restored: {}", damaged.join(", "));
    Ok(())
}

fn allowed_path(path: &str) -> bool {
    path == DATABASE
        || SECRETS.iter().any(|name| path == format!("secrets/{name}"))
        || path.strip_prefix("files/").and_then(StorageKey::parse).is_some()
}

/// The database file of the embedded engine; PostgreSQL has its own tools.
fn sqlite_path(settings: &Settings) -> anyhow::Result<PathBuf> {
    let url = settings.database_url.expose();
    if Engine::from_url(url).map_err(anyhow::Error::msg)? != Engine::Sqlite {
        bail!(
            "backup and restore are for the embedded SQLite database; back up PostgreSQL with pg_dump or \
             base backups and the file store with its own versioning (docs/OPERATIONS.md)"
        );
    }
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    ensure!(!path.is_empty() && path != ":memory:", "DATABASE_URL names no database file");
    Ok(PathBuf::from(path))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn open_store(settings: &Settings) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    let options = ConnectOptions { url: settings.database_url.expose().to_owned(), max_connections: 2 };
    Ok(cinegen_store::connect(&options).await?)
}

fn prepare_empty_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut contents = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        ensure!(contents.next().is_none(), "{} is not empty: back up into a new folder", dir.display());
    } else {
        create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// Copies one stored file into the backup; `None` when the store does not have it.
async fn save_file(storage: &Storage, key: &StorageKey, to: &Path) -> anyhow::Result<Option<Entry>> {
    let object = match storage.get(key, None).await {
        Ok(object) => object,
        Err(StorageError::NotFound) => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading {key}")),
    };
    let relative = format!("files/{key}");
    let target = to.join(&relative);
    tokio::fs::create_dir_all(target.parent().context("a key has folders")?).await?;
    let mut file = tokio::fs::File::create(&target).await?;
    let (mut hashing, mut bytes) = (Sha256::new(), 0u64);
    let mut stream = object.into_stream();
    while let Some(chunk) = stream.try_next().await.with_context(|| format!("reading {key}"))? {
        hashing.update(&chunk);
        bytes += chunk.len() as u64;
        file.write_all(&chunk).await?;
    }
    file.sync_all().await?;
    Ok(Some(Entry { path: relative, bytes, sha256: hex::encode(hashing.finalize()) }))
}

/// Copies the secrets kept as files in the data directory; answers whether both were there (keys
/// given in the configuration instead are the operator's to keep).
async fn save_secrets(settings: &Settings, to: &Path, entries: &mut Vec<Entry>) -> anyhow::Result<bool> {
    let from = settings.data_dir.join("secrets");
    if !SECRETS.iter().all(|name| from.join(name).is_file()) {
        return Ok(false);
    }
    create_private_dir(&to.join("secrets"))?;
    for name in SECRETS {
        let text = tokio::fs::read_to_string(from.join(name)).await?;
        let relative = format!("secrets/{name}");
        write_private(&to.join(&relative), &text)?;
        entries.push(entry_of(to, &relative).await?);
    }
    Ok(true)
}

/// Puts the backed-up secrets in place. A secret generated just now (a fresh data directory) is
/// replaced; one that was already there and differs is kept unless `replace` is set, since
/// replacing it makes what it protects unreadable.
async fn restore_secrets(settings: &Settings, from: &Path, replace: bool) -> anyhow::Result<()> {
    let dir = settings.data_dir.join("secrets");
    create_private_dir(&dir)?;
    for name in SECRETS {
        let saved = tokio::fs::read_to_string(from.join("secrets").join(name)).await?;
        let target = dir.join(name);
        let fresh = settings.generated_secrets.contains(&target);
        match tokio::fs::read_to_string(&target).await {
            Ok(current) if current == saved => continue,
            Ok(_) if !fresh && !replace => bail!(
                "{} differs from the backup's: pass --replace to overwrite it (what the current one \
                 encrypted becomes unreadable)",
                target.display()
            ),
            _ => {}
        }
        remove_if_present(&target).await?;
        write_private(&target, &saved)?;
    }
    Ok(())
}

async fn entry_of(root: &Path, relative: &str) -> anyhow::Result<Entry> {
    let (bytes, sha256) = digest_file(&root.join(relative)).await?;
    Ok(Entry { path: relative.to_owned(), bytes, sha256 })
}

async fn digest_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path).await?;
    let (mut hashing, mut bytes, mut buffer) = (Sha256::new(), 0u64, vec![0u8; 256 << 10]);
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        hashing.update(&buffer[..read]);
        bytes += read as u64;
    }
    Ok((bytes, hex::encode(hashing.finalize())))
}

async fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match tokio::fs::remove_file(path).await {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_layouts_own_paths_are_allowed() {
        let key = "users/0190a5c4-6f3e-7a44-9a1e-3c2f6f0e8a11/projects/0190a5c4-6f3e-7a44-9a1e-3c2f6f0e8a12/characters/0190a5c4-6f3e-7a44-9a1e-3c2f6f0e8a13.png";
        assert!(allowed_path(DATABASE));
        assert!(allowed_path("secrets/encryption_key"));
        assert!(allowed_path(&format!("files/{key}")));
        for hostile in ["../cinegen.db", "/etc/passwd", "files/../../etc/passwd", "secrets/../x", "files/users/x", ""] {
            assert!(!allowed_path(hostile), "{hostile}");
        }
    }
}
