#!/usr/bin/env bash
# Video to video into a file: U2-Netp removes the background of a real clip
# (the man in the car becomes a cutout on green), encoded to MP4, with
# dlstats drawing progress and keeping a JSON status file.
# expect: "status":"eos","processed_frames":120
# expect: cutout.mp4: 120 frames
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlstats progress=true interval=500 location="$out/status.json" ! \
    dltransform model="$MODELS/u2netp.onnx" \
        input-mean=123.675,116.28,103.53 input-std=58.395,57.12,57.375 \
        normalize-output=true mask-mode=cutout background-color=0xff00ff00 ! \
    videoconvert ! x264enc speed-preset=ultrafast ! mp4mux ! filesink location="$out/cutout.mp4"
cat "$out/status.json"
frames=$(gst-launch-1.0 -m filesrc location="$out/cutout.mp4" ! decodebin ! dlstats ! fakesink \
    | grep -o 'status=(string)eos, processed-frames=(guint64)[0-9]*' | grep -o '[0-9]*$')
echo "cutout.mp4: $frames frames"
