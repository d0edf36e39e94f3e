//! SORT's association (Bewley et al., ICIP 2016), also used by `iou` (the
//! same without a motion model): one stage, confident detections only,
//! every track against every detection by IoU, solved optimally.

use super::bytetrack::match_stage;
use super::iou::MatchRule;
use super::tracker::{Association, Detection, Track, TrackerConfig};

/// Matches confident `detections` to `tracks` in one stage.
pub fn associate(
    tracks: &[Track],
    detections: &[&Detection],
    config: &TrackerConfig,
) -> Association {
    let high: Vec<usize> = (0..detections.len())
        .filter(|&d| detections[d].confidence >= config.high_threshold)
        .collect();
    let all: Vec<usize> = (0..tracks.len()).collect();
    let rule = MatchRule {
        min_iou: config.iou_threshold,
        match_class: config.match_class,
        appearance: config.appearance,
    };
    let (matches, new_tracks) = match_stage(tracks, &all, detections, &high, &rule);
    Association {
        matches,
        new_tracks,
    }
}
