//! dloverlay: boxes at the exact pixels in every format, labels above them,
//! and anonymisation that changes pixels only inside the boxes.

mod common;

use gst_video::prelude::*;
use gstdl::meta::{DetectedObject, attach_detection};

const WIDTH: u32 = 64;
const HEIGHT: u32 = 48;
/// The box: x 10..30, y 8..24 (even edges, so 4:2:0 chroma is covered whole).
const BOX: (usize, usize, usize, usize) = (10, 8, 30, 24);

fn info(format: gst_video::VideoFormat) -> gst_video::VideoInfo {
    common::init();
    gst_video::VideoInfo::builder(format, WIDTH, HEIGHT)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// A frame of `fill` bytes (mid grey in every format when 128) or noise, with one detection.
fn frame(info: &gst_video::VideoInfo, noise: bool) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        let mut state = 0x1234_5678u32;
        for byte in buffer.map_writable().unwrap().iter_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *byte = if noise { (state >> 24) as u8 } else { 128 };
        }
        let (x0, y0, x1, y1) = BOX;
        let object = DetectedObject {
            label: "face".into(),
            label_id: 0,
            confidence: 0.93,
            x_min: x0 as f64,
            y_min: y0 as f64,
            x_max: x1 as f64,
            y_max: y1 as f64,
            details: Default::default(),
        };
        attach_detection(buffer, &object, WIDTH, HEIGHT);
    }
    buffer
}

fn run(element: &str, input: gst::Buffer, info: &gst_video::VideoInfo) -> gst::Buffer {
    let mut harness = gst_check::Harness::new_parse(element);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    harness.push_and_pull(input).expect("a frame comes out")
}

/// Component `comp` (R, G, B for RGB formats; Y, U, V for YUV) at pixel (x, y),
/// read through GStreamer's own description of the format.
fn component(
    frame: &gst_video::VideoFrameRef<&gst::BufferRef>,
    comp: u8,
    x: usize,
    y: usize,
) -> u8 {
    let format_info = frame.format_info();
    let plane = format_info.plane()[comp as usize] as usize;
    let offset = format_info.poffset()[comp as usize] as usize;
    let pixel_stride = format_info.pixel_stride()[comp as usize] as usize;
    let (sub_w, sub_h) = (
        format_info.w_sub()[comp as usize],
        format_info.h_sub()[comp as usize],
    );
    let stride = frame.plane_stride()[plane] as usize;
    frame.plane_data(plane as u32).unwrap()
        [(y >> sub_h) * stride + (x >> sub_w) * pixel_stride + offset]
}

fn on_outline(x: usize, y: usize, line: usize) -> bool {
    let (x0, y0, x1, y1) = BOX;
    (x0..x1).contains(&x)
        && (y0..y1).contains(&y)
        && (x < x0 + line || x >= x1 - line || y < y0 + line || y >= y1 - line)
}

#[test]
fn boxes_land_on_the_exact_pixels_in_every_format() {
    use gst_video::VideoFormat::*;
    for format in [
        Rgb, Bgr, Rgba, Bgra, Rgbx, Bgrx, Xrgb, Xbgr, Argb, Abgr, I420, Nv12,
    ] {
        let info = info(format);
        let out = run(
            "dloverlay draw-labels=false line-width=2 color=0xffff0000",
            frame(&info, false),
            &info,
        );
        let frame =
            gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
        let yuv = format_is_yuv(format);
        let red = gstreamer_red(format);
        for y in 0..HEIGHT as usize {
            for x in 0..WIDTH as usize {
                let got = [0, 1, 2].map(|c| component(&frame, c, x, y));
                if on_outline(x, y, 2) {
                    // YUV: within 1 of GStreamer's own conversion (rounding differs).
                    let tolerance = if yuv { 1 } else { 0 };
                    assert!(
                        got[0].abs_diff(red[0]) <= tolerance,
                        "{format:?} ({x},{y}) outline: {got:?} vs {red:?}"
                    );
                    if !yuv {
                        assert_eq!(got, red, "{format:?} ({x},{y}) outline");
                    }
                } else if !yuv || !near_outline(x, y) {
                    assert_eq!(
                        got,
                        [128, 128, 128],
                        "{format:?} ({x},{y}) must be untouched"
                    );
                } else {
                    assert_eq!(got[0], 128, "{format:?} ({x},{y}) luma must be untouched");
                }
            }
        }
        if yuv {
            // Chroma samples wholly covered by the 2-pixel outline are red too.
            let chroma = [component(&frame, 1, 10, 8), component(&frame, 2, 10, 8)];
            assert!(
                chroma[0].abs_diff(red[1]) <= 1 && chroma[1].abs_diff(red[2]) <= 1,
                "{format:?}: {chroma:?} vs {red:?}"
            );
        }
    }
}

/// Pure red in `format`, as GStreamer's own videotestsrc and videoconvert make it.
fn gstreamer_red(format: gst_video::VideoFormat) -> [u8; 3] {
    use gst::prelude::*;
    let p = common::pipeline(&format!(
        "videotestsrc num-buffers=1 pattern=solid-color foreground-color=0xffff0000 ! \
         video/x-raw,format=RGB,width=4,height=4 ! videoconvert ! video/x-raw,format={} ! appsink name=sink",
        format.to_str()
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().unwrap();
    p.set_state(gst::State::Null).unwrap();
    let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(sample.buffer().unwrap(), &info)
        .unwrap();
    [0, 1, 2].map(|c| component(&frame, c, 0, 0))
}

fn format_is_yuv(format: gst_video::VideoFormat) -> bool {
    matches!(
        format,
        gst_video::VideoFormat::I420 | gst_video::VideoFormat::Nv12
    )
}

/// Pixels whose 2x2 chroma sample an outline pixel shares.
fn near_outline(x: usize, y: usize) -> bool {
    let (bx, by) = (x & !1, y & !1);
    (0..2).any(|dy| (0..2).any(|dx| on_outline(bx + dx, by + dy, 2)))
}

#[test]
fn labels_are_written_above_the_box() {
    let info = info(gst_video::VideoFormat::Rgb);
    let input = frame(&info, false);
    let out = run("dloverlay font-size=10 line-width=1", input, &info);
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
    // The 8 rows above the box hold the label (it does not fit above: it sits just inside the top).
    let changed = (0..HEIGHT as usize)
        .flat_map(|y| (0..WIDTH as usize).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            !on_outline(x, y, 1) && [0, 1, 2].map(|c| component(&frame, c, x, y)) != [128, 128, 128]
        })
        .collect::<Vec<_>>();
    assert!(changed.len() > 50, "label pixels drawn: {}", changed.len());
    let (x0, _, _, _) = BOX;
    assert!(
        changed.iter().all(|&(x, y)| x >= x0 && y < 24),
        "label stays at the box's top left: {:?}",
        changed.iter().max()
    );
}

#[test]
fn blur_and_pixelate_change_pixels_only_inside_the_box() {
    for mode in ["blur", "pixelate"] {
        for format in [gst_video::VideoFormat::Rgbx, gst_video::VideoFormat::I420] {
            let info = info(format);
            let input = frame(&info, true);
            let before = input.copy_deep().unwrap();
            let out = run(&format!("dloverlay mode={mode}"), input, &info);
            let a =
                gst_video::VideoFrameRef::from_buffer_ref_readable(before.as_ref(), &info).unwrap();
            let b =
                gst_video::VideoFrameRef::from_buffer_ref_readable(out.as_ref(), &info).unwrap();
            let (x0, y0, x1, y1) = BOX;
            let mut changed_inside = std::collections::HashSet::new();
            for y in 0..HEIGHT as usize {
                for x in 0..WIDTH as usize {
                    let inside = (x0..x1).contains(&x) && (y0..y1).contains(&y);
                    for comp in 0..3u8 {
                        let (p, q) = (component(&a, comp, x, y), component(&b, comp, x, y));
                        // 4:2:0 chroma of a box with even edges is inside or outside whole.
                        if !inside {
                            assert_eq!(p, q, "{mode} {format:?} ({x},{y}) outside the box changed");
                        } else if p != q {
                            changed_inside.insert((x, y));
                        }
                    }
                }
            }
            // Noise inside a 20x16 box: nearly every pixel differs from its cell's mean or blur.
            assert!(
                changed_inside.len() * 10 >= 20 * 16 * 9,
                "{mode} {format:?}: {} of 320 pixels changed",
                changed_inside.len()
            );
        }
    }
}
