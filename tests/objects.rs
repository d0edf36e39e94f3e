//! `dlinfer inference-region=objects`: a model on each detected object. An
//! identity model returns the very crop it was fed, so each crop's region,
//! padding and clipping is checked exactly under every scale mode and pixel
//! format; a colour classifier and a mean-colour feature model check what
//! lands on which object, the filters, batching, chains and the errors.

mod common;

use common::{expect_error, test_model};
use gst_video::VideoRegionOfInterestMeta;
use gst_video::prelude::*;
use gstdl::meta::{
    DetectedObject, ObjectTensor, attach_detection, read_detections, read_object_classes,
    read_object_tensors,
};

/// Box edges x0, y0, x1, y1 in frame pixels.
type Edges = (f64, f64, f64, f64);
/// A solid square: its colour and edges.
type Square = ([u8; 3], Edges);

const WIDTH: u32 = 160;
const HEIGHT: u32 = 120;
/// The identity model's input: every crop below is at most this large, so
/// it is scaled up and its edge pixels are sampled exactly.
const INPUT: usize = 64;
/// dlinfer's letterbox border.
const PAD: f32 = 114.0;

fn model(name: &str) -> String {
    test_model(name).display().to_string()
}

fn info(format: gst_video::VideoFormat, width: u32, height: u32) -> gst_video::VideoInfo {
    gst_video::VideoInfo::builder(format, width, height)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// An RGB frame whose pixel (x, y) is `color(x, y)`.
fn rgb_frame(width: u32, height: u32, color: impl Fn(usize, usize) -> [u8; 3]) -> gst::Buffer {
    common::init();
    let info = info(gst_video::VideoFormat::Rgb, width, height);
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        for y in 0..height as usize {
            for x in 0..width as usize {
                data[y * stride + 3 * x..y * stride + 3 * x + 3].copy_from_slice(&color(x, y));
            }
        }
    }
    buffer
}

/// The position ramp: red = x, green = y, blue = 0. A crop's extreme red
/// and green values are its edges.
fn ramp_frame() -> gst::Buffer {
    rgb_frame(WIDTH, HEIGHT, |x, y| [x as u8, y as u8, 0])
}

/// `buffer` (RGB) converted to `format`.
fn converted(buffer: &gst::Buffer, format: gst_video::VideoFormat) -> gst::Buffer {
    let from = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT);
    if format == gst_video::VideoFormat::Rgb {
        return buffer.copy_deep().unwrap();
    }
    let to = info(format, WIDTH, HEIGHT);
    let converter = gst_video::VideoConverter::new(&from, &to, None).unwrap();
    let src = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &from).unwrap();
    let mut out = gst::Buffer::with_size(to.size()).unwrap();
    {
        let out = out.get_mut().unwrap();
        let mut dest = gst_video::VideoFrameRef::from_buffer_ref_writable(out, &to).unwrap();
        converter.frame_ref(&src, &mut dest);
    }
    out
}

fn object(label: &str, (x0, y0, x1, y1): Edges) -> DetectedObject {
    DetectedObject {
        label: label.into(),
        label_id: 1,
        confidence: 0.9,
        x_min: x0,
        y_min: y0,
        x_max: x1,
        y_max: y1,
        details: Default::default(),
    }
}

/// `buffer` with these objects attached as ROIs (as any detector would).
fn with_objects(mut buffer: gst::Buffer, objects: &[DetectedObject], index: u64) -> gst::Buffer {
    {
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(index * 40));
        b.set_duration(gst::ClockTime::from_mseconds(40));
        for o in objects {
            attach_detection(b, o, WIDTH, HEIGHT);
        }
    }
    buffer
}

/// Pushes `frames` of `caps` through `description`, then EOS; returns every
/// frame that came out, asserting none was lost.
fn run(description: &str, caps: gst::Caps, frames: Vec<gst::Buffer>) -> Vec<gst::Buffer> {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    harness.set_src_caps(caps);
    harness.play();
    let count = frames.len();
    for frame in frames {
        assert_eq!(
            harness.push(frame),
            Ok(gst::FlowSuccess::Ok),
            "{description}"
        );
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut out = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        out.push(buffer);
    }
    assert_eq!(out.len(), count, "frames in = frames out: {description}");
    out
}

fn identity(extra: &str) -> String {
    format!(
        "dlinfer inference-region=objects model={} decoder=none input-width={INPUT} \
         input-height={INPUT} input-std=1 {extra}",
        model("identity_rgb.onnx")
    )
}

/// What a crop fed to the identity model shows: the extreme red and green
/// values of the pixels that came from the frame (blue ~0; the letterbox
/// border is 114 in every channel), and how many there are.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seen {
    x: (f32, f32),
    y: (f32, f32),
    content_pixels: usize,
}

fn seen(tensor: &ObjectTensor) -> Seen {
    assert_eq!(tensor.tensor.shape, vec![3, INPUT, INPUT]);
    let plane = INPUT * INPUT;
    let data = &tensor.tensor.data;
    let mut seen = Seen {
        x: (f32::MAX, f32::MIN),
        y: (f32::MAX, f32::MIN),
        content_pixels: 0,
    };
    for i in 0..plane {
        let (r, g, b) = (data[i], data[plane + i], data[2 * plane + i]);
        if b > PAD / 2.0 {
            assert!(
                (r - PAD).abs() < 1e-3 && (g - PAD).abs() < 1e-3,
                "border pixel {r},{g},{b}"
            );
            continue;
        }
        seen.content_pixels += 1;
        seen.x = (seen.x.0.min(r), seen.x.1.max(r));
        seen.y = (seen.y.0.min(g), seen.y.1.max(g));
    }
    seen
}

/// Where the crop of frame rectangle (x, y, w, h) should show under each
/// scale mode into a square INPUT: the frame pixels seen, and how many
/// model pixels show them.
fn expected(mode: &str, (x, y, w, h): (usize, usize, usize, usize)) -> Seen {
    let n = INPUT as f64;
    let (sx, sy, sw, sh, pixels) = match mode {
        "stretch" => (x, y, w, h, INPUT * INPUT),
        "letterbox" => {
            let s = (n / w as f64).min(n / h as f64);
            let (cw, ch) = ((w as f64 * s).round(), (h as f64 * s).round());
            (x, y, w, h, (cw * ch) as usize)
        }
        _ => {
            let s = (n / w as f64).max(n / h as f64);
            let (cw, ch) = ((n / s).round() as usize, (n / s).round() as usize);
            let (cw, ch) = (cw.min(w), ch.min(h));
            (x + (w - cw) / 2, y + (h - ch) / 2, cw, ch, INPUT * INPUT)
        }
    };
    Seen {
        x: (sx as f32, (sx + sw - 1) as f32),
        y: (sy as f32, (sy + sh - 1) as f32),
        content_pixels: pixels,
    }
}

/// Two objects: one inside, one in the bottom-right corner so padding is
/// clipped; and their crops (x, y, w, h) with padding 0 and 0.25.
const INSIDE: Edges = (20.0, 30.0, 60.0, 54.0);
const CORNER: Edges = (128.0, 100.0, 160.0, 120.0);
const CROPS_UNPADDED: [(usize, usize, usize, usize); 2] = [(20, 30, 40, 24), (128, 100, 32, 20)];
/// 0.25 of 40x24 is 10 and 6; of 32x20 is 8 and 5, clipped at 160x120.
const CROPS_PADDED: [(usize, usize, usize, usize); 2] = [(10, 24, 60, 36), (120, 95, 40, 25)];

#[test]
fn each_crop_is_its_padded_clipped_region_in_every_scale_mode_and_format() {
    let formats = [
        gst_video::VideoFormat::Rgb,
        gst_video::VideoFormat::Bgr,
        gst_video::VideoFormat::Rgba,
        gst_video::VideoFormat::Bgra,
        gst_video::VideoFormat::Rgbx,
        gst_video::VideoFormat::Bgrx,
        gst_video::VideoFormat::Xrgb,
        gst_video::VideoFormat::Xbgr,
        gst_video::VideoFormat::Argb,
        gst_video::VideoFormat::Abgr,
        gst_video::VideoFormat::I420,
        gst_video::VideoFormat::Nv12,
    ];
    let objects = [object("face", INSIDE), object("car", CORNER)];
    for format in formats {
        // YUV carries the ramp through a colour conversion (and chroma at
        // half resolution): within a few levels, not exact.
        let tolerance = if format.to_str().contains("I420") || format.to_str().contains("NV12") {
            4.0
        } else {
            0.0
        };
        let frame = with_objects(converted(&ramp_frame(), format), &objects, 0);
        for mode in ["stretch", "letterbox", "center-crop"] {
            for (padding, crops) in [(0.0, CROPS_UNPADDED), (0.25, CROPS_PADDED)] {
                let what = format!("{format:?} {mode} padding {padding}");
                let out = run(
                    &identity(&format!("scale-mode={mode} object-padding={padding}")),
                    info(format, WIDTH, HEIGHT).to_caps().unwrap(),
                    vec![frame.copy()],
                );
                let tensors = read_object_tensors(&out[0]);
                let ids: Vec<i32> = tensors.iter().map(|t| t.roi_id).collect();
                assert_eq!(ids, vec![0, 1], "{what}");
                for (tensor, crop) in tensors.iter().zip(crops) {
                    let got = seen(tensor);
                    let want = expected(mode, crop);
                    let close = |a: (f32, f32), b: (f32, f32)| {
                        (a.0 - b.0).abs() <= tolerance && (a.1 - b.1).abs() <= tolerance
                    };
                    assert!(
                        close(got.x, want.x) && close(got.y, want.y),
                        "{what} crop {crop:?}: saw {got:?}, expected {want:?}"
                    );
                    assert_eq!(got.content_pixels, want.content_pixels, "{what} {crop:?}");
                }
            }
        }
    }
}

#[test]
fn gray_frames_crop_the_same_columns() {
    let gray = info(gst_video::VideoFormat::Gray8, WIDTH, HEIGHT);
    let mut buffer = gst::Buffer::with_size(gray.size()).unwrap();
    {
        let b = buffer.get_mut().unwrap();
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(b, &gray).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        for y in 0..HEIGHT as usize {
            for x in 0..WIDTH as usize {
                data[y * stride + x] = x as u8;
            }
        }
    }
    let frame = with_objects(buffer, &[object("face", INSIDE)], 0);
    let out = run(
        &identity("object-padding=0.25"),
        gray.to_caps().unwrap(),
        vec![frame],
    );
    let tensors = read_object_tensors(&out[0]);
    assert_eq!(tensors.len(), 1);
    let red = &tensors[0].tensor.data[..INPUT * INPUT];
    let (lo, hi) = red
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert_eq!((lo, hi), (10.0, 69.0));
}

/// A frame of solid squares, each (colour, box) on black.
fn squares(items: &[Square]) -> gst::Buffer {
    let owned: Vec<Square> = items.to_vec();
    rgb_frame(WIDTH, HEIGHT, move |x, y| {
        let (x, y) = (x as f64, y as f64);
        owned
            .iter()
            .find(|(_, (x0, y0, x1, y1))| x >= *x0 && x < *x1 && y >= *y0 && y < *y1)
            .map_or([0, 0, 0], |(c, _)| *c)
    })
}

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];

fn classify(extra: &str) -> String {
    format!(
        "dlinfer inference-region=objects model={} decoder=classification labels-file={} \
         softmax=false top-k=2 {extra}",
        model("classify.onnx"),
        model("labels3.txt")
    )
}

/// Each object's ROI id, label and its second-stage classes under
/// `results_name` (best label, confidence), in ROI order.
fn object_labels(buffer: &gst::Buffer, results_name: &str) -> Vec<(String, Option<(String, f64)>)> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|meta| {
            let classes = read_object_classes(&meta)
                .into_iter()
                .find(|c| c.results_name == results_name)
                .map(|c| (c.classes[0].label.clone(), c.classes[0].confidence));
            (meta.roi_type().to_string(), classes)
        })
        .collect()
}

#[test]
fn classes_land_on_their_own_object_filtered_by_class_and_size() {
    // Labels of labels3.txt by colour: red 0 background, green 1 square,
    // blue 2 circle; logits are 10 x the channel means (0..1).
    let objects = [
        (RED, (10.0, 10.0, 40.0, 40.0), "car"),
        (GREEN, (50.0, 10.0, 80.0, 40.0), "person"),
        (BLUE, (90.0, 10.0, 120.0, 40.0), "car"),
        (GREEN, (130.0, 10.0, 139.0, 40.0), "car"),
    ];
    let frame = || {
        let pixels: Vec<_> = objects.iter().map(|(c, b, _)| (*c, *b)).collect();
        let detected: Vec<_> = objects.iter().map(|(_, b, l)| object(l, *b)).collect();
        with_objects(squares(&pixels), &detected, 0)
    };
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    let all = run(&classify(""), caps.clone(), vec![frame()]);
    let got = object_labels(&all[0], "classification");
    let label = |l: &str| Some((l.to_string(), 10.0));
    assert_eq!(
        got,
        vec![
            ("car".into(), label("background")),
            ("person".into(), label("square")),
            ("car".into(), label("circle")),
            ("car".into(), label("square")),
        ]
    );
    // The top-k holds the runner-up too, after the best.
    let meta = all[0].meta::<VideoRegionOfInterestMeta>().unwrap();
    let classes = &read_object_classes(&meta)[0].classes;
    assert_eq!(classes.len(), 2);
    assert_eq!((classes[1].confidence, classes[0].label_id), (0.0, 0));
    // Objects of the boxes are still read as detections, not frame classes.
    assert_eq!(read_detections(&all[0], WIDTH, HEIGHT).len(), 4);

    let cars = run(
        &classify("object-class=car results-name=color"),
        caps.clone(),
        vec![frame()],
    );
    let got = object_labels(&cars[0], "color");
    assert_eq!(
        got.iter().map(|(_, c)| c.is_some()).collect::<Vec<_>>(),
        vec![true, false, true, true]
    );
    assert!(
        object_labels(&cars[0], "classification")
            .iter()
            .all(|(_, c)| c.is_none())
    );

    // The last car is 9 px wide: under 10 it is skipped, at 9 it is not.
    let big = run(
        &classify("object-class=car,person object-min-size=10"),
        caps.clone(),
        vec![frame()],
    );
    let has = |b: &gst::Buffer| {
        object_labels(b, "classification")
            .iter()
            .map(|(_, c)| c.is_some())
            .collect::<Vec<_>>()
    };
    assert_eq!(has(&big[0]), vec![true, true, true, false]);
    let nine = run(&classify("object-min-size=9"), caps, vec![frame()]);
    assert_eq!(has(&nine[0]), vec![true, true, true, true]);
}

#[test]
fn batched_crops_across_frames_equal_one_at_a_time_and_keep_frame_order() {
    // 0, 2, 1, 3, 0 objects on consecutive frames: batches of 3 and 4 span
    // frames; frames without objects wait their turn.
    let boxes = [
        (4.0, 4.0, 30.0, 20.0),
        (40.0, 50.0, 90.0, 100.0),
        (100.0, 8.0, 150.0, 60.0),
    ];
    let counts = [0usize, 2, 1, 3, 0, 1];
    let frames = || {
        counts
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let objects: Vec<_> = boxes[..n].iter().map(|b| object("face", *b)).collect();
                with_objects(ramp_frame(), &objects, i as u64)
            })
            .collect::<Vec<_>>()
    };
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    let reference = run(
        &identity("batch-size=1 async-inference=false"),
        caps.clone(),
        frames(),
    );
    for extra in [
        "batch-size=3",
        "batch-size=4 async-inference=false",
        "batch-size=2 object-padding=0",
    ] {
        let out = run(&identity(extra), caps.clone(), frames());
        for (i, (a, b)) in reference.iter().zip(&out).enumerate() {
            assert_eq!(a.pts(), b.pts(), "{extra}: frame order");
            let (ta, tb) = (read_object_tensors(a), read_object_tensors(b));
            assert_eq!(ta.len(), counts[i], "{extra} frame {i}");
            assert_eq!(ta, tb, "{extra} frame {i}");
        }
    }
}

#[test]
fn a_chain_of_three_detects_embeds_and_classifies_each_object() {
    // The generated detector boxes the bright square; the features model
    // gives the crop's channel means (and their squares); the classifier
    // names its colour.
    let description = format!(
        "dlinfer model={} labels-file={} ! \
         dlinfer inference-region=objects model={} decoder=features normalize=false \
         output-name=features results-name=look ! {}",
        model("yolov8_nchw.onnx"),
        model("labels3.txt"),
        model("features.onnx"),
        classify("results-name=color")
    );
    let frames: Vec<gst::Buffer> = (0..3u64)
        .map(|i| {
            let mut b = squares(&[(
                [255, 255, 255],
                (40.0 + 10.0 * i as f64, 40.0, 80.0 + 10.0 * i as f64, 80.0),
            )]);
            b.get_mut()
                .unwrap()
                .set_pts(gst::ClockTime::from_mseconds(i * 40));
            b
        })
        .collect();
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    let out = run(&description, caps, frames);
    for (i, buffer) in out.iter().enumerate() {
        let objects = read_detections(buffer, WIDTH, HEIGHT);
        assert_eq!(objects.len(), 1, "frame {i}: {objects:?}");
        let tensors = read_object_tensors(buffer);
        assert_eq!(tensors.len(), 1, "frame {i}");
        assert_eq!(
            (tensors[0].roi_id, tensors[0].results_name.as_str()),
            (0, "look")
        );
        // A white crop: every channel mean is 1 (pixels / 255).
        assert_eq!(tensors[0].tensor.data[..3], [1.0, 1.0, 1.0], "frame {i}");
        let labels = object_labels(buffer, "color");
        assert!(
            labels[0].1.as_ref().is_some_and(|(_, c)| *c == 10.0),
            "frame {i}: {labels:?}"
        );
    }
}

#[test]
fn frames_without_any_object_pass_with_one_warning() {
    common::init();
    let p = common::pipeline(&format!(
        "videotestsrc num-buffers=40 ! video/x-raw,format=RGB,width=64,height=48 ! {} ! fakesink",
        classify("")
    ));
    let outcome = common::run_to_end(&p, std::time::Duration::from_secs(60), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let warned: Vec<&String> = outcome
        .warnings
        .iter()
        .filter(|w| w.contains("saw no object"))
        .collect();
    assert_eq!(warned.len(), 1, "{:?}", outcome.warnings);
    assert!(warned[0].contains("30 frames"), "{}", warned[0]);
}

#[test]
fn bad_settings_fail_at_start_with_the_fix() {
    for padding in ["-0.1", "1.5"] {
        let error = expect_error(&format!(
            "videotestsrc num-buffers=1 ! video/x-raw,format=RGB ! {} ! fakesink",
            classify(&format!("object-padding={padding}"))
        ));
        assert!(
            error.contains("out of range") && error.contains("from 0"),
            "{error}"
        );
    }
    let error = expect_error(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB ! dlinfer inference-region=objects \
         model={} labels-file={} ! fakesink",
        model("yolov8_nchw.onnx"),
        model("labels3.txt")
    ));
    assert!(
        error.contains("finds boxes") && error.contains("decoder=classification"),
        "{error}"
    );
    let error = expect_error(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB ! {} ! fakesink",
        classify("results-name=detection")
    ));
    assert!(error.contains("taken"), "{error}");
}

fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Three frames with 2, 0 and 1 coloured objects.
fn coloured_frames() -> Vec<gst::Buffer> {
    let per_frame: [&[Square]; 3] = [
        &[
            (RED, (10.0, 10.0, 40.0, 40.0)),
            (BLUE, (60.0, 20.0, 100.0, 60.0)),
        ],
        &[],
        &[(GREEN, (30.0, 50.0, 70.0, 90.0))],
    ];
    per_frame
        .iter()
        .enumerate()
        .map(|(i, items)| {
            let objects: Vec<_> = items.iter().map(|(_, b)| object("face", *b)).collect();
            with_objects(squares(items), &objects, i as u64)
        })
        .collect()
}

#[test]
fn dlpublish_writes_each_objects_results_and_one_npy_row_per_object() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("results.jsonl");
    let npy = dir.path().join("faces.npy");
    let second_stage = format!(
        "dlinfer inference-region=objects model={} decoder=features normalize=false \
         output-name=features ! {}",
        model("features.onnx"),
        classify("results-name=color")
    );
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    run(
        &format!(
            "{second_stage} ! dlpublish location={} embeddings-location={}",
            lines.display(),
            npy.display()
        ),
        caps.clone(),
        coloured_frames(),
    );
    let records = json_lines(&lines);
    // Frame 1 has no object and no result: no line.
    assert_eq!(
        records
            .iter()
            .map(|r| r["frame"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [0, 2]
    );
    let entries: Vec<&serde_json::Value> = records
        .iter()
        .flat_map(|r| r["classes"].as_array().unwrap())
        .collect();
    let colors: Vec<&str> = entries
        .iter()
        .map(|e| e["color"][0]["cat"].as_str().unwrap())
        .collect();
    assert_eq!(colors, ["background", "circle", "square"]);
    assert_eq!(entries[0]["color"][0]["prob"], 10.0);
    assert_eq!(entries[0]["color"].as_array().unwrap().len(), 2, "top-k=2");
    let rows: Vec<u64> = entries
        .iter()
        .map(|e| e["embedding_row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, [0, 1, 2]);
    assert!(
        records.iter().all(|r| r.get("embedding_row").is_none()),
        "no frame embedding"
    );
    // One .npy row per object: its channel means (red, then blue, then green).
    let bytes = std::fs::read(&npy).unwrap();
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let data: Vec<f32> = bytes[10 + header_len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(data.len(), 3 * 8);
    assert_eq!(data[..3], [1.0, 0.0, 0.0]);
    assert_eq!(data[8..11], [0.0, 0.0, 1.0]);
    assert_eq!(data[16..19], [0.0, 1.0, 0.0]);
    let index = json_lines(&dir.path().join("faces.index.jsonl"));
    let said: Vec<(u64, u64, u64, u64)> = index
        .iter()
        .map(|i| {
            let n = |k: &str| i[k].as_u64().unwrap();
            (n("row"), n("frame"), n("object"), n("class_index"))
        })
        .collect();
    assert_eq!(said, [(0, 0, 0, 0), (1, 0, 1, 1), (2, 2, 0, 0)]);

    // Without embeddings-location each object carries its embedding inline.
    let inline = dir.path().join("inline.jsonl");
    run(
        &format!("{second_stage} ! dlpublish location={}", inline.display()),
        caps,
        coloured_frames(),
    );
    let records = json_lines(&inline);
    let first = &records[0]["classes"][0];
    assert_eq!(first["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(first["embedding"][0], 1.0);
}

#[test]
fn dloverlay_writes_the_second_stage_label_beside_the_objects() {
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    let overlay = "dloverlay font-size=10 line-width=1";
    let frame = || with_objects(squares(&[]), &[object("face", (10.0, 40.0, 40.0, 80.0))], 0);
    let plain = run(overlay, caps.clone(), vec![frame()]);
    let described = run(
        &format!("{} ! {overlay}", classify("")),
        caps,
        vec![frame()],
    );
    // The rightmost drawn pixel: the label grows by " | background 0.00".
    let rightmost = |buffer: &gst::Buffer| {
        let map = buffer.map_readable().unwrap();
        let stride = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT).stride()[0] as usize;
        (0..HEIGHT as usize)
            .flat_map(|y| (0..WIDTH as usize).map(move |x| (x, y)))
            .filter(|&(x, y)| map[y * stride + 3 * x..y * stride + 3 * x + 3] != [0, 0, 0])
            .map(|(x, _)| x)
            .max()
            .unwrap()
    };
    let (short, long) = (rightmost(&plain[0]), rightmost(&described[0]));
    assert!(
        short < 100 && long > short + 30,
        "label ends at {short}, then {long}"
    );
}

fn centerface() -> String {
    format!(
        "dlinfer model={} decoder=centerface input-std=1 iou-threshold=0.3 labels-file={}",
        common::data("models/centerface.onnx").display(),
        common::root()
            .join("models/labels/centerface.txt")
            .display()
    )
}

fn face_features() -> String {
    format!(
        "dlinfer inference-region=objects object-class=face object-padding=0.1 model={} \
         decoder=features output-name=features input-mean=127 input-std=128 batch-size=4",
        common::data("models/efficientnet_lite0.onnx").display()
    )
}

/// Each frame's faces' embeddings from CenterFace then EfficientNet-Lite0.
fn face_embeddings(source: &str) -> Vec<Vec<Vec<f32>>> {
    common::init();
    let p = common::pipeline(&format!(
        "{source} ! videoconvert ! {} ! {} ! appsink name=sink sync=false",
        centerface(),
        face_features()
    ));
    common::pull_frames(&p, "sink")
        .iter()
        .map(|(info, sample)| {
            let buffer = sample.buffer().unwrap();
            let faces = read_detections(buffer, info.width(), info.height());
            let tensors = read_object_tensors(buffer);
            assert_eq!(tensors.len(), faces.len(), "one embedding per face");
            tensors.into_iter().map(|t| t.tensor.data).collect()
        })
        .collect()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn real_faces_embed_alike_frame_to_frame_and_apart_across_people() {
    // carphone_pristine.mp4: one man's face through 120 frames; the
    // astronaut photo: another person's face.
    let clip = face_embeddings(&format!(
        "filesrc location={} ! decodebin",
        common::media("carphone_pristine.mp4").display()
    ));
    let astronaut = face_embeddings(&format!(
        "filesrc location={} ! pngdec",
        common::media("astronaut.png").display()
    ));
    assert_eq!(clip.len(), 120);
    assert_eq!(astronaut.len(), 1);
    assert_eq!(astronaut[0].len(), 1, "one face on the astronaut");
    let other = &astronaut[0][0];
    let single: Vec<&Vec<f32>> = clip
        .iter()
        .filter(|f| f.len() == 1)
        .map(|f| &f[0])
        .collect();
    assert!(
        single.len() >= 100,
        "one face in {} of 120 frames",
        single.len()
    );
    for e in single.iter().copied().chain([other]) {
        assert_eq!(e.len(), 1280);
        let norm = cosine(e, e).sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "normalised: {norm}");
    }
    let consecutive: Vec<f32> = single.windows(2).map(|w| cosine(w[0], w[1])).collect();
    let across: Vec<f32> = single.iter().map(|e| cosine(e, other)).collect();
    let same_min = consecutive.iter().copied().fold(f32::MAX, f32::min);
    let same_mean = consecutive.iter().sum::<f32>() / consecutive.len() as f32;
    let other_max = across.iter().copied().fold(f32::MIN, f32::max);
    let other_mean = across.iter().sum::<f32>() / across.len() as f32;
    println!(
        "same face, consecutive frames: min {same_min:.3} mean {same_mean:.3}; \
         other person: max {other_max:.3} mean {other_mean:.3}; margin {:.3}",
        same_min - other_max
    );
    assert!(
        same_min > other_max + 0.1,
        "same face min {same_min} vs other person max {other_max}"
    );
}

#[test]
fn a_second_stage_failure_names_the_frame_and_the_object() {
    common::init();
    const DIM: [u8; 3] = [100, 100, 100];
    const BRIGHT: [u8; 3] = [250, 250, 250];
    let description = format!(
        "dlinfer inference-region=objects model={} decoder=features output-name=features \
         normalize=false",
        model("fails_on_bright.onnx")
    );
    for extra in ["", "async-inference=false"] {
        let mut harness = gst_check::Harness::new_parse(&format!("{description} {extra}"));
        harness.set_src_caps(
            info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
                .to_caps()
                .unwrap(),
        );
        harness.play();
        let bus = gst::Bus::new();
        harness.element().unwrap().set_bus(Some(&bus));
        let frames: [&[Square]; 2] = [
            &[(DIM, (10.0, 10.0, 40.0, 40.0))],
            &[
                (DIM, (10.0, 10.0, 40.0, 40.0)),
                (DIM, (50.0, 10.0, 80.0, 40.0)),
                (BRIGHT, (90.0, 12.0, 120.0, 44.0)),
            ],
        ];
        let mut flows = Vec::new();
        for (i, items) in frames.iter().enumerate() {
            let objects: Vec<_> = items.iter().map(|(_, b)| object("face", *b)).collect();
            flows.push(harness.push(with_objects(squares(items), &objects, i as u64)));
        }
        flows.push(if harness.push_event(gst::event::Eos::new()) {
            Ok(gst::FlowSuccess::Ok)
        } else {
            Err(gst::FlowError::Error)
        });
        assert!(flows.iter().any(Result::is_err), "{extra}: {flows:?}");
        let error = bus
            .iter_filtered(&[gst::MessageType::Error])
            .next()
            .expect("an error message");
        let gst::MessageView::Error(error) = error.view() else {
            unreachable!()
        };
        let text = error.error().to_string();
        assert!(
            text.contains(
                "Second-stage inference failed on object 2 (face, 30x32 at 90,12) of frame 1"
            ),
            "{extra}: {text}"
        );
        // The dim frame before it left with its result.
        let first = harness.try_pull().expect("frame 0 left");
        let means = &read_object_tensors(&first)[0].tensor.data;
        assert!(
            means.iter().all(|m| (m - 100.0 / 255.0).abs() < 1e-5),
            "{means:?}"
        );
    }
}

#[test]
fn tracked_objects_keep_their_results_between_reclassifications() {
    // A tracked object changes colour every frame; an untracked one too.
    let colours = [RED, GREEN, BLUE, RED, GREEN];
    let frames: Vec<gst::Buffer> = colours
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let items = [(c, (10.0, 10.0, 40.0, 40.0)), (c, (60.0, 10.0, 90.0, 40.0))];
            let objects: Vec<_> = items.iter().map(|(_, b)| object("car", *b)).collect();
            let mut buffer = with_objects(squares(&items), &objects, i as u64);
            let b = buffer.get_mut().unwrap();
            let mut roi = b
                .iter_meta_mut::<VideoRegionOfInterestMeta>()
                .next()
                .unwrap();
            roi.add_param(
                gst::Structure::builder("tracking")
                    .field("id", 7u64)
                    .field("age", i as u64)
                    .field("state", "confirmed")
                    .field("predicted", false)
                    .build(),
            );
            buffer
        })
        .collect();
    let caps = info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
        .to_caps()
        .unwrap();
    let out = run(&classify("reclassify-interval=2"), caps, frames);
    let labels: Vec<(String, String)> = out
        .iter()
        .map(|b| {
            let l = object_labels(b, "classification");
            (l[0].1.clone().unwrap().0, l[1].1.clone().unwrap().0)
        })
        .collect();
    let expected = [
        ("background", "background"),
        ("background", "square"),
        ("circle", "circle"),
        ("circle", "background"),
        ("square", "square"),
    ];
    assert_eq!(
        labels,
        expected.map(|(a, b)| (a.to_string(), b.to_string()))
    );
}

#[test]
fn the_python_snippet_prints_each_face_with_its_second_stage_results() {
    let python = std::path::Path::new("/usr/bin/python3");
    assert!(
        python.exists(),
        "Debian's python3 with python3-gi is installed by scripts/setup.sh"
    );
    let output = std::process::Command::new("timeout")
        .arg("120")
        .arg(python)
        .arg(common::root().join("docs/read_objects.py"))
        .env("GST_PLUGIN_PATH", common::root().join("target/debug"))
        .output()
        .unwrap();
    let text = common::printed(&output);
    assert!(output.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    let faces = lines
        .iter()
        .filter(|l| l.contains(": object 0 face "))
        .count();
    let classes = lines.iter().filter(|l| l.contains("   imagenet ")).count();
    let embeddings = lines
        .iter()
        .filter(|l| l.contains("look: embedding of 1280 values, L2 norm 1.0000"))
        .count();
    assert!(
        faces >= 5 && classes == faces && embeddings == faces,
        "{text}"
    );
    assert!(lines[0].starts_with("frame 0: object 0 face 0.9"), "{text}");
}

#[test]
fn few_objects_hold_frames_no_longer_than_a_batch_of_frames() {
    common::init();
    for extra in ["batch-size=3", "batch-size=3 async-inference=false"] {
        let mut harness = gst_check::Harness::new_parse(&identity(extra));
        harness.set_src_caps(
            info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
                .to_caps()
                .unwrap(),
        );
        harness.play();
        // One object on frame 0, none after: its batch of 3 never fills.
        let face = [object("face", INSIDE)];
        let mut pulled = Vec::new();
        for i in 0..6u64 {
            let objects: &[DetectedObject] = if i == 0 { &face } else { &[] };
            assert_eq!(
                harness.push(with_objects(ramp_frame(), objects, i)),
                Ok(gst::FlowSuccess::Ok)
            );
            while let Some(buffer) = harness.try_pull() {
                pulled.push((i, buffer));
            }
        }
        // Frame 0 left by the time frame 2 (the batch's third frame) came in.
        let (when, first) = &pulled[0];
        assert!(*when <= 2, "{extra}: frame 0 left after frame {when}");
        assert_eq!(first.pts(), Some(gst::ClockTime::ZERO));
        assert_eq!(read_object_tensors(first).len(), 1, "{extra}");
        assert_eq!(
            pulled.len(),
            6,
            "{extra}: frames without objects pass at once after it"
        );
    }
}

#[test]
fn post_messages_lists_each_objects_results() {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&classify("post-messages=true"));
    harness.set_src_caps(
        info(gst_video::VideoFormat::Rgb, WIDTH, HEIGHT)
            .to_caps()
            .unwrap(),
    );
    harness.play();
    let bus = gst::Bus::new();
    harness.element().unwrap().set_bus(Some(&bus));
    let items = [
        (RED, (10.0, 10.0, 40.0, 40.0)),
        (BLUE, (60.0, 20.0, 100.0, 60.0)),
    ];
    let objects: Vec<_> = items.iter().map(|(_, b)| object("car", *b)).collect();
    assert_eq!(
        harness.push(with_objects(squares(&items), &objects, 0)),
        Ok(gst::FlowSuccess::Ok)
    );
    assert!(harness.push_event(gst::event::Eos::new()));
    let message = bus
        .iter_filtered(&[gst::MessageType::Element])
        .next()
        .expect("a dlinfer message");
    let s = message.structure().unwrap();
    assert_eq!(
        (s.name().as_str(), s.get::<u64>("frame").unwrap()),
        ("dlinfer", 0)
    );
    let listed: Vec<(i32, String, String)> = s
        .get::<gst::List>("objects")
        .unwrap()
        .iter()
        .map(|v| {
            let o = v.get::<gst::Structure>().unwrap();
            let classes = o.get::<gst::List>("classes").unwrap();
            let best = classes
                .iter()
                .next()
                .unwrap()
                .get::<gst::Structure>()
                .unwrap();
            (
                o.get::<i32>("roi-id").unwrap(),
                o.get::<String>("results-name").unwrap(),
                best.get::<String>("label").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (0, "classification".to_string(), "background".to_string()),
            (1, "classification".to_string(), "circle".to_string())
        ]
    );
}
