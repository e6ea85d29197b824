//! `project.export`: a zip of the project — its JSON (the original app's export format, slots
//! holding file ids), every image and clip, the merged film, and how each take of the project was
//! made (`takes.json`: provenance and cost), the subtitles (`subtitles.srt`, `.vtt`) and the
//! editors' timelines (`timeline.otio`, `.fcpxml`, `.edl`) that name the clips as the archive
//! holds them — kept as an export file of the
//! project. Files are copied to disk one by one and the archive is written from disk, so memory
//! stays flat whatever the project's size. Entry names come from ids, cleaned, so a hostile id
//! cannot escape the archive's folders.

use crate::ai::{AiService, app_to_task};
use crate::projects::export::{export_file, project_entry};
use crate::tasks::{TaskContext, TaskError, TaskHandler};
use cinegen_domain::files::extension_for;
use cinegen_domain::project::assets::{SlotId, for_each_slot};
use cinegen_domain::{FileId, FileKind};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

/// An id as a safe file-name part: letters, digits, `-` and `_` (CJK letters kept), at most 80.
fn safe(id: &str) -> String {
    let cleaned: String =
        id.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(80).collect();
    if cleaned.is_empty() { "_".into() } else { cleaned }
}

pub(crate) fn entry_name(slot: &SlotId, extension: &str) -> String {
    match slot {
        SlotId::Character { character } => format!("characters/{}.{extension}", safe(character)),
        SlotId::Variation { character, variation } => {
            format!("characters/{}-{}.{extension}", safe(character), safe(variation))
        }
        SlotId::Scene { scene } => format!("scenes/{}.{extension}", safe(scene)),
        // Keyframe ids usually begin with their shot's (`shot-1-start`): the shot is not named twice.
        SlotId::Keyframe { shot, keyframe } if keyframe.starts_with(&format!("{shot}-")) => {
            format!("keyframes/{}.{extension}", safe(keyframe))
        }
        SlotId::Keyframe { shot, keyframe } => format!("keyframes/{}-{}.{extension}", safe(shot), safe(keyframe)),
        SlotId::Clip { shot } => format!("clips/{}.{extension}", safe(shot)),
        SlotId::Voice { shot } => format!("voices/{}.{extension}", safe(shot)),
    }
}

pub struct ExportHandler(pub AiService);

#[async_trait::async_trait]
impl TaskHandler for ExportHandler {
    fn task_type(&self) -> &'static str {
        crate::tasks::kind::TaskKind::EXPORT
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Value, TaskError> {
        let ai = &self.0;
        let mut project = ai.project(ctx).await?;
        let mut wanted: Vec<(SlotId, FileId)> = Vec::new();
        for_each_slot(&mut project.docs, |slot| {
            if let Some(id) = slot.file_id().and_then(|id| id.parse().ok()) {
                wanted.push((slot.id.clone(), id));
            }
        });
        let mut ids: Vec<FileId> = wanted.iter().map(|(_, id)| *id).collect();
        ids.extend(project.merged_video_file_id);
        // Only files of this project: ids in documents are client-written.
        let records =
            ai.store.ready_files_of_project(project.id, &ids).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let work = ai.settings.data_dir.join("work").join(ctx.task.id.to_string());
        tokio::fs::create_dir_all(&work).await.map_err(|e| TaskError::transient(e.to_string()))?;
        let result = async {
            let mut entries: Vec<(String, PathBuf)> = Vec::new();
            let json_path = work.join("project.json");
            let document = export_file(vec![project_entry(&project, None)]);
            tokio::fs::write(&json_path, serde_json::to_vec_pretty(&document).unwrap_or_default())
                .await
                .map_err(|e| TaskError::transient(e.to_string()))?;
            entries.push(("project.json".into(), json_path));
            let takes = ai.store.takes(project.id, None).await.map_err(|e| TaskError::transient(e.to_string()))?;
            let takes_path = work.join("takes.json");
            let held: Vec<(String, FileId)> = wanted
                .iter()
                .map(|(slot, id)| (slot.key(), *id))
                .chain(project.merged_video_file_id.map(|id| ("film".to_owned(), id)))
                .collect();
            let listed: Vec<Value> = takes.iter().map(|take| crate::takes::archive_entry(take, &held)).collect();
            tokio::fs::write(&takes_path, serde_json::to_vec_pretty(&json!({ "takes": listed })).unwrap_or_default())
                .await
                .map_err(|e| TaskError::transient(e.to_string()))?;
            entries.push(("takes.json".into(), takes_path));
            // Subtitles and the editors' timelines, whose media paths are this archive's.
            let cut = crate::film::service::cut_of(ai.store.as_ref(), &project)
                .await
                .map_err(|e| TaskError::transient(e.to_string()))?;
            for (name, text) in crate::film::service::sidecars(&cut) {
                let path = work.join(&name);
                tokio::fs::write(&path, text).await.map_err(|e| TaskError::transient(e.to_string()))?;
                entries.push((name, path));
            }
            let mut named: Vec<(String, &cinegen_store::FileRecord)> = Vec::new();
            for (slot, id) in &wanted {
                if let Some(record) = records.iter().find(|r| r.id == *id) {
                    named.push((entry_name(slot, extension_for(&record.content_type)), record));
                }
            }
            if let Some(film) = project.merged_video_file_id.and_then(|id| records.iter().find(|r| r.id == id)) {
                named.push((format!("film.{}", extension_for(&film.content_type)), film));
            }
            let total = named.len().max(1);
            // Pictures leave labelled as AI-generated, like the film (unless the owner said not).
            let ffmpeg = match project.settings.ai_label {
                true => Some(
                    cinegen_media::Ffmpeg::locate()
                        .map_err(|e| TaskError::permanent("MEDIA_TOOL_MISSING", e.to_string()))?,
                ),
                false => None,
            };
            let mut labelled = 0;
            for (n, (name, record)) in named.iter().enumerate() {
                let path = work.join(format!("{n:05}"));
                ai.files.copy_to(record, &path).await.map_err(app_to_task)?;
                if let Some(ffmpeg) = &ffmpeg
                    && crate::film::labels::stamp_picture(ffmpeg, &project, ctx.task.id, &path, &record.content_type)
                        .await?
                {
                    labelled += 1;
                }
                entries.push((name.clone(), path));
                if n % 8 == 0 {
                    ctx.progress((5 + n * 80 / total) as i32, "collecting files").await?;
                }
            }
            ctx.progress(88, "writing the archive").await?;
            let archive = work.join("export.zip");
            let target = archive.clone();
            let count = entries.len();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let mut zip = zip::ZipWriter::new(std::fs::File::create(&target)?);
                // Images and videos are compressed already: stored as they are.
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored)
                    .large_file(true);
                let mut seen = std::collections::HashSet::new();
                for (name, path) in entries {
                    if !seen.insert(name.clone()) {
                        continue;
                    }
                    zip.start_file(name, options).map_err(std::io::Error::other)?;
                    std::io::copy(&mut std::fs::File::open(path)?, &mut zip)?;
                }
                zip.finish().map_err(std::io::Error::other)?.flush()
            })
            .await
            .map_err(|e| TaskError::transient(e.to_string()))?
            .map_err(|e| TaskError::transient(format!("writing the archive failed: {e}")))?;
            ctx.progress(94, "storing the archive").await?;
            let name = format!("cinegen-{}.zip", project.id);
            let file = ai
                .files
                .persist_file(project.owner_id, project.id, FileKind::Export, &archive, &name)
                .await
                .map_err(app_to_task)?;
            Ok::<_, TaskError>((file, count, labelled))
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&work).await;
        let (file, count, labelled) = result?;
        let detail = json!({ "file_id": file.id, "task_id": ctx.task.id, "files": count });
        crate::audit::record(
            ai.store.as_ref(),
            Some(project.id),
            ctx.task.user_id,
            crate::audit::Action::Exported,
            "archive",
            detail,
        )
        .await;
        Ok(json!({ "file_id": file.id, "files": count, "bytes": file.file_size, "labelled_pictures": labelled }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_ids_stay_inside_their_folder() {
        let slot = SlotId::Keyframe { shot: "../../etc".into(), keyframe: "passwd\0".into() };
        assert_eq!(entry_name(&slot, "png"), "keyframes/______etc-passwd_.png");
        assert_eq!(entry_name(&SlotId::Clip { shot: "镜头1".into() }, "mp4"), "clips/镜头1.mp4");
        assert_eq!(safe(""), "_");
    }

    #[test]
    fn a_keyframe_named_after_its_shot_does_not_name_the_shot_twice() {
        let named = |shot: &str, keyframe: &str| {
            entry_name(&SlotId::Keyframe { shot: shot.into(), keyframe: keyframe.into() }, "png")
        };
        assert_eq!(named("shot-1", "shot-1-start"), "keyframes/shot-1-start.png");
        assert_eq!(named("shot-1", "k9"), "keyframes/shot-1-k9.png");
        assert_eq!(named("../x", "../x-/../y"), "keyframes/___x-____y.png");
    }
}
