//! The common layouts of a Chinese 剧本 (and the plain English ones that mirror them): scene
//! headings (`第3场 客厅 日 内`, `3-1 日 内 客厅`, `场3-1`, `### 场1-1` with the place on the next
//! line, `**1-1 日 外 操场**`, `【场景】客厅`, `场景：城隍庙（黄昏）`, `Scene 1-1: EXT. …`),
//! episode markers (`第一集：手办血案`), cast lines (`人物：甲、乙`), a synopsis (`大纲：`) and
//! character bios (`人物小传：` then `马一花（17）：…`), `△` action, `角色（动作）：台词` dialogue
//! with 旁白 / OS / VO, and bracketed cards and notes (`【字幕：…】`, `【空镜：…】`, `[TITLE CARD: …]`).

use super::{Line, SceneBlock, fountain, title_case};

const TIMES: &[&str] = &[
    "日", "夜", "晨", "暮", "清晨", "黄昏", "傍晚", "午后", "深夜", "白天", "夜晚", "黎明", "凌晨", "中午", "下午",
    "上午", "日落", "拂晓", "早晨", "晚上", "不明",
];
const SETTINGS: &[&str] = &["内", "外", "内外", "内/外", "外/内"];
/// Keys of lines that are about the script, never a speaker.
const META_KEYS: &[&str] = &[
    "时间",
    "地点",
    "人物",
    "出场人物",
    "登场人物",
    "角色",
    "类型",
    "目标时长",
    "场景",
    "标题",
    "剧名",
    "备注",
    "大纲",
    "梗概",
    "故事梗概",
    "简介",
    "人物小传",
    "字幕",
    "集数",
    "本集",
    "注",
];
/// Speakers who are a voice rather than someone in the picture.
pub const NARRATORS: &[&str] = &["旁白", "画外音", "独白", "解说", "Narrator", "Narration", "Voiceover"];
/// Extensions of a cue that say how a line is heard, not how it is played.
const EXTENSIONS: &[&str] = &[
    "os",
    "o.s.",
    "vo",
    "v.o.",
    "画外音",
    "画外",
    "内心独白",
    "内心os",
    "内心",
    "心声",
    "电话",
    "旁白",
    "cont'd",
    "contd",
];

const NUMERALS: &str = "一二三四五六七八九十百千零〇两0123456789";

/// A line as a heading, with what it carries before the usual tokens are read.
fn heading_text(line: &str) -> &str {
    line.trim_start_matches(['#', ' ', '　', '△'])
        .trim_start_matches("**")
        .trim_end_matches("**")
        .trim_start_matches(['【', '['])
        .trim_end_matches(['】', ']'])
        .trim()
}

/// What a heading-like line is.
pub enum Heading {
    Scene(SceneBlock),
    /// A scene whose place and time come on the next line (`### 场1-1`).
    SceneNumberOnly(String),
    Episode(String),
}

pub fn heading(line: &str) -> Option<Heading> {
    let text = heading_text(line);
    // 第3场 … / 第一集：… / 第2幕 …
    if let Some(rest) = text.strip_prefix('第') {
        let end = rest.find(|c: char| !NUMERALS.contains(c))?;
        if end == 0 {
            return None;
        }
        let number = &rest[..end];
        let after = &rest[end..];
        let body = |unit: char| {
            after.strip_prefix(unit).map(|b| b.trim_start_matches(['：', ':', ' ', '　', '、', '.']).trim())
        };
        if let Some(body) = body('集') {
            return Some(Heading::Episode(body.to_owned()));
        }
        if let Some(body) = body('场').or_else(|| body('幕')) {
            let mut scene = scene_from_tokens(body);
            scene.number = Some(number.to_owned());
            return Some(Heading::Scene(scene));
        }
        return None;
    }
    // Scene 1-1: EXT. RURAL ROAD - DAY / Episode 1: …
    if let Some((key, rest)) = text.split_once(':') {
        let key = key.trim();
        if let Some(number) = key.strip_prefix("Scene ").filter(|n| n.chars().all(|c| c.is_ascii_digit() || c == '-')) {
            let mut scene = fountain::scene_heading(rest.trim())
                .unwrap_or_else(|| SceneBlock { location: title_case(rest.trim()), ..SceneBlock::default() });
            scene.number = Some(number.to_owned());
            return Some(Heading::Scene(scene));
        }
        if key.strip_prefix("Episode ").is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())) {
            return Some(Heading::Episode(rest.trim().to_owned()));
        }
    }
    // 场景：城隍庙（黄昏） / 【场景】客厅 日 内 / 场景3：…
    for prefix in ["场景：", "场景:", "场景】", "场景]"] {
        if let Some(body) = text.strip_prefix(prefix).or_else(|| line.trim().strip_prefix(&format!("【{prefix}"))) {
            return Some(Heading::Scene(scene_from_tokens(body.trim_end_matches(['】', ']']))));
        }
    }
    // 3-1 日 内 客厅 / 场3-1 … / 1-2场 …
    let numbered = text.strip_prefix('场').unwrap_or(text);
    let digits = numbered.find(|c: char| !(c.is_ascii_digit() || c == '-')).unwrap_or(numbered.len());
    let number = &numbered[..digits];
    let well_formed = number.split('-').count() == 2 && number.split('-').all(|n| !n.is_empty());
    if well_formed {
        let rest = numbered[digits..].trim_start_matches('场');
        if rest.is_empty() {
            return Some(Heading::SceneNumberOnly(number.to_owned()));
        }
        if rest.starts_with([' ', '　', '：', ':'])
            || rest.starts_with(|c: char| TIMES.iter().any(|t| t.starts_with(c)))
        {
            let mut scene = scene_from_tokens(rest.trim_start_matches(['：', ':']));
            // `3-1 the score` is English action, not a heading: one needs a time, a setting or
            // Chinese text.
            if scene.time.is_empty() && scene.setting.is_empty() && !rest.chars().any(super::is_cjk) {
                return None;
            }
            scene.number = Some(number.to_owned());
            return Some(Heading::Scene(scene));
        }
    }
    None
}

/// The place and time of a heading's body, whichever order they come in (`日 内 客厅`, `客厅 日
/// 内`, `客厅（夜）`, `晨外 刑场`).
pub fn scene_from_tokens(body: &str) -> SceneBlock {
    let body = body.split("人物：").next().unwrap_or(body);
    let cleaned = body.replace(['（', '(', '）', ')', '，', ',', '、', '·'], " ");
    let mut location = Vec::new();
    let (mut time, mut setting) = (String::new(), String::new());
    for token in cleaned.split_whitespace() {
        if time.is_empty() && TIMES.contains(&token) {
            time = token.to_owned();
        } else if setting.is_empty() && SETTINGS.contains(&token) {
            setting = token.to_owned();
        } else if let Some((t, s)) = joined_time_setting(token).filter(|_| time.is_empty() && setting.is_empty()) {
            (time, setting) = (t.to_owned(), s.to_owned());
        } else {
            location.push(token);
        }
    }
    SceneBlock { location: location.join(" "), time, setting, ..SceneBlock::default() }
}

/// `晨外`, `日内`, `夜外` written as one token.
fn joined_time_setting(token: &str) -> Option<(&str, &str)> {
    let split = token.char_indices().map(|(i, _)| i).skip(1).find(|&i| TIMES.contains(&&token[..i]))?;
    SETTINGS.contains(&&token[split..]).then(|| (&token[..split], &token[split..]))
}

/// A `Key：value` line whose key is one of `keys`.
pub fn keyed<'a>(line: &'a str, keys: &[&str]) -> Option<&'a str> {
    let (key, value) = line.split_once('：').or_else(|| line.split_once(':'))?;
    keys.iter().any(|k| key.trim().eq_ignore_ascii_case(k)).then(|| value.trim())
}

pub const CAST_KEYS: &[&str] = &["人物", "出场人物", "登场人物", "Characters", "Cast"];
pub const SYNOPSIS_KEYS: &[&str] = &["大纲", "梗概", "故事梗概", "简介", "Synopsis", "Logline"];
pub const BIO_KEYS: &[&str] = &["人物小传", "人物介绍", "角色介绍", "Characters"];

/// Names of a cast line: `沈星晴、村民`, `Shen Xingqing, Villager`.
pub fn cast(value: &str) -> Vec<String> {
    value
        .split(['、', '，', ',', '/', '；', ';'])
        .map(str::trim)
        .filter(|n| !n.is_empty() && *n != "无")
        .map(str::to_owned)
        .collect()
}

/// A bio line: `马一花（17）： 暴躁体委…`, `Ma Yihua (17): Hotheaded…`, or `Name：…`.
pub fn bio(line: &str) -> Option<(String, Option<String>, String)> {
    let (head, description) = line.split_once('：').or_else(|| line.split_once(": "))?;
    let head = head.trim();
    let (name, age) = match head.split_once(['（', '(']) {
        Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches(['）', ')']).trim().to_owned())),
        None => (head, None),
    };
    let words = name.split_whitespace().count();
    let plausible = !name.is_empty() && name.chars().count() <= 24 && words <= 4 && !name.contains(['。', '，', '.']);
    plausible.then(|| (name.to_owned(), age, description.trim().to_owned()))
}

/// What a bracketed line is: `【字幕：…】` and `[TITLE CARD: …]` are on-screen cards, `【空镜：…】` a
/// picture, `【VO：…】` a voice, `【闪回】` a transition; any other bracket is a note for the crew.
pub fn bracketed(line: &str) -> Option<Option<Line>> {
    let inner = line
        .strip_prefix('【')
        .and_then(|l| l.strip_suffix('】'))
        .or_else(|| line.strip_prefix('[').and_then(|l| l.strip_suffix(']')).filter(|l| !l.starts_with('[')))?
        .trim();
    let (key, value) = match inner.split_once('：').or_else(|| inner.split_once(':')) {
        Some((key, value)) => (key.trim(), value.trim()),
        None => (inner, ""),
    };
    let lower = key.to_lowercase();
    Some(match lower.as_str() {
        "字幕" | "标题" | "片名" | "title card" | "title" | "caption" | "super" => {
            Some(Line::Card(inner.to_owned()))
        }
        "空镜" | "画面" | "镜头" | "insert" => {
            Some(Line::Action(if value.is_empty() { inner.to_owned() } else { value.to_owned() }))
        }
        "vo" | "os" | "v.o." | "旁白" | "画外音" | "narrator" if !value.is_empty() => Some(Line::Dialogue {
            speaker: "旁白".into(),
            parenthetical: None,
            text: value.to_owned(),
            extension: Some(key.to_owned()),
            dual: false,
        }),
        "闪回" | "闪回结束" | "回忆" | "回忆结束" | "转场" | "切至" | "黑场" | "淡入" | "淡出" | "flashback"
        | "end flashback" => Some(Line::Transition(inner.to_owned())),
        _ => None,
    })
}

/// `沈青禾（低声）：爹…`, `沈青禾：（低声）爹…`, `陆乘（OS）：…`, `旁白（vo）：…`, and the plain
/// English `YIHUA: (dribbling) Shut up!` (a speaker in capitals).
pub fn dialogue(line: &str) -> Option<Line> {
    let (speaker, rest) = line.split_once('：').or_else(|| line.split_once(':'))?;
    let speaker = speaker.trim();
    let (name, mut notes) = match speaker.split_once(['（', '(']) {
        Some((name, note)) => (name.trim(), vec![note.trim_end_matches(['）', ')']).trim().to_owned()]),
        None => (speaker, vec![]),
    };
    let count = name.chars().count();
    let cjk = name.chars().any(super::is_cjk);
    let capitals = !cjk
        && name.chars().any(char::is_alphabetic)
        && !name.chars().any(char::is_lowercase)
        && name.chars().all(|c| c.is_alphanumeric() || " .'-#&".contains(c))
        && count <= 30;
    let narrator = NARRATORS.iter().any(|n| n.eq_ignore_ascii_case(name));
    if count == 0 || !(cjk && count <= 12 || capitals || narrator) || META_KEYS.contains(&name) {
        return None;
    }
    if name.chars().any(|c| "，。！？、；“”\"【】[]△".contains(c) || c.is_whitespace() && cjk) {
        return None;
    }
    let mut text = rest.trim();
    while let Some(inner) = text.strip_prefix('（').or_else(|| text.strip_prefix('(')) {
        let Some((note, after)) = inner.split_once(['）', ')']) else { break };
        notes.push(note.trim().to_owned());
        text = after.trim();
    }
    if text.is_empty() {
        return None;
    }
    let (extensions, directions): (Vec<String>, Vec<String>) =
        notes.into_iter().filter(|n| !n.is_empty()).partition(|n| EXTENSIONS.contains(&n.to_lowercase().as_str()));
    let speaker = if capitals { title_case(name) } else { name.to_owned() };
    Some(Line::Dialogue {
        speaker,
        parenthetical: (!directions.is_empty()).then(|| directions.join("，")),
        text: fountain::strip_emphasis(text),
        extension: (!extensions.is_empty()).then(|| extensions.join(", ")),
        dual: false,
    })
}

/// A `△` action line's text.
pub fn action_mark(line: &str) -> Option<&str> {
    line.strip_prefix('△').or_else(|| line.strip_prefix('▲')).map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(line: &str) -> (String, String, String, Option<String>) {
        match heading(line) {
            Some(Heading::Scene(s)) => (s.location, s.time, s.setting, s.number),
            _ => panic!("{line} is not a scene heading"),
        }
    }

    #[test]
    fn the_heading_layouts() {
        let s = |l, t, st, n: Option<&str>| (String::from(l), String::from(t), String::from(st), n.map(String::from));
        assert_eq!(scene("第3场 客厅 日 内"), s("客厅", "日", "内", Some("3")));
        assert_eq!(scene("第一场：沈府后院 夜 外"), s("沈府后院", "夜", "外", Some("一")));
        assert_eq!(scene("3-1 日 内 客厅"), s("客厅", "日", "内", Some("3-1")));
        assert_eq!(scene("**1-1日 内 沪上 张家**"), s("沪上 张家", "日", "内", Some("1-1")));
        assert_eq!(scene("场2-1 日 外 森林"), s("森林", "日", "外", Some("2-1")));
        assert_eq!(scene("△1-1 日 内 大厅"), s("大厅", "日", "内", Some("1-1")));
        let joined = scene_from_tokens("晨外 羽山刑场");
        assert_eq!((joined.location.as_str(), joined.time.as_str(), joined.setting.as_str()), ("羽山刑场", "晨", "外"));
        assert_eq!(scene("场景：城隍庙（黄昏）"), s("城隍庙", "黄昏", "", None));
        assert_eq!(scene("【场景】江边 夜 外"), s("江边", "夜", "外", None));
        assert_eq!(scene("Scene 1-1: EXT. RURAL ROAD / BUS - DAY"), s("Rural Road / Bus", "Day", "EXT.", Some("1-1")));
        assert!(matches!(heading("### 场1-1"), Some(Heading::SceneNumberOnly(n)) if n == "1-1"));
        assert!(matches!(heading("第一集：手办血案"), Some(Heading::Episode(t)) if t == "手办血案"));
        assert!(matches!(heading("Episode 1: Figurine Bloodshed"), Some(Heading::Episode(_))));
        assert!(heading("第一次见面，她笑了。").is_none());
    }

    #[test]
    fn dialogue_with_directions_extensions_and_narrators() {
        let Some(Line::Dialogue { speaker, parenthetical, text, extension, .. }) = dialogue("陆乘（OS）：我重生了！")
        else {
            panic!()
        };
        assert_eq!(
            (speaker.as_str(), parenthetical, text.as_str(), extension.as_deref()),
            ("陆乘", None, "我重生了！", Some("OS"))
        );
        let Some(Line::Dialogue { parenthetical, .. }) = dialogue("马一花：（运球，动作利落）闭嘴！")
        else {
            panic!()
        };
        assert_eq!(parenthetical.as_deref(), Some("运球，动作利落"));
        let Some(Line::Dialogue { speaker, parenthetical, .. }) = dialogue("YIHUA: (dribbling) Shut up!") else {
            panic!()
        };
        assert_eq!((speaker.as_str(), parenthetical.as_deref()), ("Yihua", Some("dribbling")));
        assert!(
            matches!(dialogue("旁白（vo）：那一年，洪水滔天。"), Some(Line::Dialogue { speaker, .. }) if speaker == "旁白")
        );
        assert!(dialogue("人物：沈星晴、村民").is_none());
        assert!(dialogue("时间：三更").is_none());
        assert!(dialogue("Note: this is not a line").is_none());
        assert!(dialogue("【字幕：湖南】").is_none());
    }

    #[test]
    fn brackets_cards_and_notes() {
        assert!(
            matches!(bracketed("【字幕：湖南 · 青石镇】"), Some(Some(Line::Card(t))) if t == "字幕：湖南 · 青石镇")
        );
        assert!(matches!(bracketed("[TITLE CARD: Hunan — Qingshi Town]"), Some(Some(Line::Card(_)))));
        assert!(matches!(bracketed("【空镜：江面薄雾】"), Some(Some(Line::Action(t))) if t == "江面薄雾"));
        assert!(matches!(bracketed("【闪回】"), Some(Some(Line::Transition(_)))));
        assert!(matches!(bracketed("【戏剧功能：开场钩子】"), Some(None)));
        assert!(bracketed("[[a note]]").is_none());
    }

    #[test]
    fn bios_and_casts() {
        assert_eq!(
            bio("马一花（17）： 暴躁体委/手办狂魔。"),
            Some(("马一花".into(), Some("17".into()), "暴躁体委/手办狂魔。".into()))
        );
        assert_eq!(bio("Ma Yihua (17): Hotheaded."), Some(("Ma Yihua".into(), Some("17".into()), "Hotheaded.".into())));
        assert_eq!(cast("沈星晴、村民"), ["沈星晴", "村民"]);
        assert_eq!(keyed("人物：沈星晴、村民", CAST_KEYS), Some("沈星晴、村民"));
    }
}
