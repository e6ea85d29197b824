use super::SqlStore;
use crate::db::{Conn, Query, Row, Time};
use crate::files::{FileRecord, FileStore, KindUsage, Reservations, UploadPart, Usage};
use crate::{Engine, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind, FileStatus, ProjectId, UserId};

/// The columns of a file, bare so they serve in `RETURNING` (which SQLite wants unqualified) as
/// well as in a `SELECT` from `files` alone.
pub(super) const COLUMNS: &str = "id, user_id, project_id, file_type, file_name, content_type, file_size, sha256, storage_key, \
    status, created_at, updated_at, expires_at";
/// The same, qualified for queries that join other tables.
pub(super) const F_COLUMNS: &str = "f.id, f.user_id, f.project_id, f.file_type, f.file_name, f.content_type, f.file_size, \
    f.sha256, f.storage_key, f.status, f.created_at, f.updated_at, f.expires_at";

pub(super) fn file_from_row(row: &Row) -> StoreResult<FileRecord> {
    let kind: String = row.get("file_type")?;
    Ok(FileRecord {
        id: FileId(row.uuid("id")?),
        user_id: UserId(row.uuid("user_id")?),
        project_id: row.get::<Option<uuid::Uuid>>("project_id")?.map(ProjectId),
        kind: FileKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.message))?,
        file_name: row.get("file_name")?,
        content_type: row.get("content_type")?,
        file_size: row.get("file_size")?,
        sha256: row.get("sha256")?,
        storage_key: row.get("storage_key")?,
        status: row.parsed("status", FileStatus::parse)?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        expires_at: row.opt_time("expires_at")?,
    })
}

/// Adds `bytes` to the usage of `user` if it fits the quota (a negative amount refunds, never
/// below zero), updated at `now`; each argument is the placeholder that carries it.
fn charge_sql(bytes: &str, now: &str, user: &str) -> String {
    format!(
        "UPDATE users SET updated_at = {now},
            quota_used = CASE WHEN quota_used + {bytes} < 0 THEN 0 ELSE quota_used + {bytes} END
         WHERE id = {user} AND ({bytes} <= 0 OR quota_used + {bytes} <= quota_total)"
    )
}

pub(super) async fn charge(conn: &mut Conn<'_>, user: UserId, bytes: i64, now: DateTime<Utc>) -> StoreResult<()> {
    let charged =
        conn.query(charge_sql("$1", "$2", "$3")).bind(bytes).bind(Time(now)).bind(user.as_uuid()).execute().await?;
    if charged == 0 { Err(StoreError::QuotaExceeded) } else { Ok(()) }
}

const INSERT: &str = "INSERT INTO files (id, user_id, project_id, file_type, file_name, content_type, file_size, \
    sha256, storage_key, status, created_at, updated_at, expires_at)";

/// Binds a file's columns in [`INSERT`] order, as the next thirteen arguments.
fn bind_file<'q, 'c>(query: Query<'q, 'c>, file: &'q FileRecord) -> Query<'q, 'c> {
    query
        .bind(file.id.as_uuid())
        .bind(file.user_id.as_uuid())
        .bind(file.project_id.map(|p| p.as_uuid()))
        .bind(file.kind.as_str())
        .bind(&file.file_name)
        .bind(&file.content_type)
        .bind(file.file_size)
        .bind(&file.sha256)
        .bind(&file.storage_key)
        .bind(file.status.as_str())
        .bind(Time(file.created_at))
        .bind(Time(file.updated_at))
        .bind(file.expires_at.map(Time))
}

async fn insert(conn: &mut Conn<'_>, file: &FileRecord) -> StoreResult<()> {
    let sql = format!("{INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
    bind_file(conn.query(sql), file).execute().await?;
    Ok(())
}

impl SqlStore {
    /// Inserts a ready file and charges its owner, both or neither. PostgreSQL does it in one
    /// statement (a data-modifying CTE, which SQLite does not have), so the owner's row — which
    /// every file of theirs queues on — is locked only while it runs, not for a round trip to
    /// COMMIT. SQLite has a single writer anyway: a transaction of two statements.
    async fn insert_and_charge(&self, file: &FileRecord) -> StoreResult<()> {
        match self.db.engine() {
            Engine::Postgres => {
                // The charge reads bind_file's arguments: $7 the size, $12 the time, $2 the owner.
                let sql = format!(
                    "WITH charged AS ({} RETURNING id)
                     {INSERT} SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM charged",
                    charge_sql("$7", "$12", "$2")
                );
                let inserted = bind_file(self.db.query(sql), file).execute().await?;
                if inserted == 0 { Err(StoreError::QuotaExceeded) } else { Ok(()) }
            }
            Engine::Sqlite => {
                let mut tx = self.db.begin().await?;
                insert(&mut tx.conn(), file).await?;
                charge(&mut tx.conn(), file.user_id, file.file_size, file.updated_at).await?;
                tx.commit().await
            }
        }
    }
}

#[async_trait::async_trait]
impl FileStore for SqlStore {
    async fn create_pending_file(&self, file: &FileRecord, max_pending: i64) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        // Concurrent reservations of one user queue on the owner's lock. The sums are read by a
        // statement of their own, after the lock, so they see what the queue ahead committed.
        tx.lock_row("users", file.user_id.as_uuid()).await?;
        let row = tx
            .query(
                "SELECT u.quota_total, u.quota_used,
                    (SELECT COUNT(*) FROM files f WHERE f.user_id = u.id AND f.status = 'pending'
                       AND (f.expires_at IS NULL OR f.expires_at > $2)) AS pending,
                    (SELECT CAST(COALESCE(SUM(f.file_size), 0) AS BIGINT) FROM files f WHERE f.user_id = u.id
                       AND f.status = 'pending' AND (f.expires_at IS NULL OR f.expires_at > $2)) AS reserved
                 FROM users u WHERE u.id = $1",
            )
            .bind(file.user_id.as_uuid())
            .bind(Time(file.created_at))
            .fetch_optional()
            .await?
            .ok_or(StoreError::NotFound)?;
        let reservations = Reservations {
            total: row.get("quota_total")?,
            used: row.get("quota_used")?,
            pending: row.get("pending")?,
            reserved: row.get("reserved")?,
        };
        reservations.admit(file.file_size, max_pending)?;
        insert(&mut tx.conn(), file).await?;
        tx.commit().await
    }

    async fn insert_ready_file(&self, file: &FileRecord) -> StoreResult<()> {
        self.insert_and_charge(file).await
    }

    async fn complete_file(&self, id: FileId, size: i64, sha256: &str, now: DateTime<Utc>) -> StoreResult<FileRecord> {
        let mut tx = self.db.begin().await?;
        let row = tx
            .query(format!(
                "UPDATE files SET status = 'ready', file_size = $1, sha256 = $2, updated_at = $3, expires_at = NULL
                 WHERE id = $4 AND status = 'pending' RETURNING {COLUMNS}"
            ))
            .bind(size)
            .bind(sha256)
            .bind(Time(now))
            .bind(id.as_uuid())
            .fetch_optional()
            .await?
            .ok_or(StoreError::NotFound)?;
        let file = file_from_row(&row)?;
        charge(&mut tx.conn(), file.user_id, size, now).await?;
        tx.commit().await?;
        Ok(file)
    }

    async fn file_for(&self, id: FileId, user: UserId) -> StoreResult<Option<FileRecord>> {
        let row = self
            .db
            .query(format!(
                "SELECT {F_COLUMNS} FROM files f LEFT JOIN projects p ON p.id = f.project_id
                 WHERE f.id = $1 AND f.status <> 'deleted' AND (f.user_id = $2 OR p.user_id = $2
                   OR (p.status <> 'deleted' AND EXISTS (
                       SELECT 1 FROM project_members m WHERE m.project_id = f.project_id AND m.user_id = $2)))"
            ))
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn file_by_id(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
        let row = self
            .db
            .query(format!("SELECT {COLUMNS} FROM files WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn ready_files(&self, ids: &[FileId]) -> StoreResult<Vec<FileRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(format!("SELECT {COLUMNS} FROM files WHERE status = 'ready' AND id IN "))
            .push_list(ids.iter().map(|id| id.as_uuid()))
            .fetch_all()
            .await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn ready_files_of_project(&self, project: ProjectId, ids: &[FileId]) -> StoreResult<Vec<FileRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .db
            .query(format!("SELECT {COLUMNS} FROM files WHERE status = 'ready' AND project_id = $1 AND id IN "))
            .bind(project.as_uuid())
            .push_list(ids.iter().map(|id| id.as_uuid()))
            .fetch_all()
            .await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn delete_file(&self, id: FileId, now: DateTime<Utc>) -> StoreResult<Option<FileRecord>> {
        let mut tx = self.db.begin().await?;
        // Read under the file's lock, so a concurrent delete waits, then finds the file deleted
        // and refunds nothing.
        tx.lock_row("files", id.as_uuid()).await?;
        let row = tx
            .query(format!("SELECT {COLUMNS} FROM files WHERE id = $1 AND status <> 'deleted'"))
            .bind(id.as_uuid())
            .fetch_optional()
            .await?;
        let Some(file) = row.as_ref().map(file_from_row).transpose()? else { return Ok(None) };
        tx.query("UPDATE files SET status = 'deleted', updated_at = $1 WHERE id = $2")
            .bind(Time(now))
            .bind(id.as_uuid())
            .execute()
            .await?;
        if file.status == FileStatus::Ready {
            charge(&mut tx.conn(), file.user_id, -file.file_size, now).await?;
        }
        tx.commit().await?;
        Ok(Some(file))
    }

    async fn usage(&self, user: UserId) -> StoreResult<Usage> {
        let totals = self
            .db
            .query("SELECT quota_total, quota_used FROM users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional()
            .await?
            .ok_or(StoreError::NotFound)?;
        let rows = self
            .db
            .query(
                "SELECT file_type, CAST(SUM(file_size) AS BIGINT) AS bytes, COUNT(*) AS files FROM files
                 WHERE user_id = $1 AND status = 'ready' GROUP BY file_type ORDER BY file_type",
            )
            .bind(user.as_uuid())
            .fetch_all()
            .await?;
        let by_kind = rows
            .iter()
            .map(|r| Ok(KindUsage { kind: r.get("file_type")?, bytes: r.get("bytes")?, files: r.get("files")? }))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Usage { total: totals.get("quota_total")?, used: totals.get("quota_used")?, by_kind })
    }

    async fn set_multipart(&self, id: FileId, upload_id: &str, part_size: i64) -> StoreResult<()> {
        self.db
            .query("UPDATE files SET upload_id = $1, part_size = $2 WHERE id = $3 AND status = 'pending'")
            .bind(upload_id)
            .bind(part_size)
            .bind(id.as_uuid())
            .execute()
            .await?;
        Ok(())
    }

    async fn multipart_of(&self, id: FileId) -> StoreResult<Option<(String, i64)>> {
        let row = self
            .db
            .query(
                "SELECT upload_id, part_size FROM files WHERE id = $1 AND status = 'pending' AND upload_id IS NOT NULL",
            )
            .bind(id.as_uuid())
            .fetch_optional()
            .await?;
        row.map(|r| Ok((r.get("upload_id")?, r.get("part_size")?))).transpose()
    }

    async fn record_part(&self, id: FileId, part: &UploadPart, now: DateTime<Utc>) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO upload_parts (file_id, part_number, size, etag, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (file_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
                 created_at = excluded.created_at",
            )
            .bind(id.as_uuid())
            .bind(part.part_number)
            .bind(part.size)
            .bind(&part.etag)
            .bind(Time(now))
            .execute()
            .await?;
        Ok(())
    }

    async fn files_to_clean(
        &self,
        now: DateTime<Utc>,
        purge_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<FileRecord>> {
        let rows = self
            .db
            .query(format!(
                "SELECT {COLUMNS} FROM files WHERE status <> 'deleted' AND (expires_at < $1
                   OR project_id IN (SELECT id FROM projects WHERE status = 'deleted' AND deleted_at < $2))
                 ORDER BY created_at LIMIT $3"
            ))
            .bind(Time(now))
            .bind(Time(purge_before))
            .bind(limit)
            .fetch_all()
            .await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn live_file_keys(&self) -> StoreResult<Vec<(String, FileStatus)>> {
        let rows = self.db.query("SELECT storage_key, status FROM files WHERE status <> 'deleted'").fetch_all().await?;
        rows.iter().map(|r| Ok((r.get("storage_key")?, r.parsed("status", FileStatus::parse)?))).collect()
    }

    async fn parts(&self, id: FileId) -> StoreResult<Vec<UploadPart>> {
        let rows = self
            .db
            .query("SELECT part_number, size, etag FROM upload_parts WHERE file_id = $1 ORDER BY part_number")
            .bind(id.as_uuid())
            .fetch_all()
            .await?;
        rows.iter()
            .map(|r| Ok(UploadPart { part_number: r.get("part_number")?, size: r.get("size")?, etag: r.get("etag")? }))
            .collect()
    }

    async fn recompute_quota(&self, user: UserId) -> StoreResult<(i64, i64)> {
        let mut tx = self.db.begin().await?;
        if !tx.lock_row("users", user.as_uuid()).await? {
            return Err(StoreError::NotFound);
        }
        let before: i64 = tx
            .query("SELECT quota_used FROM users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_one()
            .await?
            .get("quota_used")?;
        let after: i64 = tx
            .query(
                "UPDATE users SET quota_used = (SELECT COALESCE(SUM(file_size), 0) FROM files
                   WHERE user_id = $1 AND status = 'ready') WHERE id = $1 RETURNING quota_used",
            )
            .bind(user.as_uuid())
            .fetch_one()
            .await?
            .get("quota_used")?;
        tx.commit().await?;
        Ok((before, after))
    }
}
