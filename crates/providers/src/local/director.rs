//! The offline provider's story work, deterministic: shots planned from ScriptData, visual prompts
//! from the documents' fields, and a screenplay written from an idea.

use crate::capability::PromptTarget;
use serde_json::{Value, json};

struct Labels {
    zh: bool,
}

impl Labels {
    fn sizes(&self) -> [&'static str; 3] {
        if self.zh { ["远景", "中景", "特写"] } else { ["wide shot", "medium shot", "close-up"] }
    }

    fn movements(&self) -> [&'static str; 5] {
        if self.zh {
            ["缓慢推镜", "固定镜头", "横移跟拍", "缓慢拉远", "环绕运镜"]
        } else {
            ["slow push in", "static", "tracking pan", "slow pull out", "orbit"]
        }
    }

    fn sep(&self) -> &'static str {
        if self.zh { "，" } else { ", " }
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

fn id_text(value: &Value) -> String {
    match value.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn is_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Plans shots for every scene of `script_data` (or one): one shot per beat of action (start and
/// end keyframes, a crossfading clip) and per line of dialogue (a close-up from one start frame).
/// Durations share out `duration_secs`, 2–8 seconds each.
pub fn plan_shots(script_data: &Value, scene_id: Option<&str>, duration_secs: u32, language: &str) -> Value {
    let empty = Vec::new();
    let characters = script_data.get("characters").and_then(Value::as_array).unwrap_or(&empty);
    let scenes = script_data.get("scenes").and_then(Value::as_array).unwrap_or(&empty);
    let paragraphs = script_data.get("storyParagraphs").and_then(Value::as_array).unwrap_or(&empty);
    let labels = Labels { zh: language == "zh" || is_chinese(&script_data.to_string()) };
    let sizes = labels.sizes();
    let movements = labels.movements();
    let wanted: Vec<&Value> = paragraphs
        .iter()
        .filter(|p| {
            let scene = p.get("sceneRefId").map(|s| s.as_str().map(str::to_owned).unwrap_or_else(|| s.to_string()));
            scene_id.is_none_or(|wanted| scene.as_deref() == Some(wanted))
        })
        .filter(|p| !text(p, "text").trim().is_empty())
        .collect();
    let each = if wanted.is_empty() { 5.0 } else { (duration_secs as f64 / wanted.len() as f64).clamp(2.0, 8.0) };
    let each = (each * 2.0).round() / 2.0;
    let mut previous_scene = String::new();
    let mut shots = Vec::with_capacity(wanted.len());
    for (n, paragraph) in wanted.iter().enumerate() {
        let number = n + 1;
        let id = format!("shot-{number}");
        let line = text(paragraph, "text").trim();
        let scene_ref = paragraph.get("sceneRefId").and_then(Value::as_str).unwrap_or("").to_owned();
        let scene = scenes.iter().find(|s| id_text(s) == scene_ref);
        let speaker = characters.iter().find(|c| {
            let name = text(c, "name");
            !name.is_empty()
                && (line.strip_prefix(name).is_some_and(|rest| rest.starts_with('：') || rest.starts_with(':')))
        });
        let mentioned: Vec<String> = characters
            .iter()
            .filter(|c| {
                let name = text(c, "name");
                !name.is_empty() && line.to_lowercase().contains(&name.to_lowercase())
            })
            .map(id_text)
            .collect();
        let first_in_scene = scene_ref != previous_scene;
        previous_scene = scene_ref.clone();
        let place = scene
            .map(|s| {
                [text(s, "location"), text(s, "time")]
                    .into_iter()
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let movement = movements[n % movements.len()];
        let start_id = format!("{id}-start");
        let mut shot = match speaker {
            Some(speaker) => {
                let name = text(speaker, "name");
                let spoken = line[name.len()..].trim_start_matches(['：', ':', ' ']).to_owned();
                let summary = if labels.zh { format!("{name}说话") } else { format!("{name} speaks") };
                let prompt = [sizes[2], place.as_str(), name, spoken.as_str()].join(labels.sep());
                json!({
                    "id": id, "sceneId": scene_ref, "actionSummary": summary, "dialogue": spoken,
                    "cameraMovement": movements[1], "shotSize": sizes[2], "characters": [id_text(speaker)],
                    "keyframes": [{"id": start_id, "type": "start", "visualPrompt": prompt, "status": "pending"}],
                    "interval": {"id": format!("{id}-clip"), "startKeyframeId": start_id, "duration": each,
                                 "motionStrength": 3, "status": "pending"},
                })
            }
            None => {
                let size = if first_in_scene { sizes[0] } else { sizes[1] };
                let end_id = format!("{id}-end");
                let start = [size, movement, place.as_str(), line].join(labels.sep());
                let end_note = if labels.zh { "动作结束时" } else { "as the action ends" };
                let end = [size, place.as_str(), line, end_note].join(labels.sep());
                json!({
                    "id": id, "sceneId": scene_ref, "actionSummary": line, "cameraMovement": movement,
                    "shotSize": size, "characters": mentioned,
                    "keyframes": [
                        {"id": start_id, "type": "start", "visualPrompt": start, "status": "pending"},
                        {"id": end_id, "type": "end", "visualPrompt": end, "status": "pending"},
                    ],
                    "interval": {"id": format!("{id}-clip"), "startKeyframeId": start_id, "endKeyframeId": end_id,
                                 "duration": each, "motionStrength": 5, "status": "pending"},
                })
            }
        };
        if shot["sceneId"] == "" {
            shot.as_object_mut().expect("an object").remove("sceneId");
        }
        shots.push(shot);
    }
    Value::Array(shots)
}

/// A prompt for one character, variation, scene or shot, from its fields and the visual style.
pub fn visual_prompt(target: PromptTarget, subject: &Value, context: &Value, style: &str) -> String {
    let zh = is_chinese(&subject.to_string()) || is_chinese(style);
    let sep = if zh { "，" } else { ", " };
    let join = |parts: &[&str]| parts.iter().filter(|p| !p.trim().is_empty()).copied().collect::<Vec<_>>().join(sep);
    match target {
        PromptTarget::Character => {
            let tail = if zh {
                "角色设定图，正面全身，纯色背景"
            } else {
                "character sheet, full body, front view, plain background"
            };
            join(&[
                text(subject, "name"),
                text(subject, "gender"),
                &value_text(subject, "age"),
                text(subject, "personality"),
                tail,
                style,
            ])
        }
        PromptTarget::Variation => {
            let keep = if zh { "保持同一张脸" } else { "same face as the reference" };
            join(&[text(context, "name"), text(subject, "name"), keep, style])
        }
        PromptTarget::Scene => {
            let tail = if zh { "场景概念图，无人物" } else { "scene concept art, no people" };
            join(&[text(subject, "location"), text(subject, "time"), text(subject, "atmosphere"), tail, style])
        }
        PromptTarget::Keyframe => join(&[
            text(subject, "shotSize"),
            text(subject, "cameraMovement"),
            text(context, "location"),
            text(context, "time"),
            text(subject, "actionSummary"),
            text(subject, "dialogue"),
            style,
        ]),
    }
}

fn value_text(value: &Value, key: &str) -> String {
    match value.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A three-scene screenplay from an idea: its sentences become the beats.
pub fn write_script(idea: &str, genre: &str, language: &str) -> (String, String) {
    let zh = language == "zh" || is_chinese(idea);
    let sentences: Vec<&str> = idea
        .split(['。', '！', '？', '.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with("类型") && !s.starts_with("目标时长"))
        .collect();
    let premise = sentences.first().copied().unwrap_or(idea.trim());
    let title: String = premise.split(['，', ',']).next().unwrap_or(premise).chars().take(12).collect();
    let beat = |i: usize| sentences.get(i).or(sentences.last()).copied().unwrap_or(premise).to_owned();
    let script = if zh {
        format!(
            "《{title}》\n\n第一场 故事开端 夜 内\n{}。\n主角：（低声）这件事，只有我能做到。\n\n\
             第二场 转折之地 日 外\n{}。\n主角：原来如此。\n\n第三场 终章 黄昏 外\n一切归于平静，{genre}的余韵久久不散。\n主角：我们还会再见。\n",
            beat(0),
            beat(1)
        )
    } else {
        format!(
            "Title: {title}\n\nINT. WHERE IT BEGINS - NIGHT\n\n{}.\n\nHERO\n(quietly)\nOnly I can do this.\n\n\
             EXT. THE TURN - DAY\n\n{}.\n\nHERO\nSo that's how it is.\n\nEXT. THE END - DUSK\n\nAll falls quiet; the {genre} lingers.\n\nHERO\nWe'll meet again.\n",
            beat(0),
            beat(1)
        )
    };
    (title, script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::screenplay;

    #[test]
    fn shots_cover_each_beat_and_share_the_duration() {
        let play = screenplay::parse(include_str!("../../../../fixtures/scripts/dukou-zh.txt"));
        let data = screenplay::script_data(&play, "zh", "古装", 60);
        let shots = plan_shots(&data, None, 60, "zh");
        let shots = shots.as_array().unwrap();
        assert_eq!(shots.len(), 10);
        assert_eq!(shots[0]["shotSize"], "远景");
        assert_eq!(shots[0]["keyframes"].as_array().unwrap().len(), 2);
        assert_eq!(shots[0]["characters"], json!(["char-1"]));
        assert_eq!(shots[1]["dialogue"], "（轻声）哥，我来接你回家了。");
        assert_eq!(shots[1]["characters"], json!(["char-1"]));
        assert_eq!(shots[1]["interval"]["duration"], 6.0);
        let scene_two = plan_shots(&data, Some("scene-2"), 20, "zh");
        assert!(scene_two.as_array().unwrap().iter().all(|s| s["sceneId"] == "scene-2"));
    }

    #[test]
    fn a_script_from_an_idea_parses_into_three_scenes() {
        let (title, script) = write_script(include_str!("../../../../fixtures/scripts/idea-zh.txt"), "奇幻", "zh");
        assert_eq!(title, "一个替人修钟表的少年");
        let play = screenplay::parse(&script);
        assert_eq!(play.scenes.len(), 3);
        assert_eq!(play.title.as_deref(), Some(title.as_str()));
    }
}
