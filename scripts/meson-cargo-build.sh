#!/usr/bin/env bash
# Called by meson: builds the plugin with cargo and copies it to meson's output.
# usage: meson-cargo-build.sh CARGO PROFILE TARGET_DIR MANIFEST OUTPUT
set -euo pipefail
cargo="$1" profile="$2" target_dir="$3" manifest="$4" output="$5"
"$cargo" build --manifest-path "$manifest" --profile "$profile" --target-dir "$target_dir" --lib
subdir="$profile"
[ "$profile" = dev ] && subdir=debug
cp "$target_dir/$subdir/libgstdl.so" "$output"
