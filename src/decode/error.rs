//! What can go wrong when choosing or running a decoder, worded for the
//! person who configured the pipeline.

use std::error::Error;
use std::fmt;

use super::DecoderKind;
use super::shape::format_dims;

/// Why a decoder cannot be chosen or cannot read a model's outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The outputs do not have the shapes `decoder` reads.
    Mismatch {
        /// The decoder that was asked for.
        decoder: DecoderKind,
        /// What that decoder reads, e.g. `one output shaped [4+classes, anchors]`.
        expected: &'static str,
        /// The outputs as found, e.g. `2 outputs: boxes [3000,4], scores [3000,21]`.
        outputs: String,
        /// What exactly does not fit, when there is more to say than the shapes.
        detail: Option<String>,
        /// A decoder that does fit these outputs, if `decoder=auto` finds one.
        hint: Option<DecoderKind>,
    },
    /// `decoder=auto` could not tell which decoder reads these outputs.
    NoAutoDecoder {
        /// The outputs as found.
        outputs: String,
        /// Why none fits.
        reason: String,
    },
    /// A tensor holds a different number of values than its shape says (a
    /// runtime bug rather than a model or configuration problem).
    DataLength {
        /// The output's name.
        output: String,
        /// Its per-frame shape.
        shape: Vec<usize>,
        /// How many values it holds.
        len: usize,
    },
    /// Detections were asked of a decoder that does not produce boxes.
    NotADetector(DecoderKind),
    /// `output-name` names an output the model does not have.
    NoOutputNamed {
        /// The name asked for.
        wanted: String,
        /// The names the model's outputs have.
        outputs: Vec<String>,
    },
    /// The decoder reads an output and the model produced none.
    NoOutputs,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Mismatch {
                decoder,
                expected,
                outputs,
                detail,
                hint,
            } => {
                write!(
                    f,
                    "decoder '{decoder}' expects {expected} but the model has {outputs}"
                )?;
                if let Some(detail) = detail {
                    write!(f, " ({detail})")?;
                }
                match hint {
                    Some(hint) => write!(f, "; try decoder={hint}"),
                    None => Ok(()),
                }
            }
            DecodeError::NoAutoDecoder { outputs, reason } => {
                let names = decoder_names(|_| true);
                write!(
                    f,
                    "decoder=auto found no decoder for this model ({outputs}): {reason}; \
                     set decoder= to one of {names}"
                )
            }
            DecodeError::DataLength { output, shape, len } => {
                let dims: Vec<Option<usize>> = shape.iter().copied().map(Some).collect();
                write!(
                    f,
                    "output '{output}' holds {len} values but its shape {}",
                    format_dims(&dims)
                )?;
                match shape
                    .iter()
                    .try_fold(1usize, |product, &dim| product.checked_mul(dim))
                {
                    Some(needed) => write!(f, " needs {needed}"),
                    None => write!(f, " is too large to address"),
                }
            }
            DecodeError::NotADetector(kind) => write!(
                f,
                "decoder '{kind}' does not produce boxes; detection needs one of {}",
                decoder_names(DecoderKind::is_detector)
            ),
            DecodeError::NoOutputNamed { wanted, outputs } => write!(
                f,
                "the model has no output named '{wanted}'; its outputs are: {}",
                outputs.join(", ")
            ),
            DecodeError::NoOutputs => f.write_str("the model produced no outputs"),
        }
    }
}

/// The names of the registered decoders that `keep`, as a list for messages.
fn decoder_names(keep: impl Fn(&DecoderKind) -> bool) -> String {
    let names: Vec<&str> = DecoderKind::all()
        .iter()
        .filter(|kind| keep(kind))
        .map(DecoderKind::name)
        .collect();
    names.join(", ")
}

impl Error for DecodeError {}

/// A decoder's finding that outputs do not fit it, before the caller adds
/// which decoder it was and what the outputs look like.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Mismatch {
    /// What exactly does not fit, when the expected layout and the shapes do
    /// not already say it.
    pub detail: Option<String>,
}

impl Mismatch {
    /// A mismatch with an explanation.
    pub fn because(detail: String) -> Self {
        Mismatch {
            detail: Some(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::decoder_named;
    use super::*;

    #[test]
    fn mismatch_reads_as_one_sentence() {
        let error = DecodeError::Mismatch {
            decoder: decoder_named("centerface"),
            expected: "4 outputs",
            outputs: "1 output: x [3]".into(),
            detail: Some("only one".into()),
            hint: None,
        };
        assert_eq!(
            error.to_string(),
            "decoder 'centerface' expects 4 outputs but the model has 1 output: x [3] (only one)"
        );
    }

    #[test]
    fn no_auto_decoder_lists_the_choices() {
        let error = DecodeError::NoAutoDecoder {
            outputs: "no outputs".into(),
            reason: "nothing to read".into(),
        };
        assert_eq!(
            error.to_string(),
            "decoder=auto found no decoder for this model (no outputs): nothing to read; \
             set decoder= to one of yolov8, yolov5, ssd, centerface, classification, features, none, yolov8seg, yolov8pose, yolov8obb"
        );
    }

    #[test]
    fn errors_are_std_errors() {
        let error: Box<dyn Error> = Box::new(DecodeError::NotADetector(decoder_named("features")));
        assert_eq!(
            error.to_string(),
            "decoder 'features' does not produce boxes; detection needs one of yolov8, yolov5, ssd, centerface, yolov8seg, yolov8pose, yolov8obb"
        );
    }
}
