//! The cut: the shots of the film in order, each with where it starts and how long it plays.
//! Where a film has been merged, its own record of the clips it joined (their measured lengths)
//! is the cut; before that, every shot at its planned length — the timings an animatic or an
//! editor starts from.

use super::dialogue::{self, Line};
use cinegen_domain::project::assets::SlotId;
use cinegen_store::ProjectRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Frames per second of every timeline (the clips' own rate).
pub const FPS: i64 = 24;

/// A shot's planned length where the documents give none, in seconds.
const PLANNED_SECS: f64 = 3.0;

/// One clip a merge joined: the shot and the clip's measured length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Joined {
    pub shot_id: String,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CutShot {
    pub shot_id: String,
    /// 1-based, in cut order.
    pub number: usize,
    /// The scene's location, where the shot names a scene.
    pub scene: Option<String>,
    pub action: String,
    /// First frame on the film.
    pub start: i64,
    pub frames: i64,
    pub lines: Vec<Line>,
    /// The clip as the project archive names it (`clips/{shot}.mp4`), where the shot has one.
    pub media: Option<String>,
    /// The shot's spoken dialogue, where it has some: laid from the shot's first frame.
    pub voice: Option<VoiceRef>,
    /// Subtitles a person edited for this shot (else they are made from its lines).
    pub edited: Option<Vec<EditedCue>>,
}

/// An edited subtitle: seconds from the shot's first frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditedCue {
    pub text: String,
    #[serde(default)]
    pub speaker: Option<String>,
    pub start: f64,
    pub end: f64,
}

/// A shot's voice track as the archive holds it (`voices/{shot}.wav`) and its length.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VoiceRef {
    pub media: String,
    pub frames: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    pub title: String,
    pub width: u32,
    pub height: u32,
    pub shots: Vec<CutShot>,
    /// Whether the timings are a merged film's (else planned).
    pub measured: bool,
}

impl Cut {
    /// The cut of `project`: `joined` is the chosen film's record of its clips, where there is one.
    pub fn of(project: &ProjectRecord, joined: Option<&[Joined]>) -> Self {
        let shots: Vec<&Value> = project.docs.shots.as_array().map(|s| s.iter().collect()).unwrap_or_default();
        let find = |id: &str| shots.iter().copied().find(|s| text(s, "id") == id);
        let order: Vec<(&Value, f64)> = match joined {
            Some(joined) => joined.iter().filter_map(|j| Some((find(&j.shot_id)?, j.seconds))).collect(),
            None => shots.iter().map(|shot| (*shot, planned_secs(shot))).collect(),
        };
        let (width, height) = crate::ai::targets::frame_size(project);
        let mut start = 0;
        let mut cut = Vec::with_capacity(order.len());
        for (n, (shot, seconds)) in order.into_iter().enumerate() {
            let shot_id = text(shot, "id").to_owned();
            let frames = ((seconds * FPS as f64).round() as i64).max(1);
            let has_clip = shot.pointer("/interval/videoFileId").and_then(Value::as_str).is_some_and(|f| !f.is_empty());
            cut.push(CutShot {
                number: n + 1,
                scene: scene_name(project, text(shot, "sceneId")),
                action: text(shot, "actionSummary").to_owned(),
                start,
                frames,
                lines: spoken(project, shot),
                voice: voice_of(shot, &shot_id, frames),
                // Validated on every write; a document that no longer reads is treated as unedited.
                edited: shot.get("subtitles").and_then(|s| serde_json::from_value(s.clone()).ok()),
                media: has_clip
                    .then(|| crate::projects::archive::entry_name(&SlotId::Clip { shot: shot_id.clone() }, "mp4")),
                shot_id,
            });
            start += frames;
        }
        Self { title: project.title.clone(), width, height, shots: cut, measured: joined.is_some() }
    }

    /// Frames of the whole cut.
    pub fn frames(&self) -> i64 {
        self.shots.last().map_or(0, |s| s.start + s.frames)
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The shot's lines; a line that names no speaker in a shot with one character is that
/// character's (how the offline director writes a close-up on whoever speaks).
pub(crate) fn spoken(project: &ProjectRecord, shot: &Value) -> Vec<Line> {
    let mut lines = dialogue::lines(text(shot, "dialogue"));
    let only = match shot.get("characters").and_then(Value::as_array).map(Vec::as_slice) {
        Some([one]) => one.as_str().and_then(|id| character_name(project, id)),
        _ => None,
    };
    if let Some(name) = only {
        for line in lines.iter_mut().filter(|l| l.speaker.is_none()) {
            line.speaker = Some(name.clone());
        }
    }
    lines
}

/// The voice of a shot that has one of known length, no longer than the shot on the film.
fn voice_of(shot: &Value, shot_id: &str, shot_frames: i64) -> Option<VoiceRef> {
    let voice = shot.get("voice")?;
    voice.get("audioFileId").and_then(Value::as_str).filter(|f| !f.is_empty())?;
    let seconds = voice.get("duration").and_then(Value::as_f64).filter(|d| d.is_finite() && *d > 0.0)?;
    let frames = ((seconds * FPS as f64).round() as i64).clamp(1, shot_frames);
    let media = crate::projects::archive::entry_name(&SlotId::Voice { shot: shot_id.to_owned() }, "wav");
    Some(VoiceRef { media, frames })
}

fn character_name(project: &ProjectRecord, id: &str) -> Option<String> {
    let characters = project.docs.script_data.get("characters")?.as_array()?;
    let character = characters.iter().find(|c| c.get("id").is_some_and(|v| v.as_str() == Some(id)))?;
    Some(text(character, "name").to_owned()).filter(|n| !n.is_empty())
}

fn planned_secs(shot: &Value) -> f64 {
    shot.pointer("/interval/duration")
        .and_then(Value::as_f64)
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(PLANNED_SECS)
}

fn scene_name(project: &ProjectRecord, scene_id: &str) -> Option<String> {
    let scenes = project.docs.script_data.get("scenes")?.as_array()?;
    let scene = scenes.iter().find(|s| text(s, "id") == scene_id)?;
    Some(text(scene, "location").to_owned()).filter(|l| !l.is_empty())
}
