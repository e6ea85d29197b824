//! The rules of projects, independent of HTTP: visibility, roles, versions, validation.

use super::access::ProjectAccess;
use super::update::ProjectUpdate;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use cinegen_domain::project::document::{merge_patch, validate_shot};
use cinegen_domain::project::{ChangeError, Documents, ProjectRole, ProjectSettings, ProjectStatus};
use cinegen_domain::{Email, FieldError, ProjectId, UserId, ValidationErrors};
use cinegen_store::{Member, ProjectListItem, ProjectQuery, ProjectRecord, Store, StoreError};
use serde_json::{Map, Value};
use std::sync::Arc;

#[derive(Clone)]
pub struct ProjectService {
    store: Arc<dyn Store>,
}

fn invalid(errors: ValidationErrors) -> ChangeError {
    ChangeError::Invalid(errors)
}

/// Applies the document and extra-field parts of an update, validating what it sets.
fn apply_documents(project: &mut ProjectRecord, update: ProjectUpdate, errors: &mut ValidationErrors) {
    if let Some(raw_script) = update.raw_script {
        project.raw_script = raw_script;
    }
    if let Some(script_data) = update.script_data {
        project.docs.script_data = script_data;
    }
    if let Some(shots) = update.shots {
        project.docs.shots = shots;
    }
    for error in project.docs.validate().0 {
        errors.push(error);
    }
    for (key, value) in update.extra {
        if value.is_null() {
            project.extra.remove(&key);
        } else {
            project.extra.insert(key, value);
        }
    }
}

fn check_version(expected: Option<i64>, current: i64) -> Result<(), ChangeError> {
    match expected {
        Some(version) if version != current => Err(ChangeError::Conflict { current_version: current }),
        _ => Ok(()),
    }
}

impl ProjectService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The caller's access to a project. A project the caller cannot see — someone else's, or a
    /// deleted one shared with them — is `NOT_FOUND`, never `FORBIDDEN`.
    pub async fn authorize(&self, user: UserId, id: ProjectId) -> AppResult<ProjectAccess> {
        let info = self.store.access_info(id, user).await?.ok_or_else(|| AppError::not_found("project"))?;
        if info.status == ProjectStatus::Deleted && !info.role.is_owner() {
            return Err(AppError::not_found("project"));
        }
        Ok(ProjectAccess { id, owner_id: info.owner_id, role: info.role, version: info.version, status: info.status })
    }

    /// The whole project, under the same visibility rule as [`Self::authorize`].
    pub async fn load(&self, user: UserId, id: ProjectId) -> AppResult<(ProjectRecord, ProjectRole)> {
        let (record, role) = self.store.project_for(id, user).await?.ok_or_else(|| AppError::not_found("project"))?;
        if record.status == ProjectStatus::Deleted && !role.is_owner() {
            return Err(AppError::not_found("project"));
        }
        Ok((record, role))
    }

    pub async fn list(&self, query: &ProjectQuery) -> AppResult<(Vec<ProjectListItem>, i64)> {
        Ok(self.store.list_projects(query).await?)
    }

    /// Creates project `id` (chosen by the caller, so assets can be stored under it first).
    pub async fn create(&self, owner: UserId, id: ProjectId, mut update: ProjectUpdate) -> AppResult<ProjectRecord> {
        let mut errors = ValidationErrors::default();
        if update.settings.title.is_none() {
            errors.push(FieldError::new("title", "is required"));
        }
        let mut settings = ProjectSettings::default();
        let title = settings.apply(&update.settings, &mut errors);
        if update.status.take().is_some_and(|s| s != "active") {
            errors.push(FieldError::new("status", "a new project is active"));
        }
        let now = Utc::now();
        let mut project = ProjectRecord {
            id,
            owner_id: owner,
            title: title.unwrap_or_default(),
            status: ProjectStatus::Active,
            settings,
            raw_script: String::new(),
            docs: Documents::default(),
            extra: Map::new(),
            merged_video_file_id: None,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        apply_documents(&mut project, update, &mut errors);
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        self.store.create_project(&project).await?;
        tracing::info!(project.id = %project.id, user.id = %owner, "created project");
        Ok(project)
    }

    /// Puts documents into a project just created (after their inline assets were stored under
    /// it), without a version check: nobody else has seen the project yet.
    pub async fn attach_documents(
        &self,
        id: ProjectId,
        script_data: Option<Value>,
        shots: Option<Value>,
    ) -> AppResult<ProjectRecord> {
        self.change(id, move |project: &mut ProjectRecord| {
            if let Some(script_data) = script_data {
                project.docs.script_data = script_data;
            }
            if let Some(shots) = shots {
                project.docs.shots = shots;
            }
            let errors = project.docs.validate();
            if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
        })
        .await
    }

    /// A full update: it must name the version it was based on.
    pub async fn update(&self, access: &ProjectAccess, update: ProjectUpdate) -> AppResult<ProjectRecord> {
        access.require_editor()?;
        let Some(expected) = update.version else {
            return Err(AppError::validation(ValidationErrors(vec![FieldError::new(
                "version",
                "is required (as a body field or an If-Match header): the version this change is based on",
            )])));
        };
        let role = access.role;
        let change = move |project: &mut ProjectRecord| {
            check_version(Some(expected), project.version)?;
            let mut errors = ValidationErrors::default();
            if let Some(title) = project.settings.apply(&update.settings, &mut errors) {
                project.title = title;
            }
            if let Some(status) = &update.status {
                match ProjectStatus::parse(status) {
                    Some(ProjectStatus::Deleted) => {
                        errors.push(FieldError::new("status", "use DELETE /projects/{id} to delete a project"))
                    }
                    Some(new) if new != project.status && !role.is_owner() => {
                        return Err(ChangeError::Forbidden("only the project's owner can archive or restore it"));
                    }
                    Some(new) => project.status = new,
                    None => errors.push(FieldError::new("status", "must be active or archived")),
                }
            }
            apply_documents(project, update, &mut errors);
            if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
        };
        self.change(access.id, change).await
    }

    /// Merges `patch` into one shot; other shots, and concurrent edits of them, are untouched.
    pub async fn patch_shot(
        &self,
        access: &ProjectAccess,
        shot_id: String,
        patch: Map<String, Value>,
        expected: Option<i64>,
    ) -> AppResult<ProjectRecord> {
        access.require_editor()?;
        refuse_id_change(&patch, &shot_id)?;
        self.change(access.id, move |project: &mut ProjectRecord| {
            check_version(expected, project.version)?;
            let (index, shot) =
                project.docs.shot_mut(&shot_id).ok_or_else(|| ChangeError::Missing(format!("shot '{shot_id}'")))?;
            let mut merged = Value::Object(std::mem::take(shot));
            merge_patch(&mut merged, &Value::Object(patch));
            let mut errors = ValidationErrors::default();
            validate_shot(&merged, &format!("shots[{index}]"), &mut errors);
            *shot = merged.as_object().cloned().unwrap_or_default();
            if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
        })
        .await
    }

    /// Merges `patch` into one keyframe of one shot.
    pub async fn patch_keyframe(
        &self,
        access: &ProjectAccess,
        shot_id: String,
        keyframe_id: String,
        patch: Map<String, Value>,
        expected: Option<i64>,
    ) -> AppResult<ProjectRecord> {
        access.require_editor()?;
        refuse_id_change(&patch, &keyframe_id)?;
        self.change(access.id, move |project: &mut ProjectRecord| {
            check_version(expected, project.version)?;
            let (index, shot) =
                project.docs.shot_mut(&shot_id).ok_or_else(|| ChangeError::Missing(format!("shot '{shot_id}'")))?;
            let keyframe = shot
                .get_mut("keyframes")
                .and_then(Value::as_array_mut)
                .and_then(|list| {
                    list.iter_mut().find(|k| {
                        k.get("id").is_some_and(|id| cinegen_domain::project::document::id_matches(id, &keyframe_id))
                    })
                })
                .ok_or_else(|| ChangeError::Missing(format!("keyframe '{keyframe_id}' of shot '{shot_id}'")))?;
            merge_patch(keyframe, &Value::Object(patch));
            let mut errors = ValidationErrors::default();
            validate_shot(&Value::Object(shot.clone()), &format!("shots[{index}]"), &mut errors);
            if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
        })
        .await
    }

    /// Moves the project to `deleted`; it can be restored until the retention period ends.
    pub async fn delete(&self, access: &ProjectAccess) -> AppResult<ProjectRecord> {
        access.require_owner()?;
        self.change(access.id, |project: &mut ProjectRecord| {
            project.status = ProjectStatus::Deleted;
            project.deleted_at = Some(Utc::now());
            Ok(())
        })
        .await
    }

    pub async fn restore(&self, access: &ProjectAccess) -> AppResult<ProjectRecord> {
        access.require_owner()?;
        if access.status != ProjectStatus::Deleted {
            return Err(AppError::Conflict {
                message: "the project is not deleted".into(),
                details: serde_json::json!({ "status": access.status.as_str() }),
            });
        }
        self.change(access.id, |project: &mut ProjectRecord| {
            project.status = ProjectStatus::Active;
            project.deleted_at = None;
            Ok(())
        })
        .await
    }

    /// Gives the account with `email` a role on the project (or changes it).
    pub async fn share(&self, access: &ProjectAccess, owner: UserId, email: &str, role: &str) -> AppResult<()> {
        access.require_owner()?;
        let mut errors = ValidationErrors::default();
        let email = errors.check(Email::parse(email));
        let role = match role {
            "viewer" => Some(ProjectRole::Viewer),
            "editor" => Some(ProjectRole::Editor),
            _ => {
                errors.push(FieldError::new("role", "must be viewer or editor"));
                None
            }
        };
        let (Some(email), Some(role)) = (email, role) else { return Err(AppError::validation(errors)) };
        let user = self
            .store
            .user_by_email(&email)
            .await?
            .ok_or_else(|| AppError::NotFound("no account with this email".into()))?;
        if user.id == owner {
            let error = FieldError::new("email", "the owner already has every right on the project");
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        self.store.set_member(access.id, user.id, role, Utc::now()).await?;
        tracing::info!(project.id = %access.id, member.id = %user.id, role = %role, "shared project");
        Ok(())
    }

    /// Removes a member: the owner may remove anyone, a member may leave.
    pub async fn unshare(&self, access: &ProjectAccess, caller: UserId, member: UserId) -> AppResult<()> {
        if caller != member {
            access.require_owner()?;
        }
        if self.store.remove_member(access.id, member).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("no such member".into()))
        }
    }

    pub async fn members(&self, access: &ProjectAccess) -> AppResult<Vec<Member>> {
        Ok(self.store.members(access.id).await?)
    }

    /// Deletes for good the projects deleted before `before`.
    pub async fn purge_deleted_before(&self, before: chrono::DateTime<Utc>) -> AppResult<usize> {
        let purged = self.store.purge_projects_deleted_before(before).await?;
        if !purged.is_empty() {
            tracing::info!(count = purged.len(), "purged deleted projects past retention");
        }
        Ok(purged.len())
    }

    async fn change(
        &self,
        id: ProjectId,
        change: impl FnOnce(&mut ProjectRecord) -> Result<(), ChangeError> + Send + 'static,
    ) -> AppResult<ProjectRecord> {
        self.store.change_project(id, Box::new(change)).await.map_err(|error| match error {
            StoreError::NotFound => AppError::not_found("project"),
            other => other.into(),
        })
    }
}

fn refuse_id_change(patch: &Map<String, Value>, id: &str) -> AppResult<()> {
    match patch.get("id") {
        Some(value) if !cinegen_domain::project::document::id_matches(value, id) => {
            Err(AppError::validation(ValidationErrors(vec![FieldError::new("id", "cannot be changed")])))
        }
        _ => Ok(()),
    }
}
