//! Start-up decisions from the model's declared outputs: which decoder
//! `decoder=auto` picks, whether a chosen decoder fits, how many classes a
//! labels file should list, and what the shapes fix for reading frames.
//! Each asks the decoders themselves ([`super::decoder::Decoder`]).
//!
//! # Automatic choice
//!
//! Every decoder in the registry is asked; the one that picks the outputs
//! (and whose check passes) is chosen, with its reason for the log. No two
//! decoders pick the same outputs. In short:
//!
//! - One output with a single non-unit dim (`[1000]`, `[1000,1,1]`):
//!   classification, or features if its name mentions an embedding or
//!   features.
//! - One `[a, b]` output: YOLO, yolov8 or yolov5 by layout (see `yolo.rs`).
//! - Two outputs `[N,4]` and `[N,classes]`: ssd.
//! - Four outputs with 1, 2, 2 and 10 channels: centerface; four outputs
//!   like TensorFlow's boxes, classes, scores and count: ssd.
//!
//! When none picks them, the error gives the doubts of the decoders whose
//! kind of outputs they resemble.

use super::decoder::AutoVerdict;
use super::error::Mismatch;
use super::shape::{self, OutputShape, format_dims};
use super::{DeclaredOutput, DecodeError, DecoderKind, OutputLayout};

/// Picks the decoder for `decoder=auto` from the model's declared outputs.
/// Returns the decoder and a sentence for the log saying why, including how
/// to override it.
///
/// # Errors
///
/// [`DecodeError::NoAutoDecoder`] when no decoder fits, or the shapes leave
/// it open (a single `[?, ?]` output).
pub fn choose_decoder(outputs: &[DeclaredOutput]) -> Result<(DecoderKind, String), DecodeError> {
    let shapes = shape::from_declared(outputs);
    choose(&shapes).map_err(|reason| DecodeError::NoAutoDecoder {
        outputs: shape::describe(&shapes),
        reason,
    })
}

/// Checks at start that `kind` can read outputs shaped like these. Dynamic
/// dims pass here and are checked again on every frame.
///
/// Classification and features read the first output, so extra outputs are
/// allowed for them.
///
/// # Errors
///
/// [`DecodeError::Mismatch`], saying what `kind` expects, what the model has
/// and, when `decoder=auto` would pick another decoder, which one.
pub fn validate_decoder(kind: DecoderKind, outputs: &[DeclaredOutput]) -> Result<(), DecodeError> {
    let shapes = shape::from_declared(outputs);
    kind.decoder()
        .check(&shapes)
        .map_err(|mismatch| mismatch_error(kind, mismatch, &shapes))
}

/// How many classes the model distinguishes, to check a labels file's length
/// at start; `None` when the shapes do not say (dynamic dims, TensorFlow SSD,
/// non-classifying decoders). For SSD the count includes the background
/// class, matching labels files whose first line is the background.
pub fn num_classes(kind: DecoderKind, outputs: &[DeclaredOutput]) -> Option<usize> {
    kind.decoder().num_classes(&shape::from_declared(outputs))
}

/// What the declared shapes fix about reading frames with `kind` (see
/// [`OutputLayout`]); call after [`validate_decoder`] or [`choose_decoder`]
/// accepted them. Shapes that fix nothing give the default: each frame
/// decides.
pub fn output_layout(kind: DecoderKind, outputs: &[DeclaredOutput]) -> OutputLayout {
    kind.decoder().layout(&shape::from_declared(outputs))
}

/// Turns a decoder's mismatch into the user-facing error, suggesting the
/// decoder `auto` would pick instead.
pub(super) fn mismatch_error(
    kind: DecoderKind,
    mismatch: Mismatch,
    shapes: &[OutputShape],
) -> DecodeError {
    let hint = choose(shapes)
        .ok()
        .map(|(hint, _)| hint)
        .filter(|&hint| hint != kind);
    DecodeError::Mismatch {
        decoder: kind,
        expected: kind.expects(),
        outputs: shape::describe(shapes),
        detail: mismatch.detail,
        hint,
    }
}

/// The automatic choice; `Err` holds why nothing fits.
fn choose(shapes: &[OutputShape]) -> Result<(DecoderKind, String), String> {
    if shapes.is_empty() {
        return Err("the model has no outputs".to_owned());
    }
    let mut doubts: Vec<String> = Vec::new();
    for &kind in DecoderKind::all() {
        match kind.decoder().auto(shapes) {
            // A pick the decoder's own check refuses would fail right after.
            AutoVerdict::Pick(why) if kind.decoder().check(shapes).is_ok() => {
                return Ok((kind, why));
            }
            AutoVerdict::Pick(_) | AutoVerdict::Pass => {}
            AutoVerdict::Doubt(why) => {
                if !doubts.contains(&why) {
                    doubts.push(why);
                }
            }
        }
    }
    if !doubts.is_empty() {
        return Err(doubts.join("; "));
    }
    Err(match shapes {
        [only] => format!(
            "no decoder reads one output shaped {}",
            format_dims(&only.dims)
        ),
        _ => format!("no decoder reads {} outputs", shapes.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::super::decoder_named;
    use super::*;

    fn output(name: &str, shape: &[Option<usize>]) -> DeclaredOutput {
        DeclaredOutput {
            name: name.to_owned(),
            shape: shape.to_vec(),
        }
    }

    fn fixed(name: &str, shape: &[usize]) -> DeclaredOutput {
        output(name, &shape.iter().copied().map(Some).collect::<Vec<_>>())
    }

    fn chosen(outputs: &[DeclaredOutput]) -> DecoderKind {
        choose_decoder(outputs).unwrap().0
    }

    fn ssd_outputs() -> Vec<DeclaredOutput> {
        vec![
            fixed("boxes", &[1, 3000, 4]),
            fixed("scores", &[1, 3000, 21]),
        ]
    }

    fn tf_outputs() -> Vec<DeclaredOutput> {
        vec![
            fixed("detection_boxes", &[1, 100, 4]),
            fixed("detection_classes", &[1, 100]),
            fixed("detection_scores", &[1, 100]),
            fixed("num_detections", &[1]),
        ]
    }

    fn centerface_outputs() -> Vec<DeclaredOutput> {
        [("537", 1), ("538", 2), ("539", 2), ("540", 10)]
            .into_iter()
            .map(|(name, channels)| output(name, &[Some(1), Some(channels), None, None]))
            .collect()
    }

    #[test]
    fn auto_picks_yolo_by_layout() {
        let (kind, why) = choose_decoder(&[fixed("output0", &[1, 84, 8400])]).unwrap();
        assert_eq!(kind, decoder_named("yolov8"));
        assert_eq!(
            why,
            "one output 'output0' [84,8400] laid out [4+classes, anchors] like ultralytics YOLOv8/YOLO11 \
             exports; set decoder=yolov5 for a YOLOv5/v7 model"
        );
        let (kind, why) = choose_decoder(&[fixed("output0", &[1, 25200, 85])]).unwrap();
        assert_eq!(kind, decoder_named("yolov5"));
        assert!(why.contains("decoder=yolov8"), "{why}");
        // A transposed YOLOv8 output cannot be told from YOLOv5.
        assert_eq!(
            chosen(&[fixed("output0", &[1, 8400, 84])]),
            decoder_named("yolov5")
        );
        // ... unless it has too few attributes for YOLOv5.
        assert_eq!(
            chosen(&[fixed("output0", &[1, 8400, 5])]),
            decoder_named("yolov8")
        );
        // Dynamic anchors.
        assert_eq!(
            chosen(&[output("output0", &[None, Some(84), None])]),
            decoder_named("yolov8")
        );
        assert_eq!(
            chosen(&[output("output0", &[None, None, Some(85)])]),
            decoder_named("yolov5")
        );
    }

    #[test]
    fn auto_picks_classification_or_features_for_vectors() {
        assert_eq!(
            chosen(&[fixed("logits", &[1, 1000])]),
            decoder_named("classification")
        );
        assert_eq!(
            chosen(&[fixed("prob", &[1, 1000, 1, 1])]),
            decoder_named("classification")
        );
        assert_eq!(
            chosen(&[output("prob", &[None, None])]),
            decoder_named("classification")
        );
        assert_eq!(
            chosen(&[fixed("fc1_embedding", &[1, 512])]),
            decoder_named("features")
        );
        assert_eq!(
            chosen(&[fixed("Features", &[1, 128])]),
            decoder_named("features")
        );
    }

    #[test]
    fn auto_picks_ssd_and_centerface() {
        let (kind, why) = choose_decoder(&ssd_outputs()).unwrap();
        assert_eq!(kind, decoder_named("ssd"));
        assert_eq!(
            why,
            "2 outputs: boxes [3000,4], scores [3000,21] shaped like SSD boxes [N,4] and scores [N,classes]"
        );
        assert_eq!(chosen(&tf_outputs()), decoder_named("ssd"));
        assert_eq!(chosen(&centerface_outputs()), decoder_named("centerface"));
    }

    #[test]
    fn auto_refuses_what_it_cannot_tell() {
        let error = choose_decoder(&[output("output0", &[Some(1), None, None])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder=auto found no decoder for this model (1 output: output0 [?,?]): one output 'output0' [?,?] \
             has both dimensions dynamic, so it may be YOLOv8 or YOLOv5 either way round; \
             set decoder= to one of yolov8, yolov5, ssd, centerface, classification, features, none, yolov8seg, yolov8pose, yolov8obb"
        );
        let error = choose_decoder(&[]).unwrap_err();
        assert!(error.to_string().contains("no outputs"), "{error}");
        let three = [
            fixed("a", &[1, 2]),
            fixed("b", &[1, 2]),
            fixed("c", &[1, 2]),
        ];
        assert!(
            choose_decoder(&three)
                .unwrap_err()
                .to_string()
                .contains("no decoder reads 3 outputs")
        );
        let segmentation = [fixed("out", &[1, 21, 520, 520])];
        assert!(choose_decoder(&segmentation).is_err());
        assert!(choose_decoder(&[fixed("scalar", &[1, 1])]).is_err());
        assert!(choose_decoder(&[fixed("a", &[1, 5, 4]), fixed("b", &[1, 5, 4, 4])]).is_err());
        let four = [
            fixed("a", &[1, 2]),
            fixed("b", &[1, 2]),
            fixed("c", &[1, 2]),
            fixed("d", &[1, 2]),
        ];
        assert!(choose_decoder(&four).is_err());
    }

    #[test]
    fn validation_accepts_fitting_outputs() {
        let cases: Vec<(DecoderKind, Vec<DeclaredOutput>)> = vec![
            (
                decoder_named("yolov8"),
                vec![fixed("output0", &[1, 84, 8400])],
            ),
            (
                decoder_named("yolov8"),
                vec![output("output0", &[None, None, None])],
            ),
            (
                decoder_named("yolov5"),
                vec![fixed("output0", &[1, 25200, 85])],
            ),
            (
                decoder_named("yolov5"),
                vec![fixed("output0", &[1, 84, 8400])],
            ),
            (decoder_named("ssd"), ssd_outputs()),
            (decoder_named("ssd"), tf_outputs()),
            (decoder_named("centerface"), centerface_outputs()),
            (
                decoder_named("classification"),
                vec![fixed("prob", &[1, 1000])],
            ),
            (
                decoder_named("classification"),
                vec![fixed("prob", &[1, 1000]), fixed("aux", &[1, 5, 5])],
            ),
            (
                decoder_named("features"),
                vec![fixed("map", &[1, 256, 7, 7])],
            ),
            (decoder_named("none"), vec![]),
        ];
        for (kind, outputs) in cases {
            assert_eq!(
                validate_decoder(kind, &outputs),
                Ok(()),
                "{kind} {outputs:?}"
            );
        }
    }

    #[test]
    fn validation_explains_and_suggests() {
        let error = validate_decoder(decoder_named("yolov8"), &ssd_outputs()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'yolov8' expects one output shaped [4+classes, anchors] (or [anchors, 4+classes]) \
             but the model has 2 outputs: boxes [3000,4], scores [3000,21]; try decoder=ssd"
        );
        let error = validate_decoder(decoder_named("ssd"), &[fixed("output0", &[1, 84, 8400])])
            .unwrap_err();
        assert!(
            error.to_string().ends_with("; try decoder=yolov8"),
            "{error}"
        );
        let error = validate_decoder(decoder_named("centerface"), &tf_outputs()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("('detection_boxes' is [100,4], not [channels,h,w])"),
            "{error}"
        );
        assert!(error.to_string().ends_with("; try decoder=ssd"), "{error}");
        let error = validate_decoder(
            decoder_named("classification"),
            &[fixed("map", &[1, 256, 7, 7])],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'classification' expects a first output shaped [classes] but the model has \
             1 output: map [256,7,7] ('map' has more than one dimension above 1; decoder=features passes it on flattened)"
        );
        assert!(validate_decoder(decoder_named("features"), &[]).is_err());
        assert!(validate_decoder(decoder_named("classification"), &[]).is_err());
    }

    #[test]
    fn class_counts_for_labels_files() {
        assert_eq!(
            num_classes(decoder_named("yolov8"), &[fixed("output0", &[1, 84, 8400])]),
            Some(80)
        );
        assert_eq!(
            num_classes(
                decoder_named("yolov5"),
                &[fixed("output0", &[1, 25200, 85])]
            ),
            Some(80)
        );
        assert_eq!(num_classes(decoder_named("ssd"), &ssd_outputs()), Some(21));
        assert_eq!(num_classes(decoder_named("ssd"), &tf_outputs()), None);
        assert_eq!(
            num_classes(decoder_named("centerface"), &centerface_outputs()),
            Some(1)
        );
        assert_eq!(
            num_classes(
                decoder_named("classification"),
                &[fixed("prob", &[1, 1000, 1, 1])]
            ),
            Some(1000)
        );
        assert_eq!(
            num_classes(
                decoder_named("classification"),
                &[output("prob", &[None, None])]
            ),
            None
        );
        assert_eq!(
            num_classes(decoder_named("features"), &[fixed("emb", &[1, 512])]),
            None
        );
        // A decoder that does not fit has no count to offer.
        assert_eq!(num_classes(decoder_named("yolov8"), &ssd_outputs()), None);
    }

    #[test]
    fn auto_explains_near_misses_with_each_decoders_doubt() {
        let four = [
            fixed("a", &[1, 2]),
            fixed("b", &[1, 2]),
            fixed("c", &[1, 2]),
            fixed("d", &[1, 2]),
        ];
        assert_eq!(
            choose_decoder(&four).unwrap_err().to_string(),
            "decoder=auto found no decoder for this model (4 outputs: a [2], b [2], c [2], d [2]): \
             four outputs that are not TensorFlow's SSD outputs (boxes, classes, scores, count); \
             four outputs that are not CenterFace's maps with 1, 2, 2 and 10 channels; \
             set decoder= to one of yolov8, yolov5, ssd, centerface, classification, features, none, yolov8seg, yolov8pose, yolov8obb"
        );
        let error = choose_decoder(&[fixed("out", &[1, 21, 520, 520])]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("): no decoder reads one output shaped [21,520,520]; "),
            "{error}"
        );
        let error = choose_decoder(&[fixed("output0", &[1, 3, 4])]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("one output 'output0' [3,4] is too small for any YOLO layout"),
            "{error}"
        );
    }
}
