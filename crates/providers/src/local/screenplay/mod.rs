//! The offline screenplay parser: Fountain to its own rules (`fountain.rs`) and the common layouts
//! of Chinese 剧本 (`chinese.rs`), into one model, then the ScriptData of DESIGN §2. Deterministic:
//! the same text always gives the same characters, scenes and story paragraphs. Dialogue is kept
//! in the story paragraphs as `Name：line` so shots can be planned from the (user-editable)
//! ScriptData alone; one paragraph is one beat, and the planner makes one shot of each.

mod chinese;
mod fountain;

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// One paragraph of action (a Fountain block up to a blank line, one `△` line).
    Action(String),
    Dialogue {
        speaker: String,
        /// How the line is played: `(whispering)`, `（低声）`.
        parenthetical: Option<String>,
        text: String,
        /// How the line is heard: `V.O.`, `CONT'D`, `OS`.
        extension: Option<String>,
        /// The second half of a dual dialogue (`^`): spoken at once with the one before.
        dual: bool,
    },
    Transition(String),
    /// Text on the screen: centered text (`> THE END <`), a caption (`【字幕：…】`).
    Card(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SceneBlock {
    pub location: String,
    pub time: String,
    /// 内 / 外 / INT. / EXT., as written.
    pub setting: String,
    /// The scene's number where the script gives one (`#12A#`, `3-1`, `第3场`).
    pub number: Option<String>,
    /// Who the scene lists as present (`人物：甲、乙`).
    pub cast: Vec<String>,
    pub lines: Vec<Line>,
}

/// A character as the script introduces them (`人物小传`, a bio block).
#[derive(Debug, Clone, PartialEq)]
pub struct Bio {
    pub name: String,
    pub age: Option<String>,
    pub description: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Screenplay {
    pub title: Option<String>,
    /// The title page's other entries (credit, author, draft date, …), lower-case keys.
    pub credits: Vec<(String, String)>,
    pub synopsis: Option<String>,
    pub bios: Vec<Bio>,
    /// Episode markers met (`第一集：手办血案`): structure, never a scene.
    pub episodes: Vec<String>,
    pub scenes: Vec<SceneBlock>,
    /// Whether the text is mostly Chinese (labels and separators follow it).
    pub chinese: bool,
}

impl Screenplay {
    fn scene(&mut self) -> &mut SceneBlock {
        if self.scenes.is_empty() {
            self.scenes.push(SceneBlock::default());
        }
        self.scenes.last_mut().expect("just ensured")
    }

    fn push(&mut self, line: Line) {
        self.scene().lines.push(line);
    }
}

pub fn parse(text: &str) -> Screenplay {
    let text = fountain::strip_hidden(&text.replace("\r\n", "\n").replace('\r', "\n"));
    let chinese = text.chars().filter(|c| is_cjk(*c)).count() * 4 > text.chars().filter(|c| c.is_alphabetic()).count();
    let mut play = Screenplay { chinese, ..Screenplay::default() };
    let raw: Vec<&str> = text.split('\n').collect();
    let start = fountain::title_page(&raw, &mut play);
    Reader { play, raw, i: start, blank_before: true, action: Vec::new() }.run()
}

/// The body's reader: one pass over the lines, with the context Fountain's rules need (was the
/// line before blank, is the line after).
struct Reader<'a> {
    play: Screenplay,
    raw: Vec<&'a str>,
    i: usize,
    blank_before: bool,
    /// The action paragraph being gathered.
    action: Vec<String>,
}

impl Reader<'_> {
    fn run(mut self) -> Screenplay {
        while self.i < self.raw.len() {
            let line = self.raw[self.i].trim();
            self.i += 1;
            if line.is_empty() {
                self.flush();
                self.blank_before = true;
                continue;
            }
            let blank_before = std::mem::replace(&mut self.blank_before, false);
            self.line(line, blank_before);
        }
        self.flush();
        let mut play = self.play;
        play.scenes.retain(|s| !s.lines.is_empty() || !s.location.is_empty());
        play
    }

    fn next_is_blank(&self) -> bool {
        self.raw.get(self.i).is_none_or(|l| l.trim().is_empty())
    }

    fn flush(&mut self) {
        if !self.action.is_empty() {
            let joiner = if self.play.chinese { "" } else { " " };
            let text = self.action.drain(..).collect::<Vec<_>>().join(joiner);
            self.play.push(Line::Action(text));
        }
    }

    fn element(&mut self, line: Line) {
        self.flush();
        self.play.push(line);
    }

    fn line(&mut self, line: &str, blank_before: bool) {
        if let Some(found) = chinese::heading(line) {
            self.flush();
            match found {
                chinese::Heading::Scene(scene) => self.play.scenes.push(scene),
                chinese::Heading::SceneNumberOnly(number) => {
                    // `### 场1-1` then `日 内 灵山大雄宝殿`.
                    let next = self.raw.get(self.i).map(|l| l.trim()).unwrap_or_default();
                    let mut scene = chinese::scene_from_tokens(next);
                    if scene.time.is_empty() && scene.setting.is_empty() {
                        scene = SceneBlock::default();
                    } else {
                        self.i += 1;
                    }
                    scene.number = Some(number);
                    self.play.scenes.push(scene);
                }
                chinese::Heading::Episode(title) => self.play.episodes.push(title),
            }
            return;
        }
        if fountain::is_structure(line) {
            self.flush();
            return;
        }
        if let Some(forced) = line.strip_prefix('!') {
            self.action.push(fountain::strip_emphasis(forced.trim()));
            return;
        }
        if blank_before && let Some(scene) = fountain::scene_heading(line) {
            self.flush();
            self.play.scenes.push(scene);
            return;
        }
        if let Some(text) = fountain::centered(line) {
            // Consecutive centered lines make one card.
            match self.play.scene().lines.last_mut() {
                Some(Line::Card(card)) if !blank_before => {
                    card.push(' ');
                    card.push_str(&text);
                }
                _ => self.element(Line::Card(text)),
            }
            return;
        }
        if let Some(transition) = fountain::transition(line).filter(|_| blank_before || line.starts_with('>')) {
            self.element(Line::Transition(transition));
            return;
        }
        if let Some(text) = line.strip_prefix('《').and_then(|l| l.strip_suffix('》')) {
            self.flush();
            self.play.title.get_or_insert_with(|| text.trim().to_owned());
            return;
        }
        // A quoted line standing alone before anything else is the title (`"Basketball Girls"`).
        let quoted = line.strip_prefix(['"', '“']).and_then(|l| l.strip_suffix(['"', '”']));
        if let Some(text) =
            quoted.filter(|_| self.play.title.is_none() && self.play.scenes.is_empty() && self.next_is_blank())
        {
            self.flush();
            self.play.title = Some(text.trim().to_owned());
            return;
        }
        if self.script_notes(line) {
            return;
        }
        if let Some(found) = chinese::bracketed(line) {
            if let Some(element) = found {
                self.element(element);
            }
            return;
        }
        if let Some(text) = chinese::action_mark(line) {
            self.element(Line::Action(fountain::strip_emphasis(text)));
            return;
        }
        if blank_before
            && !self.next_is_blank()
            && let Some(cue) = fountain::character_cue(line)
        {
            self.flush();
            self.dialogue_block(cue);
            return;
        }
        if let Some(dialogue) = chinese::dialogue(line) {
            self.element(dialogue);
            return;
        }
        self.action.push(fountain::strip_emphasis(line));
        if self.play.chinese {
            self.flush();
        }
    }

    /// Lines about the script rather than in it: the synopsis, the bios, a scene's cast, a title.
    fn script_notes(&mut self, line: &str) -> bool {
        let before_scenes = self.play.scenes.is_empty();
        if let Some(value) = chinese::keyed(line, &["标题", "剧名", "片名"]) {
            self.play.title.get_or_insert_with(|| value.trim_matches(['《', '》']).to_owned());
            return true;
        }
        if before_scenes && let Some(value) = chinese::keyed(line, chinese::SYNOPSIS_KEYS) {
            let value = fountain::strip_emphasis(value);
            self.play.synopsis.get_or_insert(value);
            return true;
        }
        if before_scenes && let Some(value) = chinese::keyed(line, chinese::BIO_KEYS) {
            // The block runs while its lines read as bios.
            if let Some(bio) = chinese::bio(value).filter(|_| !value.is_empty()) {
                self.bio(bio);
            }
            while let Some(bio) =
                self.raw.get(self.i).map(|l| l.trim()).filter(|l| !l.is_empty()).and_then(chinese::bio)
            {
                self.bio(bio);
                self.i += 1;
            }
            return true;
        }
        if let Some(value) = chinese::keyed(line, chinese::CAST_KEYS) {
            self.flush();
            self.play.scene().cast.extend(chinese::cast(value));
            return true;
        }
        false
    }

    fn bio(&mut self, (name, age, description): (String, Option<String>, String)) {
        self.play.bios.push(Bio { name, age, description: fountain::strip_emphasis(&description) });
    }

    /// The dialogue after a cue: lines up to a blank one (a line of two spaces keeps it going),
    /// parentheticals among them, lyrics (`~`) as sung text.
    fn dialogue_block(&mut self, cue: fountain::Cue) {
        let mut parenthetical = None;
        let mut spoken: Vec<String> = Vec::new();
        while let Some(raw) = self.raw.get(self.i) {
            let next = raw.trim();
            if next.is_empty() && !raw.starts_with("  ") {
                break;
            }
            self.i += 1;
            if next.is_empty() {
                continue;
            }
            if next.starts_with('(') && next.ends_with(')') {
                if spoken.is_empty() && parenthetical.is_none() {
                    parenthetical = Some(next.trim_matches(['(', ')']).trim().to_owned());
                }
                continue;
            }
            spoken.push(fountain::strip_emphasis(next.strip_prefix('~').unwrap_or(next).trim()));
        }
        if spoken.is_empty() {
            return;
        }
        let joiner = if spoken.iter().any(|s| s.chars().any(is_cjk)) { "" } else { " " };
        self.play.push(Line::Dialogue {
            speaker: cue.name,
            parenthetical,
            text: spoken.join(joiner),
            extension: cue.extension,
            dual: cue.dual,
        });
    }
}

pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// `NOODLE BAR` → `Noodle Bar`.
pub(crate) fn title_case(text: &str) -> String {
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

/// The character a speaker is: a bio whose name holds the speaker's (`Yihua` is `Ma Yihua`,
/// `星晴` is `沈星晴`), else the speaker as written.
fn canonical(speaker: &str, bios: &[Bio]) -> String {
    let folded = speaker.to_lowercase();
    bios.iter()
        .find(|bio| {
            let name = bio.name.to_lowercase();
            name == folded
                || (speaker.chars().any(is_cjk) && speaker.chars().count() >= 2 && name.contains(&folded))
                || name.split_whitespace().any(|word| word == folded)
                || name.split_whitespace().collect::<Vec<_>>().join(" ") == folded
        })
        .map_or_else(|| speaker.to_owned(), |bio| bio.name.clone())
}

fn is_narrator(name: &str) -> bool {
    chinese::NARRATORS.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// The ScriptData of DESIGN §2 for a parsed screenplay: characters (the bios first, then every
/// other speaker; a narrator is a voice, not a character), scenes, and one story paragraph per
/// beat (action, a line of dialogue, a card).
pub fn script_data(play: &Screenplay, language: &str, genre: &str, duration_secs: u32) -> Value {
    let mut names: Vec<String> = play.bios.iter().map(|b| b.name.clone()).collect();
    for line in play.scenes.iter().flat_map(|s| &s.lines) {
        if let Line::Dialogue { speaker, .. } = line {
            let name = canonical(speaker, &play.bios);
            if !names.contains(&name) && !is_narrator(&name) {
                names.push(name);
            }
        }
    }
    let zh = play.chinese;
    let separator = if zh { "：" } else { ": " };
    let characters: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let bio = play.bios.iter().find(|b| &b.name == name);
            let prompt = match bio {
                Some(bio) if zh => format!("{name}，{}，角色设定图，正面全身", bio.description),
                Some(bio) => format!("{name}, {}, character sheet, full body, front view", bio.description),
                None if zh => format!("{name}，角色设定图，正面全身"),
                None => format!("{name}, character sheet, full body, front view"),
            };
            json!({"id": format!("char-{}", i + 1), "name": name, "gender": "",
                   "age": bio.and_then(|b| b.age.clone()).unwrap_or_default(),
                   "personality": bio.map(|b| b.description.clone()).unwrap_or_default(),
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
                Line::Action(text) | Line::Card(text) => text.clone(),
                Line::Dialogue { speaker, parenthetical, text, .. } => {
                    let speaker = canonical(speaker, &play.bios);
                    match parenthetical {
                        Some(p) if zh => format!("{speaker}：（{p}）{text}"),
                        Some(p) => format!("{speaker}: ({p}) {text}"),
                        None => format!("{speaker}{separator}{text}"),
                    }
                }
                Line::Transition(_) => continue,
            };
            paragraphs.push(json!({"id": format!("p-{}", paragraphs.len() + 1), "text": text, "sceneRefId": id}));
        }
    }
    let logline = play.synopsis.clone().unwrap_or_else(|| {
        play.scenes
            .iter()
            .flat_map(|s| &s.lines)
            .find_map(|l| match l {
                Line::Action(text) => Some(first_sentence(text)),
                _ => None,
            })
            .unwrap_or_default()
    });
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
mod tests;
