//! Where the frame lies in a model's output, from where it was placed in the
//! model's input: as a continuous region (masks are resampled over it) and
//! as whole pixels (a letterboxed picture is cut out of a colour output).

use super::resample::Span;
use crate::frame::{Rect, Size};
use crate::preprocess::FrameMapping;

/// Placement edges this close to a whole model-input pixel are taken to be
/// on it. [`FrameMapping`] holds `f32`s, so a stretch's right edge comes
/// back as `frame_width * scale_x`, a hair off the input's width; letterbox
/// edges are whole pixels too. Snapping them makes a plain stretch sample
/// exactly as a plain resize does.
const EDGE_SNAP: f64 = 1e-3;

/// The part of a model output (a mask, depth, a picture) that shows the
/// frame: per axis, the frame's first edge and its extent, in model-input
/// pixels, with the size of that input.
///
/// A letterboxed frame covers only part of the output (the rest is what the
/// model made of the bars); a centre-cropped frame reaches past it on both
/// sides (the cut edges, which the model never saw). An output of another
/// size than the input (a half resolution mask, a 2x upscale) is scaled
/// along.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameRegion {
    input: Size,
    x: Span,
    y: Span,
}

impl Default for FrameRegion {
    fn default() -> Self {
        Self::whole()
    }
}

impl FrameRegion {
    /// The frame fills the model input and so the whole output (a stretch).
    pub fn whole() -> Self {
        Self {
            input: Size::new(1, 1),
            x: Span::whole(1),
            y: Span::whole(1),
        }
    }

    /// The region of a frame placed into a `model_input` as
    /// `placement` says (a preprocessor's [`FrameMapping`]): the frame runs
    /// from model x `offset_x` to `offset_x + frame_width * scale_x`, and
    /// likewise in y. A placement that is not finite or has no extent, or a
    /// zero input size, gives [`FrameRegion::whole`].
    pub fn from_mapping(placement: &FrameMapping, model_input: Size) -> Self {
        let axis = |offset: f32, scale: f32, frame: usize| {
            let snap = |v: f64| {
                let whole = v.round();
                if (v - whole).abs() < EDGE_SNAP {
                    whole
                } else {
                    v
                }
            };
            let start = snap(f64::from(offset));
            let end = snap(f64::from(offset) + frame as f64 * f64::from(scale));
            (start.is_finite() && end.is_finite() && end > start).then_some(Span {
                start,
                extent: end - start,
            })
        };
        let x = axis(placement.offset_x, placement.scale_x, placement.frame.width);
        let y = axis(
            placement.offset_y,
            placement.scale_y,
            placement.frame.height,
        );
        match (x, y) {
            (Some(x), Some(y)) if !model_input.is_empty() => Self {
                input: model_input,
                x,
                y,
            },
            _ => Self::whole(),
        }
    }

    /// The whole pixels of an output of `size`, covering
    /// the whole model input, that show the frame: each edge of the region
    /// scaled to the output (as [`FrameRegion::spans_in`]), kept within it,
    /// and rounded to the nearest pixel, halves up (20.5 -> 21); at least
    /// one pixel per side when the output has one.
    ///
    /// A letterboxed frame gives the picture without the bars: 1280x720
    /// into 256x256 lands on rows 56..200, so a 256x256 output gives
    /// 256x144 at y 56, a 512x512 one 512x288 at y 112. A stretch, and a
    /// centre crop (whose frame reaches past the output), give the whole
    /// output. The edges move by at most half an output pixel, and only
    /// where the output is not a whole multiple of the input.
    pub fn pixels_in(&self, size: Size) -> Rect {
        let (xs, ys) = self.spans_in(size);
        let axis = |span: Span, size: usize| {
            if size == 0 {
                return (0, 0);
            }
            let edge = |v: f64| v.clamp(0.0, size as f64).round() as usize;
            let start = edge(span.start).min(size - 1);
            let end = edge(span.start + span.extent).clamp(start + 1, size);
            (start, end - start)
        };
        let (x, width) = axis(xs, size.width);
        let (y, height) = axis(ys, size.height);
        Rect::new(x, y, width, height)
    }

    /// The frame's spans (x, y) in an output of `size` that
    /// covers the whole model input. Multiplies before dividing, so whole
    /// pixels stay exact: a stretch gives exactly the whole output.
    pub(crate) fn spans_in(&self, size: Size) -> (Span, Span) {
        let scale = |span: Span, to: usize, from: usize| Span {
            start: span.start * to as f64 / from as f64,
            extent: span.extent * to as f64 / from as f64,
        };
        (
            scale(self.x, size.width, self.input.width),
            scale(self.y, size.height, self.input.height),
        )
    }
}
