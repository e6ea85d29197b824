//! The AI-content labels GB 45438-2025 asks for on what a project exports, unless its owner turned
//! them off: a visible mark in the project's language (bottom right, glyphs at least 5 % of the
//! shorter side) on the film and on every exported picture, and the implicit label — `AIGC`
//! metadata naming the label, the producer and the production — in the MP4, in a PNG `iTXt`
//! chunk, or in a JPEG comment.

use crate::tasks::TaskError;
use cinegen_domain::TaskId;
use cinegen_store::ProjectRecord;
use serde_json::json;
use std::path::Path;

/// The visible mark, or `None` when the project's labels are off.
pub fn visible(project: &ProjectRecord) -> Result<Option<cinegen_media::VisibleLabel>, TaskError> {
    if !project.settings.ai_label {
        return Ok(None);
    }
    let font = cinegen_media::cjk_font().ok_or_else(|| {
        TaskError::permanent(
            "MEDIA_TOOL_MISSING",
            "the AI-content label needs a font with Chinese glyphs; install fonts-wqy-microhei (Debian), or turn the project's label off",
        )
    })?;
    let text = if project.settings.language == "zh" { "AI生成" } else { "AI-generated" };
    Ok(Some(cinegen_media::VisibleLabel { text: text.into(), font }))
}

/// The implicit label's JSON: the label, the producer and this production's id.
pub fn implicit(project: &ProjectRecord, task: TaskId) -> String {
    json!({
        "Label": "1",
        "ContentProducer": "CineGen",
        "ProduceID": format!("{}/{task}", project.id),
        "ReservedCode1": "",
        "ContentPropagator": "",
        "PropagateID": "",
        "ReservedCode2": "",
    })
    .to_string()
}

/// The labels of a project's film, made by `task`.
pub fn film(project: &ProjectRecord, task: TaskId) -> Result<cinegen_media::Labels, TaskError> {
    let Some(visible) = visible(project)? else { return Ok(cinegen_media::Labels::default()) };
    Ok(cinegen_media::Labels {
        visible: Some(visible),
        metadata: vec![
            ("AIGC".into(), implicit(project, task)),
            ("comment".into(), "AI生成 / AI-generated with CineGen".into()),
        ],
    })
}

/// Labels the exported picture at `path` (PNG or JPEG) in place: the visible mark drawn on it and
/// the implicit label written into it. Other formats, and projects with labels off, are left as
/// they are. Answers whether the picture was labelled.
pub async fn stamp_picture(
    ffmpeg: &cinegen_media::Ffmpeg,
    project: &ProjectRecord,
    task: TaskId,
    path: &Path,
    content_type: &str,
) -> Result<bool, TaskError> {
    let extension = match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        _ => return Ok(false),
    };
    let Some(label) = visible(project)? else { return Ok(false) };
    let drawn = path.with_extension(format!("labelled.{extension}"));
    ffmpeg
        .label_image(path, &drawn, &label)
        .await
        .map_err(|e| TaskError::permanent("PROVIDER_ERROR", format!("labelling a picture failed: {e}")))?;
    let bytes = tokio::fs::read(&drawn).await.map_err(|e| TaskError::transient(e.to_string()))?;
    let _ = tokio::fs::remove_file(&drawn).await;
    let text = implicit(project, task);
    let stamped = match extension {
        "png" => cinegen_media::stamp::png_with_text(&bytes, "AIGC", &text),
        _ => cinegen_media::stamp::jpeg_with_comment(&bytes, &format!("AIGC={text}")),
    }
    .ok_or_else(|| TaskError::permanent("PROVIDER_ERROR", "the labelled picture could not be read back"))?;
    tokio::fs::write(path, stamped).await.map_err(|e| TaskError::transient(e.to_string()))?;
    Ok(true)
}
