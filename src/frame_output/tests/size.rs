//! OutputGeometry (the output frame's size), frame_dims_from_shape,
//! frame_dims_of_output.

use super::super::*;
use super::dims;
use crate::frame::{Rect, Size};
use crate::preprocess::{ScaleMode, TensorLayout};

fn geometry(
    frame: (usize, usize),
    model_input: (usize, usize),
    output: (usize, usize, usize),
    tiled: bool,
    mode: ScaleMode,
) -> Result<OutputGeometry, OutputError> {
    OutputGeometry::new(
        Size::new(frame.0, frame.1),
        Size::new(model_input.0, model_input.1),
        dims(output),
        tiled,
        mode,
    )
}

#[test]
fn a_picture_is_the_models_whole_output_when_stretched_or_cropped() {
    for mode in [ScaleMode::Stretch, ScaleMode::CenterCrop] {
        // A 256x256 style transfer model on 1280x720 frames.
        let g = geometry((1280, 720), (256, 256), (3, 256, 256), false, mode).unwrap();
        assert_eq!(g.output_frame, Size::new(256, 256), "{mode:?}");
        assert_eq!(g.model_input, Size::new(256, 256));
        assert_eq!(g.model_output, Size::new(256, 256));
        assert_eq!((g.channels, g.tile_scale), (3, 1));
        assert_eq!(g.picture, FrameRegion::whole());
        // A 4x upscaler at the frame's own size: four times the frame.
        let g = geometry((320, 180), (320, 180), (3, 720, 1280), false, mode).unwrap();
        assert_eq!(g.output_frame, Size::new(1280, 720), "{mode:?}");
    }
}

#[test]
fn a_letterboxed_picture_comes_out_without_its_bars() {
    // 1280x720 into 256x256: the picture is 256x144; through a 2x model
    // with a 256x256 input, 512x288 (as the element's docs say).
    let g = geometry(
        (1280, 720),
        (256, 256),
        (3, 256, 256),
        false,
        ScaleMode::Letterbox,
    )
    .unwrap();
    assert_eq!(g.output_frame, Size::new(256, 144));
    assert_eq!(
        g.picture.pixels_in(g.model_output),
        Rect::new(0, 56, 256, 144)
    );
    let g = geometry(
        (1280, 720),
        (256, 256),
        (3, 512, 512),
        false,
        ScaleMode::Letterbox,
    )
    .unwrap();
    assert_eq!(g.output_frame, Size::new(512, 288));
    // Frames with the input's aspect ratio have no bars.
    let g = geometry(
        (640, 480),
        (320, 240),
        (3, 240, 320),
        false,
        ScaleMode::Letterbox,
    )
    .unwrap();
    assert_eq!(g.output_frame, Size::new(320, 240));
}

#[test]
fn a_mask_comes_out_at_the_frames_size() {
    for mode in [
        ScaleMode::Stretch,
        ScaleMode::Letterbox,
        ScaleMode::CenterCrop,
    ] {
        let g = geometry((640, 360), (320, 320), (1, 160, 160), false, mode).unwrap();
        assert_eq!(g.output_frame, Size::new(640, 360), "{mode:?}");
        assert_eq!(g.channels, 1);
        // Only pictures are cut out of a letterbox's output.
        assert_eq!(g.picture, FrameRegion::whole());
    }
}

#[test]
fn tiles_make_k_times_the_frame_and_never_have_bars() {
    let frame = Size::new(300, 200);
    let tile = OutputGeometry::tile_input(frame, 128);
    assert_eq!(tile, Size::new(128, 128));
    // A frame smaller than the tile is one tile of its own size.
    assert_eq!(
        OutputGeometry::tile_input(Size::new(100, 80), 128),
        Size::new(100, 80)
    );
    let g =
        OutputGeometry::new(frame, tile, dims((3, 256, 256)), true, ScaleMode::Letterbox).unwrap();
    assert_eq!((g.tile_scale, g.output_frame), (2, Size::new(600, 400)));
    assert_eq!(g.picture, FrameRegion::whole());
    let g =
        OutputGeometry::new(frame, tile, dims((1, 128, 128)), true, ScaleMode::Stretch).unwrap();
    assert_eq!((g.tile_scale, g.output_frame), (1, frame));
}

#[test]
fn outputs_that_are_not_frames_are_refused_with_the_fix() {
    let e = geometry((64, 48), (64, 48), (2, 48, 64), false, ScaleMode::Stretch).unwrap_err();
    assert_eq!(
        e,
        OutputError::FrameChannels {
            channels: 2,
            output: Size::new(64, 48)
        }
    );
    assert!(e.to_string().contains("set output-name"), "{e}");
    // A tile output that is not a whole multiple of the tile, or not the
    // same multiple both ways.
    for output in [(3, 250, 256), (3, 256, 384), (3, 64, 64)] {
        let e = geometry((300, 200), (128, 128), output, true, ScaleMode::Stretch).unwrap_err();
        assert!(
            matches!(e, OutputError::TileNotMultiple { .. }),
            "{output:?}: {e}"
        );
        assert!(e.to_string().contains("whole multiple"), "{e}");
    }
    let e = geometry((0, 48), (64, 48), (3, 48, 64), false, ScaleMode::Stretch).unwrap_err();
    assert!(matches!(e, OutputError::ZeroSize { .. }), "{e}");
}

#[test]
fn shapes_to_frame_dims() {
    let nchw = TensorLayout::Nchw;
    let nhwc = TensorLayout::Nhwc;
    assert_eq!(
        frame_dims_from_shape(&[1, 3, 256, 320], nchw),
        Ok(dims((3, 256, 320)))
    );
    assert_eq!(
        frame_dims_from_shape(&[2, 256, 320, 3], nhwc),
        Ok(dims((3, 256, 320)))
    );
    assert_eq!(
        frame_dims_from_shape(&[1, 1, 320, 320], nchw),
        Ok(dims((1, 320, 320)))
    );
    assert_eq!(
        frame_dims_from_shape(&[1, 384, 384], nchw),
        Ok(dims((1, 384, 384)))
    );
    assert_eq!(
        frame_dims_from_shape(&[384, 384], nhwc),
        Ok(dims((1, 384, 384)))
    );
    for bad in [
        &[-1, 3, 2, 2][..],
        &[1],
        &[1, 2, 3, 4, 5],
        &[1, 0, 2, 2],
        &[],
    ] {
        let e = frame_dims_from_shape(bad, nchw).unwrap_err();
        assert_eq!(
            e,
            OutputError::BadShape {
                shape: bad.to_vec()
            }
        );
        assert!(e.to_string().contains("shape"));
    }
}

#[test]
fn one_frames_output_is_read_as_a_batch_of_one() {
    let nchw = TensorLayout::Nchw;
    assert_eq!(
        frame_dims_of_output(&[3, 256, 320], nchw),
        Ok(dims((3, 256, 320)))
    );
    assert_eq!(
        frame_dims_of_output(&[256, 320, 3], TensorLayout::Nhwc),
        Ok(dims((3, 256, 320)))
    );
    assert_eq!(
        frame_dims_of_output(&[320, 320], nchw),
        Ok(dims((1, 320, 320)))
    );
    // [W] reads as [1, W]: one row of one channel.
    assert_eq!(frame_dims_of_output(&[7], nchw), Ok(dims((1, 1, 7))));
    assert_eq!(
        frame_dims_of_output(&[1, 2, 3, 4], nchw),
        Err(OutputError::BadShape {
            shape: vec![1, 1, 2, 3, 4]
        })
    );
    assert_eq!(
        frame_dims_of_output(&[3, 0, 4], nchw),
        Err(OutputError::BadShape {
            shape: vec![1, 3, 0, 4]
        })
    );
}
