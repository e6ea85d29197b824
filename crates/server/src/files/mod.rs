//! Files: uploads (requested, made by the client, verified by the server), server-side stores of
//! generated or imported bytes (`persist_bytes`, `persist_from_url`), URLs, deletes and usage.

pub mod service;

pub use service::{FileService, UploadRequest};
