#!/usr/bin/env bash
# lit_video_stream's job as a pipeline: EfficientNet-Lite0 features of every
# 30th frame of a real clip, in batches of 8, with a progress bar; writes
# embeddings.npy (float32 [rows, 1280]) with its index, and a JSON Lines file
# of the top-5 ImageNet classes of those frames. The two dlinfer instances
# load the same model file and share one ONNX Runtime session.
# expect: "frame":120,.*"classes":\[\{"cat"
# expect: 'shape': \(5, 1280\)
set -euo pipefail
source "$(dirname "$0")/env.sh"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
model="$MODELS/efficientnet_lite0.onnx"
preprocess="scale-mode=center-crop input-mean=127 input-std=128 inference-interval=30 batch-size=8"
gst-launch-1.0 -q filesrc location="$MEDIA/bigbuckbunny.mp4" ! decodebin ! videoconvert ! \
    dlstats progress=true interval=200 ! \
    dlinfer model="$model" decoder=classification output-name=logits top-k=5 \
        labels-file="$MODELS/imagenet_labels.txt" $preprocess ! \
    dlinfer model="$model" decoder=features output-name=features $preprocess ! \
    dlpublish location="$out/classes.jsonl" embeddings-location="$out/embeddings.npy" ! fakesink
echo "top-5 classes ($out/classes.jsonl):"
cat "$out/classes.jsonl"
echo "embeddings ($out/embeddings.npy):"
head -c 128 "$out/embeddings.npy" | tail -c +11 | tr -d '\0'
echo
