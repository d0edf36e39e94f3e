//! How results ride on buffers.
//!
//! Detections are `GstVideoRegionOfInterestMeta`s with a `detection` param
//! structure, the shape DL Streamer and GStreamer's own ONNX detector use, so
//! existing consumers read them without our code. Frame classifications are
//! a frame-sized ROI with `classification` params; embeddings and raw tensors
//! a custom meta whose structure C and Python read. [`carry`] says which of
//! them follow a frame through a frame-to-frame model.

#[cfg(feature = "analytics")]
pub mod analytics;
pub mod carry;
pub mod classification;
pub mod custom;
pub mod detection;
pub mod format;
pub mod instance;
pub mod roi;
#[cfg(feature = "analytics-v1-26")]
pub mod segmentation;
pub mod skipped;
pub mod tensor;
pub mod tracking;

pub use classification::{
    FrameClass, ObjectClasses, attach_classification, attach_object_classes, read_classification,
    read_object_classes,
};
pub use detection::{
    DetectedObject, adopt_analytics_objects, attach_detection, attach_detection_as,
    read_detections, read_detections_with_ids,
};
pub use format::MetaFormat;
pub use instance::{FrameKeypoint, FrameRotatedBox, ObjectDetails, ObjectMask};
pub use skipped::{SkipReason, is_skipped, mark_not_inferred, mark_skipped, skip_reason};
pub use tensor::{
    FrameTensor, ObjectTensor, TensorKind, attach_object_tensor, attach_tensor,
    read_object_tensors, read_tensors,
};
