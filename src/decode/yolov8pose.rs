//! YOLOv8 / YOLO11 pose (Ultralytics `task=pose`): one output
//! `[4 + classes + K*D, anchors]` (or transposed) with `cx, cy, w, h` in
//! model-input pixels, one score per class, then K keypoints of D values
//! (`x, y` in model-input pixels and, for D = 3, a visibility already
//! through a sigmoid), as Ultralytics' `kpt_shape` `[K, D]` says. The
//! export decodes keypoints inside the graph, so they are read as they are.
//!
//! Its outputs look like a detector's, so `decoder=auto` never picks it from
//! shapes alone: a model's `task=pose` metadata or `decoder=yolov8pose`
//! does. Without `kpt_shape`, one class and as many 3-value keypoints as
//! fill the output are assumed (COCO pose: 56 = 4 + 1 + 17*3).

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{OutputShape, format_dims};
use super::yolo::{self, Orientation};
use super::{
    DeclaredOutput, DecodeSettings, Decoded, DecoderKind, Keypoint, KeypointShape, OutputLayout,
    OutputView, suppress_and_clip,
};

/// The YOLOv8 / YOLO11 pose decoder.
pub(super) struct Yolov8Pose;

/// Fewest values after the class scores: one 2-value keypoint.
const MIN_EXTRA: usize = 2;

/// Whether `kind` reads keypoints whose shape the model's metadata gives.
pub fn reads_keypoints(kind: DecoderKind) -> bool {
    kind.name() == Yolov8Pose.name()
}

/// Values per anchor of a declared pose output, when known.
fn declared_attributes(declared: &[DeclaredOutput]) -> Option<usize> {
    let shapes = super::shape::from_declared(declared);
    let [output] = &shapes[..] else {
        return None;
    };
    let orientation = yolo::extras_orientation(output.name, &output.dims, MIN_EXTRA).ok()??;
    match orientation {
        Orientation::AttributesFirst => output.dims.first().copied().flatten(),
        Orientation::AnchorsFirst => output.dims.get(1).copied().flatten(),
    }
}

/// How many classes a pose output has once `keypoints` are taken out.
pub fn pose_classes(declared: &[DeclaredOutput], keypoints: KeypointShape) -> Option<usize> {
    declared_attributes(declared)?
        .checked_sub(4 + keypoints.count * keypoints.dims)
        .filter(|&classes| classes > 0)
}

/// Checks that `keypoints` (and `classes`, when the names say) fill the
/// declared output; the error says what the output holds instead.
pub fn check_keypoints(
    declared: &[DeclaredOutput],
    keypoints: KeypointShape,
    classes: Option<usize>,
) -> Result<(), String> {
    let Some(attributes) = declared_attributes(declared) else {
        return Ok(()); // dynamic: each frame is checked
    };
    let needed = 4 + keypoints.count * keypoints.dims;
    let fits = match classes {
        Some(classes) => attributes == needed + classes,
        None => attributes > needed,
    };
    if fits {
        return Ok(());
    }
    Err(format!(
        "the output holds {attributes} values per anchor, but 4 box values{} and {} keypoints of {} values need {}",
        classes.map_or_else(
            || " and at least one class".to_string(),
            |c| format!(", {c} classes")
        ),
        keypoints.count,
        keypoints.dims,
        needed + classes.unwrap_or(1)
    ))
}

/// The keypoint shape a pose output implies without `kpt_shape`: one class
/// and 3-value keypoints (else 2-value ones) filling the rest; when neither
/// fills it, 3-value keypoints and more classes.
pub fn guess_keypoints(declared: &[DeclaredOutput]) -> Option<KeypointShape> {
    guess_from_attributes(declared_attributes(declared)?)
}

fn guess_from_attributes(attributes: usize) -> Option<KeypointShape> {
    let values = attributes.checked_sub(5).filter(|&v| v >= MIN_EXTRA)?;
    let (count, dims) = if values % 3 == 0 {
        (values / 3, 3)
    } else if values % 2 == 0 {
        (values / 2, 2)
    } else {
        // Neither fits with one class: 3-value keypoints and the rest as
        // more classes, so that every output `check` accepts decodes.
        (values / 3, 3)
    };
    Some(KeypointShape { count, dims })
}

impl Decoder for Yolov8Pose {
    fn name(&self) -> &'static str {
        "yolov8pose"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["yolo11pose", "yolov11pose"]
    }

    fn summary(&self) -> &'static str {
        "YOLOv8 / YOLO11 pose: [4+classes+keypoints*values, anchors] (Ultralytics task=pose)"
    }

    fn expects(&self) -> &'static str {
        "one output shaped [4+classes+K*D, anchors] (or transposed), K keypoints of D values (kpt_shape)"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        let [output] = shapes else {
            return Err(Mismatch::default());
        };
        yolo::extras_orientation(output.name, &output.dims, MIN_EXTRA).map(drop)
    }

    fn auto(&self, _shapes: &[OutputShape]) -> AutoVerdict {
        // A pose output is a detector's output with more rows: only the
        // model's metadata (task=pose) or decoder= tells them apart.
        AutoVerdict::Pass
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        let yolo = match shapes {
            [output] => yolo::extras_orientation(output.name, &output.dims, MIN_EXTRA)
                .ok()
                .flatten(),
            _ => None,
        };
        OutputLayout {
            yolo,
            ..OutputLayout::default()
        }
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let params = &settings.detection;
        let [output] = outputs else {
            return Err(Mismatch::default().into());
        };
        let keypoints = match params.layout.keypoints {
            Some(keypoints) => keypoints,
            None => {
                let attributes = match params.layout.yolo {
                    Some(Orientation::AnchorsFirst) => output.shape.get(1),
                    _ => output.shape.first(),
                };
                attributes
                    .copied()
                    .and_then(guess_from_attributes)
                    .ok_or_else(|| {
                        Mismatch::because(format!(
                            "'{}' {} has too few values per anchor for a box, a class and keypoints",
                            output.name,
                            format_dims(&output.shape.iter().copied().map(Some).collect::<Vec<_>>())
                        ))
                    })?
            }
        };
        let extra = keypoints.count * keypoints.dims;
        let mut candidates = Vec::new();
        yolo::scan_with_extras(
            output,
            params.layout.yolo,
            extra,
            params.confidence_threshold,
            |table, anchor, class_id, score| {
                let Some(mut detection) = yolo::anchor_candidate(table, anchor, class_id, score)
                else {
                    return;
                };
                let first = table.attributes - extra;
                detection.details.keypoints = (0..keypoints.count)
                    .map(|k| {
                        let at =
                            |value: usize| table.get(anchor, first + k * keypoints.dims + value);
                        Keypoint {
                            x: at(0),
                            y: at(1),
                            confidence: (keypoints.dims == 3).then(|| at(2)),
                        }
                    })
                    .collect();
                candidates.push(detection);
            },
        )?;
        Ok(Decoded::Detections(suppress_and_clip(candidates, params)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::DetectionParams;

    fn declared(shape: &[usize]) -> Vec<DeclaredOutput> {
        vec![DeclaredOutput {
            name: "output0".into(),
            shape: shape.iter().copied().map(Some).collect(),
        }]
    }

    #[test]
    fn keypoint_shapes_are_checked_against_the_output() {
        let coco = declared(&[1, 56, 8400]);
        let shape = KeypointShape { count: 17, dims: 3 };
        assert_eq!(guess_keypoints(&coco), Some(shape));
        assert_eq!(pose_classes(&coco, shape), Some(1));
        assert!(check_keypoints(&coco, shape, Some(1)).is_ok());
        assert!(check_keypoints(&coco, shape, None).is_ok());
        let err = check_keypoints(&coco, shape, Some(2)).unwrap_err();
        assert!(
            err.contains("56 values per anchor") && err.contains("need 57"),
            "{err}"
        );
        let err = check_keypoints(&coco, KeypointShape { count: 18, dims: 3 }, None).unwrap_err();
        assert!(err.contains("18 keypoints of 3 values"), "{err}");
        assert_eq!(
            guess_keypoints(&declared(&[1, 4 + 1 + 10, 100])),
            Some(KeypointShape { count: 5, dims: 2 })
        );
        let odd = declared(&[1, 4 + 1 + 7, 100]);
        let guess = guess_keypoints(&odd).unwrap();
        assert_eq!(guess, KeypointShape { count: 2, dims: 3 });
        assert_eq!(pose_classes(&odd, guess), Some(2));
    }

    #[test]
    fn decodes_boxes_with_their_keypoints_either_orientation() {
        // Two anchors, one class, two 3-value keypoints: [4+1+6, 2].
        let anchors = [
            [
                50.0, 60.0, 20.0, 40.0, 0.9, 45.0, 50.0, 0.8, 55.0, 70.0, 0.2,
            ],
            [10.0, 10.0, 4.0, 4.0, 0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        ];
        let attributes_first: Vec<f32> = (0..11)
            .flat_map(|a| anchors.iter().map(move |row| row[a]))
            .collect();
        let anchors_first: Vec<f32> = anchors.iter().flatten().copied().collect();
        let params = DetectionParams {
            confidence_threshold: 0.5,
            iou_threshold: 0.45,
            max_detections: 10,
            input_width: 100,
            input_height: 100,
            layout: OutputLayout::default()
                .with_keypoints(Some(KeypointShape { count: 2, dims: 3 })),
        };
        for (data, shape) in [(&attributes_first, [11, 2]), (&anchors_first, [2, 11])] {
            let outputs = [OutputView {
                name: "output0",
                shape: &shape,
                data,
            }];
            let Decoded::Detections(found) = Yolov8Pose
                .decode(&outputs, &DecodeSettings::for_detection(params))
                .map_err(|_| "failed")
                .unwrap()
            else {
                panic!("not detections");
            };
            assert_eq!(found.len(), 1, "{shape:?}");
            let d = &found[0];
            assert_eq!(
                (d.x_min, d.y_min, d.x_max, d.y_max),
                (40.0, 40.0, 60.0, 80.0)
            );
            assert_eq!(
                d.details.keypoints,
                [
                    Keypoint {
                        x: 45.0,
                        y: 50.0,
                        confidence: Some(0.8)
                    },
                    Keypoint {
                        x: 55.0,
                        y: 70.0,
                        confidence: Some(0.2)
                    },
                ]
            );
        }
    }
}
