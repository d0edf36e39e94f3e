//! Renderer (one output -> one frame, as the settings say) and formats_for.

use super::super::*;
use super::Buf;
use crate::frame::{PixelFormat, Size};
use crate::preprocess::{FrameMapping, ScaleMode, TensorLayout};

/// Where a letterbox puts 8x4 frames into a 4x4 input: rows 1..3.
fn letterbox_8x4_into_4x4() -> FrameRegion {
    let placement =
        FrameMapping::for_placement(ScaleMode::Letterbox, Size::new(8, 4), Size::new(4, 4))
            .unwrap();
    FrameRegion::from_mapping(&placement, Size::new(4, 4))
}

fn picture_of(x: usize, y: usize) -> [u8; 3] {
    [
        (x * 31 + y) as u8,
        (y * 57 + 3) as u8,
        (x * y * 13 + 100) as u8,
    ]
}

fn renderer(picture: FrameRegion, mask_region: FrameRegion, mode: MaskMode) -> Renderer {
    Renderer::new(OutputMapping::default(), picture, mask_region, mode, false)
}

#[test]
fn a_letterboxed_picture_is_rendered_without_its_bars() {
    // A 4x4 NHWC output whose value at (x, y) is (x + 4y) / 255 in every
    // channel; the picture is rows 1..3.
    let tensor: Vec<f32> = (0..16).flat_map(|i| [i as f32 / 255.0; 3]).collect();
    let region = letterbox_8x4_into_4x4();
    let mut render = renderer(region, region, MaskMode::Gray);
    let input = Buf::new(PixelFormat::Rgb, 8, 4, 0);
    let mut out = Buf::new(PixelFormat::Rgba, 4, 2, 1);
    render
        .render(
            &tensor,
            &[4, 4, 3],
            TensorLayout::Nhwc,
            &input.view(),
            &mut out.view_mut(),
        )
        .unwrap();
    for y in 0..2 {
        for x in 0..4 {
            let v = (x + 4 * (y + 1)) as u8;
            assert_eq!(out.rgb(x, y), [v; 3], "({x}, {y})");
            assert_eq!(out.extra(x, y), Some(255));
        }
    }
    assert!(out.padding_untouched());
    // The whole output into a frame of the picture's size is refused.
    let mut whole = renderer(FrameRegion::whole(), region, MaskMode::Gray);
    let e = whole
        .render(
            &tensor,
            &[4, 4, 3],
            TensorLayout::Nhwc,
            &input.view(),
            &mut out.view_mut(),
        )
        .unwrap_err();
    assert!(matches!(e, OutputError::SizeMismatch { .. }), "{e}");
}

#[test]
fn a_mask_is_laid_over_the_input_frame_in_its_mode() {
    // The bars' rows of the mask are 0, the picture's 1: the whole frame
    // comes out opaque, with the input's colours.
    let mask = [
        0.0, 0.0, 0.0, 0.0, //
        1.0, 1.0, 1.0, 1.0, //
        1.0, 1.0, 1.0, 1.0, //
        0.0, 0.0, 0.0, 0.0,
    ];
    let input = Buf::from_fn(PixelFormat::Bgrx, 8, 4, 2, picture_of);
    let region = letterbox_8x4_into_4x4();
    let mut render = renderer(FrameRegion::whole(), region, MaskMode::Alpha);
    let mut out = Buf::new(PixelFormat::Rgba, 8, 4, 0);
    for shape in [&[1, 4, 4][..], &[4, 4]] {
        render
            .render(
                &mask,
                shape,
                TensorLayout::Nchw,
                &input.view(),
                &mut out.view_mut(),
            )
            .unwrap();
        for y in 0..4 {
            for x in 0..8 {
                assert_eq!(out.rgb(x, y), picture_of(x, y), "{shape:?} ({x}, {y})");
                assert_eq!(out.extra(x, y), Some(255), "{shape:?} ({x}, {y})");
            }
        }
    }
    // A shape that is no frame is an error, not a panic.
    let e = render
        .render(
            &mask,
            &[1, 1, 4, 4],
            TensorLayout::Nchw,
            &input.view(),
            &mut out.view_mut(),
        )
        .unwrap_err();
    assert!(matches!(e, OutputError::BadShape { .. }), "{e}");
}

#[test]
fn normalising_stretches_each_output_to_the_full_range() {
    // Raw values 10..=13 (U2-Net style): normalised to 0, 1/3, 2/3, 1.
    let raw = [10.0, 11.0, 12.0, 13.0];
    let input = Buf::new(PixelFormat::Rgb, 4, 1, 0);
    let mut out = Buf::new(PixelFormat::Gray8, 4, 1, 0);
    let mut render = Renderer::new(
        OutputMapping::default(),
        FrameRegion::whole(),
        FrameRegion::whole(),
        MaskMode::Gray,
        true,
    );
    for _ in 0..2 {
        render
            .render(
                &raw,
                &[1, 4],
                TensorLayout::Nchw,
                &input.view(),
                &mut out.view_mut(),
            )
            .unwrap();
        assert_eq!(out.data, [0, 85, 170, 255]);
    }
}

#[test]
fn formats_follow_the_output_and_the_mask_mode() {
    use PixelFormat as F;
    let all_but_gray: Vec<PixelFormat> = F::ALL.into_iter().filter(|&p| p != F::Gray8).collect();
    assert_eq!(input_formats(), all_but_gray);
    let colour = vec![F::Rgb, F::Bgr, F::Rgba, F::Bgra, F::Rgbx, F::Bgrx];
    let mut with_gray = colour.clone();
    with_gray.push(F::Gray8);
    assert_eq!(output_formats(), with_gray);
    let packed: Vec<PixelFormat> = all_but_gray
        .iter()
        .copied()
        .filter(|p| !p.is_yuv())
        .collect();
    let cutout = MaskMode::Cutout { background: [0; 3] };
    for mode in [MaskMode::Gray, MaskMode::Alpha, cutout] {
        // A picture is written in colour, from any input.
        let sets = formats_for(mode, Some(3));
        assert_eq!((&sets.input, &sets.output), (&all_but_gray, &colour));
    }
    for channels in [Some(1), None] {
        let gray = formats_for(MaskMode::Gray, channels);
        assert_eq!((&gray.input, &gray.output), (&all_but_gray, &with_gray));
        let alpha = formats_for(MaskMode::Alpha, channels);
        assert_eq!(
            (&alpha.input, &alpha.output),
            (&packed, &vec![F::Rgba, F::Bgra])
        );
        let cut = formats_for(cutout, channels);
        assert_eq!((&cut.input, &cut.output), (&packed, &colour));
    }
}
