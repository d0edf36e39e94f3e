#!/usr/bin/env bash
# Prints the cargo arguments for the features this machine's GStreamer
# allows: `--features analytics` when pkg-config finds
# gstreamer-analytics-1.0 >= 1.24 (GstAnalyticsRelationMeta), or
# `--features analytics-v1-26` from 1.26 (oriented boxes), else nothing
# (GStreamer 1.22, Debian 12: the build needs no 1.24 headers).
set -euo pipefail
if pkg-config --atleast-version=1.26 gstreamer-analytics-1.0 2>/dev/null; then
    echo "--features analytics-v1-26"
elif pkg-config --atleast-version=1.24 gstreamer-analytics-1.0 2>/dev/null; then
    echo "--features analytics"
fi
