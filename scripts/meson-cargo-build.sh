#!/usr/bin/env bash
# Called by meson: builds the plugin and gst-dl-server with cargo (one run)
# and copies them to meson's outputs.
# usage: meson-cargo-build.sh CARGO PROFILE TARGET_DIR MANIFEST PLUGIN_OUTPUT SERVER_OUTPUT [FEATURES]
# FEATURES: cargo features, comma-separated (meson passes `analytics` when it
# finds gstreamer-analytics-1.0 >= 1.24), or empty.
set -euo pipefail
cargo="$1" profile="$2" target_dir="$3" manifest="$4" plugin_output="$5" server_output="$6" features="${7:-}"
"$cargo" build --manifest-path "$manifest" --profile "$profile" --target-dir "$target_dir" \
    --features="$features" --lib --bin gst-dl-server
subdir="$profile"
[ "$profile" = dev ] && subdir=debug
cp "$target_dir/$subdir/libgstdl.so" "$plugin_output"
cp "$target_dir/$subdir/gst-dl-server" "$server_output"
