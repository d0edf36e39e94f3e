//! The output decoders on tensors of the shapes each decoder expects (and
//! some it does not), filled with every kind of f32: plausible scores and
//! coordinates, NaN, infinities, huge, negative and denormal values.
//!
//! The front of the input picks the decoder, the shapes (some dims declared
//! dynamic), the thresholds and the frame geometry; the rest is a pool of
//! bytes the tensor values are drawn from, cycling when it runs out. The
//! target goes through the same calls as `dlinfer`: `choose_decoder` /
//! `validate_decoder` / `num_classes` / `output_layout` at start,
//! `decode_frame` per frame, and checks what comes out: nothing a user could
//! not draw or publish (NaN, boxes outside the frame, more boxes than
//! `max-detections`, probabilities outside [0, 1], unsorted results), and no
//! per-frame refusal of shapes that were accepted at start.

#![no_main]

use gstdl::decode::{
    self, DeclaredOutput, DecoderKind, Detection, DetectionParams, OutputView, Produces,
    RotatedBox, SoftmaxMode,
};
use gstdl::decode::select_output;
use gstdl::inference::{FrameResults, PostprocessConfig, decode_frame};
use gstdl::frame::{PixelFormat, Size};
use gstdl::preprocess::{PreprocessSpec, Preprocessor, ScaleMode};
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;

/// Most values in one frame's tensors, to keep each run in milliseconds.
const MAX_VALUES: usize = 1 << 17;

const LABELS: [&str; 4] = ["background", "person", "", "car"];

fuzz_target!(|bytes: &[u8]| {
    // Running out of structure bytes just ends the case early.
    let _ = run(bytes);
});

/// One output as the model declares it and as a frame carries it.
struct Output {
    name: String,
    /// Per-frame dims of the frame's tensor.
    dims: Vec<usize>,
    /// Which dims the model leaves dynamic.
    dynamic: Vec<bool>,
    /// Whether the batch dim is dynamic.
    dynamic_batch: bool,
}

impl Output {
    fn declared(&self) -> DeclaredOutput {
        let batch = (!self.dynamic_batch).then_some(1);
        let dims = self
            .dims
            .iter()
            .zip(&self.dynamic)
            .map(|(&dim, &dynamic)| (!dynamic).then_some(dim));
        DeclaredOutput {
            name: self.name.clone(),
            shape: std::iter::once(batch).chain(dims).collect(),
        }
    }

    fn fully_declared(&self) -> bool {
        !self.dynamic_batch && !self.dynamic.contains(&true)
    }

    fn len(&self) -> Option<usize> {
        self.dims
            .iter()
            .try_fold(1usize, |product, &dim| product.checked_mul(dim))
    }
}

fn run(bytes: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(bytes);
    let kind = *u.choose(DecoderKind::all())?;
    let mut outputs = shapes_for(&mut u, kind)?;
    // Now and then a shape the decoder does not expect.
    if u.ratio(1, 16)? && !outputs.is_empty() {
        let index = u.choose_index(outputs.len())?;
        let output = &mut outputs[index];
        if output.dims.is_empty() || u.arbitrary()? {
            output.dims.push(u.int_in_range(0..=5)?);
            output.dynamic.push(false);
        } else {
            let dim = u.choose_index(output.dims.len())?;
            output.dims[dim] = u.int_in_range(0..=90)?;
        }
    }
    for output in &mut outputs {
        for dynamic in &mut output.dynamic {
            *dynamic = u.ratio(1, 8)?;
        }
        output.dynamic_batch = u.ratio(1, 4)?;
    }
    let lengths: Option<Vec<usize>> = outputs.iter().map(Output::len).collect();
    let Some(lengths) = lengths else {
        return Ok(());
    };
    if lengths.iter().sum::<usize>() > MAX_VALUES {
        return Ok(());
    }

    // Start: what `dlinfer` decides from the declared outputs.
    let declared: Vec<DeclaredOutput> = outputs.iter().map(Output::declared).collect();
    if let Ok((chosen, _why)) = decode::choose_decoder(&declared) {
        assert_eq!(
            decode::validate_decoder(chosen, &declared),
            Ok(()),
            "decoder=auto picked {chosen} for {declared:?}, which it then refuses"
        );
    }
    let validated = decode::validate_decoder(kind, &declared).is_ok();
    let classes = decode::num_classes(kind, &declared);

    let settings = Settings::arbitrary(&mut u)?;
    let Some(preprocessor) = settings.preprocessor() else {
        return Ok(());
    };
    let params = DetectionParams {
        layout: decode::output_layout(kind, &declared),
        ..settings.params()
    };

    // A frame: the rest of the input is the pool the values come from.
    let mut values = Values::new(u.take_rest());
    let data: Vec<Vec<f32>> = lengths.iter().map(|&len| values.take(len)).collect();
    let views: Vec<OutputView> = outputs
        .iter()
        .zip(&data)
        .map(|(output, data)| OutputView {
            name: &output.name,
            shape: &output.dims,
            data,
        })
        .collect();

    let labels: Vec<String> = LABELS[..settings.labels]
        .iter()
        .map(|&label| label.to_owned())
        .collect();
    let config = PostprocessConfig {
        decoder: kind,
        detection: params,
        labels: &labels,
        output_name: settings.output_name.map(|index| {
            outputs
                .get(index)
                .map_or("not-an-output", |output| output.name.as_str())
        }),
        softmax: settings.softmax,
        top_k: settings.top_k,
        normalize: settings.normalize,
    };
    let mapping = preprocessor.mapping();
    let result = decode_frame(&config, &views, &mapping);
    let accepted_at_start = validated && outputs.iter().all(Output::fully_declared);
    let results = match result {
        Ok(results) => results,
        Err(error) => {
            assert!(
                !(accepted_at_start && kind.is_detector()),
                "{kind} accepted {declared:?} at start but refused a frame of it: {error}"
            );
            return Ok(());
        }
    };

    match results {
        FrameResults::Objects(objects) => {
            assert!(kind.is_detector());
            assert!(objects.len() <= params.max_detections, "{objects:?}");
            let Size {
                width: frame_width,
                height: frame_height,
            } = preprocessor.frame_size();
            let mut previous = f64::INFINITY;
            for object in &objects {
                let edges = [object.x_min, object.y_min, object.x_max, object.y_max];
                assert!(edges.iter().all(|edge| edge.is_finite()), "{object:?}");
                assert!(
                    0.0 <= object.x_min
                        && object.x_min < object.x_max
                        && object.x_max <= frame_width as f64,
                    "{object:?} on a {frame_width} pixel wide frame"
                );
                assert!(
                    0.0 <= object.y_min
                        && object.y_min < object.y_max
                        && object.y_max <= frame_height as f64,
                    "{object:?} on a {frame_height} pixel high frame"
                );
                assert!(object.confidence.is_finite(), "{object:?}");
                assert!(
                    object.confidence > f64::from(params.confidence_threshold),
                    "{object:?} does not clear {}",
                    params.confidence_threshold
                );
                assert!(object.confidence <= previous, "not sorted: {objects:?}");
                previous = object.confidence;
                assert!(object.label_id >= 0, "{object:?}");
                assert!(!object.label.is_empty(), "{object:?}");
                if let Some(classes) = classes.filter(|_| validated) {
                    assert!(
                        (object.label_id as usize) < classes,
                        "{object:?} but the model has {classes} classes"
                    );
                }
                if kind.name() == "centerface" {
                    assert_eq!(object.label_id, 0, "{object:?}");
                }
            }
            check_suppression(kind, &views, &params);
        }
        FrameResults::Classes(found) => {
            assert_eq!(kind.produces(), Produces::Classes);
            assert!(found.len() <= settings.top_k.max(1), "{found:?}");
            let scores = select_output(&views, config.output_name, &[])
                .map_or(0, |output| output.data.len());
            let mut ids: Vec<i32> = found.iter().map(|class| class.label_id).collect();
            let mut previous = f64::INFINITY;
            for class in &found {
                assert!(class.confidence.is_finite(), "{found:?}");
                assert!(class.confidence <= previous, "not sorted: {found:?}");
                previous = class.confidence;
                assert!(
                    class.label_id >= 0 && (class.label_id as usize) < scores.max(1),
                    "{found:?}"
                );
                if settings.softmax != SoftmaxMode::Never {
                    assert!(
                        (0.0..=1.0).contains(&class.confidence),
                        "{:?} gave a probability outside [0, 1]: {found:?}",
                        settings.softmax
                    );
                }
            }
            if settings.softmax == SoftmaxMode::Always {
                let sum: f64 = found.iter().map(|class| class.confidence).sum();
                assert!(sum <= 1.0 + 1e-4, "softmax sums to {sum}: {found:?}");
            }
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), found.len(), "a class twice: {found:?}");
        }
        FrameResults::Tensors(tensors) => {
            assert_eq!(kind.produces(), Produces::Tensors);
            if kind.name() == "none" {
                assert_eq!(tensors.len(), views.len());
                for (tensor, view) in tensors.iter().zip(&views) {
                    assert_eq!(tensor.shape, view.shape);
                    assert!(same_bits(&tensor.data, view.data));
                }
            } else {
                let [tensor] = &tensors[..] else {
                    panic!("features gave {} tensors", tensors.len());
                };
                let source = views
                    .iter()
                    .find(|view| view.name == tensor.name)
                    .expect("features come from an output");
                assert_eq!(tensor.shape, [source.data.len()]);
                check_features(&tensor.data, source.data, settings.normalize);
            }
        }
    }
    Ok(())
}

/// Shapes for `kind`, per frame (batch dim removed), as exporters write them;
/// any outputs at all for `none` and for decoders this target does not know yet.
fn shapes_for(u: &mut Unstructured, kind: DecoderKind) -> Result<Vec<Output>> {
    let output = |name: &str, dims: Vec<usize>| Output {
        name: name.to_owned(),
        dynamic: vec![false; dims.len()],
        dims,
        dynamic_batch: false,
    };
    Ok(match kind.name() {
        "yolov8" | "yolov5" => {
            let first_class = if kind.name() == "yolov8" { 4 } else { 5 };
            let attributes = first_class + u.int_in_range(0..=100)?;
            let anchors = u.int_in_range(0..=2100)?;
            let dims = if u.arbitrary()? {
                vec![attributes, anchors]
            } else {
                vec![anchors, attributes]
            };
            vec![output("output0", dims)]
        }
        "ssd" => {
            let rows = u.int_in_range(0..=3000)?;
            if u.arbitrary()? {
                let classes = u.int_in_range(0..=100)?;
                let names = *u.choose(&[["boxes", "scores"], ["loc", "conf"], ["a", "b"]])?;
                let mut outputs = vec![
                    output(names[0], vec![rows, 4]),
                    output(names[1], vec![rows, classes]),
                ];
                if u.arbitrary()? {
                    outputs.reverse();
                }
                outputs
            } else {
                let count = if u.arbitrary()? { vec![] } else { vec![1] };
                let names = *u.choose(&[
                    [
                        "detection_boxes",
                        "detection_classes",
                        "detection_scores",
                        "num_detections",
                    ],
                    ["a", "b", "c", "d"],
                ])?;
                let mut outputs = vec![
                    output(names[0], vec![rows, 4]),
                    output(names[1], vec![rows]),
                    output(names[2], vec![rows]),
                    output(names[3], count),
                ];
                shuffle(u, &mut outputs)?;
                outputs
            }
        }
        "centerface" => {
            let (h, w) = (u.int_in_range(0..=48)?, u.int_in_range(0..=48)?);
            let mut outputs = vec![
                output("537", vec![1, h, w]),
                output("538", vec![2, h, w]),
                output("539", vec![2, h, w]),
                output("540", vec![10, h, w]),
            ];
            if u.ratio(1, 4)? {
                shuffle(u, &mut outputs)?;
            }
            outputs
        }
        "classification" | "features" => {
            let len = u.int_in_range(0..=2000)?;
            let name = *u.choose(&["probs", "logits", "features", "embeddings"])?;
            let dims = match u.int_in_range(0..=3)? {
                0 => vec![len],
                1 => vec![1, len],
                2 => vec![len, 1, 1],
                _ => vec![u.int_in_range(0..=16)?, u.int_in_range(0..=16)?, len / 16],
            };
            let mut outputs = vec![output(name, dims)];
            if u.ratio(1, 4)? {
                outputs.push(output("aux", vec![u.int_in_range(0..=8)?]));
            }
            outputs
        }
        _ => {
            let count = u.int_in_range(0..=4)?;
            let mut outputs = Vec::new();
            for index in 0..count {
                let rank = u.int_in_range(0..=4)?;
                let mut dims = Vec::new();
                for _ in 0..rank {
                    dims.push(u.int_in_range(0..=24)?);
                }
                outputs.push(output(&format!("out{index}"), dims));
            }
            outputs
        }
    })
}

fn shuffle<T>(u: &mut Unstructured, items: &mut [T]) -> Result<()> {
    for index in (1..items.len()).rev() {
        let other = u.int_in_range(0..=index)?;
        items.swap(index, other);
    }
    Ok(())
}

/// The element's settings and the frame geometry.
struct Settings {
    confidence_threshold: f32,
    iou_threshold: f32,
    max_detections: usize,
    model_width: usize,
    model_height: usize,
    frame_width: usize,
    frame_height: usize,
    scale_mode: ScaleMode,
    labels: usize,
    output_name: Option<usize>,
    softmax: SoftmaxMode,
    top_k: usize,
    normalize: bool,
}

impl Settings {
    fn arbitrary(u: &mut Unstructured) -> Result<Self> {
        Ok(Settings {
            confidence_threshold: threshold(u)?,
            iou_threshold: threshold(u)?,
            max_detections: if u.ratio(1, 8)? {
                u.int_in_range(0..=10_000)?
            } else {
                u.int_in_range(0..=300)?
            },
            model_width: u.int_in_range(1..=1280)?,
            model_height: u.int_in_range(1..=1280)?,
            frame_width: u.int_in_range(1..=3840)?,
            frame_height: u.int_in_range(1..=2160)?,
            scale_mode: *u.choose(&[
                ScaleMode::Stretch,
                ScaleMode::Letterbox,
                ScaleMode::CenterCrop,
            ])?,
            labels: u.int_in_range(0..=LABELS.len())?,
            output_name: if u.ratio(1, 4)? {
                Some(u.int_in_range(0..=4)?)
            } else {
                None
            },
            softmax: *u.choose(&[SoftmaxMode::Auto, SoftmaxMode::Always, SoftmaxMode::Never])?,
            top_k: u.int_in_range(0..=1000)?,
            normalize: u.arbitrary()?,
        })
    }

    fn params(&self) -> DetectionParams {
        DetectionParams {
            confidence_threshold: self.confidence_threshold,
            iou_threshold: self.iou_threshold,
            max_detections: self.max_detections,
            input_width: self.model_width,
            input_height: self.model_height,
            layout: Default::default(),
        }
    }

    fn preprocessor(&self) -> Option<Preprocessor> {
        let mut spec = PreprocessSpec::new(Size::new(self.model_width, self.model_height));
        spec.scale_mode = self.scale_mode;
        let frame = Size::new(self.frame_width, self.frame_height);
        Preprocessor::new(PixelFormat::Rgb, frame, &spec).ok()
    }
}

/// Mostly what the properties allow (0..1), sometimes anything.
fn threshold(u: &mut Unstructured) -> Result<f32> {
    Ok(match u.int_in_range(0..=15)? {
        0 => f32::from_bits(u.arbitrary()?),
        1 => 0.0,
        2 => 1.0,
        _ => f32::from(u.arbitrary::<u8>()?) / 255.0,
    })
}

/// Tensor values drawn from a byte pool: each value's first byte says what
/// kind of number follows.
struct Values<'a> {
    pool: &'a [u8],
    at: usize,
}

const SPECIAL: [f32; 16] = [
    f32::NAN,
    -f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    f32::MIN_POSITIVE,
    1e-45,
    f32::MAX,
    f32::MIN,
    1.0,
    -1.0,
    0.5,
    1e30,
    -1e30,
    f32::EPSILON,
];

impl<'a> Values<'a> {
    fn new(pool: &'a [u8]) -> Self {
        Values { pool, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        if self.pool.is_empty() {
            return 0;
        }
        let byte = self.pool[self.at % self.pool.len()];
        self.at = self.at.wrapping_add(1);
        byte
    }

    fn next(&mut self) -> f32 {
        let tag = self.byte();
        match tag % 8 {
            // A score or probability.
            0..=2 => f32::from(self.byte()) / 255.0,
            // A coordinate or size in model-input pixels.
            3 => f32::from(u16::from_le_bytes([self.byte(), self.byte()])) / 64.0 - 100.0,
            // A normalised coordinate.
            4 => f32::from(self.byte()) / 200.0 - 0.1,
            // Any bit pattern: NaN payloads, infinities, denormals, huge.
            5 => f32::from_bits(u32::from_le_bytes([
                self.byte(),
                self.byte(),
                self.byte(),
                self.byte(),
            ])),
            6 => SPECIAL[usize::from(self.byte()) % SPECIAL.len()],
            // A log size (CenterFace) or a logit.
            _ => (f32::from(self.byte()) - 128.0) / 16.0,
        }
    }

    fn take(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// Without clipping, the decoder's output is what NMS kept: no two boxes of
/// one class may overlap by more than the IoU threshold.
fn check_suppression(kind: DecoderKind, views: &[OutputView], params: &DetectionParams) {
    if params.iou_threshold.is_nan() {
        return;
    }
    let unclipped = DetectionParams {
        input_width: 0,
        input_height: 0,
        ..*params
    };
    let Ok(kept) = decode::decode_detections(kind, views, &unclipped) else {
        return;
    };
    assert!(kept.len() <= params.max_detections);
    for (index, a) in kept.iter().enumerate() {
        for b in &kept[..index] {
            if a.class_id == b.class_id {
                // Oriented boxes are suppressed on their rotated shapes.
                let overlap = if kind.name() == "yolov8obb" {
                    decode::rotated_iou(&RotatedBox::of(a), &RotatedBox::of(b))
                } else {
                    iou(a, b)
                };
                assert!(
                    overlap <= f64::from(params.iou_threshold) + 1e-6,
                    "kept two boxes of one class overlapping by {overlap} > {}: {b:?} and {a:?}",
                    params.iou_threshold
                );
            }
        }
    }
}

/// Intersection over union in f64, where areas of f32 boxes cannot overflow.
fn iou(a: &Detection, b: &Detection) -> f64 {
    let edges = |d: &Detection| [d.x_min, d.y_min, d.x_max, d.y_max].map(f64::from);
    let ([ax0, ay0, ax1, ay1], [bx0, by0, bx1, by1]) = (edges(a), edges(b));
    let width = ax1.min(bx1) - ax0.max(bx0);
    let height = ay1.min(by1) - ay0.max(by0);
    if width <= 0.0 || height <= 0.0 {
        return 0.0;
    }
    let intersection = width * height;
    let union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - intersection;
    intersection / union
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Features are the output's values; normalised, they have unit length
/// unless a value is not finite or all are zero.
fn check_features(features: &[f32], source: &[f32], normalize: bool) {
    assert_eq!(features.len(), source.len());
    let finite = source.iter().all(|value| value.is_finite());
    let zero = source.iter().all(|&value| value == 0.0);
    if !normalize || !finite || zero {
        assert!(same_bits(features, source));
        return;
    }
    let length: f64 = features.iter().map(|&v| f64::from(v).powi(2)).sum();
    assert!(
        (length - 1.0).abs() < 1e-3,
        "normalised features have squared length {length}"
    );
}
