use super::geometry::place;
use super::*;
use crate::frame::PlaneShape;
use std::sync::Arc;

/// A `(width, height)` pair of a table of cases as a [`Size`].
fn sz((width, height): (usize, usize)) -> Size {
    Size::new(width, height)
}

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
}

/// A frame that owns its planes; padding bytes are 255 so leaks show.
struct Owned {
    format: PixelFormat,
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
    strides: [usize; 3],
}

impl Owned {
    fn view(&self) -> FrameView<'_> {
        FrameView {
            format: self.format,
            size: Size::new(self.width, self.height),
            planes: [&self.planes[0], &self.planes[1], &self.planes[2]],
            strides: self.strides,
        }
    }
}

/// Lays out rows of `row_bytes` at `stride = row_bytes + pad`, padding 255.
fn plane(rows: &[Vec<u8>], pad: usize) -> (Vec<u8>, usize) {
    let row_bytes = rows.first().map_or(0, Vec::len);
    let stride = row_bytes + pad;
    let mut data = vec![255u8; stride * rows.len()];
    for (r, row) in rows.iter().enumerate() {
        data[r * stride..r * stride + row_bytes].copy_from_slice(row);
    }
    (data, stride)
}

/// Packed (or gray) frame holding `rgb` (gray frames take channel 0).
fn packed(
    format: PixelFormat,
    w: usize,
    h: usize,
    rgb: &[[u8; 3]],
    pad: usize,
    rng: &mut Rng,
) -> Owned {
    let rows: Vec<Vec<u8>> = (0..h)
        .map(|y| {
            let px = &rgb[y * w..(y + 1) * w];
            match format.packed_layout() {
                None => px.iter().map(|p| p[0]).collect(),
                Some((bpp, offs)) => {
                    let mut row = rng.bytes(w * bpp);
                    for (dst, p) in row.chunks_exact_mut(bpp).zip(px) {
                        for (&o, &v) in offs.iter().zip(p) {
                            dst[o] = v;
                        }
                    }
                    row
                }
            }
        })
        .collect();
    let (data, stride) = plane(&rows, pad);
    Owned {
        format,
        width: w,
        height: h,
        planes: [data, vec![], vec![]],
        strides: [stride, 0, 0],
    }
}

/// I420 or NV12 frame from full-size Y and chroma-size U, V.
fn yuv(
    format: PixelFormat,
    w: usize,
    h: usize,
    ys: &[u8],
    us: &[u8],
    vs: &[u8],
    pad: usize,
) -> Owned {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let split = |p: &[u8], rw: usize, rh: usize| -> Vec<Vec<u8>> {
        (0..rh).map(|r| p[r * rw..(r + 1) * rw].to_vec()).collect()
    };
    let (y, ys_) = plane(&split(ys, w, h), pad);
    match format {
        PixelFormat::I420 => {
            let (u, us_) = plane(&split(us, cw, ch), pad + 1);
            let (v, vs_) = plane(&split(vs, cw, ch), pad + 3);
            Owned {
                format,
                width: w,
                height: h,
                planes: [y, u, v],
                strides: [ys_, us_, vs_],
            }
        }
        _ => {
            let uv: Vec<u8> = us.iter().zip(vs).flat_map(|(&u, &v)| [u, v]).collect();
            let (uv, uvs) = plane(&split(&uv, 2 * cw, ch), pad + 2);
            Owned {
                format,
                width: w,
                height: h,
                planes: [y, uv, vec![]],
                strides: [ys_, uvs, 0],
            }
        }
    }
}

fn random_rgb(rng: &mut Rng, n: usize) -> Vec<[u8; 3]> {
    (0..n)
        .map(|_| [rng.byte(), rng.byte(), rng.byte()])
        .collect()
}

fn spec(w: usize, h: usize, mode: ScaleMode) -> PreprocessSpec {
    PreprocessSpec {
        scale_mode: mode,
        ..PreprocessSpec::new(Size::new(w, h))
    }
}

/// The preprocessor as built, plus one forced onto the portable gathers
/// when the built one uses SIMD (results must be bit-identical).
fn variants(frame: &Owned, spec: &PreprocessSpec) -> Vec<Preprocessor> {
    let pre = Preprocessor::new(frame.format, Size::new(frame.width, frame.height), spec).unwrap();
    #[cfg(target_arch = "x86_64")]
    if pre.avx2.is_some() {
        let mut portable =
            Preprocessor::new(frame.format, Size::new(frame.width, frame.height), spec).unwrap();
        portable.avx2 = None;
        return vec![pre, portable];
    }
    vec![pre]
}

fn run_f32(frame: &Owned, spec: &PreprocessSpec) -> Vec<f32> {
    let outs: Vec<Vec<f32>> = variants(frame, spec)
        .iter()
        .map(|pre| {
            let mut out = vec![f32::NAN; pre.tensor_len()];
            pre.run_f32(&frame.view(), &mut out).unwrap();
            out
        })
        .collect();
    for other in &outs[1..] {
        assert!(
            other
                .iter()
                .zip(&outs[0])
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "SIMD and portable paths differ"
        );
    }
    outs.into_iter().next().unwrap_or_default()
}

fn run_u8(frame: &Owned, spec: &PreprocessSpec) -> Vec<u8> {
    let outs: Vec<Vec<u8>> = variants(frame, spec)
        .iter()
        .map(|pre| {
            let mut out = vec![0xA5; pre.tensor_len()];
            pre.run_u8(&frame.view(), &mut out).unwrap();
            out
        })
        .collect();
    for other in &outs[1..] {
        assert_eq!(*other, outs[0], "SIMD and portable paths differ");
    }
    outs.into_iter().next().unwrap_or_default()
}

/// NHWC -> NCHW.
fn to_planar<T: Copy>(nhwc: &[T]) -> Vec<T> {
    (0..3)
        .flat_map(|c| nhwc.chunks_exact(3).map(move |p| p[c]))
        .collect()
}

const PACKED: [PixelFormat; 10] = [
    PixelFormat::Rgb,
    PixelFormat::Bgr,
    PixelFormat::Rgba,
    PixelFormat::Bgra,
    PixelFormat::Rgbx,
    PixelFormat::Bgrx,
    PixelFormat::Xrgb,
    PixelFormat::Xbgr,
    PixelFormat::Argb,
    PixelFormat::Abgr,
];

// ---------- reference implementation (f64, unquantised) ----------

/// Source index pair and fraction for destination index `d` (same formula as the tables).
fn ref_axis(s0: usize, sl: usize, dl: usize, sub: usize, d: usize) -> (usize, usize, f64) {
    let (first, last) = (s0 / sub, (s0 + sl - 1) / sub);
    let f = ((s0 as f64 + (d as f64 + 0.5) * sl as f64 / dl as f64) / sub as f64 - 0.5)
        .clamp(first as f64, last as f64);
    let i0 = f.floor() as usize;
    (i0, (i0 + 1).min(last), f - i0 as f64)
}

fn ref_bilinear(
    get: impl Fn(usize, usize) -> f64,
    src: Rect,
    dst: Rect,
    sub: usize,
    x: usize,
    y: usize,
) -> f64 {
    let (x0, x1, fx) = ref_axis(src.x, src.width, dst.width, sub, x - dst.x);
    let (y0, y1, fy) = ref_axis(src.y, src.height, dst.height, sub, y - dst.y);
    let top = get(x0, y0) * (1.0 - fx) + get(x1, y0) * fx;
    let bottom = get(x0, y1) * (1.0 - fx) + get(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

fn ref_yuv_to_rgb(y: f64, u: f64, v: f64, matrix: YuvMatrix, full: bool) -> [f64; 3] {
    let (kr, kb) = match matrix {
        YuvMatrix::Bt601 => (0.299, 0.114),
        YuvMatrix::Bt709 => (0.2126, 0.0722),
    };
    let kg = 1.0 - kr - kb;
    let (yn, un, vn) = if full {
        (y / 255.0, (u - 128.0) / 255.0, (v - 128.0) / 255.0)
    } else {
        ((y - 16.0) / 219.0, (u - 128.0) / 224.0, (v - 128.0) / 224.0)
    };
    let r = yn + 2.0 * (1.0 - kr) * vn;
    let g = yn - 2.0 * kb * (1.0 - kb) / kg * un - 2.0 * kr * (1.0 - kr) / kg * vn;
    let b = yn + 2.0 * (1.0 - kb) * un;
    [r, g, b].map(|c| (c * 255.0).clamp(0.0, 255.0))
}

/// Expected NCHW output in pixel units (model order) for an RGB image.
fn ref_rgb(rgb: &[[u8; 3]], fw: usize, fh: usize, s: &PreprocessSpec) -> Vec<f64> {
    let (src, dst) = place(Size::new(fw, fh), s.input, s.scale_mode);
    let order = match s.channel_order {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    let mut out = vec![f64::from(s.pad_value); 3 * s.input.area()];
    for y in dst.y..dst.bottom() {
        for x in dst.x..dst.right() {
            for (c, &sc) in order.iter().enumerate() {
                let v = ref_bilinear(|i, j| f64::from(rgb[j * fw + i][sc]), src, dst, 1, x, y);
                out[(c * s.input.height + y) * s.input.width + x] = v;
            }
        }
    }
    out
}

/// Expected NCHW output in pixel units (model order) for YUV 4:2:0 planes.
fn ref_yuv(ys: &[u8], us: &[u8], vs: &[u8], fw: usize, fh: usize, s: &PreprocessSpec) -> Vec<f64> {
    let (src, dst) = place(Size::new(fw, fh), s.input, s.scale_mode);
    let cw = fw.div_ceil(2);
    let mut out = vec![f64::from(s.pad_value); 3 * s.input.area()];
    for y in dst.y..dst.bottom() {
        for x in dst.x..dst.right() {
            let yv = ref_bilinear(|i, j| f64::from(ys[j * fw + i]), src, dst, 1, x, y);
            let uv = ref_bilinear(|i, j| f64::from(us[j * cw + i]), src, dst, 2, x, y);
            let vv = ref_bilinear(|i, j| f64::from(vs[j * cw + i]), src, dst, 2, x, y);
            let rgb = ref_yuv_to_rgb(yv, uv, vv, s.yuv_matrix, s.yuv_full_range);
            let order = match s.channel_order {
                ChannelOrder::Rgb => rgb,
                ChannelOrder::Bgr => [rgb[2], rgb[1], rgb[0]],
            };
            for (c, v) in order.into_iter().enumerate() {
                out[(c * s.input.height + y) * s.input.width + x] = v;
            }
        }
    }
    out
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let (i, err) = got
        .iter()
        .zip(want)
        .map(|(&g, &w)| (f64::from(g) - w).abs())
        .enumerate()
        .fold(
            (0, 0.0),
            |best, (i, e)| if e > best.1 { (i, e) } else { best },
        );
    assert!(
        err <= tol,
        "{what}: max error {err} at {i} (got {}, want {})",
        got[i],
        want[i]
    );
}

// ---------- identity / layout / order / normalisation ----------

#[test]
fn identity_is_exact_for_every_packed_format_and_gray() {
    let mut rng = Rng::new(1);
    let (w, h) = (13, 7);
    let rgb = random_rgb(&mut rng, w * h);
    for format in PACKED.into_iter().chain([PixelFormat::Gray8]) {
        let frame = packed(format, w, h, &rgb, 5, &mut rng);
        for order in [ChannelOrder::Rgb, ChannelOrder::Bgr] {
            let s = PreprocessSpec {
                channel_order: order,
                ..spec(w, h, ScaleMode::Stretch)
            };
            let f = run_f32(&frame, &s);
            let u = run_u8(&frame, &s);
            for (i, p) in rgb.iter().enumerate() {
                let want = match (format, order) {
                    (PixelFormat::Gray8, _) => [p[0]; 3],
                    (_, ChannelOrder::Rgb) => *p,
                    (_, ChannelOrder::Bgr) => [p[2], p[1], p[0]],
                };
                for (c, &v) in want.iter().enumerate() {
                    assert_eq!(
                        f[c * w * h + i],
                        f32::from(v),
                        "{format:?} {order:?} f32 px {i} ch {c}"
                    );
                    assert_eq!(u[c * w * h + i], v, "{format:?} {order:?} u8 px {i} ch {c}");
                }
            }
        }
    }
}

#[test]
fn identity_holds_for_letterbox_and_crop_when_no_scaling_is_needed() {
    let mut rng = Rng::new(2);
    let rgb = random_rgb(&mut rng, 20 * 10);
    let frame = packed(PixelFormat::Rgb, 20, 10, &rgb, 3, &mut rng);
    // Letterbox 20x10 into 20x16: scale 1, 3 rows of border above.
    let out = run_u8(
        &frame,
        &PreprocessSpec {
            pad_value: 7,
            ..spec(20, 16, ScaleMode::Letterbox)
        },
    );
    for y in 0..16 {
        for x in 0..20 {
            for c in 0..3 {
                let want = if (3..13).contains(&y) {
                    rgb[(y - 3) * 20 + x][c]
                } else {
                    7
                };
                assert_eq!(
                    out[(c * 16 + y) * 20 + x],
                    want,
                    "letterbox ({x},{y}) ch {c}"
                );
            }
        }
    }
    // Center crop 20x10 to 10x10: columns 5..15.
    let out = run_u8(&frame, &spec(10, 10, ScaleMode::CenterCrop));
    for y in 0..10 {
        for x in 0..10 {
            for c in 0..3 {
                assert_eq!(
                    out[(c * 10 + y) * 10 + x],
                    rgb[y * 20 + x + 5][c],
                    "crop ({x},{y}) ch {c}"
                );
            }
        }
    }
}

#[test]
fn channel_order_swaps_first_and_last_planes() {
    let mut rng = Rng::new(3);
    let rgb = random_rgb(&mut rng, 31 * 17);
    for format in [PixelFormat::Bgrx, PixelFormat::Rgb, PixelFormat::I420] {
        let frame = if format == PixelFormat::I420 {
            let ys = rng.bytes(31 * 17);
            let us = rng.bytes(16 * 9);
            let vs = rng.bytes(16 * 9);
            yuv(format, 31, 17, &ys, &us, &vs, 2)
        } else {
            packed(format, 31, 17, &rgb, 2, &mut rng)
        };
        let s = spec(12, 9, ScaleMode::Stretch);
        let a = run_f32(&frame, &s);
        let b = run_f32(
            &frame,
            &PreprocessSpec {
                channel_order: ChannelOrder::Bgr,
                ..s
            },
        );
        let n = 12 * 9;
        assert_eq!(a[..n], b[2 * n..], "{format:?}");
        assert_eq!(a[n..2 * n], b[n..2 * n], "{format:?}");
        assert_eq!(a[2 * n..], b[..n], "{format:?}");
    }
}

#[test]
fn nhwc_holds_the_same_values_as_nchw() {
    let mut rng = Rng::new(4);
    let rgb = random_rgb(&mut rng, 37 * 23);
    let ys = rng.bytes(37 * 23);
    let us = rng.bytes(19 * 12);
    let vs = rng.bytes(19 * 12);
    let frames = [
        packed(PixelFormat::Argb, 37, 23, &rgb, 1, &mut rng),
        packed(PixelFormat::Gray8, 37, 23, &rgb, 1, &mut rng),
        yuv(PixelFormat::I420, 37, 23, &ys, &us, &vs, 4),
        yuv(PixelFormat::Nv12, 37, 23, &ys, &us, &vs, 4),
    ];
    for frame in &frames {
        for mode in [
            ScaleMode::Stretch,
            ScaleMode::Letterbox,
            ScaleMode::CenterCrop,
        ] {
            let s = PreprocessSpec {
                mean: [1.0, 2.0, 3.0],
                std: [2.0, 3.0, 4.0],
                pad_value: 99,
                ..spec(16, 20, mode)
            };
            let nhwc = PreprocessSpec {
                layout: TensorLayout::Nhwc,
                ..s.clone()
            };
            assert_eq!(
                run_f32(frame, &s),
                to_planar(&run_f32(frame, &nhwc)),
                "{:?} {mode:?} f32",
                frame.format
            );
            assert_eq!(
                run_u8(frame, &s),
                to_planar(&run_u8(frame, &nhwc)),
                "{:?} {mode:?} u8",
                frame.format
            );
        }
    }
}

#[test]
fn mean_and_std_apply_per_model_channel() {
    let mut rng = Rng::new(5);
    let rgb = random_rgb(&mut rng, 8 * 6);
    let frame = packed(PixelFormat::Rgb, 8, 6, &rgb, 0, &mut rng);
    let mean = [123.675, 116.28, 103.53];
    let std = [58.395, 57.12, 57.375];
    for order in [ChannelOrder::Rgb, ChannelOrder::Bgr] {
        let s = PreprocessSpec {
            mean,
            std,
            channel_order: order,
            ..spec(8, 6, ScaleMode::Stretch)
        };
        let out = run_f32(&frame, &s);
        let raw = run_u8(&frame, &s);
        for (i, (&o, &r)) in out.iter().zip(&raw).enumerate() {
            let c = i / 48;
            let want = (f32::from(r) - mean[c]) / std[c];
            assert!(
                (o - want).abs() < 1e-5,
                "{order:?} element {i}: {o} vs {want}"
            );
        }
    }
}

#[test]
fn u8_output_rounds_and_f32_keeps_fractions() {
    // 2x1 -> 1x1 averages 1 and 2: 1.5 as f32, 2 as u8.
    let frame = packed(
        PixelFormat::Gray8,
        2,
        1,
        &[[1; 3], [2; 3]],
        0,
        &mut Rng::new(6),
    );
    let s = spec(1, 1, ScaleMode::Stretch);
    assert_eq!(run_f32(&frame, &s), vec![1.5; 3]);
    assert_eq!(run_u8(&frame, &s), vec![2; 3]);
}

#[test]
fn gray_gives_three_equal_channels_after_scaling() {
    let mut rng = Rng::new(7);
    let rgb = random_rgb(&mut rng, 50 * 30);
    let frame = packed(PixelFormat::Gray8, 50, 30, &rgb, 6, &mut rng);
    let out = run_f32(&frame, &spec(17, 11, ScaleMode::Stretch));
    let n = 17 * 11;
    assert_eq!(out[..n], out[n..2 * n]);
    assert_eq!(out[..n], out[2 * n..]);
    let gray: Vec<[u8; 3]> = rgb.iter().map(|p| [p[0]; 3]).collect();
    assert_close(
        &out,
        &ref_rgb(&gray, 50, 30, &spec(17, 11, ScaleMode::Stretch)),
        0.51,
        "gray",
    );
}

// ---------- sampling ----------

#[test]
fn two_to_one_downscale_averages_pairs_exactly() {
    let mut rng = Rng::new(8);
    let rgb = random_rgb(&mut rng, 16 * 8);
    let frame = packed(PixelFormat::Bgra, 16, 8, &rgb, 4, &mut rng);
    let out = run_f32(&frame, &spec(8, 4, ScaleMode::Stretch));
    for y in 0..4 {
        for x in 0..8 {
            for c in 0..3 {
                let p = |dx: usize, dy: usize| f32::from(rgb[(2 * y + dy) * 16 + 2 * x + dx][c]);
                let want = (p(0, 0) + p(1, 0) + p(0, 1) + p(1, 1)) / 4.0;
                assert_eq!(out[(c * 4 + y) * 8 + x], want, "({x},{y}) ch {c}");
            }
        }
    }
    // Horizontal-only and vertical-only halving too.
    let out = run_f32(&frame, &spec(8, 8, ScaleMode::Stretch));
    assert_eq!(out[0], (f32::from(rgb[0][0]) + f32::from(rgb[1][0])) / 2.0);
    let out = run_f32(&frame, &spec(16, 4, ScaleMode::Stretch));
    assert_eq!(out[0], (f32::from(rgb[0][0]) + f32::from(rgb[16][0])) / 2.0);
}

#[test]
fn bilinear_matches_reference_for_many_sizes_and_modes() {
    let mut rng = Rng::new(9);
    let sizes = [
        (1, 1),
        (2, 3),
        (5, 4),
        (17, 9),
        (64, 48),
        (99, 37),
        (160, 90),
    ];
    let models = [
        (1, 1),
        (3, 2),
        (8, 8),
        (24, 24),
        (40, 30),
        (57, 101),
        (320, 180),
    ];
    for (i, &(fw, fh)) in sizes.iter().enumerate() {
        let rgb = random_rgb(&mut rng, fw * fh);
        let format = PACKED[i % PACKED.len()];
        let frame = packed(format, fw, fh, &rgb, i % 3, &mut rng);
        for &(mw, mh) in &models {
            for mode in [
                ScaleMode::Stretch,
                ScaleMode::Letterbox,
                ScaleMode::CenterCrop,
            ] {
                let s = PreprocessSpec {
                    pad_value: 114,
                    channel_order: ChannelOrder::Bgr,
                    ..spec(mw, mh, mode)
                };
                let what = format!("{format:?} {fw}x{fh} -> {mw}x{mh} {mode:?}");
                assert_close(
                    &run_f32(&frame, &s),
                    &ref_rgb(&rgb, fw, fh, &s),
                    0.51,
                    &what,
                );
                let u: Vec<f32> = run_u8(&frame, &s).into_iter().map(f32::from).collect();
                assert_close(&u, &ref_rgb(&rgb, fw, fh, &s), 1.01, &what);
            }
        }
    }
}

#[test]
fn smooth_content_is_sampled_almost_exactly() {
    // On a gradient the weight quantisation is invisible: errors stay tiny.
    let (fw, fh) = (300, 200);
    let rgb: Vec<[u8; 3]> = (0..fw * fh)
        .map(|i| {
            [
                (i % fw * 255 / (fw - 1)) as u8,
                (i / fw * 255 / (fh - 1)) as u8,
                77,
            ]
        })
        .collect();
    let frame = packed(PixelFormat::Rgb, fw, fh, &rgb, 0, &mut Rng::new(10));
    for (mw, mh) in [(224, 224), (640, 640), (97, 61)] {
        let s = spec(mw, mh, ScaleMode::Letterbox);
        assert_close(
            &run_f32(&frame, &s),
            &ref_rgb(&rgb, fw, fh, &s),
            0.02,
            &format!("{mw}x{mh}"),
        );
    }
}

// ---------- geometry and mapping ----------

#[test]
fn letterbox_geometry_padding_and_mapping() {
    // 640x480 -> 320x320: scale 0.5, 40 rows of border above and below.
    let (fw, fh) = (640, 480);
    let mut rgb = vec![[0u8; 3]; fw * fh];
    for y in 80..160 {
        for x in 100..200 {
            rgb[y * fw + x] = [250, 200, 150];
        }
    }
    let frame = packed(PixelFormat::Rgbx, fw, fh, &rgb, 8, &mut Rng::new(11));
    let s = PreprocessSpec {
        pad_value: 114,
        ..spec(320, 320, ScaleMode::Letterbox)
    };
    let pre = Preprocessor::new(PixelFormat::Rgbx, Size::new(fw, fh), &s).unwrap();
    let m = pre.mapping();
    assert_eq!(
        (m.scale_x, m.scale_y, m.offset_x, m.offset_y),
        (0.5, 0.5, 0.0, 40.0)
    );
    assert_eq!(m.frame, Size::new(640, 480));
    let mut out = vec![0u8; pre.tensor_len()];
    pre.run_u8(&frame.view(), &mut out).unwrap();
    for y in 0..320 {
        for x in 0..320 {
            let want = if !(40..280).contains(&y) {
                [114; 3]
            } else if (80..120).contains(&y) && (50..100).contains(&x) {
                [250, 200, 150]
            } else {
                [0; 3]
            };
            for (c, &v) in want.iter().enumerate() {
                assert_eq!(out[(c * 320 + y) * 320 + x], v, "({x},{y}) ch {c}");
            }
        }
    }
    assert_eq!(
        m.box_to_frame(50.0, 80.0, 100.0, 120.0),
        (100.0, 80.0, 200.0, 160.0)
    );
    assert_eq!(m.to_frame(50.0, 80.0), (100.0, 80.0));
    assert_eq!(m.to_model(100.0, 80.0), (50.0, 80.0));
    // A box reaching into the border is clipped to the frame.
    assert_eq!(
        m.box_to_frame(-10.0, 10.0, 330.0, 300.0),
        (0.0, 0.0, 640.0, 480.0)
    );

    // The border is normalised like a pixel.
    let s = PreprocessSpec {
        mean: [14.0, 0.0, 114.0],
        std: [2.0, 4.0, 1.0],
        ..s
    };
    let pre = Preprocessor::new(PixelFormat::Rgbx, Size::new(fw, fh), &s).unwrap();
    let mut out = vec![0f32; pre.tensor_len()];
    pre.run_f32(&frame.view(), &mut out).unwrap();
    assert_eq!(
        [out[0], out[320 * 320], out[2 * 320 * 320]],
        [50.0, 28.5, 0.0]
    );
}

#[test]
fn a_placement_alone_maps_as_the_preprocessor_does() {
    for mode in [
        ScaleMode::Stretch,
        ScaleMode::Letterbox,
        ScaleMode::CenterCrop,
    ] {
        for (frame, model) in [
            ((1280, 720), (256, 256)),
            ((720, 1280), (256, 256)),
            ((100, 51), (64, 64)),
            ((7, 3), (1000, 999)),
        ] {
            let pre = Preprocessor::new(
                PixelFormat::Rgb,
                Size::new(frame.0, frame.1),
                &spec(model.0, model.1, mode),
            );
            let alone = FrameMapping::for_placement(mode, sz(frame), sz(model));
            assert_eq!(
                alone.unwrap(),
                pre.unwrap().mapping(),
                "{mode:?} {frame:?} -> {model:?}"
            );
        }
    }
    assert!(matches!(
        FrameMapping::for_placement(ScaleMode::Letterbox, Size::new(0, 10), Size::new(64, 64)),
        Err(PreprocessError::ZeroSize { .. })
    ));
    assert!(
        FrameMapping::for_placement(ScaleMode::Letterbox, Size::new(10, 10), Size::new(64, 0))
            .is_err()
    );
}

#[test]
fn letterbox_pillarbox_and_odd_borders() {
    // Pillarbox: 480x640 -> 320x320 gives 40 columns each side.
    let pre = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(480, 640),
        &spec(320, 320, ScaleMode::Letterbox),
    )
    .unwrap();
    let m = pre.mapping();
    assert_eq!(
        (m.scale_x, m.scale_y, m.offset_x, m.offset_y),
        (0.5, 0.5, 40.0, 0.0)
    );

    // 100x51 -> 64x64: s = 0.64, content 64 x round(32.64) = 33 rows, border
    // 31 rows split 15 above / 16 below; mapping scale_y = 33/51.
    let (fw, fh) = (100, 51);
    let frame = packed(
        PixelFormat::Bgr,
        fw,
        fh,
        &vec![[10u8; 3]; fw * fh],
        3,
        &mut Rng::new(12),
    );
    for layout in [TensorLayout::Nchw, TensorLayout::Nhwc] {
        let s = PreprocessSpec {
            pad_value: 200,
            layout,
            ..spec(64, 64, ScaleMode::Letterbox)
        };
        let pre = Preprocessor::new(PixelFormat::Bgr, Size::new(fw, fh), &s).unwrap();
        let m = pre.mapping();
        assert_eq!((m.offset_x, m.offset_y), (0.0, 15.0));
        assert_eq!((m.scale_x, m.scale_y), (0.64, 33.0 / 51.0));
        let mut out = vec![0u8; pre.tensor_len()];
        pre.run_u8(&frame.view(), &mut out).unwrap();
        let out = if layout == TensorLayout::Nhwc {
            to_planar(&out)
        } else {
            out
        };
        for (i, &v) in out.iter().enumerate() {
            let y = i % (64 * 64) / 64;
            let want = if (15..48).contains(&y) { 10 } else { 200 };
            assert_eq!(v, want, "{layout:?} element {i} row {y}");
        }
        // Content edges map to frame edges.
        assert_eq!(m.to_frame(0.0, 15.0), (0.0, 0.0));
        let (x, y) = m.to_frame(64.0, 48.0);
        assert!(
            (x - 100.0).abs() < 1e-4 && (y - 51.0).abs() < 1e-4,
            "{x},{y}"
        );
    }
    // Side borders with an odd total: 51x100 -> 64x64, content 33 wide at x = 15.
    let frame = packed(
        PixelFormat::Rgb,
        51,
        100,
        &vec![[10u8; 3]; 5100],
        0,
        &mut Rng::new(13),
    );
    let out = run_u8(
        &frame,
        &PreprocessSpec {
            pad_value: 200,
            ..spec(64, 64, ScaleMode::Letterbox)
        },
    );
    for (i, &v) in out.iter().enumerate() {
        let x = i % 64;
        assert_eq!(
            v,
            if (15..48).contains(&x) { 10 } else { 200 },
            "element {i}"
        );
    }
}

#[test]
fn center_crop_mapping_and_no_bleed_from_outside_the_crop() {
    // 640x480 -> 224x224: crop 480x480 at x = 80.
    let (fw, fh) = (640, 480);
    let rgb: Vec<[u8; 3]> = (0..fw * fh)
        .map(|i| {
            if (80..560).contains(&(i % fw)) {
                [0, 0, 255]
            } else {
                [255, 0, 0]
            }
        })
        .collect();
    let frame = packed(PixelFormat::Xbgr, fw, fh, &rgb, 0, &mut Rng::new(14));
    let s = spec(224, 224, ScaleMode::CenterCrop);
    let pre = Preprocessor::new(PixelFormat::Xbgr, Size::new(fw, fh), &s).unwrap();
    let m = pre.mapping();
    assert_eq!((m.scale_x, m.scale_y), (224.0 / 480.0, 224.0 / 480.0));
    let close =
        |(a, b): (f32, f32), (c, d): (f32, f32)| (a - c).abs() < 1e-3 && (b - d).abs() < 1e-3;
    assert!(
        close(m.to_frame(0.0, 0.0), (80.0, 0.0)),
        "{:?}",
        m.to_frame(0.0, 0.0)
    );
    assert!(
        close(m.to_frame(224.0, 224.0), (560.0, 480.0)),
        "{:?}",
        m.to_frame(224.0, 224.0)
    );
    assert!(close(m.to_frame(112.0, 112.0), (320.0, 240.0)));
    let mut out = vec![0u8; pre.tensor_len()];
    pre.run_u8(&frame.view(), &mut out).unwrap();
    let n = 224 * 224;
    assert!(out[..2 * n].iter().all(|&v| v == 0) && out[2 * n..].iter().all(|&v| v == 255));
    // Upscaling crop: edge pixels clamp to the crop, not to the frame.
    let out = run_u8(&frame, &spec(700, 700, ScaleMode::CenterCrop));
    let n = 700 * 700;
    assert!(out[..2 * n].iter().all(|&v| v == 0) && out[2 * n..].iter().all(|&v| v == 255));
    // A wide model crops rows instead: 640x480 -> 320x160 takes 640x320 at y = 80.
    let m = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(fw, fh),
        &spec(320, 160, ScaleMode::CenterCrop),
    )
    .unwrap()
    .mapping();
    assert_eq!(
        (m.scale_x, m.scale_y, m.offset_x, m.offset_y),
        (0.5, 0.5, 0.0, -40.0)
    );
    assert_eq!(m.to_frame(0.0, 0.0), (0.0, 80.0));
}

#[test]
fn stretch_mapping_scales_each_axis() {
    let m = Preprocessor::new(
        PixelFormat::Nv12,
        Size::new(1920, 1080),
        &spec(640, 640, ScaleMode::Stretch),
    )
    .unwrap()
    .mapping();
    assert_eq!((m.offset_x, m.offset_y), (0.0, 0.0));
    assert_eq!(
        m.box_to_frame(0.0, 0.0, 640.0, 640.0),
        (0.0, 0.0, 1920.0, 1080.0)
    );
    let (x, y) = m.to_frame(320.0, 320.0);
    assert!((x - 960.0).abs() < 1e-3 && (y - 540.0).abs() < 1e-3);
}

// ---------- YUV ----------

fn solid_yuv(format: PixelFormat, w: usize, h: usize, yuv_: [u8; 3]) -> Owned {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    yuv(
        format,
        w,
        h,
        &vec![yuv_[0]; w * h],
        &vec![yuv_[1]; cw * ch],
        &vec![yuv_[2]; cw * ch],
        3,
    )
}

#[test]
fn yuv_known_colours() {
    // (matrix, full range, Y U V, expected RGB, tolerance)
    let cases = [
        (
            YuvMatrix::Bt601,
            false,
            [235, 128, 128],
            [255.0, 255.0, 255.0],
            0.01,
        ),
        (
            YuvMatrix::Bt601,
            false,
            [16, 128, 128],
            [0.0, 0.0, 0.0],
            0.01,
        ),
        (
            YuvMatrix::Bt601,
            false,
            [126, 128, 128],
            [128.082, 128.082, 128.082],
            0.01,
        ),
        (
            YuvMatrix::Bt601,
            false,
            [81, 90, 240],
            [255.0, 0.0, 0.0],
            2.0,
        ),
        (
            YuvMatrix::Bt601,
            false,
            [145, 54, 34],
            [0.0, 255.0, 0.0],
            2.0,
        ),
        (
            YuvMatrix::Bt601,
            false,
            [41, 240, 110],
            [0.0, 0.0, 255.0],
            2.0,
        ),
        (
            YuvMatrix::Bt709,
            false,
            [63, 102, 240],
            [255.0, 0.0, 0.0],
            2.0,
        ),
        (
            YuvMatrix::Bt709,
            false,
            [173, 42, 26],
            [0.0, 255.0, 0.0],
            2.0,
        ),
        (
            YuvMatrix::Bt709,
            false,
            [235, 128, 128],
            [255.0, 255.0, 255.0],
            0.01,
        ),
        (
            YuvMatrix::Bt601,
            true,
            [255, 128, 128],
            [255.0, 255.0, 255.0],
            0.01,
        ),
        (
            YuvMatrix::Bt601,
            true,
            [76, 85, 255],
            [255.0, 0.0, 0.0],
            2.0,
        ),
        (
            YuvMatrix::Bt709,
            true,
            [54, 99, 255],
            [255.0, 0.0, 0.0],
            2.0,
        ),
    ];
    for format in [PixelFormat::I420, PixelFormat::Nv12] {
        for &(matrix, full, yuv_, want, tol) in &cases {
            let frame = solid_yuv(format, 5, 3, yuv_);
            let s = PreprocessSpec {
                yuv_matrix: matrix,
                yuv_full_range: full,
                ..spec(4, 4, ScaleMode::Stretch)
            };
            let f = run_f32(&frame, &s);
            let u = run_u8(&frame, &s);
            for c in 0..3 {
                let plane = &f[c * 16..(c + 1) * 16];
                assert!(
                    plane
                        .iter()
                        .all(|&v| (f64::from(v) - want[c]).abs() <= tol
                            && (0.0..=255.0).contains(&v)),
                    "{format:?} {matrix:?} full={full} {yuv_:?} ch {c}: {} vs {}",
                    plane[0],
                    want[c]
                );
                let ub = &u[c * 16..(c + 1) * 16];
                assert!(
                    ub.iter()
                        .all(|&v| (f64::from(v) - want[c]).abs() <= tol + 0.5),
                    "u8 {yuv_:?} ch {c}"
                );
            }
        }
    }
}

#[test]
fn yuv_matches_reference_including_odd_sizes() {
    let mut rng = Rng::new(15);
    let sizes: [(usize, usize); 8] = [
        (1, 1),
        (3, 1),
        (1, 4),
        (7, 5),
        (9, 3),
        (15, 11),
        (64, 36),
        (101, 67),
    ];
    let models = [(1, 1), (4, 3), (7, 5), (16, 16), (33, 21), (128, 72)];
    for &(fw, fh) in &sizes {
        let (cw, ch) = (fw.div_ceil(2), fh.div_ceil(2));
        // Keep the colours in gamut so that clamping does not differ from
        // the convert-after-sampling order.
        let ys: Vec<u8> = (0..fw * fh).map(|_| 60 + rng.byte() % 120).collect();
        let us: Vec<u8> = (0..cw * ch).map(|_| 108 + rng.byte() % 40).collect();
        let vs: Vec<u8> = (0..cw * ch).map(|_| 108 + rng.byte() % 40).collect();
        let i420 = yuv(PixelFormat::I420, fw, fh, &ys, &us, &vs, fw % 4);
        let nv12 = yuv(PixelFormat::Nv12, fw, fh, &ys, &us, &vs, 1);
        for &(mw, mh) in &models {
            for mode in [
                ScaleMode::Stretch,
                ScaleMode::Letterbox,
                ScaleMode::CenterCrop,
            ] {
                for (matrix, full) in [(YuvMatrix::Bt601, false), (YuvMatrix::Bt709, true)] {
                    let s = PreprocessSpec {
                        yuv_matrix: matrix,
                        yuv_full_range: full,
                        pad_value: 3,
                        ..spec(mw, mh, mode)
                    };
                    let what = format!("{fw}x{fh} -> {mw}x{mh} {mode:?} {matrix:?}");
                    let a = run_f32(&i420, &s);
                    assert_eq!(a, run_f32(&nv12, &s), "I420 vs NV12 {what}");
                    assert_eq!(
                        run_u8(&i420, &s),
                        run_u8(&nv12, &s),
                        "I420 vs NV12 u8 {what}"
                    );
                    assert_close(&a, &ref_yuv(&ys, &us, &vs, fw, fh, &s), 1.5, &what);
                }
            }
        }
    }
}

#[test]
fn yuv_identity_upsamples_chroma_bilinearly_at_block_centres() {
    // 4x2 frame, chroma 2x1: U = [100, 200]; pixel x samples chroma at
    // (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.
    let frame = yuv(
        PixelFormat::I420,
        4,
        2,
        &[128; 8],
        &[100, 200],
        &[128, 128],
        2,
    );
    let s = PreprocessSpec {
        yuv_full_range: true,
        ..spec(4, 2, ScaleMode::Stretch)
    };
    let out = run_f32(&frame, &s);
    let blue = &out[2 * 8..2 * 8 + 4];
    let kb: f64 = 2.0 * (1.0 - 0.114);
    for (x, u) in [100.0, 125.0, 175.0, 200.0].into_iter().enumerate() {
        let want = (128.0 + kb * (u - 128.0)).clamp(0.0, 255.0);
        assert!(
            (f64::from(blue[x]) - want).abs() < 1e-3,
            "x {x}: {} vs {want}",
            blue[x]
        );
    }
}

// ---------- strides, errors, robustness ----------

#[test]
fn stride_padding_never_leaks() {
    // Padding bytes are 255; content is 0 (full-range black for YUV).
    let mut rng = Rng::new(16);
    for &(fw, fh) in &[(1, 1), (5, 3), (33, 17)] {
        let black = vec![[0u8; 3]; fw * fh];
        let mut frames: Vec<Owned> = PACKED
            .iter()
            .map(|&f| packed(f, fw, fh, &black, 1 + rng.below(40), &mut rng))
            .collect();
        frames.push(packed(PixelFormat::Gray8, fw, fh, &black, 13, &mut rng));
        for format in [PixelFormat::I420, PixelFormat::Nv12] {
            let (cw, ch) = (fw.div_ceil(2), fh.div_ceil(2));
            frames.push(yuv(
                format,
                fw,
                fh,
                &vec![0; fw * fh],
                &vec![128; cw * ch],
                &vec![128; cw * ch],
                17,
            ));
        }
        for frame in &frames {
            for (mw, mh) in [(1, 1), (4, 4), (64, 64)] {
                for mode in [
                    ScaleMode::Stretch,
                    ScaleMode::Letterbox,
                    ScaleMode::CenterCrop,
                ] {
                    let s = PreprocessSpec {
                        yuv_full_range: true,
                        ..spec(mw, mh, mode)
                    };
                    let out = run_u8(frame, &s);
                    assert!(
                        out.iter().all(|&v| v == 0),
                        "{:?} {fw}x{fh} -> {mw}x{mh} {mode:?}",
                        frame.format
                    );
                }
            }
        }
    }
}

#[test]
fn build_errors_are_reported() {
    let ok = spec(8, 8, ScaleMode::Stretch);
    let e = Preprocessor::new(PixelFormat::Rgb, Size::new(0, 10), &ok).unwrap_err();
    assert!(
        matches!(e, PreprocessError::ZeroSize { what: "frame", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("0x10"), "{e}");
    let e = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(10, 10),
        &spec(8, 0, ScaleMode::Stretch),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            PreprocessError::ZeroSize {
                what: "model input",
                ..
            }
        ),
        "{e}"
    );
    let e = Preprocessor::new(PixelFormat::Rgb, Size::new(MAX_DIMENSION + 1, 10), &ok).unwrap_err();
    assert!(matches!(e, PreprocessError::TooLarge { .. }), "{e}");
    let e = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(10, 10),
        &PreprocessSpec {
            std: [1.0, 0.0, 1.0],
            ..ok.clone()
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, PreprocessError::InvalidNormalization { channel: 1, .. }),
        "{e}"
    );
    let e = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(10, 10),
        &PreprocessSpec {
            mean: [f32::NAN, 0.0, 0.0],
            ..ok
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, PreprocessError::InvalidNormalization { channel: 0, .. }),
        "{e}"
    );
}

#[test]
fn frame_errors_are_reported_not_panicked() {
    let mut rng = Rng::new(17);
    let rgb = random_rgb(&mut rng, 10 * 6);
    let frame = packed(PixelFormat::Rgba, 10, 6, &rgb, 2, &mut rng);
    let pre = Preprocessor::new(
        PixelFormat::Rgba,
        Size::new(10, 6),
        &spec(4, 4, ScaleMode::Letterbox),
    )
    .unwrap();
    let mut out = vec![0f32; pre.tensor_len()];

    let e = pre.run_f32(&frame.view(), &mut out[1..]).unwrap_err();
    assert_eq!(
        e,
        PreprocessError::OutputLength {
            expected: 48,
            got: 47
        }
    );
    assert!(
        e.to_string().contains("47") && e.to_string().contains("48"),
        "{e}"
    );
    let mut small = vec![0u8; 10];
    assert!(matches!(
        pre.run_u8(&frame.view(), &mut small),
        Err(PreprocessError::OutputLength { .. })
    ));

    let v = FrameView {
        size: Size::new(11, frame.height),
        ..frame.view()
    };
    let e = pre.run_f32(&v, &mut out).unwrap_err();
    assert!(matches!(e, PreprocessError::FrameMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("11x6") && e.to_string().contains("10x6"),
        "{e}"
    );
    let v = FrameView {
        format: PixelFormat::Bgra,
        ..frame.view()
    };
    assert!(matches!(
        pre.run_f32(&v, &mut out),
        Err(PreprocessError::FrameMismatch { .. })
    ));

    let v = FrameView {
        strides: [39, 0, 0],
        ..frame.view()
    };
    let e = pre.run_f32(&v, &mut out).unwrap_err();
    assert_eq!(
        e,
        PreprocessError::StrideTooSmall {
            plane: 0,
            stride: 39,
            row_bytes: 40
        }
    );

    // Exactly stride * (rows - 1) + row bytes is enough; one byte less is not.
    let need = 42 * 5 + 40;
    let v = FrameView {
        planes: [&frame.planes[0][..need], &[], &[]],
        ..frame.view()
    };
    pre.run_f32(&v, &mut out).unwrap();
    let v = FrameView {
        planes: [&frame.planes[0][..need - 1], &[], &[]],
        ..frame.view()
    };
    let e = pre.run_f32(&v, &mut out).unwrap_err();
    assert_eq!(
        e,
        PreprocessError::PlaneTooShort {
            plane: 0,
            len: need - 1,
            needed: need,
            stride: 42,
            rows: 6
        }
    );
    assert!(e.to_string().contains(&need.to_string()), "{e}");

    let v = FrameView {
        strides: [usize::MAX / 2, 0, 0],
        ..frame.view()
    };
    assert!(matches!(
        pre.run_f32(&v, &mut out),
        Err(PreprocessError::PlaneTooShort { .. })
    ));

    let v = FrameView {
        planes: [&[], &[], &[]],
        ..frame.view()
    };
    assert!(matches!(
        pre.run_f32(&v, &mut out),
        Err(PreprocessError::MissingPlane { plane: 0, .. })
    ));

    // I420 without its V plane, NV12 with a short UV plane.
    let i420 = solid_yuv(PixelFormat::I420, 7, 5, [100, 120, 130]);
    let pre = Preprocessor::new(
        PixelFormat::I420,
        Size::new(7, 5),
        &spec(4, 4, ScaleMode::Stretch),
    )
    .unwrap();
    let v = FrameView {
        planes: [&i420.planes[0], &i420.planes[1], &[]],
        ..i420.view()
    };
    let e = pre.run_f32(&v, &mut out).unwrap_err();
    assert_eq!(
        e,
        PreprocessError::MissingPlane {
            format: PixelFormat::I420,
            plane: 2
        }
    );
    assert!(e.to_string().contains("plane 2"), "{e}");
    let nv12 = solid_yuv(PixelFormat::Nv12, 7, 5, [100, 120, 130]);
    let pre = Preprocessor::new(
        PixelFormat::Nv12,
        Size::new(7, 5),
        &spec(4, 4, ScaleMode::Stretch),
    )
    .unwrap();
    let uv = &nv12.planes[1][..nv12.planes[1].len() - nv12.strides[1]];
    let v = FrameView {
        planes: [&nv12.planes[0], uv, &[]],
        ..nv12.view()
    };
    assert!(matches!(
        pre.run_f32(&v, &mut out),
        Err(PreprocessError::PlaneTooShort {
            plane: 1,
            rows: 3,
            ..
        })
    ));
    let v = FrameView {
        strides: [7, 7, 0],
        ..nv12.view()
    };
    assert_eq!(
        pre.run_f32(&v, &mut out).unwrap_err(),
        PreprocessError::StrideTooSmall {
            plane: 1,
            stride: 7,
            row_bytes: 8
        }
    );
}

#[test]
fn minimal_and_truncated_planes_never_panic() {
    let mut rng = Rng::new(18);
    for _ in 0..300 {
        let format = PixelFormat::ALL[rng.below(13)];
        let (fw, fh) = (1 + rng.below(40), 1 + rng.below(40));
        let (mw, mh) = (1 + rng.below(50), 1 + rng.below(50));
        let mode = [
            ScaleMode::Stretch,
            ScaleMode::Letterbox,
            ScaleMode::CenterCrop,
        ][rng.below(3)];
        let s = PreprocessSpec {
            layout: [TensorLayout::Nchw, TensorLayout::Nhwc][rng.below(2)],
            ..spec(mw, mh, mode)
        };
        let pre = Preprocessor::new(format, Size::new(fw, fh), &s).unwrap();
        let shapes = format.plane_shapes(Size::new(fw, fh));
        let mut strides = [0; 3];
        let planes: Vec<Vec<u8>> = shapes
            .iter()
            .zip(&mut strides)
            .map(|(shape, stride)| match *shape {
                Some(PlaneShape {
                    row_bytes: row,
                    rows,
                }) => {
                    *stride = row + rng.below(5);
                    rng.bytes(*stride * (rows - 1) + row)
                }
                None => vec![],
            })
            .collect();
        let truncate = rng.below(format.plane_count() + 1);
        let cut: Vec<&[u8]> = planes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if i + 1 == truncate {
                    &p[..p.len() - 1]
                } else {
                    &p[..]
                }
            })
            .collect();
        let view = FrameView {
            format,
            size: Size::new(fw, fh),
            planes: [cut[0], cut[1], cut[2]],
            strides,
        };
        #[allow(unused_mut)]
        let mut portable = Preprocessor::new(format, Size::new(fw, fh), &s).unwrap();
        #[cfg(target_arch = "x86_64")]
        {
            portable.avx2 = None;
        }
        let mut outs = [vec![0u8; pre.tensor_len()], vec![1u8; pre.tensor_len()]];
        for (p, out) in [&pre, &portable].into_iter().zip(&mut outs) {
            let r = p.run_u8(&view, out);
            if truncate == 0 {
                r.unwrap();
            } else {
                assert!(
                    matches!(r, Err(PreprocessError::PlaneTooShort { .. })),
                    "{format:?} {fw}x{fh}: {r:?}"
                );
            }
        }
        if truncate == 0 {
            assert_eq!(outs[0], outs[1], "{format:?} {fw}x{fh} -> {mw}x{mh}");
        }
    }
}

#[test]
fn concurrent_runs_on_one_preprocessor_agree() {
    let mut rng = Rng::new(19);
    let ys = rng.bytes(96 * 64);
    let us = rng.bytes(48 * 32);
    let vs = rng.bytes(48 * 32);
    let frame = Arc::new(yuv(PixelFormat::Nv12, 96, 64, &ys, &us, &vs, 8));
    let pre = Arc::new(
        Preprocessor::new(
            PixelFormat::Nv12,
            Size::new(96, 64),
            &spec(40, 40, ScaleMode::Letterbox),
        )
        .unwrap(),
    );
    let mut want = vec![0f32; pre.tensor_len()];
    pre.run_f32(&frame.view(), &mut want).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (pre, frame) = (Arc::clone(&pre), Arc::clone(&frame));
            std::thread::spawn(move || {
                let mut out = vec![0f32; pre.tensor_len()];
                (0..50)
                    .map(|_| {
                        pre.run_f32(&frame.view(), &mut out).unwrap();
                        out.clone()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|o| *o == want));
    }
}

#[test]
fn preprocessor_is_send_sync_and_debug() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Preprocessor>();
    let pre = Preprocessor::new(
        PixelFormat::Rgb,
        Size::new(4, 4),
        &spec(2, 2, ScaleMode::Stretch),
    )
    .unwrap();
    assert!(format!("{pre:?}").contains("Rgb"));
    assert_eq!(pre.tensor_len(), 12);
    assert_eq!(
        (pre.format(), pre.frame_size()),
        (PixelFormat::Rgb, Size::new(4, 4))
    );
}

/// `cargo test --release -- --ignored --nocapture bench` prints ns per frame.
#[test]
#[ignore]
fn bench_preprocess() {
    let mut rng = Rng::new(20);
    let iters = std::env::var("PRE_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50usize);
    for (fw, fh) in [(1920, 1080), (1280, 720)] {
        let rgb_frame = {
            let data = rng.bytes(fw * 3 * fh);
            Owned {
                format: PixelFormat::Rgb,
                width: fw,
                height: fh,
                planes: [data, vec![], vec![]],
                strides: [fw * 3, 0, 0],
            }
        };
        let bgrx_frame = {
            let data = rng.bytes(fw * 4 * fh);
            Owned {
                format: PixelFormat::Bgrx,
                width: fw,
                height: fh,
                planes: [data, vec![], vec![]],
                strides: [fw * 4, 0, 0],
            }
        };
        let (cw, ch) = (fw / 2, fh / 2);
        let ys = rng.bytes(fw * fh);
        let us = rng.bytes(cw * ch);
        let vs = rng.bytes(cw * ch);
        let frames = [
            rgb_frame,
            bgrx_frame,
            yuv(PixelFormat::I420, fw, fh, &ys, &us, &vs, 0),
            yuv(PixelFormat::Nv12, fw, fh, &ys, &us, &vs, 0),
        ];
        for frame in &frames {
            let cases = [
                (640, 640, ScaleMode::Stretch, TensorLayout::Nchw, false),
                (640, 640, ScaleMode::Letterbox, TensorLayout::Nchw, false),
                (224, 224, ScaleMode::Stretch, TensorLayout::Nchw, false),
                (640, 640, ScaleMode::Letterbox, TensorLayout::Nhwc, true),
            ];
            for (mw, mh, mode, layout, raw) in cases {
                let s = PreprocessSpec {
                    layout,
                    mean: [123.675, 116.28, 103.53],
                    std: [58.395, 57.12, 57.375],
                    pad_value: 114,
                    ..spec(mw, mh, mode)
                };
                let pre = Preprocessor::new(frame.format, Size::new(fw, fh), &s).unwrap();
                let (mut out, mut out8) =
                    (vec![0f32; pre.tensor_len()], vec![0u8; pre.tensor_len()]);
                let view = frame.view();
                let mut times: Vec<u128> = (0..iters + 3)
                    .map(|_| {
                        let t = std::time::Instant::now();
                        if raw {
                            pre.run_u8(std::hint::black_box(&view), &mut out8).unwrap();
                        } else {
                            pre.run_f32(std::hint::black_box(&view), &mut out).unwrap();
                        }
                        std::hint::black_box((&out, &out8));
                        t.elapsed().as_nanos()
                    })
                    .skip(3)
                    .collect();
                times.sort_unstable();
                let kind = if raw { "u8" } else { "f32" };
                println!(
                    "{:?} {fw}x{fh} -> {mw}x{mh} {mode:?} {kind} {layout:?}: median {} ns/frame, min {} ns",
                    frame.format,
                    times[times.len() / 2],
                    times[0]
                );
            }
        }
    }
}

/// The pixels of `region` of an RGB image, as an image of its own.
fn cut_rgb(rgb: &[[u8; 3]], fw: usize, region: Rect) -> Vec<[u8; 3]> {
    (region.y..region.bottom())
        .flat_map(|y| rgb[y * fw + region.x..y * fw + region.right()].to_vec())
        .collect()
}

/// The pixels of `region` of a `fw`-wide plane subsampled by `sub`.
fn cut_plane(plane: &[u8], fw: usize, sub: usize, region: Rect) -> Vec<u8> {
    let pw = fw.div_ceil(sub);
    let (x0, x1) = (region.x / sub, region.right().div_ceil(sub));
    (region.y / sub..region.bottom().div_ceil(sub))
        .flat_map(|y| plane[y * pw + x0..y * pw + x1].to_vec())
        .collect()
}

#[test]
fn a_region_equals_the_region_cut_out_in_every_format_and_scale_mode() {
    let mut rng = Rng::new(42);
    let (fw, fh) = (37, 29);
    let rgb = random_rgb(&mut rng, fw * fh);
    let (cw, ch) = (fw.div_ceil(2), fh.div_ceil(2));
    let ys = rng.bytes(fw * fh);
    let us: Vec<u8> = (0..cw * ch).map(|_| 108 + rng.byte() % 40).collect();
    let vs: Vec<u8> = (0..cw * ch).map(|_| 108 + rng.byte() % 40).collect();
    // Regions inside, on each edge, the whole frame and one pixel; YUV ones
    // start on even pixels (an odd start shifts the chroma siting of a
    // cut-out image, not of the region).
    let regions = [
        Rect::new(4, 6, 13, 9),
        Rect::new(0, 0, 8, 20),
        Rect::new(24, 10, 13, 19),
        Rect::new(0, 0, fw, fh),
        Rect::new(10, 12, 1, 1),
        Rect::new(5, 3, 20, 7),
    ];
    for region in regions {
        for (mw, mh) in [(16, 16), (24, 10), (8, 30)] {
            for mode in [
                ScaleMode::Stretch,
                ScaleMode::Letterbox,
                ScaleMode::CenterCrop,
            ] {
                let s = PreprocessSpec {
                    pad_value: 7,
                    mean: [1.0, 2.0, 3.0],
                    std: [2.0, 4.0, 8.0],
                    ..spec(mw, mh, mode)
                };
                let what = format!("{region:?} -> {mw}x{mh} {mode:?}");
                for format in PixelFormat::ALL {
                    let (frame, cut) = if format.is_yuv() {
                        if region.x % 2 == 1 || region.y % 2 == 1 {
                            continue;
                        }
                        let frame = yuv(format, fw, fh, &ys, &us, &vs, 3);
                        let cut = yuv(
                            format,
                            region.width,
                            region.height,
                            &cut_plane(&ys, fw, 1, region),
                            &cut_plane(&us, fw, 2, region),
                            &cut_plane(&vs, fw, 2, region),
                            1,
                        );
                        (frame, cut)
                    } else {
                        let frame = packed(format, fw, fh, &rgb, 2, &mut rng);
                        let cut_px = cut_rgb(&rgb, fw, region);
                        let cut = packed(format, region.width, region.height, &cut_px, 0, &mut rng);
                        (frame, cut)
                    };
                    let pre =
                        Preprocessor::for_region(format, Size::new(fw, fh), region, &s).unwrap();
                    let mut got = vec![f32::NAN; pre.tensor_len()];
                    pre.run_f32(&frame.view(), &mut got).unwrap();
                    let want = run_f32(&cut, &s);
                    assert_eq!(got, want, "{format:?} {what}");
                    // The mapping is in frame coordinates: the region's
                    // corner lands where the cut-out's corner does.
                    let cut_map =
                        FrameMapping::for_placement(mode, region.size(), s.input).unwrap();
                    let (x, y) = pre.mapping().to_model(region.x as f32, region.y as f32);
                    let (cx, cy) = cut_map.to_model(0.0, 0.0);
                    assert!((x - cx).abs() < 1e-3 && (y - cy).abs() < 1e-3, "{what}");
                }
            }
        }
    }
}

#[test]
fn a_region_past_the_frame_or_empty_is_refused() {
    let s = spec(8, 8, ScaleMode::Stretch);
    let frame = Size::new(20, 10);
    let past = Preprocessor::for_region(PixelFormat::Rgb, frame, Rect::new(15, 0, 6, 4), &s);
    let err = past.unwrap_err();
    assert!(matches!(err, PreprocessError::RegionOutside { .. }));
    assert!(err.to_string().contains("clip it to the frame"), "{err}");
    let empty = Preprocessor::for_region(PixelFormat::Rgb, frame, Rect::new(3, 3, 0, 4), &s);
    assert!(matches!(
        empty,
        Err(PreprocessError::ZeroSize { what: "region", .. })
    ));
}
