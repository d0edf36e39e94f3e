#!/usr/bin/python3
"""Print the objects a pipeline's results carry, read from GStreamer 1.24+'s analytics relation meta
and, for comparison, from gst-dl's ROI metas: label, confidence, box, classes and track id.

  read_analytics.py "filesrc location=clip.mp4 ! decodebin ! videoconvert ! dlinfer model=m.onnx ! dltrack"

Needs GStreamer >= 1.26's typelibs (Debian 13: python3-gi gir1.2-gst-plugins-bad-1.0) and a gst-dl
built with the `analytics` feature. Each object prints as two lines, `analytics ...` and `roi ...`.
"""
import os, sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("GST_PLUGIN_PATH", str(REPO / "target/debug"))

import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
gi.require_version("GstAnalytics", "1.0")
from gi.repository import GLib, Gst, GstAnalytics, GstVideo
Gst.init(None)


def analytics_objects(buf):
    """(label, confidence, (x, y, w, h), classes, track id) of every object-detection mtd.

    RelationMeta.iterate() crashes PyGObject on 1.26, so visit the mtds by id (0 .. length-1):
    get_od_mtd(i) answers (False, ...) for an mtd of another type.
    """
    rmeta = GstAnalytics.buffer_get_analytics_relation_meta(buf)
    if rmeta is None:
        return []
    objects = []
    for i in range(GstAnalytics.relation_get_length(rmeta)):
        ok, od = rmeta.get_od_mtd(i)
        if not ok:
            continue
        label = GLib.quark_to_string(od.get_obj_type()) or ""
        if not label:
            continue  # gst-dl's readers skip unlabelled objects too
        ok, x, y, w, h, confidence = od.get_location()
        classes, track = [], None
        # What the object contains: its classifications and its track.
        for j in range(GstAnalytics.relation_get_length(rmeta)):
            if not rmeta.get_relation(i, j) & GstAnalytics.RelTypes.CONTAIN:
                continue
            ok, cls = rmeta.get_cls_mtd(j)
            if ok:
                classes += [(GLib.quark_to_string(cls.get_quark(k)), cls.get_level(k))
                            for k in range(cls.get_length())]
            ok, trk = rmeta.get_tracking_mtd(j)
            if ok:
                track = trk.get_info()[1]
        objects.append((label, confidence, (x, y, w, h), classes, track))
    return objects


def roi_objects(buf):
    """The same from gst-dl's ROI metas (looked up by id: PyGObject cannot walk a buffer's metas)."""
    api = GstVideo.VideoRegionOfInterestMeta.get_info().api
    objects = []
    for i in range(buf.get_n_meta(api)):
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buf, i)
        det = roi.get_param("detection") if roi is not None else None
        if det is None:
            continue
        label, confidence = det.get_value("label"), det.get_value("confidence")
        trk = roi.get_param("tracking")
        track = trk.get_value("id") if trk is not None else None
        objects.append((label, confidence, (roi.x, roi.y, roi.w, roi.h), [(label, confidence)], track))
    return objects


def show(source, n, obj):
    label, confidence, (x, y, w, h), classes, track = obj
    names = ", ".join(f"{c} {level:.2f}" for c, level in classes)
    print(f"{source} frame {n}: {label} {confidence:.2f} box ({x}, {y}, {w}, {h}) classes [{names}] "
          f"track {track if track is not None else 'none'}")


pipeline = Gst.parse_launch(sys.argv[1] + " ! appsink name=sink sync=false")
sink, bus = pipeline.get_by_name("sink"), pipeline.get_bus()
pipeline.set_state(Gst.State.PLAYING)
n = 0
try:
    while True:
        sample = sink.emit("try-pull-sample", Gst.SECOND // 10)
        if sample is not None:
            buf = sample.get_buffer()
            for obj in analytics_objects(buf):
                show("analytics", n, obj)
            for obj in roi_objects(buf):
                show("roi", n, obj)
            n += 1
        elif error := bus.pop_filtered(Gst.MessageType.ERROR):
            sys.exit(f"error: {error.parse_error()[0].message}")
        elif sink.get_property("eos"):
            break
finally:
    pipeline.set_state(Gst.State.NULL)
