//! Placeholder until this adapter lands.

use crate::net::Transport;
use crate::registry::Provider;
use std::collections::BTreeMap;

pub const NAME: &str = "minimax";

pub fn provider(_transport: Transport) -> Provider {
    Provider {
        name: NAME,
        needs_key: true,
        has_secret_key: false,
        text: None,
        image: None,
        video: None,
        default_models: BTreeMap::new(),
    }
}
