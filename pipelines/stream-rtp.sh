#!/usr/bin/env bash
# DeepDetect's video-to-video example as a pipeline: a model's frames
# streamed as RTP/JPEG over UDP (here to a receiver on loopback that this
# script starts first; it counts the frames that arrive). RTP/JPEG carries
# 4:2:0 JPEG, hence I420 before jpegenc.
# expect: received [1-9][0-9]* frames of 176x144 over RTP
# expect: "status":"eos","processed_frames":120
set -euo pipefail
source "$(dirname "$0")/env.sh"
port="${GSTDL_RTP_PORT:-5000}"
frames="$(mktemp)"
gst-launch-1.0 -q -e udpsrc address=127.0.0.1 port="$port" \
        caps="application/x-rtp,media=video,encoding-name=JPEG,payload=26,clock-rate=90000" ! \
    rtpjpegdepay ! jpegdec ! videoconvert ! video/x-raw,format=GRAY8,width=176,height=144 ! \
    filesink location="$frames" &
receiver=$!
sleep 1
status="$(mktemp --suffix=.json)"
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlstats progress=true interval=500 location="$status" ! \
    dltransform model="$MODELS/test/invert.onnx" ! videoconvert ! video/x-raw,format=I420 ! \
    jpegenc ! rtpjpegpay ! udpsink host=127.0.0.1 port="$port"
sleep 1
kill -INT "$receiver"
wait "$receiver" || true
echo "received $(( $(stat -c %s "$frames") / (176 * 144) )) frames of 176x144 over RTP"
cat "$status"
rm -f "$frames" "$status"
