//! Stream progress: what `dlstats` measures and reports, without GObject.
//!
//! [`ProgressTracker`] takes one call per frame (with the frame's stream time
//! and the wall clock) and produces a [`StreamStatus`], the body of
//! DeepDetect's `GET /stream`, which becomes a bus message, a JSON file and a
//! progress bar line.

pub mod progress_bar;
pub mod status;
pub mod tracker;

pub use progress_bar::format_progress_bar;
pub use status::{StreamState, StreamStatus, VideoSummary, write_status_file};
pub use tracker::ProgressTracker;
