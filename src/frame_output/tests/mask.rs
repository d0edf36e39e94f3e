//! write_mask_frame, MaskWriter, normalize_min_max.

use super::super::*;
use super::{Buf, PACKED, Rng, hw};
use crate::frame::{FrameView, PixelFormat, Size};

fn m() -> OutputMapping {
    OutputMapping::default()
}

/// Alpha bytes of a frame, row by row.
fn alphas(buf: &Buf) -> Vec<Vec<u8>> {
    (0..buf.height)
        .map(|y| (0..buf.width).map(|x| buf.extra(x, y).unwrap()).collect())
        .collect()
}

fn picture(x: usize, y: usize) -> [u8; 3] {
    [
        (x * 37 + y) as u8,
        (y * 53 + 9) as u8,
        (x * y * 11 + 200) as u8,
    ]
}

#[test]
fn alpha_is_exact_and_colours_are_copied() {
    let (w, h) = (6, 4);
    let mask: Vec<f32> = (0..w * h).map(|i| i as f32 / (w * h - 1) as f32).collect();
    for in_fmt in PACKED.into_iter().chain([PixelFormat::Gray8]) {
        let input = Buf::from_fn(in_fmt, w, h, 2, picture);
        for out_fmt in [
            PixelFormat::Rgba,
            PixelFormat::Bgra,
            PixelFormat::Argb,
            PixelFormat::Abgr,
        ] {
            let mut out = Buf::new(out_fmt, w, h, 1);
            let iv = input.view();
            write_mask_frame(
                &mask,
                Size::new(w, h),
                &m(),
                MaskMode::Alpha,
                Some(&iv),
                &mut out.view_mut(),
            )
            .unwrap();
            for y in 0..h {
                for x in 0..w {
                    let a = (mask[y * w + x] * 255.0).round() as u8;
                    assert_eq!(out.extra(x, y), Some(a), "{in_fmt:?} -> {out_fmt:?}");
                    assert_eq!(out.rgb(x, y), input.rgb(x, y), "{in_fmt:?} -> {out_fmt:?}");
                }
            }
            assert!(out.padding_untouched());
        }
    }
}

#[test]
fn alpha_in_place_keeps_colours() {
    let (w, h) = (3, 2);
    let mask = [0.0, 0.5, 1.0, 0.25, 0.75, 2.0];
    let mut buf = Buf::from_fn(PixelFormat::Bgra, w, h, 4, picture);
    write_mask_frame(
        &mask,
        Size::new(w, h),
        &m(),
        MaskMode::Alpha,
        None,
        &mut buf.view_mut(),
    )
    .unwrap();
    assert_eq!(alphas(&buf), [[0, 128, 255], [64, 191, 255]]);
    for y in 0..h {
        for x in 0..w {
            assert_eq!(buf.rgb(x, y), picture(x, y));
        }
    }
    assert!(buf.padding_untouched());
}

#[test]
fn gray_mode() {
    let (w, h) = (3, 2);
    let mask = [0.0, 0.5, 1.0, -1.0, 0.2, 0.8];
    let want = [0u8, 128, 255, 0, 51, 204];
    for format in [
        PixelFormat::Gray8,
        PixelFormat::Rgb,
        PixelFormat::Rgbx,
        PixelFormat::Abgr,
    ] {
        let mut buf = Buf::new(format, w, h, 3);
        write_mask_frame(
            &mask,
            Size::new(w, h),
            &m(),
            MaskMode::Gray,
            None,
            &mut buf.view_mut(),
        )
        .unwrap();
        for y in 0..h {
            for x in 0..w {
                assert_eq!(buf.rgb(x, y), [want[y * w + x]; 3], "{format:?}");
                if format != PixelFormat::Gray8 && format != PixelFormat::Rgb {
                    assert_eq!(buf.extra(x, y), Some(255));
                }
            }
        }
        assert!(buf.padding_untouched());
    }
}

#[test]
fn cutout_blends_by_alpha() {
    // Alpha 0 -> background, 1 -> input, 0.5 -> byte 128: (in*128 + bg*127) / 255.
    let mask = [0.0f32, 1.0, 0.5];
    let bg = [0u8, 50, 255];
    let input = Buf::from_fn(PixelFormat::Rgb, 3, 1, 0, |_, _| [200, 100, 0]);
    for out_fmt in [PixelFormat::Rgb, PixelFormat::Bgrx, PixelFormat::Argb] {
        let mut out = Buf::new(out_fmt, 3, 1, 0);
        let iv = input.view();
        let mode = MaskMode::Cutout { background: bg };
        write_mask_frame(
            &mask,
            Size::new(3, 1),
            &m(),
            mode,
            Some(&iv),
            &mut out.view_mut(),
        )
        .unwrap();
        assert_eq!(out.rgb(0, 0), bg);
        assert_eq!(out.rgb(1, 0), [200, 100, 0]);
        // R: 200*128/255 = 100.39; G: (100*128 + 50*127)/255 = 75.10; B: 255*127/255 = 127.
        assert_eq!(out.rgb(2, 0), [100, 75, 127]);
        if out_fmt != PixelFormat::Rgb {
            assert!((0..3).all(|x| out.extra(x, 0) == Some(255)));
        }
    }
}

#[test]
fn cutout_equals_compositing_the_alpha_output() {
    let (w, h) = (7, 5);
    let mut rng = Rng::new(3);
    let mask: Vec<f32> = (0..w * h).map(|_| rng.unit()).collect();
    let input = Buf::from_fn(PixelFormat::Xbgr, w, h, 0, picture);
    let bg = [10u8, 240, 77];
    let mut cut = Buf::new(PixelFormat::Rgba, w, h, 0);
    let mut alpha = Buf::new(PixelFormat::Rgba, w, h, 0);
    let iv = input.view();
    let mode = MaskMode::Cutout { background: bg };
    write_mask_frame(
        &mask,
        Size::new(w, h),
        &m(),
        mode,
        Some(&iv),
        &mut cut.view_mut(),
    )
    .unwrap();
    write_mask_frame(
        &mask,
        Size::new(w, h),
        &m(),
        MaskMode::Alpha,
        Some(&iv),
        &mut alpha.view_mut(),
    )
    .unwrap();
    for y in 0..h {
        for x in 0..w {
            let a = f64::from(alpha.extra(x, y).unwrap()) / 255.0;
            let want = [0, 1, 2].map(|c| {
                (f64::from(input.rgb(x, y)[c]) * a + f64::from(bg[c]) * (1.0 - a)).round() as u8
            });
            assert_eq!(cut.rgb(x, y), want);
        }
    }
}

#[test]
fn blend_rounds_exactly() {
    use super::super::mask::{blend, div255};
    for x in 0..=255u16 * 255 {
        assert_eq!(u32::from(div255(x)), (u32::from(x) + 127) / 255, "x {x}");
    }
    for (c, bg, a, want) in [(200, 0, 128, 100), (100, 50, 128, 75), (0, 255, 128, 127)] {
        assert_eq!(blend(c, bg, a), want);
    }
    assert!((0..=255).all(|v| blend(v, 255 - v, 255) == v && blend(v, 255 - v, 0) == 255 - v));
}

#[test]
fn cutout_in_place() {
    let mut buf = Buf::from_fn(PixelFormat::Rgb, 2, 1, 0, |_, _| [255, 0, 90]);
    let mode = MaskMode::Cutout {
        background: [0, 255, 90],
    };
    write_mask_frame(
        &[1.0, 0.0],
        Size::new(2, 1),
        &m(),
        mode,
        None,
        &mut buf.view_mut(),
    )
    .unwrap();
    assert_eq!((buf.rgb(0, 0), buf.rgb(1, 0)), ([255, 0, 90], [0, 255, 90]));
}

/// Gray mode output bytes for `mask` resampled to `w x h`.
fn resampled(mask: &[f32], size: (usize, usize), w: usize, h: usize) -> Vec<Vec<u8>> {
    let mut buf = Buf::new(PixelFormat::Gray8, w, h, 0);
    write_mask_frame(
        mask,
        hw(size),
        &m(),
        MaskMode::Gray,
        None,
        &mut buf.view_mut(),
    )
    .unwrap();
    buf.data.chunks(w).map(<[u8]>::to_vec).collect()
}

#[test]
fn resample_2x_constant_is_exact() {
    for v in [0.0f32, 0.3, 0.6, 0.7, 1.0] {
        let mask = vec![v; 4 * 3];
        let out = resampled(&mask, (3, 4), 8, 6);
        let want = (v * 255.0).round() as u8;
        assert!(out.iter().flatten().all(|&b| b == want), "constant {v}");
    }
}

#[test]
fn resample_2x_step_at_centre() {
    // Horizontal step: source columns 0 0 1 1 -> positions -0.25 .. 3.25.
    let row = [0.0f32, 0.0, 1.0, 1.0];
    let mask: Vec<f32> = row.iter().cycle().take(4 * 2).copied().collect();
    let want = [0u8, 0, 0, 64, 191, 255, 255, 255]; // 63.75 -> 64, 191.25 -> 191
    let out = resampled(&mask, (2, 4), 8, 4);
    assert!(out.iter().all(|r| r[..] == want), "{out:?}");
    // Vertical step: the same along columns.
    let mask: Vec<f32> = row.iter().flat_map(|&v| [v; 3]).collect();
    let out = resampled(&mask, (4, 3), 3, 8);
    for (y, r) in out.iter().enumerate() {
        assert!(r.iter().all(|&b| b == want[y]), "row {y}: {r:?}");
    }
}

#[test]
fn resample_half_averages_pairs() {
    let mask: Vec<f32> = (0..8 * 2).map(|i| (i % 2) as f32).collect();
    let out = resampled(&mask, (2, 8), 4, 1);
    assert_eq!(out, [vec![128u8; 4]]); // 0.5 * 255 = 127.5 -> 128
}

#[test]
fn resample_matches_bilinear_reference() {
    let mut rng = Rng::new(11);
    for _ in 0..60 {
        let (mw, mh) = (1 + rng.below(12), 1 + rng.below(12));
        let (fw, fh) = (1 + rng.below(30), 1 + rng.below(30));
        let mask: Vec<f32> = (0..mw * mh).map(|_| rng.unit()).collect();
        let out = resampled(&mask, (mh, mw), fw, fh);
        let coord = |i: usize, src: usize, dst: usize| {
            let s = ((i as f64 + 0.5) * src as f64 / dst as f64 - 0.5).clamp(0.0, (src - 1) as f64);
            let i0 = s.floor() as usize;
            (i0, (i0 + 1).min(src - 1), s - i0 as f64)
        };
        for (y, row) in out.iter().enumerate() {
            let (y0, y1, fy) = coord(y, mh, fh);
            for (x, &b) in row.iter().enumerate() {
                let (x0, x1, fx) = coord(x, mw, fw);
                let v = |yy: usize, xx: usize| f64::from(mask[yy * mw + xx]);
                let top = v(y0, x0) * (1.0 - fx) + v(y0, x1) * fx;
                let bot = v(y1, x0) * (1.0 - fx) + v(y1, x1) * fx;
                let want = (top * (1.0 - fy) + bot * fy) * 255.0;
                assert!(
                    (f64::from(b) - want).abs() <= 0.5 + 1e-3,
                    "{mw}x{mh} -> {fw}x{fh} at ({x}, {y}): {b} vs {want}"
                );
            }
        }
    }
}

#[test]
fn u2net_sized_mask_on_a_wide_frame() {
    // 320x320 mask for a 640x360 frame: a constant stays constant, a left /
    // right split stays split with a short ramp in the middle.
    let mask: Vec<f32> = (0..320 * 320)
        .map(|i| if i % 320 < 160 { 0.0 } else { 1.0 })
        .collect();
    let input = Buf::from_fn(PixelFormat::Rgbx, 640, 360, 0, picture);
    let mut out = Buf::new(PixelFormat::Rgba, 640, 360, 0);
    let mut writer = MaskWriter::new();
    let iv = input.view();
    writer
        .write(
            &mask,
            Size::new(320, 320),
            &m(),
            MaskMode::Alpha,
            Some(&iv),
            &mut out.view_mut(),
        )
        .unwrap();
    let a = alphas(&out);
    for row in &a {
        assert!(row[..318].iter().all(|&v| v == 0));
        assert!(row[322..].iter().all(|&v| v == 255));
        assert!(row.windows(2).all(|p| p[0] <= p[1]));
    }
    // The same writer, another size: tables are rebuilt.
    let mut small = Buf::new(PixelFormat::Rgba, 4, 2, 0);
    let input = Buf::from_fn(PixelFormat::Rgb, 4, 2, 0, picture);
    let iv = input.view();
    writer
        .write(
            &[0.2; 3],
            Size::new(3, 1),
            &m(),
            MaskMode::Alpha,
            Some(&iv),
            &mut small.view_mut(),
        )
        .unwrap();
    assert_eq!(alphas(&small), [[51; 4], [51; 4]]);
}

#[test]
fn mask_errors() {
    let mask = [0.5f32; 4];
    let rgb = Buf::new(PixelFormat::Rgb, 2, 2, 0);
    let rgb_small = Buf::new(PixelFormat::Rgb, 1, 2, 0);
    let yuv_data = [0u8; 6];
    let yuv = FrameView {
        format: PixelFormat::I420,
        size: Size::new(2, 2),
        planes: [&yuv_data[..4], &yuv_data[4..5], &yuv_data[5..]],
        strides: [2, 1, 1],
    };
    let run = |mask: &[f32], size, mode, input: Option<&FrameView>, format| {
        let mut out = Buf::new(format, 2, 2, 0);
        write_mask_frame(mask, hw(size), &m(), mode, input, &mut out.view_mut())
    };
    let cut = MaskMode::Cutout { background: [0; 3] };
    let rv = rgb.view();
    let sv = rgb_small.view();
    let e = run(&mask, (2, 2), MaskMode::Alpha, Some(&rv), PixelFormat::Rgb).unwrap_err();
    assert!(
        matches!(e, OutputError::UnsupportedOutputFormat { .. }),
        "{e}"
    );
    let e = run(&mask, (2, 2), MaskMode::Alpha, Some(&rv), PixelFormat::Rgbx).unwrap_err();
    assert!(
        matches!(e, OutputError::UnsupportedOutputFormat { .. }),
        "{e}"
    );
    let e = run(&mask, (2, 2), cut, Some(&rv), PixelFormat::Gray8).unwrap_err();
    assert!(
        matches!(e, OutputError::UnsupportedOutputFormat { .. }),
        "{e}"
    );
    let e = run(&mask, (2, 2), cut, Some(&sv), PixelFormat::Rgb).unwrap_err();
    assert!(matches!(e, OutputError::SizeMismatch { .. }), "{e}");
    let e = run(&mask, (2, 2), cut, Some(&yuv), PixelFormat::Rgb).unwrap_err();
    assert!(
        matches!(e, OutputError::UnsupportedInputFormat { .. }),
        "{e}"
    );
    let e = run(&mask[..3], (2, 2), MaskMode::Gray, None, PixelFormat::Rgb).unwrap_err();
    assert!(matches!(e, OutputError::Length { .. }), "{e}");
    let e = run(&[], (0, 2), MaskMode::Gray, None, PixelFormat::Rgb).unwrap_err();
    assert!(matches!(e, OutputError::ZeroSize { .. }), "{e}");
    let short = FrameView {
        planes: [&rgb.data[..5], &[], &[]],
        ..rgb.view()
    };
    let e = run(&mask, (2, 2), cut, Some(&short), PixelFormat::Rgb).unwrap_err();
    assert!(matches!(e, OutputError::BufferTooShort { .. }), "{e}");
    assert!(run(&mask, (2, 2), MaskMode::Gray, Some(&yuv), PixelFormat::Rgb).is_ok());
}

#[test]
fn min_max_normalisation() {
    let mut v = [2.0f32, 4.0, 6.0, 3.0];
    normalize_min_max(&mut v);
    assert_eq!(v, [0.0, 0.5, 1.0, 0.25]);
    let mut v = [f32::NAN, -1.0, 1.0, f32::INFINITY, f32::NEG_INFINITY, 0.0];
    normalize_min_max(&mut v);
    assert_eq!(v, [0.0, 0.0, 1.0, 1.0, 0.0, 0.5]);
    let mut v = [3.5f32; 5];
    normalize_min_max(&mut v);
    assert_eq!(v, [0.0; 5]);
    let mut v = [f32::NAN, f32::INFINITY];
    normalize_min_max(&mut v);
    assert_eq!(v, [0.0; 2]);
    let mut v: [f32; 0] = [];
    normalize_min_max(&mut v);
    let mut v = [-f32::MAX, 0.0, f32::MAX];
    normalize_min_max(&mut v);
    assert_eq!(v, [0.0, 0.5, 1.0]);
    let mut rng = Rng::new(5);
    let mut v: Vec<f32> = (0..1000).map(|_| rng.unit() * 17.0 - 3.0).collect();
    normalize_min_max(&mut v);
    assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
    assert!(v.contains(&0.0) && v.contains(&1.0));
}
