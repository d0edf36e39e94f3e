//! Decoding a frame's outputs into results in frame coordinates.

use std::sync::Arc;

use super::batcher::FrameDecoder;
use super::error::InferenceError;
use super::instances::{covered_box, details_in_frame, keypoint_names};
use crate::decode::{
    self, DecodeError, DecodeSettings, Decoded, DecoderKind, Detection, DetectionParams,
    InstanceDetails, OutputView, SoftmaxMode, TensorRole,
};
use crate::meta::{DetectedObject, FrameClass, FrameTensor, TensorKind};
use crate::model::labels::label_for;
use crate::preprocess::FrameMapping;

pub use crate::decode::FEATURE_OUTPUT_NAMES;

/// How to turn outputs into results; read from the element's settings for
/// each batch, so thresholds can change while playing.
#[derive(Debug, Clone, Copy)]
pub struct PostprocessConfig<'a> {
    /// The decoder in use (never `auto` here: resolved at start).
    pub decoder: DecoderKind,
    /// Thresholds, limits and the model input size.
    pub detection: DetectionParams,
    /// Class names by id; may be empty.
    pub labels: &'a [String],
    /// The output to read for classification and features (`None`: the usual one).
    pub output_name: Option<&'a str>,
    /// Softmax for classification.
    pub softmax: SoftmaxMode,
    /// Classes kept per frame.
    pub top_k: usize,
    /// L2-normalise features.
    pub normalize: bool,
}

impl PostprocessConfig<'_> {
    /// What the decoder reads of these settings.
    pub fn decode_settings(&self) -> DecodeSettings<'_> {
        DecodeSettings {
            detection: self.detection,
            output_name: self.output_name,
            softmax: self.softmax,
            top_k: self.top_k,
            normalize: self.normalize,
        }
    }
}

/// What a batch's outputs are decoded with, owned so a worker can take it.
#[derive(Debug, Clone)]
pub struct PostprocessSettings {
    /// The decoder (resolved, never `auto`).
    pub decoder: DecoderKind,
    /// Thresholds, limits and the model input size.
    pub detection: DetectionParams,
    /// Class names by id; may be empty.
    pub labels: Arc<[String]>,
    /// The output read by classification and features (`None`: the usual one).
    pub output_name: Option<String>,
    /// Softmax for classification.
    pub softmax: SoftmaxMode,
    /// Classes kept per frame.
    pub top_k: usize,
    /// L2-normalise features.
    pub normalize: bool,
}

impl PostprocessSettings {
    /// The borrowed form the decoders take.
    pub fn config(&self) -> PostprocessConfig<'_> {
        PostprocessConfig {
            decoder: self.decoder,
            detection: self.detection,
            labels: &self.labels,
            output_name: self.output_name.as_deref(),
            softmax: self.softmax,
            top_k: self.top_k,
            normalize: self.normalize,
        }
    }
}

impl FrameDecoder for PostprocessSettings {
    type Results = FrameResults;

    fn decode(
        &self,
        outputs: &[OutputView<'_>],
        mapping: &FrameMapping,
    ) -> Result<FrameResults, InferenceError> {
        decode_frame(&self.config(), outputs, mapping).map_err(|error| InferenceError::Decode {
            reading: format!("decoder={}", self.decoder.name()),
            error,
        })
    }
}

/// What one frame's outputs said.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameResults {
    /// Detected objects, in frame pixels.
    Objects(Vec<DetectedObject>),
    /// Frame classes, best first.
    Classes(Vec<FrameClass>),
    /// Feature vectors or raw outputs.
    Tensors(Vec<FrameTensor>),
}

/// Decodes one frame's outputs with the configured decoder and puts the
/// results in frame terms: boxes in frame pixels, ids with their labels.
pub fn decode_frame(
    config: &PostprocessConfig<'_>,
    outputs: &[OutputView<'_>],
    mapping: &FrameMapping,
) -> Result<FrameResults, DecodeError> {
    let decoded = config.decoder.decode(outputs, &config.decode_settings())?;
    Ok(match decoded {
        Decoded::Detections(detections) => FrameResults::Objects(objects_in_frame(
            detections,
            config.labels,
            config.decoder,
            mapping,
        )),
        Decoded::Classes(classes) => FrameResults::Classes(
            classes
                .into_iter()
                .map(|c| FrameClass {
                    label: label_for(config.labels, c.class_id),
                    label_id: label_id(c.class_id),
                    confidence: f64::from(c.confidence),
                })
                .collect(),
        ),
        Decoded::Tensors(tensors) => FrameResults::Tensors(
            tensors
                .into_iter()
                .map(|tensor| FrameTensor {
                    name: tensor.name,
                    kind: match tensor.role {
                        TensorRole::Features => TensorKind::Features,
                        TensorRole::Raw => TensorKind::Raw,
                    },
                    shape: tensor.shape,
                    data: tensor.data,
                })
                .collect(),
        ),
    })
}

/// Decodes detections and maps them from model-input pixels to the frame
/// (undoing letterbox or crop, clipped to the frame). Boxes that end up with
/// no area on the frame (entirely in a letterbox border) are dropped.
pub fn detections_in_frame(
    config: &PostprocessConfig<'_>,
    outputs: &[OutputView<'_>],
    mapping: &FrameMapping,
) -> Result<Vec<DetectedObject>, DecodeError> {
    let detections = decode::decode_detections(config.decoder, outputs, &config.detection)?;
    Ok(objects_in_frame(
        detections,
        config.labels,
        config.decoder,
        mapping,
    ))
}

/// Boxes mapped from model-input pixels to the frame, with their labels;
/// those left without area on the frame are dropped.
fn objects_in_frame(
    detections: Vec<Detection>,
    labels: &[String],
    decoder: DecoderKind,
    mapping: &FrameMapping,
) -> Vec<DetectedObject> {
    detections
        .into_iter()
        .filter_map(|d| {
            let (x_min, y_min, x_max, y_max) = covered_box(&d);
            let (x_min, y_min, x_max, y_max) = mapping.box_to_frame(x_min, y_min, x_max, y_max);
            (x_max > x_min && y_max > y_min).then(|| {
                let mut object = DetectedObject {
                    label: label_for(labels, d.class_id),
                    label_id: label_id(d.class_id),
                    confidence: f64::from(d.confidence),
                    x_min: f64::from(x_min),
                    y_min: f64::from(y_min),
                    x_max: f64::from(x_max),
                    y_max: f64::from(y_max),
                    details: Default::default(),
                };
                if d.details != InstanceDetails::default() {
                    let names = keypoint_names(decoder.name(), d.details.keypoints.len());
                    object.details = details_in_frame(&d, object.pixel_rect(), mapping, names);
                }
                object
            })
        })
        .collect()
}

/// A class id as metadata carries it (`label-id` is an int).
fn label_id(class_id: usize) -> i32 {
    i32::try_from(class_id).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::select_output;

    fn view<'a>(name: &'a str, shape: &'a [usize], data: &'a [f32]) -> OutputView<'a> {
        OutputView { name, shape, data }
    }

    #[test]
    fn selects_outputs_by_name_preference_or_position() {
        let (a, b) = ([1.0f32], [2.0f32]);
        let outputs = [view("extra", &[1], &a), view("features", &[1], &b)];
        assert_eq!(
            select_output(&outputs, None, &FEATURE_OUTPUT_NAMES)
                .unwrap()
                .name,
            "features"
        );
        assert_eq!(select_output(&outputs, None, &[]).unwrap().name, "extra");
        assert_eq!(
            select_output(&outputs, Some("extra"), &FEATURE_OUTPUT_NAMES)
                .unwrap()
                .name,
            "extra"
        );
        let err = select_output(&outputs, Some("logits"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no output named 'logits'") && err.contains("extra, features"),
            "{err}"
        );
    }
}
