//! The one trait every decoder implements, and [`DecoderKind`], the handle
//! the rest of the crate holds.
//!
//! A decoder describes itself completely: its names, what it reads (for
//! errors), whether outputs fit it, whether `decoder=auto` should pick it and
//! why, how many classes it distinguishes, what the declared shapes fix for
//! every frame, what it produces, and the decoding itself. NNStreamer's
//! bounding-box `BoxProperties` and DL Streamer's converter classes are the
//! models. Adding a decoder is one new file implementing [`Decoder`], its
//! `mod` line in `decode/mod.rs` and its line in [`super::registry`]; the
//! `decoder` property's values, `decoder=auto`, the "try decoder=X" advice
//! and the lists in messages all follow the registry.
//!
//! Decoders hold no state: anything fixed at start travels in
//! [`super::OutputLayout`], anything set by properties in
//! [`super::DecodeSettings`]. Results richer than a box, class or tensor
//! (keypoints, masks, angles, landmarks) extend [`super::Detection`] or
//! [`super::Decoded`], whose producers and consumers then carry them; the
//! trait itself does not change.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::error::Mismatch;
use super::shape::{self, OutputShape};
use super::{DecodeError, DecodeSettings, Decoded, OutputLayout, OutputView, registry};

/// What a decoder's results are, which decides where they ride on a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// Boxes ([`Decoded::Detections`]).
    Boxes,
    /// Classes of the whole frame ([`Decoded::Classes`]).
    Classes,
    /// Tensors: feature vectors or raw outputs ([`Decoded::Tensors`]).
    Tensors,
}

/// What `decoder=auto` makes of outputs, as seen by one decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AutoVerdict {
    /// Pick this decoder; the sentence, logged, says why and how to override.
    Pick(String),
    /// Outputs of this decoder's kind that it cannot take (shapes that do
    /// not fit, or that leave the choice open); the sentence says why, for
    /// the error when no decoder picks them.
    Doubt(String),
    /// Not this decoder's kind of outputs.
    Pass,
}

/// Why a frame could not be decoded, before [`DecoderKind::decode`] names
/// the decoder and the outputs.
#[derive(Debug)]
pub(crate) enum DecodeFailure {
    /// The frame's outputs do not fit the decoder.
    Mismatch(Mismatch),
    /// Anything else, already worded for users.
    Error(DecodeError),
}

impl From<Mismatch> for DecodeFailure {
    fn from(mismatch: Mismatch) -> Self {
        DecodeFailure::Mismatch(mismatch)
    }
}

impl From<DecodeError> for DecodeFailure {
    fn from(error: DecodeError) -> Self {
        DecodeFailure::Error(error)
    }
}

/// One decoder: everything the crate needs to know about one family of model
/// outputs. Shapes are per frame (batch removed), `None` for dynamic dims.
pub(crate) trait Decoder: Sync {
    /// The name users write in `decoder=` and read in messages.
    fn name(&self) -> &'static str;

    /// Other names for the same layout (model families that share it),
    /// accepted by `decoder=` as well.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// One line for the property's list of choices in `gst-inspect-1.0`.
    fn summary(&self) -> &'static str;

    /// What it reads, completing "decoder 'x' expects ..." in errors.
    fn expects(&self) -> &'static str;

    /// What its results are.
    fn produces(&self) -> Produces;

    /// Whether it can read outputs shaped like these; dynamic dims pass and
    /// are checked again on every frame. The error says what does not fit
    /// when the shapes and [`Decoder::expects`] do not already say it.
    fn check(&self, shapes: &[OutputShape]) -> Result<(), Mismatch>;

    /// Whether `decoder=auto` should pick it. Only a decoder whose
    /// [`Decoder::check`] passes is picked, and no two decoders pick the same
    /// outputs (a registry test holds them to it), so the registry's order
    /// does not change the choice.
    fn auto(&self, _shapes: &[OutputShape]) -> AutoVerdict {
        AutoVerdict::Pass
    }

    /// How many classes it distinguishes, to check a labels file at start;
    /// `None` when the shapes do not say or it does not classify.
    fn num_classes(&self, _shapes: &[OutputShape]) -> Option<usize> {
        None
    }

    /// What the declared shapes fix for reading every frame alike.
    fn layout(&self, _shapes: &[OutputShape]) -> OutputLayout {
        OutputLayout::default()
    }

    /// Decodes one frame's outputs (their data lengths already checked
    /// against their shapes). Detectors return boxes in model-input pixels,
    /// suppressed and clipped ([`super::suppress_and_clip`]).
    fn decode(
        &self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeFailure>;
}

/// Which decoder turns a model's outputs into results: an entry of the
/// registry, small and copyable. Two handles are equal when they name the
/// same decoder.
#[derive(Clone, Copy)]
pub struct DecoderKind(&'static dyn Decoder);

impl DecoderKind {
    /// A handle on a decoder; only the registry makes them.
    pub(super) const fn new(decoder: &'static dyn Decoder) -> Self {
        DecoderKind(decoder)
    }

    /// Every decoder, in the order they are listed to users.
    pub fn all() -> &'static [DecoderKind] {
        registry::DECODERS
    }

    /// Parses a `decoder=` value, ignoring ASCII case: a decoder's name or
    /// one of its aliases (`yolo11` for yolov8, `yolov7` for yolov5).
    /// `"auto"` is not a decoder and is left to the caller.
    pub fn from_name(name: &str) -> Option<Self> {
        let all = Self::all();
        let by_name = all
            .iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(name));
        let by_alias = || {
            all.iter().find(|kind| {
                kind.aliases()
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(name))
            })
        };
        by_name.or_else(by_alias).copied()
    }

    /// The name used for `decoder=` and in messages.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Other names `decoder=` accepts for it.
    pub fn aliases(&self) -> &'static [&'static str] {
        self.0.aliases()
    }

    /// One line saying what it reads, for `gst-inspect-1.0`.
    pub fn summary(&self) -> &'static str {
        self.0.summary()
    }

    /// What it reads, as "does not fit" errors word it.
    pub fn expects(&self) -> &'static str {
        self.0.expects()
    }

    /// What its results are.
    pub fn produces(&self) -> Produces {
        self.0.produces()
    }

    /// Whether this decoder produces boxes.
    pub fn is_detector(&self) -> bool {
        self.produces() == Produces::Boxes
    }

    /// Decodes one frame's outputs (batch dimension removed).
    ///
    /// # Errors
    ///
    /// [`DecodeError::DataLength`] when a tensor's data length disagrees
    /// with its shape, [`DecodeError::Mismatch`] when the outputs do not fit
    /// (dynamic dims can make a frame differ from what was validated at
    /// start), [`DecodeError::NoOutputNamed`] / [`DecodeError::NoOutputs`]
    /// when the output to read is missing.
    pub fn decode(
        self,
        outputs: &[OutputView],
        settings: &DecodeSettings,
    ) -> Result<Decoded, DecodeError> {
        // Decoders index by shape; checking lengths once here keeps a
        // malformed tensor from turning into garbage results.
        for output in outputs {
            shape::check_data_len(output)?;
        }
        self.0
            .decode(outputs, settings)
            .map_err(|failure| match failure {
                DecodeFailure::Mismatch(mismatch) => {
                    super::select::mismatch_error(self, mismatch, &shape::from_views(outputs))
                }
                DecodeFailure::Error(error) => error,
            })
    }

    /// The decoder itself, for the start-up checks.
    pub(super) fn decoder(self) -> &'static dyn Decoder {
        self.0
    }
}

impl PartialEq for DecoderKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for DecoderKind {}

impl Hash for DecoderKind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Debug for DecoderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecoderKind({})", self.name())
    }
}

impl fmt::Display for DecoderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
