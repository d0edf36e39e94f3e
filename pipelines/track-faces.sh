#!/usr/bin/env bash
# Tracking at a third of the model's cost: CenterFace runs on every 3rd frame
# of a real clip, dltrack gives the face a stable id, predicts its box on the
# frames in between (predicted=true), and counts it into a zone ("seat", in
# 0..1 fractions of the frame). dlpublish prints each frame as JSON Lines
# with the object's "id" and the frame's "events".
# expect: "frame":0,.*"cat":"face".*"id":1[,}].*"events":\[\{"kind":"zone-entered","name":"seat","id":1\}\]
# expect: "frame":1,.*"id":1,"predicted":true
# expect: "frame":119,.*"id":1
set -euo pipefail
source "$(dirname "$0")/env.sh"
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlinfer model="$MODELS/centerface.onnx" decoder=centerface input-std=1 iou-threshold=0.3 \
        labels-file="$GSTDL_ROOT/models/labels/centerface.txt" inference-interval=3 ! \
    dltrack zones="seat:0.1,0.05,0.8,0.05,0.8,0.95,0.1,0.95" ! \
    dlpublish ! fakesink
