use super::PostgresStore;
use crate::tasks::{
    BatchTally, ClaimRequest, Completion, NewTask, Outcome, QueueStat, TaskQuery, TaskRecord, TaskStatus, TaskStore,
};
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

const COLUMNS: &str = "id, user_id, project_id, parent_id, task_type, status, priority, payload, result, progress, \
    progress_message, error_code, error_message, attempts, max_attempts, run_at, locked_by, locked_until, provider, \
    provider_job_id, idempotency_key, cancel_requested, created_at, updated_at";

fn task_from_row(row: &PgRow) -> StoreResult<TaskRecord> {
    let status: String = row.try_get("status")?;
    Ok(TaskRecord {
        id: TaskId(row.try_get::<Uuid, _>("id")?),
        user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        project_id: row.try_get::<Option<Uuid>, _>("project_id")?.map(ProjectId),
        parent_id: row.try_get::<Option<Uuid>, _>("parent_id")?.map(TaskId),
        task_type: row.try_get("task_type")?,
        status: TaskStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("task status {status}")))?,
        priority: row.try_get("priority")?,
        payload: row.try_get("payload")?,
        result: row.try_get("result")?,
        progress: row.try_get("progress")?,
        progress_message: row.try_get("progress_message")?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        run_at: row.try_get("run_at")?,
        locked_by: row.try_get("locked_by")?,
        locked_until: row.try_get("locked_until")?,
        provider: row.try_get("provider")?,
        provider_job_id: row.try_get("provider_job_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        cancel_requested: row.try_get("cancel_requested")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The columns, qualified for queries that join other tables.
fn qualified() -> String {
    COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
}

/// The attempt that holds the lease: `$1` task, `$2` worker, `$3` attempt.
const HOLDS_LEASE: &str = "id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3";

/// Inserts a task unless its user already used its idempotency key (then `None`).
pub(super) async fn insert_task(conn: &mut PgConnection, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    let inserted = sqlx::query(&format!(
        "INSERT INTO tasks (id, user_id, project_id, parent_id, task_type, status, priority, payload, max_attempts,
                idempotency_key, run_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $11)
             ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(task.id.as_uuid())
    .bind(task.user_id.as_uuid())
    .bind(task.project_id.map(|p| p.as_uuid()))
    .bind(task.parent_id.map(|p| p.as_uuid()))
    .bind(&task.task_type)
    .bind(task.priority)
    .bind(Json(&task.payload))
    .bind(task.max_attempts)
    .bind(&task.idempotency_key)
    .bind(task.run_at)
    .bind(task.now)
    .fetch_optional(&mut *conn)
    .await?;
    inserted.as_ref().map(task_from_row).transpose()
}

/// The user's task enqueued before under `task`'s idempotency key.
pub(super) async fn task_by_key(conn: &mut PgConnection, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    if task.idempotency_key.is_none() {
        return Ok(None);
    }
    let existing = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND idempotency_key = $2"))
        .bind(task.user_id.as_uuid())
        .bind(&task.idempotency_key)
        .fetch_optional(&mut *conn)
        .await?;
    existing.as_ref().map(task_from_row).transpose()
}

#[async_trait::async_trait]
impl TaskStore for PostgresStore {
    async fn enqueue(&self, task: &NewTask) -> StoreResult<(TaskRecord, bool)> {
        let mut conn = self.pool.acquire().await?;
        if let Some(created) = insert_task(&mut conn, task).await? {
            return Ok((created, true));
        }
        let existing = task_by_key(&mut conn, task).await?.ok_or(StoreError::NotFound)?;
        Ok((existing, false))
    }

    async fn claim_many(&self, request: &ClaimRequest, limit: u32) -> StoreResult<Vec<TaskRecord>> {
        // One statement claims the whole batch. Tasks whose lease lapsed (their worker died) come
        // first, then pending ones in claim order; both walk a partial index in that order and stop
        // after `limit` rows, so a claim costs the same with ten tasks queued or a million. The
        // running tasks are counted once per user for the whole batch: users at the cap are passed
        // over in the walk, and the batch gives each user no more than the slots they have left.
        // SKIP LOCKED: concurrent claims pass over rows another one holds.
        let query = format!(
            "WITH running AS (
                SELECT user_id, COUNT(*) AS n FROM tasks
                 WHERE status = 'running' AND locked_until >= $3 GROUP BY user_id),
             lapsed AS (
                SELECT id FROM tasks
                 WHERE status = 'running' AND locked_until < $3 AND task_type = ANY($4)
                   AND NOT cancel_requested AND attempts < max_attempts
                 ORDER BY locked_until LIMIT $6 FOR UPDATE SKIP LOCKED),
             due AS (
                SELECT id, user_id, priority, run_at FROM tasks
                 WHERE status = 'pending' AND run_at <= $3 AND task_type = ANY($4)
                   AND NOT cancel_requested AND attempts < max_attempts
                   AND user_id NOT IN (SELECT user_id FROM running WHERE n >= $5)
                 ORDER BY priority DESC, run_at, id LIMIT $6 FOR UPDATE SKIP LOCKED),
             chosen AS (
                SELECT id FROM (
                    SELECT id, 0 AS tier, 0::BIGINT AS place FROM lapsed
                    UNION ALL
                    SELECT id, 1, ROW_NUMBER() OVER (ORDER BY priority DESC, run_at, id) FROM (
                        SELECT d.*, COALESCE(r.n, 0)
                                + ROW_NUMBER() OVER (PARTITION BY d.user_id ORDER BY d.priority DESC, d.run_at, d.id)
                                AS slot
                          FROM due d LEFT JOIN running r ON r.user_id = d.user_id) ranked
                     WHERE slot <= $5) candidates
                 ORDER BY tier, place LIMIT $6)
             UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2,
                started_at = COALESCE(started_at, $3), updated_at = $3
             WHERE id IN (SELECT id FROM chosen)
             RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&query)
            .bind(&request.worker)
            .bind(request.lease_until)
            .bind(request.now)
            .bind(&request.task_types)
            .bind(request.per_user_running)
            .bind(i64::from(limit))
            .fetch_all(&self.claims)
            .await?;
        let mut claimed = rows.iter().map(task_from_row).collect::<StoreResult<Vec<_>>>()?;
        crate::tasks::sort_in_claim_order(&mut claimed);
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
            "UPDATE tasks SET locked_until = $4, progress = COALESCE($5, progress),
                progress_message = COALESCE($6, progress_message), updated_at = $7
             WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(lease_until)
        .bind(progress.map(|(p, _)| p.clamp(0, 100)))
        .bind(progress.map(|(_, m)| m))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn hand_back(&self, id: TaskId, worker: &str, attempt: i32, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(&format!(
            "UPDATE tasks SET status = 'pending', attempts = attempts - 1, locked_by = NULL, locked_until = NULL,
                run_at = $4, updated_at = $4 WHERE {HOLDS_LEASE}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(now)
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
            "UPDATE tasks SET provider = $4, provider_job_id = $5, updated_at = $6 WHERE {HOLDS_LEASE}"
        ))
        .bind(id.as_uuid())
        .bind(worker)
        .bind(attempt)
        .bind(provider)
        .bind(job_id)
        .bind(now)
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
        let released = "locked_by = NULL, locked_until = NULL, updated_at = $4";
        let row = match outcome {
            Outcome::Completed(result) => sqlx::query(&format!(
                "UPDATE tasks SET status = 'completed', result = $5, progress = 100, finished_at = $4,
                    error_code = NULL, error_message = NULL, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(now)
            .bind(Json(result))
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Retry { run_at, code, message } => sqlx::query(&format!(
                "UPDATE tasks SET status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
                    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE $4 END,
                    run_at = $5, error_code = $6, error_message = $7, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(now)
            .bind(run_at)
            .bind(code)
            .bind(message)
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Failed { code, message } => sqlx::query(&format!(
                "UPDATE tasks SET status = 'failed', finished_at = $4, error_code = $5, error_message = $6, {released}
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(now)
            .bind(code)
            .bind(message)
            .fetch_optional(&self.pool)
            .await?,
            Outcome::Cancelled => sqlx::query(&format!(
                "UPDATE tasks SET status = 'cancelled', finished_at = $4, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?,
        };
        row.as_ref().map(task_from_row).transpose()
    }

    async fn complete_many(&self, done: &[Completion], now: DateTime<Utc>) -> StoreResult<Vec<TaskRecord>> {
        let ids: Vec<Uuid> = done.iter().map(|d| d.id.as_uuid()).collect();
        let workers: Vec<&str> = done.iter().map(|d| d.worker.as_str()).collect();
        let attempts: Vec<i32> = done.iter().map(|d| d.attempt).collect();
        let results: Vec<String> = done.iter().map(|d| d.result.to_string()).collect();
        let rows = sqlx::query(&format!(
            "UPDATE tasks t SET status = 'completed', result = v.result::JSONB, progress = 100, finished_at = $5,
                error_code = NULL, error_message = NULL, locked_by = NULL, locked_until = NULL, updated_at = $5
             FROM UNNEST($1::UUID[], $2::TEXT[], $3::INT4[], $4::TEXT[]) AS v(id, worker, attempt, result)
             WHERE t.id = v.id AND t.status = 'running' AND t.locked_by = v.worker AND t.attempts = v.attempt
             RETURNING {}",
            qualified()
        ))
        .bind(ids)
        .bind(workers)
        .bind(attempts)
        .bind(results)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn request_cancel(&self, id: TaskId, now: DateTime<Utc>) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!(
            "UPDATE tasks SET cancel_requested = TRUE, updated_at = $2,
                status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                finished_at = CASE WHEN status = 'pending' THEN $2 ELSE finished_at END
             WHERE id = $1 AND status IN ('pending', 'running') RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task(&self, id: TaskId) -> StoreResult<Option<TaskRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task_for(&self, id: TaskId, user: UserId) -> StoreResult<Option<TaskRecord>> {
        let visible = "(t.user_id = $2 OR p.user_id = $2 OR (p.status <> 'deleted' AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = t.project_id AND m.user_id = $2)))";
        let row = sqlx::query(&format!(
            "SELECT {} FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = $1 AND {visible}",
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
        let mut select = QueryBuilder::<Postgres>::new(format!(
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
            select.push(" AND t.updated_at >= ").push_bind(since);
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
            "UPDATE tasks SET status = 'pending', attempts = 0, run_at = $2, error_code = NULL, error_message = NULL,
                cancel_requested = FALSE, finished_at = NULL, progress = 0, progress_message = NULL, updated_at = $2
             WHERE id = $1 AND status = 'failed' RETURNING {COLUMNS}"
        ))
        .bind(id.as_uuid())
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(task_from_row).transpose()
    }
    async fn children(&self, parent: TaskId) -> StoreResult<Vec<TaskRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM tasks WHERE parent_id = $1 ORDER BY created_at, id"))
            .bind(parent.as_uuid())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(task_from_row).collect()
    }

    async fn batch_tally(&self, parent: TaskId) -> StoreResult<BatchTally> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total,
                    COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END)::BIGINT, 0) AS completed,
                    COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END)::BIGINT, 0) AS failed,
                    COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END)::BIGINT, 0) AS cancelled,
                    COALESCE(SUM(CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN 100 ELSE progress END)::BIGINT, 0)
                        AS progress_sum
             FROM tasks WHERE parent_id = $1",
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
             WHERE task_type = $1 AND id <> $2
               AND (status = 'running'
                    OR (status = 'pending' AND (priority > $3 OR (priority = $3 AND created_at < $4))))",
        )
        .bind(&task.task_type)
        .bind(task.id.as_uuid())
        .bind(task.priority)
        .bind(task.created_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("ahead")?)
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStat>> {
        let rows = sqlx::query(
            "SELECT task_type,
                    COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                    COUNT(*) FILTER (WHERE status = 'pending' AND run_at <= $1) AS due,
                    COUNT(*) FILTER (WHERE status = 'running') AS running,
                    MIN(run_at) FILTER (WHERE status = 'pending' AND run_at <= $1) AS oldest_due
             FROM tasks WHERE status IN ('pending', 'running')
             GROUP BY task_type ORDER BY task_type",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueStat {
                    task_type: row.try_get("task_type")?,
                    pending: row.try_get("pending")?,
                    due: row.try_get("due")?,
                    running: row.try_get("running")?,
                    oldest_due: row.try_get("oldest_due")?,
                })
            })
            .collect()
    }

    async fn prune_tasks(&self, finished_before: DateTime<Utc>, failed_before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM tasks WHERE (status IN ('completed', 'cancelled') AND updated_at < $1)
                OR (status = 'failed' AND updated_at < $2)",
        )
        .bind(finished_before)
        .bind(failed_before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn settle_batch(
        &self,
        id: TaskId,
        progress: i32,
        message: &str,
        result: Option<serde_json::Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE tasks SET status = CASE WHEN $4 IS NULL THEN 'running' ELSE 'completed' END,
                progress = $2, progress_message = $3, result = $4, updated_at = $5,
                finished_at = CASE WHEN $4 IS NULL THEN NULL ELSE $5 END
             WHERE id = $1 AND status IN ('pending', 'running')
               AND (progress <= $2 OR $4 IS NOT NULL)",
        )
        .bind(id.as_uuid())
        .bind(progress)
        .bind(message)
        .bind(result.map(Json))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
