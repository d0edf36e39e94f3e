#!/usr/bin/env python3
"""Checks of quantize.py's weight rounding that need no video (run by
tests/quantize.rs): `conv_patches` reads what ONNX Runtime's Conv reads
(groups, strides, padding, dilation), and GPTQ moves a convolution's
outputs less than rounding each weight to nearest. Prints one line per
check and exits 1 if any fails."""

import sys
from pathlib import Path

import numpy as np
import onnxruntime
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quantize  # noqa: E402


def conv_node(**attributes):
    return helper.make_node("Conv", ["x", "w"], ["y"], **attributes)


def run_conv(node, x, w):
    graph = helper.make_graph(
        [node],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def patches_match_onnx_runtime(rng) -> list:
    failures = []
    cases = [
        ("1x1", dict(), (8, 6, 1, 1), 6),
        ("3x3 stride 2 pads", dict(strides=[2, 2], pads=[1, 1, 1, 1]), (8, 6, 3, 3), 6),
        ("5x5 depthwise", dict(group=6, pads=[2, 2, 2, 2]), (6, 1, 5, 5), 6),
        ("3x3 groups of 2, dilation 2, uneven pads", dict(group=3, dilations=[2, 2], pads=[0, 1, 2, 1]), (9, 2, 3, 3), 6),
        ("3x3 SAME_UPPER stride 2", dict(auto_pad="SAME_UPPER", strides=[2, 2]), (4, 6, 3, 3), 6),
    ]
    for name, attributes, shape, channels in cases:
        x = rng.normal(size=(1, channels, 11, 13)).astype(np.float32)
        w = rng.normal(size=shape).astype(np.float32)
        node = conv_node(kernel_shape=list(shape[2:]), **attributes)
        expected = run_conv(node, x, w)
        groups = attributes.get("group", 1)
        patches = quantize.conv_patches(x, node, shape)  # [g, n, positions]
        got = np.matmul(w.reshape(groups, shape[0] // groups, -1), patches).reshape(expected.shape)
        if not np.allclose(got, expected, atol=1e-4):
            failures.append(f"conv_patches {name}: max difference {np.abs(got - expected).max()}")
    return failures


def gptq_moves_outputs_less_than_nearest(rng) -> list:
    # Correlated inputs, as neighbouring pixels and channels are.
    mixing = rng.normal(size=(48, 48))
    x = (mixing @ rng.normal(size=(48, 4000))).reshape(1, 48, 40, 100).astype(np.float32)
    w = rng.normal(size=(16, 48, 1, 1))
    node = conv_node(kernel_shape=[1, 1])
    patches = quantize.conv_patches(x, node, w.shape).astype(np.float64)
    hessian = np.matmul(patches, patches.transpose(0, 2, 1))
    reference = w.reshape(16, 48) @ patches[0]

    def output_error(rounded):
        moved = (rounded.ints * rounded.scale[:, None, None, None]).reshape(16, 48) @ patches[0]
        return np.linalg.norm(moved - reference) / np.linalg.norm(reference)

    nearest = quantize.nearest_rounding(w)
    gptq = quantize.gptq_rounding(w, 1, hessian)
    failures = []
    if not np.array_equal(gptq.scale, nearest.scale):
        failures.append("GPTQ changed the scales quantize_static uses")
    if np.abs(gptq.ints.astype(int)).max() > 127:
        failures.append("GPTQ left int8's range")
    if not output_error(gptq) < 0.8 * output_error(nearest):
        failures.append(f"GPTQ output error {output_error(gptq):.5f} not below 0.8 x nearest's {output_error(nearest):.5f}")
    print(f"output error: nearest {output_error(nearest):.5f}, GPTQ {output_error(gptq):.5f}")
    return failures


def main() -> int:
    rng = np.random.default_rng(7)
    failures = patches_match_onnx_runtime(rng) + gptq_moves_outputs_less_than_nearest(rng)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("ok" if not failures else f"{len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
