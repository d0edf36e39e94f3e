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
cargo test --quiet --all-targets -- --test-threads=2
