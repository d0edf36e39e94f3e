#!/usr/bin/env bash
# Runs every check of gst-dl: set-up (idempotent), formatting, clippy, the
# unit and integration tests (which run every script in pipelines/), and a
# meson build and install into a temporary prefix.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

echo "[test] cargo fmt --check"
cargo fmt --all -- --check
echo "[test] cargo clippy --all-targets -- -D warnings"
cargo clippy --quiet --all-targets -- -D warnings
echo "[test] meson setup, compile, install into a temporary prefix"
"$ROOT/scripts/check-meson.sh"
echo "[test] cargo test"
# The tests build the plugin once (target/debug) and use it for the pipeline scripts too.
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --quiet -- --test-threads=2 2>&1 | tee "$log"
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
