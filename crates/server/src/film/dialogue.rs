//! A shot's `dialogue` as lines with their speakers: `萧砚：沈姑娘……`, `LIN (V.O.): Go.`, or a
//! line with no speaker; one line per row. A parenthetical after the name (`角色（低声）：`) or
//! before the words (`（轻声）哥……`) is a direction, not part of the name or of what is said.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub speaker: Option<String>,
    pub text: String,
}

/// Names longer than this are taken for the start of a sentence with a colon in it.
const MAX_NAME_CHARS: usize = 24;

pub fn lines(dialogue: &str) -> Vec<Line> {
    dialogue.lines().map(str::trim).filter(|row| !row.is_empty()).map(line).collect()
}

fn line(row: &str) -> Line {
    let row = strip_leading_direction(row);
    let split = row.char_indices().find(|(_, c)| *c == '：' || *c == ':').map(|(at, c)| (at, at + c.len_utf8()));
    if let Some((colon, after)) = split {
        let name = strip_direction(row[..colon].trim());
        let text = row[after..].trim();
        if !name.is_empty() && name.chars().count() <= MAX_NAME_CHARS && !text.is_empty() {
            return Line { speaker: Some(name.to_owned()), text: strip_leading_direction(text).to_owned() };
        }
    }
    Line { speaker: None, text: row.to_owned() }
}

/// `（轻声）哥……` → `哥……`: how a line is said is for the actor, not the subtitle.
fn strip_leading_direction(text: &str) -> &str {
    let close = match text.chars().next() {
        Some('（') => '）',
        Some('(') => ')',
        _ => return text,
    };
    match text.find(close) {
        Some(at) if !text[at + close.len_utf8()..].trim().is_empty() => text[at + close.len_utf8()..].trim_start(),
        _ => text,
    }
}

/// `林晚舟（低声）` → `林晚舟`; `LIN (V.O.)` → `LIN`.
fn strip_direction(name: &str) -> &str {
    match name.find(['（', '(']) {
        Some(at) if name.ends_with(['）', ')']) => name[..at].trim(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(speaker: Option<&str>, text: &str) -> Line {
        Line { speaker: speaker.map(str::to_owned), text: text.to_owned() }
    }

    #[test]
    fn speakers_are_read_in_either_script() {
        assert_eq!(
            lines("萧砚：沈姑娘，这么晚了，要去哪里？\n沈青禾（低声）：我要查清父亲的冤案。\n\n  LIN (V.O.): Go.  "),
            vec![
                said(Some("萧砚"), "沈姑娘，这么晚了，要去哪里？"),
                said(Some("沈青禾"), "我要查清父亲的冤案。"),
                said(Some("LIN"), "Go."),
            ]
        );
    }

    #[test]
    fn a_line_without_a_speaker_is_kept_whole() {
        assert_eq!(lines("雨一直下。"), vec![said(None, "雨一直下。")]);
        assert_eq!(lines("（轻声）哥，我来接你回家了。"), vec![said(None, "哥，我来接你回家了。")]);
        assert_eq!(lines("萧砚：(whispers) Go."), vec![said(Some("萧砚"), "Go.")]);
        assert_eq!(lines("：开头就是冒号"), vec![said(None, "：开头就是冒号")]);
        let long = "He said it plainly, as if the whole town had not heard already: go";
        assert_eq!(lines(long), vec![said(None, long)]);
    }
}
