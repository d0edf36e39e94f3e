//! Per-plane loops, monomorphised per sample layout.
//!
//! A plane is rows of `stride` bytes holding samples of `STEP` bytes; a
//! kernel touches bytes `OFF..OFF + N` (or `NCH` channels from `OFF`) of each
//! sample in a span. Packed RGB is `STEP` 3 or 4, a Y / U / V / GRAY plane
//! `STEP` 1, NV12's UV plane `STEP` 2. Callers have checked the plane with
//! `FrameMut::check`, so the span's rows are in bounds.

/// A non-empty, clipped rectangle of samples: columns `x0..x1`, rows `y0..y1`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Span {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Span {
    pub fn width(self) -> usize {
        self.x1 - self.x0
    }

    pub fn height(self) -> usize {
        self.y1 - self.y0
    }

    /// The 4:2:0 chroma samples that any pixel of the span lies in.
    pub fn chroma(self) -> Span {
        Span {
            x0: self.x0 / 2,
            y0: self.y0 / 2,
            x1: self.x1.div_ceil(2),
            y1: self.y1.div_ceil(2),
        }
    }
}

/// The bytes of row `y` of the span.
#[inline(always)]
fn row_mut<const STEP: usize>(data: &mut [u8], stride: usize, s: Span, y: usize) -> &mut [u8] {
    &mut data[y * stride + s.x0 * STEP..y * stride + s.x1 * STEP]
}

#[inline(always)]
fn row<const STEP: usize>(data: &[u8], stride: usize, s: Span, y: usize) -> &[u8] {
    &data[y * stride + s.x0 * STEP..y * stride + s.x1 * STEP]
}

/// Sets bytes `OFF..OFF + N` of every sample in the span to `pat[OFF..OFF + N]`.
pub(super) fn fill<const STEP: usize, const OFF: usize, const N: usize>(
    data: &mut [u8],
    stride: usize,
    s: Span,
    pat: [u8; 4],
) {
    let pat = &pat[OFF..OFF + N];
    for y in s.y0..s.y1 {
        for px in row_mut::<STEP>(data, stride, s, y).chunks_exact_mut(STEP) {
            px[OFF..OFF + N].copy_from_slice(pat);
        }
    }
}

/// Sets bytes `OFF..OFF + N` of every sample in the span to
/// `lut[c][OFF..OFF + N]`, `c` its coverage (span-sized, row-major).
pub(super) fn blend<const STEP: usize, const OFF: usize, const N: usize>(
    data: &mut [u8],
    stride: usize,
    s: Span,
    coverage: &[u8],
    lut: &[[u8; 4]; 256],
) {
    let w = s.width();
    for (y, cov) in (s.y0..s.y1).zip(coverage.chunks_exact(w)) {
        let row = row_mut::<STEP>(data, stride, s, y);
        for (px, &c) in row.chunks_exact_mut(STEP).zip(cov) {
            px[OFF..OFF + N].copy_from_slice(&lut[usize::from(c)][OFF..OFF + N]);
        }
    }
}

/// Mean coverage of the span's pixels in each chroma sample of `s.chroma()`
/// (counting only pixels of the span), chroma-span-sized, row-major.
pub(super) fn downsample_coverage(s: Span, coverage: &[u8]) -> Vec<u8> {
    let cs = s.chroma();
    let w = s.width();
    let mut out = vec![0u8; cs.width() * cs.height()];
    for (cy, out_row) in (cs.y0..cs.y1).zip(out.chunks_exact_mut(cs.width())) {
        let ys = (cy * 2).max(s.y0)..(cy * 2 + 2).min(s.y1);
        for (cx, o) in (cs.x0..cs.x1).zip(out_row.iter_mut()) {
            let xs = (cx * 2).max(s.x0)..(cx * 2 + 2).min(s.x1);
            let (mut sum, mut n) = (0u32, 0u32);
            for y in ys.clone() {
                for x in xs.clone() {
                    sum += u32::from(coverage[(y - s.y0) * w + (x - s.x0)]);
                    n += 1;
                }
            }
            *o = ((sum + n / 2) / n) as u8;
        }
    }
    out
}

/// Sets each cell of the span to its rounded mean, channel by channel.
/// Cells are `block` wide and high; the span's first column / row lies
/// `phase_x` / `phase_y` samples into its cell.
pub(super) fn pixelate<const STEP: usize, const OFF: usize, const NCH: usize>(
    data: &mut [u8],
    stride: usize,
    s: Span,
    block: usize,
    phase_x: usize,
    phase_y: usize,
) {
    let mut y = s.y0;
    let mut cell_h = block - phase_y;
    while y < s.y1 {
        let y_end = y.saturating_add(cell_h).min(s.y1);
        let mut x = s.x0;
        let mut cell_w = block - phase_x;
        while x < s.x1 {
            let x_end = x.saturating_add(cell_w).min(s.x1);
            let cell = Span {
                x0: x,
                y0: y,
                x1: x_end,
                y1: y_end,
            };
            let mut sum = [0u64; NCH];
            for yy in y..y_end {
                for px in row::<STEP>(data, stride, cell, yy).chunks_exact(STEP) {
                    for (acc, &v) in sum.iter_mut().zip(&px[OFF..OFF + NCH]) {
                        *acc += u64::from(v);
                    }
                }
            }
            let n = (cell.width() * cell.height()) as u64;
            let mean: [u8; NCH] = std::array::from_fn(|c| ((sum[c] + n / 2) / n) as u8);
            for yy in y..y_end {
                for px in row_mut::<STEP>(data, stride, cell, yy).chunks_exact_mut(STEP) {
                    px[OFF..OFF + NCH].copy_from_slice(&mean);
                }
            }
            x = x_end;
            cell_w = block;
        }
        y = y_end;
        cell_h = block;
    }
}

/// `round(sum / d)` for `sum <= 255 * d`, as a multiply by a 32.32 reciprocal.
#[derive(Clone, Copy)]
struct Divider {
    inv: u64,
}

impl Divider {
    fn new(d: u32) -> Self {
        Self {
            inv: ((1u64 << 32) + u64::from(d) / 2) / u64::from(d),
        }
    }

    #[inline(always)]
    fn div(self, sum: u32) -> u8 {
        ((u64::from(sum) * self.inv + (1 << 31)) >> 32).min(255) as u8
    }
}

/// Blurs the span: `passes` times a horizontal then a vertical box filter of
/// `2 * radius + 1` taps, edges clamped to the span. Works on a scratch copy
/// of the span.
pub(super) fn blur<const STEP: usize, const OFF: usize, const NCH: usize>(
    data: &mut [u8],
    stride: usize,
    s: Span,
    radius: usize,
    passes: usize,
) {
    let (w, h) = (s.width(), s.height());
    let r = radius.min(w.max(h));
    if r == 0 || w * h <= 1 {
        return;
    }
    // r <= max side, so 255 * (2r + 1) fits u32 for any frame side up to 2^22.
    let div = Divider::new(2 * r as u32 + 1);
    let row_len = w * NCH;
    let mut a = vec![0u8; row_len * h];
    let mut b = vec![0u8; row_len * h];
    let mut sums = vec![0u32; row_len];

    for (y, dst) in (s.y0..s.y1).zip(a.chunks_exact_mut(row_len)) {
        let src = row::<STEP>(data, stride, s, y);
        for (px, d) in src.chunks_exact(STEP).zip(dst.chunks_exact_mut(NCH)) {
            d.copy_from_slice(&px[OFF..OFF + NCH]);
        }
    }
    for _ in 0..passes {
        for (src, dst) in a.chunks_exact(row_len).zip(b.chunks_exact_mut(row_len)) {
            box_row::<NCH>(src, dst, w, r, div);
        }
        box_columns(&b, &mut a, row_len, h, r, div, &mut sums);
    }
    for (y, src) in (s.y0..s.y1).zip(a.chunks_exact(row_len)) {
        let dst = row_mut::<STEP>(data, stride, s, y);
        for (px, v) in dst.chunks_exact_mut(STEP).zip(src.chunks_exact(NCH)) {
            px[OFF..OFF + NCH].copy_from_slice(v);
        }
    }
}

/// One row of `w` pixels of `NCH` interleaved channels through a box filter
/// (running sum; indices clamped to the row).
fn box_row<const NCH: usize>(src: &[u8], dst: &mut [u8], w: usize, r: usize, div: Divider) {
    let last = w - 1;
    for c in 0..NCH {
        let at = |i: usize| u32::from(src[i.min(last) * NCH + c]);
        let mut sum = at(0) * r as u32 + (0..=r).map(at).sum::<u32>();
        for i in 0..w {
            dst[i * NCH + c] = div.div(sum);
            sum = sum + at(i + r + 1) - at(i.saturating_sub(r));
        }
    }
}

/// The columns of `h` rows of `row_len` bytes through a box filter: a running
/// sum per column, slid down a row at a time (rows clamped to the span).
fn box_columns(
    src: &[u8],
    dst: &mut [u8],
    row_len: usize,
    h: usize,
    r: usize,
    div: Divider,
    sums: &mut [u32],
) {
    let last = h - 1;
    let src_row = |i: usize| &src[i.min(last) * row_len..][..row_len];
    for (s, &v) in sums.iter_mut().zip(src_row(0)) {
        *s = u32::from(v) * r as u32;
    }
    for i in 0..=r {
        for (s, &v) in sums.iter_mut().zip(src_row(i)) {
            *s += u32::from(v);
        }
    }
    for (y, out) in dst.chunks_exact_mut(row_len).enumerate() {
        for (o, &s) in out.iter_mut().zip(sums.iter()) {
            *o = div.div(s);
        }
        let (add, sub) = (src_row(y + r + 1), src_row(y.saturating_sub(r)));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}
