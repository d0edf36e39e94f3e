#!/usr/bin/env bash
# Runs every check of gst-dl: set-up (idempotent), formatting, clippy, the
# unit and integration tests (which run every script in pipelines/), and a
# meson build and install into a temporary prefix.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh" --tests
# `--features analytics` where GStreamer >= 1.24 is installed.
read -r -a FEATURES <<<"$("$ROOT/scripts/cargo-features.sh")"

echo "[test] cargo fmt --check"
cargo fmt --all -- --check
echo "[test] cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet "${FEATURES[@]}" --all-targets -- -D warnings
echo "[test] meson setup, compile, install into a temporary prefix"
"$ROOT/scripts/check-meson.sh"
echo "[test] cargo test"
# The pipeline scripts, gst-inspect and gst-launch tests load the plugin from
# target/debug; `cargo test` alone does not refresh that shared library.
cargo build --quiet "${FEATURES[@]}" --lib
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# Every test binary runs even after a failure, and the closing line is
# printed either way; the exit status is cargo's.
set +e
cargo test --quiet "${FEATURES[@]}" --no-fail-fast -- --test-threads=2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
