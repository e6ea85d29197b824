//! Media work: pictures painted from a prompt (the offline provider's images), and ffmpeg for
//! clips, merges and probes. ffmpeg is a separate program; its absence is a clear error, never a
//! silent fallback.

pub mod ffmpeg;
pub mod picture;

pub use ffmpeg::{ClipFrames, ClipSpec, Ffmpeg, Labels, MediaError, MergeMode, Probe, VisibleLabel, cjk_font};
pub use picture::{grid_layout, render_grid_png, render_png};
