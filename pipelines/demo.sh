#!/usr/bin/env bash
# The demo: CenterFace face detection on a real clip, boxes and labels drawn
# by dloverlay, progress from dlstats, detections written by dlpublish.
# Writes into OUT (default out/): faces.mp4 (annotated video), faces.jsonl
# (one JSON line per frame), annotated.png (frame 60), status.json.
# expect: faces.mp4: 120 frames
# expect: faces found in (10[89]|11[0-9]|120) of 120 frames
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="${1:-$GSTDL_ROOT/out}"
mkdir -p "$out"
frames_dir="$(mktemp -d)"
trap 'rm -rf "$frames_dir"' EXIT
# carphone_pristine.mp4 is 176x144: scaled 3x first so labels stay legible.
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    videoscale ! video/x-raw,width=528,height=432 ! \
    dlstats progress=true interval=250 location="$out/status.json" ! \
    dlinfer model="$MODELS/centerface.onnx" decoder=centerface input-std=1 iou-threshold=0.3 \
        labels-file="$GSTDL_ROOT/models/labels/centerface.txt" ! \
    dlpublish location="$out/faces.jsonl" all-frames=true ! \
    dloverlay line-width=3 ! tee name=t \
    t. ! queue ! videoconvert ! x264enc speed-preset=veryfast ! mp4mux ! filesink location="$out/faces.mp4" \
    t. ! queue ! videoconvert ! pngenc ! multifilesink location="$frames_dir/%03d.png"
cp "$frames_dir/060.png" "$out/annotated.png"
frames=$(gst-launch-1.0 -m filesrc location="$out/faces.mp4" ! decodebin ! dlstats ! fakesink \
    | grep -o 'status=(string)eos, processed-frames=(guint64)[0-9]*' | grep -o '[0-9]*$')
echo "faces.mp4: $frames frames"
"$GSTDL_ROOT/.venv/bin/python" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
lines = [json.loads(l) for l in open(f"{out}/faces.jsonl")]
with_face = sum(1 for l in lines if any(c["cat"] == "face" for c in l["classes"]))
faces = sum(len(l["classes"]) for l in lines)
status = json.load(open(f"{out}/status.json"))
print(f"faces found in {with_face} of {len(lines)} frames ({faces} detections), "
      f"{status['fps']:.1f} frames/s average over {status['elapsed_ms'] / 1000:.1f} s")
print(f"files: {out}/faces.mp4 (annotated video), {out}/faces.jsonl (detections), "
      f"{out}/annotated.png (frame 60), {out}/status.json (final status)")
PY
