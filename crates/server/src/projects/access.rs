//! Proof that a caller may act on a project. Every project route loads one through
//! [`ProjectService::authorize`](super::ProjectService::authorize) first, so a project the caller
//! cannot see answers 404 before anything else happens, and writes check the role it carries.

use crate::error::{AppError, AppResult};
use cinegen_domain::project::{ProjectRole, ProjectStatus};
use cinegen_domain::{ProjectId, UserId};

#[derive(Debug, Clone, Copy)]
pub struct ProjectAccess {
    pub id: ProjectId,
    pub owner_id: UserId,
    pub role: ProjectRole,
    pub version: i64,
    pub status: ProjectStatus,
}

impl ProjectAccess {
    /// Editors and owners may change documents and settings.
    pub fn require_editor(&self) -> AppResult<()> {
        if self.role.can_edit() { Ok(()) } else { Err(AppError::Forbidden("viewers cannot change this project")) }
    }

    /// Only the owner may delete, archive, restore or share.
    pub fn require_owner(&self) -> AppResult<()> {
        if self.role.is_owner() { Ok(()) } else { Err(AppError::Forbidden("only the project's owner can do this")) }
    }
}
