//! The offline `local` provider (DESIGN §6): a screenplay parser for text, pictures painted from
//! the prompt for images, and real clips made with ffmpeg from the keyframes for video. It needs
//! no key and no network, so a new install works end to end.

pub mod director;
pub mod screenplay;
pub mod speech;

use crate::capability::*;
use crate::registry::{Capability, Provider};
use bytes::Bytes;
use cinegen_media::{ClipFrames, ClipSpec, Ffmpeg, render_grid_png};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub const NAME: &str = "local";
const TEXT_MODEL: &str = "screenplay-parser-1";
const IMAGE_MODEL: &str = "procedural-1";
const VIDEO_MODEL: &str = "ffmpeg-keyframes-1";
/// What the offline provider draws a keyframe with: a storyboard card.
const CARD_MODEL: &str = "storyboard-card-1";

pub struct LocalProvider {
    /// Where clips are rendered before they are handed over.
    work_dir: PathBuf,
    /// Clips being rendered, by job id: a submit starts one, polls read its progress.
    jobs: Jobs,
}

type Jobs = Arc<std::sync::Mutex<HashMap<String, Arc<RenderJob>>>>;

/// A finished clip nobody polled for (its task was cancelled or its worker stopped) is dropped
/// after this long.
const UNCLAIMED_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// A clip rendering in the background, as a vendor's job runs on its side.
struct RenderJob {
    /// ffmpeg's own progress, 0–99.
    progress: Arc<AtomicU8>,
    /// The clip, or why it could not be made; taken by the poll that finds it done.
    outcome: tokio::sync::watch::Receiver<Option<Result<Bytes, String>>>,
    render: tokio::task::AbortHandle,
}

/// How often the worker asks after a local clip: it is rendering here, so ask often and show
/// ffmpeg's progress as it goes.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(400);

impl LocalProvider {
    pub fn new(work_dir: PathBuf) -> Self {
        Self { work_dir, jobs: Default::default() }
    }

    /// The registry entry: every capability, no key.
    pub fn provider(work_dir: PathBuf) -> Provider {
        let local = Arc::new(Self::new(work_dir));
        Provider {
            name: NAME,
            needs_key: false,
            has_secret_key: false,
            text: Some(local.clone()),
            image: Some(local.clone()),
            video: Some(local.clone()),
            speech: Some(local),
            default_models: [
                (Capability::Text, TEXT_MODEL.to_owned()),
                (Capability::Image, IMAGE_MODEL.to_owned()),
                (Capability::Video, VIDEO_MODEL.to_owned()),
                (Capability::Speech, speech::SPEECH_MODEL.to_owned()),
            ]
            .into(),
            known_models: Default::default(),
            catalog: None,
        }
    }
}

#[async_trait::async_trait]
impl TextModel for LocalProvider {
    async fn complete(&self, request: &TextRequest, _: &Credentials) -> Result<TextOutput, ProviderError> {
        let answer = match &request.task {
            TextTask::ParseScript { script, genre, duration_secs } => {
                let play = screenplay::parse(script);
                if play.scenes.iter().all(|s| s.lines.is_empty()) {
                    return Err(ProviderError::Permanent {
                        message: "the script has no scenes, action or dialogue".into(),
                    });
                }
                let data = screenplay::script_data(&play, &request.language, genre, *duration_secs);
                let shots = director::plan_shots(&data, None, *duration_secs, &request.language);
                json!({ "scriptData": data, "shots": shots })
            }
            TextTask::GenerateScript { idea, genre, .. } => {
                let (title, script) = director::write_script(idea, genre, &request.language);
                json!({ "title": title, "script": script })
            }
            TextTask::GenerateShots { script_data, scene_id, duration_secs } => {
                json!({ "shots": director::plan_shots(script_data, scene_id.as_deref(), *duration_secs, &request.language) })
            }
            TextTask::VisualPrompt { target, subject, context } => {
                json!({ "visualPrompt": director::visual_prompt(*target, subject, context, &request.visual_style) })
            }
        };
        let text = answer.to_string();
        let units = text.chars().count() as i64;
        Ok(TextOutput { text, model: TEXT_MODEL.into(), units })
    }
}

#[async_trait::async_trait]
impl SpeechModel for LocalProvider {
    async fn synthesize(&self, request: &SpeechRequest, _: &Credentials) -> Result<SpeechOutput, ProviderError> {
        speech::speak(&self.work_dir, request).await
    }

    fn voices(&self) -> &'static [VoiceInfo] {
        speech::VOICES
    }
}

#[async_trait::async_trait]
impl ImageModel for LocalProvider {
    async fn generate(&self, request: &ImageRequest, _: &Credentials) -> Result<ImageOutput, ProviderError> {
        // A keyframe is drawn as a storyboard card, where a font can draw its words.
        if let (Some(card), 1, Some(font)) = (&request.card, request.panels, cinegen_media::cjk_font()) {
            let png = self.card(card, request, &font).await?;
            let images = (0..request.count.clamp(1, 9))
                .map(|_| Media::Bytes { bytes: png.clone(), content_type: "image/png".into() })
                .collect();
            return Ok(ImageOutput { images, model: CARD_MODEL.into(), usage: Usage::default() });
        }
        // References shape the picture too, so a variation differs from its base look.
        let mut seed = request.prompt.clone();
        for reference in &request.references {
            seed.push_str(&hex::encode(&Sha256::digest(&reference.bytes)[..8]));
        }
        let (width, height, count) = (request.width, request.height, request.count.clamp(1, 9));
        let panels = u32::from(request.panels.clamp(1, 9));
        let images = tokio::task::spawn_blocking(move || {
            (0..count as u32)
                .map(|variant| Media::Bytes {
                    bytes: Bytes::from(render_grid_png(&seed, width, height, variant, panels)),
                    content_type: "image/png".into(),
                })
                .collect()
        })
        .await
        .map_err(|e| ProviderError::Transient { message: format!("painting failed: {e}"), retry_after: None })?;
        Ok(ImageOutput { images, model: IMAGE_MODEL.into(), usage: Usage::default() })
    }
}

impl LocalProvider {
    /// Draws `card` as a PNG with ffmpeg under the work directory, the request's references to
    /// the characters (their chosen looks) in frame.
    async fn card(
        &self,
        card: &cinegen_media::Card,
        request: &ImageRequest,
        font: &Path,
    ) -> Result<Bytes, ProviderError> {
        let failed = |e: &dyn std::fmt::Display| ProviderError::Transient {
            message: format!("drawing the card failed: {e}"),
            retry_after: None,
        };
        let ffmpeg = Ffmpeg::locate().map_err(|e| ProviderError::Permanent { message: e.to_string() })?;
        tokio::fs::create_dir_all(&self.work_dir).await.map_err(|e| failed(&e))?;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let out = self.work_dir.join(format!("card-{}-{n}.png", std::process::id()));
        let mut pictures = Vec::new();
        for (i, reference) in request.references.iter().skip(card.skip_references).enumerate() {
            let path = out.with_extension(format!("ref{i}"));
            tokio::fs::write(&path, &reference.bytes).await.map_err(|e| failed(&e))?;
            pictures.push(path);
        }
        let drawn =
            ffmpeg.card(card, request.width, request.height, &pictures, font, &out).await.map_err(|e| failed(&e));
        for picture in &pictures {
            let _ = tokio::fs::remove_file(picture).await;
        }
        let bytes = match drawn {
            Ok(()) => tokio::fs::read(&out).await.map_err(|e| failed(&e)),
            Err(error) => Err(error),
        };
        let _ = tokio::fs::remove_file(&out).await;
        Ok(Bytes::from(bytes?))
    }

    fn job_id(request: &VideoRequest) -> String {
        let mut hash = Sha256::new();
        hash.update(request.prompt.as_bytes());
        let inputs: Vec<&MediaInput> = match &request.frames {
            VideoFrames::Start(a) => vec![a],
            VideoFrames::StartEnd(a, b) => vec![a, b],
            VideoFrames::Grid { image, panels } => {
                hash.update(panels.to_le_bytes());
                vec![image]
            }
        };
        for input in inputs {
            hash.update(&input.bytes);
        }
        hash.update(request.duration.to_le_bytes());
        hash.update(request.width.to_le_bytes());
        hash.update(request.height.to_le_bytes());
        format!("local-{}", hex::encode(&hash.finalize()[..12]))
    }

    /// The clip's size: the keyframes' aspect, at most 1280 pixels on the long side.
    fn clip_size(width: u32, height: u32) -> (u32, u32) {
        let long = width.max(height).max(1);
        let scale = (1280.0 / long as f64).min(1.0);
        ((width as f64 * scale) as u32, (height as f64 * scale) as u32)
    }

    /// The job for `job_id`, started if it is not running (a task resumed after a restart asks
    /// for a job this process never started: the id names its inputs, so it makes the same clip).
    fn job(&self, job_id: &str, request: &VideoRequest) -> Arc<RenderJob> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(job) = jobs.get(job_id) {
            return job.clone();
        }
        let progress = Arc::new(AtomicU8::new(0));
        let (done, outcome) = tokio::sync::watch::channel(None);
        let (dir, request, reported) = (self.work_dir.join(job_id), request.clone(), progress.clone());
        let (all, id) = (Arc::downgrade(&self.jobs), job_id.to_owned());
        let render = tokio::spawn(async move {
            let result = render(&dir, &request, &reported).await.map_err(|e| e.to_string());
            let _ = done.send(Some(result));
            tokio::time::sleep(UNCLAIMED_FOR).await;
            if let Some(all) = all.upgrade() {
                let mut jobs = all.lock().unwrap_or_else(|e| e.into_inner());
                if jobs.get(&id).is_some_and(|job| Arc::ptr_eq(&job.progress, &reported)) {
                    jobs.remove(&id);
                }
            }
        });
        let job = Arc::new(RenderJob { progress, outcome, render: render.abort_handle() });
        jobs.insert(job_id.to_owned(), job.clone());
        job
    }

    fn forget(&self, job_id: &str) -> Option<Arc<RenderJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).remove(job_id)
    }
}

/// Renders the clip in `dir` (removed afterwards), storing ffmpeg's progress in `progress`.
async fn render(dir: &Path, request: &VideoRequest, progress: &AtomicU8) -> std::io::Result<Bytes> {
    let ffmpeg = Ffmpeg::locate().map_err(std::io::Error::other)?;
    tokio::fs::create_dir_all(dir).await?;
    let write = |name: &str, input: &MediaInput| {
        let path = dir.join(name);
        let bytes = input.bytes.clone();
        async move { tokio::fs::write(&path, bytes).await.map(|()| path) }
    };
    let result = async {
        let frames = match &request.frames {
            VideoFrames::Start(a) => ClipFrames::Start(write("start", a).await?),
            VideoFrames::StartEnd(a, b) => ClipFrames::StartEnd(write("start", a).await?, write("end", b).await?),
            VideoFrames::Grid { image, panels } => {
                ClipFrames::Grid { image: write("grid", image).await?, panels: *panels }
            }
        };
        let (width, height) = LocalProvider::clip_size(request.width, request.height);
        let out = dir.join("clip.mp4");
        let spec = ClipSpec { frames, duration: request.duration, width, height, fps: 24, out: out.clone() };
        ffmpeg.clip(&spec, |p| progress.store(p, Ordering::Relaxed)).await.map_err(std::io::Error::other)?;
        tokio::fs::read(&out).await
    }
    .await;
    let _ = tokio::fs::remove_dir_all(dir).await;
    result.map(Bytes::from)
}

#[async_trait::async_trait]
impl VideoModel for LocalProvider {
    /// Starts rendering at once; the job id names the inputs, so submitting the same clip twice
    /// renders it once.
    async fn submit(&self, request: &VideoRequest, _: &Credentials) -> Result<VideoJob, ProviderError> {
        let job_id = Self::job_id(request);
        self.job(&job_id, request);
        Ok(VideoJob { job_id, model: VIDEO_MODEL.into() })
    }

    /// Waits up to [`POLL_EVERY`] for the clip, then answers it or ffmpeg's progress so far.
    async fn poll(&self, job_id: &str, request: &VideoRequest, _: &Credentials) -> Result<VideoPoll, ProviderError> {
        let job = self.job(job_id, request);
        let mut outcome = job.outcome.clone();
        let result = match tokio::time::timeout(POLL_EVERY, outcome.wait_for(Option::is_some)).await {
            Err(_) => return Ok(VideoPoll::Running { progress: Some(job.progress.load(Ordering::Relaxed)) }),
            Ok(Ok(seen)) => seen.clone().expect("waited for an outcome"),
            Ok(Err(_)) => Err("the render was stopped".to_owned()),
        };
        self.forget(job_id);
        match result {
            Ok(bytes) => Ok(VideoPoll::done(Media::Bytes { bytes, content_type: "video/mp4".into() })),
            Err(message) => Err(ProviderError::Permanent { message }),
        }
    }

    async fn cancel(&self, job_id: &str, _: &Credentials) -> Result<(), ProviderError> {
        if let Some(job) = self.forget(job_id) {
            // Dropping the render kills its ffmpeg (`kill_on_drop`).
            job.render.abort();
        }
        Ok(())
    }

    fn poll_every(&self) -> Option<std::time::Duration> {
        Some(POLL_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cinegen_media::render_png;

    fn png(prompt: &str) -> MediaInput {
        MediaInput { bytes: render_png(prompt, 144, 256, 0).into(), content_type: "image/png".into(), url: None }
    }

    #[tokio::test]
    async fn images_honour_size_and_count() {
        let local = LocalProvider::new(std::env::temp_dir());
        let request = ImageRequest {
            prompt: "古风少女".into(),
            width: 144,
            height: 256,
            count: 3,
            panels: 1,
            references: vec![],
            model: None,
            card: None,
            vendor_label: false,
        };
        let out = local.generate(&request, &Credentials::default()).await.unwrap();
        assert_eq!(out.images.len(), 3);
        let again = local.generate(&request, &Credentials::default()).await.unwrap();
        let bytes = |m: &Media| match m {
            Media::Bytes { bytes, .. } => bytes.clone(),
            Media::Url(_) => panic!("local images are bytes"),
        };
        assert_eq!(bytes(&out.images[0]), bytes(&again.images[0]));
    }

    #[tokio::test]
    async fn video_is_a_real_clip_and_the_job_id_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalProvider::new(dir.path().to_owned());
        let request = VideoRequest {
            prompt: "push in".into(),
            frames: VideoFrames::StartEnd(png("a"), png("b")),
            duration: 2.0,
            width: 144,
            height: 256,
            model: None,
            seed: None,
            idempotency_key: None,
            camera: None,
            negative_prompt: None,
            callback_url: None,
            vendor_label: false,
        };
        let job = local.submit(&request, &Credentials::default()).await.unwrap();
        assert_eq!(job.job_id, local.submit(&request, &Credentials::default()).await.unwrap().job_id);
        let mut progress = Vec::new();
        let (bytes, content_type) = loop {
            match local.poll(&job.job_id, &request, &Credentials::default()).await.unwrap() {
                VideoPoll::Done { media: Media::Bytes { bytes, content_type }, .. } => break (bytes, content_type),
                VideoPoll::Done { .. } => panic!("a local clip is bytes"),
                VideoPoll::Running { progress: p } => progress.push(p.unwrap()),
            }
        };
        assert!(progress.is_sorted() && progress.iter().all(|p| *p < 100), "{progress:?}");
        assert_eq!(content_type, "video/mp4");
        assert_eq!(&bytes[4..8], b"ftyp");
        assert!(!dir.path().join(&job.job_id).exists(), "work files are removed");
        assert!(local.jobs.lock().unwrap().is_empty(), "a clip handed over is forgotten");
    }

    #[tokio::test]
    async fn a_long_clip_reports_progress_and_cancels() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalProvider::new(dir.path().to_owned());
        // Large enough that ffmpeg reports along the way on any machine.
        let request = VideoRequest {
            prompt: "slow pan".into(),
            frames: VideoFrames::StartEnd(png("c"), png("d")),
            duration: 20.0,
            width: 720,
            height: 1280,
            model: None,
            seed: None,
            idempotency_key: None,
            camera: None,
            negative_prompt: None,
            callback_url: None,
            vendor_label: false,
        };
        let job = local.submit(&request, &Credentials::default()).await.unwrap();
        let mut seen = 0;
        for _ in 0..100 {
            match local.poll(&job.job_id, &request, &Credentials::default()).await.unwrap() {
                VideoPoll::Running { progress: Some(p) } if p > 0 => {
                    seen = p;
                    break;
                }
                VideoPoll::Running { .. } => {}
                VideoPoll::Done { .. } => panic!("a 20 s clip at 720×1280 is not made in one poll's time"),
            }
        }
        assert!(seen > 0 && seen < 100, "ffmpeg's progress shows while it renders: {seen}");
        local.cancel(&job.job_id, &Credentials::default()).await.unwrap();
        assert!(local.jobs.lock().unwrap().is_empty());
        // The render stops: its work folder goes with the aborted ffmpeg, or is never written again.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let credentials =
            Credentials { api_key: Some("sk-secret".into()), secret_key: Some("s2".into()), base_url: None };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("sk-secret") && !shown.contains("s2"), "{shown}");
    }
}
