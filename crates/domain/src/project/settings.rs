//! Project settings: the values chosen when a project is created and edited in its sidebar.

use crate::validation::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};

pub const STAGES: [&str; 4] = ["script", "assets", "director", "export"];
pub const LANGUAGES: [&str; 5] = ["zh", "en", "ja", "fr", "es"];
pub const IMAGE_SIZES: [&str; 2] = ["1440x2560", "2560x1440"];
/// The nine visual-style presets, as stable ids with the names the original app stored.
pub const VISUAL_STYLES: [(&str, &str); 9] = [
    ("xianxia", "仙侠古装"),
    ("cute-cartoon", "可爱卡通"),
    ("ink-wash", "古典水墨"),
    ("cyberpunk", "赛博朋克"),
    ("mecha", "未来机甲"),
    ("anime", "二次元"),
    ("realistic", "写实"),
    ("crayon", "蜡笔画"),
    ("modern-city", "现代城市"),
];
const TITLE_MAX_CHARS: usize = 200;
const TEXT_MAX_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProjectStatus {
    Active,
    Archived,
    Deleted,
}

impl ProjectStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Archived => "archived",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// The settings of a project (title is kept beside them, as its own column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectSettings {
    pub stage: String,
    pub target_duration: String,
    pub language: String,
    pub visual_style: String,
    pub image_size: String,
    pub image_count: u8,
    pub genre: String,
    /// When the project came in from an export of the old browser app (set by the server only),
    /// so it can be told apart from a project of the same title made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How many unpinned takes each image or clip slot keeps (1–50); older ones are pruned.
    #[serde(default = "default_keep_takes")]
    pub keep_takes: u8,
    /// Whether what leaves the product (the merged film) carries the AI-content labels: the
    /// visible "AI生成" / "AI-generated" mark and the implicit one in the file's metadata. On
    /// unless the project's owner turns it off.
    #[serde(default = "default_ai_label")]
    pub ai_label: bool,
}

fn default_ai_label() -> bool {
    true
}

/// Unpinned takes a slot keeps unless the project says otherwise.
pub const DEFAULT_KEEP_TAKES: u8 = 5;
/// The most unpinned takes a slot may keep.
pub const MAX_KEEP_TAKES: u8 = 50;

fn default_keep_takes() -> u8 {
    DEFAULT_KEEP_TAKES
}

impl Default for ProjectSettings {
    fn default() -> Self {
        Self {
            stage: "script".into(),
            target_duration: "60s".into(),
            language: "zh".into(),
            visual_style: "xianxia".into(),
            image_size: "1440x2560".into(),
            image_count: 4,
            genre: String::new(),
            imported_at: None,
            keep_takes: DEFAULT_KEEP_TAKES,
            ai_label: true,
        }
    }
}

/// Settings a client wants changed; `None` leaves a value as it is.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct SettingsPatch {
    pub title: Option<String>,
    pub stage: Option<String>,
    pub target_duration: Option<String>,
    pub language: Option<String>,
    pub visual_style: Option<String>,
    pub image_size: Option<String>,
    pub image_count: Option<i64>,
    pub genre: Option<String>,
    pub keep_takes: Option<i64>,
    pub ai_label: Option<bool>,
}

/// Maps the original app's language names ("中文", "English", …) and any case to a code.
pub fn normalize_language(raw: &str) -> Option<&'static str> {
    let lower = raw.trim().to_lowercase();
    let code = match lower.as_str() {
        "zh" | "zh-cn" | "中文" | "chinese" | "简体中文" => "zh",
        "en" | "english" | "英文" | "英语" => "en",
        "ja" | "日本語" | "日语" | "japanese" => "ja",
        "fr" | "français" | "francais" | "法语" | "french" => "fr",
        "es" | "español" | "espanol" | "西班牙语" | "spanish" => "es",
        _ => return None,
    };
    Some(code)
}

/// Maps a preset's Chinese name to its id; ids pass through; other text is a custom style.
pub fn normalize_visual_style(raw: &str) -> String {
    let trimmed = raw.trim();
    VISUAL_STYLES
        .iter()
        .find(|(id, name)| *id == trimmed || *name == trimmed)
        .map_or_else(|| trimmed.to_owned(), |(id, _)| (*id).to_owned())
}

/// `30s`, `60s`, `90s`, `2min`, `5min`, …: a number of seconds (5–3600) or minutes (1–60).
pub fn parse_target_duration(raw: &str) -> Option<String> {
    let text = raw.trim().to_lowercase();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let value: u32 = digits.parse().ok()?;
    let ok = match unit {
        "s" => (5..=3600).contains(&value),
        "min" => (1..=60).contains(&value),
        _ => false,
    };
    ok.then_some(text)
}

/// The seconds of a target duration as [`parse_target_duration`] keeps it (`60s`, `2min`).
pub fn target_duration_secs(raw: &str) -> Option<u32> {
    let text = parse_target_duration(raw)?;
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let value: u32 = digits.parse().ok()?;
    Some(if unit == "min" { value * 60 } else { value })
}

/// A title: trimmed, 1–200 characters, no control characters.
pub fn parse_title(raw: &str) -> Result<String, FieldError> {
    let title = raw.trim();
    if title.is_empty() {
        return Err(FieldError::new("title", "is required"));
    }
    if title.chars().count() > TITLE_MAX_CHARS {
        return Err(FieldError::new("title", format!("must be at most {TITLE_MAX_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(FieldError::new("title", "must not contain control characters"));
    }
    Ok(title.to_owned())
}

fn short_text(field: &str, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(FieldError::new(field, format!("must be at most {TEXT_MAX_CHARS} characters")));
    }
    Ok(text.to_owned())
}

impl ProjectSettings {
    /// Applies `patch`, collecting every invalid field into `errors`. Returns the new title when
    /// the patch sets one.
    pub fn apply(&mut self, patch: &SettingsPatch, errors: &mut ValidationErrors) -> Option<String> {
        if let Some(stage) = &patch.stage {
            match STAGES.iter().find(|s| **s == stage.as_str()) {
                Some(s) => self.stage = (*s).to_owned(),
                None => errors.push(FieldError::new("stage", format!("must be one of {}", STAGES.join(", ")))),
            }
        }
        if let Some(raw) = &patch.target_duration {
            match parse_target_duration(raw) {
                Some(duration) => self.target_duration = duration,
                None => errors.push(FieldError::new(
                    "target_duration",
                    "must be seconds (5s–3600s) or minutes (1min–60min), e.g. 60s or 2min",
                )),
            }
        }
        if let Some(raw) = &patch.language {
            match normalize_language(raw) {
                Some(code) => self.language = code.to_owned(),
                None => errors.push(FieldError::new("language", format!("must be one of {}", LANGUAGES.join(", ")))),
            }
        }
        if let Some(raw) = &patch.visual_style {
            match short_text("visual_style", raw) {
                Ok(style) if !style.is_empty() => self.visual_style = normalize_visual_style(&style),
                Ok(_) => errors.push(FieldError::new("visual_style", "is required")),
                Err(e) => errors.push(e),
            }
        }
        if let Some(size) = &patch.image_size {
            match IMAGE_SIZES.iter().find(|s| **s == size.as_str()) {
                Some(s) => self.image_size = (*s).to_owned(),
                None => {
                    errors.push(FieldError::new("image_size", format!("must be one of {}", IMAGE_SIZES.join(", "))))
                }
            }
        }
        if let Some(count) = patch.image_count {
            match u8::try_from(count) {
                Ok(n) if (1..=9).contains(&n) => self.image_count = n,
                _ => errors.push(FieldError::new("image_count", "must be between 1 and 9")),
            }
        }
        if let Some(keep) = patch.keep_takes {
            match u8::try_from(keep) {
                Ok(n) if (1..=MAX_KEEP_TAKES).contains(&n) => self.keep_takes = n,
                _ => errors.push(FieldError::new("keep_takes", format!("must be between 1 and {MAX_KEEP_TAKES}"))),
            }
        }
        if let Some(label) = patch.ai_label {
            self.ai_label = label;
        }
        if let Some(genre) = patch.genre.as_deref().and_then(|g| errors.check(short_text("genre", g))) {
            self.genre = genre;
        }
        patch.title.as_deref().and_then(|t| errors.check(parse_title(t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names_normalise() {
        assert_eq!(normalize_language("中文"), Some("zh"));
        assert_eq!(normalize_language("English"), Some("en"));
        assert_eq!(normalize_language("klingon"), None);
        assert_eq!(normalize_visual_style("赛博朋克"), "cyberpunk");
        assert_eq!(normalize_visual_style("cyberpunk"), "cyberpunk");
        assert_eq!(normalize_visual_style("watercolour noir"), "watercolour noir");
    }

    #[test]
    fn durations() {
        for ok in ["30s", "60s", "2min", "5min", "90s"] {
            assert!(parse_target_duration(ok).is_some(), "{ok}");
        }
        for bad in ["", "0s", "2h", "min", "99999s", "-5s"] {
            assert!(parse_target_duration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn patches_collect_every_error() {
        let mut settings = ProjectSettings::default();
        let patch = SettingsPatch {
            stage: Some("nowhere".into()),
            image_count: Some(12),
            image_size: Some("1x1".into()),
            language: Some("en".into()),
            ..SettingsPatch::default()
        };
        let mut errors = ValidationErrors::default();
        settings.apply(&patch, &mut errors);
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["stage", "image_size", "image_count"]);
        assert_eq!(settings.language, "en");
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(parse_title("  青禾记 ").unwrap(), "青禾记");
        assert!(parse_title("").is_err());
        assert!(parse_title(&"x".repeat(201)).is_err());
    }
}
