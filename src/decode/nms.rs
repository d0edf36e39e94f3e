//! Greedy non-maximum suppression: of boxes that overlap too much, keep the
//! most confident.

use super::Detection;

/// Sorts by confidence (highest first; equal confidences keep their input
/// order) and keeps each box unless it overlaps an already kept box by an
/// intersection-over-union strictly above `iou_threshold`. With
/// `class_aware`, only boxes of the same class suppress each other.
///
/// Stops after `max_detections` boxes (0 keeps none). Boxes with a
/// non-finite number or without positive width and height are dropped first.
/// A NaN `iou_threshold` suppresses nothing.
///
/// Works in place: no allocation beyond the sort, and the cost is the
/// candidate count times the kept count, which `max_detections` bounds.
pub fn non_max_suppression(
    mut detections: Vec<Detection>,
    iou_threshold: f32,
    class_aware: bool,
    max_detections: usize,
) -> Vec<Detection> {
    detections.retain(is_usable);
    detections.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));

    // Kept boxes are moved to the front, `kept` of them so far; everything
    // between `kept` and `index` has been suppressed.
    let mut kept = 0;
    for index in 0..detections.len() {
        if kept == max_detections {
            break;
        }
        let candidate = &detections[index];
        let suppressed = detections[..kept].iter().any(|better| {
            (!class_aware || better.class_id == candidate.class_id)
                && intersection_over_union(better, candidate) > f64::from(iou_threshold)
        });
        if !suppressed {
            detections.swap(kept, index);
            kept += 1;
        }
    }
    detections.truncate(kept);
    detections
}

/// Finite numbers and a box with area.
fn is_usable(detection: &Detection) -> bool {
    let numbers = [
        detection.confidence,
        detection.x_min,
        detection.y_min,
        detection.x_max,
        detection.y_max,
    ];
    numbers.iter().all(|value| value.is_finite())
        && detection.width() > 0.0
        && detection.height() > 0.0
}

/// Overlap area over union area, 0 when the boxes do not touch.
///
/// Computed in f64: in f32 the area of a box with sides above about 1.8e19
/// overflows to infinity, the union becomes NaN and two identical boxes
/// would both be kept (f32 edges cannot overflow f64 areas).
fn intersection_over_union(a: &Detection, b: &Detection) -> f64 {
    let edges = |d: &Detection| [d.x_min, d.y_min, d.x_max, d.y_max].map(f64::from);
    let ([ax0, ay0, ax1, ay1], [bx0, by0, bx1, by1]) = (edges(a), edges(b));
    let overlap_width = ax1.min(bx1) - ax0.max(bx0);
    let overlap_height = ay1.min(by1) - ay0.max(by0);
    if overlap_width <= 0.0 || overlap_height <= 0.0 {
        return 0.0;
    }
    let intersection = overlap_width * overlap_height;
    let union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - intersection;
    if union > 0.0 {
        intersection / union
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(class_id: usize, confidence: f32, x_min: f32, y_min: f32, size: f32) -> Detection {
        Detection {
            class_id,
            confidence,
            x_min,
            y_min,
            x_max: x_min + size,
            y_max: y_min + size,
            details: Default::default(),
        }
    }

    fn confidences(detections: &[Detection]) -> Vec<f32> {
        detections.iter().map(|d| d.confidence).collect()
    }

    #[test]
    fn iou_of_known_boxes() {
        let a = boxed(0, 1.0, 0.0, 0.0, 10.0);
        assert_eq!(intersection_over_union(&a, &a), 1.0);
        // Half overlapping: 50 / 150.
        let b = boxed(0, 1.0, 5.0, 0.0, 10.0);
        assert!((intersection_over_union(&a, &b) - 1.0 / 3.0).abs() < 1e-6);
        // Touching edges do not overlap.
        let c = boxed(0, 1.0, 10.0, 0.0, 10.0);
        assert_eq!(intersection_over_union(&a, &c), 0.0);
    }

    #[test]
    fn overlapping_boxes_of_one_class_keep_the_best() {
        let found = non_max_suppression(
            vec![
                boxed(0, 0.5, 0.0, 0.0, 10.0),
                boxed(0, 0.9, 1.0, 0.0, 10.0),
                boxed(0, 0.7, 50.0, 50.0, 10.0),
                boxed(0, 0.6, 51.0, 50.0, 10.0),
            ],
            0.45,
            true,
            100,
        );
        assert_eq!(confidences(&found), vec![0.9, 0.7]);
    }

    #[test]
    fn class_aware_keeps_other_classes_agnostic_does_not() {
        let input = vec![boxed(0, 0.9, 0.0, 0.0, 10.0), boxed(1, 0.8, 0.0, 0.0, 10.0)];
        assert_eq!(non_max_suppression(input.clone(), 0.45, true, 100).len(), 2);
        assert_eq!(non_max_suppression(input, 0.45, false, 100).len(), 1);
    }

    #[test]
    fn threshold_is_strict() {
        // IoU exactly 1/3.
        let input = vec![boxed(0, 0.9, 0.0, 0.0, 10.0), boxed(0, 0.8, 5.0, 0.0, 10.0)];
        assert_eq!(non_max_suppression(input.clone(), 0.5, true, 100).len(), 2);
        assert_eq!(non_max_suppression(input.clone(), 0.3, true, 100).len(), 1);
        assert_eq!(non_max_suppression(input.clone(), 1.0, true, 100).len(), 2);
        assert_eq!(non_max_suppression(input, f32::NAN, true, 100).len(), 2);
    }

    #[test]
    fn max_detections_bounds_the_result() {
        let input: Vec<Detection> = (0..10)
            .map(|i| boxed(0, i as f32 / 10.0, i as f32 * 20.0, 0.0, 10.0))
            .collect();
        assert_eq!(
            confidences(&non_max_suppression(input.clone(), 0.45, true, 3)),
            vec![0.9, 0.8, 0.7]
        );
        assert!(non_max_suppression(input, 0.45, true, 0).is_empty());
    }

    #[test]
    fn unusable_boxes_are_dropped() {
        let mut zero_width = boxed(0, 0.9, 0.0, 0.0, 10.0);
        zero_width.x_max = zero_width.x_min;
        let found = non_max_suppression(
            vec![
                boxed(0, f32::NAN, 0.0, 0.0, 10.0),
                boxed(0, f32::INFINITY, 0.0, 0.0, 10.0),
                boxed(0, 0.9, f32::NAN, 0.0, 10.0),
                zero_width,
                boxed(0, 0.5, 0.0, 0.0, 10.0),
            ],
            0.45,
            true,
            100,
        );
        assert_eq!(confidences(&found), vec![0.5]);
    }

    #[test]
    fn huge_identical_boxes_suppress_each_other() {
        // The decoders fuzz target's find: a YOLO output of 1e30-sized
        // boxes, whose f32 areas overflowed, kept two identical boxes.
        let huge = Detection {
            class_id: 0,
            confidence: 4.7415446e30,
            x_min: 2.3707723e30,
            y_min: 2.3707723e30,
            x_max: 7.112317e30,
            y_max: 7.112317e30,
            details: Default::default(),
        };
        assert_eq!(intersection_over_union(&huge, &huge), 1.0);
        let found = non_max_suppression(vec![huge.clone(), huge], 0.011764706, true, 100);
        assert_eq!(found.len(), 1);
        // Edges spanning most of the f32 range.
        let widest = Detection {
            class_id: 0,
            confidence: 0.9,
            x_min: f32::MIN,
            y_min: f32::MIN,
            x_max: f32::MAX,
            y_max: f32::MAX,
            details: Default::default(),
        };
        assert_eq!(intersection_over_union(&widest, &widest), 1.0);
    }

    #[test]
    fn empty_in_empty_out() {
        assert!(non_max_suppression(Vec::new(), 0.45, true, 100).is_empty());
    }

    #[test]
    fn equal_confidences_keep_input_order() {
        let found = non_max_suppression(
            vec![
                boxed(2, 0.5, 0.0, 0.0, 10.0),
                boxed(1, 0.5, 30.0, 0.0, 10.0),
                boxed(3, 0.5, 60.0, 0.0, 10.0),
            ],
            0.45,
            true,
            100,
        );
        let classes: Vec<usize> = found.iter().map(|d| d.class_id).collect();
        assert_eq!(classes, vec![2, 1, 3]);
    }

    #[test]
    fn many_candidates_stay_fast_enough() {
        // A grid of 8400 distinct boxes: nothing suppressed, capped at 300.
        let input: Vec<Detection> = (0..8400)
            .map(|i| {
                boxed(
                    i % 80,
                    (i % 997) as f32 / 997.0,
                    (i % 120) as f32 * 20.0,
                    (i / 120) as f32 * 20.0,
                    10.0,
                )
            })
            .collect();
        let found = non_max_suppression(input, 0.45, true, 300);
        assert_eq!(found.len(), 300);
        assert!(
            found
                .windows(2)
                .all(|pair| pair[0].confidence >= pair[1].confidence)
        );
    }
}
