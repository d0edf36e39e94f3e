#!/usr/bin/env bash
# The demo: installs what is missing, builds the plugin (release), then runs
# face detection with real weights on a real clip into out/ (see
# pipelines/demo.sh): an annotated MP4, the detections as JSON Lines, a PNG
# of one annotated frame, the final status, and a short summary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
echo "[demo] building the plugin (release; the first build takes a few minutes)"
cargo build --release --quiet --lib
export GSTDL_PLUGIN_DIR="$ROOT/target/release"
bash "$ROOT/pipelines/demo.sh" "$ROOT/out"
