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
    let mut out = Vec::new();
    for (t, (track, may_reidentify)) in tracks.iter().enumerate() {
        for (d, det) in detections.iter().enumerate() {
            if rule.match_class && track.class != det.class {
                continue;
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
                continue;
            }
            // A partly hidden object's box is its visible part: compared
            // completed to the track's size, so that the track keeps it.
            let iou = track
                .rect
                .iou(det.rect)
                .max(track.rect.iou(&det.rect.completed_to(track.rect)));
            let cost = if iou >= rule.min_iou && iou > 0.0 {
                match distance {
                    Some(distance) => 0.5 * (1.0 - iou) + 0.5 * distance,
                    None => 1.0 - iou,
                }
            } else if let (Some(distance), true) = (distance, *may_reidentify) {
                1.0 + distance
            } else {
                continue;
            };
            out.push(Candidate {
                track: t,
                detection: d,
                cost,
            });
        }
    }
    out
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
