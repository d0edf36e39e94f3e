//! write_color_frame and the value -> byte rule.

use super::super::pixels::ToByte;
use super::super::*;
use super::{Buf, PACKED, Rng, bpp, dims};
use crate::frame::{FrameMut, PixelFormat, Rect, Size};
use crate::preprocess::{ChannelOrder, TensorLayout};

fn unit() -> ToByte {
    ToByte {
        scale: 1.0,
        offset: 0.0,
    }
}

/// Reference rule in f64: clamp(round half away from zero), NaN -> 0.
fn reference(v: f32, scale: f32, offset: f32) -> u8 {
    let x = v * scale + offset; // f32, as documented
    if x.is_nan() {
        return 0;
    }
    f64::from(x).round().clamp(0.0, 255.0) as u8
}

#[test]
fn byte_rule_documented_values() {
    let d = ToByte::new(&OutputMapping::default());
    assert_eq!(d.apply(1.0), 255);
    assert_eq!(d.apply(0.5), 128, "127.5 rounds half away from zero");
    assert_eq!(d.apply(-0.1), 0);
    assert_eq!(d.apply(2.0), 255);
    assert_eq!(d.apply(0.0), 0);
    assert_eq!(d.apply(f32::NAN), 0);
    for bits in [0x7FC0_0001u32, 0xFFC0_00FF, 0x7F80_0042] {
        assert_eq!(d.apply(f32::from_bits(bits)), 0, "NaN {bits:#x}");
    }
    assert_eq!(d.apply(f32::INFINITY), 255);
    assert_eq!(d.apply(f32::NEG_INFINITY), 0);
    let u = unit();
    for (v, want) in [
        (0.5, 1),
        (1.5, 2),
        (2.5, 3), // not ties-to-even
        (254.5, 255),
        (255.5, 255),
        (-0.5, 0),
        (0.499_999_97, 0), // `+ 0.5` then truncating would give 1
        (3.5, 4),
        (4.5, 5),
        (253.5, 254),
        (1.499_999_9, 1),
        (127.49999, 127),
        (255.4, 255),
        (300.0, 255),
    ] {
        assert_eq!(u.apply(v), want, "value {v}");
    }
}

#[test]
fn byte_rule_matches_round_near_every_tie() {
    let u = unit();
    for n in 0..=256u32 {
        for base in [n as f32, n as f32 + 0.5, n as f32 - 0.5] {
            let mut v = base;
            for _ in 0..64 {
                v = f32::from_bits(v.to_bits().wrapping_sub(1));
            }
            for _ in 0..129 {
                if v.is_finite() {
                    assert_eq!(u.apply(v), reference(v, 1.0, 0.0), "value {v:e}");
                }
                v = f32::from_bits(v.to_bits().wrapping_add(1));
            }
        }
    }
    // Tiny values and a random sweep.
    for v in [1e-30f32, 1e-10, -1e-10, 0.25, 0.75, 0.499_999_9] {
        assert_eq!(u.apply(v), reference(v, 1.0, 0.0), "value {v:e}");
    }
    let mut rng = Rng::new(1);
    for _ in 0..100_000 {
        let v = rng.unit() * 280.0 - 12.0;
        let (s, o) = (rng.unit() * 2.0, rng.unit() * 10.0 - 5.0);
        let t = ToByte {
            scale: s,
            offset: o,
        };
        assert_eq!(
            t.apply(v),
            reference(v, s, o),
            "value {v} scale {s} offset {o}"
        );
    }
}

/// A tensor of the given pixels in `layout` / `order`, values `byte / 255`.
fn tensor_of(pixels: &[[u8; 3]], layout: TensorLayout, order: ChannelOrder) -> Vec<f32> {
    let n = pixels.len();
    let chan = |p: &[u8; 3], c: usize| {
        let c = if order == ChannelOrder::Rgb { c } else { 2 - c };
        f32::from(p[c]) / 255.0
    };
    let mut t = vec![0.0; 3 * n];
    for (i, p) in pixels.iter().enumerate() {
        for c in 0..3 {
            match layout {
                TensorLayout::Nchw => t[c * n + i] = chan(p, c),
                TensorLayout::Nhwc => t[i * 3 + c] = chan(p, c),
            }
        }
    }
    t
}

/// `n` RGB pixels of random values, the same for the same `seed`.
fn random_pixels(seed: u64, n: usize) -> Vec<[u8; 3]> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| [0, 1, 2].map(|_| rng.below(256) as u8))
        .collect()
}

#[test]
fn every_format_layout_and_order_exact() {
    let (w, h) = (5, 3);
    let pixels = random_pixels(7, w * h);
    for format in PACKED {
        for layout in [TensorLayout::Nchw, TensorLayout::Nhwc] {
            for order in [ChannelOrder::Rgb, ChannelOrder::Bgr] {
                let tensor = tensor_of(&pixels, layout, order);
                let mapping = OutputMapping {
                    channel_order: order,
                    layout,
                    ..OutputMapping::default()
                };
                let mut buf = Buf::new(format, w, h, 3);
                write_color_frame(&tensor, dims((3, h, w)), &mapping, &mut buf.view_mut()).unwrap();
                let what = format!("{format:?} {layout:?} {order:?}");
                for y in 0..h {
                    for x in 0..w {
                        assert_eq!(buf.rgb(x, y), pixels[y * w + x], "{what} at ({x}, {y})");
                        if let Some(e) = buf.extra(x, y) {
                            assert_eq!(e, 255, "{what}: alpha / padding byte");
                        }
                    }
                }
                assert!(buf.padding_untouched(), "{what}: row padding written");
            }
        }
    }
}

#[test]
fn clamp_and_round_through_the_frame() {
    // One row: R channel carries the documented values, G and B fixed.
    let vals = [1.0f32, 0.5, -0.1, 2.0, 0.25, f32::NAN];
    let want = [255u8, 128, 0, 255, 64, 0];
    let w = vals.len();
    let mut t = vec![0.0f32; 3 * w];
    t[..w].copy_from_slice(&vals);
    t[w..2 * w].fill(0.2); // 51
    t[2 * w..].fill(1.0 / 3.0); // 85
    let mut buf = Buf::new(PixelFormat::Bgrx, w, 1, 0);
    write_color_frame(
        &t,
        dims((3, 1, w)),
        &OutputMapping::default(),
        &mut buf.view_mut(),
    )
    .unwrap();
    for (x, &r) in want.iter().enumerate() {
        assert_eq!(buf.rgb(x, 0), [r, 51, 85], "x {x}");
    }
}

#[test]
fn from_range_maps_tanh_outputs() {
    let m = OutputMapping::from_range(-1.0, 1.0);
    assert_eq!((m.scale, m.offset), (127.5, 127.5));
    let t = [-1.0f32, 0.0, 1.0, -1.5, 1.5, 0.5];
    let mut buf = Buf::new(PixelFormat::Gray8, 6, 1, 0);
    write_color_frame(&t, dims((1, 1, 6)), &m, &mut buf.view_mut()).unwrap();
    assert_eq!(buf.data, [0, 128, 255, 0, 255, 191]);
    let p = OutputMapping::from_range(0.0, 255.0);
    assert_eq!((p.scale, p.offset), (1.0, 0.0));
}

#[test]
fn one_channel_writes_gray() {
    let (w, h) = (4, 2);
    let t: Vec<f32> = (0..w * h).map(|i| i as f32 * 30.0).collect();
    let m = OutputMapping {
        scale: 1.0,
        ..OutputMapping::default()
    };
    for format in [PixelFormat::Gray8, PixelFormat::Rgb, PixelFormat::Argb] {
        let mut buf = Buf::new(format, w, h, 2);
        write_color_frame(&t, dims((1, h, w)), &m, &mut buf.view_mut()).unwrap();
        for y in 0..h {
            for x in 0..w {
                let v = ((y * w + x) * 30) as u8;
                assert_eq!(buf.rgb(x, y), [v; 3], "{format:?}");
                if format != PixelFormat::Gray8 {
                    assert_eq!(buf.extra(x, y).unwrap_or(255), 255);
                }
            }
        }
        assert!(buf.padding_untouched());
    }
}

#[test]
fn stride_padding_and_short_last_row() {
    // Last row not padded to the stride: allowed.
    let (w, h) = (3, 3);
    let t = vec![0.5f32; 3 * w * h];
    let stride = w * 4 + 5;
    let mut data = vec![FILL_BYTE; stride * (h - 1) + w * 4];
    let mut out = FrameMut::packed(PixelFormat::Rgba, Size::new(w, h), &mut data, stride);
    write_color_frame(&t, dims((3, h, w)), &OutputMapping::default(), &mut out).unwrap();
    for y in 0..h {
        let row = &data[y * stride..y * stride + w * 4];
        assert!(row.chunks(4).all(|p| p == [128, 128, 128, 255]));
        if y + 1 < h {
            assert!(
                data[y * stride + w * 4..(y + 1) * stride]
                    .iter()
                    .all(|&b| b == FILL_BYTE)
            );
        }
    }
}

const FILL_BYTE: u8 = 0x5A;

#[test]
fn bad_arguments_are_errors_not_panics() {
    let m = OutputMapping::default();
    let t = vec![0.0f32; 3 * 4 * 2];
    let call = |t: &[f32], shape, m: &OutputMapping, format, w, h, stride, len| {
        let mut data = vec![0u8; len];
        let mut out = FrameMut::packed(format, Size::new(w, h), &mut data, stride);
        write_color_frame(t, dims(shape), m, &mut out)
    };
    let ok = call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 4, 2, 12, 24);
    assert_eq!(ok, Ok(()));
    let cases: Vec<(Result<(), OutputError>, &str)> = vec![
        (
            call(&t[1..], (3, 2, 4), &m, PixelFormat::Rgb, 4, 2, 12, 24),
            "length",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 4, 3, 12, 36),
            "size",
        ),
        (
            call(&t, (2, 3, 4), &m, PixelFormat::Rgb, 4, 3, 12, 36),
            "channels",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 4, 2, 11, 24),
            "stride",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 4, 2, 12, 23),
            "buffer",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::I420, 4, 2, 4, 12),
            "yuv",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Gray8, 4, 2, 4, 8),
            "gray 3ch",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 0, 2, 12, 24),
            "zero",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 1 << 17, 2, 12, 24),
            "huge",
        ),
        (
            call(&t, (3, 0, 0), &m, PixelFormat::Rgb, 4, 2, 12, 24),
            "zero tensor",
        ),
        (
            call(
                &t,
                (3, 2, 4),
                &OutputMapping {
                    scale: f32::NAN,
                    ..m
                },
                PixelFormat::Rgb,
                4,
                2,
                12,
                24,
            ),
            "mapping",
        ),
        (
            call(&t, (3, 2, 4), &m, PixelFormat::Rgb, 4, 2, usize::MAX, 24),
            "stride overflow",
        ),
    ];
    for (r, what) in cases {
        let e = r.expect_err(what);
        assert!(!e.to_string().is_empty());
        let ok_kind = match what {
            "length" => matches!(e, OutputError::Length { .. }),
            "size" => matches!(e, OutputError::SizeMismatch { .. }),
            "channels" => matches!(e, OutputError::ChannelCount { got: 2, .. }),
            "stride" => matches!(e, OutputError::StrideTooSmall { .. }),
            "buffer" | "stride overflow" => matches!(e, OutputError::BufferTooShort { .. }),
            "yuv" | "gray 3ch" => matches!(e, OutputError::UnsupportedOutputFormat { .. }),
            "zero" | "zero tensor" => matches!(e, OutputError::ZeroSize { .. }),
            "huge" => matches!(e, OutputError::TooLarge { .. }),
            "mapping" => matches!(e, OutputError::InvalidMapping { .. }),
            _ => false,
        };
        assert!(ok_kind, "{what}: {e:?}");
    }
}

#[test]
fn random_frames_match_reference() {
    let mut rng = Rng::new(99);
    for _ in 0..200 {
        let (w, h) = (1 + rng.below(40), 1 + rng.below(9));
        let format = PACKED[rng.below(PACKED.len())];
        let layout = [TensorLayout::Nchw, TensorLayout::Nhwc][rng.below(2)];
        let order = [ChannelOrder::Rgb, ChannelOrder::Bgr][rng.below(2)];
        let m = OutputMapping {
            scale: rng.unit() * 300.0,
            offset: rng.unit() * 40.0 - 20.0,
            channel_order: order,
            layout,
        };
        let t: Vec<f32> = (0..3 * w * h).map(|_| rng.unit() * 1.4 - 0.2).collect();
        let mut buf = Buf::new(format, w, h, rng.below(8));
        write_color_frame(&t, dims((3, h, w)), &m, &mut buf.view_mut()).unwrap();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                let v = |c: usize| match layout {
                    TensorLayout::Nchw => t[c * w * h + i],
                    TensorLayout::Nhwc => t[i * 3 + c],
                };
                let mut want = [0, 1, 2].map(|c| reference(v(c), m.scale, m.offset));
                if order == ChannelOrder::Bgr {
                    want.reverse();
                }
                assert_eq!(buf.rgb(x, y), want);
                assert_eq!(bpp(format) == 4, buf.extra(x, y) == Some(255));
            }
        }
        assert!(buf.padding_untouched());
    }
}

#[test]
fn a_region_writes_exactly_its_pixels() {
    // A 7x5 output; regions inside it, on its far edges, one row, all of it.
    let (w, h) = (7, 5);
    let pixels = random_pixels(21, w * h);
    let rect = Rect::new;
    for region in [
        rect(2, 1, 4, 2),
        rect(3, 3, 4, 2),
        rect(0, 2, 7, 1),
        rect(6, 0, 1, 5),
        Rect::whole(Size::new(w, h)),
    ] {
        for format in PACKED {
            for layout in [TensorLayout::Nchw, TensorLayout::Nhwc] {
                for order in [ChannelOrder::Rgb, ChannelOrder::Bgr] {
                    let tensor = tensor_of(&pixels, layout, order);
                    let mapping = OutputMapping {
                        channel_order: order,
                        layout,
                        ..OutputMapping::default()
                    };
                    let mut buf = Buf::new(format, region.width, region.height, 3);
                    write_color_region(
                        &tensor,
                        dims((3, h, w)),
                        region,
                        &mapping,
                        &mut buf.view_mut(),
                    )
                    .unwrap();
                    let what = format!("{region:?} {format:?} {layout:?} {order:?}");
                    for y in 0..region.height {
                        for x in 0..region.width {
                            let want = pixels[(region.y + y) * w + region.x + x];
                            assert_eq!(buf.rgb(x, y), want, "{what} at ({x}, {y})");
                            if let Some(e) = buf.extra(x, y) {
                                assert_eq!(e, 255, "{what}: alpha / padding byte");
                            }
                        }
                    }
                    assert!(buf.padding_untouched(), "{what}: row padding written");
                }
            }
        }
        // One channel, as gray bytes or gray colour.
        let gray: Vec<f32> = (0..w * h).map(|i| i as f32 * 7.0).collect();
        let unit = OutputMapping {
            scale: 1.0,
            ..OutputMapping::default()
        };
        for format in [PixelFormat::Gray8, PixelFormat::Bgrx] {
            let mut buf = Buf::new(format, region.width, region.height, 2);
            write_color_region(&gray, dims((1, h, w)), region, &unit, &mut buf.view_mut()).unwrap();
            for y in 0..region.height {
                for x in 0..region.width {
                    let v = (((region.y + y) * w + region.x + x) * 7) as u8;
                    assert_eq!(buf.rgb(x, y), [v; 3], "{region:?} {format:?}");
                }
            }
            assert!(buf.padding_untouched());
        }
    }
}

#[test]
fn random_regions_match_reference() {
    let mut rng = Rng::new(5);
    for _ in 0..200 {
        let (w, h) = (1 + rng.below(30), 1 + rng.below(9));
        let (x, y) = (rng.below(w), rng.below(h));
        let region = Rect {
            x,
            y,
            width: 1 + rng.below(w - x),
            height: 1 + rng.below(h - y),
        };
        let format = PACKED[rng.below(PACKED.len())];
        let layout = [TensorLayout::Nchw, TensorLayout::Nhwc][rng.below(2)];
        let m = OutputMapping {
            scale: rng.unit() * 300.0,
            offset: rng.unit() * 40.0 - 20.0,
            channel_order: ChannelOrder::Rgb,
            layout,
        };
        let t: Vec<f32> = (0..3 * w * h).map(|_| rng.unit() * 1.4 - 0.2).collect();
        let mut buf = Buf::new(format, region.width, region.height, rng.below(8));
        write_color_region(&t, dims((3, h, w)), region, &m, &mut buf.view_mut()).unwrap();
        for oy in 0..region.height {
            for ox in 0..region.width {
                let i = (region.y + oy) * w + region.x + ox;
                let v = |c: usize| match layout {
                    TensorLayout::Nchw => t[c * w * h + i],
                    TensorLayout::Nhwc => t[i * 3 + c],
                };
                let want = [0, 1, 2].map(|c| reference(v(c), m.scale, m.offset));
                assert_eq!(buf.rgb(ox, oy), want, "{region:?} of {w}x{h}");
            }
        }
        assert!(buf.padding_untouched());
    }
}

#[test]
fn a_region_outside_the_output_or_of_another_size_is_an_error() {
    let m = OutputMapping::default();
    let t = vec![0.0f32; 3 * 4 * 2];
    let write = |region: Rect, out_size: (usize, usize)| {
        let mut buf = Buf::new(PixelFormat::Rgb, out_size.0, out_size.1, 0);
        write_color_region(&t, dims((3, 2, 4)), region, &m, &mut buf.view_mut())
    };
    let rect = Rect::new;
    for region in [
        rect(1, 0, 4, 2),
        rect(0, 1, 4, 2),
        rect(usize::MAX, 0, 2, 2),
        rect(0, 2, 4, 1),
    ] {
        let size = (region.width.max(1), region.height.max(1));
        let e = write(region, size).expect_err("outside");
        assert!(matches!(e, OutputError::RegionOutside { .. }), "{e:?}");
        assert!(e.to_string().contains("does not fit"), "{e}");
    }
    let e = write(rect(1, 0, 3, 2), (4, 2)).expect_err("size");
    assert_eq!(
        e,
        OutputError::SizeMismatch {
            what: "model output's region",
            expected: Size::new(4, 2),
            got: Size::new(3, 2)
        }
    );
    assert_eq!(write(rect(1, 0, 3, 2), (3, 2)), Ok(()));
}
