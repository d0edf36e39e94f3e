//! dltransform: exact frame-to-frame answers on generated models (inversion,
//! 2x upscale, a fixed output size, a mask as alpha), tiling, U2-Netp on a
//! real photo, into an MP4 file and over RTP/UDP.

mod common;

use std::time::Duration;

use common::{media, pipeline, run_to_end, test_model};
use gst::prelude::*;
use gst_video::prelude::*;

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
