#!/usr/bin/env bash
# Face detection on a real clip with real weights (CenterFace), printing the
# boxes of each frame from dlinfer's element messages. CenterFace takes raw
# 0..255 RGB (input-std=1) and its boxes overlap less than YOLO's (iou 0.3).
# expect: frame=\(guint64\)0, .*label=\(string\)face, label-id=\(int\)0, confidence=\(double\)0\.9
# expect: frame=\(guint64\)119,
set -euo pipefail
source "$(dirname "$0")/env.sh"
gst-launch-1.0 -m filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlinfer model="$MODELS/centerface.onnx" decoder=centerface input-std=1 iou-threshold=0.3 \
        labels-file="$GSTDL_ROOT/models/labels/centerface.txt" post-messages=true ! \
    fakesink \
    | grep -o 'dlinfer, frame=.*' | sed -e 's/\\//g'   # nested structures print escaped
