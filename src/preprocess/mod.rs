//! Frame -> model input tensor, in one pass.
//!
//! A [`Preprocessor`] is built once per (frame format and size, [`PreprocessSpec`])
//! and holds the sampling tables and a reusable scratch area. Each call to
//! [`Preprocessor::run_f32`] / [`Preprocessor::run_u8`] converts, scales,
//! normalises and lays out one frame straight into one batch slot of the
//! input tensor, without allocating.
//!
//! How it works, per output row (`rows.rs`, `kernels.rs`):
//! 1. the two source rows it samples are blended into a row buffer (fixed
//!    point, only the columns the taps use; vectorised);
//! 2. each output pixel blends two neighbours of that buffer (precomputed
//!    taps; `pshufb` + `pmaddwd` / hardware gathers on AVX2, `simd.rs`);
//! 3. the sampled row is converted (YUV -> RGB), normalised and written to the
//!    tensor in its layout (vectorised).
//!
//! On x86-64 CPUs with AVX2 the whole row loop runs from a copy compiled for
//! AVX2 (runtime detection, bit-identical results); elsewhere the portable
//! copy runs. Dispatch on format, output type and layout happens once per
//! frame or row, never per pixel.
//!
//! Decisions:
//! - Bilinear with pixel-centre alignment (`src = (dst + 0.5) * scale - 0.5`,
//!   clamped to the source region), like OpenCV `INTER_LINEAR`. Weights are
//!   quantised to 1/256 pixel vertically and 1/16384 horizontally; identity
//!   and 2:1 averages are exact.
//! - YUV frames are sampled in YUV (luma and chroma with their own tables) and
//!   converted after sampling: much cheaper than converting the whole frame
//!   first, and equal to it except where out-of-gamut colours get clamped.
//!   Chroma is sampled bilinearly at the position of the luma sample, with
//!   chroma samples sited at the centre of their 2x2 luma block (JPEG /
//!   MPEG-1 siting). RGB results are clamped to 0..=255 before normalisation.
//! - Letterbox: content `round(fw * s) x round(fh * s)` placed at
//!   `floor((W - cw) / 2), floor((H - ch) / 2)`; the whole frame is drawn onto
//!   exactly that integer rectangle and [`FrameMapping`] describes exactly it.
//! - Center crop: crop `round(W / s) x round(H / s)` at
//!   `floor((fw - cw) / 2), floor((fh - ch) / 2)`, drawn onto the whole input;
//!   sampling never reads outside the crop (as resizing the cropped image would).
//! - `u8` output rounds to nearest (packed and gray exactly half-up; YUV ties
//!   to even).

mod error;
mod geometry;
mod kernels;
mod rows;
mod simd;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Mutex, TryLockError};

pub use error::PreprocessError;
pub use geometry::FrameMapping;
use geometry::{PlaneTables, place};

use crate::frame::{FrameView, MAX_DIMENSION, PixelFormat, PlaneError, Rect, Size};
use kernels::{FIX_UNIT, Norm, OutElem, VTap, YuvCoeffs};
use rows::{Dest, Src, Writer};
use simd::{Isa, Portable};

/// How the frame is fitted into the model input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleMode {
    /// Whole frame to the whole input; aspect ratio not kept.
    Stretch,
    /// Uniform scale to fit inside, centred, border filled with `pad_value`.
    Letterbox,
    /// Uniform scale to cover, centred; the frame's overhang is cut off.
    CenterCrop,
}

/// Channel order the model expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// Channel placement in the tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorLayout {
    /// Three planes of `width * height`.
    Nchw,
    /// Interleaved channels, `width * height * 3`.
    Nhwc,
}

/// YUV -> RGB matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YuvMatrix {
    /// SD video (Kr = 0.299, Kb = 0.114).
    Bt601,
    /// HD video (Kr = 0.2126, Kb = 0.0722).
    Bt709,
}

/// What the model input looks like and how a frame is turned into it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessSpec {
    /// Model input size in pixels.
    pub input: Size,
    pub scale_mode: ScaleMode,
    pub channel_order: ChannelOrder,
    pub layout: TensorLayout,
    /// `value = (pixel - mean) / std`, pixel in 0..=255, per channel in the
    /// model's channel order. Ignored by [`Preprocessor::run_u8`].
    pub mean: [f32; 3],
    /// See `mean`; must be finite and non-zero.
    pub std: [f32; 3],
    /// Letterbox border, in pixel units (normalised like a pixel).
    pub pad_value: u8,
    /// Matrix for I420 / NV12 frames.
    pub yuv_matrix: YuvMatrix,
    /// True for full-range (0..=255) YUV, false for limited range (Y 16..=235, UV 16..=240).
    pub yuv_full_range: bool,
}

impl PreprocessSpec {
    /// An RGB NCHW stretch spec for a model input of `input`, with raw
    /// pixel values (mean 0, std 1), pad 0, BT.601 limited range.
    pub fn new(input: Size) -> Self {
        Self {
            input,
            scale_mode: ScaleMode::Stretch,
            channel_order: ChannelOrder::Rgb,
            layout: TensorLayout::Nchw,
            mean: [0.0; 3],
            std: [1.0; 3],
            pad_value: 0,
            yuv_matrix: YuvMatrix::Bt601,
            yuv_full_range: false,
        }
    }
}

/// Which monomorphised row loop a frame goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// 3 bytes per pixel; model channels at byte offsets 0,1,2 (`forward`) or 2,1,0.
    Packed3 {
        forward: bool,
    },
    /// 4 bytes per pixel; colour starts at byte 1 (`skip`) or 0, `forward` as above.
    Packed4 {
        skip: bool,
        forward: bool,
    },
    Gray,
    I420,
    Nv12,
}

impl Kernel {
    fn new(format: PixelFormat, order: ChannelOrder) -> Self {
        let Some((bpp, [r, _, b])) = format.packed_layout() else {
            return match format {
                PixelFormat::I420 => Self::I420,
                PixelFormat::Nv12 => Self::Nv12,
                _ => Self::Gray,
            };
        };
        let forward = (r < b) == (order == ChannelOrder::Rgb);
        if bpp == 3 {
            Self::Packed3 { forward }
        } else {
            Self::Packed4 {
                skip: r.min(b) == 1,
                forward,
            }
        }
    }
}

/// Per-frame working memory, reused between frames.
#[derive(Debug)]
struct Scratch {
    /// Vertically blended rows: plane 0 (packed / Y / gray), interleaved UV.
    rows: [Vec<i16>; 2],
    /// Which taps each row buffer currently holds (valid within one frame).
    held: [Option<VTap>; 2],
    /// Horizontally sampled rows: 4-interleaved model channels (packed) or
    /// one channel (gray, Y); interleaved UV.
    chans: [Vec<i32>; 2],
}

impl Scratch {
    fn new(kernel: Kernel, luma: &PlaneTables, chroma: Option<&PlaneTables>, width: usize) -> Self {
        let (luma_chans, uv_chans) = match kernel {
            Kernel::Packed3 { .. } | Kernel::Packed4 { .. } => (4 * width, 0),
            Kernel::Gray => (width, 0),
            Kernel::I420 | Kernel::Nv12 => (width, 2 * width),
        };
        Self {
            rows: [
                vec![0; luma.buf_len()],
                vec![0; chroma.map_or(0, PlaneTables::buf_len)],
            ],
            held: [None; 2],
            chans: [vec![0; luma_chans], vec![0; uv_chans]],
        }
    }
}

/// Converts and scales frames of one format and size into model input tensors.
///
/// Built once per (frame format + size, spec); `run_*` take `&self` and do not
/// allocate (a second thread running the same preprocessor at the same time
/// gets its own temporary scratch). `Send + Sync`.
pub struct Preprocessor {
    format: PixelFormat,
    frame: Size,
    spec: PreprocessSpec,
    kernel: Kernel,
    dst: Rect,
    mapping: FrameMapping,
    luma: PlaneTables,
    chroma: Option<PlaneTables>,
    norm: Norm,
    yuv: YuvCoeffs,
    #[cfg(target_arch = "x86_64")]
    avx2: Option<simd::Avx2>,
    scratch: Mutex<Scratch>,
}

impl fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preprocessor")
            .field("format", &self.format)
            .field("frame", &self.frame)
            .field("spec", &self.spec)
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

impl Preprocessor {
    /// Builds the tables for `format` frames of `frame` size.
    pub fn new(
        format: PixelFormat,
        frame: Size,
        spec: &PreprocessSpec,
    ) -> Result<Self, PreprocessError> {
        Self::for_region(format, frame, Rect::whole(frame), spec)
    }

    /// Builds the tables for `region` of `format` frames of `frame` size:
    /// the region is fitted into the model input as a whole frame would be
    /// (scale mode, colour, mean / std), and sampling never reads outside
    /// it, so the result equals preprocessing the region cut out as an
    /// image of its own (for YUV frames, when the region starts on an even
    /// pixel). The mapping relates model-input and *frame* coordinates.
    pub fn for_region(
        format: PixelFormat,
        frame: Size,
        region: Rect,
        spec: &PreprocessSpec,
    ) -> Result<Self, PreprocessError> {
        check_size("frame", frame)?;
        check_size("model input", spec.input)?;
        check_size("region", region.size())?;
        if region.right() > frame.width || region.bottom() > frame.height {
            return Err(PreprocessError::RegionOutside { region, frame });
        }
        for (channel, (&mean, &std)) in spec.mean.iter().zip(&spec.std).enumerate() {
            if !mean.is_finite() || !std.is_finite() || std == 0.0 {
                return Err(PreprocessError::InvalidNormalization { channel, mean, std });
            }
        }
        let (placed, dst) = place(region.size(), spec.input, spec.scale_mode);
        let src = Rect::new(
            region.x + placed.x,
            region.y + placed.y,
            placed.width,
            placed.height,
        );
        if spec
            .input
            .width
            .checked_mul(spec.input.height)
            .and_then(|n| n.checked_mul(3))
            .is_none()
        {
            return Err(PreprocessError::TooLarge {
                what: "model input",
                width: spec.input.width,
                height: spec.input.height,
            });
        }
        let kernel = Kernel::new(format, spec.channel_order);
        let luma_bpp = format.packed_layout().map_or(1, |l| l.0);
        let luma = PlaneTables::new(src, dst, 1, luma_bpp);
        let chroma = format.is_yuv().then(|| PlaneTables::new(src, dst, 2, 2));
        let scratch = Scratch::new(kernel, &luma, chroma.as_ref(), dst.width);
        let k_px = spec.std.map(|s| 1.0 / s);
        let norm = Norm {
            k_fix: k_px.map(|k| k * FIX_UNIT),
            k_px,
            b: [0, 1, 2].map(|c| -spec.mean[c] / spec.std[c]),
        };
        Ok(Self {
            format,
            frame,
            spec: spec.clone(),
            kernel,
            dst,
            mapping: FrameMapping::from_rects(src, dst, frame),
            luma,
            chroma,
            norm,
            yuv: yuv_coeffs(spec.yuv_matrix, spec.yuv_full_range, spec.channel_order),
            #[cfg(target_arch = "x86_64")]
            avx2: simd::Avx2::detect(),
            scratch: Mutex::new(scratch),
        })
    }

    /// How model-input coordinates relate to frame coordinates.
    pub fn mapping(&self) -> FrameMapping {
        self.mapping
    }

    /// Elements of one batch slot: `3 * width * height` (gray frames produce 3 channels too).
    pub fn tensor_len(&self) -> usize {
        3 * self.spec.input.area()
    }

    /// The frame format this preprocessor reads.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The frame size this preprocessor reads.
    pub fn frame_size(&self) -> Size {
        self.frame
    }

    /// The spec it was built with.
    pub fn spec(&self) -> &PreprocessSpec {
        &self.spec
    }

    /// Fills `out` (one batch slot, [`Self::tensor_len`] floats) with
    /// `(pixel - mean) / std` in the spec's layout and channel order.
    pub fn run_f32(&self, frame: &FrameView, out: &mut [f32]) -> Result<(), PreprocessError> {
        self.run(frame, out)
    }

    /// Fills `out` (one batch slot, [`Self::tensor_len`] bytes) with the
    /// sampled pixels, rounded, without mean / std.
    pub fn run_u8(&self, frame: &FrameView, out: &mut [u8]) -> Result<(), PreprocessError> {
        self.run(frame, out)
    }

    fn run<T: OutElem>(&self, frame: &FrameView, out: &mut [T]) -> Result<(), PreprocessError> {
        self.check_frame(frame)?;
        if out.len() != self.tensor_len() {
            return Err(PreprocessError::OutputLength {
                expected: self.tensor_len(),
                got: out.len(),
            });
        }
        let mut own;
        let mut guard;
        let scratch: &mut Scratch = match self.scratch.try_lock() {
            Ok(g) => {
                guard = g;
                &mut guard
            }
            Err(TryLockError::Poisoned(p)) => {
                guard = p.into_inner();
                &mut guard
            }
            Err(TryLockError::WouldBlock) => {
                own = Scratch::new(
                    self.kernel,
                    &self.luma,
                    self.chroma.as_ref(),
                    self.dst.width,
                );
                &mut own
            }
        };
        scratch.held = [None; 2];
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = self.avx2 {
            // SAFETY: an `Avx2` value only exists when the CPU has AVX2.
            unsafe { self.process_avx2(frame, out, scratch, avx2) };
            return Ok(());
        }
        self.process(frame, out, scratch, Portable);
        Ok(())
    }

    fn check_frame(&self, frame: &FrameView) -> Result<(), PreprocessError> {
        let expected = (self.format, self.frame);
        let got = (frame.format, frame.size);
        if expected != got {
            return Err(PreprocessError::FrameMismatch { expected, got });
        }
        frame.check_planes().map_err(|e| match e {
            PlaneError::TooShort { plane, len: 0, .. } => PreprocessError::MissingPlane {
                format: self.format,
                plane,
            },
            PlaneError::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => PreprocessError::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            },
            PlaneError::TooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => PreprocessError::PlaneTooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            },
        })
    }

    /// [`Self::process`] compiled with AVX2 enabled (the vertical blends and
    /// writers vectorise twice as wide, and the gathers use AVX2).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2<T: OutElem>(
        &self,
        frame: &FrameView,
        out: &mut [T],
        s: &mut Scratch,
        isa: simd::Avx2,
    ) {
        self.process(frame, out, s, isa);
    }

    /// The whole frame; everything below is inlined so it is compiled once
    /// per (output type, instruction set).
    #[inline(always)]
    fn process<T: OutElem, I: Isa>(
        &self,
        frame: &FrameView,
        out: &mut [T],
        s: &mut Scratch,
        isa: I,
    ) {
        let plane_len = self.spec.input.area();
        let dest = match self.spec.layout {
            TensorLayout::Nchw => {
                let (p0, rest) = out.split_at_mut(plane_len);
                let (p1, p2) = rest.split_at_mut(plane_len);
                Dest::Planar([p0, p1, p2])
            }
            TensorLayout::Nhwc => Dest::Interleaved(out),
        };
        let mut w = Writer {
            dest,
            width: self.spec.input.width,
            dst: self.dst,
            norm: &self.norm,
            yuv: &self.yuv,
        };
        w.fill_border(self.spec.pad_value);
        match self.kernel {
            Kernel::Packed3 { forward: true } => {
                self.rows_packed::<T, I, 3, 0, 1, 2>(frame, &mut w, s, isa)
            }
            Kernel::Packed3 { forward: false } => {
                self.rows_packed::<T, I, 3, 2, 1, 0>(frame, &mut w, s, isa)
            }
            Kernel::Packed4 {
                skip: false,
                forward: true,
            } => self.rows_packed::<T, I, 4, 0, 1, 2>(frame, &mut w, s, isa),
            Kernel::Packed4 {
                skip: false,
                forward: false,
            } => self.rows_packed::<T, I, 4, 2, 1, 0>(frame, &mut w, s, isa),
            Kernel::Packed4 {
                skip: true,
                forward: true,
            } => self.rows_packed::<T, I, 4, 1, 2, 3>(frame, &mut w, s, isa),
            Kernel::Packed4 {
                skip: true,
                forward: false,
            } => self.rows_packed::<T, I, 4, 3, 2, 1>(frame, &mut w, s, isa),
            Kernel::Gray => self.rows_gray(frame, &mut w, s, isa),
            Kernel::I420 | Kernel::Nv12 => self.rows_yuv(frame, &mut w, s, isa),
        }
    }

    #[inline(always)]
    fn rows_packed<
        T: OutElem,
        I: Isa,
        const BPP: usize,
        const C0: usize,
        const C1: usize,
        const C2: usize,
    >(
        &self,
        frame: &FrameView,
        w: &mut Writer<T>,
        s: &mut Scratch,
        isa: I,
    ) {
        let t = &self.luma;
        let src = Src::new(frame, 0, t, BPP);
        let [row, _] = &mut s.rows;
        let [held, _] = &mut s.held;
        let [px, _] = &mut s.chans;
        for (j, vt) in t.rows.iter().enumerate() {
            src.blend(vt, row, held);
            isa.px4::<BPP, C0, C1, C2>(row, &t.cols, px);
            w.px4(self.dst.y + j, px);
        }
    }

    #[inline(always)]
    fn rows_gray<T: OutElem, I: Isa>(
        &self,
        frame: &FrameView,
        w: &mut Writer<T>,
        s: &mut Scratch,
        isa: I,
    ) {
        let t = &self.luma;
        let src = Src::new(frame, 0, t, 1);
        let [row, _] = &mut s.rows;
        let [held, _] = &mut s.held;
        let [gray, _] = &mut s.chans;
        for (j, vt) in t.rows.iter().enumerate() {
            src.blend(vt, row, held);
            isa.one(row, &t.cols, gray);
            w.gray(self.dst.y + j, gray);
        }
    }

    #[inline(always)]
    fn rows_yuv<T: OutElem, I: Isa>(
        &self,
        frame: &FrameView,
        w: &mut Writer<T>,
        s: &mut Scratch,
        isa: I,
    ) {
        let (lt, Some(ct)) = (&self.luma, &self.chroma) else {
            return;
        };
        let i420 = self.format == PixelFormat::I420;
        let ys = Src::new(frame, 0, lt, 1);
        let (us, vs) = (
            Src::new(frame, 1, ct, if i420 { 1 } else { 2 }),
            Src::new(frame, 2, ct, 1),
        );
        let [y_row, uv_row] = &mut s.rows;
        let [y_held, uv_held] = &mut s.held;
        let [y, uv] = &mut s.chans;
        for (j, (lv, cv)) in lt.rows.iter().zip(&ct.rows).enumerate() {
            ys.blend(lv, y_row, y_held);
            if i420 {
                Src::blend_uv(&us, &vs, cv, uv_row, uv_held);
            } else {
                us.blend(cv, uv_row, uv_held);
            }
            isa.one(y_row, &lt.cols, y);
            isa.uv(uv_row, &ct.cols, uv);
            w.yuv(self.dst.y + j, y, uv);
        }
    }
}

fn check_size(what: &'static str, size: Size) -> Result<(), PreprocessError> {
    let Size { width, height } = size;
    if width == 0 || height == 0 {
        return Err(PreprocessError::ZeroSize {
            what,
            width,
            height,
        });
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(PreprocessError::TooLarge {
            what,
            width,
            height,
        });
    }
    Ok(())
}

/// YUV -> RGB coefficients for fixed-point samples.
fn yuv_coeffs(matrix: YuvMatrix, full_range: bool, order: ChannelOrder) -> YuvCoeffs {
    let (kr, kb) = match matrix {
        YuvMatrix::Bt601 => (0.299f64, 0.114f64),
        YuvMatrix::Bt709 => (0.2126, 0.0722),
    };
    let kg = 1.0 - kr - kb;
    let (y_scale, y_off, c_scale) = if full_range {
        (1.0, 0.0, 1.0)
    } else {
        (255.0 / 219.0, 16.0, 255.0 / 224.0)
    };
    let r_v = c_scale * 2.0 * (1.0 - kr);
    let g_u = -c_scale * 2.0 * kb * (1.0 - kb) / kg;
    let g_v = -c_scale * 2.0 * kr * (1.0 - kr) / kg;
    let b_u = c_scale * 2.0 * (1.0 - kb);
    let y0 = -y_scale * y_off;
    let unit = f64::from(FIX_UNIT);
    YuvCoeffs {
        y_k: (y_scale * unit) as f32,
        r_v: (r_v * unit) as f32,
        g_u: (g_u * unit) as f32,
        g_v: (g_v * unit) as f32,
        b_u: (b_u * unit) as f32,
        c: [y0 - 128.0 * r_v, y0 - 128.0 * (g_u + g_v), y0 - 128.0 * b_u].map(|v| v as f32),
        bgr: order == ChannelOrder::Bgr,
    }
}
