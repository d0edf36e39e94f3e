//! Decoding a frame's outputs into results in frame coordinates.

use crate::decode::{self, DecodeError, DecoderKind, DetectionParams, OutputView};
use crate::meta::DetectedObject;
use crate::model::labels::label_for;
use crate::preprocess::FrameMapping;

/// How to turn outputs into results; read from the element's settings for
/// each batch, so thresholds can change while playing.
#[derive(Debug, Clone)]
pub struct PostprocessConfig {
    /// The decoder in use (never `auto` here: resolved at start).
    pub decoder: DecoderKind,
    /// Thresholds, limits and the model input size.
    pub detection: DetectionParams,
    /// Class names by id; may be empty.
    pub labels: Vec<String>,
}

/// Decodes detections and maps them from model-input pixels to the frame
/// (undoing letterbox or crop, clipped to the frame). Boxes that end up with
/// no area on the frame (entirely in a letterbox border) are dropped.
pub fn detections_in_frame(
    config: &PostprocessConfig,
    outputs: &[OutputView<'_>],
    mapping: &FrameMapping,
) -> Result<Vec<DetectedObject>, DecodeError> {
    let detections = decode::decode_detections(config.decoder, outputs, &config.detection)?;
    Ok(detections
        .into_iter()
        .filter_map(|d| {
            let (x_min, y_min, x_max, y_max) =
                mapping.box_to_frame(d.x_min, d.y_min, d.x_max, d.y_max);
            (x_max > x_min && y_max > y_min).then(|| DetectedObject {
                label: label_for(&config.labels, d.class_id),
                label_id: i32::try_from(d.class_id).unwrap_or(i32::MAX),
                confidence: f64::from(d.confidence),
                x_min: f64::from(x_min),
                y_min: f64::from(y_min),
                x_max: f64::from(x_max),
                y_max: f64::from(y_max),
            })
        })
        .collect())
}
