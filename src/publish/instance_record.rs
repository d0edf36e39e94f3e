//! The JSON form of what an object carries beyond its box, merged into its
//! entry of `classes`:
//!
//! ```json
//! {"cat": "person", "prob": 0.9, "bbox": {...},
//!  "keypoints": [{"x": 101.5, "y": 40.0, "prob": 0.98, "name": "nose"}, ...],
//!  "mask": {"x": 80, "y": 20, "size": [120, 64], "counts": [5, 12, 3, ...]},
//!  "angle": 0.52, "rbox": {"cx": 120.0, "cy": 80.0, "width": 60.0, "height": 20.0}}
//! ```
//!
//! - `keypoints`: frame pixels; `prob` when the model scores them, `name`
//!   when they have names (COCO's 17, CenterFace's 5).
//! - `mask`: COCO-style uncompressed RLE over the object's box: the box's
//!   top-left frame pixel `x`, `y`, its `size` `[height, width]`, and
//!   `counts`, alternating runs of outside and inside pixels in column-major
//!   order starting with outside, as `pycocotools.mask.frPyObjects` reads
//!   (pass it `{"size", "counts"}`).
//! - `angle`: the rotation of an oriented box in radians (clockwise, y
//!   down), `rbox` that box's centre and size in frame pixels.

use serde::Serialize;

use crate::meta::ObjectDetails;

/// One keypoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeypointEntry {
    /// Horizontal position in frame pixels.
    pub x: f64,
    /// Vertical position in frame pixels.
    pub y: f64,
    /// Visibility score, when the model gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prob: Option<f64>,
    /// What the point is, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A mask as COCO-style RLE over the object's box.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RleMask {
    /// Left frame column of the box.
    pub x: u32,
    /// Top frame row of the box.
    pub y: u32,
    /// `[height, width]`, as COCO writes it.
    pub size: [u32; 2],
    /// Runs, column-major, outside first.
    pub counts: Vec<u32>,
}

/// An oriented box's centre and size.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RotatedEntry {
    /// Centre x in frame pixels.
    pub cx: f64,
    /// Centre y in frame pixels.
    pub cy: f64,
    /// Extent along its rotated x axis.
    pub width: f64,
    /// Extent along its rotated y axis.
    pub height: f64,
}

/// The fields an object's details add to its entry (each absent when it
/// has none).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InstanceFields {
    /// Keypoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keypoints: Option<Vec<KeypointEntry>>,
    /// Instance mask.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask: Option<RleMask>,
    /// Rotation of an oriented box, radians.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub angle: Option<f64>,
    /// The oriented box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rbox: Option<RotatedEntry>,
}

impl InstanceFields {
    /// The JSON fields of `details`.
    pub fn from_details(details: &ObjectDetails) -> Self {
        InstanceFields {
            keypoints: (!details.keypoints.is_empty()).then(|| {
                details
                    .keypoints
                    .iter()
                    .map(|point| KeypointEntry {
                        x: point.x,
                        y: point.y,
                        prob: point.confidence,
                        name: point.name.clone(),
                    })
                    .collect()
            }),
            mask: details.mask.as_ref().map(|mask| RleMask {
                x: mask.x,
                y: mask.y,
                size: [mask.height, mask.width],
                counts: mask.rle_counts(),
            }),
            angle: details.rotated.map(|rotated| rotated.angle),
            rbox: details.rotated.map(|rotated| RotatedEntry {
                cx: rotated.cx,
                cy: rotated.cy,
                width: rotated.width,
                height: rotated.height,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{FrameKeypoint, FrameRotatedBox, ObjectMask};

    #[test]
    fn details_become_keypoints_rle_and_angle() {
        let details = ObjectDetails {
            keypoints: vec![FrameKeypoint {
                x: 1.5,
                y: 2.0,
                confidence: Some(0.5),
                name: Some("nose".into()),
            }],
            rotated: Some(FrameRotatedBox {
                cx: 10.0,
                cy: 20.0,
                width: 8.0,
                height: 2.0,
                angle: 0.5,
            }),
            mask: Some(ObjectMask {
                x: 3,
                y: 4,
                width: 2,
                height: 2,
                data: vec![0, 255, 0, 255],
            }),
        };
        let value = serde_json::to_value(InstanceFields::from_details(&details)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "keypoints": [{"x": 1.5, "y": 2.0, "prob": 0.5, "name": "nose"}],
                "mask": {"x": 3, "y": 4, "size": [2, 2], "counts": [2, 2]},
                "angle": 0.5,
                "rbox": {"cx": 10.0, "cy": 20.0, "width": 8.0, "height": 2.0}
            })
        );
        assert_eq!(
            serde_json::to_value(InstanceFields::default()).unwrap(),
            serde_json::json!({})
        );
    }
}
