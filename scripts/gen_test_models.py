#!/usr/bin/env python3
"""Generate small ONNX models with exactly known outputs for the dlinfer tests.

Usage: .venv/bin/python scripts/gen_test_models.py OUTDIR

Every model is built from plain ONNX ops (opset 17, IR version 8), written to
OUTDIR only when its bytes changed (so mtimes stay stable), and then checked
with onnxruntime on synthetic images against outputs computed independently in
numpy.  Any mismatch raises, so a broken generator fails loudly.

The core of most models is the "bright rectangle detector": the input holds
one bright axis-aligned rectangle on a dark background.  A pixel is "bright"
when its channel mean exceeds 0.5 (127.5 for uint8 inputs, which get the raw
0..255 values).  The detector finds the first/last bright column and row and
reports the box in model-input pixels with pixel-edge coordinates:
a rectangle covering columns 40..79 and rows 100..139 gives
x_min=40, y_min=100, x_max=80, y_max=140.  Every detector emits 3 anchors:

  anchor 0: the exact box, class 1 ("square"), score 0.9
  anchor 1: the box shifted by +2 px in x, class 1, score 0.8
            (IoU with anchor 0 is (w-2)/(w+2), so NMS at 0.45 removes it for
            any box at least 6 px wide)
  anchor 2: the exact box, class 2 ("circle"), score 0.3
            (below a 0.5 threshold; with threshold 0.25 it survives
            class-aware NMS next to anchor 0)

With no bright pixel every box and every score (SSD background included) is 0.
Note that a saturated pure red/green/blue pixel has channel mean 1/3: it is
not bright.
"""

import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import onnxruntime as ort

OPSET = 17
IR_VERSION = 8
NUM_CLASSES = 3
LABELS3 = ["background", "square", "circle"]
LABELS5 = ["background", "square", "circle", "triangle", "star"]

# Per-anchor constants shared by all detector heads (see module docstring).
ANCHOR_X_SHIFT = np.array([0.0, 2.0, 0.0], np.float32)  # px added to x_min/x_max
YOLOV8_SCORES = np.array([[0.0, 0.9, 0.0],
                          [0.0, 0.8, 0.0],
                          [0.0, 0.0, 0.3]], np.float32)
YOLOV5_OBJ = np.array([0.95, 0.9, 0.5], np.float32)
YOLOV5_CLS = np.array([[0.0, 0.95, 0.0],
                       [0.0, 0.9, 0.0],
                       [0.0, 0.0, 0.6]], np.float32)
SSD_SCORES = np.array([[0.1, 0.9, 0.0],   # class 0 is background
                       [0.2, 0.8, 0.0],
                       [0.7, 0.0, 0.3]], np.float32)
# ssd_tf.onnx: 1-based TF class ids, i.e. indices into labels3.txt whose line 0
# is "background"; row 3 is padding beyond num_detections and must be ignored.
SSD_TF_CLASSES = np.array([1.0, 1.0, 2.0, 1.0], np.float32)
SSD_TF_PAD_SCORE = np.float32(0.99)
SSD_TF_PAD_BOX = np.array([0.0, 0.0, 1.0, 1.0], np.float32)

# slow.onnx cost: SLOW_LAYERS x (MatMul [768,SLOW_DIM]x[SLOW_DIM,SLOW_DIM] + Tanh),
# i.e. 2*768*SLOW_DIM^2 flops (0.4 GFLOP) per layer, one shared weight (1 MiB).
# Tuned for ~100 ms/run on one core of a 2-core AMD EPYC (AVX-512) VM with
# onnxruntime 1.31 (~1.7 ms per layer there).
SLOW_LAYERS = 60
SLOW_DIM = 512

F32 = TensorProto.FLOAT


# --------------------------------------------------------------------------
# Graph building helpers
# --------------------------------------------------------------------------

class Graph:
    """Tiny builder: g.op(...) appends a node and returns its output name."""

    def __init__(self):
        self.nodes = []
        self.inits = []
        self._n = 0

    def _name(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def op(self, op_type, *inputs, out=None, **attrs):
        out = out or self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def const(self, value, dtype=np.float32):
        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def model(self, inputs, outputs, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="gst-dl gen_test_models.py")
        m.ir_version = IR_VERSION
        onnx.checker.check_model(m, full_check=True)
        return m


def tensor(name, elem_type, shape):
    return helper.make_tensor_value_info(name, elem_type, shape)


def to_nchw_float(g, x, nhwc=False, uint8=False):
    """Bring an image input to float NCHW; return (tensor, brightness threshold)."""
    if nhwc:
        x = g.op("Transpose", x, perm=[0, 3, 1, 2])
    if uint8:
        return g.op("Cast", x, to=F32), 127.5
    return x, 0.5


def dim_as_float(g, x, axis):
    """Scalar float holding x.shape[axis] (works for dynamic dims)."""
    d = g.op("Shape", x, start=axis, end=axis + 1)
    return g.op("Cast", g.op("Squeeze", d), to=F32)


def bright_box(g, x, thr):
    """Bounding box of the bright pixels of x (float NCHW).

    Returns (box [B,4] = x_min, y_min, x_max, y_max in pixel-edge coordinates,
    present [B,1] = 1.0 if any pixel's channel mean exceeds thr else 0.0).
    The box is all zeros when nothing is bright.  Every batch item is
    independent and H/W may be dynamic (Range over Shape).
    """
    mean = g.op("ReduceMean", x, axes=[1], keepdims=0)                    # [B,H,W]
    mask = g.op("Cast", g.op("Greater", mean, g.const(thr)), to=F32)
    cols = g.op("ReduceMax", mask, axes=[1], keepdims=0)                  # [B,W]
    rows = g.op("ReduceMax", mask, axes=[2], keepdims=0)                  # [B,H]
    present = g.op("ReduceMax", cols, axes=[1], keepdims=1)               # [B,1]

    def extent(profile, axis):
        n = dim_as_float(g, x, axis)
        idx = g.op("Range", g.const(0.0), n, g.const(1.0))              # [L]
        on = g.op("Greater", profile, g.const(0.5))
        first = g.op("ReduceMin", g.op("Where", on, idx, n), axes=[1], keepdims=1)
        last = g.op("ReduceMax", g.op("Where", on, idx, g.const(-1.0)), axes=[1], keepdims=1)
        return first, g.op("Add", last, g.const(1.0))

    x0, x1 = extent(cols, 3)
    y0, y1 = extent(rows, 2)
    box = g.op("Concat", x0, y0, x1, y1, axis=1)
    return g.op("Mul", box, present), present


def anchor_boxes(g, box, present):
    """[B,3,4] xyxy boxes of the 3 anchors (anchor 1 shifted +2 px in x when present)."""
    shift = np.zeros((1, 3, 4), np.float32)
    shift[0, :, 0] = shift[0, :, 2] = ANCHOR_X_SHIFT
    p = g.op("Unsqueeze", present, g.const([2], np.int64))                # [B,1,1]
    b = g.op("Unsqueeze", box, g.const([1], np.int64))                    # [B,1,4]
    return g.op("Add", b, g.op("Mul", p, g.const(shift))), p


def xyxy_to_cxcywh(g, boxes):
    """Last-axis xyxy -> cx, cy, w, h (exact for integer inputs)."""
    m = np.array([[0.5, 0, -1, 0],
                  [0, 0.5, 0, -1],
                  [0.5, 0, 1, 0],
                  [0, 0.5, 0, 1]], np.float32)
    return g.op("MatMul", boxes, g.const(m))


def yolo_rows(g, box, present, extra_cols):
    """[B,3,4+K]: anchors as cx,cy,w,h followed by present * extra_cols[anchor]."""
    boxes, p = anchor_boxes(g, box, present)
    scores = g.op("Mul", p, g.const(extra_cols[None]))
    return g.op("Concat", xyxy_to_cxcywh(g, boxes), scores, axis=2)


# --------------------------------------------------------------------------
# Model builders
# --------------------------------------------------------------------------

def build_yolov8(in_shape=(1, 3, 320, 320), out_shape=None, nhwc=False, uint8=False,
                 transposed=False, anchors_follow_width=False):
    """YOLOv8-style detector of the bright rectangle.

    Input `images` (float NCHW by default; NHWC and/or uint8 variants test the
    element's layout and dtype handling), output `output0` [B,4+C,3] rows
    cx,cy,w,h,score0..2 (or [B,3,4+C] when transposed) as described in the
    module docstring.  Tests check box decoding, thresholding, NMS and
    class-aware NMS.  `anchors_follow_width` appends 3 all-zero anchors per 320 input
    columns, so that at width 320 the anchor count (6) lies below the 7
    attributes while following the input size, as a YOLOv8 export with
    dynamic axes does (and ONNX Runtime cannot fix the count at load).
    """
    g = Graph()
    x, thr = to_nchw_float(g, "images", nhwc=nhwc, uint8=uint8)
    box, present = bright_box(g, x, thr)
    rows = yolo_rows(g, box, present, YOLOV8_SCORES)
    if anchors_follow_width:
        zeros = g.op("Mul", rows, g.const(0.0))                          # [B,3,4+C]
        per_320 = g.op("Div", g.op("Shape", x, start=3, end=4), g.const([320], np.int64))
        reps = g.op("Concat", g.const([1], np.int64), per_320, g.const([1], np.int64), axis=0)
        rows = g.op("Concat", rows, g.op("Tile", zeros, reps), axis=1)   # [B,3+3k,4+C]
    batch = in_shape[0]
    if transposed:
        g.op("Identity", rows, out="output0")
        shape = [batch, 3, 4 + NUM_CLASSES]
    else:
        g.op("Transpose", rows, perm=[0, 2, 1], out="output0")
        shape = [batch, 4 + NUM_CLASSES, "anchors" if anchors_follow_width else 3]
    dtype = TensorProto.UINT8 if uint8 else F32
    return g.model([tensor("images", dtype, list(in_shape))],
                   [tensor("output0", F32, out_shape or shape)], "yolov8")


def build_yolov5():
    """YOLOv5-style detector: `output0` [B,3,5+C] = cx,cy,w,h,objectness,class probs.

    Confidence = obj * class prob: anchor 0 0.9025 (class 1), anchor 1 0.81
    (class 1, shifted, NMS-suppressed), anchor 2 0.3 (class 2).  Tests the
    objectness multiplication of the YOLOv5 decoder.
    """
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    cols = np.concatenate([YOLOV5_OBJ[:, None], YOLOV5_CLS], axis=1)
    g.op("Identity", yolo_rows(g, box, present, cols), out="output0")
    return g.model([tensor("images", F32, ["batch", 3, 320, 320])],
                   [tensor("output0", F32, ["batch", 3, 5 + NUM_CLASSES])], "yolov5")


def build_ssd():
    """SSD with two outputs: `boxes` [B,3,4] normalised x_min,y_min,x_max,y_max
    and `scores` [B,3,C] with class 0 = background.

    Tests normalised-coordinate decoding and that class 0 is never reported
    (anchor 2 has background 0.7 > threshold 0.5).
    """
    g = Graph()
    box, present = bright_box(g, "input", 0.5)
    boxes, p = anchor_boxes(g, box, present)
    w, h = dim_as_float(g, "input", 3), dim_as_float(g, "input", 2)
    whwh = g.op("Concat", *[g.op("Unsqueeze", d, g.const([0], np.int64)) for d in (w, h, w, h)],
                axis=0)
    g.op("Div", boxes, whwh, out="boxes")
    g.op("Mul", p, g.const(SSD_SCORES[None]), out="scores")
    return g.model([tensor("input", F32, ["batch", 3, 300, 300])],
                   [tensor("boxes", F32, ["batch", 3, 4]),
                    tensor("scores", F32, ["batch", 3, NUM_CLASSES])], "ssd")


def build_ssd_tf():
    """TensorFlow Object Detection API style SSD (4 outputs, uint8 NHWC input).

    `detection_boxes` [1,4,4] normalised y_min,x_min,y_max,x_max;
    `detection_classes` [1,4] float TF class ids (1-based: 1 = "square",
    2 = "circle", i.e. the line index in labels3.txt whose line 0 is
    background); `detection_scores` [1,4]; `num_detections` [1] = 3 (0 when
    nothing is bright).  Row 3 is padding (score 0.99, full-frame box, class 1)
    beyond num_detections: tests that the element honours num_detections.
    """
    g = Graph()
    x, thr = to_nchw_float(g, "image_tensor", nhwc=True, uint8=True)
    box, present = bright_box(g, x, thr)
    boxes, p = anchor_boxes(g, box, present)
    boxes = g.op("Div", boxes, g.const([300.0, 300.0, 300.0, 300.0]))
    yxyx = g.op("Gather", boxes, g.const([1, 0, 3, 2], np.int64), axis=2)
    g.op("Concat", yxyx, g.const(SSD_TF_PAD_BOX[None, None]), axis=1, out="detection_boxes")
    scores = g.op("Mul", present, g.const(YOLOV8_SCORES.sum(axis=1)[None]))
    g.op("Concat", scores, g.const([[SSD_TF_PAD_SCORE]]), axis=1, out="detection_scores")
    g.op("Identity", g.const(SSD_TF_CLASSES[None]), out="detection_classes")
    g.op("Mul", g.op("Squeeze", present, g.const([1], np.int64)), g.const(3.0),
         out="num_detections")
    return g.model([tensor("image_tensor", TensorProto.UINT8, [1, 300, 300, 3])],
                   [tensor("detection_boxes", F32, [1, 4, 4]),
                    tensor("detection_classes", F32, [1, 4]),
                    tensor("detection_scores", F32, [1, 4]),
                    tensor("num_detections", F32, [1])], "ssd_tf")


def build_classify(softmax=False):
    """Classifier: `logits` [B,3] = 10 * per-channel mean of the input
    (pure red -> class 0, green -> 1, blue -> 2), or `probs` = Softmax of it.

    Tests the classification path (top-k, labels, optional softmax).
    """
    g = Graph()
    means = g.op("ReduceMean", "input", axes=[2, 3], keepdims=0)
    logits = g.op("Mul", means, g.const(10.0))
    name = "probs" if softmax else "logits"
    g.op("Softmax" if softmax else "Identity", logits, out=name, **({"axis": 1} if softmax else {}))
    return g.model([tensor("input", F32, ["batch", 3, 224, 224])],
                   [tensor(name, F32, ["batch", 3])], "classify")


def build_features():
    """Feature extractor with two outputs: output 0 `extra` [B,2] =
    (sum of channel means, -1), output 1 `features` [B,8] =
    (m_r, m_g, m_b, m_r^2, m_g^2, m_b^2, 0.5, 0.25) with m_* the channel means.

    Tests selecting an output by name and exporting raw (un-normalised) vectors.
    """
    g = Graph()
    m = g.op("ReduceMean", "input", axes=[2, 3], keepdims=0)              # [B,3]
    sq = g.op("Mul", m, m)
    # m @ 0 + c broadcasts a constant row to the dynamic batch.
    consts = g.op("Add", g.op("MatMul", m, g.const(np.zeros((3, 2)))), g.const([0.5, 0.25]))
    g.op("Add", g.op("MatMul", m, g.const([[1, 0], [1, 0], [1, 0]])), g.const([0.0, -1.0]),
         out="extra")
    g.op("Concat", m, sq, consts, axis=1, out="features")
    return g.model([tensor("input", F32, ["batch", 3, 64, 64])],
                   [tensor("extra", F32, ["batch", 2]), tensor("features", F32, ["batch", 8])],
                   "features")


def build_identity():
    """`out` = `input` [B,3,H,W] (all dynamic): tests the preprocessing by
    returning exactly the tensor the element fed in."""
    g = Graph()
    g.op("Identity", "input", out="out")
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("out", F32, ["batch", 3, "height", "width"])], "identity_rgb")


def build_fails_on_bright():
    """`features` [1,3] = channel means of `input` [1,3,32,32]; when a pixel
    is brighter than 0.9 the run fails (its Reshape asks 3 values for rows
    of 4): a second-stage model that fails on one crop only."""
    g = Graph()
    means = g.op("ReduceMean", "input", axes=[2, 3], keepdims=0)          # [1,3]
    brightest = g.op("ReduceMax", "input", keepdims=0)                     # scalar
    bright = g.op("Cast", g.op("Greater", brightest, g.const(0.9)), to=TensorProto.INT64)
    cols = g.op("Add", g.const([3], np.int64), g.op("Reshape", bright, g.const([1], np.int64)))
    shape = g.op("Concat", g.const([-1], np.int64), cols, axis=0)
    g.op("Reshape", means, shape, out="features")
    return g.model([tensor("input", F32, [1, 3, 32, 32])],
                   [tensor("features", F32, [1, 3])], "fails_on_bright")


def build_quantized_identity():
    """`out` = `input` [B,3,H,W] through QuantizeLinear / DequantizeLinear
    (scale 1, zero point 0, uint8): an already quantised model, which
    scripts/quantize.py must refuse. Values 0..255 pass unchanged."""
    g = Graph()
    q = g.op("QuantizeLinear", "input", g.const(1.0), g.const(0, np.uint8))
    g.op("DequantizeLinear", q, g.const(1.0), g.const(0, np.uint8), out="out")
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("out", F32, ["batch", 3, "height", "width"])], "quantized_identity")


# Frame-to-frame models for dltransform ------------------------------------

def build_invert():
    """`out` = 1 - `input` [B,3,H,W] (dynamic): with the element's defaults
    (input / 255, output * 255) every pixel becomes exactly 255 - pixel."""
    g = Graph()
    g.op("Sub", g.const(1.0), "input", out="out")
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("out", F32, ["batch", 3, "out_height", "out_width"])], "invert")


def build_upscale2x():
    """`out` = 2x nearest-neighbour upscale of `input` (dynamic): the output
    caps must be twice the input's, every pixel copied exactly."""
    g = Graph()
    scales = g.const([1.0, 1.0, 2.0, 2.0])
    g.op("Resize", "input", "", scales, out="out", mode="nearest", nearest_mode="floor",
         coordinate_transformation_mode="asymmetric")
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("out", F32, ["batch", 3, "out_height", "out_width"])], "upscale2x")


def build_fixed_resize():
    """Fixed [1,3,64,64] in, [1,3,32,48] out (nearest resize to 48 wide, 32
    high): the output caps follow the model, not the frame."""
    g = Graph()
    sizes = g.const([1, 3, 32, 48], np.int64)
    g.op("Resize", "input", "", "", sizes, out="out", mode="nearest", nearest_mode="floor",
         coordinate_transformation_mode="asymmetric")
    return g.model([tensor("input", F32, [1, 3, 64, 64])],
                   [tensor("out", F32, [1, 3, 32, 48])], "fixed_resize")


def build_gray_mask():
    """One-channel `mask` [B,1,H,W] = the channel mean of `input`: alpha,
    gray and cutout outputs have exact expected values."""
    g = Graph()
    g.op("ReduceMean", "input", out="mask", axes=[1], keepdims=1)
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("mask", F32, ["batch", 1, "height", "width"])], "gray_mask")


def build_box_blur():
    """Fully convolutional 5x5 box blur per channel (zero padded): tiled and
    untiled runs must agree away from nothing but float rounding."""
    g = Graph()
    weight = g.const(np.full((3, 1, 5, 5), 1.0 / 25.0, np.float32))
    g.op("Conv", "input", weight, out="out", group=3, pads=[2, 2, 2, 2], kernel_shape=[5, 5])
    return g.model([tensor("input", F32, ["batch", 3, "height", "width"])],
                   [tensor("out", F32, ["batch", 3, "height", "width"])], "box_blur")


def build_two_inputs():
    """Two image inputs `a`, `b` [1,3,32,32], `out` = a + b: the element cannot
    feed it and must fail with a clear error."""
    g = Graph()
    g.op("Add", "a", "b", out="out")
    return g.model([tensor("a", F32, [1, 3, 32, 32]), tensor("b", F32, [1, 3, 32, 32])],
                   [tensor("out", F32, [1, 3, 32, 32])], "two_inputs")


def build_five_d():
    """5-D input [1,3,2,32,32] (video-clip style): unsupported, error test."""
    g = Graph()
    g.op("Identity", "input", out="out")
    return g.model([tensor("input", F32, [1, 3, 2, 32, 32])],
                   [tensor("out", F32, [1, 3, 2, 32, 32])], "five_d")


def build_string_input():
    """String input [1]: not an image tensor, error test."""
    g = Graph()
    g.op("Identity", "input", out="out")
    return g.model([tensor("input", TensorProto.STRING, [1])],
                   [tensor("out", TensorProto.STRING, [1])], "string_input")


def slow_zero(g, image):
    """A deliberately slow branch on a [1,3,64,64] image (SLOW_LAYERS MatMul +
    Tanh on a fixed weight, ~100 ms on one core) that evaluates to a scalar 0,
    to be added to a model's real output."""
    rng = np.random.default_rng(1234)
    w_in = g.const(rng.uniform(-1, 1, (64, SLOW_DIM)) / 8.0)
    w = g.const(rng.uniform(-1, 1, (SLOW_DIM, SLOW_DIM)) * np.sqrt(3.0 / SLOW_DIM))
    a = g.op("Reshape", image, g.const([192, 64], np.int64))
    a = g.op("Tanh", g.op("MatMul", a, w_in))                             # [192,DIM]
    a = g.op("Tile", a, g.const([4, 1], np.int64))                        # [768,DIM]
    for _ in range(SLOW_LAYERS):
        a = g.op("Tanh", g.op("MatMul", a, w))   # |tanh| <= 1: no inf/NaN
    return g.op("Mul", g.op("ReduceMean", a, keepdims=1), g.const(0.0))


def build_slow_invert():
    """`out` = 1 - `input` on [1,3,64,64], taking ~100 ms (the slow branch
    added times 0): a frame-to-frame model slower than real time, for
    dltransform's realtime (QoS) test."""
    g = Graph()
    g.op("Add", g.op("Sub", g.const(1.0), "input"), slow_zero(g, "input"), out="out")
    return g.model([tensor("input", F32, [1, 3, 64, 64])],
                   [tensor("out", F32, [1, 3, 64, 64])], "slow_invert")


def build_slow():
    """yolov8-layout detector on [1,3,64,64] (same anchors as yolov8_nchw)
    plus a deliberately slow branch (SLOW_LAYERS MatMul+Tanh on a fixed
    weight, ~100 ms on one core) whose result is added times 0.

    Tests queueing/latency/drop behaviour with a slow model whose detections
    are still exact.
    """
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    rows = yolo_rows(g, box, present, YOLOV8_SCORES)
    zero = slow_zero(g, "images")
    g.op("Transpose", g.op("Add", rows, zero), perm=[0, 2, 1], out="output0")
    return g.model([tensor("images", F32, [1, 3, 64, 64])],
                   [tensor("output0", F32, [1, 4 + NUM_CLASSES, 3])], "slow")


# --------------------------------------------------------------------------
# Reference outputs (numpy, independent of the graphs) and checks
# --------------------------------------------------------------------------

def synth(h, w, rect, value=1.0, dim=0.4):
    """float [3,h,w] image: dim grey checkerboard background (never bright), and
    rect = (x0, y0, x1, y1) pixel-edge box filled with `value` (None: no rect)."""
    img = np.zeros((3, h, w), np.float32)
    img[:, ::2, ::2] = dim
    if rect is not None:
        x0, y0, x1, y1 = rect
        img[:, y0:y1, x0:x1] = value
    return img


def ref_anchors(rect):
    """[3,4] xyxy anchor boxes for rect (zeros when rect is None)."""
    if rect is None:
        return np.zeros((3, 4), np.float32)
    b = np.tile(np.array(rect, np.float32), (3, 1))
    b[:, 0] += ANCHOR_X_SHIFT
    b[:, 2] += ANCHOR_X_SHIFT
    return b


def ref_yolo_rows(rect, cols):
    b = ref_anchors(rect)
    cxcywh = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2,
                       b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)
    p = np.float32(rect is not None)
    return np.concatenate([cxcywh, cols * p], axis=1).astype(np.float32)   # [3,4+K]


def run(path, feeds):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds))), sess


def eq(actual, expected, what):
    expected = np.asarray(expected, np.float32)
    if actual.shape != expected.shape or not np.array_equal(actual, expected):
        raise AssertionError(f"{what}: got {actual.shape}\n{actual}\nexpected {expected.shape}\n{expected}")


RECT_A = (40, 100, 80, 140)     # the 40x40 square used in the docs
RECT_B = (7, 13, 61, 29)        # non-square, catches x/y swaps


def check_yolov8(path, h=320, w=320, batch_rects=((RECT_A,), (RECT_B,), (None,)),
                 nhwc=False, uint8=False, transposed=False, extra_anchors=0):
    for rects in batch_rects:
        imgs = np.stack([synth(h, w, r) for r in rects])
        if uint8:
            imgs = np.round(imgs * 255).astype(np.uint8)
        if nhwc:
            imgs = np.ascontiguousarray(imgs.transpose(0, 2, 3, 1))
        out, _ = run(path, {"images": imgs})
        exp = np.stack([ref_yolo_rows(r, YOLOV8_SCORES) for r in rects])
        exp = np.concatenate([exp, np.zeros((len(rects), extra_anchors, exp.shape[2]), np.float32)], axis=1)
        eq(out["output0"], exp if transposed else exp.transpose(0, 2, 1), f"{path} {rects}")


def check_yolov5(path):
    rects = (RECT_A, None, RECT_B)
    out, _ = run(path, {"images": np.stack([synth(320, 320, r) for r in rects])})
    cols = np.concatenate([YOLOV5_OBJ[:, None], YOLOV5_CLS], axis=1)
    eq(out["output0"], np.stack([ref_yolo_rows(r, cols) for r in rects]), path)


def check_ssd(path):
    rects = (RECT_A, None, RECT_B)
    out, _ = run(path, {"input": np.stack([synth(300, 300, r) for r in rects])})
    eq(out["boxes"], np.stack([ref_anchors(r) / np.float32(300) for r in rects]), path)
    eq(out["scores"], np.stack([SSD_SCORES * np.float32(r is not None) for r in rects]), path)


def check_ssd_tf(path):
    for rect in (RECT_A, RECT_B, None):
        img = np.round(synth(300, 300, rect) * 255).astype(np.uint8).transpose(1, 2, 0)[None]
        out, _ = run(path, {"image_tensor": np.ascontiguousarray(img)})
        b = ref_anchors(rect) / np.float32(300)
        p = np.float32(rect is not None)
        eq(out["detection_boxes"], np.concatenate([b[:, [1, 0, 3, 2]], SSD_TF_PAD_BOX[None]])[None], path)
        eq(out["detection_scores"], np.append(YOLOV8_SCORES.sum(axis=1) * p, SSD_TF_PAD_SCORE)[None], path)
        eq(out["detection_classes"], SSD_TF_CLASSES[None], path)
        eq(out["num_detections"], [3.0 * p], path)


def solid(colors, size):
    return np.stack([np.broadcast_to(np.array(c, np.float32)[:, None, None], (3, size, size))
                     for c in colors]).copy()


COLORS = ((1, 0, 0), (0, 1, 0), (0, 0, 1), (0.5, 0.25, 0.75))


def check_classify(path, softmax):
    out, _ = run(path, {"input": solid(COLORS, 224)})
    logits = np.array(COLORS, np.float32) * np.float32(10)
    if softmax:
        p = out["probs"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), rtol=1e-6)
        assert list(p.argmax(axis=1)[:3]) == [0, 1, 2]
    else:
        eq(out["logits"], logits, path)


def check_features(path):
    out, sess = run(path, {"input": solid(COLORS, 64)})
    assert [o.name for o in sess.get_outputs()] == ["extra", "features"]
    m = np.array(COLORS, np.float32)
    eq(out["features"], np.concatenate([m, m * m, np.tile([[0.5, 0.25]], (len(m), 1))], axis=1), path)
    eq(out["extra"], np.stack([m.sum(axis=1), -np.ones(len(m))], axis=1), path)


def check_fails_on_bright(path):
    dim = np.full((1, 3, 32, 32), 0.5, np.float32)
    out, _ = run(path, {"input": dim})
    eq(out["features"], np.full((1, 3), 0.5, np.float32), "fails_on_bright dim")
    try:
        run(path, {"input": np.ones((1, 3, 32, 32), np.float32)})
    except Exception:  # onnxruntime's RuntimeException: the point of the model
        return
    raise AssertionError("fails_on_bright ran on a bright input")


def check_identity(path):
    x = np.random.default_rng(0).random((2, 3, 17, 23), dtype=np.float32)
    out, _ = run(path, {"input": x})
    eq(out["out"], x, path)


def check_quantized_identity(path):
    x = np.round(np.random.default_rng(0).random((1, 3, 5, 7), dtype=np.float32) * 255)
    out, _ = run(path, {"input": x})
    eq(out["out"], x, path)


def check_invert(path):
    x = np.random.default_rng(1).random((2, 3, 9, 13), dtype=np.float32)
    out, _ = run(path, {"input": x})
    eq(out["out"], 1.0 - x, path)


def check_upscale2x(path):
    x = np.random.default_rng(2).random((1, 3, 5, 7), dtype=np.float32)
    out, _ = run(path, {"input": x})
    eq(out["out"], x.repeat(2, axis=2).repeat(2, axis=3), path)


def check_fixed_resize(path):
    x = np.random.default_rng(3).random((1, 3, 64, 64), dtype=np.float32)
    out, _ = run(path, {"input": x})
    rows = np.floor(np.arange(32) * 64 / 32).astype(int)
    cols = np.floor(np.arange(48) * 64 / 48).astype(int)
    eq(out["out"], x[:, :, rows][:, :, :, cols], path)


def check_gray_mask(path):
    x = np.random.default_rng(4).random((2, 3, 6, 8), dtype=np.float32)
    out, _ = run(path, {"input": x})
    assert np.allclose(out["mask"], x.mean(axis=1, keepdims=True), atol=1e-6), path


def check_box_blur(path):
    x = np.random.default_rng(5).random((1, 3, 12, 10), dtype=np.float32)
    out, _ = run(path, {"input": x})
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    want = sum(padded[:, :, dy:dy + 12, dx:dx + 10] for dy in range(5) for dx in range(5)) / 25.0
    assert np.allclose(out["out"], want, atol=1e-5), path


def check_slow_invert(path):
    x = np.random.default_rng(6).random((1, 3, 64, 64), dtype=np.float32)
    out, _ = run(path, {"input": x})
    eq(out["out"], 1.0 - x, path)


def check_error_model(path):
    """Error-test models only need to load (the element must reject them)."""
    so = ort.SessionOptions()
    so.log_severity_level = 3
    ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def check_slow(path):
    check_yolov8(path, 64, 64, (((10, 20, 30, 60),), (None,)))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = {"images": synth(64, 64, (10, 20, 30, 60))[None]}
    sess.run(None, x)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        sess.run(None, x)
        times.append(time.perf_counter() - t)
    print(f"  slow.onnx: {1000 * np.median(times):.1f} ms/run median on 1 thread "
          f"({SLOW_LAYERS} layers)")


# --------------------------------------------------------------------------
# Ultralytics-shaped models (segment, pose, obb) and their metadata_props
# --------------------------------------------------------------------------

# What an Ultralytics export writes into metadata_props (ultralytics/engine/exporter.py).
ULTRALYTICS_NAMES3 = "{0: 'background', 1: 'square', 2: \"it's round\"}"
ULTRALYTICS_META = {
    "description": "Ultralytics YOLOv8n model (generated by gen_test_models.py)",
    "author": "Ultralytics",
    "license": "AGPL-3.0 License (https://ultralytics.com/license)",
    "stride": "32",
    "batch": "1",
    "imgsz": "[320, 320]",
}
SEG_COEFFS = 4          # mask coefficients per anchor (Ultralytics: 32)
SEG_LOGIT = 10.0        # prototype 0 is +10 inside the rectangle, -10 outside
POSE_K = 17
# Keypoint k sits at fractions (POSE_U[k], POSE_V[k]) of the box from its
# top-left corner, visibility POSE_VIS[k]: exact in float32.
POSE_U = np.array([(k % 5) / 4 for k in range(POSE_K)], np.float32)
POSE_V = np.array([(k // 5) / 4 for k in range(POSE_K)], np.float32)
POSE_VIS = np.array([0.5 + k / 64 for k in range(POSE_K)], np.float32)
POSE_SCORES = np.array([0.9, 0.8, 0.3], np.float32)
OBB_ANGLES = np.array([0.5, 0.5, 0.25], np.float32)


def with_metadata(model, meta):
    """The model with `meta` as its metadata_props (as Ultralytics exports write them)."""
    onnx.helper.set_model_props(model, meta)
    return model


def ultralytics_meta(task, names=ULTRALYTICS_NAMES3, **extra):
    return {**ULTRALYTICS_META, "task": task, "names": names, **extra}


def dynamic_input():
    return tensor("images", F32, [1, 3, "height", "width"])


def build_yolov8_meta(meta):
    """yolov8_nchw's detector on a dynamic input, with metadata_props `meta`."""
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    rows = yolo_rows(g, box, present, YOLOV8_SCORES)
    g.op("Transpose", rows, perm=[0, 2, 1], out="output0")
    m = g.model([dynamic_input()], [tensor("output0", F32, [1, 4 + NUM_CLASSES, 3])], "yolov8_meta")
    return with_metadata(m, meta)


def build_yolov8_seg(meta):
    """YOLOv8-seg shaped: `output0` [1, 4+3+SEG_COEFFS, 3] (the detector's rows
    followed by mask coefficients (1, 0, 0, 0) for every anchor) and `output1`
    [1, SEG_COEFFS, H/4, W/4] prototypes: prototype 0 is +10 on cells whose
    4x4 pixels are all bright, -10 where none is (linear between), the others
    0.  So every instance's mask is the bright rectangle: exact when its edges
    lie on multiples of 4 model pixels."""
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    coeffs = np.zeros((3, SEG_COEFFS), np.float32)
    coeffs[:, 0] = 1.0
    rows = yolo_rows(g, box, present, np.concatenate([YOLOV8_SCORES, coeffs], axis=1))
    g.op("Transpose", rows, perm=[0, 2, 1], out="output0")
    mean = g.op("ReduceMean", "images", axes=[1], keepdims=1)                 # [1,1,H,W]
    bright = g.op("Cast", g.op("Greater", mean, g.const(0.5)), to=F32)
    cells = g.op("AveragePool", bright, kernel_shape=[4, 4], strides=[4, 4])  # [1,1,h,w]
    proto0 = g.op("Mul", g.op("Sub", cells, g.const(0.5)), g.const(2 * SEG_LOGIT))
    zeros = g.op("Mul", cells, g.const(0.0))
    g.op("Concat", proto0, *([zeros] * (SEG_COEFFS - 1)), axis=1, out="output1")
    m = g.model([dynamic_input()],
                [tensor("output0", F32, [1, 4 + NUM_CLASSES + SEG_COEFFS, 3]),
                 tensor("output1", F32, [1, SEG_COEFFS, "mask_height", "mask_width"])],
                "yolov8_seg")
    return with_metadata(m, meta)


def pose_matrix():
    """[4, K*3]: xyxy box -> (x, y, 0) per keypoint at its fractions of the box."""
    m = np.zeros((4, POSE_K * 3), np.float32)
    for k in range(POSE_K):
        m[0, 3 * k] = 1 - POSE_U[k]
        m[2, 3 * k] = POSE_U[k]
        m[1, 3 * k + 1] = 1 - POSE_V[k]
        m[3, 3 * k + 1] = POSE_V[k]
    return m


def build_yolov8_pose(meta):
    """YOLOv8-pose shaped: `output0` [1, 4+1+17*3, 3]: the detector's boxes,
    one class ("person", scores POSE_SCORES), then 17 keypoints (x, y,
    visibility) placed at fixed fractions of each anchor's box."""
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    boxes, p = anchor_boxes(g, box, present)                                  # [1,3,4]
    vis = np.zeros((1, 1, POSE_K * 3), np.float32)
    vis[0, 0, 2::3] = POSE_VIS
    kpts = g.op("Mul", p, g.op("Add", g.op("MatMul", boxes, g.const(pose_matrix())), g.const(vis)))
    scores = g.op("Mul", p, g.const(POSE_SCORES[None, :, None]))
    rows = g.op("Concat", xyxy_to_cxcywh(g, boxes), scores, kpts, axis=2)
    g.op("Transpose", rows, perm=[0, 2, 1], out="output0")
    m = g.model([dynamic_input()], [tensor("output0", F32, [1, 4 + 1 + POSE_K * 3, 3])],
                "yolov8_pose")
    return with_metadata(m, meta)


def build_yolov8_obb(meta):
    """YOLOv8-obb shaped: `output0` [1, 4+3+1, 3]: the detector's rows and an
    angle per anchor (OBB_ANGLES, radians)."""
    g = Graph()
    box, present = bright_box(g, "images", 0.5)
    rows = yolo_rows(g, box, present, np.concatenate([YOLOV8_SCORES, OBB_ANGLES[:, None]], axis=1))
    g.op("Transpose", rows, perm=[0, 2, 1], out="output0")
    m = g.model([dynamic_input()], [tensor("output0", F32, [1, 4 + NUM_CLASSES + 1, 3])],
                "yolov8_obb")
    return with_metadata(m, meta)


def meta_of(path):
    return {p.key: p.value for p in onnx.load(path).metadata_props}


def check_meta(path, meta):
    if meta_of(path) != meta:
        raise AssertionError(f"{path}: metadata_props {meta_of(path)} != {meta}")


def check_yolov8_meta(path, meta):
    check_meta(path, meta)
    for h, w in ((320, 320), (256, 416)):
        out, _ = run(path, {"images": synth(h, w, RECT_A)[None]})
        eq(out["output0"], ref_yolo_rows(RECT_A, YOLOV8_SCORES).T[None], path)


RECT_SEG = (40, 100, 80, 140)   # edges on multiples of 4


def check_yolov8_seg(path, meta):
    check_meta(path, meta)
    coeffs = np.zeros((3, SEG_COEFFS), np.float32)
    coeffs[:, 0] = 1.0
    out, _ = run(path, {"images": synth(320, 320, RECT_SEG)[None]})
    eq(out["output0"], ref_yolo_rows(RECT_SEG, np.concatenate([YOLOV8_SCORES, coeffs], 1)).T[None], path)
    protos = np.zeros((1, SEG_COEFFS, 80, 80), np.float32)
    protos[0, 0] = -SEG_LOGIT
    x0, y0, x1, y1 = (v // 4 for v in RECT_SEG)
    protos[0, 0, y0:y1, x0:x1] = SEG_LOGIT
    eq(out["output1"], protos, path)


def check_yolov8_pose(path, meta):
    check_meta(path, meta)
    out, _ = run(path, {"images": synth(320, 320, RECT_A)[None]})
    b = ref_anchors(RECT_A)
    kp = np.zeros((3, POSE_K * 3), np.float32)
    kp[:, 0::3] = b[:, :1] * (1 - POSE_U) + b[:, 2:3] * POSE_U
    kp[:, 1::3] = b[:, 1:2] * (1 - POSE_V) + b[:, 3:4] * POSE_V
    kp[:, 2::3] = POSE_VIS
    rows = ref_yolo_rows(RECT_A, np.concatenate([POSE_SCORES[:, None], kp], 1))
    eq(out["output0"], rows.T[None], path)


def check_yolov8_obb(path, meta):
    check_meta(path, meta)
    out, _ = run(path, {"images": synth(320, 320, RECT_A)[None]})
    eq(out["output0"], ref_yolo_rows(RECT_A, np.concatenate([YOLOV8_SCORES, OBB_ANGLES[:, None]], 1)).T[None], path)


def meta_model(name, build, check, meta):
    return (name, lambda: build(meta), lambda p: check(p, meta))


ULTRALYTICS_MODELS = [
    meta_model("yolov8_meta.onnx", build_yolov8_meta, check_yolov8_meta, ultralytics_meta("detect")),
    meta_model("yolov8seg_meta.onnx", build_yolov8_seg, check_yolov8_seg, ultralytics_meta("segment")),
    # Without metadata: decoder=auto picks segmentation from the two outputs.
    meta_model("yolov8seg.onnx", build_yolov8_seg, check_yolov8_seg, {}),
    meta_model("yolov8pose_meta.onnx", build_yolov8_pose, check_yolov8_pose,
               ultralytics_meta("pose", names="{0: 'person'}", kpt_shape="[17, 3]")),
    meta_model("yolov8obb_meta.onnx", build_yolov8_obb, check_yolov8_obb, ultralytics_meta("obb")),
    # Bad metadata, each refused at start with a clear error.
    meta_model("bad_names_meta.onnx", build_yolov8_meta, check_yolov8_meta,
               ultralytics_meta("detect", names="{0: 'background', 1: square, 2: 'circle'}")),
    meta_model("bad_task_meta.onnx", build_yolov8_meta, check_yolov8_meta, ultralytics_meta("depth")),
    meta_model("bad_kpt_meta.onnx", build_yolov8_pose, check_yolov8_pose,
               ultralytics_meta("pose", names="{0: 'person'}", kpt_shape="[16, 3]")),
]


# --------------------------------------------------------------------------

# squares_rgb.onnx: up to 7 objects told apart by colour, for the tracker.
SQUARE_KEYS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0],
                        [1, 0, 1], [0, 1, 1], [1, 1, 1]], np.float32)
SQUARE_ON = 0.8        # a channel above this is "on"; backgrounds are dimmed below it
SQUARE_STRONG = 0.95   # any channel above this inside the object: score 0.9, else 0.3
SQUARES_H, SQUARES_W = 240, 320
SQUARE_ANCHORS = 16


def build_color_squares():
    """YOLOv8-style detector of up to 7 coloured objects on a dim picture.

    Input `images` float NCHW [1,3,240,320] in 0..1.  A pixel belongs to
    object k when the set of its channels above 0.8 is exactly key k
    (SQUARE_KEYS: red, green, blue, yellow, magenta, cyan, white); any
    picture whose channels all stay at or below 0.8 (a real video scaled by
    0.7) has none.  Output `output0` [1,7,16] (YOLOv8 layout [B,4+C,N], one
    anchor per key, then 9 empty ones): the bounding box of object k's pixels (pixel edges),
    class 1 ("square") scoring 0.9 when one of its pixels has a channel
    above 0.95 and 0.3 otherwise (a "faded" object: a low-confidence
    detection for ByteTrack's second stage); all zeros when absent.  An
    object partly hidden by another yields the box of its visible pixels,
    as a real detector would.  The tracker tests paint exact ground truth
    with it; NMS between objects is the element's.
    """
    g = Graph()
    x = "images"
    k = len(SQUARE_KEYS)
    hi = g.op("Cast", g.op("Greater", x, g.const(SQUARE_ON)), to=F32)            # [1,3,H,W]
    strong_px = g.op("Cast", g.op("Greater", g.op("ReduceMax", x, axes=[1], keepdims=1),
                                  g.const(SQUARE_STRONG)), to=F32)              # [1,1,H,W]
    x5 = g.op("Unsqueeze", hi, g.const([1], np.int64))                          # [1,1,3,H,W]
    keys = SQUARE_KEYS.reshape(1, k, 3, 1, 1)
    match = g.op("Add", g.op("Mul", x5, g.const(keys)),
                 g.op("Mul", g.op("Sub", g.const(1.0), x5), g.const(1.0 - keys)))
    mask = g.op("ReduceProd", match, axes=[2], keepdims=0)                      # [1,K,H,W]
    cols = g.op("ReduceMax", mask, axes=[2], keepdims=0)                        # [1,K,W]
    rows = g.op("ReduceMax", mask, axes=[3], keepdims=0)                        # [1,K,H]
    present = g.op("ReduceMax", cols, axes=[2], keepdims=1)                     # [1,K,1]

    def extent(profile, n):
        idx = g.const(np.arange(n, dtype=np.float32))
        on = g.op("Greater", profile, g.const(0.5))
        first = g.op("ReduceMin", g.op("Where", on, idx, g.const(float(n))), axes=[2], keepdims=1)
        last = g.op("ReduceMax", g.op("Where", on, idx, g.const(-1.0)), axes=[2], keepdims=1)
        return first, g.op("Add", last, g.const(1.0))

    x0, x1 = extent(cols, SQUARES_W)
    y0, y1 = extent(rows, SQUARES_H)
    strong = g.op("ReduceMax", g.op("Mul", mask, strong_px), axes=[2, 3], keepdims=0)  # [1,K]
    strong = g.op("Unsqueeze", strong, g.const([2], np.int64))                         # [1,K,1]
    score = g.op("Mul", present, g.op("Where", g.op("Greater", strong, g.const(0.5)),
                                      g.const(0.9), g.const(0.3)))
    half = g.const(0.5)
    cx = g.op("Mul", g.op("Add", x0, x1), half)
    cy = g.op("Mul", g.op("Add", y0, y1), half)
    w = g.op("Sub", x1, x0)
    h = g.op("Sub", y1, y0)
    zero = g.op("Mul", present, g.const(0.0))
    rows_out = g.op("Concat", cx, cy, w, h, zero, score, zero, axis=2)          # [1,K,7]
    rows_out = g.op("Mul", rows_out, present)
    # Empty anchors up to SQUARE_ANCHORS, so that the anchor count is not the
    # attribute count (7) and the output's orientation is unambiguous.
    padding = g.const(np.zeros((1, SQUARE_ANCHORS - k, 4 + NUM_CLASSES), np.float32))
    rows_out = g.op("Concat", rows_out, padding, axis=1)                          # [1,16,7]
    g.op("Transpose", rows_out, perm=[0, 2, 1], out="output0")
    return g.model([tensor("images", F32, [1, 3, SQUARES_H, SQUARES_W])],
                   [tensor("output0", F32, [1, 4 + NUM_CLASSES, SQUARE_ANCHORS])], "color_squares")


def check_color_squares(path):
    """Two objects overlapping (the later painted on top), one faded, a
    background at the 0.8 limit, and an empty picture."""
    rng = np.random.default_rng(3)
    img = (rng.random((3, SQUARES_H, SQUARES_W)) * SQUARE_ON).astype(np.float32)
    img[:, 0, 0] = SQUARE_ON                           # exactly at the limit: not on
    objects = [(0, (10, 20, 50, 60), 1.0), (3, (40, 30, 90, 80), 1.0), (6, (200, 100, 230, 200), 0.9)]
    for key, (ox0, oy0, ox1, oy1), value in objects:
        img[:, oy0:oy1, ox0:ox1] = SQUARE_KEYS[key][:, None, None] * value
    out, _ = run(path, {"images": img[None]})
    expected = np.zeros((SQUARE_ANCHORS, 7), np.float32)
    # Object 0 keeps its visible part: columns 10..39 full height and 40..49 rows 20..29.
    for key, box, score in ((0, (10, 20, 50, 60), 0.9), (3, (40, 30, 90, 80), 0.9),
                            (6, (200, 100, 230, 200), 0.3)):
        bx0, by0, bx1, by1 = box
        expected[key] = [(bx0 + bx1) / 2, (by0 + by1) / 2, bx1 - bx0, by1 - by0, 0, score, 0]
    eq(out["output0"][0], expected.T, "color_squares")
    empty, _ = run(path, {"images": np.zeros((1, 3, SQUARES_H, SQUARES_W), np.float32)})
    eq(empty["output0"], np.zeros((1, 7, SQUARE_ANCHORS), np.float32), "color_squares empty")


MODELS = [
    # file, builder, check
    ("yolov8_nchw.onnx", build_yolov8, check_yolov8),
    ("yolov8_batch1.onnx", build_yolov8, check_yolov8),
    ("yolov8_dynamic.onnx",
     lambda: build_yolov8(("batch", 3, "height", "width"), ["batch", 4 + NUM_CLASSES, 3]),
     lambda p: (check_yolov8(p), check_yolov8(p, 240, 416, ((RECT_A, None, RECT_B),)),
                check_yolov8(p, 37, 1000, (((990, 0, 1000, 37), (0, 36, 1, 37)),)))),
    ("yolov8_batch_dynamic.onnx",
     lambda: build_yolov8(("batch", 3, 320, 320), ["batch", 4 + NUM_CLASSES, 3]),
     lambda p: check_yolov8(p, batch_rects=((RECT_A, None, RECT_B),))),
    # A dynamic anchor dim holding fewer anchors (6) than attributes (7), as
    # YOLOv8 exported with dynamic axes gives at small input sizes.
    ("yolov8_few_anchors.onnx",
     lambda: build_yolov8((1, 3, 320, "width"), anchors_follow_width=True),
     lambda p: check_yolov8(p, extra_anchors=3)),
    ("yolov8_transposed.onnx", lambda: build_yolov8(transposed=True),
     lambda p: check_yolov8(p, transposed=True)),
    ("yolov8_nhwc.onnx", lambda: build_yolov8((1, 320, 320, 3), nhwc=True),
     lambda p: check_yolov8(p, nhwc=True)),
    ("yolov8_uint8.onnx", lambda: build_yolov8(uint8=True),
     lambda p: check_yolov8(p, uint8=True)),
    ("yolov5.onnx", build_yolov5, check_yolov5),
    ("ssd.onnx", build_ssd, check_ssd),
    ("ssd_tf.onnx", build_ssd_tf, check_ssd_tf),
    ("classify.onnx", build_classify, lambda p: check_classify(p, False)),
    ("classify_softmax.onnx", lambda: build_classify(True), lambda p: check_classify(p, True)),
    ("features.onnx", build_features, check_features),
    ("identity_rgb.onnx", build_identity, check_identity),
    ("fails_on_bright.onnx", build_fails_on_bright, check_fails_on_bright),
    ("quantized_identity.onnx", build_quantized_identity, check_quantized_identity),
    ("invert.onnx", build_invert, check_invert),
    ("upscale2x.onnx", build_upscale2x, check_upscale2x),
    ("fixed_resize.onnx", build_fixed_resize, check_fixed_resize),
    ("gray_mask.onnx", build_gray_mask, check_gray_mask),
    ("box_blur.onnx", build_box_blur, check_box_blur),
    ("two_inputs.onnx", build_two_inputs, check_error_model),
    ("five_d.onnx", build_five_d, check_error_model),
    ("string_input.onnx", build_string_input, check_error_model),
    ("slow.onnx", build_slow, check_slow),
    ("slow_invert.onnx", build_slow_invert, check_slow_invert),
    ("squares_rgb.onnx", build_color_squares, check_color_squares),
    *ULTRALYTICS_MODELS,
]


def write_if_changed(path, data):
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    t0 = time.perf_counter()
    for name, labels in (("labels3.txt", LABELS3), ("labels5.txt", LABELS5)):
        write_if_changed(os.path.join(outdir, name), "".join(l + "\n" for l in labels).encode())
    for name, build, check in MODELS:
        path = os.path.join(outdir, name)
        changed = write_if_changed(path, build().SerializeToString())
        check(path)
        print(f"{'wrote' if changed else 'kept '} {path}: ok")
    print(f"all {len(MODELS)} models checked in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
