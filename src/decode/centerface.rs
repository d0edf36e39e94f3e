//! CenterFace: an anchor-free face detector whose four outputs are maps over
//! a grid at a quarter of the input resolution:
//!
//! - heatmap `[1, h, w]`: face-centre probability (sigmoid already applied),
//! - scale `[2, h, w]`: log of box height and width, in grid cells,
//! - offset `[2, h, w]`: sub-cell offset of the centre (y, x),
//! - landmarks `[10, h, w]`: five facial points (not decoded here).
//!
//! Outputs are told apart by channel count; the two 2-channel maps by order
//! (scale before offset), which is how the reference export lists them.
//!
//! For each cell (row, col) whose heatmap value is above the threshold:
//! height = exp(scale\[0\]) * 4, width = exp(scale\[1\]) * 4,
//! centre x = (col + offset\[1\] + 0.5) * 4, centre y = (row + offset\[0\] + 0.5) * 4,
//! in model-input pixels, class 0 ("face"). The reference code shifts boxes
//! that cross the left or top edge inwards instead of cutting them; here they
//! are clipped like every other detector's boxes.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{self, OutputShape, compatible, format_dims};
use super::{
    DecodeSettings, Decoded, Detection, DetectionParams, Keypoint, OutputView, candidate, clears,
    suppress_and_clip,
};

/// The CenterFace decoder.
pub(super) struct CenterFace;

impl Decoder for CenterFace {
    fn name(&self) -> &'static str {
        "centerface"
    }

    fn summary(&self) -> &'static str {
        "CenterFace: heatmap, scale, offset, landmarks"
    }

    fn expects(&self) -> &'static str {
        "4 outputs shaped [1,h,w], [2,h,w], [2,h,w] and [10,h,w] (heatmap, scale, offset, landmarks)"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        check(shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        match (shapes.len(), check(shapes)) {
            (4, Ok(_)) => AutoVerdict::Pick(
                "four maps with 1, 2, 2 and 10 channels, like CenterFace".to_owned(),
            ),
            (4, Err(_)) => AutoVerdict::Doubt(
                "four outputs that are not CenterFace's maps with 1, 2, 2 and 10 channels"
                    .to_owned(),
            ),
            _ => AutoVerdict::Pass,
        }
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        // Faces are the one class.
        check(shapes).ok().map(|_| 1)
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

/// Model-input pixels per grid cell.
const STRIDE: f32 = 4.0;

/// Indices of the four maps among the outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout {
    /// The 1-channel heatmap.
    pub heatmap: usize,
    /// The first 2-channel map.
    pub scale: usize,
    /// The second 2-channel map.
    pub offset: usize,
    /// The 10-channel landmarks map.
    pub landmarks: usize,
}

/// Finds the four maps among `shapes` and checks that they share one grid.
pub(super) fn check(shapes: &[OutputShape]) -> Result<Layout, Mismatch> {
    if shapes.len() != 4 {
        return Err(Mismatch::default());
    }
    if let Some(odd) = shapes.iter().find(|shape| shape.rank() != 3) {
        return Err(Mismatch::because(format!(
            "'{}' is {}, not [channels,h,w]",
            odd.name,
            format_dims(&odd.dims)
        )));
    }
    let with_channels = |channels: usize| -> Vec<usize> {
        (0..shapes.len())
            .filter(|&i| shapes[i].dims[0] == Some(channels))
            .collect()
    };
    let (ones, twos, tens) = (with_channels(1), with_channels(2), with_channels(10));
    let (&[heatmap], &[scale, offset], &[landmarks]) = (&ones[..], &twos[..], &tens[..]) else {
        let channels: Vec<Option<usize>> = shapes.iter().map(|shape| shape.dims[0]).collect();
        return Err(Mismatch::because(format!(
            "the channel counts are {}, not 1, 2, 2 and 10",
            format_dims(&channels)
        )));
    };
    let grid = |index: usize| [shapes[index].dims[1], shapes[index].dims[2]];
    let heatmap_grid = grid(heatmap);
    for other in [scale, offset, landmarks] {
        let other_grid = grid(other);
        if !(compatible(heatmap_grid[0], other_grid[0])
            && compatible(heatmap_grid[1], other_grid[1]))
        {
            return Err(Mismatch::because(format!(
                "the heatmap '{}' grid {} differs from '{}' grid {}",
                shapes[heatmap].name,
                format_dims(&heatmap_grid),
                shapes[other].name,
                format_dims(&other_grid)
            )));
        }
    }
    Ok(Layout {
        heatmap,
        scale,
        offset,
        landmarks,
    })
}

/// Decodes one frame into face candidates above the confidence threshold
/// (before NMS).
pub(super) fn decode(
    outputs: &[OutputView],
    params: &DetectionParams,
) -> Result<Vec<Detection>, Mismatch> {
    let layout = check(&shape::from_views(outputs))?;
    let map = |index: usize| {
        outputs
            .get(index)
            .map(|output| output.data)
            .ok_or_else(Mismatch::default)
    };
    let (heatmap, scale, offset, landmarks) = (
        map(layout.heatmap)?,
        map(layout.scale)?,
        map(layout.offset)?,
        map(layout.landmarks)?,
    );
    let width = outputs
        .get(layout.heatmap)
        .and_then(|output| output.shape.get(2))
        .copied()
        .unwrap_or(0);
    let cells = heatmap.len();
    // The 2-channel maps are two planes of `cells` values each.
    let (Some((log_height, log_width)), Some((offset_y, offset_x))) =
        (split_planes(scale, cells), split_planes(offset, cells))
    else {
        return Err(Mismatch::default());
    };
    if width == 0 {
        return Ok(Vec::new());
    }

    let threshold = params.confidence_threshold;
    let mut found = Vec::new();
    for (cell, &score) in heatmap.iter().enumerate() {
        // Infinite scores pass here and fail in `candidate`.
        if !clears(score, threshold) {
            continue;
        }
        let (row, col) = ((cell / width) as f32, (cell % width) as f32);
        let height = log_height[cell].exp() * STRIDE;
        let box_width = log_width[cell].exp() * STRIDE;
        let centre_x = (col + offset_x[cell] + 0.5) * STRIDE;
        let centre_y = (row + offset_y[cell] + 0.5) * STRIDE;
        let (left, top) = (centre_x - box_width / 2.0, centre_y - height / 2.0);
        if let Some(mut face) = candidate(
            0,
            score,
            left,
            top,
            centre_x + box_width / 2.0,
            centre_y + height / 2.0,
        ) {
            face.details.keypoints =
                face_landmarks(landmarks, cells, cell, left, top, box_width, height);
            found.push(face);
        }
    }
    Ok(found)
}

/// The five landmarks of the face at `cell` (eyes, nose, mouth corners, in
/// the model's order): channel 2j holds landmark j's y and 2j+1 its x, as
/// fractions of the box's height and width from its top-left corner.
fn face_landmarks(
    landmarks: &[f32],
    cells: usize,
    cell: usize,
    left: f32,
    top: f32,
    width: f32,
    height: f32,
) -> Vec<Keypoint> {
    if landmarks.len() != LANDMARKS * 2 * cells {
        return Vec::new();
    }
    (0..LANDMARKS)
        .map(|j| Keypoint {
            x: left + landmarks[(2 * j + 1) * cells + cell] * width,
            y: top + landmarks[2 * j * cells + cell] * height,
            confidence: None,
        })
        .collect()
}

/// Landmarks per face: two eyes, the nose, two mouth corners.
const LANDMARKS: usize = 5;

/// The two planes of a `[2, h, w]` map with `cells` = h * w.
fn split_planes(map: &[f32], cells: usize) -> Option<(&[f32], &[f32])> {
    (map.len() == 2 * cells).then(|| map.split_at(cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> DetectionParams {
        DetectionParams {
            confidence_threshold: 0.5,
            iou_threshold: 0.3,
            max_detections: 100,
            input_width: 32,
            input_height: 16,
            layout: Default::default(),
        }
    }

    /// Maps for a 4 x 8 grid (a 16 x 32 input), all quiet.
    struct Maps {
        heatmap: Vec<f32>,
        scale: Vec<f32>,
        offset: Vec<f32>,
        landmarks: Vec<f32>,
    }

    const H: usize = 4;
    const W: usize = 8;

    impl Maps {
        fn quiet() -> Self {
            Maps {
                heatmap: vec![0.0; H * W],
                scale: vec![0.0; 2 * H * W],
                offset: vec![0.0; 2 * H * W],
                landmarks: vec![0.0; 10 * H * W],
            }
        }

        /// Puts a face at a cell: score, log sizes, offsets.
        fn face(
            &mut self,
            row: usize,
            col: usize,
            score: f32,
            log_hw: [f32; 2],
            offset_yx: [f32; 2],
        ) {
            let cell = row * W + col;
            self.heatmap[cell] = score;
            self.scale[cell] = log_hw[0];
            self.scale[H * W + cell] = log_hw[1];
            self.offset[cell] = offset_yx[0];
            self.offset[H * W + cell] = offset_yx[1];
        }

        fn views(&self) -> [OutputView<'_>; 4] {
            [
                OutputView {
                    name: "537",
                    shape: &[1, H, W],
                    data: &self.heatmap,
                },
                OutputView {
                    name: "538",
                    shape: &[2, H, W],
                    data: &self.scale,
                },
                OutputView {
                    name: "539",
                    shape: &[2, H, W],
                    data: &self.offset,
                },
                OutputView {
                    name: "540",
                    shape: &[10, H, W],
                    data: &self.landmarks,
                },
            ]
        }
    }

    #[test]
    fn decodes_a_face_in_input_pixels() {
        let mut maps = Maps::quiet();
        maps.face(1, 2, 0.9, [2.0f32.ln(), 1.0f32.ln()], [0.25, 0.5]);
        let found = decode(&maps.views(), &params()).unwrap();
        // Height 2 * 4 = 8, width 1 * 4 = 4, centre x (2 + 0.5 + 0.5) * 4 = 12,
        // centre y (1 + 0.25 + 0.5) * 4 = 7.
        let expected = Detection {
            class_id: 0,
            confidence: 0.9,
            x_min: 10.0,
            y_min: 3.0,
            x_max: 14.0,
            y_max: 11.0,
            details: Default::default(),
        };
        assert_eq!(found.len(), 1);
        let got = &found[0];
        for (a, b) in [
            (got.x_min, expected.x_min),
            (got.y_min, expected.y_min),
            (got.x_max, expected.x_max),
            (got.y_max, expected.y_max),
        ] {
            assert!((a - b).abs() < 1e-5, "{got:?}");
        }
        assert_eq!((got.class_id, got.confidence), (0, 0.9));
    }

    #[test]
    fn nothing_above_threshold_means_no_faces() {
        let mut maps = Maps::quiet();
        maps.face(0, 0, 0.5, [0.0, 0.0], [0.0, 0.0]);
        assert!(decode(&maps.views(), &params()).unwrap().is_empty());
    }

    #[test]
    fn unusable_cells_are_skipped() {
        let mut maps = Maps::quiet();
        maps.face(0, 0, f32::NAN, [0.0, 0.0], [0.0, 0.0]);
        maps.face(0, 1, f32::INFINITY, [0.0, 0.0], [0.0, 0.0]);
        // exp overflows to infinity.
        maps.face(0, 2, 0.9, [100.0, 0.0], [0.0, 0.0]);
        maps.face(0, 3, 0.9, [0.0, 0.0], [f32::NAN, 0.0]);
        assert!(decode(&maps.views(), &params()).unwrap().is_empty());
    }

    #[test]
    fn maps_are_found_by_channel_count() {
        let mut maps = Maps::quiet();
        maps.face(2, 3, 0.8, [0.0, 0.0], [0.0, 0.0]);
        let [heatmap, scale, offset, landmarks] = maps.views();
        let shuffled = [landmarks, scale, heatmap, offset];
        assert_eq!(
            decode(&shuffled, &params()).unwrap(),
            decode(&maps.views(), &params()).unwrap()
        );
        let layout = check(&shape::from_views(&shuffled)).unwrap();
        assert_eq!(
            layout,
            Layout {
                heatmap: 2,
                scale: 1,
                offset: 3,
                landmarks: 0
            }
        );
    }

    fn shapes(list: &[&[Option<usize>]]) -> Vec<OutputShape<'static>> {
        list.iter()
            .map(|dims| OutputShape {
                name: "map",
                dims: dims.to_vec(),
            })
            .collect()
    }

    #[test]
    fn dynamic_grids_pass_the_start_check() {
        let grid = [None, None];
        let layout = check(&shapes(&[
            &[Some(1), grid[0], grid[1]],
            &[Some(2), grid[0], grid[1]],
            &[Some(2), grid[0], grid[1]],
            &[Some(10), grid[0], grid[1]],
        ]));
        assert!(layout.is_ok());
    }

    #[test]
    fn shape_problems_are_explained() {
        let detail = |list: &[&[Option<usize>]]| {
            check(&shapes(list)).unwrap_err().detail.unwrap_or_default()
        };
        assert_eq!(
            detail(&[
                &[Some(1), Some(4), Some(8)],
                &[Some(2), Some(4), Some(8)],
                &[Some(2), Some(2), Some(8)],
                &[Some(10), Some(4), Some(8)],
            ]),
            "the heatmap 'map' grid [4,8] differs from 'map' grid [2,8]"
        );
        assert_eq!(
            detail(&[
                &[Some(1), Some(4), Some(8)],
                &[Some(2), Some(4), Some(8)],
                &[Some(3), Some(4), Some(8)],
                &[Some(10), Some(4), Some(8)],
            ]),
            "the channel counts are [1,2,3,10], not 1, 2, 2 and 10"
        );
        assert_eq!(
            detail(&[
                &[Some(1), Some(4), Some(8)],
                &[Some(2), Some(4)],
                &[Some(2)],
                &[Some(10)]
            ]),
            "'map' is [2,4], not [channels,h,w]"
        );
        assert!(check(&shapes(&[&[Some(1), Some(4), Some(8)]])).is_err());
    }
}
