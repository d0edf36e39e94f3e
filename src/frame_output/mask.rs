//! One-channel model outputs (masks, depth) -> output frame.

use super::pixels::{
    Layout, ToByte, check_input, check_mapping, check_output, check_size, input_row, rows_mut,
};
use super::resample::{Tap, fill_taps, lerp, tap};
use super::{FrameRegion, OutputError, OutputMapping};
use crate::frame::{FrameMut, FrameView, Size};

/// What a one-channel output becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskMode {
    /// The mask itself as a gray picture (the three colour bytes, or the
    /// byte of a GRAY8 frame); alpha 255.
    Gray,
    /// The input picture with the mask as its alpha (background removal for a
    /// downstream compositor). Output needs alpha: RGBA, BGRA, ARGB, ABGR.
    Alpha,
    /// The input picture composited over a solid `background` (R, G, B) by
    /// the mask: `out = in * a + background * (1 - a)`, `a = alpha / 255`
    /// with `alpha` the mask byte as in [`MaskMode::Alpha`]. Any packed RGB
    /// output; alpha 255.
    Cutout { background: [u8; 3] },
}

/// Writes mask outputs into frames, keeping its sampling tables and row
/// buffers between frames: after the first frame of a given (mask size,
/// frame size) it does not allocate. Keep one per element / stream.
///
/// Each output pixel samples the mask at its place in the writer's
/// [`FrameRegion`]: the whole mask for [`MaskWriter::new`], the frame's part
/// of it for [`MaskWriter::for_region`].
#[derive(Debug, Default)]
pub struct MaskWriter {
    /// The frame's part of the mask.
    region: FrameRegion,
    /// Column taps from a mask `cols_from` wide to a frame `cols_to` wide.
    cols: Vec<Tap>,
    cols_from: usize,
    cols_to: usize,
    /// Vertically blended mask row.
    row: Vec<f32>,
    /// Mask bytes of the current output row.
    alpha: Vec<u8>,
}

impl MaskWriter {
    /// A writer that stretches the whole mask over the frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer for masks of a model whose input held the frame as `region`
    /// says (letterboxed, centre-cropped): the frame's part of each mask is
    /// resampled over the frame, edge samples repeated where the frame
    /// reaches past the mask.
    pub fn for_region(region: FrameRegion) -> Self {
        Self {
            region,
            ..Self::default()
        }
    }

    /// [`write_mask_frame`], reusing this writer's buffers.
    pub fn write(
        &mut self,
        mask: &[f32],
        mask_size: Size,
        mapping: &OutputMapping,
        mode: MaskMode,
        input: Option<&FrameView>,
        out: &mut FrameMut,
    ) -> Result<(), OutputError> {
        check_mapping(mapping)?;
        let out_layout = check_output(out)?;
        let Size {
            width: mw,
            height: mh,
        } = mask_size;
        check_size("mask", mask_size)?;
        let expected = mw.saturating_mul(mh);
        if mask.len() != expected {
            return Err(OutputError::Length {
                what: "mask",
                expected,
                got: mask.len(),
            });
        }
        let needed = match mode {
            MaskMode::Gray => None,
            MaskMode::Alpha => {
                Some("mask mode alpha needs an output format with alpha: RGBA, BGRA, ARGB or ABGR")
            }
            MaskMode::Cutout { .. } => Some("mask mode cutout needs a packed RGB output format"),
        };
        let mut src = None;
        if let Some(needed) = needed {
            let ok = match (mode, out_layout) {
                (MaskMode::Alpha, Layout::Packed { alpha, .. }) => alpha,
                (_, Layout::Packed { .. }) => true,
                (_, Layout::Gray) => false,
            };
            if !ok {
                return Err(OutputError::UnsupportedOutputFormat {
                    format: out.format,
                    needed,
                });
            }
            if let Some(frame) = input {
                let layout = check_input(frame)?;
                if frame.size != out.size {
                    return Err(OutputError::SizeMismatch {
                        what: "input frame",
                        expected: out.size,
                        got: frame.size,
                    });
                }
                src = Some((frame, layout));
            }
        }

        let Size {
            width: fw,
            height: fh,
        } = out.size;
        let (xs, ys) = self.region.spans_in(mask_size);
        // Same size and the whole mask: samples are copied, not resampled.
        let cols_direct = mw == fw && xs.is_whole(mw);
        let rows_direct = mh == fh && ys.is_whole(mh);
        if !cols_direct && (self.cols_from, self.cols_to) != (mw, fw) {
            fill_taps(mw, xs, fw, &mut self.cols);
            (self.cols_from, self.cols_to) = (mw, fw);
        }
        self.row.resize(mw, 0.0);
        self.alpha.resize(fw, 0);
        let conv = ToByte::new(mapping);
        let bpp = out_layout.bpp();
        let out_rows = rows_mut(out.planes[0], out.strides[0], fw * bpp, fh);
        for (y, row) in out_rows.enumerate() {
            let mask_row = if rows_direct {
                &mask[y * mw..(y + 1) * mw]
            } else {
                let t = tap(mh, ys, fh, y);
                let r0 = &mask[t.i0 * mw..(t.i0 + 1) * mw];
                let r1 = &mask[t.i1 * mw..(t.i1 + 1) * mw];
                for ((o, &a), &b) in self.row.iter_mut().zip(r0).zip(r1) {
                    *o = lerp(a, b, t.f);
                }
                &self.row[..]
            };
            if cols_direct {
                for (a, &v) in self.alpha.iter_mut().zip(mask_row) {
                    *a = conv.apply(v);
                }
            } else {
                for (a, t) in self.alpha.iter_mut().zip(&self.cols) {
                    *a = conv.apply(lerp(mask_row[t.i0], mask_row[t.i1], t.f));
                }
            }
            let alpha = &self.alpha[..];
            let Layout::Packed {
                bpp, rgb, extra, ..
            } = out_layout
            else {
                // GRAY8 output only comes with MaskMode::Gray.
                row.copy_from_slice(alpha);
                continue;
            };
            if let Some((frame, layout)) = src {
                copy_colours(input_row(frame, layout.bpp(), y), layout, row, out_layout);
            }
            match mode {
                MaskMode::Gray => {
                    for (px, &a) in row.chunks_exact_mut(bpp).zip(alpha) {
                        let mut bytes = [a; 4];
                        if let Some(e) = extra {
                            bytes[e] = 255;
                        }
                        px.copy_from_slice(&bytes[..bpp]);
                    }
                }
                MaskMode::Alpha => {
                    // `extra` is the alpha byte (checked above).
                    let e = extra.unwrap_or(0);
                    for (px, &a) in row.chunks_exact_mut(bpp).zip(alpha) {
                        px[e] = a;
                    }
                }
                MaskMode::Cutout { background } => {
                    // Background and a 255-forcing mask in the output's byte
                    // order: the alpha / padding byte blends 255 with 255.
                    let (mut bg, mut force) = ([255u8; 4], [0u8; 4]);
                    for (&p, &b) in rgb.iter().zip(&background) {
                        bg[p] = b;
                    }
                    if let Some(e) = extra {
                        force[e] = 255;
                    }
                    if bpp == 3 {
                        cutout_row::<3>(row, alpha, bg, force);
                    } else {
                        cutout_row::<4>(row, alpha, bg, force);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Writes a one-channel model output (`mask`, of `mask_size`, row-major)
/// into `out` in `mode`.
///
/// Mask values go through the same rule as colour values:
/// `byte = clamp(round(value * scale + offset), 0, 255)` (so a 0..1 mask with
/// the default mapping gives alpha 0..255); `mapping.layout` and
/// `channel_order` do not matter for one channel. A mask of another size than
/// the frame is resampled bilinearly (pixel-centre aligned, like OpenCV
/// `INTER_LINEAR`) in floating point before the mapping. The whole mask
/// covers the whole frame; for a frame letterboxed or cropped into the model
/// input use [`MaskWriter::for_region`].
///
/// `input` is the frame the mask belongs to (packed RGB or GRAY8, the output
/// frame's size), read by [`MaskMode::Alpha`] and [`MaskMode::Cutout`] and
/// ignored by [`MaskMode::Gray`]. Pass `None` for an in-place transform: the
/// output frame then already holds the input picture and its colour bytes are
/// read and overwritten.
///
/// Allocates two small row buffers and the column taps per call; an element
/// should keep a [`MaskWriter`] instead.
pub fn write_mask_frame(
    mask: &[f32],
    mask_size: Size,
    mapping: &OutputMapping,
    mode: MaskMode,
    input: Option<&FrameView>,
    out: &mut FrameMut,
) -> Result<(), OutputError> {
    MaskWriter::new().write(mask, mask_size, mapping, mode, input, out)
}

/// Blends every byte of a row of `BPP`-byte pixels (`byte | force`) towards
/// `bg` by `alpha`; uniform over bytes, so it vectorises.
fn cutout_row<const BPP: usize>(row: &mut [u8], alpha: &[u8], bg: [u8; 4], force: [u8; 4]) {
    for (px, &a) in row.chunks_exact_mut(BPP).zip(alpha) {
        for i in 0..BPP {
            px[i] = blend(px[i] | force[i], bg[i], a);
        }
    }
}

/// `(c * a + bg * (255 - a)) / 255`, rounded to nearest (no ties exist).
#[inline(always)]
pub(crate) fn blend(c: u8, bg: u8, a: u8) -> u8 {
    let (c, bg, a) = (u16::from(c), u16::from(bg), u16::from(a));
    div255(c * a + bg * (255 - a))
}

/// `round(x / 255)` for `x <= 255 * 255`, in 16 bits without a division.
#[inline(always)]
pub(crate) fn div255(x: u16) -> u8 {
    let t = x + 128;
    ((t + (t >> 8)) >> 8) as u8
}

/// Copies the colour of one row of pixels between layouts (same width).
fn copy_colours(src: &[u8], from: Layout, dst: &mut [u8], to: Layout) {
    let Layout::Packed {
        bpp: dbpp,
        rgb: drgb,
        ..
    } = to
    else {
        return;
    };
    match from {
        Layout::Packed { bpp, rgb, .. } if bpp == dbpp && rgb == drgb => dst.copy_from_slice(src),
        Layout::Packed { bpp, rgb, .. } => {
            for (d, s) in dst.chunks_exact_mut(dbpp).zip(src.chunks_exact(bpp)) {
                for (&dp, &sp) in drgb.iter().zip(&rgb) {
                    d[dp] = s[sp];
                }
            }
        }
        Layout::Gray => {
            for (d, &g) in dst.chunks_exact_mut(dbpp).zip(src) {
                for &dp in &drgb {
                    d[dp] = g;
                }
            }
        }
    }
}

/// Min-max normalises `values` to `0..=1` in place, as U2-Net's reference
/// post-processing does: `(v - min) / (max - min)`.
///
/// Only finite values set `min` and `max`; NaN becomes 0, infinities clamp to
/// 0 / 1. If there is no finite value or all finite values are equal, every
/// value becomes 0. Computed in `f64` (no overflow for any finite range; the
/// minimum maps to exactly 0 and the maximum to exactly 1).
pub fn normalize_min_max(values: &mut [f32]) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &v in values.iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    // `lo <= hi` only when a finite value was seen.
    if lo >= hi {
        values.fill(0.0);
        return;
    }
    let (lo, range) = (f64::from(lo), f64::from(hi) - f64::from(lo));
    for v in values.iter_mut() {
        let n = (f64::from(*v) - lo) / range;
        *v = if n.is_nan() {
            0.0
        } else {
            n.clamp(0.0, 1.0) as f32
        };
    }
}
