//! Media work: pictures painted from a prompt (the offline provider's images), storyboard cards,
//! and ffmpeg for clips, merges with sound, and probes. ffmpeg is a separate program; its absence is a clear error, never a
//! silent fallback.

pub mod card;
pub mod ffmpeg;
pub mod picture;
pub mod stamp;

pub use card::Card;
pub use ffmpeg::{
    BurnIn, ClipFrames, ClipSpec, Ffmpeg, Labels, MediaError, MergeMode, Merged, Probe, Reel, ReelShot, VisibleLabel,
    cjk_font, font_family, segment_length,
};
pub use picture::{grid_layout, render_grid_png, render_png};
