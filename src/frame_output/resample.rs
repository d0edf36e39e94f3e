//! Bilinear sampling positions, pixel-centre aligned (OpenCV `INTER_LINEAR`).

/// The two source samples an output sample blends, and the weight of the second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Tap {
    pub i0: usize,
    pub i1: usize,
    pub f: f32,
}

/// Output sample `i` of `dst` taken from `src` samples:
/// `s = (i + 0.5) * src / dst - 0.5`, clamped to `0..=src-1`;
/// `i0 = floor(s)`, `i1 = min(i0 + 1, src - 1)`, `f = s - i0`.
/// Both sizes at least 1. Computed in `f64`, so 2:1 and 1:2 weights are exact.
pub(crate) fn tap(src: usize, dst: usize, i: usize) -> Tap {
    let last = src - 1;
    let s = ((i as f64 + 0.5) * (src as f64 / dst as f64) - 0.5).clamp(0.0, last as f64);
    let i0 = (s as usize).min(last);
    Tap {
        i0,
        i1: (i0 + 1).min(last),
        f: (s - i0 as f64) as f32,
    }
}

/// Fills `taps` with the taps of every output sample (reuses its capacity).
pub(crate) fn fill_taps(src: usize, dst: usize, taps: &mut Vec<Tap>) {
    taps.clear();
    taps.extend((0..dst).map(|i| tap(src, dst, i)));
}

/// `a + (b - a) * f`: exactly `a` when `a == b` (a constant stays constant).
#[inline(always)]
pub(crate) fn lerp(a: f32, b: f32, f: f32) -> f32 {
    a + (b - a) * f
}
