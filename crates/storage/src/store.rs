//! [`Storage`]: reads and writes through `object_store`, URLs per backend.

use crate::keys::StorageKey;
use crate::presign::{Presign, S3Signer};
use crate::signing::{SignedRequest, UrlSigner};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use md5::Md5;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::multipart::MultipartStore;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, GetResult, ObjectMeta, ObjectStore, WriteMultipart};
use sha2::{Digest as _, Sha256};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Bytes kept from the start of an object to check its type.
const HEAD_BYTES: usize = 64;
/// Parts of a streamed write; object_store keeps at most a few in memory at once.
const PART_BYTES: usize = 8 * 1024 * 1024;
const MAX_PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    #[error("the object is larger than the {limit}-byte limit")]
    TooLarge { limit: u64 },
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("storage: {0}")]
    Backend(#[from] object_store::Error),
    #[error("reading the source: {0}")]
    Source(std::io::Error),
}

/// Counts a failed operation of the file store for the metrics: the store refused or did not
/// answer. A missing object, a refused size or a broken source are answers, not failures.
fn failed(operation: &'static str) -> impl Fn(&StorageError) {
    move |error| {
        if matches!(error, StorageError::Backend(inner) if !matches!(inner, object_store::Error::NotFound { .. })) {
            metrics::counter!("cinegen_storage_failures_total", "operation" => operation).increment(1);
        }
    }
}

/// Where an S3-compatible bucket is and how to reach it.
#[derive(Clone)]
pub struct S3Config {
    pub bucket: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style (`endpoint/bucket/key`, MinIO and most self-hosted) rather than virtual-hosted.
    pub path_style: bool,
    /// A CDN or public bucket URL; objects are then linked as `{public_base_url}/{key}` unsigned.
    pub public_base_url: Option<String>,
}

#[derive(Clone)]
pub enum Backend {
    Local { root: PathBuf },
    S3 { bucket: Arc<AmazonS3>, public_base_url: Option<String>, presigner: Arc<S3Signer> },
}

/// The longest life SigV4 allows a presigned URL (seven days).
const MAX_PRESIGNED_SECS: u64 = 7 * 24 * 3600;

/// Presigned S3 uploads expire this soon, whatever the download URL lifetime.
const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// A quarter of `ttl`, in whole seconds (at least one): how long links keep one URL.
fn window_secs(ttl: Duration) -> u64 {
    (ttl.as_secs() / 4).max(1)
}

/// `now + ttl` rounded up to a multiple of a quarter of `ttl`: links minted in the same window
/// share one expiry (and so one URL), and each is good for between `ttl` and 1.25 × `ttl`.
fn stable_expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    let window = i64::try_from(window_secs(ttl)).unwrap_or(i64::MAX);
    let at = now.timestamp().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let rounded = at.div_euclid(window).saturating_add(i64::from(at.rem_euclid(window) != 0)).saturating_mul(window);
    DateTime::from_timestamp(rounded, 0).unwrap_or(now + ttl)
}

/// Where clients' own S3 uploads land until the server has verified them; the verified object
/// is then copied to its key, which no presigned URL can write.
fn staged(key: &StorageKey) -> ObjectPath {
    ObjectPath::from(format!("staging/{key}"))
}

/// Size and checksums of an object, and its first bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub size: u64,
    pub sha256: String,
    pub md5: String,
    pub head: Vec<u8>,
}

/// Where and how a client uploads an object itself.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Storage {
    objects: Arc<dyn ObjectStore>,
    backend: Backend,
    signer: UrlSigner,
}

struct Hashing {
    sha256: Sha256,
    md5: Md5,
    size: u64,
    head: Vec<u8>,
}

impl Hashing {
    fn new() -> Self {
        Self { sha256: Sha256::new(), md5: Md5::new(), size: 0, head: Vec::new() }
    }

    fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.md5.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
    }

    fn finish(self) -> Digest {
        Digest {
            size: self.size,
            sha256: hex::encode(self.sha256.finalize()),
            md5: hex::encode(self.md5.finalize()),
            head: self.head,
        }
    }
}

/// Local multipart parts live beside the objects, outside the key layout.
fn parts_dir(root: &std::path::Path, upload_id: &str) -> PathBuf {
    root.join(".parts").join(upload_id)
}

/// Local upload ids are ours (32 hex digits); anything else could name another directory.
fn check_upload_id(id: &str) -> Result<(), StorageError> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(StorageError::Config(format!("'{id}' is not an upload id")))
    }
}

fn path(key: &StorageKey) -> ObjectPath {
    ObjectPath::from(key.as_str())
}

impl Storage {
    /// Files under `root`, served by the server with URLs signed by `signer`.
    pub fn local(root: PathBuf, signer: UrlSigner) -> Result<Self, StorageError> {
        std::fs::create_dir_all(&root)
            .map_err(|e| StorageError::Config(format!("cannot create {}: {e}", root.display())))?;
        let objects = LocalFileSystem::new_with_prefix(&root)?;
        Ok(Self { objects: Arc::new(objects), backend: Backend::Local { root }, signer })
    }

    pub fn s3(config: S3Config, signer: UrlSigner) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_access_key_id(&config.access_key_id)
            .with_secret_access_key(&config.secret_access_key)
            .with_virtual_hosted_style_request(!config.path_style);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
        }
        let bucket = Arc::new(builder.build()?);
        let objects: Arc<dyn ObjectStore> = bucket.clone();
        let endpoint = config.endpoint.clone().unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", config.region));
        let presigner = Arc::new(S3Signer {
            endpoint: url::Url::parse(&endpoint).map_err(|e| StorageError::Config(format!("S3 endpoint: {e}")))?,
            bucket: config.bucket.clone(),
            region: config.region.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            path_style: config.path_style,
        });
        let backend = Backend::S3 { bucket, public_base_url: config.public_base_url, presigner };
        Ok(Self { objects, backend, signer })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// `local` or `s3`, for metrics.
    pub fn backend_name(&self) -> &'static str {
        if self.is_local() { "local" } else { "s3" }
    }

    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }

    /// Writes a stream to `key` in parts, hashing as it goes; memory stays flat whatever the size.
    /// A stream longer than `limit` bytes is refused and nothing is kept.
    pub async fn put_stream<S, E>(&self, key: &StorageKey, stream: S, limit: u64) -> Result<Digest, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<std::io::Error>,
    {
        let written = self.write_stream(key, stream, limit).await.inspect_err(failed("put"))?;
        metrics::counter!("cinegen_storage_written_bytes_total", "backend" => self.backend_name())
            .increment(written.size);
        Ok(written)
    }

    async fn write_stream<S, E>(&self, key: &StorageKey, stream: S, limit: u64) -> Result<Digest, StorageError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<std::io::Error>,
    {
        let upload = self.objects.put_multipart(&path(key)).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut hashing = Hashing::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(chunk) => chunk,
                Err(error) => {
                    let _ = writer.abort().await;
                    return Err(StorageError::Source(error.into()));
                }
            };
            hashing.update(&chunk);
            if hashing.size > limit {
                let _ = writer.abort().await;
                return Err(StorageError::TooLarge { limit });
            }
            writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
            writer.write(&chunk);
        }
        writer.finish().await?;
        Ok(hashing.finish())
    }

    pub async fn put_bytes(&self, key: &StorageKey, bytes: Bytes) -> Result<Digest, StorageError> {
        let limit = bytes.len() as u64;
        self.put_stream(key, futures::stream::iter([Ok::<_, std::io::Error>(bytes)]), limit).await
    }

    /// Size and checksums of a stored object, read back in full (the server trusts no claim).
    pub async fn digest(&self, key: &StorageKey) -> Result<Digest, StorageError> {
        self.digest_of(&path(key)).await
    }

    async fn digest_of(&self, location: &ObjectPath) -> Result<Digest, StorageError> {
        self.read_digest(location).await.inspect_err(failed("read"))
    }

    async fn read_digest(&self, location: &ObjectPath) -> Result<Digest, StorageError> {
        let get = self.objects.get(location).await.map_err(|error| match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            other => other.into(),
        })?;
        let mut stream = get.into_stream();
        let mut hashing = Hashing::new();
        while let Some(chunk) = stream.try_next().await? {
            hashing.update(&chunk);
        }
        Ok(hashing.finish())
    }

    pub async fn head(&self, key: &StorageKey) -> Result<Option<ObjectMeta>, StorageError> {
        self.head_of(&path(key)).await
    }

    async fn head_of(&self, location: &ObjectPath) -> Result<Option<ObjectMeta>, StorageError> {
        match self.objects.head(location).await {
            Ok(meta) => Ok(Some(meta)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(StorageError::from(error)).inspect_err(failed("head")),
        }
    }

    /// The object, or the byte `range` of it.
    pub async fn get(&self, key: &StorageKey, range: Option<Range<u64>>) -> Result<GetResult, StorageError> {
        let options = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        self.objects
            .get_opts(&path(key), options)
            .await
            .map_err(|error| match error {
                object_store::Error::NotFound { .. } => StorageError::NotFound,
                other => other.into(),
            })
            .inspect_err(failed("get"))
    }

    /// Deletes `key` (and a staged upload of it); deleting what is not there is not an error.
    pub async fn delete(&self, key: &StorageKey) -> Result<(), StorageError> {
        if !self.is_local() {
            self.delete_at(&staged(key)).await?;
        }
        self.delete_at(&path(key)).await
    }

    async fn delete_at(&self, location: &ObjectPath) -> Result<(), StorageError> {
        match self.objects.delete(location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(StorageError::from(error)).inspect_err(failed("delete")),
        }
    }

    /// Where a client's own upload of `key` (through [`Self::upload_target`]) was written:
    /// staged on S3, the key itself on the local backend (whose PUT handler writes only while
    /// the upload is pending).
    fn landing(&self, key: &StorageKey) -> ObjectPath {
        if self.is_local() { path(key) } else { staged(key) }
    }

    /// The metadata of a client's upload of `key`, before verification.
    pub async fn head_upload(&self, key: &StorageKey) -> Result<Option<ObjectMeta>, StorageError> {
        self.head_of(&self.landing(key)).await
    }

    /// The digest of a client's upload of `key`, before verification.
    pub async fn digest_upload(&self, key: &StorageKey) -> Result<Digest, StorageError> {
        self.digest_of(&self.landing(key)).await
    }

    /// Moves a verified client upload to its key: on S3 a server-side copy out of staging, so a
    /// presigned URL still in someone's hands can never overwrite the verified object.
    pub async fn promote_upload(&self, key: &StorageKey) -> Result<(), StorageError> {
        if self.is_local() {
            return Ok(());
        }
        self.objects.copy(&staged(key), &path(key)).await.map_err(StorageError::from).inspect_err(failed("copy"))?;
        self.delete_at(&staged(key)).await
    }

    /// Every object under `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let prefix = ObjectPath::from(prefix);
        self.objects.list(Some(&prefix)).try_collect().await.map_err(StorageError::from).inspect_err(failed("list"))
    }

    /// A URL that reads the object for at least `ttl`. Local URLs name a download file name when
    /// one is given (served as `Content-Disposition: attachment`). Both local and presigned S3
    /// links expire on a boundary of a quarter of `ttl` ([`stable_expiry`]), so the same file's
    /// link stays the same URL for that long and the browser's cache keeps it instead of fetching
    /// it on every page load.
    pub async fn download_url(
        &self,
        key: &StorageKey,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<(String, DateTime<Utc>), StorageError> {
        let expires_at = stable_expiry(Utc::now(), ttl);
        match &self.backend {
            Backend::Local { .. } => {
                let name = download_name.unwrap_or_default();
                let request =
                    SignedRequest { method: "GET", key: key.as_str(), expires: expires_at.timestamp(), extra: name };
                let signature = self.signer.sign(&request);
                let mut url = format!("/files/{key}?exp={}&sig={signature}", expires_at.timestamp());
                if !name.is_empty() {
                    url.push_str("&dl=");
                    url.push_str(&url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>());
                }
                Ok((url, expires_at))
            }
            Backend::S3 { public_base_url: Some(base), .. } => {
                Ok((format!("{}/{key}", base.trim_end_matches('/')), expires_at))
            }
            Backend::S3 { presigner, .. } => {
                // Signed as of a moment fixed for the whole window (its expiry less the link's
                // whole lifetime), so every link to the file minted in the window is one URL.
                let lifetime = Duration::from_secs(ttl.as_secs() + window_secs(ttl));
                let signed_at = expires_at - lifetime;
                let url = presigner.presign(&Presign {
                    method: "GET",
                    key: key.as_str(),
                    headers: &[],
                    expires_secs: lifetime.as_secs().clamp(1, MAX_PRESIGNED_SECS),
                    now: signed_at,
                });
                Ok((url, expires_at))
            }
        }
    }

    /// Where a client PUTs the bytes of `key` itself (S3: a presigned URL; local: our signed one).
    pub async fn upload_target(
        &self,
        key: &StorageKey,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<UploadTarget, StorageError> {
        let headers = vec![("Content-Type".to_owned(), content_type.to_owned())];
        let (url, expires_at) = match &self.backend {
            Backend::Local { .. } => {
                let expires_at = Utc::now() + ttl;
                let extra = format!("{content_type}\n{size}");
                let request =
                    SignedRequest { method: "PUT", key: key.as_str(), expires: expires_at.timestamp(), extra: &extra };
                (format!("/files/{key}?exp={}&sig={}", expires_at.timestamp(), self.signer.sign(&request)), expires_at)
            }
            Backend::S3 { presigner, .. } => {
                // Short-lived, into staging, and only for exactly this type and length (the
                // client's HTTP library sends Content-Length by itself).
                let ttl = ttl.min(UPLOAD_URL_TTL);
                let now = Utc::now();
                let signed = [("Content-Type", content_type.to_owned()), ("Content-Length", size.to_string())];
                let url = presigner.presign(&Presign {
                    method: "PUT",
                    key: staged(key).as_ref(),
                    headers: &signed,
                    expires_secs: ttl.as_secs(),
                    now,
                });
                (url, now + ttl)
            }
        };
        Ok(UploadTarget { url, method: "PUT", headers, expires_at })
    }

    /// Starts a multipart upload of `key`; answers its id.
    pub async fn start_multipart(&self, key: &StorageKey) -> Result<String, StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                tokio::fs::create_dir_all(parts_dir(root, &id)).await.map_err(StorageError::Source)?;
                Ok(id)
            }
            Backend::S3 { bucket, .. } => Ok(bucket.create_multipart(&path(key)).await?),
        }
    }

    /// Stores part `number` (1-based) of an upload; sending a part again replaces it. Answers the
    /// part's tag, needed to complete the upload.
    pub async fn put_part(
        &self,
        key: &StorageKey,
        upload_id: &str,
        number: u32,
        bytes: Bytes,
    ) -> Result<String, StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                check_upload_id(upload_id)?;
                let file = parts_dir(root, upload_id).join(format!("{number:05}.part"));
                let temp = file.with_extension("tmp");
                tokio::fs::write(&temp, &bytes).await.map_err(StorageError::Source)?;
                tokio::fs::rename(&temp, &file).await.map_err(StorageError::Source)?;
                Ok(hex::encode(md5::Md5::digest(&bytes)))
            }
            Backend::S3 { bucket, .. } => {
                let part =
                    bucket.put_part(&path(key), &upload_id.to_owned(), number as usize - 1, bytes.into()).await?;
                Ok(part.content_id)
            }
        }
    }

    /// Assembles the parts, in order, into the object. `parts` are `(number, tag)` pairs.
    pub async fn complete_multipart(
        &self,
        key: &StorageKey,
        upload_id: &str,
        parts: &[(u32, String)],
        limit: u64,
    ) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                check_upload_id(upload_id)?;
                let dir = parts_dir(root, upload_id);
                let files: Vec<PathBuf> = parts.iter().map(|(n, _)| dir.join(format!("{n:05}.part"))).collect();
                // One part file open at a time, streamed: memory stays flat whatever the size.
                let stream = futures::stream::iter(files)
                    .then(|file| async move { tokio::fs::File::open(file).await })
                    .map_ok(|file| tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024))
                    .try_flatten();
                self.put_stream(key, stream, limit).await?;
                tokio::fs::remove_dir_all(dir).await.map_err(StorageError::Source)?;
                Ok(())
            }
            Backend::S3 { bucket, .. } => {
                let ids =
                    parts.iter().map(|(_, tag)| object_store::multipart::PartId { content_id: tag.clone() }).collect();
                bucket.complete_multipart(&path(key), &upload_id.to_owned(), ids).await?;
                Ok(())
            }
        }
    }

    pub async fn abort_multipart(&self, key: &StorageKey, upload_id: &str) -> Result<(), StorageError> {
        match &self.backend {
            Backend::Local { root } => {
                check_upload_id(upload_id)?;
                match tokio::fs::remove_dir_all(parts_dir(root, upload_id)).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(StorageError::Source(e)),
                }
            }
            Backend::S3 { bucket, .. } => Ok(bucket.abort_multipart(&path(key), &upload_id.to_owned()).await?),
        }
    }

    /// Checks a local URL's signature (`extra` as in [`Self::download_url`] / [`Self::upload_target`]).
    pub fn verify_local(&self, method: &str, key: &StorageKey, expires: i64, extra: &str, signature: &str) -> bool {
        let request = SignedRequest { method, key: key.as_str(), expires, extra };
        self.signer.verify(&request, signature, Utc::now().timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cinegen_domain::{FileId, FileKind, ProjectId, UserId};

    fn temp_storage() -> (Storage, PathBuf) {
        let root = std::env::temp_dir().join(format!("cinegen-storage-{}", uuid::Uuid::new_v4()));
        (Storage::local(root.clone(), UrlSigner::new(b"k")).unwrap(), root)
    }

    fn key() -> StorageKey {
        StorageKey::for_file(UserId::new(), ProjectId::new(), FileKind::Video, FileId::new(), "video/mp4")
    }

    #[tokio::test]
    async fn streams_are_written_hashed_and_read_back() {
        let (storage, root) = temp_storage();
        let key = key();
        let chunks: Vec<Result<Bytes, std::io::Error>> =
            (0..5).map(|i| Ok(Bytes::from(vec![i as u8; 3 * 1024 * 1024]))).collect();
        let written = storage.put_stream(&key, futures::stream::iter(chunks), u64::MAX).await.unwrap();
        assert_eq!(written.size, 15 * 1024 * 1024);
        assert_eq!(storage.digest(&key).await.unwrap(), written);
        let range = storage.get(&key, Some(3 * 1024 * 1024..3 * 1024 * 1024 + 4)).await.unwrap();
        assert_eq!(range.bytes().await.unwrap().as_ref(), &[1, 1, 1, 1]);
        storage.delete(&key).await.unwrap();
        assert!(storage.head(&key).await.unwrap().is_none());
        storage.delete(&key).await.unwrap();
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn multipart_parts_assemble_in_order_and_can_be_resent() {
        let (storage, root) = temp_storage();
        let key = key();
        let upload = storage.start_multipart(&key).await.unwrap();
        let mut parts = Vec::new();
        for n in [2u32, 1, 3] {
            let tag = storage.put_part(&key, &upload, n, Bytes::from(vec![n as u8; 1000])).await.unwrap();
            parts.push((n, tag));
        }
        // Part 2 is sent again after a dropped connection.
        let again = storage.put_part(&key, &upload, 2, Bytes::from(vec![2u8; 1000])).await.unwrap();
        parts.retain(|(n, _)| *n != 2);
        parts.push((2, again));
        parts.sort();
        storage.complete_multipart(&key, &upload, &parts, u64::MAX).await.unwrap();
        let bytes = storage.get(&key, None).await.unwrap().bytes().await.unwrap();
        assert_eq!(bytes.len(), 3000);
        assert_eq!((bytes[0], bytes[1000], bytes[2999]), (1, 2, 3));
        assert!(!root.join(".parts").join(&upload).exists());
        assert!(storage.put_part(&key, "../../etc", 1, Bytes::new()).await.is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn oversize_streams_leave_nothing() {
        let (storage, root) = temp_storage();
        let key = key();
        let chunks: Vec<Result<Bytes, std::io::Error>> = (0..3).map(|_| Ok(Bytes::from(vec![0u8; 1024]))).collect();
        let refused = storage.put_stream(&key, futures::stream::iter(chunks), 2048).await;
        assert!(matches!(refused, Err(StorageError::TooLarge { limit: 2048 })));
        assert!(storage.head(&key).await.unwrap().is_none());
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn links_minted_in_one_window_share_their_expiry() {
        let ttl = Duration::from_secs(3600);
        let at = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap();
        let first = stable_expiry(at(1_800_000_001), ttl);
        assert_eq!(stable_expiry(at(1_800_000_100), ttl), first, "the same window, the same expiry");
        assert_eq!(first.timestamp() % 900, 0);
        for now in [1_800_000_000, 1_800_000_899, 1_800_000_900] {
            let expiry = stable_expiry(at(now), ttl).timestamp();
            assert!(expiry >= now + 3600 && expiry < now + 3600 + 900, "{now} → {expiry}");
        }
        assert_eq!(stable_expiry(at(10), Duration::ZERO), at(10), "no ttl, no rounding");
    }

    #[tokio::test]
    async fn local_urls_are_signed_for_their_key() {
        let (storage, root) = temp_storage();
        let key = key();
        let (url, _) = storage.download_url(&key, Duration::from_secs(60), Some("film.mp4")).await.unwrap();
        let query: std::collections::HashMap<String, String> =
            url::Url::parse(&format!("http://x{url}")).unwrap().query_pairs().into_owned().collect();
        let expires: i64 = query["exp"].parse().unwrap();
        assert!(storage.verify_local("GET", &key, expires, "film.mp4", &query["sig"]));
        assert!(!storage.verify_local("GET", &key, expires, "", &query["sig"]));
        std::fs::remove_dir_all(root).unwrap();
    }
}
