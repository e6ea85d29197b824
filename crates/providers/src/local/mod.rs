//! The offline `local` provider (DESIGN §6): a screenplay parser for text, pictures painted from
//! the prompt for images, and real clips made with ffmpeg from the keyframes for video. It needs
//! no key and no network, so a new install works end to end.

pub mod director;
pub mod screenplay;

use crate::capability::*;
use crate::registry::{Capability, Provider};
use bytes::Bytes;
use cinegen_media::{ClipFrames, ClipSpec, Ffmpeg, render_png};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;

pub const NAME: &str = "local";
const TEXT_MODEL: &str = "screenplay-parser-1";
const IMAGE_MODEL: &str = "procedural-1";
const VIDEO_MODEL: &str = "ffmpeg-keyframes-1";

pub struct LocalProvider {
    /// Where clips are rendered before they are handed over.
    work_dir: PathBuf,
}

impl LocalProvider {
    pub fn new(work_dir: PathBuf) -> Self {
        Self { work_dir }
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
            video: Some(local),
            default_models: [
                (Capability::Text, TEXT_MODEL.to_owned()),
                (Capability::Image, IMAGE_MODEL.to_owned()),
                (Capability::Video, VIDEO_MODEL.to_owned()),
            ]
            .into(),
            known_models: Default::default(),
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
impl ImageModel for LocalProvider {
    async fn generate(&self, request: &ImageRequest, _: &Credentials) -> Result<ImageOutput, ProviderError> {
        // References shape the picture too, so a variation differs from its base look.
        let mut seed = request.prompt.clone();
        for reference in &request.references {
            seed.push_str(&hex::encode(&Sha256::digest(&reference.bytes)[..8]));
        }
        let (width, height, count) = (request.width, request.height, request.count.clamp(1, 9));
        let images = tokio::task::spawn_blocking(move || {
            (0..count as u32)
                .map(|variant| Media::Bytes {
                    bytes: Bytes::from(render_png(&seed, width, height, variant)),
                    content_type: "image/png".into(),
                })
                .collect()
        })
        .await
        .map_err(|e| ProviderError::Transient { message: format!("painting failed: {e}"), retry_after: None })?;
        Ok(ImageOutput { images, model: IMAGE_MODEL.into() })
    }
}

impl LocalProvider {
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

    async fn render(&self, job_id: &str, request: &VideoRequest) -> Result<Bytes, ProviderError> {
        let failed = |e: &dyn std::fmt::Display| ProviderError::Permanent { message: e.to_string() };
        let ffmpeg = Ffmpeg::locate().map_err(|e| failed(&e))?;
        let dir = self.work_dir.join(job_id);
        tokio::fs::create_dir_all(&dir).await.map_err(|e| failed(&e))?;
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
            let (width, height) = Self::clip_size(request.width, request.height);
            let out = dir.join("clip.mp4");
            let spec = ClipSpec { frames, duration: request.duration, width, height, fps: 24, out: out.clone() };
            ffmpeg.clip(&spec).await.map_err(std::io::Error::other)?;
            tokio::fs::read(&out).await
        }
        .await;
        let _ = tokio::fs::remove_dir_all(&dir).await;
        result.map(Bytes::from).map_err(|e| failed(&e))
    }
}

#[async_trait::async_trait]
impl VideoModel for LocalProvider {
    async fn submit(&self, request: &VideoRequest, _: &Credentials) -> Result<VideoJob, ProviderError> {
        Ok(VideoJob { job_id: Self::job_id(request), model: VIDEO_MODEL.into() })
    }

    /// The clip is made when first asked for; the job id names its inputs, so a resumed task
    /// makes the same clip.
    async fn poll(&self, job_id: &str, request: &VideoRequest, _: &Credentials) -> Result<VideoPoll, ProviderError> {
        let bytes = self.render(job_id, request).await?;
        Ok(VideoPoll::Done(Media::Bytes { bytes, content_type: "video/mp4".into() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            references: vec![],
            model: None,
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
        };
        let job = local.submit(&request, &Credentials::default()).await.unwrap();
        assert_eq!(job.job_id, local.submit(&request, &Credentials::default()).await.unwrap().job_id);
        let VideoPoll::Done(Media::Bytes { bytes, content_type }) =
            local.poll(&job.job_id, &request, &Credentials::default()).await.unwrap()
        else {
            panic!("the local clip is made at once")
        };
        assert_eq!(content_type, "video/mp4");
        assert_eq!(&bytes[4..8], b"ftyp");
        assert!(!dir.path().join(&job.job_id).exists(), "work files are removed");
    }

    #[test]
    fn keys_never_show_in_debug_output() {
        let credentials =
            Credentials { api_key: Some("sk-secret".into()), secret_key: Some("s2".into()), base_url: None };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("sk-secret") && !shown.contains("s2"), "{shown}");
    }
}
