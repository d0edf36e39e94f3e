//! A model on each detected object (`dlinfer inference-region=objects`), in
//! plain Rust: which objects a model runs on (`object-class`,
//! `object-min-size`), the frame rectangle each is cropped from
//! (`object-padding`, clipped to the frame), and gathering the crops'
//! results until their frame leaves. The element turns these into batch
//! items and metadata.

use std::collections::HashMap;
use std::fmt;

use crate::frame::{Rect, Size};
use crate::meta::{DetectedObject, ObjectClasses};

/// The largest `object-padding`: each side grows by at most the box's own
/// width or height.
pub const MAX_PADDING: f64 = 1.0;

/// What `inference-region` the model runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InferenceRegion {
    /// The whole frame (the model's results belong to the frame).
    #[default]
    Frame,
    /// Each detected object upstream elements attached as an ROI.
    Objects,
}

/// Checks an `object-padding` value: a fraction of the box in 0..=1.
pub fn check_padding(padding: f64) -> Result<f64, String> {
    if padding.is_finite() && (0.0..=MAX_PADDING).contains(&padding) {
        Ok(padding)
    } else {
        Err(format!(
            "object-padding={padding} is out of range: set a fraction of the box from 0 \
             (crop the box as detected) to {MAX_PADDING} (grow each side by the box's own size), \
             e.g. object-padding=0.2 for faces"
        ))
    }
}

/// Checks a `results-name`: it names a param structure, so it must be a
/// valid GStreamer structure name, and not one the ROI's other results use.
pub fn check_results_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "/-_.:+".contains(c));
    if !valid {
        return Err(format!(
            "results-name='{name}' is not a valid name: start with a letter, then letters,              digits or - _ . : / + (e.g. results-name=color)"
        ));
    }
    if RESERVED_RESULTS_NAMES.contains(&name) {
        return Err(format!(
            "results-name={name} is taken by the object's own {name} results: pick another \
             name (e.g. results-name=color)"
        ));
    }
    Ok(())
}

/// Param structures an object's ROI holds already.
const RESERVED_RESULTS_NAMES: [&str; 5] =
    ["detection", "tracking", "keypoints", "rotated-box", "mask"];

/// Which objects the model runs on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectFilter {
    /// Labels to run on; empty: every label.
    pub classes: Vec<String>,
    /// Objects whose shorter side is under this many pixels are skipped.
    pub min_size: u32,
}

impl ObjectFilter {
    /// A filter from `object-class` (comma-separated labels, spaces around
    /// them ignored) and `object-min-size`.
    pub fn new(object_class: &str, min_size: u32) -> Self {
        Self {
            classes: object_class
                .split(',')
                .map(str::trim)
                .filter(|label| !label.is_empty())
                .map(str::to_string)
                .collect(),
            min_size,
        }
    }

    /// Whether the model runs on `object`.
    pub fn accepts(&self, object: &DetectedObject) -> bool {
        let shorter = (object.x_max - object.x_min).min(object.y_max - object.y_min);
        (self.classes.is_empty() || self.classes.contains(&object.label))
            && shorter >= f64::from(self.min_size)
    }
}

/// The rectangle of whole frame pixels an object is cropped from: its box
/// grown by `padding` times its width (left and right) and height (top and
/// bottom), edges rounded to the nearest pixel, clipped to the frame.
/// `None` when nothing of it lies in the frame.
pub fn crop_rect(object: &DetectedObject, padding: f64, frame: Size) -> Option<Rect> {
    let (w, h) = (object.x_max - object.x_min, object.y_max - object.y_min);
    if !(w.is_finite() && h.is_finite()) || w <= 0.0 || h <= 0.0 {
        return None;
    }
    let clip = |v: f64, max: usize| v.round().clamp(0.0, max as f64) as usize;
    let x0 = clip(object.x_min - padding * w, frame.width);
    let x1 = clip(object.x_max + padding * w, frame.width);
    let y0 = clip(object.y_min - padding * h, frame.height);
    let y1 = clip(object.y_max + padding * h, frame.height);
    let rect = Rect::from_corners(x0, y0, x1, y1);
    (!rect.size().is_empty()).then_some(rect)
}

/// One object's crop, a batch item of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectCrop {
    /// The frame it is cut from (counted since start).
    pub frame: u64,
    /// The id of the object's ROI, which its results are attached to.
    pub roi_id: i32,
    /// The object's label.
    pub label: String,
    /// Where it is cut from the frame.
    pub rect: Rect,
    /// The object's track id, when a tracker gave it one.
    pub track: Option<u64>,
}

impl fmt::Display for ObjectCrop {
    /// How errors name it: `object 3 (face, 40x40 at 10,20) of frame 17`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "object {} ({}, {}x{} at {},{}) of frame {}",
            self.roi_id,
            self.label,
            self.rect.width,
            self.rect.height,
            self.rect.x,
            self.rect.y,
            self.frame
        )
    }
}

/// The crops the model runs on for frame `frame` of `size`, in ROI order:
/// the objects (with their ROI ids) `filter` accepts, padded and clipped.
/// `tracks[i]` is object i's track id, if tracked.
pub fn select_crops(
    frame: u64,
    size: Size,
    objects: &[(i32, DetectedObject)],
    tracks: &[Option<u64>],
    filter: &ObjectFilter,
    padding: f64,
) -> Vec<ObjectCrop> {
    objects
        .iter()
        .enumerate()
        .filter(|(_, (_, object))| filter.accepts(object))
        .filter_map(|(i, (roi_id, object))| {
            Some(ObjectCrop {
                frame,
                roi_id: *roi_id,
                label: object.label.clone(),
                rect: crop_rect(object, padding, size)?,
                track: tracks.get(i).copied().flatten(),
            })
        })
        .collect()
}

/// Keeps a batch of crops from waiting longer than a batch of frames would:
/// crops of at most `batch_size` consecutive frames share a batch, so a
/// frame whose objects are few leaves at most `batch_size` frames later.
#[derive(Debug)]
pub struct CropBatchSpan {
    batch_size: usize,
    crops: usize,
    first_frame: Option<u64>,
}

impl CropBatchSpan {
    /// Batches of `batch_size` crops.
    pub fn new(batch_size: usize) -> Self {
        Self {
            batch_size: batch_size.max(1),
            crops: 0,
            first_frame: None,
        }
    }

    /// A crop of frame `frame` joined the batch (which runs once full).
    pub fn crop_queued(&mut self, frame: u64) {
        self.first_frame.get_or_insert(frame);
        self.crops += 1;
        if self.crops == self.batch_size {
            self.reset();
        }
    }

    /// Whether the waiting crops must run now that frame `frame` is queued:
    /// their batch spans `batch_size` frames.
    pub fn must_run(&self, frame: u64) -> bool {
        self.first_frame
            .is_some_and(|first| frame + 1 >= first + self.batch_size as u64)
    }

    /// The waiting crops ran (or were flushed).
    pub fn reset(&mut self) {
        self.crops = 0;
        self.first_frame = None;
    }
}

/// Frames a track may go unseen before its results are forgotten.
const FORGET_AFTER_FRAMES: u64 = 1000;

/// `reclassify-interval`: a tracked object is inferred on the 1st, (N+1)th,
/// (2N+1)th... frame it is seen in, and keeps its last results in between.
/// Objects without a track id are inferred on every frame.
#[derive(Debug)]
pub struct ReclassifyMemory<R> {
    interval: u64,
    tracks: HashMap<u64, TrackMemory<R>>,
}

#[derive(Debug)]
struct TrackMemory<R> {
    /// Frames the track was seen in so far.
    seen: u64,
    /// The frame it was last seen in.
    last_frame: u64,
    /// Its latest results, once they came back.
    results: Option<R>,
}

/// What to do with an object on this frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Reclassify<R> {
    /// Run the model on it.
    Infer,
    /// Give it these results again (`None`: its results are not back yet).
    Reuse(Option<R>),
}

impl<R: Clone> ReclassifyMemory<R> {
    /// A memory for `reclassify-interval` `interval` (0 and 1: every frame).
    pub fn new(interval: u32) -> Self {
        Self {
            interval: u64::from(interval.max(1)),
            tracks: HashMap::new(),
        }
    }

    /// Decides for an object of frame `frame` with track id `track`.
    pub fn decide(&mut self, track: Option<u64>, frame: u64) -> Reclassify<R> {
        let Some(track) = track.filter(|_| self.interval > 1) else {
            return Reclassify::Infer;
        };
        let memory = self.tracks.entry(track).or_insert(TrackMemory {
            seen: 0,
            last_frame: frame,
            results: None,
        });
        let due = memory.seen.is_multiple_of(self.interval);
        memory.seen += 1;
        memory.last_frame = frame;
        if due {
            Reclassify::Infer
        } else {
            Reclassify::Reuse(memory.results.clone())
        }
    }

    /// Keeps the results a track's crop got; forgets tracks long unseen.
    pub fn remember(&mut self, track: Option<u64>, frame: u64, results: &R) {
        if self.interval <= 1 {
            return;
        }
        if let Some(memory) = track.and_then(|t| self.tracks.get_mut(&t)) {
            memory.results = Some(results.clone());
        }
        self.tracks
            .retain(|_, m| m.last_frame + FORGET_AFTER_FRAMES >= frame);
    }
}

/// One object's results, waiting for its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectResults<R> {
    /// The id of the object's ROI.
    pub roi_id: i32,
    /// What the model said about the object.
    pub results: R,
}

/// Results of crops gathered in stream order until their frame leaves:
/// crops leave the batch just before the frame they were cut from.
#[derive(Debug)]
pub struct PendingResults<R> {
    frame: Option<u64>,
    results: Vec<ObjectResults<R>>,
}

impl<R> Default for PendingResults<R> {
    fn default() -> Self {
        Self {
            frame: None,
            results: Vec::new(),
        }
    }
}

impl<R> PendingResults<R> {
    /// Keeps the results of a crop of frame `frame`.
    pub fn push(&mut self, frame: u64, roi_id: i32, results: R) {
        if self.frame != Some(frame) {
            // Crops of an earlier frame whose frame never came (a flush)
            // belong to nothing now.
            self.results.clear();
            self.frame = Some(frame);
        }
        self.results.push(ObjectResults { roi_id, results });
    }

    /// The results of frame `frame`'s crops, leaving nothing behind.
    pub fn take(&mut self, frame: u64) -> Vec<ObjectResults<R>> {
        let results = std::mem::take(&mut self.results);
        match self.frame.take() {
            Some(f) if f == frame => results,
            _ => Vec::new(),
        }
    }

    /// Forgets everything (a flush).
    pub fn clear(&mut self) {
        self.frame = None;
        self.results.clear();
    }
}

/// The text drawn beside an object's label for its second-stage classes:
/// each model's best class and score (`smiling 0.80, red 0.70`).
pub fn results_label(results: &[ObjectClasses]) -> Option<String> {
    let parts: Vec<String> = results
        .iter()
        .filter_map(|r| r.classes.first())
        .map(|best| format!("{} {:.2}", best.label, best.confidence))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(label: &str, x: f64, y: f64, w: f64, h: f64) -> DetectedObject {
        DetectedObject {
            label: label.into(),
            label_id: 0,
            confidence: 0.9,
            x_min: x,
            y_min: y,
            x_max: x + w,
            y_max: y + h,
            details: Default::default(),
        }
    }

    #[test]
    fn padding_grows_each_side_by_a_fraction_of_the_box() {
        let frame = Size::new(320, 240);
        let face = object("face", 100.0, 50.0, 40.0, 60.0);
        assert_eq!(
            crop_rect(&face, 0.0, frame),
            Some(Rect::new(100, 50, 40, 60))
        );
        // 0.25 of 40 = 10 left and right, of 60 = 15 top and bottom.
        assert_eq!(
            crop_rect(&face, 0.25, frame),
            Some(Rect::new(90, 35, 60, 90))
        );
        assert_eq!(
            crop_rect(&face, 1.0, frame),
            Some(Rect::new(60, 0, 120, 170))
        );
    }

    #[test]
    fn crops_are_clipped_to_the_frame_and_rounded_to_pixels() {
        let frame = Size::new(100, 80);
        let corner = object("car", -10.4, 70.0, 30.0, 20.0);
        assert_eq!(
            crop_rect(&corner, 0.0, frame),
            Some(Rect::new(0, 70, 20, 10))
        );
        let padded = object("car", 90.0, 0.0, 10.0, 10.0);
        assert_eq!(
            crop_rect(&padded, 0.5, frame),
            Some(Rect::new(85, 0, 15, 15))
        );
        let fractional = object("car", 10.6, 20.4, 5.2, 5.0);
        assert_eq!(
            crop_rect(&fractional, 0.0, frame),
            Some(Rect::new(11, 20, 5, 5))
        );
        // Nothing left inside the frame, or no area at all: no crop.
        assert_eq!(
            crop_rect(&object("car", 120.0, 10.0, 5.0, 5.0), 0.0, frame),
            None
        );
        assert_eq!(
            crop_rect(&object("car", 10.0, 10.0, 0.0, 5.0), 0.5, frame),
            None
        );
        assert_eq!(
            crop_rect(&object("car", 10.0, 10.0, f64::NAN, 5.0), 0.0, frame),
            None
        );
    }

    #[test]
    fn filter_keeps_listed_labels_of_the_minimum_size() {
        let filter = ObjectFilter::new(" person, car ,,", 20);
        assert_eq!(filter.classes, vec!["person", "car"]);
        assert!(filter.accepts(&object("car", 0.0, 0.0, 20.0, 30.0)));
        // The shorter side decides.
        assert!(!filter.accepts(&object("car", 0.0, 0.0, 19.9, 300.0)));
        assert!(!filter.accepts(&object("dog", 0.0, 0.0, 50.0, 50.0)));
        let all = ObjectFilter::new("", 0);
        assert!(all.classes.is_empty() && all.accepts(&object("dog", 0.0, 0.0, 1.0, 1.0)));
    }

    #[test]
    fn results_names_must_be_structure_names_of_their_own() {
        for good in ["classification", "color", "type-2", "face.id"] {
            assert_eq!(check_results_name(good), Ok(()), "{good}");
        }
        for bad in ["", "2color", "my color", "col,or"] {
            assert!(
                check_results_name(bad)
                    .unwrap_err()
                    .contains("not a valid name")
            );
        }
        assert!(
            check_results_name("detection")
                .unwrap_err()
                .contains("taken")
        );
    }

    #[test]
    fn padding_out_of_range_is_refused_with_the_range() {
        assert_eq!(check_padding(0.0), Ok(0.0));
        assert_eq!(check_padding(1.0), Ok(1.0));
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let err = check_padding(bad).unwrap_err();
            assert!(
                err.contains("out of range") && err.contains("from 0"),
                "{err}"
            );
        }
    }

    #[test]
    fn crops_keep_roi_order_and_ids_and_name_themselves() {
        let objects = vec![
            (3, object("face", 10.0, 10.0, 20.0, 20.0)),
            (5, object("hand", 40.0, 10.0, 20.0, 20.0)),
            (8, object("face", 200.0, 10.0, 20.0, 20.0)),
            (9, object("face", 60.0, 10.0, 4.0, 4.0)),
        ];
        let crops = select_crops(
            17,
            Size::new(100, 100),
            &objects,
            &[Some(40)],
            &ObjectFilter::new("face", 5),
            0.0,
        );
        // Hand filtered by class, 8 lies outside the frame, 9 is too small.
        assert_eq!(crops.len(), 1);
        assert_eq!(crops[0].track, Some(40));
        assert_eq!(
            crops[0].to_string(),
            "object 3 (face, 20x20 at 10,10) of frame 17"
        );
    }

    #[test]
    fn second_stage_labels_list_each_models_best_class() {
        use crate::meta::FrameClass;
        let class = |label: &str, confidence| FrameClass {
            label: label.into(),
            label_id: 0,
            confidence,
        };
        let results = vec![
            ObjectClasses {
                results_name: "mood".into(),
                classes: vec![class("smiling", 0.8), class("sad", 0.1)],
            },
            ObjectClasses {
                results_name: "empty".into(),
                classes: vec![],
            },
            ObjectClasses {
                results_name: "color".into(),
                classes: vec![class("red", 0.7)],
            },
        ];
        assert_eq!(
            results_label(&results).as_deref(),
            Some("smiling 0.80, red 0.70")
        );
        assert_eq!(results_label(&[]), None);
    }

    #[test]
    fn tracked_objects_are_reinferred_every_nth_frame_they_are_seen() {
        let mut memory = ReclassifyMemory::new(3);
        let mut log = Vec::new();
        for frame in 0..7 {
            let decision = memory.decide(Some(5), frame);
            if decision == Reclassify::Infer {
                memory.remember(Some(5), frame, &frame);
            }
            log.push(decision);
        }
        use Reclassify::{Infer, Reuse};
        assert_eq!(
            log,
            [
                Infer,
                Reuse(Some(0)),
                Reuse(Some(0)),
                Infer,
                Reuse(Some(3)),
                Reuse(Some(3)),
                Infer
            ]
        );
        // Untracked objects, and interval 1, infer every time.
        assert_eq!(memory.decide(None, 7), Infer);
        let mut every = ReclassifyMemory::<u64>::new(1);
        assert!((0..3).all(|f| every.decide(Some(1), f) == Infer));
        // Results not back yet: nothing to reuse.
        let mut pending = ReclassifyMemory::<u64>::new(2);
        assert_eq!(pending.decide(Some(9), 0), Infer);
        assert_eq!(pending.decide(Some(9), 1), Reuse(None));
        // A track unseen for long is forgotten and starts afresh.
        memory.remember(Some(6), 5000, &1);
        assert_eq!(memory.decide(Some(5), 5001), Infer);
    }

    #[test]
    fn a_batch_of_crops_spans_at_most_batch_size_frames() {
        let mut span = CropBatchSpan::new(3);
        assert!(!span.must_run(0));
        span.crop_queued(0);
        assert!(!span.must_run(0) && !span.must_run(1));
        // Frame 2 is the third frame the batch spans.
        assert!(span.must_run(2));
        span.reset();
        // Three crops fill the batch: it runs by itself.
        for _ in 0..3 {
            span.crop_queued(5);
        }
        assert!(!span.must_run(9));
        span.crop_queued(10);
        span.crop_queued(11);
        assert!(!span.must_run(11) && span.must_run(12));
        // Batch size 1: every crop runs at once.
        let mut single = CropBatchSpan::new(1);
        single.crop_queued(4);
        assert!(!single.must_run(4));
    }

    #[test]
    fn pending_results_go_to_their_own_frame_only() {
        let mut pending = PendingResults::default();
        pending.push(4, 0, "a");
        pending.push(4, 2, "b");
        let got: Vec<(i32, &str)> = pending
            .take(4)
            .iter()
            .map(|r| (r.roi_id, r.results))
            .collect();
        assert_eq!(got, vec![(0, "a"), (2, "b")]);
        assert!(pending.take(4).is_empty());
        // Crops of a frame that never came are not given to the next one.
        pending.push(5, 1, "stale");
        pending.push(6, 1, "fresh");
        assert_eq!(pending.take(6).len(), 1);
        pending.push(7, 0, "x");
        assert!(pending.take(8).is_empty());
        pending.push(9, 0, "y");
        pending.clear();
        assert!(pending.take(9).is_empty());
    }
}
