use super::SqlStore;
use super::revisions::Replaced;
use crate::db::{Conn, Query, Row, Time, Tx};
use crate::projects::StatusFilter;
use crate::projects::{
    AccessInfo, Enqueued, Invitation, Member, ProjectChange, ProjectListItem, ProjectQuery, ProjectRecord,
};
use crate::revisions::Author;
use crate::{NewTask, ProjectStore, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::project::{Documents, ProjectRole, ProjectStatus};
use cinegen_domain::{FileId, ProjectId, UserId};
use serde_json::Value;
use sqlx::types::Json;
use std::collections::BTreeSet;
use uuid::Uuid;

const COLUMNS: &str = "p.id, p.user_id, p.title, p.status, p.settings, p.raw_script, p.script_data, p.shots, \
    p.extra, p.merged_video_file_id, p.version, p.created_at, p.updated_at, p.updated_by, p.deleted_at";
const LIST_COLUMNS: &str = "p.id, p.user_id, p.title, p.status, p.settings, p.version, p.created_at, \
    p.updated_at, p.shot_count, p.keyframes_done, p.clips_done, p.thumbnail, p.logline";
/// The caller's role ($1 is the caller): the owner, else their membership.
const ROLE: &str = "CASE WHEN p.user_id = $1 THEN 'owner' ELSE m.role END";
const MEMBER_JOIN: &str = "LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = $1";

fn invitation_from_row(row: &Row) -> StoreResult<Invitation> {
    Ok(Invitation {
        project_id: ProjectId(row.uuid("project_id")?),
        email: row.get("email")?,
        role: role(row)?,
        invited_by: row.get::<Option<Uuid>>("invited_by")?.map(UserId),
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

fn role(row: &Row) -> StoreResult<ProjectRole> {
    let text: String = row.get("role")?;
    text.parse().map_err(StoreError::Corrupt)
}

fn status(row: &Row) -> StoreResult<ProjectStatus> {
    row.parsed("status", ProjectStatus::parse)
}

fn record_from_row(row: &Row) -> StoreResult<ProjectRecord> {
    let extra = match row.get::<Value>("extra")? {
        Value::Object(map) => map,
        _ => Default::default(),
    };
    Ok(ProjectRecord {
        id: ProjectId(row.uuid("id")?),
        owner_id: UserId(row.uuid("user_id")?),
        title: row.get("title")?,
        status: status(row)?,
        settings: row.json("settings")?,
        raw_script: row.get("raw_script")?,
        docs: Documents {
            script_data: row.get::<Option<Value>>("script_data")?.unwrap_or(Value::Null),
            shots: row.get("shots")?,
        },
        extra,
        merged_video_file_id: row.get::<Option<Uuid>>("merged_video_file_id")?.map(FileId),
        version: row.get("version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        updated_by: row.get::<Option<Uuid>>("updated_by")?.map(UserId),
        deleted_at: row.opt_time("deleted_at")?,
    })
}

fn item_from_row(row: &Row) -> StoreResult<ProjectListItem> {
    Ok(ProjectListItem {
        id: ProjectId(row.uuid("id")?),
        owner_id: UserId(row.uuid("user_id")?),
        title: row.get("title")?,
        status: status(row)?,
        settings: row.json("settings")?,
        role: role(row)?,
        version: row.get("version")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
        shot_count: row.get("shot_count")?,
        keyframes_done: row.get("keyframes_done")?,
        clips_done: row.get("clips_done")?,
        thumbnail: row.get("thumbnail")?,
        logline: row.get("logline")?,
    })
}

/// Writes every column of `record` (insert or update) and, when they changed, its search terms.
async fn write(
    mut conn: Conn<'_>,
    record: &ProjectRecord,
    insert: bool,
    old_terms: Option<BTreeSet<String>>,
) -> StoreResult<()> {
    let summary = record.docs.summary();
    let sql = if insert {
        "INSERT INTO projects (title, status, settings, raw_script, script_data, shots, extra, merged_video_file_id,
            version, updated_at, deleted_at, shot_count, keyframes_done, clips_done, thumbnail, logline, updated_by,
            keep_takes, id, user_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    } else {
        "UPDATE projects SET title = $1, status = $2, settings = $3, raw_script = $4, script_data = $5, shots = $6,
            extra = $7, merged_video_file_id = $8, version = $9, updated_at = $10, deleted_at = $11,
            shot_count = $12, keyframes_done = $13, clips_done = $14, thumbnail = $15, logline = $16, updated_by = $17,
            keep_takes = $18
         WHERE id = $19"
    };
    let script_data = (!record.docs.script_data.is_null()).then_some(Json(&record.docs.script_data));
    let mut query = conn
        .query(sql)
        .bind(&record.title)
        .bind(record.status.as_str())
        .bind(Json(&record.settings))
        .bind(&record.raw_script)
        .bind(script_data)
        .bind(Json(&record.docs.shots))
        .bind(Json(&record.extra))
        .bind(record.merged_video_file_id.map(|id| id.as_uuid()))
        .bind(record.version)
        .bind(Time(record.updated_at))
        .bind(record.deleted_at.map(Time))
        .bind(summary.shot_count)
        .bind(summary.keyframes_done)
        .bind(summary.clips_done)
        .bind(&summary.thumbnail)
        .bind(&summary.logline)
        .bind(record.updated_by.map(|u| u.as_uuid()))
        .bind(i32::from(record.settings.keep_takes))
        .bind(record.id.as_uuid());
    if insert {
        query = query.bind(record.owner_id.as_uuid()).bind(Time(record.created_at));
    }
    query.execute().await?;
    let terms = record.search_terms();
    if old_terms.as_ref() != Some(&terms) {
        conn.query("DELETE FROM project_search_terms WHERE project_id = $1")
            .bind(record.id.as_uuid())
            .execute()
            .await?;
        if !terms.is_empty() {
            let mut insert = conn.query("INSERT INTO project_search_terms (project_id, term) VALUES ");
            for (i, term) in terms.iter().enumerate() {
                let separator = if i == 0 { "(" } else { ", (" };
                insert =
                    insert.push(separator).push_bind(record.id.as_uuid()).push(", ").push_bind(term.as_str()).push(")");
            }
            insert.execute().await?;
        }
    }
    Ok(())
}

/// The caller's projects (owned or shared, with the caller's role when `with_role`), filtered by
/// status and search words: what a page of the list and its count share.
fn scoped<'q, 'c>(query: Query<'q, 'c>, filter: &ProjectQuery, with_role: bool) -> Query<'q, 'c> {
    let user = filter.user.as_uuid();
    let mut query = query;
    if with_role {
        query = query.push(", CASE WHEN p.user_id = ").push_bind(user).push(" THEN 'owner' ELSE m.role END AS role");
    }
    query = query.push(" FROM projects p LEFT JOIN project_members m ON m.project_id = p.id AND m.user_id = ");
    query = query.push_bind(user).push(" WHERE (p.user_id = ").push_bind(user).push(" OR m.user_id IS NOT NULL)");
    query = match filter.status {
        StatusFilter::Active => query.push(" AND p.status = 'active'"),
        StatusFilter::Archived => query.push(" AND p.status = 'archived'"),
        StatusFilter::Deleted => query.push(" AND p.status = 'deleted' AND p.user_id = ").push_bind(user),
        StatusFilter::Live => query.push(" AND p.status <> 'deleted'"),
    };
    for (from, to) in filter.word_ranges() {
        query = query.push(" AND p.id IN (SELECT project_id FROM project_search_terms WHERE term >= ").push_bind(from);
        query = query.push(" AND term < ").push_bind(to).push(")");
    }
    query
}

/// The project, locked for a change, and — where it costs nothing more — who hears of it.
/// PostgreSQL locks the row (`FOR UPDATE`) and reads the members as a column of the same
/// statement, a round trip fewer per change. SQLite's write lock is taken by a write; the
/// members are read after the commit, so the lock is not held for them.
async fn lock_project(tx: &mut Tx, id: ProjectId) -> StoreResult<(ProjectRecord, Option<Vec<UserId>>)> {
    match tx {
        Tx::Postgres(_) => {
            let row = tx
                .query(format!(
                    "SELECT {COLUMNS}, ARRAY(SELECT m.user_id FROM project_members m WHERE m.project_id = p.id) AS members
                     FROM projects p WHERE p.id = $1 FOR UPDATE"
                ))
                .bind(id.as_uuid())
                .fetch_optional()
                .await?
                .ok_or(StoreError::NotFound)?;
            let Row::Postgres(pg) = &row else { unreachable!("a PostgreSQL transaction answers PostgreSQL rows") };
            let members = sqlx::Row::try_get::<Vec<Uuid>, _>(pg, "members")?.into_iter().map(UserId).collect();
            Ok((record_from_row(&row)?, Some(members)))
        }
        Tx::Sqlite(_) => {
            if !tx.lock_row("projects", id.as_uuid()).await? {
                return Err(StoreError::NotFound);
            }
            let row = tx
                .query(format!("SELECT {COLUMNS} FROM projects p WHERE p.id = $1"))
                .bind(id.as_uuid())
                .fetch_one()
                .await?;
            Ok((record_from_row(&row)?, None))
        }
    }
}

#[async_trait::async_trait]
impl ProjectStore for SqlStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let mut tx = self.db.begin().await?;
        write(tx.conn(), project, true, None).await?;
        tx.commit().await?;
        self.changes.announce(vec![project.owner_id]);
        Ok(())
    }

    async fn project_for(&self, id: ProjectId, user: UserId) -> StoreResult<Option<(ProjectRecord, ProjectRole)>> {
        let sql = format!(
            "SELECT {COLUMNS}, {ROLE} AS role FROM projects p {MEMBER_JOIN}
             WHERE p.id = $2 AND (p.user_id = $1 OR m.user_id IS NOT NULL)"
        );
        let row = self.db.query(sql).bind(user.as_uuid()).bind(id.as_uuid()).fetch_optional().await?;
        row.map(|row| Ok((record_from_row(&row)?, role(&row)?))).transpose()
    }

    async fn access_info(&self, id: ProjectId, user: UserId) -> StoreResult<Option<AccessInfo>> {
        let sql = format!(
            "SELECT {ROLE} AS role, p.user_id, p.version, p.status FROM projects p {MEMBER_JOIN}
             WHERE p.id = $2 AND (p.user_id = $1 OR m.user_id IS NOT NULL)"
        );
        let row = self.db.query(sql).bind(user.as_uuid()).bind(id.as_uuid()).fetch_optional().await?;
        row.map(|row| {
            Ok(AccessInfo {
                owner_id: UserId(row.uuid("user_id")?),
                role: role(&row)?,
                version: row.get("version")?,
                status: status(&row)?,
            })
        })
        .transpose()
    }

    async fn list_projects(&self, filter: &ProjectQuery) -> StoreResult<(Vec<ProjectListItem>, i64)> {
        // One round trip: the total rides along on every row of the page.
        let page = scoped(self.db.query(format!("SELECT {LIST_COLUMNS}, COUNT(*) OVER () AS total")), filter, true);
        let page = page.push(" ORDER BY p.updated_at DESC, p.id DESC LIMIT ").push_bind(i64::from(filter.size));
        let rows = page.push(" OFFSET ").push_bind(filter.offset()).fetch_all().await?;
        let total = match rows.first() {
            Some(row) => row.get("total")?,
            None if filter.page <= 1 => 0,
            // Past the last page: count on its own.
            None => scoped(self.db.query("SELECT COUNT(*) AS total"), filter, false).fetch_one().await?.get("total")?,
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
        self.apply_change(id, None, change, tasks).await
    }

    async fn change_project_as(
        &self,
        id: ProjectId,
        author: Author,
        change: ProjectChange,
    ) -> StoreResult<ProjectRecord> {
        Ok(self.apply_change(id, Some(author), change, Vec::new()).await?.project)
    }

    async fn set_member(
        &self,
        project: ProjectId,
        user: UserId,
        role: ProjectRole,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
            )
            .bind(project.as_uuid())
            .bind(user.as_uuid())
            .bind(role.as_str())
            .bind(Time(now))
            .execute()
            .await?;
        self.changes.announce(vec![user]);
        Ok(())
    }

    async fn remove_member(&self, project: ProjectId, user: UserId) -> StoreResult<bool> {
        let removed = self
            .db
            .query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project.as_uuid())
            .bind(user.as_uuid())
            .execute()
            .await?
            > 0;
        if removed {
            self.changes.announce(vec![user]);
        }
        Ok(removed)
    }

    async fn members(&self, project: ProjectId) -> StoreResult<Vec<Member>> {
        let rows = self
            .db
            .query(
                "SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM project_members m
                 JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY m.created_at, u.email",
            )
            .bind(project.as_uuid())
            .fetch_all()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Member {
                    user_id: UserId(row.uuid("user_id")?),
                    email: row.get("email")?,
                    name: row.get("name")?,
                    role: role(row)?,
                    since: row.time("created_at")?,
                })
            })
            .collect()
    }

    async fn invite(&self, invitation: &Invitation) -> StoreResult<()> {
        self.db
            .query(
                "INSERT INTO project_invitations (project_id, email, role, invited_by, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (project_id, email) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by,
                    created_at = excluded.created_at, expires_at = excluded.expires_at",
            )
            .bind(invitation.project_id.as_uuid())
            .bind(invitation.email.as_str())
            .bind(invitation.role.as_str())
            .bind(invitation.invited_by.map(|u| u.as_uuid()))
            .bind(Time(invitation.created_at))
            .bind(Time(invitation.expires_at))
            .execute()
            .await?;
        Ok(())
    }

    async fn invitations(&self, project: ProjectId, now: DateTime<Utc>) -> StoreResult<Vec<Invitation>> {
        let rows = self
            .db
            .query(
                "SELECT project_id, email, role, invited_by, created_at, expires_at FROM project_invitations
                 WHERE project_id = $1 AND expires_at > $2 ORDER BY created_at, email",
            )
            .bind(project.as_uuid())
            .bind(Time(now))
            .fetch_all()
            .await?;
        rows.iter().map(invitation_from_row).collect()
    }

    async fn cancel_invitation(&self, project: ProjectId, email: &str) -> StoreResult<bool> {
        let removed = self
            .db
            .query("DELETE FROM project_invitations WHERE project_id = $1 AND email = $2")
            .bind(project.as_uuid())
            .bind(email)
            .execute()
            .await?;
        Ok(removed > 0)
    }

    async fn accept_invitations(&self, user: UserId, email: &str, now: DateTime<Utc>) -> StoreResult<Vec<ProjectId>> {
        let mut tx = self.db.begin().await?;
        let rows = tx
            .query(
                "DELETE FROM project_invitations WHERE email = $1
                 RETURNING project_id, email, role, invited_by, created_at, expires_at",
            )
            .bind(email)
            .fetch_all()
            .await?;
        let mut joined = Vec::new();
        for invitation in rows.iter().map(invitation_from_row) {
            let invitation = invitation?;
            if invitation.expires_at <= now {
                continue;
            }
            // A membership the address holds already (shared after it registered) stays as it is.
            tx.query(
                "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (project_id, user_id) DO NOTHING",
            )
            .bind(invitation.project_id.as_uuid())
            .bind(user.as_uuid())
            .bind(invitation.role.as_str())
            .bind(Time(now))
            .execute()
            .await?;
            joined.push(invitation.project_id);
        }
        tx.commit().await?;
        if !joined.is_empty() {
            self.changes.announce(vec![user]);
        }
        Ok(joined)
    }

    async fn drop_invitations_expired_by(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let dropped =
            self.db.query("DELETE FROM project_invitations WHERE expires_at <= $1").bind(Time(now)).execute().await?;
        Ok(dropped)
    }

    async fn purge_projects_deleted_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<ProjectId>> {
        let rows = self
            .db
            .query("DELETE FROM projects WHERE status = 'deleted' AND deleted_at < $1 RETURNING id, user_id")
            .bind(Time(before))
            .fetch_all()
            .await?;
        let purged = rows.iter().map(|row| Ok(ProjectId(row.uuid("id")?))).collect::<StoreResult<_>>()?;
        let owners = rows.iter().map(|row| Ok(UserId(row.uuid("user_id")?))).collect::<StoreResult<_>>()?;
        self.changes.announce(owners);
        Ok(purged)
    }
}

impl SqlStore {
    /// Every change of a project: locked, changed, its version bumped and written with the tasks
    /// it asks for, in one transaction. A person's change that alters the documents keeps the
    /// version it replaces in the history in the same transaction.
    async fn apply_change(
        &self,
        id: ProjectId,
        author: Option<Author>,
        change: ProjectChange,
        tasks: Vec<NewTask>,
    ) -> StoreResult<Enqueued> {
        let mut tx = self.db.begin().await?;
        let (mut record, members) = lock_project(&mut tx, id).await?;
        if let Some(first) = tasks.first()
            && let Some(existing) = super::tasks::task_by_key(&mut tx.conn(), first).await?
        {
            return Ok(Enqueued { project: record, tasks: vec![existing], created: false });
        }
        let old_terms = record.search_terms();
        let now = Utc::now();
        // Only a version that will be kept is copied before the change.
        let replaced = match author {
            Some(author) if super::revisions::must_keep(&mut tx, &record, author, now).await? => {
                Some(Replaced::of(&record))
            }
            _ => None,
        };
        change(&mut record)?;
        record.version += 1;
        record.updated_at = now;
        record.updated_by = author.map(|a| a.user);
        if let (Some(author), Some(replaced)) = (author, replaced)
            && replaced.differs_from(&record)
        {
            super::revisions::keep(&mut tx, id, replaced, author, now).await?;
        }
        write(tx.conn(), &record, false, Some(old_terms)).await?;
        let mut enqueued = Vec::with_capacity(tasks.len());
        for task in &tasks {
            let created = match super::tasks::insert_task(&mut tx.conn(), task).await? {
                Some(created) => created,
                None => super::tasks::task_by_key(&mut tx.conn(), task).await?.ok_or(StoreError::NotFound)?,
            };
            enqueued.push(created);
        }
        // Reserved once the tasks exist (the reservations name them), before anything commits.
        let new: Vec<&NewTask> = tasks.iter().filter(|t| enqueued.iter().any(|e| e.id == t.id)).collect();
        super::budgets::admit(&mut tx, &new, now).await?;
        tx.commit().await?;
        let mut audience = match members {
            Some(members) => members,
            None => self.members_to_tell(id).await,
        };
        audience.push(record.owner_id);
        let change = crate::ProjectChanged {
            project: record.id,
            version: record.version,
            updated_at: record.updated_at,
            updated_by: record.updated_by,
        };
        self.changes.announce_change(audience, change);
        Ok(Enqueued { project: record, tasks: enqueued, created: true })
    }

    /// The members of a project, for telling them of a change that has committed; a failure to
    /// read them is logged and tells no one (the change itself stands).
    async fn members_to_tell(&self, id: ProjectId) -> Vec<UserId> {
        let rows = self
            .db
            .query("SELECT user_id FROM project_members WHERE project_id = $1")
            .bind(id.as_uuid())
            .fetch_all()
            .await;
        rows.and_then(|rows| rows.iter().map(|row| Ok(UserId(row.uuid("user_id")?))).collect())
            .inspect_err(|error| tracing::warn!(project.id = %id, %error, "members not told of a change"))
            .unwrap_or_default()
    }
}
