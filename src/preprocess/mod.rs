//! Frame -> model input tensor, in one pass.
//!
//! A [`Preprocessor`] is built once per (frame format and size, [`PreprocessSpec`])
//! and holds the sampling tables and a reusable scratch area. Each call to
//! [`Preprocessor::run_f32`] / [`Preprocessor::run_u8`] converts, scales,
//! normalises and lays out one frame straight into one batch slot of the
//! input tensor, without allocating.
//!
//! How it works, per output row: the two source rows the row samples are
//! blended (fixed point, vectorised) into a row buffer; each output pixel then
//! blends two neighbours of that buffer (bilinear, precomputed taps) into
//! per-channel rows; those are converted (YUV -> RGB), normalised and written
//! to the tensor (vectorised). YUV frames are sampled in YUV (luma and chroma
//! with their own tables) and converted after sampling, which is cheaper than
//! converting the whole frame first and equal up to clamping of out-of-gamut
//! colours.
//!
//! Decisions:
//! - Bilinear with pixel-centre alignment (`src = (dst + 0.5) * scale - 0.5`,
//!   clamped to the source region), like OpenCV `INTER_LINEAR`. Weights are
//!   quantised to 1/256 pixel vertically and 1/32768 horizontally; identity
//!   and 2:1 averages are exact.
//! - Letterbox: content `round(fw * s) x round(fh * s)` placed at
//!   `floor((W - cw) / 2), floor((H - ch) / 2)`; the whole frame is drawn onto
//!   exactly that integer rectangle and [`FrameMapping`] describes exactly it.
//! - Center crop: crop `round(W / s) x round(H / s)` at
//!   `floor((fw - cw) / 2), floor((fh - ch) / 2)`, drawn onto the whole input;
//!   sampling never reads outside the crop (as resizing the cropped image would).
//! - Chroma (I420, NV12) is sampled bilinearly at the position corresponding
//!   to the luma sample, with chroma samples sited at the centre of their 2x2
//!   luma block (JPEG / MPEG-1 siting).

mod geometry;
mod kernels;
#[cfg(test)]
mod tests;

use std::error::Error;
use std::fmt;
use std::sync::{Mutex, TryLockError};

pub use geometry::FrameMapping;
use geometry::{PlaneTables, Rect, place};
use kernels::{
    FIX_UNIT, Norm, OutElem, VTap, YuvCoeffs, gather1, gather2, gather3, vblend,
    write_fixed_interleaved, write_fixed_planar, write_yuv_interleaved, write_yuv_planar,
};

/// Largest frame or model-input side accepted.
pub const MAX_DIMENSION: usize = 1 << 16;

/// Raw video formats the preprocessor reads (GStreamer names: RGB, BGR, RGBA, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
    Xrgb,
    Xbgr,
    Argb,
    Abgr,
    /// Planar 4:2:0: Y, U, V planes; chroma planes `ceil(w/2) x ceil(h/2)`.
    I420,
    /// Semi-planar 4:2:0: Y plane, then interleaved UV `ceil(w/2) x ceil(h/2)` pairs.
    Nv12,
    /// One 8-bit luma plane; produces three identical channels.
    Gray8,
}

impl PixelFormat {
    /// Every supported format.
    pub const ALL: [PixelFormat; 13] = [
        Self::Rgb,
        Self::Bgr,
        Self::Rgba,
        Self::Bgra,
        Self::Rgbx,
        Self::Bgrx,
        Self::Xrgb,
        Self::Xbgr,
        Self::Argb,
        Self::Abgr,
        Self::I420,
        Self::Nv12,
        Self::Gray8,
    ];

    /// Number of planes a [`FrameView`] of this format must carry.
    pub fn plane_count(self) -> usize {
        match self {
            Self::I420 => 3,
            Self::Nv12 => 2,
            _ => 1,
        }
    }

    /// True for the YUV formats (I420, NV12).
    pub fn is_yuv(self) -> bool {
        matches!(self, Self::I420 | Self::Nv12)
    }

    /// Packed RGB formats: (bytes per pixel, byte offsets of R, G, B).
    fn packed_layout(self) -> Option<(usize, [usize; 3])> {
        Some(match self {
            Self::Rgb => (3, [0, 1, 2]),
            Self::Bgr => (3, [2, 1, 0]),
            Self::Rgba | Self::Rgbx => (4, [0, 1, 2]),
            Self::Bgra | Self::Bgrx => (4, [2, 1, 0]),
            Self::Argb | Self::Xrgb => (4, [1, 2, 3]),
            Self::Abgr | Self::Xbgr => (4, [3, 2, 1]),
            Self::I420 | Self::Nv12 | Self::Gray8 => return None,
        })
    }

    /// Per plane: (bytes in one row of pixels, number of rows).
    fn plane_shapes(self, width: usize, height: usize) -> [Option<(usize, usize)>; 3] {
        let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
        match self {
            Self::I420 => [Some((width, height)), Some((cw, ch)), Some((cw, ch))],
            Self::Nv12 => [Some((width, height)), Some((cw * 2, ch)), None],
            Self::Gray8 => [Some((width, height)), None, None],
            _ => {
                let bpp = self.packed_layout().map_or(4, |l| l.0);
                [Some((width * bpp, height)), None, None]
            }
        }
    }
}

/// One mapped frame: plane slices and their row strides in bytes (as
/// GStreamer's `VideoFrameRef` gives them). Packed formats use plane 0; I420
/// uses 3 planes (Y, U, V, chroma subsampled 2x2, odd sizes round up); NV12
/// uses 2 (Y, interleaved UV). Unused planes are empty slices.
///
/// A plane must hold `stride * (rows - 1) + row_bytes` bytes; the last row
/// need not be padded to the stride.
#[derive(Debug, Clone, Copy)]
pub struct FrameView<'a> {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
}

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
    /// Model input width in pixels.
    pub width: usize,
    /// Model input height in pixels.
    pub height: usize,
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
    /// A `width x height` RGB NCHW stretch spec with raw pixel values
    /// (mean 0, std 1), pad 0, BT.601 limited range.
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
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

/// Why a preprocessor could not be built or a frame could not be processed.
#[derive(Debug, Clone, PartialEq)]
pub enum PreprocessError {
    /// A frame or model-input size has a zero side.
    ZeroSize {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// A frame or model-input size is larger than [`MAX_DIMENSION`].
    TooLarge {
        what: &'static str,
        width: usize,
        height: usize,
    },
    /// A `std` entry is zero or not finite, or a `mean` entry is not finite.
    InvalidNormalization { channel: usize, mean: f32, std: f32 },
    /// The frame's format or size differs from the one the preprocessor was built for.
    FrameMismatch {
        expected: (PixelFormat, usize, usize),
        got: (PixelFormat, usize, usize),
    },
    /// A plane the format needs is empty.
    MissingPlane { format: PixelFormat, plane: usize },
    /// A plane's stride is smaller than one row of pixels.
    StrideTooSmall {
        plane: usize,
        stride: usize,
        row_bytes: usize,
    },
    /// A plane holds fewer bytes than its stride and rows need.
    PlaneTooShort {
        plane: usize,
        len: usize,
        needed: usize,
        stride: usize,
        rows: usize,
    },
    /// The output slot does not have [`Preprocessor::tensor_len`] elements.
    OutputLength { expected: usize, got: usize },
}

impl fmt::Display for PreprocessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::ZeroSize {
                what,
                width,
                height,
            } => {
                write!(
                    f,
                    "{what} size {width}x{height} is empty: width and height must be at least 1"
                )
            }
            Self::TooLarge {
                what,
                width,
                height,
            } => {
                write!(
                    f,
                    "{what} size {width}x{height} is too large: each side must be at most {MAX_DIMENSION}"
                )
            }
            Self::InvalidNormalization { channel, mean, std } => write!(
                f,
                "normalisation of channel {channel} is invalid (mean {mean}, std {std}): \
                 mean must be finite and std finite and non-zero"
            ),
            Self::FrameMismatch {
                expected: (ef, ew, eh),
                got: (gf, gw, gh),
            } => write!(
                f,
                "frame is {gf:?} {gw}x{gh} but the preprocessor was built for {ef:?} {ew}x{eh}; \
                 build a new preprocessor when the caps change"
            ),
            Self::MissingPlane { format, plane } => write!(
                f,
                "{format:?} frame needs {} plane(s) but plane {plane} is empty",
                format.plane_count()
            ),
            Self::StrideTooSmall {
                plane,
                stride,
                row_bytes,
            } => write!(
                f,
                "plane {plane} stride is {stride} bytes but one row of pixels needs {row_bytes} bytes"
            ),
            Self::PlaneTooShort {
                plane,
                len,
                needed,
                stride,
                rows,
            } => write!(
                f,
                "plane {plane} holds {len} bytes but {rows} rows at stride {stride} need {needed} bytes"
            ),
            Self::OutputLength { expected, got } => write!(
                f,
                "output slot has {got} elements but the tensor needs {expected} (3 x height x width)"
            ),
        }
    }
}

impl Error for PreprocessError {}

/// Which monomorphised row loop a frame goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kernel {
    /// 3 bytes per pixel; model channels at byte offsets 0,1,2 (`true`) or 2,1,0.
    Packed3 {
        forward: bool,
    },
    /// 4 bytes per pixel; colour starts at byte `1` (`skip`) or 0, forward as above.
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
    /// Vertically blended rows: plane 0 (packed / Y / gray), U or UV, V.
    rows: [Vec<u16>; 3],
    /// Which taps each row buffer currently holds (valid within one frame).
    held: [Option<VTap>; 3],
    /// Horizontally sampled channel rows (model channels, or Y, U, V).
    chans: [Vec<i32>; 3],
}

/// Converts and scales frames of one format and size into model input tensors.
///
/// Built once per (frame format + size, spec); `run_*` take `&self` and do not
/// allocate (a second thread running the same preprocessor at the same time
/// gets its own temporary scratch). `Send + Sync`.
pub struct Preprocessor {
    format: PixelFormat,
    frame_width: usize,
    frame_height: usize,
    spec: PreprocessSpec,
    kernel: Kernel,
    dst: Rect,
    mapping: FrameMapping,
    luma: PlaneTables,
    chroma: Option<PlaneTables>,
    norm: Norm,
    yuv: YuvCoeffs,
    use_avx2: bool,
    scratch: Mutex<Scratch>,
}

impl fmt::Debug for Preprocessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Preprocessor")
            .field("format", &self.format)
            .field("frame_width", &self.frame_width)
            .field("frame_height", &self.frame_height)
            .field("spec", &self.spec)
            .field("mapping", &self.mapping)
            .finish_non_exhaustive()
    }
}

impl Preprocessor {
    /// Builds the tables for `format` frames of `frame_width x frame_height`.
    pub fn new(
        format: PixelFormat,
        frame_width: usize,
        frame_height: usize,
        spec: &PreprocessSpec,
    ) -> Result<Self, PreprocessError> {
        check_size("frame", frame_width, frame_height)?;
        check_size("model input", spec.width, spec.height)?;
        for (channel, (&mean, &std)) in spec.mean.iter().zip(&spec.std).enumerate() {
            if !mean.is_finite() || !std.is_finite() || std == 0.0 {
                return Err(PreprocessError::InvalidNormalization { channel, mean, std });
            }
        }
        let (src, dst) = place(
            frame_width,
            frame_height,
            spec.width,
            spec.height,
            spec.scale_mode,
        );
        let kernel = Kernel::new(format, spec.channel_order);
        let luma_bpp = format.packed_layout().map_or(1, |l| l.0);
        let luma = PlaneTables::new(src, dst, 1, luma_bpp);
        let chroma = match format {
            PixelFormat::I420 => Some(PlaneTables::new(src, dst, 2, 1)),
            PixelFormat::Nv12 => Some(PlaneTables::new(src, dst, 2, 2)),
            _ => None,
        };
        let k_px = spec.std.map(|s| 1.0 / s);
        let norm = Norm {
            k_fix: k_px.map(|k| k * FIX_UNIT),
            k_px,
            b: [0, 1, 2].map(|c| -spec.mean[c] / spec.std[c]),
        };
        let yuv = yuv_coeffs(spec.yuv_matrix, spec.yuv_full_range, spec.channel_order);
        let pre = Self {
            format,
            frame_width,
            frame_height,
            spec: spec.clone(),
            kernel,
            dst,
            mapping: FrameMapping::from_rects(src, dst, frame_width, frame_height),
            scratch: Mutex::new(Scratch {
                rows: Default::default(),
                held: [None; 3],
                chans: Default::default(),
            }),
            luma,
            chroma,
            norm,
            yuv,
            use_avx2: detect_avx2(),
        };
        *pre.scratch.lock().unwrap_or_else(|e| e.into_inner()) = pre.new_scratch();
        Ok(pre)
    }

    /// How model-input coordinates relate to frame coordinates.
    pub fn mapping(&self) -> FrameMapping {
        self.mapping
    }

    /// Elements of one batch slot: `3 * width * height` (gray frames produce 3 channels too).
    pub fn tensor_len(&self) -> usize {
        3 * self.spec.width * self.spec.height
    }

    /// The frame format this preprocessor reads.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The frame size this preprocessor reads.
    pub fn frame_size(&self) -> (usize, usize) {
        (self.frame_width, self.frame_height)
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

    fn new_scratch(&self) -> Scratch {
        let chroma_len = self.chroma.as_ref().map_or(0, PlaneTables::buf_len);
        let v_len = if self.format == PixelFormat::I420 {
            chroma_len
        } else {
            0
        };
        Scratch {
            rows: [
                vec![0; self.luma.buf_len()],
                vec![0; chroma_len],
                vec![0; v_len],
            ],
            held: [None; 3],
            chans: [
                vec![0; self.dst.w],
                vec![0; self.dst.w],
                vec![0; self.dst.w],
            ],
        }
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
                own = self.new_scratch();
                &mut own
            }
        };
        scratch.held = [None; 3];
        #[cfg(target_arch = "x86_64")]
        if self.use_avx2 {
            // SAFETY: `use_avx2` is only set when the CPU reports AVX2.
            unsafe { self.process_avx2(frame, out, scratch) };
            return Ok(());
        }
        self.process(frame, out, scratch);
        Ok(())
    }

    fn check_frame(&self, frame: &FrameView) -> Result<(), PreprocessError> {
        let expected = (self.format, self.frame_width, self.frame_height);
        let got = (frame.format, frame.width, frame.height);
        if expected != got {
            return Err(PreprocessError::FrameMismatch { expected, got });
        }
        let shapes = self.format.plane_shapes(frame.width, frame.height);
        for (plane, shape) in shapes.iter().enumerate() {
            let Some((row_bytes, rows)) = *shape else {
                continue;
            };
            let (data, stride) = (frame.planes[plane], frame.strides[plane]);
            if data.is_empty() {
                return Err(PreprocessError::MissingPlane {
                    format: self.format,
                    plane,
                });
            }
            if stride < row_bytes {
                return Err(PreprocessError::StrideTooSmall {
                    plane,
                    stride,
                    row_bytes,
                });
            }
            let needed = stride
                .checked_mul(rows - 1)
                .and_then(|b| b.checked_add(row_bytes));
            if needed.is_none_or(|n| data.len() < n) {
                let needed = needed.unwrap_or(usize::MAX);
                return Err(PreprocessError::PlaneTooShort {
                    plane,
                    len: data.len(),
                    needed,
                    stride,
                    rows,
                });
            }
        }
        Ok(())
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2<T: OutElem>(&self, frame: &FrameView, out: &mut [T], s: &mut Scratch) {
        self.process(frame, out, s);
    }

    /// The whole frame; everything below is inlined so it is compiled once
    /// per (output type, instruction set).
    #[inline(always)]
    fn process<T: OutElem>(&self, frame: &FrameView, out: &mut [T], s: &mut Scratch) {
        let plane_len = self.spec.width * self.spec.height;
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
            width: self.spec.width,
            dst: self.dst,
            norm: &self.norm,
            yuv: &self.yuv,
        };
        w.fill_border(self.spec.pad_value);
        match self.kernel {
            Kernel::Packed3 { forward: true } => {
                self.rows_packed::<T, 3, 0, 1, 2>(frame, &mut w, s)
            }
            Kernel::Packed3 { forward: false } => {
                self.rows_packed::<T, 3, 2, 1, 0>(frame, &mut w, s)
            }
            Kernel::Packed4 {
                skip: false,
                forward: true,
            } => self.rows_packed::<T, 4, 0, 1, 2>(frame, &mut w, s),
            Kernel::Packed4 {
                skip: false,
                forward: false,
            } => self.rows_packed::<T, 4, 2, 1, 0>(frame, &mut w, s),
            Kernel::Packed4 {
                skip: true,
                forward: true,
            } => self.rows_packed::<T, 4, 1, 2, 3>(frame, &mut w, s),
            Kernel::Packed4 {
                skip: true,
                forward: false,
            } => self.rows_packed::<T, 4, 3, 2, 1>(frame, &mut w, s),
            Kernel::Gray => self.rows_gray(frame, &mut w, s),
            Kernel::I420 => self.rows_i420(frame, &mut w, s),
            Kernel::Nv12 => self.rows_nv12(frame, &mut w, s),
        }
    }

    #[inline(always)]
    fn rows_packed<
        T: OutElem,
        const BPP: usize,
        const C0: usize,
        const C1: usize,
        const C2: usize,
    >(
        &self,
        frame: &FrameView,
        w: &mut Writer<T>,
        s: &mut Scratch,
    ) {
        let t = &self.luma;
        let src = Src::new(frame, 0, t);
        let [c0, c1, c2] = &mut s.chans;
        for (j, vt) in t.rows.iter().enumerate() {
            src.blend(vt, &mut s.rows[0], &mut s.held[0]);
            gather3::<BPP, C0, C1, C2>(&s.rows[0], &t.cols, [c0, c1, c2]);
            w.fixed(self.dst.y + j, [c0, c1, c2]);
        }
    }

    #[inline(always)]
    fn rows_gray<T: OutElem>(&self, frame: &FrameView, w: &mut Writer<T>, s: &mut Scratch) {
        let t = &self.luma;
        let src = Src::new(frame, 0, t);
        let c0 = &mut s.chans[0];
        for (j, vt) in t.rows.iter().enumerate() {
            src.blend(vt, &mut s.rows[0], &mut s.held[0]);
            gather1::<1, 0>(&s.rows[0], &t.cols, c0);
            w.fixed(self.dst.y + j, [c0, c0, c0]);
        }
    }

    #[inline(always)]
    fn rows_i420<T: OutElem>(&self, frame: &FrameView, w: &mut Writer<T>, s: &mut Scratch) {
        let (lt, Some(ct)) = (&self.luma, &self.chroma) else {
            return;
        };
        let (ys, us, vs) = (
            Src::new(frame, 0, lt),
            Src::new(frame, 1, ct),
            Src::new(frame, 2, ct),
        );
        let [r0, r1, r2] = &mut s.rows;
        let [h0, h1, h2] = &mut s.held;
        let [c0, c1, c2] = &mut s.chans;
        for (j, (lv, cv)) in lt.rows.iter().zip(&ct.rows).enumerate() {
            ys.blend(lv, r0, h0);
            us.blend(cv, r1, h1);
            vs.blend(cv, r2, h2);
            gather1::<1, 0>(r0, &lt.cols, c0);
            gather1::<1, 0>(r1, &ct.cols, c1);
            gather1::<1, 0>(r2, &ct.cols, c2);
            w.yuv(self.dst.y + j, [c0, c1, c2]);
        }
    }

    #[inline(always)]
    fn rows_nv12<T: OutElem>(&self, frame: &FrameView, w: &mut Writer<T>, s: &mut Scratch) {
        let (lt, Some(ct)) = (&self.luma, &self.chroma) else {
            return;
        };
        let (ys, uvs) = (Src::new(frame, 0, lt), Src::new(frame, 1, ct));
        let [r0, r1, _] = &mut s.rows;
        let [h0, h1, _] = &mut s.held;
        let [c0, c1, c2] = &mut s.chans;
        for (j, (lv, cv)) in lt.rows.iter().zip(&ct.rows).enumerate() {
            ys.blend(lv, r0, h0);
            uvs.blend(cv, r1, h1);
            gather1::<1, 0>(r0, &lt.cols, c0);
            gather2::<2, 0, 1>(r1, &ct.cols, c1, c2);
            w.yuv(self.dst.y + j, [c0, c1, c2]);
        }
    }
}

fn check_size(what: &'static str, width: usize, height: usize) -> Result<(), PreprocessError> {
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

fn detect_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// YUV -> RGB coefficients in model channel order, for fixed-point samples.
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
    // (U coefficient, V coefficient) of R, G, B.
    let r = (0.0, c_scale * 2.0 * (1.0 - kr));
    let g = (
        -c_scale * 2.0 * kb * (1.0 - kb) / kg,
        -c_scale * 2.0 * kr * (1.0 - kr) / kg,
    );
    let b = (c_scale * 2.0 * (1.0 - kb), 0.0);
    let chans = match order {
        ChannelOrder::Rgb => [r, g, b],
        ChannelOrder::Bgr => [b, g, r],
    };
    let unit = f64::from(FIX_UNIT);
    YuvCoeffs {
        y_k: (y_scale * unit) as f32,
        u_k: chans.map(|(u, _)| (u * unit) as f32),
        v_k: chans.map(|(_, v)| (v * unit) as f32),
        c_k: chans.map(|(u, v)| (-y_scale * y_off - 128.0 * (u + v)) as f32),
    }
}

/// One plane of the frame, ready to read the columns its tables need.
struct Src<'a> {
    data: &'a [u8],
    stride: usize,
    /// First byte of the needed columns within a row.
    lo: usize,
    /// Bytes of needed columns.
    len: usize,
}

impl<'a> Src<'a> {
    #[inline(always)]
    fn new(frame: &FrameView<'a>, plane: usize, t: &PlaneTables) -> Self {
        Self {
            data: frame.planes[plane],
            stride: frame.strides[plane],
            lo: t.col_lo * t.bpp,
            len: t.col_fill * t.bpp,
        }
    }

    /// Blends the two rows of `vt` into `buf`, unless it already holds them.
    #[inline(always)]
    fn blend(&self, vt: &VTap, buf: &mut [u16], held: &mut Option<VTap>) {
        if *held == Some(*vt) {
            return;
        }
        *held = Some(*vt);
        let a = &self.data[vt.y0 * self.stride + self.lo..][..self.len];
        let b = &self.data[vt.y1 * self.stride + self.lo..][..self.len];
        vblend(a, b, vt.w0, vt.w1, &mut buf[..self.len]);
    }
}

/// The output slot.
enum Dest<'o, T> {
    Planar([&'o mut [T]; 3]),
    Interleaved(&'o mut [T]),
}

/// Writes channel rows into the content rectangle of the output slot.
struct Writer<'o, 'p, T> {
    dest: Dest<'o, T>,
    /// Model input width.
    width: usize,
    /// Content rectangle.
    dst: Rect,
    norm: &'p Norm,
    yuv: &'p YuvCoeffs,
}

impl<T: OutElem> Writer<'_, '_, T> {
    /// Fixed-point channel rows (model order) into output row `y`.
    #[inline(always)]
    fn fixed(&mut self, y: usize, chans: [&[i32]; 3]) {
        let start = y * self.width + self.dst.x;
        let n = self.dst.w;
        match &mut self.dest {
            Dest::Planar(planes) => {
                let it = planes
                    .iter_mut()
                    .zip(chans)
                    .zip(self.norm.k_fix)
                    .zip(self.norm.b);
                for (((plane, src), k), b) in it {
                    write_fixed_planar(src, &mut plane[start..start + n], k, b);
                }
            }
            Dest::Interleaved(out) => {
                write_fixed_interleaved(chans, &mut out[start * 3..(start + n) * 3], self.norm)
            }
        }
    }

    /// Fixed-point Y, U, V rows into output row `y`.
    #[inline(always)]
    fn yuv(&mut self, y: usize, yuv: [&[i32]; 3]) {
        let start = y * self.width + self.dst.x;
        let n = self.dst.w;
        match &mut self.dest {
            Dest::Planar([p0, p1, p2]) => {
                let rows = [
                    &mut p0[start..start + n],
                    &mut p1[start..start + n],
                    &mut p2[start..start + n],
                ];
                write_yuv_planar(yuv, rows, self.yuv, self.norm);
            }
            Dest::Interleaved(out) => write_yuv_interleaved(
                yuv,
                &mut out[start * 3..(start + n) * 3],
                self.yuv,
                self.norm,
            ),
        }
    }

    /// Fills everything outside the content rectangle with `pad`.
    fn fill_border(&mut self, pad: u8) {
        let (mw, d) = (self.width, self.dst);
        let rows = match &self.dest {
            Dest::Planar(p) => p[0].len() / mw,
            Dest::Interleaved(out) => out.len() / (3 * mw),
        };
        if d.w == mw && d.h == rows {
            return;
        }
        let n = self.norm;
        let pad = [0, 1, 2].map(|c| T::from_px(f32::from(pad), n.k_px[c], n.b[c]));
        let (top, bottom) = (d.y * mw, (d.y + d.h) * mw);
        match &mut self.dest {
            Dest::Planar(planes) => {
                for (plane, v) in planes.iter_mut().zip(pad) {
                    plane[..top].fill(v);
                    plane[bottom..].fill(v);
                    if d.w < mw {
                        for row in plane[top..bottom].chunks_exact_mut(mw) {
                            row[..d.x].fill(v);
                            row[d.x + d.w..].fill(v);
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
                if d.w < mw {
                    for row in out[top * 3..bottom * 3].chunks_exact_mut(mw * 3) {
                        fill(&mut row[..d.x * 3]);
                        fill(&mut row[(d.x + d.w) * 3..]);
                    }
                }
            }
        }
    }
}
