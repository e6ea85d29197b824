//! How projects look on the wire: snake_case project fields around the camelCase documents.

use chrono::{DateTime, Utc};
use cinegen_domain::project::settings::ProjectSettings;
use cinegen_domain::project::{ProjectRole, ProjectStatus};
use cinegen_domain::{ProjectId, UserId};
use cinegen_store::{Member, Person, ProjectListItem, ProjectRecord, Revision, RevisionSummary};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A whole project. Fields this server does not know are returned as they were sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: ProjectId,
    pub owner_id: UserId,
    pub title: String,
    pub stage: String,
    pub target_duration: String,
    pub language: String,
    pub visual_style: String,
    pub image_size: String,
    pub image_count: u8,
    pub genre: String,
    /// Unpinned takes each image or clip slot keeps (1–50); the upkeep prunes older ones.
    pub keep_takes: u8,
    /// Whether the merged film carries the AI-content labels (visible and in its metadata).
    pub ai_label: bool,
    /// The same settings as one object, as the plan answers them.
    pub settings: ProjectSettings,
    pub raw_script: String,
    /// ScriptData (camelCase fields), or null before the script is parsed.
    #[schema(value_type = Object)]
    pub script_data: Value,
    /// Shot[] (camelCase fields).
    #[schema(value_type = Vec<Object>)]
    pub shots: Value,
    pub merged_video_url: Option<String>,
    pub status: ProjectStatus,
    /// The caller's role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<ProjectRole>,
    /// Name it in the next update (`version` or `If-Match`).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Who made the latest change; null when it was a generation. A client that meets a
    /// conflict tells "another tab of yours" from "another person" by it.
    pub updated_by: Option<UserId>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub extra: Map<String, Value>,
}

/// The fields of [`ProjectView`]: an extra field of the same name (written by an older server, or
/// an import) never shadows them on the wire.
const VIEW_FIELDS: [&str; 24] = [
    "id",
    "keep_takes",
    "ai_label",
    "settings",
    "owner_id",
    "title",
    "stage",
    "target_duration",
    "language",
    "visual_style",
    "image_size",
    "image_count",
    "genre",
    "raw_script",
    "script_data",
    "shots",
    "merged_video_url",
    "status",
    "role",
    "version",
    "created_at",
    "updated_at",
    "updated_by",
    "deleted_at",
];

impl ProjectView {
    pub fn new(project: ProjectRecord, role: ProjectRole) -> Self {
        let settings = project.settings;
        let mut extra = project.extra;
        extra.retain(|key, _| !VIEW_FIELDS.contains(&key.as_str()));
        Self {
            settings: settings.clone(),
            id: project.id,
            owner_id: project.owner_id,
            title: project.title,
            stage: settings.stage,
            target_duration: settings.target_duration,
            language: settings.language,
            visual_style: settings.visual_style,
            image_size: settings.image_size,
            image_count: settings.image_count,
            genre: settings.genre,
            keep_takes: settings.keep_takes,
            ai_label: settings.ai_label,
            raw_script: project.raw_script,
            script_data: project.docs.script_data,
            shots: project.docs.shots,
            merged_video_url: None,
            status: project.status,
            role: Some(role),
            version: project.version,
            created_at: project.created_at,
            updated_at: project.updated_at,
            updated_by: project.updated_by,
            deleted_at: project.deleted_at,
            extra,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectEnvelope {
    pub project: ProjectView,
}

/// Progress figures of a project, for its card.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectCounts {
    pub shots: i64,
    pub keyframes_completed: i64,
    pub clips_completed: i64,
}

/// A project in a list: settings and figures, no documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectListItemView {
    pub id: ProjectId,
    pub owner_id: UserId,
    pub title: String,
    pub logline: String,
    pub status: ProjectStatus,
    pub role: ProjectRole,
    pub stage: String,
    pub target_duration: String,
    pub language: String,
    pub visual_style: String,
    pub image_size: String,
    pub image_count: u8,
    pub genre: String,
    /// The first generated image, if any (the plan's name).
    pub thumbnail: Option<String>,
    /// The same link, under this server's earlier name.
    pub thumbnail_url: Option<String>,
    pub counts: ProjectCounts,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it came in from an export of the old browser app; absent for projects made here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<DateTime<Utc>>,
}

impl From<ProjectListItem> for ProjectListItemView {
    fn from(item: ProjectListItem) -> Self {
        let settings = item.settings;
        let link = item.thumbnail.filter(|t| t.starts_with("http"));
        let mut view = Self {
            id: item.id,
            owner_id: item.owner_id,
            title: item.title,
            logline: item.logline,
            status: item.status,
            role: item.role,
            stage: settings.stage,
            target_duration: settings.target_duration,
            language: settings.language,
            visual_style: settings.visual_style,
            image_size: settings.image_size,
            image_count: settings.image_count,
            genre: settings.genre,
            thumbnail: None,
            thumbnail_url: None,
            counts: ProjectCounts {
                shots: item.shot_count,
                keyframes_completed: item.keyframes_done,
                clips_completed: item.clips_done,
            },
            version: item.version,
            created_at: item.created_at,
            updated_at: item.updated_at,
            imported_at: settings.imported_at,
        };
        view.set_thumbnail(link);
        view
    }
}

impl ProjectListItemView {
    /// The first image's link, under the plan's name and under ours.
    pub fn set_thumbnail(&mut self, link: Option<String>) {
        self.thumbnail_url.clone_from(&link);
        self.thumbnail = link;
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub size: u32,
    pub total: i64,
    pub pages: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<ProjectListItemView>,
    pub pagination: Pagination,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: ProjectRole,
    pub since: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        Self { user_id: member.user_id, email: member.email, name: member.name, role: member.role, since: member.since }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersView {
    pub members: Vec<MemberView>,
    /// Addresses invited before they had an account (shown to the owner only); each becomes a
    /// member when it registers.
    pub invitations: Vec<InvitationView>,
}

/// An open invitation for an address with no account yet.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub email: String,
    /// viewer or editor.
    pub role: String,
    pub invited_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Where the invited person registers (this server's address before it): the address is
    /// filled in, and registering with it opens the project to them.
    pub register_path: String,
}

impl From<cinegen_store::Invitation> for InvitationView {
    fn from(invitation: cinegen_store::Invitation) -> Self {
        let email: String = url::form_urlencoded::byte_serialize(invitation.email.as_bytes()).collect();
        Self {
            register_path: format!("/register?email={email}"),
            email: invitation.email,
            role: invitation.role.as_str().to_owned(),
            invited_at: invitation.created_at,
            expires_at: invitation.expires_at,
        }
    }
}

/// The body of `POST /projects`, for the OpenAPI document (the handler reads it as an object, so
/// fields this server does not know are kept as they are).
#[derive(ToSchema)]
#[allow(dead_code, reason = "describes the body; the handler reads a map to keep unknown fields")]
pub struct CreateProjectBody {
    /// 1–200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// script, assets, director or export.
    pub stage: Option<String>,
    /// `30s`, `60s`, `2min`, …
    pub target_duration: Option<String>,
    /// zh, en, ja, fr or es.
    pub language: Option<String>,
    /// A preset id (`realistic`) or its name (`写实`).
    pub visual_style: Option<String>,
    /// `1440x2560` or `2560x1440`.
    pub image_size: Option<String>,
    #[schema(minimum = 1, maximum = 9)]
    pub image_count: Option<u8>,
    pub genre: Option<String>,
    /// Unpinned takes each slot keeps, 1–50 (default 5).
    #[schema(minimum = 1, maximum = 50)]
    pub keep_takes: Option<u8>,
    /// The AI-content labels on the merged film (default on); only the owner may change it.
    pub ai_label: Option<bool>,
    pub raw_script: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub script_data: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub shots: Option<Value>,
}

/// Someone named in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub id: UserId,
    pub name: String,
}

impl From<Person> for PersonView {
    fn from(person: Person) -> Self {
        Self { id: person.id, name: person.name }
    }
}

/// A kept earlier version of a project's documents, with figures for a summary of what changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    pub version: i64,
    /// Who made this version; null for a generation (or an account since deleted).
    pub made_by: Option<PersonView>,
    pub made_at: DateTime<Utc>,
    /// Whose change replaced it, and when.
    pub replaced_by: Option<PersonView>,
    pub replaced_at: DateTime<Utc>,
    pub shot_count: i64,
    pub character_count: i64,
    pub scene_count: i64,
    /// Characters of the written script.
    pub script_chars: i64,
}

impl From<RevisionSummary> for RevisionView {
    fn from(r: RevisionSummary) -> Self {
        Self {
            version: r.version,
            made_by: r.made_by.map(PersonView::from),
            made_at: r.made_at,
            replaced_by: r.replaced_by.map(PersonView::from),
            replaced_at: r.replaced_at,
            shot_count: r.shot_count,
            character_count: r.character_count,
            scene_count: r.scene_count,
            script_chars: r.script_chars,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionsView {
    /// The project's version now (not in the list: it is the project itself).
    pub current_version: i64,
    /// Newest first.
    pub revisions: Vec<RevisionView>,
}

/// A kept version with its documents.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionDetailView {
    pub revision: RevisionView,
    pub raw_script: String,
    #[schema(value_type = Object)]
    pub script_data: Value,
    #[schema(value_type = Vec<Object>)]
    pub shots: Value,
}

impl From<Revision> for RevisionDetailView {
    fn from(revision: Revision) -> Self {
        Self {
            revision: revision.summary.into(),
            raw_script: revision.raw_script,
            script_data: revision.docs.script_data,
            shots: revision.docs.shots,
        }
    }
}
