#!/usr/bin/env python3
"""Scores a tracker's output against ground truth with motmetrics.

Usage: .venv/bin/python scripts/mot_score.py GT.csv HYP.csv

Both files are MOTChallenge-style rows `frame,id,x,y,w,h` (pixels, one box
per row, no header).  Boxes match when their IoU is at least 0.5 (the
MOTChallenge convention).  Prints one JSON object: mota, motp, idf1,
num_switches, num_false_positives, num_misses, num_frames, mostly_tracked.
"""

import json
import sys

import numpy as np
import motmetrics as mm


def read(path):
    frames = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            frame, ident, x, y, w, h = line.split(",")[:6]
            frames.setdefault(int(frame), []).append((int(ident), [float(x), float(y), float(w), float(h)]))
    return frames


def iou_distances(objs, hyps, max_iou=0.5):
    """1 - IoU of every (object, hypothesis) pair of x,y,w,h boxes; NaN (no
    match allowed) where 1 - IoU > max_iou.  What motmetrics'
    distances.iou_matrix computes; 1.4.0's own calls np.asfarray, which
    numpy 2 removed, so it is written out here.
    """
    if len(objs) == 0 or len(hyps) == 0:
        return np.empty((len(objs), len(hyps)))
    o = np.asarray(objs, np.float64)[:, None, :]
    h = np.asarray(hyps, np.float64)[None, :, :]
    x0 = np.maximum(o[..., 0], h[..., 0])
    y0 = np.maximum(o[..., 1], h[..., 1])
    x1 = np.minimum(o[..., 0] + o[..., 2], h[..., 0] + h[..., 2])
    y1 = np.minimum(o[..., 1] + o[..., 3], h[..., 1] + h[..., 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    union = o[..., 2] * o[..., 3] + h[..., 2] * h[..., 3] - inter
    distance = 1.0 - inter / np.where(union > 0, union, 1.0)
    distance[distance > max_iou] = np.nan
    return distance


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    gt, hyp = read(sys.argv[1]), read(sys.argv[2])
    acc = mm.MOTAccumulator(auto_id=False)
    for frame in sorted(set(gt) | set(hyp)):
        g, h = gt.get(frame, []), hyp.get(frame, [])
        distances = iou_distances([b for _, b in g], [b for _, b in h])
        acc.update([i for i, _ in g], [i for i, _ in h], distances, frameid=frame)
    names = ["mota", "motp", "idf1", "num_switches", "num_false_positives", "num_misses",
             "num_frames", "mostly_tracked"]
    summary = mm.metrics.create().compute(acc, metrics=names, name="run")
    row = summary.loc["run"]
    print(json.dumps({n: (float(row[n]) if n in ("mota", "motp", "idf1") else int(row[n])) for n in names}))


if __name__ == "__main__":
    main()
