#!/usr/bin/python3
"""Run dlinfer and read the results it attaches to each frame from the buffers' metadata.

  read_metadata.py [--frames N] [MODEL VIDEO]   faces (default: CenterFace on carphone_pristine.mp4)
  read_metadata.py --features [MODEL IMAGE]     embedding (default: EfficientNet-Lite0 on coffee.png)

Needs Debian's python3-gst-1.0 (it brings python3-gi and the GStreamer typelibs; its overrides are
what turn GstValueArray fields such as `shape` into Python): run it with /usr/bin/python3.
"""
import argparse, array, math, os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Convenience: use this checkout's debug build of the plugin unless GST_PLUGIN_PATH is already set.
os.environ.setdefault("GST_PLUGIN_PATH", str(REPO / "target/debug"))

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo
Gst.init(None)


def roi_metas(buf):
    """Every GstVideoRegionOfInterestMeta on buf: one per detection, plus a classifier's frame ROI.

    PyGObject cannot walk a buffer's metas on GStreamer 1.22: gst_buffer_iterate_meta() is not
    introspectable, foreach_meta() hands the callback None, and get_meta() returns a plain Gst.Meta
    that cannot be cast. So look the ROIs up by id: dlinfer numbers them 0, 1, 2... (after any ids
    already on the buffer), and buffer_get_video_region_of_interest_meta_id() returns the typed meta.
    """
    by_id = (GstVideo.buffer_get_video_region_of_interest_meta_id(buf, i)
             for i in range(buf.get_n_meta(GstVideo.VideoRegionOfInterestMeta.get_info().api)))
    return [roi for roi in by_id if roi is not None]


def tensor(buf):
    """The embedding (or the first raw output) as (name, kind, shape, float32 values)."""
    s = buf.get_custom_meta("GstDlTensorMeta").get_structure()  # GStreamer 1.20+
    # data is GLib.Bytes of native float32; with numpy: numpy.frombuffer(data, numpy.float32)
    values = array.array("f", s.get_value("data").get_data())
    return s.get_value("name"), s.get_value("kind"), list(s.get_value("shape")), values


def frames(media, settings, count):
    """Yield the first `count` buffers that leave dlinfer, set up with the `settings` dict."""
    pipeline = Gst.parse_launch("filesrc name=src ! decodebin ! videoconvert ! dlinfer name=dl ! "
                                "appsink name=sink sync=false")
    pipeline.get_by_name("src").set_property("location", str(media))
    for key, value in settings.items():  # set here, not in the launch line, as paths may hold spaces
        Gst.util_set_object_arg(pipeline.get_by_name("dl"), key, str(value))  # parsed as gst-launch does
    sink, bus = pipeline.get_by_name("sink"), pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while count > 0:
            # Wait at most 0.1 s at a time: a plain pull-sample would wait forever if an element
            # fails to start (a bad model path), as no sample and no end-of-stream ever come.
            sample = sink.emit("try-pull-sample", Gst.SECOND // 10)
            if sample is not None:
                count -= 1
                yield sample.get_buffer()
            elif error := bus.pop_filtered(Gst.MessageType.ERROR):
                raise RuntimeError(error.parse_error()[0].message)
            elif sink.get_property("eos"):
                return
    finally:
        pipeline.set_state(Gst.State.NULL)


parser = argparse.ArgumentParser()
parser.add_argument("--features", action="store_true", help="print the embedding, not boxes")
parser.add_argument("--frames", type=int, default=5)
parser.add_argument("model", nargs="?")
parser.add_argument("media", nargs="?")
args = parser.parse_args()
data = REPO / ".data"
if args.features:
    settings = {"model": args.model or data / "models/efficientnet_lite0.onnx", "decoder": "features",
                "output-name": "features", "scale-mode": "center-crop", "input-mean": 127, "input-std": 128}
    for n, buf in enumerate(frames(args.media or data / "media/coffee.png", settings, args.frames)):
        name, kind, shape, values = tensor(buf)
        norm = math.sqrt(sum(v * v for v in values))
        print(f"frame {n}: {kind} '{name}' shape {shape}: {len(values)} values, L2 norm {norm:.4f}")
else:
    settings = {"model": args.model or data / "models/centerface.onnx", "decoder": "centerface",
                "input-std": 1, "iou-threshold": 0.3, "labels-file": REPO / "models/labels/centerface.txt"}
    for n, buf in enumerate(frames(args.media or data / "media/carphone_pristine.mp4", settings, args.frames)):
        for roi in roi_metas(buf):
            label = GLib.quark_to_string(roi.roi_type)  # roi_type is a GQuark
            det = roi.get_param("detection")  # a Gst.Structure, or None
            if det is None:  # a classifier's frame-sized ROI; get_param() gives the first (top) class
                print(f"frame {n}: class {label} {roi.get_param('classification').get_value('confidence'):.2f}")
                continue
            norm = [f"{det.get_value(k):.3f}" for k in ("x-min", "y-min", "x-max", "y-max")]
            print(f"frame {n}: {label} {det.get_value('confidence'):.2f} at x={roi.x} y={roi.y} w={roi.w} "
                  f"h={roi.h} (normalised {norm[0]},{norm[1]} - {norm[2]},{norm[3]})")
            # Keypoints (pose, CenterFace landmarks), a rotated box (obb) and a mask (segment)
            # ride as more params of the same ROI; each is None when the model gives none.
            if (kp := roi.get_param("keypoints")) is not None:
                xs, ys = list(kp.get_value("x")), list(kp.get_value("y"))
                names = list(kp.get_value("names")) if kp.has_field("names") else [str(i) for i in range(len(xs))]
                print(f"frame {n}:   keypoints " + ", ".join(f"{k} ({x:.0f},{y:.0f})" for k, x, y in zip(names, xs, ys)))
            if (rot := roi.get_param("rotated-box")) is not None:
                print(f"frame {n}:   rotated {rot.get_value('width'):.0f}x{rot.get_value('height'):.0f} "
                      f"by {rot.get_value('angle'):.2f} rad")
            if (mask := roi.get_param("mask")) is not None:
                data = mask.get_value("data").get_data()  # width * height bytes, 255 inside
                print(f"frame {n}:   mask {mask.get_value('width')}x{mask.get_value('height')}, "
                      f"{sum(1 for b in data if b)} pixels inside")
