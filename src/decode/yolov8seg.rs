//! YOLOv8 / YOLO11 instance segmentation (Ultralytics `task=segment`): two
//! outputs, the boxes `[4 + classes + M, anchors]` (or transposed: `cx, cy,
//! w, h` in model-input pixels, one score per class, then M mask
//! coefficients) and the prototypes `[M, mh, mw]` (usually 32 masks at a
//! quarter of the input size). An instance's mask is
//! `sigmoid(coefficients . prototypes)`, cropped to its box: it is computed
//! only on the prototype cells under the box (and one around it, for
//! sampling between cells), after suppression, so its cost follows the
//! instances kept and their size, not the anchors.
//!
//! `decoder=auto` picks it for two outputs shaped so (one `[a, b]`, one
//! `[M, mh, mw]`), which no other decoder reads.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::{OutputShape, format_dims};
use super::yolo::{self, Orientation};
use super::{
    DecodeSettings, Decoded, Detection, DetectionParams, InstanceMask, OutputLayout, OutputView,
    suppress_and_clip,
};

/// The YOLOv8 / YOLO11 segmentation decoder.
pub(super) struct Yolov8Seg;

/// Which output is which: (boxes, prototypes).
fn roles<T>(outputs: &[T], rank: impl Fn(&T) -> usize) -> Option<(usize, usize)> {
    match outputs {
        [a, b] if rank(a) == 2 && rank(b) == 3 => Some((0, 1)),
        [a, b] if rank(a) == 3 && rank(b) == 2 => Some((1, 0)),
        _ => None,
    }
}

fn check_shapes(shapes: &[OutputShape]) -> Result<Option<Orientation>, Mismatch> {
    let Some((boxes, protos)) = roles(shapes, OutputShape::rank) else {
        return Err(Mismatch::default());
    };
    let coefficients = shapes[protos].dims[0].unwrap_or(1);
    yolo::extras_orientation(shapes[boxes].name, &shapes[boxes].dims, coefficients)
}

impl Decoder for Yolov8Seg {
    fn name(&self) -> &'static str {
        "yolov8seg"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["yolo11seg", "yolov11seg"]
    }

    fn summary(&self) -> &'static str {
        "YOLOv8 / YOLO11 segmentation: [4+classes+32, anchors] and prototypes [32, mh, mw] (Ultralytics task=segment)"
    }

    fn expects(&self) -> &'static str {
        "two outputs: boxes [4+classes+M, anchors] (or transposed) and mask prototypes [M, mh, mw]"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        check_shapes(shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        let Some((boxes, protos)) = roles(shapes, OutputShape::rank) else {
            return AutoVerdict::Pass;
        };
        match check_shapes(shapes) {
            Ok(_) => AutoVerdict::Pick(format!(
                "'{}' {} and '{}' {} are boxes with mask coefficients and mask prototypes, \
                 as Ultralytics YOLOv8/YOLO11 segmentation exports them",
                shapes[boxes].name,
                format_dims(&shapes[boxes].dims),
                shapes[protos].name,
                format_dims(&shapes[protos].dims)
            )),
            Err(mismatch) => AutoVerdict::Doubt(format!(
                "two outputs shaped like segmentation's, but {}",
                mismatch.detail.unwrap_or_else(|| "they do not fit".into())
            )),
        }
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        let orientation = check_shapes(shapes).ok()??;
        let (boxes, protos) = roles(shapes, OutputShape::rank)?;
        let dims = &shapes[boxes].dims;
        let attributes = match orientation {
            Orientation::AttributesFirst => dims.first(),
            Orientation::AnchorsFirst => dims.get(1),
        };
        attributes
            .copied()??
            .checked_sub(4 + shapes[protos].dims[0]?)
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        OutputLayout {
            yolo: check_shapes(shapes).ok().flatten(),
            ..OutputLayout::default()
        }
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let params = &settings.detection;
        let (boxes, protos) =
            roles(outputs, |view| view.shape.len()).ok_or_else(Mismatch::default)?;
        let (boxes, protos) = (&outputs[boxes], &outputs[protos]);
        let &[coefficients, grid_height, grid_width] = protos.shape else {
            return Err(Mismatch::default().into());
        };
        let mut candidates = Vec::new();
        let mut mixes: Vec<Vec<f32>> = Vec::new();
        yolo::scan_with_extras(
            boxes,
            params.layout.yolo,
            coefficients,
            params.confidence_threshold,
            |table, anchor, class_id, score| {
                if let Some(mut detection) = yolo::anchor_candidate(table, anchor, class_id, score)
                {
                    let first = table.attributes - coefficients;
                    detection.details.anchor = Some(mixes.len());
                    mixes.push(
                        (0..coefficients)
                            .map(|k| table.get(anchor, first + k))
                            .collect(),
                    );
                    candidates.push(detection);
                }
            },
        )?;
        let mut kept = suppress_and_clip(candidates, params);
        let prototypes = Prototypes {
            data: protos.data,
            count: coefficients,
            width: grid_width,
            height: grid_height,
        };
        for detection in &mut kept {
            let mix = detection.details.anchor.and_then(|index| mixes.get(index));
            if let Some(mix) = mix {
                detection.details.mask = Some(prototypes.mask(detection, mix, params));
            }
        }
        Ok(Decoded::Detections(kept))
    }
}

/// The mask prototypes of one frame, `[count, height, width]`.
struct Prototypes<'a> {
    data: &'a [f32],
    count: usize,
    width: usize,
    height: usize,
}

impl Prototypes<'_> {
    /// The mask of `detection` with coefficients `mix`, on the cells under
    /// its box and one around them.
    fn mask(&self, detection: &Detection, mix: &[f32], params: &DetectionParams) -> InstanceMask {
        // Ultralytics' prototypes cover the input at a fixed ratio (a quarter).
        let cell = |input: usize, cells: usize| {
            if input > 0 && cells > 0 {
                input as f32 / cells as f32
            } else {
                4.0
            }
        };
        let cell_width = cell(params.input_width, self.width);
        let cell_height = cell(params.input_height, self.height);
        let range = |low: f32, high: f32, size: f32, cells: usize| {
            let first = ((low / size).floor() as isize - 1).clamp(0, cells as isize) as usize;
            let last = ((high / size).ceil() as isize + 1).clamp(0, cells as isize) as usize;
            (first, last.max(first))
        };
        let (c0, c1) = range(detection.x_min, detection.x_max, cell_width, self.width);
        let (r0, r1) = range(detection.y_min, detection.y_max, cell_height, self.height);
        let (width, height) = (c1 - c0, r1 - r0);
        let plane = self.width * self.height;
        let mut data = vec![0.0f32; width * height];
        for (k, &weight) in mix.iter().enumerate().take(self.count) {
            for row in 0..height {
                let start = k * plane + (r0 + row) * self.width + c0;
                let Some(source) = self.data.get(start..start + width) else {
                    continue;
                };
                for (value, &prototype) in data[row * width..][..width].iter_mut().zip(source) {
                    *value += weight * prototype;
                }
            }
        }
        for value in &mut data {
            *value = 1.0 / (1.0 + (-*value).exp());
        }
        InstanceMask {
            column: c0,
            row: r0,
            width,
            height,
            cell_width,
            cell_height,
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_mix_the_prototypes_under_the_box() {
        // One class, two coefficients, two anchors; prototypes 2 x 4 x 4 over
        // a 16 x 16 input (cells of 4 px). Prototype 0 is +10 on the left
        // half, prototype 1 is +10 on the top half.
        let anchors = [
            [8.0, 8.0, 8.0, 8.0, 0.9, 1.0, 0.0],
            [8.0, 8.0, 8.0, 8.0, 0.1, 0.0, 1.0],
        ];
        let boxes: Vec<f32> = (0..7)
            .flat_map(|a| anchors.iter().map(move |row| row[a]))
            .collect();
        let mut protos = vec![-10.0f32; 2 * 16];
        for row in 0..4 {
            for col in 0..4 {
                if col < 2 {
                    protos[row * 4 + col] = 10.0;
                }
                if row < 2 {
                    protos[16 + row * 4 + col] = 10.0;
                }
            }
        }
        let params = DetectionParams {
            confidence_threshold: 0.5,
            iou_threshold: 0.45,
            max_detections: 10,
            input_width: 16,
            input_height: 16,
            layout: OutputLayout::default(),
        };
        let outputs = [
            OutputView {
                name: "output0",
                shape: &[7, 2],
                data: &boxes,
            },
            OutputView {
                name: "output1",
                shape: &[2, 4, 4],
                data: &protos,
            },
        ];
        let Ok(Decoded::Detections(found)) =
            Yolov8Seg.decode(&outputs, &DecodeSettings::for_detection(params))
        else {
            panic!("no detections");
        };
        assert_eq!(found.len(), 1);
        let mask = found[0].details.mask.as_ref().expect("a mask");
        // The box 4..12 covers cells 1..3, one more each side: all 4.
        assert_eq!(
            (mask.column, mask.row, mask.width, mask.height),
            (0, 0, 4, 4)
        );
        assert!(mask.probability_at(5.0, 9.0) > 0.99, "left half");
        assert!(mask.probability_at(11.0, 9.0) < 0.01, "right half");
        assert!((mask.probability_at(8.0, 8.0) - 0.5).abs() < 1e-3, "edge");
    }

    #[test]
    fn auto_picks_two_outputs_shaped_for_segmentation() {
        let boxes = OutputShape {
            name: "output0",
            dims: vec![Some(116), Some(8400)],
        };
        let protos = OutputShape {
            name: "output1",
            dims: vec![Some(32), Some(160), Some(160)],
        };
        let shapes = [boxes, protos];
        assert!(matches!(Yolov8Seg.auto(&shapes), AutoVerdict::Pick(_)));
        assert_eq!(Yolov8Seg.num_classes(&shapes), Some(80));
    }
}
