//! Projects: settings, the documents the web app edits (DESIGN §2), roles, and search terms.
//!
//! Documents are kept as the JSON the client sent, so fields this server does not know survive
//! every round trip; the typed views in [`document`] only validate them and read what the server
//! needs (ids, statuses, file references).

pub mod assets;
pub mod change;
pub mod document;
pub mod role;
pub mod search;
pub mod settings;

pub use change::ChangeError;
pub use document::{DocumentSummary, Documents};
pub use role::ProjectRole;
pub use settings::{ProjectSettings, ProjectStatus, SettingsPatch};
