//! The whole workflow on the offline `local` provider, over HTTP: a Chinese script is parsed,
//! every character, variation and scene image painted, every keyframe, every clip, the film
//! merged; every result is checked as a user would (real PNGs of the asked size, MP4s that probe
//! to the right duration), with quota, usage and live events accounted for.

mod common;

use cinegen_store::Engine;
use common::TestApp;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

on_both_engines!(
    a_chinese_script_becomes_a_film,
    failures_are_reported_per_item_and_limits_hold,
    a_grid_frame_has_the_panels_asked_for_and_its_clip_reports_progress
);

const SCRIPT: &str = include_str!("../../../fixtures/scripts/dukou-zh.txt");

struct Session {
    token: String,
}

async fn session(app: &TestApp, email: &str) -> Session {
    Session { token: app.register(email).await["tokens"]["access"].as_str().unwrap().to_owned() }
}

async fn start(app: &TestApp, token: &str, path: &str, body: Value) -> String {
    let answer = app.post_authed(path, token, &body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{path}: {}", answer.body);
    answer.data()["task"]["id"].as_str().unwrap().to_owned()
}

async fn project(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_authed(&format!("/api/v1/projects/{id}"), token).await.data()["project"].clone()
}

async fn download(app: &TestApp, url: &str) -> bytes::Bytes {
    let url = if url.starts_with('/') { app.url(url) } else { url.to_owned() };
    let response = app.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.bytes().await.unwrap()
}

/// Width and height from a PNG's header.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// The container's tags, as ffprobe reads them.
async fn format_tags(path: &Path) -> Value {
    let out = tokio::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format_tags", "-of", "json"])
        .arg(path)
        .output()
        .await
        .unwrap();
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["format"]["tags"].clone()
}

/// The mean brightness (0–255) of the bottom fifth of the frame at 1 s, from `x` across 30 % of
/// the width.
async fn mean_luma(path: &Path, x: &str) -> f64 {
    let filter = format!("crop=iw*0.3:ih*0.2:{x}:ih*0.8,scale=1:1:flags=area,format=gray");
    let out = tokio::process::Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "1", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-vf", &filter, "-f", "rawvideo", "-"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.stdout.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    f64::from(out.stdout[0])
}

/// Four seconds of a low tone as a WAV, the music a creator might lay under a film.
async fn make_music(dir: &Path) -> Vec<u8> {
    let out = dir.join("bed.wav");
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=220:duration=4"])
        .args(["-c:a", "pcm_s16le"])
        .arg(&out)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    tokio::fs::read(&out).await.unwrap()
}

async fn probe_duration(dir: &Path, name: &str, bytes: &[u8]) -> f64 {
    let path = dir.join(name);
    tokio::fs::write(&path, bytes).await.unwrap();
    let ffmpeg = cinegen_media::Ffmpeg::locate().unwrap();
    let probe = ffmpeg.probe(&path).await.expect("a valid MP4");
    assert!(probe.format.format_name.contains("mp4"));
    assert_eq!(probe.video().unwrap().codec_name, "h264");
    probe.duration()
}

fn each<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value[key].as_array().into_iter().flatten()
}

/// Collects every task event a WebSocket receives.
fn listen(app: &TestApp, token: &str) -> Arc<Mutex<Vec<Value>>> {
    let url = format!("ws://{}/api/v1/ws/tasks?token={token}", app.addr);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let event: Value = serde_json::from_str(&text).unwrap();
                if event["type"] == "task" {
                    sink.lock().unwrap().push(event["task"].clone());
                }
            }
        }
    });
    seen
}

fn storage_bytes(root: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                if entry.file_name() != ".parts" {
                    stack.push(entry.path());
                }
            } else {
                total += meta.len();
            }
        }
    }
    total
}

async fn a_chinese_script_becomes_a_film(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "pipeline@example.com").await;
    let events = listen(&app, &ann.token);
    let created = app
        .post_authed(
            "/api/v1/projects",
            &ann.token,
            &json!({"title": "渡口记", "language": "zh", "image_size": "1440x2560", "target_duration": "60s", "raw_script": SCRIPT}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    let mut task_ids = Vec::new();

    // 01 Script: the breakdown replaces the documents.
    let parse = start(&app, &ann.token, "/api/v1/ai/script/parse", json!({"project_id": id})).await;
    let done = app.finished_task(&ann.token, &parse).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"], json!({"characters": 2, "scenes": 3, "shots": 10}));
    task_ids.push(parse);
    let mut doc = project(&app, &ann.token, &id).await;
    let names: Vec<&str> = each(&doc["script_data"], "characters").map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["林晚舟", "程野"]);

    // A wardrobe variation, added by the user, and a voice for each character.
    doc["script_data"]["characters"][0]["variations"] =
        json!([{"id": "var-rain", "name": "蓑衣", "visualPrompt": "林晚舟，青色蓑衣，竹编斗笠"}]);
    doc["script_data"]["characters"][0]["voice"] = json!({"provider": "local", "voiceId": "cmn+f3", "speed": 1.1});
    doc["script_data"]["characters"][1]["voice"] = json!({"voiceId": "cmn+m3", "pitch": -2, "emotion": "calm"});
    let saved = app
        .send(
            app.client
                .put(app.url(&format!("/api/v1/projects/{id}")))
                .bearer_auth(&ann.token)
                .json(&json!({"version": doc["version"], "script_data": doc["script_data"]})),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    // 02 Assets: every missing image, in one batch.
    let batch = start(&app, &ann.token, "/api/v1/ai/batch/images", json!({"project_id": id})).await;
    let done = app.finished_task(&ann.token, &batch).await;
    assert_eq!((done["status"].as_str(), done["progress"].as_i64()), (Some("completed"), Some(100)), "{done}");
    assert_eq!(done["result"], json!({"total": 5, "completed": 5, "failed": 0, "cancelled": 0}));
    task_ids.push(batch);
    let doc = project(&app, &ann.token, &id).await;
    let mut images = 0;
    for character in each(&doc["script_data"], "characters") {
        let mut looks = vec![character];
        looks.extend(each(character, "variations"));
        for look in looks {
            assert!(look["referenceImageFileId"].is_string(), "{look}");
            assert_eq!(png_size(&download(&app, look["referenceImage"].as_str().unwrap()).await), (1080, 1440));
            images += 1;
        }
    }
    for scene in each(&doc["script_data"], "scenes") {
        assert_eq!(png_size(&download(&app, scene["referenceImage"].as_str().unwrap()).await), (1920, 1080));
        images += 1;
    }
    assert_eq!(images, 6);

    // 03 Director: all keyframes, then all clips.
    let batch = start(&app, &ann.token, "/api/v1/ai/batch/keyframes", json!({"project_id": id})).await;
    assert_eq!(app.finished_task(&ann.token, &batch).await["result"]["failed"], 0);
    task_ids.push(batch);
    let doc = project(&app, &ann.token, &id).await;
    let mut keyframes = 0;
    for shot in each(&doc, "shots") {
        for keyframe in each(shot, "keyframes") {
            assert_eq!(keyframe["status"], "completed", "{keyframe}");
            assert_eq!(png_size(&download(&app, keyframe["imageUrl"].as_str().unwrap()).await), (1440, 2560));
            keyframes += 1;
        }
    }
    images += keyframes;
    let batch = start(&app, &ann.token, "/api/v1/ai/batch/clips", json!({"project_id": id})).await;
    let done = app.finished_task(&ann.token, &batch).await;
    assert_eq!(done["result"], json!({"total": 10, "completed": 10, "failed": 0, "cancelled": 0}), "{done}");
    task_ids.push(batch);
    let clips_batch = task_ids.last().unwrap().clone();
    // Each item names its batch and the shot it works on, so clients show progress in place.
    let items = app.get_authed(&format!("/api/v1/ai/tasks?project_id={id}&type=ai.video&size=50"), &ann.token).await;
    let items = items.data()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 10);
    let mut shots_in_items: Vec<&str> = items
        .iter()
        .map(|t| {
            assert_eq!(t["parent_id"], clips_batch.as_str(), "{t}");
            assert_eq!(t["target"]["type"], "clip", "{t}");
            t["target"]["shot_id"].as_str().unwrap()
        })
        .collect();
    shots_in_items.sort_unstable();
    shots_in_items.dedup();
    assert_eq!(shots_in_items.len(), 10, "one item per shot");
    let doc = project(&app, &ann.token, &id).await;
    let scratch = tempfile::tempdir().unwrap();
    let mut total = 0.0;
    let mut shot_ids = Vec::new();
    for (n, shot) in each(&doc, "shots").enumerate() {
        let clip = &shot["interval"];
        assert_eq!(clip["status"], "completed", "{clip}");
        let lasts = probe_duration(
            scratch.path(),
            &format!("{n}.mp4"),
            &download(&app, clip["videoUrl"].as_str().unwrap()).await,
        )
        .await;
        let planned = clip["duration"].as_f64().unwrap();
        assert!((lasts - planned).abs() < 0.2, "shot {n} lasts {lasts}, planned {planned}");
        total += planned;
        shot_ids.push(shot["id"].clone());
    }

    // 03 Voices: every shot's dialogue spoken, each line in its speaker's voice.
    let voiced: Vec<String> = each(&doc, "shots")
        .filter(|s| s["dialogue"].as_str().is_some_and(|d| d.chars().any(char::is_alphanumeric)))
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(voiced.len() >= 3, "the script has dialogue: {voiced:?}");
    let batch = start(&app, &ann.token, "/api/v1/ai/batch/voices", json!({"project_id": id})).await;
    let done = app.finished_task(&ann.token, &batch).await;
    assert_eq!(done["result"]["completed"], voiced.len(), "{done}");
    task_ids.push(batch);
    let doc = project(&app, &ann.token, &id).await;
    let mut expected_secs = 0.0;
    for (n, shot) in each(&doc, "shots").enumerate() {
        let planned = shot["interval"]["duration"].as_f64().unwrap();
        let shot_id = shot["id"].as_str().unwrap();
        if !voiced.iter().any(|v| v == shot_id) {
            assert!(shot["voice"].is_null(), "a shot without dialogue is not voiced: {shot}");
            expected_secs += planned;
            continue;
        }
        let voice = &shot["voice"];
        assert_eq!(voice["status"], "completed", "{voice}");
        let audio = download(&app, voice["audioUrl"].as_str().unwrap()).await;
        assert!(audio.starts_with(b"RIFF"), "a WAV file");
        let path = scratch.path().join(format!("voice-{n}.wav"));
        tokio::fs::write(&path, &audio).await.unwrap();
        let said = cinegen_media::Ffmpeg::locate().unwrap().probe(&path).await.unwrap().duration();
        assert!(said > 0.5, "shot {n}'s lines take time to say: {said}");
        expected_secs += cinegen_media::segment_length(planned, Some(said));
    }
    // Music under the film: an audio file the creator uploads.
    let music = make_music(scratch.path()).await;
    let request = json!({"file_name": "bed.wav", "file_type": "audio", "file_size": music.len(), "project_id": id, "content_type": "audio/wav"});
    let target = app.post_authed("/api/v1/storage/upload", &ann.token, &request).await;
    assert_eq!(target.status, StatusCode::CREATED, "{}", target.body);
    let put = app.client.put(app.url(target.data()["upload_url"].as_str().unwrap())).bearer_auth(&ann.token);
    assert!(put.header("content-type", "audio/wav").body(music).send().await.unwrap().status().is_success());
    let callback = json!({"file_id": target.data()["file_id"], "upload_status": "success"});
    let uploaded = app.post_authed("/api/v1/storage/upload/callback", &ann.token, &callback).await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    let music_id = target.data()["file_id"].as_str().unwrap().to_owned();

    // 04 Export: the film.
    let body = json!({"project_id": id, "shot_ids": shot_ids, "music_file_id": music_id});
    let merge = start(&app, &ann.token, "/api/v1/ai/video/merge", body).await;
    let done = app.finished_task(&ann.token, &merge).await;
    // The AI-content label is drawn on every frame, so the clips are re-encoded.
    assert_eq!(
        (done["status"].as_str(), done["result"]["mode"].as_str()),
        (Some("completed"), Some("reencode")),
        "{done}"
    );
    task_ids.push(merge);
    let doc = project(&app, &ann.token, &id).await;
    let film = download(&app, doc["merged_video_url"].as_str().unwrap()).await;
    let lasts = probe_duration(scratch.path(), "film.mp4", &film).await;
    // Each shot lasts its clip, or its dialogue where that is longer (the clip holds its last
    // frame); the shots so held are named.
    assert!((lasts - expected_secs).abs() < 0.5, "the film lasts {lasts}, its shots {expected_secs}");
    assert!(lasts >= total - 0.2, "no clip is cut short: {lasts} against {total}");
    let held = done["result"]["held"].as_array().unwrap();
    assert_eq!(held.is_empty(), (expected_secs - total).abs() < 0.05, "{held:?}");
    let ffmpeg = cinegen_media::Ffmpeg::locate().unwrap();
    let probed = ffmpeg.probe(&scratch.path().join("film.mp4")).await.unwrap();
    assert!(probed.audio().is_some(), "the film speaks");
    // The implicit label: the file's metadata names the label, the producer and the production.
    let tags = format_tags(&scratch.path().join("film.mp4")).await;
    let aigc: Value =
        serde_json::from_str(tags["AIGC"].as_str().unwrap_or_else(|| panic!("no AIGC tag: {tags}"))).unwrap();
    assert_eq!((aigc["Label"].as_str(), aigc["ContentProducer"].as_str()), (Some("1"), Some("CineGen")), "{aigc}");
    assert!(aigc["ProduceID"].as_str().unwrap().starts_with(&id), "{aigc}");
    // The visible label: the film's bottom-right corner is not its first clip's; the rest is.
    let first_clip =
        download(&app, each(&doc, "shots").next().unwrap()["interval"]["videoUrl"].as_str().unwrap()).await;
    tokio::fs::write(scratch.path().join("first.mp4"), &first_clip).await.unwrap();
    let corner = |name: &'static str, x: &'static str| {
        let path = scratch.path().join(name);
        async move { mean_luma(&path, x).await }
    };
    let (film_label, clip_label) = (corner("film.mp4", "iw*0.7").await, corner("first.mp4", "iw*0.7").await);
    let (film_rest, clip_rest) = (corner("film.mp4", "0").await, corner("first.mp4", "0").await);
    assert!((film_label - clip_label).abs() > 4.0, "a label in the corner: {film_label} against {clip_label}");
    assert!((film_rest - clip_rest).abs() < 4.0, "the rest as it was: {film_rest} against {clip_rest}");

    // Every asset as a zip, kept as an export file.
    let export = start(&app, &ann.token, &format!("/api/v1/projects/{id}/export"), json!({})).await;
    let done = app.finished_task(&ann.token, &export).await;
    assert_eq!(done["status"], "completed", "{done}");
    task_ids.push(export);
    let file_id = done["result"]["file_id"].as_str().unwrap();
    let link = app.get_authed(&format!("/api/v1/storage/url/{file_id}"), &ann.token).await;
    let archive = download(&app, link.data()["file"]["url"].as_str().unwrap()).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive.to_vec())).expect("a zip");
    let names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    let count = |prefix: &str| names.iter().filter(|n| n.starts_with(prefix)).count();
    assert_eq!(
        (count("characters/"), count("scenes/"), count("keyframes/"), count("clips/"), count("voices/")),
        (3, 3, keyframes as usize, 10, voiced.len()),
        "{names:?}"
    );
    assert!(names.contains(&"film.mp4".to_owned()) && names.contains(&"project.json".to_owned()));
    // Every picture leaves labelled as AI-generated: the mark drawn on it, the label inside it.
    assert_eq!(done["result"]["labelled_pictures"], 3 + 3 + keyframes, "{done}");
    let picture = names.iter().find(|n| n.starts_with("keyframes/")).unwrap().clone();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&picture).unwrap(), &mut bytes).unwrap();
    assert!(bytes.windows(8).any(|w| w == b"iTXtAIGC"), "{picture} carries the implicit label");
    let mut json_text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("project.json").unwrap(), &mut json_text).unwrap();
    let exported: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(exported["projects"].as_array().unwrap().len(), 1);
    // How every picture, clip and the film were made travels with them.
    let mut takes_text = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("takes.json").unwrap(), &mut takes_text).unwrap();
    let takes: Value = serde_json::from_str(&takes_text).unwrap();
    let takes = takes["takes"].as_array().unwrap();
    let chosen = takes.iter().filter(|t| t["chosen"] == true).count();
    assert_eq!(chosen, 3 + 3 + keyframes as usize + 10 + voiced.len() + 1, "one chosen take per file in the archive");
    let spoken = takes.iter().find(|t| t["slot"].as_str().unwrap().starts_with("voice/")).unwrap();
    let line = &spoken["provenance"]["params"]["lines"][0];
    assert_eq!(line["provider"], "local", "{spoken}");
    assert!(line["voice"]["voiceId"].as_str().is_some_and(|v| v.starts_with("cmn+")), "the speaker's voice: {spoken}");
    let film = takes.iter().find(|t| t["slot"] == "film").unwrap();
    assert_eq!(film["provenance"]["origin"], "merged", "{film}");
    let frame = takes.iter().find(|t| t["slot"].as_str().unwrap().starts_with("keyframe/")).unwrap();
    assert!(frame["provenance"]["prompt"].is_string() && frame["provenance"]["task_id"].is_string(), "{frame}");
    assert_eq!(frame["cost"]["amount"], "0.000000", "the offline provider is free");

    // Subtitles and the editors' timelines travel with the clips, and the reference reader
    // (OpenTimelineIO and its FCPXML and CMX 3600 adapters) opens each the same way.
    let unpacked = scratch.path().join("archive");
    zip.extract(&unpacked).unwrap();
    let srt =
        app.client.get(app.url(&format!("/api/v1/projects/{id}/subtitles?speakers=true"))).bearer_auth(&ann.token);
    let srt = srt.send().await.unwrap().text().await.unwrap();
    let said: Vec<&str> = srt.split("\n\n").filter_map(|cue| cue.lines().nth(2)).collect();
    assert!(said.len() >= 5, "the script's dialogue is subtitled: {srt}");
    let archived = std::fs::read_to_string(unpacked.join("subtitles.srt")).unwrap();
    assert_eq!(archived.matches(" --> ").count(), said.len(), "{archived}");
    let mut read = Vec::new();
    for format in ["otio", "fcpxml", "edl"] {
        let timeline = common::read_timeline(&unpacked.join(format!("timeline.{format}")));
        let clips = timeline["clips"].as_array().unwrap().clone();
        let names: Vec<String> = clips.iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
        let expected: Vec<String> =
            shot_ids.iter().enumerate().map(|(n, s)| format!("{:03} {}", n + 1, s.as_str().unwrap())).collect();
        assert_eq!(names, expected, "{format}: one clip a shot, in cut order");
        let frames: i64 = clips.iter().map(|c| c["frames"].as_i64().unwrap()).sum();
        assert!((frames as f64 / 24.0 - lasts).abs() < 0.2, "{format}: {frames} frames, the film lasts {lasts}");
        for clip in &clips {
            let media = clip["media"].as_str().unwrap_or_else(|| panic!("{format}: {clip}"));
            assert!(unpacked.join(media).is_file(), "{format}: {media} relinks inside the archive");
        }
        let markers: Vec<String> = clips
            .iter()
            .flat_map(|c| c["markers"].as_array().unwrap().clone())
            .map(|m| m.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(markers, said, "{format}: the dialogue as markers");
        if format == "fcpxml" {
            assert_eq!(timeline["captions"].as_u64(), Some(said.len() as u64), "a caption a line");
        }
        // The dialogue on an audio track of its own, each voice from its shot's first frame.
        let voices = timeline["voices"].as_array().unwrap_or_else(|| panic!("{format}: {timeline}"));
        assert_eq!(voices.len(), voiced.len(), "{format}: a voice a spoken shot: {voices:?}");
        for voice in voices {
            let media = voice["media"].as_str().unwrap_or_else(|| panic!("{format}: {voice}"));
            assert!(unpacked.join(media).is_file(), "{format}: {media} relinks inside the archive");
            let name = voice["name"].as_str().unwrap().trim_end_matches(" voice");
            let shot = clips.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{format}: {voice}"));
            assert_eq!(voice["start"], shot["start"], "{format}: {voice} starts with its shot");
        }
        read.push(clips.iter().map(|c| (c["start"].clone(), c["frames"].clone())).collect::<Vec<_>>());
    }
    assert!(read.windows(2).all(|w| w[0] == w[1]), "the three formats give the same cut: {read:?}");

    // The audit log: who generated and exported what, newest first, for members only.
    let log = app.get_authed(&format!("/api/v1/projects/{id}/audit?limit=500"), &ann.token).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    let logged = log.data()["items"].as_array().unwrap().clone();
    let of = |action: &str, subject: &str| {
        logged.iter().filter(|e| e["action"] == action && e["subject"] == subject).count()
    };
    assert_eq!(
        (of("exported", "archive"), of("exported", "subtitles.srt"), of("generated", "film")),
        (1, 1, 1),
        "{logged:?}"
    );
    let voices = logged.iter().filter(|e| e["subject"].as_str().unwrap().starts_with("voice/")).count();
    assert_eq!(voices, voiced.len());
    assert!(logged.iter().all(|e| e["user_email"] == "pipeline@example.com"), "{logged:?}");
    let clip = logged.iter().find(|e| e["subject"].as_str().unwrap().starts_with("clip/")).unwrap();
    assert_eq!(clip["detail"]["provider"], "local", "{clip}");
    let stranger = session(&app, "stranger@example.com").await;
    let refused = app.get_authed(&format!("/api/v1/projects/{id}/audit"), &stranger.token).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);

    // Quota: charged by exactly the bytes stored.
    let usage = app.get_authed("/api/v1/storage/usage", &ann.token).await;
    let used = usage.data()["used"].as_u64().unwrap();
    assert_eq!(used, storage_bytes(&app.data_dir.join("files")));

    // Usage: every provider call recorded.
    let usage = app.get_authed("/api/v1/usage", &ann.token).await;
    let rows = usage.data()["items"].as_array().unwrap().clone();
    let calls: HashMap<String, i64> =
        rows.iter().map(|r| (r["kind"].as_str().unwrap().to_owned(), r["calls"].as_i64().unwrap())).collect();
    assert_eq!((calls["image"], calls["video"], calls["text"]), (images, 10, 1), "{rows:?}");
    let lines = calls["speech"] as usize;
    assert!(lines >= voiced.len() && lines <= said.len(), "a call a spoken line: {lines} ({rows:?})");

    // Live events: every task was announced, and each ended completed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = events.lock().unwrap().clone();
    let completed: HashSet<&str> =
        seen.iter().filter(|t| t["status"] == "completed").map(|t| t["id"].as_str().unwrap()).collect();
    for task in &task_ids {
        assert!(completed.contains(task.as_str()), "no completion event for {task}");
    }
    let items = seen.iter().filter(|t| t["type"] == "video_generate" && t["status"] == "completed").count();
    assert_eq!(items, 10, "each clip's completion was announced");
    // The clips batch moved while its items worked, not only when they ended.
    let batch_progress: Vec<i64> = seen
        .iter()
        .filter(|t| t["id"] == clips_batch.as_str() && t["status"] == "running")
        .map(|t| t["progress"].as_i64().unwrap())
        .collect();
    assert!(batch_progress.iter().any(|p| *p > 0 && *p < 100), "{batch_progress:?}");
    // The batch names what it makes, so a client that reloads finds its progress again.
    let batch_event = seen.iter().find(|t| t["id"] == clips_batch.as_str()).unwrap();
    assert_eq!(batch_event["target"], json!({"type": "batch", "kind": "clips"}));
}

async fn failures_are_reported_per_item_and_limits_hold(engine: Engine) {
    // Offline clips draw on the offline provider's budget: a batch's items each, like requests.
    let app = TestApp::spawn_with(engine, |c| c.local_requests_per_hour = 5).await;
    let ann = session(&app, "limits@example.com").await;
    let bob = session(&app, "limits-bob@example.com").await;
    let shots = json!([
        {"id": "a", "actionSummary": "雨夜", "keyframes": [{"id": "a1", "type": "start", "visualPrompt": "雨夜"}],
         "interval": {"id": "ac", "duration": 2, "startKeyframeId": "a1"}},
        // Its keyframe will name a file that is gone (below): this item fails, the others go on.
        {"id": "b", "keyframes": [{"id": "b1", "type": "start"}],
         "interval": {"id": "bc", "duration": 2}},
        {"id": "c", "actionSummary": "晨雾", "keyframes": [{"id": "c1", "type": "start", "visualPrompt": "晨雾"}],
         "interval": {"id": "cc", "duration": 2}},
    ]);
    let created = app.post_authed("/api/v1/projects", &ann.token, &json!({"title": "Limits", "shots": shots})).await;
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();
    // A file id the document kept after its file went away (clients cannot write one in: ids of
    // files the project does not hold are refused).
    let stale = move |record: &mut cinegen_store::ProjectRecord| {
        record.docs.shots[1]["keyframes"][0]["imageFileId"] = json!("0193a000-0000-7000-8000-000000000000");
        Ok(())
    };
    app.state.store.change_project(id.parse().unwrap(), Box::new(stale)).await.unwrap();

    let batch = start(&app, &ann.token, "/api/v1/ai/batch/clips", json!({"project_id": id})).await;
    let done = app.finished_task(&ann.token, &batch).await;
    assert_eq!(done["result"], json!({"total": 3, "completed": 2, "failed": 1, "cancelled": 0}), "{done}");
    let doc = project(&app, &ann.token, &id).await;
    let statuses: Vec<&str> = each(&doc, "shots").map(|s| s["interval"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["completed", "failed", "completed"]);
    let failed = app.get_authed(&format!("/api/v1/ai/tasks?project_id={id}&status=failed"), &ann.token).await;
    let error = &failed.data()["items"][0]["error"];
    assert_eq!(error["code"], "NOT_FOUND", "{error}");

    // Idempotency: the same key answers the same task, once.
    let request = || {
        app.client
            .post(app.url("/api/v1/ai/video/generate"))
            .bearer_auth(&ann.token)
            .header("Idempotency-Key", "clip-a-1")
            .json(&json!({"project_id": id, "shot_id": "a"}))
    };
    let first = app.send(request()).await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    let again = app.send(request()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.data()["task"]["id"], first.data()["task"]["id"]);

    // Limits: the batch's 3 clips and 1 request leave 1 of 5 (the idempotent repeat drew
    // nothing); the next after it is refused with Retry-After.
    let limited =
        app.post_authed("/api/v1/ai/video/generate", &ann.token, &json!({"project_id": id, "shot_id": "c"})).await;
    assert_eq!(limited.status, StatusCode::ACCEPTED);
    let refused =
        app.post_authed("/api/v1/ai/video/generate", &ann.token, &json!({"project_id": id, "shot_id": "c"})).await;
    assert_eq!(
        (refused.status, refused.body["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED"))
    );
    assert!(refused.headers.get("retry-after").is_some());
    // The answer says how many remain of which budget, and when to retry, for the client to show.
    let details = &refused.body["error"]["details"];
    assert_eq!(
        (details["budget"].as_str(), details["limit"].as_u64(), details["remaining"].as_u64()),
        (Some("local"), Some(5), Some(0)),
        "{details}"
    );
    assert!(details["retry_after_secs"].as_u64().is_some_and(|s| s > 0), "{details}");

    // Bad input changes nothing and says why.
    let unknown =
        app.post_authed("/api/v1/ai/video/generate", &ann.token, &json!({"project_id": id, "shot_id": "zz"})).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let stranger = app
        .post_authed(
            "/api/v1/ai/image/generate",
            &bob.token,
            &json!({"project_id": id, "target": {"type": "keyframe", "shot_id": "a", "keyframe_id": "a1"}}),
        )
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND, "another user's project is not disclosed");
    let wrong = app
        .post_authed("/api/v1/ai/image/generate", &ann.token, &json!({"project_id": id, "target": {"type": "planet"}}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    let provider = app
        .post_authed(
            "/api/v1/ai/script/parse",
            &ann.token,
            &json!({"project_id": id, "raw_script": "第一场 夜\n甲：乙", "provider": "nonesuch"}),
        )
        .await;
    assert_eq!(provider.status, StatusCode::UNPROCESSABLE_ENTITY, "refused when asked, not later: {}", provider.body);
    assert!(provider.body.to_string().contains("no provider named 'nonesuch'"), "{}", provider.body);
    let nothing = app.post_authed("/api/v1/ai/batch/images", &ann.token, &json!({"project_id": id})).await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY, "no characters or scenes: nothing to paint");
}

/// Panels of a storyboard grid PNG: cells of the grid's layout whose centre is painted (cells past
/// the last panel stay the dark gutter colour).
fn painted_panels(bytes: &[u8], panels_asked: u32) -> u32 {
    let mut reader = png::Decoder::new(bytes).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    let (cols, rows) = cinegen_media::grid_layout(panels_asked);
    let (cols, rows) = (cols as usize, rows as usize);
    let mut painted = 0;
    for row in 0..rows {
        for col in 0..cols {
            let (x, y) = ((2 * col + 1) * w / (2 * cols), (2 * row + 1) * h / (2 * rows));
            let at = (y * w + x) * 3;
            painted += u32::from(pixels[at..at + 3] != [16, 16, 16]);
        }
        // A gutter divides neighbouring panels.
        let (x, y) = (w / cols, (2 * row + 1) * h / (2 * rows));
        assert_eq!(pixels[(y * w + x) * 3..(y * w + x) * 3 + 3], [16, 16, 16], "a gutter in row {row}");
    }
    painted
}

async fn a_grid_frame_has_the_panels_asked_for_and_its_clip_reports_progress(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let ann = session(&app, "grid@example.com").await;
    let shots = json!([{"id": "g", "actionSummary": "雨夜追逐", "keyframes": [{"id": "g1", "type": "full"}],
                        "interval": {"id": "gc", "duration": 12}}]);
    let body = json!({"title": "Grid", "shots": shots, "image_count": 5});
    let created = app.post_authed("/api/v1/projects", &ann.token, &body).await;
    assert!(created.status.is_success(), "{}", created.body);
    let id = created.data()["project"]["id"].as_str().unwrap().to_owned();

    let target = json!({"type": "keyframe", "shot_id": "g", "keyframe_id": "g1"});
    let task = start(&app, &ann.token, "/api/v1/ai/image/generate", json!({"project_id": id, "target": target})).await;
    assert_eq!(app.finished_task(&ann.token, &task).await["status"], "completed");
    let doc = project(&app, &ann.token, &id).await;
    let picture = download(&app, doc["shots"][0]["keyframes"][0]["imageUrl"].as_str().unwrap()).await;
    // Five panels in three columns and two rows: the sixth cell stays dark (one picture over the
    // whole frame would read as six).
    assert_eq!(painted_panels(&picture, 5), 5, "a five-panel grid");

    // The clip animates the grid panel by panel; while ffmpeg renders, the task shows its progress.
    let task = start(&app, &ann.token, "/api/v1/ai/video/generate", json!({"project_id": id, "shot_id": "g"})).await;
    let mut rendering = Vec::new();
    let done = loop {
        let now = app.get_authed(&format!("/api/v1/ai/tasks/{task}"), &ann.token).await.data()["task"].clone();
        if now["status"] != "pending" && now["status"] != "running" {
            break now;
        }
        if now["message"] == "rendering" {
            rendering.push(now["progress"].as_i64().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert!(rendering.is_sorted(), "{rendering:?}");
    assert!(rendering.iter().any(|p| *p > 20 && *p < 80), "ffmpeg's progress between submit and store: {rendering:?}");
    let doc = project(&app, &ann.token, &id).await;
    let clip = download(&app, doc["shots"][0]["interval"]["videoUrl"].as_str().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    assert!((probe_duration(dir.path(), "grid.mp4", &clip).await - 12.0).abs() < 0.2);

    // Regenerate selected: a batch of the shots named, though their clips are done.
    let clip_file = doc["shots"][0]["interval"]["videoFileId"].clone();
    let everything = app.post_authed("/api/v1/ai/batch/clips", &ann.token, &json!({"project_id": id})).await;
    assert_eq!(everything.status, StatusCode::UNPROCESSABLE_ENTITY, "nothing is missing: {}", everything.body);
    let body = json!({"project_id": id, "shot_ids": ["g"]});
    let batch = start(&app, &ann.token, "/api/v1/ai/batch/clips", body).await;
    let done = app.finished_task(&ann.token, &batch).await;
    assert_eq!(done["result"], json!({"total": 1, "completed": 1, "failed": 0, "cancelled": 0}), "{done}");
    // A new take; the offline provider renders the same bytes again, which are stored once.
    let takes = app.get_authed(&format!("/api/v1/projects/{id}/takes?slot=clip/g"), &ann.token).await;
    let takes = takes.data()["takes"].as_array().unwrap().clone();
    assert_eq!(takes.len(), 2, "{takes:?}");
    assert_ne!(takes[0]["provenance"]["task_id"], takes[1]["provenance"]["task_id"]);
    assert!(takes.iter().all(|t| t["file_id"] == clip_file), "{takes:?}");
    for (kind, body) in [
        ("clips", json!({"project_id": id, "shot_ids": ["nope"]})),
        ("clips", json!({"project_id": id, "shot_ids": []})),
        ("images", json!({"project_id": id, "shot_ids": ["g"]})),
    ] {
        let refused = app.post_authed(&format!("/api/v1/ai/batch/{kind}"), &ann.token, &body).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", refused.body);
    }
}
