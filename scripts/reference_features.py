#!/usr/bin/env python3
"""Reference features for one raw RGB frame, with numpy and onnxruntime only.

usage: reference_features.py FRAME.rgb WIDTH HEIGHT MODEL.onnx OUT.f32

The documented preprocessing of dlinfer scale-mode=center-crop for a square
224x224 input: crop the centre square of the frame, resize it to 224x224 with
bilinear sampling (pixel-centre aligned, as OpenCV's INTER_LINEAR), then
(pixel - 127) / 128, NCHW. Writes the L2-normalised 'features' output as
little-endian float32. The test compares it with what dlinfer attaches.
"""
import sys

import numpy as np
import onnxruntime as ort


def bilinear_resize(image, out_h, out_w):
    """Resize an HxWxC float image, sampling at pixel centres like INTER_LINEAR."""
    in_h, in_w = image.shape[:2]

    def taps(out_size, in_size):
        pos = (np.arange(out_size) + 0.5) * (in_size / out_size) - 0.5
        pos = np.clip(pos, 0, in_size - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, in_size - 1)
        return lo, hi, (pos - lo)[:, None]

    y0, y1, wy = taps(out_h, in_h)
    x0, x1, wx = taps(out_w, in_w)
    rows = image[y0] * (1 - wy[:, :, None]) + image[y1] * wy[:, :, None]
    return rows[:, x0] * (1 - wx[None, :, :]) + rows[:, x1] * wx[None, :, :]


def main():
    frame_path, width, height, model, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    stride = (width * 3 + 3) // 4 * 4  # GStreamer's RGB rows are 4-byte aligned
    raw = np.fromfile(frame_path, np.uint8)[: stride * height].reshape(height, stride)[:, : width * 3]
    image = raw.reshape(height, width, 3).astype(np.float32)
    side = min(width, height)
    top, left = (height - side) // 2, (width - side) // 2
    square = image[top : top + side, left : left + side]
    tensor = ((bilinear_resize(square, 224, 224) - 127.0) / 128.0).transpose(2, 0, 1)[None].astype(np.float32)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    features = session.run(["features"], {session.get_inputs()[0].name: tensor})[0][0]
    features = features / np.linalg.norm(features)
    features.astype("<f4").tofile(out)


if __name__ == "__main__":
    main()
