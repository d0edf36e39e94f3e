#!/usr/bin/env bash
# A gst-dl-server session with curl: DeepDetect's video API calls from its
# draft (shared/seeds/000_3194ece0fb9e399f.txt), with a local model and clip.
# tests/server.rs runs this script against a running server.
#
#   gst-dl-server --allow-dir /opt/models --allow-dir /opt/platform/data &
#   SERVER=http://localhost:8080 MODEL_DIR=/opt/models/centerface \
#   VIDEO=/opt/platform/data/video.mp4 OUT=/opt/platform/data/video_out.mp4 \
#       docs/server-session.sh
#
# MODEL_DIR holds centerface.onnx (scripts/fix_centerface.py makes it) and a
# corresp.txt with the line `0 face`. Set TOKEN if the server has --token.
set -euo pipefail
SERVER="${SERVER:-http://localhost:8080}"
MODEL_DIR="${MODEL_DIR:?set MODEL_DIR to a directory holding one .onnx model}"
VIDEO="${VIDEO:?set VIDEO to a video file inside an --allow-dir directory}"
OUT="${OUT:?set OUT to the .mp4 file the stream writes}"
auth=()
[ -n "${TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TOKEN")
call() { curl -sS --fail-with-body "${auth[@]}" "$@"; echo; }

# service creation (CenterFace needs its decoder and raw 0..255 input)
call -X PUT "$SERVER/services/imageserv" -d '{
    "description": "face detection service",
    "mllib": "onnx",
    "model": {
        "repository": "'"$MODEL_DIR"'"
    },
    "parameters": {
        "input": {
            "connector": "video"
        },
        "mllib": {
            "decoder": "centerface",
            "input_std": 1,
            "iou_threshold": 0.3
        }
    },
    "type": "supervised"
}'

# datastream creation (a file here; a YouTube page URL works the same)
call -X PUT "$SERVER/resources/yt_video" -d '{
    "type": "video",
    "source": "'"$VIDEO"'",
    "realtime": false
}'

# first predict
call -X POST "$SERVER/predict" -d '{
       "service":"imageserv",
       "parameters":{
         "output":{
           "bbox": true,
           "confidence_threshold": 0.1
         }
       },
       "data":["resource:yt_video"]
     }'

# close video
call -X DELETE "$SERVER/resources/yt_video"

# create input video
call -X PUT "$SERVER/resources/file_video" -d '{
    "type": "video",
    "source": "'"$VIDEO"'",
    "realtime": false
}'

# the whole video through the service to a file (faces drawn)
call -X PUT "$SERVER/stream/my_realtime" -d '{
   "predict": {
       "service":"imageserv",
       "parameters":{},
       "data":["file_video"]
   },
   "output": {
       "video_out": "'"$OUT"'"
    }
}'

# get information on predict call, until the stream ends
for _ in $(seq 1 300); do
    status="$(call -X GET "$SERVER/stream/my_realtime")"
    echo "$status"
    case "$status" in *'"status":"running"'*) sleep 0.2 ;; *) break ;; esac
done

# stop it (the file is finalised) and clean up
call -X DELETE "$SERVER/stream/my_realtime"
call -X DELETE "$SERVER/resources/file_video"
call -X DELETE "$SERVER/services/imageserv"
