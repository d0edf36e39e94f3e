//! SSD heads, in the two layouts exporters produce:
//!
//! - **Two outputs** (PyTorch-style exports without post-processing): boxes
//!   `[N, 4]` as `x_min, y_min, x_max, y_max` normalised to 0..1 of the model
//!   input, and scores `[N, classes]` (probabilities) where class 0 is the
//!   background. Every (box, class) pair above the threshold is a candidate,
//!   as in the reference SSD post-processing, so one box may be reported for
//!   two classes; the background class is never reported. Class ids count the
//!   background, so they index a labels file whose line 0 is the background.
//! - **Four outputs** (TensorFlow's post-processed SSD): boxes `[N, 4]` as
//!   `y_min, x_min, y_max, x_max` normalised, classes `[N]` (float ids),
//!   scores `[N]` and a count (`[]` or `[1]`) of valid rows; rows past the
//!   count are ignored. Class ids are used as given: TF's ids are 1-based and
//!   index a labels file whose line 0 is a placeholder such as `???`.
//!
//! Outputs are told apart by shape: the boxes are the `[N, 4]` output. Names
//! only break ties: two-output scores shaped `[N, 4]` (three classes plus
//! background), and which `[N]` output of the four holds classes and which
//! scores, falling back to TensorFlow's order (boxes, classes, scores, count).

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{self, OutputShape, compatible, format_dims};
use super::{
    DecodeSettings, Decoded, Detection, DetectionParams, OutputView, candidate, clears,
    suppress_and_clip,
};

/// The SSD decoder, for both layouts.
pub(super) struct Ssd;

impl Decoder for Ssd {
    fn name(&self) -> &'static str {
        "ssd"
    }

    fn summary(&self) -> &'static str {
        "SSD: boxes + scores, or TensorFlow's boxes/classes/scores/count"
    }

    fn expects(&self) -> &'static str {
        "boxes [N,4] and scores [N,classes], or TensorFlow's boxes [N,4], classes [N], \
         scores [N] and a detection count"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        check(shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        match (shapes.len(), check(shapes).is_ok()) {
            (2, true) => AutoVerdict::Pick(format!(
                "{} shaped like SSD boxes [N,4] and scores [N,classes]",
                shape::describe(shapes)
            )),
            (2, false) => AutoVerdict::Doubt(
                "two outputs that are not SSD boxes [N,4] and scores [N,classes]".to_owned(),
            ),
            (4, true) => AutoVerdict::Pick(
                "four outputs like TensorFlow's SSD post-processing (boxes, classes, scores, count)"
                    .to_owned(),
            ),
            (4, false) => AutoVerdict::Doubt(
                "four outputs that are not TensorFlow's SSD outputs (boxes, classes, scores, count)"
                    .to_owned(),
            ),
            _ => AutoVerdict::Pass,
        }
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        num_classes(shapes)
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let candidates = decode(outputs, &settings.detection)?;
        Ok(Decoded::Detections(suppress_and_clip(
            candidates,
            &settings.detection,
        )))
    }
}

/// Which output holds what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Boxes `[N, 4]` and scores `[N, classes]`.
    TwoOutputs {
        /// Index of the boxes output.
        boxes: usize,
        /// Index of the scores output.
        scores: usize,
    },
    /// TensorFlow's boxes, classes, scores and count.
    FourOutputs {
        /// Index of the boxes output.
        boxes: usize,
        /// Index of the class ids output.
        classes: usize,
        /// Index of the scores output.
        scores: usize,
        /// Index of the valid-row count output.
        count: usize,
    },
}

/// Finds the boxes and scores (and classes and count) among `shapes`.
pub(super) fn check(shapes: &[OutputShape]) -> Result<Layout, Mismatch> {
    match shapes.len() {
        2 => check_two(shapes),
        4 => check_four(shapes),
        _ => Err(Mismatch::default()),
    }
}

/// Number of classes including the background, for the two-output layout
/// (TensorFlow's ids do not reveal how many classes there are).
pub(super) fn num_classes(shapes: &[OutputShape]) -> Option<usize> {
    match check(shapes).ok()? {
        Layout::TwoOutputs { scores, .. } => shapes.get(scores)?.last_dim(),
        Layout::FourOutputs { .. } => None,
    }
}

/// Decodes one frame into candidates above the confidence threshold (before
/// NMS), in model-input pixels.
pub(super) fn decode(
    outputs: &[OutputView],
    params: &DetectionParams,
) -> Result<Vec<Detection>, Mismatch> {
    let layout = check(&shape::from_views(outputs))?;
    let output = |index: usize| outputs.get(index).ok_or_else(Mismatch::default);
    let size = Size {
        width: params.input_width as f32,
        height: params.input_height as f32,
    };
    let threshold = params.confidence_threshold;
    Ok(match layout {
        Layout::TwoOutputs { boxes, scores } => {
            decode_two(output(boxes)?, output(scores)?, size, threshold)
        }
        Layout::FourOutputs {
            boxes,
            classes,
            scores,
            count,
        } => decode_four(
            [
                output(boxes)?,
                output(classes)?,
                output(scores)?,
                output(count)?,
            ],
            size,
            threshold,
        ),
    })
}

/// The model input size, to scale normalised coordinates.
#[derive(Clone, Copy)]
struct Size {
    width: f32,
    height: f32,
}

/// Whether an output could be the boxes: `[N, 4]`.
fn is_boxes(shape: &OutputShape) -> bool {
    shape.rank() == 2 && shape.last_dim() == Some(4)
}

/// The two-output layout: boxes `[N, 4]` and scores `[N, classes]`.
fn check_two(shapes: &[OutputShape]) -> Result<Layout, Mismatch> {
    let candidates: Vec<usize> = (0..shapes.len())
        .filter(|&i| is_boxes(&shapes[i]))
        .collect();
    let boxes = match candidates[..] {
        [] => {
            return Err(Mismatch::because(
                "neither output has 4 values per box".to_owned(),
            ));
        }
        [only] => only,
        // Both `[N, 4]`: scores for three classes plus background. Trust a
        // name that says boxes, otherwise the usual order, boxes first.
        _ => candidates
            .iter()
            .copied()
            .find(|&i| shapes[i].name_contains("box") || shapes[i].name_contains("loc"))
            .unwrap_or(0),
    };
    let scores = 1 - boxes;
    let (box_shape, score_shape) = (&shapes[boxes], &shapes[scores]);
    if score_shape.rank() != 2 {
        return Err(Mismatch::because(format!(
            "scores '{}' should be [N,classes] but has {} dimensions per frame",
            score_shape.name,
            score_shape.rank()
        )));
    }
    if !compatible(box_shape.dims[0], score_shape.dims[0]) {
        return Err(Mismatch::because(format!(
            "boxes '{}' and scores '{}' disagree on the number of boxes",
            box_shape.name, score_shape.name
        )));
    }
    if let Some(classes @ 0..2) = score_shape.last_dim() {
        return Err(Mismatch::because(format!(
            "scores '{}' has {classes} class(es); SSD needs the background plus at least one class",
            score_shape.name
        )));
    }
    Ok(Layout::TwoOutputs { boxes, scores })
}

/// TensorFlow's layout: boxes `[N, 4]`, classes `[N]`, scores `[N]`, count.
fn check_four(shapes: &[OutputShape]) -> Result<Layout, Mismatch> {
    let candidates: Vec<usize> = (0..shapes.len())
        .filter(|&i| is_boxes(&shapes[i]))
        .collect();
    let [boxes] = candidates[..] else {
        return Err(Mismatch::because(format!(
            "expected exactly one [N,4] boxes output, found {}",
            candidates.len()
        )));
    };
    let rest: Vec<usize> = (0..shapes.len()).filter(|&i| i != boxes).collect();
    let &[first, second, third] = &rest[..] else {
        return Err(Mismatch::default());
    };
    let [classes, scores, count] = by_name(shapes, &rest).unwrap_or([first, second, third]);
    let rows = shapes[boxes].dims[0];
    for (index, role) in [(classes, "classes"), (scores, "scores")] {
        let shape = &shapes[index];
        if !(shape.rank() == 1 && compatible(shape.dims[0], rows)) {
            return Err(Mismatch::because(format!(
                "{role} '{}' should be [N] with N = {} rows but is {}",
                shape.name,
                rows.map_or_else(|| "?".to_owned(), |rows| rows.to_string()),
                format_dims(&shape.dims)
            )));
        }
    }
    let count_shape = &shapes[count];
    let is_single = match count_shape.dims[..] {
        [] => true,
        [dim] => compatible(dim, Some(1)),
        _ => false,
    };
    if !is_single {
        return Err(Mismatch::because(format!(
            "count '{}' should be a single value but is {}",
            count_shape.name,
            format_dims(&count_shape.dims)
        )));
    }
    Ok(Layout::FourOutputs {
        boxes,
        classes,
        scores,
        count,
    })
}

/// Classes, scores and count among the three non-box outputs, when their
/// names say so unambiguously ("class", "score", and the remaining one).
fn by_name(shapes: &[OutputShape], rest: &[usize]) -> Option<[usize; 3]> {
    let named = |needle: &str| -> Option<usize> {
        let mut matching = rest
            .iter()
            .copied()
            .filter(|&i| shapes[i].name_contains(needle));
        let first = matching.next()?;
        matching.next().is_none().then_some(first)
    };
    let (classes, scores) = (named("class")?, named("score")?);
    let count = rest
        .iter()
        .copied()
        .find(|&i| i != classes && i != scores)?;
    (classes != scores).then_some([classes, scores, count])
}

/// Every (box, class) pair above the threshold, background excluded.
fn decode_two(
    boxes: &OutputView,
    scores: &OutputView,
    size: Size,
    threshold: f32,
) -> Vec<Detection> {
    let classes = scores.shape.get(1).copied().unwrap_or(0);
    if classes == 0 {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (edges, class_scores) in boxes
        .data
        .chunks_exact(4)
        .zip(scores.data.chunks_exact(classes))
    {
        let [x_min, y_min, x_max, y_max] = [edges[0], edges[1], edges[2], edges[3]];
        // Class 0 is the background.
        for (class_id, &score) in class_scores.iter().enumerate().skip(1) {
            if clears(score, threshold) {
                found.extend(candidate(
                    class_id,
                    score,
                    x_min * size.width,
                    y_min * size.height,
                    x_max * size.width,
                    y_max * size.height,
                ));
            }
        }
    }
    found
}

/// The rows within the count whose score clears the threshold.
fn decode_four(
    [boxes, classes, scores, count]: [&OutputView; 4],
    size: Size,
    threshold: f32,
) -> Vec<Detection> {
    let rows = boxes.shape.first().copied().unwrap_or(0);
    // The count is a float; round so that 2.9999 means 3. A NaN, infinite
    // or negative count means no valid rows.
    let valid = match count.data.first() {
        Some(&count) if count.is_finite() && count > 0.0 => (count.round() as usize).min(rows),
        _ => 0,
    };
    let mut found = Vec::new();
    let rows = boxes
        .data
        .chunks_exact(4)
        .zip(classes.data)
        .zip(scores.data)
        .take(valid);
    for ((edges, &class), &score) in rows {
        if !(clears(score, threshold) && class.is_finite() && class >= 0.0) {
            continue;
        }
        let [y_min, x_min, y_max, x_max] = [edges[0], edges[1], edges[2], edges[3]];
        found.extend(candidate(
            class.round() as usize,
            score,
            x_min * size.width,
            y_min * size.height,
            x_max * size.width,
            y_max * size.height,
        ));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(confidence_threshold: f32) -> DetectionParams {
        DetectionParams {
            confidence_threshold,
            iou_threshold: 0.45,
            max_detections: 100,
            input_width: 300,
            input_height: 200,
            layout: Default::default(),
        }
    }

    fn shapes(list: &[(&'static str, &[Option<usize>])]) -> Vec<OutputShape<'static>> {
        list.iter()
            .map(|&(name, dims)| OutputShape {
                name,
                dims: dims.to_vec(),
            })
            .collect()
    }

    /// Box edges rounded to 1/1000 pixel, so that scaling by the input size
    /// compares exactly.
    fn edges(detection: &Detection) -> [f32; 4] {
        [
            detection.x_min,
            detection.y_min,
            detection.x_max,
            detection.y_max,
        ]
        .map(|edge| (edge * 1e3).round() / 1e3)
    }

    #[test]
    fn two_outputs_scale_boxes_and_never_report_background() {
        let boxes = [0.1, 0.2, 0.5, 0.6, 0.0, 0.0, 1.0, 1.0];
        // Row 0: background best, class 2 above threshold too. Row 1: two classes.
        let scores = [0.6, 0.1, 0.3, 0.0, 0.4, 0.5];
        let outputs = [
            OutputView {
                name: "boxes",
                shape: &[2, 4],
                data: &boxes,
            },
            OutputView {
                name: "scores",
                shape: &[2, 3],
                data: &scores,
            },
        ];
        let found = decode(&outputs, &params(0.25)).unwrap();
        let summary: Vec<(usize, f32)> = found.iter().map(|d| (d.class_id, d.confidence)).collect();
        assert_eq!(summary, vec![(2, 0.3), (1, 0.4), (2, 0.5)]);
        assert_eq!(edges(&found[0]), [30.0, 40.0, 150.0, 120.0]);
        assert_eq!(edges(&found[1]), [0.0, 0.0, 300.0, 200.0]);
    }

    #[test]
    fn two_outputs_found_by_shape_not_order_or_name() {
        let boxes = [0.1, 0.1, 0.2, 0.2];
        let scores = [0.0, 0.9, 0.0, 0.0, 0.0, 0.0];
        let outputs = [
            OutputView {
                name: "output_a",
                shape: &[1, 6],
                data: &scores,
            },
            OutputView {
                name: "output_b",
                shape: &[1, 4],
                data: &boxes,
            },
        ];
        let found = decode(&outputs, &params(0.5)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class_id, 1);
        assert!((found[0].x_min - 30.0).abs() < 1e-4);
    }

    #[test]
    fn four_class_scores_are_told_from_boxes_by_name() {
        let layout = check(&shapes(&[
            ("scores", &[Some(10), Some(4)]),
            ("boxes", &[Some(10), Some(4)]),
        ]));
        assert_eq!(
            layout,
            Ok(Layout::TwoOutputs {
                boxes: 1,
                scores: 0
            })
        );
        let layout = check(&shapes(&[
            ("a", &[Some(10), Some(4)]),
            ("b", &[Some(10), Some(4)]),
        ]));
        assert_eq!(
            layout,
            Ok(Layout::TwoOutputs {
                boxes: 0,
                scores: 1
            })
        );
        assert_eq!(
            num_classes(&shapes(&[
                ("a", &[Some(10), Some(4)]),
                ("b", &[Some(10), Some(4)])
            ])),
            Some(4)
        );
    }

    #[test]
    fn two_output_shape_problems() {
        let mismatch = |list| check(&shapes(list)).unwrap_err().detail.unwrap_or_default();
        assert_eq!(
            mismatch(&[
                ("boxes", &[Some(3000), Some(4)]),
                ("scores", &[Some(2000), Some(21)])
            ]),
            "boxes 'boxes' and scores 'scores' disagree on the number of boxes"
        );
        assert_eq!(
            mismatch(&[
                ("boxes", &[Some(3000), Some(4)]),
                ("scores", &[Some(3000), Some(1)])
            ]),
            "scores 'scores' has 1 class(es); SSD needs the background plus at least one class"
        );
        assert_eq!(
            mismatch(&[
                ("a", &[Some(3000), Some(5)]),
                ("b", &[Some(3000), Some(21)])
            ]),
            "neither output has 4 values per box"
        );
        assert_eq!(
            mismatch(&[
                ("boxes", &[Some(3000), Some(4)]),
                ("scores", &[Some(3000), Some(21), Some(1)])
            ]),
            "scores 'scores' should be [N,classes] but has 3 dimensions per frame"
        );
        // Dynamic box counts are fine until a frame says otherwise.
        assert!(
            check(&shapes(&[
                ("boxes", &[None, Some(4)]),
                ("scores", &[Some(3000), Some(21)])
            ]))
            .is_ok()
        );
        assert!(check(&shapes(&[("boxes", &[Some(3000), Some(4)])])).is_err());
    }

    #[test]
    fn two_outputs_skip_unusable_values() {
        let boxes = [
            0.1,
            0.1,
            0.2,
            0.2,
            f32::NAN,
            0.1,
            0.2,
            0.2,
            0.3,
            0.3,
            0.2,
            0.2,
        ];
        let scores = [0.0, f32::NAN, 0.0, 0.9, 0.0, f32::INFINITY];
        let outputs = [
            OutputView {
                name: "boxes",
                shape: &[3, 4],
                data: &boxes,
            },
            OutputView {
                name: "scores",
                shape: &[3, 2],
                data: &scores,
            },
        ];
        assert!(decode(&outputs, &params(0.25)).unwrap().is_empty());
    }

    fn tf_outputs<'a>(
        boxes: &'a [f32],
        classes: &'a [f32],
        scores: &'a [f32],
        count: &'a [f32],
    ) -> [OutputView<'a>; 4] {
        [
            OutputView {
                name: "detection_boxes",
                shape: &[3, 4],
                data: boxes,
            },
            OutputView {
                name: "detection_classes",
                shape: &[3],
                data: classes,
            },
            OutputView {
                name: "detection_scores",
                shape: &[3],
                data: scores,
            },
            OutputView {
                name: "num_detections",
                shape: &[],
                data: count,
            },
        ]
    }

    const TF_BOXES: [f32; 12] = [0.1, 0.2, 0.5, 0.6, 0.0, 0.0, 1.0, 1.0, 0.2, 0.2, 0.4, 0.4];

    #[test]
    fn four_outputs_swap_to_x_first_and_keep_class_ids() {
        let outputs = tf_outputs(&TF_BOXES, &[1.0, 18.0, 3.0], &[0.9, 0.8, 0.7], &[2.0]);
        let found = decode(&outputs, &params(0.5)).unwrap();
        assert_eq!(found.len(), 2, "the third row is past the count");
        assert_eq!(found[0].class_id, 1);
        assert_eq!(edges(&found[0]), [60.0, 20.0, 180.0, 100.0]);
        assert_eq!(found[1].class_id, 18);
    }

    #[test]
    fn four_outputs_count_is_robust() {
        let decode_with = |count: f32| {
            let count = [count];
            let outputs = tf_outputs(&TF_BOXES, &[1.0, 2.0, 3.0], &[0.9, 0.8, 0.7], &count);
            decode(&outputs, &params(0.5)).unwrap().len()
        };
        assert_eq!(decode_with(2.9999), 3);
        assert_eq!(decode_with(100.0), 3);
        assert_eq!(decode_with(f32::NAN), 0);
        assert_eq!(decode_with(f32::INFINITY), 0);
        assert_eq!(decode_with(-1.0), 0);
        assert_eq!(decode_with(0.0), 0);
    }

    #[test]
    fn four_outputs_skip_bad_rows() {
        let outputs = tf_outputs(
            &TF_BOXES,
            &[f32::NAN, -1.0, 2.0],
            &[0.9, 0.9, f32::NAN],
            &[3.0],
        );
        assert!(decode(&outputs, &params(0.5)).unwrap().is_empty());
    }

    #[test]
    fn four_outputs_identified_by_name_in_any_order() {
        let layout = check(&shapes(&[
            ("num_detections", &[]),
            ("detection_scores", &[Some(100)]),
            ("detection_boxes", &[Some(100), Some(4)]),
            ("detection_classes", &[Some(100)]),
        ]));
        assert_eq!(
            layout,
            Ok(Layout::FourOutputs {
                boxes: 2,
                classes: 3,
                scores: 1,
                count: 0
            })
        );
    }

    #[test]
    fn four_outputs_fall_back_to_tensorflow_order() {
        let layout = check(&shapes(&[
            ("Identity", &[Some(100), Some(4)]),
            ("Identity_1", &[Some(100)]),
            ("Identity_2", &[Some(100)]),
            ("Identity_3", &[Some(1)]),
        ]));
        assert_eq!(
            layout,
            Ok(Layout::FourOutputs {
                boxes: 0,
                classes: 1,
                scores: 2,
                count: 3
            })
        );
        assert_eq!(
            num_classes(&shapes(&[
                ("Identity", &[Some(100), Some(4)]),
                ("Identity_1", &[Some(100)]),
                ("Identity_2", &[Some(100)]),
                ("Identity_3", &[Some(1)]),
            ])),
            None
        );
    }

    #[test]
    fn four_output_shape_problems() {
        let mismatch = |list| check(&shapes(list)).unwrap_err().detail.unwrap_or_default();
        assert_eq!(
            mismatch(&[
                ("detection_boxes", &[Some(100), Some(4)]),
                ("detection_classes", &[Some(50)]),
                ("detection_scores", &[Some(100)]),
                ("num_detections", &[]),
            ]),
            "classes 'detection_classes' should be [N] with N = 100 rows but is [50]"
        );
        assert_eq!(
            mismatch(&[
                ("detection_boxes", &[Some(100), Some(4)]),
                ("detection_classes", &[Some(100)]),
                ("detection_scores", &[Some(100)]),
                ("num_detections", &[Some(100)]),
            ]),
            "count 'num_detections' should be a single value but is [100]"
        );
        assert_eq!(
            mismatch(&[
                ("a", &[Some(100), Some(3)]),
                ("b", &[Some(100)]),
                ("c", &[Some(100)]),
                ("d", &[]),
            ]),
            "expected exactly one [N,4] boxes output, found 0"
        );
    }
}
