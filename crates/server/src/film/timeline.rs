//! The cut as timelines editors open: OpenTimelineIO (`.otio`, its JSON), Final Cut Pro XML 1.9
//! (`.fcpxml`) and CMX 3600 (`.edl`). One clip a shot in cut order, named by shot; each dialogue
//! line a marker at its time in the clip; FCPXML carries the subtitles as a caption lane. Media is
//! named by the project archive's paths (`clips/{shot}.mp4`), relative, so a timeline beside the
//! archive's folders relinks; a shot without a clip is offline (a missing reference).

use super::cut::{Cut, CutShot, FPS};
use super::subtitles::{Cue, cues};
use cinegen_domain::project::assets::SlotId;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Otio,
    Fcpxml,
    Edl,
}

impl Format {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "otio" => Some(Self::Otio),
            "fcpxml" => Some(Self::Fcpxml),
            "edl" => Some(Self::Edl),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Otio => "otio",
            Self::Fcpxml => "fcpxml",
            Self::Edl => "edl",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Otio => "application/json",
            Self::Fcpxml => "application/xml",
            Self::Edl => "text/plain; charset=utf-8",
        }
    }

    pub fn render(self, cut: &Cut) -> String {
        match self {
            Self::Otio => serde_json::to_string_pretty(&otio(cut)).unwrap_or_default(),
            Self::Fcpxml => fcpxml(cut),
            Self::Edl => edl(cut),
        }
    }
}

/// What a line says as a marker: the speaker's name and the line.
fn marker_text(cue: &Cue) -> String {
    match &cue.speaker {
        Some(name) if cue.text.chars().any(|c| !c.is_ascii()) => format!("{name}：{}", cue.text),
        Some(name) => format!("{name}: {}", cue.text),
        None => cue.text.clone(),
    }
}

/// The lines of `shot` as (first frame inside the clip, frames, text).
fn markers<'a>(shot: &'a CutShot, all: &'a [Cue]) -> impl Iterator<Item = (i64, i64, String)> + 'a {
    all.iter().filter(move |c| c.shot_id == shot.shot_id).map(move |cue| {
        let from = (cue.start_ms * FPS / 1000 - shot.start).clamp(0, shot.frames - 1);
        let to = (cue.end_ms * FPS / 1000 - shot.start).clamp(from + 1, shot.frames);
        (from, to - from, marker_text(cue))
    })
}

/// A clip's name on every timeline: its number and the shot's id.
fn clip_name(shot: &CutShot) -> String {
    format!("{:03} {}", shot.number, shot.shot_id)
}

// --- OpenTimelineIO ---------------------------------------------------------------------------

fn rational(frames: i64) -> Value {
    json!({"OTIO_SCHEMA": "RationalTime.1", "rate": FPS as f64, "value": frames as f64})
}

fn range(start: i64, frames: i64) -> Value {
    json!({"OTIO_SCHEMA": "TimeRange.1", "start_time": rational(start), "duration": rational(frames)})
}

fn otio_clip(shot: &CutShot, all: &[Cue], with_markers: bool) -> Value {
    let reference = match &shot.media {
        Some(path) => json!({
            "OTIO_SCHEMA": "ExternalReference.1", "name": "", "metadata": {},
            "available_range": range(0, shot.frames), "available_image_bounds": null, "target_url": path,
        }),
        None => json!({
            "OTIO_SCHEMA": "MissingReference.1", "name": "", "metadata": {},
            "available_range": null, "available_image_bounds": null,
        }),
    };
    let markers: Vec<Value> = if with_markers {
        markers(shot, all)
            .map(|(from, frames, text)| {
                json!({"OTIO_SCHEMA": "Marker.2", "name": text, "metadata": {}, "color": "YELLOW",
                       "marked_range": range(from, frames), "comment": ""})
            })
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "OTIO_SCHEMA": "Clip.2",
        "name": clip_name(shot),
        "metadata": {"cinegen": {"shot_id": shot.shot_id, "scene": shot.scene, "action": shot.action}},
        "source_range": range(0, shot.frames),
        "effects": [], "markers": markers, "enabled": true,
        "media_references": {"DEFAULT_MEDIA": reference},
        "active_media_reference_key": "DEFAULT_MEDIA",
    })
}

fn otio_track(name: &str, kind: &str, children: Vec<Value>) -> Value {
    json!({"OTIO_SCHEMA": "Track.1", "name": name, "kind": kind, "metadata": {}, "source_range": null,
           "effects": [], "markers": [], "enabled": true, "children": children})
}

fn otio_gap(frames: i64) -> Value {
    json!({"OTIO_SCHEMA": "Gap.1", "name": "", "metadata": {}, "source_range": range(0, frames),
           "effects": [], "markers": [], "enabled": true})
}

/// The dialogue track: each shot's voice from its first frame, gaps where nobody speaks.
fn otio_voices(cut: &Cut) -> Vec<Value> {
    let mut items = Vec::new();
    for shot in &cut.shots {
        let Some(voice) = &shot.voice else {
            items.push(otio_gap(shot.frames));
            continue;
        };
        let reference = json!({
            "OTIO_SCHEMA": "ExternalReference.1", "name": "", "metadata": {},
            "available_range": range(0, voice.frames), "available_image_bounds": null, "target_url": voice.media,
        });
        items.push(json!({
            "OTIO_SCHEMA": "Clip.2", "name": format!("{} voice", clip_name(shot)),
            "metadata": {"cinegen": {"shot_id": shot.shot_id}},
            "source_range": range(0, voice.frames), "effects": [], "markers": [], "enabled": true,
            "media_references": {"DEFAULT_MEDIA": reference}, "active_media_reference_key": "DEFAULT_MEDIA",
        }));
        if shot.frames > voice.frames {
            items.push(otio_gap(shot.frames - voice.frames));
        }
    }
    items
}

pub fn otio(cut: &Cut) -> Value {
    let all = cues(cut);
    let video = cut.shots.iter().map(|s| otio_clip(s, &all, true)).collect();
    // The clips' own sound, on a track of its own as editors lay it out.
    let audio = cut.shots.iter().map(|s| otio_clip(s, &all, false)).collect();
    let mut tracks = vec![otio_track("V1", "Video", video), otio_track("A1", "Audio", audio)];
    if cut.shots.iter().any(|s| s.voice.is_some()) {
        tracks.push(otio_track("Dialogue", "Audio", otio_voices(cut)));
    }
    json!({
        "OTIO_SCHEMA": "Timeline.1",
        "name": cut.title,
        "metadata": {"cinegen": {"width": cut.width, "height": cut.height, "measured": cut.measured}},
        "global_start_time": rational(0),
        "tracks": {
            "OTIO_SCHEMA": "Stack.1", "name": "tracks", "metadata": {}, "source_range": null,
            "effects": [], "markers": [], "enabled": true,
            "children": tracks,
        },
    })
}

// --- FCPXML -----------------------------------------------------------------------------------

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn t(frames: i64) -> String {
    if frames == 0 { "0s".into() } else { format!("{frames}/{FPS}s") }
}

pub fn fcpxml(cut: &Cut) -> String {
    let all = cues(cut);
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE fcpxml>\n<fcpxml version=\"1.9\">\n");
    out.push_str("  <resources>\n");
    out.push_str(&format!(
        "    <format id=\"r0\" frameDuration=\"1/{FPS}s\" width=\"{}\" height=\"{}\"/>\n",
        cut.width, cut.height
    ));
    for (n, shot) in cut.shots.iter().enumerate() {
        let name = xml_escape(&clip_name(shot));
        // A shot without its clip yet is offline: its asset names where the clip will be.
        let path = shot.media.clone().unwrap_or_else(|| {
            crate::projects::archive::entry_name(&SlotId::Clip { shot: shot.shot_id.clone() }, "mp4")
        });
        out.push_str(&format!(
            "    <asset id=\"a{n}\" name=\"{name}\" start=\"0s\" duration=\"{}\" hasVideo=\"1\" hasAudio=\"{}\" format=\"r0\">\n      <media-rep kind=\"original-media\" src=\"{}\"/>\n    </asset>\n",
            t(shot.frames),
            u8::from(shot.media.is_some()),
            xml_escape(&path)
        ));
        if let Some(voice) = &shot.voice {
            out.push_str(&format!(
                "    <asset id=\"v{n}\" name=\"{name} voice\" start=\"0s\" duration=\"{}\" hasVideo=\"0\" hasAudio=\"1\" audioSources=\"1\" audioChannels=\"1\" audioRate=\"44100\">\n      <media-rep kind=\"original-media\" src=\"{}\"/>\n    </asset>\n",
                t(voice.frames),
                xml_escape(&voice.media)
            ));
        }
    }
    out.push_str("  </resources>\n  <library>\n    <event name=\"CineGen\">\n");
    out.push_str(&format!("      <project name=\"{}\">\n", xml_escape(&cut.title)));
    out.push_str(&format!(
        "        <sequence format=\"r0\" duration=\"{}\" tcStart=\"0s\" tcFormat=\"NDF\" audioLayout=\"stereo\" audioRate=\"48k\">\n          <spine>\n",
        t(cut.frames())
    ));
    let mut style = 0;
    for (n, shot) in cut.shots.iter().enumerate() {
        out.push_str(&format!(
            "            <asset-clip ref=\"a{n}\" name=\"{}\" offset=\"{}\" start=\"0s\" duration=\"{}\" format=\"r0\" tcFormat=\"NDF\">\n",
            xml_escape(&clip_name(shot)),
            t(shot.start),
            t(shot.frames)
        ));
        let lines: Vec<(i64, i64, String)> = markers(shot, &all).collect();
        // The dialogue, connected below the clip from its first frame.
        if let Some(voice) = &shot.voice {
            out.push_str(&format!(
                "              <asset-clip ref=\"v{n}\" lane=\"-1\" name=\"{} voice\" offset=\"0s\" start=\"0s\" duration=\"{}\" audioRole=\"dialogue\"/>\n",
                xml_escape(&clip_name(shot)),
                t(voice.frames)
            ));
        }
        // Captions are anchored items, so they come before the markers (the DTD's order).
        for (from, frames, text) in &lines {
            out.push_str(&format!(
                "              <caption lane=\"1\" offset=\"{}\" name=\"{}\" start=\"0s\" duration=\"{}\" role=\"SRT?captionFormat=SRT.zh\">\n                <text placement=\"bottom\"><text-style ref=\"ts{style}\">{}</text-style></text>\n                <text-style-def id=\"ts{style}\"><text-style font=\".AppleSystemUIFont\" fontSize=\"13\" fontColor=\"1 1 1 1\"/></text-style-def>\n              </caption>\n",
                t(*from),
                xml_escape(text),
                t(*frames),
                xml_escape(text)
            ));
            style += 1;
        }
        for (from, frames, text) in &lines {
            out.push_str(&format!(
                "              <marker start=\"{}\" duration=\"{}\" value=\"{}\"/>\n",
                t(*from),
                t(*frames),
                xml_escape(text)
            ));
        }
        out.push_str("            </asset-clip>\n");
    }
    out.push_str("          </spine>\n        </sequence>\n      </project>\n    </event>\n  </library>\n</fcpxml>\n");
    out
}

// --- CMX 3600 ---------------------------------------------------------------------------------

fn timecode(frames: i64) -> String {
    let (h, m, s, f) = (frames / (3600 * FPS), frames / (60 * FPS) % 60, frames / FPS % 60, frames % FPS);
    format!("{h:02}:{m:02}:{s:02}:{f:02}")
}

/// An EDL comment is one line.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

pub fn edl(cut: &Cut) -> String {
    let all = cues(cut);
    let mut out = format!("TITLE: {}\nFCM: NON-DROP FRAME\n\n", one_line(&cut.title));
    for shot in &cut.shots {
        // Reels are at most eight characters: the shot's number names it.
        let reel = format!("SHOT{:04}", shot.number % 10_000);
        out.push_str(&format!(
            "{:03}  {reel:<8} B     C        {} {} {} {}\n",
            shot.number % 1000,
            timecode(0),
            timecode(shot.frames),
            timecode(shot.start),
            timecode(shot.start + shot.frames)
        ));
        out.push_str(&format!("* FROM CLIP NAME: {}\n", one_line(&clip_name(shot))));
        if let Some(path) = &shot.media {
            out.push_str(&format!("* FROM FILE: {}\n", one_line(path)));
        }
        for (from, _, text) in markers(shot, &all) {
            out.push_str(&format!("* LOC: {} YELLOW  {}\n", timecode(from), one_line(&text)));
        }
        out.push('\n');
    }
    // The dialogue on the second audio channel, one event a spoken shot, numbered on.
    let mut number = cut.shots.len();
    for shot in &cut.shots {
        let Some(voice) = &shot.voice else { continue };
        number += 1;
        out.push_str(&format!(
            "{:03}  VOIC{:04} A2    C        {} {} {} {}\n",
            number % 1000,
            shot.number % 10_000,
            timecode(0),
            timecode(voice.frames),
            timecode(shot.start),
            timecode(shot.start + voice.frames)
        ));
        out.push_str(&format!("* FROM CLIP NAME: {} voice\n", one_line(&clip_name(shot))));
        out.push_str(&format!("* FROM FILE: {}\n\n", one_line(&voice.media)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::dialogue::lines;

    fn cut() -> Cut {
        Cut {
            title: "渡口 & <雨>".into(),
            width: 1440,
            height: 2560,
            measured: true,
            shots: vec![
                CutShot {
                    shot_id: "shot-1".into(),
                    number: 1,
                    scene: Some("渡口".into()),
                    action: "撑伞".into(),
                    start: 0,
                    frames: 72,
                    lines: lines("萧砚：沈姑娘？\n沈青禾：走。"),
                    media: Some("clips/shot-1.mp4".into()),
                    voice: Some(super::super::cut::VoiceRef { media: "voices/shot-1.wav".into(), frames: 48 }),
                    edited: None,
                },
                CutShot {
                    shot_id: "shot-2".into(),
                    number: 2,
                    scene: None,
                    action: String::new(),
                    start: 72,
                    frames: 30,
                    lines: Vec::new(),
                    media: None,
                    voice: None,
                    edited: None,
                },
            ],
        }
    }

    #[test]
    fn an_edl_names_each_shot_with_record_times_in_order() {
        let edl = edl(&cut());
        assert!(edl.starts_with("TITLE: 渡口 & <雨>\nFCM: NON-DROP FRAME\n\n"), "{edl}");
        assert!(
            edl.contains("001  SHOT0001 B     C        00:00:00:00 00:00:03:00 00:00:00:00 00:00:03:00\n"),
            "{edl}"
        );
        assert!(
            edl.contains("002  SHOT0002 B     C        00:00:00:00 00:00:01:06 00:00:03:00 00:00:04:06\n"),
            "{edl}"
        );
        assert!(edl.contains("* LOC: 00:00:02:00 YELLOW  沈青禾：走。\n"), "{edl}");
        assert!(
            edl.contains("003  VOIC0001 A2    C        00:00:00:00 00:00:02:00 00:00:00:00 00:00:02:00\n"),
            "the dialogue on the second audio channel: {edl}"
        );
    }

    #[test]
    fn the_dialogue_is_a_track_of_its_own() {
        let timeline = otio(&cut());
        let tracks = timeline["tracks"]["children"].as_array().unwrap();
        assert_eq!(tracks.len(), 3);
        let dialogue = tracks[2]["children"].as_array().unwrap();
        let kinds: Vec<&str> = dialogue.iter().map(|i| i["OTIO_SCHEMA"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["Clip.2", "Gap.1", "Gap.1"], "the voice, then quiet to the end of its shot and the next");
        let xml = fcpxml(&cut());
        assert!(xml.contains("<asset-clip ref=\"v0\" lane=\"-1\""), "{xml}");
        assert!(xml.contains("src=\"voices/shot-1.wav\""), "{xml}");
    }

    #[test]
    fn fcpxml_escapes_names_and_puts_captions_before_markers() {
        let xml = fcpxml(&cut());
        assert!(xml.contains("<project name=\"渡口 &amp; &lt;雨&gt;\">"), "{xml}");
        let caption = xml.find("<caption").unwrap();
        let marker = xml.find("<marker").unwrap();
        assert!(caption < marker);
        assert!(xml.contains("<media-rep kind=\"original-media\" src=\"clips/shot-1.mp4\"/>"));
        assert!(xml.contains("offset=\"72/24s\""), "{xml}");
    }

    #[test]
    fn otio_has_one_clip_a_shot_and_a_missing_reference_where_there_is_no_clip() {
        let timeline = otio(&cut());
        let video = &timeline["tracks"]["children"][0]["children"];
        assert_eq!(video.as_array().unwrap().len(), 2);
        assert_eq!(video[0]["markers"][1]["name"], "沈青禾：走。");
        assert_eq!(video[1]["media_references"]["DEFAULT_MEDIA"]["OTIO_SCHEMA"], "MissingReference.1");
    }
}
