//! YOLOv8 / YOLO11 oriented boxes (Ultralytics `task=obb`): one output
//! `[4 + classes + 1, anchors]` (or transposed) with `cx, cy, w, h` in
//! model-input pixels, one score per class, then the box's rotation in
//! radians about its centre. Overlaps are suppressed on the rotated boxes
//! themselves (exact polygon intersection over union), so two thin boxes
//! crossing at an angle are both kept where their upright bounds would
//! have suppressed one.
//!
//! Its outputs look like a detector's, so `decoder=auto` never picks it from
//! shapes alone: a model's `task=obb` metadata or `decoder=yolov8obb` does.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::OutputShape;
use super::yolo;
use super::{DecodeSettings, Decoded, Detection, OutputLayout, OutputView};

/// The YOLOv8 / YOLO11 oriented-box decoder.
pub(super) struct Yolov8Obb;

/// A rotated rectangle: centre, size and rotation (radians, clockwise in
/// image coordinates, y down), as Ultralytics' `xywhr`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedBox {
    /// Centre x.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Extent along the rotated x axis.
    pub width: f32,
    /// Extent along the rotated y axis.
    pub height: f32,
    /// Rotation in radians.
    pub angle: f32,
}

impl RotatedBox {
    /// The rotated box of a detection (its edges unrotated, its angle in
    /// `details`; none is 0).
    pub fn of(detection: &Detection) -> Self {
        RotatedBox {
            cx: (detection.x_min + detection.x_max) / 2.0,
            cy: (detection.y_min + detection.y_max) / 2.0,
            width: detection.width(),
            height: detection.height(),
            angle: detection.details.angle.unwrap_or(0.0),
        }
    }

    /// The four corners, in Ultralytics' `xywhr2xyxyxyxy` order.
    pub fn corners(&self) -> [(f32, f32); 4] {
        let (sin, cos) = self.angle.sin_cos();
        let (ax, ay) = (self.width / 2.0 * cos, self.width / 2.0 * sin);
        let (bx, by) = (-self.height / 2.0 * sin, self.height / 2.0 * cos);
        let (cx, cy) = (self.cx, self.cy);
        [
            (cx + ax + bx, cy + ay + by),
            (cx + ax - bx, cy + ay - by),
            (cx - ax - bx, cy - ay - by),
            (cx - ax + bx, cy - ay + by),
        ]
    }
}

/// Twice the signed area of a polygon (shoelace), in f64.
fn signed_area2(polygon: &[(f64, f64)]) -> f64 {
    let n = polygon.len();
    (0..n)
        .map(|i| {
            let (x0, y0) = polygon[i];
            let (x1, y1) = polygon[(i + 1) % n];
            x0 * y1 - x1 * y0
        })
        .sum()
}

/// The part of `subject` inside convex `clip` (Sutherland-Hodgman).
fn clip_polygon(subject: Vec<(f64, f64)>, clip: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let orientation = signed_area2(clip).signum();
    let mut output = subject;
    for i in 0..clip.len() {
        if output.is_empty() {
            break;
        }
        let (a, b) = (clip[i], clip[(i + 1) % clip.len()]);
        let side =
            |p: (f64, f64)| orientation * ((b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0));
        let input = std::mem::take(&mut output);
        for j in 0..input.len() {
            let (p, q) = (input[j], input[(j + 1) % input.len()]);
            let (sp, sq) = (side(p), side(q));
            if sp >= 0.0 {
                output.push(p);
            }
            if (sp >= 0.0) != (sq >= 0.0) {
                let t = sp / (sp - sq);
                output.push((p.0 + t * (q.0 - p.0), p.1 + t * (q.1 - p.1)));
            }
        }
    }
    output
}

/// Exact intersection over union of two rotated boxes (0 when either has
/// no area or a number is not finite).
pub fn rotated_iou(a: &RotatedBox, b: &RotatedBox) -> f64 {
    let polygon = |r: &RotatedBox| -> Vec<(f64, f64)> {
        r.corners()
            .iter()
            .map(|&(x, y)| (f64::from(x), f64::from(y)))
            .collect()
    };
    let (pa, pb) = (polygon(a), polygon(b));
    if pa
        .iter()
        .chain(&pb)
        .any(|(x, y)| !x.is_finite() || !y.is_finite())
    {
        return 0.0;
    }
    let area_a = signed_area2(&pa).abs() / 2.0;
    let area_b = signed_area2(&pb).abs() / 2.0;
    if area_a <= 0.0 || area_b <= 0.0 {
        return 0.0;
    }
    let intersection = signed_area2(&clip_polygon(pa, &pb)).abs() / 2.0;
    let union = area_a + area_b - intersection;
    if union > 0.0 {
        (intersection / union).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Greedy class-aware non-maximum suppression on rotated boxes: best first,
/// a box is dropped when it overlaps a kept box of its class by an IoU
/// strictly above `iou_threshold`; at most `max_detections` are kept.
pub fn rotated_non_max_suppression(
    mut detections: Vec<Detection>,
    iou_threshold: f32,
    max_detections: usize,
) -> Vec<Detection> {
    detections.retain(|d| d.confidence.is_finite() && d.width() > 0.0 && d.height() > 0.0);
    detections.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<Detection> = Vec::new();
    for candidate in detections {
        if kept.len() == max_detections {
            break;
        }
        let rotated = RotatedBox::of(&candidate);
        let suppressed = kept.iter().any(|better| {
            better.class_id == candidate.class_id
                && rotated_iou(&RotatedBox::of(better), &rotated) > f64::from(iou_threshold)
        });
        if !suppressed {
            kept.push(candidate);
        }
    }
    kept
}

impl Decoder for Yolov8Obb {
    fn name(&self) -> &'static str {
        "yolov8obb"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["yolo11obb", "yolov11obb"]
    }

    fn summary(&self) -> &'static str {
        "YOLOv8 / YOLO11 oriented boxes: [4+classes+angle, anchors] (Ultralytics task=obb)"
    }

    fn expects(&self) -> &'static str {
        "one output shaped [4+classes+1, anchors] (or transposed), the last value the angle in radians"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        let [output] = shapes else {
            return Err(Mismatch::default());
        };
        yolo::extras_orientation(output.name, &output.dims, 1).map(drop)
    }

    fn auto(&self, _shapes: &[OutputShape]) -> AutoVerdict {
        AutoVerdict::Pass
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        let [output] = shapes else {
            return None;
        };
        let orientation = yolo::extras_orientation(output.name, &output.dims, 1).ok()??;
        let attributes = match orientation {
            yolo::Orientation::AttributesFirst => output.dims.first(),
            yolo::Orientation::AnchorsFirst => output.dims.get(1),
        };
        attributes.copied()??.checked_sub(5)
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        let yolo = match shapes {
            [output] => yolo::extras_orientation(output.name, &output.dims, 1)
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
        let mut candidates = Vec::new();
        yolo::scan_with_extras(
            output,
            params.layout.yolo,
            1,
            params.confidence_threshold,
            |table, anchor, class_id, score| {
                let angle = table.get(anchor, table.attributes - 1);
                if let Some(mut detection) = yolo::anchor_candidate(table, anchor, class_id, score)
                    && angle.is_finite()
                {
                    detection.details.angle = Some(angle);
                    candidates.push(detection);
                }
            },
        )?;
        // Rotated boxes are not clipped: their upright edges do not bound
        // them, and a corner outside the input is still where the model put it.
        Ok(Decoded::Detections(rotated_non_max_suppression(
            candidates,
            params.iou_threshold,
            params.max_detections,
        )))
    }
}

#[cfg(test)]
mod tests {
    use std::f32::consts::FRAC_PI_4;

    use super::*;
    use crate::decode::{DetectionParams, InstanceDetails};

    fn rotated(cx: f32, cy: f32, width: f32, height: f32, angle: f32) -> RotatedBox {
        RotatedBox {
            cx,
            cy,
            width,
            height,
            angle,
        }
    }

    #[test]
    fn polygon_iou_is_exact() {
        let a = rotated(0.0, 0.0, 2.0, 2.0, 0.0);
        assert!((rotated_iou(&a, &a) - 1.0).abs() < 1e-9);
        // Half overlap of two unit-height boxes: 2 / (4 + 4 - 2).
        let b = rotated(1.0, 0.0, 2.0, 2.0, 0.0);
        assert!((rotated_iou(&a, &b) - 2.0 / 6.0).abs() < 1e-6);
        // A square and itself turned 45 degrees: the intersection is a
        // regular octagon of side 2(sqrt2 - 1): area 8(sqrt2 - 1).
        let turned = rotated(0.0, 0.0, 2.0, 2.0, FRAC_PI_4);
        let octagon = 8.0 * (2f64.sqrt() - 1.0);
        let expected = octagon / (4.0 + 4.0 - octagon);
        assert!((rotated_iou(&a, &turned) - expected).abs() < 1e-6);
        // A quarter turn of a square is the same square.
        let quarter = rotated(0.0, 0.0, 2.0, 2.0, std::f32::consts::FRAC_PI_2);
        assert!((rotated_iou(&a, &quarter) - 1.0).abs() < 1e-6);
        // Two thin crossing bars: intersection 1x1 of areas 10 each.
        let bar = rotated(0.0, 0.0, 10.0, 1.0, 0.0);
        let cross = rotated(0.0, 0.0, 10.0, 1.0, std::f32::consts::FRAC_PI_2);
        assert!((rotated_iou(&bar, &cross) - 1.0 / 19.0).abs() < 1e-6);
        assert_eq!(rotated_iou(&a, &rotated(5.0, 5.0, 1.0, 1.0, 0.3)), 0.0);
        assert_eq!(rotated_iou(&a, &rotated(f32::NAN, 0.0, 1.0, 1.0, 0.0)), 0.0);
        assert_eq!(rotated_iou(&a, &rotated(0.0, 0.0, 0.0, 1.0, 0.0)), 0.0);
    }

    fn detection(class_id: usize, confidence: f32, r: RotatedBox) -> Detection {
        Detection {
            class_id,
            confidence,
            x_min: r.cx - r.width / 2.0,
            y_min: r.cy - r.height / 2.0,
            x_max: r.cx + r.width / 2.0,
            y_max: r.cy + r.height / 2.0,
            details: InstanceDetails {
                angle: Some(r.angle),
                ..Default::default()
            },
        }
    }

    #[test]
    fn rotated_nms_judges_the_rotated_boxes() {
        let bar = rotated(50.0, 50.0, 100.0, 10.0, 0.0);
        let cross = rotated(50.0, 50.0, 100.0, 10.0, std::f32::consts::FRAC_PI_2);
        let shifted = rotated(52.0, 50.0, 100.0, 10.0, 0.0);
        let kept = rotated_non_max_suppression(
            vec![
                detection(0, 0.8, cross),
                detection(0, 0.9, bar),
                detection(0, 0.7, shifted),
                detection(1, 0.6, bar),
            ],
            0.45,
            10,
        );
        let confidences: Vec<f32> = kept.iter().map(|d| d.confidence).collect();
        // The crossing bar overlaps by 1/19: kept; the shifted one is
        // suppressed; another class is never suppressed.
        assert_eq!(confidences, [0.9, 0.8, 0.6]);
        assert_eq!(
            rotated_non_max_suppression(vec![detection(0, 0.9, bar)], 0.45, 0).len(),
            0
        );
    }

    #[test]
    fn decodes_the_angle() {
        // Two anchors, two classes: [4+2+1, 2] attributes first.
        let anchors = [
            [50.0, 40.0, 30.0, 10.0, 0.2, 0.9, 0.5],
            [50.0, 40.0, 30.0, 10.0, 0.3, 0.1, 0.5],
        ];
        let data: Vec<f32> = (0..7)
            .flat_map(|a| anchors.iter().map(move |row| row[a]))
            .collect();
        let params = DetectionParams {
            confidence_threshold: 0.5,
            iou_threshold: 0.45,
            max_detections: 10,
            input_width: 100,
            input_height: 100,
            layout: OutputLayout::default(),
        };
        let outputs = [OutputView {
            name: "output0",
            shape: &[7, 2],
            data: &data,
        }];
        let Ok(Decoded::Detections(found)) =
            Yolov8Obb.decode(&outputs, &DecodeSettings::for_detection(params))
        else {
            panic!("no detections");
        };
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].class_id, 1);
        assert_eq!(found[0].details.angle, Some(0.5));
        assert_eq!(
            (
                found[0].x_min,
                found[0].y_min,
                found[0].x_max,
                found[0].y_max
            ),
            (35.0, 35.0, 65.0, 45.0)
        );
        let corners = RotatedBox::of(&found[0]).corners();
        let (s, c) = 0.5f32.sin_cos();
        assert!((corners[0].0 - (50.0 + 15.0 * c - 5.0 * s)).abs() < 1e-4);
        assert!((corners[0].1 - (40.0 + 15.0 * s + 5.0 * c)).abs() < 1e-4);
    }
}
