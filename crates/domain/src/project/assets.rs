//! The image and video slots of a project's documents (DESIGN §2, asset references).
//!
//! Each slot is a URL field with a file-id field beside it: `referenceImage` /
//! `referenceImageFileId` on characters, variations and scenes; `imageUrl` / `imageFileId` on
//! keyframes; `videoUrl` / `videoFileId` on a shot's interval; `audioUrl` / `audioFileId` on a
//! shot's `voice` (its dialogue, spoken). The server keeps the file id and
//! mints the URL whenever it serves the document.

use super::document::{Documents, id_matches};
use crate::FileKind;
use serde_json::{Map, Value};

/// Where a slot is, by the ids of the objects around it (stable while the document changes).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "slot", rename_all = "snake_case")]
pub enum SlotId {
    Character {
        character: String,
    },
    Variation {
        character: String,
        variation: String,
    },
    Scene {
        scene: String,
    },
    Keyframe {
        shot: String,
        keyframe: String,
    },
    Clip {
        shot: String,
    },
    /// A shot's dialogue as one spoken track.
    Voice {
        shot: String,
    },
}

impl SlotId {
    pub fn fields(&self) -> (&'static str, &'static str) {
        match self {
            Self::Character { .. } | Self::Variation { .. } | Self::Scene { .. } => {
                ("referenceImage", "referenceImageFileId")
            }
            Self::Keyframe { .. } => ("imageUrl", "imageFileId"),
            Self::Clip { .. } => ("videoUrl", "videoFileId"),
            Self::Voice { .. } => ("audioUrl", "audioFileId"),
        }
    }

    /// The slot's key among takes: `character/c1`, `variation/c1/v1`, `scene/s1`,
    /// `keyframe/shot-1/kf-1`, `clip/shot-1`, each id with `%` and `/` escaped.
    pub fn key(&self) -> String {
        let parts: Vec<&str> = match self {
            Self::Character { character } => vec!["character", character],
            Self::Variation { character, variation } => vec!["variation", character, variation],
            Self::Scene { scene } => vec!["scene", scene],
            Self::Keyframe { shot, keyframe } => vec!["keyframe", shot, keyframe],
            Self::Clip { shot } => vec!["clip", shot],
            Self::Voice { shot } => vec!["voice", shot],
        };
        let mut key = parts[0].to_owned();
        for id in &parts[1..] {
            key.push('/');
            key.push_str(&id.replace('%', "%25").replace('/', "%2F"));
        }
        key
    }

    /// Reads a key [`SlotId::key`] wrote.
    pub fn from_key(key: &str) -> Option<Self> {
        let mut parts = key.split('/');
        let kind = parts.next()?;
        let ids: Vec<String> = parts.map(|p| p.replace("%2F", "/").replace("%25", "%")).collect();
        if ids.iter().any(String::is_empty) {
            return None;
        }
        let slot = match (kind, ids.as_slice()) {
            ("character", [character]) => Self::Character { character: character.clone() },
            ("variation", [character, variation]) => {
                Self::Variation { character: character.clone(), variation: variation.clone() }
            }
            ("scene", [scene]) => Self::Scene { scene: scene.clone() },
            ("keyframe", [shot, keyframe]) => Self::Keyframe { shot: shot.clone(), keyframe: keyframe.clone() },
            ("clip", [shot]) => Self::Clip { shot: shot.clone() },
            ("voice", [shot]) => Self::Voice { shot: shot.clone() },
            _ => return None,
        };
        (slot.key() == key).then_some(slot)
    }

    /// A readable name for reports, e.g. `shots[shot-1].keyframes[kf-1s]`.
    pub fn describe(&self) -> String {
        match self {
            Self::Character { character } => format!("characters[{character}]"),
            Self::Variation { character, variation } => format!("characters[{character}].variations[{variation}]"),
            Self::Scene { scene } => format!("scenes[{scene}]"),
            Self::Keyframe { shot, keyframe } => format!("shots[{shot}].keyframes[{keyframe}]"),
            Self::Clip { shot } => format!("shots[{shot}].interval"),
            Self::Voice { shot } => format!("shots[{shot}].voice"),
        }
    }
}

/// Where a take belongs: an image or clip slot of the documents, or the project's merged film
/// (which is not in the documents).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TakeSlot {
    Asset(SlotId),
    Film,
}

impl TakeSlot {
    const FILM: &str = "film";

    /// `film`, or the asset slot's [`SlotId::key`].
    pub fn key(&self) -> String {
        match self {
            Self::Asset(slot) => slot.key(),
            Self::Film => Self::FILM.to_owned(),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        if key == Self::FILM { Some(Self::Film) } else { SlotId::from_key(key).map(Self::Asset) }
    }
}

/// One slot found in a document.
pub struct Slot<'a> {
    pub id: SlotId,
    pub kind: FileKind,
    pub object: &'a mut Map<String, Value>,
}

impl Slot<'_> {
    pub fn url(&self) -> Option<&str> {
        self.object.get(self.id.fields().0).and_then(Value::as_str).filter(|u| !u.is_empty())
    }

    pub fn file_id(&self) -> Option<&str> {
        self.object.get(self.id.fields().1).and_then(Value::as_str).filter(|u| !u.is_empty())
    }

    pub fn set_url(&mut self, url: Option<String>) {
        let field = self.id.fields().0;
        match url {
            Some(url) => self.object.insert(field.into(), Value::String(url)),
            None => self.object.remove(field),
        };
    }

    pub fn set_file_id(&mut self, id: Option<String>) {
        let field = self.id.fields().1;
        match id {
            Some(id) => self.object.insert(field.into(), Value::String(id)),
            None => self.object.remove(field),
        };
    }

    /// Marks the slot stale (its chosen take was made from inputs that have changed since), or
    /// not. Derived on every read, never kept.
    pub fn set_stale(&mut self, stale: bool) {
        if stale {
            self.object.insert("stale".into(), Value::Bool(true));
        } else {
            self.object.remove("stale");
        }
    }

    /// Sets `status` where the object has one (keyframes, clips and voices).
    pub fn set_status(&mut self, status: &str) {
        if matches!(self.id, SlotId::Keyframe { .. } | SlotId::Clip { .. } | SlotId::Voice { .. }) {
            self.object.insert("status".into(), Value::String(status.into()));
        }
    }
}

fn id_of(object: &Map<String, Value>) -> Option<String> {
    match object.get("id")? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn objects_mut(value: Option<&mut Value>) -> impl Iterator<Item = &mut Map<String, Value>> {
    value.and_then(Value::as_array_mut).into_iter().flatten().filter_map(Value::as_object_mut)
}

/// Calls `visit` on every slot of `docs`.
pub fn for_each_slot(docs: &mut Documents, mut visit: impl FnMut(Slot<'_>)) {
    if let Some(script) = docs.script_data.as_object_mut() {
        for character in objects_mut(script.get_mut("characters")) {
            let Some(character_id) = id_of(character) else { continue };
            for variation in objects_mut(character.get_mut("variations")) {
                let Some(variation_id) = id_of(variation) else { continue };
                let id = SlotId::Variation { character: character_id.clone(), variation: variation_id };
                visit(Slot { id, kind: FileKind::Character, object: variation });
            }
            visit(Slot {
                id: SlotId::Character { character: character_id },
                kind: FileKind::Character,
                object: character,
            });
        }
        for scene in objects_mut(script.get_mut("scenes")) {
            let Some(scene_id) = id_of(scene) else { continue };
            visit(Slot { id: SlotId::Scene { scene: scene_id }, kind: FileKind::Scene, object: scene });
        }
    }
    for shot in objects_mut(Some(&mut docs.shots)) {
        let Some(shot_id) = id_of(shot) else { continue };
        for keyframe in objects_mut(shot.get_mut("keyframes")) {
            let Some(keyframe_id) = id_of(keyframe) else { continue };
            let kind = keyframe.get("type").and_then(Value::as_str).and_then(FileKind::for_keyframe);
            let id = SlotId::Keyframe { shot: shot_id.clone(), keyframe: keyframe_id };
            visit(Slot { id, kind: kind.unwrap_or(FileKind::KeyframeFull), object: keyframe });
        }
        if let Some(interval) = shot.get_mut("interval").and_then(Value::as_object_mut) {
            visit(Slot { id: SlotId::Clip { shot: shot_id.clone() }, kind: FileKind::Video, object: interval });
        }
        if let Some(voice) = shot.get_mut("voice").and_then(Value::as_object_mut) {
            visit(Slot { id: SlotId::Voice { shot: shot_id }, kind: FileKind::Audio, object: voice });
        }
    }
}

fn find_mut<'a>(list: Option<&'a mut Value>, id: &str) -> Option<&'a mut Map<String, Value>> {
    list?.as_array_mut()?.iter_mut().find(|o| o.get("id").is_some_and(|v| id_matches(v, id)))?.as_object_mut()
}

/// The slot `id` names, if the document still has it.
pub fn slot_mut<'a>(docs: &'a mut Documents, id: &SlotId) -> Option<Slot<'a>> {
    let (object, kind) = match id {
        SlotId::Character { character } => {
            (find_mut(docs.script_data.get_mut("characters"), character)?, FileKind::Character)
        }
        SlotId::Variation { character, variation } => {
            let character = find_mut(docs.script_data.get_mut("characters"), character)?;
            (find_mut(character.get_mut("variations"), variation)?, FileKind::Character)
        }
        SlotId::Scene { scene } => (find_mut(docs.script_data.get_mut("scenes"), scene)?, FileKind::Scene),
        SlotId::Keyframe { shot, keyframe } => {
            let shot = find_mut(Some(&mut docs.shots), shot)?;
            let keyframe = find_mut(shot.get_mut("keyframes"), keyframe)?;
            let kind = keyframe.get("type").and_then(Value::as_str).and_then(FileKind::for_keyframe);
            (keyframe, kind.unwrap_or(FileKind::KeyframeFull))
        }
        SlotId::Clip { shot } => {
            (find_mut(Some(&mut docs.shots), shot)?.get_mut("interval")?.as_object_mut()?, FileKind::Video)
        }
        SlotId::Voice { shot } => {
            (find_mut(Some(&mut docs.shots), shot)?.get_mut("voice")?.as_object_mut()?, FileKind::Audio)
        }
    };
    Some(Slot { id: id.clone(), kind, object })
}

/// Makes the object a slot lives in where it is made on first use: a shot's `voice` (the shot
/// itself must exist). Every other slot is the documents' own to make.
pub fn prepare_slot(docs: &mut Documents, id: &SlotId) {
    if let SlotId::Voice { shot } = id
        && let Some(shot) = find_mut(Some(&mut docs.shots), shot)
        && !shot.get("voice").is_some_and(Value::is_object)
    {
        shot.insert("voice".into(), Value::Object(Map::new()));
    }
}

/// Every file id the documents' slots hold.
pub fn slot_file_ids(docs: &mut Documents) -> std::collections::HashSet<String> {
    let mut ids = std::collections::HashSet::new();
    for_each_slot(docs, |slot| {
        if let Some(id) = slot.file_id() {
            ids.insert(id.to_owned());
        }
    });
    ids
}

/// Removes from the slots every file id `keep` refuses; answers where each one sat, as
/// `shots[shot-1].keyframes[k1].imageFileId`.
pub fn retain_file_ids(docs: &mut Documents, mut keep: impl FnMut(&str) -> bool) -> Vec<String> {
    let mut refused = Vec::new();
    for_each_slot(docs, |mut slot| {
        if let Some(id) = slot.file_id().map(str::to_owned)
            && !keep(&id)
        {
            refused.push(format!("{}.{}", slot.id.describe(), slot.id.fields().1));
            slot.set_file_id(None);
        }
    });
    refused
}

/// Every string in `values` that reads as a file id, at most `limit` of them: the ids a write may
/// bring into a document, to be checked against the project's files before it is applied.
pub fn file_id_candidates<'a>(values: impl IntoIterator<Item = &'a Value>, limit: usize) -> Vec<crate::FileId> {
    fn walk(value: &Value, out: &mut Vec<crate::FileId>, limit: usize) {
        if out.len() >= limit {
            return;
        }
        match value {
            Value::String(s) if s.len() == 36 => {
                if let Ok(id) = s.parse() {
                    out.push(id);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out, limit)),
            Value::Object(map) => map.values().for_each(|v| walk(v, out, limit)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for value in values {
        walk(value, &mut out, limit);
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn docs() -> Documents {
        Documents {
            script_data: json!({"characters": [{"id": "c1", "referenceImage": "data:x", "variations": [{"id": "v1"}]}],
                                "scenes": [{"id": "s1", "referenceImage": "https://x/y.png"}]}),
            shots: json!([{"id": "shot-1", "keyframes": [{"id": "k1", "type": "end", "imageUrl": "u"}],
                           "interval": {"id": "i", "videoUrl": "v"}}]),
        }
    }

    #[test]
    fn every_slot_is_visited_with_its_kind() {
        let mut docs = docs();
        let mut seen = Vec::new();
        for_each_slot(&mut docs, |slot| seen.push((slot.id.describe(), slot.kind, slot.url().map(str::to_owned))));
        assert_eq!(seen.len(), 5);
        assert!(seen.contains(&("shots[shot-1].keyframes[k1]".into(), FileKind::KeyframeEnd, Some("u".into()))));
        assert!(seen.contains(&("shots[shot-1].interval".into(), FileKind::Video, Some("v".into()))));
        assert!(seen.contains(&("characters[c1].variations[v1]".into(), FileKind::Character, None)));
    }

    #[test]
    fn slot_keys_read_back_whatever_the_ids_hold() {
        let slots = [
            SlotId::Character { character: "c1".into() },
            SlotId::Variation { character: "c/1".into(), variation: "50%".into() },
            SlotId::Scene { scene: "场景 1".into() },
            SlotId::Keyframe { shot: "shot-1".into(), keyframe: "kf-%2F".into() },
            SlotId::Clip { shot: "shot-1".into() },
            SlotId::Voice { shot: "shot-1".into() },
        ];
        for slot in slots {
            assert_eq!(SlotId::from_key(&slot.key()), Some(slot.clone()), "{}", slot.key());
        }
        assert_eq!(SlotId::Keyframe { shot: "a/b".into(), keyframe: "k".into() }.key(), "keyframe/a%2Fb/k");
        assert_eq!(TakeSlot::from_key("film"), Some(TakeSlot::Film));
        assert_eq!(TakeSlot::from_key("clip/s1"), Some(TakeSlot::Asset(SlotId::Clip { shot: "s1".into() })));
        for bad in ["", "film", "clip", "clip/", "clip/a/b", "keyframe/a", "unknown/a", "clip/a%2f"] {
            assert_eq!(SlotId::from_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn slots_are_found_again_by_id() {
        let mut docs = docs();
        let id = SlotId::Keyframe { shot: "shot-1".into(), keyframe: "k1".into() };
        let mut slot = slot_mut(&mut docs, &id).unwrap();
        slot.set_file_id(Some("f".into()));
        slot.set_url(None);
        slot.set_status("completed");
        assert_eq!(
            docs.shots[0]["keyframes"][0],
            json!({"id": "k1", "type": "end", "imageFileId": "f", "status": "completed"})
        );
        assert!(slot_mut(&mut docs, &SlotId::Scene { scene: "gone".into() }).is_none());
    }

    #[test]
    fn foreign_file_ids_are_found_and_removed() {
        let ours = crate::FileId::new().to_string();
        let theirs = crate::FileId::new().to_string();
        let mut docs = Documents {
            script_data: json!({"scenes": [{"id": "s1", "referenceImageFileId": theirs}]}),
            shots: json!([{"id": "shot-1", "keyframes": [{"id": "k1", "imageFileId": ours}]}]),
        };
        let candidates = file_id_candidates([&docs.script_data, &docs.shots], 100);
        assert_eq!(candidates.len(), 2);
        assert_eq!(slot_file_ids(&mut docs).len(), 2);
        let refused = retain_file_ids(&mut docs, |id| id == ours);
        assert_eq!(refused, ["scenes[s1].referenceImageFileId"]);
        assert_eq!(slot_file_ids(&mut docs).into_iter().collect::<Vec<_>>(), [ours]);
        assert_eq!(file_id_candidates([&json!([theirs, theirs, "x"])], 100).len(), 1, "deduplicated");
    }
}
