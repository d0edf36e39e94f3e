//! YOLOv8 / YOLO11 (ultralytics): one output `[4+classes, anchors]` (or
//! transposed) with `cx, cy, w, h` in model-input pixels and one score per
//! class, no objectness. The maths it shares with YOLOv5 is in `yolo.rs`.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::OutputShape;
use super::yolo::{self, YOLOV8};
use super::{DecodeSettings, Decoded, OutputLayout, OutputView, suppress_and_clip};

/// The YOLOv8 / YOLO11 decoder.
pub(super) struct Yolov8;

impl Decoder for Yolov8 {
    fn name(&self) -> &'static str {
        "yolov8"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["yolo11", "yolov11"]
    }

    fn summary(&self) -> &'static str {
        "YOLOv8 / YOLO11: [4+classes, anchors] or transposed"
    }

    fn expects(&self) -> &'static str {
        "one output shaped [4+classes, anchors] (or [anchors, 4+classes])"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        yolo::check(YOLOV8, shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        yolo::auto(YOLOV8, shapes)
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        yolo::num_classes(YOLOV8, shapes)
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        yolo::layout(YOLOV8, shapes)
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let params = &settings.detection;
        let candidates = yolo::decode(YOLOV8, outputs, params.layout.yolo, params)?;
        Ok(Decoded::Detections(suppress_and_clip(candidates, params)))
    }
}
