//! Stored files: what kinds there are, which types each accepts, and how big each may be.

use crate::validation::FieldError;
use serde::{Deserialize, Serialize};

/// What a file is for; decides its folder, its accepted types and its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Character,
    Scene,
    KeyframeStart,
    KeyframeEnd,
    KeyframeFull,
    Video,
    Export,
    /// Spoken dialogue, and music a creator uploads for the film.
    Audio,
}

const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/webp", "image/gif"];
const VIDEOS: &[&str] = &["video/mp4", "video/webm", "video/quicktime"];
const EXPORTS: &[&str] = &["application/zip", "application/json"];
const AUDIO: &[&str] = &["audio/wav", "audio/mpeg", "audio/mp4", "audio/ogg", "audio/flac"];

impl FileKind {
    pub const ALL: [FileKind; 8] = [
        Self::Character,
        Self::Scene,
        Self::KeyframeStart,
        Self::KeyframeEnd,
        Self::KeyframeFull,
        Self::Video,
        Self::Export,
        Self::Audio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Character => "character",
            Self::Scene => "scene",
            Self::KeyframeStart => "keyframe_start",
            Self::KeyframeEnd => "keyframe_end",
            Self::KeyframeFull => "keyframe_full",
            Self::Video => "video",
            Self::Export => "export",
            Self::Audio => "audio",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|k| k.as_str() == raw).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
            FieldError::new("file_type", format!("must be one of {}", names.join(", ")))
        })
    }

    /// The folder of the storage layout (DESIGN §4).
    pub fn folder(self) -> &'static str {
        match self {
            Self::Character => "characters",
            Self::Scene => "scenes",
            Self::KeyframeStart => "keyframes/start",
            Self::KeyframeEnd => "keyframes/end",
            Self::KeyframeFull => "keyframes/full",
            Self::Video => "videos",
            Self::Export => "exports",
            Self::Audio => "audio",
        }
    }

    pub fn accepted_types(self) -> &'static [&'static str] {
        match self {
            Self::Video => VIDEOS,
            Self::Export => EXPORTS,
            Self::Audio => AUDIO,
            _ => IMAGES,
        }
    }

    /// Largest file of this kind: 50 MiB images, 500 MiB audio, 8 GiB videos and exports.
    pub fn max_bytes(self) -> i64 {
        match self {
            Self::Video | Self::Export => 8 * 1024 * 1024 * 1024,
            Self::Audio => 500 * 1024 * 1024,
            _ => 50 * 1024 * 1024,
        }
    }

    /// The image kind for a keyframe `type` (`start`, `end`, `full`).
    pub fn for_keyframe(kind: &str) -> Option<Self> {
        match kind {
            "start" => Some(Self::KeyframeStart),
            "end" => Some(Self::KeyframeEnd),
            "full" => Some(Self::KeyframeFull),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Pending,
    Ready,
    Deleted,
}

impl FileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "ready" => Some(Self::Ready),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// The file extension stored objects of a content type get.
pub fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/quicktime" => "mov",
        "application/zip" => "zip",
        "application/json" => "json",
        "audio/wav" => "wav",
        "audio/mpeg" => "mp3",
        "audio/mp4" => "m4a",
        "audio/ogg" => "ogg",
        "audio/flac" => "flac",
        _ => "bin",
    }
}

/// The content type that a file's first bytes show, for the types we accept.
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        Some("image/webp")
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Some("image/gif")
    } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WAVE" {
        Some("audio/wav")
    } else if starts(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE6 == 0xE2) {
        // An ID3 tag, or an MPEG audio frame sync with layer III.
        Some("audio/mpeg")
    } else if starts(b"OggS") {
        Some("audio/ogg")
    } else if starts(b"fLaC") {
        Some("audio/flac")
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        // ISO base media: QuickTime names its brand `qt  `, AAC audio `M4A `; everything else
        // plays as MP4.
        match &head[8..12] {
            b"qt  " => Some("video/quicktime"),
            b"M4A " => Some("audio/mp4"),
            _ => Some("video/mp4"),
        }
    } else if starts(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("video/webm")
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some("application/zip")
    } else if head.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'[') {
        Some("application/json")
    } else {
        None
    }
}

/// Whether `declared` content matches what its first bytes show (MP4 and QuickTime share a format).
pub fn content_matches(declared: &str, head: &[u8]) -> bool {
    match sniff(head) {
        Some(found) if found == declared => true,
        // An MP4 holding only sound (`.m4a`) is an `audio/mp4` file to whoever made it, whatever
        // brand its header names.
        Some("video/mp4") | Some("video/quicktime") => {
            matches!(declared, "video/mp4" | "video/quicktime" | "audio/mp4")
        }
        Some("audio/mp4") => declared == "audio/mp4" || declared == "video/mp4",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_are_recognised() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0"), Some("video/mp4"));
        assert_eq!(sniff(b"<html>"), None);
        assert!(content_matches("image/png", b"\x89PNG\r\n\x1a\n"));
        assert!(!content_matches("image/png", &[0xFF, 0xD8, 0xFF]));
        assert!(content_matches("video/quicktime", b"\0\0\0\x20ftypisom"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Some("audio/wav"));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some("audio/mpeg"));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some("audio/mpeg"));
        assert_eq!(sniff(b"\0\0\0\x20ftypM4A \0\0"), Some("audio/mp4"));
        assert!(content_matches("audio/mp4", b"\0\0\0\x20ftypisom"));
    }

    #[test]
    fn kinds_have_folders_and_limits() {
        assert_eq!(FileKind::parse("keyframe_end").unwrap().folder(), "keyframes/end");
        assert!(FileKind::parse("../etc").is_err());
        assert!(FileKind::Video.max_bytes() > 4 * 1024 * 1024 * 1024);
        assert!(FileKind::Scene.accepted_types().contains(&"image/webp"));
        assert!(!FileKind::Scene.accepted_types().contains(&"video/mp4"));
    }
}
