//! The audit log: who generated and who exported what. Every generation that lands is kept as a
//! take (`takes::keep`), and every export is made by a service here, so those two places record
//! it; members of a project read its log. A log write that fails is reported in the server's
//! log and never undoes the work it describes.

use crate::error::AppResult;
use crate::projects::access::ProjectAccess;
use chrono::{DateTime, Utc};
use cinegen_domain::{ProjectId, UserId};
use cinegen_store::{AuditEvent, Store};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Generated,
    Exported,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::Exported => "exported",
        }
    }
}

/// Records one event.
pub async fn record(
    store: &dyn Store,
    project: Option<ProjectId>,
    user: UserId,
    action: Action,
    subject: &str,
    detail: Value,
) {
    let event = AuditEvent {
        id: uuid::Uuid::now_v7(),
        project_id: project,
        user_id: user,
        action: action.as_str().into(),
        subject: subject.into(),
        detail,
        created_at: Utc::now(),
    };
    if let Err(error) = store.record_audit(&event).await {
        tracing::warn!(error = %error, subject, action = action.as_str(), "could not record an audit event");
    }
}

/// One event as members of the project see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: uuid::Uuid,
    /// `generated` or `exported`.
    pub action: String,
    /// A slot (`keyframe/shot-1/k1`, `voice/shot-2`, `film`) or an export (`archive`,
    /// `subtitles.srt`, `timeline.fcpxml`).
    pub subject: String,
    pub user_id: UserId,
    /// The person's name and email as they are now (absent for a deleted account).
    pub user_name: Option<String>,
    pub user_email: Option<String>,
    #[schema(value_type = Object)]
    pub detail: Value,
    pub at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct AuditService {
    store: Arc<dyn Store>,
}

impl AuditService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// A project's log, newest first (`limit` 1–500, before `before`), for anyone who may see it.
    pub async fn of_project(
        &self,
        access: &ProjectAccess,
        before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> AppResult<Vec<AuditView>> {
        let events = self.store.audit_of_project(access.id(), before, limit).await?;
        let mut people = HashMap::new();
        for event in &events {
            if !people.contains_key(&event.user_id) {
                let user = self.store.user_by_id(event.user_id).await?;
                people.insert(event.user_id, user.map(|u| (u.name, u.email.to_string())));
            }
        }
        Ok(events
            .into_iter()
            .map(|event| {
                let person = people.get(&event.user_id).cloned().flatten();
                AuditView {
                    id: event.id,
                    action: event.action,
                    subject: event.subject,
                    user_id: event.user_id,
                    user_name: person.as_ref().map(|p| p.0.clone()),
                    user_email: person.map(|p| p.1),
                    detail: event.detail,
                    at: event.created_at,
                }
            })
            .collect())
    }
}
