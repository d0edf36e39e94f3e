//! Where the frame lies in a model's output, from where it was placed in the
//! model's input.

use super::resample::Span;
use crate::preprocess::FrameMapping;

/// Placement edges this close to a whole model-input pixel are taken to be
/// on it. [`FrameMapping`] holds `f32`s, so a stretch's right edge comes
/// back as `frame_width * scale_x`, a hair off the input's width; letterbox
/// edges are whole pixels too. Snapping them makes a plain stretch sample
/// exactly as a plain resize does.
const EDGE_SNAP: f64 = 1e-3;

/// The part of a one-channel model output (a mask, depth) that shows the
/// frame: per axis, the frame's first edge and its extent, in model-input
/// pixels, with the size of that input.
///
/// A letterboxed frame covers only part of the output (the rest is what the
/// model made of the bars); a centre-cropped frame reaches past it on both
/// sides (the cut edges, which the model never saw). A mask output of
/// another size than the input (say half resolution) is scaled along.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameRegion {
    input: (usize, usize),
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
            input: (1, 1),
            x: Span::whole(1),
            y: Span::whole(1),
        }
    }

    /// The region of a frame placed into a `model_input` (width, height) as
    /// `placement` says (a preprocessor's [`FrameMapping`]): the frame runs
    /// from model x `offset_x` to `offset_x + frame_width * scale_x`, and
    /// likewise in y. A placement that is not finite or has no extent, or a
    /// zero input size, gives [`FrameRegion::whole`].
    pub fn from_mapping(placement: &FrameMapping, model_input: (usize, usize)) -> Self {
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
        let x = axis(placement.offset_x, placement.scale_x, placement.frame_width);
        let y = axis(
            placement.offset_y,
            placement.scale_y,
            placement.frame_height,
        );
        match (x, y) {
            (Some(x), Some(y)) if model_input.0 > 0 && model_input.1 > 0 => Self {
                input: model_input,
                x,
                y,
            },
            _ => Self::whole(),
        }
    }

    /// The frame's spans (x, y) in an output of `size` (width, height) that
    /// covers the whole model input. Multiplies before dividing, so whole
    /// pixels stay exact: a stretch gives exactly the whole output.
    pub(crate) fn spans_in(&self, size: (usize, usize)) -> (Span, Span) {
        let scale = |span: Span, to: usize, from: usize| Span {
            start: span.start * to as f64 / from as f64,
            extent: span.extent * to as f64 / from as f64,
        };
        (
            scale(self.x, size.0, self.input.0),
            scale(self.y, size.1, self.input.1),
        )
    }
}
