//! Start-up decisions from the model's declared outputs: which decoder
//! `decoder=auto` picks, whether a chosen decoder fits, and how many classes
//! a labels file should list, and what the shapes fix for reading frames.
//!
//! # Automatic choice
//!
//! - One output with a single non-unit dim (`[1000]`, `[1000,1,1]`):
//!   classification, or features if its name mentions an embedding or
//!   features.
//! - One `[a, b]` output: YOLO. The attribute axis is found by the rule in
//!   the YOLO decoder's docs. Attributes first (`[84,8400]`, as ultralytics
//!   exports YOLOv8/YOLO11) means yolov8; anchors first (`[25200,85]`, as
//!   YOLOv5/v7 export) means yolov5, unless there are too few values per
//!   anchor for 5+classes. The shapes alone cannot tell the families apart
//!   (a transposed YOLOv8 output looks like YOLOv5), so the reason says how
//!   to override with `decoder=`.
//! - Two outputs `[N,4]` and `[N,classes]`: ssd.
//! - Four outputs with 1, 2, 2 and 10 channels: centerface; four outputs
//!   like TensorFlow's boxes, classes, scores and count: ssd.

use super::error::Mismatch;
use super::shape::{self, OutputShape, format_dims};
use super::yolo::{self, Axes, Orientation};
use super::{DeclaredOutput, DecodeError, DecoderKind, OutputLayout, centerface, ssd};

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
    check(kind, &shapes).map_err(|mismatch| mismatch_error(kind, mismatch, &shapes))
}

/// How many classes the model distinguishes, to check a labels file's length
/// at start; `None` when the shapes do not say (dynamic dims, TensorFlow SSD,
/// non-classifying decoders). For SSD the count includes the background
/// class, matching labels files whose first line is the background.
pub fn num_classes(kind: DecoderKind, outputs: &[DeclaredOutput]) -> Option<usize> {
    let shapes = shape::from_declared(outputs);
    match kind {
        DecoderKind::Yolov8 => yolo::num_classes(yolo::YOLOV8, &shapes),
        DecoderKind::Yolov5 => yolo::num_classes(yolo::YOLOV5, &shapes),
        DecoderKind::Ssd => ssd::num_classes(&shapes),
        DecoderKind::Centerface => centerface::check(&shapes).ok().map(|_| 1),
        DecoderKind::Classification => {
            check_classification(&shapes).ok()?;
            shapes
                .first()?
                .dims
                .iter()
                .try_fold(1usize, |product, dim| product.checked_mul((*dim)?))
        }
        DecoderKind::Features | DecoderKind::None => None,
    }
}

/// What the declared shapes fix about reading frames with `kind` (see
/// [`OutputLayout`]); call after [`validate_decoder`] or [`choose_decoder`]
/// accepted them. Shapes that fix nothing give the default: each frame
/// decides.
pub fn output_layout(kind: DecoderKind, outputs: &[DeclaredOutput]) -> OutputLayout {
    let shapes = shape::from_declared(outputs);
    let head = match kind {
        DecoderKind::Yolov8 => yolo::YOLOV8,
        DecoderKind::Yolov5 => yolo::YOLOV5,
        _ => return OutputLayout::default(),
    };
    OutputLayout {
        yolo: yolo::check(head, &shapes).ok().flatten(),
    }
}

/// What each decoder reads, for messages.
fn expected_outputs(kind: DecoderKind) -> &'static str {
    match kind {
        DecoderKind::Yolov8 => "one output shaped [4+classes, anchors] (or [anchors, 4+classes])",
        DecoderKind::Yolov5 => "one output shaped [anchors, 5+classes] (or [5+classes, anchors])",
        DecoderKind::Ssd => {
            "boxes [N,4] and scores [N,classes], or TensorFlow's boxes [N,4], classes [N], \
             scores [N] and a detection count"
        }
        DecoderKind::Centerface => {
            "4 outputs shaped [1,h,w], [2,h,w], [2,h,w] and [10,h,w] (heatmap, scale, offset, landmarks)"
        }
        DecoderKind::Classification => "a first output shaped [classes]",
        DecoderKind::Features => "at least one output",
        DecoderKind::None => "nothing",
    }
}

/// Whether `kind` can read outputs shaped like `shapes`.
pub(super) fn check(kind: DecoderKind, shapes: &[OutputShape]) -> Result<(), Mismatch> {
    match kind {
        DecoderKind::Yolov8 => yolo::check(yolo::YOLOV8, shapes).map(drop),
        DecoderKind::Yolov5 => yolo::check(yolo::YOLOV5, shapes).map(drop),
        DecoderKind::Ssd => ssd::check(shapes).map(drop),
        DecoderKind::Centerface => centerface::check(shapes).map(drop),
        DecoderKind::Classification => check_classification(shapes),
        DecoderKind::Features if shapes.is_empty() => Err(Mismatch::default()),
        DecoderKind::Features | DecoderKind::None => Ok(()),
    }
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
        expected: expected_outputs(kind),
        outputs: shape::describe(shapes),
        detail: mismatch.detail,
        hint,
    }
}

/// The first output must be a vector: at most one dim other than 1.
fn check_classification(shapes: &[OutputShape]) -> Result<(), Mismatch> {
    let first = shapes.first().ok_or_else(Mismatch::default)?;
    if is_vector(first) {
        Ok(())
    } else {
        Err(Mismatch::because(format!(
            "'{}' has more than one dimension above 1; decoder=features passes it on flattened",
            first.name
        )))
    }
}

/// At most one dim that is not known to be 1.
fn is_vector(shape: &OutputShape) -> bool {
    shape.dims.iter().filter(|&&dim| dim != Some(1)).count() <= 1
}

/// The automatic choice; `Err` holds why nothing fits.
pub(super) fn choose(shapes: &[OutputShape]) -> Result<(DecoderKind, String), String> {
    match shapes {
        [] => Err("the model has no outputs".to_owned()),
        [only] => choose_single(only),
        [_, _] => match ssd::check(shapes) {
            Ok(_) => Ok((
                DecoderKind::Ssd,
                format!(
                    "{} shaped like SSD boxes [N,4] and scores [N,classes]",
                    shape::describe(shapes)
                ),
            )),
            Err(_) => {
                Err("two outputs that are not SSD boxes [N,4] and scores [N,classes]".to_owned())
            }
        },
        [_, _, _, _] => {
            if centerface::check(shapes).is_ok() {
                Ok((
                    DecoderKind::Centerface,
                    "four maps with 1, 2, 2 and 10 channels, like CenterFace".to_owned(),
                ))
            } else if ssd::check(shapes).is_ok() {
                Ok((
                    DecoderKind::Ssd,
                    "four outputs like TensorFlow's SSD post-processing (boxes, classes, scores, count)".to_owned(),
                ))
            } else {
                Err("four outputs that match neither CenterFace's maps nor TensorFlow's SSD outputs".to_owned())
            }
        }
        _ => Err(format!("no decoder reads {} outputs", shapes.len())),
    }
}

/// The automatic choice for a model with one output.
fn choose_single(output: &OutputShape) -> Result<(DecoderKind, String), String> {
    let described = format!("one output '{}' {}", output.name, format_dims(&output.dims));
    let more_than_one_value = output.dims.iter().any(|&dim| dim != Some(1));
    if is_vector(output) && more_than_one_value {
        return Ok(
            if output.name_contains("embed") || output.name_contains("feature") {
                (
                    DecoderKind::Features,
                    format!(
                        "{described} named like a feature vector; set decoder=classification if it holds class scores"
                    ),
                )
            } else {
                (
                    DecoderKind::Classification,
                    format!(
                        "{described}, a vector of class scores; set decoder=features if it is an embedding"
                    ),
                )
            },
        );
    }
    let &[a, b] = &output.dims[..] else {
        return Err(format!(
            "{described} matches neither a detector ([attributes, anchors]) nor classification ([classes])"
        ));
    };
    match yolo::axes(
        [a, b],
        yolo::YOLOV8.min_attributes(),
        Orientation::AttributesFirst,
    ) {
        Axes::Known(Orientation::AttributesFirst) => Ok((
            DecoderKind::Yolov8,
            format!(
                "{described} laid out [4+classes, anchors] like ultralytics YOLOv8/YOLO11 exports; \
                 set decoder=yolov5 for a YOLOv5/v7 model"
            ),
        )),
        Axes::Known(Orientation::AnchorsFirst) => {
            let attributes = b;
            if attributes.is_some_and(|attributes| attributes < yolo::YOLOV5.min_attributes()) {
                Ok((
                    DecoderKind::Yolov8,
                    format!(
                        "{described} laid out [anchors, 4+classes], too few values per anchor for YOLOv5; \
                         set decoder= to override"
                    ),
                ))
            } else {
                Ok((
                    DecoderKind::Yolov5,
                    format!(
                        "{described} laid out [anchors, 5+classes] like YOLOv5/v7 exports; \
                         set decoder=yolov8 for a transposed YOLOv8/YOLO11 output"
                    ),
                ))
            }
        }
        Axes::Undecided => Err(format!(
            "{described} has both dimensions dynamic, so it may be YOLOv8 or YOLOv5 either way round"
        )),
        Axes::TooSmall => Err(format!("{described} is too small for any YOLO layout")),
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(kind, DecoderKind::Yolov8);
        assert_eq!(
            why,
            "one output 'output0' [84,8400] laid out [4+classes, anchors] like ultralytics YOLOv8/YOLO11 \
             exports; set decoder=yolov5 for a YOLOv5/v7 model"
        );
        let (kind, why) = choose_decoder(&[fixed("output0", &[1, 25200, 85])]).unwrap();
        assert_eq!(kind, DecoderKind::Yolov5);
        assert!(why.contains("decoder=yolov8"), "{why}");
        // A transposed YOLOv8 output cannot be told from YOLOv5.
        assert_eq!(
            chosen(&[fixed("output0", &[1, 8400, 84])]),
            DecoderKind::Yolov5
        );
        // ... unless it has too few attributes for YOLOv5.
        assert_eq!(
            chosen(&[fixed("output0", &[1, 8400, 5])]),
            DecoderKind::Yolov8
        );
        // Dynamic anchors.
        assert_eq!(
            chosen(&[output("output0", &[None, Some(84), None])]),
            DecoderKind::Yolov8
        );
        assert_eq!(
            chosen(&[output("output0", &[None, None, Some(85)])]),
            DecoderKind::Yolov5
        );
    }

    #[test]
    fn auto_picks_classification_or_features_for_vectors() {
        assert_eq!(
            chosen(&[fixed("logits", &[1, 1000])]),
            DecoderKind::Classification
        );
        assert_eq!(
            chosen(&[fixed("prob", &[1, 1000, 1, 1])]),
            DecoderKind::Classification
        );
        assert_eq!(
            chosen(&[output("prob", &[None, None])]),
            DecoderKind::Classification
        );
        assert_eq!(
            chosen(&[fixed("fc1_embedding", &[1, 512])]),
            DecoderKind::Features
        );
        assert_eq!(
            chosen(&[fixed("Features", &[1, 128])]),
            DecoderKind::Features
        );
    }

    #[test]
    fn auto_picks_ssd_and_centerface() {
        let (kind, why) = choose_decoder(&ssd_outputs()).unwrap();
        assert_eq!(kind, DecoderKind::Ssd);
        assert_eq!(
            why,
            "2 outputs: boxes [3000,4], scores [3000,21] shaped like SSD boxes [N,4] and scores [N,classes]"
        );
        assert_eq!(chosen(&tf_outputs()), DecoderKind::Ssd);
        assert_eq!(chosen(&centerface_outputs()), DecoderKind::Centerface);
    }

    #[test]
    fn auto_refuses_what_it_cannot_tell() {
        let error = choose_decoder(&[output("output0", &[Some(1), None, None])]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder=auto found no decoder for this model (1 output: output0 [?,?]): one output 'output0' [?,?] \
             has both dimensions dynamic, so it may be YOLOv8 or YOLOv5 either way round; \
             set decoder= to one of yolov8, yolov5, ssd, centerface, classification, features, none"
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
            (DecoderKind::Yolov8, vec![fixed("output0", &[1, 84, 8400])]),
            (
                DecoderKind::Yolov8,
                vec![output("output0", &[None, None, None])],
            ),
            (DecoderKind::Yolov5, vec![fixed("output0", &[1, 25200, 85])]),
            (DecoderKind::Yolov5, vec![fixed("output0", &[1, 84, 8400])]),
            (DecoderKind::Ssd, ssd_outputs()),
            (DecoderKind::Ssd, tf_outputs()),
            (DecoderKind::Centerface, centerface_outputs()),
            (DecoderKind::Classification, vec![fixed("prob", &[1, 1000])]),
            (
                DecoderKind::Classification,
                vec![fixed("prob", &[1, 1000]), fixed("aux", &[1, 5, 5])],
            ),
            (DecoderKind::Features, vec![fixed("map", &[1, 256, 7, 7])]),
            (DecoderKind::None, vec![]),
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
        let error = validate_decoder(DecoderKind::Yolov8, &ssd_outputs()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'yolov8' expects one output shaped [4+classes, anchors] (or [anchors, 4+classes]) \
             but the model has 2 outputs: boxes [3000,4], scores [3000,21]; try decoder=ssd"
        );
        let error =
            validate_decoder(DecoderKind::Ssd, &[fixed("output0", &[1, 84, 8400])]).unwrap_err();
        assert!(
            error.to_string().ends_with("; try decoder=yolov8"),
            "{error}"
        );
        let error = validate_decoder(DecoderKind::Centerface, &tf_outputs()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("('detection_boxes' is [100,4], not [channels,h,w])"),
            "{error}"
        );
        assert!(error.to_string().ends_with("; try decoder=ssd"), "{error}");
        let error = validate_decoder(
            DecoderKind::Classification,
            &[fixed("map", &[1, 256, 7, 7])],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "decoder 'classification' expects a first output shaped [classes] but the model has \
             1 output: map [256,7,7] ('map' has more than one dimension above 1; decoder=features passes it on flattened)"
        );
        assert!(validate_decoder(DecoderKind::Features, &[]).is_err());
        assert!(validate_decoder(DecoderKind::Classification, &[]).is_err());
    }

    #[test]
    fn class_counts_for_labels_files() {
        assert_eq!(
            num_classes(DecoderKind::Yolov8, &[fixed("output0", &[1, 84, 8400])]),
            Some(80)
        );
        assert_eq!(
            num_classes(DecoderKind::Yolov5, &[fixed("output0", &[1, 25200, 85])]),
            Some(80)
        );
        assert_eq!(num_classes(DecoderKind::Ssd, &ssd_outputs()), Some(21));
        assert_eq!(num_classes(DecoderKind::Ssd, &tf_outputs()), None);
        assert_eq!(
            num_classes(DecoderKind::Centerface, &centerface_outputs()),
            Some(1)
        );
        assert_eq!(
            num_classes(
                DecoderKind::Classification,
                &[fixed("prob", &[1, 1000, 1, 1])]
            ),
            Some(1000)
        );
        assert_eq!(
            num_classes(
                DecoderKind::Classification,
                &[output("prob", &[None, None])]
            ),
            None
        );
        assert_eq!(
            num_classes(DecoderKind::Features, &[fixed("emb", &[1, 512])]),
            None
        );
        // A decoder that does not fit has no count to offer.
        assert_eq!(num_classes(DecoderKind::Yolov8, &ssd_outputs()), None);
    }
}
