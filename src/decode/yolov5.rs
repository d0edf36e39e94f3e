//! YOLOv5 / YOLOv7: one output `[anchors, 5+classes]` (or transposed) with
//! `cx, cy, w, h` in model-input pixels, an objectness score and one
//! probability per class; confidence is objectness times the best class
//! probability. The maths it shares with YOLOv8 is in `yolo.rs`.

use super::decoder::{AutoVerdict, DecodeFailure, Decoder, Produces};
use super::error::Mismatch;
use super::shape::OutputShape;
use super::yolo::{self, YOLOV5};
use super::{DecodeSettings, Decoded, OutputLayout, OutputView, suppress_and_clip};

/// The YOLOv5 / YOLOv7 decoder.
pub(super) struct Yolov5;

impl Decoder for Yolov5 {
    fn name(&self) -> &'static str {
        "yolov5"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["yolov7"]
    }

    fn summary(&self) -> &'static str {
        "YOLOv5 / v7: [anchors, 5+classes] with objectness"
    }

    fn expects(&self) -> &'static str {
        "one output shaped [anchors, 5+classes] (or [5+classes, anchors])"
    }

    fn produces(&self) -> Produces {
        Produces::Boxes
    }

    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch> {
        yolo::check(YOLOV5, shapes).map(drop)
    }

    fn auto(&self, shapes: &[OutputShape]) -> AutoVerdict {
        yolo::auto(YOLOV5, shapes)
    }

    fn num_classes(&self, shapes: &[OutputShape]) -> Option<usize> {
        yolo::num_classes(YOLOV5, shapes)
    }

    fn layout(&self, shapes: &[OutputShape]) -> OutputLayout {
        yolo::layout(YOLOV5, shapes)
    }

    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure> {
        let params = &settings.detection;
        let candidates = yolo::decode(YOLOV5, outputs, params.layout.yolo, params)?;
        Ok(Decoded::Detections(suppress_and_clip(candidates, params)))
    }
}
