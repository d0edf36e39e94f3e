//! Raw video pixel formats as the library reads and writes them.

use super::Size;

/// Largest frame or model-input side accepted anywhere in the library.
pub const MAX_DIMENSION: usize = 1 << 16;

/// Raw video formats the library reads and draws on (GStreamer names: RGB,
/// BGR, RGBA, ...; `crate::video` maps them to GStreamer's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
    Xrgb,
    Xbgr,
    Argb,
    Abgr,
    /// Planar 4:2:0: Y, U, V planes; chroma planes `ceil(w/2) x ceil(h/2)`.
    I420,
    /// Semi-planar 4:2:0: Y plane, then interleaved UV `ceil(w/2) x ceil(h/2)` pairs.
    Nv12,
    /// One 8-bit luma plane; produces three identical channels.
    Gray8,
}

/// The bytes one plane of a frame spans: `rows` rows of `row_bytes` bytes
/// of pixels each (a stride may add padding after each row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneShape {
    pub row_bytes: usize,
    pub rows: usize,
}

impl PixelFormat {
    /// Every supported format.
    pub const ALL: [PixelFormat; 13] = [
        Self::Rgb,
        Self::Bgr,
        Self::Rgba,
        Self::Bgra,
        Self::Rgbx,
        Self::Bgrx,
        Self::Xrgb,
        Self::Xbgr,
        Self::Argb,
        Self::Abgr,
        Self::I420,
        Self::Nv12,
        Self::Gray8,
    ];

    /// Number of planes a frame of this format carries.
    pub fn plane_count(self) -> usize {
        match self {
            Self::I420 => 3,
            Self::Nv12 => 2,
            _ => 1,
        }
    }

    /// True for the YUV formats (I420, NV12).
    pub fn is_yuv(self) -> bool {
        matches!(self, Self::I420 | Self::Nv12)
    }

    /// Packed RGB formats: (bytes per pixel, byte offsets of R, G, B);
    /// `None` for YUV and GRAY8.
    pub fn packed_layout(self) -> Option<(usize, [usize; 3])> {
        Some(match self {
            Self::Rgb => (3, [0, 1, 2]),
            Self::Bgr => (3, [2, 1, 0]),
            Self::Rgba | Self::Rgbx => (4, [0, 1, 2]),
            Self::Bgra | Self::Bgrx => (4, [2, 1, 0]),
            Self::Argb | Self::Xrgb => (4, [1, 2, 3]),
            Self::Abgr | Self::Xbgr => (4, [3, 2, 1]),
            Self::I420 | Self::Nv12 | Self::Gray8 => return None,
        })
    }

    /// The bytes each plane of a frame of `size` spans; `None` for planes
    /// the format does not use.
    pub fn plane_shapes(self, size: Size) -> [Option<PlaneShape>; 3] {
        let Size { width, height } = size;
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        let shape = |row_bytes, rows| Some(PlaneShape { row_bytes, rows });
        match self {
            Self::I420 => [shape(width, height), shape(cw, ch), shape(cw, ch)],
            Self::Nv12 => [shape(width, height), shape(cw * 2, ch), None],
            Self::Gray8 => [shape(width, height), None, None],
            _ => {
                let bpp = self.packed_layout().map_or(4, |l| l.0);
                [shape(width * bpp, height), None, None]
            }
        }
    }
}
