//! The export file of the original app — `{version, exportDate, projects: [...]}` — written for one
//! project, so that an export can be imported again (here or by the legacy importer).

use cinegen_store::ProjectRecord;
use serde_json::{Map, Value, json};

pub const FORMAT_VERSION: &str = "1.0";

/// One project in the export format; `merged_video_url` is the film's URL, when there is one.
pub fn project_entry(project: &ProjectRecord, merged_video_url: Option<String>) -> Value {
    let settings = &project.settings;
    let mut entry = Map::new();
    // Unknown fields first, so the known ones below win on a clash.
    entry.extend(project.extra.clone());
    entry.extend([
        ("id".into(), json!(project.id)),
        ("title".into(), json!(project.title)),
        ("createdAt".into(), json!(project.created_at.timestamp_millis())),
        ("lastModified".into(), json!(project.updated_at.timestamp_millis())),
        ("rawScript".into(), json!(project.raw_script)),
        ("scriptData".into(), project.docs.script_data.clone()),
        ("shots".into(), project.docs.shots.clone()),
        ("mergedVideoUrl".into(), json!(merged_video_url)),
        (
            "settings".into(),
            json!({
                "stage": settings.stage,
                "targetDuration": settings.target_duration,
                "language": settings.language,
                "visualStyle": settings.visual_style,
                "imageSize": settings.image_size,
                "imageCount": settings.image_count,
                "genre": settings.genre,
            }),
        ),
    ]);
    Value::Object(entry)
}

/// The whole export file around `entries`.
pub fn export_file(entries: Vec<Value>) -> Value {
    json!({ "version": FORMAT_VERSION, "exportDate": chrono::Utc::now().to_rfc3339(), "projects": entries })
}
