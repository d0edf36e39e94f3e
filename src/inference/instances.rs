//! An instance's keypoints, rotated box and mask, from model-input pixels
//! to the frame (letterbox or crop undone), as [`ObjectDetails`].

use crate::decode::{Detection, InstanceDetails, RotatedBox};
use crate::meta::{FrameKeypoint, FrameRotatedBox, ObjectDetails, ObjectMask};
use crate::preprocess::FrameMapping;

/// COCO's 17 person keypoints, in the order COCO-pose models give them.
pub const COCO_KEYPOINTS: [&str; 17] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

/// CenterFace's five landmarks, in its order (left and right as seen in
/// the image: the left eye is the one with the smaller x).
pub const FACE_LANDMARKS: [&str; 5] =
    ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"];

/// Names for `count` keypoints from `decoder`, when the layout is known.
pub fn keypoint_names(decoder: &str, count: usize) -> Option<&'static [&'static str]> {
    match (decoder, count) {
        ("centerface", 5) => Some(&FACE_LANDMARKS),
        (_, 17) => Some(&COCO_KEYPOINTS),
        _ => None,
    }
}

/// The upright box a detection covers in model-input pixels: its own
/// edges, or the bounds of its corners when it is rotated.
pub fn covered_box(detection: &Detection) -> (f32, f32, f32, f32) {
    if detection.details.angle.is_none() {
        return (
            detection.x_min,
            detection.y_min,
            detection.x_max,
            detection.y_max,
        );
    }
    let corners = RotatedBox::of(detection).corners();
    let xs = corners.map(|(x, _)| x);
    let ys = corners.map(|(_, y)| y);
    let min = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
    let max = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
    (min(xs), min(ys), max(xs), max(ys))
}

/// `detection`'s details in the frame; `rect` is its ROI rectangle in
/// frame pixels (x, y, w, h), over which a mask is laid.
pub fn details_in_frame(
    detection: &Detection,
    rect: (u32, u32, u32, u32),
    mapping: &FrameMapping,
    names: Option<&[&str]>,
) -> ObjectDetails {
    let InstanceDetails {
        keypoints,
        angle,
        mask,
        ..
    } = &detection.details;
    let keypoints = keypoints
        .iter()
        .enumerate()
        .map(|(index, point)| {
            let (x, y) = mapping.to_frame(point.x, point.y);
            FrameKeypoint {
                x: f64::from(x),
                y: f64::from(y),
                confidence: point.confidence.map(f64::from),
                name: names
                    .and_then(|names| names.get(index))
                    .map(|name| (*name).to_string()),
            }
        })
        .collect();
    let rotated = angle.map(|_| rotated_in_frame(&RotatedBox::of(detection), mapping));
    let mask = mask.as_ref().map(|mask| {
        let (x, y, width, height) = rect;
        let mut data = vec![0u8; (width * height) as usize];
        // The mapping is separable: each column's model x (and its tap on
        // the mask's grid) and each row's model y are computed once. Pixels
        // outside the box in the model input stay out: masks are cropped
        // to their box, as Ultralytics crops them.
        let column_taps: Vec<_> = (x..x + width)
            .map(|column| {
                let model_x = mapping.to_model(column as f32 + 0.5, 0.0).0;
                (model_x >= detection.x_min && model_x < detection.x_max)
                    .then(|| mask.tap_x(model_x))
                    .flatten()
            })
            .collect();
        for (row, line) in (y..y + height).zip(data.chunks_exact_mut(width.max(1) as usize)) {
            let model_y = mapping.to_model(0.0, row as f32 + 0.5).1;
            if !(model_y >= detection.y_min && model_y < detection.y_max) {
                continue;
            }
            let Some(row_tap) = mask.tap_y(model_y) else {
                continue;
            };
            for (value, column_tap) in line.iter_mut().zip(&column_taps) {
                if let Some(column_tap) = column_tap
                    && mask.sample(*column_tap, row_tap) > 0.5
                {
                    *value = 255;
                }
            }
        }
        ObjectMask {
            x,
            y,
            width,
            height,
            data,
        }
    });
    ObjectDetails {
        keypoints,
        rotated,
        mask,
    }
}

/// A rotated box mapped corner by corner: exact under letterbox and crop
/// (uniform scale); under stretch, the parallelogram's edges from its first
/// corner.
fn rotated_in_frame(rotated: &RotatedBox, mapping: &FrameMapping) -> FrameRotatedBox {
    let corners = rotated.corners().map(|(x, y)| {
        let (fx, fy) = mapping.to_frame(x, y);
        (f64::from(fx), f64::from(fy))
    });
    let [c0, c1, c2, c3] = corners;
    let (cx, cy) = (
        (c0.0 + c1.0 + c2.0 + c3.0) / 4.0,
        (c0.1 + c1.1 + c2.1 + c3.1) / 4.0,
    );
    let along = (c0.0 - c3.0, c0.1 - c3.1);
    let across = (c0.0 - c1.0, c0.1 - c1.1);
    FrameRotatedBox {
        cx,
        cy,
        width: along.0.hypot(along.1),
        height: across.0.hypot(across.1),
        angle: along.1.atan2(along.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{InstanceMask, Keypoint};
    use crate::frame::Size;
    use crate::preprocess::ScaleMode;

    fn detection(details: InstanceDetails) -> Detection {
        Detection {
            class_id: 0,
            confidence: 0.9,
            x_min: 40.0,
            y_min: 100.0,
            x_max: 80.0,
            y_max: 140.0,
            details,
        }
    }

    #[test]
    fn keypoints_and_rotated_boxes_undo_the_letterbox() {
        // 640x320 frame into 320x320: scale 0.5, 80 px border on top.
        let mapping = FrameMapping::for_placement(
            ScaleMode::Letterbox,
            Size::new(640, 320),
            Size::new(320, 320),
        )
        .unwrap();
        let d = detection(InstanceDetails {
            keypoints: vec![Keypoint {
                x: 50.0,
                y: 110.0,
                confidence: Some(0.7),
            }],
            angle: Some(0.25),
            ..Default::default()
        });
        let details = details_in_frame(&d, (80, 40, 80, 80), &mapping, Some(&COCO_KEYPOINTS));
        let point = &details.keypoints[0];
        assert_eq!((point.x, point.y), (100.0, 60.0));
        assert_eq!(point.name.as_deref(), Some("nose"));
        let rotated = details.rotated.unwrap();
        assert!((rotated.cx - 120.0).abs() < 1e-3 && (rotated.cy - 80.0).abs() < 1e-3);
        assert!((rotated.width - 80.0).abs() < 1e-3 && (rotated.height - 80.0).abs() < 1e-3);
        assert!((rotated.angle - 0.25).abs() < 1e-5);
        let (x0, _, x1, _) = covered_box(&d);
        assert!(x0 < 40.0 && x1 > 80.0, "a turned box covers more");
    }

    #[test]
    fn masks_are_laid_over_the_box_in_frame_pixels() {
        // The left half of the box is inside: a one-cell-per-pixel grid.
        let mut data = vec![0.0f32; 200 * 200];
        for row in 0..200 {
            for column in 0..60 {
                data[row * 200 + column] = 1.0;
            }
        }
        let mask = InstanceMask {
            column: 0,
            row: 0,
            width: 200,
            height: 200,
            cell_width: 1.0,
            cell_height: 1.0,
            data,
        };
        let d = detection(InstanceDetails {
            mask: Some(mask),
            ..Default::default()
        });
        // Stretch 400x400 -> 200x200: frame pixels are twice model pixels.
        let mapping = FrameMapping::for_placement(
            ScaleMode::Stretch,
            Size::new(400, 400),
            Size::new(200, 200),
        )
        .unwrap();
        let details = details_in_frame(&d, (80, 200, 80, 80), &mapping, None);
        let mask = details.mask.unwrap();
        assert_eq!((mask.x, mask.y, mask.width, mask.height), (80, 200, 80, 80));
        // Model x < 60 is inside: frame x < 120, i.e. 40 of the 80 columns.
        assert_eq!(mask.area(), 40 * 80);
        assert!(mask.contains(119, 210) && !mask.contains(120, 210));
    }
}
