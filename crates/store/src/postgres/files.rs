use super::PostgresStore;
use crate::files::{FileRecord, FileStore, KindUsage, Reservations, UploadPart, Usage};
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{FileId, FileKind, FileStatus, ProjectId, UserId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

const COLUMNS: &str = "f.id, f.user_id, f.project_id, f.file_type, f.file_name, f.content_type, f.file_size, \
    f.sha256, f.storage_key, f.status, f.created_at, f.updated_at, f.expires_at";

fn file_from_row(row: &PgRow) -> StoreResult<FileRecord> {
    let kind: String = row.try_get("file_type")?;
    let status: String = row.try_get("status")?;
    Ok(FileRecord {
        id: FileId(row.try_get::<Uuid, _>("id")?),
        user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        project_id: row.try_get::<Option<Uuid>, _>("project_id")?.map(ProjectId),
        kind: FileKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.message))?,
        file_name: row.try_get("file_name")?,
        content_type: row.try_get("content_type")?,
        file_size: row.try_get("file_size")?,
        sha256: row.try_get("sha256")?,
        storage_key: row.try_get("storage_key")?,
        status: FileStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("file status {status}")))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// Adds `bytes` to the user's usage if it fits the quota (a negative amount refunds).
async fn charge(conn: &mut PgConnection, user: UserId, bytes: i64, now: DateTime<Utc>) -> StoreResult<()> {
    let done = sqlx::query(
        "UPDATE users SET quota_used = GREATEST(quota_used + $1, 0), updated_at = $2
         WHERE id = $3 AND ($1 <= 0 OR quota_used + $1 <= quota_total)",
    )
    .bind(bytes)
    .bind(now)
    .bind(user.as_uuid())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 { Err(StoreError::QuotaExceeded) } else { Ok(()) }
}

fn reservations(row: &sqlx::postgres::PgRow) -> StoreResult<Reservations> {
    Ok(Reservations {
        total: row.try_get("quota_total")?,
        used: row.try_get("quota_used")?,
        pending: row.try_get("pending")?,
        reserved: row.try_get("reserved")?,
    })
}

const INSERT_COLUMNS: &str = "INSERT INTO files (id, user_id, project_id, file_type, file_name, content_type,
    file_size, sha256, storage_key, status, created_at, updated_at, expires_at)";

/// Binds a file's columns in `INSERT_COLUMNS` order, as `$1`…`$13`.
fn bind_file<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    file: &'q FileRecord,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
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
        .bind(file.created_at)
        .bind(file.updated_at)
        .bind(file.expires_at)
}

async fn insert(conn: &mut PgConnection, file: &FileRecord) -> StoreResult<()> {
    let sql = format!("{INSERT_COLUMNS} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
    bind_file(sqlx::query(&sql), file).execute(&mut *conn).await?;
    Ok(())
}

#[async_trait::async_trait]
impl FileStore for PostgresStore {
    async fn create_pending_file(&self, file: &FileRecord, max_pending: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        // The owner's row lock: concurrent reservations of one user queue here. The sums are read
        // by a statement of their own, after the lock, so they see what the queue ahead committed.
        sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
            .bind(file.user_id.as_uuid())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "SELECT u.quota_total, u.quota_used,
                    (SELECT COUNT(*) FROM files f WHERE f.user_id = u.id AND f.status = 'pending' AND (f.expires_at IS NULL OR f.expires_at > $2)) AS pending,
                    (SELECT COALESCE(SUM(f.file_size), 0)::BIGINT FROM files f
                      WHERE f.user_id = u.id AND f.status = 'pending' AND (f.expires_at IS NULL OR f.expires_at > $2)) AS reserved
             FROM users u WHERE u.id = $1",
        )
        .bind(file.user_id.as_uuid())
        .bind(file.created_at)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        reservations(&row)?.admit(file.file_size, max_pending)?;
        insert(&mut tx, file).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_ready_file(&self, file: &FileRecord) -> StoreResult<()> {
        // One statement charges the owner and inserts the row (over the quota: neither), so the
        // owner's row — which every file of theirs queues on — is locked only while it runs, not
        // for a round trip to the client and back as a transaction's COMMIT would.
        let sql = format!(
            "WITH charged AS (
                UPDATE users SET quota_used = GREATEST(quota_used + $7, 0), updated_at = $12
                 WHERE id = $2 AND ($7 <= 0 OR quota_used + $7 <= quota_total) RETURNING id)
             {INSERT_COLUMNS} SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM charged"
        );
        let done = bind_file(sqlx::query(&sql), file).execute(&self.pool).await?;
        if done.rows_affected() == 0 { Err(StoreError::QuotaExceeded) } else { Ok(()) }
    }

    async fn complete_file(&self, id: FileId, size: i64, sha256: &str, now: DateTime<Utc>) -> StoreResult<FileRecord> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE files AS f SET status = 'ready', file_size = $1, sha256 = $2, updated_at = $3, expires_at = NULL
             WHERE f.id = $4 AND f.status = 'pending' RETURNING {COLUMNS}"
        ))
        .bind(size)
        .bind(sha256)
        .bind(now)
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let file = file_from_row(&row)?;
        charge(&mut tx, file.user_id, size, now).await?;
        tx.commit().await?;
        Ok(file)
    }

    async fn file_for(&self, id: FileId, user: UserId) -> StoreResult<Option<FileRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM files f LEFT JOIN projects p ON p.id = f.project_id
             WHERE f.id = $1 AND f.status <> 'deleted' AND (f.user_id = $2 OR p.user_id = $2
               OR (p.status <> 'deleted' AND EXISTS (
                   SELECT 1 FROM project_members m WHERE m.project_id = f.project_id AND m.user_id = $2)))"
        ))
        .bind(id.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn file_by_id(&self, id: FileId) -> StoreResult<Option<FileRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM files f WHERE f.id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(file_from_row).transpose()
    }

    async fn ready_files(&self, ids: &[FileId]) -> StoreResult<Vec<FileRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
            "SELECT {COLUMNS} FROM files f WHERE f.status = 'ready' AND f.id IN ("
        ));
        let mut ids_list = query.separated(", ");
        for id in ids {
            ids_list.push_bind(id.as_uuid());
        }
        query.push(")");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn ready_files_of_project(&self, project: ProjectId, ids: &[FileId]) -> StoreResult<Vec<FileRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!(
            "SELECT {COLUMNS} FROM files f WHERE f.status = 'ready' AND f.project_id = "
        ));
        query.push_bind(project.as_uuid()).push(" AND f.id IN (");
        let mut ids_list = query.separated(", ");
        for id in ids {
            ids_list.push_bind(id.as_uuid());
        }
        query.push(")");
        let rows = query.build().fetch_all(&self.pool).await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn delete_file(&self, id: FileId, now: DateTime<Utc>) -> StoreResult<Option<FileRecord>> {
        let mut tx = self.pool.begin().await?;
        // FOR UPDATE: a concurrent delete waits, then finds the file deleted and refunds nothing.
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM files f WHERE f.id = $1 AND f.status <> 'deleted' FOR UPDATE"))
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(file) = row.as_ref().map(file_from_row).transpose()? else { return Ok(None) };
        sqlx::query("UPDATE files SET status = 'deleted', updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await?;
        if file.status == FileStatus::Ready {
            charge(&mut tx, file.user_id, -file.file_size, now).await?;
        }
        tx.commit().await?;
        Ok(Some(file))
    }

    async fn usage(&self, user: UserId) -> StoreResult<Usage> {
        let totals = sqlx::query("SELECT quota_total, quota_used FROM users WHERE id = $1")
            .bind(user.as_uuid())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let rows = sqlx::query(
            "SELECT file_type, SUM(file_size)::BIGINT AS bytes, COUNT(*) AS files FROM files
             WHERE user_id = $1 AND status = 'ready' GROUP BY file_type ORDER BY file_type",
        )
        .bind(user.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        let by_kind = rows
            .iter()
            .map(|r| {
                Ok(KindUsage { kind: r.try_get("file_type")?, bytes: r.try_get("bytes")?, files: r.try_get("files")? })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Usage { total: totals.try_get("quota_total")?, used: totals.try_get("quota_used")?, by_kind })
    }

    async fn set_multipart(&self, id: FileId, upload_id: &str, part_size: i64) -> StoreResult<()> {
        sqlx::query("UPDATE files SET upload_id = $1, part_size = $2 WHERE id = $3 AND status = 'pending'")
            .bind(upload_id)
            .bind(part_size)
            .bind(id.as_uuid())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn multipart_of(&self, id: FileId) -> StoreResult<Option<(String, i64)>> {
        let row = sqlx::query(
            "SELECT upload_id, part_size FROM files WHERE id = $1 AND status = 'pending' AND upload_id IS NOT NULL",
        )
        .bind(id.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((r.try_get("upload_id")?, r.try_get("part_size")?))).transpose()
    }

    async fn record_part(&self, id: FileId, part: &UploadPart, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO upload_parts (file_id, part_number, size, etag, created_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (file_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag,
             created_at = excluded.created_at",
        )
        .bind(id.as_uuid())
        .bind(part.part_number)
        .bind(part.size)
        .bind(&part.etag)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn files_to_clean(
        &self,
        now: DateTime<Utc>,
        purge_before: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<FileRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM files f WHERE f.status <> 'deleted' AND (f.expires_at < $1
               OR f.project_id IN (SELECT id FROM projects WHERE status = 'deleted' AND deleted_at < $2))
             ORDER BY f.created_at LIMIT $3"
        ))
        .bind(now)
        .bind(purge_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(file_from_row).collect()
    }

    async fn live_file_keys(&self) -> StoreResult<Vec<(String, FileStatus)>> {
        let rows = sqlx::query("SELECT storage_key, status FROM files WHERE status <> 'deleted'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let status: String = r.try_get("status")?;
                let status =
                    FileStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("file status {status}")))?;
                Ok((r.try_get("storage_key")?, status))
            })
            .collect()
    }

    async fn parts(&self, id: FileId) -> StoreResult<Vec<UploadPart>> {
        let rows =
            sqlx::query("SELECT part_number, size, etag FROM upload_parts WHERE file_id = $1 ORDER BY part_number")
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(UploadPart {
                    part_number: r.try_get("part_number")?,
                    size: r.try_get("size")?,
                    etag: r.try_get("etag")?,
                })
            })
            .collect()
    }

    async fn recompute_quota(&self, user: UserId) -> StoreResult<(i64, i64)> {
        let mut tx = self.pool.begin().await?;
        let before: i64 = sqlx::query("SELECT quota_used FROM users WHERE id = $1 FOR UPDATE")
            .bind(user.as_uuid())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get(0)?;
        let after: i64 = sqlx::query(
            "UPDATE users SET quota_used = (SELECT COALESCE(SUM(file_size), 0) FROM files
               WHERE user_id = $1 AND status = 'ready') WHERE id = $1 RETURNING quota_used",
        )
        .bind(user.as_uuid())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        tx.commit().await?;
        Ok((before, after))
    }
}
