//! Speech on this machine with espeak-ng (Debian: `espeak-ng`): Mandarin and English voices in
//! female and male variants, at the asked speed and pitch, one WAV a line. Robotic, but it speaks
//! every line at a real pace, so the cut's timing and the mix can be judged before any vendor
//! is paid.

use crate::capability::*;
use bytes::Bytes;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

pub const SPEECH_MODEL: &str = "espeak-ng-1";

/// espeak-ng's language voice with one of its variants (`+f3`: a female voice).
pub const VOICES: &[VoiceInfo] = &[
    VoiceInfo { id: "cmn+f3", name: "普通话 · 女声", language: "zh", gender: "female" },
    VoiceInfo { id: "cmn+m3", name: "普通话 · 男声", language: "zh", gender: "male" },
    VoiceInfo { id: "cmn+f5", name: "普通话 · 女声（高）", language: "zh", gender: "female" },
    VoiceInfo { id: "cmn+m7", name: "普通话 · 男声（低）", language: "zh", gender: "male" },
    VoiceInfo { id: "en-us+f3", name: "English (US) · female", language: "en", gender: "female" },
    VoiceInfo { id: "en-us+m3", name: "English (US) · male", language: "en", gender: "male" },
    VoiceInfo { id: "en-gb+f2", name: "English (UK) · female", language: "en", gender: "female" },
    VoiceInfo { id: "en-gb+m1", name: "English (UK) · male", language: "en", gender: "male" },
];

/// espeak-ng's own pace in words a minute, and pitch on its 0–99 scale.
const WORDS_PER_MINUTE: f64 = 175.0;
const PITCH: i32 = 50;
/// A semitone is about four steps of espeak's pitch scale around its middle.
const PITCH_STEPS_PER_SEMITONE: i32 = 4;

/// The arguments for `voice` (one of [`VOICES`]); the text itself goes in on stdin, never as an
/// argument.
fn arguments(voice: &str, settings: &Voice, out: &Path) -> Vec<String> {
    let speed = (WORDS_PER_MINUTE * settings.speed.unwrap_or(1.0).clamp(0.5, 2.0)).round() as i32;
    let pitch = (PITCH + settings.pitch.unwrap_or(0).clamp(-12, 12) * PITCH_STEPS_PER_SEMITONE).clamp(0, 99);
    vec![
        "-v".into(),
        voice.into(),
        "-s".into(),
        speed.to_string(),
        "-p".into(),
        pitch.to_string(),
        // UTF-8 text on stdin.
        "-b".into(),
        "1".into(),
        "--stdin".into(),
        "-w".into(),
        out.display().to_string(),
    ]
}

/// Speaks `request` into a WAV file under `work_dir`; answers its bytes.
pub async fn speak(work_dir: &Path, request: &SpeechRequest) -> Result<SpeechOutput, ProviderError> {
    let text = request.text.trim();
    if text.is_empty() {
        return Err(ProviderError::Permanent { message: "there is nothing to say".into() });
    }
    let voice = match request.voice.voice_id.as_deref() {
        None => default_voice(&request.language),
        Some(id) => VOICES.iter().find(|v| v.id == id).map(|v| v.id).ok_or_else(|| ProviderError::Permanent {
            message: format!(
                "the local provider has no voice '{id}'; it has {}",
                VOICES.iter().map(|v| v.id).collect::<Vec<_>>().join(", ")
            ),
        })?,
    };
    tokio::fs::create_dir_all(work_dir).await.map_err(io)?;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let out = work_dir.join(format!("speech-{}-{}.wav", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let result = run(&arguments(voice, &request.voice, &out), text).await;
    let bytes = match result {
        Ok(()) => tokio::fs::read(&out).await.map_err(io),
        Err(error) => Err(error),
    };
    let _ = tokio::fs::remove_file(&out).await;
    Ok(SpeechOutput {
        audio: Media::Bytes { bytes: Bytes::from(bytes?), content_type: "audio/wav".into() },
        model: SPEECH_MODEL.into(),
        usage: Usage { characters: Some(text.chars().count() as i64), ..Usage::default() },
    })
}

/// The first voice of the language, else the first Mandarin one.
pub fn default_voice(language: &str) -> &'static str {
    VOICES.iter().find(|v| v.language == language).unwrap_or(&VOICES[0]).id
}

async fn run(args: &[String], text: &str) -> Result<(), ProviderError> {
    let mut child = Command::new("espeak-ng")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ProviderError::Permanent {
                message:
                    "espeak-ng is not installed; install it (Debian: apt-get install espeak-ng) for offline speech"
                        .into(),
            },
            _ => io(e),
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    stdin.write_all(text.as_bytes()).await.map_err(io)?;
    drop(stdin);
    let output = child.wait_with_output().await.map_err(io)?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ProviderError::Permanent {
            message: format!("espeak-ng failed: {}", String::from_utf8_lossy(&output.stderr).trim()),
        })
    }
}

fn io(error: std::io::Error) -> ProviderError {
    ProviderError::Transient { message: format!("speaking failed: {error}"), retry_after: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_and_pitch_map_onto_espeaks_scales() {
        let voice = Voice { speed: Some(1.2), pitch: Some(-3), ..Voice::default() };
        let args = arguments("cmn+f3", &voice, Path::new("/tmp/x.wav"));
        assert_eq!(args[..6], ["-v", "cmn+f3", "-s", "210", "-p", "38"]);
        let extreme = Voice { speed: Some(9.0), pitch: Some(40), ..Voice::default() };
        let args = arguments("en-us+m3", &extreme, Path::new("/tmp/x.wav"));
        assert_eq!(args[3], "350");
        assert_eq!(args[5], "98");
    }

    #[test]
    fn each_language_has_a_default_voice() {
        assert_eq!(default_voice("zh"), "cmn+f3");
        assert_eq!(default_voice("en"), "en-us+f3");
        assert_eq!(default_voice("fr"), "cmn+f3");
    }
}
