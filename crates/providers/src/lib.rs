//! AI providers behind one interface per capability — text → JSON, images, asynchronous video —
//! and a registry by provider name. The offline `local` provider makes the whole workflow run with
//! no key at all; the networked adapters sit beside it.

pub mod adapters;
pub mod capability;
pub mod local;
pub mod net;
pub mod prompts;
pub mod registry;

pub use capability::{
    Credentials, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, PromptTarget, ProviderError, TextModel,
    TextOutput, TextRequest, TextTask, Usage, VideoFrames, VideoJob, VideoModel, VideoPoll, VideoRequest,
};
pub use registry::{Capability, Provider, Registry};
