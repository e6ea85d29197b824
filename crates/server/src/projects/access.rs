//! Proof that a caller may act on a project, as types. Only
//! [`ProjectService::authorize`](super::ProjectService::authorize) makes a [`ProjectAccess`] (its
//! constructor is private to this module tree), so a project the caller cannot see answers 404
//! before anything else happens. Every write of the project service takes an [`EditorAccess`] or
//! an [`OwnerAccess`], which only the role check below can make from it: a handler, task or
//! service that forgot to check the role does not compile.

use crate::error::{AppError, AppResult};
use cinegen_domain::project::{ProjectRole, ProjectStatus};
use cinegen_domain::{ProjectId, UserId};

/// The caller can see the project (viewer, editor or owner).
#[derive(Debug, Clone, Copy)]
pub struct ProjectAccess {
    id: ProjectId,
    /// Whose access this is: the author of what is written through it.
    caller: UserId,
    owner_id: UserId,
    role: ProjectRole,
    version: i64,
    status: ProjectStatus,
}

/// The caller may change the project's documents and settings (editor or owner).
#[derive(Debug, Clone, Copy)]
pub struct EditorAccess(ProjectAccess);

/// The caller owns the project: may delete, archive, restore and share it.
#[derive(Debug, Clone, Copy)]
pub struct OwnerAccess(ProjectAccess);

impl ProjectAccess {
    pub(super) fn new(
        id: ProjectId,
        caller: UserId,
        owner_id: UserId,
        role: ProjectRole,
        version: i64,
        status: ProjectStatus,
    ) -> Self {
        Self { id, caller, owner_id, role, version, status }
    }

    pub fn id(&self) -> ProjectId {
        self.id
    }

    pub fn caller(&self) -> UserId {
        self.caller
    }

    pub fn owner_id(&self) -> UserId {
        self.owner_id
    }

    pub fn role(&self) -> ProjectRole {
        self.role
    }

    /// The version when access was checked (for response caches; writes check their own).
    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn status(&self) -> ProjectStatus {
        self.status
    }

    /// Editors and owners may change documents and settings.
    pub fn editor(self) -> AppResult<EditorAccess> {
        if self.role.can_edit() {
            Ok(EditorAccess(self))
        } else {
            Err(AppError::Forbidden("viewers cannot change this project"))
        }
    }

    /// Only the owner may delete, archive, restore or share.
    pub fn owner(self) -> AppResult<OwnerAccess> {
        if self.role.is_owner() {
            Ok(OwnerAccess(self))
        } else {
            Err(AppError::Forbidden("only the project's owner can do this"))
        }
    }
}

impl std::ops::Deref for EditorAccess {
    type Target = ProjectAccess;

    fn deref(&self) -> &ProjectAccess {
        &self.0
    }
}

impl std::ops::Deref for OwnerAccess {
    type Target = ProjectAccess;

    fn deref(&self) -> &ProjectAccess {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(role: ProjectRole) -> ProjectAccess {
        ProjectAccess::new(ProjectId::new(), UserId::new(), UserId::new(), role, 1, ProjectStatus::Active)
    }

    #[test]
    fn roles_grant_exactly_their_capabilities() {
        assert!(access(ProjectRole::Viewer).editor().is_err());
        assert!(access(ProjectRole::Viewer).owner().is_err());
        assert!(access(ProjectRole::Editor).editor().is_ok());
        assert!(access(ProjectRole::Editor).owner().is_err());
        assert!(access(ProjectRole::Owner).owner().is_ok());
        assert!(access(ProjectRole::Owner).editor().is_ok(), "an owner may do everything an editor may");
    }
}
