//! Images in the forms vendors take and give: data URIs, raw base64, aspect ratios.

use crate::capability::{Media, MediaInput, ProviderError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;

/// `data:image/png;base64,…` (Doubao, MiniMax).
pub fn data_uri(input: &MediaInput) -> String {
    format!("data:{};base64,{}", input.content_type.to_ascii_lowercase(), STANDARD.encode(&input.bytes))
}

/// Plain base64 without a `data:` prefix (Kling, Gemini).
pub fn raw_base64(input: &MediaInput) -> String {
    STANDARD.encode(&input.bytes)
}

/// Decodes base64 the vendor returned (with or without a `data:` prefix) into an image.
pub fn decode_base64(provider: &str, encoded: &str, content_type: &str) -> Result<Media, ProviderError> {
    let (content_type, payload) = match encoded.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
        Some((declared, payload)) => (declared.to_owned(), payload),
        None => (content_type.to_owned(), encoded),
    };
    let bytes = STANDARD
        .decode(payload.trim())
        .map_err(|e| ProviderError::Malformed { message: format!("{provider}: an image is not valid base64 ({e})") })?;
    Ok(Media::Bytes { bytes: Bytes::from(bytes), content_type })
}

/// The aspect ratio among `allowed` ("16:9", …) closest to `width × height`.
pub fn nearest_ratio<'a>(width: u32, height: u32, allowed: &[&'a str]) -> &'a str {
    let target = (f64::from(width.max(1)) / f64::from(height.max(1))).ln();
    allowed
        .iter()
        .copied()
        .min_by(|a, b| {
            let distance = |ratio: &str| {
                let (w, h) = ratio.split_once(':').unwrap_or(("1", "1"));
                let value = w.parse::<f64>().unwrap_or(1.0) / h.parse::<f64>().unwrap_or(1.0);
                (value.ln() - target).abs()
            };
            distance(a).total_cmp(&distance(b))
        })
        .unwrap_or("16:9")
}

/// The multipart body of an OpenAI-style image edit: the references as `image[]` files (at most
/// 16), with the prompt, model, count and size.
pub fn edits_form(
    provider: &str,
    model: &str,
    prompt: &str,
    n: u8,
    size: String,
    references: &[MediaInput],
) -> Result<reqwest::multipart::Form, ProviderError> {
    let mut form = reqwest::multipart::Form::new()
        .text("model", model.to_owned())
        .text("prompt", prompt.to_owned())
        .text("n", n.to_string())
        .text("size", size);
    for (index, reference) in references.iter().take(16).enumerate() {
        let extension = if reference.content_type == "image/jpeg" { "jpg" } else { "png" };
        let part = reqwest::multipart::Part::bytes(reference.bytes.to_vec())
            .file_name(format!("reference-{index}.{extension}"))
            .mime_str(&reference.content_type)
            .map_err(|e| ProviderError::Permanent { message: format!("{provider}: {e}") })?;
        form = form.part("image[]", part);
    }
    Ok(form)
}

/// A vendor's JSON string field, or a Malformed error naming it.
pub fn field<'a>(provider: &str, value: &'a serde_json::Value, pointer: &str) -> Result<&'a str, ProviderError> {
    value
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .ok_or_else(|| ProviderError::Malformed { message: format!("{provider}: the answer has no {pointer}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_snap_to_the_nearest_allowed() {
        let allowed = ["1:1", "16:9", "9:16", "3:4", "4:3"];
        assert_eq!(nearest_ratio(1920, 1080, &allowed), "16:9");
        assert_eq!(nearest_ratio(1080, 1440, &allowed), "3:4");
        assert_eq!(nearest_ratio(1440, 2560, &allowed), "9:16");
        assert_eq!(nearest_ratio(1000, 1000, &allowed), "1:1");
    }

    #[test]
    fn base64_with_and_without_a_data_prefix() {
        let Media::Bytes { bytes, content_type } =
            decode_base64("x", "data:image/jpeg;base64,aGk=", "image/png").unwrap()
        else {
            panic!()
        };
        assert_eq!((&bytes[..], content_type.as_str()), (&b"hi"[..], "image/jpeg"));
        assert!(decode_base64("x", "not base64!", "image/png").is_err());
    }
}
