//! Storage keys: `users/{userId}/projects/{projectId}/{folder}/{fileId}.{ext}`, built from ids.

use cinegen_domain::files::extension_for;
use cinegen_domain::{FileId, FileKind, ProjectId, UserId};
use std::fmt;

/// A key that follows the layout. Made from typed ids, or parsed strictly from a URL path, so
/// traversal (`..`), absolute paths, NUL or odd characters can never appear in one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StorageKey(String);

impl StorageKey {
    pub fn for_file(user: UserId, project: ProjectId, kind: FileKind, file: FileId, content_type: &str) -> Self {
        Self(format!("users/{user}/projects/{project}/{}/{file}.{}", kind.folder(), extension_for(content_type)))
    }

    /// Parses a key from untrusted text (a URL path): every segment must be what the layout
    /// allows at its place.
    pub fn parse(raw: &str) -> Option<Self> {
        let parts: Vec<&str> = raw.split('/').collect();
        let is_id = |s: &str| s.len() == 36 && uuid::Uuid::parse_str(s).is_ok();
        let (head, rest) = match parts.as_slice() {
            ["users", user, "projects", project, rest @ ..] if is_id(user) && is_id(project) => (parts.len(), rest),
            _ => return None,
        };
        let _ = head;
        let (folder, file) = match rest {
            [folder, file] => (folder.to_string(), *file),
            [first, second, file] => (format!("{first}/{second}"), *file),
            _ => return None,
        };
        if !FileKind::ALL.iter().any(|kind| kind.folder() == folder) {
            return None;
        }
        let (id, ext) = file.split_once('.')?;
        let ext_ok =
            !ext.is_empty() && ext.len() <= 5 && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        (is_id(id) && ext_ok).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file id the key names.
    pub fn file_id(&self) -> Option<FileId> {
        let name = self.0.rsplit('/').next()?;
        name.split_once('.')?.0.parse().ok()
    }
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout_and_parse_back() {
        let file = FileId::new();
        let key = StorageKey::for_file(UserId::new(), ProjectId::new(), FileKind::KeyframeStart, file, "image/png");
        assert!(key.as_str().contains("/keyframes/start/"));
        assert!(key.as_str().ends_with(".png"));
        assert_eq!(StorageKey::parse(key.as_str()), Some(key.clone()));
        assert_eq!(key.file_id(), Some(file));
    }

    #[test]
    fn hostile_keys_are_refused() {
        let user = UserId::new();
        let project = ProjectId::new();
        let file = FileId::new();
        let good = format!("users/{user}/projects/{project}/videos/{file}.mp4");
        assert!(StorageKey::parse(&good).is_some());
        for bad in [
            format!("users/{user}/projects/{project}/videos/../../{file}.mp4"),
            format!("/users/{user}/projects/{project}/videos/{file}.mp4"),
            format!("users/{user}/projects/{project}/secrets/{file}.mp4"),
            format!("users/{user}/projects/{project}/videos/{file}.mp4\0.png"),
            format!("users/{user}/projects/{project}/videos/{file}.MP4"),
            format!("users/{user}/projects/{project}/videos/ｆｉｌｅ.mp4"),
            format!("users/..%2f/projects/{project}/videos/{file}.mp4"),
            "../../etc/passwd".to_owned(),
            String::new(),
        ] {
            assert!(StorageKey::parse(&bad).is_none(), "{bad:?} was accepted");
        }
    }
}
