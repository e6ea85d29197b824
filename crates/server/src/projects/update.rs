//! What a `PUT /projects/{id}` may change, parsed from the JSON body.
//!
//! Known keys are typed and validated; keys this server does not know are kept in the project's
//! `extra` map (a `null` removes one), so a newer web app never loses data through this server.

use crate::error::{AppError, AppResult};
use cinegen_domain::project::SettingsPatch;
use cinegen_domain::{FieldError, ValidationErrors};
use serde_json::{Map, Value};

/// Keys the server owns or derives; a client may send them back, and they are ignored.
const READ_ONLY: [&str; 10] = [
    "id",
    "role",
    "owner_id",
    "created_at",
    "updated_at",
    "deleted_at",
    "merged_video_url",
    "thumbnail",
    "thumbnail_url",
    "counts",
];

/// Every key of a project that only the server sets: never kept as an extra field, whatever the
/// source (an import above all).
pub const SERVER_OWNED: [&str; 16] = [
    "id",
    "role",
    "owner_id",
    "owner",
    "members",
    "created_at",
    "updated_at",
    "deleted_at",
    "merged_video_url",
    "merged_video_file_id",
    "thumbnail",
    "thumbnail_url",
    "counts",
    "version",
    "status",
    "settings",
];
const SETTINGS: [&str; 10] = [
    "title",
    "stage",
    "target_duration",
    "language",
    "visual_style",
    "image_size",
    "image_count",
    "genre",
    "keep_takes",
    "ai_label",
];

#[derive(Debug, Default)]
pub struct ProjectUpdate {
    pub version: Option<i64>,
    pub settings: SettingsPatch,
    pub status: Option<String>,
    pub raw_script: Option<String>,
    pub script_data: Option<Value>,
    pub shots: Option<Value>,
    pub extra: Map<String, Value>,
    /// Set by an import of the old app's export, never from a request body.
    pub imported: bool,
}

impl ProjectUpdate {
    /// Splits a JSON object into known fields and the rest.
    pub fn parse(body: Map<String, Value>) -> AppResult<Self> {
        let mut update = Self::default();
        let mut settings = Map::new();
        let mut nested = Map::new();
        let mut errors = ValidationErrors::default();
        for (key, value) in body {
            match key.as_str() {
                // The settings object projects are answered with; top-level fields win over it.
                "settings" => match value {
                    Value::Object(object) => nested = object,
                    Value::Null => {}
                    _ => errors.push(FieldError::new("settings", "must be an object")),
                },
                "version" => match value.as_i64() {
                    Some(v) => update.version = Some(v),
                    None => errors.push(FieldError::new("version", "must be an integer")),
                },
                "status" => match value {
                    Value::String(s) => update.status = Some(s),
                    _ => errors.push(FieldError::new("status", "must be a string")),
                },
                "raw_script" => match value {
                    Value::String(s) => update.raw_script = Some(s),
                    Value::Null => update.raw_script = Some(String::new()),
                    _ => errors.push(FieldError::new("raw_script", "must be a string")),
                },
                "script_data" => update.script_data = Some(value),
                "shots" => update.shots = Some(value),
                k if SETTINGS.contains(&k) => {
                    settings.insert(key, value);
                }
                k if READ_ONLY.contains(&k) => {}
                _ => {
                    update.extra.insert(key, value);
                }
            }
        }
        for (key, value) in nested {
            if SETTINGS[1..].contains(&key.as_str()) {
                settings.entry(key).or_insert(value);
            } else {
                errors.push(FieldError::new(format!("settings.{key}"), "is not a project setting"));
            }
        }
        match serde_path_to_error::deserialize::<_, SettingsPatch>(Value::Object(settings)) {
            Ok(patch) => update.settings = patch,
            Err(e) => errors.push(FieldError::new(e.path().to_string(), e.inner().to_string())),
        }
        if errors.is_empty() { Ok(update) } else { Err(AppError::validation(errors)) }
    }
}

/// A version from an `If-Match` header: `5`, `"5"` or `W/"5"`.
pub fn version_from_if_match(value: &str) -> Option<i64> {
    value.trim().trim_start_matches("W/").trim_matches('"').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn known_and_unknown_keys_are_split() {
        let update = ProjectUpdate::parse(object(json!({
            "version": 3, "title": "New", "image_count": 2, "shots": [], "id": "ignored", "futureField": {"x": 1}
        })))
        .unwrap();
        assert_eq!(update.version, Some(3));
        assert_eq!(update.settings.title.as_deref(), Some("New"));
        assert_eq!(update.settings.image_count, Some(2));
        assert_eq!(update.shots, Some(json!([])));
        assert_eq!(update.extra.keys().collect::<Vec<_>>(), ["futureField"]);
    }

    #[test]
    fn the_settings_object_is_read_and_top_level_fields_win() {
        let update = ProjectUpdate::parse(object(json!({
            "settings": {"language": "en", "image_count": 3}, "image_count": 2, "thumbnail": "ignored"
        })))
        .unwrap();
        assert_eq!((update.settings.language.as_deref(), update.settings.image_count), (Some("en"), Some(2)));
        assert!(update.extra.is_empty());
        let error = ProjectUpdate::parse(object(json!({"settings": {"colour": "red"}}))).unwrap_err();
        assert!(error.to_string().contains("settings.colour"), "{error}");
    }

    #[test]
    fn mistyped_settings_name_their_field() {
        let error = ProjectUpdate::parse(object(json!({"image_count": "four"}))).unwrap_err();
        assert!(error.to_string().contains("image_count"), "{error}");
    }

    #[test]
    fn if_match_forms() {
        assert_eq!(version_from_if_match("5"), Some(5));
        assert_eq!(version_from_if_match("\"7\""), Some(7));
        assert_eq!(version_from_if_match("W/\"9\""), Some(9));
        assert_eq!(version_from_if_match("*"), None);
    }
}
