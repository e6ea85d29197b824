use super::{SqliteStore, from_millis, millis};
use crate::tasks::{
    BatchTally, ClaimRequest, Completion, NewTask, Outcome, QueueStat, TaskQuery, TaskRecord, TaskStatus, TaskStore,
};
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use serde_json::Value;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

const COLUMNS: &str = "id, user_id, project_id, parent_id, task_type, status, priority, payload, result, progress, \
    progress_message, error_code, error_message, attempts, max_attempts, run_at, locked_by, locked_until, provider, \
    provider_job_id, idempotency_key, cancel_requested, created_at, updated_at";

fn json(text: String) -> StoreResult<Value> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("task JSON: {e}")))
}

fn task_from_row(row: &SqliteRow) -> StoreResult<TaskRecord> {
    let status: String = row.try_get("status")?;
    Ok(TaskRecord {
        id: TaskId(row.try_get::<Uuid, _>("id")?),
        user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        project_id: row.try_get::<Option<Uuid>, _>("project_id")?.map(ProjectId),
        parent_id: row.try_get::<Option<Uuid>, _>("parent_id")?.map(TaskId),
        task_type: row.try_get("task_type")?,
        status: TaskStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("task status {status}")))?,
        priority: row.try_get("priority")?,
        payload: json(row.try_get("payload")?)?,
        result: row.try_get::<Option<String>, _>("result")?.map(json).transpose()?,
        progress: row.try_get("progress")?,
        progress_message: row.try_get("progress_message")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: from_millis(row.try_get("run_at")?),
        locked_by: row.try_get("locked_by")?,
        locked_until: row.try_get::<Option<i64>, _>("locked_until")?.map(from_millis),
        provider: row.try_get("provider")?,
        provider_job_id: row.try_get("provider_job_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        cancel_requested: row.try_get("cancel_requested")?,
        created_at: from_millis(row.try_get("created_at")?),
        updated_at: from_millis(row.try_get("updated_at")?),
    })
}

/// The columns, qualified for queries that join other tables.
fn qualified() -> String {
    COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
}

/// The attempt that holds the lease: `?1` task, `?2` worker, `?3` attempt.
const HOLDS_LEASE: &str = "id = ?1 AND status = 'running' AND locked_by = ?2 AND attempts = ?3";

/// Inserts a task unless its user already used its idempotency key (then `None`).
pub(super) async fn insert_task(conn: &mut SqliteConnection, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO tasks (id, user_id, project_id, parent_id, task_type, status, priority, payload, max_attempts,
                idempotency_key, run_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?9, ?10, ?11, ?11)
             ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(task.id.as_uuid())
    .bind(task.user_id.as_uuid())
    .bind(task.project_id.map(|p| p.as_uuid()))
    .bind(task.parent_id.map(|p| p.as_uuid()))
    .bind(&task.task_type)
    .bind(task.priority)
    .bind(task.payload.to_string())
    .bind(task.max_attempts)
    .bind(&task.idempotency_key)
    .bind(millis(task.run_at))
    .bind(millis(task.now))
    .fetch_optional(&mut *conn)
    .await?;
    inserted.as_ref().map(task_from_row).transpose()
}

/// The user's task enqueued before under `task`'s idempotency key.
pub(super) async fn task_by_key(conn: &mut SqliteConnection, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    if task.idempotency_key.is_none() {
        return Ok(None);
    }
    let existing = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE user_id = ?1 AND idempotency_key = ?2"))
        .bind(task.user_id.as_uuid())
        .bind(&task.idempotency_key)
        .fetch_optional(&mut *conn)
        .await?;
    existing.as_ref().map(task_from_row).transpose()
}

/// Claims the next runnable task on `conn` (see [`TaskStore::claim`]).
async fn claim_one(conn: &mut SqliteConnection, request: &ClaimRequest) -> StoreResult<Option<TaskRecord>> {
    // Each branch walks a partial index in claim order and stops at the first row it may take,
    // so a claim costs the same with ten tasks queued or a million. A task whose lease lapsed
    // (its worker died) is rescued first; otherwise the next pending one, unless its user is
    // at the running cap.
    let types = serde_json::to_string(&request.task_types).unwrap_or_else(|_| "[]".into());
    let query = format!(
        "UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = ?1, locked_until = ?2,
            started_at = COALESCE(started_at, ?3), updated_at = ?3
         WHERE id = COALESCE(
            (SELECT t.id FROM tasks t
              WHERE t.status = 'running' AND t.locked_until < ?3
                AND t.task_type IN (SELECT value FROM json_each(?4))
                AND NOT t.cancel_requested AND t.attempts < t.max_attempts
              ORDER BY t.locked_until LIMIT 1),
            (SELECT t.id FROM tasks t
              WHERE t.status = 'pending' AND t.run_at <= ?3
                AND t.task_type IN (SELECT value FROM json_each(?4))
                AND NOT t.cancel_requested AND t.attempts < t.max_attempts
                AND (SELECT COUNT(*) FROM tasks r WHERE r.status = 'running' AND r.user_id = t.user_id
                      AND r.locked_until >= ?3) < ?5
              ORDER BY t.priority DESC, t.run_at, t.id LIMIT 1))
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&query)
        .bind(&request.worker)
        .bind(millis(request.lease_until))
        .bind(millis(request.now))
        .bind(types)
        .bind(request.per_user_running)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(task_from_row).transpose()
}

#[async_trait::async_trait]
impl TaskStore for SqliteStore {
    async fn enqueue(&self, task: &NewTask) -> StoreResult<(TaskRecord, bool)> {
        let mut conn = self.pool.acquire().await?;
        if let Some(created) = insert_task(&mut conn, task).await? {
            return Ok((created, true));
        }
        let existing = task_by_key(&mut conn, task).await?.ok_or(StoreError::NotFound)?;
        Ok((existing, false))
    }

    async fn claim_many(&self, request: &ClaimRequest, limit: u32) -> StoreResult<Vec<TaskRecord>> {
        // SQLite has one writer: a batch is claimed row by row inside one transaction, so it costs
        // one commit instead of one per task.
        if limit <= 1 {
            return Ok(claim_one(&mut *self.pool.acquire().await?, request).await?.into_iter().collect());
        }
        let mut tx = self.pool.begin().await?;
        let mut claimed = Vec::new();
        while claimed.len() < limit as usize {
            match claim_one(&mut tx, request).await? {
                Some(task) => claimed.push(task),
                None => break,
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    async fn heartbeat(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        lease_until: DateTime<Utc>,
        progress: Option<(i32, &str)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET locked_until = ?4, progress = COALESCE(?5, progress),
                progress_message = COALESCE(?6, progress_message), updated_at = ?7
             WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(millis(lease_until))
        .bind(progress.map(|(p, _)| p.clamp(0, 100)))
        .bind(progress.map(|(_, m)| m))
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn hand_back(&self, id: TaskId, worker: &str, attempt: i32, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET status = 'pending', attempts = attempts - 1, locked_by = NULL, locked_until = NULL,
                run_at = ?4, updated_at = ?4 WHERE {HOLDS_LEASE}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_provider_job(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        provider: &str,
        job_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET provider = ?4, provider_job_id = ?5, updated_at = ?6 WHERE {HOLDS_LEASE}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(provider)
        .bind(job_id)
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn finish(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>> {
        let released = "locked_by = NULL, locked_until = NULL, updated_at = ?4";
        let row = match outcome {
            Outcome::Completed(result) => sqlx::query(&format!(
                "UPDATE tasks SET status = 'completed', result = ?5, progress = 100, finished_at = ?4,
                    error_code = NULL, error_message = NULL, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(millis(now))
            .bind(result.to_string())
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Retry { run_at, code, message } => sqlx::query(&format!(
                "UPDATE tasks SET status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
                    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE ?4 END,
                    run_at = ?5, error_code = ?6, error_message = ?7, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(millis(now))
            .bind(millis(run_at))
            .bind(code)
            .bind(message)
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Failed { code, message } => sqlx::query(&format!(
                "UPDATE tasks SET status = 'failed', finished_at = ?4, error_code = ?5, error_message = ?6, {released}
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(millis(now))
            .bind(code)
            .bind(message)
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Cancelled => sqlx::query(&format!(
                "UPDATE tasks SET status = 'cancelled', finished_at = ?4, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(millis(now))
            .fetch_optional(&self.pool)
            .await?,
        };
        row.as_ref().map(task_from_row).transpose()
    }

    async fn complete_many(&self, done: &[Completion], now: DateTime<Utc>) -> StoreResult<Vec<TaskRecord>> {
        // One transaction, one commit, under SQLite's single writer (a single row needs none).
        if let [item] = done {
            let outcome = Outcome::Completed(item.result.clone());
            return Ok(self.finish(item.id, &item.worker, item.attempt, outcome, now).await?.into_iter().collect());
        }
        let mut tx = self.pool.begin().await?;
        let mut completed = Vec::with_capacity(done.len());
        for item in done {
            let row = sqlx::query(&format!(
                "UPDATE tasks SET status = 'completed', result = ?5, progress = 100, finished_at = ?4,
                    error_code = NULL, error_message = NULL, locked_by = NULL, locked_until = NULL, updated_at = ?4
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(item.id.as_uuid())
            .bind(&item.worker)
            .bind(item.attempt)
            .bind(millis(now))
            .bind(item.result.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            completed.extend(row.as_ref().map(task_from_row).transpose()?);
        }
        tx.commit().await?;
        Ok(completed)
    }

    async fn request_cancel(&self, id: TaskId, now: DateTime<Utc>) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET cancel_requested = 1, updated_at = ?2,
                status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status = 'pending' THEN ?2 ELSE finished_at END
             WHERE id = ?1 AND status IN ('pending', 'running') RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task(&self, id: TaskId) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task_for(&self, id: TaskId, user: UserId) -> StoreResult<Option<TaskRecord>> {
        let visible = "(t.user_id = ?2 OR p.user_id = ?2 OR (p.status <> 'deleted' AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = t.project_id AND m.user_id = ?2)))";
        let row = sqlx::query(&format!(
            "SELECT {} FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = ?1 AND {visible}",
            qualified()
        ))
        .bind(id.as_uuid())
        .bind(user.as_uuid())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn list_tasks(&self, query: &TaskQuery) -> StoreResult<(Vec<TaskRecord>, i64)> {
        let user = query.user.as_uuid();
        let mut select = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {}, COUNT(*) OVER () AS total FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE (t.user_id = ",
            qualified()
        ));
        select.push_bind(user).push(" OR p.user_id = ").push_bind(user);
        select.push(" OR (p.status <> 'deleted' AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = t.project_id AND m.user_id = ");
        select.push_bind(user).push(")))");
        if let Some(project) = query.project {
            select.push(" AND t.project_id = ").push_bind(project.as_uuid());
        }
        if let Some(status) = query.status {
            select.push(" AND t.status = ").push_bind(status.as_str());
        }
        if let Some(task_type) = &query.task_type {
            select.push(" AND t.task_type = ").push_bind(task_type.clone());
        }
        if let Some(since) = query.updated_since {
            select.push(" AND t.updated_at >= ").push_bind(millis(since));
        }
        select.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ").push_bind(i64::from(query.size));
        select.push(" OFFSET ").push_bind(i64::from(query.page.saturating_sub(1)) * i64::from(query.size));
        let rows = select.build().fetch_all(&self.pool).await?;
        let total = match rows.first() {
            Some(row) => row.try_get("total")?,
            None => 0,
        };
        let tasks = rows.iter().map(task_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((tasks, total))
    }

    async fn retry_task(&self, id: TaskId, now: DateTime<Utc>) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET status = 'pending', attempts = 0, run_at = ?2, error_code = NULL, error_message = NULL,
                cancel_requested = 0, finished_at = NULL, progress = 0, progress_message = NULL, updated_at = ?2
             WHERE id = ?1 AND status = 'failed' RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(millis(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }
    async fn children(&self, parent: TaskId) -> StoreResult<Vec<TaskRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE parent_id = ?1 ORDER BY created_at, id"))
            .bind(parent.as_uuid())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn batch_tally(&self, parent: TaskId) -> StoreResult<BatchTally> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS completed,
                    COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS failed,
                    COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS cancelled,
                    COALESCE(SUM(CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN 100 ELSE progress END), 0)
                        AS progress_sum
             FROM tasks WHERE parent_id = ?1",
        )
        .bind(parent.as_uuid())
        .fetch_one(&self.pool)
        .await?;
        Ok(BatchTally {
            total: row.try_get("total")?,
            completed: row.try_get("completed")?,
            failed: row.try_get("failed")?,
            cancelled: row.try_get("cancelled")?,
            progress_sum: row.try_get("progress_sum")?,
        })
    }

    async fn queue_ahead(&self, task: &TaskRecord) -> StoreResult<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS ahead FROM tasks
             WHERE task_type = ?1 AND id <> ?2
               AND (status = 'running'
                    OR (status = 'pending' AND (priority > ?3 OR (priority = ?3 AND created_at < ?4))))",
        )
        .bind(&task.task_type)
        .bind(task.id.as_uuid())
        .bind(task.priority)
        .bind(millis(task.created_at))
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("ahead")?)
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStat>> {
        let rows = sqlx::query(
            "SELECT task_type,
                    COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                    COUNT(*) FILTER (WHERE status = 'pending' AND run_at <= ?1) AS due,
                    COUNT(*) FILTER (WHERE status = 'running') AS running,
                    MIN(run_at) FILTER (WHERE status = 'pending' AND run_at <= ?1) AS oldest_due
             FROM tasks WHERE status IN ('pending', 'running')
             GROUP BY task_type ORDER BY task_type",
        )
        .bind(millis(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueStat {
                    task_type: row.try_get("task_type")?,
                    pending: row.try_get("pending")?,
                    due: row.try_get("due")?,
                    running: row.try_get("running")?,
                    oldest_due: row.try_get::<Option<i64>, _>("oldest_due")?.map(from_millis),
                })
            })
            .collect()
    }

    async fn prune_tasks(&self, finished_before: DateTime<Utc>, failed_before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM tasks WHERE (status IN ('completed', 'cancelled') AND updated_at < ?1)
                OR (status = 'failed' AND updated_at < ?2)",
        )
        .bind(millis(finished_before))
        .bind(millis(failed_before))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn settle_batch(
        &self,
        id: TaskId,
        progress: i32,
        message: &str,
        result: Option<Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET status = CASE WHEN ?4 IS NULL THEN 'running' ELSE 'completed' END,
                progress = ?2, progress_message = ?3, result = ?4, updated_at = ?5,
                finished_at = CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END
             WHERE id = ?1 AND status IN ('pending', 'running')
               AND (progress <= ?2 OR ?4 IS NOT NULL)",
        )
        .bind(id.as_uuid())
        .bind(progress)
        .bind(message)
        .bind(result.map(|r| r.to_string()))
        .bind(millis(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
