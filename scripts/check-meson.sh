#!/usr/bin/env bash
# Proves the meson build: setup, compile and install into a temporary prefix,
# then asks GStreamer to find the plugin there and starts the installed
# gst-dl-server.
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
# gst-dl-server is installed beside it and runs without GST_PLUGIN_PATH
# (it registers the elements in-process): it answers GET /info.
server="$work/prefix/bin/gst-dl-server"
test -x "$server" || { echo "gst-dl-server was not installed into $work/prefix/bin"; exit 1; }
"$server" --help | grep -q -- '--allow-dir' || { echo "gst-dl-server --help does not document --allow-dir"; exit 1; }
env -u GST_PLUGIN_PATH "$server" --listen 127.0.0.1:0 >"$work/server.out" 2>&1 &
server_pid=$!
address=""
for _ in $(seq 1 100); do
    address="$(sed -n 's|^listening on ||p' "$work/server.out")"
    [ -n "$address" ] && break
    sleep 0.1
done
info="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + "/info").read().decode())' "$address" 2>&1 || true)"
kill -TERM "$server_pid"
wait "$server_pid" || true
case "$info" in *'"method":"/info"'*) ;; *) echo "the installed gst-dl-server did not answer GET /info: $info"; cat "$work/server.out"; exit 1 ;; esac
echo "[meson] installed gst-dl-server answers GET /info: $server"
