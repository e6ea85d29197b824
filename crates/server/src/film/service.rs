//! The cut of a project for whoever may see it, and what is made from it.

use super::cut::{Cut, Joined};
use super::subtitles::{self, Format as SubtitleFormat};
use super::timeline::Format as TimelineFormat;
use crate::error::AppResult;
use crate::projects::ProjectService;
use cinegen_domain::{ProjectId, UserId};
use cinegen_store::{ProjectRecord, Store, StoreResult};
use std::sync::Arc;

/// The clips the project's chosen film joined, as its merge recorded them.
async fn joined(store: &dyn Store, project: &ProjectRecord) -> StoreResult<Option<Vec<Joined>>> {
    let Some(film) = project.merged_video_file_id else { return Ok(None) };
    let takes = store.takes(project.id, Some("film")).await?;
    Ok(takes
        .iter()
        .find(|take| take.file_id == film)
        .and_then(|take| take.provenance.pointer("/params/cut"))
        .and_then(|cut| serde_json::from_value(cut.clone()).ok()))
}

/// The cut of `project`: its film's where it has one, else planned.
pub async fn cut_of(store: &dyn Store, project: &ProjectRecord) -> StoreResult<Cut> {
    let joined = joined(store, project).await?;
    Ok(Cut::of(project, joined.as_deref()))
}

/// The files an archive carries beside the film: subtitles and the editors' timelines.
pub fn sidecars(cut: &Cut) -> Vec<(String, String)> {
    let cues = subtitles::cues(cut);
    let mut files = vec![
        ("subtitles.srt".to_owned(), subtitles::render(&cues, SubtitleFormat::Srt, false)),
        ("subtitles.vtt".to_owned(), subtitles::render(&cues, SubtitleFormat::Vtt, false)),
    ];
    for format in [TimelineFormat::Otio, TimelineFormat::Fcpxml, TimelineFormat::Edl] {
        files.push((format!("timeline.{}", format.extension()), format.render(cut)));
    }
    files
}

#[derive(Clone)]
pub struct FilmService {
    store: Arc<dyn Store>,
    projects: ProjectService,
}

impl FilmService {
    pub fn new(store: Arc<dyn Store>, projects: ProjectService) -> Self {
        Self { store, projects }
    }

    /// The cut, for anyone who may see the project.
    pub async fn cut(&self, caller: UserId, id: ProjectId) -> AppResult<Cut> {
        let (project, _) = self.projects.load(caller, id).await?;
        Ok(cut_of(self.store.as_ref(), &project).await?)
    }

    pub async fn subtitles(
        &self,
        caller: UserId,
        id: ProjectId,
        format: SubtitleFormat,
        speakers: bool,
    ) -> AppResult<String> {
        let cut = self.cut(caller, id).await?;
        let text = subtitles::render(&subtitles::cues(&cut), format, speakers);
        self.exported(caller, id, &format!("subtitles.{}", format.extension())).await;
        Ok(text)
    }

    /// The subtitles as cues, for the person editing them (nothing leaves: no export is logged).
    pub async fn cues(&self, caller: UserId, id: ProjectId) -> AppResult<Vec<subtitles::Cue>> {
        Ok(subtitles::cues(&self.cut(caller, id).await?))
    }

    pub async fn timeline(&self, caller: UserId, id: ProjectId, format: TimelineFormat) -> AppResult<String> {
        let text = format.render(&self.cut(caller, id).await?);
        self.exported(caller, id, &format!("timeline.{}", format.extension())).await;
        Ok(text)
    }

    async fn exported(&self, caller: UserId, id: ProjectId, what: &str) {
        let detail = serde_json::json!({});
        crate::audit::record(self.store.as_ref(), Some(id), caller, crate::audit::Action::Exported, what, detail).await;
    }
}
