//! Pixel formats as byte layouts, frame checks, and the float -> byte rule.

use super::{OutputError, OutputMapping};
use crate::frame::{FrameMut, FrameView, MAX_DIMENSION, PixelFormat, PlaneError, Size};

/// `2^23`: adding it to a float in `0..=255` rounds it to an integer (ties
/// to even) held in the low mantissa bits.
const MAGIC: f32 = 8_388_608.0;

/// Where a pixel's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// One byte of gray.
    Gray,
    /// `bpp` bytes; R, G, B at `rgb`; `extra` is the alpha or padding byte
    /// (`alpha` tells which).
    Packed {
        bpp: usize,
        rgb: [usize; 3],
        extra: Option<usize>,
        alpha: bool,
    },
}

impl Layout {
    /// The layout of `format`; `None` for YUV formats.
    pub(crate) fn of(format: PixelFormat) -> Option<Self> {
        let packed = |bpp, rgb, extra, alpha| Self::Packed {
            bpp,
            rgb,
            extra,
            alpha,
        };
        Some(match format {
            PixelFormat::Rgb => packed(3, [0, 1, 2], None, false),
            PixelFormat::Bgr => packed(3, [2, 1, 0], None, false),
            PixelFormat::Rgba => packed(4, [0, 1, 2], Some(3), true),
            PixelFormat::Rgbx => packed(4, [0, 1, 2], Some(3), false),
            PixelFormat::Bgra => packed(4, [2, 1, 0], Some(3), true),
            PixelFormat::Bgrx => packed(4, [2, 1, 0], Some(3), false),
            PixelFormat::Argb => packed(4, [1, 2, 3], Some(0), true),
            PixelFormat::Xrgb => packed(4, [1, 2, 3], Some(0), false),
            PixelFormat::Abgr => packed(4, [3, 2, 1], Some(0), true),
            PixelFormat::Xbgr => packed(4, [3, 2, 1], Some(0), false),
            PixelFormat::Gray8 => Self::Gray,
            PixelFormat::I420 | PixelFormat::Nv12 => return None,
        })
    }

    pub(crate) fn bpp(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::Packed { bpp, .. } => bpp,
        }
    }
}

/// Checks a one-plane frame's size, stride and buffer length.
fn check_buffer(
    what: &'static str,
    size: Size,
    planes: Result<(), PlaneError>,
) -> Result<(), OutputError> {
    check_size(what, size)?;
    planes.map_err(|e| match e {
        PlaneError::StrideTooSmall {
            stride, row_bytes, ..
        } => OutputError::StrideTooSmall {
            what,
            stride,
            row_bytes,
        },
        PlaneError::TooShort { len, needed, .. } => {
            OutputError::BufferTooShort { what, len, needed }
        }
    })
}

/// Both sides at least 1 and at most [`MAX_DIMENSION`].
pub(crate) fn check_size(what: &'static str, size: Size) -> Result<(), OutputError> {
    let Size { width, height } = size;
    if width == 0 || height == 0 {
        return Err(OutputError::ZeroSize {
            what,
            width,
            height,
        });
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(OutputError::TooLarge {
            what,
            width,
            height,
        });
    }
    Ok(())
}

/// Validates the output frame (a packed RGB format or GRAY8).
pub(crate) fn check_output(out: &FrameMut) -> Result<Layout, OutputError> {
    let layout = Layout::of(out.format).ok_or(OutputError::UnsupportedOutputFormat {
        format: out.format,
        needed: "output frames must be packed RGB (RGB, BGR, RGBA, BGRA, RGBx, BGRx, ARGB, \
                 ABGR, xRGB, xBGR) or GRAY8",
    })?;
    check_buffer("output frame", out.size, out.check_planes())?;
    Ok(layout)
}

/// Validates an input frame (packed RGB or GRAY8, plane 0 only).
pub(crate) fn check_input(frame: &FrameView) -> Result<Layout, OutputError> {
    let layout = Layout::of(frame.format).ok_or(OutputError::UnsupportedInputFormat {
        format: frame.format,
    })?;
    check_buffer("input frame", frame.size, frame.check_planes())?;
    Ok(layout)
}

/// `scale` and `offset` finite.
pub(crate) fn check_mapping(mapping: &OutputMapping) -> Result<(), OutputError> {
    if mapping.scale.is_finite() && mapping.offset.is_finite() {
        Ok(())
    } else {
        Err(OutputError::InvalidMapping {
            scale: mapping.scale,
            offset: mapping.offset,
        })
    }
}

/// `clamp(round(value * scale + offset), 0, 255)`, rounding half away from
/// zero; NaN gives 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ToByte {
    pub scale: f32,
    pub offset: f32,
}

impl ToByte {
    pub(crate) fn new(mapping: &OutputMapping) -> Self {
        Self {
            scale: mapping.scale,
            offset: mapping.offset,
        }
    }

    /// Branch-free and without float -> int conversions, so rows vectorise:
    /// round to nearest even with [`MAGIC`], read the integer from the bits,
    /// then add 1 at exact `.5` ties the even rounding took down (`v - r` is
    /// exact here).
    #[inline(always)]
    #[allow(clippy::manual_clamp)] // `max` first maps NaN to 0; `clamp` keeps NaN.
    pub(crate) fn apply(self, value: f32) -> u8 {
        let v = (value * self.scale + self.offset).max(0.0).min(255.0);
        let t = v + MAGIC;
        let r = t.to_bits().wrapping_sub(MAGIC.to_bits());
        let tie = v - (t - MAGIC) == 0.5;
        (r + u32::from(tie)) as u8
    }
}

/// Rows `0..height` of a frame buffer, each `row_bytes` long.
pub(crate) fn rows_mut(
    data: &mut [u8],
    stride: usize,
    row_bytes: usize,
    height: usize,
) -> impl Iterator<Item = &mut [u8]> {
    // `check_buffer` guarantees `stride * (height - 1) + row_bytes <= data.len()`.
    data.chunks_mut(stride.max(1))
        .take(height)
        .map(move |r| &mut r[..row_bytes])
}

/// Row `y` of an input frame (`check_input` passed).
pub(crate) fn input_row<'a>(frame: &FrameView<'a>, bpp: usize, y: usize) -> &'a [u8] {
    let start = y * frame.strides[0];
    &frame.planes[0][start..start + frame.size.width * bpp]
}
