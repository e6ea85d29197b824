//! The film as it leaves the product: the cut (which shot plays when), subtitles drawn from the
//! shots' dialogue on the cut's timings, and timelines an editor opens (OpenTimelineIO, FCPXML,
//! CMX 3600 EDL) whose media paths are the project archive's.

pub mod cut;
pub mod dialogue;
pub mod labels;
pub mod service;
pub mod subtitles;
pub mod timeline;

pub use cut::{Cut, CutShot, FPS};
pub use service::FilmService;
