//! Inner loops: vertical blend, horizontal gather (portable version),
//! colour conversion and tensor writers. Everything here is
//! `#[inline(always)]` so that each monomorphised row loop is compiled as one
//! unit (and once more with AVX2 where the CPU has it).
//!
//! Fixed point: a vertical blend turns two `u8` rows into values scaled by
//! `1 << V_BITS`, stored minus `ROW_BIAS` as `i16`; a horizontal blend turns
//! those into `i32` values scaled by `1 << FIX_BITS` (the bias is added back).
//! Identity (weight 0) and half-way weights are exact. The `i16` form is what
//! `pmaddwd` multiplies, so the SIMD gathers produce the very same numbers.

/// Vertical weight bits: `255 << 8` still fits `u16`.
pub(super) const V_BITS: u32 = 8;
/// Horizontal weight bits: weights up to `1 << 14` fit `i16`.
pub(super) const H_BITS: u32 = 14;
/// Total fixed-point bits of a sampled value.
pub(super) const FIX_BITS: u32 = V_BITS + H_BITS;
/// `1.0 / (1 << FIX_BITS)`.
pub(super) const FIX_UNIT: f32 = 1.0 / (1u32 << FIX_BITS) as f32;
/// Row buffers hold `blend - ROW_BIAS` so that they fit `i16`.
const ROW_BIAS: u16 = 1 << 15;
/// What a horizontal blend of biased values must add back.
pub(super) const GATHER_BIAS: i32 = (ROW_BIAS as i32) << H_BITS;
/// Extra row-buffer elements past the last pixel, so that 16-byte loads of
/// the last pixel pair stay in bounds.
pub(super) const ROW_PAD: usize = 8;

/// Two source rows and their weights (`w0 + w1 == 1 << V_BITS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VTap {
    pub y0: usize,
    pub y1: usize,
    pub w0: u16,
    pub w1: u16,
}

/// Horizontal taps, one per output column: element offset of the left source
/// pixel in the row buffer, and both weights packed as `w0 | w1 << 16`
/// (`w0 + w1 == 1 << H_BITS`), the operand layout of `pmaddwd`.
#[derive(Debug, Clone, Default)]
pub(super) struct ColTaps {
    off: Vec<u32>,
    w: Vec<u32>,
    /// Largest `off` (row buffers are at least `max_off + ROW_PAD` long).
    max_off: usize,
}

impl ColTaps {
    pub(super) fn off(&self) -> &[u32] {
        &self.off
    }
    pub(super) fn w(&self) -> &[u32] {
        &self.w
    }
    /// Taps from `(offset, w0, w1)` per output column.
    pub(super) fn new(taps: impl Iterator<Item = (u32, u16, u16)>) -> Self {
        let (mut off, mut w) = (Vec::new(), Vec::new());
        for (o, w0, w1) in taps {
            off.push(o);
            w.push(u32::from(w0) | u32::from(w1) << 16);
        }
        let max_off = off.iter().copied().max().unwrap_or(0) as usize;
        Self { off, w, max_off }
    }
    /// Largest offset; every offset is at most this.
    pub(super) fn max_off(&self) -> usize {
        self.max_off
    }
}

#[inline(always)]
fn weights(w: u32) -> (i32, i32) {
    (
        i32::from(w as u16 as i16),
        i32::from((w >> 16) as u16 as i16),
    )
}

/// Blends two source rows: `out = a * w0 + b * w1 - ROW_BIAS`.
#[inline(always)]
pub(super) fn vblend(a: &[u8], b: &[u8], w0: u16, w1: u16, out: &mut [i16]) {
    if w1 == 0 {
        for (o, &x) in out.iter_mut().zip(a) {
            *o = ((u16::from(x) << V_BITS) ^ ROW_BIAS) as i16;
        }
    } else {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = ((u16::from(x) * w0 + u16::from(y) * w1) ^ ROW_BIAS) as i16;
        }
    }
}

/// Blends two U rows and two V rows into one interleaved UV row buffer.
#[inline(always)]
pub(super) fn vblend_uv(u: [&[u8]; 2], v: [&[u8]; 2], w0: u16, w1: u16, out: &mut [i16]) {
    let it = out
        .chunks_exact_mut(2)
        .zip(u[0])
        .zip(u[1])
        .zip(v[0])
        .zip(v[1]);
    for ((((o, &ua), &ub), &va), &vb) in it {
        o[0] = ((u16::from(ua) * w0 + u16::from(ub) * w1) ^ ROW_BIAS) as i16;
        o[1] = ((u16::from(va) * w0 + u16::from(vb) * w1) ^ ROW_BIAS) as i16;
    }
}

#[inline(always)]
fn blend_h(a: i16, b: i16, w0: i32, w1: i32) -> i32 {
    i32::from(a) * w0 + i32::from(b) * w1 + GATHER_BIAS
}

/// Packed pixels: per output pixel, elements `C0, C1, C2` of a `BPP`-element
/// pixel (the model's channels), written as 4 interleaved `i32` (4th unused).
#[inline(always)]
pub(super) fn gather_px4<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
    buf: &[i16],
    offs: &[u32],
    ws: &[u32],
    out: &mut [i32],
) {
    for ((o, &off), &w) in out.chunks_exact_mut(4).zip(offs).zip(ws) {
        let at = off as usize;
        let p = &buf[at..at + 2 * BPP];
        let (w0, w1) = weights(w);
        o[0] = blend_h(p[C0], p[BPP + C0], w0, w1);
        o[1] = blend_h(p[C1], p[BPP + C1], w0, w1);
        o[2] = blend_h(p[C2], p[BPP + C2], w0, w1);
        o[3] = 0;
    }
}

/// One channel (gray, Y): one `i32` per output pixel.
#[inline(always)]
pub(super) fn gather_1(buf: &[i16], offs: &[u32], ws: &[u32], out: &mut [i32]) {
    for ((o, &off), &w) in out.iter_mut().zip(offs).zip(ws) {
        let at = off as usize;
        let p = &buf[at..at + 2];
        let (w0, w1) = weights(w);
        *o = blend_h(p[0], p[1], w0, w1);
    }
}

/// Interleaved UV: two `i32` per output pixel.
#[inline(always)]
pub(super) fn gather_uv(buf: &[i16], offs: &[u32], ws: &[u32], out: &mut [i32]) {
    for ((o, &off), &w) in out.chunks_exact_mut(2).zip(offs).zip(ws) {
        let at = off as usize;
        let p = &buf[at..at + 4];
        let (w0, w1) = weights(w);
        o[0] = blend_h(p[0], p[2], w0, w1);
        o[1] = blend_h(p[1], p[3], w0, w1);
    }
}

/// Per model channel: `value = pixel * k + b` (`k = 1/std`, `b = -mean/std`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Norm {
    /// `k` for fixed-point samples (includes `FIX_UNIT`).
    pub k_fix: [f32; 3],
    /// `k` for samples already in pixel units.
    pub k_px: [f32; 3],
    pub b: [f32; 3],
}

/// YUV -> RGB for fixed-point samples `y, u, v`, before clamping to 0..=255:
/// `R = y*y_k + v*r_v + c[0]`, `G = y*y_k + u*g_u + v*g_v + c[1]`,
/// `B = y*y_k + u*b_u + c[2]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct YuvCoeffs {
    pub y_k: f32,
    pub r_v: f32,
    pub g_u: f32,
    pub g_v: f32,
    pub b_u: f32,
    pub c: [f32; 3],
    /// The model wants B, G, R.
    pub bgr: bool,
}

/// `2^23`: see [`OutElem::from_px`] for `u8`.
const MAGIC_ROUND: f32 = 8_388_608.0;

/// Output tensor element.
pub(super) trait OutElem: Copy + Send + Sync + 'static {
    /// From a fixed-point sample (0..=255 << FIX_BITS).
    fn from_fixed(v: i32, k_fix: f32, b: f32) -> Self;
    /// From a sample in pixel units, already clamped to 0..=255 (`u8`: rounded).
    fn from_px(p: f32, k_px: f32, b: f32) -> Self;
}

impl OutElem for f32 {
    #[inline(always)]
    fn from_fixed(v: i32, k_fix: f32, b: f32) -> Self {
        v as f32 * k_fix + b
    }
    #[inline(always)]
    fn from_px(p: f32, k_px: f32, b: f32) -> Self {
        p * k_px + b
    }
}

impl OutElem for u8 {
    #[inline(always)]
    fn from_fixed(v: i32, _: f32, _: f32) -> Self {
        ((v + (1 << (FIX_BITS - 1))) >> FIX_BITS) as u8
    }
    #[inline(always)]
    fn from_px(p: f32, _: f32, _: f32) -> Self {
        // Adding 2^23 leaves round(p) (to nearest, ties to even) in the low
        // mantissa bits: a plain bit cast, unlike `as` (saturating, scalar).
        (p + MAGIC_ROUND).to_bits() as u8
    }
}

/// 4-interleaved fixed-point pixels (model channels first) into three NCHW plane rows.
#[inline(always)]
pub(super) fn write_px4_planar<T: OutElem>(src: &[i32], dst: [&mut [T]; 3], n: &Norm) {
    let [d0, d1, d2] = dst;
    let (k, b) = (n.k_fix, n.b);
    for (((s, o0), o1), o2) in src
        .chunks_exact(4)
        .zip(d0.iter_mut())
        .zip(d1.iter_mut())
        .zip(d2.iter_mut())
    {
        *o0 = T::from_fixed(s[0], k[0], b[0]);
        *o1 = T::from_fixed(s[1], k[1], b[1]);
        *o2 = T::from_fixed(s[2], k[2], b[2]);
    }
}

/// 4-interleaved fixed-point pixels into one NHWC row.
#[inline(always)]
pub(super) fn write_px4_interleaved<T: OutElem>(src: &[i32], dst: &mut [T], n: &Norm) {
    let (k, b) = (n.k_fix, n.b);
    for (s, d) in src.chunks_exact(4).zip(dst.chunks_exact_mut(3)) {
        d[0] = T::from_fixed(s[0], k[0], b[0]);
        d[1] = T::from_fixed(s[1], k[1], b[1]);
        d[2] = T::from_fixed(s[2], k[2], b[2]);
    }
}

/// One fixed-point channel row into one NCHW plane row.
#[inline(always)]
pub(super) fn write_1_planar<T: OutElem>(src: &[i32], dst: &mut [T], k: f32, b: f32) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = T::from_fixed(s, k, b);
    }
}

/// One fixed-point channel row (gray) into all three channels of an NHWC row.
#[inline(always)]
pub(super) fn write_1_interleaved<T: OutElem>(src: &[i32], dst: &mut [T], n: &Norm) {
    let (k, b) = (n.k_fix, n.b);
    for (&s, d) in src.iter().zip(dst.chunks_exact_mut(3)) {
        d[0] = T::from_fixed(s, k[0], b[0]);
        d[1] = T::from_fixed(s, k[1], b[1]);
        d[2] = T::from_fixed(s, k[2], b[2]);
    }
}

/// Model-order channels of one pixel, clamped to 0..=255.
#[inline(always)]
fn yuv_px<const BGR: bool>(c: &YuvCoeffs, y: i32, u: i32, v: i32) -> [f32; 3] {
    let (yf, uf, vf) = (y as f32 * c.y_k, u as f32, v as f32);
    let r = (yf + vf * c.r_v + c.c[0]).clamp(0.0, 255.0);
    let g = (yf + uf * c.g_u + vf * c.g_v + c.c[1]).clamp(0.0, 255.0);
    let b = (yf + uf * c.b_u + c.c[2]).clamp(0.0, 255.0);
    if BGR { [b, g, r] } else { [r, g, b] }
}

/// Fixed-point Y row and interleaved UV row into three NCHW plane rows.
#[inline(always)]
pub(super) fn write_yuv_planar<T: OutElem, const BGR: bool>(
    y: &[i32],
    uv: &[i32],
    dst: [&mut [T]; 3],
    c: &YuvCoeffs,
    n: &Norm,
) {
    let [d0, d1, d2] = dst;
    let (k, b) = (n.k_px, n.b);
    let it = y
        .iter()
        .zip(uv.chunks_exact(2))
        .zip(d0.iter_mut())
        .zip(d1.iter_mut())
        .zip(d2.iter_mut());
    for ((((&y, uv), o0), o1), o2) in it {
        let p = yuv_px::<BGR>(c, y, uv[0], uv[1]);
        *o0 = T::from_px(p[0], k[0], b[0]);
        *o1 = T::from_px(p[1], k[1], b[1]);
        *o2 = T::from_px(p[2], k[2], b[2]);
    }
}

/// Fixed-point Y row and interleaved UV row into one NHWC row.
#[inline(always)]
pub(super) fn write_yuv_interleaved<T: OutElem, const BGR: bool>(
    y: &[i32],
    uv: &[i32],
    dst: &mut [T],
    c: &YuvCoeffs,
    n: &Norm,
) {
    let (k, b) = (n.k_px, n.b);
    for ((&y, uv), d) in y
        .iter()
        .zip(uv.chunks_exact(2))
        .zip(dst.chunks_exact_mut(3))
    {
        let p = yuv_px::<BGR>(c, y, uv[0], uv[1]);
        d[0] = T::from_px(p[0], k[0], b[0]);
        d[1] = T::from_px(p[1], k[1], b[1]);
        d[2] = T::from_px(p[2], k[2], b[2]);
    }
}
