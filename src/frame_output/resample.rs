//! Bilinear sampling positions, pixel-centre aligned (OpenCV `INTER_LINEAR`).

/// The two source samples an output sample blends, and the weight of the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tap {
    pub i0: usize,
    pub i1: usize,
    pub f: f32,
}

/// The stretch of one source axis that an output axis shows, in continuous
/// source pixel coordinates (pixel `i` covers `[i, i + 1)`): from `start` to
/// `start + extent`. It may reach past the source (a centre crop's frame is
/// wider than what the model saw) or cover part of it (a letterboxed frame).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub start: f64,
    pub extent: f64,
}

impl Span {
    /// All of a source of `size` samples.
    pub(crate) fn whole(size: usize) -> Self {
        Self {
            start: 0.0,
            extent: size as f64,
        }
    }

    /// Whether this is all of a source of `size` samples.
    pub(crate) fn is_whole(&self, size: usize) -> bool {
        *self == Self::whole(size)
    }

    /// The first and last source samples the span touches, within
    /// `0..size` (the nearest edge sample when it touches none).
    fn touched(&self, size: usize) -> (usize, usize) {
        let last = size - 1;
        // `as` saturates (negative and NaN to 0); the clamps keep first <= hi <= last.
        let first = (self.start.floor().max(0.0) as usize).min(last);
        let end = (self.start + self.extent).ceil() - 1.0;
        let hi = (end.max(0.0) as usize).clamp(first, last);
        (first, hi)
    }
}

/// Output sample `i` of `dst` taken from the `span` of `src` samples:
/// `s = start + (i + 0.5) * extent / dst - 0.5`, clamped to the samples the
/// span touches (`floor(start) ..= ceil(start + extent) - 1`, within
/// `0..=src-1`), so a span inside the source never blends in a sample
/// outside it and one reaching past the source repeats its edge;
/// `i0 = floor(s)`, `i1 = min(i0 + 1, that last sample)`, `f = s - i0`.
/// Both sizes at least 1. Computed in `f64`, so 2:1 and 1:2 weights are
/// exact; with [`Span::whole`] it is the plain resize
/// `s = (i + 0.5) * src / dst - 0.5`, clamped to `0..=src-1`.
pub(crate) fn tap(src: usize, span: Span, dst: usize, i: usize) -> Tap {
    let (lo, hi) = span.touched(src);
    let s = (span.start + (i as f64 + 0.5) * (span.extent / dst as f64) - 0.5)
        .clamp(lo as f64, hi as f64);
    let i0 = (s as usize).min(hi);
    Tap {
        i0,
        i1: (i0 + 1).min(hi),
        f: (s - i0 as f64) as f32,
    }
}

/// Fills `taps` with the taps of every output sample (reuses its capacity).
pub(crate) fn fill_taps(src: usize, span: Span, dst: usize, taps: &mut Vec<Tap>) {
    taps.clear();
    taps.extend((0..dst).map(|i| tap(src, span, dst, i)));
}

/// `a + (b - a) * f`: exactly `a` when `a == b` (a constant stays constant).
#[inline(always)]
pub(crate) fn lerp(a: f32, b: f32, f: f32) -> f32 {
    a + (b - a) * f
}
