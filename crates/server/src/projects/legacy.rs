//! The original app's files: its export (`{version, exportDate, projects: [...]}`), one exported
//! project, or a raw IndexedDB `ProjectState`, turned into project updates.

use super::update::ProjectUpdate;
use cinegen_domain::project::SettingsPatch;
use cinegen_domain::project::settings::{IMAGE_SIZES, normalize_language};
use serde_json::{Map, Value};

/// Keys of the old formats that this importer reads or that only made sense in the old browser app.
const CONSUMED: [&str; 17] = [
    "id",
    "title",
    "createdAt",
    "lastModified",
    "rawScript",
    "scriptData",
    "shots",
    "settings",
    "mergedVideoUrl",
    "stage",
    "targetDuration",
    "language",
    "visualStyle",
    "imageSize",
    "imageCount",
    "genre",
    "isParsingScript",
];

/// The project entries of a legacy file, or why it is not one.
pub fn entries(file: Value) -> Result<Vec<Map<String, Value>>, String> {
    let Value::Object(mut root) = file else { return Err("the file is not a JSON object".into()) };
    if let Some(projects) = root.remove("projects") {
        let Value::Array(list) = projects else { return Err("`projects` is not a list".into()) };
        return list
            .into_iter()
            .enumerate()
            .map(|(i, p)| match p {
                Value::Object(map) => Ok(map),
                _ => Err(format!("projects[{i}] is not an object")),
            })
            .collect();
    }
    if root.contains_key("scriptData") || root.contains_key("shots") || root.contains_key("rawScript") {
        return Ok(vec![root]);
    }
    Err("this is not a CineGen export file, exported project, or project state".into())
}

fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One legacy project as an update for a new project. Settings the new app does not accept are
/// left at their defaults rather than failing the import.
pub fn to_update(mut entry: Map<String, Value>) -> (ProjectUpdate, Option<String>) {
    let settings = match entry.get("settings") {
        Some(Value::Object(s)) => s.clone(),
        _ => entry.clone(), // a ProjectState keeps its settings at the top level
    };
    let script_data = entry.get("scriptData").cloned().filter(|v| !v.is_null());
    let get = |key: &str| text(settings.get(key));
    let title = text(entry.get("title"))
        .or_else(|| script_data.as_ref().and_then(|s| text(s.get("title"))))
        .unwrap_or_else(|| "Untitled".into());
    let genre = get("genre").or_else(|| script_data.as_ref().and_then(|s| text(s.get("genre"))));
    let patch = SettingsPatch {
        title: Some(title.chars().take(200).collect()),
        stage: get("stage").filter(|s| cinegen_domain::project::settings::STAGES.contains(&s.as_str())),
        target_duration: get("targetDuration")
            .filter(|d| cinegen_domain::project::settings::parse_target_duration(d).is_some()),
        language: get("language").filter(|l| normalize_language(l).is_some()),
        visual_style: get("visualStyle"),
        image_size: get("imageSize").filter(|s| IMAGE_SIZES.contains(&s.as_str())),
        image_count: settings.get("imageCount").and_then(Value::as_i64).map(|n| n.clamp(1, 9)),
        genre: genre.map(|g| g.chars().take(200).collect()),
        keep_takes: None,
        ai_label: None,
    };
    let merged_video = text(entry.get("mergedVideoUrl"));
    let update = ProjectUpdate {
        version: None,
        settings: patch,
        status: None,
        raw_script: text(entry.get("rawScript")),
        script_data,
        shots: Some(entry.get("shots").cloned().filter(Value::is_array).unwrap_or(Value::Array(Vec::new()))),
        extra: {
            entry.retain(|key, _| {
                !CONSUMED.contains(&key.as_str()) && !super::update::SERVER_OWNED.contains(&key.as_str())
            });
            entry
        },
        imported: true,
    };
    (update, merged_video)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_three_shapes_are_read() {
        let export = json!({"version": "1.0", "projects": [{"title": "A", "shots": []}, {"title": "B", "shots": []}]});
        assert_eq!(entries(export).unwrap().len(), 2);
        let single = json!({"title": "A", "scriptData": {}, "settings": {}});
        assert_eq!(entries(single).unwrap().len(), 1);
        let state = json!({"id": "x", "title": "A", "rawScript": "", "stage": "director"});
        assert_eq!(entries(state).unwrap().len(), 1);
        assert!(entries(json!({"hello": 1})).is_err());
        assert!(entries(json!([1])).is_err());
    }

    #[test]
    fn settings_come_from_either_place_and_are_forgiving() {
        let exported = json!({"title": "青禾记", "settings": {"language": "中文", "visualStyle": "仙侠古装", "imageCount": 40,
                              "imageSize": "1x1"}, "scriptData": {"genre": "历史片"}, "futureThing": 1,
                              "role": "owner", "owner_id": "someone", "version": 99, "status": "archived",
                              "merged_video_file_id": "0193a000-0000-7000-8000-000000000000"});
        let (update, _) = to_update(entries(exported).unwrap().remove(0));
        assert_eq!(update.settings.language.as_deref(), Some("中文"));
        assert_eq!(update.settings.image_count, Some(9));
        assert_eq!(update.settings.image_size, None);
        assert_eq!(update.settings.genre.as_deref(), Some("历史片"));
        assert_eq!(update.extra.keys().collect::<Vec<_>>(), ["futureThing"]);
        let state = json!({"title": "S", "rawScript": "x", "stage": "director", "targetDuration": "60s",
                           "isParsingScript": false, "mergedVideoUrl": "https://x/v.mp4"});
        let (update, merged) = to_update(entries(state).unwrap().remove(0));
        assert_eq!(update.settings.stage.as_deref(), Some("director"));
        assert!(update.extra.is_empty());
        assert_eq!(merged.as_deref(), Some("https://x/v.mp4"));
    }
}
