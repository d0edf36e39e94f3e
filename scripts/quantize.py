#!/usr/bin/env python3
"""Turn an FP32 ONNX model into a static INT8 (QDQ) model for gst-dl.

The calibration frames are the user's own video, preprocessed by gst-dl
itself: the script writes an identity model with the target model's input
(name, layout, fixed and dynamic dimensions, metadata), runs it in
``dlinfer`` with the preprocessing properties given in ``--dlinfer`` and
lets ``dlpublish`` write what ``dlinfer`` fed it to a ``.npy`` matrix. So the
tensors are exactly what ``dlinfer`` will feed the quantised model (scale
mode, colour order, layout, mean and std, dynamic sizes resolved the same
way), with no second preprocessing implementation to drift.

ONNX Runtime's quantisation tools then write a QDQ model (weights int8 per
channel, activations uint8: the pairing x86 CPUs with VNNI run fastest;
the stem and first block, `DEFAULT_FLOAT_CONVS`, and the last layer stay
in float).
Each convolution's int8 weights are chosen so that its outputs on the
calibration frames move least (GPTQ, see `gptq_rounding`), and its bias
is moved to cancel what that rounding still shifts on average (see
`correct_biases`).
Last, the FP32 and INT8 models both run in ``dlinfer`` on frames held back
from calibration (or on ``--eval-video``), and the script reports what was
kept: detections (the same objects at IoU >= 0.5, and how far their corners
moved in pixels), classes (top-1 agreement) and features (cosine).

Two commands::

    scripts/quantize.py .data/models/centerface.onnx clip.mp4 centerface-int8.onnx \\
        --dlinfer "decoder=centerface input-std=1 iou-threshold=0.3"
    gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \\
        dlinfer model=centerface-int8.onnx decoder=centerface input-std=1 iou-threshold=0.3 ! fakesink

EfficientNet-Lite0 (two outputs: check both)::

    scripts/quantize.py .data/models/efficientnet_lite0.onnx clip.mp4 effnet-int8.onnx \\
        --dlinfer "scale-mode=center-crop input-mean=127 input-std=128" \\
        --check "decoder=classification output-name=logits top-k=1" \\
        --check "decoder=features output-name=features"

The plugin is looked up in ``GST_PLUGIN_PATH`` when set, else in this
repository's ``target/release`` then ``target/debug``, else where GStreamer
looks by itself. Exit status: 0 on success (the report says whether the
agreement thresholds were met), 2 on a usage error the message explains.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import use_venv

# Run by the system's python3 (`scripts/quantize.py ...`), restart under .venv.
use_venv.ensure("numpy", "onnx", "onnxruntime")

import numpy as np  # noqa: E402 - after use_venv.ensure
import onnx
import onnx.version_converter
from onnx import TensorProto, helper

ROOT = Path(__file__).resolve().parent.parent

# Operators that only a quantised graph holds.
QUANTISED_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "QLinearAdd",
    "QLinearMul",
    "QGemm",
    "ConvInteger",
    "MatMulInteger",
}

# Name of the identity model's output: the calibration tensor with its
# shape in front (see `identity_model`).
CALIBRATION_OUTPUT = "calibration"

# The agreement the issue asks an INT8 model to keep.
MIN_DETECTION_AGREEMENT = 0.97
MIN_TOP1_AGREEMENT = 0.97
MIN_FEATURE_COSINE = 0.98
# FP32 top-1 probability from which a frame counts as one FP32 is sure of.
CONFIDENT = 0.5


class QuantizeError(Exception):
    """A problem the user can fix; the message says the cause and the fix."""


@dataclass
class ImageInput:
    """The model's one image input, as calibration must produce it."""

    name: str
    elem_type: int
    dims: list  # ints (fixed) or strings (dynamic)
    value_info: onnx.ValueInfoProto


def graph_inputs(model: onnx.ModelProto) -> list:
    """The real inputs: initializers listed among the inputs are weights."""
    weights = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in weights]


def check_float_model(model: onnx.ModelProto, path: Path) -> None:
    """Refuses a model that is already quantised (a second pass would
    quantise the dequantised weights again and lose accuracy for nothing)."""
    ops = sorted({node.op_type for node in model.graph.node} & QUANTISED_OPS)
    if ops:
        raise QuantizeError(
            f"model '{path}' is already quantised (it has {', '.join(ops)} nodes); "
            "give the FP32 model it was made from"
        )


def image_input(model: onnx.ModelProto, path: Path) -> ImageInput:
    """The one float32 image input calibration can produce, or an error
    saying why this model's input is not one."""
    inputs = graph_inputs(model)
    if len(inputs) != 1:
        names = ", ".join(f"'{i.name}'" for i in inputs) or "none"
        raise QuantizeError(
            f"model '{path}' has {len(inputs)} inputs ({names}); calibration through dlinfer "
            "produces one image tensor, so only single-input image models can be quantised here"
        )
    value = inputs[0]
    tensor = value.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") or not d.HasField("dim_value") else d.dim_value for d in tensor.shape.dim]
    if tensor.elem_type != TensorProto.FLOAT:
        kind = TensorProto.DataType.Name(tensor.elem_type)
        raise QuantizeError(
            f"model '{path}' input '{value.name}' is {kind}; calibration produces float32 image "
            "tensors (a uint8 image input takes raw pixels and needs no calibration of its own)"
        )
    channels_ok = len(dims) == 4 and (dims[1] in (1, 3) or dims[3] in (1, 3))
    if not channels_ok:
        raise QuantizeError(
            f"model '{path}' input '{value.name}' has shape {dims}; calibration produces image "
            "tensors [batch, 3, height, width] or [batch, height, width, 3] (1 channel for grey)"
        )
    return ImageInput(value.name, tensor.elem_type, dims, value)


def identity_model(model: onnx.ModelProto, image: ImageInput) -> onnx.ModelProto:
    """A model that returns its input, with the target model's input and
    metadata, so dlinfer preprocesses for it exactly as for the target.

    Its one output is [batch, 3 + C*H*W]: each row starts with the three
    non-batch dimensions dlinfer resolved (dynamic sizes follow the frame),
    then the tensor, flattened. `decoder=features normalize=false` hands
    such a row to dlpublish as it is."""
    dim_values = helper.make_tensor("one_three", TensorProto.INT64, [1], [3])
    nodes = [
        helper.make_node("Shape", [image.name], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
        helper.make_node("Slice", ["shape", "one", "four"], ["sizes"]),
        helper.make_node("Cast", ["sizes"], ["sizes_f"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["batch", "one_three"], ["sizes_shape"], axis=0),
        helper.make_node("Expand", ["sizes_f", "sizes_shape"], ["sizes_rows"]),
        helper.make_node("Concat", ["batch", "minus_one"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", [image.name, "flat_shape"], ["flat"]),
        helper.make_node("Concat", ["sizes_rows", "flat"], [CALIBRATION_OUTPUT], axis=1),
    ]
    constants = [
        helper.make_tensor("zero", TensorProto.INT64, [1], [0]),
        helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        helper.make_tensor("four", TensorProto.INT64, [1], [4]),
        helper.make_tensor("minus_one", TensorProto.INT64, [1], [-1]),
        dim_values,
    ]
    batch = image.dims[0]
    output = helper.make_tensor_value_info(CALIBRATION_OUTPUT, TensorProto.FLOAT, [batch, "values"])
    graph = helper.make_graph(nodes, "calibration_identity", [image.value_info], [output], constants)
    identity = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    identity.ir_version = 8
    for prop in model.metadata_props:
        identity.metadata_props.add(key=prop.key, value=prop.value)
    return identity


def plugin_env() -> dict:
    """The environment gst-launch-1.0 needs to find the `dl` plugin."""
    env = dict(os.environ)
    if not env.get("GST_PLUGIN_PATH"):
        for build in ("release", "debug"):
            if (ROOT / "target" / build / "libgstdl.so").exists():
                env["GST_PLUGIN_PATH"] = str(ROOT / "target" / build)
                break
    return env


def run_pipeline(description: list, what: str, fix: str = "") -> None:
    """Runs gst-launch-1.0 (each list item is one argument, so paths with
    spaces stay whole) and turns a failure into an error naming `what`."""
    try:
        done = subprocess.run(
            ["gst-launch-1.0", "-q", *description],
            env=plugin_env(),
            capture_output=True,
            text=True,
            timeout=3600,
        )
    except FileNotFoundError as err:
        raise QuantizeError("gst-launch-1.0 not found: install gstreamer1.0-tools (scripts/setup.sh does)") from err
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("ERROR: from element")] or lines[-3:]
        reason = errors[0].removeprefix("ERROR: ")
        if any('no element "dl' in line for line in lines):
            # Not the video's fault: GStreamer did not find the gst-dl plugin.
            fix = (
                "the gst-dl plugin was not found: build it (cargo build --release) "
                "or point GST_PLUGIN_PATH at the folder that holds libgstdl.so"
            )
        raise QuantizeError(f"{what} failed: {reason}" + (f"; {fix}" if fix else ""))


def source(video: Path) -> list:
    """Every decoded frame of `video`, in order. (The whole clip: identity's
    eos-after drops frames before its count on GStreamer 1.22, and the FP32
    and INT8 runs must see the same frames at the same indices.)"""
    return ["filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert", "!"]


def check_video(video: Path) -> None:
    if not video.is_file():
        raise QuantizeError(f"calibration video '{video}' does not exist or is not a file")
    if video.stat().st_size == 0:
        raise QuantizeError(f"calibration video '{video}' is empty")


def calibration_tensors(
    video: Path, identity_path: Path, props: list, interval: int, count: int, work: Path
) -> list:
    """Runs dlinfer on every `interval`-th frame with the identity model and
    returns up to `count` tensors, each shaped as dlinfer fed it (batch 1)."""
    matrix = work / "calibration.npy"
    run_pipeline(
        source(video)
        + ["dlinfer", f"model={identity_path}", *props, "decoder=features", "normalize=false",
           f"output-name={CALIBRATION_OUTPUT}", f"inference-interval={interval}", "batch-size=1", "!",
           "dlpublish", f"location={work / 'calibration.jsonl'}", f"embeddings-location={matrix}", "!",
           "fakesink"],
        f"reading the calibration video '{video}' through dlinfer",
        f"check that it is a video GStreamer decodes (gst-discoverer-1.0 '{video}') and that "
        "--dlinfer holds the properties you run the model with",
    )
    if not matrix.exists():
        return []
    rows = np.load(matrix)
    tensors = []
    for row in rows[:count]:
        sizes = tuple(int(v) for v in row[:3])
        tensors.append(row[3:].reshape((1, *sizes)).astype(np.float32))
    return tensors


class Frames:
    """A calibration data reader over tensors (ONNX Runtime's interface)."""

    def __init__(self, input_name: str, tensors: list):
        self.input_name = input_name
        self.tensors = iter(tensors)

    def get_next(self):
        tensor = next(self.tensors, None)
        return None if tensor is None else {self.input_name: tensor}

    def rewind(self):  # not needed by quantize_static's single pass
        pass


def opset_version(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def first_and_last_nodes(model: onnx.ModelProto) -> list:
    """The nodes that read the image and those that write the outputs stay
    in float: the first convolution sees raw pixels and the last layer's
    small differences decide classes and scores, and keeping both costs
    little time. On EfficientNet-Lite0 it raised top-1 agreement from 0.69 to
    0.82 and feature cosine from 0.972 to 0.981 on bikes.mp4."""
    inputs = {i.name for i in graph_inputs(model)}
    outputs = {o.name for o in model.graph.output}
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    return [
        node.name
        for node in model.graph.node
        if inputs & set(node.input) or outputs & set(node.output)
    ]


def per_output_channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """One value per output channel (axis 0), shaped to broadcast over a
    weight of `ndim` dimensions."""
    return values.reshape(-1, *[1] * (ndim - 1))


@dataclass
class RoundedWeight:
    """A convolution weight as int8 per output channel: ints * scale."""

    ints: np.ndarray  # int8 values in [-127, 127], the weight's shape
    scale: np.ndarray  # one per output channel (axis 0)

    def error(self, weight: np.ndarray) -> np.ndarray:
        """What the rounding adds to `weight`."""
        return self.ints * per_output_channel(self.scale, weight.ndim) - weight


# The first convolutions kept in float by default: a classifier's or
# detector's stem and first block see the finest detail at the highest
# resolution, with few channels, where int8 buys no speed (the conversions
# and layout changes around it cost what its arithmetic saves) and its
# errors feed every later layer. Measured with 0 / 3 (README): bare speed
# against FP32, CenterFace at 640x288 1.39x / 1.48x and EfficientNet-Lite0
# 1.59x / 1.58x; EfficientNet-Lite0 calibrated on bigbuckbunny kept the
# top-1 class on 85.0% / 93.3% of bikes frames and 90.0% / 98.3% of
# carphone's; CenterFace calibrated on carphone found 7 / 8 of FP32's 8
# faces on bikes.
DEFAULT_FLOAT_CONVS = 3


def leading_nodes(model: onnx.ModelProto, convs: int) -> list:
    """The nodes up to and including the `convs`-th convolution (ONNX keeps
    nodes in topological order): the early layers to keep in float. They
    see the finest detail at the highest resolution and cost the least
    time; their int8 errors are what every later layer builds on. (Call
    first_and_last_nodes first: it names unnamed nodes.)"""
    names, seen = [], 0
    for node in model.graph.node:
        if seen >= convs:
            break
        names.append(node.name)
        seen += node.op_type == "Conv"
    return names


def weight_scale(weight: np.ndarray) -> np.ndarray:
    """quantize_static's per-channel int8 weight scale: symmetric,
    max |w| / 127 per output channel (onnxruntime.quantization.quant_utils)."""
    scale = np.abs(weight).reshape(weight.shape[0], -1).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    return scale


def nearest_rounding(weight: np.ndarray) -> RoundedWeight:
    """Each weight to its nearest int8 step, as quantize_static rounds."""
    scale = weight_scale(weight)
    ints = np.clip(np.round(weight / per_output_channel(scale, weight.ndim)), -127, 127)
    return RoundedWeight(ints.astype(np.int8), scale)


def attribute(node: onnx.NodeProto, name: str, default):
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def conv_patches(x: np.ndarray, node: onnx.NodeProto, weight_shape: tuple) -> np.ndarray:
    """What each output position of convolution `node` reads of its input
    x [1, C, H, W]: [groups, in / groups * kh * kw, positions], rows in the
    order of the weight's flattened [in / groups, kh, kw]."""
    _, per_group_in, kh, kw = weight_shape
    groups = attribute(node, "group", 1)
    strides = list(attribute(node, "strides", [1, 1]))
    dilations = list(attribute(node, "dilations", [1, 1]))
    pads = list(attribute(node, "pads", [0, 0, 0, 0]))
    auto_pad = attribute(node, "auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for size, k, stride, dilation in zip(x.shape[2:], (kh, kw), strides, dilations):
            total = max(0, (-(-size // stride) - 1) * stride + (k - 1) * dilation + 1 - size)
            small, large = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else large)
            end.append(large if auto_pad == "SAME_UPPER" else small)
        pads = begin + end
    elif auto_pad == "VALID":
        pads = [0, 0, 0, 0]
    padded = np.pad(x[0], ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    span = ((kh - 1) * dilations[0] + 1, (kw - 1) * dilations[1] + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, span, axis=(1, 2))
    windows = windows[:, :: strides[0], :: strides[1], :: dilations[0], :: dilations[1]]  # [C, Ho, Wo, kh, kw]
    positions = windows.shape[1] * windows.shape[2]
    windows = windows.reshape(groups, per_group_in, positions, kh, kw).transpose(0, 1, 3, 4, 2)
    return windows.reshape(groups, per_group_in * kh * kw, positions)


def gptq_rounding(weight: np.ndarray, groups: int, hessian: np.ndarray) -> RoundedWeight:
    """Rounds `weight` to int8 at quantize_static's scales one input column
    at a time, moving each column's rounding error onto the columns not yet
    rounded as the layer's inputs correlate (`hessian` [groups, n, n], the
    sum of x x^T over what each output position reads), so that the layer's
    outputs on the calibration frames move as little as they can: GPTQ
    (Frantar et al., "GPTQ: Accurate Post-Training Quantization for
    Generative Pre-trained Transformers", 2022), here for convolutions."""
    scale = weight_scale(weight)
    out_channels = weight.shape[0]
    w = weight.astype(np.float64).reshape(groups, out_channels // groups, -1).copy()
    step = scale.reshape(groups, -1)
    h = hessian.astype(np.float64).copy()
    n = h.shape[1]
    diagonal = np.arange(n)
    # An input never non-zero on the calibration frames: its column is rounded on its own.
    dead_group, dead_column = np.nonzero(h[:, diagonal, diagonal] <= 0)
    h[dead_group, dead_column, dead_column] = 1.0
    # Damping keeps the inverse stable where inputs are nearly collinear.
    h[:, diagonal, diagonal] += 0.01 * h[:, diagonal, diagonal].mean(axis=1, keepdims=True)
    # Upper U with U^T U = H^-1: row i holds how column i's error spreads over later columns.
    spread = np.transpose(np.linalg.cholesky(np.linalg.inv(h)), (0, 2, 1))
    ints = np.zeros_like(w)
    for i in range(n):
        column = w[:, :, i]
        ints[:, :, i] = np.clip(np.round(column / step), -127, 127)
        error = (column - ints[:, :, i] * step) / spread[:, i, i][:, None]
        w[:, :, i + 1 :] -= error[:, :, None] * spread[:, None, i, i + 1 :]
    return RoundedWeight(ints.reshape(weight.shape).astype(np.int8), scale)


# GPTQ inverts one [n, n] matrix per convolution (n = in / groups * kh * kw);
# wider convolutions round to nearest, which keeps memory and time bounded
# on large detectors.
GPTQ_MAX_COLUMNS = 2304


def probe(model: onnx.ModelProto, names: list):
    """A session on `model` that also returns the tensors `names`."""
    import onnxruntime

    probed = onnx.ModelProto()
    probed.CopyFrom(model)
    known = {o.name for o in probed.graph.output}
    probed.graph.output.extend(onnx.ValueInfoProto(name=n) for n in names if n not in known)
    return onnxruntime.InferenceSession(probed.SerializeToString(), providers=["CPUExecutionProvider"])


def channel_means(model: onnx.ModelProto, names: list, image: ImageInput, tensors: list) -> dict:
    """The mean of each named tensor per channel (axis 1) over the
    calibration tensors, from the FP32 model."""
    session = probe(model, names)
    sums = dict.fromkeys(names, 0.0)
    for tensor in tensors:
        for name, value in zip(names, session.run(names, {image.name: tensor})):
            sums[name] = sums[name] + value.reshape(value.shape[0], value.shape[1], -1).mean(axis=(0, 2))
    return {name: total / len(tensors) for name, total in sums.items()}


def conv_hessians(model: onnx.ModelProto, convs: list, image: ImageInput, tensors: list) -> dict:
    """Per convolution, the sum over the calibration tensors of x x^T for
    each input patch x it reads (FP32 model): [groups, n, n]."""
    weights = {init.name: init for init in model.graph.initializer}
    names = sorted({node.input[0] for node in convs})
    session = probe(model, names)
    sums = {}
    for tensor in tensors:
        values = dict(zip(names, session.run(names, {image.name: tensor})))
        for node in convs:
            x = values[node.input[0]]
            for item in range(x.shape[0]):
                patches = conv_patches(x[item : item + 1], node, tuple(weights[node.input[1]].dims))
                product = np.matmul(patches, patches.transpose(0, 2, 1)).astype(np.float64)
                sums[node.name] = sums.get(node.name, 0.0) + product
    return sums


def quantised_convs(model: onnx.ModelProto, kept_float: list) -> list:
    """The convolutions quantize_static will give int8 weights, each with a
    weight (and bias) of its own."""
    weights = {init.name for init in model.graph.initializer}
    inputs = {i.name for i in graph_inputs(model)}
    readers = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    return [
        node
        for node in model.graph.node
        if node.op_type == "Conv"
        and node.name not in kept_float
        and node.input[0] not in inputs  # the image: a first layer stays float anyway
        and node.input[1] in weights
        and readers[node.input[1]] == 1
        and (len(node.input) < 3 or node.input[2] in weights)
    ]


def round_weights(model: onnx.ModelProto, convs: list, image: ImageInput, tensors: list, rounding: str) -> dict:
    """Each convolution's int8 weight, by `rounding` ("gptq" or "nearest")."""
    from onnx import numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    arrays = {node.name: numpy_helper.to_array(weights[node.input[1]]).astype(np.float64) for node in convs}
    wide = {node.name for node in convs if arrays[node.name][0].size > GPTQ_MAX_COLUMNS}
    by_gptq = [node for node in convs if node.name not in wide] if rounding == "gptq" else []
    hessians = conv_hessians(model, by_gptq, image, tensors) if by_gptq else {}
    rounded = {}
    for node in convs:
        weight = arrays[node.name]
        if node.name in hessians:
            rounded[node.name] = gptq_rounding(weight, attribute(node, "group", 1), hessians[node.name])
        else:
            rounded[node.name] = nearest_rounding(weight)
    if rounding == "gptq" and wide:
        print(f"quantize.py: {len(wide)} convolutions wider than {GPTQ_MAX_COLUMNS} inputs rounded to nearest", file=sys.stderr)
    return rounded


def correct_biases(model: onnx.ModelProto, convs: list, rounded: dict, image: ImageInput, tensors: list) -> None:
    """Moves each quantised convolution's bias so that rounding its weights
    to int8 does not shift its outputs on average (the bias correction of
    Nagel et al., "Data-Free Quantization", 2019): the shift is the weight
    rounding error applied to the layer's mean input per channel, measured
    on the calibration tensors. Depthwise convolutions have only 9 weights
    per channel, so their rounding errors do not average out, and every
    later layer adds its own: with weights rounded to nearest,
    EfficientNet-Lite0 calibrated on bigbuckbunny kept the top-1 class on
    86.7% of 60 carphone frames instead of 80.0% (feature cosine 0.997
    instead of 0.991) and on 76.7% of 60 bikes frames instead of 71.7%
    (0.992 instead of 0.973), at no cost in speed (the graph is the same)."""
    from onnx import numpy_helper

    weights = {init.name: init for init in model.graph.initializer}
    means = channel_means(model, sorted({node.input[0] for node in convs}), image, tensors)
    replaced = set()
    for node in convs:
        weight = numpy_helper.to_array(weights[node.input[1]]).astype(np.float64)
        error = rounded[node.name].error(weight)  # [out, in / groups, kh, kw]
        groups = attribute(node, "group", 1)
        per_group_in = weight.shape[1]
        mean_in = means[node.input[0]].reshape(groups, per_group_in)
        # Output channel o reads input channels of its group g = o // (out / groups).
        error_sum = error.reshape(groups, weight.shape[0] // groups, per_group_in, -1).sum(axis=3)
        shift = np.einsum("goi,gi->go", error_sum, mean_in).reshape(-1)
        has_bias = len(node.input) > 2 and node.input[2]
        if has_bias:
            replaced.add(node.input[2])
        bias = numpy_helper.to_array(weights[node.input[2]]).astype(np.float64) if has_bias else np.zeros(weight.shape[0])
        # A bias of its own: another node may share the old one.
        corrected = f"{node.name}_corrected_bias"
        model.graph.initializer.append(numpy_helper.from_array((bias - shift).astype(np.float32), corrected))
        del node.input[2:]
        node.input.append(corrected)
    used = {name for node in model.graph.node for name in node.input}
    for init in [i for i in model.graph.initializer if i.name in replaced - used]:
        model.graph.initializer.remove(init)


def write_rounded_weights(path: Path, rounded: dict) -> int:
    """Puts the chosen int8 values into quantize_static's QDQ model at
    `path`, channel by channel where its scale is the one they were rounded
    at (it floors scales of near-zero channels). Returns how many
    convolutions took them."""
    from onnx import numpy_helper

    model = onnx.load(str(path))
    weights = {init.name: init for init in model.graph.initializer}
    producers = {output: node for node in model.graph.node for output in node.output}
    written = 0
    for node in model.graph.node:
        if node.op_type != "Conv" or node.name not in rounded:
            continue
        dequantize = producers.get(node.input[1])
        if dequantize is None or dequantize.op_type != "DequantizeLinear" or dequantize.input[0] not in weights:
            continue
        stored = weights[dequantize.input[0]]
        ints = numpy_helper.to_array(stored)
        chosen = rounded[node.name]
        if ints.dtype != np.int8 or ints.shape != chosen.ints.shape:
            continue
        same_scale = np.isclose(numpy_helper.to_array(weights[dequantize.input[1]]), chosen.scale, rtol=1e-5)
        merged = np.where(per_output_channel(same_scale, ints.ndim), chosen.ints, ints)
        stored.CopyFrom(numpy_helper.from_array(merged.astype(np.int8), stored.name))
        written += 1
    onnx.save(model, str(path))
    return written


@dataclass
class Recipe:
    """How quantize() rounds and calibrates (the command line's choices)."""

    method: str = "minmax"  # activation ranges: minmax, entropy or percentile
    rounding: str = "gptq"  # int8 weights: gptq or nearest
    bias_correction: bool = True
    # The first convolutions (and what precedes them) kept in float; None:
    # DEFAULT_FLOAT_CONVS, or all the model has when it has fewer.
    float_convs: int | None = None


def quantize(model_path: Path, out: Path, image: ImageInput, tensors: list, recipe: Recipe, work: Path) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # its warnings about unused initializers are noise here
    # Per-channel QDQ needs DequantizeLinear's `axis` (opset 13); older
    # models (CenterFace is opset 9) are converted first.
    model = onnx.load(str(model_path))
    if opset_version(model) < 13:
        model = onnx.version_converter.convert_version(model, 13)
        model_path = work / "opset13.onnx"
        onnx.save(model, str(model_path))
    prepared = work / "prepared.onnx"
    try:
        quant_pre_process(str(model_path), str(prepared), skip_symbolic_shape=True)
    except Exception as err:  # noqa: BLE001 - the optimiser's reasons vary; quantise as is
        print(f"quantize.py: pre-processing skipped ({err})", file=sys.stderr)
        prepared = model_path
    named = onnx.load(str(prepared))
    nodes_to_exclude = first_and_last_nodes(named)  # names unnamed nodes
    total_convs = sum(node.op_type == "Conv" for node in named.graph.node)
    float_convs = min(DEFAULT_FLOAT_CONVS, total_convs) if recipe.float_convs is None else recipe.float_convs
    if float_convs > total_convs:
        raise QuantizeError(
            f"--keep-float-convs {float_convs} asks for more than the model's {total_convs} convolutions"
        )
    nodes_to_exclude += [n for n in leading_nodes(named, float_convs) if n not in nodes_to_exclude]
    convs = quantised_convs(named, nodes_to_exclude)
    rounded = round_weights(named, convs, image, tensors, recipe.rounding) if convs else {}
    if recipe.bias_correction and convs:
        correct_biases(named, convs, rounded, image, tensors)
        print(f"quantize.py: bias correction moved {len(convs)} convolution biases", file=sys.stderr)
    prepared = work / "named.onnx"
    onnx.save(named, str(prepared))
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    quantize_static(
        str(prepared),
        str(out),
        Frames(image.name, tensors),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        calibrate_method=methods[recipe.method],
        nodes_to_exclude=nodes_to_exclude,
    )
    if recipe.rounding == "gptq":
        written = write_rounded_weights(out, rounded)
        print(f"quantize.py: GPTQ rounded the int8 weights of {written} convolutions", file=sys.stderr)


def run_model(video: Path, model: Path, props: list, interval: int, out: Path) -> dict:
    """dlinfer's results per frame index (all frames, inferred or not)."""
    run_pipeline(
        source(video)
        + ["dlinfer", f"model={model}", *props, f"inference-interval={interval}", "!",
           "dlpublish", f"location={out}", "all-frames=true", "!", "fakesink"],
        f"running '{model}' on '{video}'",
    )
    results = {}
    for line in out.read_text().splitlines():
        record = json.loads(line)
        results[record["frame"]] = record
    return results


def iou(a: dict, b: dict) -> float:
    ix = max(0.0, min(a["xmax"], b["xmax"]) - max(a["xmin"], b["xmin"]))
    iy = max(0.0, min(a["ymax"], b["ymax"]) - max(a["ymin"], b["ymin"]))
    inter = ix * iy
    area = lambda r: max(0.0, r["xmax"] - r["xmin"]) * max(0.0, r["ymax"] - r["ymin"])  # noqa: E731
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Agreement:
    """What the INT8 model kept of the FP32 model's answers."""

    frames: int = 0
    detections_fp32: int = 0
    detections_int8: int = 0
    detections_matched: int = 0
    corner_distances: list = field(default_factory=list)
    top1_same: int = 0
    top1_frames: int = 0
    confident_same: int = 0
    confident_frames: int = 0
    cosines: list = field(default_factory=list)

    def add(self, reference: dict, candidate: dict) -> None:
        self.frames += 1
        ref_boxes = [c for c in reference.get("classes", []) if "bbox" in c]
        new_boxes = [c for c in candidate.get("classes", []) if "bbox" in c]
        self.detections_fp32 += len(ref_boxes)
        self.detections_int8 += len(new_boxes)
        # Greedy matching, best overlap first, same label only.
        pairs = sorted(
            (
                (iou(r["bbox"], n["bbox"]), i, j)
                for i, r in enumerate(ref_boxes)
                for j, n in enumerate(new_boxes)
                if r["cat"] == n["cat"]
            ),
            reverse=True,
        )
        used_r, used_n = set(), set()
        for overlap, i, j in pairs:
            if overlap < 0.5 or i in used_r or j in used_n:
                continue
            used_r.add(i)
            used_n.add(j)
            self.detections_matched += 1
            r, n = ref_boxes[i]["bbox"], new_boxes[j]["bbox"]
            self.corner_distances.append(max(abs(r[k] - n[k]) for k in ("xmin", "ymin", "xmax", "ymax")))
        ref_classes = [c for c in reference.get("classes", []) if "bbox" not in c]
        new_classes = [c for c in candidate.get("classes", []) if "bbox" not in c]
        if ref_classes and new_classes:
            self.top1_frames += 1
            same = ref_classes[0]["cat"] == new_classes[0]["cat"]
            self.top1_same += same
            # Frames where FP32 itself is sure: flips there are real losses,
            # not coin tosses between near-equal classes.
            if ref_classes[0]["prob"] >= CONFIDENT:
                self.confident_frames += 1
                self.confident_same += same
        if "embedding" in reference and "embedding" in candidate:
            a = np.asarray(reference["embedding"], dtype=np.float64)
            b = np.asarray(candidate["embedding"], dtype=np.float64)
            norms = np.linalg.norm(a) * np.linalg.norm(b)
            self.cosines.append(float(a @ b / norms) if norms > 0 else 0.0)

    def report(self) -> dict:
        out: dict = {"frames": self.frames}
        if self.detections_fp32 or self.detections_int8:
            union = self.detections_fp32 + self.detections_int8 - self.detections_matched
            distances = sorted(self.corner_distances)
            out["detections"] = {
                "fp32": self.detections_fp32,
                "int8": self.detections_int8,
                "matched_iou_0_5": self.detections_matched,
                # Matched over all distinct objects either model found.
                "agreement": self.detections_matched / union if union else 1.0,
                "corner_distance_px_mean": float(np.mean(distances)) if distances else 0.0,
                "corner_distance_px_p95": float(distances[int(0.95 * (len(distances) - 1))]) if distances else 0.0,
                "corner_distance_px_max": float(distances[-1]) if distances else 0.0,
            }
            out["detections"]["ok"] = out["detections"]["agreement"] >= MIN_DETECTION_AGREEMENT
        if self.top1_frames:
            agreement = self.top1_same / self.top1_frames
            out["top1"] = {
                "frames": self.top1_frames,
                "agreement": agreement,
                "confident_frames": self.confident_frames,
                "confident_agreement": self.confident_same / self.confident_frames if self.confident_frames else 1.0,
                "ok": agreement >= MIN_TOP1_AGREEMENT,
            }
        if self.cosines:
            out["features"] = {
                "frames": len(self.cosines),
                "cosine_mean": float(np.mean(self.cosines)),
                "cosine_min": float(np.min(self.cosines)),
                "ok": float(np.mean(self.cosines)) >= MIN_FEATURE_COSINE,
            }
        return out


def evaluate(args, model: Path, out: Path, props: list, check: list, work: Path, index: int) -> dict:
    """Runs FP32 and INT8 in dlinfer on the held-back frames and compares."""
    if args.eval_video:
        video, first = args.eval_video, 0
    else:
        video, first = args.video, args.frames * args.interval
    both = []
    for name, path in (("fp32", model), ("int8", out)):
        both.append(run_model(video, path, props + check, args.interval, work / f"{name}-{index}.jsonl"))
    reference, candidate = both
    agreement = Agreement()
    held_back = [f for f in sorted(reference) if f >= first and f % args.interval == 0][: args.holdout]
    if len(held_back) < args.holdout:
        raise QuantizeError(
            f"'{video}' gave {len(held_back)} held-back frames at inference-interval={args.interval}, "
            f"{args.holdout} asked: use a longer clip, a smaller --interval or fewer --holdout frames"
        )
    for frame in held_back:
        agreement.add(reference[frame], candidate.get(frame, {}))
    return {"check": " ".join(props + check), "video": str(video), **agreement.report()}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="the FP32 ONNX model")
    parser.add_argument("video", type=Path, help="a clip of your own video, for calibration")
    parser.add_argument("out", type=Path, help="where the INT8 model goes")
    parser.add_argument("--dlinfer", default="", help="dlinfer's properties as you run the model (preprocessing and decoder), e.g. \"decoder=centerface input-std=1\"")
    parser.add_argument("--check", action="append", default=[], help="more dlinfer properties for one accuracy check (repeat for several outputs)")
    parser.add_argument("--frames", type=int, default=64, help="calibration frames (default 64)")
    parser.add_argument("--holdout", type=int, default=32, help="frames held back to measure accuracy (default 32)")
    parser.add_argument("--interval", type=int, default=5, help="take every Nth frame of the video (default 5)")
    parser.add_argument("--eval-video", type=Path, help="measure accuracy on this clip instead of held-back frames")
    parser.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="minmax", help="calibration method (default minmax)")
    parser.add_argument("--rounding", choices=["gptq", "nearest"], default="gptq", help="how weights become int8: gptq (default) rounds each convolution's weights so its outputs on the calibration frames move least; nearest rounds each weight on its own")
    parser.add_argument("--no-bias-correction", dest="bias_correction", action="store_false", help="leave the convolutions' biases as they are (by default each is moved to cancel its int8 weight rounding on the calibration frames' mean)")
    parser.add_argument("--keep-float-convs", type=int, metavar="N", help=f"keep the first N convolutions, and the layers before them, in float (default {DEFAULT_FLOAT_CONVS}, or as many as the model has: a stem and first block; 0: only the first and last layers)")
    parser.add_argument("--save-calibration", type=Path, help="also write the calibration tensors here (.npy, [frames, ...])")
    parser.add_argument("--report", type=Path, help="also write the accuracy report here as JSON")
    args = parser.parse_args(argv)
    for name in ("frames", "holdout", "interval"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.keep_float_convs is not None and args.keep_float_convs < 0:
        parser.error("--keep-float-convs must be 0 or more")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if not args.model.is_file():
            raise QuantizeError(f"model '{args.model}' does not exist or is not a file")
        try:
            model = onnx.load(str(args.model))
        except Exception as err:  # noqa: BLE001 - protobuf's reasons vary
            raise QuantizeError(f"could not load '{args.model}' as an ONNX model: {err}") from err
        check_float_model(model, args.model)
        image = image_input(model, args.model)
        check_video(args.video)
        if args.eval_video:
            check_video(args.eval_video)
        props = shlex.split(args.dlinfer)
        with tempfile.TemporaryDirectory(prefix="gst-dl-quantize-") as tmp:
            work = Path(tmp)
            identity_path = work / "identity.onnx"
            onnx.save(identity_model(model, image), str(identity_path))
            wanted = args.frames + (0 if args.eval_video else args.holdout)
            tensors = calibration_tensors(args.video, identity_path, props, args.interval, wanted, work)
            if len(tensors) < wanted:
                raise QuantizeError(
                    f"calibration video '{args.video}' gave {len(tensors)} frames at inference-interval="
                    f"{args.interval}, {wanted} needed ({args.frames} for calibration"
                    + ("" if args.eval_video else f" + {args.holdout} held back")
                    + "): use a longer clip, a smaller --interval or fewer --frames/--holdout"
                )
            shapes = sorted({t.shape for t in tensors})
            print(f"quantize.py: {args.frames} calibration tensors {shapes[0]} from '{args.video}'", file=sys.stderr)
            if args.save_calibration:
                np.save(args.save_calibration, np.concatenate(tensors[: args.frames]))
            recipe = Recipe(args.method, args.rounding, args.bias_correction, args.keep_float_convs)
            quantize(args.model, args.out, image, tensors[: args.frames], recipe, work)
            checks = [shlex.split(c) for c in args.check] or [[]]
            results = [evaluate(args, args.model, args.out, props, c, work, i) for i, c in enumerate(checks)]
    except QuantizeError as err:
        print(f"quantize.py: error: {err}", file=sys.stderr)
        return 2
    report = {"model": str(args.model), "int8": str(args.out), "checks": results}
    if args.report:
        args.report.write_text(json.dumps(report, indent=1) + "\n")
    for result in results:
        print(f"check '{result['check']}' on {result['frames']} held-back frames:")
        if "detections" in result:
            d = result["detections"]
            print(
                f"  detections: {d['matched_iou_0_5']} of FP32 {d['fp32']} / INT8 {d['int8']} the same at IoU>=0.5 "
                f"({100 * d['agreement']:.1f}%), corners within {d['corner_distance_px_p95']:.1f} px (95%), "
                f"{d['corner_distance_px_max']:.1f} px max" + ("" if d["ok"] else "  BELOW 97%")
            )
        if "top1" in result:
            t = result["top1"]
            print(
                f"  top-1 class: {100 * t['agreement']:.1f}% the same"
                + ("" if t["ok"] else "  BELOW 97%")
                + f"; {100 * t['confident_agreement']:.1f}% of the {t['confident_frames']} frames FP32 is sure of (p >= {CONFIDENT})"
            )
        if "features" in result:
            f = result["features"]
            print(f"  features: cosine mean {f['cosine_mean']:.4f}, min {f['cosine_min']:.4f}" + ("" if f["ok"] else "  BELOW 0.98"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
