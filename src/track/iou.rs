//! Match costs between tracks and detections: overlap (IoU), and for
//! `appearance=true` the cosine distance of embeddings (DeepSORT's gate).

use super::assignment::Candidate;
use super::geometry::BoxRect;

/// Largest cosine distance at which two embeddings can be the same object
/// (DeepSORT's `max_cosine_distance` default is 0.2; 0.3 tolerates the pose
/// changes of a short occlusion).
pub const APPEARANCE_GATE: f64 = 0.3;

/// What a match stage compares of one side (track or detection).
#[derive(Debug, Clone, Copy)]
pub struct MatchSubject<'a> {
    /// Where it is (a track's predicted box).
    pub rect: &'a BoxRect,
    /// Its class, when classes must agree.
    pub class: &'a str,
    /// Its unit-length embedding, if any.
    pub embedding: Option<&'a [f32]>,
}

/// How a stage decides which pairs may match.
#[derive(Debug, Clone, Copy)]
pub struct MatchRule {
    /// Least IoU for a match on overlap.
    pub min_iou: f64,
    /// Only pairs of the same class.
    pub match_class: bool,
    /// Use embeddings: they veto pairs that look different, and let tracks
    /// that lost overlap (`may_reidentify`) match on appearance alone.
    pub appearance: bool,
}

/// Cosine distance (1 - cosine similarity) of two unit-length embeddings;
/// `None` when their lengths differ or a value is not finite.
pub fn cosine_distance(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    dot.is_finite().then(|| (1.0 - dot).clamp(0.0, 2.0))
}

/// Scales `v` to unit length; `None` for a zero or non-finite vector.
pub fn normalized(v: &[f32]) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    (norm.is_finite() && norm > 0.0)
        .then(|| v.iter().map(|x| (f64::from(*x) / norm) as f32).collect())
}

/// Every pair that passes `rule`, with its cost: `1 - IoU` for an overlap
/// match (blended half and half with the cosine distance when both have
/// embeddings), and `1 + distance` for a match on appearance alone (only
/// for tracks with `may_reidentify`), so overlap always wins over looks.
pub fn candidates(
    tracks: &[(MatchSubject<'_>, bool)],
    detections: &[MatchSubject<'_>],
    rule: &MatchRule,
) -> Vec<Candidate> {
    // Detections by left edge: a track is only compared with those whose
    // horizontal extent can meet its own (with room for a partly hidden
    // box's completion), so 1000 objects are not 10^6 comparisons.
    let mut by_left: Vec<usize> = (0..detections.len()).collect();
    by_left.sort_by(|&a, &b| {
        detections[a]
            .rect
            .x_min
            .total_cmp(&detections[b].rect.x_min)
    });
    let widest = detections
        .iter()
        .map(|d| d.rect.width())
        .filter(|w| w.is_finite())
        .fold(0.0, f64::max);
    let mut out = Vec::new();
    for (t, (track, may_reidentify)) in tracks.iter().enumerate() {
        let everywhere = rule.appearance && *may_reidentify && track.embedding.is_some();
        let margin = 0.1 * track.rect.width() + 2.0;
        let (from, to) = if everywhere {
            (0, by_left.len())
        } else {
            let left = track.rect.x_min - margin - widest;
            let right = track.rect.x_max + margin;
            (
                by_left.partition_point(|&d| detections[d].rect.x_min < left),
                by_left.partition_point(|&d| detections[d].rect.x_min < right),
            )
        };
        for &d in by_left.get(from..to.max(from)).unwrap_or_default() {
            if let Some(cost) = pair_cost(track, &detections[d], *may_reidentify, rule) {
                out.push(Candidate {
                    track: t,
                    detection: d,
                    cost,
                });
            }
        }
    }
    out
}

/// The cost of matching `track` with `det`, if the rule allows it.
fn pair_cost(
    track: &MatchSubject<'_>,
    det: &MatchSubject<'_>,
    may_reidentify: bool,
    rule: &MatchRule,
) -> Option<f64> {
    if rule.match_class && track.class != det.class {
        return None;
    }
    let distance = if rule.appearance {
        match (track.embedding, det.embedding) {
            (Some(a), Some(b)) => cosine_distance(a, b),
            _ => None,
        }
    } else {
        None
    };
    if distance.is_some_and(|d| d > APPEARANCE_GATE) {
        return None;
    }
    // A partly hidden object's box is its visible part: compared completed
    // to the track's size, so that the track keeps it.
    let iou = track
        .rect
        .iou(det.rect)
        .max(track.rect.iou(&det.rect.completed_to(track.rect)));
    if iou >= rule.min_iou && iou > 0.0 {
        Some(match distance {
            Some(distance) => 0.5 * (1.0 - iou) + 0.5 * distance,
            None => 1.0 - iou,
        })
    } else if let (Some(distance), true) = (distance, may_reidentify) {
        Some(1.0 + distance)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(rect: &'a BoxRect, embedding: Option<&'a [f32]>) -> MatchSubject<'a> {
        MatchSubject {
            rect,
            class: "square",
            embedding,
        }
    }

    #[test]
    fn overlap_below_the_threshold_is_no_candidate() {
        let t = BoxRect::new(0.0, 0.0, 10.0, 10.0);
        let near = BoxRect::new(2.0, 0.0, 12.0, 10.0);
        let far = BoxRect::new(8.0, 0.0, 18.0, 10.0);
        let rule = MatchRule {
            min_iou: 0.3,
            match_class: true,
            appearance: false,
        };
        let c = candidates(
            &[(subject(&t, None), true)],
            &[subject(&near, None), subject(&far, None)],
            &rule,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].detection, 0);
        assert!((c[0].cost - (1.0 - 80.0 / 120.0)).abs() < 1e-12);
    }

    #[test]
    fn pruning_by_position_finds_every_pair_a_full_comparison_finds() {
        let mut seed = 5u64;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) % n) as f64
        };
        let rect = |next: &mut dyn FnMut(u64) -> f64| {
            let (x, y) = (next(600), next(400));
            BoxRect::new(x, y, x + 5.0 + next(80), y + 5.0 + next(80))
        };
        let tracks: Vec<BoxRect> = (0..150).map(|_| rect(&mut next)).collect();
        let dets: Vec<BoxRect> = (0..150).map(|_| rect(&mut next)).collect();
        let rule = MatchRule {
            min_iou: 0.05,
            match_class: true,
            appearance: false,
        };
        let t: Vec<(MatchSubject<'_>, bool)> =
            tracks.iter().map(|r| (subject(r, None), false)).collect();
        let d: Vec<MatchSubject<'_>> = dets.iter().map(|r| subject(r, None)).collect();
        let mut pruned: Vec<(usize, usize)> = candidates(&t, &d, &rule)
            .iter()
            .map(|c| (c.track, c.detection))
            .collect();
        pruned.sort_unstable();
        let mut full = Vec::new();
        for (i, track) in t.iter().enumerate() {
            for (j, det) in d.iter().enumerate() {
                if pair_cost(&track.0, det, false, &rule).is_some() {
                    full.push((i, j));
                }
            }
        }
        assert!(full.len() > 50, "the case has pairs: {}", full.len());
        assert_eq!(pruned, full);
    }

    #[test]
    fn classes_must_agree_when_asked() {
        let t = BoxRect::new(0.0, 0.0, 10.0, 10.0);
        let track = MatchSubject {
            rect: &t,
            class: "car",
            embedding: None,
        };
        let det = MatchSubject {
            rect: &t,
            class: "person",
            embedding: None,
        };
        let mut rule = MatchRule {
            min_iou: 0.3,
            match_class: true,
            appearance: false,
        };
        assert!(candidates(&[(track, false)], &[det], &rule).is_empty());
        rule.match_class = false;
        assert_eq!(candidates(&[(track, false)], &[det], &rule).len(), 1);
    }

    #[test]
    fn appearance_vetoes_and_reidentifies() {
        let t = BoxRect::new(0.0, 0.0, 10.0, 10.0);
        let elsewhere = BoxRect::new(100.0, 0.0, 110.0, 10.0);
        let a = normalized(&[1.0, 0.0]).unwrap();
        let b = normalized(&[0.0, 1.0]).unwrap();
        let a2 = normalized(&[1.0, 0.1]).unwrap();
        let rule = MatchRule {
            min_iou: 0.3,
            match_class: true,
            appearance: true,
        };
        // Same place, different look: vetoed.
        assert!(
            candidates(
                &[(subject(&t, Some(&a)), true)],
                &[subject(&t, Some(&b))],
                &rule
            )
            .is_empty()
        );
        // Elsewhere, same look: a lost track re-identifies, a tracked one does not.
        let lost = candidates(
            &[(subject(&t, Some(&a)), true)],
            &[subject(&elsewhere, Some(&a2))],
            &rule,
        );
        assert_eq!(lost.len(), 1);
        assert!(lost[0].cost > 1.0);
        assert!(
            candidates(
                &[(subject(&t, Some(&a)), false)],
                &[subject(&elsewhere, Some(&a2))],
                &rule
            )
            .is_empty()
        );
        assert_eq!(normalized(&[0.0, 0.0]), None);
        assert_eq!(cosine_distance(&a, &[1.0]), None);
    }
}
