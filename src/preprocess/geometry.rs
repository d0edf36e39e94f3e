//! Where the frame lands in the model input (stretch / letterbox / crop),
//! the coordinate mapping back to the frame, and the bilinear sampling tables.

use super::kernels::{ColTaps, H_BITS, ROW_PAD, V_BITS, VTap};
use super::{PreprocessError, ScaleMode, check_size};
use crate::frame::{Rect, Size};

/// Decides which frame rectangle is drawn onto which model-input rectangle.
///
/// Returns `(source rect in the frame, destination rect in the model input)`.
/// All rectangles are integral, so the drawn content and [`FrameMapping`]
/// agree exactly:
/// - `Stretch`: whole frame onto the whole input.
/// - `Letterbox`: `s = min(W/fw, H/fh)`, content size `round(fw*s) x round(fh*s)`,
///   placed at `floor((W - cw)/2), floor((H - ch)/2)`; the rest is border.
/// - `CenterCrop`: `s = max(W/fw, H/fh)`, crop size `round(W/s) x round(H/s)`,
///   taken at `floor((fw - cw)/2), floor((fh - ch)/2)` and drawn onto the whole input.
pub(super) fn place(frame: Size, input: Size, mode: ScaleMode) -> (Rect, Rect) {
    let (fw, fh) = (frame.width, frame.height);
    let (mw, mh) = (input.width, input.height);
    let whole_frame = Rect::whole(frame);
    let whole_input = Rect::whole(input);
    let sx = mw as f64 / fw as f64;
    let sy = mh as f64 / fh as f64;
    match mode {
        ScaleMode::Stretch => (whole_frame, whole_input),
        ScaleMode::Letterbox => {
            let s = sx.min(sy);
            let cw = round_clamp(fw as f64 * s, mw);
            let ch = round_clamp(fh as f64 * s, mh);
            (whole_frame, Rect::new((mw - cw) / 2, (mh - ch) / 2, cw, ch))
        }
        ScaleMode::CenterCrop => {
            let s = sx.max(sy);
            let cw = round_clamp(mw as f64 / s, fw);
            let ch = round_clamp(mh as f64 / s, fh);
            (Rect::new((fw - cw) / 2, (fh - ch) / 2, cw, ch), whole_input)
        }
    }
}

fn round_clamp(v: f64, max: usize) -> usize {
    // `as` saturates; the clamp keeps at least one pixel.
    (v.round() as usize).clamp(1, max)
}

/// Maps model-input coordinates back to frame coordinates.
///
/// Coordinates are continuous pixel coordinates: pixel `i` covers `[i, i + 1)`,
/// its centre is `i + 0.5`, and a full-size box is `(0, 0, width, height)`.
/// The relation is affine per axis:
///
/// `model = frame * scale + offset`, so `frame = (model - offset) / scale`.
///
/// For `Stretch` the offsets are 0; for `Letterbox` they are the (integral)
/// border sizes on the left / top; for `CenterCrop` they are
/// `-crop_origin * scale` (negative).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameMapping {
    /// Model pixels per frame pixel, horizontally.
    pub scale_x: f32,
    /// Model pixels per frame pixel, vertically.
    pub scale_y: f32,
    /// Model x of frame x = 0.
    pub offset_x: f32,
    /// Model y of frame y = 0.
    pub offset_y: f32,
    /// The frame's size (the clip limit of [`FrameMapping::box_to_frame`]).
    pub frame: Size,
}

impl FrameMapping {
    /// Where `mode` places a frame of `frame` size into a model input of
    /// `model_input`: the mapping of a [`Preprocessor`](super::Preprocessor)
    /// for those sizes, without building its tables (to size an output
    /// before frames flow).
    pub fn for_placement(
        mode: ScaleMode,
        frame: Size,
        model_input: Size,
    ) -> Result<Self, PreprocessError> {
        check_size("frame", frame)?;
        check_size("model input", model_input)?;
        let (src, dst) = place(frame, model_input, mode);
        Ok(Self::from_rects(src, dst, frame))
    }

    pub(super) fn from_rects(src: Rect, dst: Rect, frame: Size) -> Self {
        let sx = dst.width as f64 / src.width as f64;
        let sy = dst.height as f64 / src.height as f64;
        Self {
            scale_x: sx as f32,
            scale_y: sy as f32,
            offset_x: (dst.x as f64 - src.x as f64 * sx) as f32,
            offset_y: (dst.y as f64 - src.y as f64 * sy) as f32,
            frame,
        }
    }

    /// Model-input point to frame point: `((x - offset_x) / scale_x, (y - offset_y) / scale_y)`.
    /// Not clipped: points in a letterbox border map outside the frame.
    pub fn to_frame(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.offset_x) / self.scale_x,
            (y - self.offset_y) / self.scale_y,
        )
    }

    /// Frame point to model-input point (the inverse of [`FrameMapping::to_frame`]).
    pub fn to_model(&self, x: f32, y: f32) -> (f32, f32) {
        (
            x * self.scale_x + self.offset_x,
            y * self.scale_y + self.offset_y,
        )
    }

    /// Model-input box to frame box, clipped to `[0, frame.width] x [0, frame.height]`.
    /// Returns `(x_min, y_min, x_max, y_max)`; a box entirely in the border
    /// collapses to a zero-area box on the frame edge.
    pub fn box_to_frame(
        &self,
        x_min: f32,
        y_min: f32,
        x_max: f32,
        y_max: f32,
    ) -> (f32, f32, f32, f32) {
        let (x0, y0) = self.to_frame(x_min, y_min);
        let (x1, y1) = self.to_frame(x_max, y_max);
        let fw = self.frame.width as f32;
        let fh = self.frame.height as f32;
        let cx = |v: f32| v.max(0.0).min(fw);
        let cy = |v: f32| v.max(0.0).min(fh);
        (cx(x0), cy(y0), cx(x1), cy(y1))
    }
}

/// Bilinear taps for one destination axis.
///
/// Destination pixel `d` samples the source at
/// `f = (s0 + (d + 0.5) * sl / dl) / sub - 0.5` (pixel-centre alignment, as
/// OpenCV `INTER_LINEAR`), clamped to the source pixels covered by
/// `[s0, s0 + sl)`. `sub` is the plane's subsampling (2 for chroma, whose
/// samples sit at the centre of their 2x2 luma block). Returns, per
/// destination pixel, the first source index and the weight of the next one
/// out of `1 << bits` (0 when the next one is past the edge).
fn axis_taps(s0: usize, sl: usize, dl: usize, sub: usize, bits: u32) -> Vec<(usize, u32)> {
    let one = 1u32 << bits;
    let ratio = sl as f64 / dl as f64;
    let first = s0 / sub;
    let last = (s0 + sl - 1) / sub;
    (0..dl)
        .map(|d| {
            let f = (s0 as f64 + (d as f64 + 0.5) * ratio) / sub as f64 - 0.5;
            let f = f.clamp(first as f64, last as f64);
            let mut i0 = f.floor() as usize;
            let mut w1 = ((f - i0 as f64) * f64::from(one)).round() as u32;
            if w1 >= one {
                i0 += 1;
                w1 = 0;
            }
            if i0 >= last {
                i0 = last;
                w1 = 0;
            }
            (i0, w1)
        })
        .collect()
}

/// Sampling tables of one plane.
#[derive(Debug, Clone)]
pub(super) struct PlaneTables {
    /// Per destination row: the two source rows and their weights.
    pub rows: Vec<VTap>,
    /// Per destination column: element offset into the row buffer and weights.
    pub cols: ColTaps,
    /// First source column (plane pixels) blended into the row buffer.
    pub col_lo: usize,
    /// Number of source columns blended into the row buffer.
    pub col_fill: usize,
}

impl PlaneTables {
    /// Tables drawing `src` (in luma pixels) onto `dst`, for a plane
    /// subsampled by `sub` whose row buffer holds `elems` elements per pixel.
    pub(super) fn new(src: Rect, dst: Rect, sub: usize, elems: usize) -> Self {
        let xs = axis_taps(src.x, src.width, dst.width, sub, H_BITS);
        let ys = axis_taps(src.y, src.height, dst.height, sub, V_BITS);
        let last_col = (src.right() - 1) / sub;
        let last_row = (src.bottom() - 1) / sub;
        let col_lo = xs.iter().map(|t| t.0).min().unwrap_or(0);
        let max_i0 = xs.iter().map(|t| t.0).max().unwrap_or(0);
        let col_hi = (max_i0 + 1).min(last_col);
        let h_one = 1u32 << H_BITS;
        let v_one = 1u32 << V_BITS;
        let cols = ColTaps::new(xs.iter().map(|&(i0, w1)| {
            (
                ((i0 - col_lo) * elems) as u32,
                (h_one - w1) as u16,
                w1 as u16,
            )
        }));
        let rows = ys
            .iter()
            .map(|&(i0, w1)| VTap {
                y0: i0,
                y1: (i0 + 1).min(last_row),
                w0: (v_one - w1) as u16,
                w1: w1 as u16,
            })
            .collect();
        Self {
            rows,
            cols,
            col_lo,
            col_fill: col_hi - col_lo + 1,
        }
    }

    /// Row buffer length in elements: room for the last pixel pair, whole
    /// 16-byte loads at every offset, and the blended columns.
    pub(super) fn buf_len(&self) -> usize {
        self.cols.max_off() + ROW_PAD
    }
}
