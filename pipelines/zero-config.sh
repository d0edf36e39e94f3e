#!/usr/bin/env bash
# A model that describes itself runs with model= alone. The generated
# yolov8seg_meta.onnx carries what an Ultralytics export writes into its
# metadata_props (task=segment, names, imgsz=[320, 320]), so dlinfer picks
# the segmentation decoder, names the classes, sizes the input and
# letterboxes the frames by itself; `gst-launch-1.0 -v` prints its
# model-info (what was decided, and from where), dlpublish the square it
# finds with its mask as COCO RLE. With a real export, e.g.
# `yolo export model=yolo11n-seg.pt format=onnx`, the line is the same.
# expect: model-info = .*decoder.*name.*yolov8seg.*source.*model metadata
# expect: scale-mode.*name.*letterbox
# expect: "cat":"square","prob":0\.(9|89)[0-9]*,"bbox":\{"xmin":8[01]\.[0-9]+,.*"mask":\{"x":80,"y":120,"size":\[120,80\],"counts":\[
set -euo pipefail
source "$(dirname "$0")/env.sh"
# A white 80x120 square at (80, 120) on a black 640x480 frame.
gst-launch-1.0 -v videotestsrc num-buffers=1 pattern=white ! video/x-raw,width=80,height=120 ! \
    videobox top=-120 left=-80 bottom=-240 right=-480 fill=black ! videoconvert ! \
    dlinfer model="$MODELS/test/yolov8seg_meta.onnx" ! dlpublish location=- ! fakesink \
    | grep -E 'model-info|"classes"' | sed -e 's/\\//g'
