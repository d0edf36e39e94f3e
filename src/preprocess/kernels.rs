//! Inner loops: vertical blend, horizontal gather, colour conversion and
//! tensor writers. Everything here is `#[inline(always)]` so that each
//! monomorphised row loop is compiled as one unit (and once more with AVX2
//! where the CPU has it).
//!
//! Fixed point: a vertical blend turns two `u8` rows into `u16` values scaled
//! by `1 << V_BITS`; a horizontal blend turns those into `i32` values scaled by
//! `1 << FIX_BITS`. Identity (weight 0) and half-way weights are exact.

/// Vertical weight bits: `u8 * 256` still fits `u16`.
pub(super) const V_BITS: u32 = 8;
/// Horizontal weight bits: `65280 * 32768` still fits `i32`.
pub(super) const H_BITS: u32 = 15;
/// Total fixed-point bits of a sampled value.
pub(super) const FIX_BITS: u32 = V_BITS + H_BITS;
/// `1.0 / (1 << FIX_BITS)`.
pub(super) const FIX_UNIT: f32 = 1.0 / (1u32 << FIX_BITS) as f32;

/// Two source rows and their weights (`w0 + w1 == 1 << V_BITS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VTap {
    pub y0: usize,
    pub y1: usize,
    pub w0: u16,
    pub w1: u16,
}

/// Element offset of the left source pixel in the row buffer and the weights
/// of it and its right neighbour (`w0 + w1 == 1 << H_BITS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct HTap {
    pub off: u32,
    pub w0: i32,
    pub w1: i32,
}

/// Blends two source rows: `out = a * w0 + b * w1`.
#[inline(always)]
pub(super) fn vblend(a: &[u8], b: &[u8], w0: u16, w1: u16, out: &mut [u16]) {
    if w1 == 0 {
        for (o, &x) in out.iter_mut().zip(a) {
            *o = u16::from(x) << V_BITS;
        }
    } else {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = u16::from(x) * w0 + u16::from(y) * w1;
        }
    }
}

/// Horizontal blend of channel `C` of a `BPP`-element-per-pixel row buffer.
#[inline(always)]
pub(super) fn gather1<const BPP: usize, const C: usize>(
    buf: &[u16],
    taps: &[HTap],
    out: &mut [i32],
) {
    for (o, t) in out.iter_mut().zip(taps) {
        let at = t.off as usize;
        let p = &buf[at..at + 2 * BPP];
        *o = i32::from(p[C]) * t.w0 + i32::from(p[BPP + C]) * t.w1;
    }
}

/// Horizontal blend of two channels (NV12 UV).
#[inline(always)]
pub(super) fn gather2<const BPP: usize, const C0: usize, const C1: usize>(
    buf: &[u16],
    taps: &[HTap],
    out0: &mut [i32],
    out1: &mut [i32],
) {
    for ((t, o0), o1) in taps.iter().zip(out0.iter_mut()).zip(out1.iter_mut()) {
        let at = t.off as usize;
        let p = &buf[at..at + 2 * BPP];
        *o0 = i32::from(p[C0]) * t.w0 + i32::from(p[BPP + C0]) * t.w1;
        *o1 = i32::from(p[C1]) * t.w0 + i32::from(p[BPP + C1]) * t.w1;
    }
}

/// Horizontal blend of three channels of a packed row buffer, written in
/// model channel order (`C0`, `C1`, `C2` are the element offsets of the
/// model's channels 0, 1, 2 within a pixel).
#[inline(always)]
pub(super) fn gather3<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
    buf: &[u16],
    taps: &[HTap],
    out: [&mut [i32]; 3],
) {
    let [out0, out1, out2] = out;
    for (((t, o0), o1), o2) in taps
        .iter()
        .zip(out0.iter_mut())
        .zip(out1.iter_mut())
        .zip(out2.iter_mut())
    {
        let at = t.off as usize;
        let p = &buf[at..at + 2 * BPP];
        *o0 = i32::from(p[C0]) * t.w0 + i32::from(p[BPP + C0]) * t.w1;
        *o1 = i32::from(p[C1]) * t.w0 + i32::from(p[BPP + C1]) * t.w1;
        *o2 = i32::from(p[C2]) * t.w0 + i32::from(p[BPP + C2]) * t.w1;
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

/// YUV -> model channel `c`: `clamp(y * y_k + u * u_k[c] + v * v_k[c] + c_k[c], 0, 255)`
/// with `y, u, v` fixed-point samples; coefficients are already in model channel order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct YuvCoeffs {
    pub y_k: f32,
    pub u_k: [f32; 3],
    pub v_k: [f32; 3],
    pub c_k: [f32; 3],
}

/// Output tensor element.
pub(super) trait OutElem: Copy + Send + Sync + 'static {
    /// From a fixed-point sample (0..=255 << FIX_BITS).
    fn from_fixed(v: i32, k_fix: f32, b: f32) -> Self;
    /// From a sample in pixel units, already clamped to 0..=255.
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
        (p + 0.5) as u8
    }
}

/// One channel row of fixed-point samples into one NCHW plane row.
#[inline(always)]
pub(super) fn write_fixed_planar<T: OutElem>(src: &[i32], dst: &mut [T], k: f32, b: f32) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = T::from_fixed(s, k, b);
    }
}

/// Three channel rows of fixed-point samples into one NHWC row.
#[inline(always)]
pub(super) fn write_fixed_interleaved<T: OutElem>(src: [&[i32]; 3], dst: &mut [T], n: &Norm) {
    let [s0, s1, s2] = src;
    let (k, b) = (n.k_fix, n.b);
    for (((d, &c0), &c1), &c2) in dst.chunks_exact_mut(3).zip(s0).zip(s1).zip(s2) {
        d[0] = T::from_fixed(c0, k[0], b[0]);
        d[1] = T::from_fixed(c1, k[1], b[1]);
        d[2] = T::from_fixed(c2, k[2], b[2]);
    }
}

#[inline(always)]
fn yuv_px(c: &YuvCoeffs, y: i32, u: i32, v: i32) -> [f32; 3] {
    let (yf, uf, vf) = (y as f32 * c.y_k, u as f32, v as f32);
    let ch = |i: usize| (yf + uf * c.u_k[i] + vf * c.v_k[i] + c.c_k[i]).clamp(0.0, 255.0);
    [ch(0), ch(1), ch(2)]
}

/// Y, U, V fixed-point rows into three NCHW plane rows.
#[inline(always)]
pub(super) fn write_yuv_planar<T: OutElem>(
    yuv: [&[i32]; 3],
    dst: [&mut [T]; 3],
    c: &YuvCoeffs,
    n: &Norm,
) {
    let [ys, us, vs] = yuv;
    let [d0, d1, d2] = dst;
    let (k, b) = (n.k_px, n.b);
    let it = ys
        .iter()
        .zip(us)
        .zip(vs)
        .zip(d0.iter_mut())
        .zip(d1.iter_mut())
        .zip(d2.iter_mut());
    for (((((&y, &u), &v), o0), o1), o2) in it {
        let p = yuv_px(c, y, u, v);
        *o0 = T::from_px(p[0], k[0], b[0]);
        *o1 = T::from_px(p[1], k[1], b[1]);
        *o2 = T::from_px(p[2], k[2], b[2]);
    }
}

/// Y, U, V fixed-point rows into one NHWC row.
#[inline(always)]
pub(super) fn write_yuv_interleaved<T: OutElem>(
    yuv: [&[i32]; 3],
    dst: &mut [T],
    c: &YuvCoeffs,
    n: &Norm,
) {
    let [ys, us, vs] = yuv;
    let (k, b) = (n.k_px, n.b);
    for (((&y, &u), &v), d) in ys.iter().zip(us).zip(vs).zip(dst.chunks_exact_mut(3)) {
        let p = yuv_px(c, y, u, v);
        d[0] = T::from_px(p[0], k[0], b[0]);
        d[1] = T::from_px(p[1], k[1], b[1]);
        d[2] = T::from_px(p[2], k[2], b[2]);
    }
}
