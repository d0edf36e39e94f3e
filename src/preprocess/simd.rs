//! Instruction-set back ends for the horizontal gathers, the one step the
//! compiler cannot vectorise by itself (each output pixel reads two source
//! pixels at a table offset). [`Portable`] is plain Rust; [`Avx2`] uses
//! `pshufb` + `pmaddwd` per pixel and hardware gathers, and produces
//! bit-identical results.

use super::kernels::{ColTaps, gather_1, gather_px4, gather_uv};

/// A way of running the horizontal gathers.
pub(super) trait Isa: Copy {
    /// See [`gather_px4`].
    fn px4<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
        self,
        buf: &[i16],
        t: &ColTaps,
        out: &mut [i32],
    );
    /// See [`gather_1`].
    fn one(self, buf: &[i16], t: &ColTaps, out: &mut [i32]);
    /// See [`gather_uv`].
    fn uv(self, buf: &[i16], t: &ColTaps, out: &mut [i32]);
}

/// Plain Rust.
#[derive(Debug, Clone, Copy)]
pub(super) struct Portable;

impl Isa for Portable {
    #[inline(always)]
    fn px4<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
        self,
        buf: &[i16],
        t: &ColTaps,
        out: &mut [i32],
    ) {
        gather_px4::<BPP, C0, C1, C2>(buf, t.off(), t.w(), out);
    }
    #[inline(always)]
    fn one(self, buf: &[i16], t: &ColTaps, out: &mut [i32]) {
        gather_1(buf, t.off(), t.w(), out);
    }
    #[inline(always)]
    fn uv(self, buf: &[i16], t: &ColTaps, out: &mut [i32]) {
        gather_uv(buf, t.off(), t.w(), out);
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::Avx2;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::kernels::{ColTaps, GATHER_BIAS, ROW_PAD, gather_1, gather_px4, gather_uv};
    use super::Isa;
    use std::arch::x86_64::*;

    /// Proof that the CPU has AVX2 (only [`Avx2::detect`] makes one).
    #[derive(Debug, Clone, Copy)]
    pub(in super::super) struct Avx2(());

    impl Avx2 {
        pub(in super::super) fn detect() -> Option<Self> {
            std::arch::is_x86_feature_detected!("avx2").then_some(Self(()))
        }
    }

    /// Every offset leaves `ROW_PAD` elements of `buf` after it.
    #[inline(always)]
    fn in_bounds(buf: &[i16], t: &ColTaps) -> bool {
        t.off().len() == t.w().len() && t.max_off() + ROW_PAD <= buf.len()
    }

    impl Isa for Avx2 {
        #[inline(always)]
        fn px4<const BPP: usize, const C0: usize, const C1: usize, const C2: usize>(
            self,
            buf: &[i16],
            t: &ColTaps,
            out: &mut [i32],
        ) {
            if BPP * 2 > ROW_PAD || !in_bounds(buf, t) {
                return gather_px4::<BPP, C0, C1, C2>(buf, t.off(), t.w(), out);
            }
            let mask = px4_mask(BPP, [C0, C1, C2]);
            // SAFETY: `self` proves AVX2; `in_bounds` checked every read.
            unsafe { px4(buf, t, out, &mask) }
        }

        #[inline(always)]
        fn one(self, buf: &[i16], t: &ColTaps, out: &mut [i32]) {
            if !in_bounds(buf, t) {
                return gather_1(buf, t.off(), t.w(), out);
            }
            // SAFETY: as above.
            unsafe { one(buf, t, out) }
        }

        #[inline(always)]
        fn uv(self, buf: &[i16], t: &ColTaps, out: &mut [i32]) {
            if !in_bounds(buf, t) {
                return gather_uv(buf, t.off(), t.w(), out);
            }
            // SAFETY: as above.
            unsafe { uv(buf, t, out) }
        }
    }

    /// `pshufb` mask turning `[a0 .. a(bpp-1) b0 .. b(bpp-1)]` (i16) into
    /// `[a_c0 b_c0 a_c1 b_c1 a_c2 b_c2 0 0]`.
    const fn px4_mask(bpp: usize, c: [usize; 3]) -> [u8; 16] {
        let mut m = [0x80u8; 16];
        let mut i = 0;
        while i < 3 {
            let (a, b) = (2 * c[i], 2 * (bpp + c[i]));
            m[4 * i] = a as u8;
            m[4 * i + 1] = a as u8 + 1;
            m[4 * i + 2] = b as u8;
            m[4 * i + 3] = b as u8 + 1;
            i += 1;
        }
        m
    }

    /// Safety: every `t.off` must leave 8 elements of `buf` after it.
    #[target_feature(enable = "avx2")]
    unsafe fn px4(buf: &[i16], t: &ColTaps, out: &mut [i32], mask: &[u8; 16]) {
        // SAFETY: 16-byte reads inside `buf` (caller), writes inside 4-element chunks.
        unsafe {
            let m = _mm_loadu_si128(mask.as_ptr().cast());
            let bias = _mm_set1_epi32(GATHER_BIAS);
            let base = buf.as_ptr();
            for ((o, &off), &w) in out.chunks_exact_mut(4).zip(t.off()).zip(t.w()) {
                let v = _mm_shuffle_epi8(_mm_loadu_si128(base.add(off as usize).cast()), m);
                let r = _mm_add_epi32(_mm_madd_epi16(v, _mm_set1_epi32(w as i32)), bias);
                _mm_storeu_si128(o.as_mut_ptr().cast(), r);
            }
        }
    }

    /// Safety: every `t.off` must leave 2 elements of `buf` after it.
    #[target_feature(enable = "avx2")]
    unsafe fn one(buf: &[i16], t: &ColTaps, out: &mut [i32]) {
        let n = out.len().min(t.off().len()) / 8 * 8;
        let (head, tail) = out.split_at_mut(n);
        // SAFETY: 4-byte gathers inside `buf` (caller), 32-byte accesses inside 8-element chunks.
        unsafe {
            let bias = _mm256_set1_epi32(GATHER_BIAS);
            let base = buf.as_ptr().cast::<i32>();
            let it = head
                .chunks_exact_mut(8)
                .zip(t.off().chunks_exact(8))
                .zip(t.w().chunks_exact(8));
            for ((o, off), w) in it {
                let idx = _mm256_loadu_si256(off.as_ptr().cast());
                let v = _mm256_i32gather_epi32::<2>(base, idx);
                let w = _mm256_loadu_si256(w.as_ptr().cast());
                let r = _mm256_add_epi32(_mm256_madd_epi16(v, w), bias);
                _mm256_storeu_si256(o.as_mut_ptr().cast(), r);
            }
        }
        gather_1(buf, &t.off()[n..], &t.w()[n..], tail);
    }

    /// Safety: every `t.off` must leave 4 elements of `buf` after it.
    #[target_feature(enable = "avx2")]
    unsafe fn uv(buf: &[i16], t: &ColTaps, out: &mut [i32]) {
        let n = (out.len() / 2).min(t.off().len()) / 4 * 4;
        let (head, tail) = out.split_at_mut(2 * n);
        // SAFETY: 8-byte gathers inside `buf` (caller), 32-byte accesses inside 8-element chunks.
        unsafe {
            let bias = _mm256_set1_epi32(GATHER_BIAS);
            // [u0 v0 u1 v1] -> [u0 u1 v0 v1] in each 8 bytes.
            let m = _mm256_setr_epi8(
                0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15, 0, 1, 4, 5, 2, 3, 6, 7, 8, 9,
                12, 13, 10, 11, 14, 15,
            );
            let dup = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
            let base = buf.as_ptr().cast::<i64>();
            let it = head
                .chunks_exact_mut(8)
                .zip(t.off().chunks_exact(4))
                .zip(t.w().chunks_exact(4));
            for ((o, off), w) in it {
                let idx = _mm_loadu_si128(off.as_ptr().cast());
                let v = _mm256_shuffle_epi8(_mm256_i32gather_epi64::<2>(base, idx), m);
                let w = _mm256_permutevar8x32_epi32(
                    _mm256_castsi128_si256(_mm_loadu_si128(w.as_ptr().cast())),
                    dup,
                );
                let r = _mm256_add_epi32(_mm256_madd_epi16(v, w), bias);
                _mm256_storeu_si256(o.as_mut_ptr().cast(), r);
            }
        }
        gather_uv(buf, &t.off()[n..], &t.w()[n..], tail);
    }
}
