//! SECTION:element-dltrack
//!
//! Follows the objects that a detector attached to frames (region-of-interest
//! metas: `dlinfer`'s, or any element's) and gives each a stable id, in place:
//!
//! - each tracked ROI gets a `tracking` param structure: `id` (unique per
//!   element, never reused), `age` (frames), `state` (`tentative`,
//!   `confirmed`, `lost`) and `predicted`;
//! - on frames the detector did not infer (`dlinfer inference-interval=N`,
//!   or skipped in realtime mode: dlinfer marks them), the confirmed tracks'
//!   predicted boxes are added as ROIs with `predicted=true`
//!   (`predict-skipped`), so every frame has boxes; a frame that was
//!   inferred and found nothing stays empty;
//! - `lines` and `zones` count crossings (with direction) and zone entries,
//!   exits and occupancy; each frame posts an element message `dltrack`
//!   (`frame`, `pts`, `inferred`, `tracks`: boxes on the frame, `lost`:
//!   tracks kept without a box, `events`, `lines`, `zones`) and carries
//!   the events and counts on the buffer for `dlpublish` (JSON `"events"`)
//!   and `dloverlay`. A lost track has no ROI (its box would be a guess on
//!   a frame the detector looked at); ROIs are `tentative` or `confirmed`.
//!
//! `algorithm=bytetrack` (default) matches confident detections first and
//! the low-confidence ones (between `low-threshold` and `high-threshold`)
//! second: lower `dlinfer confidence-threshold` to `low-threshold` to feed
//! that second stage.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dlinfer model=centerface.onnx inference-interval=3 ! \
//!     dltrack lines="door:0,0.5,1,0.5" zones="desk:0.1,0.1,0.5,0.1,0.5,0.6,0.1,0.6" ! \
//!     dloverlay ! videoconvert ! autovideosink
//! ```

use std::sync::{LazyLock, Mutex};

use gst::glib;

use crate::element_support::{filter_pad_templates, lock, refuse_while_running};
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use crate::meta::skip_reason;
use crate::meta::tracking::{
    attach_predicted, attach_tracking_meta, detections_for_tracking, tag_tracked_rois,
    tracking_structure,
};
use crate::track::{
    Algorithm, Counter, CountingLine, CountingZone, TrackState, TrackedPosition, Tracker,
    TrackerConfig, geometry::Geometry, parse_lines, parse_zones,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dltrack",
        gst::DebugColorFlags::empty(),
        Some("Deep learning object tracker"),
    )
});

const DEFAULT_PREDICT_SKIPPED: bool = true;

/// `algorithm`: how detections are paired with tracks.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlTrackAlgorithm")]
pub enum AlgorithmChoice {
    #[default]
    #[enum_value(
        name = "ByteTrack: Kalman motion, confident detections then low-confidence ones",
        nick = "bytetrack"
    )]
    ByteTrack,
    #[enum_value(name = "SORT: Kalman motion, confident detections only", nick = "sort")]
    Sort,
    #[enum_value(name = "IoU: overlap with the last box, no motion model", nick = "iou")]
    Iou,
}

impl From<AlgorithmChoice> for Algorithm {
    fn from(choice: AlgorithmChoice) -> Self {
        match choice {
            AlgorithmChoice::ByteTrack => Algorithm::ByteTrack,
            AlgorithmChoice::Sort => Algorithm::Sort,
            AlgorithmChoice::Iou => Algorithm::Iou,
        }
    }
}

#[derive(Debug, Clone)]
struct Settings {
    algorithm: AlgorithmChoice,
    config: TrackerConfig,
    predict_skipped: bool,
    lines: String,
    zones: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            algorithm: AlgorithmChoice::default(),
            config: TrackerConfig::default(),
            predict_skipped: DEFAULT_PREDICT_SKIPPED,
            lines: String::new(),
            zones: String::new(),
        }
    }
}

/// What exists between start and stop.
struct State {
    tracker: Tracker,
    lines: Geometry<CountingLine>,
    zones: Geometry<CountingZone>,
    /// Built when the frame size is known (lines may be in fractions of it).
    counter: Option<Counter>,
    size: (u32, u32),
    frame: u64,
}

/// The `dltrack` element.
#[derive(Default)]
pub struct DlTrack {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for DlTrack {
    const NAME: &'static str = "GstDlTrack";
    type Type = super::DlTrack;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for DlTrack {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let defaults = TrackerConfig::default();
            vec![
                glib::ParamSpecEnum::builder_with_default("algorithm", AlgorithmChoice::default())
                    .nick("Algorithm")
                    .blurb("How detections are paired with tracks")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("appearance")
                    .nick("Appearance")
                    .blurb("Also match on the objects' embeddings (features tensors naming their ROI in roi-id): looks that differ veto a match, and a lost track is re-identified by looks alone after an occlusion")
                    .default_value(defaults.appearance)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("high-threshold")
                    .nick("High threshold")
                    .blurb("Detections at or above this confidence start tracks and are matched first")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(defaults.high_threshold)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("low-threshold")
                    .nick("Low threshold")
                    .blurb("Detections below this are ignored; bytetrack matches those between low and high threshold in a second stage (lower dlinfer confidence-threshold to feed it)")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(defaults.low_threshold)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("iou-threshold")
                    .nick("IoU threshold")
                    .blurb("Least overlap (intersection over union) of a track's predicted box and a detection to match them")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(defaults.iou_threshold)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("max-age")
                    .nick("Maximum age")
                    .blurb("Frames a lost track (not matched) survives before it is removed; its id is never reused")
                    .default_value(defaults.max_age)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("min-hits")
                    .nick("Minimum hits")
                    .blurb("Inferred frames with a match before a track is confirmed (tracks on the first frame are confirmed at once)")
                    .minimum(1)
                    .default_value(defaults.min_hits)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("match-class")
                    .nick("Match class")
                    .blurb("Only match detections of the track's class")
                    .default_value(defaults.match_class)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("predict-skipped")
                    .nick("Predict skipped frames")
                    .blurb("On frames the detector did not infer (inference-interval, realtime skips), add the confirmed tracks' predicted boxes as ROIs with tracking predicted=true")
                    .default_value(DEFAULT_PREDICT_SKIPPED)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("lines")
                    .nick("Counting lines")
                    .blurb("Named lines that count crossings: name:x1,y1,x2,y2;... in frame pixels, or 0..1 fractions of the frame when every number is at most 1. Crossing to the right of the line looking from (x1,y1) to (x2,y2) is 'in' (downwards for a line drawn left to right)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("zones")
                    .nick("Counting zones")
                    .blurb("Named polygons that count entries, exits and occupancy: name:x1,y1,x2,y2,x3,y3[,...];... (at least 3 corners) in pixels or 0..1 fractions")
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if refuse_while_running(self.obj().upcast_ref(), pspec) {
            return;
        }
        let mut settings = lock(&self.settings);
        let config = &mut settings.config;
        match pspec.name() {
            "algorithm" => {
                let choice: AlgorithmChoice = value.get().expect("type checked upstream");
                config.algorithm = choice.into();
                settings.algorithm = choice;
            }
            "appearance" => config.appearance = value.get().expect("type checked upstream"),
            "high-threshold" => config.high_threshold = value.get().expect("type checked upstream"),
            "low-threshold" => config.low_threshold = value.get().expect("type checked upstream"),
            "iou-threshold" => config.iou_threshold = value.get().expect("type checked upstream"),
            "max-age" => config.max_age = value.get().expect("type checked upstream"),
            "min-hits" => config.min_hits = value.get().expect("type checked upstream"),
            "match-class" => config.match_class = value.get().expect("type checked upstream"),
            "predict-skipped" => {
                settings.predict_skipped = value.get().expect("type checked upstream")
            }
            "lines" => {
                settings.lines = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_default()
            }
            "zones" => {
                settings.zones = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_default()
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        let config = &settings.config;
        match pspec.name() {
            "algorithm" => settings.algorithm.to_value(),
            "appearance" => config.appearance.to_value(),
            "high-threshold" => config.high_threshold.to_value(),
            "low-threshold" => config.low_threshold.to_value(),
            "iou-threshold" => config.iou_threshold.to_value(),
            "max-age" => config.max_age.to_value(),
            "min-hits" => config.min_hits.to_value(),
            "match-class" => config.match_class.to_value(),
            "predict-skipped" => settings.predict_skipped.to_value(),
            "lines" => settings.lines.to_value(),
            "zones" => settings.zones.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for DlTrack {}

impl ElementImpl for DlTrack {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning object tracker",
                "Filter/Analyzer/Video",
                "Gives detected objects stable ids (ByteTrack, SORT, IoU), predicts their boxes on frames not inferred, and counts line crossings and zone visits",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // Any raw video: only metas are read and written, never pixels.
            let caps = gst::Caps::builder("video/x-raw").build();
            filter_pad_templates(&caps, &caps)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for DlTrack {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        settings
            .config
            .validate()
            .map_err(|why| gst::error_msg!(gst::LibraryError::Settings, ["dltrack: {}", why]))?;
        let lines = parse_lines(&settings.lines).map_err(|err| {
            gst::error_msg!(gst::LibraryError::Settings, ["dltrack: bad {}", err])
        })?;
        let zones = parse_zones(&settings.zones).map_err(|err| {
            gst::error_msg!(gst::LibraryError::Settings, ["dltrack: bad {}", err])
        })?;
        gst::debug!(CAT, imp = self, "tracking with {:?}", settings.config);
        *lock(&self.state) = Some(State {
            tracker: Tracker::new(settings.config),
            lines,
            zones,
            counter: None,
            size: (0, 0),
            frame: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "dltrack needs raw video caps, got {incaps}"))?;
        let size = (info.width(), info.height());
        if let Some(state) = lock(&self.state).as_mut()
            && state.size != size
        {
            if state.counter.is_some() {
                gst::warning!(
                    CAT,
                    imp = self,
                    "frame size changed to {size:?}: counts restart"
                );
            }
            state.size = size;
            state.tracker.set_frame_size(size.0, size.1);
            state.counter = Some(Counter::new(
                state.lines.in_pixels(size.0, size.1),
                state.zones.in_pixels(size.0, size.1),
            ));
        }
        self.parent_set_caps(incaps, outcaps)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        // After a flushing seek the objects are elsewhere: start over (ids
        // go on, counts stay).
        if let gst::EventView::FlushStop(_) = event.view()
            && let Some(state) = lock(&self.state).as_mut()
        {
            state.tracker.forget_tracks();
            if let Some(counter) = &mut state.counter {
                counter.forget_objects();
            }
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(
        &self,
        buffer: &mut gst::BufferRef,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let predict_skipped = lock(&self.settings).predict_skipped;
        let mut guard = lock(&self.state);
        let state = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
        let (width, height) = state.size;
        let inferred = skip_reason(buffer).is_none();
        let tracks = if inferred {
            let detections = detections_for_tracking(buffer, width, height);
            let tracks = state.tracker.update(&detections);
            tag_tracked_rois(buffer, &tracks.boxes);
            tracks
        } else {
            let tracks = state.tracker.predict();
            if predict_skipped {
                for report in &tracks.boxes {
                    attach_predicted(buffer, report, width, height);
                }
            }
            tracks
        };
        let positions: Vec<TrackedPosition> = tracks
            .boxes
            .iter()
            .filter(|b| b.state == TrackState::Confirmed)
            .map(|b| TrackedPosition {
                id: b.id,
                rect: b.rect,
            })
            .collect();
        let counter = state
            .counter
            .get_or_insert_with(|| Counter::new(Vec::new(), Vec::new()));
        let events = counter.update(&positions, &tracks.removed);
        let structure = tracking_structure("dltrack", &events, counter);
        attach_tracking_meta(buffer, &structure);
        let lost = state
            .tracker
            .tracks()
            .iter()
            .filter(|t| t.state == TrackState::Lost)
            .count() as u32;
        let frame = state.frame;
        state.frame += 1;
        drop(guard);
        let mut message = structure;
        message.set("frame", frame);
        message.set("inferred", inferred);
        message.set("tracks", tracks.boxes.len() as u32);
        message.set("lost", lost);
        if let Some(pts) = buffer.pts() {
            message.set("pts", pts);
        }
        let _ = self.obj().post_message(
            gst::message::Element::builder(message)
                .src(&*self.obj())
                .build(),
        );
        Ok(gst::FlowSuccess::Ok)
    }
}
