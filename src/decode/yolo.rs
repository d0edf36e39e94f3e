//! YOLO heads: YOLOv8/YOLO11 (attributes cx, cy, w, h, then one score per
//! class) and YOLOv5/v7 (cx, cy, w, h, objectness, then one probability per
//! class). Boxes are centre-size in model-input pixels.
//!
//! # Which axis holds the attributes
//!
//! Exports come in both orientations: ultralytics v8 writes attributes first
//! (`[84, 8400]`), v5 writes anchors first (`[25200, 85]`), and either may be
//! transposed. The attribute axis is inferred from the per-frame dims:
//!
//! 1. A dim too small to hold the box plus one class (below 5 for v8, below 6
//!    for v5) must be the anchor axis, so the other one holds the attributes.
//!    This settles tiny cases such as v8 `[7, 3]` (3 anchors, 3 classes).
//! 2. Otherwise the smaller dim holds the attributes: anchors (thousands)
//!    outnumber coordinates plus classes (tens).
//! 3. Equal dims keep the head's native orientation (v8 attributes first, v5
//!    anchors first).
//!
//! A dynamic dim is usually the anchor count (it follows the input size while
//! the class count is fixed at export), so with one known dim that is large
//! enough to hold the attributes, the known dim is taken as attributes;
//! with both dynamic the choice waits for each frame.
//!
//! The orientation read from the declared shape at start is carried into
//! per-frame decoding ([`super::OutputLayout`]), because a frame's dims can
//! contradict rule 2: `[84, ?]` at a small input size gives `[84, 21]`.
//!
//! # Which generation `decoder=auto` picks
//!
//! Attributes first (`[84,8400]`, as ultralytics exports YOLOv8/YOLO11)
//! means yolov8; anchors first (`[25200,85]`, as YOLOv5/v7 export) means
//! yolov5, unless there are too few values per anchor for 5+classes. The
//! shapes alone cannot tell the generations apart (a transposed YOLOv8
//! output looks like YOLOv5), so the reason says how to override with
//! `decoder=`. This module holds what both decoders share; `yolov8.rs` and
//! `yolov5.rs` are the decoders.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{self, OutputShape, format_dims};
use super::{
    DecodeSettings, Decoded, Detection, DetectionParams, OutputLayout, OutputView, candidate,
    clears, suppress_and_clip,
};

/// Where the attributes lie in a per-frame `[a, b]` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Orientation {
    /// `[attributes, anchors]`: each attribute is a row over all anchors.
    AttributesFirst,
    /// `[anchors, attributes]`: each anchor is a row of its attributes.
    AnchorsFirst,
}

/// The outcome of reading orientation from dims that may be dynamic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Axes {
    /// Decided.
    Known(Orientation),
    /// Both dims dynamic: decided per frame.
    Undecided,
    /// Neither dim can hold coordinates plus a class.
    TooSmall,
}

/// What tells the YOLO generations apart when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    /// Index of the first class score among a box's attributes: after
    /// cx, cy, w, h and, for v5, objectness.
    first_class: usize,
    /// The orientation its exporter writes, kept when dims tie.
    native: Orientation,
}

/// YOLOv8 / YOLO11: no objectness, exported attributes first.
pub(super) const YOLOV8: Head = Head {
    first_class: 4,
    native: Orientation::AttributesFirst,
};

/// YOLOv5 / YOLOv7: objectness at index 4, exported anchors first.
pub(super) const YOLOV5: Head = Head {
    first_class: 5,
    native: Orientation::AnchorsFirst,
};

/// A YOLO box decoder: one exported head layout, with the names users know
/// it by. `yolov8.rs` and `yolov5.rs` each describe one.
pub(super) struct YoloDecoder {
    /// Where the classes start and how the export lays anchors out.
    pub head: Head,
    /// The `decoder=` name.
    pub name: &'static str,
    /// Other names of the same layout.
    pub aliases: &'static [&'static str],
    /// One line for `gst-inspect-1.0`.
    pub summary: &'static str,
    /// What "does not fit" errors say it expects.
    pub expects: &'static str,
}

impl Decoder for YoloDecoder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn aliases(&self) -> &'static [&'static str] {
        self.aliases
    }

    fn summary(&self) -> &'static str {
        self.summary
    }

    fn expects(&self) -> &'static str {
        self.expects
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        check(self.head, shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        auto(self.head, shapes)
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        num_classes(self.head, shapes)
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        layout(self.head, shapes)
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let params = &settings.detection;
        let candidates = decode(self.head, outputs, params.layout.yolo, params)?;
        Ok(Decoded::Detections(suppress_and_clip(candidates, params)))
    }
}

impl Head {
    /// Fewest attributes a box can have: coordinates (and objectness) plus
    /// one class.
    pub fn min_attributes(self) -> usize {
        self.first_class + 1
    }

    fn has_objectness(self) -> bool {
        self.first_class == YOLOV5.first_class
    }
}

/// Applies the orientation rule of the module docs to per-frame dims `[a, b]`.
pub(super) fn axes(dims: [Option<usize>; 2], min_attributes: usize, native: Orientation) -> Axes {
    use Orientation::{AnchorsFirst, AttributesFirst};
    let fits = |dim: usize| dim >= min_attributes;
    let orientation = match dims {
        [Some(a), Some(b)] if !fits(a) && !fits(b) => return Axes::TooSmall,
        [Some(a), Some(_)] if !fits(a) => AnchorsFirst,
        [Some(_), Some(b)] if !fits(b) => AttributesFirst,
        [Some(a), Some(b)] if a == b => native,
        [Some(a), Some(b)] if a < b => AttributesFirst,
        [Some(_), Some(_)] => AnchorsFirst,
        [Some(a), None] if fits(a) => AttributesFirst,
        [Some(_), None] => AnchorsFirst,
        [None, Some(b)] if fits(b) => AnchorsFirst,
        [None, Some(_)] => AttributesFirst,
        [None, None] => return Axes::Undecided,
    };
    Axes::Known(orientation)
}

/// Checks that `shapes` is one `[a, b]` output this head can read; returns
/// its orientation (`None` while both dims are dynamic).
pub(super) fn check(head: Head, shapes: &[OutputShape]) -> Result<Option<Orientation>, Mismatch> {
    let [output] = shapes else {
        return Err(Mismatch::default());
    };
    let [a, b] = output.dims[..] else {
        return Err(Mismatch::because(format!(
            "'{}' has {} dimensions per frame, not 2",
            output.name,
            output.rank()
        )));
    };
    match axes([a, b], head.min_attributes(), head.native) {
        Axes::Known(orientation) => Ok(Some(orientation)),
        Axes::Undecided => Ok(None),
        Axes::TooSmall => Err(Mismatch::because(format!(
            "neither dimension of '{}' can hold {} box values plus a class score",
            output.name, head.first_class
        ))),
    }
}

/// Number of classes of a checked output, when its attribute dim is known.
pub(super) fn num_classes(head: Head, shapes: &[OutputShape]) -> Option<usize> {
    let orientation = check(head, shapes).ok()??;
    let dims = &shapes.first()?.dims;
    let attributes = match orientation {
        Orientation::AttributesFirst => dims.first(),
        Orientation::AnchorsFirst => dims.get(1),
    };
    attributes.copied()??.checked_sub(head.first_class)
}

/// The orientation the declared shapes fix for every frame; none when they
/// leave it open (or do not fit).
pub(super) fn layout(head: Head, shapes: &[OutputShape]) -> OutputLayout {
    OutputLayout {
        yolo: check(head, shapes).ok().flatten(),
        ..OutputLayout::default()
    }
}

/// What `decoder=auto` makes of `shapes` for `head`: picked when the layout
/// rule (module docs) names this generation.
pub(super) fn auto(head: Head, shapes: &[OutputShape]) -> AutoVerdict {
    let [output] = shapes else {
        return AutoVerdict::Pass;
    };
    // A vector is a classifier's or an embedding's, whatever YOLO could make of it.
    if output.is_vector_of_values() {
        return AutoVerdict::Pass;
    }
    let &[a, b] = &output.dims[..] else {
        return AutoVerdict::Pass;
    };
    let described = format!("one output '{}' {}", output.name, format_dims(&output.dims));
    let (generation, why) = match axes([a, b], YOLOV8.min_attributes(), YOLOV8.native) {
        Axes::Known(Orientation::AttributesFirst) => (
            YOLOV8,
            format!(
                "{described} laid out [4+classes, anchors] like ultralytics YOLOv8/YOLO11 exports; \
                 set decoder=yolov5 for a YOLOv5/v7 model"
            ),
        ),
        Axes::Known(Orientation::AnchorsFirst)
            if b.is_some_and(|attributes| attributes < YOLOV5.min_attributes()) =>
        {
            (
                YOLOV8,
                format!(
                    "{described} laid out [anchors, 4+classes], too few values per anchor for YOLOv5; \
                     set decoder= to override"
                ),
            )
        }
        Axes::Known(Orientation::AnchorsFirst) => (
            YOLOV5,
            format!(
                "{described} laid out [anchors, 5+classes] like YOLOv5/v7 exports; \
                 set decoder=yolov8 for a transposed YOLOv8/YOLO11 output"
            ),
        ),
        Axes::Undecided => {
            return AutoVerdict::Doubt(format!(
                "{described} has both dimensions dynamic, so it may be YOLOv8 or YOLOv5 either way round"
            ));
        }
        Axes::TooSmall => {
            return AutoVerdict::Doubt(format!("{described} is too small for any YOLO layout"));
        }
    };
    if generation == head {
        AutoVerdict::Pick(why)
    } else {
        AutoVerdict::Pass
    }
}

/// Checks a frame against the orientation its declared shape fixed: one
/// `[a, b]` output whose attribute dim can hold a box plus a class.
fn check_frame(
    head: Head,
    outputs: &[OutputView],
    orientation: Orientation,
) -> Result<Orientation, Mismatch> {
    check(head, &shape::from_views(outputs))?;
    // The check above settles both; the fallbacks only keep this panic-free.
    let [output] = outputs else {
        return Err(Mismatch::default());
    };
    let &[a, b] = output.shape else {
        return Err(Mismatch::default());
    };
    let attributes = match orientation {
        Orientation::AttributesFirst => a,
        Orientation::AnchorsFirst => b,
    };
    if attributes < head.min_attributes() {
        return Err(Mismatch::because(format!(
            "'{}' has {attributes} values per anchor where the model declared them, \
             fewer than {} box values plus a class score",
            output.name, head.first_class
        )));
    }
    Ok(orientation)
}

/// Decodes one frame into candidates above the confidence threshold (before
/// NMS), reading the attributes where `declared` says they lie (`None`:
/// where the frame's dims suggest). Confidence is the best class score,
/// times objectness for v5; ties go to the lower class.
pub(super) fn decode(
    head: Head,
    outputs: &[OutputView],
    declared: Option<Orientation>,
    params: &DetectionParams,
) -> Result<Vec<Detection>, Mismatch> {
    let orientation = match declared {
        Some(orientation) => Some(check_frame(head, outputs, orientation)?),
        None => check(head, &shape::from_views(outputs))?,
    };
    // With every dim known the check always decides; the fallbacks only
    // keep this panic-free.
    let (Some(orientation), [output]) = (orientation, outputs) else {
        return Err(Mismatch::default());
    };
    let &[a, b] = output.shape else {
        return Err(Mismatch::default());
    };
    let table = Table::new(output.data, orientation, [a, b]);
    let threshold = params.confidence_threshold;

    // v5 drops anchors whose objectness alone is below the threshold before
    // looking at their classes, as its reference post-processing does; that
    // also skips most of the class scan.
    let objectness = |anchor: usize| {
        if head.has_objectness() {
            table.get(anchor, 4)
        } else {
            1.0
        }
    };
    let wanted = |anchor: usize| !head.has_objectness() || clears(objectness(anchor), threshold);

    // Without objectness the best class score is the confidence, so anchors
    // whose best score does not clear the threshold need no further look.
    let floor = if head.has_objectness() {
        f32::NEG_INFINITY
    } else {
        threshold
    };

    let mut found = Vec::new();
    for_each_best_class(
        &table,
        head.first_class,
        table.attributes.saturating_sub(head.first_class),
        floor,
        wanted,
        |anchor, class_id, score| {
            let confidence = objectness(anchor) * score;
            if !clears(confidence, threshold) {
                return;
            }
            let [cx, cy, w, h] = [0, 1, 2, 3].map(|attribute| table.get(anchor, attribute));
            let (half_w, half_h) = (w / 2.0, h / 2.0);
            found.extend(candidate(
                class_id,
                confidence,
                cx - half_w,
                cy - half_h,
                cx + half_w,
                cy + half_h,
            ));
        },
    );
    Ok(found)
}

/// Where the attributes of a YOLOv8-family output `dims` lie when each
/// anchor carries `extra` values after its class scores (mask
/// coefficients, keypoints, an angle); errors say what does not fit.
pub(super) fn extras_orientation(
    name: &str,
    dims: &[Option<usize>],
    extra: usize,
) -> Result<Option<Orientation>, Mismatch> {
    let &[a, b] = dims else {
        return Err(Mismatch::because(format!(
            "'{name}' has {} dimensions per frame, not 2",
            dims.len()
        )));
    };
    match axes([a, b], 4 + 1 + extra, Orientation::AttributesFirst) {
        Axes::Known(orientation) => Ok(Some(orientation)),
        Axes::Undecided => Ok(None),
        Axes::TooSmall => Err(Mismatch::because(format!(
            "neither dimension of '{name}' can hold 4 box values, a class score and {extra} more values"
        ))),
    }
}

/// Calls `visit(table, anchor, class, score)` for every anchor of a
/// YOLOv8-family output whose best class score clears `threshold`, where
/// each anchor carries `extra` values after its class scores. `declared`
/// is the orientation fixed at start (`None`: from the frame's dims).
pub(super) fn scan_with_extras(
    output: &OutputView,
    declared: Option<Orientation>,
    extra: usize,
    threshold: f32,
    mut visit: impl FnMut(&Table, usize, usize, f32),
) -> Result<(), Mismatch> {
    let dims: Vec<Option<usize>> = output.shape.iter().copied().map(Some).collect();
    let from_frame = extras_orientation(output.name, &dims, extra)?;
    let (Some(orientation), &[a, b]) = (declared.or(from_frame), output.shape) else {
        return Err(Mismatch::default());
    };
    let table = Table::new(output.data, orientation, [a, b]);
    let Some(classes) = table.attributes.checked_sub(4 + extra).filter(|&c| c > 0) else {
        return Err(Mismatch::because(format!(
            "'{}' has {} values per anchor, too few for 4 box values, a class score and {extra} more values",
            output.name, table.attributes
        )));
    };
    // The class scan YOLOv8 uses; the extra values after the classes are
    // read only for the anchors that clear the threshold.
    for_each_best_class(
        &table,
        4,
        classes,
        threshold,
        |_| true,
        |anchor, class_id, score| visit(&table, anchor, class_id, score),
    );
    Ok(())
}

/// The centre-size box of an anchor as a candidate detection.
pub(super) fn anchor_candidate(
    table: &Table,
    anchor: usize,
    class_id: usize,
    confidence: f32,
) -> Option<Detection> {
    let [cx, cy, w, h] = [0, 1, 2, 3].map(|attribute| table.get(anchor, attribute));
    candidate(
        class_id,
        confidence,
        cx - w / 2.0,
        cy - h / 2.0,
        cx + w / 2.0,
        cy + h / 2.0,
    )
}

/// A YOLO output read as anchors x attributes, whatever its orientation.
pub(super) struct Table<'a> {
    data: &'a [f32],
    orientation: Orientation,
    /// Values per anchor.
    pub(super) attributes: usize,
    /// Anchors.
    pub(super) anchors: usize,
}

impl<'a> Table<'a> {
    fn new(data: &'a [f32], orientation: Orientation, [a, b]: [usize; 2]) -> Self {
        let (attributes, anchors) = match orientation {
            Orientation::AttributesFirst => (a, b),
            Orientation::AnchorsFirst => (b, a),
        };
        Table {
            data,
            orientation,
            attributes,
            anchors,
        }
    }

    /// One attribute of one anchor; NaN if out of range, which the caller
    /// then skips (lengths are checked before decoding, so this is only a
    /// guard against panicking).
    pub(super) fn get(&self, anchor: usize, attribute: usize) -> f32 {
        let index = match self.orientation {
            Orientation::AttributesFirst => attribute * self.anchors + anchor,
            Orientation::AnchorsFirst => anchor * self.attributes + attribute,
        };
        self.data.get(index).copied().unwrap_or(f32::NAN)
    }
}

/// Anchors handled together when attributes come first: small enough for the
/// running maxima to live on the stack, large enough for long sequential reads.
const BLOCK: usize = 256;

/// Calls `visit(anchor, class, score)` with the best class of every anchor
/// whose best score is above `floor` and for which `wanted(anchor)` holds.
/// NaN scores never win; ties go to the lower class.
fn for_each_best_class(
    table: &Table,
    first_class: usize,
    classes: usize,
    floor: f32,
    wanted: impl Fn(usize) -> bool,
    mut visit: impl FnMut(usize, usize, f32),
) {
    let classes = classes.min(table.attributes.saturating_sub(first_class));
    if classes == 0 {
        return;
    }
    match table.orientation {
        Orientation::AnchorsFirst => {
            // Each anchor's attributes are contiguous: scan them in place
            // for the maximum, and look for its position only when it clears
            // the floor, which most anchors do not.
            let rows = table
                .data
                .chunks_exact(table.attributes)
                .take(table.anchors);
            for (anchor, row) in rows.enumerate() {
                if !wanted(anchor) {
                    continue;
                }
                let scores = &row[first_class..first_class + classes];
                let best = max_score(scores);
                if best > floor {
                    let class_id = scores.iter().position(|&score| score == best);
                    visit(anchor, class_id.unwrap_or(0), best);
                }
            }
        }
        Orientation::AttributesFirst => {
            // Each class is a contiguous row over all anchors: sweep the
            // class rows over a block of anchors at a time, so reads stay
            // sequential instead of striding by the anchor count.
            let mut best_scores = [f32::NEG_INFINITY; BLOCK];
            // u32 ids have the scores' lane width, which lets the blends
            // below vectorise.
            let mut best_classes = [0u32; BLOCK];
            for start in (0..table.anchors).step_by(BLOCK) {
                let len = BLOCK.min(table.anchors - start);
                let scores = &mut best_scores[..len];
                let class_ids = &mut best_classes[..len];
                scores.fill(f32::NEG_INFINITY);
                class_ids.fill(0);
                // Zipping with a u32 counter caps the classes at u32::MAX,
                // far beyond any real model.
                for (class, class_id) in (0..classes).zip(0u32..) {
                    let offset = (first_class + class) * table.anchors + start;
                    let Some(row) = table.data.get(offset..offset + len) else {
                        return;
                    };
                    for ((best, best_class), &score) in
                        scores.iter_mut().zip(class_ids.iter_mut()).zip(row)
                    {
                        // Written as unconditional stores of masked values:
                        // plain `if`s compile to per-lane branches, these to
                        // SIMD compares and blends. `max` ignores NaN.
                        let take = u32::from(score > *best).wrapping_neg();
                        *best = best.max(score);
                        *best_class = (class_id & take) | (*best_class & !take);
                    }
                }
                for (index, (&score, &class_id)) in scores.iter().zip(class_ids.iter()).enumerate()
                {
                    let anchor = start + index;
                    if score > floor && wanted(anchor) {
                        visit(anchor, class_id as usize, score);
                    }
                }
            }
        }
    }
}

/// The highest score, ignoring NaN; negative infinity if there is none.
fn max_score(scores: &[f32]) -> f32 {
    // Eight independent running maxima: a single one is a serial dependency
    // chain that cannot use SIMD.
    const LANES: usize = 8;
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let chunks = scores.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (lane, &score) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(score);
        }
    }
    lanes
        .iter()
        .chain(tail)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Orientation::{AnchorsFirst, AttributesFirst};

    fn params(confidence_threshold: f32) -> DetectionParams {
        DetectionParams {
            confidence_threshold,
            iou_threshold: 0.45,
            max_detections: 100,
            input_width: 640,
            input_height: 640,
            layout: Default::default(),
        }
    }

    /// Lays out per-anchor attribute rows in either orientation.
    fn layout(rows: &[Vec<f32>], orientation: Orientation) -> (Vec<usize>, Vec<f32>) {
        let attributes = rows.first().map_or(0, Vec::len);
        match orientation {
            AnchorsFirst => (vec![rows.len(), attributes], rows.concat()),
            AttributesFirst => {
                let data = (0..attributes)
                    .flat_map(|attribute| rows.iter().map(move |row| row[attribute]))
                    .collect();
                (vec![attributes, rows.len()], data)
            }
        }
    }

    fn run(
        head: Head,
        rows: &[Vec<f32>],
        orientation: Orientation,
        threshold: f32,
    ) -> Vec<Detection> {
        let (shape, data) = layout(rows, orientation);
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        decode(head, &[view], None, &params(threshold)).unwrap()
    }

    fn detection(class_id: usize, confidence: f32, edges: [f32; 4]) -> Detection {
        let [x_min, y_min, x_max, y_max] = edges;
        Detection {
            class_id,
            confidence,
            x_min,
            y_min,
            x_max,
            y_max,
            details: Default::default(),
        }
    }

    #[test]
    fn orientation_rule() {
        let v8 = |a, b| axes([a, b], 5, AttributesFirst);
        let v5 = |a, b| axes([a, b], 6, AnchorsFirst);
        assert_eq!(v8(Some(84), Some(8400)), Axes::Known(AttributesFirst));
        assert_eq!(v8(Some(8400), Some(84)), Axes::Known(AnchorsFirst));
        assert_eq!(v5(Some(25200), Some(85)), Axes::Known(AnchorsFirst));
        assert_eq!(v5(Some(85), Some(25200)), Axes::Known(AttributesFirst));
        // 3 anchors, 3 classes: the small dim cannot hold 4+classes.
        assert_eq!(v8(Some(7), Some(3)), Axes::Known(AttributesFirst));
        assert_eq!(v8(Some(3), Some(7)), Axes::Known(AnchorsFirst));
        // 5 attributes is a valid single-class v8 but too few for v5.
        assert_eq!(v8(Some(5), Some(5)), Axes::Known(AttributesFirst));
        assert_eq!(v5(Some(5), Some(9)), Axes::Known(AnchorsFirst));
        // Ties keep the native orientation.
        assert_eq!(v8(Some(9), Some(9)), Axes::Known(AttributesFirst));
        assert_eq!(v5(Some(9), Some(9)), Axes::Known(AnchorsFirst));
        assert_eq!(v8(Some(4), Some(3)), Axes::TooSmall);
        // Dynamic anchors.
        assert_eq!(v8(Some(84), None), Axes::Known(AttributesFirst));
        assert_eq!(v5(None, Some(85)), Axes::Known(AnchorsFirst));
        assert_eq!(v8(Some(2), None), Axes::Known(AnchorsFirst));
        assert_eq!(v8(None, Some(2)), Axes::Known(AttributesFirst));
        assert_eq!(v8(None, None), Axes::Undecided);
    }

    #[test]
    fn v8_reads_both_orientations_alike() {
        let rows = vec![
            vec![100.0, 50.0, 20.0, 10.0, 0.1, 0.8, 0.3],
            vec![300.0, 200.0, 40.0, 40.0, 0.05, 0.1, 0.2],
            vec![10.0, 20.0, 4.0, 8.0, 0.6, 0.1, 0.6],
        ];
        let expected = vec![
            detection(1, 0.8, [90.0, 45.0, 110.0, 55.0]),
            // Tie between classes 0 and 2: the lower class wins.
            detection(0, 0.6, [8.0, 16.0, 12.0, 24.0]),
        ];
        assert_eq!(run(YOLOV8, &rows, AttributesFirst, 0.25), expected);
        assert_eq!(run(YOLOV8, &rows, AnchorsFirst, 0.25), expected);
    }

    #[test]
    fn the_declared_orientation_wins_over_a_frames_dims() {
        // Declared [7, ?], a frame with 5 anchors: [7, 5]. By its dims alone
        // the smaller dim (5) would hold the attributes.
        let rows: Vec<Vec<f32>> = (0..5)
            .map(|anchor| {
                let x = 100.0 * (anchor + 1) as f32;
                let mut scores = [0.0; 3];
                scores[anchor % 3] = 0.9;
                [vec![x, 50.0, 20.0, 10.0], scores.to_vec()].concat()
            })
            .collect();
        let (shape, data) = layout(&rows, AttributesFirst);
        assert_eq!(shape, [7, 5]);
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let found = decode(YOLOV8, &[view], Some(AttributesFirst), &params(0.5)).unwrap();
        let expected: Vec<Detection> = (0..5)
            .map(|anchor| {
                let x = 100.0 * (anchor + 1) as f32;
                detection(anchor % 3, 0.9, [x - 10.0, 45.0, x + 10.0, 55.0])
            })
            .collect();
        assert_eq!(found, expected);
        // What reading by the frame's dims alone made of it: other boxes.
        let guessed = decode(YOLOV8, &[view], None, &params(0.5)).unwrap();
        assert_ne!(guessed, expected);

        // A frame whose declared attribute dim cannot hold a box and a class.
        let (shape, data) = layout(&vec![vec![1.0, 2.0, 3.0]; 9], AnchorsFirst);
        let view = OutputView {
            name: "output0",
            shape: &shape,
            data: &data,
        };
        let error = decode(YOLOV8, &[view], Some(AnchorsFirst), &params(0.5)).unwrap_err();
        assert!(
            error
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("3 values per anchor"),
            "{error:?}"
        );
    }

    #[test]
    fn v8_three_anchors_three_classes() {
        // [7, 3]: the 3 must be anchors, whichever is smaller.
        let rows = vec![
            vec![10.0, 10.0, 2.0, 2.0, 0.9, 0.0, 0.0],
            vec![20.0, 20.0, 2.0, 2.0, 0.0, 0.9, 0.0],
            vec![30.0, 30.0, 2.0, 2.0, 0.0, 0.0, 0.9],
        ];
        let found = run(YOLOV8, &rows, AttributesFirst, 0.5);
        let classes: Vec<usize> = found.iter().map(|d| d.class_id).collect();
        assert_eq!(classes, vec![0, 1, 2]);
        assert_eq!(run(YOLOV8, &rows, AnchorsFirst, 0.5), found);
    }

    #[test]
    fn v8_across_block_boundaries() {
        let anchors = 2 * BLOCK + 7;
        let mut rows = vec![vec![50.0, 50.0, 10.0, 10.0, 0.0, 0.0]; anchors];
        for anchor in [0, BLOCK - 1, BLOCK, anchors - 1] {
            rows[anchor][5] = 0.9;
            rows[anchor][0] = anchor as f32;
        }
        for orientation in [AttributesFirst, AnchorsFirst] {
            let found = run(YOLOV8, &rows, orientation, 0.5);
            let centres: Vec<f32> = found.iter().map(|d| d.x_min + 5.0).collect();
            assert_eq!(
                centres,
                vec![0.0, (BLOCK - 1) as f32, BLOCK as f32, (anchors - 1) as f32]
            );
            assert!(found.iter().all(|d| d.class_id == 1));
        }
    }

    #[test]
    fn v8_skips_unusable_values() {
        let rows = vec![
            // NaN class score: the other class wins.
            vec![100.0, 100.0, 10.0, 10.0, f32::NAN, 0.7],
            // All NaN scores.
            vec![100.0, 100.0, 10.0, 10.0, f32::NAN, f32::NAN],
            // Infinite score.
            vec![100.0, 100.0, 10.0, 10.0, f32::INFINITY, 0.1],
            // NaN and infinite coordinates.
            vec![f32::NAN, 100.0, 10.0, 10.0, 0.9, 0.1],
            vec![100.0, 100.0, f32::INFINITY, 10.0, 0.9, 0.1],
            // Zero and negative sizes.
            vec![100.0, 100.0, 0.0, 10.0, 0.9, 0.1],
            vec![100.0, 100.0, 10.0, -5.0, 0.9, 0.1],
        ];
        for orientation in [AttributesFirst, AnchorsFirst] {
            let found = run(YOLOV8, &rows, orientation, 0.25);
            assert_eq!(found, vec![detection(1, 0.7, [95.0, 95.0, 105.0, 105.0])]);
        }
    }

    #[test]
    fn v8_threshold_is_strict_and_can_reject_everything() {
        let rows = vec![vec![100.0, 100.0, 10.0, 10.0, 0.25, 0.1]];
        assert!(run(YOLOV8, &rows, AttributesFirst, 0.25).is_empty());
        assert_eq!(run(YOLOV8, &rows, AttributesFirst, 0.2).len(), 1);
        assert!(run(YOLOV8, &rows, AttributesFirst, f32::NAN).is_empty());
    }

    #[test]
    fn zero_anchors_decode_to_nothing() {
        for shape in [[84, 0], [0, 84]] {
            let view = OutputView {
                name: "output0",
                shape: &shape,
                data: &[],
            };
            assert!(
                decode(YOLOV8, &[view], None, &params(0.25))
                    .unwrap()
                    .is_empty()
            );
        }
    }

    #[test]
    fn v5_multiplies_objectness_and_class_probability() {
        let rows = vec![
            vec![100.0, 100.0, 10.0, 20.0, 0.9, 0.2, 0.8, 0.1],
            // High class probability but low objectness.
            vec![200.0, 100.0, 10.0, 20.0, 0.2, 0.0, 1.0, 0.0],
            // High objectness, low product.
            vec![300.0, 100.0, 10.0, 20.0, 0.9, 0.2, 0.2, 0.2],
            // NaN objectness.
            vec![300.0, 100.0, 10.0, 20.0, f32::NAN, 0.9, 0.9, 0.9],
        ];
        for orientation in [AnchorsFirst, AttributesFirst] {
            let found = run(YOLOV5, &rows, orientation, 0.25);
            assert_eq!(found.len(), 1, "{orientation:?}");
            assert_eq!(found[0].class_id, 1);
            assert!((found[0].confidence - 0.72).abs() < 1e-6);
            assert_eq!(
                [
                    found[0].x_min,
                    found[0].y_min,
                    found[0].x_max,
                    found[0].y_max
                ],
                [95.0, 90.0, 105.0, 110.0]
            );
        }
    }

    #[test]
    fn checks_and_class_counts() {
        let shapes = |dims: &[&[Option<usize>]]| -> Vec<OutputShape<'static>> {
            dims.iter()
                .map(|dims| OutputShape {
                    name: "out",
                    dims: dims.to_vec(),
                })
                .collect()
        };
        assert_eq!(
            num_classes(YOLOV8, &shapes(&[&[Some(84), Some(8400)]])),
            Some(80)
        );
        assert_eq!(
            num_classes(YOLOV8, &shapes(&[&[Some(8400), Some(84)]])),
            Some(80)
        );
        assert_eq!(
            num_classes(YOLOV5, &shapes(&[&[Some(25200), Some(85)]])),
            Some(80)
        );
        assert_eq!(num_classes(YOLOV5, &shapes(&[&[None, Some(85)]])), Some(80));
        assert_eq!(num_classes(YOLOV8, &shapes(&[&[None, None]])), None);
        assert_eq!(num_classes(YOLOV8, &shapes(&[&[Some(2), None]])), None);
        assert!(check(YOLOV8, &shapes(&[&[None, None]])).is_ok());
        assert!(check(YOLOV8, &shapes(&[&[Some(84), Some(8400)], &[Some(1)]])).is_err());
        let rank3 = check(YOLOV8, &shapes(&[&[Some(3), Some(80), Some(80)]])).unwrap_err();
        assert_eq!(
            rank3.detail.as_deref(),
            Some("'out' has 3 dimensions per frame, not 2")
        );
        let small = check(YOLOV5, &shapes(&[&[Some(5), Some(4)]])).unwrap_err();
        assert_eq!(
            small.detail.as_deref(),
            Some("neither dimension of 'out' can hold 5 box values plus a class score")
        );
    }

    #[test]
    fn full_size_output_decodes() {
        // The standard ultralytics shape with a scattering of confident anchors.
        let (attributes, anchors) = (84, 8400);
        let mut data = vec![0.01; attributes * anchors];
        for anchor in (0..anchors).step_by(97) {
            data[anchor] = (anchor % 640) as f32;
            data[anchors + anchor] = (anchor / 14) as f32;
            data[2 * anchors + anchor] = 12.0;
            data[3 * anchors + anchor] = 12.0;
            data[(4 + anchor % 80) * anchors + anchor] = 0.9;
        }
        let view = OutputView {
            name: "output0",
            shape: &[attributes, anchors],
            data: &data,
        };
        let found = decode(YOLOV8, &[view], None, &params(0.25)).unwrap();
        assert_eq!(found.len(), anchors.div_ceil(97));
        assert!(found.iter().all(|d| d.confidence == 0.9));
    }
}
