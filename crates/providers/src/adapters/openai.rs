//! OpenAI: Chat Completions with `json_object` output, and GPT Image — generations from a prompt,
//! edits (multipart `image[]`) when there are references; images come back inline. No video: the
//! Videos API was shut down in September 2026. See `shared/providers/openai.md`.

use crate::capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, ProviderError, TextModel, TextOutput, TextRequest, Usage,
};
use crate::net::chat::{self, ChatDialect, openai_style_error};
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

const DIALECT: ChatDialect = ChatDialect {
    provider: NAME,
    path: "/chat/completions",
    json_object: true,
    max_tokens_field: "max_completion_tokens",
    extra: None,
};

pub fn provider(transport: Transport) -> Provider {
    let adapter = Arc::new(OpenAi { transport });
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: Some(adapter.clone()),
        image: Some(adapter),
        video: None,
        default_models: BTreeMap::from([
            (Capability::Text, TEXT_MODEL.into()),
            (Capability::Image, IMAGE_MODEL.into()),
        ]),
        known_models: Default::default(),
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
            let body = json!({"model": model, "prompt": request.prompt, "n": n, "size": size});
            self.transport.post(NAME, &format!("{base}/images/generations"))?.json(&body)
        } else {
            let form = edits_form(NAME, &model, &request.prompt, n, size, &request.references)?;
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
        let usage = Usage { images: None, tokens: Usage::count_at(&body, "/usage/output_tokens") };
        Ok(ImageOutput { images, model, usage })
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
}
