//! Errors a user can act on.

use std::error::Error;
use std::fmt;

use crate::frame::{MAX_DIMENSION, PixelFormat, Rect, Size};

/// Why a model output could not be turned into a frame, or a tiling plan or
/// size could not be worked out. Nothing in this module panics on bad input;
/// it returns one of these instead.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputError {
    /// A frame, tensor, mask or tile size has a zero side.
    ZeroSize {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// A frame, tensor, mask or tiled output has a side above [`MAX_DIMENSION`].
    TooLarge {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// `scale` or `offset` of an [`OutputMapping`](super::OutputMapping) is not finite.
    InvalidMapping { scale: f32, offset: f32 },
    /// The output frame's format cannot be written in this mode.
    UnsupportedOutputFormat {
        format: PixelFormat,
        needed: &'static str,
    },
    /// The input frame's format cannot be read (YUV frames are not read here).
    UnsupportedInputFormat { format: PixelFormat },
    /// The tensor has a channel count this call cannot use.
    ChannelCount { got: usize, expected: &'static str },
    /// A tensor, mask or buffer does not hold the number of values its shape says.
    Length {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// Two sizes that must be equal are not.
    SizeMismatch {
        what: &'static str,
        expected: Size,
        got: Size,
    },
    /// A frame's stride is smaller than one row of pixels.
    StrideTooSmall {
        what: &'static str,
        stride: usize,
        row_bytes: usize,
    },
    /// A frame's buffer holds fewer bytes than its stride and rows need.
    BufferTooShort {
        what: &'static str,
        len: usize,
        needed: usize,
    },
    /// Tiling parameters that cannot make a plan.
    InvalidTiling {
        tile: usize,
        overlap: usize,
        scale_factor: usize,
    },
    /// A tile lies outside the tensor it is cut from (of `tensor` size).
    TileOutside { tile: Rect, tensor: Size },
    /// The region of a model output to write does not fit in it.
    RegionOutside { region: Rect, output: Size },
    /// A tile index past the plan's tile count.
    TileIndex { index: usize, count: usize },
    /// A tile was added twice to the same frame.
    DuplicateTile { index: usize },
    /// A tile of a frame has a different channel count from the frame's first tile.
    TileChannels { expected: usize, got: usize },
    /// [`TileBlender::finish`](super::TileBlender::finish) was called before every tile was added.
    TilesMissing {
        missing: usize,
        count: usize,
        first: usize,
    },
    /// A model output shape this module cannot read as one or more frames.
    BadShape { shape: Vec<i64> },
    /// A model output with a channel count that is neither a picture (3)
    /// nor a mask (1).
    FrameChannels { channels: usize, output: Size },
    /// A tiled model whose output tile is not a whole multiple of its input
    /// tile, the same both ways.
    TileNotMultiple { tile: Size, output: Size },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroSize {
                what,
                width,
                height,
            } => write!(
                f,
                "{what} size {width}x{height} is empty: width and height must be at least 1"
            ),
            Self::TooLarge {
                what,
                width,
                height,
            } => write!(
                f,
                "{what} size {width}x{height} is too large: each side must be at most {MAX_DIMENSION}"
            ),
            Self::InvalidMapping { scale, offset } => write!(
                f,
                "output mapping scale {scale} / offset {offset} is invalid: both must be finite"
            ),
            Self::UnsupportedOutputFormat { format, needed } => write!(
                f,
                "cannot write a {format:?} output frame here: {needed}; negotiate one of those formats"
            ),
            Self::UnsupportedInputFormat { format } => write!(
                f,
                "cannot read a {format:?} input frame: use a packed RGB format or GRAY8 \
                 (put videoconvert before the element)"
            ),
            Self::ChannelCount { got, expected } => write!(
                f,
                "model output has {got} channel(s) but {expected}; check the model's output \
                 and the element's mode"
            ),
            Self::Length {
                what,
                expected,
                got,
            } => write!(f, "{what} has {got} values but its shape needs {expected}"),
            Self::SizeMismatch {
                what,
                expected,
                got,
            } => write!(
                f,
                "{what} is {got} but must be {expected}; renegotiate the output size \
                 (see OutputGeometry)"
            ),
            Self::StrideTooSmall {
                what,
                stride,
                row_bytes,
            } => write!(
                f,
                "{what} stride is {stride} bytes but one row of pixels needs {row_bytes} bytes"
            ),
            Self::BufferTooShort { what, len, needed } => write!(
                f,
                "{what} buffer holds {len} bytes but its rows and stride need {needed} bytes"
            ),
            Self::InvalidTiling {
                tile,
                overlap,
                scale_factor,
            } => write!(
                f,
                "tiling with tile {tile}, overlap {overlap}, scale factor {scale_factor} is \
                 invalid: tile and scale factor must be at least 1 and overlap smaller than tile"
            ),
            Self::TileOutside { tile, tensor } => {
                write!(f, "tile {tile} does not fit in the {tensor} tensor")
            }
            Self::RegionOutside { region, output } => write!(
                f,
                "region {region} does not fit in the {output} model output; \
                 renegotiate the output size"
            ),
            Self::TileIndex { index, count } => write!(
                f,
                "tile index {index} is out of range: the plan has {count} tile(s)"
            ),
            Self::DuplicateTile { index } => write!(
                f,
                "tile {index} was already added to this frame; call finish (or reset) before \
                 starting the next frame"
            ),
            Self::TileChannels { expected, got } => write!(
                f,
                "tile has {got} channel(s) but earlier tiles of this frame had {expected}"
            ),
            Self::TilesMissing {
                missing,
                count,
                first,
            } => write!(
                f,
                "{missing} of {count} tile(s) were not added (first missing: {first}); add every \
                 tile of the plan before finish"
            ),
            Self::FrameChannels { channels, output } => write!(
                f,
                "the model's output has {channels} channels ({output}); dltransform needs 3 \
                 (a picture) or 1 (a mask); set output-name to pick another output"
            ),
            Self::TileNotMultiple { tile, output } => write!(
                f,
                "tiling needs an output that is a whole multiple of its input, but a {tile} \
                 tile gave {output}"
            ),
            Self::BadShape { shape } => write!(
                f,
                "model output shape {shape:?} is not a frame: expected [N, C, H, W] / [N, H, W, C] \
                 (by layout), [N, H, W] or [H, W] with positive sizes"
            ),
        }
    }
}

impl Error for OutputError {}
