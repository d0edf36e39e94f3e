//! FrameRegion: the frame's part of a mask, and masks written through it.

use super::super::resample::Span;
use super::super::*;
use super::{Buf, Rng, sz};
use crate::frame::{PixelFormat, Rect, Size};
use crate::preprocess::{FrameMapping, PreprocessSpec, Preprocessor, ScaleMode};

/// The region of a `frame` (width, height) placed into a `model` input by `mode`.
fn region(frame: (usize, usize), model: (usize, usize), mode: ScaleMode) -> FrameRegion {
    let spec = PreprocessSpec {
        scale_mode: mode,
        ..PreprocessSpec::new(sz(model))
    };
    let pre = Preprocessor::new(PixelFormat::Rgb, sz(frame), &spec).unwrap();
    FrameRegion::from_mapping(&pre.mapping(), sz(model))
}

fn span(start: f64, extent: f64) -> Span {
    Span { start, extent }
}

/// Gray mode bytes of `mask` (`size` = (height, width)) written over a
/// `w x h` frame by `writer`.
fn written(
    writer: &mut MaskWriter,
    mask: &[f32],
    size: (usize, usize),
    w: usize,
    h: usize,
) -> Vec<Vec<u8>> {
    let mut buf = Buf::new(PixelFormat::Gray8, w, h, 3);
    let mapping = OutputMapping::default();
    writer
        .write(
            mask,
            Size::new(size.1, size.0),
            &mapping,
            MaskMode::Gray,
            None,
            &mut buf.view_mut(),
        )
        .unwrap();
    assert!(buf.padding_untouched());
    (0..h)
        .map(|y| buf.data[y * buf.stride..][..w].to_vec())
        .collect()
}

#[test]
fn a_stretch_is_exactly_the_whole_mask() {
    // f32 scales do not multiply back to the input size exactly; the
    // region must still be the whole mask, so sampling is a plain resize.
    for (frame, model) in [
        ((640, 360), (320, 320)),
        ((1920, 1080), (513, 291)),
        ((7, 3), (1000, 999)),
        ((64, 64), (64, 64)),
    ] {
        let r = region(frame, model, ScaleMode::Stretch);
        for mask in [model, (model.0 / 2 + 1, model.1 / 3 + 1), (1, 1)] {
            let (xs, ys) = r.spans_in(sz(mask));
            assert!(
                xs.is_whole(mask.0) && ys.is_whole(mask.1),
                "{frame:?} -> {model:?}: {r:?}"
            );
        }
    }
    assert_eq!(
        FrameRegion::whole().spans_in(Size::new(5, 9)),
        (Span::whole(5), Span::whole(9))
    );
    // A letterbox or crop with the model's aspect ratio is a stretch too.
    for mode in [ScaleMode::Letterbox, ScaleMode::CenterCrop] {
        let (xs, ys) = region((640, 480), (320, 240), mode).spans_in(Size::new(160, 120));
        assert!(xs.is_whole(160) && ys.is_whole(120), "{mode:?}");
    }
}

#[test]
fn a_letterboxed_wide_frame_is_the_middle_half_of_the_rows() {
    // 128x64 into 64x64: scale 1/2, content 64x32 at y = 16.
    let r = region((128, 64), (64, 64), ScaleMode::Letterbox);
    assert_eq!(
        r.spans_in(Size::new(64, 64)),
        (span(0.0, 64.0), span(16.0, 32.0))
    );
    // A half-resolution mask: the same half, in its pixels.
    assert_eq!(
        r.spans_in(Size::new(32, 32)),
        (span(0.0, 32.0), span(8.0, 16.0))
    );
    // A tall frame: the middle columns. 30x90 into 40x40: content 13x40 at x = 13.
    let r = region((30, 90), (40, 40), ScaleMode::Letterbox);
    assert_eq!(
        r.spans_in(Size::new(40, 40)),
        (span(13.0, 13.0), span(0.0, 40.0))
    );
}

#[test]
fn a_centre_cropped_wide_frame_reaches_past_the_mask() {
    // 128x64 into 64x64: scale 1, frame columns 32..96 kept, so the frame
    // runs from mask x -32 to 96.
    let r = region((128, 64), (64, 64), ScaleMode::CenterCrop);
    assert_eq!(
        r.spans_in(Size::new(64, 64)),
        (span(-32.0, 128.0), span(0.0, 64.0))
    );
    assert_eq!(
        r.spans_in(Size::new(32, 32)),
        (span(-16.0, 64.0), span(0.0, 32.0))
    );
}

#[test]
fn a_letterbox_mask_is_the_cropped_mask_resized() {
    // The frame's part of the mask, cut out and resized as a whole mask,
    // gives exactly the same bytes: nothing of the bars blends in.
    let mut rng = Rng::new(21);
    for (frame, model, mask, crop) in [
        // (frame, model input, mask (w, h), frame's part of the mask (x, y, w, h))
        ((128, 64), (64, 64), (64, 64), (0, 16, 64, 32)),
        ((128, 64), (64, 64), (32, 32), (0, 8, 32, 16)),
        ((30, 90), (40, 40), (40, 40), (13, 0, 13, 40)),
        ((30, 90), (40, 40), (40, 80), (13, 0, 13, 80)),
    ] {
        let (mw, mh) = mask;
        let values: Vec<f32> = (0..mw * mh).map(|_| rng.unit()).collect();
        let (cx, cy, cw, ch) = crop;
        let cropped: Vec<f32> = (cy..cy + ch)
            .flat_map(|y| values[y * mw + cx..y * mw + cx + cw].iter().copied())
            .collect();
        let mut writer = MaskWriter::for_region(region(frame, model, ScaleMode::Letterbox));
        let got = written(&mut writer, &values, (mh, mw), frame.0, frame.1);
        let want = written(&mut MaskWriter::new(), &cropped, (ch, cw), frame.0, frame.1);
        assert_eq!(got, want, "{frame:?} -> {model:?}, mask {mask:?}");
    }
}

#[test]
fn a_letterbox_mask_keeps_its_bars_out() {
    // 8x4 into 4x4: content rows 1..3; the bar rows are 0, the content 1.
    let mask = [
        0.0, 0.0, 0.0, 0.0, //
        1.0, 1.0, 1.0, 1.0, //
        1.0, 1.0, 1.0, 1.0, //
        0.0, 0.0, 0.0, 0.0,
    ];
    let mut writer = MaskWriter::for_region(region((8, 4), (4, 4), ScaleMode::Letterbox));
    let got = written(&mut writer, &mask, (4, 4), 8, 4);
    assert_eq!(got, vec![vec![255u8; 8]; 4]);
    // Stretching the whole mask (the old behaviour) brings the bars in.
    let stretched = written(&mut MaskWriter::new(), &mask, (4, 4), 8, 4);
    assert_eq!(stretched[0], [0u8; 8]);
}

#[test]
fn a_centre_crop_mask_repeats_its_edges_over_the_cut_parts() {
    // 8x4 into 4x4: frame columns 2..6 kept, so output column x shows mask
    // column x - 2, clamped; rows map one to one.
    let mask: Vec<f32> = (0..4 * 4).map(|i| (i % 4) as f32 / 3.0).collect();
    let r = region((8, 4), (4, 4), ScaleMode::CenterCrop);
    let got = written(&mut MaskWriter::for_region(r), &mask, (4, 4), 8, 4);
    assert_eq!(got, vec![vec![0u8, 0, 0, 85, 170, 255, 255, 255]; 4]);
    // A half-resolution mask (2x2): x = 0.5 * out_x - 1.25, clamped to 0..=1.
    let half = [0.0, 1.0, 0.0, 1.0];
    let got = written(&mut MaskWriter::for_region(r), &half, (2, 2), 8, 4);
    assert_eq!(got, vec![vec![0u8, 0, 0, 64, 191, 255, 255, 255]; 4]);
}

#[test]
fn a_region_writer_reuses_its_taps_across_sizes() {
    // The same writer, masks of two sizes in turn: the column taps follow.
    let r = region((8, 4), (4, 4), ScaleMode::CenterCrop);
    let mut writer = MaskWriter::for_region(r);
    let full: Vec<f32> = (0..16).map(|i| (i % 4) as f32 / 3.0).collect();
    let half = [0.0, 1.0, 0.0, 1.0];
    for _ in 0..2 {
        assert_eq!(
            written(&mut writer, &full, (4, 4), 8, 4)[0],
            [0, 0, 0, 85, 170, 255, 255, 255]
        );
        assert_eq!(
            written(&mut writer, &half, (2, 2), 8, 4)[0],
            [0, 0, 0, 64, 191, 255, 255, 255]
        );
    }
}

#[test]
fn a_broken_placement_falls_back_to_the_whole_mask() {
    let broken = |scale_x: f32, offset_x: f32| FrameMapping {
        scale_x,
        scale_y: 1.0,
        offset_x,
        offset_y: 0.0,
        frame: Size::new(4, 4),
    };
    for mapping in [
        broken(f32::NAN, 0.0),
        broken(1.0, f32::INFINITY),
        broken(0.0, 0.0),
        broken(-1.0, 2.0),
    ] {
        assert_eq!(
            FrameRegion::from_mapping(&mapping, Size::new(4, 4)),
            FrameRegion::whole(),
            "{mapping:?}"
        );
    }
    assert_eq!(
        FrameRegion::from_mapping(&broken(1.0, 0.0), Size::new(0, 4)),
        FrameRegion::whole()
    );
}

fn rect(x: usize, y: usize, width: usize, height: usize) -> Rect {
    Rect::new(x, y, width, height)
}

#[test]
fn a_letterboxed_picture_in_whole_output_pixels() {
    let letterbox = |frame, model| region(frame, model, ScaleMode::Letterbox);
    // 1280x720 into 256x256: scale 1/5, content 256x144 on rows 56..200.
    let wide = letterbox((1280, 720), (256, 256));
    assert_eq!(wide.pixels_in(Size::new(256, 256)), rect(0, 56, 256, 144));
    // 720x1280: the middle columns.
    let tall = letterbox((720, 1280), (256, 256));
    assert_eq!(tall.pixels_in(Size::new(256, 256)), rect(56, 0, 144, 256));
    // A 2x model (512x512 out): twice everything; 4x likewise.
    assert_eq!(wide.pixels_in(Size::new(512, 512)), rect(0, 112, 512, 288));
    assert_eq!(
        tall.pixels_in(Size::new(1024, 1024)),
        rect(224, 0, 576, 1024)
    );
    // 1920x1080 into 640x640: content 640x360 on rows 140..500.
    assert_eq!(
        letterbox((1920, 1080), (640, 640)).pixels_in(Size::new(640, 640)),
        rect(0, 140, 640, 360)
    );
    // A frame with the input's aspect ratio has no bars: the whole output.
    let fit = letterbox((640, 480), (320, 240));
    assert_eq!(
        fit.pixels_in(Size::new(640, 480)),
        Rect::whole(Size::new(640, 480))
    );
}

#[test]
fn uneven_picture_edges_round_to_the_nearest_pixel_halves_up() {
    let letterbox = |frame, model| region(frame, model, ScaleMode::Letterbox);
    // 100x30 into 64x64: scale 0.64, content 64 x round(19.2) = 19 rows on
    // rows 22..41. A fixed 48x32 output (x 3/4, y 1/2): rows 11..20.5,
    // rounded 11..21.
    let wide = letterbox((100, 30), (64, 64));
    assert_eq!(wide.pixels_in(Size::new(48, 32)), rect(0, 11, 48, 10));
    // 30x100: columns 22..41, in 48 columns 16.5..30.75: 17..31.
    let tall = letterbox((30, 100), (64, 64));
    assert_eq!(tall.pixels_in(Size::new(48, 32)), rect(17, 0, 14, 32));
    // 100x51 into 64x64: 33 rows on 15..48. At 1.5x (96x96): 22.5..72,
    // 23..72; at 1/2 (32x32): 7.5..24, 8..24.
    let odd = letterbox((100, 51), (64, 64));
    assert_eq!(odd.pixels_in(Size::new(64, 64)), rect(0, 15, 64, 33));
    assert_eq!(odd.pixels_in(Size::new(96, 96)), rect(0, 23, 96, 49));
    assert_eq!(odd.pixels_in(Size::new(32, 32)), rect(0, 8, 32, 16));
    // Each edge lands within half an output pixel of the exact one.
    for (frame, model, out) in [
        ((100, 51), (64, 64), (97, 33)),
        ((333, 111), (77, 91), (50, 200)),
        ((7, 3), (1000, 999), (13, 17)),
    ] {
        let r = letterbox(frame, model);
        let (xs, ys) = r.spans_in(sz(out));
        let got = r.pixels_in(sz(out));
        for (start, extent, px_start, px_extent) in [
            (xs.start, xs.extent, got.x, got.width),
            (ys.start, ys.extent, got.y, got.height),
        ] {
            assert!((px_start as f64 - start).abs() <= 0.5, "{frame:?} {got:?}");
            let end = (px_start + px_extent) as f64;
            assert!((end - (start + extent)).abs() <= 0.5, "{frame:?} {got:?}");
        }
    }
}

#[test]
fn a_stretch_or_a_centre_crop_shows_the_whole_output() {
    for (frame, model, out) in [
        ((1280, 720), (256, 256), (256, 256)),
        ((1920, 1080), (513, 291), (1026, 582)),
        ((100, 51), (64, 64), (48, 32)),
    ] {
        for mode in [ScaleMode::Stretch, ScaleMode::CenterCrop] {
            assert_eq!(
                region(frame, model, mode).pixels_in(sz(out)),
                Rect::whole(sz(out)),
                "{mode:?} {frame:?}"
            );
        }
    }
    assert_eq!(
        FrameRegion::whole().pixels_in(Size::new(5, 9)),
        Rect::whole(Size::new(5, 9))
    );
}

#[test]
fn a_sliver_of_a_picture_keeps_one_pixel() {
    // 1000x1 into 64x64: one content row (31); in a 16x16 output it is
    // 7.75..8, which rounds to nothing: one row is kept.
    let r = region((1000, 1), (64, 64), ScaleMode::Letterbox);
    assert_eq!(r.pixels_in(Size::new(16, 16)), rect(0, 8, 16, 1));
    // An empty output has no pixels to keep.
    assert_eq!(r.pixels_in(Size::new(0, 0)), rect(0, 0, 0, 0));
}
