//! What an object carries beyond its box (keypoints, a rotated box, a
//! mask), in frame pixels, and how it rides on the object's ROI as param
//! structures (GStreamer 1.22 has no analytics meta for them):
//!
//! - `keypoints`: `x`, `y` (arrays of doubles, frame pixels), `confidence`
//!   (array of doubles, -1 where the model gives none), `names` (array of
//!   strings, present when the points have names);
//! - `rotated-box`: `cx`, `cy`, `width`, `height` (doubles, frame pixels)
//!   and `angle` (double, radians, clockwise with y down); the ROI rectangle
//!   is the upright box around it;
//! - `mask`: `x`, `y`, `width`, `height` (ints, the ROI rectangle in frame
//!   pixels) and `data` (`GBytes`, `width * height` bytes row-major, 255
//!   inside the instance, 0 outside).

use gst::glib;
use gst_video::VideoRegionOfInterestMeta;

/// A keypoint in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameKeypoint {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
    /// Visibility score in 0..1, when the model gives one.
    pub confidence: Option<f64>,
    /// What the point is (`nose`, `left_eye`), when known.
    pub name: Option<String>,
}

/// A rotated box in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameRotatedBox {
    /// Centre x.
    pub cx: f64,
    /// Centre y.
    pub cy: f64,
    /// Extent along its rotated x axis.
    pub width: f64,
    /// Extent along its rotated y axis.
    pub height: f64,
    /// Rotation in radians, clockwise with y down.
    pub angle: f64,
}

impl FrameRotatedBox {
    /// The four corners, in Ultralytics' order.
    pub fn corners(&self) -> [(f64, f64); 4] {
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

/// A binary mask over an object's ROI rectangle, in frame pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMask {
    /// Left column of the rectangle.
    pub x: u32,
    /// Top row of the rectangle.
    pub y: u32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
    /// `width * height` values, row-major: 255 inside, 0 outside.
    pub data: Vec<u8>,
}

impl ObjectMask {
    /// Whether frame pixel (`x`, `y`) is inside the instance.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x
            && y >= self.y
            && x < self.x + self.width
            && y < self.y + self.height
            && self.data[((y - self.y) * self.width + (x - self.x)) as usize] != 0
    }

    /// Pixels inside the instance.
    pub fn area(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// COCO-style uncompressed run-length encoding over the rectangle:
    /// alternating runs of outside and inside pixels in column-major order
    /// (down each column, then the next), starting with outside (0 when
    /// the first pixel is inside), as `pycocotools` reads
    /// `{"size": [height, width], "counts": [...]}`.
    pub fn rle_counts(&self) -> Vec<u32> {
        let mut counts = Vec::new();
        let mut current = false;
        let mut run = 0u32;
        for x in 0..self.width {
            for y in 0..self.height {
                let inside = self.data[(y * self.width + x) as usize] != 0;
                if inside != current {
                    counts.push(run);
                    run = 0;
                    current = inside;
                }
                run += 1;
            }
        }
        counts.push(run);
        counts
    }
}

/// What an object carries beyond its box.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectDetails {
    /// Keypoints (pose, face landmarks).
    pub keypoints: Vec<FrameKeypoint>,
    /// The rotated box (oriented detection).
    pub rotated: Option<FrameRotatedBox>,
    /// The instance mask (segmentation).
    pub mask: Option<ObjectMask>,
}

/// Param structure names.
pub const KEYPOINTS_PARAMS: &str = "keypoints";
/// The rotated box's param structure.
pub const ROTATED_BOX_PARAMS: &str = "rotated-box";
/// The mask's param structure.
pub const MASK_PARAMS: &str = "mask";

/// Adds `details` to an object's ROI as param structures.
pub fn add_detail_params(meta: &mut VideoRegionOfInterestMeta, details: &ObjectDetails) {
    if !details.keypoints.is_empty() {
        let points = &details.keypoints;
        let doubles = |f: &dyn Fn(&FrameKeypoint) -> f64| gst::Array::new(points.iter().map(f));
        let mut params = gst::Structure::builder(KEYPOINTS_PARAMS)
            .field("x", doubles(&|p| p.x))
            .field("y", doubles(&|p| p.y))
            .field("confidence", doubles(&|p| p.confidence.unwrap_or(-1.0)))
            .build();
        if points.iter().all(|p| p.name.is_some()) {
            params.set(
                "names",
                gst::Array::new(points.iter().map(|p| p.name.clone().unwrap_or_default())),
            );
        }
        meta.add_param(params);
    }
    if let Some(rotated) = &details.rotated {
        meta.add_param(
            gst::Structure::builder(ROTATED_BOX_PARAMS)
                .field("cx", rotated.cx)
                .field("cy", rotated.cy)
                .field("width", rotated.width)
                .field("height", rotated.height)
                .field("angle", rotated.angle)
                .build(),
        );
    }
    if let Some(mask) = &details.mask {
        meta.add_param(
            gst::Structure::builder(MASK_PARAMS)
                .field("x", mask.x as i32)
                .field("y", mask.y as i32)
                .field("width", mask.width as i32)
                .field("height", mask.height as i32)
                .field("data", glib::Bytes::from(&mask.data[..]))
                .build(),
        );
    }
}

/// Reads what [`add_detail_params`] wrote on a ROI.
pub fn read_detail_params(meta: &VideoRegionOfInterestMeta) -> ObjectDetails {
    let doubles = |params: &gst::StructureRef, field: &str| -> Vec<f64> {
        params
            .get::<gst::Array>(field)
            .map(|array| array.iter().filter_map(|v| v.get::<f64>().ok()).collect())
            .unwrap_or_default()
    };
    let keypoints = meta
        .param(KEYPOINTS_PARAMS)
        .map(|params| {
            let (xs, ys, confidences) = (
                doubles(params, "x"),
                doubles(params, "y"),
                doubles(params, "confidence"),
            );
            let names: Vec<String> = params
                .get::<gst::Array>("names")
                .map(|array| {
                    array
                        .iter()
                        .filter_map(|v| v.get::<String>().ok())
                        .collect()
                })
                .unwrap_or_default();
            xs.iter()
                .zip(&ys)
                .enumerate()
                .map(|(i, (&x, &y))| FrameKeypoint {
                    x,
                    y,
                    confidence: confidences.get(i).copied().filter(|&c| c >= 0.0),
                    name: names.get(i).cloned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let rotated = meta.param(ROTATED_BOX_PARAMS).and_then(|params| {
        Some(FrameRotatedBox {
            cx: params.get("cx").ok()?,
            cy: params.get("cy").ok()?,
            width: params.get("width").ok()?,
            height: params.get("height").ok()?,
            angle: params.get("angle").ok()?,
        })
    });
    let mask = meta.param(MASK_PARAMS).and_then(|params| {
        let dim = |field: &str| {
            params
                .get::<i32>(field)
                .ok()
                .and_then(|v| u32::try_from(v).ok())
        };
        let data = params.get::<glib::Bytes>("data").ok()?.to_vec();
        let (width, height) = (dim("width")?, dim("height")?);
        (data.len() == (width * height) as usize).then_some(ObjectMask {
            x: dim("x")?,
            y: dim("y")?,
            width,
            height,
            data,
        })
    });
    ObjectDetails {
        keypoints,
        rotated,
        mask,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_runs_down_columns_starting_outside() {
        // 2 rows x 3 columns:
        //   0 1 1
        //   0 1 0
        let mask = ObjectMask {
            x: 0,
            y: 0,
            width: 3,
            height: 2,
            data: vec![0, 255, 255, 0, 255, 0],
        };
        // Column-major: 0 0 | 1 1 | 1 0 -> runs 2 out, 3 in, 1 out.
        assert_eq!(mask.rle_counts(), [2, 3, 1]);
        let full = ObjectMask {
            data: vec![255; 6],
            ..mask.clone()
        };
        assert_eq!(full.rle_counts(), [0, 6]);
        assert_eq!(full.area(), 6);
        assert!(mask.contains(1, 1) && !mask.contains(2, 1) && !mask.contains(9, 0));
    }

    #[test]
    fn rotated_corners_follow_the_angle() {
        let quarter = FrameRotatedBox {
            cx: 10.0,
            cy: 20.0,
            width: 8.0,
            height: 2.0,
            angle: std::f64::consts::FRAC_PI_2,
        };
        let [a, _, c, _] = quarter.corners();
        assert!(
            (a.0 - 9.0).abs() < 1e-9 && (a.1 - 24.0).abs() < 1e-9,
            "{a:?}"
        );
        assert!(
            (c.0 - 11.0).abs() < 1e-9 && (c.1 - 16.0).abs() < 1e-9,
            "{c:?}"
        );
    }
}
