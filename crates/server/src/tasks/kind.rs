//! Every kind of task this server queues, each with the payload it carries. The queue stores a
//! kind as its name and its payload as JSON; everything above the queue speaks [`TaskKind`], so a
//! task is made and read with one type and each name is spelled once, in the table below.

use super::TaskError;
use crate::ai::Choice;
use crate::ai::batch_plan::BatchKind;
use crate::ai::handlers::{
    ImagePayload, MergePayload, ScriptGeneratePayload, ScriptParsePayload, ShotsGeneratePayload, VideoPayload,
    VisualPromptPayload,
};
use crate::ai::speech::SpeechPayload;
use crate::projects::assets::ImportAssetPayload;
use cinegen_providers::Capability;
use cinegen_store::TaskRecord;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload of a batch: what it makes and how many items it queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchPayload {
    pub kind: BatchKind,
    pub items: usize,
}

/// The payload of a project archive (it needs nothing but its project).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportPayload {}

/// A payload type that belongs to exactly one kind.
pub trait KindPayload: Sized {
    fn from_kind(kind: TaskKind) -> Option<Self>;
}

macro_rules! task_kinds {
    ($($variant:ident($payload:ty) = $const:ident: $name:literal as $plan:literal;)*) => {
        #[derive(Debug, Clone, PartialEq)]
        pub enum TaskKind {
            $($variant($payload),)*
        }

        impl TaskKind {
            $(pub const $const: &'static str = $name;)*

            /// Every stored name.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// The name the queue stores (and task views show).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)*
                }
            }

            /// The name the plan's API gives this kind (`image_generate`, …), from the stored one.
            pub fn plan_name(stored: &str) -> &str {
                match stored {
                    $($name => $plan,)*
                    other => other,
                }
            }

            /// The stored name of a kind named either way (`image_generate` or `ai.image`).
            pub fn stored_name(either: &str) -> Option<&'static str> {
                match either {
                    $($name | $plan => Some($name),)*
                    _ => None,
                }
            }

            /// The payload as the queue stores it.
            pub fn payload(&self) -> Value {
                let encoded = match self {
                    $(Self::$variant(payload) => serde_json::to_value(payload),)*
                };
                encoded.unwrap_or(Value::Null)
            }

            /// Reads a stored name and payload back.
            pub fn decode(name: &str, payload: &Value) -> Result<Self, String> {
                match name {
                    $($name => <$payload>::deserialize(payload).map(Self::$variant).map_err(|e| e.to_string()),)*
                    other => Err(format!("unknown task type '{other}'")),
                }
            }
        }

        $(
            impl From<$payload> for TaskKind {
                fn from(payload: $payload) -> Self {
                    Self::$variant(payload)
                }
            }

            impl KindPayload for $payload {
                fn from_kind(kind: TaskKind) -> Option<Self> {
                    match kind {
                        TaskKind::$variant(payload) => Some(payload),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }
            }
        )*
    };
}

// Variant(payload) = CONST: "stored name" as "the plan's name".
task_kinds! {
    ScriptParse(ScriptParsePayload) = SCRIPT_PARSE: "ai.script_parse" as "script_parse";
    ScriptGenerate(ScriptGeneratePayload) = SCRIPT_GENERATE: "ai.script_generate" as "script_generate";
    ShotsGenerate(ShotsGeneratePayload) = SHOTS_GENERATE: "ai.shots_generate" as "shot_generate";
    VisualPrompt(VisualPromptPayload) = VISUAL_PROMPT: "ai.visual_prompt" as "prompt_generate";
    Image(ImagePayload) = IMAGE: "ai.image" as "image_generate";
    Video(VideoPayload) = VIDEO: "ai.video" as "video_generate";
    Speech(SpeechPayload) = SPEECH: "ai.speech" as "speech_generate";
    Merge(MergePayload) = MERGE: "ai.merge" as "video_merge";
    // Never claimed by a worker: its items settle it.
    Batch(BatchPayload) = BATCH: "ai.batch" as "batch_generate";
    Export(ExportPayload) = EXPORT: "project.export" as "project_export";
    ImportAsset(ImportAssetPayload) = IMPORT_ASSET: "import_asset" as "asset_import";
}

/// What running a task spends, which decides the hourly budget it draws on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spends<'a> {
    /// A call of a provider's capability, chosen as the request says.
    Provider(Capability, &'a Choice),
    /// Our own CPU: a merge or an archive.
    Cpu,
    /// One server-side download of an outside asset.
    Download,
    /// Nothing itself (a batch: its items spend).
    Nothing,
}

impl TaskKind {
    /// The stored task's kind and payload; a task that does not decode fails for good.
    pub fn of(task: &TaskRecord) -> Result<Self, TaskError> {
        Self::decode(&task.task_type, &task.payload)
            .map_err(|e| TaskError::permanent("VALIDATION_ERROR", format!("bad task payload: {e}")))
    }

    /// The payload of the kind `P` belongs to, or a permanent failure when the task is another.
    pub fn input<P: KindPayload>(task: &TaskRecord) -> Result<P, TaskError> {
        P::from_kind(Self::of(task)?).ok_or_else(|| {
            TaskError::permanent(
                "VALIDATION_ERROR",
                format!("task type '{}' reached the wrong handler", task.task_type),
            )
        })
    }

    pub fn spends(&self) -> Spends<'_> {
        match self {
            Self::ScriptParse(p) => Spends::Provider(Capability::Text, &p.choice),
            Self::ScriptGenerate(p) => Spends::Provider(Capability::Text, &p.choice),
            Self::ShotsGenerate(p) => Spends::Provider(Capability::Text, &p.choice),
            Self::VisualPrompt(p) => Spends::Provider(Capability::Text, &p.choice),
            Self::Image(p) => Spends::Provider(Capability::Image, &p.choice),
            Self::Video(p) => Spends::Provider(Capability::Video, &p.choice),
            Self::Speech(p) => Spends::Provider(Capability::Speech, &p.choice),
            Self::Merge(_) | Self::Export(_) => Spends::Cpu,
            Self::ImportAsset(_) => Spends::Download,
            Self::Batch(_) => Spends::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai::targets::Target;
    use serde_json::json;

    #[test]
    fn a_kind_reads_back_as_it_was_stored() {
        let choice = Choice { provider: Some("local".into()), model: None };
        let kind = TaskKind::from(ImagePayload::new(Target::Scene { scene_id: "s1".into() }, choice));
        assert_eq!(kind.name(), "ai.image");
        assert_eq!(TaskKind::decode(kind.name(), &kind.payload()).unwrap(), kind);
        let batch = TaskKind::decode("ai.batch", &json!({ "kind": "clips", "items": 3 })).unwrap();
        assert_eq!(batch, TaskKind::Batch(BatchPayload { kind: BatchKind::Clips, items: 3 }));
        assert_eq!(TaskKind::decode("project.export", &json!({})).unwrap(), TaskKind::Export(ExportPayload {}));
    }

    #[test]
    fn kinds_answer_to_the_plans_names_too() {
        assert_eq!(TaskKind::plan_name("ai.image"), "image_generate");
        assert_eq!(TaskKind::plan_name("ai.shots_generate"), "shot_generate");
        assert_eq!(TaskKind::stored_name("video_merge"), Some("ai.merge"));
        assert_eq!(TaskKind::stored_name("ai.merge"), Some("ai.merge"));
        assert_eq!(TaskKind::stored_name("paint"), None);
    }

    #[test]
    fn unknown_names_and_wrong_payloads_are_refused() {
        assert!(TaskKind::decode("ai.paint", &json!({})).unwrap_err().contains("unknown task type"));
        assert!(TaskKind::decode("ai.merge", &json!({ "shot_ids": "s1" })).is_err());
    }

    #[test]
    fn each_kind_says_what_it_spends() {
        let merge =
            TaskKind::from(MergePayload { shot_ids: vec!["s1".into()], music_file_id: None, burn_subtitles: false });
        assert_eq!(merge.spends(), Spends::Cpu);
        let parse = TaskKind::from(ScriptParsePayload { raw_script: None, language: None, choice: Choice::default() });
        assert!(matches!(parse.spends(), Spends::Provider(Capability::Text, _)));
    }
}
