//! What a caller may do with a project.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The caller's relation to a project. Owners are `projects.user_id`; the others are rows of
/// `project_members`. Ordered by power: `Viewer < Editor < Owner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProjectRole {
    Viewer,
    Editor,
    Owner,
}

impl ProjectRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Editor => "editor",
            Self::Owner => "owner",
        }
    }

    pub fn can_edit(self) -> bool {
        self >= Self::Editor
    }

    pub fn is_owner(self) -> bool {
        self == Self::Owner
    }
}

impl fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProjectRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "editor" => Ok(Self::Editor),
            "owner" => Ok(Self::Owner),
            other => Err(format!("unknown role '{other}'")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_by_power() {
        assert!(ProjectRole::Viewer < ProjectRole::Editor && ProjectRole::Editor < ProjectRole::Owner);
        assert!(!ProjectRole::Viewer.can_edit() && ProjectRole::Editor.can_edit());
        assert_eq!("editor".parse::<ProjectRole>().unwrap(), ProjectRole::Editor);
        assert!("admin".parse::<ProjectRole>().is_err());
    }
}
