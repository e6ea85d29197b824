//! Object storage for CineGen: every generated or uploaded asset is kept here for good.
//!
//! One [`Storage`] over two real backends, chosen by configuration: a local directory (served by
//! the server itself through HMAC-signed, expiring URLs) or any S3-compatible service (presigned
//! URLs). Both go through the `object_store` crate for reads and writes. Keys follow the layout of
//! DESIGN §4 and are built from ids only ([`StorageKey`]), so nothing a client sends reaches a path.

pub mod fetch;
pub mod guard;
pub mod keys;
pub mod presign;
pub mod signing;
mod store;

pub use fetch::{FetchError, Fetched, Fetcher};
pub use guard::{Allowance, check_url, guarded_client};
pub use keys::StorageKey;
pub use signing::{SignedRequest, UrlSigner};
pub use store::{Backend, Digest, S3Config, Storage, StorageError, UploadTarget};
