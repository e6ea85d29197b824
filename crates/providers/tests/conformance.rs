//! The provider conformance suite: every networked adapter runs the same scenarios — its happy
//! path per capability (text → JSON, image with a reference, video submit → poll → result, a
//! spoken line as WAV), a
//! refused key, 429 then success, 500 then success, a content refusal, a malformed answer and a
//! stalled answer — against an HTTP emulator that checks each request against the vendor's
//! documented wire format and answers in it.

#[path = "conformance/scenarios.rs"]
mod scenarios;

#[path = "conformance/deepseek.rs"]
mod deepseek;
#[path = "conformance/doubao.rs"]
mod doubao;
#[path = "conformance/doubao_speech.rs"]
mod doubao_speech;
#[path = "conformance/gemini.rs"]
mod gemini;
#[path = "conformance/kling.rs"]
mod kling;
#[path = "conformance/minimax.rs"]
mod minimax;
#[path = "conformance/openai.rs"]
mod openai;
#[path = "conformance/yunwu.rs"]
mod yunwu;
