//! `persist_from_url`'s download half: streams an http(s) URL into storage with a size cap,
//! timeouts, retries of transient failures, and the SSRF guard of [`crate::guard`].

use crate::guard::{Allowance, check_url, guarded_client};
use crate::keys::StorageKey;
use crate::store::{Digest, Storage, StorageError};
use futures::TryStreamExt;
use std::time::Duration;
use url::Url;

const ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL may not be fetched (scheme, address, redirect target); retrying cannot help.
    #[error("refused: {0}")]
    Refused(String),
    /// The source answered with an error status (404 and 403 mean an expired link).
    #[error("the source answered HTTP {0}")]
    Status(u16),
    #[error("the download is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("download failed: {0}")]
    Network(String),
    #[error(transparent)]
    Storage(StorageError),
}

impl FetchError {
    /// Whether trying again later could succeed (connection trouble, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Status(code) => *code == 429 || *code >= 500,
            Self::Network(_) => true,
            _ => false,
        }
    }
}

/// What was stored: its digest and the type the source declared.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub digest: Digest,
    pub content_type: Option<String>,
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allowance: Allowance,
}

impl Fetcher {
    /// `timeout` bounds each attempt as a whole; connecting has 10 s of it at most.
    pub fn new(allowance: Allowance, timeout: Duration) -> Self {
        let client = guarded_client(allowance).timeout(timeout).build().expect("a TLS backend is compiled in");
        Self { client, allowance }
    }

    /// Downloads `url` into `key`, retrying transient failures (connection errors, 429, 5xx).
    pub async fn fetch_into(
        &self,
        url: &str,
        storage: &Storage,
        key: &StorageKey,
        limit: u64,
    ) -> Result<Fetched, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::Refused(format!("not a URL: {e}")))?;
        check_url(&parsed, self.allowance).map_err(FetchError::Refused)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(parsed.clone(), storage, key, limit).await {
                Err(error) if error.is_transient() && attempt < ATTEMPTS => {
                    tracing::debug!(attempt, error = %error, "download failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
                }
                result => return result,
            }
        }
    }

    async fn attempt(&self, url: Url, storage: &Storage, key: &StorageKey, limit: u64) -> Result<Fetched, FetchError> {
        let response = self.client.get(url).send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        if response.content_length().is_some_and(|length| length > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        let stream = response.bytes_stream().map_err(std::io::Error::other);
        let digest = storage.put_stream(key, stream, limit).await.map_err(|error| match error {
            StorageError::TooLarge { limit } => FetchError::TooLarge { limit },
            StorageError::Source(e) => FetchError::Network(e.to_string()),
            other => FetchError::Storage(other),
        })?;
        Ok(Fetched { digest, content_type })
    }
}

/// A refused redirect or address surfaces as a connection error; keep it a refusal.
fn describe(error: &reqwest::Error) -> FetchError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    if text.contains("refused:") || text.contains("may not be fetched") || text.contains("too many redirects") {
        FetchError::Refused(text)
    } else {
        FetchError::Network(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::UrlSigner;
    use axum::Router;
    use axum::response::Redirect;
    use axum::routing::get;
    use cinegen_domain::{FileId, FileKind, ProjectId, UserId};

    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }

    fn storage() -> (Storage, std::path::PathBuf) {
        let root = std::env::temp_dir().join(format!("cinegen-fetch-{}", uuid::Uuid::new_v4()));
        (Storage::local(root.clone(), UrlSigner::new(b"k")).unwrap(), root)
    }

    fn key() -> StorageKey {
        StorageKey::for_file(UserId::new(), ProjectId::new(), FileKind::Scene, FileId::new(), "image/png")
    }

    #[tokio::test]
    async fn inside_addresses_and_other_schemes_are_refused() {
        let (storage, root) = storage();
        let fetcher = Fetcher::new(Allowance::GlobalOnly, Duration::from_secs(5));
        for url in [
            "http://127.0.0.1/x.png",
            "http://10.0.0.1/x.png",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/x",
            "http://localhost/x.png",
            "file:///etc/passwd",
            "ftp://example.com/x",
            "gopher://127.0.0.1:6379/_",
            "not a url",
        ] {
            let refused = fetcher.fetch_into(url, &storage, &key(), 1024).await;
            assert!(matches!(refused, Err(FetchError::Refused(_))), "{url}: {refused:?}");
        }
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn redirects_into_private_space_are_refused() {
        let base =
            serve(Router::new().route("/hop", get(|| async { Redirect::temporary("http://10.0.0.1/secret") }))).await;
        let (storage, root) = storage();
        let fetcher = Fetcher::new(Allowance::AlsoLoopback, Duration::from_secs(5));
        let refused = fetcher.fetch_into(&format!("{base}/hop"), &storage, &key(), 1024).await;
        assert!(matches!(refused, Err(FetchError::Refused(_))), "{refused:?}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[tokio::test]
    async fn allowed_sources_stream_in_with_a_cap() {
        let body = vec![7u8; 300_000];
        let served = body.clone();
        let base = serve(
            Router::new()
                .route("/ok.png", get(move || async move { served }))
                .route("/missing.png", get(|| async { axum::http::StatusCode::NOT_FOUND })),
        )
        .await;
        let (storage, root) = storage();
        let fetcher = Fetcher::new(Allowance::AlsoLoopback, Duration::from_secs(5));
        let fetched = fetcher.fetch_into(&format!("{base}/ok.png"), &storage, &key(), 1_000_000).await.unwrap();
        assert_eq!(fetched.digest.size, 300_000);
        let capped = fetcher.fetch_into(&format!("{base}/ok.png"), &storage, &key(), 1000).await;
        assert!(matches!(capped, Err(FetchError::TooLarge { .. })), "{capped:?}");
        let missing = fetcher.fetch_into(&format!("{base}/missing.png"), &storage, &key(), 1000).await;
        assert!(matches!(missing, Err(FetchError::Status(404))), "{missing:?}");
        std::fs::remove_dir_all(root).unwrap();
    }
}
