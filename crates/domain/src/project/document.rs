//! The documents of a project — `script_data` (ScriptData) and `shots` (Shot[]) — as DESIGN §2
//! gives them, with their camelCase field names.
//!
//! They are stored as the JSON the client sent: the typed views below are used to validate (with
//! the path of every bad field, e.g. `shots[3].keyframes[0].type`) and to read what the server
//! needs, never to rewrite the client's JSON, so unknown fields survive.

use crate::validation::{FieldError, ValidationErrors};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet};

/// Ids in the original app's documents are strings, except story paragraphs' numbers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl Id {
    fn key(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Number(number) => number.to_string(),
        }
    }
}

/// Free text that the original app sometimes stored as a number (`"age": 18`).
#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Text {
    Text(String),
    Number(serde_json::Number),
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScriptDataView {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    genre: Option<String>,
    #[serde(default)]
    logline: Option<String>,
    #[serde(default)]
    target_duration: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    characters: Vec<CharacterView>,
    #[serde(default)]
    scenes: Vec<SceneView>,
    #[serde(default)]
    story_paragraphs: Vec<ParagraphView>,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CharacterView {
    id: Id,
    name: String,
    #[serde(default)]
    gender: Option<Text>,
    #[serde(default)]
    age: Option<Text>,
    #[serde(default)]
    personality: Option<String>,
    #[serde(default)]
    visual_prompt: Option<String>,
    #[serde(default)]
    reference_image: Option<String>,
    #[serde(default)]
    variations: Vec<VariationView>,
    #[serde(default)]
    voice: Option<CharacterVoiceView>,
}

/// How a character speaks: a provider's voice id and its settings (all optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CharacterVoiceView {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    voice_id: Option<String>,
    #[serde(default)]
    speed: Option<f64>,
    #[serde(default)]
    pitch: Option<i32>,
    #[serde(default)]
    emotion: Option<String>,
}

/// The emotions a character's voice may be given (the speech vendors' common set).
pub const VOICE_EMOTIONS: [&str; 6] = ["happy", "sad", "angry", "fearful", "surprised", "calm"];

impl CharacterVoiceView {
    fn check(&self, path: &str, errors: &mut ValidationErrors) {
        let text_ok = |t: &str| !t.trim().is_empty() && t.len() <= 128 && !t.chars().any(char::is_control);
        if self.provider.as_deref().is_some_and(|p| !text_ok(p)) {
            errors.push(FieldError::new(format!("{path}.provider"), "must be 1–128 characters"));
        }
        if self.voice_id.as_deref().is_some_and(|v| !text_ok(v)) {
            errors.push(FieldError::new(format!("{path}.voiceId"), "must be 1–128 characters"));
        }
        if self.speed.is_some_and(|s| !(0.5..=2.0).contains(&s)) {
            errors.push(FieldError::new(format!("{path}.speed"), "must be between 0.5 and 2"));
        }
        if self.pitch.is_some_and(|p| !(-12..=12).contains(&p)) {
            errors.push(FieldError::new(format!("{path}.pitch"), "must be between -12 and 12 semitones"));
        }
        if self.emotion.as_deref().is_some_and(|e| !VOICE_EMOTIONS.contains(&e)) {
            errors.push(FieldError::new(
                format!("{path}.emotion"),
                format!("must be one of {}", VOICE_EMOTIONS.join(", ")),
            ));
        }
    }
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariationView {
    id: Id,
    name: String,
    #[serde(default)]
    visual_prompt: Option<String>,
    #[serde(default)]
    reference_image: Option<String>,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SceneView {
    id: Id,
    location: String,
    #[serde(default)]
    time: Option<String>,
    #[serde(default)]
    atmosphere: Option<String>,
    #[serde(default)]
    visual_prompt: Option<String>,
    #[serde(default)]
    reference_image: Option<String>,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ParagraphView {
    id: Id,
    text: String,
    #[serde(default)]
    scene_ref_id: Option<Id>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum KeyframeType {
    Start,
    End,
    Full,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum GenerationStatus {
    #[default]
    Pending,
    Generating,
    Completed,
    Failed,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShotView {
    id: Id,
    #[serde(default)]
    scene_id: Option<String>,
    #[serde(default)]
    action_summary: Option<String>,
    #[serde(default)]
    dialogue: Option<String>,
    #[serde(default)]
    camera_movement: Option<String>,
    #[serde(default)]
    shot_size: Option<String>,
    #[serde(default)]
    characters: Vec<String>,
    #[serde(default)]
    character_variations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    keyframes: Vec<KeyframeView>,
    #[serde(default)]
    interval: Option<IntervalView>,
    #[serde(default)]
    voice: Option<VoiceTrackView>,
    /// The shot's subtitles as a person edited them; absent: made from the dialogue.
    #[serde(default)]
    subtitles: Option<Vec<SubtitleView>>,
}

/// One edited subtitle of a shot: seconds from the shot's first frame on the film.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SubtitleView {
    text: String,
    #[serde(default)]
    speaker: Option<String>,
    start: f64,
    end: f64,
}

/// The longest subtitle, in characters.
pub const SUBTITLE_CHARS: usize = 500;

/// A shot's dialogue, spoken: the audio file, its length, and whether it is being made.
#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VoiceTrackView {
    #[serde(default)]
    audio_url: Option<String>,
    #[serde(default)]
    audio_file_id: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    status: GenerationStatus,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyframeView {
    id: Id,
    #[serde(rename = "type")]
    kind: KeyframeType,
    #[serde(default)]
    visual_prompt: Option<String>,
    #[serde(default)]
    image_url: Option<String>,
    #[serde(default)]
    image_file_id: Option<String>,
    #[serde(default)]
    status: GenerationStatus,
}

#[expect(dead_code, reason = "deserialised only to validate the JSON's shape")]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IntervalView {
    id: Id,
    #[serde(default)]
    start_keyframe_id: Option<String>,
    #[serde(default)]
    end_keyframe_id: Option<String>,
    #[serde(default)]
    duration: Option<f64>,
    #[serde(default)]
    motion_strength: Option<f64>,
    #[serde(default)]
    video_url: Option<String>,
    #[serde(default)]
    video_file_id: Option<String>,
    #[serde(default)]
    status: GenerationStatus,
}

/// Deserialises `value` as `T`, reporting the failing field under `prefix`.
fn view<T: for<'de> Deserialize<'de>>(value: &Value, prefix: &str) -> Result<T, FieldError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = match path.as_str() {
            "." => prefix.to_owned(),
            p if p.starts_with('[') => format!("{prefix}{p}"),
            p => format!("{prefix}.{p}"),
        };
        let message = error.inner().to_string();
        let message = match message.strip_prefix("missing field `") {
            Some(rest) => format!("{} is required", rest.trim_end_matches('`')),
            None if message.contains("did not match any variant of untagged enum Id") => {
                "must be a string or a number".into()
            }
            None if message.contains("did not match any variant of untagged enum Text") => {
                "must be a string or a number".into()
            }
            None => message,
        };
        FieldError::new(field, message)
    })
}

fn unique<'a>(
    ids: impl Iterator<Item = (usize, &'a Id)>,
    path: &dyn Fn(usize) -> String,
    errors: &mut ValidationErrors,
) {
    let mut seen = HashSet::new();
    for (index, id) in ids {
        let key = id.key();
        if key.is_empty() {
            errors.push(FieldError::new(format!("{}.id", path(index)), "must not be empty"));
        } else if !seen.insert(key.clone()) {
            errors.push(FieldError::new(format!("{}.id", path(index)), format!("duplicates id '{key}'")));
        }
    }
}

/// Validates a ScriptData document; `null` (no script yet) is valid.
pub fn validate_script_data(value: &Value, errors: &mut ValidationErrors) {
    if value.is_null() {
        return;
    }
    let Some(script) = errors.check(view::<ScriptDataView>(value, "script_data")) else { return };
    unique(script.characters.iter().map(|c| &c.id).enumerate(), &|i| format!("script_data.characters[{i}]"), errors);
    for (i, character) in script.characters.iter().enumerate() {
        if let Some(voice) = &character.voice {
            voice.check(&format!("script_data.characters[{i}].voice"), errors);
        }
        unique(
            character.variations.iter().map(|v| &v.id).enumerate(),
            &|j| format!("script_data.characters[{i}].variations[{j}]"),
            errors,
        );
    }
    unique(script.scenes.iter().map(|s| &s.id).enumerate(), &|i| format!("script_data.scenes[{i}]"), errors);
    unique(
        script.story_paragraphs.iter().map(|p| &p.id).enumerate(),
        &|i| format!("script_data.storyParagraphs[{i}]"),
        errors,
    );
}

/// Validates a single shot found at `path` (e.g. `shots[3]`).
pub fn validate_shot(value: &Value, path: &str, errors: &mut ValidationErrors) {
    let Some(shot) = errors.check(view::<ShotView>(value, path)) else { return };
    for (i, cue) in shot.subtitles.iter().flatten().enumerate() {
        let at = format!("{path}.subtitles[{i}]");
        let chars = cue.text.trim().chars().count();
        if chars == 0 || chars > SUBTITLE_CHARS {
            errors.push(FieldError::new(format!("{at}.text"), format!("must be 1–{SUBTITLE_CHARS} characters")));
        }
        if cue.speaker.as_deref().is_some_and(|s| s.chars().count() > 64) {
            errors.push(FieldError::new(format!("{at}.speaker"), "must be at most 64 characters"));
        }
        if !(cue.start.is_finite() && cue.start >= 0.0 && cue.start < 60.0) {
            errors.push(FieldError::new(format!("{at}.start"), "must be 0–60 seconds into the shot"));
        }
        if !(cue.end.is_finite() && cue.end > cue.start && cue.end <= 60.0) {
            errors
                .push(FieldError::new(format!("{at}.end"), "must be after start and at most 60 seconds into the shot"));
        }
    }
    unique(shot.keyframes.iter().map(|k| &k.id).enumerate(), &|i| format!("{path}.keyframes[{i}]"), errors);
    if let Some(interval) = &shot.interval {
        if let Some(duration) = interval.duration
            && !(duration > 0.0 && duration <= 60.0)
        {
            errors.push(FieldError::new(format!("{path}.interval.duration"), "must be between 0 and 60 seconds"));
        }
        if let Some(strength) = interval.motion_strength
            && !(0.0..=10.0).contains(&strength)
        {
            errors.push(FieldError::new(format!("{path}.interval.motionStrength"), "must be between 0 and 10"));
        }
    }
}

/// Validates the shot list.
pub fn validate_shots(value: &Value, errors: &mut ValidationErrors) {
    let Some(shots) = value.as_array() else {
        errors.push(FieldError::new("shots", "must be an array"));
        return;
    };
    let mut ids = Vec::new();
    for (i, shot) in shots.iter().enumerate() {
        validate_shot(shot, &format!("shots[{i}]"), errors);
        ids.push(shot.get("id").and_then(|id| serde_json::from_value::<Id>(id.clone()).ok()));
    }
    let present: Vec<(usize, &Id)> =
        ids.iter().enumerate().filter_map(|(i, id)| id.as_ref().map(|id| (i, id))).collect();
    unique(present.into_iter(), &|i| format!("shots[{i}]"), errors);
}

/// How deep a stored document (or an extra field of a project) may nest. JSON readers refuse
/// deeper input (serde_json at 128 levels), so a document stored any deeper could never be read
/// again; this leaves ample room for the API's envelope around it.
pub const MAX_DEPTH: usize = 64;
/// How many object keys and array items one document may hold in all.
pub const MAX_NODES: usize = 500_000;

/// Depth and node count of a JSON value, walked without recursion so no input can exhaust the
/// stack. Stops counting once either limit is passed.
pub fn shape(value: &Value) -> (usize, usize) {
    let (mut depth, mut nodes) = (0, 0);
    let mut stack = vec![(value, 1usize)];
    while let Some((value, level)) = stack.pop() {
        depth = depth.max(level);
        if depth > MAX_DEPTH || nodes > MAX_NODES {
            break;
        }
        match value {
            Value::Array(items) => {
                nodes += items.len();
                stack.extend(items.iter().map(|v| (v, level + 1)));
            }
            Value::Object(map) => {
                nodes += map.len();
                stack.extend(map.values().map(|v| (v, level + 1)));
            }
            _ => {}
        }
    }
    (depth, nodes)
}

/// Refuses a value nested deeper than [`MAX_DEPTH`] or holding more than [`MAX_NODES`] entries.
pub fn check_shape(value: &Value, path: &str, errors: &mut ValidationErrors) -> bool {
    let (depth, nodes) = shape(value);
    if depth > MAX_DEPTH {
        errors.push(FieldError::new(path, format!("nests deeper than {MAX_DEPTH} levels")));
        false
    } else if nodes > MAX_NODES {
        errors.push(FieldError::new(path, format!("holds more than {MAX_NODES} keys and items")));
        false
    } else {
        true
    }
}

/// A project's two documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Documents {
    pub script_data: Value,
    pub shots: Value,
}

impl Default for Documents {
    fn default() -> Self {
        Self { script_data: Value::Null, shots: Value::Array(Vec::new()) }
    }
}

/// Figures derived from the documents for project lists, kept beside them so a list never parses
/// documents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentSummary {
    pub shot_count: i64,
    pub keyframes_done: i64,
    pub clips_done: i64,
    /// The first generated image: a file reference (`file:<id>`) or an http(s) URL.
    pub thumbnail: Option<String>,
    /// The logline, indexed for search with the title.
    pub logline: String,
}

fn image_ref(file_id: Option<&Value>, url: Option<&Value>) -> Option<String> {
    if let Some(id) = file_id.and_then(Value::as_str).filter(|id| !id.is_empty()) {
        return Some(format!("file:{id}"));
    }
    url.and_then(Value::as_str).filter(|u| u.starts_with("http://") || u.starts_with("https://")).map(str::to_owned)
}

impl Documents {
    pub fn validate(&self) -> ValidationErrors {
        let mut errors = ValidationErrors::default();
        if check_shape(&self.script_data, "script_data", &mut errors) {
            validate_script_data(&self.script_data, &mut errors);
        }
        if check_shape(&self.shots, "shots", &mut errors) {
            validate_shots(&self.shots, &mut errors);
        }
        errors
    }

    pub fn summary(&self) -> DocumentSummary {
        let shots = self.shots.as_array().map(Vec::as_slice).unwrap_or_default();
        let completed = |v: &Value| v.get("status").and_then(Value::as_str) == Some("completed");
        let keyframes =
            || shots.iter().flat_map(|s| s.get("keyframes").and_then(Value::as_array).into_iter().flatten());
        let from_keyframes =
            keyframes().filter(|k| completed(k)).find_map(|k| image_ref(k.get("imageFileId"), k.get("imageUrl")));
        let from_assets = || {
            ["characters", "scenes"].iter().find_map(|list| {
                self.script_data
                    .get(list)?
                    .as_array()?
                    .iter()
                    .find_map(|item| image_ref(item.get("referenceImageFileId"), item.get("referenceImage")))
            })
        };
        DocumentSummary {
            shot_count: shots.len() as i64,
            keyframes_done: keyframes().filter(|k| completed(k)).count() as i64,
            clips_done: shots.iter().filter_map(|s| s.get("interval")).filter(|i| completed(i)).count() as i64,
            thumbnail: from_keyframes.or_else(from_assets),
            logline: self.script_data.get("logline").and_then(Value::as_str).unwrap_or_default().to_owned(),
        }
    }

    /// The shot whose `id` is `shot_id`, for editing in place.
    pub fn shot_mut(&mut self, shot_id: &str) -> Option<(usize, &mut Map<String, Value>)> {
        self.shots.as_array_mut()?.iter_mut().enumerate().find_map(|(i, shot)| {
            let matches = shot.get("id").is_some_and(|id| id_matches(id, shot_id));
            if matches { shot.as_object_mut().map(|s| (i, s)) } else { None }
        })
    }
}

/// Whether a JSON id (string or number) is `wanted`.
pub fn id_matches(id: &Value, wanted: &str) -> bool {
    match id {
        Value::String(s) => s == wanted,
        Value::Number(n) => n.to_string() == wanted,
        _ => false,
    }
}

/// Applies an RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything else
/// replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shot(id: &str) -> Value {
        json!({
            "id": id, "sceneId": "scene-1", "actionSummary": "walks", "cameraMovement": "推近",
            "characters": ["char-1"], "keyframes": [{"id": format!("{id}-s"), "type": "start", "visualPrompt": "p", "status": "pending"}],
            "futureField": {"kept": true}
        })
    }

    fn fields(errors: &ValidationErrors) -> Vec<&str> {
        errors.0.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn valid_documents_pass() {
        let docs = Documents {
            script_data: json!({"title": "t", "characters": [{"id": "c", "name": "n", "age": 18, "variations": []}],
                                "scenes": [], "storyParagraphs": [{"id": 1, "text": "x", "sceneRefId": "s"}]}),
            shots: json!([shot("a"), shot("b")]),
        };
        assert!(docs.validate().is_empty(), "{:?}", docs.validate());
    }

    #[test]
    fn bad_fields_are_reported_with_paths() {
        let mut bad = shot("b");
        bad["keyframes"][0]["type"] = json!("middle");
        let docs =
            Documents { script_data: json!({"characters": "none"}), shots: json!([shot("a"), bad, {"sceneId": "x"}]) };
        let errors = docs.validate();
        assert_eq!(fields(&errors), ["script_data.characters", "shots[1].keyframes[0].type", "shots[2]"], "{errors:?}");
        assert!(errors.0[2].message.contains("id is required"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let docs = Documents { script_data: Value::Null, shots: json!([shot("a"), shot("a")]) };
        assert_eq!(fields(&docs.validate()), ["shots[1].id"]);
    }

    #[test]
    fn summary_counts_and_finds_a_thumbnail() {
        let mut done = shot("a");
        done["keyframes"][0]["status"] = json!("completed");
        done["keyframes"][0]["imageUrl"] = json!("https://cdn.example.com/a.png");
        done["interval"] = json!({"id": "i", "status": "completed", "duration": 5});
        let docs = Documents { script_data: json!({"logline": "少女复仇"}), shots: json!([shot("z"), done]) };
        let summary = docs.summary();
        assert_eq!((summary.shot_count, summary.keyframes_done, summary.clips_done), (2, 1, 1));
        assert_eq!(summary.thumbnail.as_deref(), Some("https://cdn.example.com/a.png"));
        assert_eq!(summary.logline, "少女复仇");
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = json!({"a": 1, "b": {"c": 2, "d": 3}, "keep": true});
        merge_patch(&mut target, &json!({"a": null, "b": {"c": 9}, "e": [1]}));
        assert_eq!(target, json!({"b": {"c": 9, "d": 3}, "keep": true, "e": [1]}));
    }

    #[test]
    fn shots_are_found_by_id() {
        let mut docs = Documents { script_data: Value::Null, shots: json!([shot("a"), shot("b")]) };
        let (index, found) = docs.shot_mut("b").unwrap();
        assert_eq!(index, 1);
        found.insert("dialogue".into(), json!("hi"));
        assert_eq!(docs.shots[1]["dialogue"], "hi");
        assert!(docs.shot_mut("zzz").is_none());
    }
}
