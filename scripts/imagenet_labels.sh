#!/usr/bin/env bash
# Write the 1000 ImageNet (ILSVRC2012) class names, one a line, in class-index
# order (line 1 = class 0 "tench, Tinca tinca", line 968 = class 967 "espresso").
#
# Usage: bash scripts/imagenet_labels.sh DST_TXT
#
# Source: Debian's opencv-doc package, file
#   usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt
# The package is only downloaded (about 96 MB .deb; installing it would take
# 274 MB) and that one member is extracted; nothing is installed.  Needs
# apt-get, dpkg-deb and tar (Debian/Ubuntu).  `apt-get update` is run (needs
# root) only if the first download fails.
# Idempotent: exits at once when DST already has 1000 lines.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 DST_TXT" >&2
    exit 2
fi
DST=$1
PKG=opencv-doc
MEMBER=./usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt

lines() { wc -l <"$1" | tr -d ' '; }

if [ -f "$DST" ] && [ "$(lines "$DST")" = 1000 ]; then
    echo "$DST is up to date"
    exit 0
fi

for tool in apt-get dpkg-deb tar; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (needs a Debian/Ubuntu system)" >&2; exit 1; }
done

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# let apt's unprivileged _apt user write here (avoids the "unsandboxed" warning)
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$TMP"
fi

download() { (cd "$TMP" && apt-get download -q=2 "$PKG") >"$TMP/apt.log" 2>&1; }
if ! download; then
    echo "apt-get download $PKG failed; running apt-get update and retrying" >&2
    if ! apt-get update -q=2 >"$TMP/update.log" 2>&1; then
        echo "error: apt-get update failed:" >&2
        cat "$TMP/update.log" >&2
        exit 1
    fi
    if ! download; then
        echo "error: apt-get download $PKG failed:" >&2
        cat "$TMP/apt.log" >&2
        exit 1
    fi
fi
DEB=$(ls "$TMP"/${PKG}_*.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] || { echo "error: apt-get download left no $PKG .deb" >&2; exit 1; }

# One pass over the data archive: take the member, plain or gzipped.
mkdir "$TMP/x"
dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$TMP/x" "$MEMBER" "$MEMBER.gz" 2>"$TMP/tar.log" || true
OUT="$TMP/labels.txt"
if [ -f "$TMP/x/$MEMBER" ]; then
    cp "$TMP/x/$MEMBER" "$OUT"
elif [ -f "$TMP/x/$MEMBER.gz" ]; then
    gzip -dc "$TMP/x/$MEMBER.gz" >"$OUT"
else
    echo "error: $(basename "$DEB") has neither $MEMBER nor $MEMBER.gz:" >&2
    cat "$TMP/tar.log" >&2
    exit 1
fi

# Drop carriage returns and end with a newline, should a future version differ;
# otherwise the lines are kept as they are ("tench, Tinca tinca").
tr -d '\r' <"$OUT" | sed -e '$a\' >"$OUT.unix"
n=$(lines "$OUT.unix")
if [ "$n" != 1000 ]; then
    echo "error: $MEMBER has $n lines, expected 1000" >&2
    exit 1
fi
if [ "$(sed -n 968p "$OUT.unix")" != espresso ]; then
    echo "error: $MEMBER: line 968 (class 967) is '$(sed -n 968p "$OUT.unix")', expected 'espresso'" >&2
    exit 1
fi

mkdir -p "$(dirname "$DST")"
cp "$OUT.unix" "$DST.tmp"
mv -f "$DST.tmp" "$DST"
echo "wrote $DST (1000 ImageNet class names from $(basename "$DEB"), $(du -m "$DEB" | cut -f1) MiB download)"
