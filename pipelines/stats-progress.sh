#!/usr/bin/env bash
# Progress of a real clip: a progress bar on stderr, dlstats messages on the
# bus, and the final status as JSON (DeepDetect's GET /stream body).
# expect: status=\(string\)eos, processed-frames=\(guint64\)120
# expect: "processed_frames":120
set -euo pipefail
source "$(dirname "$0")/env.sh"
status="${1:-$(mktemp --suffix=.json)}"
gst-launch-1.0 -m filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlstats progress=true interval=250 location="$status" ! fakesink sync=false \
    | grep -E 'dlstats, status=\(string\)eos'
echo "final status ($status):"
cat "$status"
