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

    /// Joins `inputs` into `out`, reporting progress (0–100) as ffmpeg reports it.
    pub async fn merge(
        &self,
        inputs: &[PathBuf],
        out: &Path,
        labels: &Labels,
        mut progress: impl FnMut(u8) + Send,
    ) -> Result<MergeMode, MediaError> {
        if inputs.is_empty() {
            return Err(MediaError::Invalid("nothing to merge".into()));
        }
        let mut probes = Vec::with_capacity(inputs.len());
        for input in inputs {
            let probe = self.probe(input).await?;
            if probe.video().is_none() {
                return Err(MediaError::Invalid(format!("{} has no video stream", input.display())));
            }
            probes.push(probe);
        }
        let total: f64 = probes.iter().map(Probe::duration).sum();
        let first = probes[0].signature();
        let mut args: Vec<OsString> = Vec::new();
        // A visible label is drawn on every frame: only a re-encode can do that.
        let mode = if labels.visible.is_none() && probes.iter().all(|p| p.signature() == first) {
            let list = out.with_extension("txt");
            let body: String = inputs.iter().map(|p| format!("file '{}'\n", escape_concat(p))).collect();
            tokio::fs::write(&list, body).await?;
            args.extend(["-f", "concat", "-safe", "0", "-i"].map(OsString::from));
            args.push(list.into());
            args.extend(["-c", "copy"].map(OsString::from));
            MergeMode::StreamCopy
        } else {
            let video = first.0.as_ref().expect("checked above");
            let (w, h) = (even(video.width.unwrap_or(1280)), even(video.height.unwrap_or(720)));
            let fps = 24;
            let with_audio = probes.iter().any(|p| p.audio().is_some());
            let mut graph = String::new();
            let mut extra = inputs.len();
            for (i, input) in inputs.iter().enumerate() {
                args.extend(["-i".into(), input.into()]);
                graph.push_str(&format!(
                    "[{i}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps={fps},format=yuv420p[v{i}];"
                ));
            }
            if with_audio {
                for (i, probe) in probes.iter().enumerate() {
                    if probe.audio().is_some() {
                        graph.push_str(&format!(
                            "[{i}:a]aresample=44100,aformat=sample_fmts=fltp:channel_layouts=stereo,apad,atrim=duration={:.3}[a{i}];",
                            probe.duration()
                        ));
                    } else {
                        // A clip without sound gets silence of its length, so sound stays in step.
                        args.extend(["-f", "lavfi", "-t"].map(OsString::from));
                        args.push(format!("{:.3}", probe.duration()).into());
                        args.extend(["-i", "anullsrc=r=44100:cl=stereo"].map(OsString::from));
                        graph.push_str(&format!("[{extra}:a]aformat=sample_fmts=fltp:channel_layouts=stereo[a{i}];"));
                        extra += 1;
                    }
                }
            }
            for i in 0..inputs.len() {
                graph.push_str(&format!("[v{i}]"));
                if with_audio {
                    graph.push_str(&format!("[a{i}]"));
                }
            }
            let audio = u8::from(with_audio);
            let joined = if labels.visible.is_some() { "[joined]" } else { "[v]" };
            graph.push_str(&format!("concat=n={}:v=1:a={audio}{joined}", inputs.len()));
            if with_audio {
                graph.push_str("[a]");
            }
            if let Some(label) = &labels.visible {
                graph.push_str(&format!(";[joined]{}[v]", drawtext(label, w, h)));
            }
            args.extend(["-filter_complex".into(), graph.into(), "-map".into(), "[v]".into()]);
            if with_audio {
                args.extend(["-map", "[a]", "-c:a", "aac", "-b:a", "128k"].map(OsString::from));
            }
            args.extend(h264_args());
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
        Ok(mode)
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
        let mode = ffmpeg.merge(&clips, &merged, &Labels::default(), |p| seen.push(p)).await.unwrap();
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
        let mode = ffmpeg.merge(&[clips[0].clone(), odd], &mixed, &Labels::default(), |_| {}).await.unwrap();
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
        let mode = ffmpeg.merge(&clips[..2], &labelled, &labels, |_| {}).await.unwrap();
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

    #[tokio::test]
    async fn a_broken_input_is_a_clear_error() {
        let ffmpeg = Ffmpeg::locate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.mp4");
        tokio::fs::write(&junk, b"not a video").await.unwrap();
        let error = ffmpeg.merge(&[junk], &dir.path().join("out.mp4"), &Labels::default(), |_| {}).await.unwrap_err();
        assert!(error.to_string().starts_with("ffprobe failed"), "{error}");
    }

    #[test]
    fn quotes_in_paths_are_escaped_for_the_concat_list() {
        assert_eq!(escape_concat(Path::new("/tmp/it's.mp4")), r"/tmp/it'\''s.mp4");
    }
}
