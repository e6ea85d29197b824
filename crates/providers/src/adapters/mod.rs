//! One adapter per networked provider, each offering the capabilities its vendor has. All take
//! their base URL from the credentials (user or server override) and call through one
//! [`Transport`], which carries the server's address guard and timeouts.

pub mod deepseek;
pub mod doubao;
pub mod doubao_speech;
pub mod gemini;
pub mod kling;
pub mod minimax;
pub mod openai;
pub mod yunwu;

use crate::net::Transport;
use crate::registry::Provider;

/// What an operator decides for every call of the vendors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Let vendors that mark their results with a watermark of their own (Doubao's "AI生成")
    /// do so; off, they are asked not to (our own labels apply either way).
    pub vendor_watermark: bool,
}

/// Every networked provider, ready to register.
pub fn all(transport: &Transport, options: Options) -> Vec<Provider> {
    vec![
        openai::provider(transport.clone()),
        gemini::provider(transport.clone()),
        doubao::provider_with(transport.clone(), options),
        doubao_speech::provider(transport.clone()),
        deepseek::provider(transport.clone()),
        yunwu::provider(transport.clone()),
        minimax::provider(transport.clone()),
        kling::provider(transport.clone()),
    ]
}
