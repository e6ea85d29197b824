//! Emulators of the AI providers CineGen talks to, for tests only. Each speaks its vendor's wire
//! format (paths, auth, bodies, status vocabularies, error shapes, as `shared/providers/*.md`
//! describes them), records every request that departs from that format as a violation, and can be
//! told to misbehave next: refuse the key, throttle, fail, refuse content, answer garbage, stall.

pub mod harness;

pub mod deepseek;
pub mod doubao;
pub mod doubao_speech;
pub mod gemini;
pub mod kling;
pub mod minimax;
pub mod openai;
pub mod yunwu;

pub use harness::{Emulator, Fault, Shared};
