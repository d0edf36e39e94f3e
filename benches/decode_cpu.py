#!/usr/bin/env python3
"""CPU time per decoded frame: GStreamer's decode against OpenCV's ``grab()``.

Why: an every-Nth-frame pipeline spends nearly all its time decoding, and
on a shared virtual machine frames per second swing by 10-20% from one run
to the next while the CPU seconds a decoder spends per frame hardly move.
This compares what each way of decoding costs, in CPU milliseconds per frame
(user + system, all threads), so that the Python loop's lead on
``inference-interval=30`` rows can be told apart from noise and its cause
named.

Each case plays the clip once untimed, then ``--passes`` times, in a process
of its own that counts the CPU time of those passes only (start-up, plugin
loading and the first pass left out). The GStreamer cases replay with the
benchmark's own looped pipeline (``cargo bench --bench benchmarks --
--launch``: a flushing seek per pass, after its 2 s warm-up); the OpenCV
cases open ``cv2.VideoCapture`` once per pass, as the Python baseline does.
Rounds are interleaved. Prints each case's median and range.

    benches/decode_cpu.py [--clip bigbuckbunny.mp4] [--passes 40] [--rounds 3]
"""

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv/bin/python"

GRAB = """
import cv2, sys, time
clip, passes, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
params = [] if threads < 0 else [cv2.CAP_PROP_N_THREADS, threads]
def play():
    capture = cv2.VideoCapture(clip, cv2.CAP_FFMPEG, params)
    frames = 0
    while capture.grab():
        frames += 1
    capture.release()
    return frames
play()
start = time.process_time()
frames = sum(play() for _ in range(passes))
print(f"{(time.process_time() - start) * 1000 / frames:.4f}")
"""

# (label, kind, detail): a GStreamer decode chain, or OpenCV's decoder
# threads (-1: OpenCV's default).
CASES = [
    ("gstreamer decodebin ! fakesink", "gst", "decodebin ! fakesink"),
    # A sink that takes GstVideoMeta: avdec_h264 hands over its own padded
    # frames instead of copying each into a tightly packed buffer.
    ("gstreamer decodebin ! fakevideosink", "gst", "decodebin ! fakevideosink sync=false"),
    ("gstreamer avdec_h264 max-threads=1", "gst",
     "qtdemux ! h264parse ! avdec_h264 max-threads=1 ! fakesink"),
    ("opencv grab() default threads", "cv", -1),
    ("opencv grab() 1 thread", "cv", 1),
]


def run(command: list) -> str:
    """Runs `command` to the end; its stdout."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def case_cpu_ms(kind: str, detail, clip: Path, passes: int) -> float:
    """CPU milliseconds per frame over `passes` passes of the clip."""
    if kind == "cv":
        return float(run([PYTHON, "-c", GRAB, clip, str(passes), str(detail)]))
    launch = f"filesrc location={clip} ! {detail}"
    out = run(["cargo", "bench", "-q", "--bench", "benchmarks", "--",
               "--runs", str(passes), "--launch", launch])
    match = re.search(r"([0-9.]+) CPU ms/frame", out)
    if not match:
        sys.exit(f"no CPU ms/frame in the benchmark's output: {out}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default="bigbuckbunny.mp4")
    parser.add_argument("--passes", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not PYTHON.exists():
        sys.exit("no .venv: run scripts/setup.sh first")
    clip = ROOT / ".data/media" / args.clip
    # Builds the benchmark binary now, so that no round times a compile.
    run(["cargo", "bench", "-q", "--bench", "benchmarks", "--no-run"])
    results = {label: [] for label, _, _ in CASES}
    for round_ in range(args.rounds):
        for label, kind, detail in CASES:
            ms = case_cpu_ms(kind, detail, clip, args.passes)
            results[label].append(ms)
            print(f"round {round_ + 1}: {label}: {ms:.2f} ms/frame", file=sys.stderr)
    print(f"CPU ms per decoded frame, {args.clip}, {args.passes} passes, "
          f"median (min-max) of {args.rounds} rounds:")
    for label, values in results.items():
        print(f"  {label}: {statistics.median(values):.2f} "
              f"({min(values):.2f}-{max(values):.2f})")


if __name__ == "__main__":
    main()
