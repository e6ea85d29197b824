//! The audit log: who generated and who exported what, in which project, and when. Rows are only
//! ever added; nothing the application does removes them.

use crate::StoreResult;
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, UserId};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: uuid::Uuid,
    pub project_id: Option<ProjectId>,
    pub user_id: UserId,
    /// `generated` or `exported`.
    pub action: String,
    /// What: a slot (`keyframe/shot-1/k1`, `film`), or an export (`archive`, `subtitles.srt`,
    /// `timeline.fcpxml`).
    pub subject: String,
    /// Provider, model, task, file: whatever tells the event apart.
    pub detail: Value,
    pub created_at: DateTime<Utc>,
}

#[async_trait::async_trait]
pub trait AuditStore {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()>;

    /// A project's events, newest first, at most `limit`, from before `before` when given.
    async fn audit_of_project(
        &self,
        project: ProjectId,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}
