#!/usr/bin/env bash
# The demo: installs what is missing, builds the plugin (release), and runs
# the main pipeline on a real clip with real weights. Outputs go to out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
echo "[demo] building the plugin (release; the first build takes a few minutes)"
cargo build --release --quiet --lib
mkdir -p out
export GSTDL_PLUGIN_DIR="$ROOT/target/release"
bash pipelines/stats-progress.sh out/status.json
echo "[demo] done: status in out/status.json"
