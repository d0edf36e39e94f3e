#!/usr/bin/python3
"""Soak test: runs a realistic dl pipeline for a while and watches its memory.

A real clip loops forever (gapless SEGMENT seeks) through face detection,
publishing, anonymisation and a frame transform, paced by the clock like a
camera (sink sync=true). Every interval the resident set size (VmRSS of this
process, which hosts the pipeline) is printed with the frames processed so
far. At the end, samples taken after the warm-up must all lie within the
tolerance of the first post-warm-up sample; the exit status says whether
they did. Started by scripts/soak.sh, which sets GST_PLUGIN_PATH.

Runs on Debian's python3 with python3-gi (installed by scripts/setup.sh), not
the project .venv: the pipeline needs GStreamer's introspection bindings.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def rss_kib():
    """This process's resident set size in KiB, from /proc."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def build_pipeline(clip, models, out_dir):
    # dlpublish sits before dltransform: a transformed frame is a new picture
    # and does not carry the detections over.
    description = (
        f'filesrc location="{clip}" ! decodebin ! videoconvert ! '
        f'dlinfer model="{models}/centerface.onnx" decoder=centerface input-std=1 '
        "iou-threshold=0.3 threads=1 ! "
        f'dlpublish location="{out_dir}/results.jsonl" ! '
        "dloverlay mode=blur ! "
        f'dltransform model="{models}/test/invert.onnx" threads=1 ! '
        f'dlstats name=stats interval=1000 location="{out_dir}/status.json" ! '
        "fakesink sync=true"
    )
    return Gst.parse_launch(description)


def verdict(samples, warmup_s, tolerance):
    """Whether every sample after the warm-up is within `tolerance` of the
    first one after it; prints the reasoning. `samples` are (elapsed_s, kib)."""
    settled = [(t, kib) for t, kib in samples if t >= warmup_s]
    if len(settled) < 2:
        print(f"[soak] FAIL: fewer than two samples after the {warmup_s:.0f} s warm-up; run longer")
        return False
    reference = settled[0][1]
    low, high = reference * (1 - tolerance), reference * (1 + tolerance)
    outside = [(t, kib) for t, kib in settled if not low <= kib <= high]
    smallest = min(kib for _, kib in settled)
    largest = max(kib for _, kib in settled)
    print(
        f"[soak] after warm-up: {len(settled)} samples, reference {reference / 1024:.1f} MiB "
        f"(at {settled[0][0]:.0f} s), range {smallest / 1024:.1f}..{largest / 1024:.1f} MiB "
        f"({(smallest - reference) / reference:+.2%} .. {(largest - reference) / reference:+.2%}), "
        f"allowed ±{tolerance:.0%}"
    )
    for t, kib in outside:
        print(f"[soak]   outside: {kib / 1024:.1f} MiB at {t:.0f} s")
    return not outside


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds before RSS must be flat")
    parser.add_argument("--tolerance", type=float, default=0.05, help="allowed relative RSS change")
    parser.add_argument("--clip", required=True)
    parser.add_argument("--models", required=True)
    args = parser.parse_args()

    Gst.init(None)
    out_dir = tempfile.mkdtemp(prefix="gstdl-soak-")
    pipeline = build_pipeline(args.clip, args.models, out_dir)
    stats = pipeline.get_by_name("stats")
    loop = GLib.MainLoop()
    failure = []
    samples = []
    started = time.monotonic()
    print(f"[soak] {args.minutes:g} min, RSS every {args.interval:g} s, warm-up {args.warmup:g} s; "
          f"clip {os.path.basename(args.clip)}, outputs in {out_dir}", flush=True)

    def on_message(_bus, message):
        kind = message.type
        if kind == Gst.MessageType.SEGMENT_DONE:
            # A non-flushing segment seek back to the start: the running time
            # keeps going, so the sink paces the next pass like the first.
            pipeline.seek(1.0, Gst.Format.TIME, Gst.SeekFlags.SEGMENT,
                          Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)
        elif kind == Gst.MessageType.ERROR:
            error, debug = message.parse_error()
            failure.append(f"pipeline error: {error.message} ({debug})")
            loop.quit()
        elif kind == Gst.MessageType.EOS:
            failure.append("unexpected EOS: the clip stopped looping")
            loop.quit()
        return True

    def sample():
        elapsed = time.monotonic() - started
        kib = rss_kib()
        frames = stats.get_property("processed-frames")
        if samples and frames == sample.last_frames:
            failure.append(f"no frame processed in the last {args.interval:g} s: the pipeline stalled")
            loop.quit()
            return False
        sample.last_frames = frames
        samples.append((elapsed, kib))
        print(f"[soak] {elapsed:6.0f} s  RSS {kib / 1024:7.1f} MiB  frames {frames}", flush=True)
        if elapsed >= args.minutes * 60:
            loop.quit()
            return False
        return True

    sample.last_frames = -1

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    # Preroll, then turn the playback into a segment so that its end posts
    # SEGMENT_DONE (looped above) instead of EOS.
    pipeline.set_state(Gst.State.PAUSED)
    if pipeline.get_state(Gst.CLOCK_TIME_NONE)[0] != Gst.StateChangeReturn.SUCCESS:
        message = bus.pop_filtered(Gst.MessageType.ERROR)
        print(f"[soak] FAIL: the pipeline did not start: {message.parse_error()[0].message if message else '?'}")
        shutil.rmtree(out_dir)
        return 1
    pipeline.seek(1.0, Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.SEGMENT,
                  Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1)
    pipeline.set_state(Gst.State.PLAYING)
    GLib.timeout_add(int(args.interval * 1000), sample)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_signal_watch()
    shutil.rmtree(out_dir)

    if failure:
        print(f"[soak] FAIL: {failure[0]}")
        return 1
    ok = verdict(samples, args.warmup, args.tolerance)
    print("[soak] PASS" if ok else "[soak] FAIL: RSS moved more than allowed after warm-up")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
