//! Drawing on raw video frames in place, in the frame's own pixel format.
//!
//! Boxes (outlines and filled), anonymisation (pixelate, blur) and text
//! labels, written straight into the mapped planes of an RGB-family, I420,
//! NV12 or GRAY8 frame without converting the frame. Pure Rust; the
//! `dloverlay` element maps a buffer, wraps its planes in a
//! [`FrameMut`](crate::frame::FrameMut) and calls these functions.
//!
//! Decisions:
//! - Rectangles ([`DrawRect`]) may lie partly or wholly outside the frame:
//!   they are clipped; a rect with a zero or negative side draws nothing.
//! - Each function checks the frame
//!   ([`FrameMut::check_planes`](crate::frame::FrameMut::check_planes)) and dispatches on
//!   the format once per call; the loops inside are monomorphised per pixel
//!   layout (bytes per pixel, byte offsets as const generics), with no
//!   per-pixel format branching. `fill_rect` and `draw_rect_outline` never
//!   allocate; `blur_rect` allocates a scratch copy of the rect only;
//!   `TextRenderer::draw_label` allocates a coverage buffer of the visible
//!   part of the label.
//! - Packed RGB: colour bytes are written in the format's order; an alpha
//!   byte is set to 255 wherever anything is drawn (also by blur and
//!   pixelate, so an anonymised region is opaque); a padding byte (`x`) is
//!   never written.
//! - I420 / NV12: a colour is converted once per call to BT.601
//!   limited-range YUV ([`rgb_to_yuv`]). Luma is written per pixel; chroma
//!   per 2x2 chroma sample that the drawn pixels touch. So an edge on an odd
//!   coordinate also changes the chroma (not the luma) of the pixel beside it
//!   that shares its chroma sample: 4:2:0 cannot do better. Blur and
//!   pixelate work likewise on the chroma samples the rect touches, with half
//!   the radius / block (rounded up).
//! - GRAY8: the colour's full-range BT.601 luma ([`rgb_to_gray`]).
//! - Blur: three passes of a separable box filter (close to a gaussian with
//!   sigma ~ radius), edges clamped to the rect: it neither reads nor writes
//!   outside the rect.
//! - Pixelate: cells of `block x block` aligned to the rect's own origin
//!   (also when it starts outside the frame), each set to its rounded mean.

use crate::frame::{FrameMut, PixelFormat, Rect, Size};

mod instances;
mod kernels;
#[cfg(test)]
mod tests;
mod text;
pub mod tracks;

pub use instances::{
    COCO_SKELETON, KEYPOINT_MIN_CONFIDENCE, draw_keypoints, draw_line, draw_polygon, tint_mask,
};
use kernels::chroma;
pub use text::{MAX_TEXT_SIZE_PX, TextRenderer};

/// An 8-bit sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A rectangle to draw, in frame pixels: unlike a [`Rect`], it may extend
/// beyond the frame (a box at the frame's edge, a label above its top), so
/// its corner is signed; it is clipped to the frame when drawn, and a zero or
/// negative side makes it empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DrawRect {
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
}

impl DrawRect {
    pub const fn new(x: i64, y: i64, width: i64, height: i64) -> Self {
        Self {
            x,
            y,
            width,
            height,
        }
    }

    /// The part of the rect inside a frame of `size`, if any.
    pub fn clip(self, size: Size) -> Option<Rect> {
        if self.width <= 0 || self.height <= 0 {
            return None;
        }
        let (w, h) = (clamp_len(size.width), clamp_len(size.height));
        let x0 = self.x.clamp(0, w);
        let y0 = self.y.clamp(0, h);
        let x1 = self.x.saturating_add(self.width).clamp(0, w);
        let y1 = self.y.saturating_add(self.height).clamp(0, h);
        (x0 < x1 && y0 < y1)
            .then(|| Rect::from_corners(x0 as usize, y0 as usize, x1 as usize, y1 as usize))
    }
}

fn clamp_len(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// BT.601 limited-range YUV (Y 16..=235, U/V 16..=240) of an sRGB colour,
/// in 8-bit fixed point (the usual `(66 R + 129 G + 25 B + 128) >> 8) + 16`).
pub fn rgb_to_yuv(c: Rgb) -> (u8, u8, u8) {
    let (r, g, b) = (i32::from(c.0), i32::from(c.1), i32::from(c.2));
    let y = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
    let u = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    let v = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
    (y as u8, u as u8, v as u8)
}

/// Full-range BT.601 luma of an sRGB colour (what is drawn on GRAY8).
pub fn rgb_to_gray(c: Rgb) -> u8 {
    let (r, g, b) = (u32::from(c.0), u32::from(c.1), u32::from(c.2));
    ((77 * r + 150 * g + 29 * b + 128) >> 8) as u8
}

/// Twenty distinct colours: ten saturated, then ten lighter ones (the d3
/// "category20" colours, reordered so neighbouring class ids differ most).
const PALETTE: [Rgb; 20] = [
    Rgb(0x1f, 0x77, 0xb4),
    Rgb(0xff, 0x7f, 0x0e),
    Rgb(0x2c, 0xa0, 0x2c),
    Rgb(0xd6, 0x27, 0x28),
    Rgb(0x94, 0x67, 0xbd),
    Rgb(0x8c, 0x56, 0x4b),
    Rgb(0xe3, 0x77, 0xc2),
    Rgb(0x7f, 0x7f, 0x7f),
    Rgb(0xbc, 0xbd, 0x22),
    Rgb(0x17, 0xbe, 0xcf),
    Rgb(0xae, 0xc7, 0xe8),
    Rgb(0xff, 0xbb, 0x78),
    Rgb(0x98, 0xdf, 0x8a),
    Rgb(0xff, 0x98, 0x96),
    Rgb(0xc5, 0xb0, 0xd5),
    Rgb(0xc4, 0x9c, 0x94),
    Rgb(0xf7, 0xb6, 0xd2),
    Rgb(0xc7, 0xc7, 0xc7),
    Rgb(0xdb, 0xdb, 0x8d),
    Rgb(0x9e, 0xda, 0xe5),
];

/// A fixed colour per class id (a 20-colour palette, repeating; negative ids
/// wrap too). Deterministic across runs and machines.
pub fn class_color(class_id: i32) -> Rgb {
    PALETTE[class_id.rem_euclid(PALETTE.len() as i32) as usize]
}

/// Black or white, whichever reads better on `background` (for label text).
pub fn contrast_text_color(background: Rgb) -> Rgb {
    if rgb_to_gray(background) >= 140 {
        Rgb(0, 0, 0)
    } else {
        Rgb(255, 255, 255)
    }
}

/// Where to put a `label_size` (from [`TextRenderer::measure`]) label for a
/// detection box: on top of the box, left-aligned, when it fits above the
/// frame's top edge, else just inside the box's top; shifted left if it would
/// run past the frame's right edge (and never left of 0).
pub fn label_position(rect: DrawRect, label_size: Size, frame_width: usize) -> (i64, i64) {
    let (lw, lh) = (clamp_len(label_size.width), clamp_len(label_size.height));
    let above = rect.y.saturating_sub(lh);
    let y = if above >= 0 { above } else { rect.y.max(0) };
    let x = rect.x.min(clamp_len(frame_width).saturating_sub(lw)).max(0);
    (x, y)
}

/// Colour byte offset and bytes per pixel of a packed format, and where its
/// alpha byte is.
#[derive(Clone, Copy)]
enum Layout {
    /// 3 bytes per pixel.
    Packed3,
    /// 4 bytes per pixel, all four written (an alpha byte).
    Packed4,
    /// 4 bytes per pixel, colour in bytes 0..3, byte 3 padding.
    Packed4PadLast,
    /// 4 bytes per pixel, byte 0 padding, colour in bytes 1..4.
    Packed4PadFirst,
    I420,
    Nv12,
    Gray8,
}

fn layout(format: PixelFormat) -> Layout {
    use PixelFormat as F;
    match format {
        F::Rgb | F::Bgr => Layout::Packed3,
        F::Rgba | F::Bgra | F::Argb | F::Abgr => Layout::Packed4,
        F::Rgbx | F::Bgrx => Layout::Packed4PadLast,
        F::Xrgb | F::Xbgr => Layout::Packed4PadFirst,
        F::I420 => Layout::I420,
        F::Nv12 => Layout::Nv12,
        F::Gray8 => Layout::Gray8,
    }
}

/// The bytes of one pixel of colour `c` in a packed format (alpha 255,
/// padding 0 — padding bytes are never copied into the frame).
fn packed_pixel(format: PixelFormat, c: Rgb) -> [u8; 4] {
    use PixelFormat as F;
    let Rgb(r, g, b) = c;
    match format {
        F::Rgb | F::Rgbx => [r, g, b, 0],
        F::Bgr | F::Bgrx => [b, g, r, 0],
        F::Rgba => [r, g, b, 255],
        F::Bgra => [b, g, r, 255],
        F::Argb => [255, r, g, b],
        F::Abgr => [255, b, g, r],
        F::Xrgb => [0, r, g, b],
        F::Xbgr => [0, b, g, r],
        F::I420 | F::Nv12 | F::Gray8 => [0; 4],
    }
}

/// Byte index of the alpha byte of a packed format with one.
fn alpha_index(format: PixelFormat) -> Option<usize> {
    match format {
        PixelFormat::Rgba | PixelFormat::Bgra => Some(3),
        PixelFormat::Argb | PixelFormat::Abgr => Some(0),
        _ => None,
    }
}

/// Fills every span with `color`, dispatching on the format once.
fn paint_spans(frame: &mut FrameMut, spans: &[Rect], color: Rgb) {
    if spans.is_empty() || frame.check_planes().is_err() {
        return;
    }
    let format = frame.format;
    let [s0, s1, s2] = frame.strides;
    let [p0, p1, p2] = &mut frame.planes;
    use kernels::fill;
    match layout(format) {
        Layout::Packed3 => {
            let px = packed_pixel(format, color);
            spans.iter().for_each(|&s| fill::<3, 0, 3>(p0, s0, s, px));
        }
        Layout::Packed4 => {
            let px = packed_pixel(format, color);
            spans.iter().for_each(|&s| fill::<4, 0, 4>(p0, s0, s, px));
        }
        Layout::Packed4PadLast => {
            let px = packed_pixel(format, color);
            spans.iter().for_each(|&s| fill::<4, 0, 3>(p0, s0, s, px));
        }
        Layout::Packed4PadFirst => {
            let px = packed_pixel(format, color);
            spans.iter().for_each(|&s| fill::<4, 1, 3>(p0, s0, s, px));
        }
        Layout::I420 => {
            let (y, u, v) = rgb_to_yuv(color);
            for &s in spans {
                fill::<1, 0, 1>(p0, s0, s, [y, 0, 0, 0]);
                fill::<1, 0, 1>(p1, s1, chroma(s), [u, 0, 0, 0]);
                fill::<1, 0, 1>(p2, s2, chroma(s), [v, 0, 0, 0]);
            }
        }
        Layout::Nv12 => {
            let (y, u, v) = rgb_to_yuv(color);
            for &s in spans {
                fill::<1, 0, 1>(p0, s0, s, [y, 0, 0, 0]);
                fill::<2, 0, 2>(p1, s1, chroma(s), [u, v, 0, 0]);
            }
        }
        Layout::Gray8 => {
            let y = rgb_to_gray(color);
            spans
                .iter()
                .for_each(|&s| fill::<1, 0, 1>(p0, s0, s, [y, 0, 0, 0]));
        }
    }
}

/// Fills `rect` (clipped to the frame) with `color`.
pub fn fill_rect(frame: &mut FrameMut, rect: DrawRect, color: Rgb) {
    if let Some(s) = rect.clip(frame.size) {
        paint_spans(frame, &[s], color);
    }
}

/// Draws the outline of `rect`: its outermost `line_width` pixels on each
/// side (the outline lies inside the rect). A line width of half the shorter
/// side or more fills the rect; 0 draws nothing.
pub fn draw_rect_outline(frame: &mut FrameMut, rect: DrawRect, line_width: usize, color: Rgb) {
    let lw = clamp_len(line_width);
    if lw == 0 || rect.width <= 0 || rect.height <= 0 {
        return;
    }
    if lw.saturating_mul(2) >= rect.width || lw.saturating_mul(2) >= rect.height {
        return fill_rect(frame, rect, color);
    }
    let DrawRect {
        x,
        y,
        width: w,
        height: h,
    } = rect;
    let bands = [
        DrawRect::new(x, y, w, lw),
        DrawRect::new(x, y.saturating_add(h - lw), w, lw),
        DrawRect::new(x, y.saturating_add(lw), lw, h - 2 * lw),
        DrawRect::new(
            x.saturating_add(w - lw),
            y.saturating_add(lw),
            lw,
            h - 2 * lw,
        ),
    ];
    let mut spans = [Rect::default(); 4];
    let mut n = 0;
    for band in bands {
        if let Some(s) = band.clip(frame.size) {
            spans[n] = s;
            n += 1;
        }
    }
    paint_spans(frame, &spans[..n], color);
}

/// Offset of `start` inside its cell of a grid of `block`-wide cells that
/// starts at `origin`.
fn cell_phase(start: usize, origin: i64, block: usize) -> usize {
    (start as i128 - i128::from(origin)).rem_euclid(block as i128) as usize
}

/// Replaces each `block x block` cell of `rect` (cells aligned to the rect's
/// origin; cut by the rect's and the frame's edges) with its mean colour.
/// `block` 0 or 1 changes nothing.
pub fn pixelate_rect(frame: &mut FrameMut, rect: DrawRect, block: usize) {
    if block <= 1 || frame.check_planes().is_err() {
        return;
    }
    let Some(s) = rect.clip(frame.size) else {
        return;
    };
    let format = frame.format;
    let [s0, s1, s2] = frame.strides;
    let [p0, p1, p2] = &mut frame.planes;
    let (px, py) = (
        cell_phase(s.x, rect.x, block),
        cell_phase(s.y, rect.y, block),
    );
    use kernels::{fill, pixelate};
    match layout(format) {
        Layout::Packed3 => pixelate::<3, 0, 3>(p0, s0, s, block, px, py),
        Layout::Packed4 | Layout::Packed4PadLast | Layout::Packed4PadFirst => {
            match format {
                PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Rgbx | PixelFormat::Bgrx => {
                    pixelate::<4, 0, 3>(p0, s0, s, block, px, py)
                }
                _ => pixelate::<4, 1, 3>(p0, s0, s, block, px, py),
            }
            match alpha_index(format) {
                Some(3) => fill::<4, 3, 1>(p0, s0, s, [0, 0, 0, 255]),
                Some(_) => fill::<4, 0, 1>(p0, s0, s, [255, 0, 0, 0]),
                None => {}
            }
        }
        Layout::Gray8 => pixelate::<1, 0, 1>(p0, s0, s, block, px, py),
        Layout::I420 | Layout::Nv12 => {
            pixelate::<1, 0, 1>(p0, s0, s, block, px, py);
            let (cs, cblock) = (chroma(s), block.div_ceil(2));
            let cpx = cell_phase(cs.x, rect.x.div_euclid(2), cblock);
            let cpy = cell_phase(cs.y, rect.y.div_euclid(2), cblock);
            if matches!(format, PixelFormat::I420) {
                pixelate::<1, 0, 1>(p1, s1, cs, cblock, cpx, cpy);
                pixelate::<1, 0, 1>(p2, s2, cs, cblock, cpx, cpy);
            } else {
                pixelate::<2, 0, 2>(p1, s1, cs, cblock, cpx, cpy);
            }
        }
    }
}

/// Blurs `rect` (clipped to the frame) strongly: three passes of a separable
/// `(2 * radius + 1)`-wide box filter, edges clamped to the rect. Only pixels
/// inside the rect are read or written. `radius` 0 changes nothing; a radius
/// beyond the rect's longer side (or 8191) acts as that.
pub fn blur_rect(frame: &mut FrameMut, rect: DrawRect, radius: usize) {
    const PASSES: usize = 3;
    if radius == 0 || frame.check_planes().is_err() {
        return;
    }
    let Some(s) = rect.clip(frame.size) else {
        return;
    };
    let format = frame.format;
    let [s0, s1, s2] = frame.strides;
    let [p0, p1, p2] = &mut frame.planes;
    use kernels::{blur, fill};
    match layout(format) {
        Layout::Packed3 => blur::<3, 0, 3>(p0, s0, s, radius, PASSES),
        Layout::Packed4 | Layout::Packed4PadLast | Layout::Packed4PadFirst => {
            match format {
                PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Rgbx | PixelFormat::Bgrx => {
                    blur::<4, 0, 3>(p0, s0, s, radius, PASSES)
                }
                _ => blur::<4, 1, 3>(p0, s0, s, radius, PASSES),
            }
            match alpha_index(format) {
                Some(3) => fill::<4, 3, 1>(p0, s0, s, [0, 0, 0, 255]),
                Some(_) => fill::<4, 0, 1>(p0, s0, s, [255, 0, 0, 0]),
                None => {}
            }
        }
        Layout::Gray8 => blur::<1, 0, 1>(p0, s0, s, radius, PASSES),
        Layout::I420 | Layout::Nv12 => {
            blur::<1, 0, 1>(p0, s0, s, radius, PASSES);
            let (cs, cradius) = (chroma(s), radius.div_ceil(2));
            if matches!(format, PixelFormat::I420) {
                blur::<1, 0, 1>(p1, s1, cs, cradius, PASSES);
                blur::<1, 0, 1>(p2, s2, cs, cradius, PASSES);
            } else {
                blur::<2, 0, 2>(p1, s1, cs, cradius, PASSES);
            }
        }
    }
}

/// Draws `span` as `background` blended towards `foreground` by `coverage`
/// (one byte per pixel of the span, row-major, 255 = all foreground).
/// Chroma samples get the mean coverage of the span pixels they hold.
fn blend_coverage(
    frame: &mut FrameMut,
    s: Rect,
    coverage: &[u8],
    foreground: Rgb,
    background: Rgb,
) {
    debug_assert_eq!(coverage.len(), s.width * s.height);
    if frame.check_planes().is_err() {
        return;
    }
    let format = frame.format;
    let [s0, s1, s2] = frame.strides;
    let [p0, p1, p2] = &mut frame.planes;
    let lerp = |bg: u8, fg: u8, c: usize| -> u8 {
        ((usize::from(bg) * (255 - c) + usize::from(fg) * c + 127) / 255) as u8
    };
    use kernels::blend;
    match layout(format) {
        Layout::Packed3 | Layout::Packed4 | Layout::Packed4PadLast | Layout::Packed4PadFirst => {
            let t = make_lut(|c| {
                let rgb = Rgb(
                    lerp(background.0, foreground.0, c),
                    lerp(background.1, foreground.1, c),
                    lerp(background.2, foreground.2, c),
                );
                packed_pixel(format, rgb)
            });
            match layout(format) {
                Layout::Packed3 => blend::<3, 0, 3>(p0, s0, s, coverage, &t),
                Layout::Packed4 => blend::<4, 0, 4>(p0, s0, s, coverage, &t),
                Layout::Packed4PadLast => blend::<4, 0, 3>(p0, s0, s, coverage, &t),
                _ => blend::<4, 1, 3>(p0, s0, s, coverage, &t),
            }
        }
        Layout::Gray8 => {
            let (bg, fg) = (rgb_to_gray(background), rgb_to_gray(foreground));
            let t = make_lut(|c| [lerp(bg, fg, c), 0, 0, 0]);
            blend::<1, 0, 1>(p0, s0, s, coverage, &t);
        }
        Layout::I420 | Layout::Nv12 => {
            let (by, bu, bv) = rgb_to_yuv(background);
            let (fy, fu, fv) = rgb_to_yuv(foreground);
            let t = make_lut(|c| [lerp(by, fy, c), 0, 0, 0]);
            blend::<1, 0, 1>(p0, s0, s, coverage, &t);
            let cs = chroma(s);
            let ccov = kernels::downsample_coverage(s, coverage);
            if matches!(format, PixelFormat::I420) {
                let tu = make_lut(|c| [lerp(bu, fu, c), 0, 0, 0]);
                let tv = make_lut(|c| [lerp(bv, fv, c), 0, 0, 0]);
                blend::<1, 0, 1>(p1, s1, cs, &ccov, &tu);
                blend::<1, 0, 1>(p2, s2, cs, &ccov, &tv);
            } else {
                let tuv = make_lut(|c| [lerp(bu, fu, c), lerp(bv, fv, c), 0, 0]);
                blend::<2, 0, 2>(p1, s1, cs, &ccov, &tuv);
            }
        }
    }
}

/// A 256-entry table (one pixel pattern per coverage value).
fn make_lut(f: impl Fn(usize) -> [u8; 4]) -> [[u8; 4]; 256] {
    std::array::from_fn(f)
}
