//! The parser on our own fixtures and on public sample screenplays (`fixtures/scripts/public/`,
//! sources and hand counts in its README): scenes, characters and beats (one shot each) against
//! what a person counts by hand.

use super::*;

const DUKOU: &str = include_str!("../../../../../fixtures/scripts/dukou-zh.txt");
const LAST_TRAIN: &str = include_str!("../../../../../fixtures/scripts/last-train.fountain");
const SYNTAX: &str = include_str!("../../../../../fixtures/scripts/fountain-syntax.fountain");
const BRICK_AND_STEEL: &str = include_str!("../../../../../fixtures/scripts/public/brick-and-steel.fountain");
const GUANLAN_ZH: &str = include_str!("../../../../../fixtures/scripts/public/guanlan-shaonv-zh.txt");
const BASKETBALL_EN: &str = include_str!("../../../../../fixtures/scripts/public/basketball-girls-en.txt");

/// What a person counts: scenes, characters, dialogue lines, action beats, cards, transitions.
#[derive(Debug, PartialEq)]
struct Counts {
    scenes: usize,
    characters: usize,
    dialogue: usize,
    action: usize,
    cards: usize,
    transitions: usize,
}

fn counts(play: &Screenplay) -> Counts {
    let lines = || play.scenes.iter().flat_map(|s| &s.lines);
    let data = script_data(play, "en", "", 60);
    Counts {
        scenes: play.scenes.len(),
        characters: data["characters"].as_array().unwrap().len(),
        dialogue: lines().filter(|l| matches!(l, Line::Dialogue { .. })).count(),
        action: lines().filter(|l| matches!(l, Line::Action(_))).count(),
        cards: lines().filter(|l| matches!(l, Line::Card(_))).count(),
        transitions: lines().filter(|l| matches!(l, Line::Transition(_))).count(),
    }
}

fn names(play: &Screenplay) -> Vec<String> {
    let data = script_data(play, "", "", 60);
    data["characters"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

fn places(play: &Screenplay) -> Vec<(&str, &str, &str)> {
    play.scenes.iter().map(|s| (s.location.as_str(), s.time.as_str(), s.setting.as_str())).collect()
}

fn dialogue(speaker: &str, parenthetical: Option<&str>, text: &str) -> Line {
    Line::Dialogue {
        speaker: speaker.into(),
        parenthetical: parenthetical.map(Into::into),
        text: text.into(),
        extension: None,
        dual: false,
    }
}

#[test]
fn chinese_scenes_dialogue_and_parentheticals() {
    let play = parse(DUKOU);
    assert!(play.chinese);
    assert_eq!(play.title.as_deref(), Some("渡口记"));
    assert_eq!(places(&play), [("青石渡口", "黄昏", "外"), ("江心客船", "深夜", "内"), ("漕运司 账房", "拂晓", "内")]);
    assert_eq!(play.scenes[0].number.as_deref(), Some("一"));
    assert_eq!(play.scenes[0].lines[1], dialogue("林晚舟", Some("轻声"), "哥，我来接你回家了。"));
    let data = script_data(&play, "zh", "古装", 60);
    assert_eq!(names(&play), ["林晚舟", "程野"]);
    assert_eq!(data["storyParagraphs"][1]["text"], "林晚舟：（轻声）哥，我来接你回家了。");
    assert_eq!(data["storyParagraphs"].as_array().unwrap().len(), 10);
}

#[test]
fn fountain_title_page_headings_cues_and_transitions() {
    let play = parse(LAST_TRAIN);
    assert!(!play.chinese);
    assert_eq!(play.title.as_deref(), Some("Last Train"));
    assert_eq!(
        places(&play),
        [("Subway Platform", "Night", "INT."), ("Viaduct", "Continuous", "EXT."), ("Signal Room", "Later", "INT.")]
    );
    assert_eq!(play.scenes[0].lines[1], dialogue("Jonah", None, "Last train left at ten."));
    assert_eq!(play.scenes[1].lines[1], dialogue("Tess", Some("whispering"), "Next station. Midnight."));
    assert_eq!(play.scenes[1].lines.last(), Some(&Line::Transition("CUT TO:".into())));
}

/// Every element of the Fountain syntax page, once.
#[test]
fn the_whole_fountain_syntax() {
    let play = parse(SYNTAX);
    assert_eq!(play.title.as_deref(), Some("NIGHT SHIFT"));
    assert_eq!(
        play.credits,
        [
            ("credit".into(), "Written by".into()),
            ("author".into(), "CineGen samples".into()),
            ("draft date".into(), "2026-12-07".into()),
            ("contact".into(), "studio@example.com".into()),
        ]
    );
    // The boneyard's scene, the section and the synopsis are not scenes.
    assert_eq!(places(&play), [("Bank", "Night", "EXT."), ("Van", "Continuous", "INT./EXT."), ("The Vault", "", "")]);
    let numbers: Vec<Option<&str>> = play.scenes.iter().map(|s| s.number.as_deref()).collect();
    assert_eq!(numbers, [Some("1"), Some("1A"), None]);
    assert_eq!(
        play.scenes[0].lines,
        [
            Line::Action("Rain on the marble steps. A van idles at the curb.".into()),
            dialogue("Thug #1", Some("whispering"), "Lights out in ten."),
            dialogue("Brick & Steel", None, "We see you."),
        ]
    );
    let van = &play.scenes[1].lines;
    assert_eq!(van[0], Line::Action("SILENCE.".into()));
    assert!(
        matches!(&van[1], Line::Dialogue { speaker, extension: Some(e), .. } if speaker == "McCLANE" && e == "V.O.")
    );
    assert!(
        matches!(&van[2], Line::Dialogue { speaker, extension: Some(e), .. } if speaker == "Thug #1" && e == "CONT'D")
    );
    assert!(matches!(&van[4], Line::Dialogue { speaker, dual: true, .. } if speaker == "Jonah"));
    assert!(
        matches!(&van[5], Line::Dialogue { text, .. } if text == "Three blind mice, see how they run. And now we run.")
    );
    assert_eq!(van[6], Line::Transition("CUT TO:".into()));
    assert_eq!(
        play.scenes[2].lines,
        [
            Line::Action("The door swings open on nothing at all. Empty. Not even *dust*.".into()),
            Line::Transition("FADE TO GREY.".into()),
            Line::Card("THE END".into()),
        ]
    );
    assert_eq!(names(&play), ["Thug #1", "Brick & Steel", "McCLANE", "Mara", "Jonah"]);
}

/// "Brick & Steel: Full Retired", Stu Maschwitz's sample from fountain.io.
#[test]
fn brick_and_steel_as_a_person_counts_it() {
    let play = parse(BRICK_AND_STEEL);
    assert_eq!(play.title.as_deref(), Some("BRICK & STEEL FULL RETIRED"));
    assert_eq!(play.credits.iter().find(|(k, _)| k == "author").map(|(_, v)| v.as_str()), Some("Stu Maschwitz"));
    assert_eq!(counts(&play), Counts { scenes: 8, characters: 7, dialogue: 20, action: 20, cards: 3, transitions: 7 });
    assert_eq!(names(&play), ["Steel", "Brick", "Jack", "Dan", "Cognito", "Minion", "Handsome Man"]);
    let headings: Vec<&str> = play.scenes.iter().map(|s| s.location.as_str()).collect();
    assert_eq!(
        headings,
        [
            "Brick's Patio",
            "Trailer Home",
            "Brick's Pool",
            "Sniper Scope Pov",
            "Opening Titles",
            "Wooden Shack",
            "Garage",
            "Palatial Mansion"
        ]
    );
    // The page break does not split the scene; a beat of three lines is one paragraph.
    assert!(play.scenes[0].lines.contains(&Line::Action(
        "And then there's a long beat. Longer than is funny. Long enough to be depressing.".into()
    )));
    assert!(matches!(&play.scenes[0].lines.iter().rev().find(|l| matches!(l, Line::Dialogue { .. })),
        Some(Line::Dialogue { speaker, dual: true, .. }) if speaker == "Brick"));
    assert_eq!(play.scenes[1].lines[2], dialogue("Dan", None, "Then let's retire them. Permanently."));
    assert_eq!(
        play.scenes[4].lines,
        [
            Line::Card("BRICK BRADDOCK & DICK STEEL IN".into()),
            Line::Card("BRICK & STEEL FULL RETIRED".into()),
            Line::Transition("SMASH CUT TO:".into())
        ]
    );
    // One shot per beat: the planner gets every dialogue line, action paragraph and card.
    let data = script_data(&play, "en", "action", 60);
    assert_eq!(data["storyParagraphs"].as_array().unwrap().len(), 43);
}

/// 《灌篮少女》, the demo script of moyin-creator in the 1-1 日 外 layout.
#[test]
fn guanlan_shaonv_as_a_person_counts_it() {
    let play = parse(GUANLAN_ZH);
    assert!(play.chinese);
    assert_eq!(play.title.as_deref(), Some("灌篮少女"));
    assert!(play.synopsis.as_deref().is_some_and(|s| s.starts_with("三个因家庭变故")));
    assert_eq!(play.episodes, ["手办血案"]);
    assert_eq!(counts(&play), Counts { scenes: 5, characters: 8, dialogue: 29, action: 28, cards: 2, transitions: 0 });
    assert_eq!(names(&play), ["马一花", "陈茉莉", "叶小玲", "沈星晴", "赵思楠", "刘娜", "村民", "男同学"]);
    assert_eq!(
        places(&play),
        [
            ("乡村公路/大巴车", "日", "外"),
            ("中学操场", "日", "外"),
            ("操场边缘树荫", "日", "外"),
            ("操场篮球架下", "日", "外"),
            ("操场中央", "日", "外")
        ]
    );
    assert_eq!(play.scenes[0].cast, ["沈星晴", "村民"]);
    assert_eq!(play.scenes[0].number.as_deref(), Some("1-1"));
    assert_eq!(
        play.bios[0],
        Bio {
            name: "马一花".into(),
            age: Some("17".into()),
            description: "暴躁体委/手办狂魔。强悍直率，极度缺乏安全感，视球星手办为命根。".into()
        }
    );
    let data = script_data(&play, "zh", "青春", 60);
    assert_eq!(data["characters"][0]["age"], "17");
    assert_eq!(data["logline"], play.synopsis.clone().unwrap());
    assert_eq!(data["storyParagraphs"].as_array().unwrap().len(), 59);
    assert!(data["storyParagraphs"].as_array().unwrap().iter().any(|p| p["text"] == "字幕：湖南 · 青石镇"));
}

/// The same episode in plain English: `Scene 1-1: EXT. …` headings, `NAME: line` dialogue, bios
/// under `Characters:`, speakers matched to the bios' full names.
#[test]
fn basketball_girls_as_a_person_counts_it() {
    let play = parse(BASKETBALL_EN);
    assert!(!play.chinese);
    assert_eq!(play.title.as_deref(), Some("Basketball Girls"));
    assert_eq!(counts(&play), Counts { scenes: 5, characters: 8, dialogue: 29, action: 19, cards: 2, transitions: 0 });
    assert_eq!(
        names(&play),
        ["Ma Yihua", "Chen Moli", "Ye Xiaoling", "Shen Xingqing", "Zhao Sinan", "Liu Na", "Villager", "Boy"]
    );
    assert_eq!(play.scenes[0].location, "Rural Road / Bus");
    let data = script_data(&play, "en", "", 60);
    assert!(data["storyParagraphs"].as_array().unwrap().iter().any(|p| p["text"] == "Ma Yihua: (dribbling, crisp crossover) Shut up! This is called a spiritual anchor! Watch and learn — I'll show you country bumpkins what a city-league fadeaway looks like!"));
    assert_eq!(data["storyParagraphs"].as_array().unwrap().len(), 50);
}

#[test]
fn other_heading_forms_and_narration() {
    let play = parse("场景：城隍庙（黄昏）\n老道：来者何人？\n\n.THE VOID\nNothing moves.\n\n时间：三更");
    assert_eq!((play.scenes[0].location.as_str(), play.scenes[0].time.as_str()), ("城隍庙", "黄昏"));
    assert_eq!(play.scenes[1].location, "The Void");
    // A meta line is action, not a speaker called 时间.
    assert_eq!(play.scenes[1].lines.last(), Some(&Line::Action("时间：三更".into())));

    let play = parse(
        "### 场1-1\n日 内 灵山大雄宝殿\n出场人物：禹、鲧\n△ 刑场全景。\n禹（怒）：父亲！\n旁白（vo）：那一年，洪水滔天。\n鲧（os）：我不甘心。\n【空镜：江面薄雾】\n【戏剧功能：开场钩子】",
    );
    assert_eq!(places(&play), [("灵山大雄宝殿", "日", "内")]);
    assert_eq!(play.scenes[0].cast, ["禹", "鲧"]);
    assert_eq!(names(&play), ["禹", "鲧"], "the narrator is a voice, not a character");
    let lines = &play.scenes[0].lines;
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(matches!(&lines[3], Line::Dialogue { speaker, extension: Some(e), .. } if speaker == "鲧" && e == "os"));
    assert_eq!(lines[4], Line::Action("江面薄雾".into()));
}
