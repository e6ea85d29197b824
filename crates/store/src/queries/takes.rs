use super::SqlStore;
use super::files::{COLUMNS as FILE_COLUMNS, F_COLUMNS, charge, file_from_row};
use crate::StoreResult;
use crate::db::{Row, Time};
use crate::takes::{DeletedTake, Money, TakeRecord, TakeStore};
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind, ProjectId, TakeId, TaskId, UserId};
use sqlx::types::Json;

/// The columns of a take, bare for `RETURNING` (which SQLite wants unqualified).
const BARE: &str = "id, project_id, slot, file_id, pinned, made_by, task_id, provider, model, inputs_hash, \
    cost_micros, currency, provenance, created_at";
/// The same, qualified for queries that join other tables.
const COLUMNS: &str = "t.id, t.project_id, t.slot, t.file_id, t.pinned, t.made_by, t.task_id, t.provider, t.model, \
    t.inputs_hash, t.cost_micros, t.currency, t.provenance, t.created_at";

fn take_from_row(row: &Row) -> StoreResult<TakeRecord> {
    let cost = match (row.get::<Option<i64>>("cost_micros")?, row.get::<Option<String>>("currency")?) {
        (Some(micros), Some(currency)) => Some(Money { micros, currency }),
        _ => None,
    };
    Ok(TakeRecord {
        id: TakeId(row.uuid("id")?),
        project_id: ProjectId(row.uuid("project_id")?),
        slot: row.get("slot")?,
        file_id: FileId(row.uuid("file_id")?),
        pinned: row.get("pinned")?,
        made_by: row.get::<Option<uuid::Uuid>>("made_by")?.map(UserId),
        task_id: row.get::<Option<uuid::Uuid>>("task_id")?.map(TaskId),
        provider: row.get("provider")?,
        model: row.get("model")?,
        inputs_hash: row.get("inputs_hash")?,
        cost,
        provenance: row.get("provenance")?,
        created_at: row.time("created_at")?,
    })
}

#[async_trait::async_trait]
impl TakeStore for SqlStore {
    async fn insert_take(&self, take: &TakeRecord) -> StoreResult<()> {
        let inserted = self
            .db
            .query(
                "INSERT INTO takes (id, project_id, slot, file_id, pinned, made_by, task_id, provider, model,
                    inputs_hash, cost_micros, currency, provenance, created_at)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
                 WHERE EXISTS (SELECT 1 FROM files WHERE id = $4 AND project_id = $2 AND status = 'ready')",
            )
            .bind(take.id.as_uuid())
            .bind(take.project_id.as_uuid())
            .bind(&take.slot)
            .bind(take.file_id.as_uuid())
            .bind(take.pinned)
            .bind(take.made_by.map(|u| u.as_uuid()))
            .bind(take.task_id.map(|t| t.as_uuid()))
            .bind(&take.provider)
            .bind(&take.model)
            .bind(&take.inputs_hash)
            .bind(take.cost.as_ref().map(|c| c.micros))
            .bind(take.cost.as_ref().map(|c| c.currency.as_str()))
            .bind(Json(&take.provenance))
            .bind(Time(take.created_at))
            .execute()
            .await?;
        if inserted == 0 { Err(crate::StoreError::NotFound) } else { Ok(()) }
    }

    async fn takes(&self, project: ProjectId, slot: Option<&str>) -> StoreResult<Vec<TakeRecord>> {
        let rows = self
            .db
            .query(format!(
                "SELECT {COLUMNS} FROM takes t JOIN files f ON f.id = t.file_id AND f.status = 'ready'
                 WHERE t.project_id = $1 AND ($2 IS NULL OR t.slot = $2)
                 ORDER BY t.created_at DESC, t.id DESC"
            ))
            .bind(project.as_uuid())
            .bind(slot)
            .fetch_all()
            .await?;
        rows.iter().map(take_from_row).collect()
    }

    async fn take(&self, project: ProjectId, id: TakeId) -> StoreResult<Option<TakeRecord>> {
        let row = self
            .db
            .query(format!("SELECT {COLUMNS} FROM takes t WHERE t.id = $1 AND t.project_id = $2"))
            .bind(id.as_uuid())
            .bind(project.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(take_from_row).transpose()
    }

    async fn takes_of_files(&self, project: ProjectId, files: &[FileId]) -> StoreResult<Vec<TakeRecord>> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(format!("SELECT {COLUMNS} FROM takes t WHERE t.project_id = $1 AND t.file_id IN "))
            .bind(project.as_uuid())
            .push_list(files.iter().map(|f| f.as_uuid()))
            .push(" ORDER BY t.created_at DESC, t.id DESC")
            .fetch_all()
            .await?;
        rows.iter().map(take_from_row).collect()
    }

    async fn set_take_pinned(&self, project: ProjectId, id: TakeId, pinned: bool) -> StoreResult<Option<TakeRecord>> {
        let row = self
            .db
            .query(format!("UPDATE takes SET pinned = $1 WHERE id = $2 AND project_id = $3 RETURNING {BARE}"))
            .bind(pinned)
            .bind(id.as_uuid())
            .bind(project.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(take_from_row).transpose()
    }

    async fn delete_take(
        &self,
        project: ProjectId,
        id: TakeId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DeletedTake>> {
        let mut tx = self.db.begin().await?;
        let row = tx
            .query(format!("DELETE FROM takes WHERE id = $1 AND project_id = $2 RETURNING {BARE}"))
            .bind(id.as_uuid())
            .bind(project.as_uuid())
            .fetch_optional()
            .await?;
        let Some(take) = row.as_ref().map(take_from_row).transpose()? else { return Ok(None) };
        // The file goes with its last take; it is locked first, so a take inserted meanwhile
        // for the same bytes either sees it ready (and holds it) or waits and finds it gone.
        tx.lock_row("files", take.file_id.as_uuid()).await?;
        let row = tx
            .query(format!(
                "UPDATE files SET status = 'deleted', updated_at = $1
                 WHERE id = $2 AND status = 'ready' AND NOT EXISTS (SELECT 1 FROM takes WHERE file_id = $2)
                 RETURNING {FILE_COLUMNS}"
            ))
            .bind(Time(now))
            .bind(take.file_id.as_uuid())
            .fetch_optional()
            .await?;
        let file = row.as_ref().map(file_from_row).transpose()?;
        if let Some(file) = &file {
            charge(&mut tx.conn(), file.user_id, -file.file_size, now).await?;
        }
        tx.commit().await?;
        Ok(Some(DeletedTake { take, file }))
    }

    async fn takes_beyond_keep(&self, limit: i64) -> StoreResult<Vec<(TakeRecord, UserId)>> {
        let rows = self
            .db
            .query(format!(
                "SELECT {COLUMNS}, p.user_id AS owner_id FROM (
                    SELECT takes.*, ROW_NUMBER() OVER (
                        PARTITION BY project_id, slot ORDER BY created_at DESC, id DESC) AS place
                    FROM takes WHERE pinned = $1
                 ) t JOIN projects p ON p.id = t.project_id
                 WHERE t.place > p.keep_takes AND p.status <> 'deleted'
                 ORDER BY t.created_at, t.id LIMIT $2"
            ))
            .bind(false)
            .bind(limit)
            .fetch_all()
            .await?;
        rows.iter().map(|row| Ok((take_from_row(row)?, UserId(row.uuid("owner_id")?)))).collect()
    }

    async fn take_file_with_digest(
        &self,
        project: ProjectId,
        kind: FileKind,
        sha256: &str,
    ) -> StoreResult<Option<crate::FileRecord>> {
        let row = self
            .db
            .query(format!(
                "SELECT {F_COLUMNS} FROM files f
                 WHERE f.project_id = $1 AND f.sha256 = $2 AND f.status = 'ready' AND f.file_type = $3
                   AND EXISTS (SELECT 1 FROM takes t WHERE t.file_id = f.id)
                 ORDER BY f.created_at LIMIT 1"
            ))
            .bind(project.as_uuid())
            .bind(sha256)
            .bind(kind.as_str())
            .fetch_optional()
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }
}
