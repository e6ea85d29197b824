//! Images a request names by link (the plan's `reference_images`, `start_image_url`,
//! `end_image_url`): a file of the project — by id, or by a link we minted for it — or an outside
//! link, which a worker downloads into the project through the guarded downloader before any
//! provider sees it, so a provider is never handed a copy we do not keep.

use cinegen_domain::FileId;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    File(FileId),
    Url(String),
}

/// What a link the caller wrote names: one of our files (still to be checked against the
/// project), an outside link, or nothing usable.
pub fn parse(raw: &str) -> Option<Link> {
    let raw = raw.trim();
    if let Ok(id) = raw.parse::<FileId>() {
        return Some(Link::File(id));
    }
    let url = url::Url::parse(raw).ok().or_else(|| url::Url::parse("http://relative.invalid").ok()?.join(raw).ok())?;
    // Our storage keys end in `{file id}.{extension}` under `users/…/projects/…/`.
    let path = url.path();
    if path.contains("/users/") && path.contains("/projects/") {
        let name = path.rsplit('/').next()?;
        let stem = name.split('.').next()?;
        if let Ok(id) = stem.parse::<FileId>() {
            return Some(Link::File(id));
        }
    }
    match url.scheme() {
        "http" | "https" if url.host_str() != Some("relative.invalid") => Some(Link::Url(raw.to_owned())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_links_name_their_file_and_others_stay_links() {
        let id = FileId::new();
        assert_eq!(parse(&id.to_string()), Some(Link::File(id)));
        let local = format!("/files/users/u/projects/p/keyframes/{id}.png?exp=1&sig=abc");
        assert_eq!(parse(&local), Some(Link::File(id)));
        let presigned =
            format!("https://bucket.s3.example.com/users/u/projects/p/characters/{id}.jpg?X-Amz-Signature=x");
        assert_eq!(parse(&presigned), Some(Link::File(id)));
        let outside = "https://cdn.example.com/ref1.jpg";
        assert_eq!(parse(outside), Some(Link::Url(outside.into())));
        assert_eq!(parse("ftp://example.com/x.png"), None);
        assert_eq!(parse("not a link"), None);
        assert_eq!(parse("/relative/x.png"), None);
    }
}
