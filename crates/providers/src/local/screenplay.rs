//! A deterministic screenplay parser: Chinese scene headings (`第一场 沈府后院 夜 外`, `场景：…`),
//! Fountain (`INT. NOODLE BAR - NIGHT`, character cues with dialogue blocks, parentheticals,
//! transitions, a title page), and `角色：台词` dialogue lines. It yields the ScriptData of
//! DESIGN §2; dialogue is kept in the story paragraphs as `Name：line` so shots can be planned from
//! the (user-editable) ScriptData alone.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Action(String),
    Dialogue { speaker: String, parenthetical: Option<String>, text: String },
    Transition(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SceneBlock {
    pub location: String,
    pub time: String,
    /// 内 / 外 / INT. / EXT., as written.
    pub setting: String,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Screenplay {
    pub title: Option<String>,
    pub scenes: Vec<SceneBlock>,
    /// Whether the text is mostly Chinese (labels and separators follow it).
    pub chinese: bool,
}

const TIMES_ZH: &[&str] = &[
    "日", "夜", "晨", "清晨", "黄昏", "傍晚", "午后", "深夜", "白天", "夜晚", "黎明", "凌晨", "中午", "下午", "上午",
    "日落", "拂晓",
];
const SETTINGS_ZH: &[&str] = &["内", "外", "内外", "内/外"];
const META_KEYS_ZH: &[&str] = &["时间", "地点", "人物", "类型", "目标时长", "场景", "标题", "剧名", "备注"];
const TITLE_PAGE_KEYS: &[&str] = &["title", "credit", "author", "authors", "source", "draft date", "contact", "notes"];

pub fn parse(text: &str) -> Screenplay {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let chinese = text.chars().filter(|c| is_cjk(*c)).count() * 4 > text.chars().filter(|c| c.is_alphabetic()).count();
    let mut play = Screenplay { chinese, ..Screenplay::default() };
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut i = title_page(&lines, &mut play);
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.is_empty() || line.starts_with("[[") || line.starts_with("/*") || line == "===" {
            continue;
        }
        if let Some(title) = line.strip_prefix('《').and_then(|l| l.strip_suffix('》')) {
            play.title.get_or_insert_with(|| title.trim().to_owned());
            continue;
        }
        if let Some(scene) = scene_heading(line) {
            play.scenes.push(scene);
            continue;
        }
        if let Some(transition) = transition(line) {
            current(&mut play).lines.push(Line::Transition(transition));
            continue;
        }
        if let Some(dialogue) = chinese_dialogue(line) {
            current(&mut play).lines.push(dialogue);
            continue;
        }
        if let Some(speaker) = character_cue(line)
            && lines.get(i).is_some_and(|next| !next.is_empty())
        {
            let mut parenthetical = None;
            let mut spoken = Vec::new();
            while let Some(next) = lines.get(i).filter(|l| !l.is_empty()) {
                i += 1;
                if next.starts_with('(') && next.ends_with(')') {
                    if spoken.is_empty() {
                        parenthetical = Some(next.trim_matches(['(', ')']).trim().to_owned());
                    }
                } else {
                    spoken.push(*next);
                }
            }
            let text = spoken.join(" ");
            if !text.is_empty() {
                current(&mut play).lines.push(Line::Dialogue { speaker, parenthetical, text });
            }
            continue;
        }
        let action = line.strip_prefix('!').unwrap_or(line).trim();
        if !action.is_empty() {
            current(&mut play).lines.push(Line::Action(action.to_owned()));
        }
    }
    play.scenes.retain(|s| !s.lines.is_empty() || !s.location.is_empty());
    play
}

/// Reads a Fountain title page (`Key: value` lines before the first blank line); answers where
/// the body starts.
fn title_page(lines: &[&str], play: &mut Screenplay) -> usize {
    let start = lines.iter().position(|l| !l.is_empty()).unwrap_or(0);
    let mut i = start;
    while let Some(line) = lines.get(i).filter(|l| !l.is_empty()) {
        let Some((key, value)) = line.split_once(':') else { break };
        if !TITLE_PAGE_KEYS.contains(&key.trim().to_lowercase().as_str()) {
            break;
        }
        if key.trim().eq_ignore_ascii_case("title") && !value.trim().is_empty() {
            play.title = Some(value.trim().trim_matches('_').trim_matches('*').to_owned());
        }
        i += 1;
    }
    if i == start { 0 } else { i }
}

fn current(play: &mut Screenplay) -> &mut SceneBlock {
    if play.scenes.is_empty() {
        play.scenes.push(SceneBlock {
            location: String::new(),
            time: String::new(),
            setting: String::new(),
            lines: vec![],
        });
    }
    play.scenes.last_mut().expect("just ensured")
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

fn scene_heading(line: &str) -> Option<SceneBlock> {
    // 第一场 沈府后院 夜 外 / 第3幕：…
    if let Some(rest) = line.strip_prefix('第') {
        let number_end = rest.find(|c: char| !"一二三四五六七八九十百零〇两0123456789".contains(c))?;
        let after = &rest[number_end..];
        let body =
            after.strip_prefix('场').or_else(|| after.strip_prefix('幕')).or_else(|| after.strip_prefix("集"))?;
        if number_end == 0 {
            return None;
        }
        return Some(chinese_scene(body.trim_start_matches(['：', ':', ' ', '　', '、'])));
    }
    // 场景：沈府后院（夜）
    for prefix in ["场景：", "场景:"] {
        if let Some(body) = line.strip_prefix(prefix) {
            return Some(chinese_scene(body));
        }
    }
    // Fountain: INT. / EXT. / INT./EXT. / I/E, or a forced `.HEADING`.
    let upper = line.to_uppercase();
    let setting = ["INT./EXT.", "INT/EXT.", "INT/EXT", "I/E.", "I/E", "INT.", "EXT.", "EST.", "INT ", "EXT "]
        .into_iter()
        .find(|p| upper.starts_with(p));
    let (setting, body) = match setting {
        Some(prefix) => (prefix.trim().to_owned(), &line[prefix.len()..]),
        None if line.starts_with('.') && !line.starts_with("..") && line.len() > 1 => (String::new(), &line[1..]),
        None => return None,
    };
    let body = body.trim();
    let (location, time) = match body.rsplit_once(" - ") {
        Some((location, time)) => (location.trim(), time.trim()),
        None => (body, ""),
    };
    Some(SceneBlock { location: title_case(location), time: title_case(time), setting, lines: vec![] })
}

fn chinese_scene(body: &str) -> SceneBlock {
    let body = body.replace(['（', '('], " ").replace(['）', ')', '，', ','], " ");
    let mut location = Vec::new();
    let (mut time, mut setting) = (String::new(), String::new());
    for token in body.split_whitespace() {
        if time.is_empty() && TIMES_ZH.contains(&token) {
            time = token.to_owned();
        } else if setting.is_empty() && SETTINGS_ZH.contains(&token) {
            setting = token.to_owned();
        } else {
            location.push(token);
        }
    }
    SceneBlock { location: location.join(" "), time, setting, lines: vec![] }
}

fn transition(line: &str) -> Option<String> {
    if let Some(forced) = line.strip_prefix('>')
        && !forced.trim_end().ends_with('<')
    {
        return Some(forced.trim().to_owned());
    }
    let is_upper = line.chars().any(|c| c.is_ascii_alphabetic()) && !line.chars().any(|c| c.is_lowercase());
    if is_upper && (line.ends_with("TO:") || matches!(line, "FADE IN:" | "FADE OUT." | "FADE TO BLACK.")) {
        return Some(line.to_owned());
    }
    ["切至", "转场", "淡入", "淡出", "叠化", "黑场"]
        .into_iter()
        .find(|p| line.trim_start_matches(['【', '[']).starts_with(p))
        .map(|_| line.trim_matches(['【', '】', '[', ']']).trim_end_matches(['：', ':']).to_owned())
}

/// `沈青禾：（低声）爹，女儿一定还你清白。`
fn chinese_dialogue(line: &str) -> Option<Line> {
    let (speaker, rest) =
        line.split_once('：').or_else(|| line.split_once(':').filter(|(s, _)| s.chars().any(is_cjk)))?;
    let speaker = speaker.trim();
    let count = speaker.chars().count();
    if count == 0 || count > 12 || META_KEYS_ZH.contains(&speaker) {
        return None;
    }
    if speaker.chars().any(|c| "，。！？、；（）()“”\"".contains(c) || c.is_whitespace()) {
        return None;
    }
    let rest = rest.trim();
    let (parenthetical, text) = match rest.strip_prefix('（').or_else(|| rest.strip_prefix('(')) {
        Some(inner) => match inner.split_once(['）', ')']) {
            Some((p, text)) => (Some(p.trim().to_owned()), text.trim()),
            None => (None, rest),
        },
        None => (None, rest),
    };
    if text.is_empty() {
        return None;
    }
    Some(Line::Dialogue { speaker: speaker.to_owned(), parenthetical, text: text.to_owned() })
}

/// A Fountain character cue: upper case (extensions such as `(V.O.)` allowed), or forced with `@`.
fn character_cue(line: &str) -> Option<String> {
    if let Some(forced) = line.strip_prefix('@') {
        return Some(strip_extension(forced));
    }
    let name = strip_extension(line);
    let letters = name.chars().filter(|c| c.is_alphabetic()).count();
    let fits = letters > 0
        && !name.chars().any(|c| c.is_lowercase() || is_cjk(c))
        && name.chars().all(|c| c.is_alphanumeric() || " .'-_".contains(c))
        && name.chars().count() <= 30;
    fits.then(|| title_case(&name))
}

fn strip_extension(line: &str) -> String {
    let name = line.trim().trim_end_matches('^').trim();
    match name.find('(') {
        Some(at) => name[..at].trim().to_owned(),
        None => name.to_owned(),
    }
}

/// `NOODLE BAR` → `Noodle Bar`.
fn title_case(text: &str) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The ScriptData of DESIGN §2 for a parsed screenplay.
pub fn script_data(play: &Screenplay, language: &str, genre: &str, duration_secs: u32) -> Value {
    let mut names: Vec<String> = Vec::new();
    for line in play.scenes.iter().flat_map(|s| &s.lines) {
        if let Line::Dialogue { speaker, .. } = line
            && !names.contains(speaker)
        {
            names.push(speaker.clone());
        }
    }
    let zh = play.chinese;
    let separator = if zh { "：" } else { ": " };
    let characters: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let prompt = if zh {
                format!("{name}，角色设定图，正面全身")
            } else {
                format!("{name}, character sheet, full body, front view")
            };
            json!({"id": format!("char-{}", i + 1), "name": name, "gender": "", "age": "", "personality": "",
                   "visualPrompt": prompt, "variations": []})
        })
        .collect();
    let mut scenes = Vec::new();
    let mut paragraphs = Vec::new();
    for (i, scene) in play.scenes.iter().enumerate() {
        let id = format!("scene-{}", i + 1);
        let location = if scene.location.is_empty() {
            if zh { format!("场景{}", i + 1) } else { format!("Scene {}", i + 1) }
        } else {
            scene.location.clone()
        };
        let atmosphere = scene
            .lines
            .iter()
            .find_map(|l| match l {
                Line::Action(text) => Some(first_sentence(text)),
                _ => None,
            })
            .unwrap_or_default();
        let prompt = [location.as_str(), scene.time.as_str(), atmosphere.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(if zh { "，" } else { ", " });
        scenes.push(json!({"id": id, "location": location, "time": scene.time, "atmosphere": atmosphere,
                           "visualPrompt": prompt}));
        for line in &scene.lines {
            let text = match line {
                Line::Action(text) => text.clone(),
                Line::Dialogue { speaker, parenthetical: Some(p), text } if zh => format!("{speaker}：（{p}）{text}"),
                Line::Dialogue { speaker, parenthetical: Some(p), text } => format!("{speaker}: ({p}) {text}"),
                Line::Dialogue { speaker, text, .. } => format!("{speaker}{separator}{text}"),
                Line::Transition(_) => continue,
            };
            paragraphs.push(json!({"id": format!("p-{}", paragraphs.len() + 1), "text": text, "sceneRefId": id}));
        }
    }
    let logline = play
        .scenes
        .iter()
        .flat_map(|s| &s.lines)
        .find_map(|l| match l {
            Line::Action(text) => Some(first_sentence(text)),
            _ => None,
        })
        .unwrap_or_default();
    json!({
        "title": play.title.clone().unwrap_or_default(),
        "genre": genre,
        "logline": logline,
        "targetDuration": format!("{duration_secs}s"),
        "language": language,
        "characters": characters,
        "scenes": scenes,
        "storyParagraphs": paragraphs,
    })
}

fn first_sentence(text: &str) -> String {
    let end =
        text.find(['。', '！', '？', '.', '!', '?']).map(|at| at + text[at..].chars().next().map_or(0, char::len_utf8));
    text[..end.unwrap_or(text.len())].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUKOU: &str = include_str!("../../../../fixtures/scripts/dukou-zh.txt");
    const LAST_TRAIN: &str = include_str!("../../../../fixtures/scripts/last-train.fountain");

    #[test]
    fn chinese_scenes_dialogue_and_parentheticals() {
        let play = parse(DUKOU);
        assert!(play.chinese);
        assert_eq!(play.title.as_deref(), Some("渡口记"));
        let places: Vec<(&str, &str, &str)> =
            play.scenes.iter().map(|s| (s.location.as_str(), s.time.as_str(), s.setting.as_str())).collect();
        assert_eq!(places, [("青石渡口", "黄昏", "外"), ("江心客船", "深夜", "内"), ("漕运司 账房", "拂晓", "内")]);
        assert_eq!(
            play.scenes[0].lines[1],
            Line::Dialogue {
                speaker: "林晚舟".into(),
                parenthetical: Some("轻声".into()),
                text: "哥，我来接你回家了。".into()
            }
        );
        let data = script_data(&play, "zh", "古装", 60);
        let names: Vec<&str> =
            data["characters"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["林晚舟", "程野"]);
        assert_eq!(data["storyParagraphs"][1]["text"], "林晚舟：（轻声）哥，我来接你回家了。");
        assert_eq!(data["storyParagraphs"].as_array().unwrap().len(), 10);
    }

    #[test]
    fn fountain_title_page_headings_cues_and_transitions() {
        let play = parse(LAST_TRAIN);
        assert!(!play.chinese);
        assert_eq!(play.title.as_deref(), Some("Last Train"));
        let places: Vec<(&str, &str, &str)> =
            play.scenes.iter().map(|s| (s.location.as_str(), s.time.as_str(), s.setting.as_str())).collect();
        assert_eq!(
            places,
            [("Subway Platform", "Night", "INT."), ("Viaduct", "Continuous", "EXT."), ("Signal Room", "Later", "INT.")]
        );
        assert_eq!(
            play.scenes[0].lines[1],
            Line::Dialogue { speaker: "Jonah".into(), parenthetical: None, text: "Last train left at ten.".into() }
        );
        assert_eq!(
            play.scenes[1].lines[1],
            Line::Dialogue {
                speaker: "Tess".into(),
                parenthetical: Some("whispering".into()),
                text: "Next station. Midnight.".into()
            }
        );
        assert_eq!(play.scenes[1].lines.last(), Some(&Line::Transition("CUT TO:".into())));
    }

    #[test]
    fn other_heading_forms() {
        let play = parse("场景：城隍庙（黄昏）\n老道：来者何人？\n\n.THE VOID\nNothing moves.\n\n时间：三更");
        assert_eq!((play.scenes[0].location.as_str(), play.scenes[0].time.as_str()), ("城隍庙", "黄昏"));
        assert_eq!(play.scenes[1].location, "The Void");
        // A meta line is action, not a speaker called 时间.
        assert_eq!(play.scenes[1].lines.last(), Some(&Line::Action("时间：三更".into())));
    }
}
