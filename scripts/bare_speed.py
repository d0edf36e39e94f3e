#!/usr/bin/env python3
"""Bare ONNX Runtime speed of ONNX models side by side, e.g. an FP32 model
and the INT8 models scripts/quantize.py made of it.

    scripts/bare_speed.py model.onnx model-int8.onnx [more.onnx ...]

Each model runs on one random tensor of its input's shape (1 for each
dynamic dimension, or --size for a detector's dynamic height and width,
e.g. `--size 640x288` as dlinfer feeds CenterFace on bikes.mp4), default
threads, in interleaved rounds so that a
slow spell of the machine falls on every model alike. Prints each model's
median runs per second and its ratio to the first model's."""

import argparse
import sys
import time

import use_venv

# Run by the system's python3 (`scripts/bare_speed.py ...`), restart under .venv.
use_venv.ensure("numpy", "onnxruntime")

import numpy as np  # noqa: E402 - after use_venv.ensure
import onnxruntime


def random_input(session: onnxruntime.InferenceSession, size: tuple | None) -> dict:
    (model_input,) = session.get_inputs()
    shape = [d if isinstance(d, int) else 1 for d in model_input.shape]
    if size is not None and len(shape) == 4:
        for axis, length in ((3, size[0]), (2, size[1])):  # NCHW: width last
            if not isinstance(model_input.shape[axis], int):
                shape[axis] = length
    return {model_input.name: np.random.default_rng(0).normal(size=shape).astype(np.float32)}


def size_arg(text: str) -> tuple:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WIDTHxHEIGHT, e.g. 640x288") from None
    return width, height


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="ONNX models with one float input; the first is the reference")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--runs", type=int, default=150, help="runs per model per round (default 150)")
    parser.add_argument("--size", type=size_arg, help="WIDTHxHEIGHT for an input with dynamic height and width")
    args = parser.parse_args(argv)
    sessions = [onnxruntime.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in args.models]
    inputs = [random_input(s, args.size) for s in sessions]
    for session, feed in zip(sessions, inputs):
        for _ in range(20):  # warm-up
            session.run(None, feed)
    rates = [[] for _ in sessions]
    for _ in range(args.rounds):
        for session, feed, rate in zip(sessions, inputs, rates):
            start = time.perf_counter()
            for _ in range(args.runs):
                session.run(None, feed)
            rate.append(args.runs / (time.perf_counter() - start))
    reference = float(np.median(rates[0]))
    for model, rate in zip(args.models, rates):
        print(f"{model}: {np.median(rate):.0f} runs/s ({min(rate):.0f}-{max(rate):.0f}), {np.median(rate) / reference:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
