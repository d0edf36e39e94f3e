//! Mapped frames as plain slices: what GStreamer's `VideoFrameRef` gives,
//! without GStreamer (`crate::video` builds these from mapped buffers).

use std::error::Error;
use std::fmt;

use super::{PixelFormat, PlaneShape, Size};

/// A readable mapped frame: plane slices and their row strides in bytes.
/// Packed formats and GRAY8 use plane 0; I420 uses 3 planes (Y, U, V,
/// chroma subsampled 2x2, odd sizes round up); NV12 uses 2 (Y, interleaved
/// UV). Unused planes are empty slices.
///
/// A plane must hold `stride * (rows - 1) + row_bytes` bytes (see
/// [`PixelFormat::plane_shapes`]); the last row need not be padded to the
/// stride. [`FrameView::check_planes`] says whether it does.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    pub format: PixelFormat,
    pub size: Size,
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
}

/// A writable mapped frame: as [`FrameView`], the planes writable. Bytes
/// past a row's pixels (stride padding) are never written by the library.
#[derive(Debug)]
pub struct FrameMut<'a> {
    pub format: PixelFormat,
    pub size: Size,
    pub planes: [&'a mut [u8]; 3],
    pub strides: [usize; 3],
}

impl<'a> FrameView<'a> {
    /// A one-plane frame (packed RGB or GRAY8): `data`, `stride` bytes a row.
    pub fn packed(format: PixelFormat, size: Size, data: &'a [u8], stride: usize) -> Self {
        Self {
            format,
            size,
            planes: [data, &[], &[]],
            strides: [stride, 0, 0],
        }
    }

    /// Whether every plane the format needs is there, with a stride of at
    /// least one row and the bytes its rows need.
    pub fn check_planes(&self) -> Result<(), PlaneError> {
        check_planes(
            self.format,
            self.size,
            self.planes.map(<[u8]>::len),
            self.strides,
        )
    }
}

impl<'a> FrameMut<'a> {
    /// A one-plane frame (packed RGB or GRAY8): `data`, `stride` bytes a row.
    pub fn packed(format: PixelFormat, size: Size, data: &'a mut [u8], stride: usize) -> Self {
        Self {
            format,
            size,
            planes: [data, &mut [], &mut []],
            strides: [stride, 0, 0],
        }
    }

    /// As [`FrameView::check_planes`].
    pub fn check_planes(&self) -> Result<(), PlaneError> {
        let lens = [0, 1, 2].map(|p| self.planes[p].len());
        check_planes(self.format, self.size, lens, self.strides)
    }
}

/// Why a frame's planes cannot hold its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaneError {
    /// A plane's stride is smaller than one row of pixels.
    StrideTooSmall {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    /// A plane holds fewer bytes than its stride and rows need
    /// (`usize::MAX` when that does not fit a `usize`); `len` 0: a plane the
    /// format needs is missing.
    TooShort {
        plane: usize,
        len: usize,
        needed: usize,
        stride: usize,
        rows: usize,
    },
}

impl fmt::Display for PlaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => write!(
                f,
                "plane {plane} stride is {stride} bytes but one row of pixels needs {row_bytes} bytes"
            ),
            Self::TooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => write!(
                f,
                "plane {plane} holds {len} bytes but {rows} rows at stride {stride} need {needed} bytes"
            ),
        }
    }
}

impl Error for PlaneError {}

/// Per plane, in order: there at all, stride, length (a frame without
/// pixels needs no bytes).
fn check_planes(
    format: PixelFormat,
    size: Size,
    lens: [usize; 3],
    strides: [usize; 3],
) -> Result<(), PlaneError> {
    if size.is_empty() {
        return Ok(());
    }
    for (plane, shape) in format.plane_shapes(size).into_iter().enumerate() {
        let Some(shape) = shape else {
            continue;
        };
        let (len, stride) = (lens[plane], strides[plane]);
        let PlaneShape { row_bytes, rows } = shape;
        let needed = stride
            .checked_mul(rows - 1)
            .and_then(|n| n.checked_add(row_bytes))
            .unwrap_or(usize::MAX);
        let too_short = PlaneError::TooShort {
            plane,
            len,
            needed,
            stride,
            rows,
        };
        if len == 0 {
            return Err(too_short);
        }
        if stride < row_bytes {
            return Err(PlaneError::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            });
        }
        if len < needed {
            return Err(too_short);
        }
    }
    Ok(())
}
