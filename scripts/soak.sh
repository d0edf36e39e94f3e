#!/usr/bin/env bash
# Soak test: loops a real clip through dlinfer (CenterFace), dlpublish,
# dloverlay, dltransform and dlstats for MINUTES (default 10), paced like a
# camera, printing the RSS every 10 s; fails if, after a one-minute warm-up,
# the RSS leaves ±5% of its first post-warm-up value. See docs/reliability.md.
#
#   scripts/soak.sh [MINUTES]
#
# Uses the release build when there is one, else the debug build
# (GSTDL_PLUGIN_DIR overrides, as for the pipelines/ scripts). SOAK_CLIP picks
# another clip from .data/media (default carphone_pristine.mp4: real faces,
# 176x144 at 30 fps, so the paced pipeline needs well under one core).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Plugin path, $MODELS and $MEDIA, as every example pipeline gets them.
source "$ROOT/pipelines/env.sh"

minutes="${1:-10}"
# Debian's python3, not the venv's: the pipeline needs the gi bindings that
# setup.sh installs as Debian packages.
exec /usr/bin/python3 "$ROOT/scripts/soak.py" \
    --minutes "$minutes" \
    --clip "$MEDIA/${SOAK_CLIP:-carphone_pristine.mp4}" \
    --models "$MODELS"
