//! Fountain, to the letter of its syntax page (fountain.io/syntax): what is removed before
//! anything is read (boneyard `/* */`, notes `[[ ]]`), the title page, emphasis markup, and the
//! recognisers of the elements whose form is Fountain's own — scene headings (with forced ones
//! and scene numbers), character cues (extensions, `@` forced, `^` dual), transitions, centered
//! text, sections, synopses and page breaks.

use super::{SceneBlock, Screenplay, title_case};

/// The text without its boneyard (`/* … */`) and notes (`[[ … ]]`), which may span lines and are
/// never part of the script. An unclosed one runs to the end, as the spec's readers do.
pub fn strip_hidden(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let boneyard = rest.find("/*");
        let note = rest.find("[[");
        let (start, close) = match (boneyard, note) {
            (Some(b), Some(n)) if b < n => (b, "*/"),
            (Some(b), None) => (b, "*/"),
            (_, Some(n)) => (n, "]]"),
            (None, None) => {
                out.push_str(rest);
                return out;
            }
        };
        out.push_str(&rest[..start]);
        match rest[start + 2..].find(close) {
            Some(end) => rest = &rest[start + 2 + end + 2..],
            None => return out,
        }
    }
}

/// Keys a title page may open with (the spec's, and the common additions).
const TITLE_KEYS: &[&str] = &[
    "title",
    "credit",
    "author",
    "authors",
    "source",
    "draft date",
    "date",
    "contact",
    "notes",
    "copyright",
    "revision",
];

/// Reads a title page (`Key: value`, values continued on indented lines, up to the first blank
/// line) into `play`; answers the index of the first body line. None of it becomes a scene.
pub fn title_page(lines: &[&str], play: &mut Screenplay) -> usize {
    let start = lines.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
    let opens = lines.get(start).and_then(|l| l.split_once(':')).is_some_and(|(key, _)| {
        TITLE_KEYS.contains(&key.trim().to_lowercase().as_str()) && !key.starts_with([' ', '\t'])
    });
    if !opens {
        return 0;
    }
    let mut i = start;
    let mut key = String::new();
    let mut values: Vec<(String, Vec<String>)> = Vec::new();
    while let Some(line) = lines.get(i).filter(|l| !l.trim().is_empty()) {
        let indented = line.starts_with('\t') || line.starts_with("   ");
        match line.split_once(':').filter(|_| !indented) {
            Some((k, v)) => {
                key = k.trim().to_lowercase();
                values.push((key.clone(), vec![v.trim().to_owned()]));
            }
            None if !key.is_empty() => {
                if let Some((_, lines)) = values.last_mut() {
                    lines.push(line.trim().to_owned());
                }
            }
            None => break,
        }
        i += 1;
    }
    for (key, lines) in values {
        let value = lines.iter().map(|l| strip_emphasis(l)).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
        if key == "title" && !value.is_empty() {
            play.title = Some(value);
        } else if !value.is_empty() {
            play.credits.push((key, value));
        }
    }
    i
}

/// Emphasis markup removed (`*italic*`, `**bold**`, `***both***`, `_underline_`), escapes
/// (`\*`, `\_`) kept as the characters. Markers pair only on one line, opening before a
/// non-space and closing after one; an unpaired marker (`He dialed *69`) stays.
pub fn strip_emphasis(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut escaped = vec![false; chars.len()];
    let mut drop = vec![false; chars.len()];
    for i in 0..chars.len() {
        if chars[i] == '\\' && matches!(chars.get(i + 1), Some('*' | '_')) && !escaped[i] {
            drop[i] = true;
            escaped[i + 1] = true;
        }
    }
    let is_marker = |i: usize, c: char| chars[i] == c && !escaped[i];
    // Runs of `*` (1–3) pair by length; `_` pairs at word edges only (snake_case stays).
    let mut runs: Vec<(usize, usize, char)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if is_marker(i, '*') || is_marker(i, '_') {
            let c = chars[i];
            let mut end = i;
            while end + 1 < chars.len() && is_marker(end + 1, c) && (c == '*' || end + 1 - i < 1) {
                end += 1;
            }
            runs.push((i, end + 1 - i, c));
            i = end + 1;
        } else {
            i += 1;
        }
    }
    let mut open: Vec<(usize, usize, char)> = Vec::new();
    for &(at, len, c) in &runs {
        let before = at.checked_sub(1).map(|p| chars[p]);
        let after = chars.get(at + len).copied();
        let word = |ch: Option<char>| ch.is_some_and(char::is_alphanumeric);
        let can_close = before.is_some_and(|b| !b.is_whitespace()) && (c == '*' || !word(after));
        let can_open = after.is_some_and(|a| !a.is_whitespace()) && (c == '*' || !word(before));
        if can_close && let Some(found) = open.iter().rposition(|&(_, l, k)| k == c && l == len) {
            let (start, l, _) = open[found];
            open.truncate(found);
            drop[start..start + l].iter_mut().for_each(|d| *d = true);
            drop[at..at + len].iter_mut().for_each(|d| *d = true);
        } else if can_open {
            open.push((at, len, c));
        }
    }
    chars.iter().zip(&drop).filter(|(_, d)| !**d).map(|(c, _)| *c).collect()
}

/// A Fountain scene heading: `INT.`, `EXT.`, `EST.`, `INT./EXT.`, `INT/EXT`, `I/E` followed by
/// a dot or a space, or forced with a leading `.`; a trailing `#12A#` is its scene number.
pub fn scene_heading(line: &str) -> Option<SceneBlock> {
    let (line, number) = scene_number(line);
    let upper = line.to_uppercase();
    let prefix =
        ["INT./EXT.", "INT./EXT", "INT/EXT.", "INT/EXT", "EXT./INT.", "EXT/INT", "I/E.", "I/E", "INT.", "EXT.", "EST."]
            .into_iter()
            .chain(["INT ", "EXT ", "EST ", "I/E "])
            .find(|p| {
                upper.starts_with(p)
                    && (p.ends_with('.') || p.ends_with(' ') || upper[p.len()..].starts_with([' ', '.']))
            });
    let (setting, body) = match prefix {
        Some(prefix) => (prefix.trim().to_owned(), line[prefix.len()..].trim_start_matches('.')),
        None => {
            let forced = line.strip_prefix('.')?;
            if !forced.starts_with(|c: char| c.is_alphanumeric()) {
                return None;
            }
            (String::new(), forced)
        }
    };
    let body = strip_emphasis(body.trim());
    let (location, time) = match body.rsplit_once(" - ").or_else(|| body.rsplit_once(" – ")) {
        Some((location, time)) => (location.trim().to_owned(), time.trim().to_owned()),
        None => (body.clone(), String::new()),
    };
    Some(SceneBlock {
        location: title_case(&location),
        time: title_case(&time),
        setting,
        number,
        ..SceneBlock::default()
    })
}

/// `EXT. ROOF - NIGHT #12A#` → (`EXT. ROOF - NIGHT`, `12A`).
fn scene_number(line: &str) -> (&str, Option<String>) {
    let trimmed = line.trim_end();
    if let Some(inner) = trimmed.strip_suffix('#')
        && let Some(open) = inner.rfind('#')
    {
        let number = &inner[open + 1..];
        if !number.is_empty() && number.chars().all(|c| c.is_alphanumeric() || "-.".contains(c)) {
            return (inner[..open].trim_end(), Some(number.to_owned()));
        }
    }
    (trimmed, None)
}

/// A cue: the name, its extensions (`V.O.`, `CONT'D`) and whether it is the second of a dual
/// dialogue (`^`).
#[derive(Debug, PartialEq)]
pub struct Cue {
    pub name: String,
    pub extension: Option<String>,
    pub dual: bool,
}

/// A character cue: a line in capitals holding at least one letter (extensions in parentheses
/// may be in any case), or any line forced with `@`. The caller checks the blank line before
/// and the non-blank line after.
pub fn character_cue(line: &str) -> Option<Cue> {
    let (line, dual) = match line.trim_end().strip_suffix('^') {
        Some(rest) => (rest.trim_end(), true),
        None => (line.trim_end(), false),
    };
    let (forced, line) = match line.strip_prefix('@') {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    let (name, extension) = match line.find('(') {
        Some(at) => (line[..at].trim(), Some(line[at..].trim())),
        None => (line.trim(), None),
    };
    let extension = extension
        .map(|e| {
            e.split(')')
                .map(|p| p.trim().trim_start_matches('(').trim())
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|e| !e.is_empty());
    if name.is_empty() || name.chars().count() > 40 {
        return None;
    }
    if forced {
        return Some(Cue { name: name.to_owned(), extension, dual });
    }
    let capitals = name.chars().any(char::is_alphabetic)
        && !name.chars().any(|c| c.is_lowercase() || super::is_cjk(c))
        && !name.ends_with(':')
        && !name.starts_with(['!', '.', '>', '~', '=', '#', '[', '【', '△']);
    capitals.then(|| Cue { name: title_case(name), extension, dual })
}

/// A transition: forced with `>` (without a closing `<`), or a line in capitals ending in
/// `TO:` (and the common `FADE IN:`, `FADE OUT.`, `FADE TO BLACK.`, `CUT TO BLACK.`).
pub fn transition(line: &str) -> Option<String> {
    if let Some(forced) = line.strip_prefix('>')
        && !forced.trim_end().ends_with('<')
    {
        return Some(strip_emphasis(forced.trim()));
    }
    let capitals = line.chars().any(|c| c.is_ascii_alphabetic()) && !line.chars().any(char::is_lowercase);
    let known = matches!(line, "FADE IN:" | "FADE OUT." | "FADE TO BLACK." | "CUT TO BLACK." | "FADE OUT:");
    (capitals && (line.ends_with("TO:") || known)).then(|| line.to_owned())
}

/// Centered text: `> THE END <`.
pub fn centered(line: &str) -> Option<String> {
    let inner = line.strip_prefix('>')?.trim_end().strip_suffix('<')?;
    Some(strip_emphasis(inner.trim()))
}

/// Lines that structure the document and are never shown: sections (`#`), synopses (`=`),
/// page breaks (`===`).
pub fn is_structure(line: &str) -> bool {
    line.starts_with('#')
        || (line.starts_with('=') && !line.starts_with("=="))
        || (line.len() >= 3 && line.chars().all(|c| c == '='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emphasis_follows_the_spec_examples() {
        assert_eq!(strip_emphasis("*italics* text"), "italics text");
        assert_eq!(strip_emphasis("**bold** and ***both***"), "bold and both");
        assert_eq!(strip_emphasis("_***text***_ and _*it*_"), "text and it");
        assert_eq!(
            strip_emphasis("INCHES AWAY.  _Steel's face FILLS the *Leupold Mark 4* scope_."),
            "INCHES AWAY.  Steel's face FILLS the Leupold Mark 4 scope."
        );
        assert_eq!(
            strip_emphasis("Steel enters the code on the keypad: **\\*9765\\***"),
            "Steel enters the code on the keypad: *9765*"
        );
        assert_eq!(
            strip_emphasis("He dialed *69 and then *23, and then hung up."),
            "He dialed *69 and then *23, and then hung up."
        );
        assert_eq!(strip_emphasis("a file_name_here stays"), "a file_name_here stays");
    }

    #[test]
    fn boneyard_and_notes_go_even_across_lines() {
        let text = "A.[[a note\nover lines]] B.\n/* cut\nscene */C.";
        assert_eq!(strip_hidden(text), "A. B.\nC.");
        assert_eq!(strip_hidden("D. [[unclosed"), "D. ");
    }

    #[test]
    fn headings_numbers_and_forced_ones() {
        let heading = scene_heading("EXT. ROOF - NIGHT #12A#").unwrap();
        assert_eq!(
            (heading.location.as_str(), heading.time.as_str(), heading.number.as_deref()),
            ("Roof", "Night", Some("12A"))
        );
        assert_eq!(scene_heading("INT./EXT. CAR - DAY").unwrap().setting, "INT./EXT.");
        assert_eq!(scene_heading("I/E CAR - DAY").unwrap().location, "Car");
        assert_eq!(scene_heading(".SNIPER SCOPE POV").unwrap().location, "Sniper Scope Pov");
        assert!(scene_heading("...and then").is_none());
        assert!(scene_heading("INTERIOR DESIGN IS HARD").is_none());
    }

    #[test]
    fn cues_with_symbols_extensions_and_duals() {
        let cue = |l| character_cue(l).map(|c| (c.name, c.extension, c.dual));
        assert_eq!(cue("THUG #1"), Some(("Thug #1".into(), None, false)));
        assert_eq!(cue("BRICK & STEEL"), Some(("Brick & Steel".into(), None, false)));
        assert_eq!(cue("HANS (on the radio)"), Some(("Hans".into(), Some("on the radio".into()), false)));
        assert_eq!(cue("JONAH (V.O.) (CONT'D)"), Some(("Jonah".into(), Some("V.O., CONT'D".into()), false)));
        assert_eq!(cue("BRICK ^"), Some(("Brick".into(), None, true)));
        assert_eq!(cue("@McCLANE"), Some(("McCLANE".into(), None, false)));
        assert_eq!(cue("R2D2"), Some(("R2d2".into(), None, false)));
        assert!(character_cue("Steel sits.").is_none());
        assert!(character_cue("1984").is_none());
    }

    #[test]
    fn transitions_centered_and_structure() {
        assert_eq!(transition("SMASH CUT TO:").as_deref(), Some("SMASH CUT TO:"));
        assert_eq!(transition("> BURN TO PINK.").as_deref(), Some("BURN TO PINK."));
        assert_eq!(transition("> THE END <"), None);
        assert_eq!(centered("> THE END <").as_deref(), Some("THE END"));
        assert!(is_structure("# ACT I") && is_structure("= Set up the story.") && is_structure("==="));
        assert!(!is_structure("== not a synopsis"));
    }
}
