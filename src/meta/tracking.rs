//! Tracking results on buffers, written by `dltrack`:
//!
//! - on each tracked ROI, a param structure `tracking`: `id` (guint64),
//!   `age` (guint64, frames), `state` (`tentative`, `confirmed`, `lost`),
//!   `predicted` (true when the box comes from motion, not a detection);
//! - on the frame, a custom meta `GstDlTrackingMeta` whose structure
//!   `dl-tracking` holds the frame's `events` (a list of `event`
//!   structures: `kind` line-crossed | zone-entered | zone-exited, `name`,
//!   `id`, and for lines `direction` in | out), and the running counts:
//!   `lines` (structures `line`: `name`, `x1`, `y1`, `x2`, `y2` in pixels,
//!   `in`, `out`) and `zones` (structures `zone`: `name`, `points` as a
//!   flat list x1, y1, x2, y2..., `entered`, `exited`, `occupancy`).

use gst::meta::CustomMeta;
use gst_video::VideoRegionOfInterestMeta;

use super::custom::register_copied_custom_meta;
use super::roi::DETECTION_PARAMS;
use crate::track::{BoxRect, CountEvent, Counter, Detection, EventKind, TrackReport};

/// Name of the param structure on each tracked ROI.
pub const TRACKING_PARAMS: &str = "tracking";
/// Registered name of the frame's tracking meta.
pub const TRACKING_META_NAME: &str = "GstDlTrackingMeta";
/// Name of the structure in it.
pub const TRACKING_STRUCTURE_NAME: &str = "dl-tracking";
/// Class of ROIs that carry neither a label nor a type.
pub const UNLABELED: &str = "unlabeled";

/// The `tracking` params of one ROI, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingInfo {
    /// Track id.
    pub id: u64,
    /// Frames since the track started.
    pub age: u64,
    /// `tentative`, `confirmed` or `lost`.
    pub state: String,
    /// Whether the box comes from motion.
    pub predicted: bool,
}

/// One event as it rides on a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEvent {
    /// `line-crossed`, `zone-entered` or `zone-exited`.
    pub kind: String,
    /// The line's or zone's name.
    pub name: String,
    /// Track id.
    pub id: u64,
    /// `in` or `out`, for crossings.
    pub direction: Option<String>,
}

/// The `tracking` params of a ROI, if it has them.
pub fn read_tracking(meta: &VideoRegionOfInterestMeta) -> Option<TrackingInfo> {
    let params = meta.param(TRACKING_PARAMS)?;
    Some(TrackingInfo {
        id: params.get("id").ok()?,
        age: params.get("age").unwrap_or(0),
        state: params.get::<String>("state").unwrap_or_default(),
        predicted: params.get("predicted").unwrap_or(false),
    })
}

/// The track (id, predicted) of each object, in the order
/// [`read_detections`](super::read_detections) reads them.
pub fn read_object_tracks(buffer: &gst::BufferRef) -> Vec<Option<(u64, bool)>> {
    #[allow(unused_mut)]
    let mut tracks: Vec<Option<(u64, bool)>> = buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| is_object(meta))
        .map(|meta| read_tracking(&meta).map(|t| (t.id, t.predicted)))
        .collect();
    // Objects only an analytics meta describes: their tracking mtds.
    #[cfg(feature = "analytics")]
    tracks.extend(
        super::analytics::read_objects(buffer, &super::detection::analytics_ids_of_rois(buffer))
            .into_iter()
            .map(|o| o.track_id.map(|id| (id, false))),
    );
    tracks
}

/// Adds a tracking mtd for each tracked ROI that names an analytics OD mtd,
/// so analytics consumers see the same track ids.
#[cfg(feature = "analytics")]
fn track_analytics_objects(buffer: &mut gst::BufferRef) {
    let tracked: Vec<(u32, u64)> = buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter_map(|meta| {
            let mtd = meta
                .param(DETECTION_PARAMS)?
                .get::<u32>(super::analytics::ANALYTICS_ID_FIELD)
                .ok()?;
            Some((mtd, read_tracking(&meta)?.id))
        })
        .collect();
    let first_seen = buffer.pts().unwrap_or(gst::ClockTime::ZERO);
    for (mtd, track) in tracked {
        // Only fails when the meta cannot grow (out of memory).
        let _ = super::analytics::attach_track(buffer, mtd, track, first_seen);
    }
}

/// The `tracking` param structure of a report.
pub fn tracking_params(report: &TrackReport) -> gst::Structure {
    gst::Structure::builder(TRACKING_PARAMS)
        .field("id", report.id)
        .field("age", report.age)
        .field("state", report.state.name())
        .field("predicted", report.predicted)
        .build()
}

/// Whether a ROI is an object to track: not a frame classification.
fn is_object(meta: &VideoRegionOfInterestMeta) -> bool {
    !super::roi::is_classification_roi(meta)
}

/// The objects on a frame of `width` x `height` as tracker detections, in
/// ROI order. ROIs with our `detection` params use them; any other ROI is
/// tracked by its rectangle, as its ROI type (or `unlabeled`), with
/// confidence 1 (its producer kept it, so it is trusted). Embeddings come
/// from `features` tensors that name the ROI in `roi-id`.
pub fn detections_for_tracking(buffer: &gst::BufferRef, width: u32, height: u32) -> Vec<Detection> {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let embeddings: Vec<(i32, Vec<f32>)> = super::tensor::tensor_structures(buffer)
        .filter_map(|s| {
            let roi = s.get::<i32>("roi-id").ok()?;
            let bytes = s.get::<gst::glib::Bytes>("data").ok()?;
            let data = bytes
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Some((roi, data))
        })
        .collect();
    #[allow(unused_mut)]
    let mut detections: Vec<Detection> = buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| is_object(meta))
        .map(|meta| {
            let (x, y, rw, rh) = meta.rect();
            let mut rect = BoxRect::new(
                f64::from(x),
                f64::from(y),
                f64::from(x) + f64::from(rw),
                f64::from(y) + f64::from(rh),
            );
            let mut label = meta.roi_type().to_string();
            let (mut label_id, mut confidence) = (-1, 1.0);
            if let Some(params) = meta.param(DETECTION_PARAMS) {
                let edge = |name: &str, scale: f64, fallback: f64| {
                    params.get::<f64>(name).map_or(fallback, |v| v * scale)
                };
                rect = BoxRect::new(
                    edge("x-min", w, rect.x_min),
                    edge("y-min", h, rect.y_min),
                    edge("x-max", w, rect.x_max),
                    edge("y-max", h, rect.y_max),
                );
                label = params.get::<String>("label").unwrap_or(label);
                label_id = params.get("label-id").unwrap_or(-1);
                confidence = params.get("confidence").unwrap_or(1.0);
            }
            if label.is_empty() {
                label = UNLABELED.to_string();
            }
            let mut detection = Detection::new(rect, confidence, &label, label_id);
            detection.embedding = embeddings
                .iter()
                .find(|(roi, _)| *roi == meta.id())
                .map(|(_, data)| data.clone());
            detection
        })
        .collect();
    // Objects only an analytics meta describes follow, as read_detections
    // orders them.
    #[cfg(feature = "analytics")]
    detections.extend(analytics_only_objects(buffer).into_iter().map(|o| {
        let o = o.object;
        let rect = BoxRect::new(o.x_min, o.y_min, o.x_max, o.y_max);
        Detection::new(rect, o.confidence, &o.label, o.label_id)
    }));
    detections
}

/// The objects of analytics OD mtds that no ROI names.
#[cfg(feature = "analytics")]
fn analytics_only_objects(buffer: &gst::BufferRef) -> Vec<super::analytics::AnalyticsObject> {
    super::analytics::read_objects(buffer, &super::detection::analytics_ids_of_rois(buffer))
}

/// Adds `tracking` params to the ROIs the reports matched (`detection` is
/// the index among [`detections_for_tracking`]'s objects).
pub fn tag_tracked_rois(buffer: &mut gst::BufferRef, reports: &[TrackReport]) {
    let mut index = 0;
    for mut meta in buffer.iter_meta_mut::<VideoRegionOfInterestMeta>() {
        if !is_object(&meta) {
            continue;
        }
        if let Some(report) = reports.iter().find(|r| r.detection == Some(index)) {
            meta.add_param(tracking_params(report));
        }
        index += 1;
    }
    #[cfg(feature = "analytics")]
    {
        track_analytics_objects(buffer);
        // Objects only an analytics meta describes get a tracking mtd.
        let first_seen = buffer.pts().unwrap_or(gst::ClockTime::ZERO);
        for object in analytics_only_objects(buffer) {
            if let Some(report) = reports.iter().find(|r| r.detection == Some(index)) {
                // Only fails when the meta cannot grow (out of memory).
                let _ = super::analytics::attach_track(buffer, object.id, report.id, first_seen);
            }
            index += 1;
        }
    }
}

/// Attaches a predicted box as a new ROI with `detection` params (the
/// track's class and last confidence) and `tracking` params.
pub fn attach_predicted(
    buffer: &mut gst::BufferRef,
    report: &TrackReport,
    width: u32,
    height: u32,
) {
    let object = super::DetectedObject {
        label: report.label.clone(),
        label_id: report.label_id,
        confidence: report.confidence,
        x_min: report.rect.x_min,
        y_min: report.rect.y_min,
        x_max: report.rect.x_max,
        y_max: report.rect.y_max,
        // A predicted box has no keypoints or mask of its own.
        details: Default::default(),
    };
    super::attach_detection(buffer, &object, width, height);
    if let Some(mut meta) = buffer
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .max_by_key(|m| m.id())
    {
        meta.add_param(tracking_params(report));
    }
    #[cfg(feature = "analytics")]
    track_analytics_objects(buffer);
}

/// The structure of one event.
pub fn event_structure(event: &CountEvent) -> gst::Structure {
    let mut builder = gst::Structure::builder("event")
        .field("kind", event.kind.name())
        .field("name", event.name.as_str())
        .field("id", event.track_id);
    if let EventKind::LineCrossed(direction) = event.kind {
        builder = builder.field("direction", direction.name());
    }
    builder.build()
}

/// The frame's events and the running counts, as the meta's structure (and
/// the `dltrack` message's fields).
pub fn tracking_structure(name: &str, events: &[CountEvent], counter: &Counter) -> gst::Structure {
    let lines = gst::List::new(counter.lines().iter().zip(counter.line_counts()).map(
        |(line, count)| {
            gst::Structure::builder("line")
                .field("name", line.name.as_str())
                .field("x1", line.start.x)
                .field("y1", line.start.y)
                .field("x2", line.end.x)
                .field("y2", line.end.y)
                .field("in", count.crossed_in)
                .field("out", count.crossed_out)
                .build()
        },
    ));
    let zones = gst::List::new(counter.zones().iter().zip(counter.zone_counts()).map(
        |(zone, count)| {
            gst::Structure::builder("zone")
                .field("name", zone.name.as_str())
                .field(
                    "points",
                    gst::List::new(zone.corners.iter().flat_map(|p| [p.x, p.y])),
                )
                .field("entered", count.entered)
                .field("exited", count.exited)
                .field("occupancy", count.occupancy)
                .build()
        },
    ));
    gst::Structure::builder(name)
        .field("events", gst::List::new(events.iter().map(event_structure)))
        .field("lines", lines)
        .field("zones", zones)
        .build()
}

/// Attaches the frame's tracking structure.
pub fn attach_tracking_meta(buffer: &mut gst::BufferRef, structure: &gst::Structure) {
    register_copied_custom_meta(TRACKING_META_NAME);
    if let Ok(mut meta) = CustomMeta::add(buffer, TRACKING_META_NAME) {
        let target = meta.mut_structure();
        target.set_name(TRACKING_STRUCTURE_NAME);
        for (field, value) in structure.iter() {
            target.set_value(field, value.clone());
        }
    }
}

/// The frame's tracking structure, if `dltrack` attached one.
pub fn tracking_meta(buffer: &gst::BufferRef) -> Option<gst::Structure> {
    register_copied_custom_meta(TRACKING_META_NAME);
    CustomMeta::from_buffer(buffer, TRACKING_META_NAME)
        .ok()
        .map(|meta| meta.structure().to_owned())
}

/// Reads the events of a tracking structure.
pub fn read_events(structure: &gst::StructureRef) -> Vec<TrackEvent> {
    let Ok(list) = structure.get::<gst::List>("events") else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|v| v.get::<gst::Structure>().ok())
        .filter_map(|s| {
            Some(TrackEvent {
                kind: s.get::<String>("kind").ok()?,
                name: s.get::<String>("name").ok()?,
                id: s.get::<u64>("id").ok()?,
                direction: s.get::<String>("direction").ok(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{DetectedObject, attach_detection};
    use crate::track::{Direction, TrackState, parse_lines, parse_zones};

    fn report(id: u64, detection: Option<usize>) -> TrackReport {
        TrackReport {
            id,
            age: 4,
            state: TrackState::Confirmed,
            rect: BoxRect::new(10.0, 20.0, 50.0, 60.0),
            predicted: detection.is_none(),
            detection,
            label: "square".into(),
            label_id: 1,
            confidence: 0.9,
        }
    }

    #[test]
    fn foreign_rois_are_tracked_by_their_type_or_as_unlabeled() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        {
            let b = buffer.get_mut().unwrap();
            VideoRegionOfInterestMeta::add(b, "", (1, 2, 3, 4));
            VideoRegionOfInterestMeta::add(b, "car", (5, 6, 7, 8));
            VideoRegionOfInterestMeta::add(b, "empty", (5, 6, 0, 0));
        }
        let d = detections_for_tracking(&buffer, 100, 100);
        assert_eq!(d.len(), 3);
        assert_eq!((d[0].label.as_str(), d[0].confidence), (UNLABELED, 1.0));
        assert_eq!(d[1].label, "car");
        assert_eq!(d[1].rect, BoxRect::new(5.0, 6.0, 12.0, 14.0));
        assert!(!d[2].rect.is_trackable());
    }

    #[test]
    fn tracking_params_land_on_the_matched_roi_and_read_back() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let object = DetectedObject {
            label: "square".into(),
            label_id: 1,
            confidence: 0.9,
            x_min: 10.0,
            y_min: 20.0,
            x_max: 50.0,
            y_max: 60.0,

            details: Default::default(),
        };
        for _ in 0..2 {
            attach_detection(buffer.get_mut().unwrap(), &object, 100, 100);
        }
        let d = detections_for_tracking(&buffer, 100, 100);
        assert_eq!(d[0].rect, BoxRect::new(10.0, 20.0, 50.0, 60.0));
        assert!((d[0].confidence - 0.9).abs() < 1e-12);
        tag_tracked_rois(buffer.get_mut().unwrap(), &[report(7, Some(1))]);
        attach_predicted(buffer.get_mut().unwrap(), &report(9, None), 100, 100);
        let infos: Vec<Option<TrackingInfo>> = buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .map(|m| read_tracking(&m))
            .collect();
        assert_eq!(infos[0], None);
        let tracked = infos[1].as_ref().unwrap();
        assert_eq!(
            (
                tracked.id,
                tracked.age,
                tracked.state.as_str(),
                tracked.predicted
            ),
            (7, 4, "confirmed", false)
        );
        let predicted = infos[2].as_ref().unwrap();
        assert_eq!((predicted.id, predicted.predicted), (9, true));
        let back = crate::meta::read_detections(&buffer, 100, 100);
        assert_eq!(back[2].label, "square");
        assert_eq!(back[2].x_min, 10.0);
    }

    #[test]
    fn events_and_counts_ride_on_the_buffer() {
        gst::init().unwrap();
        let counter = Counter::new(
            parse_lines("door:0,50,100,50").unwrap().in_pixels(100, 100),
            parse_zones("lot:0,0,50,0,50,50")
                .unwrap()
                .in_pixels(100, 100),
        );
        let events = vec![CountEvent {
            kind: EventKind::LineCrossed(Direction::In),
            name: "door".into(),
            track_id: 3,
        }];
        let structure = tracking_structure("dltrack", &events, &counter);
        let mut buffer = gst::Buffer::new();
        attach_tracking_meta(buffer.get_mut().unwrap(), &structure);
        let copy = buffer.copy_deep().unwrap();
        let back = tracking_meta(&copy).unwrap();
        assert_eq!(back.name(), TRACKING_STRUCTURE_NAME);
        assert_eq!(
            read_events(&back),
            vec![TrackEvent {
                kind: "line-crossed".into(),
                name: "door".into(),
                id: 3,
                direction: Some("in".into())
            }]
        );
        let zones = back.get::<gst::List>("zones").unwrap();
        let zone = zones.first().unwrap().get::<gst::Structure>().unwrap();
        assert_eq!(zone.get::<u64>("occupancy").unwrap(), 0);
        assert_eq!(zone.get::<gst::List>("points").unwrap().len(), 6);
    }
}
