//! Projects: who may do what, and the rules of changing one.

pub mod access;
pub mod archive;
pub mod assets;
pub mod export;
pub mod history;
pub mod legacy;
pub mod service;
pub mod update;

pub use access::ProjectAccess;
pub use service::ProjectService;
