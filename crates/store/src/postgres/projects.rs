use super::PostgresStore;
use crate::NewTask;
use crate::projects::{AccessInfo, Enqueued, Member, ProjectChange, ProjectListItem, ProjectQuery, ProjectRecord};
use crate::{ProjectStore, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::project::{Documents, ProjectRole, ProjectSettings, ProjectStatus};
use cinegen_domain::{FileId, ProjectId, UserId};
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use std::collections::BTreeSet;
use uuid::Uuid;

const COLUMNS: &str = "p.id, p.user_id, p.title, p.status, p.settings, p.raw_script, p.script_data, p.shots, \
    p.extra, p.merged_video_file_id, p.version, p.created_at, p.updated_at, p.deleted_at";
const LIST_COLUMNS: &str = "p.id, p.user_id, p.title, p.status, p.settings, p.version, p.created_at, \
    p.updated_at, p.shot_count, p.keyframes_done, p.clips_done, p.thumbnail, p.logline";
/// The caller's role ($1 is the caller): the owner, else their membership.
const ROLE: &str = "CASE WHEN p.user_id = $1 THEN 'owner' ELSE m.role END";
const MEMBER_JOIN: &str = "LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $1";

fn status(text: &str) -> StoreResult<ProjectStatus> {
    ProjectStatus::parse(text).ok_or_else(|| StoreError::Corrupt(format!("project status '{text}'")))
}

fn role(text: &str) -> StoreResult<ProjectRole> {
    text.parse().map_err(StoreError::Corrupt)
}

fn settings(row: &PgRow) -> StoreResult<ProjectSettings> {
    Ok(row.try_get::<Json<ProjectSettings>, _>("settings")?.0)
}

fn record_from_row(row: &PgRow) -> StoreResult<ProjectRecord> {
    let extra = match row.try_get::<Value, _>("extra")? {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    Ok(ProjectRecord {
        id: ProjectId(row.try_get::<Uuid, _>("id")?),
        owner_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        title: row.try_get("title")?,
        status: status(row.try_get("status")?)?,
        settings: settings(row)?,
        raw_script: row.try_get("raw_script")?,
        docs: Documents {
            script_data: row.try_get::<Option<Value>, _>("script_data")?.unwrap_or(Value::Null),
            shots: row.try_get("shots")?,
        },
        extra,
        merged_video_file_id: row.try_get::<Option<Uuid>, _>("merged_video_file_id")?.map(FileId),
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn item_from_row(row: &PgRow) -> StoreResult<ProjectListItem> {
    Ok(ProjectListItem {
        id: ProjectId(row.try_get::<Uuid, _>("id")?),
        owner_id: UserId(row.try_get::<Uuid, _>("user_id")?),
        title: row.try_get("title")?,
        status: status(row.try_get("status")?)?,
        settings: settings(row)?,
        role: role(row.try_get("role")?)?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        shot_count: row.try_get("shot_count")?,
        keyframes_done: row.try_get("keyframes_done")?,
        clips_done: row.try_get("clips_done")?,
        thumbnail: row.try_get("thumbnail")?,
        logline: row.try_get("logline")?,
    })
}

/// Writes every column of `record` (insert or update) and, when they changed, its search terms.
async fn write(
    conn: &mut PgConnection,
    record: &ProjectRecord,
    insert: bool,
    old_terms: Option<BTreeSet<String>>,
) -> StoreResult<()> {
    let summary = record.docs.summary();
    let sql = if insert {
        "INSERT INTO projects (title, status, settings, raw_script, script_data, shots, extra, merged_video_file_id,
            version, updated_at, deleted_at, shot_count, keyframes_done, clips_done, thumbnail, logline,
            id, user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    } else {
        "UPDATE projects SET title = $1, status = $2, settings = $3, raw_script = $4, script_data = $5, shots = $6,
            extra = $7, merged_video_file_id = $8, version = $9, updated_at = $10, deleted_at = $11,
            shot_count = $12, keyframes_done = $13, clips_done = $14, thumbnail = $15, logline = $16
         WHERE id = $17"
    };
    let script_data = (!record.docs.script_data.is_null()).then_some(Json(&record.docs.script_data));
    let mut query = sqlx::query(sql)
        .bind(&record.title)
        .bind(record.status.as_str())
        .bind(Json(&record.settings))
        .bind(&record.raw_script)
        .bind(script_data)
        .bind(Json(&record.docs.shots))
        .bind(Json(&record.extra))
        .bind(record.merged_video_file_id.map(|id| id.as_uuid()))
        .bind(record.version)
        .bind(record.updated_at)
        .bind(record.deleted_at)
        .bind(summary.shot_count)
        .bind(summary.keyframes_done)
        .bind(summary.clips_done)
        .bind(&summary.thumbnail)
        .bind(&summary.logline)
        .bind(record.id.as_uuid());
    if insert {
        query = query.bind(record.owner_id.as_uuid()).bind(record.created_at);
    }
    query.execute(&mut *conn).await?;
    let terms = record.search_terms();
    if old_terms.as_ref() != Some(&terms) {
        sqlx::query("DELETE FROM project_search_terms WHERE project_id = $1")
            .bind(record.id.as_uuid())
            .execute(&mut *conn)
            .await?;
        if !terms.is_empty() {
            let mut insert = QueryBuilder::<Postgres>::new("INSERT INTO project_search_terms (project_id, term) ");
            insert.push_values(&terms, |mut row, term| {
                row.push_bind(record.id.as_uuid()).push_bind(term);
            });
            insert.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl ProjectStore for PostgresStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        write(&mut tx, project, true, None).await?;
        tx.commit().await?;
        self.changes.announce(vec![project.owner_id]);
        Ok(())
    }

    async fn project_for(&self, id: ProjectId, user: UserId) -> StoreResult<Option<(ProjectRecord, ProjectRole)>> {
        let sql = format!(
            "SELECT {COLUMNS}, {ROLE} AS role FROM projects p {MEMBER_JOIN}
             WHERE p.id = $2 AND (p.user_id = $1 OR m.user_id IS NOT NULL)"
        );
        let row = sqlx::query(&sql).bind(user.as_uuid()).bind(id.as_uuid()).fetch_optional(&self.pool).await?;
        row.map(|row| Ok((record_from_row(&row)?, role(row.try_get("role")?)?))).transpose()
    }

    async fn access_info(&self, id: ProjectId, user: UserId) -> StoreResult<Option<AccessInfo>> {
        let sql = format!(
            "SELECT {ROLE} AS role, p.user_id, p.version, p.status FROM projects p {MEMBER_JOIN}
             WHERE p.id = $2 AND (p.user_id = $1 OR m.user_id IS NOT NULL)"
        );
        let row = sqlx::query(&sql).bind(user.as_uuid()).bind(id.as_uuid()).fetch_optional(&self.pool).await?;
        row.map(|row| {
            Ok(AccessInfo {
                owner_id: UserId(row.try_get::<Uuid, _>("user_id")?),
                role: role(row.try_get("role")?)?,
                version: row.try_get("version")?,
                status: status(row.try_get("status")?)?,
            })
        })
        .transpose()
    }

    async fn list_projects(&self, filter: &ProjectQuery) -> StoreResult<(Vec<ProjectListItem>, i64)> {
        // One round trip: the total rides along on every row of the page.
        let select = format!("SELECT {LIST_COLUMNS}, COUNT(*) OVER () AS total");
        let mut page = crate::projects::scoped_query::<Postgres>(&select, filter, true);
        crate::projects::push_page(&mut page, filter);
        let rows = page.build().fetch_all(&self.pool).await?;
        let total = match rows.first() {
            Some(row) => row.try_get("total")?,
            None if filter.page <= 1 => 0,
            // Past the last page: count on its own.
            None => {
                let mut count = crate::projects::scoped_query::<Postgres>("SELECT COUNT(*)", filter, false);
                count.build().fetch_one(&self.pool).await?.try_get(0)?
            }
        };
        let items = rows.iter().map(item_from_row).collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    async fn change_project_and_enqueue(
        &self,
        id: ProjectId,
        change: ProjectChange,
        tasks: Vec<NewTask>,
    ) -> StoreResult<Enqueued> {
        let mut tx = self.pool.begin().await?;
        // Who hears of the change rides along on the locked read: a round trip fewer per change.
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, ARRAY(SELECT m.user_id FROM project_members m WHERE m.project_id = p.id) AS members
             FROM projects p WHERE p.id = $1 FOR UPDATE"
        ))
        .bind(id.as_uuid())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut record = record_from_row(&row)?;
        if let Some(first) = tasks.first()
            && let Some(existing) = super::tasks::task_by_key(&mut tx, first).await?
        {
            return Ok(Enqueued { project: record, tasks: vec![existing], created: false });
        }
        let old_terms = record.search_terms();
        change(&mut record)?;
        record.version += 1;
        record.updated_at = Utc::now();
        write(&mut tx, &record, false, Some(old_terms)).await?;
        let mut enqueued = Vec::with_capacity(tasks.len());
        for task in &tasks {
            let created = match super::tasks::insert_task(&mut tx, task).await? {
                Some(created) => created,
                None => super::tasks::task_by_key(&mut tx, task).await?.ok_or(StoreError::NotFound)?,
            };
            enqueued.push(created);
        }
        tx.commit().await?;
        let mut audience: Vec<UserId> = row.try_get::<Vec<Uuid>, _>("members")?.into_iter().map(UserId).collect();
        audience.push(record.owner_id);
        self.changes.announce(audience);
        Ok(Enqueued { project: record, tasks: enqueued, created: true })
    }

    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: ProjectRole,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(project.as_uuid())
        .bind(user.as_uuid())
        .bind(role.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?;
        self.changes.announce(vec![user]);
        Ok(())
    }

    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project.as_uuid())
            .bind(user.as_uuid())
            .execute(&self.pool)
            .await?;
        let removed = done.rows_affected() > 0;
        if removed {
            self.changes.announce(vec![user]);
        }
        Ok(removed)
    }

    async fn members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM project_members m
             JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY m.created_at, u.email",
        )
        .bind(project.as_uuid())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Member {
                    user_id: UserId(row.try_get::<Uuid, _>("user_id")?),
                    email: row.try_get("email")?,
                    name: row.try_get("name")?,
                    role: role(row.try_get("role")?)?,
                    since: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn purge_projects_deleted_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<ProjectId>> {
        let rows =
            sqlx::query("DELETE FROM projects WHERE status = 'deleted' AND deleted_at < $1 RETURNING id, user_id")
                .bind(before)
                .fetch_all(&self.pool)
                .await?;
        let purged = rows.iter().map(|row| Ok(ProjectId(row.try_get::<Uuid, _>("id")?))).collect::<StoreResult<_>>()?;
        let owners =
            rows.iter().map(|row| Ok(UserId(row.try_get::<Uuid, _>("user_id")?))).collect::<StoreResult<_>>()?;
        self.changes.announce(owners);
        Ok(purged)
    }
}
