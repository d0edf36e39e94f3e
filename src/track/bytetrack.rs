//! ByteTrack's association (Zhang et al., ECCV 2022): confident detections
//! first, against every confirmed or lost track; then the low-confidence
//! detections, which SORT throws away, against the tracks still unmatched
//! that were followed until now (an occluded object's detection scores
//! drop before it vanishes); then tentative tracks against what is left.

use super::assignment::assign;
use super::iou::{MatchRule, MatchSubject, candidates};
use super::tracker::{Association, Detection, Track, TrackState, TrackerConfig};

/// Least IoU in the low-confidence stage: those detections are unreliable,
/// so they must overlap well (ByteTrack's second-stage 0.5).
const LOW_STAGE_MIN_IOU: f64 = 0.5;

/// Matches `detections` to `tracks` in ByteTrack's three stages.
pub fn associate(
    tracks: &[Track],
    detections: &[&Detection],
    config: &TrackerConfig,
) -> Association {
    let (high, low): (Vec<usize>, Vec<usize>) =
        (0..detections.len()).partition(|&d| detections[d].confidence >= config.high_threshold);
    let rule = MatchRule {
        min_iou: config.iou_threshold,
        match_class: config.match_class,
        appearance: config.appearance,
    };
    let established: Vec<usize> = (0..tracks.len())
        .filter(|&t| tracks[t].state != TrackState::Tentative)
        .collect();
    let mut matches = Vec::new();

    // Stage 1: confident detections, every established track.
    let (stage1, high_left) = match_stage(tracks, &established, detections, &high, &rule);
    matches.extend(&stage1);
    // Stage 2: low-confidence detections, tracks followed until now.
    let mut matched = vec![false; tracks.len()];
    for &(t, _) in &stage1 {
        matched[t] = true;
    }
    let unmatched: Vec<usize> = established
        .iter()
        .copied()
        .filter(|&t| !matched[t] && tracks[t].state == TrackState::Confirmed)
        .collect();
    let low_rule = MatchRule {
        min_iou: config.iou_threshold.max(LOW_STAGE_MIN_IOU),
        appearance: false,
        ..rule
    };
    let (stage2, _) = match_stage(tracks, &unmatched, detections, &low, &low_rule);
    matches.extend(&stage2);
    // Stage 3: tentative tracks, confident detections left.
    let tentative: Vec<usize> = (0..tracks.len())
        .filter(|&t| tracks[t].state == TrackState::Tentative)
        .collect();
    let (stage3, new_tracks) = match_stage(tracks, &tentative, detections, &high_left, &rule);
    matches.extend(&stage3);
    Association {
        matches,
        new_tracks,
    }
}

/// Matches the tracks `track_ids` with the detections `detection_ids`;
/// returns the matches (as indices into `tracks` and `detections`) and the
/// detections left.
pub(super) fn match_stage(
    tracks: &[Track],
    track_ids: &[usize],
    detections: &[&Detection],
    detection_ids: &[usize],
    rule: &MatchRule,
) -> (Vec<(usize, usize)>, Vec<usize>) {
    let track_subjects: Vec<(MatchSubject<'_>, bool)> = track_ids
        .iter()
        .map(|&t| (tracks[t].subject(), tracks[t].state == TrackState::Lost))
        .collect();
    let detection_subjects: Vec<MatchSubject<'_>> = detection_ids
        .iter()
        .map(|&d| detections[d].subject())
        .collect();
    let pairs = assign(
        track_ids.len(),
        detection_ids.len(),
        &candidates(&track_subjects, &detection_subjects, rule),
    );
    let matches: Vec<(usize, usize)> = pairs
        .iter()
        .map(|&(t, d)| (track_ids[t], detection_ids[d]))
        .collect();
    let mut taken = vec![false; detections.len()];
    for &(_, d) in &matches {
        taken[d] = true;
    }
    let left = detection_ids
        .iter()
        .copied()
        .filter(|&d| !taken[d])
        .collect();
    (matches, left)
}
