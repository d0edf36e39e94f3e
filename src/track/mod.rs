//! Multi-object tracking and counting, in plain Rust (the `dltrack`
//! element is a thin adapter over it).
//!
//! - [`tracker`]: tracks, their stable ids and life; [`bytetrack`] and
//!   [`sort`] pair detections with them; [`kalman`] predicts motion;
//!   [`assignment`] solves the pairing optimally; [`iou`] prices pairs.
//! - [`counting`]: line crossings and zone visits; [`geometry`]: boxes and
//!   the `lines` / `zones` text.

pub mod assignment;
pub mod bytetrack;
pub mod counting;
pub mod geometry;
pub mod iou;
pub mod kalman;
pub mod sort;
pub mod tracker;

pub use counting::{
    CountEvent, Counter, Direction, EventKind, LineCount, TrackedPosition, ZoneCount,
};
pub use geometry::{
    BoxRect, CountingLine, CountingZone, GeometryError, Point, parse_lines, parse_zones,
};
pub use tracker::{
    Algorithm, Detection, FrameTracks, TrackReport, TrackState, Tracker, TrackerConfig,
};
