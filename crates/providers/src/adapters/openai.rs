//! OpenAI: Chat Completions with structured outputs (the task's answer as a strict
//! `json_schema`), and GPT Image — generations from a prompt, edits (multipart `image[]`,
//! `input_fidelity: high`) when there are references, at a named quality; images come back
//! inline; speech (`/audio/speech`, WAV, emotion as `instructions` on the models that take them).
//! No video: the Videos API was shut down in September 2026. See `shared/providers/openai.md`.

use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, ProviderError, SpeechModel, SpeechOutput, SpeechRequest,
    TextModel, TextOutput, TextRequest, Usage, VoiceInfo,
};
use crate::net::chat::{self, AnswerFormat, ChatDialect, openai_style_error};
use crate::net::images::{decode_base64, edits_form};
use crate::net::{Auth, Transport, api_key, base_url, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAME: &str = "openai";
pub const BASE_URL: &str = "https://api.openai.com/v1";
pub const TEXT_MODEL: &str = "gpt-5-mini";
pub const IMAGE_MODEL: &str = "gpt-image-2";
pub const SPEECH_MODEL: &str = "gpt-4o-mini-tts";
/// The longest input `/audio/speech` takes, in characters.
const SPEECH_INPUT_LIMIT: usize = 4096;

/// The built-in voices; each speaks every language the model does.
pub const VOICES: &[VoiceInfo] = &[
    VoiceInfo { id: "coral", name: "Coral", language: "multi", gender: "female" },
    VoiceInfo { id: "alloy", name: "Alloy", language: "multi", gender: "neutral" },
    VoiceInfo { id: "ash", name: "Ash", language: "multi", gender: "male" },
    VoiceInfo { id: "ballad", name: "Ballad", language: "multi", gender: "male" },
    VoiceInfo { id: "echo", name: "Echo", language: "multi", gender: "male" },
    VoiceInfo { id: "fable", name: "Fable", language: "multi", gender: "male" },
    VoiceInfo { id: "nova", name: "Nova", language: "multi", gender: "female" },
    VoiceInfo { id: "onyx", name: "Onyx", language: "multi", gender: "male" },
    VoiceInfo { id: "sage", name: "Sage", language: "multi", gender: "female" },
    VoiceInfo { id: "shimmer", name: "Shimmer", language: "multi", gender: "female" },
    VoiceInfo { id: "verse", name: "Verse", language: "multi", gender: "male" },
    VoiceInfo { id: "marin", name: "Marin", language: "multi", gender: "female" },
    VoiceInfo { id: "cedar", name: "Cedar", language: "multi", gender: "male" },
];

const DIALECT: ChatDialect = ChatDialect {
    provider: NAME,
    path: "/chat/completions",
    answer_format: AnswerFormat::StrictSchema,
    max_tokens_field: "max_completion_tokens",
    extra: None,
};

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(OpenAi { transport });
    let catalog: Arc<dyn crate::catalog::ModelCatalog> = adapter.clone();
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: Some(adapter.clone()),
        image: Some(adapter.clone()),
        video: None,
        speech: Some(adapter),
        default_models: BTreeMap::from([
            (Capability::Text, TEXT_MODEL.into()),
            (Capability::Image, IMAGE_MODEL.into()),
            (Capability::Speech, SPEECH_MODEL.into()),
        ]),
        known_models: Default::default(),
        catalog: Some(catalog),
    }
}

pub struct OpenAi {
    transport: Transport,
}

#[async_trait::async_trait]
impl TextModel for OpenAi {
    async fn complete(&self, request: &TextRequest, credentials: &Credentials) -> Result<TextOutput, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), TEXT_MODEL);
        chat::complete(&self.transport, &DIALECT, &base_url(credentials, BASE_URL), &auth, &model, request).await
    }
}

/// The quality asked for, named rather than left to `auto` (which may pick `high`): the price
/// table's figure for GPT images is the medium one, so the estimate matches the bill.
pub const IMAGE_QUALITY: &str = "medium";

/// Whether an image model takes `input_fidelity` on edits (gpt-image-1.5 and later, not the
/// -mini ones). `high` keeps the characters' faces and clothes from the references, which is
/// what references are for here.
pub fn takes_input_fidelity(model: &str) -> bool {
    model.starts_with("gpt-image") && !model.contains("mini") && model != "gpt-image-1"
}

/// The size GPT image models take: `gpt-image-2` any `WxH` in multiples of 16 up to 3840 on the
/// long edge; earlier models only 1024², 1536×1024 and 1024×1536.
pub fn image_size(model: &str, width: u32, height: u32) -> String {
    if model.starts_with("gpt-image-1") {
        return match width.cmp(&height) {
            std::cmp::Ordering::Greater => "1536x1024".into(),
            std::cmp::Ordering::Less => "1024x1536".into(),
            std::cmp::Ordering::Equal => "1024x1024".into(),
        };
    }
    let scale = (3840.0 / f64::from(width.max(height).max(1))).min(1.0);
    let snap = |edge: u32| (((f64::from(edge) * scale) as u32 / 16) * 16).max(256);
    format!("{}x{}", snap(width), snap(height))
}

#[async_trait::async_trait]
impl ImageModel for OpenAi {
    async fn generate(&self, request: &ImageRequest, credentials: &Credentials) -> Result<ImageOutput, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), IMAGE_MODEL);
        let base = base_url(credentials, BASE_URL);
        let size = image_size(&model, request.width, request.height);
        let n = request.count.clamp(1, 9);
        let call = if request.references.is_empty() {
            let body = json!({"model": model, "prompt": request.prompt, "n": n, "size": size,
                              "quality": IMAGE_QUALITY, "output_format": "png"});
            self.transport.post(NAME, &format!("{base}/images/generations"))?.json(&body)
        } else {
            let mut form = edits_form(NAME, &model, &request.prompt, n, size, &request.references)?
                .text("quality", IMAGE_QUALITY)
                .text("output_format", "png");
            if takes_input_fidelity(&model) {
                form = form.text("input_fidelity", "high");
            }
            self.transport.post(NAME, &format!("{base}/images/edits"))?.multipart(form)
        };
        let answer = self.transport.for_images().send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(openai_style_error(NAME, &answer));
        }
        let body = answer.json(NAME)?;
        let images = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no data") })?
            .iter()
            .map(|item| match item.get("b64_json").and_then(Value::as_str) {
                Some(encoded) => decode_base64(NAME, encoded, "image/png"),
                None => Err(ProviderError::Malformed { message: format!("{NAME}: an image has no b64_json") }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if images.is_empty() {
            return Err(ProviderError::Malformed { message: format!("{NAME}: the answer holds no image") });
        }
        let usage = Usage { tokens: Usage::count_at(&body, "/usage/output_tokens"), ..Usage::default() };
        Ok(ImageOutput { images, model, usage })
    }
}

/// The body of a speech request. `instructions` (how to say it) only where the model takes them:
/// the `tts-1` models refuse the field. Pitch has no parameter here.
pub fn speech_body(model: &str, request: &SpeechRequest, voice: &str) -> Result<Value, ProviderError> {
    if request.text.chars().count() > SPEECH_INPUT_LIMIT {
        return Err(ProviderError::Permanent {
            message: format!("{NAME}: a line may be at most {SPEECH_INPUT_LIMIT} characters"),
        });
    }
    let mut body = json!({"model": model, "input": request.text, "voice": voice, "response_format": "wav"});
    if let Some(speed) = request.voice.speed {
        body["speed"] = json!(speed.clamp(0.25, 4.0));
    }
    if let Some(emotion) = &request.voice.emotion
        && !model.starts_with("tts-1")
    {
        body["instructions"] = json!(format!("Speak in a {emotion} tone."));
    }
    Ok(body)
}

#[async_trait::async_trait]
impl SpeechModel for OpenAi {
    async fn synthesize(
        &self,
        request: &SpeechRequest,
        credentials: &Credentials,
    ) -> Result<SpeechOutput, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let model = model(request.model.as_deref(), SPEECH_MODEL);
        let voice = request.voice.voice_id.clone().unwrap_or_else(|| self.default_voice(&request.language).into());
        let body = speech_body(&model, request, &voice)?;
        let call = self.transport.post(NAME, &format!("{}/audio/speech", base_url(credentials, BASE_URL)))?.json(&body);
        let answer = self.transport.for_images().send(NAME, auth.apply(call)).await?;
        if !answer.is_success() {
            return Err(openai_style_error(NAME, &answer));
        }
        if !answer.body.starts_with(b"RIFF") {
            return Err(ProviderError::Malformed { message: format!("{NAME}: the speech answer is not a WAV file") });
        }
        let characters = request.text.chars().count() as i64;
        Ok(SpeechOutput {
            audio: Media::Bytes { bytes: answer.body, content_type: "audio/wav".into() },
            model,
            usage: Usage { characters: Some(characters), ..Usage::default() },
        })
    }

    fn voices(&self) -> &'static [VoiceInfo] {
        VOICES
    }
}

/// What an OpenAI model id is for here: GPT Image and DALL·E paint, the TTS models speak, the
/// GPT and o-series chat models write; the rest (embeddings, audio, realtime, moderation, Sora) we
/// do not use.
pub fn capability_of(id: &str) -> Option<Capability> {
    let not_chat = ["audio", "realtime", "transcribe", "search", "embedding", "moderation", "image", "tts", "instruct"];
    if id.starts_with("gpt-image") || id.starts_with("dall-e") || id.starts_with("chatgpt-image") {
        Some(Capability::Image)
    } else if id.contains("tts") {
        Some(Capability::Speech)
    } else if (id.starts_with("gpt-")
        || id.starts_with("chatgpt-")
        || ["o1", "o3", "o4"].iter().any(|s| id.starts_with(s)))
        && !not_chat.iter().any(|word| id.contains(word))
    {
        Some(Capability::Text)
    } else {
        None
    }
}

#[async_trait::async_trait]
impl crate::catalog::ModelCatalog for OpenAi {
    async fn list_models(&self, credentials: &Credentials) -> Result<Vec<crate::catalog::ListedModel>, ProviderError> {
        let auth = Auth::Bearer(api_key(NAME, credentials)?.into());
        let url = format!("{}/models", base_url(credentials, BASE_URL));
        chat::list_models(&self.transport, NAME, &url, &auth, capability_of).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_model() {
        assert_eq!(image_size("gpt-image-2", 2560, 1440), "2560x1440");
        assert_eq!(image_size("gpt-image-2", 1080, 1440), "1072x1440");
        assert_eq!(image_size("gpt-image-2", 7680, 4320), "3840x2160");
        assert_eq!(image_size("gpt-image-1", 1080, 1440), "1024x1536");
    }

    #[test]
    fn listed_ids_sort_into_capabilities() {
        assert_eq!(capability_of("gpt-5-mini"), Some(Capability::Text));
        assert_eq!(capability_of("o4-mini"), Some(Capability::Text));
        assert_eq!(capability_of("gpt-image-2"), Some(Capability::Image));
        assert_eq!(capability_of("gpt-4o-mini-tts"), Some(Capability::Speech));
        assert_eq!(capability_of("gpt-4o-realtime-preview"), None);
        assert_eq!(capability_of("text-embedding-3-large"), None);
        assert_eq!(capability_of("whisper-1"), None);
    }

    #[test]
    fn input_fidelity_only_where_the_model_takes_it() {
        assert!(takes_input_fidelity("gpt-image-2") && takes_input_fidelity("gpt-image-1.5"));
        assert!(!takes_input_fidelity("gpt-image-1") && !takes_input_fidelity("gpt-image-1-mini"));
    }

    #[test]
    fn emotion_becomes_instructions_where_the_model_takes_them() {
        let voice = crate::capability::Voice { emotion: Some("sad".into()), speed: Some(1.5), ..Default::default() };
        let request = SpeechRequest { text: "Go.".into(), voice, language: "en".into(), model: None };
        let body = speech_body(SPEECH_MODEL, &request, "coral").unwrap();
        assert_eq!(body["instructions"], "Speak in a sad tone.");
        assert_eq!(body["speed"], 1.5);
        assert_eq!(body["response_format"], "wav");
        assert!(speech_body("tts-1-hd", &request, "coral").unwrap().get("instructions").is_none());
        let long = SpeechRequest { text: "字".repeat(4097), ..request };
        assert!(speech_body(SPEECH_MODEL, &long, "coral").is_err());
    }
}
