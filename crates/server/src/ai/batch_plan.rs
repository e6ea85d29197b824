//! What a batch would make: one item per missing image, keyframe or clip of a project, found
//! in its documents as they are now.

use super::Choice;
use super::handlers::{ImagePayload, VideoPayload};
use super::speech::{SpeechPayload, lines_of};
use super::targets::{self, Target, video_plan};
use crate::tasks::kind::TaskKind;
use cinegen_domain::project::assets::SlotId;
use cinegen_store::ProjectRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

/// The kinds of batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchKind {
    /// Missing character, variation and scene images.
    Images,
    Keyframes,
    Clips,
    /// Every shot's dialogue, spoken.
    Voices,
}

impl BatchKind {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "images" => Some(Self::Images),
            "keyframes" => Some(Self::Keyframes),
            "clips" => Some(Self::Clips),
            "voices" => Some(Self::Voices),
            _ => None,
        }
    }

    /// The capability a batch of this kind calls.
    pub fn capability(self) -> cinegen_providers::Capability {
        match self {
            Self::Images | Self::Keyframes => cinegen_providers::Capability::Image,
            Self::Clips => cinegen_providers::Capability::Video,
            Self::Voices => cinegen_providers::Capability::Speech,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Images => "images",
            Self::Keyframes => "keyframes",
            Self::Clips => "clips",
            Self::Voices => "voices",
        }
    }
}

/// Whether the shot has a clip slot (an `interval` object).
pub fn has_interval(project: &ProjectRecord, shot_id: &str) -> bool {
    targets::shot(project, shot_id).and_then(|s| s.get("interval")).is_some_and(Value::is_object)
}

/// What a batch of one kind would make for a project.
pub struct BatchPlan {
    pub slots: Vec<SlotId>,
    pub items: Vec<TaskKind>,
}

fn file_of(value: &Value, field: &str) -> bool {
    value.get(field).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

fn ids(list: Option<&Value>) -> Vec<(String, &Value)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let id = match item.get("id")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((id, item))
        })
        .collect()
}

/// Which slots a batch makes.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Everything missing.
    Missing,
    /// Every keyframe or clip of these shots, generated before or not ("regenerate selected").
    Shots(&'a [String]),
    /// Every slot whose chosen take is stale ("regenerate stale").
    Stale(&'a HashSet<SlotId>),
}

/// What a batch of `kind` makes for `selection`, each item `candidates` times (every one is kept
/// as a take; the slot shows the last to land).
pub fn plan_batch(
    project: &ProjectRecord,
    kind: BatchKind,
    choice: &Choice,
    image: &Choice,
    selection: Selection<'_>,
    candidates: usize,
) -> BatchPlan {
    let mut plan = select(project, kind, choice, image, selection);
    if candidates > 1 {
        plan.items = plan.items.into_iter().flat_map(|item| std::iter::repeat_n(item, candidates)).collect();
    }
    plan
}

fn select(
    project: &ProjectRecord,
    kind: BatchKind,
    choice: &Choice,
    image: &Choice,
    selection: Selection<'_>,
) -> BatchPlan {
    let mut plan = BatchPlan { slots: vec![], items: vec![] };
    let only = match selection {
        Selection::Shots(ids) => Some(ids),
        _ => None,
    };
    let chosen = |shot_id: &str| only.is_none_or(|ids| ids.iter().any(|id| id == shot_id));
    if let Selection::Stale(stale) = selection {
        return select_stale(project, kind, choice, image, stale);
    }
    match kind {
        BatchKind::Images => {
            for (character_id, character) in ids(project.docs.script_data.get("characters")) {
                let missing: Vec<Target> = ids(character.get("variations"))
                    .into_iter()
                    .filter(|(_, v)| !file_of(v, "referenceImageFileId"))
                    .map(|(variation_id, _)| Target::Variation { character_id: character_id.clone(), variation_id })
                    .collect();
                if file_of(character, "referenceImageFileId") {
                    // The base look exists: each missing variation is an item of its own.
                    for target in missing {
                        let input = ImagePayload::new(target, choice.clone());
                        plan.items.push(input.into());
                    }
                } else {
                    // The base look comes first; its variations follow in the same item, so
                    // they can keep its face.
                    let target = Target::Character { character_id: character_id.clone() };
                    let input = ImagePayload { then: missing, ..ImagePayload::new(target, choice.clone()) };
                    plan.items.push(input.into());
                }
            }
            for (scene_id, scene) in ids(project.docs.script_data.get("scenes")) {
                if !file_of(scene, "referenceImageFileId") {
                    let input = ImagePayload::new(Target::Scene { scene_id }, choice.clone());
                    plan.items.push(input.into());
                }
            }
        }
        BatchKind::Keyframes => {
            for (shot_id, shot) in ids(Some(&project.docs.shots)).into_iter().filter(|(id, _)| chosen(id)) {
                for (keyframe_id, keyframe) in ids(shot.get("keyframes")) {
                    if only.is_some() || !file_of(keyframe, "imageFileId") {
                        plan.slots.push(SlotId::Keyframe { shot: shot_id.clone(), keyframe: keyframe_id.clone() });
                        let target = Target::Keyframe { shot_id: shot_id.clone(), keyframe_id };
                        let input = ImagePayload::new(target, choice.clone());
                        plan.items.push(input.into());
                    }
                }
            }
        }
        BatchKind::Clips => {
            for (shot_id, shot) in ids(Some(&project.docs.shots)).into_iter().filter(|(id, _)| chosen(id)) {
                let done = only.is_none() && shot.get("interval").is_some_and(|i| file_of(i, "videoFileId"));
                if done || video_plan(project, &shot_id, None).is_err() {
                    continue;
                }
                if has_interval(project, &shot_id) {
                    plan.slots.push(SlotId::Clip { shot: shot_id.clone() });
                }
                let input = VideoPayload::new(shot_id, choice.clone(), image.clone());
                plan.items.push(input.into());
            }
        }
        BatchKind::Voices => {
            for (shot_id, shot) in ids(Some(&project.docs.shots)).into_iter().filter(|(id, _)| chosen(id)) {
                let done = only.is_none() && shot.get("voice").is_some_and(|v| file_of(v, "audioFileId"));
                if done || lines_of(project, &shot_id).is_none_or(|lines| lines.is_empty()) {
                    continue;
                }
                plan.slots.push(SlotId::Voice { shot: shot_id.clone() });
                plan.items.push(SpeechPayload { shot_id, choice: choice.clone() }.into());
            }
        }
    }
    plan
}

/// The stale slots of one kind, each an item of its own.
fn select_stale(
    project: &ProjectRecord,
    kind: BatchKind,
    choice: &Choice,
    image: &Choice,
    stale: &HashSet<SlotId>,
) -> BatchPlan {
    let mut plan = BatchPlan { slots: vec![], items: vec![] };
    let mut ordered: Vec<&SlotId> = stale.iter().collect();
    ordered.sort_by_key(|slot| slot.key());
    for slot in ordered {
        match (kind, slot) {
            (BatchKind::Voices, SlotId::Voice { shot }) => {
                if lines_of(project, shot).is_none_or(|lines| lines.is_empty()) {
                    continue;
                }
                plan.slots.push(slot.clone());
                plan.items.push(SpeechPayload { shot_id: shot.clone(), choice: choice.clone() }.into());
            }
            (BatchKind::Clips, SlotId::Clip { shot }) => {
                if video_plan(project, shot, None).is_err() {
                    continue;
                }
                plan.slots.push(slot.clone());
                plan.items.push(VideoPayload::new(shot.clone(), choice.clone(), image.clone()).into());
            }
            (BatchKind::Keyframes, SlotId::Keyframe { .. })
            | (BatchKind::Images, SlotId::Character { .. } | SlotId::Variation { .. } | SlotId::Scene { .. }) => {
                let Some(target) = Target::of_slot(slot) else { continue };
                if matches!(slot, SlotId::Keyframe { .. }) {
                    plan.slots.push(slot.clone());
                }
                plan.items.push(ImagePayload::new(target, choice.clone()).into());
            }
            _ => {}
        }
    }
    plan
}
