//! Per-plane loops, monomorphised per sample layout.
//!
//! A plane is rows of `stride` bytes holding samples of `STEP` bytes; a
//! kernel touches bytes `OFF..OFF + N` (or `NCH` channels from `OFF`) of each
//! sample in a span. Packed RGB is `STEP` 3 or 4, a Y / U / V / GRAY plane
//! `STEP` 1, NV12's UV plane `STEP` 2. Callers have checked the plane with
//! `FrameMut::check_planes`, so the span's rows are in bounds. A span is a
//! non-empty [`Rect`] of samples, clipped to the plane.

use crate::frame::Rect;

/// The 4:2:0 chroma samples that any pixel of `s` lies in.
pub(super) fn chroma(s: Rect) -> Rect {
    Rect::from_corners(
        s.x / 2,
        s.y / 2,
        s.right().div_ceil(2),
        s.bottom().div_ceil(2),
    )
}

/// The bytes of row `y` of the span.
#[inline(always)]
fn row_mut<const STEP: usize>(data: &mut [u8], stride: usize, s: Rect, y: usize) -> &mut [u8] {
    &mut data[y * stride + s.x * STEP..y * stride + s.right() * STEP]
}

#[inline(always)]
fn row<const STEP: usize>(data: &[u8], stride: usize, s: Rect, y: usize) -> &[u8] {
    &data[y * stride + s.x * STEP..y * stride + s.right() * STEP]
}

/// Sets bytes `OFF..OFF + N` of every sample in the span to `pat[OFF..OFF + N]`.
pub(super) fn fill<const STEP: usize, const OFF: usize, const N: usize>(
    data: &mut [u8],
    stride: usize,
    s: Rect,
    pat: [u8; 4],
) {
    if STEP == 4 && N < 4 {
        // 4-byte pixels with bytes to keep: one masked 32-bit write each,
        // which vectorises (byte-wise partial copies do not).
        let mut keep = [0xffu8; 4];
        keep[OFF..OFF + N].fill(0);
        let (keep, set) = (
            u32::from_ne_bytes(keep),
            u32::from_ne_bytes(pat) & !u32::from_ne_bytes(keep),
        );
        for y in s.y..s.bottom() {
            for px in row_mut::<STEP>(data, stride, s, y).chunks_exact_mut(4) {
                let v = u32::from_ne_bytes([px[0], px[1], px[2], px[3]]);
                px.copy_from_slice(&((v & keep) | set).to_ne_bytes());
            }
        }
        return;
    }
    if N == STEP {
        // Whole pixels: build the first row by doubling, then copy it down.
        let first = s.y * stride + s.x * STEP;
        let len = s.width * STEP;
        data[first..first + STEP].copy_from_slice(&pat[..STEP]);
        let mut done = STEP;
        while done < len {
            let n = done.min(len - done);
            data.copy_within(first..first + n, first + done);
            done += n;
        }
        for y in s.y + 1..s.bottom() {
            data.copy_within(first..first + len, y * stride + s.x * STEP);
        }
        return;
    }
    let pat = &pat[OFF..OFF + N];
    for y in s.y..s.bottom() {
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
    s: Rect,
    coverage: &[u8],
    lut: &[[u8; 4]; 256],
) {
    let w = s.width;
    for (y, cov) in (s.y..s.bottom()).zip(coverage.chunks_exact(w)) {
        let row = row_mut::<STEP>(data, stride, s, y);
        for (px, &c) in row.chunks_exact_mut(STEP).zip(cov) {
            px[OFF..OFF + N].copy_from_slice(&lut[usize::from(c)][OFF..OFF + N]);
        }
    }
}

/// Mean coverage of the span's pixels in each chroma sample of `chroma(s)`
/// (counting only pixels of the span), chroma-span-sized, row-major.
pub(super) fn downsample_coverage(s: Rect, coverage: &[u8]) -> Vec<u8> {
    let cs = chroma(s);
    let w = s.width;
    let mut out = vec![0u8; cs.width * cs.height];
    for (cy, out_row) in (cs.y..cs.bottom()).zip(out.chunks_exact_mut(cs.width)) {
        let ys = (cy * 2).max(s.y)..(cy * 2 + 2).min(s.bottom());
        for (cx, o) in (cs.x..cs.right()).zip(out_row.iter_mut()) {
            let xs = (cx * 2).max(s.x)..(cx * 2 + 2).min(s.right());
            let (mut sum, mut n) = (0u32, 0u32);
            for y in ys.clone() {
                for x in xs.clone() {
                    sum += u32::from(coverage[(y - s.y) * w + (x - s.x)]);
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
    s: Rect,
    block: usize,
    phase_x: usize,
    phase_y: usize,
) {
    let mut y = s.y;
    let mut cell_h = block - phase_y;
    while y < s.bottom() {
        let y_end = y.saturating_add(cell_h).min(s.bottom());
        let mut x = s.x;
        let mut cell_w = block - phase_x;
        while x < s.right() {
            let x_end = x.saturating_add(cell_w).min(s.right());
            let cell = Rect::from_corners(x, y, x_end, y_end);
            let mut sum = [0u64; NCH];
            for yy in y..y_end {
                for px in row::<STEP>(data, stride, cell, yy).chunks_exact(STEP) {
                    for (acc, &v) in sum.iter_mut().zip(&px[OFF..OFF + NCH]) {
                        *acc += u64::from(v);
                    }
                }
            }
            let n = (cell.width * cell.height) as u64;
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

/// Largest blur radius used (a larger one acts as this): keeps the
/// fixed-point division in `box_columns` within `u32`.
pub(super) const MAX_BLUR_RADIUS: usize = 8191;

/// Blurs the span: `passes` vertical box filters of `2 * radius + 1` taps,
/// then as many horizontal ones (run as vertical ones on a transposed copy,
/// so every pass is a running sum vectorised across a whole row); edges are
/// clamped to the span. Works on a scratch copy of the span.
pub(super) fn blur<const STEP: usize, const OFF: usize, const NCH: usize>(
    data: &mut [u8],
    stride: usize,
    s: Rect,
    radius: usize,
    passes: usize,
) {
    let (w, h) = (s.width, s.height);
    let r = radius.min(w.max(h)).min(MAX_BLUR_RADIUS);
    if r == 0 || w * h <= 1 {
        return;
    }
    let d = (2 * r + 1) as u32;
    let inv = ((1 << 24) + d / 2) / d;
    let mut a = vec![0u8; w * h * NCH];
    let mut b = vec![0u8; w * h * NCH];
    let mut sums = vec![0u32; w.max(h) * NCH];

    // a: the span, row-major.
    for (y, dst) in (s.y..s.bottom()).zip(a.chunks_exact_mut(w * NCH)) {
        let src = row::<STEP>(data, stride, s, y);
        for (px, d) in src.chunks_exact(STEP).zip(dst.chunks_exact_mut(NCH)) {
            d.copy_from_slice(&px[OFF..OFF + NCH]);
        }
    }
    for _ in 0..passes {
        box_columns(&a, &mut b, w * NCH, h, r, inv, &mut sums);
        std::mem::swap(&mut a, &mut b);
    }
    // b: the span transposed (column x is row x).
    for (y, src) in a.chunks_exact(w * NCH).enumerate() {
        for (x, v) in src.chunks_exact(NCH).enumerate() {
            b[(x * h + y) * NCH..][..NCH].copy_from_slice(v);
        }
    }
    for _ in 0..passes {
        box_columns(&b, &mut a, h * NCH, w, r, inv, &mut sums);
        std::mem::swap(&mut a, &mut b);
    }
    for (y, fy) in (s.y..s.bottom()).enumerate() {
        let dst = row_mut::<STEP>(data, stride, s, fy);
        for (x, px) in dst.chunks_exact_mut(STEP).enumerate() {
            px[OFF..OFF + NCH].copy_from_slice(&b[(x * h + y) * NCH..][..NCH]);
        }
    }
}

/// The columns of `rows` rows of `row_len` bytes through a box filter of
/// `2 * r + 1` taps (`inv` its reciprocal, 0.24 fixed point): a running sum
/// per column, slid down a row at a time, rows clamped to the span.
fn box_columns(
    src: &[u8],
    dst: &mut [u8],
    row_len: usize,
    rows: usize,
    r: usize,
    inv: u32,
    sums: &mut [u32],
) {
    let last = rows - 1;
    let sums = &mut sums[..row_len];
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
        // round(sum / d): sum <= 255 d, so sum * inv + 2^23 < 2^32 for
        // d <= 2 * MAX_BLUR_RADIUS + 1 and the result is at most 255; off by
        // at most 255 d / 2^25, which only matters (a tie rounded the other
        // way) for radii over ~128. Plain u32 arithmetic, so it vectorises.
        for (o, &s) in out.iter_mut().zip(sums.iter()) {
            *o = ((s * inv + (1 << 23)) >> 24) as u8;
        }
        let (add, sub) = (src_row(y + r + 1), src_row(y.saturating_sub(r)));
        for ((s, &a), &b) in sums.iter_mut().zip(add).zip(sub) {
            *s = *s + u32::from(a) - u32::from(b);
        }
    }
}
