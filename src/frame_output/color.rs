//! Colour (or gray) model output tensor -> packed output frame.

use super::pixels::{Layout, ToByte, check_mapping, check_output, check_size, rows_mut};
use super::{OutputError, OutputMapping};
use crate::frame::{FrameMut, Rect, TensorDims};
use crate::preprocess::{ChannelOrder, TensorLayout};

/// Writes one frame's model output into `out`.
///
/// `tensor` holds `channels * height * width` values of `dims` in
/// `mapping.layout` (`[C, H, W]` or `[H, W, C]`, batch dimension already
/// removed). Three channels are colour in
/// `mapping.channel_order`; one channel is written as gray (all three colour
/// bytes, or the single byte of a GRAY8 frame). Each byte is
/// `clamp(round(value * scale + offset), 0, 255)`, rounding half away from
/// zero, NaN giving 0. Alpha and padding bytes are set to 255.
///
/// The tensor must be the frame's size: negotiate the output caps with
/// [`OutputGeometry`](super::OutputGeometry). Output formats: RGB, BGR,
/// RGBA, BGRA, RGBx, BGRx, ARGB, ABGR, xRGB, xBGR, and GRAY8 for one channel.
/// Does not allocate.
pub fn write_color_frame(
    tensor: &[f32],
    dims: TensorDims,
    mapping: &OutputMapping,
    out: &mut FrameMut,
) -> Result<(), OutputError> {
    write_color_region(tensor, dims, Rect::whole(dims.size()), mapping, out)
}

/// Writes the `region` of one frame's model output into `out`, which is the
/// region's size: as [`write_color_frame`] (which is this with the whole
/// output), reading only the region's pixels. A letterboxed frame's
/// picture, without the bars, is the region
/// [`FrameRegion::pixels_in`](super::FrameRegion::pixels_in) gives. Does not
/// allocate.
pub fn write_color_region(
    tensor: &[f32],
    dims: TensorDims,
    region: Rect,
    mapping: &OutputMapping,
    out: &mut FrameMut,
) -> Result<(), OutputError> {
    check_mapping(mapping)?;
    let layout = check_output(out)?;
    let TensorDims {
        channels,
        height,
        width,
    } = dims;
    if channels != 1 && channels != 3 {
        return Err(OutputError::ChannelCount {
            got: channels,
            expected: "a colour frame needs 3 channels (or 1 for gray)",
        });
    }
    check_size("model output", dims.size())?;
    if !region.fits_in(dims.size()) {
        return Err(OutputError::RegionOutside {
            region,
            output: dims.size(),
        });
    }
    if region.size() != out.size {
        return Err(OutputError::SizeMismatch {
            what: if region == Rect::whole(dims.size()) {
                "model output"
            } else {
                "model output's region"
            },
            expected: out.size,
            got: region.size(),
        });
    }
    let expected = channels.saturating_mul(width).saturating_mul(height);
    if tensor.len() != expected {
        return Err(OutputError::Length {
            what: "model output tensor",
            expected,
            got: tensor.len(),
        });
    }
    let conv = ToByte::new(mapping);
    let window = Window {
        region,
        tensor_width: width,
    };
    let plane = width * height;
    let src = match (channels, mapping.layout) {
        (1, _) => Src::Gray(tensor),
        (_, TensorLayout::Nchw) => Src::Planar([
            &tensor[..plane],
            &tensor[plane..2 * plane],
            &tensor[2 * plane..],
        ]),
        (_, TensorLayout::Nhwc) => Src::Interleaved(tensor),
    };
    let (bpp, rgb) = match layout {
        Layout::Gray => {
            if channels != 1 {
                return Err(OutputError::UnsupportedOutputFormat {
                    format: out.format,
                    needed: "a 3-channel output needs a packed RGB format (GRAY8 takes \
                             1-channel outputs)",
                });
            }
            let rows = rows_mut(out.planes[0], out.strides[0], region.width, region.height);
            for (y, row) in rows.enumerate() {
                for (px, &v) in row.iter_mut().zip(&tensor[window.row(y)]) {
                    *px = conv.apply(v);
                }
            }
            return Ok(());
        }
        Layout::Packed { bpp, rgb, .. } => (bpp, rgb),
    };
    // Byte position of tensor channels 0, 1, 2.
    let pos = match mapping.channel_order {
        ChannelOrder::Rgb => rgb,
        ChannelOrder::Bgr => [rgb[2], rgb[1], rgb[0]],
    };
    let rows = Rows {
        data: out.planes[0],
        stride: out.strides[0],
        window,
    };
    match (bpp, pos) {
        (3, [0, 1, 2]) => kernel::<3, 0, 1, 2>(&src, conv, rows),
        (3, _) => kernel::<3, 2, 1, 0>(&src, conv, rows),
        (_, [0, 1, 2]) => kernel::<4, 0, 1, 2>(&src, conv, rows),
        (_, [2, 1, 0]) => kernel::<4, 2, 1, 0>(&src, conv, rows),
        (_, [1, 2, 3]) => kernel::<4, 1, 2, 3>(&src, conv, rows),
        _ => kernel::<4, 3, 2, 1>(&src, conv, rows),
    }
    Ok(())
}

/// Where the values of one frame are.
enum Src<'a> {
    /// Three planes, tensor channel order.
    Planar([&'a [f32]; 3]),
    /// `[H, W, 3]`.
    Interleaved(&'a [f32]),
    /// One channel, written to all three colour bytes.
    Gray(&'a [f32]),
}

/// The region of the model output that is written, and where its rows are.
#[derive(Clone, Copy)]
struct Window {
    region: Rect,
    /// Pixels per row of the model output.
    tensor_width: usize,
}

impl Window {
    /// The pixel indices (in one plane of the output) of row `y` of the region.
    fn row(&self, y: usize) -> std::ops::Range<usize> {
        let start = (self.region.y + y) * self.tensor_width + self.region.x;
        start..start + self.region.width
    }
}

/// The destination rows: one per row of the window.
struct Rows<'a> {
    data: &'a mut [u8],
    stride: usize,
    window: Window,
}

/// Writes every row: tensor channel `c` to byte `Pc` of each `BPP`-byte
/// pixel, 255 to the fourth byte of 4-byte pixels.
fn kernel<const BPP: usize, const P0: usize, const P1: usize, const P2: usize>(
    src: &Src,
    conv: ToByte,
    rows: Rows,
) {
    let window = rows.window;
    let out_rows = rows_mut(
        rows.data,
        rows.stride,
        window.region.width * BPP,
        window.region.height,
    );
    for (y, row) in out_rows.enumerate() {
        let span = window.row(y);
        match *src {
            Src::Planar([c0, c1, c2]) => {
                let (c0, c1, c2) = (&c0[span.clone()], &c1[span.clone()], &c2[span]);
                for (((px, &a), &b), &c) in row.chunks_exact_mut(BPP).zip(c0).zip(c1).zip(c2) {
                    put::<BPP, P0, P1, P2>(px, conv.apply(a), conv.apply(b), conv.apply(c));
                }
            }
            Src::Interleaved(t) => {
                let t = &t[3 * span.start..3 * span.end];
                for (px, v) in row.chunks_exact_mut(BPP).zip(t.chunks_exact(3)) {
                    put::<BPP, P0, P1, P2>(
                        px,
                        conv.apply(v[0]),
                        conv.apply(v[1]),
                        conv.apply(v[2]),
                    );
                }
            }
            Src::Gray(g) => {
                for (px, &v) in row.chunks_exact_mut(BPP).zip(&g[span]) {
                    let b = conv.apply(v);
                    put::<BPP, P0, P1, P2>(px, b, b, b);
                }
            }
        }
    }
}

#[inline(always)]
fn put<const BPP: usize, const P0: usize, const P1: usize, const P2: usize>(
    px: &mut [u8],
    a: u8,
    b: u8,
    c: u8,
) {
    // Build the whole pixel, then one store: lets the compiler vectorise rows.
    let mut bytes = [255u8; 4];
    bytes[P0] = a;
    bytes[P1] = b;
    bytes[P2] = c;
    px.copy_from_slice(&bytes[..BPP]);
}
