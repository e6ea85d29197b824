use super::SqlStore;
use crate::StoreResult;
use crate::audit::{AuditEvent, AuditStore};
use crate::db::{Row, Time};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, UserId};

fn event_from_row(row: &Row) -> StoreResult<AuditEvent> {
    Ok(AuditEvent {
        id: row.uuid("id")?,
        project_id: row.get::<Option<uuid::Uuid>>("project_id")?.map(ProjectId),
        user_id: UserId(row.uuid("user_id")?),
        action: row.get("action")?,
        subject: row.get("subject")?,
        detail: row.get("detail")?,
        created_at: row.time("created_at")?,
    })
}

#[async_trait::async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, event: &AuditEvent) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO audit_events (id, project_id, user_id, action, subject, detail, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(event.id)
            .bind(event.project_id.map(|p| p.as_uuid()))
            .bind(event.user_id.as_uuid())
            .bind(&event.action)
            .bind(&event.subject)
            .bind(sqlx::types::Json(&event.detail))
            .bind(Time(event.created_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn audit_of_project(
        &self,
        project: ProjectId,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        let rows = self
            .db
            .query(
                "SELECT id, project_id, user_id, action, subject, detail, created_at FROM audit_events
                 WHERE project_id = $1 AND ($2 IS NULL OR created_at < $2)
                 ORDER BY created_at DESC, id DESC LIMIT $3",
            )
            .bind(project.as_uuid())
            .bind(before.map(Time))
            .bind(limit.clamp(1, 500))
            .fetch_all()
            .await?;
        rows.iter().map(event_from_row).collect()
    }
}
