use super::SqlStore;
use crate::db::{Row, Time, Tx};
use crate::revisions::{Author, KEEP_PER_PROJECT, Person, Revision, RevisionStore, RevisionSummary, SESSION};
use crate::{ProjectRecord, StoreResult};
use chrono::{DateTime, Utc};
use cinegen_domain::project::Documents;
use cinegen_domain::{ProjectId, UserId};
use serde_json::Value;
use sqlx::types::Json;
use uuid::Uuid;

const SUMMARY: &str = "r.version, r.made_by, made.name AS made_by_name, r.made_at, r.replaced_by, \
    replaced.name AS replaced_by_name, r.replaced_at, r.shot_count, r.character_count, r.scene_count, r.script_chars";
const PEOPLE: &str =
    "LEFT JOIN users made ON made.id = r.made_by LEFT JOIN users replaced ON replaced.id = r.replaced_by";

/// A project's documents as they were before a change, with who made them and when.
pub(super) struct Replaced {
    version: i64,
    made_by: Option<UserId>,
    made_at: DateTime<Utc>,
    raw_script: String,
    docs: Documents,
}

impl Replaced {
    pub(super) fn of(record: &ProjectRecord) -> Self {
        Self {
            version: record.version,
            made_by: record.updated_by,
            made_at: record.updated_at,
            raw_script: record.raw_script.clone(),
            docs: record.docs.clone(),
        }
    }

    fn figures(&self) -> Figures {
        Figures::of(&self.raw_script, &self.docs)
    }

    /// Whether `record` holds other documents than these.
    pub(super) fn differs_from(&self, record: &ProjectRecord) -> bool {
        self.raw_script != record.raw_script || self.docs != record.docs
    }
}

/// What the history list shows of a version's documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Figures {
    shots: i64,
    characters: i64,
    scenes: i64,
    script_chars: i64,
}

impl Figures {
    fn of(raw_script: &str, docs: &Documents) -> Self {
        Self {
            shots: docs.shots.as_array().map_or(0, |shots| shots.len() as i64),
            characters: count(docs, "characters"),
            scenes: count(docs, "scenes"),
            script_chars: raw_script.chars().count() as i64,
        }
    }
}

fn person(row: &Row, id: &str, name: &str) -> StoreResult<Option<Person>> {
    Ok(match (row.get::<Option<Uuid>>(id)?, row.get::<Option<String>>(name)?) {
        (Some(id), Some(name)) => Some(Person { id: UserId(id), name }),
        _ => None,
    })
}

fn summary_from_row(row: &Row) -> StoreResult<RevisionSummary> {
    Ok(RevisionSummary {
        version: row.get("version")?,
        made_by: person(row, "made_by", "made_by_name")?,
        made_at: row.time("made_at")?,
        replaced_by: person(row, "replaced_by", "replaced_by_name")?,
        replaced_at: row.time("replaced_at")?,
        shot_count: row.get("shot_count")?,
        character_count: row.get("character_count")?,
        scene_count: row.get("scene_count")?,
        script_chars: row.get("script_chars")?,
    })
}

fn count(docs: &Documents, list: &str) -> i64 {
    docs.script_data.get(list).and_then(Value::as_array).map_or(0, |items| items.len() as i64)
}

/// Whether the version `current` is now must be kept when `author`'s change replaces it. Asked
/// before the change, so the common case — one more autosave in a session — costs one small read
/// and never copies the documents.
///
/// Within a session (the same person's changes, less than [`SESSION`] after the version kept
/// when it began) nothing more is kept for a state that person made; nor for a state a
/// generation made (pictures landing) when the last kept one is a generation's state of the
/// same figures. A generation's state of other figures (a parse, new shots) is always kept.
pub(super) async fn must_keep(
    tx: &mut Tx,
    current: &ProjectRecord,
    author: Author,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    if author.keep_replaced {
        return Ok(true);
    }
    let last = tx
        .query(
            "SELECT replaced_by, replaced_at, made_by, shot_count, character_count, scene_count, script_chars
             FROM project_revisions WHERE project_id = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(current.id.as_uuid())
        .fetch_optional()
        .await?;
    let Some(last) = last else { return Ok(true) };
    let in_session = last.get::<Option<Uuid>>("replaced_by")? == Some(author.user.as_uuid())
        && now - last.time("replaced_at")? < SESSION;
    if !in_session {
        return Ok(true);
    }
    let theirs = current.updated_by == Some(author.user);
    let last_figures = Figures {
        shots: last.get("shot_count")?,
        characters: last.get("character_count")?,
        scenes: last.get("scene_count")?,
        script_chars: last.get("script_chars")?,
    };
    let same_generation = current.updated_by.is_none()
        && last.get::<Option<Uuid>>("made_by")?.is_none()
        && Figures::of(&current.raw_script, &current.docs) == last_figures;
    Ok(!(theirs || same_generation))
}

/// Keeps `replaced` as an earlier version of `project`, replaced by `author` at `now`, and drops
/// the oldest beyond the per-project cap. Runs in the change's transaction.
pub(super) async fn keep(
    tx: &mut Tx,
    project: ProjectId,
    replaced: Replaced,
    author: Author,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let figures = replaced.figures();
    let script_data = (!replaced.docs.script_data.is_null()).then_some(Json(&replaced.docs.script_data));
    tx.query(
        "INSERT INTO project_revisions (project_id, version, made_by, made_at, replaced_by, replaced_at, raw_script,
            script_data, shots, shot_count, character_count, scene_count, script_chars)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (project_id, version) DO NOTHING",
    )
    .bind(project.as_uuid())
    .bind(replaced.version)
    .bind(replaced.made_by.map(|u| u.as_uuid()))
    .bind(Time(replaced.made_at))
    .bind(author.user.as_uuid())
    .bind(Time(now))
    .bind(&replaced.raw_script)
    .bind(script_data)
    .bind(Json(&replaced.docs.shots))
    .bind(figures.shots)
    .bind(figures.characters)
    .bind(figures.scenes)
    .bind(figures.script_chars)
    .execute()
    .await?;
    // With fewer kept than the cap, the sub-select finds no row and nothing is dropped.
    tx.query(
        "DELETE FROM project_revisions WHERE project_id = $1 AND version < (SELECT version FROM project_revisions
            WHERE project_id = $1 ORDER BY version DESC LIMIT 1 OFFSET $2)",
    )
    .bind(project.as_uuid())
    .bind(KEEP_PER_PROJECT - 1)
    .execute()
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl RevisionStore for SqlStore {
    async fn revisions(&self, project: ProjectId) -> StoreResult<Vec<RevisionSummary>> {
        self.db
            .query(format!(
                "SELECT {SUMMARY} FROM project_revisions r {PEOPLE} WHERE r.project_id = $1 ORDER BY r.version DESC"
            ))
            .bind(project.as_uuid())
            .fetch_all()
            .await?
            .iter()
            .map(summary_from_row)
            .collect()
    }

    async fn revision(&self, project: ProjectId, version: i64) -> StoreResult<Option<Revision>> {
        let row = self
            .db
            .query(format!(
                "SELECT {SUMMARY}, r.raw_script, r.script_data, r.shots FROM project_revisions r {PEOPLE}
                 WHERE r.project_id = $1 AND r.version = $2"
            ))
            .bind(project.as_uuid())
            .bind(version)
            .fetch_optional()
            .await?;
        row.map(|row| {
            Ok(Revision {
                summary: summary_from_row(&row)?,
                raw_script: row.get("raw_script")?,
                docs: Documents {
                    script_data: row.get::<Option<Value>>("script_data")?.unwrap_or(Value::Null),
                    shots: row.get("shots")?,
                },
            })
        })
        .transpose()
    }

    async fn prune_revisions_before(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.db.query("DELETE FROM project_revisions WHERE replaced_at < $1").bind(Time(before)).execute().await
    }
}
