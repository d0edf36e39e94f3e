//! YOLOv8 / YOLO11 (ultralytics): one output `[4+classes, anchors]` (or
//! transposed) with `cx, cy, w, h` in model-input pixels and one score per
//! class, no objectness. The maths it shares with YOLOv5 is in `yolo.rs`.

use super::yolo::{YOLOV8, YoloDecoder};

/// The YOLOv8 / YOLO11 decoder.
pub(super) static DECODER: YoloDecoder = YoloDecoder {
    head: YOLOV8,
    name: "yolov8",
    aliases: &["yolo11", "yolov11"],
    summary: "YOLOv8 / YOLO11: [4+classes, anchors] or transposed",
    expects: "one output shaped [4+classes, anchors] (or [anchors, 4+classes])",
};
