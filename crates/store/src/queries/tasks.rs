use super::SqlStore;
use crate::budgets::Spend;
use crate::db::{Conn, Db, Row, Time};
use crate::tasks::{
    BatchTally, ClaimRequest, Completion, NewTask, Outcome, QueueStat, TaskQuery, TaskRecord, TaskStatus, TaskStore,
};
use crate::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, TaskId, UserId};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

const COLUMNS: &str = "id, user_id, project_id, parent_id, task_type, status, priority, payload, result, progress, \
    progress_message, error_code, error_message, attempts, max_attempts, run_at, locked_by, locked_until, provider, \
    provider_job_id, provider_fallback, idempotency_key, cancel_requested, created_at, updated_at";

fn task_from_row(row: &Row) -> StoreResult<TaskRecord> {
    Ok(TaskRecord {
        id: TaskId(row.uuid("id")?),
        user_id: UserId(row.uuid("user_id")?),
        project_id: row.get::<Option<Uuid>>("project_id")?.map(ProjectId),
        parent_id: row.get::<Option<Uuid>>("parent_id")?.map(TaskId),
        task_type: row.get("task_type")?,
        status: row.parsed("status", TaskStatus::parse)?,
        priority: row.get("priority")?,
        payload: row.get("payload")?,
        result: row.get("result")?,
        progress: row.get("progress")?,
        progress_message: row.get("progress_message")?,
        error_code: row.get("error_code")?,
        error_message: row.get("error_message")?,
        attempts: row.get("attempts")?,
        max_attempts: row.get("max_attempts")?,
        run_at: row.time("run_at")?,
        locked_by: row.get("locked_by")?,
        locked_until: row.opt_time("locked_until")?,
        provider: row.get("provider")?,
        provider_job_id: row.get("provider_job_id")?,
        provider_fallback: row.get("provider_fallback")?,
        idempotency_key: row.get("idempotency_key")?,
        cancel_requested: row.get("cancel_requested")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn tasks_from_rows(rows: &[Row]) -> StoreResult<Vec<TaskRecord>> {
    rows.iter().map(task_from_row).collect()
}

/// The columns, qualified for queries that join other tables.
fn qualified() -> String {
    COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ")
}

/// The attempt that holds the lease: `$1` task, `$2` worker, `$3` attempt.
const HOLDS_LEASE: &str = "id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3";

/// Whether the user bound as `user` (a placeholder) may see task `t`, joined with its project `p`:
/// their own, or of a project they own or are a member of.
fn visible_to(user: &str) -> String {
    format!(
        "(t.user_id = {user} OR p.user_id = {user} OR (p.status <> 'deleted' AND EXISTS (
            SELECT 1 FROM project_members m WHERE m.project_id = t.project_id AND m.user_id = {user})))"
    )
}

/// Inserts a task unless its user already used its idempotency key (then `None`).
pub(super) async fn insert_task(conn: &mut Conn<'_>, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    let inserted = conn
        .query(format!(
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
        .bind(&task.payload)
        .bind(task.max_attempts)
        .bind(&task.idempotency_key)
        .bind(Time(task.run_at))
        .bind(Time(task.now))
        .fetch_optional()
        .await?;
    inserted.as_ref().map(task_from_row).transpose()
}

/// The user's task enqueued before under `task`'s idempotency key.
pub(super) async fn task_by_key(conn: &mut Conn<'_>, task: &NewTask) -> StoreResult<Option<TaskRecord>> {
    if task.idempotency_key.is_none() {
        return Ok(None);
    }
    let existing = conn
        .query(format!("SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND idempotency_key = $2"))
        .bind(task.user_id.as_uuid())
        .bind(&task.idempotency_key)
        .fetch_optional()
        .await?;
    existing.as_ref().map(task_from_row).transpose()
}

/// SQLite: claims the next runnable task (see [`TaskStore::claim`]). Each branch walks a partial
/// index in claim order and stops at the first row it may take, so a claim costs the same with
/// ten tasks queued or a million. A task whose lease lapsed (its worker died) is rescued first;
/// otherwise the next pending one, unless its user is at the running cap.
async fn claim_one_sqlite(conn: &mut Conn<'_>, request: &ClaimRequest) -> StoreResult<Option<TaskRecord>> {
    let types = serde_json::to_string(&request.task_types).unwrap_or_else(|_| "[]".into());
    let row = conn
        .query(format!(
            "UPDATE tasks SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2,
                started_at = COALESCE(started_at, $3), updated_at = $3
             WHERE id = COALESCE(
                (SELECT t.id FROM tasks t
                  WHERE t.status = 'running' AND t.locked_until < $3
                    AND t.task_type IN (SELECT value FROM json_each($4))
                    AND NOT t.cancel_requested AND t.attempts < t.max_attempts
                  ORDER BY t.locked_until LIMIT 1),
                (SELECT t.id FROM tasks t
                  WHERE t.status = 'pending' AND t.run_at <= $3
                    AND t.task_type IN (SELECT value FROM json_each($4))
                    AND NOT t.cancel_requested AND t.attempts < t.max_attempts
                    AND (SELECT COUNT(*) FROM tasks r WHERE r.status = 'running' AND r.user_id = t.user_id
                          AND r.locked_until >= $3) < $5
                  ORDER BY t.priority DESC, t.run_at, t.id LIMIT 1))
             RETURNING {COLUMNS}"
        ))
        .bind(&request.worker)
        .bind(Time(request.lease_until))
        .bind(Time(request.now))
        .bind(types)
        .bind(request.per_user_running)
        .fetch_optional()
        .await?;
    row.as_ref().map(task_from_row).transpose()
}

impl SqlStore {
    /// SQLite has one writer: a batch is claimed row by row inside one transaction, so it costs
    /// one commit instead of one per task.
    async fn claim_many_sqlite(&self, request: &ClaimRequest, limit: u32) -> StoreResult<Vec<TaskRecord>> {
        if limit <= 1 {
            let claimed = claim_one_sqlite(&mut self.db.acquire().await?.conn(), request).await?;
            return Ok(claimed.into_iter().collect());
        }
        let mut tx = self.db.begin().await?;
        let mut claimed = Vec::new();
        while claimed.len() < limit as usize {
            match claim_one_sqlite(&mut tx.conn(), request).await? {
                Some(task) => claimed.push(task),
                None => break,
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// PostgreSQL: one statement claims the whole batch. Tasks whose lease lapsed (their worker
    /// died) come first, then pending ones in claim order; both walk a partial index in that
    /// order and stop after `limit` rows, so a claim costs the same with ten tasks queued or a
    /// million. The running tasks are counted once per user for the whole batch: users at the cap
    /// are passed over in the walk, and the batch gives each user no more than the slots they
    /// have left. SKIP LOCKED: concurrent claims pass over rows another one holds.
    async fn claim_many_postgres(
        &self,
        claims: &sqlx::PgPool,
        request: &ClaimRequest,
        limit: u32,
    ) -> StoreResult<Vec<TaskRecord>> {
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
            .bind(Time(request.lease_until))
            .bind(Time(request.now))
            .bind(&request.task_types)
            .bind(request.per_user_running)
            .bind(i64::from(limit))
            .fetch_all(claims)
            .await?;
        let rows: Vec<Row> = rows.into_iter().map(Row::Postgres).collect();
        let mut claimed = tasks_from_rows(&rows)?;
        crate::tasks::sort_in_claim_order(&mut claimed);
        Ok(claimed)
    }

    /// PostgreSQL completes a batch in one statement over arrays of the answers; SQLite, which
    /// has no arrays, runs one update per task inside one transaction (one commit, under its
    /// single writer).
    async fn complete_batch(&self, done: &[Completion], now: DateTime<Utc>) -> StoreResult<Vec<TaskRecord>> {
        if let Db::Postgres(pool) = &self.db {
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
            .bind(Time(now))
            .fetch_all(pool)
            .await?;
            return tasks_from_rows(&rows.into_iter().map(Row::Postgres).collect::<Vec<_>>());
        }
        let mut tx = self.db.begin().await?;
        let mut completed = Vec::with_capacity(done.len());
        for item in done {
            let row = tx
                .query(format!(
                    "UPDATE tasks SET status = 'completed', result = $4, progress = 100, finished_at = $5,
                        error_code = NULL, error_message = NULL, locked_by = NULL, locked_until = NULL, updated_at = $5
                     WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
                ))
                .bind(item.id.as_uuid())
                .bind(&item.worker)
                .bind(item.attempt)
                .bind(&item.result)
                .bind(Time(now))
                .fetch_optional()
                .await?;
            completed.extend(row.as_ref().map(task_from_row).transpose()?);
        }
        tx.commit().await?;
        Ok(completed)
    }
}

#[async_trait::async_trait]
impl TaskStore for SqlStore {
    async fn enqueue(&self, task: &NewTask) -> StoreResult<(TaskRecord, bool)> {
        if task.spend.is_some() {
            // Work that spends money is admitted against the caps in the transaction that queues it.
            // The insert comes first: on SQLite it takes the single writer's lock before anything
            // is read, so two admissions run one after the other.
            let mut tx = self.db.begin().await?;
            let Some(created) = insert_task(&mut tx.conn(), task).await? else {
                let existing = task_by_key(&mut tx.conn(), task).await?.ok_or(StoreError::NotFound)?;
                return Ok((existing, false));
            };
            super::budgets::admit(&mut tx, &[task], task.now).await?;
            tx.commit().await?;
            return Ok((created, true));
        }
        let mut pooled = self.db.acquire().await?;
        let mut conn = pooled.conn();
        if let Some(created) = insert_task(&mut conn, task).await? {
            return Ok((created, true));
        }
        let existing = task_by_key(&mut conn, task).await?.ok_or(StoreError::NotFound)?;
        Ok((existing, false))
    }

    async fn claim_many(&self, request: &ClaimRequest, limit: u32) -> StoreResult<Vec<TaskRecord>> {
        match &self.claims {
            Some(claims) => self.claim_many_postgres(claims, request, limit).await,
            None => self.claim_many_sqlite(request, limit).await,
        }
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
        let row = self
            .db
            .query(format!(
                "UPDATE tasks SET locked_until = $4, progress = COALESCE($5, progress),
                    progress_message = COALESCE($6, progress_message), updated_at = $7
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(Time(lease_until))
            .bind(progress.map(|(p, _)| p.clamp(0, 100)))
            .bind(progress.map(|(_, m)| m))
            .bind(Time(now))
            .fetch_optional()
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn hand_back(&self, id: TaskId, worker: &str, attempt: i32, now: DateTime<Utc>) -> StoreResult<bool> {
        let handed = self
            .db
            .query(format!(
                "UPDATE tasks SET status = 'pending', attempts = attempts - 1, locked_by = NULL, locked_until = NULL,
                    run_at = $4, updated_at = $4 WHERE {HOLDS_LEASE}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(Time(now))
            .execute()
            .await?;
        Ok(handed > 0)
    }

    async fn set_provider_job(
        &self,
        id: TaskId,
        worker: &str,
        attempt: i32,
        provider: &str,
        job_id: &str,
        fallback: Option<&Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let set = self
            .db
            .query(format!(
                "UPDATE tasks SET provider = $4, provider_job_id = $5, provider_fallback = $6, updated_at = $7 \
                 WHERE {HOLDS_LEASE}"
            ))
            .bind(id.as_uuid())
            .bind(worker)
            .bind(attempt)
            .bind(provider)
            .bind(job_id)
            .bind(fallback)
            .bind(Time(now))
            .execute()
            .await?;
        Ok(set > 0)
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
        let held = |sql: String| self.db.query(sql).bind(id.as_uuid()).bind(worker).bind(attempt).bind(Time(now));
        let query = match outcome {
            Outcome::Completed(result) => held(format!(
                "UPDATE tasks SET status = 'completed', result = $5, progress = 100, finished_at = $4,
                    error_code = NULL, error_message = NULL, {released} WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(result),
            Outcome::Retry { run_at, code, message } => held(format!(
                "UPDATE tasks SET status = CASE WHEN attempts < max_attempts THEN 'pending' ELSE 'failed' END,
                    finished_at = CASE WHEN attempts < max_attempts THEN NULL ELSE $4 END,
                    run_at = $5, error_code = $6, error_message = $7, {released}
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(Time(run_at))
            .bind(code)
            .bind(message),
            Outcome::Failed { code, message } => held(format!(
                "UPDATE tasks SET status = 'failed', finished_at = $4, error_code = $5, error_message = $6, {released}
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            ))
            .bind(code)
            .bind(message),
            Outcome::Cancelled => held(format!(
                "UPDATE tasks SET status = 'cancelled', finished_at = $4, {released}
                 WHERE {HOLDS_LEASE} RETURNING {COLUMNS}"
            )),
        };
        let row = query.fetch_optional().await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn complete_many(&self, done: &[Completion], now: DateTime<Utc>) -> StoreResult<Vec<TaskRecord>> {
        // A single row needs no batch.
        if let [item] = done {
            let outcome = Outcome::Completed(item.result.clone());
            return Ok(self.finish(item.id, &item.worker, item.attempt, outcome, now).await?.into_iter().collect());
        }
        self.complete_batch(done, now).await
    }

    async fn request_cancel(&self, id: TaskId, now: DateTime<Utc>) -> StoreResult<Option<TaskRecord>> {
        let row = self
            .db
            .query(format!(
                "UPDATE tasks SET cancel_requested = TRUE, updated_at = $2,
                    status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                    finished_at = CASE WHEN status = 'pending' THEN $2 ELSE finished_at END
                 WHERE id = $1 AND status IN ('pending', 'running') RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(Time(now))
            .fetch_optional()
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task(&self, id: TaskId) -> StoreResult<Option<TaskRecord>> {
        let row = self
            .db
            .query(format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn task_for(&self, id: TaskId, user: UserId) -> StoreResult<Option<TaskRecord>> {
        let row = self
            .db
            .query(format!(
                "SELECT {} FROM tasks t LEFT JOIN projects p ON p.id = t.project_id WHERE t.id = $1 AND {}",
                qualified(),
                visible_to("$2")
            ))
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .fetch_optional()
            .await?;
        row.as_ref().map(task_from_row).transpose()
    }

    async fn list_tasks(&self, query: &TaskQuery) -> StoreResult<(Vec<TaskRecord>, i64)> {
        let mut select = self
            .db
            .query(format!(
                "SELECT {}, COUNT(*) OVER () AS total FROM tasks t LEFT JOIN projects p ON p.id = t.project_id
                 WHERE {}",
                qualified(),
                visible_to("$1")
            ))
            .bind(query.user.as_uuid());
        if let Some(project) = query.project {
            select = select.push(" AND t.project_id = ").push_bind(project.as_uuid());
        }
        if let Some(status) = query.status {
            select = select.push(" AND t.status = ").push_bind(status.as_str());
        }
        if let Some(task_type) = &query.task_type {
            select = select.push(" AND t.task_type = ").push_bind(task_type.as_str());
        }
        if let Some(since) = query.updated_since {
            select = select.push(" AND t.updated_at >= ").push_bind(Time(since));
        }
        select = select.push(" ORDER BY t.created_at DESC, t.id DESC LIMIT ").push_bind(i64::from(query.size));
        let offset = i64::from(query.page.saturating_sub(1)) * i64::from(query.size);
        let rows = select.push(" OFFSET ").push_bind(offset).fetch_all().await?;
        let total = match rows.first() {
            Some(row) => row.get("total")?,
            None => 0,
        };
        Ok((tasks_from_rows(&rows)?, total))
    }

    async fn retry_task(
        &self,
        id: TaskId,
        now: DateTime<Utc>,
        spend: Option<&Spend>,
    ) -> StoreResult<Option<TaskRecord>> {
        let mut tx = self.db.begin().await?;
        let row = tx
            .query(format!(
                "UPDATE tasks SET status = 'pending', attempts = 0, run_at = $2, error_code = NULL, error_message = NULL,
                    cancel_requested = FALSE, finished_at = NULL, progress = 0, progress_message = NULL, updated_at = $2
                 WHERE id = $1 AND status = 'failed' RETURNING {COLUMNS}"
            ))
            .bind(id.as_uuid())
            .bind(Time(now))
            .fetch_optional()
            .await?;
        let Some(retried) = row.as_ref().map(task_from_row).transpose()? else { return Ok(None) };
        if let Some(spend) = spend {
            let claim =
                super::budgets::Claim { task: retried.id, user: retried.user_id, project: retried.project_id, spend };
            super::budgets::readmit(&mut tx, &claim, now).await?;
        }
        tx.commit().await?;
        Ok(Some(retried))
    }

    async fn children(&self, parent: TaskId) -> StoreResult<Vec<TaskRecord>> {
        let rows = self
            .db
            .query(format!("SELECT {COLUMNS} FROM tasks WHERE parent_id = $1 ORDER BY created_at, id"))
            .bind(parent.as_uuid())
            .fetch_all()
            .await?;
        tasks_from_rows(&rows)
    }

    async fn batch_tally(&self, parent: TaskId) -> StoreResult<BatchTally> {
        let row = self
            .db
            .query(
                "SELECT COUNT(*) AS total,
                    CAST(COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed,
                    CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed,
                    CAST(COALESCE(SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END), 0) AS BIGINT) AS cancelled,
                    CAST(COALESCE(SUM(CASE WHEN status IN ('completed', 'failed', 'cancelled') THEN 100 ELSE progress END), 0)
                        AS BIGINT) AS progress_sum
                 FROM tasks WHERE parent_id = $1",
            )
            .bind(parent.as_uuid())
            .fetch_one()
            .await?;
        Ok(BatchTally {
            total: row.get("total")?,
            completed: row.get("completed")?,
            failed: row.get("failed")?,
            cancelled: row.get("cancelled")?,
            progress_sum: row.get("progress_sum")?,
        })
    }

    async fn queue_ahead(&self, task: &TaskRecord) -> StoreResult<i64> {
        let row = self
            .db
            .query(
                "SELECT COUNT(*) AS ahead FROM tasks
                 WHERE task_type = $1 AND id <> $2
                   AND (status = 'running'
                        OR (status = 'pending' AND (priority > $3 OR (priority = $3 AND created_at < $4))))",
            )
            .bind(&task.task_type)
            .bind(task.id.as_uuid())
            .bind(task.priority)
            .bind(Time(task.created_at))
            .fetch_one()
            .await?;
        row.get("ahead")
    }

    async fn queue_stats(&self, now: DateTime<Utc>) -> StoreResult<Vec<QueueStat>> {
        let rows = self
            .db
            .query(
                "SELECT task_type,
                    COUNT(*) FILTER (WHERE status = 'pending') AS pending,
                    COUNT(*) FILTER (WHERE status = 'pending' AND run_at <= $1) AS due,
                    COUNT(*) FILTER (WHERE status = 'running') AS running,
                    MIN(run_at) FILTER (WHERE status = 'pending' AND run_at <= $1) AS oldest_due
                 FROM tasks WHERE status IN ('pending', 'running')
                 GROUP BY task_type ORDER BY task_type",
            )
            .bind(Time(now))
            .fetch_all()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueStat {
                    task_type: row.get("task_type")?,
                    pending: row.get("pending")?,
                    due: row.get("due")?,
                    running: row.get("running")?,
                    oldest_due: row.opt_time("oldest_due")?,
                })
            })
            .collect()
    }

    async fn prune_tasks(&self, finished_before: DateTime<Utc>, failed_before: DateTime<Utc>) -> StoreResult<u64> {
        self.db
            .query(
                "DELETE FROM tasks WHERE (status IN ('completed', 'cancelled') AND updated_at < $1)
                    OR (status = 'failed' AND updated_at < $2)",
            )
            .bind(Time(finished_before))
            .bind(Time(failed_before))
            .execute()
            .await
    }

    async fn settle_batch(
        &self,
        id: TaskId,
        progress: i32,
        message: &str,
        result: Option<Value>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let settled = self
            .db
            .query(
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
            .bind(Time(now))
            .execute()
            .await?;
        Ok(settled > 0)
    }
}
