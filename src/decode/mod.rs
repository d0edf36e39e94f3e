//! Output decoders: turn a model's raw output tensors into detections,
//! classifications or feature vectors.
//!
//! Everything here is plain Rust on slices (no GStreamer, no ONNX Runtime), so
//! each decoder can be tested with hand-made tensors. Each decoder is one
//! file implementing the `Decoder` trait (`decoder.rs`), listed once in
//! `registry.rs`; [`DecoderKind`] is the handle on one. The elements use them
//! in two steps:
//!
//! 1. At start, they describe the model's outputs as [`DeclaredOutput`]s and
//!    either let [`choose_decoder`] pick a decoder (`decoder=auto`) or check
//!    the user's pick with [`validate_decoder`]; [`num_classes`] tells how many
//!    lines a labels file should have, [`output_layout`] what the shapes fix
//!    for every frame.
//! 2. Per frame, they wrap each output (batch dimension removed) in an
//!    [`OutputView`] and call [`DecoderKind::decode`], which gives
//!    [`Decoded`] boxes, classes or tensors.
//!
//! Boxes come back in model-input pixels; mapping them onto the video frame
//! (undoing letterboxing and scaling) is the element's job.
//!
//! Nothing here panics on tensor contents: NaN and infinite values are
//! skipped, and shapes or lengths that do not fit come back as
//! [`DecodeError`]s whose messages say what to change.

mod centerface;
mod classification;
mod decoder;
mod error;
mod features;
mod nms;
mod none;
mod registry;
mod select;
mod shape;
mod ssd;
mod yolo;
mod yolov5;
mod yolov8;
mod yolov8obb;
mod yolov8pose;
mod yolov8seg;

pub use classification::{SoftmaxMode, classify};
pub use decoder::{DecoderKind, Produces};
pub use error::DecodeError;
pub use features::{FEATURE_OUTPUT_NAMES, embedding};
pub use nms::non_max_suppression;
pub use select::{choose_decoder, num_classes, output_layout, validate_decoder};
pub use yolov8obb::{RotatedBox, rotated_iou, rotated_non_max_suppression};
pub use yolov8pose::{check_keypoints, guess_keypoints, pose_classes, reads_keypoints};

/// One output tensor of ONE frame: the batch dimension already removed.
#[derive(Debug, Clone, Copy)]
pub struct OutputView<'a> {
    /// The output's name in the model, used to tell outputs apart and in
    /// error messages.
    pub name: &'a str,
    /// The per-frame shape, row-major.
    pub shape: &'a [usize],
    /// The values, row-major; must hold exactly the product of `shape`.
    pub data: &'a [f32],
}

/// A detected box in MODEL-INPUT pixel coordinates (edges, not centres:
/// `x_max` is an exclusive edge, like `x_min + width`).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Index into the labels file. For SSD this counts the background class,
    /// so 0 (background) is never reported.
    pub class_id: usize,
    /// Score in the model's own scale, usually 0..1.
    pub confidence: f32,
    /// Left edge.
    pub x_min: f32,
    /// Top edge.
    pub y_min: f32,
    /// Right edge (exclusive).
    pub x_max: f32,
    /// Bottom edge (exclusive).
    pub y_max: f32,
    /// What some decoders find beyond the box: keypoints, a rotation, a
    /// mask. Empty for plain detectors.
    pub details: InstanceDetails,
}

/// What an instance carries beyond its box, in model-input pixels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceDetails {
    /// Keypoints (pose, CenterFace landmarks), in the model's order.
    pub keypoints: Vec<Keypoint>,
    /// Rotation of the box about its centre in radians (obb), clockwise in
    /// image coordinates (y down) as Ultralytics writes it; the box's edges
    /// are those of the unrotated box.
    pub angle: Option<f32>,
    /// The instance's mask (segment).
    pub mask: Option<InstanceMask>,
    /// Which anchor the instance came from, so that a decoder can find its
    /// other values (mask coefficients) after suppression.
    pub anchor: Option<usize>,
}

/// One keypoint in model-input pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Keypoint {
    /// Horizontal position.
    pub x: f32,
    /// Vertical position.
    pub y: f32,
    /// Visibility score in 0..1, when the model gives one.
    pub confidence: Option<f32>,
}

/// How many keypoints an instance has and how many values each (2: x, y;
/// 3: x, y, visibility), as Ultralytics' `kpt_shape` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeypointShape {
    /// Keypoints per instance.
    pub count: usize,
    /// Values per keypoint: 2 or 3.
    pub dims: usize,
}

/// An instance mask as the model gives it: probabilities on the prototype
/// grid (a coarser grid over the model input), the cells under the box and
/// one around them so that sampling between cells has neighbours.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceMask {
    /// First column of the grid held.
    pub column: usize,
    /// First row of the grid held.
    pub row: usize,
    /// Columns held.
    pub width: usize,
    /// Rows held.
    pub height: usize,
    /// Model-input pixels per grid cell, horizontally.
    pub cell_width: f32,
    /// Model-input pixels per grid cell, vertically.
    pub cell_height: f32,
    /// Probabilities (sigmoid of the prototype mix), row-major.
    pub data: Vec<f32>,
}

/// Where a model-input coordinate falls between two cells of a mask's
/// grid: the cells and the weight of the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaskTap {
    /// The first cell (column or row within the mask).
    pub first: usize,
    /// The second cell (the first again at an edge).
    pub second: usize,
    /// Weight of the second cell, 0..1.
    pub weight: f32,
}

impl InstanceMask {
    /// The probability at model-input pixel (`x`, `y`), sampled bilinearly
    /// between cell centres (edges clamp), as Ultralytics upsamples.
    pub fn probability_at(&self, x: f32, y: f32) -> f32 {
        match (self.tap_x(x), self.tap_y(y)) {
            (Some(tx), Some(ty)) => self.sample(tx, ty),
            _ => 0.0,
        }
    }

    /// The horizontal tap of model-input `x` (`None` for an empty mask).
    /// Sampling a row of pixels computes each column's tap once.
    pub fn tap_x(&self, x: f32) -> Option<MaskTap> {
        tap(x / self.cell_width - 0.5 - self.column as f32, self.width)
    }

    /// The vertical tap of model-input `y` (`None` for an empty mask).
    pub fn tap_y(&self, y: f32) -> Option<MaskTap> {
        tap(y / self.cell_height - 0.5 - self.row as f32, self.height)
    }

    /// The bilinear sample between the cells two taps name.
    pub fn sample(&self, x: MaskTap, y: MaskTap) -> f32 {
        let at = |c: usize, r: usize| self.data.get(r * self.width + c).copied().unwrap_or(0.0);
        let top = at(x.first, y.first) * (1.0 - x.weight) + at(x.second, y.first) * x.weight;
        let bottom = at(x.first, y.second) * (1.0 - x.weight) + at(x.second, y.second) * x.weight;
        top * (1.0 - y.weight) + bottom * y.weight
    }
}

/// The tap of grid coordinate `g` (cell centres at whole numbers) on an
/// axis of `cells`.
fn tap(g: f32, cells: usize) -> Option<MaskTap> {
    let last = cells.checked_sub(1)?;
    // NaN clamps to NaN; `max` then makes it 0.
    let g = g.clamp(0.0, last as f32).max(0.0);
    let first = (g.floor() as usize).min(last);
    Some(MaskTap {
        first,
        second: (first + 1).min(last),
        weight: g - first as f32,
    })
}

impl Detection {
    /// Horizontal extent in model-input pixels.
    pub fn width(&self) -> f32 {
        self.x_max - self.x_min
    }

    /// Vertical extent in model-input pixels.
    pub fn height(&self) -> f32 {
        self.y_max - self.y_min
    }
}

/// One class of a classification result.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Index into the labels file.
    pub class_id: usize,
    /// Probability (after softmax when applied) or the model's raw score.
    pub confidence: f32,
}

/// Settings shared by the detection decoders.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectionParams {
    /// Candidates whose confidence is not strictly above this are dropped
    /// (for CenterFace: heatmap cells).
    pub confidence_threshold: f32,
    /// A box is suppressed when it overlaps a better box of the same class by
    /// an intersection-over-union strictly above this.
    pub iou_threshold: f32,
    /// At most this many detections per frame, best first; 0 yields none.
    pub max_detections: usize,
    /// Model input width in pixels: scales SSD's normalised boxes and clips
    /// every box (0 disables clipping).
    pub input_width: usize,
    /// Model input height in pixels: scales SSD's normalised boxes and clips
    /// every box (0 disables clipping).
    pub input_height: usize,
    /// How the outputs are laid out, as fixed at start from the declared
    /// shapes ([`output_layout`]); the default decides from each frame.
    pub layout: OutputLayout,
}

/// What the declared output shapes fix about reading each frame, decided
/// once at start so that every frame is read alike. A frame's own dims can
/// mislead: a YOLOv8 output declared `[84, ?]` holds fewer anchors than
/// attributes at a small input size (`[84, 21]` at 32x32), and "the smaller
/// dim holds the attributes" would read it transposed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutputLayout {
    /// Where a YOLO output's attributes lie; `None` when its declared dims
    /// leave it open (both dynamic), then each frame decides.
    yolo: Option<yolo::Orientation>,
    /// Keypoints per instance for the pose decoder (`kpt_shape`); `None`:
    /// one class and as many 3-value keypoints as fill the output.
    keypoints: Option<KeypointShape>,
}

impl OutputLayout {
    /// The layout with the keypoint shape the model's metadata gives.
    pub fn with_keypoints(self, keypoints: Option<KeypointShape>) -> Self {
        OutputLayout { keypoints, ..self }
    }
}

/// What decoding needs besides the outputs: the element's settings for this
/// batch and what was fixed at start. Each decoder reads the part it uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeSettings<'a> {
    /// Thresholds, limits, the model input size and the output layout, for
    /// the detectors.
    pub detection: DetectionParams,
    /// The output classification and features read (`None`: the usual one).
    pub output_name: Option<&'a str>,
    /// Softmax for classification.
    pub softmax: SoftmaxMode,
    /// Classes kept per frame (at least one is).
    pub top_k: usize,
    /// L2-normalise feature vectors.
    pub normalize: bool,
}

impl DecodeSettings<'_> {
    /// Settings for a detector: `detection`, the rest at their defaults.
    pub fn for_detection(detection: DetectionParams) -> Self {
        DecodeSettings {
            detection,
            output_name: None,
            softmax: SoftmaxMode::default(),
            top_k: 1,
            normalize: false,
        }
    }
}

/// One frame's results, as a decoder produced them (see [`Produces`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// Boxes in model-input pixels, best first, overlaps suppressed and
    /// clipped to the input.
    Detections(Vec<Detection>),
    /// Classes of the whole frame, best first.
    Classes(Vec<Classification>),
    /// Feature vectors or raw outputs.
    Tensors(Vec<Tensor>),
}

/// A tensor a decoder passes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The output it came from.
    pub name: String,
    /// What it holds.
    pub role: TensorRole,
    /// Its per-frame shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// What a passed-on tensor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorRole {
    /// A feature vector (embedding), flattened.
    Features,
    /// An output as the model gave it.
    Raw,
}

/// Declared output: name + shape INCLUDING the batch dimension, `None` for
/// dynamic dims (as read from the ONNX file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredOutput {
    /// The output's name in the model.
    pub name: String,
    /// Dims including the batch dimension; `None` where the model leaves a
    /// dim dynamic.
    pub shape: Vec<Option<usize>>,
}

/// Decodes one frame's outputs into detections with a detector: its boxes,
/// overlapping ones removed (class-aware non-maximum suppression), the best
/// `params.max_detections` sorted by confidence (highest first), clipped to
/// the model input.
///
/// # Errors
///
/// [`DecodeError::Mismatch`] when the outputs do not fit the decoder (dynamic
/// dims can make a frame differ from what was validated at start),
/// [`DecodeError::DataLength`] when a tensor's data length disagrees with
/// its shape, [`DecodeError::NotADetector`] when `kind` does not produce
/// boxes.
pub fn decode_detections(
    kind: DecoderKind,
    outputs: &[OutputView],
    params: &DetectionParams,
) -> Result<Vec<Detection>, DecodeError> {
    if !kind.is_detector() {
        return Err(DecodeError::NotADetector(kind));
    }
    match kind.decode(outputs, &DecodeSettings::for_detection(*params))? {
        Decoded::Detections(detections) => Ok(detections),
        Decoded::Classes(_) | Decoded::Tensors(_) => Err(DecodeError::NotADetector(kind)),
    }
}

/// What every detector does with its candidates: removes overlapping boxes
/// (class-aware non-maximum suppression), keeps the best
/// `params.max_detections` sorted by confidence and clips them to the model
/// input.
fn suppress_and_clip(candidates: Vec<Detection>, params: &DetectionParams) -> Vec<Detection> {
    // NMS runs on the unclipped boxes, as ultralytics does, so overlaps near
    // the border are judged on the boxes the model meant.
    let kept = non_max_suppression(
        candidates,
        params.iou_threshold,
        true,
        params.max_detections,
    );
    kept.into_iter()
        .filter_map(|detection| clip_to_input(detection, params))
        .collect()
}

/// The output named `wanted`, else the first of `preferred` present, else
/// the first.
///
/// # Errors
///
/// [`DecodeError::NoOutputNamed`] when `wanted` is not among the outputs,
/// [`DecodeError::NoOutputs`] when there are none.
pub fn select_output<'o, 'a>(
    outputs: &'o [OutputView<'a>],
    wanted: Option<&str>,
    preferred: &[&str],
) -> Result<&'o OutputView<'a>, DecodeError> {
    if let Some(wanted) = wanted {
        return outputs
            .iter()
            .find(|output| output.name == wanted)
            .ok_or_else(|| DecodeError::NoOutputNamed {
                wanted: wanted.to_owned(),
                outputs: outputs
                    .iter()
                    .map(|output| output.name.to_owned())
                    .collect(),
            });
    }
    preferred
        .iter()
        .find_map(|name| outputs.iter().find(|output| output.name == *name))
        .or_else(|| outputs.first())
        .ok_or(DecodeError::NoOutputs)
}

/// The registered decoder called `name`, for tests.
#[cfg(test)]
fn decoder_named(name: &str) -> DecoderKind {
    DecoderKind::from_name(name).expect("a registered decoder")
}

/// Settings for tests of the decoders that do not detect.
#[cfg(test)]
fn settings_for_tests<'a>() -> DecodeSettings<'a> {
    DecodeSettings::for_detection(DetectionParams {
        confidence_threshold: 0.5,
        iou_threshold: 0.5,
        max_detections: 10,
        input_width: 0,
        input_height: 0,
        layout: OutputLayout::default(),
    })
}

/// Whether a score clears the confidence threshold: strictly above it, as in
/// the reference post-processing of these models; NaN never does.
fn clears(score: f32, threshold: f32) -> bool {
    score > threshold
}

/// Builds a detection when its numbers are usable: everything finite and a
/// box of positive width and height. Decoders apply the confidence threshold
/// themselves, before computing boxes, to keep the per-anchor work small.
fn candidate(
    class_id: usize,
    confidence: f32,
    x_min: f32,
    y_min: f32,
    x_max: f32,
    y_max: f32,
) -> Option<Detection> {
    let finite = [confidence, x_min, y_min, x_max, y_max]
        .iter()
        .all(|value| value.is_finite());
    // Written as `>` so that a NaN that slipped through also fails.
    let has_area = x_max > x_min && y_max > y_min;
    (finite && has_area).then_some(Detection {
        class_id,
        confidence,
        x_min,
        y_min,
        x_max,
        y_max,
        details: InstanceDetails::default(),
    })
}

/// Clamps a box to the model input; drops it if nothing of it is inside.
fn clip_to_input(mut detection: Detection, params: &DetectionParams) -> Option<Detection> {
    if params.input_width == 0 || params.input_height == 0 {
        return Some(detection);
    }
    let (width, height) = (params.input_width as f32, params.input_height as f32);
    detection.x_min = detection.x_min.clamp(0.0, width);
    detection.x_max = detection.x_max.clamp(0.0, width);
    detection.y_min = detection.y_min.clamp(0.0, height);
    detection.y_max = detection.y_max.clamp(0.0, height);
    (detection.width() > 0.0 && detection.height() > 0.0).then_some(detection)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DetectionParams {
        DetectionParams {
            confidence_threshold: 0.25,
            iou_threshold: 0.45,
            max_detections: 100,
            input_width: 640,
            input_height: 640,
            layout: Default::default(),
        }
    }

    /// A YOLOv8 output `[4+2, anchors]` built from `(cx, cy, w, h, [s0, s1])`.
    fn yolov8_output(anchors: &[[f32; 6]]) -> Vec<f32> {
        let mut data = vec![0.0; 6 * anchors.len()];
        for (anchor, values) in anchors.iter().enumerate() {
            for (attribute, value) in values.iter().enumerate() {
                data[attribute * anchors.len() + anchor] = *value;
            }
        }
        data
    }

    #[test]
    fn the_layout_fixed_at_start_reads_frames_with_few_anchors() {
        // YOLOv8 exported with a dynamic anchor dim, run at a small input:
        // 5 anchors, fewer than its 6 attributes.
        let declared = [DeclaredOutput {
            name: "output0".into(),
            shape: vec![Some(1), Some(6), None],
        }];
        let layout = output_layout(decoder_named("yolov8"), &declared);
        assert_ne!(layout, OutputLayout::default());
        let data = yolov8_output(&[
            [100.0, 100.0, 50.0, 50.0, 0.9, 0.1],
            [300.0, 300.0, 40.0, 20.0, 0.1, 0.8],
            [0.0; 6],
            [0.0; 6],
            [0.0; 6],
        ]);
        let view = OutputView {
            name: "output0",
            shape: &[6, 5],
            data: &data,
        };
        let found = decode_detections(
            decoder_named("yolov8"),
            &[view],
            &DetectionParams { layout, ..params() },
        )
        .unwrap();
        let boxes: Vec<_> = found
            .iter()
            .map(|d| (d.class_id, [d.x_min, d.y_min, d.x_max, d.y_max]))
            .collect();
        assert_eq!(
            boxes,
            [
                (0, [75.0, 75.0, 125.0, 125.0]),
                (1, [280.0, 290.0, 320.0, 310.0])
            ]
        );
        // Shapes that fix nothing, and decoders without a layout to fix.
        let open = [DeclaredOutput {
            name: "output0".into(),
            shape: vec![Some(1), None, None],
        }];
        assert_eq!(
            output_layout(decoder_named("yolov8"), &open),
            OutputLayout::default()
        );
        assert_eq!(
            output_layout(decoder_named("classification"), &declared),
            OutputLayout::default()
        );
    }

    #[test]
    fn yolov8_end_to_end_suppresses_sorts_and_clips() {
        let data = yolov8_output(&[
            [100.0, 100.0, 50.0, 50.0, 0.6, 0.1],
            // Overlaps the first heavily, same class, better: wins.
            [102.0, 100.0, 50.0, 50.0, 0.9, 0.1],
            // Same place but class 1: kept by class-aware NMS.
            [100.0, 100.0, 50.0, 50.0, 0.1, 0.7],
            // Crosses the right edge: clipped.
            [630.0, 300.0, 40.0, 40.0, 0.5, 0.0],
            // Below threshold.
            [300.0, 300.0, 40.0, 40.0, 0.2, 0.1],
            // More anchors than attributes, so that [6, 7] reads as
            // [4+classes, anchors]; with 5 anchors it would read transposed.
            [400.0, 300.0, 40.0, 40.0, 0.0, 0.0],
            [500.0, 300.0, 40.0, 40.0, 0.0, 0.0],
        ]);
        let shape = [6, 7];
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let found = decode_detections(decoder_named("yolov8"), &[view], &params()).unwrap();
        assert_eq!(
            found,
            vec![
                Detection {
                    class_id: 0,
                    confidence: 0.9,
                    x_min: 77.0,
                    y_min: 75.0,
                    x_max: 127.0,
                    y_max: 125.0,
                    details: Default::default(),
                },
                Detection {
                    class_id: 1,
                    confidence: 0.7,
                    x_min: 75.0,
                    y_min: 75.0,
                    x_max: 125.0,
                    y_max: 125.0,
                    details: Default::default(),
                },
                Detection {
                    class_id: 0,
                    confidence: 0.5,
                    x_min: 610.0,
                    y_min: 280.0,
                    x_max: 640.0,
                    y_max: 320.0,
                    details: Default::default(),
                },
            ]
        );
    }

    #[test]
    fn max_detections_keeps_the_best() {
        let data = yolov8_output(&[
            [100.0, 100.0, 10.0, 10.0, 0.3, 0.0],
            [200.0, 100.0, 10.0, 10.0, 0.8, 0.0],
            [300.0, 100.0, 10.0, 10.0, 0.5, 0.0],
        ]);
        let shape = [6, 3];
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let limited = DetectionParams {
            max_detections: 2,
            ..params()
        };
        let found = decode_detections(decoder_named("yolov8"), &[view], &limited).unwrap();
        let confidences: Vec<f32> = found.iter().map(|d| d.confidence).collect();
        assert_eq!(confidences, vec![0.8, 0.5]);
    }

    #[test]
    fn boxes_entirely_outside_the_input_are_dropped() {
        let data = yolov8_output(&[[700.0, 100.0, 20.0, 20.0, 0.9, 0.0]]);
        let shape = [6, 1];
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let found = decode_detections(decoder_named("yolov8"), &[view], &params()).unwrap();
        assert!(found.is_empty());
        let unclipped = DetectionParams {
            input_width: 0,
            input_height: 0,
            ..params()
        };
        let found = decode_detections(decoder_named("yolov8"), &[view], &unclipped).unwrap();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn data_shorter_than_shape_is_an_error_not_a_panic() {
        let data = vec![0.5; 10];
        let shape = [84, 8400];
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let error = decode_detections(decoder_named("yolov8"), &[view], &params()).unwrap_err();
        assert_eq!(
            error,
            DecodeError::DataLength {
                output: "output0".into(),
                shape: vec![84, 8400],
                len: 10
            }
        );
        assert_eq!(
            error.to_string(),
            "output 'output0' holds 10 values but its shape [84,8400] needs 705600"
        );
    }

    #[test]
    fn overflowing_shape_is_an_error() {
        let shape = [usize::MAX, 2];
        let view = OutputView {
            name: "huge",
            shape: &shape,
            data: &[],
        };
        let error = decode_detections(decoder_named("yolov8"), &[view], &params()).unwrap_err();
        assert!(error.to_string().contains("too large"), "{error}");
    }

    #[test]
    fn wrong_outputs_name_the_likely_decoder() {
        let boxes = vec![0.0; 3000 * 4];
        let scores = vec![0.0; 3000 * 21];
        let outputs = [
            OutputView {
                name: "boxes",
                shape: &[3000, 4],
                data: &boxes,
            },
            OutputView {
                name: "scores",
                shape: &[3000, 21],
                data: &scores,
            },
        ];
        let error = decode_detections(decoder_named("yolov8"), &outputs, &params()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'yolov8' expects one output shaped [4+classes, anchors] (or [anchors, 4+classes]) \
             but the model has 2 outputs: boxes [3000,4], scores [3000,21]; try decoder=ssd"
        );
    }

    #[test]
    fn non_detectors_are_refused() {
        let data = [0.1, 0.9];
        let view = OutputView {
            name: "probs",
            shape: &[2],
            data: &data,
        };
        for kind in [
            decoder_named("classification"),
            decoder_named("features"),
            decoder_named("none"),
        ] {
            let error = decode_detections(kind, &[view], &params()).unwrap_err();
            assert_eq!(error, DecodeError::NotADetector(kind));
        }
    }

    #[test]
    fn ssd_end_to_end_scales_suppresses_and_skips_background() {
        let boxes = [
            0.10, 0.10, 0.30, 0.30, // class 1
            0.11, 0.10, 0.31, 0.30, // same object, weaker: suppressed
            0.50, 0.50, 0.70, 0.70, // background only
        ];
        let scores = [0.1, 0.9, 0.0, 0.2, 0.8, 0.0, 0.95, 0.01, 0.04];
        let outputs = [
            OutputView {
                name: "boxes",
                shape: &[3, 4],
                data: &boxes,
            },
            OutputView {
                name: "scores",
                shape: &[3, 3],
                data: &scores,
            },
        ];
        let found = decode_detections(decoder_named("ssd"), &outputs, &params()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].class_id, found[0].confidence), (1, 0.9));
        assert!((found[0].x_min - 64.0).abs() < 1e-3 && (found[0].x_max - 192.0).abs() < 1e-3);
    }

    #[test]
    fn centerface_end_to_end_merges_neighbouring_cells() {
        // Two neighbouring cells fire for the same 16x16 face on a 4x4 grid.
        let (h, w) = (4, 4);
        let mut heatmap = vec![0.0; h * w];
        heatmap[5] = 0.9;
        heatmap[6] = 0.7;
        let scale = vec![2.0f32.ln() * 2.0; 2 * h * w];
        let offset = vec![0.0; 2 * h * w];
        let landmarks = vec![0.0; 10 * h * w];
        let outputs = [
            OutputView {
                name: "537",
                shape: &[1, h, w],
                data: &heatmap,
            },
            OutputView {
                name: "538",
                shape: &[2, h, w],
                data: &scale,
            },
            OutputView {
                name: "539",
                shape: &[2, h, w],
                data: &offset,
            },
            OutputView {
                name: "540",
                shape: &[10, h, w],
                data: &landmarks,
            },
        ];
        let face = DetectionParams {
            iou_threshold: 0.3,
            input_width: 16,
            input_height: 16,
            ..params()
        };
        let found = decode_detections(decoder_named("centerface"), &outputs, &face).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].class_id, found[0].confidence), (0, 0.9));
        // Centre (6, 6), 16x16, clipped to the 16x16 input.
        let edges = [
            found[0].x_min,
            found[0].y_min,
            found[0].x_max,
            found[0].y_max,
        ];
        assert!(
            edges
                .iter()
                .zip([0.0, 0.0, 14.0, 14.0])
                .all(|(a, b)| (a - b).abs() < 1e-4),
            "{edges:?}"
        );
    }

    #[test]
    fn frames_that_stop_fitting_are_reported() {
        // Validated with dynamic dims, then a frame disagrees with itself.
        let boxes = vec![0.0; 3000 * 4];
        let scores = vec![0.0; 2000 * 21];
        let outputs = [
            OutputView {
                name: "boxes",
                shape: &[3000, 4],
                data: &boxes,
            },
            OutputView {
                name: "scores",
                shape: &[2000, 21],
                data: &scores,
            },
        ];
        let error = decode_detections(decoder_named("ssd"), &outputs, &params()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'ssd' expects boxes [N,4] and scores [N,classes], or TensorFlow's boxes [N,4], \
             classes [N], scores [N] and a detection count but the model has 2 outputs: boxes [3000,4], \
             scores [2000,21] (boxes 'boxes' and scores 'scores' disagree on the number of boxes)"
        );
        let error = decode_detections(decoder_named("centerface"), &[], &params()).unwrap_err();
        assert!(
            error.to_string().ends_with("but the model has no outputs"),
            "{error}"
        );
    }

    #[test]
    fn candidate_rejects_unusable_numbers() {
        assert!(candidate(0, 0.5, 0.0, 0.0, 1.0, 1.0).is_some());
        assert!(candidate(0, f32::NAN, 0.0, 0.0, 1.0, 1.0).is_none());
        assert!(candidate(0, f32::INFINITY, 0.0, 0.0, 1.0, 1.0).is_none());
        assert!(candidate(0, 0.5, f32::NAN, 0.0, 1.0, 1.0).is_none());
        assert!(candidate(0, 0.5, 0.0, 0.0, f32::INFINITY, 1.0).is_none());
        assert!(
            candidate(0, 0.5, 0.0, 0.0, 0.0, 1.0).is_none(),
            "zero width"
        );
        assert!(
            candidate(0, 0.5, 0.0, 2.0, 1.0, 1.0).is_none(),
            "negative height"
        );
    }
}
