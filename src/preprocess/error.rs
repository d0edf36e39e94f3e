//! Errors a user can act on.

use std::error::Error;
use std::fmt;

use crate::frame::{MAX_DIMENSION, PixelFormat, Rect, Size};

/// Why a preprocessor could not be built or a frame could not be processed.
#[derive(Debug, Clone, PartialEq)]
pub enum PreprocessError {
    /// A frame or model-input size has a zero side.
    ZeroSize {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// A frame or model-input size is larger than [`MAX_DIMENSION`].
    TooLarge {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// A `std` entry is zero or not finite, or a `mean` entry is not finite.
    InvalidNormalization { channel: usize, mean: f32, std: f32 },
    /// The frame's format or size differs from the one the preprocessor was built for.
    FrameMismatch {
        expected: (PixelFormat, Size),
        got: (PixelFormat, Size),
    },
    /// A plane the format needs is empty.
    MissingPlane { format: PixelFormat, plane: usize },
    /// A plane's stride is smaller than one row of pixels.
    StrideTooSmall {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    /// A plane holds fewer bytes than its stride and rows need.
    PlaneTooShort {
        plane: usize,
        len: usize,
        needed: usize,
        stride: usize,
        rows: usize,
    },
    /// A source region reaches past the frame's edge.
    RegionOutside { region: Rect, frame: Size },
    /// The output slot does not have [`Preprocessor::tensor_len`](super::Preprocessor::tensor_len) elements.
    OutputLength { expected: usize, got: usize },
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ZeroSize {
                what,
                width,
                height,
            } => {
                write!(
                    f,
                    "{what} size {width}x{height} is empty: width and height must be at least 1"
                )
            }
            Self::TooLarge {
                what,
                width,
                height,
            } => {
                write!(
                    f,
                    "{what} size {width}x{height} is too large: each side must be at most {MAX_DIMENSION}"
                )
            }
            Self::RegionOutside { region, frame } => write!(
                f,
                "region {}x{} at ({}, {}) reaches past the {frame} frame: clip it to the frame first",
                region.width, region.height, region.x, region.y
            ),
            Self::InvalidNormalization { channel, mean, std } => write!(
                f,
                "normalisation of channel {channel} is invalid (mean {mean}, std {std}): \
                 mean must be finite and std finite and non-zero"
            ),
            Self::FrameMismatch {
                expected: (ef, es),
                got: (gf, gs),
            } => write!(
                f,
                "frame is {gf:?} {gs} but the preprocessor was built for {ef:?} {es}; \
                 build a new preprocessor when the caps change"
            ),
            Self::MissingPlane { format, plane } => write!(
                f,
                "{format:?} frame needs {} plane(s) but plane {plane} is empty",
                format.plane_count()
            ),
            Self::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => write!(
                f,
                "plane {plane} stride is {stride} bytes but one row of pixels needs {row_bytes} bytes"
            ),
            Self::PlaneTooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => write!(
                f,
                "plane {plane} holds {len} bytes but {rows} rows at stride {stride} need {needed} bytes"
            ),
            Self::OutputLength { expected, got } => write!(
                f,
                "output slot has {got} elements but the tensor needs {expected} (3 x height x width)"
            ),
        }
    }
}

impl Error for PreprocessError {}
