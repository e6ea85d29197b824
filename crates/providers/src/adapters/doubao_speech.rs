//! Doubao speech (豆包语音, Volcengine's openspeech service): the synchronous HTTP TTS call
//! (`POST /api/v1/tts`, operation `query`) that answers the whole line as base64 audio. Its
//! console issues an App ID and an Access Token of its own, separate from Ark's API keys, so it is
//! a provider of its own here: the token is the key, the App ID the secret key. Auth is the
//! unusual `Authorization: Bearer;{token}` (a semicolon, no space), with the App ID and token in
//! the body's `app` too. Success is `code` 3000, whatever the HTTP status.

use crate::capability::{
    Credentials, Media, ProviderError, SpeechModel, SpeechOutput, SpeechRequest, Usage, VoiceInfo,
};
use crate::net::images::decode_base64;
use crate::net::{Answer, Classified, Transport, api_key, base_url, classify, model};
use crate::registry::{Capability, Provider};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const NAME: &str = "doubao-speech";
pub const BASE_URL: &str = "https://openspeech.bytedance.com";
/// The cluster of the standard voices; cloned voices use `volcano_icl`. The cluster is what the
/// call names as its model.
pub const SPEECH_MODEL: &str = "volcano_tts";
/// The longest text of one call: 1024 bytes of UTF-8.
const TEXT_LIMIT_BYTES: usize = 1024;
/// `code` of a successful synthesis.
const SUCCESS: i64 = 3000;

pub const VOICES: &[VoiceInfo] = &[
    VoiceInfo { id: "zh_female_shuangkuaisisi_moon_bigtts", name: "爽快思思", language: "zh", gender: "female" },
    VoiceInfo { id: "zh_male_wennuanahu_moon_bigtts", name: "温暖阿虎", language: "zh", gender: "male" },
    VoiceInfo { id: "zh_female_tianmeixiaoyuan_moon_bigtts", name: "甜美小源", language: "zh", gender: "female" },
    VoiceInfo { id: "zh_male_shaonianzixin_moon_bigtts", name: "少年梓辛", language: "zh", gender: "male" },
    VoiceInfo { id: "zh_female_gaolengyujie_moon_bigtts", name: "高冷御姐", language: "zh", gender: "female" },
    VoiceInfo { id: "zh_male_aojiaobazong_moon_bigtts", name: "傲娇霸总", language: "zh", gender: "male" },
    VoiceInfo { id: "en_female_anna_mars_bigtts", name: "Anna", language: "en", gender: "female" },
    VoiceInfo { id: "en_male_smith_mars_bigtts", name: "Smith", language: "en", gender: "male" },
];

pub fn provider(transport: Transport) -> Provider {
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: true,
        text: None,
        image: None,
        video: None,
        speech: Some(Arc::new(DoubaoSpeech { transport })),
        default_models: BTreeMap::from([(Capability::Speech, SPEECH_MODEL.into())]),
        known_models: BTreeMap::from([(Capability::Speech, &["volcano_tts", "volcano_icl"][..])]),
        catalog: None,
    }
}

pub struct DoubaoSpeech {
    transport: Transport,
}

fn app_id(credentials: &Credentials) -> Result<&str, ProviderError> {
    match credentials.secret_key.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => Ok(id),
        _ => Err(ProviderError::NotConfigured {
            provider: NAME.into(),
            reason: "the App ID (saved as the secret key) is not set".into(),
        }),
    }
}

/// The body of a synthesis: WAV; speed where asked for; emotion with `enable_emotion` (only the
/// voices with emotions honour it). Pitch is left to the voice: the v1 call's `pitch_ratio` is
/// not a semitone scale.
pub fn speech_body(
    request: &SpeechRequest,
    cluster: &str,
    app: &str,
    token: &str,
    voice: &str,
    request_id: &str,
) -> Result<Value, ProviderError> {
    if request.text.len() > TEXT_LIMIT_BYTES {
        return Err(ProviderError::Permanent {
            message: format!("{NAME}: a line may be at most {TEXT_LIMIT_BYTES} bytes of UTF-8"),
        });
    }
    let mut audio = json!({
        "voice_type": voice,
        "encoding": "wav",
        "speed_ratio": request.voice.speed.unwrap_or(1.0).clamp(0.8, 2.0),
    });
    if let Some(emotion) = &request.voice.emotion {
        audio["emotion"] = json!(emotion);
        audio["enable_emotion"] = json!(true);
    }
    Ok(json!({
        "app": {"appid": app, "token": token, "cluster": cluster},
        "user": {"uid": "cinegen"},
        "audio": audio,
        "request": {"reqid": request_id, "text": request.text, "operation": "query"},
    }))
}

/// The audio of an answer, or its error by `code` (3003 too many at once and 3005 busy are worth
/// another try; a refused token is the key's fault).
pub fn read_answer(answer: &Answer) -> Result<(Media, Option<i64>), ProviderError> {
    let body = match answer.json(NAME) {
        Ok(body) => body,
        Err(error) if answer.is_success() => return Err(error),
        Err(_) => Value::Null,
    };
    let code = body.get("code").and_then(Value::as_i64);
    let message = body.get("message").and_then(Value::as_str).unwrap_or("error").to_owned();
    let status = answer.status.as_u16();
    if code == Some(SUCCESS) && answer.is_success() {
        let data = body
            .get("data")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| ProviderError::Malformed { message: format!("{NAME}: the answer has no data") })?;
        let media = decode_base64(NAME, data, "audio/wav")?;
        let millis = body.pointer("/addition/duration").and_then(|d| match d {
            Value::String(s) => s.parse::<i64>().ok(),
            other => other.as_i64(),
        });
        return Ok((media, millis));
    }
    let status = match code {
        Some(3003 | 3005) => 429,
        Some(3030..=3032) => 503,
        _ if status == 200 => 400,
        _ => status,
    };
    let lowered = message.to_ascii_lowercase();
    let status = if lowered.contains("grant") || lowered.contains("token") || lowered.contains("authenticat") {
        401
    } else {
        status
    };
    Err(classify(
        NAME,
        Classified { status, code: code.map(|c| c.to_string()), message, retry_after: answer.retry_after },
    ))
}

#[async_trait::async_trait]
impl SpeechModel for DoubaoSpeech {
    async fn synthesize(
        &self,
        request: &SpeechRequest,
        credentials: &Credentials,
    ) -> Result<SpeechOutput, ProviderError> {
        let token = api_key(NAME, credentials)?;
        let app = app_id(credentials)?;
        let cluster = model(request.model.as_deref(), SPEECH_MODEL);
        let voice = request.voice.voice_id.clone().unwrap_or_else(|| self.default_voice(&request.language).into());
        let request_id = uuid::Uuid::new_v4().to_string();
        let body = speech_body(request, &cluster, app, token, &voice, &request_id)?;
        let url = format!("{}/api/v1/tts", base_url(credentials, BASE_URL));
        let call = self.transport.post(NAME, &url)?.header("authorization", format!("Bearer;{token}")).json(&body);
        let answer = self.transport.for_images().send(NAME, call).await?;
        let (audio, _millis) = read_answer(&answer)?;
        Ok(SpeechOutput {
            audio,
            model: cluster,
            usage: Usage { characters: Some(request.text.chars().count() as i64), ..Usage::default() },
        })
    }

    fn voices(&self) -> &'static [VoiceInfo] {
        VOICES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SpeechRequest {
        let voice = crate::capability::Voice { emotion: Some("happy".into()), ..Default::default() };
        SpeechRequest { text: "你好".into(), voice, language: "zh".into(), model: None }
    }

    #[test]
    fn the_body_names_app_voice_and_operation() {
        let body = speech_body(&request(), SPEECH_MODEL, "app", "tok", "zh_male_wennuanahu_moon_bigtts", "r1").unwrap();
        assert_eq!(body["app"], json!({"appid": "app", "token": "tok", "cluster": "volcano_tts"}));
        assert_eq!(body["audio"]["encoding"], "wav");
        assert_eq!(body["audio"]["enable_emotion"], true);
        assert_eq!(body["request"]["operation"], "query");
        let long = SpeechRequest { text: "字".repeat(400), ..request() };
        assert!(speech_body(&long, SPEECH_MODEL, "a", "t", "v", "r").is_err());
    }

    #[test]
    fn codes_decide_the_outcome() {
        let ok = Answer::canned(
            200,
            r#"{"code": 3000, "message": "Success", "data": "UklGRg==", "addition": {"duration": "1200"}}"#,
        );
        let (media, millis) = read_answer(&ok).unwrap();
        assert!(matches!(media, Media::Bytes { ref bytes, .. } if bytes.starts_with(b"RIFF")));
        assert_eq!(millis, Some(1200));
        let busy = Answer::canned(200, r#"{"code": 3003, "message": "concurrency quota exceeded"}"#);
        assert!(matches!(read_answer(&busy), Err(ProviderError::Transient { .. })));
        let refused = Answer::canned(401, r#"{"code": 3001, "message": "requested grant not found"}"#);
        assert!(matches!(read_answer(&refused), Err(ProviderError::NotConfigured { .. })));
        let bad_voice = Answer::canned(200, r#"{"code": 3050, "message": "voice_type not found"}"#);
        assert!(matches!(read_answer(&bad_voice), Err(ProviderError::Permanent { .. })));
    }
}
