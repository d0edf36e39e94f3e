#!/usr/bin/env bash
# A served model: CenterFace runs on a Triton Inference Server (KServe v2)
# instead of in the pipeline; dlinfer sends each frame's tensor over HTTP
# (binary tensors, 2 requests in flight) and decodes the answer exactly as
# for the local file. The script starts Triton on free loopback ports from
# .venv-triton (scripts/setup.sh --tests), runs the pipeline, and stops
# Triton by its PID. With a Triton of your own, only the gst-launch line is
# needed: model=http://HOST:8000/v2/models/NAME or grpc://HOST:8001/NAME.
# expect: "frame":0,.*"cat":"face","prob":0\.9
# expect: "frame":119,
set -euo pipefail
source "$(dirname "$0")/env.sh"
free_port() { "$GSTDL_ROOT/.venv-triton/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port="$(free_port)"
grpc_port="$(free_port)"
work="$(mktemp -d)"
"$GSTDL_ROOT/.venv-triton/bin/python" "$GSTDL_ROOT/scripts/serve_models.py" triton "$work" "$http_port" "$grpc_port" \
    centerface="$MODELS/centerface.onnx" >"$work/triton.log" 2>&1 &
triton=$!
trap 'kill "$triton" 2>/dev/null; wait "$triton" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$http_port/v2/models/centerface/ready" >/dev/null && break
    kill -0 "$triton" 2>/dev/null || { cat "$work/triton.log"; exit 1; }
    sleep 0.2
done
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlinfer model="http://127.0.0.1:$http_port/v2/models/centerface" remote-requests=2 \
        decoder=centerface input-std=1 iou-threshold=0.3 labels-file="$GSTDL_ROOT/models/labels/centerface.txt" ! \
    dlpublish location=- ! fakesink
