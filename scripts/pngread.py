#!/usr/bin/env python3
"""Minimal pure-Python PNG decoder shared by the scripts under scripts/.

Only what the model checks need: 8-bit RGB/RGBA, non-interlaced -> uint8
[H,W,3].  No Pillow: the venv carries scikit-image's data files but not its
dependencies, so the images are decoded here.
"""

import zlib

import numpy as np


def read_png_rgb(path):
    """Minimal PNG reader (8-bit RGB/RGBA, non-interlaced) -> uint8 [H,W,3].

    Avoids a Pillow dependency for the few test images the checks need."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    w, h = int.from_bytes(hdr[0:4], "big"), int.from_bytes(hdr[4:8], "big")
    depth, ctype, interlace = hdr[8], hdr[9], hdr[12]
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        ftype = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 0xFF
        elif ftype == 1:  # Sub: running sum per channel
            cur = (np.cumsum(line.reshape(w, bpp), axis=0) & 0xFF).reshape(-1)
        else:  # Average / Paeth depend on the left neighbour: per-pixel loop
            cur = line.copy()
            p = prev.tolist()
            c = cur.tolist()
            for i in range(stride):
                a = c[i - bpp] if i >= bpp else 0
                b = p[i]
                if ftype == 3:
                    c[i] = (c[i] + ((a + b) >> 1)) & 0xFF
                else:
                    cc = p[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - cc), abs(a - cc), abs(a + b - 2 * cc)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                    c[i] = (c[i] + pred) & 0xFF
            cur = np.array(c, np.int32)
        out[y] = cur
        prev = cur
    return out.reshape(h, w, bpp)[:, :, :3]
