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

/// Every networked provider, ready to register.
pub fn all(transport: &Transport) -> Vec<Provider> {
    vec![
        openai::provider(transport.clone()),
        gemini::provider(transport.clone()),
        doubao::provider(transport.clone()),
        doubao_speech::provider(transport.clone()),
        deepseek::provider(transport.clone()),
        yunwu::provider(transport.clone()),
        minimax::provider(transport.clone()),
        kling::provider(transport.clone()),
    ]
}
