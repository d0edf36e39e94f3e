//! Reading source rows and writing tensor rows.

use super::geometry::PlaneTables;
use super::kernels::{
    Norm, OutElem, VTap, YuvCoeffs, vblend, vblend_uv, write_1_interleaved, write_1_planar,
    write_px4_interleaved, write_px4_planar, write_yuv_interleaved, write_yuv_planar,
};
use crate::frame::{FrameView, Rect};

/// One plane of the frame, ready to read the columns its tables need.
pub(super) struct Src<'a> {
    data: &'a [u8],
    stride: usize,
    /// First byte of the needed columns within a row.
    lo: usize,
    /// Bytes of needed columns.
    len: usize,
}

impl<'a> Src<'a> {
    /// Plane `plane` of `frame`, read through tables `t`, `bpp` bytes per pixel.
    #[inline(always)]
    pub(super) fn new(frame: &FrameView<'a>, plane: usize, t: &PlaneTables, bpp: usize) -> Self {
        Self {
            data: frame.planes[plane],
            stride: frame.strides[plane],
            lo: t.col_lo * bpp,
            len: t.col_fill * bpp,
        }
    }

    #[inline(always)]
    fn rows(&self, vt: &VTap) -> [&'a [u8]; 2] {
        [vt.y0, vt.y1].map(|y| &self.data[y * self.stride + self.lo..][..self.len])
    }

    /// Blends the two rows of `vt` into `buf`, unless it already holds them.
    #[inline(always)]
    pub(super) fn blend(&self, vt: &VTap, buf: &mut [i16], held: &mut Option<VTap>) {
        if *held != Some(*vt) {
            *held = Some(*vt);
            let [a, b] = self.rows(vt);
            vblend(a, b, vt.w0, vt.w1, &mut buf[..self.len]);
        }
    }

    /// Blends U and V rows into one interleaved UV buffer (I420).
    #[inline(always)]
    pub(super) fn blend_uv(
        u: &Self,
        v: &Self,
        vt: &VTap,
        buf: &mut [i16],
        held: &mut Option<VTap>,
    ) {
        if *held != Some(*vt) {
            *held = Some(*vt);
            vblend_uv(u.rows(vt), v.rows(vt), vt.w0, vt.w1, &mut buf[..2 * u.len]);
        }
    }
}

/// The output slot.
pub(super) enum Dest<'o, T> {
    Planar([&'o mut [T]; 3]),
    Interleaved(&'o mut [T]),
}

/// Writes sampled rows into the content rectangle of the output slot.
pub(super) struct Writer<'o, 'p, T> {
    pub dest: Dest<'o, T>,
    /// Model input width.
    pub width: usize,
    /// Content rectangle.
    pub dst: Rect,
    pub norm: &'p Norm,
    pub yuv: &'p YuvCoeffs,
}

impl<T: OutElem> Writer<'_, '_, T> {
    /// The content part of output row `y`: three plane rows, or one interleaved row.
    #[inline(always)]
    fn row(&mut self, y: usize) -> Dest<'_, T> {
        let (start, n) = (y * self.width + self.dst.x, self.dst.width);
        match &mut self.dest {
            Dest::Planar(p) => Dest::Planar(p.each_mut().map(|p| &mut p[start..start + n])),
            Dest::Interleaved(out) => Dest::Interleaved(&mut out[start * 3..(start + n) * 3]),
        }
    }

    /// 4-interleaved fixed-point pixels (model channel order) into output row `y`.
    #[inline(always)]
    pub(super) fn px4(&mut self, y: usize, src: &[i32]) {
        let n = self.norm;
        match self.row(y) {
            Dest::Planar(rows) => write_px4_planar(src, rows, n),
            Dest::Interleaved(row) => write_px4_interleaved(src, row, n),
        }
    }

    /// One fixed-point gray row into all three channels of output row `y`.
    #[inline(always)]
    pub(super) fn gray(&mut self, y: usize, src: &[i32]) {
        let n = self.norm;
        match self.row(y) {
            Dest::Planar(rows) => {
                for ((row, k), b) in rows.into_iter().zip(n.k_fix).zip(n.b) {
                    write_1_planar(src, row, k, b);
                }
            }
            Dest::Interleaved(row) => write_1_interleaved(src, row, n),
        }
    }

    /// Fixed-point Y row and interleaved UV row into output row `y`.
    #[inline(always)]
    pub(super) fn yuv(&mut self, y: usize, ys: &[i32], uv: &[i32]) {
        let (n, c) = (self.norm, self.yuv);
        match self.row(y) {
            Dest::Planar(rows) if c.bgr => write_yuv_planar::<T, true>(ys, uv, rows, c, n),
            Dest::Planar(rows) => write_yuv_planar::<T, false>(ys, uv, rows, c, n),
            Dest::Interleaved(row) if c.bgr => write_yuv_interleaved::<T, true>(ys, uv, row, c, n),
            Dest::Interleaved(row) => write_yuv_interleaved::<T, false>(ys, uv, row, c, n),
        }
    }

    /// Fills everything outside the content rectangle with `pad`.
    pub(super) fn fill_border(&mut self, pad: u8) {
        let (mw, d) = (self.width, self.dst);
        let rows = match &self.dest {
            Dest::Planar(p) => p[0].len() / mw,
            Dest::Interleaved(out) => out.len() / (3 * mw),
        };
        if d.width == mw && d.height == rows {
            return;
        }
        let n = self.norm;
        let pad = [0, 1, 2].map(|c| T::from_px(f32::from(pad), n.k_px[c], n.b[c]));
        let (top, bottom) = (d.y * mw, d.bottom() * mw);
        match &mut self.dest {
            Dest::Planar(planes) => {
                for (plane, v) in planes.iter_mut().zip(pad) {
                    plane[..top].fill(v);
                    plane[bottom..].fill(v);
                    if d.width < mw {
                        for row in plane[top..bottom].chunks_exact_mut(mw) {
                            row[..d.x].fill(v);
                            row[d.right()..].fill(v);
                        }
                    }
                }
            }
            Dest::Interleaved(out) => {
                let fill = |s: &mut [T]| {
                    s.chunks_exact_mut(3)
                        .for_each(|px| px.copy_from_slice(&pad))
                };
                fill(&mut out[..top * 3]);
                fill(&mut out[bottom * 3..]);
                if d.width < mw {
                    for row in out[top * 3..bottom * 3].chunks_exact_mut(mw * 3) {
                        fill(&mut row[..d.x * 3]);
                        fill(&mut row[d.right() * 3..]);
                    }
                }
            }
        }
    }
}
