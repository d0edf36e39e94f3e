#!/usr/bin/env bash
# The GStreamer 1.26 test leg: builds gst-dl with the `analytics` feature
# inside a Debian 13 (trixie, GStreamer 1.26) root and runs the tests that
# only apply there (tests/analytics.rs, the analytics unit tests) plus a small
# smoke set of the main suite.
#
# The root is made once with debootstrap from Debian's package registry and
# cached outside the repository (GST126_ROOT, default
# /var/cache/gst-dl/trixie); so is the build (CARGO_TARGET_DIR inside the
# root: a different GStreamer, so a different build from target/). A second
# run only rebuilds what changed. The host's Rust toolchain is bound in; the
# repository (and the models and media .data/ points at) at the same paths.
#
#   scripts/test-gst126.sh            make the root if needed, build, test
#   scripts/test-gst126.sh --prepare  only make the root
#   scripts/test-gst126.sh --run CMD  run CMD (bash) in the repository inside
# Needs root (debootstrap, mounts). Logs go to .data/logs/gst126-*.log.
# GST126_ROOT and GST126_TARGET_DIR (a path inside the root) move the caches.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROOT="${GST126_ROOT:-/var/cache/gst-dl/trixie}"
LOGS="$ROOT/.data/logs"
mkdir -p "$LOGS"

say() { printf '[gst126] %s\n' "$*"; }
fail() { printf '[gst126] error: %s\n' "$*" >&2; exit 1; }

RUN_CMD=""
case "${1:-}" in
    --prepare) PREPARE_ONLY=1 ;;
    --run) PREPARE_ONLY=0 RUN_CMD="${2:?--run needs a command}" ;;
    "") PREPARE_ONLY=0 ;;
    *) fail "unknown option '$1' (--prepare or --run CMD)" ;;
esac

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap and bind mounts); run it with sudo"
command -v debootstrap >/dev/null || fail "debootstrap is missing; scripts/setup.sh --tests installs it"

RUSTUP_DIR="${RUSTUP_HOME:-$HOME/.rustup}"
CARGO_DIR="${CARGO_HOME:-$HOME/.cargo}"
APT_PACKAGES=(
    libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
    gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-libav python3-gi gir1.2-gst-plugins-bad-1.0 gir1.2-gst-plugins-base-1.0
    fonts-dejavu-core
)
# What the root was made with: a change remakes the package set.
STAMP_WANTED="$(printf '%s\n' "${APT_PACKAGES[@]}" | sha256sum | cut -c1-16)"

# Every mount this run made, newest first, so the trap undoes them in order.
MOUNTED=()
unmount_all() {
    local m
    for m in "${MOUNTED[@]}"; do
        umount -l "$m" 2>/dev/null || true
    done
    MOUNTED=()
}
trap unmount_all EXIT

bind() { # bind SOURCE TARGET_INSIDE_ROOT [rbind]
    local target="$CHROOT$2"
    mkdir -p "$target"
    if [ "${3:-}" = rbind ]; then
        mount --rbind "$1" "$target"
        mount --make-rslave "$target"
    else
        mount --bind "$1" "$target"
    fi
    MOUNTED=("$target" "${MOUNTED[@]}")
}

mount_system() {
    mkdir -p "$CHROOT/proc"
    mount -t proc proc "$CHROOT/proc"
    MOUNTED=("$CHROOT/proc" "${MOUNTED[@]}")
    bind /sys /sys rbind
    bind /dev /dev rbind
}

# The host's registry settings and certificates, so apt, cargo and pip reach
# the registries from inside as they do outside.
copy_host_settings() {
    cp -L /etc/resolv.conf "$CHROOT/etc/resolv.conf"
    [ -f /etc/pip.conf ] && cp /etc/pip.conf "$CHROOT/etc/pip.conf"
    local f
    for f in /etc/apt/apt.conf.d/*; do
        # PackageKit and AppStream hooks call programs the root lacks.
        case "$(basename "$f")" in *packagekit*|*appstream*) continue ;; esac
        cp "$f" "$CHROOT/etc/apt/apt.conf.d/"
    done
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        mkdir -p "$CHROOT/usr/local/share/ca-certificates"
        cp /usr/local/share/ca-certificates/* "$CHROOT/usr/local/share/ca-certificates/"
    fi
    # No daemon (systemd, dbus) starts inside while packages install.
    printf '#!/bin/sh\nexit 101\n' >"$CHROOT/usr/sbin/policy-rc.d"
    chmod +x "$CHROOT/usr/sbin/policy-rc.d"
}

make_root() {
    if [ -f "$CHROOT/.gst-dl-root" ] && [ "$(cat "$CHROOT/.gst-dl-root")" = "$STAMP_WANTED" ]; then
        return 0
    fi
    if [ ! -x "$CHROOT/usr/bin/apt-get" ]; then
        say "making a Debian 13 root in $CHROOT with debootstrap (~1 min)"
        rm -rf "$CHROOT"
        mkdir -p "$(dirname "$CHROOT")"
        debootstrap --variant=minbase --include=ca-certificates,pkg-config,gcc,libc6-dev,git \
            trixie "$CHROOT" >"$LOGS/gst126-debootstrap.log" 2>&1 \
            || fail "debootstrap failed; see $LOGS/gst126-debootstrap.log"
    fi
    say "installing GStreamer 1.26 in the root (~1 min)"
    copy_host_settings
    mount_system
    if ! chroot "$CHROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c "update-ca-certificates && apt-get update -q &&
               apt-get install -y -q --no-install-recommends ${APT_PACKAGES[*]}" \
        >"$LOGS/gst126-apt.log" 2>&1; then
        fail "installing packages in the root failed; see $LOGS/gst126-apt.log"
    fi
    unmount_all
    echo "$STAMP_WANTED" >"$CHROOT/.gst-dl-root"
}

make_root
if [ "$PREPARE_ONLY" = 1 ]; then
    say "root ready: $CHROOT"
    exit 0
fi

mount_system
copy_host_settings
bind "$RUSTUP_DIR" "$RUSTUP_DIR"
bind "$CARGO_DIR" "$CARGO_DIR"
bind "$ROOT" "$ROOT"
# .data and .venv may be links into another checkout: bind their targets too.
for link in .data .venv; do
    target="$(readlink -f "$ROOT/$link" || true)"
    if [ -n "$target" ] && [ -d "$target" ] && [ "$target" != "$ROOT/$link" ]; then
        bind "$target" "$target"
    fi
done

# Media and models in .data/ are links (into .venv's packages, which may be
# reached through another checkout): bind each link's real folder where the
# link says it is.
declare -A BOUND=()
for link in "$ROOT"/.data/media/* "$ROOT"/.data/models/*; do
    [ -L "$link" ] || continue
    said="$(dirname "$(readlink "$link")")" real="$(dirname "$(readlink -f "$link")")"
    case "$said" in /*) ;; *) continue ;; esac
    [ -d "$real" ] && [ -z "${BOUND[$said]:-}" ] || continue
    [ -d "$CHROOT$said" ] && [ -n "$(ls -A "$CHROOT$said" 2>/dev/null)" ] && continue
    bind "$real" "$said"
    BOUND[$said]=1
done

ORT_LIB="$(compgen -G "$ROOT/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.*" | head -n1 || true)"
[ -n "$ORT_LIB" ] || fail "no ONNX Runtime in .venv; run scripts/setup.sh first"
ORT_LIB="$(readlink -f "$ORT_LIB")"

inside() {
    chroot "$CHROOT" /usr/bin/env -i \
        HOME="$HOME" PATH="$CARGO_DIR/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        RUSTUP_HOME="$RUSTUP_DIR" CARGO_HOME="$CARGO_DIR" \
        CARGO_TARGET_DIR="${GST126_TARGET_DIR:-/var/cache/gst-dl-target}" ORT_DYLIB_PATH="$ORT_LIB" \
        LANG=C.UTF-8 \
        bash -c "cd '$ROOT' && $1"
}

if [ -n "$RUN_CMD" ]; then
    inside "$RUN_CMD"
    exit $?
fi
say "GStreamer $(inside 'pkg-config --modversion gstreamer-1.0'), analytics $(inside 'pkg-config --modversion gstreamer-analytics-1.0')"
start=$SECONDS
say "building with --features analytics-v1-26"
# The plugin the integration tests load (GST_PLUGIN_PATH) is the library.
inside "cargo build --features analytics-v1-26 --lib" || fail "cargo build in the 1.26 root failed"
# The 1.26-specific tests (tests/analytics.rs, the analytics and
# meta-format unit tests) and a smoke set: every unit test, dloverlay and
# dlpublish. Not yt-dlp's: .venv's yt-dlp runs on the host's Python, which
# the root lacks.
say "analytics tests and the smoke set"
log="$(mktemp)"
set +e
inside "cargo test --quiet --features analytics-v1-26 --no-fail-fast \
    --lib --test analytics --test dloverlay --test dlpublish -- --test-threads=2 \
    --skip real_yt_dlp ${GST126_TEST_FILTER:-}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "[gst126] %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
say "build and tests took $((SECONDS - start)) s"
exit "$status"
