//! Subtitles from the shots' dialogue on the cut's timings: each shot's lines share its time in
//! proportion to their length, unless a person edited the shot's subtitles (their text and
//! times are kept, within the shot). SubRip (`.srt`) and WebVTT (`.vtt`), with speaker names on
//! request.

use super::cut::{Cut, FPS};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cue {
    pub shot_id: String,
    /// Milliseconds from the start of the film.
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: Option<String>,
    pub text: String,
    /// Milliseconds from the start of the film to the first frame of the cue's shot.
    pub shot_start_ms: i64,
    /// Whether a person edited this shot's subtitles.
    pub edited: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Srt,
    Vtt,
}

impl Format {
    /// `srt` or `vtt`.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "srt" => Some(Self::Srt),
            "vtt" => Some(Self::Vtt),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Srt => "application/x-subrip; charset=utf-8",
            Self::Vtt => "text/vtt; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Srt => "srt",
            Self::Vtt => "vtt",
        }
    }
}

fn ms(frame: i64) -> i64 {
    frame * 1000 / FPS
}

/// The cues of the cut, in order.
pub fn cues(cut: &Cut) -> Vec<Cue> {
    let mut cues = Vec::new();
    for shot in &cut.shots {
        if let Some(edited) = &shot.edited {
            let (first, last) = (ms(shot.start), ms(shot.start + shot.frames));
            for cue in edited {
                let from = (first + (cue.start * 1000.0).round() as i64).min(last - 1);
                let to = (first + (cue.end * 1000.0).round() as i64).clamp(from + 1, last);
                cues.push(Cue {
                    shot_id: shot.shot_id.clone(),
                    start_ms: from,
                    end_ms: to,
                    speaker: cue.speaker.clone().filter(|s| !s.trim().is_empty()),
                    text: cue.text.trim().to_owned(),
                    shot_start_ms: first,
                    edited: true,
                });
            }
            continue;
        }
        let weights: Vec<i64> = shot.lines.iter().map(|l| l.text.chars().count().max(1) as i64).collect();
        let total: i64 = weights.iter().sum();
        let mut before = 0;
        for (line, weight) in shot.lines.iter().zip(&weights) {
            let from = shot.start + shot.frames * before / total;
            before += weight;
            let to = shot.start + shot.frames * before / total;
            cues.push(Cue {
                shot_id: shot.shot_id.clone(),
                start_ms: ms(from),
                end_ms: ms(to),
                speaker: line.speaker.clone(),
                text: line.text.clone(),
                shot_start_ms: ms(shot.start),
                edited: false,
            });
        }
    }
    cues
}

fn clock(ms: i64, separator: char) -> String {
    let (h, m, s, rest) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{separator}{rest:03}")
}

/// What a cue says on screen: a cue is one line, so line breaks and the cue arrow are taken out.
fn shown(cue: &Cue, speakers: bool) -> String {
    let text = cue.text.replace(['\r', '\n'], " ").replace("-->", "→");
    match (&cue.speaker, speakers) {
        (Some(name), true) if text.chars().any(|c| !c.is_ascii()) => format!("{name}：{text}"),
        (Some(name), true) => format!("{name}: {text}"),
        _ => text,
    }
}

/// WebVTT text: `&` and `<` are markup.
fn vtt_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub fn render(cues: &[Cue], format: Format, speakers: bool) -> String {
    let mut out = String::new();
    if format == Format::Vtt {
        out.push_str("WEBVTT\n\n");
    }
    for (n, cue) in cues.iter().enumerate() {
        match format {
            Format::Srt => {
                let (from, to) = (clock(cue.start_ms, ','), clock(cue.end_ms, ','));
                out.push_str(&format!("{}\n{from} --> {to}\n{}\n\n", n + 1, shown(cue, speakers)));
            }
            Format::Vtt => {
                let (from, to) = (clock(cue.start_ms, '.'), clock(cue.end_ms, '.'));
                // The voice span names the speaker for players that show it; the text carries it
                // too when asked.
                let text = vtt_escape(&shown(cue, speakers));
                let line = match &cue.speaker {
                    Some(name) => format!("<v {}>{text}", vtt_escape(name)),
                    None => text,
                };
                out.push_str(&format!("{}\n{from} --> {to}\n{line}\n\n", cue.shot_id.replace("-->", "→")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::cut::CutShot;
    use crate::film::dialogue::lines;

    fn cut() -> Cut {
        let shot = |id: &str, start, frames, dialogue: &str| CutShot {
            shot_id: id.into(),
            number: 0,
            scene: None,
            action: String::new(),
            start,
            frames,
            lines: lines(dialogue),
            media: None,
            voice: None,
            edited: None,
        };
        Cut {
            title: "渡口".into(),
            width: 1920,
            height: 1080,
            measured: true,
            shots: vec![
                shot("s1", 0, 72, "萧砚：沈姑娘？\n沈青禾：走。"),
                shot("s2", 72, 48, ""),
                shot("s3", 120, 3600 * 24, "A <b> & c --> d"),
            ],
        }
    }

    #[test]
    fn lines_share_their_shot_by_length_in_srt() {
        let srt = render(&cues(&cut()), Format::Srt, true);
        assert_eq!(
            srt,
            "1\n00:00:00,000 --> 00:00:02,000\n萧砚：沈姑娘？\n\n\
             2\n00:00:02,000 --> 00:00:03,000\n沈青禾：走。\n\n\
             3\n00:00:05,000 --> 01:00:05,000\nA <b> & c → d\n\n"
        );
        assert!(!render(&cues(&cut()), Format::Srt, false).contains("萧砚"));
    }

    #[test]
    fn webvtt_escapes_markup_and_names_voices() {
        let vtt = render(&cues(&cut()), Format::Vtt, false);
        assert!(vtt.starts_with("WEBVTT\n\ns1\n00:00:00.000 --> 00:00:02.000\n<v 萧砚>沈姑娘？\n\n"), "{vtt}");
        assert!(vtt.contains("01:00:05.000\nA &lt;b&gt; &amp; c → d\n"), "{vtt}");
    }
}
