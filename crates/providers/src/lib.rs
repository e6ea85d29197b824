//! AI providers behind one interface per capability — text → JSON, images, asynchronous video,
//! speech —
//! and a registry by provider name. The offline `local` provider makes the whole workflow run with
//! no key at all; the networked adapters sit beside it.

pub mod adapters;
pub mod camera;
pub mod capability;
pub mod catalog;
pub mod local;
pub mod net;
pub mod prompts;
pub mod registry;
pub mod schemas;

pub use camera::CameraMove;
pub use capability::{
    Credentials, EMOTIONS, ImageModel, ImageOutput, ImageRequest, Media, MediaInput, PromptTarget, ProviderError,
    SpeechModel, SpeechOutput, SpeechRequest, TextModel, TextOutput, TextRequest, TextTask, Usage, VideoFrames,
    VideoJob, VideoModel, VideoPoll, VideoRequest, Voice, VoiceInfo,
};
pub use catalog::{ListedModel, ModelCatalog};
pub use registry::{Capability, Provider, Registry};
