#!/usr/bin/env bash
# Face detections on a real clip sent to an MQTT broker, one JSON message per
# frame (QoS 1), and a subscriber that prints what arrives. BROKER=HOST:PORT
# uses your broker; without it the script starts a mosquitto of its own on a
# free loopback port (Debian: apt-get install mosquitto mosquitto-clients).
# expect: ^\{"frame":0,"pts_ms":[0-9.]+,"width":176,"height":144,"classes":\[\{"cat":"face","prob":0\.9
# expect: received 120 messages on gst-dl/faces
set -euo pipefail
source "$(dirname "$0")/env.sh"
PATH="$PATH:/usr/sbin"  # Debian's mosquitto
if [ -z "${BROKER:-}" ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mosquitto -p "$port" >/dev/null 2>&1 &   # no config file: loopback only
    broker=$!
    trap 'kill $broker' EXIT
    BROKER="127.0.0.1:$port"
    until mosquitto_sub -h 127.0.0.1 -p "$port" -t probe -E 2>/dev/null; do sleep 0.05; done
fi
host=${BROKER%:*} port=${BROKER##*:} topic="gst-dl/faces"
# A persistent session (-c -i): subscribed now, so no message is missed.
id="gst-dl-example-$$"
mosquitto_sub -h "$host" -p "$port" -t "$topic" -q 1 -c -i "$id" -E
mosquitto_sub -h "$host" -p "$port" -t "$topic" -q 1 -c -i "$id" -C 120 -W 120 >"${TMPDIR:-/tmp}/$id.jsonl" &
subscriber=$!
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlinfer model="$MODELS/centerface.onnx" decoder=centerface input-std=1 iou-threshold=0.3 \
        labels-file="$GSTDL_ROOT/models/labels/centerface.txt" ! \
    dlpublish all-frames=true location="mqtt://$host:$port/$topic" mqtt-qos=1 ! fakesink
wait "$subscriber"
head -n 1 "${TMPDIR:-/tmp}/$id.jsonl"
echo "received $(wc -l <"${TMPDIR:-/tmp}/$id.jsonl") messages on $topic"
rm -f "${TMPDIR:-/tmp}/$id.jsonl"
