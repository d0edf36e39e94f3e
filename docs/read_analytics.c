/* Print the objects a pipeline's results carry, read from GStreamer 1.24+'s analytics relation
 * meta and, for comparison, from gst-dl's ROI metas: label, confidence, box, classes, track id.
 *
 *   gcc -o read_analytics docs/read_analytics.c \
 *       $(pkg-config --cflags --libs gstreamer-analytics-1.0 gstreamer-video-1.0)
 *   ./read_analytics "filesrc location=clip.mp4 ! decodebin ! videoconvert ! dlinfer model=m.onnx ! dltrack"
 */
#include <stdio.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/analytics/analytics.h>

static guint frame;

/* Every object-detection mtd, with the classifications and the track it contains. */
static void print_analytics (GstBuffer * buf)
{
  GstAnalyticsRelationMeta *rmeta = gst_buffer_get_analytics_relation_meta (buf);
  gpointer state = NULL;
  GstAnalyticsODMtd od;
  if (rmeta == NULL)
    return;
  while (gst_analytics_relation_meta_iterate (rmeta, &state,
          gst_analytics_od_mtd_get_mtd_type (), &od)) {
    const gchar *label = g_quark_to_string (gst_analytics_od_mtd_get_obj_type (&od));
    gint x, y, w, h;
    gfloat confidence;
    GString *classes = g_string_new (NULL);
    gchar track[32] = "none";
    gpointer related = NULL;
    GstAnalyticsClsMtd cls;
    GstAnalyticsTrackingMtd trk;

    if (label == NULL || *label == '\0')
      continue;                 /* gst-dl's readers skip unlabelled objects too */
    gst_analytics_od_mtd_get_location (&od, &x, &y, &w, &h, &confidence);
    while (gst_analytics_relation_meta_get_direct_related (rmeta, od.id,
            GST_ANALYTICS_REL_TYPE_CONTAIN, gst_analytics_cls_mtd_get_mtd_type (), &related, &cls)) {
      for (gsize k = 0; k < gst_analytics_cls_mtd_get_length (&cls); k++)
        g_string_append_printf (classes, "%s%s %.2f", classes->len ? ", " : "",
            g_quark_to_string (gst_analytics_cls_mtd_get_quark (&cls, k)),
            gst_analytics_cls_mtd_get_level (&cls, k));
    }
    related = NULL;
    if (gst_analytics_relation_meta_get_direct_related (rmeta, od.id,
            GST_ANALYTICS_REL_TYPE_CONTAIN, gst_analytics_tracking_mtd_get_mtd_type (), &related,
            &trk)) {
      guint64 id;
      GstClockTime first_seen, last_seen;
      gboolean lost;
      gst_analytics_tracking_mtd_get_info (&trk, &id, &first_seen, &last_seen, &lost);
      g_snprintf (track, sizeof track, "%" G_GUINT64_FORMAT, id);
    }
    printf ("analytics frame %u: %s %.2f box (%d, %d, %d, %d) classes [%s] track %s\n", frame,
        label, confidence, x, y, w, h, classes->str, track);
    g_string_free (classes, TRUE);
  }
}

/* The same from gst-dl's ROI metas (`detection` and `tracking` params). */
static void print_rois (GstBuffer * buf)
{
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buf, &state,
              GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *) meta;
    GstStructure *det = gst_video_region_of_interest_meta_get_param (roi, "detection");
    GstStructure *tracking = gst_video_region_of_interest_meta_get_param (roi, "tracking");
    gdouble confidence = 0;
    guint64 id;
    gchar track[32] = "none";
    const gchar *label;

    if (det == NULL)
      continue;
    label = gst_structure_get_string (det, "label");
    gst_structure_get_double (det, "confidence", &confidence);
    if (tracking != NULL && gst_structure_get_uint64 (tracking, "id", &id))
      g_snprintf (track, sizeof track, "%" G_GUINT64_FORMAT, id);
    printf ("roi frame %u: %s %.2f box (%u, %u, %u, %u) classes [%s %.2f] track %s\n", frame,
        label, confidence, roi->x, roi->y, roi->w, roi->h, label, confidence, track);
  }
}

static GstPadProbeReturn on_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  print_analytics (buf);
  print_rois (buf);
  frame++;
  return GST_PAD_PROBE_OK;
}

int main (int argc, char **argv)
{
  GError *error = NULL;
  gchar *description;
  GstElement *pipeline, *sink;
  GstPad *pad;
  GstMessage *msg;
  GstBus *bus;
  int status = 0;

  gst_init (&argc, &argv);
  if (argc != 2) {
    fprintf (stderr, "usage: %s \"PIPELINE\"\n", argv[0]);
    return 2;
  }
  description = g_strdup_printf ("%s ! fakesink name=sink", argv[1]);
  pipeline = gst_parse_launch (description, &error);
  g_free (description);
  if (pipeline == NULL) {
    fprintf (stderr, "error: %s\n", error->message);
    return 1;
  }
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  gst_object_unref (pad);
  gst_object_unref (sink);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  bus = gst_element_get_bus (pipeline);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_object_unref (bus);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &error, NULL);
    fprintf (stderr, "error: %s\n", error->message);
    g_error_free (error);
    status = 1;
  }
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return status;
}
