#!/usr/bin/env bash
# Proves the meson build: setup, compile and install into a temporary prefix,
# then asks GStreamer to find the plugin there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
meson setup --buildtype=debug --prefix "$work/prefix" --libdir lib "$work/build" "$ROOT" >"$work/setup.log" 2>&1 \
    || { cat "$work/setup.log"; exit 1; }
meson compile -C "$work/build" >"$work/compile.log" 2>&1 || { cat "$work/compile.log"; exit 1; }
meson install -C "$work/build" >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
plugin_dir="$work/prefix/lib/gstreamer-1.0"
test -f "$plugin_dir/libgstdl.so" || { echo "libgstdl.so was not installed into $plugin_dir"; exit 1; }
export GST_PLUGIN_PATH="$plugin_dir" GST_REGISTRY="$work/registry.bin"
filename="$(gst-inspect-1.0 dl | awk '/Filename/ {print $2}')"
[ "$filename" = "$plugin_dir/libgstdl.so" ] || { echo "GStreamer found the plugin at '$filename', not in $plugin_dir"; exit 1; }
gst-inspect-1.0 dlstats >/dev/null
echo "[meson] installed into a temporary prefix and found by GStreamer: $filename"
