//! How results ride on buffers.
//!
//! Detections are `GstVideoRegionOfInterestMeta`s with a `detection` param
//! structure, the shape DL Streamer and GStreamer's own ONNX detector use, so
//! existing consumers read them without our code.

pub mod detection;

pub use detection::{DetectedObject, attach_detection, read_detections};
