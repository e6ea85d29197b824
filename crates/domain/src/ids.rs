//! Typed identifiers. Each is a UUID (v7, so ids sort by creation time) with its own type, so a
//! `ProjectId` can never be passed where a `UserId` is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(value: Uuid) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// A registered account.
    UserId
);
id_type!(
    /// A refresh-token session family: every rotation of one login shares it.
    SessionId
);
id_type!(
    /// A project owned by a user.
    ProjectId
);
id_type!(
    /// A stored file (image, video, export).
    FileId
);
id_type!(
    /// A queued unit of background work.
    TaskId
);
id_type!(
    /// One finished generation of an image or clip slot.
    TakeId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings() {
        let id = UserId::new();
        let parsed: UserId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
    }

    #[test]
    fn ids_created_later_sort_later() {
        let first = ProjectId::new();
        let second = ProjectId::new();
        assert!(first < second);
    }

    #[test]
    fn garbage_is_not_an_id() {
        assert!("not-a-uuid".parse::<TaskId>().is_err());
    }
}
