#!/usr/bin/python3
"""Detect faces, then run a second model on each face, and read every object's results in Python.

  read_objects.py [--frames N] [VIDEO]   (default: carphone_pristine.mp4)

The chain: CenterFace finds the faces; `dlinfer inference-region=objects` runs EfficientNet-Lite0
on each face twice, once for a 1280-d embedding (a tensor meta naming the face's ROI in `roi-id`)
and once for ImageNet classes (a param structure named by `results-name` on the face's ROI).

Needs Debian's python3-gst-1.0 (see read_metadata.py): run it with /usr/bin/python3.
"""
import argparse, array, math, os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("GST_PLUGIN_PATH", str(REPO / "target/debug"))

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo
Gst.init(None)

DATA = REPO / ".data"
PIPELINE = (
    "filesrc name=src ! decodebin ! videoconvert ! "
    "dlinfer name=faces decoder=centerface input-std=1 iou-threshold=0.3 ! "
    "dlinfer name=embed inference-region=objects object-class=face object-padding=0.1 "
    "decoder=features output-name=features input-mean=127 input-std=128 results-name=look ! "
    "dlinfer name=classify inference-region=objects object-class=face object-padding=0.1 "
    "decoder=classification top-k=3 input-mean=127 input-std=128 results-name=imagenet ! "
    "appsink name=sink sync=false"
)


def roi_metas(buf):
    """Every ROI on buf, looked up by id (PyGObject cannot walk metas on GStreamer 1.22)."""
    by_id = (GstVideo.buffer_get_video_region_of_interest_meta_id(buf, i)
             for i in range(buf.get_n_meta(GstVideo.VideoRegionOfInterestMeta.get_info().api)))
    return [roi for roi in by_id if roi is not None]


def first_object_tensor(buf):
    """The first tensor meta as (roi-id, values), or None. get_custom_meta() finds only the first
    one; from C or Rust (gstdl::meta::read_object_tensors) every object's tensor is read."""
    meta = buf.get_custom_meta("GstDlTensorMeta")
    if meta is None:
        return None
    s = meta.get_structure()
    if not s.has_field("roi-id"):
        return None
    return s.get_value("roi-id"), array.array("f", s.get_value("data").get_data())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("media", nargs="?", default=str(DATA / "media/carphone_pristine.mp4"))
    args = parser.parse_args()
    pipeline = Gst.parse_launch(PIPELINE)
    pipeline.get_by_name("src").set_property("location", args.media)
    pipeline.get_by_name("faces").set_property("model", str(DATA / "models/centerface.onnx"))
    pipeline.get_by_name("faces").set_property("labels-file", str(REPO / "models/labels/centerface.txt"))
    for name in ("embed", "classify"):
        pipeline.get_by_name(name).set_property("model", str(DATA / "models/efficientnet_lite0.onnx"))
    pipeline.get_by_name("classify").set_property("labels-file", str(DATA / "models/imagenet_labels.txt"))
    sink, bus = pipeline.get_by_name("sink"), pipeline.get_bus()
    pipeline.set_state(Gst.State.PLAYING)
    count = 0
    try:
        while count < args.frames:
            sample = sink.emit("try-pull-sample", Gst.SECOND // 10)
            if sample is None:
                if error := bus.pop_filtered(Gst.MessageType.ERROR):
                    raise SystemExit(error.parse_error()[0].message)
                if sink.get_property("eos"):
                    break
                continue
            buf = sample.get_buffer()
            embedding = first_object_tensor(buf)
            for roi in roi_metas(buf):
                det = roi.get_param("detection")
                if det is None:
                    continue
                label = GLib.quark_to_string(roi.roi_type)
                print(f"frame {count}: object {roi.id} {label} {det.get_value('confidence'):.2f} "
                      f"at x={roi.x} y={roi.y} w={roi.w} h={roi.h}")
                # Second-stage classes: one param structure per results-name, best class first.
                classes = roi.get_param("imagenet")
                if classes is not None:
                    print(f"frame {count}:   imagenet {classes.get_value('label')} "
                          f"{classes.get_value('confidence'):.2f}")
                if embedding is not None and embedding[0] == roi.id:
                    values = embedding[1]
                    norm = math.sqrt(sum(v * v for v in values))
                    print(f"frame {count}:   look: embedding of {len(values)} values, L2 norm {norm:.4f}")
            count += 1
    finally:
        pipeline.set_state(Gst.State.NULL)


if __name__ == "__main__":
    main()
