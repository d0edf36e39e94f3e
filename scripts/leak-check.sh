#!/usr/bin/env bash
# Leak check: runs 300 frames through dlinfer (CenterFace) and dltransform,
# with dlpublish, dloverlay and dlstats around them, under valgrind memcheck.
# Fails on any definite leak or memory error that tests/valgrind/gst-dl.supp
# does not suppress; that file lists, each with its reason, the one-time
# reports in GLib, the dynamic loader and ONNX Runtime that are not ours.
# See docs/reliability.md.
#
#   scripts/leak-check.sh        (about 4 minutes on 2 busy cores)
#
# Uses the debug build (target/debug), which the tests build anyway and
# whose full debug info names our frames in valgrind's stacks; set
# LEAK_CHECK_FRAMES for a shorter run while investigating. Exit status:
# 0 clean, 1 leak or error found (printed), 2 the pipeline itself failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
FRAMES="${LEAK_CHECK_FRAMES:-300}"
OUT="$ROOT/target/leak-check"
LOG="$OUT/valgrind.log"
mkdir -p "$OUT"

command -v valgrind >/dev/null || { echo "[leak-check] valgrind not found: run scripts/setup.sh --tests" >&2; exit 2; }
# GSTDL_PLUGIN_DIR names a plugin already built (tests/leak_check.rs passes
# the one cargo test built); otherwise build the debug one.
if [ -z "${GSTDL_PLUGIN_DIR:-}" ]; then
    cargo build --quiet --lib
    GSTDL_PLUGIN_DIR="$ROOT/target/debug"
fi
[ -f "$GSTDL_PLUGIN_DIR/libgstdl.so" ] || { echo "[leak-check] no libgstdl.so in $GSTDL_PLUGIN_DIR" >&2; exit 2; }
export GST_PLUGIN_PATH="$GSTDL_PLUGIN_DIR"

# A registry of our own, filled before valgrind starts: scanning plugins
# would otherwise happen in gst-plugin-scanner children (not under valgrind)
# and, when in-process, load every plugin on the system into the report.
export GST_REGISTRY="$OUT/registry.bin"
gst-inspect-1.0 dl >/dev/null
# GLib hands out memory from its own slices unless told not to, which hides
# slice leaks from valgrind; gc-friendly clears freed pointers so stale ones
# do not keep leaked blocks "reachable".
export G_SLICE=always-malloc G_DEBUG=gc-friendly

# Frames are QCIF (the size of the carphone clip). CenterFace runs at a
# 32x32 input: the same code paths as at full size (our per-frame
# allocations do not depend on it), but memcheck spends ~0.3 s instead of
# ~6 s per frame inside ONNX Runtime. confidence-threshold=0 makes every
# frame carry detections, so their meta, JSON, messages and drawing run too.
# threads=1: valgrind runs one thread at a time anyway.
models="$ROOT/.data/models"
pipeline=(
    videotestsrc num-buffers="$FRAMES" pattern=ball ! video/x-raw,width=176,height=144 !
    dlinfer model="$models/centerface.onnx" decoder=centerface input-std=1
        input-width=32 input-height=32 confidence-threshold=0 post-messages=true threads=1 !
    dlpublish location="$OUT/results.jsonl" !
    dloverlay !
    dltransform model="$models/test/invert.onnx" threads=1 !
    dlstats location="$OUT/status.json" !
    fakesink
)

# No status file from an earlier run may vouch for this one.
rm -f "$OUT/status.json" "$OUT/results.jsonl"
echo "[leak-check] ${FRAMES} frames under valgrind memcheck (log: ${LOG#"$ROOT"/})"
started=$SECONDS
status=0
# 99 tells "valgrind found something" apart from the pipeline failing.
# --show-leak-kinds=definite: possible leaks are interior pointers into
# static tables (our session cache's HashMap, GLib's), not lost memory.
valgrind --tool=memcheck --error-exitcode=99 \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=40 --suppressions="$ROOT/tests/valgrind/gst-dl.supp" \
    --log-file="$LOG" \
    gst-launch-1.0 -q "${pipeline[@]}" >"$OUT/gst-launch.log" 2>&1 || status=$?
echo "[leak-check] valgrind ran $((SECONDS - started)) s; $(grep -o 'ERROR SUMMARY: .*' "$LOG")"

if [ "$status" -eq 99 ]; then
    # Everything in the log between the header and the summaries is an
    # unsuppressed error or definite leak: show it all.
    grep -v -e 'Memcheck, a memory' -e 'Copyright (C)' -e 'Using Valgrind' "$LOG" >&2
    echo "[leak-check] FAIL: memcheck found the errors or definite leaks above" \
        "(frames in gstdl:: are ours; see docs/reliability.md to read them)" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    cat "$OUT/gst-launch.log" >&2
    echo "[leak-check] FAIL: the pipeline failed (exit $status) under valgrind" >&2
    exit 2
fi
# A run that stopped early would check less than it claims.
if ! grep -q "\"processed_frames\":$FRAMES," "$OUT/status.json"; then
    echo "[leak-check] FAIL: dlstats did not count $FRAMES frames: $(cat "$OUT/status.json")" >&2
    exit 2
fi
echo "[leak-check] PASS: no definite leak, no memory error in $FRAMES frames"
