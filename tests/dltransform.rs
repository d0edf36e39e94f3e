//! dltransform: exact frame-to-frame answers on generated models (inversion,
//! 2x upscale, a fixed output size, a mask as alpha, a mask kept on the
//! picture through letterbox and center crop, a letterboxed picture without
//! its bars), tiling, U2-Netp on a real photo, into an MP4 file and over
//! RTP/UDP; upstream metadata carried to the output frames (boxes scaled),
//! and read by dlpublish and dloverlay.

mod common;

use std::time::Duration;

use common::{media, pipeline, run_to_end, test_model};
use gst::prelude::*;
use gst_video::prelude::*;
use gstdl::meta::{read_classification, read_detections, read_tensors};

/// A frame of deterministic pseudo-random pixels in `format`.
fn noise_frame(info: &gst_video::VideoInfo, seed: u32) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_mseconds(u64::from(seed) * 40));
        let mut state = seed.wrapping_mul(2654435761).wrapping_add(1);
        let mut map = buffer.map_writable().unwrap();
        for byte in map.iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = (state >> 24) as u8;
        }
    }
    buffer
}

fn info(format: gst_video::VideoFormat, width: u32, height: u32) -> gst_video::VideoInfo {
    common::init();
    gst_video::VideoInfo::builder(format, width, height)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// Pushes frames through `description`; returns (input, output) pairs and the output caps.
fn transform(
    description: &str,
    input: &gst_video::VideoInfo,
    frames: u32,
) -> (Vec<(gst::Buffer, gst::Buffer)>, gst_video::VideoInfo) {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    harness.set_src_caps(input.to_caps().unwrap());
    harness.play();
    let inputs: Vec<gst::Buffer> = (0..frames).map(|i| noise_frame(input, i + 1)).collect();
    for buffer in &inputs {
        assert_eq!(harness.push(buffer.clone()), Ok(gst::FlowSuccess::Ok));
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut outputs = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        outputs.push(buffer);
    }
    assert_eq!(
        outputs.len(),
        inputs.len(),
        "every frame that entered left: {description}"
    );
    let caps = harness.sinkpad().unwrap().current_caps().unwrap();
    (
        inputs.into_iter().zip(outputs).collect(),
        gst_video::VideoInfo::from_caps(&caps).unwrap(),
    )
}

/// (r, g, b, a) of pixel (x, y) of a packed frame.
fn pixel(frame: &gst_video::VideoFrameRef<&gst::BufferRef>, x: usize, y: usize) -> [u8; 4] {
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).unwrap();
    let bpp = frame.format_info().pixel_stride()[0] as usize;
    let p = &data[y * stride + x * bpp..];
    match frame.format() {
        gst_video::VideoFormat::Rgb => [p[0], p[1], p[2], 255],
        gst_video::VideoFormat::Rgba => [p[0], p[1], p[2], p[3]],
        gst_video::VideoFormat::Bgrx => [p[2], p[1], p[0], 255],
        gst_video::VideoFormat::Bgra => [p[2], p[1], p[0], p[3]],
        gst_video::VideoFormat::Gray8 => [p[0], p[0], p[0], 255],
        other => panic!("no reader for {other:?}"),
    }
}

fn frames<'a>(
    pair: &'a (gst::Buffer, gst::Buffer),
    in_info: &gst_video::VideoInfo,
    out_info: &gst_video::VideoInfo,
) -> (
    gst_video::VideoFrameRef<&'a gst::BufferRef>,
    gst_video::VideoFrameRef<&'a gst::BufferRef>,
) {
    (
        gst_video::VideoFrameRef::from_buffer_ref_readable(pair.0.as_ref(), in_info).unwrap(),
        gst_video::VideoFrameRef::from_buffer_ref_readable(pair.1.as_ref(), out_info).unwrap(),
    )
}

#[test]
fn inversion_is_exact_per_pixel() {
    for (format, batch) in [
        (gst_video::VideoFormat::Rgb, 1),
        (gst_video::VideoFormat::Bgrx, 3),
    ] {
        let input = info(format, 64, 48);
        let description = format!(
            "dltransform model={} batch-size={batch} ! capsfilter caps=video/x-raw,format=RGB",
            test_model("invert.onnx").display()
        );
        let (pairs, out_info) = transform(&description, &input, 5);
        assert_eq!((out_info.width(), out_info.height()), (64, 48));
        for pair in &pairs {
            let (inp, out) = frames(pair, &input, &out_info);
            for y in 0..48 {
                for x in 0..64 {
                    let (a, b) = (pixel(&inp, x, y), pixel(&out, x, y));
                    assert_eq!(
                        [b[0], b[1], b[2]],
                        [255 - a[0], 255 - a[1], 255 - a[2]],
                        "{format:?} ({x},{y})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_2x_upscaler_doubles_the_caps_and_copies_pixels() {
    let input = info(gst_video::VideoFormat::Rgb, 50, 30);
    let (pairs, out_info) = transform(
        &format!(
            "dltransform model={} ! capsfilter caps=video/x-raw,format=RGB",
            test_model("upscale2x.onnx").display()
        ),
        &input,
        2,
    );
    assert_eq!((out_info.width(), out_info.height()), (100, 60));
    for pair in &pairs {
        let (inp, out) = frames(pair, &input, &out_info);
        for y in 0..60 {
            for x in 0..100 {
                assert_eq!(pixel(&out, x, y), pixel(&inp, x / 2, y / 2), "({x},{y})");
            }
        }
    }
}

#[test]
fn a_fixed_output_shape_sets_the_output_caps() {
    // 64x64 frames into a model whose output is fixed at 48x32 (nearest resize).
    let input = info(gst_video::VideoFormat::Rgb, 64, 64);
    let (pairs, out_info) = transform(
        &format!(
            "dltransform model={} ! capsfilter caps=video/x-raw,format=RGB",
            test_model("fixed_resize.onnx").display()
        ),
        &input,
        1,
    );
    assert_eq!((out_info.width(), out_info.height()), (48, 32));
    let (inp, out) = frames(&pairs[0], &input, &out_info);
    for y in 0..32 {
        for x in 0..48 {
            assert_eq!(
                pixel(&out, x, y),
                pixel(&inp, x * 64 / 48, y * 2),
                "({x},{y})"
            );
        }
    }
    // Other frame sizes are stretched into the fixed input: the output stays 48x32.
    let (_, out_info) = transform(
        &format!(
            "dltransform model={} ! capsfilter caps=video/x-raw,format=RGB",
            test_model("fixed_resize.onnx").display()
        ),
        &info(gst_video::VideoFormat::Rgb, 320, 240),
        1,
    );
    assert_eq!((out_info.width(), out_info.height()), (48, 32));
}

#[test]
fn a_mask_becomes_the_alpha_channel_exactly() {
    // The mask is the channel mean; its alpha is round(mean), the colour the input's.
    let input = info(gst_video::VideoFormat::Rgb, 40, 30);
    let (pairs, out_info) = transform(
        &format!(
            "dltransform model={} mask-mode=alpha",
            test_model("gray_mask.onnx").display()
        ),
        &input,
        2,
    );
    assert!(matches!(
        out_info.format(),
        gst_video::VideoFormat::Rgba | gst_video::VideoFormat::Bgra
    ));
    assert_eq!((out_info.width(), out_info.height()), (40, 30));
    for pair in &pairs {
        let (inp, out) = frames(pair, &input, &out_info);
        for y in 0..30 {
            for x in 0..40 {
                let (a, b) = (pixel(&inp, x, y), pixel(&out, x, y));
                let mean = (u32::from(a[0]) + u32::from(a[1]) + u32::from(a[2])) as f64 / 3.0;
                assert_eq!(b, [a[0], a[1], a[2], mean.round() as u8], "({x},{y})");
            }
        }
    }
    // gray: the mask as a picture.
    let (pairs, out_info) = transform(
        &format!(
            "dltransform model={} ! capsfilter caps=video/x-raw,format=GRAY8",
            test_model("gray_mask.onnx").display()
        ),
        &input,
        1,
    );
    let (inp, out) = frames(&pairs[0], &input, &out_info);
    let a = pixel(&inp, 7, 9);
    let mean = (u32::from(a[0]) + u32::from(a[1]) + u32::from(a[2])) as f64 / 3.0;
    assert_eq!(pixel(&out, 7, 9)[0], mean.round() as u8);
}

/// The gray mask of one `frame` through `element` (whose output is GRAY8).
fn gray_mask_of(
    element: &str,
    input: &gst_video::VideoInfo,
    frame: gst::Buffer,
) -> (gst::Buffer, gst_video::VideoInfo) {
    transform_one(
        &format!("{element} ! capsfilter caps=video/x-raw,format=GRAY8"),
        input,
        frame,
    )
}

/// One `frame` through `description`: the output buffer and its caps.
fn transform_one(
    description: &str,
    input: &gst_video::VideoInfo,
    frame: gst::Buffer,
) -> (gst::Buffer, gst_video::VideoInfo) {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    harness.set_src_caps(input.to_caps().unwrap());
    harness.play();
    assert_eq!(harness.push(frame), Ok(gst::FlowSuccess::Ok));
    assert!(harness.push_event(gst::event::Eos::new()));
    let output = harness.pull().unwrap();
    let caps = harness.sinkpad().unwrap().current_caps().unwrap();
    (output, gst_video::VideoInfo::from_caps(&caps).unwrap())
}

#[test]
fn a_mask_stays_on_the_picture_through_letterbox_and_center_crop() {
    // A 128x64 frame, white at x < 48 and y < 40, into a 64x64 model input.
    // The mask (the channel mean) must come back over the same white
    // rectangle, whatever the placement did.
    // - letterbox: the frame lands at half size on rows 16..48 of the mask,
    //   white on mask columns < 24 and rows < 36; bilinear 2:1 down then up
    //   turns each edge into the ramp 1, 0.75, 0.25, 0 around x 47..48 and
    //   y 39..40. Stretching the whole mask instead would put the black bars
    //   on rows 0..16 and 48..64 and the white rows' edge at y 36.
    // - center-crop: mask column c is frame column c + 32; frame columns
    //   0..32 and 96..128, which the model never saw, repeat the mask's edge
    //   columns. Stretching the whole mask would end the white at x 32.
    let input = info(gst_video::VideoFormat::Rgb, 128, 64);
    // The mask's value along one axis, 1 (white) before `edge`, 0 after.
    let profile = |mode: &str, i: usize, edge: usize| match (mode, i + 1) {
        ("letterbox", n) if n < edge => 1.0,
        ("letterbox", n) if n == edge => 0.75,
        ("letterbox", n) if n == edge + 1 => 0.25,
        ("letterbox", _) => 0.0,
        _ => f64::from(u8::from(i < edge)),
    };
    for mode in ["letterbox", "center-crop"] {
        let (output, out_info) = gray_mask_of(
            &format!(
                "dltransform model={} input-width=64 input-height=64 scale-mode={mode} mask-mode=gray",
                test_model("gray_mask.onnx").display()
            ),
            &input,
            frame_with_square(&input, (0, 0, 48, 40), 0),
        );
        assert_eq!((out_info.width(), out_info.height()), (128, 64), "{mode}");
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(output.as_ref(), &out_info).unwrap();
        let got: Vec<Vec<u8>> = (0..64)
            .map(|y| (0..128).map(|x| pixel(&frame, x, y)[0]).collect())
            .collect();
        let want: Vec<Vec<u8>> = (0..64)
            .map(|y| {
                (0..128)
                    .map(|x| (255.0 * profile(mode, x, 48) * profile(mode, y, 40)).round() as u8)
                    .collect()
            })
            .collect();
        for (y, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{mode}: row {y}");
        }
    }
}

/// An RGB frame whose pixel (x, y) is `rgb(x, y)`.
fn frame_of(info: &gst_video::VideoInfo, rgb: impl Fn(usize, usize) -> [u8; 3]) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        for y in 0..info.height() as usize {
            for x in 0..info.width() as usize {
                data[y * stride + 3 * x..][..3].copy_from_slice(&rgb(x, y));
            }
        }
    }
    buffer
}

/// Orange, with the white `SQUARE` in it: every edge on an even pixel, so a
/// 2:1 reduction keeps both colours exact.
fn orange_with_square(x: usize, y: usize) -> [u8; 3] {
    let (x0, y0, x1, y1) = SQUARE;
    if (x0..x1).contains(&x) && (y0..y1).contains(&y) {
        [255, 255, 255]
    } else {
        [200, 100, 50]
    }
}

#[test]
fn letterbox_gives_the_picture_without_the_bars() {
    // A wide and a tall frame letterboxed at half size into a 64x64 input of
    // the inverting model: the output is the picture's part of the model's
    // output, 64x32 or 32x64, every pixel the inverse of the half-size frame.
    // The bars (black, inverted white) are not there.
    for (width, height) in [(128, 64), (64, 128)] {
        let input = info(gst_video::VideoFormat::Rgb, width, height);
        let (output, out_info) = transform_one(
            &format!(
                "dltransform model={} input-width=64 input-height=64 scale-mode=letterbox ! \
                 capsfilter caps=video/x-raw,format=RGB",
                test_model("invert.onnx").display()
            ),
            &input,
            frame_of(&input, orange_with_square),
        );
        assert_eq!(
            (out_info.width(), out_info.height()),
            (width / 2, height / 2),
            "{width}x{height}"
        );
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(output.as_ref(), &out_info).unwrap();
        for y in 0..height as usize / 2 {
            for x in 0..width as usize / 2 {
                let [r, g, b] = orange_with_square(2 * x, 2 * y);
                assert_eq!(
                    pixel(&frame, x, y),
                    [255 - r, 255 - g, 255 - b, 255],
                    "{width}x{height}: ({x},{y})"
                );
            }
        }
    }
    // A 2x model fed the same half-size picture gives it back at the
    // frame's own size, pixel for pixel.
    let input = info(gst_video::VideoFormat::Rgb, 128, 64);
    let (output, out_info) = transform_one(
        &format!(
            "dltransform model={} input-width=64 input-height=64 scale-mode=letterbox ! \
             capsfilter caps=video/x-raw,format=RGB",
            test_model("upscale2x.onnx").display()
        ),
        &input,
        frame_of(&input, orange_with_square),
    );
    assert_eq!((out_info.width(), out_info.height()), (128, 64));
    let frame =
        gst_video::VideoFrameRef::from_buffer_ref_readable(output.as_ref(), &out_info).unwrap();
    for y in 0..64 {
        for x in 0..128 {
            let [r, g, b] = orange_with_square(x, y);
            assert_eq!(pixel(&frame, x, y), [r, g, b, 255], "({x},{y})");
        }
    }
}

#[test]
fn letterbox_into_an_uneven_output_rounds_the_picture_edges() {
    // fixed_resize: 64x64 in, 48x32 out (x 3/4, y 1/2). A 100x30 frame
    // lands on input rows 22..41 (19 rows), output rows 11..20.5: rounded,
    // 11..21, 48x10. A 30x100 frame lands on input columns 22..41, output
    // columns 16.5..30.75: 17..31, 14x32. A white frame comes out all
    // white: no black bar pixel in it.
    for ((width, height), want) in [((100, 30), (48, 10)), ((30, 100), (14, 32))] {
        let input = info(gst_video::VideoFormat::Rgb, width, height);
        let (output, out_info) = transform_one(
            &format!(
                "dltransform model={} scale-mode=letterbox ! capsfilter caps=video/x-raw,format=RGB",
                test_model("fixed_resize.onnx").display()
            ),
            &input,
            frame_of(&input, |_, _| [255, 255, 255]),
        );
        assert_eq!(
            (out_info.width(), out_info.height()),
            want,
            "{width}x{height}"
        );
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(output.as_ref(), &out_info).unwrap();
        for y in 0..want.1 as usize {
            for x in 0..want.0 as usize {
                assert_eq!(pixel(&frame, x, y), [255; 4], "{width}x{height}: ({x},{y})");
            }
        }
    }
}

#[test]
fn tile_settings_that_cannot_work_are_refused_or_warned_about() {
    // The default overlap (32) leaves a 32 pixel tile nothing new to cover.
    let error = common::expect_error(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=96,height=64 ! \
         dltransform model={} tile-size=32 ! fakesink",
        test_model("box_blur.onnx").display()
    ));
    assert!(
        error.contains("tile-overlap=32 must be smaller than tile-size=32"),
        "{error}"
    );
    let p = common::pipeline(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,format=RGB,width=96,height=64 ! \
         dltransform model={} tile-size=32 tile-overlap=8 scale-mode=letterbox ! fakesink",
        test_model("box_blur.onnx").display()
    ));
    let outcome = common::run_to_end(&p, std::time::Duration::from_secs(60), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("scale-mode=letterbox has no effect with tile-size")),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn tiled_and_untiled_runs_match_within_one_level() {
    let input = info(gst_video::VideoFormat::Rgb, 200, 150);
    let model = test_model("box_blur.onnx");
    let (whole, out_info) = transform(
        &format!(
            "dltransform model={} ! capsfilter caps=video/x-raw,format=RGB",
            model.display()
        ),
        &input,
        2,
    );
    let (tiled, tiled_info) = transform(
        &format!(
            "dltransform model={} tile-size=64 tile-overlap=16 ! capsfilter caps=video/x-raw,format=RGB",
            model.display()
        ),
        &input,
        2,
    );
    assert_eq!((tiled_info.width(), tiled_info.height()), (200, 150));
    let mut worst = 0;
    for (a, b) in whole.iter().zip(&tiled) {
        let (_, wa) = frames(a, &input, &out_info);
        let (_, wb) = frames(b, &input, &tiled_info);
        for y in 0..150 {
            for x in 0..200 {
                let (p, q) = (pixel(&wa, x, y), pixel(&wb, x, y));
                for c in 0..3 {
                    worst = worst.max((i32::from(p[c]) - i32::from(q[c])).abs());
                }
            }
        }
    }
    assert!(worst <= 1, "tiled output differs by {worst} levels");
}

fn u2netp(extra: &str) -> String {
    format!(
        "dltransform model={} input-mean=123.675,116.28,103.53 input-std=58.395,57.12,57.375 normalize-output=true {extra}",
        common::data("models/u2netp.onnx").display()
    )
}

#[test]
fn u2netp_keeps_the_person_on_the_astronaut() {
    let p = pipeline(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! {} ! video/x-raw,format=GRAY8 ! appsink name=sink",
        media("astronaut.png").display(),
        u2netp("mask-mode=gray")
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("a mask");
    p.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    assert_eq!((info.width(), info.height()), (512, 512));
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info)
        .unwrap();
    let mean = |x0: usize, y0: usize, x1: usize, y1: usize| {
        let mut sum = 0.0;
        for y in y0..y1 {
            for x in x0..x1 {
                sum += f64::from(pixel(&frame, x, y)[0]) / 255.0;
            }
        }
        sum / ((x1 - x0) * (y1 - y0)) as f64
    };
    // The face and the torso of the suit; the top corners are studio backdrop.
    let (face, torso) = (mean(170, 30, 290, 150), mean(100, 220, 330, 440));
    let (top_left, top_right) = (mean(0, 0, 64, 64), mean(448, 0, 512, 64));
    assert!(
        face >= 0.7 && torso >= 0.7,
        "person: face {face:.2}, torso {torso:.2}"
    );
    assert!(
        top_left <= 0.3 && top_right <= 0.3,
        "background: {top_left:.2}, {top_right:.2}"
    );
}

#[test]
fn three_seconds_into_an_mp4_decode_back_whole_and_inverted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inverted.mp4");
    // 75 black frames at 25 fps; inverted, they are white.
    let p = pipeline(&format!(
        "videotestsrc num-buffers=75 pattern=black ! video/x-raw,width=320,height=240,framerate=25/1 ! \
         dltransform model={} ! videoconvert ! x264enc speed-preset=ultrafast ! mp4mux ! filesink location={}",
        test_model("invert.onnx").display(),
        file.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink sync=false",
        file.display()
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut frames = 0;
    let mut brightness = 0.0;
    while let Ok(sample) = sink.pull_sample() {
        let map = sample.buffer().unwrap().map_readable().unwrap();
        brightness += map.iter().map(|&v| f64::from(v)).sum::<f64>() / map.len() as f64;
        frames += 1;
    }
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(frames, 75);
    let mean = brightness / f64::from(frames);
    assert!(
        mean > 230.0,
        "inverted black frames average {mean:.1} of 255"
    );
}

#[test]
fn rtp_jpeg_over_udp_really_streams() {
    // A receiver on a free loopback port, then the DeepDetect-style sender.
    let receiver = pipeline(
        "udpsrc name=src address=127.0.0.1 port=0 caps=\"application/x-rtp,media=video,encoding-name=JPEG,payload=26,clock-rate=90000\" ! \
         rtpjpegdepay ! jpegdec ! videoconvert ! video/x-raw,format=RGB ! appsink name=sink sync=false",
    );
    receiver.set_state(gst::State::Playing).unwrap();
    let _ = receiver.state(gst::ClockTime::from_seconds(5));
    let port: i32 = receiver.by_name("src").unwrap().property("port");
    assert!(port > 0);
    let sender = pipeline(&format!(
        "videotestsrc num-buffers=30 pattern=black ! video/x-raw,width=320,height=240,framerate=25/1 ! \
         dltransform model={} ! videoconvert ! video/x-raw,format=I420 ! jpegenc ! rtpjpegpay ! udpsink host=127.0.0.1 port={port}",
        test_model("invert.onnx").display()
    ));
    let outcome = run_to_end(&sender, Duration::from_secs(60), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let sink = receiver
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let sample = sink
        .try_pull_sample(gst::ClockTime::from_seconds(10))
        .expect("a frame arrived over RTP");
    receiver.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    assert_eq!((info.width(), info.height()), (320, 240));
    let map = sample.buffer().unwrap().map_readable().unwrap();
    let mean = map.iter().map(|&v| f64::from(v)).sum::<f64>() / map.len() as f64;
    assert!(
        mean > 230.0,
        "the received frame is the inverted (white) one: {mean:.1}"
    );
}

// Metadata from upstream -----------------------------------------------------

/// The square every metadata test draws. Frame sides are multiples of 32,
/// so the dynamic detector runs at the frame's own size and finds it exactly.
const SQUARE: (usize, usize, usize, usize) = (10, 8, 30, 24);

/// Upstream of dltransform in the metadata tests: boxes (the 0.9 `square`
/// and, at threshold 0.25, the 0.3 `circle` on the same box), a frame
/// classification and an embedding.
fn annotators() -> String {
    let labels = test_model("labels3.txt");
    format!(
        "dlinfer model={} labels-file={} confidence-threshold=0.25 ! \
         dlinfer model={} decoder=classification top-k=1 labels-file={} ! \
         dlinfer model={} decoder=features output-name=features",
        test_model("yolov8_dynamic.onnx").display(),
        labels.display(),
        test_model("classify.onnx").display(),
        labels.display(),
        test_model("features.onnx").display(),
    )
}

/// A black RGB frame with a white rectangle (x0, y0, x1, y1; edges exclusive).
fn frame_with_square(
    info: &gst_video::VideoInfo,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
    index: u64,
) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_mseconds(index * 40));
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        data.fill(0);
        for y in y0..y1 {
            data[y * stride + 3 * x0..y * stride + 3 * x1].fill(255);
        }
    }
    buffer
}

/// Pushes `frames` square frames through `annotators() ! {element}`, where
/// `element` contains an element named `t`; returns the buffers that entered
/// `t`, those that left the chain, and the output caps.
fn annotate_and_transform(
    element: &str,
    input: &gst_video::VideoInfo,
    frames: u64,
) -> (Vec<gst::Buffer>, Vec<gst::Buffer>, gst_video::VideoInfo) {
    common::init();
    let description = format!("{} ! {element}", annotators());
    let mut harness = gst_check::Harness::new_parse(&description);
    let entering = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = entering.clone();
    harness
        .element()
        .unwrap()
        .downcast::<gst::Bin>()
        .unwrap()
        .by_name("t")
        .expect("an element named t")
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, probe| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &probe.data {
                seen.lock().unwrap().push(buffer.clone());
            }
            gst::PadProbeReturn::Ok
        });
    harness.set_src_caps(input.to_caps().unwrap());
    harness.play();
    for index in 0..frames {
        let buffer = frame_with_square(input, SQUARE, index);
        assert_eq!(harness.push(buffer), Ok(gst::FlowSuccess::Ok));
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut outputs = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        outputs.push(buffer);
    }
    let caps = harness.sinkpad().unwrap().current_caps().unwrap();
    let entering = std::mem::take(&mut *entering.lock().unwrap());
    assert_eq!(entering.len() as u64, frames, "{description}");
    assert_eq!(outputs.len() as u64, frames, "{description}");
    (
        entering,
        outputs,
        gst_video::VideoInfo::from_caps(&caps).unwrap(),
    )
}

/// A region of interest as it rides on a buffer: type, rectangle, id,
/// parent id and every param structure.
type Roi = (String, (u32, u32, u32, u32), i32, i32, Vec<gst::Structure>);

fn rois(buffer: &gst::BufferRef) -> Vec<Roi> {
    buffer
        .iter_meta::<gst_video::VideoRegionOfInterestMeta>()
        .map(|m| {
            (
                m.roi_type().to_string(),
                m.rect(),
                m.id(),
                m.parent_id(),
                m.params().map(|p| p.to_owned()).collect(),
            )
        })
        .collect()
}

/// `rois` with each rectangle scaled as `scale` says.
fn scaled(rois: &[Roi], scale: impl Fn((u32, u32, u32, u32)) -> (u32, u32, u32, u32)) -> Vec<Roi> {
    rois.iter()
        .map(|(kind, rect, id, parent, params)| {
            (kind.clone(), scale(*rect), *id, *parent, params.clone())
        })
        .collect()
}

/// The two detections of the square, read back at `width` x `height`, with
/// the box they should have there.
fn assert_square_detections(
    buffer: &gst::BufferRef,
    (width, height): (u32, u32),
    expected: (f64, f64, f64, f64),
) {
    let objects = read_detections(buffer, width, height);
    let found: Vec<(&str, i32)> = objects
        .iter()
        .map(|o| (o.label.as_str(), o.label_id))
        .collect();
    assert_eq!(found, [("square", 1), ("circle", 2)], "{objects:?}");
    for (object, confidence) in objects.iter().zip([0.9, 0.3]) {
        assert!((object.confidence - confidence).abs() < 1e-6, "{object:?}");
        let edges = (object.x_min, object.y_min, object.x_max, object.y_max);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(
            close(edges.0, expected.0)
                && close(edges.1, expected.1)
                && close(edges.2, expected.2)
                && close(edges.3, expected.3),
            "{edges:?} is not {expected:?}"
        );
    }
}

#[test]
fn detections_classes_and_embeddings_pass_a_same_size_model_unchanged() {
    let input = info(gst_video::VideoFormat::Rgb, 96, 64);
    for element in [
        format!(
            "dltransform name=t model={}",
            test_model("invert.onnx").display()
        ),
        format!(
            "dltransform name=t model={} mask-mode=alpha",
            test_model("gray_mask.onnx").display()
        ),
    ] {
        let (entering, leaving, out_info) = annotate_and_transform(&element, &input, 3);
        assert_eq!((out_info.width(), out_info.height()), (96, 64));
        for (before, after) in entering.iter().zip(&leaving) {
            // Two boxes and the frame's class, all identical.
            assert_eq!(rois(before).len(), 3, "{element}");
            assert_eq!(rois(after), rois(before), "{element}");
            assert_square_detections(after, (96, 64), (10.0, 8.0, 30.0, 24.0));
            assert_eq!(read_classification(after), read_classification(before));
            assert_eq!(read_classification(after).len(), 1);
            // Our custom tensor meta has no tags: copied as it is.
            let tensors = read_tensors(after);
            assert_eq!(tensors.len(), 1, "{element}");
            assert_eq!(tensors[0].data.len(), 8);
            assert_eq!(tensors, read_tensors(before));
            assert_eq!(after.pts(), before.pts());
        }
    }
}

#[test]
fn a_size_changing_model_scales_the_boxes_to_its_output() {
    // 2x, whole frames and in tiles: every rectangle doubles, params stay.
    let input = info(gst_video::VideoFormat::Rgb, 96, 64);
    for element in [
        format!(
            "dltransform name=t model={}",
            test_model("upscale2x.onnx").display()
        ),
        format!(
            "dltransform name=t model={} tile-size=32 tile-overlap=8",
            test_model("upscale2x.onnx").display()
        ),
    ] {
        let (entering, leaving, out_info) = annotate_and_transform(&element, &input, 2);
        assert_eq!((out_info.width(), out_info.height()), (192, 128));
        for (before, after) in entering.iter().zip(&leaving) {
            let got = rois(after);
            assert_eq!(got.len(), 3, "{element}");
            assert_eq!(
                got,
                scaled(&rois(before), |(x, y, w, h)| (2 * x, 2 * y, 2 * w, 2 * h)),
                "{element}"
            );
            assert_eq!(got[0].1, (20, 16, 40, 32));
            // The classification covers the whole output frame.
            assert_eq!(got[2].1, (0, 0, 192, 128));
            assert_square_detections(after, (192, 128), (20.0, 16.0, 60.0, 48.0));
            assert_eq!(read_classification(after), read_classification(before));
            assert_eq!(read_tensors(after), read_tensors(before));
        }
    }
    // 64x64 stretched into a fixed 48x32 output: x 3/4, y 1/2. GStreamer
    // scales the rectangle in whole pixels (rounding down); the normalised
    // edges of the `detection` params stay exact.
    let input = info(gst_video::VideoFormat::Rgb, 64, 64);
    let (entering, leaving, out_info) = annotate_and_transform(
        &format!(
            "dltransform name=t model={}",
            test_model("fixed_resize.onnx").display()
        ),
        &input,
        1,
    );
    assert_eq!((out_info.width(), out_info.height()), (48, 32));
    let got = rois(&leaving[0]);
    assert_eq!(
        got.iter().map(|r| r.1).collect::<Vec<_>>(),
        [(7, 4, 15, 8), (7, 4, 15, 8), (0, 0, 48, 32)]
    );
    assert_eq!(
        got,
        scaled(&rois(&entering[0]), |(x, y, w, h)| (
            x * 48 / 64,
            y * 32 / 64,
            w * 48 / 64,
            h * 32 / 64
        ))
    );
    assert_square_detections(&leaving[0], (48, 32), (7.5, 4.0, 22.5, 12.0));
}

#[test]
fn letterbox_scales_the_boxes_to_the_picture_and_center_crop_drops_them() {
    // 128x64 letterboxed into the fixed 64x64 input lands on rows 16..48;
    // the output is that part of the model's 48x32 output, rows 8..24: the
    // whole picture at x 3/8, y 1/4. Boxes are scaled (rectangles rounded
    // down, the normalised edges exact); the embedding is kept.
    let input = info(gst_video::VideoFormat::Rgb, 128, 64);
    let (entering, leaving, out_info) = annotate_and_transform(
        &format!(
            "dltransform name=t model={} scale-mode=letterbox",
            test_model("fixed_resize.onnx").display()
        ),
        &input,
        1,
    );
    assert_eq!((out_info.width(), out_info.height()), (48, 16));
    let got = rois(&leaving[0]);
    assert_eq!(
        got.iter().map(|r| r.1).collect::<Vec<_>>(),
        [(3, 2, 7, 4), (3, 2, 7, 4), (0, 0, 48, 16)]
    );
    assert_eq!(
        got,
        scaled(&rois(&entering[0]), |(x, y, w, h)| (
            x * 48 / 128,
            y * 16 / 64,
            w * 48 / 128,
            h * 16 / 64
        ))
    );
    assert_square_detections(&leaving[0], (48, 16), (3.75, 2.0, 11.25, 6.0));
    assert_eq!(
        read_classification(&leaving[0]),
        read_classification(&entering[0])
    );
    assert_eq!(read_tensors(&leaving[0]).len(), 1);
    assert_eq!(read_tensors(&leaving[0]), read_tensors(&entering[0]));
    // Center crop: the output is what the model saw, a cut of the frame; a
    // scale would misplace every box, so ROIs are dropped, the rest kept.
    let (_, leaving, out_info) = annotate_and_transform(
        &format!(
            "dltransform name=t model={} scale-mode=center-crop",
            test_model("fixed_resize.onnx").display()
        ),
        &input,
        1,
    );
    assert_eq!((out_info.width(), out_info.height()), (48, 32));
    assert!(rois(&leaving[0]).is_empty(), "{:?}", rois(&leaving[0]));
    assert_eq!(read_tensors(&leaving[0]).len(), 1);
}

#[test]
fn dlpublish_after_an_upscaler_writes_the_scaled_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("boxes.jsonl");
    let input = info(gst_video::VideoFormat::Rgb, 96, 64);
    let (_, leaving, _) = annotate_and_transform(
        &format!(
            "dltransform name=t model={} ! dlpublish location={}",
            test_model("upscale2x.onnx").display(),
            results.display()
        ),
        &input,
        2,
    );
    assert_eq!(leaving.len(), 2);
    let text = std::fs::read_to_string(&results).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (index, line) in lines.iter().enumerate() {
        assert_eq!(line["frame"], index as u64);
        assert_eq!(
            (line["width"].as_u64(), line["height"].as_u64()),
            (Some(192), Some(128))
        );
        let classes = line["classes"].as_array().unwrap();
        let boxes: Vec<(&str, f64, [f64; 4])> = classes
            .iter()
            .filter(|c| c.get("bbox").is_some())
            .map(|c| {
                let b = &c["bbox"];
                (
                    c["cat"].as_str().unwrap(),
                    c["prob"].as_f64().unwrap(),
                    ["xmin", "ymin", "xmax", "ymax"].map(|k| b[k].as_f64().unwrap()),
                )
            })
            .collect();
        assert_eq!(boxes.len(), 2, "{line}");
        for ((cat, prob, edges), (want_cat, want_prob)) in
            boxes.iter().zip([("square", 0.9), ("circle", 0.3)])
        {
            assert_eq!(*cat, want_cat);
            assert!((prob - want_prob).abs() < 1e-6, "{line}");
            assert_eq!(*edges, [20.0, 16.0, 60.0, 48.0], "{line}");
        }
    }
}

#[test]
fn dloverlay_after_an_upscaler_draws_on_the_scaled_box() {
    let input = info(gst_video::VideoFormat::Rgb, 96, 64);
    let (_, leaving, out_info) = annotate_and_transform(
        &format!(
            "dltransform name=t model={} ! capsfilter caps=video/x-raw,format=RGB ! \
             dloverlay draw-labels=false line-width=2 color=0xffff0000",
            test_model("upscale2x.onnx").display()
        ),
        &input,
        1,
    );
    let frame =
        gst_video::VideoFrameRef::from_buffer_ref_readable(leaving[0].as_ref(), &out_info).unwrap();
    assert_eq!((out_info.width(), out_info.height()), (192, 128));
    // The square is at x 20..60, y 16..48 in the output.
    for y in 0..128 {
        for x in 0..192 {
            let inside = (20..60).contains(&x) && (16..48).contains(&y);
            let outline = inside && !((22..58).contains(&x) && (18..46).contains(&y));
            let want = match (outline, inside) {
                (true, _) => [255, 0, 0, 255],
                (false, true) => [255, 255, 255, 255],
                (false, false) => [0, 0, 0, 255],
            };
            assert_eq!(pixel(&frame, x, y), want, "({x},{y})");
        }
    }
}
