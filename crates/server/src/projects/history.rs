//! Document history: the kept earlier versions of a project's documents, listed for anyone who
//! can see the project and restored by an editor as a new version.

use super::access::{EditorAccess, ProjectAccess};
use super::service::{ForeignFiles, ProjectService};
use crate::error::{AppError, AppResult};
use cinegen_store::{Author, ProjectRecord, Revision, RevisionSummary};

impl ProjectService {
    /// The project's kept versions, newest first.
    pub async fn history(&self, access: &ProjectAccess) -> AppResult<Vec<RevisionSummary>> {
        Ok(self.store.revisions(access.id()).await?)
    }

    /// One kept version with its documents.
    pub async fn revision(&self, access: &ProjectAccess, version: i64) -> AppResult<Revision> {
        self.store.revision(access.id(), version).await?.ok_or_else(|| AppError::not_found("revision"))
    }

    /// Makes a kept version's documents the project's again, as a new version; what they replace
    /// is kept in turn, so a restore can itself be undone. Pictures and clips the version names
    /// that are no longer stored are left out of it (their slots read as not generated).
    pub async fn restore_revision(&self, access: &EditorAccess, version: i64) -> AppResult<ProjectRecord> {
        let kept = self.revision(access, version).await?;
        let allowed = self.own_files(access.id(), [&kept.docs.script_data, &kept.docs.shots]).await?;
        let author = Some(Author::restoring(access.caller()));
        self.change_guarded(access.id(), author, allowed, ForeignFiles::Drop, move |project: &mut ProjectRecord| {
            project.raw_script = kept.raw_script;
            project.docs = kept.docs;
            Ok(())
        })
        .await
    }
}
