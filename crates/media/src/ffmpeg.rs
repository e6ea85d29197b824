//! ffmpeg and ffprobe, run as child processes: clips from keyframes, merges (stream copy when the
//! clips allow it, otherwise normalised and re-encoded) with progress, and probes.

use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(
        "{0} is not installed or not on PATH; install ffmpeg (Debian: apt-get install ffmpeg) to make and merge clips"
    )]
    Missing(&'static str),
    #[error("{program} failed: {message}")]
    Failed { program: &'static str, message: String },
    #[error("media file I/O failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(String),
}

/// Where the keyframes of a clip come from.
#[derive(Debug, Clone)]
pub enum ClipFrames {
    /// One still, slowly pushed in on.
    Start(PathBuf),
    /// A crossfade from the start frame to the end frame.
    StartEnd(PathBuf, PathBuf),
    /// A grid image of `panels` panels (row by row), shown one after the other.
    Grid { image: PathBuf, panels: u32 },
}

#[derive(Debug, Clone)]
pub struct ClipSpec {
    pub frames: ClipFrames,
    /// Seconds.
    pub duration: f64,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub out: PathBuf,
}

/// How a merge was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// The clips shared codec parameters and were joined without re-encoding.
    StreamCopy,
    /// The clips differed and were normalised (size, frame rate, audio) and re-encoded.
    Reencode,
}

/// The AI-content labels a film leaves with (GB 45438-2025): a visible mark drawn over every
/// frame, and an implicit one in the file's metadata.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// The visible mark: its text (`AI生成`) and a font that has its glyphs.
    pub visible: Option<VisibleLabel>,
    /// Metadata written into the MP4 (`AIGC` with the producer and content ids, `comment`).
    pub metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct VisibleLabel {
    pub text: String,
    pub font: PathBuf,
}

/// Fonts with CJK glyphs, where Debian's packages put them (`fonts-wqy-microhei` first).
const CJK_FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
];

/// The family name libass finds a font file by (for subtitles drawn with it).
pub fn font_family(font: &Path) -> &'static str {
    let name = font.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with("wqy-zenhei") {
        "WenQuanYi Zen Hei"
    } else if name.starts_with("NotoSansCJK") {
        "Noto Sans CJK SC"
    } else if name.starts_with("DroidSansFallback") {
        "Droid Sans Fallback"
    } else {
        "WenQuanYi Micro Hei"
    }
}

/// The `subtitles` filter drawing `burn` over a `width`×`height` picture: white with a dark
/// outline, bottom centre, the glyphs 4.5 % of the shorter side (libass sizes fonts against a
/// 288-line script, so the size is scaled by the picture's height).
fn subtitles_filter(burn: &BurnIn, width: u32, height: u32) -> String {
    let pixels = f64::from(width.min(height)) * 0.045;
    let size = (pixels * 288.0 / f64::from(height.max(1))).max(4.0);
    let quote = |text: &str| {
        text.chars().filter(|c| !matches!(c, '\'' | '\\' | ';' | '[' | ']' | ':' | ',')).collect::<String>()
    };
    let dir = burn.font.parent().map(|d| d.display().to_string()).unwrap_or_default();
    format!(
        "subtitles=filename='{}':fontsdir='{}':force_style='FontName={},FontSize={size:.1},PrimaryColour=&H00FFFFFF,OutlineColour=&H00202020,BorderStyle=1,Outline=1.2,Shadow=0,MarginV=18'",
        quote(&burn.srt.display().to_string()),
        quote(&dir),
        font_family(&burn.font),
    )
}

/// The first installed font that draws Chinese text.
pub fn cjk_font() -> Option<PathBuf> {
    CJK_FONTS.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// The drawtext filter for a visible label: bottom right, white on a translucent box, its font
/// 6 % of the frame's shorter side so the glyphs stand at least the 5 % the standard asks for.
fn drawtext(label: &VisibleLabel, width: u32, height: u32) -> String {
    let size = (width.min(height) as f64 * 0.06).ceil().max(12.0) as u32;
    let margin = size;
    // The values are ours (a font path, a fixed text), single-quoted in the graph; one that
    // could break out of the quotes is left out rather than escaped through two levels.
    let quote = |text: &str| text.chars().filter(|c| !matches!(c, '\'' | '\\' | ';' | '[' | ']')).collect::<String>();
    format!(
        "drawtext=fontfile='{}':text='{}':fontsize={size}:fontcolor=white@0.92:box=1:boxcolor=black@0.45:boxborderw={}:x=w-tw-{margin}:y=h-th-{margin}",
        quote(&label.font.display().to_string()),
        quote(&label.text),
        size / 3
    )
}

#[derive(Debug, Clone, Deserialize)]
pub struct Probe {
    #[serde(default)]
    pub streams: Vec<StreamInfo>,
    pub format: FormatInfo,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FormatInfo {
    #[serde(default)]
    pub format_name: String,
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StreamInfo {
    #[serde(default)]
    pub codec_type: String,
    #[serde(default)]
    pub codec_name: String,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
    #[serde(default)]
    pub pix_fmt: Option<String>,
    #[serde(default)]
    pub r_frame_rate: Option<String>,
    #[serde(default)]
    pub sample_rate: Option<String>,
    #[serde(default)]
    pub channels: Option<u32>,
    #[serde(default)]
    pub profile: Option<String>,
}

impl Probe {
    pub fn duration(&self) -> f64 {
        self.format.duration.as_deref().and_then(|d| d.parse().ok()).unwrap_or(0.0)
    }

    pub fn video(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.codec_type == "video")
    }

    pub fn audio(&self) -> Option<&StreamInfo> {
        self.streams.iter().find(|s| s.codec_type == "audio")
    }

    /// What must match between clips for a stream-copy join.
    fn signature(&self) -> (Option<StreamInfo>, Option<StreamInfo>) {
        (self.video().cloned(), self.audio().cloned())
    }
}

/// What a film is joined from: its clips in order, each with its spoken dialogue where it has
/// some, and an optional music bed under the whole film.
#[derive(Debug, Clone, Default)]
pub struct Reel {
    pub shots: Vec<ReelShot>,
    pub music: Option<PathBuf>,
    /// Subtitles (SRT, timed to this reel) burned into the pictures.
    pub subtitles: Option<BurnIn>,
}

/// Subtitles to draw into every frame, in a font that has the script's glyphs.
#[derive(Debug, Clone)]
pub struct BurnIn {
    pub srt: PathBuf,
    pub font: PathBuf,
}

#[derive(Debug, Clone)]
pub struct ReelShot {
    pub clip: PathBuf,
    pub voice: Option<PathBuf>,
}

impl Reel {
    /// Clips alone: no dialogue, no music.
    pub fn of_clips(clips: &[PathBuf]) -> Self {
        let shots = clips.iter().map(|clip| ReelShot { clip: clip.clone(), voice: None }).collect();
        Self { shots, music: None, subtitles: None }
    }
}

/// How a merge went: how it was made, and each shot's length on the film (a clip held for its
/// dialogue is longer than the clip).
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub mode: MergeMode,
    pub seconds: Vec<f64>,
}

/// Quiet after the last word of a shot before the next one cuts in.
const AFTER_DIALOGUE: f64 = 0.25;

/// A shot's length on the film: its clip's, or its dialogue's and a breath, whichever is longer.
pub fn segment_length(clip: f64, voice: Option<f64>) -> f64 {
    match voice {
        Some(voice) if voice + AFTER_DIALOGUE > clip => voice + AFTER_DIALOGUE,
        _ => clip,
    }
}

/// The inputs of one ffmpeg run, each file given once.
#[derive(Default)]
struct Inputs {
    files: Vec<PathBuf>,
    /// The input index of each of `files`.
    order: Vec<usize>,
    count: usize,
}

impl Inputs {
    /// The input index of `path`, adding it the first time.
    fn file(&mut self, args: &mut Vec<OsString>, path: &Path) -> usize {
        if let Some(at) = self.files.iter().position(|f| f == path) {
            return self.indexes()[at];
        }
        args.extend(["-i".into(), path.into()]);
        self.files.push(path.to_owned());
        self.order.push(self.count);
        self.count += 1;
        self.count - 1
    }

    fn index_of(&self, path: &Path) -> usize {
        let at = self.files.iter().position(|f| f == path).expect("the clip was added first");
        self.indexes()[at]
    }

    fn indexes(&self) -> &[usize] {
        &self.order
    }

    /// A stretch of silence as an input of its own.
    fn silence(&mut self, args: &mut Vec<OsString>, seconds: f64) -> usize {
        args.extend(["-f", "lavfi", "-t"].map(OsString::from));
        args.push(format!("{seconds:.3}").into());
        args.extend(["-i", "anullsrc=r=44100:cl=stereo"].map(OsString::from));
        self.count += 1;
        self.count - 1
    }
}

#[derive(Debug, Clone)]
pub struct Ffmpeg {
    ffmpeg: PathBuf,
    ffprobe: PathBuf,
}

fn find_on_path(program: &'static str) -> Result<PathBuf, MediaError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(MediaError::Missing(program))
}

impl Ffmpeg {
    /// Finds `ffmpeg` and `ffprobe` on PATH.
    pub fn locate() -> Result<Self, MediaError> {
        Ok(Self { ffmpeg: find_on_path("ffmpeg")?, ffprobe: find_on_path("ffprobe")? })
    }

    /// Makes an MP4 clip (H.264, yuv420p, no audio) from keyframes, reporting progress (0–99) as
    /// ffmpeg reports the time it has written.
    pub async fn clip(&self, spec: &ClipSpec, progress: impl FnMut(u8) + Send) -> Result<(), MediaError> {
        if !(0.5..=60.0).contains(&spec.duration) {
            return Err(MediaError::Invalid(format!("a clip lasts 0.5–60 seconds, not {}", spec.duration)));
        }
        let (w, h, fps, d) = (even(spec.width), even(spec.height), spec.fps.max(1), spec.duration);
        let fit = format!("scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1");
        let mut args: Vec<OsString> = Vec::new();
        let filter = match &spec.frames {
            ClipFrames::Start(image) => {
                let frames = (d * fps as f64).round() as u32;
                args.extend(["-i".into(), image.into()]);
                // Push in from 100 % to 120 % over the clip, centred.
                let step = 0.2 / frames.max(1) as f64;
                format!(
                    "[0:v]{fit},zoompan=z='min(zoom+{step:.6},1.2)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':d={frames}:s={w}x{h}:fps={fps},format=yuv420p[v]"
                )
            }
            ClipFrames::StartEnd(start, end) => {
                // Each still holds for ¾ of the clip; they overlap by half, so the total is `d`.
                let hold = d * 0.75;
                let fade = d * 0.5;
                for image in [start, end] {
                    args.extend(["-loop".into(), "1".into(), "-t".into(), format!("{hold:.3}").into()]);
                    args.extend(["-i".into(), image.into()]);
                }
                format!(
                    "[0:v]{fit},fps={fps},format=yuv420p[a];[1:v]{fit},fps={fps},format=yuv420p[b];\
                     [a][b]xfade=transition=fade:duration={fade:.3}:offset={:.3},format=yuv420p[v]",
                    hold - fade
                )
            }
            ClipFrames::Grid { image, panels } => {
                let n = (*panels).clamp(1, 9);
                let (cols, rows) = crate::picture::grid_layout(n);
                let each = d / n as f64;
                args.extend(["-loop".into(), "1".into(), "-t".into(), format!("{d:.3}").into()]);
                args.extend(["-i".into(), image.into()]);
                let mut graph = format!("[0:v]split={n}");
                for i in 0..n {
                    graph.push_str(&format!("[s{i}]"));
                }
                for i in 0..n {
                    let (x, y) = (i % cols, i / cols);
                    graph.push_str(&format!(
                        ";[s{i}]crop=iw/{cols}:ih/{rows}:{x}*iw/{cols}:{y}*ih/{rows},{fit},fps={fps},trim=duration={each:.3},setpts=PTS-STARTPTS[p{i}]"
                    ));
                }
                graph.push(';');
                for i in 0..n {
                    graph.push_str(&format!("[p{i}]"));
                }
                graph.push_str(&format!("concat=n={n}:v=1:a=0,format=yuv420p[v]"));
                graph
            }
        };
        args.extend(["-filter_complex".into(), filter.into(), "-map".into(), "[v]".into()]);
        args.extend(["-t".into(), format!("{d:.3}").into()]);
        args.extend(h264_args());
        args.extend(["-an".into(), spec.out.clone().into()]);
        self.run_ffmpeg(args, d, progress).await
    }

    /// Reads a media file's streams and duration.
    pub async fn probe(&self, path: &Path) -> Result<Probe, MediaError> {
        let output = Command::new(&self.ffprobe)
            .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
            .arg(path)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| spawn_error("ffprobe", e))?;
        if !output.status.success() {
            let message = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            return Err(MediaError::Failed { program: "ffprobe", message: tail(&message) });
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| MediaError::Failed { program: "ffprobe", message: format!("unreadable answer: {e}") })
    }

    /// Joins a reel's clips into `out` — each with its spoken dialogue, the music bed ducked under
    /// the speech — reporting progress (0–100) as ffmpeg reports it. A clip shorter than its
    /// dialogue holds its last frame until the line is said.
    pub async fn merge(
        &self,
        reel: &Reel,
        out: &Path,
        labels: &Labels,
        mut progress: impl FnMut(u8) + Send,
    ) -> Result<Merged, MediaError> {
        if reel.shots.is_empty() {
            return Err(MediaError::Invalid("nothing to merge".into()));
        }
        let mut probes = Vec::with_capacity(reel.shots.len());
        let mut seconds = Vec::with_capacity(reel.shots.len());
        for shot in &reel.shots {
            let probe = self.probe(&shot.clip).await?;
            if probe.video().is_none() {
                return Err(MediaError::Invalid(format!("{} has no video stream", shot.clip.display())));
            }
            let voice = match &shot.voice {
                Some(voice) => Some(self.probe(voice).await?.duration()),
                None => None,
            };
            seconds.push(segment_length(probe.duration(), voice));
            probes.push(probe);
        }
        let total: f64 = seconds.iter().sum();
        let first = probes[0].signature();
        let sound_added = reel.music.is_some() || reel.shots.iter().any(|s| s.voice.is_some());
        let drawn_over = labels.visible.is_some() || reel.subtitles.is_some();
        let mut args: Vec<OsString> = Vec::new();
        // A visible label is drawn on every frame, and sound is mixed: only a re-encode can.
        let copyable = !drawn_over && !sound_added && probes.iter().all(|p| p.signature() == first);
        let mode = if copyable {
            let list = out.with_extension("txt");
            let body: String = reel.shots.iter().map(|s| format!("file '{}'\n", escape_concat(&s.clip))).collect();
            tokio::fs::write(&list, body).await?;
            args.extend(["-f", "concat", "-safe", "0", "-i"].map(OsString::from));
            args.push(list.into());
            args.extend(["-c", "copy"].map(OsString::from));
            MergeMode::StreamCopy
        } else {
            let video = first.0.as_ref().expect("checked above");
            let (w, h) = (even(video.width.unwrap_or(1280)), even(video.height.unwrap_or(720)));
            let mut inputs = Inputs::default();
            let mut graph = String::new();
            for (i, (shot, probe)) in reel.shots.iter().zip(&probes).enumerate() {
                let clip = inputs.file(&mut args, &shot.clip);
                let hold = seconds[i] - probe.duration();
                let hold =
                    if hold > 0.01 { format!(",tpad=stop_mode=clone:stop_duration={hold:.3}") } else { String::new() };
                graph.push_str(&format!(
                    "[{clip}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=24{hold},format=yuv420p[v{i}];"
                ));
            }
            let with_audio = sound_added || probes.iter().any(|p| p.audio().is_some());
            if with_audio {
                for (i, (shot, probe)) in reel.shots.iter().zip(&probes).enumerate() {
                    let length = seconds[i];
                    // Each clip's sound: its own, its dialogue over it, or silence of its length,
                    // so sound stays in step with the pictures.
                    let own = probe.audio().is_some().then(|| inputs.index_of(&shot.clip));
                    let voice = shot.voice.as_ref().map(|v| inputs.file(&mut args, v));
                    let fit = format!(
                        "aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=duration={length:.3}"
                    );
                    match (own, voice) {
                        (Some(own), Some(voice)) => graph.push_str(&format!(
                            "[{own}:a]{fit}[o{i}];[{voice}:a]{fit}[d{i}];[o{i}][d{i}]amix=inputs=2:duration=first:normalize=0[a{i}];"
                        )),
                        (Some(one), None) | (None, Some(one)) => graph.push_str(&format!("[{one}:a]{fit}[a{i}];")),
                        (None, None) => {
                            let silence = inputs.silence(&mut args, length);
                            graph.push_str(&format!("[{silence}:a]aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}];"));
                        }
                    }
                }
            }
            for i in 0..reel.shots.len() {
                graph.push_str(&format!("[v{i}]"));
                if with_audio {
                    graph.push_str(&format!("[a{i}]"));
                }
            }
            let audio = u8::from(with_audio);
            let joined = if drawn_over { "[joined]" } else { "[v]" };
            graph.push_str(&format!("concat=n={}:v=1:a={audio}{joined}", reel.shots.len()));
            if with_audio {
                graph.push_str(if reel.music.is_some() { "[speech]" } else { "[a]" });
            }
            if let Some(music) = &reel.music {
                // The bed loops under the whole film at a third of its level, pressed down
                // further wherever someone speaks (the speech keys the compressor).
                args.extend(["-stream_loop", "-1"].map(OsString::from));
                let bed = inputs.file(&mut args, music);
                graph.push_str(&format!(
                    ";[{bed}:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,atrim=duration={total:.3},volume=0.35[bed];\
                     [speech]asplit=2[spoken][key];[bed][key]sidechaincompress=threshold=0.03:ratio=9:attack=15:release=350[ducked];\
                     [spoken][ducked]amix=inputs=2:duration=first:normalize=0[a]"
                ));
            }
            // Over the joined pictures: the subtitles, then the AI-content label on top.
            let mut over = Vec::new();
            if let Some(burn) = &reel.subtitles {
                over.push(subtitles_filter(burn, w, h));
            }
            if let Some(label) = &labels.visible {
                over.push(drawtext(label, w, h));
            }
            if !over.is_empty() {
                graph.push_str(&format!(";[joined]{}[v]", over.join(",")));
            }
            args.extend(["-filter_complex".into(), graph.into(), "-map".into(), "[v]".into()]);
            if with_audio {
                args.extend(["-map", "[a]", "-c:a", "aac", "-b:a", "128k"].map(OsString::from));
            }
            args.extend(h264_args());
            args.extend(["-t".into(), format!("{total:.3}").into()]);
            MergeMode::Reencode
        };
        for (key, value) in &labels.metadata {
            args.extend(["-metadata".into(), format!("{key}={value}").into()]);
        }
        // `use_metadata_tags` keeps keys MP4 has no atom of its own for (`AIGC`).
        args.extend(["-movflags", "+faststart+use_metadata_tags"].map(OsString::from));
        args.push(out.into());
        let result = self.run_ffmpeg(args, total, &mut progress).await;
        if mode == MergeMode::StreamCopy {
            let _ = tokio::fs::remove_file(out.with_extension("txt")).await;
        }
        result?;
        progress(100);
        Ok(Merged { mode, seconds })
    }

    /// Draws a storyboard card (see [`crate::card`]) as a PNG of `width`×`height`, the
    /// `pictures` of the characters in frame standing in the subject's box.
    pub async fn card(
        &self,
        card: &crate::card::Card,
        width: u32,
        height: u32,
        pictures: &[PathBuf],
        font: &Path,
        out: &Path,
    ) -> Result<(), MediaError> {
        let (w, h) = (even(width), even(height));
        let dir = out.with_extension("lines");
        tokio::fs::create_dir_all(&dir).await?;
        let laid = crate::card::layout(card, w, h, pictures.len(), font, &dir);
        let drawn = async {
            for line in &laid.lines {
                tokio::fs::write(&line.file, &line.text).await?;
            }
            let mut args: Vec<OsString> = ["-f", "lavfi", "-i"].map(OsString::from).to_vec();
            args.push(format!("color=c=0xf5f1e8:s={w}x{h}:d=1").into());
            for picture in pictures {
                args.extend(["-i".into(), picture.into()]);
            }
            args.extend(["-filter_complex".into(), laid.graph().into(), "-map".into(), "[card]".into()]);
            args.extend(["-frames:v", "1", "-c:v", "png", "-f", "image2"].map(OsString::from));
            args.push(out.into());
            self.run_ffmpeg(args, 0.0, |_| {}).await
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        drawn
    }

    /// Draws `label` on the picture `input` (PNG or JPEG, as `out`'s extension says) the way it
    /// is drawn on films: bottom right, glyphs 6 % of the shorter side.
    pub async fn label_image(&self, input: &Path, out: &Path, label: &VisibleLabel) -> Result<(), MediaError> {
        let probe = self.probe(input).await?;
        let picture =
            probe.video().ok_or_else(|| MediaError::Invalid(format!("{} is not a picture", input.display())))?;
        let (w, h) = (picture.width.unwrap_or(1024), picture.height.unwrap_or(1024));
        let mut args: Vec<OsString> = vec!["-i".into(), input.into(), "-vf".into(), drawtext(label, w, h).into()];
        args.extend(["-frames:v", "1", "-f", "image2"].map(OsString::from));
        let jpeg = out.extension().is_some_and(|e| e == "jpg" || e == "jpeg");
        args.extend(if jpeg { ["-q:v", "2"] } else { ["-c:v", "png"] }.map(OsString::from));
        args.push(out.into());
        self.run_ffmpeg(args, 0.0, |_| {}).await
    }

    /// Each shot's length on the film a merge of `reel` makes (see [`segment_length`]): what
    /// subtitles to burn in are timed by.
    pub async fn reel_seconds(&self, reel: &Reel) -> Result<Vec<f64>, MediaError> {
        let mut seconds = Vec::with_capacity(reel.shots.len());
        for shot in &reel.shots {
            let clip = self.probe(&shot.clip).await?.duration();
            let voice = match &shot.voice {
                Some(voice) => Some(self.probe(voice).await?.duration()),
                None => None,
            };
            seconds.push(segment_length(clip, voice));
        }
        Ok(seconds)
    }

    /// Joins spoken lines into one WAV with `gap` seconds of quiet after each; answers its length.
    pub async fn join_audio(&self, lines: &[PathBuf], gap: f64, out: &Path) -> Result<f64, MediaError> {
        if lines.is_empty() {
            return Err(MediaError::Invalid("no lines to join".into()));
        }
        let mut args: Vec<OsString> = Vec::new();
        let mut graph = String::new();
        for (i, line) in lines.iter().enumerate() {
            args.extend(["-i".into(), line.into()]);
            graph.push_str(&format!(
                "[{i}:a]aresample=44100,aformat=sample_fmts=s16:channel_layouts=mono,apad=pad_dur={gap:.3}[l{i}];"
            ));
        }
        for i in 0..lines.len() {
            graph.push_str(&format!("[l{i}]"));
        }
        graph.push_str(&format!("concat=n={}:v=0:a=1[a]", lines.len()));
        args.extend(["-filter_complex".into(), graph.into(), "-map".into(), "[a]".into()]);
        args.extend(["-c:a", "pcm_s16le"].map(OsString::from));
        args.push(out.into());
        self.run_ffmpeg(args, 0.0, |_| {}).await?;
        Ok(self.probe(out).await?.duration())
    }

    /// Runs ffmpeg with `args`, reading its `-progress` reports against `total` seconds.
    async fn run_ffmpeg(
        &self,
        args: Vec<OsString>,
        total: f64,
        mut progress: impl FnMut(u8),
    ) -> Result<(), MediaError> {
        let mut child = Command::new(&self.ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-progress", "pipe:1", "-nostats"])
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| spawn_error("ffmpeg", e))?;
        let mut stderr = child.stderr.take().expect("piped");
        let errors = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        while let Some(line) = lines.next_line().await? {
            if let Some(us) = line.strip_prefix("out_time_us=").and_then(|v| v.parse::<f64>().ok())
                && total > 0.0
            {
                progress(((us / 1e6 / total) * 100.0).clamp(0.0, 99.0) as u8);
            }
        }
        let status = child.wait().await?;
        let message = errors.await.unwrap_or_default();
        if status.success() {
            Ok(())
        } else {
            Err(MediaError::Failed { program: "ffmpeg", message: tail(message.trim()) })
        }
    }
}

fn h264_args() -> Vec<OsString> {
    ["-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p", "-r", "24"]
        .map(OsString::from)
        .to_vec()
}

fn spawn_error(program: &'static str, error: std::io::Error) -> MediaError {
    if error.kind() == std::io::ErrorKind::NotFound { MediaError::Missing(program) } else { MediaError::Io(error) }
}

fn even(n: u32) -> u32 {
    (n.max(2) / 2) * 2
}

/// The concat demuxer's quoting: a single quote closes, escapes, and reopens.
fn escape_concat(path: &Path) -> String {
    path.display().to_string().replace('\'', r"'\''")
}

/// The last lines of a long error text.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(4)..].join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render_png;

    async fn frame(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
        let path = dir.join(name);
        tokio::fs::write(&path, render_png(name, w, h, 0)).await.unwrap();
        path
    }

    #[tokio::test]
    async fn clips_of_each_kind_have_the_asked_duration_and_merge() {
        let ffmpeg = Ffmpeg::locate().expect("ffmpeg is installed by the test setup");
        let dir = tempfile::tempdir().unwrap();
        let start = frame(dir.path(), "start.png", 360, 640).await;
        let end = frame(dir.path(), "end.png", 360, 640).await;
        let grid = frame(dir.path(), "grid.png", 720, 1280).await;
        let specs = [
            (ClipFrames::Start(start.clone()), 2.0),
            (ClipFrames::StartEnd(start, end), 3.0),
            (ClipFrames::Grid { image: grid, panels: 4 }, 2.0),
        ];
        let mut clips = Vec::new();
        for (i, (frames, duration)) in specs.into_iter().enumerate() {
            let out = dir.path().join(format!("clip{i}.mp4"));
            let spec = ClipSpec { frames, duration, width: 180, height: 320, fps: 24, out: out.clone() };
            let mut seen = Vec::new();
            ffmpeg.clip(&spec, |p| seen.push(p)).await.unwrap();
            assert!(
                !seen.is_empty() && seen.is_sorted() && seen.iter().all(|p| *p < 100),
                "clip {i} progress {seen:?}"
            );
            let probe = ffmpeg.probe(&out).await.unwrap();
            assert!(probe.format.format_name.contains("mp4"), "{:?}", probe.format);
            let video = probe.video().unwrap();
            assert_eq!((video.codec_name.as_str(), video.width, video.height), ("h264", Some(180), Some(320)));
            assert!((probe.duration() - duration).abs() < 0.15, "clip {i} lasts {}", probe.duration());
            clips.push(out);
        }
        let merged = dir.path().join("film.mp4");
        let mut seen = Vec::new();
        let Merged { mode, seconds } =
            ffmpeg.merge(&Reel::of_clips(&clips), &merged, &Labels::default(), |p| seen.push(p)).await.unwrap();
        assert_eq!(seconds.len(), 3);
        assert_eq!(mode, MergeMode::StreamCopy);
        assert!((ffmpeg.probe(&merged).await.unwrap().duration() - 7.0).abs() < 0.2);
        assert_eq!(seen.last(), Some(&100));

        // A clip of another size forces a normalising re-encode to the first clip's size.
        let odd = dir.path().join("odd.mp4");
        let frames = ClipFrames::Start(frame(dir.path(), "odd.png", 640, 360).await);
        ffmpeg
            .clip(&ClipSpec { frames, duration: 1.0, width: 320, height: 180, fps: 24, out: odd.clone() }, |_| {})
            .await
            .unwrap();
        let mixed = dir.path().join("mixed.mp4");
        let reel = Reel::of_clips(&[clips[0].clone(), odd]);
        let mode = ffmpeg.merge(&reel, &mixed, &Labels::default(), |_| {}).await.unwrap().mode;
        assert_eq!(mode, MergeMode::Reencode);
        let probe = ffmpeg.probe(&mixed).await.unwrap();
        assert_eq!((probe.video().unwrap().width, probe.video().unwrap().height), (Some(180), Some(320)));
        assert!((probe.duration() - 3.0).abs() < 0.2, "{}", probe.duration());

        // Labelled: clips that could be copied are re-encoded to draw the mark, and the file
        // carries the metadata asked for.
        let labels = Labels {
            visible: Some(VisibleLabel {
                text: "AI生成".into(),
                font: cjk_font().expect("a CJK font is installed by the test setup"),
            }),
            metadata: vec![("AIGC".into(), r#"{"Label":"1"}"#.into()), ("comment".into(), "AI生成".into())],
        };
        let labelled = dir.path().join("labelled.mp4");
        let mode = ffmpeg.merge(&Reel::of_clips(&clips[..2]), &labelled, &labels, |_| {}).await.unwrap().mode;
        assert_eq!(mode, MergeMode::Reencode);
        let tags = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "format_tags=AIGC,comment", "-of", "default=nw=1"])
            .arg(&labelled)
            .output()
            .await
            .unwrap();
        let tags = String::from_utf8_lossy(&tags.stdout);
        assert!(tags.contains(r#"TAG:AIGC={"Label":"1"}"#) && tags.contains("TAG:comment=AI生成"), "{tags}");
        assert!((ffmpeg.probe(&labelled).await.unwrap().duration() - 5.0).abs() < 0.2);
    }

    /// A WAV of `seconds` of a tone, as a spoken line stands in here.
    async fn tone(ffmpeg: &Ffmpeg, dir: &Path, name: &str, seconds: f64) -> PathBuf {
        let out = dir.join(name);
        let args: Vec<OsString> =
            ["-f", "lavfi", "-i", &format!("sine=frequency=440:duration={seconds}"), "-c:a", "pcm_s16le"]
                .map(OsString::from)
                .into_iter()
                .chain([out.clone().into()])
                .collect();
        ffmpeg.run_ffmpeg(args, 0.0, |_| {}).await.unwrap();
        out
    }

    /// Mean volume in dB of `seconds` of `path`'s sound from `from`.
    async fn loudness(path: &Path, from: f64, seconds: f64) -> f64 {
        let output = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-ss", &from.to_string(), "-t", &seconds.to_string(), "-i"])
            .arg(path)
            .args(["-af", "volumedetect", "-f", "null", "-"])
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&output.stderr);
        let line = text.lines().find(|l| l.contains("mean_volume:")).unwrap_or_else(|| panic!("{text}"));
        line.split("mean_volume:").nth(1).unwrap().trim().trim_end_matches(" dB").parse().unwrap()
    }

    #[tokio::test]
    async fn dialogue_holds_a_short_clip_and_ducks_the_music() {
        let ffmpeg = Ffmpeg::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let still = frame(dir.path(), "still.png", 320, 180).await;
        let mut clips = Vec::new();
        for i in 0..2 {
            let out = dir.path().join(format!("c{i}.mp4"));
            let spec = ClipSpec {
                frames: ClipFrames::Start(still.clone()),
                duration: 2.0,
                width: 320,
                height: 180,
                fps: 24,
                out: out.clone(),
            };
            ffmpeg.clip(&spec, |_| {}).await.unwrap();
            clips.push(out);
        }
        let first = tone(&ffmpeg, dir.path(), "l1.wav", 0.8).await;
        let second = tone(&ffmpeg, dir.path(), "l2.wav", 0.6).await;
        let voice = dir.path().join("voice.wav");
        let length = ffmpeg.join_audio(&[first, second], 0.3, &voice).await.unwrap();
        assert!((length - 2.0).abs() < 0.1, "two lines and their pauses: {length}");
        // The second shot's line is longer than its clip: the clip holds until it is said.
        let long_line = tone(&ffmpeg, dir.path(), "long.wav", 3.0).await;
        let music = tone(&ffmpeg, dir.path(), "music.wav", 1.5).await;
        let reel = Reel {
            shots: vec![
                ReelShot { clip: clips[0].clone(), voice: None },
                ReelShot { clip: clips[1].clone(), voice: Some(long_line) },
            ],
            music: Some(music),
            subtitles: None,
        };
        let film = dir.path().join("film.mp4");
        let merged = ffmpeg.merge(&reel, &film, &Labels::default(), |_| {}).await.unwrap();
        assert_eq!(merged.mode, MergeMode::Reencode);
        assert!(
            (merged.seconds[0] - 2.0).abs() < 0.05 && (merged.seconds[1] - 3.25).abs() < 0.05,
            "{:?}",
            merged.seconds
        );
        let probe = ffmpeg.probe(&film).await.unwrap();
        assert!(probe.audio().is_some(), "the film has sound");
        assert!((probe.duration() - 5.25).abs() < 0.2, "{}", probe.duration());
        // Music alone in the first shot (looped past its 1.5 s), music under speech in the second:
        // the bed is pressed down there, so the speech stands over it.
        let music_only = loudness(&film, 0.2, 1.6).await;
        let with_speech = loudness(&film, 2.3, 2.0).await;
        assert!(music_only > -40.0, "the music plays under the first shot: {music_only} dB");
        assert!(
            with_speech > music_only,
            "speech over ducked music is louder than music alone: {with_speech} vs {music_only}"
        );
    }

    /// The mean brightness of the bottom-centre strip of the frame at `at` seconds.
    async fn bottom_centre(path: &Path, at: f64) -> f64 {
        let output = Command::new("ffmpeg")
            .args(["-v", "error", "-ss", &at.to_string(), "-i"])
            .arg(path)
            .args(["-frames:v", "1", "-vf", "crop=iw*0.5:ih*0.12:iw*0.25:ih*0.85,scale=1:1:flags=area,format=gray"])
            .args(["-f", "rawvideo", "-"])
            .output()
            .await
            .unwrap();
        assert_eq!(output.stdout.len(), 1, "{}", String::from_utf8_lossy(&output.stderr));
        f64::from(output.stdout[0])
    }

    #[tokio::test]
    async fn subtitles_are_burned_in_on_request() {
        let ffmpeg = Ffmpeg::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let still = frame(dir.path(), "still.png", 320, 180).await;
        let clip = dir.path().join("c.mp4");
        let spec = ClipSpec {
            frames: ClipFrames::Start(still),
            duration: 3.0,
            width: 320,
            height: 180,
            fps: 24,
            out: clip.clone(),
        };
        ffmpeg.clip(&spec, |_| {}).await.unwrap();
        let srt = dir.path().join("film.srt");
        tokio::fs::write(&srt, "1\n00:00:00,000 --> 00:00:02,000\n林晚舟：今晚一定要找到他。\n").await.unwrap();
        let font = cjk_font().expect("a CJK font is installed by the test setup");
        let plain = dir.path().join("plain.mp4");
        let mut reel = Reel::of_clips(std::slice::from_ref(&clip));
        assert_eq!(ffmpeg.reel_seconds(&reel).await.unwrap().len(), 1);
        ffmpeg.merge(&reel, &plain, &Labels::default(), |_| {}).await.unwrap();
        reel.subtitles = Some(BurnIn { srt, font });
        let burned = dir.path().join("burned.mp4");
        let merged = ffmpeg.merge(&reel, &burned, &Labels::default(), |_| {}).await.unwrap();
        assert_eq!(merged.mode, MergeMode::Reencode, "drawing needs a re-encode");
        let (with, without) = (bottom_centre(&burned, 1.0).await, bottom_centre(&plain, 1.0).await);
        assert!((with - without).abs() > 3.0, "a subtitle at the bottom: {with} against {without}");
        let (after, before) = (bottom_centre(&burned, 2.6).await, bottom_centre(&plain, 2.6).await);
        assert!((after - before).abs() < 3.0, "and gone once its cue ends: {after} against {before}");
    }

    #[test]
    fn a_shot_lasts_its_clip_or_its_dialogue() {
        assert_eq!(segment_length(5.0, None), 5.0);
        assert_eq!(segment_length(5.0, Some(2.0)), 5.0);
        assert_eq!(segment_length(2.0, Some(3.0)), 3.25);
    }

    #[tokio::test]
    async fn a_broken_input_is_a_clear_error() {
        let ffmpeg = Ffmpeg::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mp4");
        tokio::fs::write(&junk, b"not a video").await.unwrap();
        let reel = Reel::of_clips(&[junk]);
        let error = ffmpeg.merge(&reel, &dir.path().join("out.mp4"), &Labels::default(), |_| {}).await.unwrap_err();
        assert!(error.to_string().starts_with("ffprobe failed"), "{error}");
    }

    #[test]
    fn quotes_in_paths_are_escaped_for_the_concat_list() {
        assert_eq!(escape_concat(Path::new("/tmp/it's.mp4")), r"/tmp/it'\''s.mp4");
    }
}
