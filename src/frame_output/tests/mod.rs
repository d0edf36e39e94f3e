//! Tests of the frame_output module, one file per job.

mod color;
mod mask;
mod region;
mod render;
mod size;
mod tile;

use crate::frame::{FrameMut, FrameView, PixelFormat, Size, TensorDims};

/// A `(width, height)` pair of a table of cases as a [`Size`].
fn sz((width, height): (usize, usize)) -> Size {
    Size::new(width, height)
}

/// A `(height, width)` mask size of a table of cases as a [`Size`].
fn hw((height, width): (usize, usize)) -> Size {
    Size::new(width, height)
}

/// A `(channels, height, width)` tensor shape as [`TensorDims`].
fn dims((channels, height, width): (usize, usize, usize)) -> TensorDims {
    TensorDims {
        channels,
        height,
        width,
    }
}

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Bytes per pixel of the packed formats and GRAY8.
fn bpp(format: PixelFormat) -> usize {
    match format {
        PixelFormat::Rgb | PixelFormat::Bgr => 3,
        PixelFormat::Gray8 => 1,
        _ => 4,
    }
}

/// (R, G, B) byte offsets and the alpha / padding offset of a packed format.
fn offsets(format: PixelFormat) -> ([usize; 3], Option<usize>) {
    match format {
        PixelFormat::Rgb => ([0, 1, 2], None),
        PixelFormat::Bgr => ([2, 1, 0], None),
        PixelFormat::Rgba | PixelFormat::Rgbx => ([0, 1, 2], Some(3)),
        PixelFormat::Bgra | PixelFormat::Bgrx => ([2, 1, 0], Some(3)),
        PixelFormat::Argb | PixelFormat::Xrgb => ([1, 2, 3], Some(0)),
        PixelFormat::Abgr | PixelFormat::Xbgr => ([3, 2, 1], Some(0)),
        _ => unreachable!("not packed: {format:?}"),
    }
}

/// The packed RGB formats.
const PACKED: [PixelFormat; 10] = [
    PixelFormat::Rgb,
    PixelFormat::Bgr,
    PixelFormat::Rgba,
    PixelFormat::Bgra,
    PixelFormat::Rgbx,
    PixelFormat::Bgrx,
    PixelFormat::Argb,
    PixelFormat::Abgr,
    PixelFormat::Xrgb,
    PixelFormat::Xbgr,
];

/// An owned frame buffer with `pad` bytes of padding per row, filled with
/// `0xAB` so untouched bytes show.
struct Buf {
    format: PixelFormat,
    width: usize,
    height: usize,
    stride: usize,
    data: Vec<u8>,
}

const FILL: u8 = 0xAB;

impl Buf {
    fn new(format: PixelFormat, width: usize, height: usize, pad: usize) -> Self {
        let stride = width * bpp(format) + pad;
        Self {
            format,
            width,
            height,
            stride,
            data: vec![FILL; stride * height],
        }
    }

    /// A frame whose pixels are `rgb(x, y)` (alpha / padding bytes 7).
    fn from_fn(
        format: PixelFormat,
        width: usize,
        height: usize,
        pad: usize,
        rgb: impl Fn(usize, usize) -> [u8; 3],
    ) -> Self {
        let mut b = Self::new(format, width, height, pad);
        for y in 0..height {
            for x in 0..width {
                let c = rgb(x, y);
                let i = y * b.stride + x * bpp(format);
                if format == PixelFormat::Gray8 {
                    b.data[i] = c[0];
                    continue;
                }
                let (o, e) = offsets(format);
                for k in 0..3 {
                    b.data[i + o[k]] = c[k];
                }
                if let Some(e) = e {
                    b.data[i + e] = 7;
                }
            }
        }
        b
    }

    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }

    fn view_mut(&mut self) -> FrameMut<'_> {
        FrameMut::packed(self.format, self.size(), &mut self.data, self.stride)
    }

    fn view(&self) -> FrameView<'_> {
        FrameView::packed(self.format, self.size(), &self.data, self.stride)
    }

    /// The bytes of pixel (x, y).
    fn px(&self, x: usize, y: usize) -> &[u8] {
        let b = bpp(self.format);
        let i = y * self.stride + x * b;
        &self.data[i..i + b]
    }

    /// (R, G, B) of pixel (x, y).
    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let p = self.px(x, y);
        if self.format == PixelFormat::Gray8 {
            return [p[0]; 3];
        }
        let (o, _) = offsets(self.format);
        [p[o[0]], p[o[1]], p[o[2]]]
    }

    /// Alpha / padding byte of pixel (x, y).
    fn extra(&self, x: usize, y: usize) -> Option<u8> {
        offsets(self.format).1.map(|e| self.px(x, y)[e])
    }

    /// True when every padding byte past the pixels of each row is untouched.
    fn padding_untouched(&self) -> bool {
        let row = self.width * bpp(self.format);
        (0..self.height).all(|y| {
            self.data[y * self.stride + row..(y + 1) * self.stride]
                .iter()
                .all(|&b| b == FILL)
        })
    }
}
