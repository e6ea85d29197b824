//! What a generation is about, found by id in the project's documents: the prompt, the size, the
//! reference images and the slot its result goes into.

use cinegen_domain::project::assets::SlotId;
use cinegen_domain::project::document::id_matches;
use cinegen_domain::project::settings::VISUAL_STYLES;
use cinegen_domain::{FileId, FileKind};
use cinegen_store::ProjectRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The object an image or prompt is made for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    /// A character's base look.
    Character {
        character_id: String,
    },
    /// A wardrobe variation; the base look is the face reference.
    Variation {
        character_id: String,
        variation_id: String,
    },
    Scene {
        scene_id: String,
    },
    /// A shot's start, end or full (grid) frame.
    Keyframe {
        shot_id: String,
        keyframe_id: String,
    },
}

impl Target {
    /// The image target of a slot (a clip's slot is not an image's).
    pub fn of_slot(slot: &SlotId) -> Option<Self> {
        Some(match slot.clone() {
            SlotId::Character { character } => Self::Character { character_id: character },
            SlotId::Variation { character, variation } => {
                Self::Variation { character_id: character, variation_id: variation }
            }
            SlotId::Scene { scene } => Self::Scene { scene_id: scene },
            SlotId::Keyframe { shot, keyframe } => Self::Keyframe { shot_id: shot, keyframe_id: keyframe },
            SlotId::Clip { .. } | SlotId::Voice { .. } => return None,
        })
    }

    pub fn slot(&self) -> SlotId {
        match self.clone() {
            Self::Character { character_id } => SlotId::Character { character: character_id },
            Self::Variation { character_id, variation_id } => {
                SlotId::Variation { character: character_id, variation: variation_id }
            }
            Self::Scene { scene_id } => SlotId::Scene { scene: scene_id },
            Self::Keyframe { shot_id, keyframe_id } => SlotId::Keyframe { shot: shot_id, keyframe: keyframe_id },
        }
    }

    pub fn describe(&self) -> String {
        self.slot().describe()
    }
}

/// The entry of `list` (an array of objects) whose `id` is `id`.
pub fn find<'a>(list: Option<&'a Value>, id: &str) -> Option<&'a Value> {
    list?.as_array()?.iter().find(|item| item.get("id").is_some_and(|v| id_matches(v, id)))
}

pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("").trim()
}

fn file_id(value: &Value, field: &str) -> Option<FileId> {
    value.get(field)?.as_str()?.parse().ok()
}

pub fn character<'a>(project: &'a ProjectRecord, id: &str) -> Option<&'a Value> {
    find(project.docs.script_data.get("characters"), id)
}

pub fn scene<'a>(project: &'a ProjectRecord, id: &str) -> Option<&'a Value> {
    find(project.docs.script_data.get("scenes"), id)
}

pub fn shot<'a>(project: &'a ProjectRecord, id: &str) -> Option<&'a Value> {
    find(Some(&project.docs.shots), id)
}

/// The style words added to every image prompt, in the project's language.
pub fn style_words(project: &ProjectRecord) -> String {
    let style = project.settings.visual_style.as_str();
    match VISUAL_STYLES.iter().find(|(id, _)| *id == style) {
        Some((_, name)) if project.settings.language == "zh" => format!("{name}风格"),
        Some((id, _)) => format!("{} style", id.replace('-', " ")),
        None => style.to_owned(),
    }
}

/// Width and height of the project's keyframes (`1440x2560` or `2560x1440`).
pub fn frame_size(project: &ProjectRecord) -> (u32, u32) {
    let (w, h) = project.settings.image_size.split_once('x').unwrap_or(("1440", "2560"));
    (w.parse().unwrap_or(1440), h.parse().unwrap_or(2560))
}

/// Character sheets are 3:4, scene concepts 16:9 (DESIGN §1).
pub const CHARACTER_SIZE: (u32, u32) = (1080, 1440);
pub const SCENE_SIZE: (u32, u32) = (1920, 1080);

#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub slot: SlotId,
    pub kind: FileKind,
    pub prompt: String,
    pub width: u32,
    pub height: u32,
    /// 1, or the panels of a storyboard grid (a shot's full frame: the project's panel count).
    pub panels: u8,
    /// Images the result must agree with: the base look of a variation; the scene and each
    /// character's chosen look for a keyframe.
    pub references: Vec<FileId>,
    /// A keyframe's storyboard card (what the offline provider draws).
    pub card: Option<cinegen_media::Card>,
}

fn join(parts: &[&str], zh: bool) -> String {
    parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(if zh { "，" } else { ", " })
}

/// Plans the image for `target`, or names what is missing.
pub fn image_plan(project: &ProjectRecord, target: &Target) -> Result<ImagePlan, String> {
    let zh = project.settings.language == "zh";
    let style = style_words(project);
    let slot = target.slot();
    match target {
        Target::Character { character_id } => {
            let c = character(project, character_id).ok_or_else(|| format!("character '{character_id}'"))?;
            let base = if text(c, "visualPrompt").is_empty() { text(c, "name") } else { text(c, "visualPrompt") };
            let (width, height) = CHARACTER_SIZE;
            Ok(ImagePlan {
                slot,
                kind: FileKind::Character,
                prompt: join(&[base, &style], zh),
                width,
                height,
                panels: 1,
                references: vec![],
                card: None,
            })
        }
        Target::Variation { character_id, variation_id } => {
            let c = character(project, character_id).ok_or_else(|| format!("character '{character_id}'"))?;
            let v = find(c.get("variations"), variation_id)
                .ok_or_else(|| format!("variation '{variation_id}' of character '{character_id}'"))?;
            let base = if text(v, "visualPrompt").is_empty() { text(v, "name") } else { text(v, "visualPrompt") };
            let keep = if zh { "保持同一张脸" } else { "same face as the reference" };
            let (width, height) = CHARACTER_SIZE;
            Ok(ImagePlan {
                slot,
                kind: FileKind::Character,
                prompt: join(&[text(c, "name"), base, keep, &style], zh),
                width,
                height,
                panels: 1,
                references: file_id(c, "referenceImageFileId").into_iter().collect(),
                card: None,
            })
        }
        Target::Scene { scene_id } => {
            let s = scene(project, scene_id).ok_or_else(|| format!("scene '{scene_id}'"))?;
            let base = if text(s, "visualPrompt").is_empty() {
                join(&[text(s, "location"), text(s, "time"), text(s, "atmosphere")], zh)
            } else {
                text(s, "visualPrompt").to_owned()
            };
            let (width, height) = SCENE_SIZE;
            Ok(ImagePlan {
                slot,
                kind: FileKind::Scene,
                prompt: join(&[&base, &style], zh),
                width,
                height,
                panels: 1,
                references: vec![],
                card: None,
            })
        }
        Target::Keyframe { shot_id, keyframe_id } => {
            let shot = shot(project, shot_id).ok_or_else(|| format!("shot '{shot_id}'"))?;
            let keyframe = find(shot.get("keyframes"), keyframe_id)
                .ok_or_else(|| format!("keyframe '{keyframe_id}' of shot '{shot_id}'"))?;
            let kind = FileKind::for_keyframe(text(keyframe, "type")).unwrap_or(FileKind::KeyframeFull);
            let base = if text(keyframe, "visualPrompt").is_empty() {
                text(shot, "actionSummary")
            } else {
                text(keyframe, "visualPrompt")
            };
            let panels =
                if kind == FileKind::KeyframeFull { project.settings.image_count.clamp(1, 9) as u8 } else { 1 };
            let grid = match panels {
                1 => String::new(),
                n if zh => format!("{n}格分镜拼图"),
                n => format!("{n}-panel storyboard grid"),
            };
            let mut references = Vec::new();
            if let Some(scene) = shot.get("sceneId").and_then(Value::as_str).and_then(|id| scene(project, id)) {
                references.extend(file_id(scene, "referenceImageFileId"));
            }
            let scenery = references.len();
            for id in shot.get("characters").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                let Some(c) = character(project, id) else { continue };
                let chosen = shot
                    .get("characterVariations")
                    .and_then(|m| m.get(id))
                    .and_then(Value::as_str)
                    .and_then(|v| find(c.get("variations"), v))
                    .and_then(|v| file_id(v, "referenceImageFileId"));
                references.extend(chosen.or_else(|| file_id(c, "referenceImageFileId")));
            }
            let (width, height) = frame_size(project);
            let prompt = join(&[base, &grid, &style], zh);
            let card = (panels == 1).then(|| cinegen_media::Card {
                picture: prompt.clone(),
                skip_references: scenery,
                ..storyboard_card(project, shot, text(keyframe, "type"))
            });
            Ok(ImagePlan { slot, kind, prompt, width, height, panels, references, card })
        }
    }
}

/// The storyboard card of one of `shot`'s keyframes (`start`, `end`): its number in the shot
/// list, scene and time of day, size, movement, who is in frame, the action and the dialogue.
fn storyboard_card(project: &ProjectRecord, shot: &Value, frame: &str) -> cinegen_media::Card {
    let zh = project.settings.language == "zh";
    let shots = project.docs.shots.as_array().map(Vec::as_slice).unwrap_or_default();
    let number = shots.iter().position(|s| s.get("id") == shot.get("id")).map_or(0, |n| n + 1);
    let end = match (frame, zh) {
        ("end", true) => " 尾帧",
        ("end", false) => " (end)",
        _ => "",
    };
    let scene = shot.get("sceneId").and_then(Value::as_str).and_then(|id| scene(project, id));
    let scene = scene.map(|s| join(&[text(s, "location"), text(s, "time")], zh)).unwrap_or_default();
    let names: Vec<&str> = shot
        .get("characters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|id| character(project, id))
        .map(|c| text(c, "name"))
        .filter(|n| !n.is_empty())
        .collect();
    let seconds = shot.pointer("/interval/duration").and_then(Value::as_f64);
    let labels = if zh { ["人物：", "动作：", "对白："] } else { ["Cast: ", "Action: ", "Dialogue: "] };
    cinegen_media::Card {
        number: if zh {
            format!("镜头 {number} / {}{end}", shots.len())
        } else {
            format!("SHOT {number} / {}{end}", shots.len())
        },
        scene: scene.replace(if zh { "，" } else { ", " }, " · "),
        shot_size: text(shot, "shotSize").to_owned(),
        movement: text(shot, "cameraMovement").to_owned(),
        characters: names.join(if zh { "、" } else { ", " }),
        action: text(shot, "actionSummary").to_owned(),
        dialogue: text(shot, "dialogue").to_owned(),
        length: seconds.map(|s| if zh { format!("{s} 秒") } else { format!("{s} s") }).unwrap_or_default(),
        labels: labels.map(str::to_owned),
        picture: String::new(),
        skip_references: 0,
    }
}

/// One keyframe of a shot, and its image if it has one.
#[derive(Debug, Clone)]
pub struct FrameRef {
    pub keyframe_id: String,
    pub file: Option<FileId>,
}

#[derive(Debug, Clone)]
pub struct VideoPlan {
    pub start: Option<FrameRef>,
    pub end: Option<FrameRef>,
    pub full: Option<FrameRef>,
    /// Seconds.
    pub duration: f64,
    pub prompt: String,
    pub panels: u32,
    /// The shot's camera movement as written (also in `prompt`).
    pub camera_movement: String,
}

fn frame(shot: &Value, id: Option<&str>, kind: &str) -> Option<FrameRef> {
    let keyframes = shot.get("keyframes").and_then(Value::as_array)?;
    let found = match id {
        Some(id) => keyframes.iter().find(|k| k.get("id").is_some_and(|v| id_matches(v, id))),
        None => keyframes.iter().find(|k| text(k, "type") == kind),
    }?;
    let keyframe_id = match found.get("id")? {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(FrameRef { keyframe_id, file: file_id(found, "imageFileId") })
}

/// The id of `shot_id`'s keyframe of `kind` (`start`, `end`, `full`), if it has one.
pub fn keyframe_of_type(project: &ProjectRecord, shot_id: &str, kind: &str) -> Option<String> {
    frame(shot(project, shot_id)?, None, kind).map(|f| f.keyframe_id)
}

/// Plans the clip of `shot_id`: its keyframes, duration, and a prompt with camera movement and
/// shot size.
pub fn video_plan(project: &ProjectRecord, shot_id: &str, duration: Option<f64>) -> Result<VideoPlan, String> {
    let shot = shot(project, shot_id).ok_or_else(|| format!("shot '{shot_id}'"))?;
    let interval = shot.get("interval");
    let linked = |field: &str| interval.and_then(|i| i.get(field)).and_then(Value::as_str).filter(|s| !s.is_empty());
    let start = frame(shot, linked("startKeyframeId"), "start");
    let end = frame(shot, linked("endKeyframeId"), "end");
    let full = frame(shot, None, "full");
    if start.is_none() && full.is_none() {
        return Err(format!("a start or full keyframe of shot '{shot_id}'"));
    }
    let duration = duration
        .or_else(|| interval.and_then(|i| i.get("duration")).and_then(Value::as_f64))
        .filter(|d| *d > 0.0)
        .unwrap_or(5.0)
        .clamp(1.0, 60.0);
    let zh = project.settings.language == "zh";
    let prompt = join(
        &[text(shot, "shotSize"), text(shot, "cameraMovement"), text(shot, "actionSummary"), &style_words(project)],
        zh,
    );
    let panels = project.settings.image_count.clamp(1, 9) as u32;
    let camera_movement = text(shot, "cameraMovement").to_owned();
    Ok(VideoPlan { start, end, full, duration, prompt, panels, camera_movement })
}
