//! The bodies of the generation requests: the plan's fields, and the richer forms of this server
//! beside them. Every body refuses fields it does not know (a typo must never run silently on
//! the wrong input); the error names the field and the likely intended one.

use crate::ai::Choice;
use crate::ai::targets::Target;
use cinegen_providers::Capability;
use serde::Deserialize;
use utoipa::ToSchema;

/// Model options (the plan's `model_config`): the model under the plan's name for the request's
/// capability (`text_model`, `image_model`, `video_model`), or as `model`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// The provider's model id; else the user's or the provider's default.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub text_model: Option<String>,
    #[serde(default)]
    pub image_model: Option<String>,
    #[serde(default)]
    pub video_model: Option<String>,
    #[serde(default)]
    pub speech_model: Option<String>,
}

impl ModelConfig {
    fn for_capability(&self, capability: Capability) -> Option<String> {
        let named = match capability {
            Capability::Text => &self.text_model,
            Capability::Image => &self.image_model,
            Capability::Video => &self.video_model,
            Capability::Speech => &self.speech_model,
        };
        named.clone().or_else(|| self.model.clone())
    }
}

/// The fields every generation request carries, borrowed from it.
pub struct Common<'a> {
    pub project_id: &'a str,
    pub provider: Option<&'a String>,
    pub model_config: Option<&'a ModelConfig>,
    pub client_key: Option<&'a String>,
}

impl Common<'_> {
    /// The provider and model asked for, for work of `capability`.
    pub fn choice(&self, capability: Capability) -> Choice {
        Choice { provider: self.provider.cloned(), model: self.model_config.and_then(|m| m.for_capability(capability)) }
    }
}

/// A generation request: the common fields, then its own.
macro_rules! generation_request {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            pub project_id: String,
            /// A provider name (`local`, `openai`, …); else the user's or the server's default.
            #[serde(default)]
            pub provider: Option<String>,
            #[serde(default)]
            pub model_config: Option<ModelConfig>,
            /// Same as the `Idempotency-Key` header.
            #[serde(default)]
            pub client_key: Option<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn common(&self) -> Common<'_> {
                Common {
                    project_id: &self.project_id,
                    provider: self.provider.as_ref(),
                    model_config: self.model_config.as_ref(),
                    client_key: self.client_key.as_ref(),
                }
            }
        }
    };
}

generation_request! {
    pub struct ParseScriptRequest {
        /// The script (the plan's `raw_text`); else the project's saved `raw_script`.
        #[serde(default, alias = "raw_text")]
        pub raw_script: Option<String>,
        /// The script's language (`zh`, `en`, …); else the project's.
        #[serde(default)]
        pub language: Option<String>,
    }
}

generation_request! {
    pub struct GenerateScriptRequest {
        pub idea: String,
        #[serde(default)]
        pub genre: Option<String>,
        /// `60s`, `2min`, …; else the project's target duration.
        #[serde(default)]
        pub duration: Option<String>,
    }
}

generation_request! {
    pub struct GenerateShotsRequest {
        /// Plan only this scene's shots (replacing them); else every shot.
        #[serde(default)]
        pub scene_id: Option<String>,
    }
}

generation_request! {
    pub struct TargetRequest {
        pub target: Target,
    }
}

/// Which keyframe of a shot the plan's image request paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyframeType {
    Start,
    End,
    Full,
}

impl KeyframeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::End => "end",
            Self::Full => "full",
        }
    }
}

generation_request! {
    /// One image: a `target` (this server's form), or the plan's `shot_id` with `keyframe_type`.
    pub struct GenerateImageRequest {
        #[serde(default)]
        pub target: Option<Target>,
        #[serde(default)]
        pub shot_id: Option<String>,
        #[serde(default)]
        pub keyframe_type: Option<KeyframeType>,
        /// The prompt to paint from; else the target's visual prompt.
        #[serde(default)]
        pub prompt: Option<String>,
        /// Extra reference images: links to this project's files (or their ids); other links
        /// are downloaded into the project first.
        #[serde(default)]
        pub reference_images: Option<Vec<String>>,
    }
}

generation_request! {
    pub struct GenerateVideoRequest {
        pub shot_id: String,
        /// Seconds (1–60); else the shot's clip duration.
        #[serde(default)]
        pub duration: Option<f64>,
        /// Provider of a keyframe that must be painted first; else the default image provider.
        #[serde(default)]
        pub image_provider: Option<String>,
        /// The motion prompt; else the one built from the shot.
        #[serde(default)]
        pub prompt: Option<String>,
        /// The first and last frames: links to this project's files (or their ids); other links
        /// are downloaded into the project first. Else the shot's keyframes.
        #[serde(default)]
        pub start_image_url: Option<String>,
        #[serde(default)]
        pub end_image_url: Option<String>,
        /// Animate the shot's `full` keyframe (a grid of panels) rather than start and end.
        #[serde(default)]
        pub full_frame: Option<bool>,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    pub project_id: String,
    /// The shots whose clips make the film, in order.
    pub shot_ids: Vec<String>,
    /// An audio file of the project (uploaded as `file_type` `audio`) played under the whole
    /// film, ducked wherever someone speaks.
    #[serde(default)]
    pub music_file_id: Option<String>,
    /// Draw the dialogue's subtitles into the pictures (SRT and WebVTT are shipped beside the
    /// film either way).
    #[serde(default)]
    pub burn_subtitles: bool,
    #[serde(default)]
    pub client_key: Option<String>,
}

generation_request! {
    pub struct GenerateSpeechRequest {
        /// The shot whose dialogue is spoken, each line in its speaker's voice.
        pub shot_id: String,
    }
}

/// A voice to hear before choosing it: a short sample in the project's language.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoicePreviewRequest {
    /// A provider offering speech; else the caller's or the server's default.
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, rename = "voiceId", alias = "voice_id")]
    pub voice_id: Option<String>,
    #[serde(default)]
    pub speed: Option<f64>,
    #[serde(default)]
    pub pitch: Option<i32>,
    #[serde(default)]
    pub emotion: Option<String>,
    /// What to say (at most 200 characters); else a sample line in `language`.
    #[serde(default)]
    pub text: Option<String>,
    /// `zh`, `en`, …; `zh` when absent.
    #[serde(default)]
    pub language: Option<String>,
}

generation_request! {
    pub struct BatchRequest {
        #[serde(default)]
        pub image_provider: Option<String>,
        /// Keyframes and clips: only these shots, and each of their frames or clips whether it
        /// was generated before or not ("regenerate selected"). Else everything missing.
        #[serde(default)]
        pub shot_ids: Option<Vec<String>>,
        /// Only the slots whose chosen take is stale: made from a prompt, look or frame that has
        /// changed since ("regenerate stale").
        #[serde(default)]
        pub stale: bool,
        /// Takes to make per item, 1–4 (each is kept; the slot shows the last to land).
        #[serde(default)]
        pub candidates: Option<u8>,
        /// When the whole batch would pass a monthly spending cap, queue the items that fit
        /// (in order) instead of refusing it.
        #[serde(default)]
        pub fit_budget: bool,
    }
}

generation_request! {
    /// A request to estimate: what `operation` would ask for, with the fields of that request.
    pub struct EstimateRequest {
        /// `image`, `video`, `script` (a parse) or `batch`.
        pub operation: String,
        /// image: what is painted (or `shot_id` with `keyframe_type`).
        #[serde(default)]
        pub target: Option<Target>,
        /// image (with `keyframe_type`) or video: the shot.
        #[serde(default)]
        pub shot_id: Option<String>,
        #[serde(default)]
        pub keyframe_type: Option<KeyframeType>,
        /// video: seconds; else the shot's clip duration.
        #[serde(default)]
        pub duration: Option<f64>,
        /// video and batch: the provider of keyframes painted first.
        #[serde(default)]
        pub image_provider: Option<String>,
        /// batch: images, keyframes or clips.
        #[serde(default)]
        pub kind: Option<String>,
        /// batch: as the batch's `shot_ids`, `stale` and `candidates`.
        #[serde(default)]
        pub shot_ids: Option<Vec<String>>,
        #[serde(default)]
        pub stale: bool,
        #[serde(default)]
        pub candidates: Option<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plans_model_names_choose_the_model_of_their_capability() {
        let body: ParseScriptRequest = serde_json::from_value(json!({
            "project_id": "p", "raw_text": "第一场", "language": "zh", "provider": "local",
            "model_config": {"text_model": "local-text", "image_model": "local-image"}
        }))
        .unwrap();
        assert_eq!(body.raw_script.as_deref(), Some("第一场"), "raw_text is the plan's name of raw_script");
        let choice = body.common().choice(Capability::Text);
        assert_eq!((choice.provider.as_deref(), choice.model.as_deref()), (Some("local"), Some("local-text")));
        assert_eq!(body.common().choice(Capability::Image).model.as_deref(), Some("local-image"));
        let plain: ModelConfig = serde_json::from_value(json!({"model": "m"})).unwrap();
        assert_eq!(plain.for_capability(Capability::Video).as_deref(), Some("m"));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let typo = serde_json::from_value::<ParseScriptRequest>(json!({"project_id": "p", "raw_txt": "x"}));
        assert!(typo.unwrap_err().to_string().contains("unknown field `raw_txt`"));
        let nested = serde_json::from_value::<BatchRequest>(json!({"project_id": "p", "model_config": {"modle": "m"}}));
        assert!(nested.is_err());
    }
}
