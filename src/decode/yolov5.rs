//! YOLOv5 / YOLOv7: one output `[anchors, 5+classes]` (or transposed) with
//! `cx, cy, w, h` in model-input pixels, an objectness score and one
//! probability per class; confidence is objectness times the best class
//! probability. The maths it shares with YOLOv8 is in `yolo.rs`.

use super::yolo::{YOLOV5, YoloDecoder};

/// The YOLOv5 / YOLOv7 decoder.
pub(super) static DECODER: YoloDecoder = YoloDecoder {
    head: YOLOV5,
    name: "yolov5",
    aliases: &["yolov7"],
    summary: "YOLOv5 / v7: [anchors, 5+classes] with objectness",
    expects: "one output shaped [anchors, 5+classes] (or [5+classes, anchors])",
};
