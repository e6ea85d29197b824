//! Storyboard cards: how the offline provider draws a keyframe, so the first cut of an episode is
//! a story reel to judge pacing by — shot number, scene and time of day, the shot size as a
//! framing guide inside a frame of the project's aspect ratio, the camera movement as a second
//! guide and an arrow, the characters in frame, the action and the dialogue, in a font that has
//! Chinese glyphs; the pictures of the characters in frame (their chosen looks) stand in the
//! subject's box. Drawn by ffmpeg (`drawbox`, `overlay`, `drawtext` reading each line from a file,
//! so no text is ever spliced into the filter graph).

use std::path::{Path, PathBuf};

/// What one card shows; empty fields are left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Card {
    /// `镜头 3 / 10` or `SHOT 3 / 10`.
    pub number: String,
    /// `渡口 · 夜`.
    pub scene: String,
    /// The shot size as the documents say it (`特写`, `medium shot`).
    pub shot_size: String,
    /// The camera movement as the documents say it (`推镜`, `pan left`).
    pub movement: String,
    pub characters: String,
    pub action: String,
    pub dialogue: String,
    /// `4 s`.
    pub length: String,
    /// What the picture shows (the prompt a painter would be given), written small in the frame.
    pub picture: String,
    /// How many of the image request's references come before the characters' (the scene's
    /// picture): those are not drawn as subjects.
    pub skip_references: usize,
    /// Labels in the project's language: characters, action, dialogue.
    pub labels: [String; 3],
}

/// How much of the frame's height the subject fills, by shot size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Framing {
    Wide,
    Full,
    Medium,
    Close,
    ExtremeClose,
}

impl Framing {
    /// Reads a shot size in Chinese or English; a medium shot when it says nothing known.
    pub fn of(size: &str) -> Self {
        let size = size.to_lowercase();
        let says = |words: &[&str]| words.iter().any(|w| size.contains(w));
        if says(&["大特写", "extreme close", "ecu", "insert"]) {
            Self::ExtremeClose
        } else if says(&["特写", "近景", "close"]) {
            Self::Close
        } else if says(&["全景", "full", "long shot"]) && !says(&["远景", "extreme long", "establishing", "wide"]) {
            Self::Full
        } else if says(&["远景", "大全景", "wide", "establishing", "extreme long"]) {
            Self::Wide
        } else {
            Self::Medium
        }
    }

    /// The subject's height as a share of the frame's.
    pub fn share(self) -> f64 {
        match self {
            Self::Wide => 0.25,
            Self::Full => 0.8,
            Self::Medium => 0.6,
            Self::Close => 0.42,
            Self::ExtremeClose => 0.28,
        }
    }
}

/// Which way the camera moves, for its guide and arrow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Movement {
    Still,
    PushIn,
    PullOut,
    Pan,
    Tilt,
    Follow,
}

impl Movement {
    pub fn of(movement: &str) -> Self {
        let m = movement.to_lowercase();
        let says = |words: &[&str]| words.iter().any(|w| m.contains(w));
        if says(&["推", "push", "zoom in", "dolly in"]) {
            Self::PushIn
        } else if says(&["拉", "pull", "zoom out", "dolly out"]) {
            Self::PullOut
        } else if says(&["摇", "pan", "横移", "truck"]) {
            Self::Pan
        } else if says(&["升", "降", "tilt", "crane"]) {
            Self::Tilt
        } else if says(&["跟", "follow", "tracking"]) {
            Self::Follow
        } else {
            Self::Still
        }
    }

    fn arrow(self) -> &'static str {
        match self {
            Self::Still => "",
            Self::PushIn => "→←",
            Self::PullOut => "←→",
            Self::Pan => "→",
            Self::Tilt => "↑",
            Self::Follow => "→→",
        }
    }
}

/// Lines of `text` that fit `width` pixels at `size`: CJK glyphs about a font size wide, others
/// about half; breaks at spaces where there are any.
pub fn wrap(text: &str, size: f64, width: f64) -> Vec<String> {
    let glyph = |c: char| if c.is_ascii() { 0.55 * size } else { size };
    let mut lines = Vec::new();
    for paragraph in text.lines().map(str::trim).filter(|p| !p.is_empty()) {
        let mut line = String::new();
        let mut used = 0.0;
        for word in split_keeping_spaces(paragraph) {
            let wide: f64 = word.chars().map(glyph).sum();
            if used + wide > width && !line.trim().is_empty() {
                lines.push(line.trim_end().to_owned());
                line.clear();
                used = 0.0;
            }
            if wide > width {
                // A word (or a run of CJK text) longer than a line is broken by glyphs.
                for c in word.chars() {
                    if used + glyph(c) > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        used = 0.0;
                    }
                    line.push(c);
                    used += glyph(c);
                }
            } else {
                line.push_str(word);
                used += wide;
            }
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_owned());
        }
    }
    lines
}

/// Words with their trailing space; CJK characters each a word of their own.
fn split_keeping_spaces(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if c == ' ' || !c.is_ascii() {
            if !c.is_ascii() && start < at {
                words.push(&text[start..at]);
                start = at;
            }
            words.push(&text[start..end]);
            start = end;
        }
    }
    if start < text.len() {
        words.push(&text[start..]);
    }
    words
}

/// A line of text to draw, from a file.
pub(crate) struct TextLine {
    pub file: PathBuf,
    pub text: String,
    pub size: u32,
    pub x: u32,
    pub y: u32,
    pub color: &'static str,
}

/// Where a card's parts go: the filters drawn before and after the pictures laid in the subject's
/// box (input `1..` of the graph, each within its box), and the lines of text.
pub(crate) struct Layout {
    pub before: String,
    pub pictures: Vec<(u32, u32, u32, u32)>,
    pub after: String,
    pub lines: Vec<TextLine>,
}

impl Layout {
    /// The `-filter_complex` graph over input 0 (the blank card) and one input a picture,
    /// ending in `[card]`.
    pub(crate) fn graph(&self) -> String {
        let mut graph = format!("[0:v]{}[l0]", self.before);
        for (n, (x, y, w, h)) in self.pictures.iter().enumerate() {
            let i = n + 1;
            graph.push_str(&format!(
                ";[{i}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,format=rgba[p{i}];[l{n}][p{i}]overlay=x={x}+({w}-overlay_w)/2:y={y}+{h}-overlay_h[l{i}]"
            ));
        }
        graph.push_str(&format!(";[l{}]{}[card]", self.pictures.len(), self.after));
        graph
    }
}

/// The layout of `card` at `width`×`height` with `pictures` of its characters, its lines of text
/// written to files in `dir`.
pub(crate) fn layout(card: &Card, width: u32, height: u32, pictures: usize, font: &Path, dir: &Path) -> Layout {
    let (w, h) = (f64::from(width), f64::from(height));
    let short = w.min(h);
    let margin = (short * 0.045).round();
    let title = (short * 0.05).round();
    let body = (short * 0.038).round();
    let mut lines = Vec::new();
    let mut add = |text: String, size: f64, x: f64, y: f64, color: &'static str| {
        let file = dir.join(format!("card-line-{}.txt", lines.len()));
        lines.push(TextLine { file, text, size: size as u32, x: x as u32, y: y as u32, color });
    };
    // The header: number, scene, length.
    let header = [card.number.as_str(), card.scene.as_str(), card.length.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("  ·  ");
    add(header, title, margin, margin, "0x1c1917");
    // The frame: the card's own aspect ratio, scaled to leave room for the words.
    let frame_top = margin * 2.0 + title * 1.2;
    let scale = if h > w { 0.56 } else { 0.55 };
    let (fw, fh) = ((w * scale).round(), (h * scale).round());
    let fx = ((w - fw) / 2.0).round();
    let mut graph = format!("drawbox=x={fx}:y={frame_top}:w={fw}:h={fh}:color=0x292524:t=fill");
    for third in [1.0, 2.0] {
        let (x, y) = (fx + fw * third / 3.0, frame_top + fh * third / 3.0);
        graph.push_str(&format!(",drawbox=x={x:.0}:y={frame_top}:w=2:h={fh}:color=0x57534e:t=fill"));
        graph.push_str(&format!(",drawbox=x={fx}:y={y:.0}:w={fw}:h=2:color=0x57534e:t=fill"));
    }
    // The subject, as much of the frame as the shot size gives it, standing on the lower third.
    let framing = Framing::of(&card.shot_size);
    let (sh, sw) = (fh * framing.share(), fh * framing.share() * 0.6);
    let (sx, sy) = (fx + (fw - sw) / 2.0, (frame_top + fh * 0.92 - sh).max(frame_top + 4.0));
    let thick = (short * 0.004).max(2.0).round();
    // The characters' pictures stand side by side in the subject's box.
    let before = std::mem::take(&mut graph);
    let each = sw / pictures.max(1) as f64;
    let boxes = (0..pictures)
        .map(|n| ((sx + each * n as f64) as u32, sy as u32, each.max(2.0) as u32, sh.max(2.0) as u32))
        .collect();
    graph.push_str(&format!("drawbox=x={sx:.0}:y={sy:.0}:w={sw:.0}:h={sh:.0}:color=0xf59e0b:t={thick}"));
    // Where the camera ends up: inside the subject's box when it pushes in, outside when it pulls.
    let movement = Movement::of(&card.movement);
    let end = match movement {
        Movement::PushIn => Some(0.7),
        Movement::PullOut => Some(1.35),
        _ => None,
    };
    if let Some(ratio) = end {
        let (ew, eh) = ((fw * ratio).min(fw), (fh * ratio).min(fh));
        let (ex, ey) = (fx + (fw - ew) / 2.0, frame_top + (fh - eh) / 2.0);
        graph.push_str(&format!(",drawbox=x={ex:.0}:y={ey:.0}:w={ew:.0}:h={eh:.0}:color=0x38bdf8:t={thick}"));
    }
    let framing_label = [card.shot_size.as_str(), card.movement.as_str(), movement.arrow()]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("  ");
    add(framing_label, body, fx + margin / 2.0, frame_top + margin / 2.0, "0xfafaf9");
    // What the picture should show, small, along the frame's foot.
    let small = (body * 0.75).round();
    let picture = wrap(&card.picture, small, fw - margin);
    let shown = picture.len().min(3);
    for (n, line) in picture.into_iter().take(3).enumerate() {
        let y = frame_top + fh - margin / 2.0 - small * 1.3 * (shown - n) as f64;
        add(line, small, fx + margin / 2.0, y, "0xd6d3d1");
    }
    // The words: who, what, and what is said, as much as fits.
    let mut y = frame_top + fh + margin;
    let limit = h - margin;
    let [who, what, said] = &card.labels;
    for (label, text, color) in
        [(who, &card.characters, "0x44403c"), (what, &card.action, "0x1c1917"), (said, &card.dialogue, "0x9a3412")]
    {
        if text.trim().is_empty() {
            continue;
        }
        for line in wrap(&format!("{label}{text}"), body, w - margin * 2.0) {
            if y + body > limit {
                break;
            }
            add(line, body, margin, y, color);
            y += body * 1.35;
        }
        y += body * 0.4;
    }
    let quote =
        |text: &str| text.chars().filter(|c| !matches!(c, '\'' | '\\' | ';' | '[' | ']' | ':')).collect::<String>();
    let font = quote(&font.display().to_string());
    for line in &lines {
        graph.push_str(&format!(
            ",drawtext=fontfile='{font}':textfile='{}':expansion=none:fontsize={}:fontcolor={}:x={}:y={}",
            quote(&line.file.display().to_string()),
            line.size,
            line.color,
            line.x,
            line.y
        ));
    }
    Layout { before, pictures: boxes, after: graph, lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_movements_are_read_in_either_language() {
        assert_eq!(Framing::of("特写"), Framing::Close);
        assert_eq!(Framing::of("大特写"), Framing::ExtremeClose);
        assert_eq!(Framing::of("远景"), Framing::Wide);
        assert_eq!(Framing::of("Medium shot"), Framing::Medium);
        assert_eq!(Framing::of("full shot"), Framing::Full);
        assert_eq!(Movement::of("缓慢推镜"), Movement::PushIn);
        assert_eq!(Movement::of("Pan left"), Movement::Pan);
        assert_eq!(Movement::of("固定镜头"), Movement::Still);
    }

    #[test]
    fn text_wraps_to_the_width() {
        let lines = wrap("林晚舟撑伞走过长街，雨水顺着伞沿落下。", 10.0, 100.0);
        assert_eq!(lines, ["林晚舟撑伞走过长街，", "雨水顺着伞沿落下。"]);
        let lines = wrap("She walks the long street under her umbrella", 10.0, 120.0);
        assert!(lines.iter().all(|l| l.chars().count() as f64 * 5.5 <= 120.0), "{lines:?}");
        assert_eq!(lines.join(" "), "She walks the long street under her umbrella");
    }

    #[test]
    fn the_graph_draws_no_text_of_its_own() {
        let card = Card {
            number: "镜头 1".into(),
            dialogue: "林晚舟：'; drawtext=text=x".into(),
            labels: ["人物：".into(), "动作：".into(), "对白：".into()],
            ..Card::default()
        };
        let laid = layout(&card, 1440, 2560, 2, Path::new("/f.ttc"), Path::new("/tmp/c"));
        let graph = laid.graph();
        assert!(!graph.contains("drawtext=text"), "text goes through files: {graph}");
        assert!(laid.lines.iter().any(|l| l.text.contains("drawtext=text=x")));
        assert_eq!(laid.pictures.len(), 2);
        assert!(graph.contains("[l2]") && graph.ends_with("[card]"), "{graph}");
    }
}
