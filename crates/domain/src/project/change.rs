//! Why a change to a project was refused, decided while the project is locked for writing.

use crate::validation::ValidationErrors;

#[derive(Debug, Clone, PartialEq)]
pub enum ChangeError {
    /// The change was based on an older version; nothing was written.
    Conflict { current_version: i64 },
    /// The change would make the project invalid.
    Invalid(ValidationErrors),
    /// Something the change names (a shot, a keyframe) is not in the project.
    Missing(String),
    /// The caller's role does not allow this change.
    Forbidden(&'static str),
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Conflict { current_version } => write!(f, "stale version; current version is {current_version}"),
            Self::Invalid(errors) => write!(f, "invalid: {errors}"),
            Self::Missing(what) => write!(f, "{what} not found"),
            Self::Forbidden(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ChangeError {}
