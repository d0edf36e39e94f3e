# Sourced by every pipeline script: where the plugin, models and media are.
# GSTDL_PLUGIN_DIR picks the build (default: target/release when built, else target/debug).
GSTDL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -z "${GSTDL_PLUGIN_DIR:-}" ]; then
    GSTDL_PLUGIN_DIR="$GSTDL_ROOT/target/release"
    [ -f "$GSTDL_PLUGIN_DIR/libgstdl.so" ] || GSTDL_PLUGIN_DIR="$GSTDL_ROOT/target/debug"
fi
[ -f "$GSTDL_PLUGIN_DIR/libgstdl.so" ] || { echo "libgstdl.so not found in $GSTDL_PLUGIN_DIR: build with 'cargo build --release'" >&2; exit 1; }
export GST_PLUGIN_PATH="$GSTDL_PLUGIN_DIR${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
MODELS="$GSTDL_ROOT/.data/models"
MEDIA="$GSTDL_ROOT/.data/media"
[ -d "$MEDIA" ] || { echo "$MEDIA is missing: run scripts/setup.sh" >&2; exit 1; }
