//! The rules of projects, independent of HTTP: visibility, roles, versions, validation.

use super::access::{EditorAccess, OwnerAccess, ProjectAccess};
use super::update::ProjectUpdate;
use crate::error::{AppError, AppResult};
use chrono::Utc;
use cinegen_domain::FileId;
use cinegen_domain::project::assets::{TakeSlot, file_id_candidates, retain_file_ids, slot_file_ids, slot_mut};
use cinegen_domain::project::document::{check_shape, merge_patch, validate_shot};
use cinegen_domain::project::{ChangeError, Documents, ProjectRole, ProjectSettings, ProjectStatus};
use cinegen_domain::{Email, FieldError, ProjectId, UserId, ValidationErrors};
use cinegen_store::{Author, Member, ProjectListItem, ProjectQuery, ProjectRecord, Store, StoreError};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// Most file ids one write may bring into a document (far more than a project has slots).
const MAX_FILE_IDS_PER_WRITE: usize = 10_000;

/// What a write does with a file id that is not a ready file of the project: a direct edit is
/// refused (the client sent something wrong), a copied-in document (a new project, an import)
/// loses the id and keeps the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ForeignFiles {
    Refuse,
    Drop,
}

#[derive(Clone)]
pub struct ProjectService {
    pub(super) store: Arc<dyn Store>,
    counters: Arc<dyn crate::ephemeral::Counters>,
    shares_per_hour: u32,
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

/// Holds every stored JSON value of the project, after the change, to a depth and size it can be
/// read back at: a merge patch can nest a value below what it already held.
fn check_shapes(project: &ProjectRecord) -> Result<(), ChangeError> {
    let mut errors = ValidationErrors::default();
    check_shape(&project.docs.script_data, "script_data", &mut errors);
    check_shape(&project.docs.shots, "shots", &mut errors);
    for (key, value) in &project.extra {
        check_shape(value, key, &mut errors);
    }
    if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
}

fn check_version(expected: Option<i64>, current: i64) -> Result<(), ChangeError> {
    match expected {
        Some(version) if version != current => Err(ChangeError::Conflict { current_version: current }),
        _ => Ok(()),
    }
}

/// How long an invitation for an address with no account stays open.
pub const INVITATION_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::days(14);

/// What sharing did.
#[derive(Debug)]
pub enum Shared {
    /// The account is a member now (or has the new role).
    Member,
    /// The address has no account: it is invited.
    Invited(cinegen_store::Invitation),
}

impl ProjectService {
    pub fn new(store: Arc<dyn Store>, counters: Arc<dyn crate::ephemeral::Counters>, shares_per_hour: u32) -> Self {
        Self { store, counters, shares_per_hour }
    }

    /// The caller's access to a project. A project the caller cannot see — someone else's, or a
    /// deleted one shared with them — is `NOT_FOUND`, never `FORBIDDEN`.
    pub async fn authorize(&self, user: UserId, id: ProjectId) -> AppResult<ProjectAccess> {
        let info = self.store.access_info(id, user).await?.ok_or_else(|| AppError::not_found("project"))?;
        if info.status == ProjectStatus::Deleted && !info.role.is_owner() {
            return Err(AppError::not_found("project"));
        }
        Ok(ProjectAccess::new(id, user, info.owner_id, info.role, info.version, info.status))
    }

    /// The whole project, under the same visibility rule as [`Self::authorize`].
    pub async fn load(&self, user: UserId, id: ProjectId) -> AppResult<(ProjectRecord, ProjectRole)> {
        let (record, role) = self.store.project_for(id, user).await?.ok_or_else(|| AppError::not_found("project"))?;
        if record.status == ProjectStatus::Deleted && !role.is_owner() {
            return Err(AppError::not_found("project"));
        }
        Ok((record, role))
    }

    /// The whole project with the caller's access to it, in one read.
    pub async fn load_with_access(&self, user: UserId, id: ProjectId) -> AppResult<(ProjectAccess, ProjectRecord)> {
        let (record, role) = self.load(user, id).await?;
        let access = ProjectAccess::new(id, user, record.owner_id, role, record.version, record.status);
        Ok((access, record))
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
        if update.imported {
            settings.imported_at = Some(now);
        }
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
            updated_by: Some(owner),
            deleted_at: None,
        };
        apply_documents(&mut project, update, &mut errors);
        if errors.is_empty()
            && let Err(ChangeError::Invalid(shape)) = check_shapes(&project)
        {
            errors = shape;
        }
        if !errors.is_empty() {
            return Err(AppError::validation(errors));
        }
        // A new project owns no files yet: ids copied in from elsewhere are not its own.
        let dropped = retain_file_ids(&mut project.docs, |_| false);
        if !dropped.is_empty() {
            tracing::info!(project.id = %project.id, dropped = dropped.len(), "dropped file ids of other projects");
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
        let incoming = [script_data.as_ref(), shots.as_ref()];
        let allowed = self.own_files(id, incoming.into_iter().flatten()).await?;
        self.change_guarded(id, None, allowed, ForeignFiles::Drop, move |project: &mut ProjectRecord| {
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

    /// A full update. Naming the version it was based on makes it conditional (a stale one is
    /// refused with the current version); the plan's clients name none, and write last-wins.
    pub async fn update(&self, access: &EditorAccess, update: ProjectUpdate) -> AppResult<ProjectRecord> {
        let expected = update.version;
        let role = access.role();
        let incoming = [update.script_data.as_ref(), update.shots.as_ref()];
        let allowed = self.own_files(access.id(), incoming.into_iter().flatten()).await?;
        let change = move |project: &mut ProjectRecord| {
            check_version(expected, project.version)?;
            let mut errors = ValidationErrors::default();
            // The AI-content label is the owner's to answer for.
            if update.settings.ai_label.is_some_and(|on| on != project.settings.ai_label) && !role.is_owner() {
                return Err(ChangeError::Forbidden("only the project's owner can turn its AI-content label on or off"));
            }
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
        self.edit_guarded(access, allowed, change).await
    }

    /// Merges `patch` into one shot; other shots, and concurrent edits of them, are untouched.
    pub async fn patch_shot(
        &self,
        access: &EditorAccess,
        shot_id: String,
        patch: Map<String, Value>,
        expected: Option<i64>,
    ) -> AppResult<ProjectRecord> {
        refuse_id_change(&patch, &shot_id)?;
        let allowed = self.own_files(access.id(), patch.values()).await?;
        self.edit_guarded(access, allowed, move |project: &mut ProjectRecord| {
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
        access: &EditorAccess,
        shot_id: String,
        keyframe_id: String,
        patch: Map<String, Value>,
        expected: Option<i64>,
    ) -> AppResult<ProjectRecord> {
        refuse_id_change(&patch, &keyframe_id)?;
        let allowed = self.own_files(access.id(), patch.values()).await?;
        self.edit_guarded(access, allowed, move |project: &mut ProjectRecord| {
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

    /// Puts a take's `file` into its slot (or makes it the merged film), as a person's edit: one
    /// versioned write that keeps the replaced state in the history.
    pub async fn choose_file(
        &self,
        access: &EditorAccess,
        slot: TakeSlot,
        file: FileId,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> AppResult<ProjectRecord> {
        let allowed = HashSet::from([file]);
        self.edit_guarded(access, allowed, move |project: &mut ProjectRecord| {
            match &slot {
                TakeSlot::Film => project.merged_video_file_id = Some(file),
                TakeSlot::Asset(id) => {
                    let mut found =
                        slot_mut(&mut project.docs, id).ok_or_else(|| ChangeError::Missing(id.describe()))?;
                    found.set_file_id(Some(file.to_string()));
                    found.set_url(None);
                    found.set_status("completed");
                    for (key, value) in &fields {
                        found.object.insert(key.clone(), value.clone());
                    }
                }
            }
            Ok(())
        })
        .await
    }

    /// Moves the project to `deleted`; it can be restored until the retention period ends.
    pub async fn delete(&self, access: &OwnerAccess) -> AppResult<ProjectRecord> {
        self.change(access.id(), Some(Author::editing(access.caller())), |project: &mut ProjectRecord| {
            project.status = ProjectStatus::Deleted;
            project.deleted_at = Some(Utc::now());
            Ok(())
        })
        .await
    }

    pub async fn restore(&self, access: &OwnerAccess) -> AppResult<ProjectRecord> {
        if access.status() != ProjectStatus::Deleted {
            return Err(AppError::Conflict {
                message: "the project is not deleted".into(),
                details: serde_json::json!({ "status": access.status().as_str() }),
            });
        }
        self.change(access.id(), Some(Author::editing(access.caller())), |project: &mut ProjectRecord| {
            project.status = ProjectStatus::Active;
            project.deleted_at = None;
            Ok(())
        })
        .await
    }

    /// Gives the account with `email` a role on the project (or changes it). Shares count against
    /// the owner's hourly limit, so a project cannot be used to probe which addresses have accounts.
    /// Shares the project with the account of `email` as `role`; an address with no account yet
    /// is invited instead (its invitation becomes a membership when it registers).
    pub async fn share(&self, access: &OwnerAccess, owner: UserId, email: &str, role: &str) -> AppResult<Shared> {
        use crate::tasks::budget::{Budget, draw_within};
        draw_within(self.counters.as_ref(), owner, Budget::Shares, 1, self.shares_per_hour).await?;
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
        let Some(user) = self.store.user_by_email(&email).await? else {
            let now = Utc::now();
            let invitation = cinegen_store::Invitation {
                project_id: access.id(),
                email: email.as_str().to_owned(),
                role,
                invited_by: Some(owner),
                created_at: now,
                expires_at: now + INVITATION_LIFETIME,
            };
            self.store.invite(&invitation).await?;
            tracing::info!(project.id = %access.id(), role = %role, "invited an address with no account");
            return Ok(Shared::Invited(invitation));
        };
        if user.id == owner {
            let error = FieldError::new("email", "the owner already has every right on the project");
            return Err(AppError::validation(ValidationErrors(vec![error])));
        }
        self.store.set_member(access.id(), user.id, role, Utc::now()).await?;
        tracing::info!(project.id = %access.id(), member.id = %user.id, role = %role, "shared project");
        Ok(Shared::Member)
    }

    /// The project's open invitations: only its owner sees the addresses.
    pub async fn invitations(&self, access: &ProjectAccess) -> AppResult<Vec<cinegen_store::Invitation>> {
        if access.role() != ProjectRole::Owner {
            return Ok(Vec::new());
        }
        Ok(self.store.invitations(access.id(), Utc::now()).await?)
    }

    /// Withdraws the invitation of `email` (owner only).
    pub async fn cancel_invitation(&self, access: &OwnerAccess, email: &str) -> AppResult<()> {
        let email = Email::parse(email).map_err(|e| AppError::validation(ValidationErrors(vec![e])))?;
        if !self.store.cancel_invitation(access.id(), email.as_str()).await? {
            return Err(AppError::not_found("invitation"));
        }
        Ok(())
    }

    /// Removes a member: the owner may remove anyone, a member may leave.
    pub async fn unshare(&self, access: &ProjectAccess, caller: UserId, member: UserId) -> AppResult<()> {
        if caller != member {
            access.owner()?;
        }
        if self.store.remove_member(access.id(), member).await? {
            Ok(())
        } else {
            Err(AppError::NotFound("no such member".into()))
        }
    }

    pub async fn members(&self, access: &ProjectAccess) -> AppResult<Vec<Member>> {
        Ok(self.store.members(access.id()).await?)
    }

    /// Deletes for good the projects deleted before `before`.
    pub async fn purge_deleted_before(&self, before: chrono::DateTime<Utc>) -> AppResult<usize> {
        let purged = self.store.purge_projects_deleted_before(before).await?;
        if !purged.is_empty() {
            tracing::info!(count = purged.len(), "purged deleted projects past retention");
        }
        Ok(purged.len())
    }

    /// The ready files of `project` among the ids `values` mention: the only new file ids a
    /// write may put into the project's documents.
    pub(super) async fn own_files<'a>(
        &self,
        project: ProjectId,
        values: impl IntoIterator<Item = &'a Value>,
    ) -> AppResult<HashSet<FileId>> {
        let candidates = file_id_candidates(values, MAX_FILE_IDS_PER_WRITE);
        if candidates.is_empty() {
            return Ok(HashSet::new());
        }
        let files = self.store.ready_files_of_project(project, &candidates).await?;
        Ok(files.into_iter().map(|f| f.id).collect())
    }

    /// Runs `change`, then holds the documents to the rule that a slot may name only a ready file
    /// of this project: a file id the change brought in must be one of `allowed`. Ids already in
    /// the documents before the change are left alone.
    /// A person's edit: kept in the history as theirs, and refusing files of other projects.
    async fn edit_guarded(
        &self,
        access: &EditorAccess,
        allowed: HashSet<FileId>,
        change: impl FnOnce(&mut ProjectRecord) -> Result<(), ChangeError> + Send + 'static,
    ) -> AppResult<ProjectRecord> {
        let author = Some(Author::editing(access.caller()));
        self.change_guarded(access.id(), author, allowed, ForeignFiles::Refuse, change).await
    }

    pub(super) async fn change_guarded(
        &self,
        id: ProjectId,
        author: Option<Author>,
        allowed: HashSet<FileId>,
        foreign: ForeignFiles,
        change: impl FnOnce(&mut ProjectRecord) -> Result<(), ChangeError> + Send + 'static,
    ) -> AppResult<ProjectRecord> {
        self.change(id, author, move |project: &mut ProjectRecord| {
            let before = slot_file_ids(&mut project.docs);
            change(project)?;
            check_shapes(project)?;
            let refused = retain_file_ids(&mut project.docs, |file| {
                before.contains(file) || file.parse::<FileId>().is_ok_and(|f| allowed.contains(&f))
            });
            match foreign {
                ForeignFiles::Refuse if !refused.is_empty() => Err(invalid(ValidationErrors(
                    refused.into_iter().map(|at| FieldError::new(at, "is not a stored file of this project")).collect(),
                ))),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Runs `change` on the project: as `author`'s (who becomes its `updated_by`, and whose
    /// change of the documents keeps the version replaced in the history), or as a generation's.
    async fn change(
        &self,
        id: ProjectId,
        author: Option<Author>,
        change: impl FnOnce(&mut ProjectRecord) -> Result<(), ChangeError> + Send + 'static,
    ) -> AppResult<ProjectRecord> {
        let change = Box::new(change);
        let changed = match author {
            Some(author) => self.store.change_project_as(id, author, change).await,
            None => self.store.change_project(id, change).await,
        };
        changed.map_err(|error| match error {
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
