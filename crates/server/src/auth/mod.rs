//! Accounts and sessions: registration, login with rate-limited failures, rotating refresh
//! tokens with reuse detection, logout, and the access-token check every request goes through.

pub mod invites;
pub mod live;
pub mod password;
pub mod service;
pub mod tokens;

pub use live::LiveSessions;
pub use service::{AuthService, ClientInfo, TokenPair};
pub use tokens::{Claims, TokenKeys, TokenType};
