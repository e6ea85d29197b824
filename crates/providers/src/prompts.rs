//! Our prompts for language models. Each asks for one JSON object in the shape the web app edits
//! (DESIGN §2, camelCase), written in the project's language.

use crate::capability::{PromptTarget, TextTask};

fn language_name(code: &str) -> &'static str {
    match code {
        "zh" => "Simplified Chinese (简体中文)",
        "ja" => "Japanese",
        "fr" => "French",
        "es" => "Spanish",
        _ => "English",
    }
}

const SHOT_SHAPE: &str = r#"{"id": "shot-1", "sceneId": "scene-1", "actionSummary": "...", "dialogue": "... (optional)", "cameraMovement": "...", "shotSize": "...", "characters": ["char-1"], "keyframes": [{"id": "shot-1-start", "type": "start", "visualPrompt": "...", "status": "pending"}, {"id": "shot-1-end", "type": "end", "visualPrompt": "...", "status": "pending"}], "interval": {"id": "shot-1-clip", "startKeyframeId": "shot-1-start", "endKeyframeId": "shot-1-end", "duration": 5, "motionStrength": 5, "status": "pending"}}"#;

const SCRIPT_DATA_SHAPE: &str = r#"{"title": "...", "genre": "...", "logline": "...", "targetDuration": "60s", "language": "zh", "characters": [{"id": "char-1", "name": "...", "gender": "...", "age": "...", "personality": "...", "visualPrompt": "...", "variations": []}], "scenes": [{"id": "scene-1", "location": "...", "time": "...", "atmosphere": "...", "visualPrompt": "..."}], "storyParagraphs": [{"id": "p-1", "text": "...", "sceneRefId": "scene-1"}]}"#;

/// The system and user prompts for `task`.
pub fn render(task: &TextTask, language: &str, visual_style: &str) -> (String, String) {
    let system = format!(
        "You are the story department of an AI motion-comic studio. Answer with exactly one JSON object and \
         nothing else: no prose, no code fences. Write every human-readable value in {}. The visual style \
         of the production is: {visual_style}.",
        language_name(language)
    );
    let user = match task {
        TextTask::ParseScript { script, genre, duration_secs } => format!(
            "Break this screenplay down for production. Target length: {duration_secs} seconds; genre: {genre}.\n\
             Answer {{\"scriptData\": ScriptData, \"shots\": [Shot]}} where ScriptData is shaped like\n\
             {SCRIPT_DATA_SHAPE}\nand each Shot like\n{SHOT_SHAPE}\n\
             One shot per beat of action or line of dialogue; shot durations add up to the target length; \
             every sceneId and character id refers to an entry of scriptData.\n\nSCREENPLAY:\n{script}"
        ),
        TextTask::GenerateScript { idea, genre, duration_secs } => format!(
            "Write a short screenplay from this idea, for a {duration_secs}-second {genre} motion comic: \
             scene headings (第一场 …, or INT./EXT. in English), action lines, and dialogue as `Name：line`.\n\
             Answer {{\"title\": \"...\", \"script\": \"...\"}}.\n\nIDEA:\n{idea}"
        ),
        TextTask::GenerateShots { script_data, scene_id, duration_secs } => {
            let scope = match scene_id {
                Some(scene) => format!("only scene `{scene}`"),
                None => "every scene".into(),
            };
            format!(
                "Plan the shots for {scope} of this story, {duration_secs} seconds in all.\n\
                 Answer {{\"shots\": [Shot]}} with each Shot shaped like\n{SHOT_SHAPE}\n\nSTORY:\n{script_data}"
            )
        }
        TextTask::VisualPrompt { target, subject, context } => {
            let what = match target {
                PromptTarget::Character => "a character reference sheet (full body, front view, 3:4)",
                PromptTarget::Variation => "a wardrobe variation of this character that keeps the same face",
                PromptTarget::Scene => "a scene concept image without people (16:9)",
                PromptTarget::Keyframe => "this shot's keyframe, with camera movement and shot size",
            };
            format!(
                "Write an image-generation prompt for {what}. Answer {{\"visualPrompt\": \"...\"}}.\n\n\
                 SUBJECT:\n{subject}\n\nCONTEXT:\n{context}"
            )
        }
    };
    (system, user)
}

/// The follow-up that asks a model to correct an answer that did not validate.
/// What no clip should show, in the project's language: the faults video models are known for.
/// Vendors that take a negative prompt apart from the prompt get it (Kling).
pub fn clip_negative(language: &str) -> &'static str {
    match language {
        "zh" => "模糊，画面闪烁，人物变形，手部畸形，多余的肢体，面部扭曲，文字，字幕",
        _ => "blurry, flicker, deformed bodies, malformed hands, extra limbs, distorted faces, text, captions",
    }
}

pub fn repair(previous: &str, problem: &str) -> String {
    format!(
        "Your previous answer could not be used: {problem}\nAnswer again with one corrected JSON object only.\n\n\
         PREVIOUS ANSWER:\n{}",
        previous.chars().take(20_000).collect::<String>()
    )
}
