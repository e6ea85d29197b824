//! Domain types and rules of CineGen.
//!
//! Everything here is plain data plus the rules that make it valid: values are parsed once at the
//! boundary (`Email::parse`, `Password::parse`, …) and trusted from then on. No I/O lives here.

pub mod account;
pub mod files;
pub mod ids;
pub mod project;
pub mod validation;

pub use account::{ByteSize, DisplayName, Email, Password, User};
pub use files::{FileKind, FileStatus};
pub use ids::{FileId, ProjectId, SessionId, TakeId, TaskId, UserId};
pub use validation::{FieldError, ValidationErrors};
