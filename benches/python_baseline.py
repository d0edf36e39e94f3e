#!/usr/bin/env python3
"""What users write instead of gst-dl: OpenCV + NumPy + ONNX Runtime in Python.

The baseline the GStreamer pipelines are compared with (issue: "Benchmarks
against the limit and against what users would write instead"). It measures:

1. python loop: ``cv2.VideoCapture`` decoding, the same preprocessing as our
   elements written with OpenCV + NumPy, ONNX Runtime inference, a light
   post-processing step; every Nth frame and in batches of B (the approach of
   lit_video_stream: collect frames, run the model on a batch, the partial
   batch at the end of the clip). Frames that are not inferred are decoded
   with ``grab()`` (no BGR conversion), the cheapest way OpenCV offers; one
   extra row seeks with ``CAP_PROP_POS_FRAMES`` as lit_video_stream does.
2. decode only: the ``cv2.VideoCapture`` read loop (``read()`` = decode + BGR
   conversion, and ``grab()`` = decode alone), the Python-side decode limit.
3. preprocessing alone: resize + BGR->RGB + float32 NCHW + normalisation on
   synthetic frames, written with NumPy and with ``cv2.dnn.blobFromImage``,
   and from I420 (``COLOR_YUV2RGB_I420`` then resize).

Each row runs in a fresh child process (this script with ``--child ROW``) so
that its peak RSS (``resource.getrusage``, ``ru_maxrss``, MiB) is its own.
Every row makes one warm-up pass that is not timed (ONNX Runtime allocates its
arenas, the OS caches the file), then ``--runs`` timed passes; the JSON holds
every run and their median, min and max. Model loading is not timed.

The machine may be shared: each row records ``other_cpu_share``, the share of
all CPU time that other processes (or the hypervisor) took while it ran, and
the table flags rows above 5%. Timings from such rows are not the baseline.

Thread settings: ONNX Runtime ``intra_op_num_threads = 0`` (its default: one
thread per physical core); OpenCV's own default (``cv2.getNumThreads()`` and
the FFmpeg decoder's ``CAP_PROP_N_THREADS`` are recorded per row).

Usage::

    .venv/bin/python benches/python_baseline.py --runs 5 --out results.json
    .venv/bin/python benches/python_baseline.py --quick --out /tmp/smoke.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / ".data" / "models"
MEDIA = ROOT / ".data" / "media"

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CHANNEL_MEAN = IMAGENET_MEAN[:, None, None]
CHANNEL_STD = IMAGENET_STD[:, None, None]

# Heatmap score above which a CenterFace cell counts as a face (the only
# decoding done: no box regression, no NMS).
CENTERFACE_THRESHOLD = 0.5

PREPROCESS_ITERATIONS = 200
PREPROCESS_ITERATIONS_QUICK = 20
PREPROCESS_WARMUP = 10


# --------------------------------------------------------------------------
# Preprocessing and post-processing per model: what our elements do.
# --------------------------------------------------------------------------


def to_nchw(rgb: np.ndarray) -> np.ndarray:
    """HWC uint8/float RGB -> contiguous float32 [1, 3, H, W] (one copy)."""
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)[None]


def centerface_input_size(width: int, height: int) -> tuple[int, int]:
    """The frame size rounded up to a multiple of 32 (640x272 -> 640x288)."""
    return 32 * math.ceil(width / 32), 32 * math.ceil(height / 32)


def preprocess_centerface(frame: np.ndarray) -> np.ndarray:
    """Stretch to the frame size rounded up to 32, RGB, raw 0..255, NCHW."""
    height, width = frame.shape[:2]
    resized = cv2.resize(frame, centerface_input_size(width, height),
                         interpolation=cv2.INTER_LINEAR)
    return to_nchw(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB))


def preprocess_efficientnet(frame: np.ndarray) -> np.ndarray:
    """Centre square crop (short side), 224x224 bilinear, RGB, (p-127)/128."""
    height, width = frame.shape[:2]
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    crop = frame[top:top + side, left:left + side]
    resized = cv2.resize(crop, (224, 224), interpolation=cv2.INTER_LINEAR)
    x = to_nchw(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB))
    x -= 127.0
    x *= 1.0 / 128.0
    return x


def preprocess_u2netp(frame: np.ndarray) -> np.ndarray:
    """Stretch to 320x320, RGB, (p/255 - mean)/std with ImageNet's, NCHW."""
    resized = cv2.resize(frame, (320, 320), interpolation=cv2.INTER_LINEAR)
    return imagenet_normalise(to_nchw(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)))


def imagenet_normalise(x: np.ndarray) -> np.ndarray:
    """In place on float32 [1, 3, H, W]: (p/255 - mean) / std per channel.

    Done on NCHW so that NumPy broadcasts over whole planes; on HWC the inner
    loop would be 3 elements long and the same arithmetic ~20x slower.
    """
    x *= 1.0 / 255.0
    x -= CHANNEL_MEAN
    x /= CHANNEL_STD
    return x


def postprocess_centerface(outputs: list[np.ndarray], frames: list[np.ndarray]) -> int:
    """Counts heatmap cells above the threshold (a stand-in for decoding)."""
    return int(np.count_nonzero(outputs[0] > CENTERFACE_THRESHOLD))


def postprocess_efficientnet(outputs: list[np.ndarray], frames: list[np.ndarray]) -> int:
    """Top-1 class per frame from the logits (features are kept as they are)."""
    return int(outputs[0].argmax(axis=1).sum())


def postprocess_u2netp(outputs: list[np.ndarray], frames: list[np.ndarray]) -> int:
    """Saliency ``1959`` -> min-max normalise -> frame size -> uint8 mask.

    What ``dltransform mask-mode=gray`` produces.
    """
    total = 0
    for saliency, frame in zip(outputs[0], frames):
        m = saliency[0]
        low, high = float(m.min()), float(m.max())
        m = (m - low) * (1.0 / max(high - low, 1e-12))
        height, width = frame.shape[:2]
        mask = cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)
        total += int((mask * 255.0 + 0.5).astype(np.uint8)[0, 0])
    return total


@dataclass(frozen=True)
class Model:
    """One model as our element runs it."""

    label: str
    file: str
    preprocess: Callable[[np.ndarray], np.ndarray]  # BGR frame -> [1, 3, H, W]
    postprocess: Callable[[list[np.ndarray], list[np.ndarray]], int]
    outputs: list[str] | None  # None: all outputs
    postprocess_doc: str


CENTERFACE = Model("CenterFace", "centerface.onnx", preprocess_centerface,
                   postprocess_centerface, None,
                   f"heatmap > {CENTERFACE_THRESHOLD} count only (no boxes, no NMS)")
EFFICIENTNET = Model("EfficientNet-Lite0", "efficientnet_lite0.onnx",
                     preprocess_efficientnet, postprocess_efficientnet, None,
                     "argmax of logits; features kept")
U2NETP = Model("U2-Netp", "u2netp.onnx", preprocess_u2netp, postprocess_u2netp,
               ["1959"], "min-max normalise, resize to frame size, uint8 mask")


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LoopRow:
    """Decode + preprocess + infer over a whole clip.

    ``skip`` is how the frames between inferred ones are passed over: "grab"
    decodes them without converting them to BGR; "seek" sets
    ``CAP_PROP_POS_FRAMES`` to the next frame to infer (lit_video_stream).
    """

    name: str
    model: Model
    clip: str
    interval: int
    batch: int
    skip: str = "grab"


@dataclass(frozen=True)
class DecodeRow:
    """Decode a whole clip and do nothing else."""

    name: str
    clip: str
    method: str  # "read" or "grab"


@dataclass(frozen=True)
class PreprocessRow:
    """Preprocessing alone on a synthetic frame."""

    name: str
    source: tuple[int, int]  # width, height
    target: tuple[int, int]
    source_format: str  # "BGR" or "I420"
    method: str  # "numpy" or "blobFromImage"


def loop_rows() -> list[LoopRow]:
    """The python-loop rows (row 1 of the brief) and the lit_video_stream seek."""
    return [
        LoopRow("python loop CenterFace bikes.mp4 i1 b1", CENTERFACE, "bikes.mp4", 1, 1),
        LoopRow("python loop EfficientNet bigbuckbunny.mp4 i1 b1", EFFICIENTNET,
                "bigbuckbunny.mp4", 1, 1),
        LoopRow("python loop EfficientNet bigbuckbunny.mp4 i30 b1", EFFICIENTNET,
                "bigbuckbunny.mp4", 30, 1),
        LoopRow("python loop EfficientNet bigbuckbunny.mp4 i30 b8", EFFICIENTNET,
                "bigbuckbunny.mp4", 30, 8),
        LoopRow("python loop EfficientNet bigbuckbunny.mp4 i30 b8 seek", EFFICIENTNET,
                "bigbuckbunny.mp4", 30, 8, skip="seek"),
        LoopRow("python loop U2-Netp carphone_pristine.mp4 i1 b1", U2NETP,
                "carphone_pristine.mp4", 1, 1),
    ]


@dataclass(frozen=True)
class TwoStageRow:
    """CenterFace on every frame, then EfficientNet-Lite0 features on each
    face, one face at a time: the loop users write instead of
    ``dlinfer ! dlinfer inference-region=objects``."""

    name: str
    clip: str
    padding: float = 0.1


def two_stage_rows() -> list[TwoStageRow]:
    """Per-face features on clips with faces."""
    return [
        TwoStageRow("python loop CenterFace + per-face EfficientNet carphone_pristine.mp4",
                    "carphone_pristine.mp4"),
        TwoStageRow("python loop CenterFace + per-face EfficientNet bikes.mp4", "bikes.mp4"),
    ]


def centerface_boxes(outputs: list[np.ndarray], frame: np.ndarray) -> list[tuple]:
    """CenterFace's boxes in frame pixels (heatmap > threshold, scale, offset,
    then OpenCV's NMS at IoU 0.3), as dlinfer decoder=centerface decodes."""
    heat, scale, offset = outputs[0][0, 0], outputs[1][0], outputs[2][0]
    height, width = frame.shape[:2]
    in_w, in_h = centerface_input_size(width, height)
    sx, sy = width / in_w, height / in_h
    rows, cols = np.nonzero(heat > CENTERFACE_THRESHOLD)
    boxes, scores = [], []
    for r, c in zip(rows, cols):
        h, w = math.exp(scale[0, r, c]) * 4, math.exp(scale[1, r, c]) * 4
        cx, cy = (c + offset[1, r, c] + 0.5) * 4, (r + offset[0, r, c] + 0.5) * 4
        boxes.append([(cx - w / 2) * sx, (cy - h / 2) * sy, w * sx, h * sy])
        scores.append(float(heat[r, c]))
    keep = cv2.dnn.NMSBoxes(boxes, scores, CENTERFACE_THRESHOLD, 0.3) if boxes else []
    return [boxes[i] for i in np.asarray(keep).reshape(-1)]


def face_features(session: ort.InferenceSession, input_name: str, frame: np.ndarray,
                  box: tuple, padding: float) -> np.ndarray:
    """Crop (padded, clipped), resize to 224x224, RGB, (p-127)/128, infer one
    face, L2-normalise its 1280 features."""
    height, width = frame.shape[:2]
    x, y, w, h = box
    x0, y0 = max(0, round(x - padding * w)), max(0, round(y - padding * h))
    x1 = min(width, round(x + w + padding * w))
    y1 = min(height, round(y + h + padding * h))
    if x1 <= x0 or y1 <= y0:
        return np.zeros(1280, np.float32)
    crop = cv2.resize(frame[y0:y1, x0:x1], (224, 224), interpolation=cv2.INTER_LINEAR)
    tensor = to_nchw(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    tensor -= 127.0
    tensor *= 1.0 / 128.0
    features = session.run(["features"], {input_name: tensor})[0][0]
    return features / max(float(np.linalg.norm(features)), 1e-12)


def run_two_stage_once(row: TwoStageRow, detector: ort.InferenceSession,
                       embedder: ort.InferenceSession) -> dict:
    """One timed pass over the clip: decode, detect, then crop and embed each face."""
    detector_input = detector.get_inputs()[0].name
    embedder_input = embedder.get_inputs()[0].name
    start = time.perf_counter()
    capture = cv2.VideoCapture(str(MEDIA / row.clip))
    decoder_threads = capture.get(cv2.CAP_PROP_N_THREADS)
    frames = faces = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        outputs = detector.run(None, {detector_input: preprocess_centerface(frame)})
        for box in centerface_boxes(outputs, frame):
            face_features(embedder, embedder_input, frame, box, row.padding)
            faces += 1
        frames += 1
    capture.release()
    return {"seconds": time.perf_counter() - start, "frames": frames, "inferred": faces,
            "decoder_threads": decoder_threads}


def measure_two_stage(row: TwoStageRow, runs: int) -> dict:
    """Warm-up pass, then ``runs`` timed passes; fps = frames / wall time."""
    detector, embedder = open_session(CENTERFACE), open_session(EFFICIENTNET)
    run_two_stage_once(row, detector, embedder)  # warm-up, not timed
    faults = minor_faults()
    results = [run_two_stage_once(row, detector, embedder) for _ in range(runs)]
    faults = minor_faults() - faults
    fps = [r["frames"] / r["seconds"] for r in results]
    last = results[-1]
    return {
        "name": row.name, "kind": "loop", "model": "CenterFace + EfficientNet-Lite0 per face",
        "clip": row.clip, "interval": 1, "batch": 1, "skip": "none",
        "frames": last["frames"], "inferred": last["inferred"],
        **summary(fps, "fps"), "runs": fps,
        "decoder_threads": last["decoder_threads"],
        "minor_faults_per_frame": faults / sum(r["frames"] for r in results),
        "postprocess": "CenterFace boxes + cv2.dnn.NMSBoxes; per face crop, resize, "
                       "EfficientNet features, L2-normalised",
    }


def decode_rows() -> list[DecodeRow]:
    """OpenCV decode limits per clip, with and without the BGR conversion."""
    return [
        DecodeRow(f"opencv decode {method}() {clip}", clip, method)
        for clip in ("bikes.mp4", "bigbuckbunny.mp4", "carphone_pristine.mp4")
        for method in ("read", "grab")
    ]


def preprocess_rows() -> list[PreprocessRow]:
    """Preprocessing alone: 1080p and 720p to 640x640 and 224x224, and I420."""
    rows = []
    for source in ((1920, 1080), (1280, 720)):
        for target in ((640, 640), (224, 224)):
            for method in ("numpy", "blobFromImage"):
                rows.append(PreprocessRow(
                    f"opencv preprocess {source[0]}x{source[1]}->{target[0]}x{target[1]}"
                    f" f32 NCHW ({method})", source, target, "BGR", method))
    for method in ("numpy", "blobFromImage"):
        rows.append(PreprocessRow(
            f"opencv preprocess I420 1920x1080->640x640 f32 NCHW ({method})",
            (1920, 1080), (640, 640), "I420", method))
    return rows


def all_rows() -> list:
    """Every row, in the order they run and appear in the JSON."""
    return loop_rows() + decode_rows() + preprocess_rows() + two_stage_rows()


# --------------------------------------------------------------------------
# Measurements (run in the child process)
# --------------------------------------------------------------------------


def open_session(model: Model) -> ort.InferenceSession:
    """CPU session with ONNX Runtime's default threads (intra_op = 0)."""
    ort.set_default_logger_severity(3)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 0
    options.log_severity_level = 3  # U2-Netp/CenterFace unused-initialiser noise
    return ort.InferenceSession(str(MODELS / model.file), sess_options=options,
                                providers=["CPUExecutionProvider"])


def infer_batch(session: ort.InferenceSession, model: Model, input_name: str,
                tensors: list[np.ndarray], frames: list[np.ndarray]) -> int:
    """One ``session.run`` on the stacked batch, then the post-processing."""
    batch = tensors[0] if len(tensors) == 1 else np.concatenate(tensors, axis=0)
    outputs = session.run(model.outputs, {input_name: batch})
    return model.postprocess(outputs, frames)


def run_loop_once(row: LoopRow, session: ort.InferenceSession) -> dict:
    """One timed pass of the user's loop over the whole clip.

    The clock covers opening the capture, decoding every frame, preprocessing
    and inferring every ``interval``-th frame in batches of ``batch`` (the
    partial batch at the end included), post-processing, and releasing the
    capture. ``frames`` is the number of clip frames the loop went through.
    """
    input_name = session.get_inputs()[0].name
    start = time.perf_counter()
    capture = cv2.VideoCapture(str(MEDIA / row.clip))
    decoder_threads = capture.get(cv2.CAP_PROP_N_THREADS)
    index = inferred = 0
    tensors: list[np.ndarray] = []
    frames: list[np.ndarray] = []
    while True:
        if index % row.interval == 0:
            ok, frame = capture.read()
            if not ok:
                break
            tensors.append(row.model.preprocess(frame))
            frames.append(frame)
            if len(tensors) == row.batch:
                infer_batch(session, row.model, input_name, tensors, frames)
                inferred += len(tensors)
                tensors, frames = [], []
            if row.skip == "seek" and row.interval > 1:
                # lit_video_stream: jump straight to the next frame to infer.
                index += row.interval
                capture.set(cv2.CAP_PROP_POS_FRAMES, index)
                continue
        elif not capture.grab():
            break
        index += 1
    if tensors:
        infer_batch(session, row.model, input_name, tensors, frames)
        inferred += len(tensors)
    capture.release()
    elapsed = time.perf_counter() - start
    if row.skip == "seek":
        index = min(index, clip_frame_count(row.clip))
    return {"seconds": elapsed, "frames": index, "inferred": inferred,
            "decoder_threads": decoder_threads}


def clip_frame_count(clip: str) -> int:
    """The container's frame count (only used to report the seek row)."""
    capture = cv2.VideoCapture(str(MEDIA / clip))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    return count


def measure_loop(row: LoopRow, runs: int) -> dict:
    """Warm-up pass, then ``runs`` timed passes; fps = frames / wall time."""
    session = open_session(row.model)
    run_loop_once(row, session)  # warm-up, not timed
    faults = minor_faults()
    results = [run_loop_once(row, session) for _ in range(runs)]
    faults = minor_faults() - faults
    fps = [r["frames"] / r["seconds"] for r in results]
    last = results[-1]
    return {
        "name": row.name, "kind": "loop", "model": row.model.label, "clip": row.clip,
        "interval": row.interval, "batch": row.batch, "skip": row.skip,
        "frames": last["frames"], "inferred": last["inferred"],
        **summary(fps, "fps"), "runs": fps,
        "decoder_threads": last["decoder_threads"],
        "minor_faults_per_frame": faults / sum(r["frames"] for r in results),
        "postprocess": row.model.postprocess_doc,
    }


def decode_once(row: DecodeRow) -> tuple[float, int, float]:
    """Time to open, decode every frame of the clip and release the capture."""
    start = time.perf_counter()
    capture = cv2.VideoCapture(str(MEDIA / row.clip))
    decoder_threads = capture.get(cv2.CAP_PROP_N_THREADS)
    step = capture.read if row.method == "read" else capture.grab
    frames = 0
    while True:
        result = step()
        if not (result[0] if isinstance(result, tuple) else result):
            break
        frames += 1
    capture.release()
    return time.perf_counter() - start, frames, decoder_threads


def measure_decode(row: DecodeRow, runs: int) -> dict:
    """The Python-side decode limit: frames per second with nothing else."""
    decode_once(row)  # warm-up, not timed
    faults = minor_faults()
    results = [decode_once(row) for _ in range(runs)]
    faults = minor_faults() - faults
    fps = [frames / seconds for seconds, frames, _ in results]
    return {
        "name": row.name, "kind": "decode", "model": None, "clip": row.clip,
        "interval": 1, "batch": 0, "method": row.method,
        "frames": results[-1][1], "inferred": 0,
        **summary(fps, "fps"), "runs": fps, "decoder_threads": results[-1][2],
        "minor_faults_per_frame": faults / sum(frames for _, frames, _ in results),
    }


def synthetic_frame(row: PreprocessRow) -> np.ndarray:
    """A random BGR frame, or its I420 planes as OpenCV lays them out."""
    width, height = row.source
    rng = np.random.default_rng(0)
    if row.source_format == "I420":
        return rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def preprocess_numpy(frame: np.ndarray, row: PreprocessRow) -> np.ndarray:
    """cv2 resize + cvtColor, then NumPy: float32 NCHW, /255, ImageNet norm."""
    if row.source_format == "I420":
        rgb = cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)
        rgb = cv2.resize(rgb, row.target, interpolation=cv2.INTER_LINEAR)
    else:
        resized = cv2.resize(frame, row.target, interpolation=cv2.INTER_LINEAR)
        rgb = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    return imagenet_normalise(to_nchw(rgb))


def preprocess_blob(frame: np.ndarray, row: PreprocessRow) -> np.ndarray:
    """``cv2.dnn.blobFromImage`` (resize, swapRB, /255, NCHW) + per-channel std."""
    if row.source_format == "I420":
        rgb = cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)
        blob = cv2.dnn.blobFromImage(rgb, 1.0 / 255.0, row.target, swapRB=False)
    else:
        blob = cv2.dnn.blobFromImage(frame, 1.0 / 255.0, row.target, swapRB=True)
    blob -= CHANNEL_MEAN
    blob /= CHANNEL_STD
    return blob


def preprocess_timings(row: PreprocessRow, frame: np.ndarray, iterations: int) -> list[float]:
    """Microseconds of each of ``iterations`` calls (after a short warm-up)."""
    step = preprocess_numpy if row.method == "numpy" else preprocess_blob
    for _ in range(PREPROCESS_WARMUP):
        step(frame, row)
    timings = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        step(frame, row)
        timings.append((time.perf_counter_ns() - start) / 1000.0)
    return timings


def measure_preprocess(row: PreprocessRow, runs: int, iterations: int) -> dict:
    """Median µs per frame of each run; the row's median is over runs.

    The allocator is settled first (see ``settle_allocator``) so that the row
    measures the work, not page faults. The NumPy and blobFromImage paths are
    run once on the same frame and their largest difference is reported, to
    show that both compute the same tensor.
    """
    settle_allocator()
    frame = synthetic_frame(row)
    reference = preprocess_numpy(frame, row)
    other = preprocess_blob(frame, row)
    assert reference.shape == other.shape == (1, 3, row.target[1], row.target[0])
    max_diff = float(np.abs(reference - other).max())
    faults = minor_faults()
    per_run = [statistics.median(preprocess_timings(row, frame, iterations))
               for _ in range(runs)]
    faults = minor_faults() - faults
    return {
        "name": row.name, "kind": "preprocess", "source": list(row.source),
        "target": list(row.target), "source_format": row.source_format,
        "method": row.method, "iterations": iterations,
        **summary(per_run, "us"), "runs": per_run,
        "numpy_vs_blob_max_abs_diff": max_diff,
        "minor_faults_per_iteration": faults / (runs * (iterations + PREPROCESS_WARMUP)),
        "normalisation": "RGB, (p/255 - ImageNet mean) / ImageNet std, stretch INTER_LINEAR",
    }


def summary(values: list[float], unit: str) -> dict:
    """Median, min and max of a list of per-run values."""
    return {f"{unit}_median": statistics.median(values),
            f"{unit}_min": min(values), f"{unit}_max": max(values)}


def environment() -> dict:
    """Versions and thread settings recorded in every row."""
    return {
        "ort_threads": "default",
        "ort_version": ort.__version__,
        "cv2_version": cv2.__version__,
        "cv2_threads": cv2.getNumThreads(),
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
    }


def settle_allocator() -> None:
    """Allocates and frees one 16 MiB buffer (preprocessing rows only).

    glibc serves large blocks with mmap and unmaps them on free until a freed
    mmapped block raises its (dynamic) threshold. Before that, every call that
    allocates a frame-sized temporary faults all its pages in afresh, which
    on this machine costs ~3 ms for ``blobFromImage`` to 640x640 (~1600 minor
    faults per call), more than the work itself. A process that decodes video
    has freed frame-sized buffers long before; this puts the synthetic
    benchmark in that steady state. (16 MiB: above every buffer here, below
    glibc's 32 MiB cap for the dynamic threshold.)
    """
    buffer = np.ones(16 << 20, dtype=np.uint8)
    del buffer


def cpu_snapshot() -> tuple[float, float, float]:
    """(wall s, busy CPU s of the whole machine, CPU s of this process)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    own = os.times()
    return time.perf_counter(), busy, own.user + own.system


def other_cpu_share(before: tuple, after: tuple) -> float:
    """Share of the machine's CPU time that others used while the row ran.

    Busy CPU time of the whole machine (steal included) minus this process's,
    over wall time x cores: ~0 when the row ran alone; 0.5 on 2 cores means a
    whole core went to something else (other processes, the hypervisor).
    """
    wall = after[0] - before[0]
    others = (after[1] - before[1]) - (after[2] - before[2])
    return max(0.0, others) / (wall * os.cpu_count())


def minor_faults() -> int:
    """Minor page faults of this process so far (to spot allocator churn)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux: ru_maxrss is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(index: int, runs: int, quick: bool) -> dict:
    """Measures row ``index`` in this (fresh) process and returns its JSON row."""
    row = all_rows()[index]
    load_before = os.getloadavg()[0]
    cpu_before = cpu_snapshot()
    if isinstance(row, LoopRow):
        result = measure_loop(row, runs)
    elif isinstance(row, DecodeRow):
        result = measure_decode(row, runs)
    elif isinstance(row, TwoStageRow):
        result = measure_two_stage(row, runs)
    else:
        iterations = PREPROCESS_ITERATIONS_QUICK if quick else PREPROCESS_ITERATIONS
        result = measure_preprocess(row, runs, iterations)
    result.update(environment())
    result["peak_rss_mb"] = peak_rss_mb()
    # Other work on the machine skews timings: these say whether it ran alone.
    result["other_cpu_share"] = other_cpu_share(cpu_before, cpu_snapshot())
    result["loadavg_1min"] = [load_before, os.getloadavg()[0]]
    return result


# --------------------------------------------------------------------------
# Parent: one child process per row, the JSON, a table
# --------------------------------------------------------------------------


def run_row_in_subprocess(index: int, runs: int, quick: bool) -> dict:
    """Runs one row in a fresh interpreter so peak RSS is that row's alone."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(index),
               "--runs", str(runs)] + (["--quick"] if quick else [])
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def format_row(row: dict) -> str:
    """One line of the summary table."""
    if row["kind"] == "preprocess":
        return (f"{row['name']:<62} {row['us_median']:>9.0f} us"
                f"  [{row['us_min']:.0f}..{row['us_max']:.0f}]"
                f"  rss {row['peak_rss_mb']:.0f} MiB{busy_note(row)}")
    return (f"{row['name']:<62} {row['fps_median']:>9.1f} fps"
            f"  [{row['fps_min']:.1f}..{row['fps_max']:.1f}]"
            f"  frames {row['frames']} inferred {row['inferred']}"
            f"  rss {row['peak_rss_mb']:.0f} MiB{busy_note(row)}")


def busy_note(row: dict) -> str:
    """A warning when other work took a noticeable share of the CPU."""
    share = row["other_cpu_share"]
    return f"  (others used {share:.0%} of the CPU)" if share > 0.05 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per row")
    parser.add_argument("--out", type=Path, default=Path("python_baseline.json"))
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 1 run, short preprocessing loops")
    parser.add_argument("--only", help="run only the rows whose names start with one of these "
                        "'|'-separated names (the Rust benchmark's row filter passes them)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs

    if args.child is not None:
        print(json.dumps(run_child(args.child, runs, args.quick)))
        return

    start = time.perf_counter()
    results = []
    only = args.only.split("|") if args.only else None
    for index, row in enumerate(all_rows()):
        if only is not None and not any(row.name.startswith(name) for name in only):
            continue
        result = run_row_in_subprocess(index, runs, args.quick)
        print(format_row(result), flush=True)
        results.append(result)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{len(results)} rows, {runs} runs each, "
          f"{time.perf_counter() - start:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
