#!/usr/bin/env bash
# A model on each detected object: CenterFace finds the face, dltrack gives it
# an id, EfficientNet-Lite0 embeds each face crop (10% padding around the box)
# every 5th frame the face is seen, and names its ImageNet classes on every
# frame. dlpublish prints each face with its classes under their results-name
# ("imagenet") and its embedding's row in faces.npy, whose index says frame
# and object.
# expect: "frame":0,.*"cat":"face".*"imagenet":\[\{"cat":"[^"]+","prob":[0-9.]+\}.*"embedding_row":0
# expect: "frame":119,.*"cat":"face".*"imagenet"
# expect: index: [0-9]+ rows, first \{"row":0,"frame":0,.*"object":0,"class_index":0\}
set -euo pipefail
source "$(dirname "$0")/env.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gst-launch-1.0 -q filesrc location="$MEDIA/carphone_pristine.mp4" ! decodebin ! videoconvert ! \
    dlinfer model="$MODELS/centerface.onnx" decoder=centerface input-std=1 iou-threshold=0.3 \
        labels-file="$GSTDL_ROOT/models/labels/centerface.txt" ! \
    dltrack ! \
    dlinfer inference-region=objects object-class=face object-padding=0.1 reclassify-interval=5 \
        model="$MODELS/efficientnet_lite0.onnx" decoder=features output-name=features \
        input-mean=127 input-std=128 batch-size=4 results-name=look ! \
    dlinfer inference-region=objects object-class=face object-padding=0.1 \
        model="$MODELS/efficientnet_lite0.onnx" decoder=classification output-name=logits \
        labels-file="$MODELS/imagenet_labels.txt" input-mean=127 input-std=128 batch-size=4 \
        results-name=imagenet ! \
    dlpublish embeddings-location="$out/faces.npy" ! fakesink
echo "index: $(wc -l < "$out/faces.index.jsonl") rows, first $(head -1 "$out/faces.index.jsonl")"
