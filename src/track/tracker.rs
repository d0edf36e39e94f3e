//! Tracks: their life (tentative, confirmed, lost, removed), their stable
//! ids, and one frame's update. How detections pair with tracks is the
//! algorithm's part ([`bytetrack`](super::bytetrack), [`sort`](super::sort)).

use std::fmt;
use std::str::FromStr;

use super::geometry::BoxRect;
use super::iou::{MatchSubject, normalized};
use super::kalman::BoxFilter;

/// Which association the tracker runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// Kalman motion, then two stages: confident detections first, then the
    /// low-confidence ones for tracks still unmatched (ByteTrack, ECCV 2022).
    #[default]
    ByteTrack,
    /// Kalman motion, one stage of confident detections (SORT, ICIP 2016).
    Sort,
    /// No motion model: the last box, one stage of confident detections.
    Iou,
}

impl Algorithm {
    /// The name used by the `algorithm` property.
    pub fn name(self) -> &'static str {
        match self {
            Self::ByteTrack => "bytetrack",
            Self::Sort => "sort",
            Self::Iou => "iou",
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "bytetrack" => Ok(Self::ByteTrack),
            "sort" => Ok(Self::Sort),
            "iou" => Ok(Self::Iou),
            other => Err(format!(
                "unknown algorithm \"{other}\": use bytetrack, sort or iou"
            )),
        }
    }
}

/// What the `dltrack` properties set.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackerConfig {
    /// Association algorithm.
    pub algorithm: Algorithm,
    /// Also match on embeddings.
    pub appearance: bool,
    /// Detections at or above this confidence start tracks and are matched
    /// first.
    pub high_threshold: f64,
    /// Detections below this are ignored; between the two, ByteTrack's
    /// second stage uses them to keep tracks alive.
    pub low_threshold: f64,
    /// Least IoU between a track's predicted box and a detection to match.
    pub iou_threshold: f64,
    /// Frames a lost track survives before it is removed.
    pub max_age: u32,
    /// Inferred frames with a match before a track is confirmed.
    pub min_hits: u32,
    /// Only match detections of the track's class.
    pub match_class: bool,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::ByteTrack,
            appearance: false,
            high_threshold: 0.5,
            low_threshold: 0.1,
            iou_threshold: 0.2,
            max_age: 30,
            min_hits: 2,
            match_class: true,
        }
    }
}

impl TrackerConfig {
    /// Checks the thresholds, saying which is wrong and what it must be.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("high-threshold", self.high_threshold),
            ("low-threshold", self.low_threshold),
            ("iou-threshold", self.iou_threshold),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(format!(
                    "{name}={value} is out of range: it must lie in 0..1"
                ));
            }
        }
        if self.low_threshold > self.high_threshold {
            return Err(format!(
                "low-threshold={} is above high-threshold={}: the low stage takes detections between the two, so set low-threshold <= high-threshold",
                self.low_threshold, self.high_threshold
            ));
        }
        if self.min_hits == 0 {
            return Err("min-hits=0: a track needs at least 1 hit to be confirmed".into());
        }
        Ok(())
    }
}

/// One detection given to the tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Box in frame pixels.
    pub rect: BoxRect,
    /// Score in 0..1.
    pub confidence: f64,
    /// Class name (what `match-class` compares).
    pub label: String,
    /// Class id as the model numbers it (-1 when unknown).
    pub label_id: i32,
    /// The object's embedding (for `appearance`).
    pub embedding: Option<Vec<f32>>,
}

impl Detection {
    /// A detection without embedding.
    pub fn new(rect: BoxRect, confidence: f64, label: &str, label_id: i32) -> Self {
        Self {
            rect,
            confidence,
            label: label.to_string(),
            label_id,
            embedding: None,
        }
    }

    pub(super) fn subject(&self) -> MatchSubject<'_> {
        MatchSubject {
            rect: &self.rect,
            class: &self.label,
            embedding: self.embedding.as_deref(),
        }
    }
}

/// Where a track is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackState {
    /// Seen, not yet `min-hits` times: may be noise.
    Tentative,
    /// Followed and matched on the last inferred frame.
    Confirmed,
    /// Confirmed once, unmatched since; removed after `max-age` frames.
    Lost,
}

impl TrackState {
    /// The name in the `tracking` structure and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tentative => "tentative",
            Self::Confirmed => "confirmed",
            Self::Lost => "lost",
        }
    }
}

impl fmt::Display for TrackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many embeddings a track's appearance averages (exponential moving
/// average with weight 1/N for the newest, as in BoT-SORT's 0.9 momentum).
const APPEARANCE_MOMENTUM: f32 = 0.9;

/// One followed object.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    /// Stable id, unique per tracker, never reused (from 1).
    pub id: u64,
    /// Class of the detections it follows.
    pub label: String,
    /// Class id.
    pub label_id: i32,
    /// Confidence of its last detection.
    pub confidence: f64,
    /// Frames since it started.
    pub age: u64,
    /// Inferred frames it was matched on.
    pub hits: u32,
    /// Frames since its last match.
    pub frames_since_match: u32,
    /// Its state.
    pub state: TrackState,
    /// Box now: the last detection on a frame it was matched, else the
    /// motion model's prediction (or the last box, for `iou`).
    pub rect: BoxRect,
    filter: Option<BoxFilter>,
    embedding: Option<Vec<f32>>,
}

impl Track {
    pub(super) fn subject(&self) -> MatchSubject<'_> {
        MatchSubject {
            rect: &self.rect,
            class: &self.label,
            embedding: self.embedding.as_deref(),
        }
    }

    fn update(&mut self, detection: &Detection, min_hits: u32) {
        if let Some(filter) = &mut self.filter {
            // The motion model follows the whole object, not its visible
            // part: a box that shrank at once is completed from its
            // visible edge (otherwise an occluder drags the velocity).
            let observed = detection.rect.completed_to(&filter.rect());
            filter.update(&observed);
        }
        self.rect = detection.rect;
        self.confidence = detection.confidence;
        self.hits += 1;
        self.frames_since_match = 0;
        if self.state == TrackState::Lost || self.hits >= min_hits {
            self.state = TrackState::Confirmed;
        }
        if let Some(new) = detection.embedding.as_deref().and_then(normalized) {
            self.embedding = Some(match self.embedding.take() {
                Some(old) if old.len() == new.len() => normalized(
                    &old.iter()
                        .zip(&new)
                        .map(|(o, n)| APPEARANCE_MOMENTUM * o + (1.0 - APPEARANCE_MOMENTUM) * n)
                        .collect::<Vec<f32>>(),
                )
                .unwrap_or(new),
                _ => new,
            });
        }
    }
}

/// The tracker's answer for one frame, per track that has a box on it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackReport {
    /// Track id.
    pub id: u64,
    /// Frames since the track started.
    pub age: u64,
    /// Its state.
    pub state: TrackState,
    /// The box this frame.
    pub rect: BoxRect,
    /// Whether the box comes from motion, not from a detection.
    pub predicted: bool,
    /// The detection (index into the frame's detections) it was matched to.
    pub detection: Option<usize>,
    /// Class of the track.
    pub label: String,
    /// Class id of the track.
    pub label_id: i32,
    /// Confidence of its last detection.
    pub confidence: f64,
}

/// What one frame did to the tracks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameTracks {
    /// Tracks with a box this frame: every matched detection's track; on a
    /// frame not inferred, the confirmed tracks' predictions.
    pub boxes: Vec<TrackReport>,
    /// Ids of the tracks removed this frame (lost longer than `max-age`,
    /// or tentative and unmatched).
    pub removed: Vec<u64>,
}

/// Pairs of (track index, detection index) the algorithm matched, and the
/// detections that start new tracks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Association {
    /// Matched pairs.
    pub matches: Vec<(usize, usize)>,
    /// Detections that start tracks.
    pub new_tracks: Vec<usize>,
}

/// Largest coordinate (in pixels, either sign) of a detection the tracker
/// takes: far beyond any frame, and small enough that the motion model's
/// squares of sizes stay finite.
pub const MAX_COORDINATE: f64 = 1e7;

/// A multi-object tracker: feed it each frame's detections in order.
#[derive(Debug, Clone)]
pub struct Tracker {
    config: TrackerConfig,
    tracks: Vec<Track>,
    next_id: u64,
    inferred_frames: u64,
    /// The frame (width, height), when known.
    frame: Option<(f64, f64)>,
}

impl Tracker {
    /// A tracker with no tracks yet.
    pub fn new(config: TrackerConfig) -> Self {
        Self {
            config,
            tracks: Vec::new(),
            next_id: 1,
            inferred_frames: 0,
            frame: None,
        }
    }

    /// Tells the tracker the frame size: a lost track whose object left
    /// the frame then waits at the edge where it left (at rest), so that an
    /// object coming back there within `max-age` frames gets its id back,
    /// instead of its prediction running on off the frame.
    pub fn set_frame_size(&mut self, width: u32, height: u32) {
        self.frame = (width > 0 && height > 0).then(|| (f64::from(width), f64::from(height)));
    }

    /// Its configuration.
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// The tracks alive now.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// A frame the detector looked at, with what it found. Detections that
    /// cannot be tracked (NaN, zero-size, beyond [`MAX_COORDINATE`],
    /// confidence not finite) are left out.
    pub fn update(&mut self, detections: &[Detection]) -> FrameTracks {
        self.advance();
        let usable: Vec<usize> = (0..detections.len())
            .filter(|&i| {
                let d = &detections[i];
                d.rect.is_trackable()
                    && [d.rect.x_min, d.rect.y_min, d.rect.x_max, d.rect.y_max]
                        .iter()
                        .all(|v| v.abs() <= MAX_COORDINATE)
                    && d.confidence.is_finite()
                    && d.confidence >= self.config.low_threshold
            })
            .collect();
        let kept: Vec<&Detection> = usable.iter().map(|&i| &detections[i]).collect();
        let association = match self.config.algorithm {
            Algorithm::ByteTrack => super::bytetrack::associate(&self.tracks, &kept, &self.config),
            Algorithm::Sort | Algorithm::Iou => {
                super::sort::associate(&self.tracks, &kept, &self.config)
            }
        };
        let mut boxes = Vec::new();
        let mut matched = vec![false; self.tracks.len()];
        for &(t, d) in &association.matches {
            matched[t] = true;
            self.tracks[t].update(kept[d], self.config.min_hits);
            boxes.push(report(&self.tracks[t], Some(usable[d]), false));
        }
        // Tracks not matched: tentative ones die, confirmed ones are lost.
        let mut removed = Vec::new();
        let max_age = self.config.max_age;
        let mut index = 0;
        self.tracks.retain_mut(|track| {
            let was_matched = matched[index];
            index += 1;
            if was_matched {
                return true;
            }
            let keep = match track.state {
                TrackState::Tentative => false,
                _ => {
                    track.state = TrackState::Lost;
                    track.frames_since_match <= max_age
                }
            };
            if !keep {
                removed.push(track.id);
            }
            keep
        });
        let first_frame = self.inferred_frames == 0;
        for &d in &association.new_tracks {
            let detection = kept[d];
            let mut track = self.start_track(detection);
            if first_frame {
                // Nothing came before to confirm it against (as ByteTrack).
                track.state = TrackState::Confirmed;
            }
            boxes.push(report(&track, Some(usable[d]), false));
            self.tracks.push(track);
        }
        self.inferred_frames += 1;
        FrameTracks { boxes, removed }
    }

    /// A frame the detector did not look at: the tracks move on their
    /// motion, and the confirmed ones report where they should be. No track
    /// is counted as missed; lost ones still age out.
    pub fn predict(&mut self) -> FrameTracks {
        self.advance();
        let max_age = self.config.max_age;
        let mut removed = Vec::new();
        self.tracks.retain(|track| {
            let keep = track.state != TrackState::Lost || track.frames_since_match <= max_age;
            if !keep {
                removed.push(track.id);
            }
            keep
        });
        let boxes = self
            .tracks
            .iter()
            .filter(|t| t.state == TrackState::Confirmed)
            .map(|t| report(t, None, true))
            .collect();
        FrameTracks { boxes, removed }
    }

    /// Drops every track (after a seek the objects are elsewhere); ids go
    /// on from where they were, never reused.
    pub fn forget_tracks(&mut self) {
        self.tracks.clear();
        self.inferred_frames = 0;
    }

    /// Moves every track one frame on.
    fn advance(&mut self) {
        for track in &mut self.tracks {
            track.age += 1;
            track.frames_since_match = track.frames_since_match.saturating_add(1);
            if let Some(filter) = &mut track.filter {
                filter.predict();
                track.rect = filter.rect();
                if let Some((width, height)) = self.frame
                    && track.state == TrackState::Lost
                    && track.rect.center_outside(width, height)
                {
                    track.rect = track.rect.pushed_inside(width, height);
                    filter.hold_at(&track.rect);
                }
            }
        }
    }

    fn start_track(&mut self, detection: &Detection) -> Track {
        let id = self.next_id;
        self.next_id += 1;
        let filter =
            (self.config.algorithm != Algorithm::Iou).then(|| BoxFilter::new(&detection.rect));
        let mut track = Track {
            id,
            label: detection.label.clone(),
            label_id: detection.label_id,
            confidence: detection.confidence,
            age: 0,
            hits: 0,
            frames_since_match: 0,
            state: TrackState::Tentative,
            rect: detection.rect,
            filter: None,
            embedding: None,
        };
        track.update(detection, self.config.min_hits);
        track.filter = filter;
        track
    }
}

fn report(track: &Track, detection: Option<usize>, predicted: bool) -> TrackReport {
    TrackReport {
        id: track.id,
        age: track.age,
        state: track.state,
        rect: track.rect,
        predicted,
        detection,
        label: track.label.clone(),
        label_id: track.label_id,
        confidence: track.confidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, confidence: f64) -> Detection {
        Detection::new(
            BoxRect::new(x, y, x + 40.0, y + 40.0),
            confidence,
            "square",
            1,
        )
    }

    fn config(algorithm: Algorithm) -> TrackerConfig {
        TrackerConfig {
            algorithm,
            ..TrackerConfig::default()
        }
    }

    #[test]
    fn a_moving_object_keeps_its_id_with_every_algorithm() {
        for algorithm in [Algorithm::ByteTrack, Algorithm::Sort, Algorithm::Iou] {
            let mut tracker = Tracker::new(config(algorithm));
            for frame in 0..50 {
                let out = tracker.update(&[square(5.0 * f64::from(frame), 100.0, 0.9)]);
                assert_eq!(out.boxes.len(), 1, "{algorithm:?} frame {frame}");
                assert_eq!(out.boxes[0].id, 1, "{algorithm:?} frame {frame}");
                assert_eq!(out.boxes[0].state, TrackState::Confirmed);
                assert_eq!(out.boxes[0].detection, Some(0));
            }
        }
    }

    #[test]
    fn tracks_are_tentative_until_min_hits_and_ids_are_never_reused() {
        let mut tracker = Tracker::new(TrackerConfig {
            min_hits: 3,
            ..TrackerConfig::default()
        });
        assert_eq!(tracker.update(&[]).boxes.len(), 0);
        let states: Vec<TrackState> = (0..3)
            .map(|_| tracker.update(&[square(0.0, 0.0, 0.9)]).boxes[0].state)
            .collect();
        assert_eq!(
            states,
            [
                TrackState::Tentative,
                TrackState::Tentative,
                TrackState::Confirmed
            ]
        );
        // A tentative track missed once is gone; its id is not given again.
        let out = tracker.update(&[square(200.0, 200.0, 0.9)]);
        assert_eq!(out.boxes[0].id, 2);
        let out = tracker.update(&[]);
        assert_eq!(out.removed, vec![2]);
        let out = tracker.update(&[square(200.0, 200.0, 0.9)]);
        assert_eq!(out.boxes[0].id, 3);
    }

    #[test]
    fn a_lost_track_survives_max_age_frames_then_goes() {
        let mut tracker = Tracker::new(TrackerConfig {
            max_age: 5,
            ..TrackerConfig::default()
        });
        tracker.update(&[square(0.0, 0.0, 0.9)]);
        for frame in 1..=5 {
            let out = tracker.update(&[]);
            assert!(out.removed.is_empty(), "frame {frame}");
            assert_eq!(tracker.tracks()[0].state, TrackState::Lost);
        }
        assert_eq!(tracker.update(&[]).removed, vec![1]);
        // ... and one that comes back in time keeps its id.
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.update(&[square(0.0, 0.0, 0.9)]);
        tracker.update(&[]);
        tracker.update(&[]);
        let out = tracker.update(&[square(0.0, 0.0, 0.9)]);
        assert_eq!(
            (out.boxes[0].id, out.boxes[0].state),
            (1, TrackState::Confirmed)
        );
    }

    #[test]
    fn bytetrack_keeps_a_track_alive_on_low_confidence_detections_sort_does_not() {
        for (algorithm, kept) in [(Algorithm::ByteTrack, true), (Algorithm::Sort, false)] {
            let mut tracker = Tracker::new(config(algorithm));
            tracker.update(&[square(0.0, 0.0, 0.9)]);
            let out = tracker.update(&[square(2.0, 0.0, 0.2)]);
            assert_eq!(out.boxes.len(), usize::from(kept), "{algorithm:?}");
            // A low-confidence detection never starts a track.
            assert!(out.boxes.iter().all(|b| b.id == 1));
        }
    }

    #[test]
    fn skipped_frames_get_predicted_boxes_of_confirmed_tracks() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        for frame in 0..10 {
            tracker.update(&[square(4.0 * f64::from(frame), 0.0, 0.9)]);
        }
        let out = tracker.predict();
        assert_eq!(out.boxes.len(), 1);
        let b = &out.boxes[0];
        assert!(b.predicted && b.detection.is_none());
        assert!((b.rect.x_min - 40.0).abs() < 1.5, "{:?}", b.rect);
    }

    #[test]
    fn classes_only_match_their_own_kind() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.update(&[square(0.0, 0.0, 0.9)]);
        let mut other = square(0.0, 0.0, 0.9);
        other.label = "circle".into();
        let out = tracker.update(&[other.clone()]);
        assert_eq!(out.boxes[0].id, 2);
        let mut tracker = Tracker::new(TrackerConfig {
            match_class: false,
            ..TrackerConfig::default()
        });
        tracker.update(&[square(0.0, 0.0, 0.9)]);
        assert_eq!(tracker.update(&[other]).boxes[0].id, 1);
    }

    #[test]
    fn untrackable_detections_are_left_out_without_panic() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        let bad = [
            Detection::new(BoxRect::new(f64::NAN, 0.0, 1.0, 1.0), 0.9, "x", 0),
            Detection::new(BoxRect::new(5.0, 5.0, 5.0, 9.0), 0.9, "x", 0),
            Detection::new(BoxRect::new(0.0, 0.0, f64::INFINITY, 1.0), 0.9, "x", 0),
            Detection::new(BoxRect::new(0.0, 0.0, 4.0, 4.0), f64::NAN, "x", 0),
            Detection::new(BoxRect::new(0.0, 0.0, 4.0, 4.0), 0.9, "", -1),
        ];
        let out = tracker.update(&bad);
        assert_eq!(out.boxes.len(), 1);
        assert_eq!(out.boxes[0].detection, Some(4));
        tracker.predict();
    }

    /// A pseudo-random stream of plausible and hostile numbers.
    struct Hostile(u64);

    impl Hostile {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 11
        }

        fn value(&mut self) -> f64 {
            let specials = [
                f64::NAN,
                f64::INFINITY,
                -f64::INFINITY,
                0.0,
                f64::MAX,
                1e300,
                -5.0,
            ];
            match self.next() % 10 {
                0 => specials[(self.next() % 7) as usize],
                1 => f64::from_bits(self.next() << 11),
                _ => (self.next() % 400) as f64,
            }
        }
    }

    #[test]
    fn adversarial_streams_never_panic_nor_report_bad_boxes() {
        let mut rng = Hostile(7);
        for case in 0..200 {
            let mut tracker = Tracker::new(TrackerConfig {
                algorithm: [Algorithm::ByteTrack, Algorithm::Sort, Algorithm::Iou][case % 3],
                appearance: case % 2 == 0,
                min_hits: 1 + (case % 4) as u32,
                ..TrackerConfig::default()
            });
            for _ in 0..30 {
                let count = rng.next() % 12;
                let detections: Vec<Detection> = (0..count)
                    .map(|_| {
                        let rect = BoxRect::new(rng.value(), rng.value(), rng.value(), rng.value());
                        let confidence = (rng.next() % 100) as f64 / 100.0;
                        let mut d = Detection::new(rect, confidence, "square", 1);
                        d.embedding = Some(vec![rng.value() as f32, rng.value() as f32]);
                        d
                    })
                    .collect();
                let out = if rng.next().is_multiple_of(4) {
                    tracker.predict()
                } else {
                    tracker.update(&detections)
                };
                for b in &out.boxes {
                    assert!(b.rect.is_trackable(), "case {case}: {:?}", b.rect);
                }
            }
        }
    }

    #[test]
    fn a_crossing_behind_another_object_keeps_both_ids() {
        // Object 1 moves right behind object 2 moving left; the detector
        // boxes only what shows of object 1 (a shrinking, then growing
        // sliver beside object 2).
        let mut tracker = Tracker::new(TrackerConfig::default());
        for t in 0..70 {
            let (x1, x2) = (10.0 + 3.0 * f64::from(t), 270.0 - 3.0 * f64::from(t));
            let visible = if x1 + 40.0 <= x2 || x1 >= x2 + 40.0 {
                Some((x1, x1 + 40.0))
            } else if x1 < x2 {
                Some((x1, x2))
            } else {
                Some((x2 + 40.0, x1 + 40.0)).filter(|(a, b)| b > a)
            };
            let mut detections = Vec::new();
            if let Some((a, b)) = visible.filter(|(a, b)| b > a) {
                detections.push(square(a, 100.0, 0.9));
                detections[0].rect.x_max = b;
            }
            detections.push(square(x2, 100.0, 0.9));
            let out = tracker.update(&detections);
            for b in &out.boxes {
                let expected = if b.detection == Some(detections.len() - 1) {
                    2
                } else {
                    1
                };
                assert_eq!(b.id, expected, "frame {t}: {:?}", out.boxes);
            }
        }
    }

    #[test]
    fn appearance_reidentifies_an_object_that_reappears_elsewhere() {
        let with_look = |x: f64, look: [f32; 3]| {
            let mut d = square(x, 50.0, 0.9);
            d.embedding = Some(look.to_vec());
            d
        };
        for (appearance, expected_id) in [(true, 1), (false, 3)] {
            let mut tracker = Tracker::new(TrackerConfig {
                appearance,
                ..TrackerConfig::default()
            });
            for _ in 0..3 {
                tracker.update(&[
                    with_look(0.0, [1.0, 0.0, 0.0]),
                    with_look(200.0, [0.0, 1.0, 0.0]),
                ]);
            }
            for _ in 0..5 {
                tracker.update(&[with_look(200.0, [0.0, 1.0, 0.0])]);
            }
            // Object 1 comes back 100 px away from where it was lost.
            let out = tracker.update(&[
                with_look(100.0, [0.9, 0.1, 0.0]),
                with_look(200.0, [0.0, 1.0, 0.0]),
            ]);
            let back = out.boxes.iter().find(|b| b.detection == Some(0)).unwrap();
            assert_eq!(back.id, expected_id, "appearance={appearance}");
        }
    }

    #[test]
    fn an_object_back_where_it_left_the_frame_gets_its_id_back() {
        for (frame_known, expected) in [(true, 1), (false, 2)] {
            let mut tracker = Tracker::new(TrackerConfig::default());
            if frame_known {
                tracker.set_frame_size(320, 240);
            }
            // Out on the right at 4 px a frame, back 10 frames later.
            let mut x = 200.0;
            while x < 330.0 {
                tracker.update(&[Detection::new(
                    BoxRect::new(x, 60.0, (x + 40.0).min(320.0), 100.0),
                    0.9,
                    "square",
                    1,
                )]);
                x += 4.0;
            }
            for _ in 0..10 {
                tracker.update(&[]);
            }
            let out = tracker.update(&[Detection::new(
                BoxRect::new(314.0, 60.0, 320.0, 100.0),
                0.9,
                "square",
                1,
            )]);
            assert_eq!(out.boxes[0].id, expected, "frame size known: {frame_known}");
        }
    }

    #[test]
    fn forgetting_tracks_keeps_ids_unique() {
        let mut tracker = Tracker::new(TrackerConfig::default());
        tracker.update(&[square(0.0, 0.0, 0.9)]);
        tracker.forget_tracks();
        assert!(tracker.tracks().is_empty());
        let out = tracker.update(&[square(0.0, 0.0, 0.9)]);
        assert_eq!(
            (out.boxes[0].id, out.boxes[0].state),
            (2, TrackState::Confirmed)
        );
    }

    #[test]
    fn thresholds_out_of_range_are_refused() {
        let bad = |c: TrackerConfig| c.validate().unwrap_err();
        let base = TrackerConfig::default();
        assert!(
            bad(TrackerConfig {
                high_threshold: 1.5,
                ..base.clone()
            })
            .contains("high-threshold=1.5")
        );
        assert!(
            bad(TrackerConfig {
                iou_threshold: -0.1,
                ..base.clone()
            })
            .contains("iou-threshold")
        );
        assert!(
            bad(TrackerConfig {
                low_threshold: 0.8,
                high_threshold: 0.6,
                ..base.clone()
            })
            .contains("low-threshold=0.8 is above")
        );
        assert!(
            bad(TrackerConfig {
                min_hits: 0,
                ..base.clone()
            })
            .contains("min-hits")
        );
        assert!(base.validate().is_ok());
        assert_eq!("sort".parse::<Algorithm>(), Ok(Algorithm::Sort));
        assert!(
            "deepsort"
                .parse::<Algorithm>()
                .unwrap_err()
                .contains("bytetrack, sort or iou")
        );
    }
}
