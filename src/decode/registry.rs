//! Every decoder, once. The order is the order users see them in
//! (`gst-inspect-1.0`, error messages) and fixes the numbers of the
//! `decoder` property's values, so new decoders go at the end.
//!
//! `decoder=auto` asks each of them in this order; no two pick the same
//! outputs (tested below), so the order does not decide between them.

use super::decoder::DecoderKind;
use super::{
    centerface, classification, features, none, ssd, yolov5, yolov8, yolov8obb, yolov8pose,
    yolov8seg,
};

/// The registry: one line per decoder.
pub(super) const DECODERS: &[DecoderKind] = &[
    DecoderKind::new(&yolov8::DECODER),
    DecoderKind::new(&yolov5::DECODER),
    DecoderKind::new(&ssd::Ssd),
    DecoderKind::new(&centerface::CenterFace),
    DecoderKind::new(&classification::Classifier),
    DecoderKind::new(&features::FeatureVector),
    DecoderKind::new(&none::RawOutputs),
    DecoderKind::new(&yolov8seg::Yolov8Seg),
    DecoderKind::new(&yolov8pose::Yolov8Pose),
    DecoderKind::new(&yolov8obb::Yolov8Obb),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::super::DeclaredOutput;
    use super::super::decoder::AutoVerdict;
    use super::super::select::choose_decoder;
    use super::super::shape::from_declared;
    use super::*;

    fn names() -> Vec<&'static str> {
        DecoderKind::all().iter().map(DecoderKind::name).collect()
    }

    #[test]
    fn users_see_the_decoders_in_this_order() {
        assert_eq!(
            names(),
            [
                "yolov8",
                "yolov5",
                "ssd",
                "centerface",
                "classification",
                "features",
                "none",
                "yolov8seg",
                "yolov8pose",
                "yolov8obb"
            ]
        );
    }

    #[test]
    fn names_and_aliases_round_trip() {
        for &kind in DecoderKind::all() {
            assert_eq!(DecoderKind::from_name(kind.name()), Some(kind));
            assert_eq!(
                DecoderKind::from_name(&kind.name().to_ascii_uppercase()),
                Some(kind)
            );
            assert_eq!(kind.to_string(), kind.name());
            for alias in kind.aliases() {
                assert_eq!(DecoderKind::from_name(alias), Some(kind), "{alias}");
            }
        }
        assert_eq!(
            DecoderKind::from_name("yolo11").map(|kind| kind.name()),
            Some("yolov8")
        );
        assert_eq!(
            DecoderKind::from_name("yolov7").map(|kind| kind.name()),
            Some("yolov5")
        );
    }

    #[test]
    fn no_two_decoders_share_a_name_and_none_is_called_auto() {
        let mut seen = HashSet::new();
        for kind in DecoderKind::all() {
            for name in std::iter::once(&kind.name()).chain(kind.aliases()) {
                let lower = name.to_ascii_lowercase();
                assert_ne!(lower, "auto", "auto is the property's own value");
                assert!(
                    !lower.is_empty() && lower.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{name:?} must be a plain word to be a property nick"
                );
                assert!(seen.insert(lower), "{name} is taken twice");
            }
        }
    }

    #[test]
    fn every_decoder_describes_itself() {
        for kind in DecoderKind::all() {
            assert!(kind.summary().len() > 10, "{kind}");
            assert!(!kind.expects().is_empty(), "{kind}");
        }
    }

    fn fixed(name: &str, shape: &[usize]) -> DeclaredOutput {
        DeclaredOutput {
            name: name.to_owned(),
            shape: shape.iter().copied().map(Some).collect(),
        }
    }

    #[test]
    fn auto_picks_what_it_picked_before_and_never_two_decoders_at_once() {
        let centerface: Vec<DeclaredOutput> = [("537", 1), ("538", 2), ("539", 2), ("540", 10)]
            .into_iter()
            .map(|(name, channels)| DeclaredOutput {
                name: name.to_owned(),
                shape: vec![Some(1), Some(channels), None, None],
            })
            .collect();
        let cases: Vec<(Vec<DeclaredOutput>, &str)> = vec![
            (vec![fixed("output0", &[1, 84, 8400])], "yolov8"),
            (vec![fixed("output0", &[1, 8400, 5])], "yolov8"),
            (vec![fixed("output0", &[1, 25200, 85])], "yolov5"),
            (vec![fixed("output0", &[1, 8400, 84])], "yolov5"),
            (
                vec![
                    fixed("boxes", &[1, 3000, 4]),
                    fixed("scores", &[1, 3000, 21]),
                ],
                "ssd",
            ),
            (
                vec![
                    fixed("detection_boxes", &[1, 100, 4]),
                    fixed("detection_classes", &[1, 100]),
                    fixed("detection_scores", &[1, 100]),
                    fixed("num_detections", &[1]),
                ],
                "ssd",
            ),
            (centerface, "centerface"),
            (vec![fixed("prob", &[1, 1000])], "classification"),
            (vec![fixed("prob", &[1, 1, 1000])], "classification"),
            (vec![fixed("prob", &[1, 1000, 1, 1])], "classification"),
            (vec![fixed("fc1_embedding", &[1, 512])], "features"),
            (vec![fixed("Features", &[1, 128])], "features"),
        ];
        for (outputs, expected) in cases {
            let (chosen, _why) = choose_decoder(&outputs).unwrap();
            assert_eq!(chosen.name(), expected, "{outputs:?}");
            let shapes = from_declared(&outputs);
            let pickers: Vec<&str> = DecoderKind::all()
                .iter()
                .filter(|kind| matches!(kind.decoder().auto(&shapes), AutoVerdict::Pick(_)))
                .map(DecoderKind::name)
                .collect();
            assert_eq!(pickers, [expected], "{outputs:?}");
        }
    }
}
