//! dlinfer on generated models with exact answers and on real CenterFace
//! weights: every decoder, scale mode, layout and input format; thresholds,
//! NMS, intervals and batches; and the errors users meet at start.

mod common;

use common::{media, pipeline, run_to_end, test_model};
use gst::prelude::*;
use gst_video::prelude::*;
use gstdl::meta::{DetectedObject, read_detections};
use std::time::Duration;

/// A `width` x `height` RGB frame, black with white rectangles (x0, y0, x1, y1; edges exclusive).
fn frame_with_squares(
    info: &gst_video::VideoInfo,
    rects: &[(usize, usize, usize, usize)],
    pts_index: u64,
) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_mseconds(pts_index * 40));
        buffer.set_duration(gst::ClockTime::from_mseconds(40));
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        data.fill(0);
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                data[y * stride + 3 * x0..y * stride + 3 * x1].fill(255);
            }
        }
    }
    buffer
}

fn rgb_info(width: u32, height: u32) -> gst_video::VideoInfo {
    gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// Pushes frames (each with its rectangles) through `description` and
/// returns the detections on every output frame, in order, after EOS.
fn detect(
    description: &str,
    width: u32,
    height: u32,
    frames: &[Vec<(usize, usize, usize, usize)>],
) -> Vec<Vec<DetectedObject>> {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    let info = rgb_info(width, height);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    for (index, rects) in frames.iter().enumerate() {
        assert_eq!(
            harness.push(frame_with_squares(&info, rects, index as u64)),
            Ok(gst::FlowSuccess::Ok)
        );
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut results = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        results.push(read_detections(&buffer, width, height));
    }
    assert_eq!(
        results.len(),
        frames.len(),
        "every frame that entered left: {description}"
    );
    results
}

fn assert_box(object: &DetectedObject, expected: (f64, f64, f64, f64), tolerance: f64) {
    let got = (object.x_min, object.y_min, object.x_max, object.y_max);
    let close = (got.0 - expected.0).abs() <= tolerance
        && (got.1 - expected.1).abs() <= tolerance
        && (got.2 - expected.2).abs() <= tolerance
        && (got.3 - expected.3).abs() <= tolerance;
    assert!(
        close,
        "box {got:?} is not within {tolerance} px of {expected:?} ({object:?})"
    );
}

fn model(name: &str) -> String {
    test_model(name).display().to_string()
}

fn labels3() -> String {
    test_model("labels3.txt").display().to_string()
}

#[test]
fn every_input_format_gives_the_box_where_the_square_is() {
    // 640x480 stretched to 320x320; the square maps to whole model pixels.
    let square = (80, 120, 160, 240);
    for format in [
        "RGB", "BGR", "RGBA", "BGRA", "RGBx", "BGRx", "xRGB", "ABGR", "I420", "NV12",
    ] {
        let results = detect(
            &format!(
                "videoconvert ! video/x-raw,format={format} ! dlinfer model={} labels-file={}",
                model("yolov8_nchw.onnx"),
                labels3()
            ),
            640,
            480,
            &[vec![square]],
        );
        assert_eq!(results[0].len(), 1, "{format}: {:?}", results[0]);
        let object = &results[0][0];
        assert_eq!(
            (object.label.as_str(), object.label_id),
            ("square", 1),
            "{format}"
        );
        assert!(
            (object.confidence - 0.9).abs() < 1e-6,
            "{format}: {}",
            object.confidence
        );
        assert_box(object, (80.0, 120.0, 160.0, 240.0), 1.0);
    }
}

#[test]
fn every_scale_mode_maps_boxes_back_to_the_frame() {
    let cases = [
        // letterbox 640x480 -> 320x320: scale 1/2, 40 px bars top and bottom
        ("letterbox", (100, 80, 200, 160)),
        // center-crop 640x480 -> 320x320: scale 2/3, 53.3 px cut left and right
        ("center-crop", (320, 150, 410, 300)),
        ("stretch", (80, 120, 160, 240)),
    ];
    for (mode, square) in cases {
        for variant in ["yolov8_nchw.onnx", "yolov8_nhwc.onnx"] {
            let results = detect(
                &format!("dlinfer model={} scale-mode={mode}", model(variant)),
                640,
                480,
                &[vec![square]],
            );
            assert_eq!(results[0].len(), 1, "{mode} {variant}: {:?}", results[0]);
            let (x0, y0, x1, y1) = square;
            assert_box(
                &results[0][0],
                (x0 as f64, y0 as f64, x1 as f64, y1 as f64),
                1.0,
            );
        }
    }
}

#[test]
fn every_detection_decoder_finds_the_square() {
    let square = (40, 100, 80, 140);
    let cases = [
        ("yolov8_nchw.onnx", "yolov8", 320, 0.9),
        ("yolov8_transposed.onnx", "yolov8", 320, 0.9),
        // [7, anchors] with 6 anchors: fewer than attributes, still read as
        // the model declared it.
        ("yolov8_few_anchors.onnx", "yolov8", 320, 0.9),
        ("yolov8_uint8.onnx", "yolov8", 320, 0.9),
        ("yolov5.onnx", "yolov5", 320, 0.9025),
        ("ssd.onnx", "ssd", 300, 0.9),
        ("ssd_tf.onnx", "ssd", 300, 0.9),
    ];
    for (file, decoder, size, confidence) in cases {
        let results = detect(
            &format!(
                "dlinfer model={} decoder={decoder} labels-file={}",
                model(file),
                labels3()
            ),
            size,
            size,
            &[vec![square], vec![]],
        );
        assert_eq!(results[0].len(), 1, "{file}: {:?}", results[0]);
        let object = &results[0][0];
        assert_eq!(object.label, "square", "{file}");
        assert!(
            (object.confidence - confidence).abs() < 1e-5,
            "{file}: {}",
            object.confidence
        );
        assert_box(object, (40.0, 100.0, 80.0, 140.0), 1.0);
        assert!(
            results[1].is_empty(),
            "{file}: a black frame has no detections: {:?}",
            results[1]
        );
    }
}

#[test]
fn decoder_auto_picks_yolov8_for_an_ultralytics_shape() {
    let results = detect(
        &format!("dlinfer model={}", model("yolov8_nchw.onnx")),
        320,
        320,
        &[vec![(40, 100, 80, 140)]],
    );
    assert_eq!(results[0].len(), 1);
    assert_eq!(
        results[0][0].label, "1",
        "without labels the id is the label"
    );
}

#[test]
fn threshold_and_class_aware_nms() {
    let square = vec![(40, 100, 80, 140)];
    // Default 0.5: the 0.8 duplicate overlaps the 0.9 box (IoU 0.9 > 0.45) and goes; the 0.3 box is below threshold.
    let default = detect(
        &format!("dlinfer model={}", model("yolov8_nchw.onnx")),
        320,
        320,
        std::slice::from_ref(&square),
    );
    assert_eq!(default[0].len(), 1);
    // At 0.25 the class-2 box appears: NMS is per class, so it survives next to class 1.
    let low = detect(
        &format!(
            "dlinfer model={} confidence-threshold=0.25",
            model("yolov8_nchw.onnx")
        ),
        320,
        320,
        std::slice::from_ref(&square),
    );
    let mut found: Vec<(i32, f64)> = low[0]
        .iter()
        .map(|o| (o.label_id, (o.confidence * 100.0).round()))
        .collect();
    found.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(found, vec![(1, 90.0), (2, 30.0)]);
    // With NMS effectively off, the shifted duplicate stays, 2 px to the right.
    let no_nms = detect(
        &format!(
            "dlinfer model={} confidence-threshold=0.25 iou-threshold=1.0",
            model("yolov8_nchw.onnx")
        ),
        320,
        320,
        std::slice::from_ref(&square),
    );
    assert_eq!(no_nms[0].len(), 3);
    let shifted = no_nms[0]
        .iter()
        .find(|o| (o.confidence - 0.8).abs() < 1e-6)
        .unwrap();
    assert_box(shifted, (42.0, 100.0, 82.0, 140.0), 1.0);
    // max-detections keeps the most confident.
    let capped = detect(
        &format!(
            "dlinfer model={} confidence-threshold=0.25 iou-threshold=1.0 max-detections=1",
            model("yolov8_nchw.onnx")
        ),
        320,
        320,
        &[square],
    );
    assert_eq!(capped[0].len(), 1);
    assert!((capped[0][0].confidence - 0.9).abs() < 1e-6);
}

fn moving_squares(count: usize) -> Vec<Vec<(usize, usize, usize, usize)>> {
    (0..count)
        .map(|i| vec![(10 + 20 * i, 30 + 10 * i, 50 + 20 * i, 90 + 10 * i)])
        .collect()
}

#[test]
fn inference_interval_processes_exactly_every_nth_frame() {
    let frames = moving_squares(10);
    let results = detect(
        &format!(
            "dlinfer model={} inference-interval=3",
            model("yolov8_nchw.onnx")
        ),
        320,
        320,
        &frames,
    );
    assert_only_every_nth_frame_has_its_box(&results, &frames, 3);
}

/// Frames 0, `interval`, 2 x `interval`... carry their one square's box;
/// every other frame carries no detection.
fn assert_only_every_nth_frame_has_its_box(
    results: &[Vec<DetectedObject>],
    frames: &[Vec<(usize, usize, usize, usize)>],
    interval: usize,
) {
    for (index, objects) in results.iter().enumerate() {
        if index % interval == 0 {
            assert_eq!(objects.len(), 1, "frame {index} is inferred");
            let (x0, y0, x1, y1) = frames[index][0];
            assert_box(
                &objects[0],
                (x0 as f64, y0 as f64, x1 as f64, y1 as f64),
                1.0,
            );
        } else {
            assert!(
                objects.is_empty(),
                "frame {index} is skipped and carries no meta"
            );
        }
    }
}

#[test]
fn batch_sizes_give_the_same_boxes_and_lose_no_frame() {
    let frames = moving_squares(11);
    let reference = detect(
        &format!("dlinfer model={}", model("yolov8_batch1.onnx")),
        320,
        320,
        &frames,
    );
    for (index, objects) in reference.iter().enumerate() {
        let (x0, y0, x1, y1) = frames[index][0];
        assert_eq!(objects.len(), 1);
        assert_box(
            &objects[0],
            (x0 as f64, y0 as f64, x1 as f64, y1 as f64),
            1.0,
        );
    }
    for file in ["yolov8_batch1.onnx", "yolov8_batch_dynamic.onnx"] {
        for batch in [1, 4, 5] {
            // 11 frames: batches of 4 and 5 end with a partial batch at EOS.
            let results = detect(
                &format!("dlinfer model={} batch-size={batch}", model(file)),
                320,
                320,
                &frames,
            );
            assert_eq!(results, reference, "{file} batch-size={batch}");
        }
    }
    // Batches and intervals together: frames 0, 2, 4... in batches of 4.
    let results = detect(
        &format!(
            "dlinfer model={} batch-size=4 inference-interval=2",
            model("yolov8_batch_dynamic.onnx")
        ),
        320,
        320,
        &frames,
    );
    for (index, objects) in results.iter().enumerate() {
        assert_eq!(objects.len(), usize::from(index % 2 == 0), "frame {index}");
    }
}

/// Every 30th frame in batches of 8, as `pipelines/extract-features.sh`
/// runs: the batcher does not hold 210 frames for a full batch. With the
/// model on the streaming thread, frame 0 leaves with the 8 frames that
/// waited behind it uninferred, before any later frame comes; every frame
/// leaves, in order, and only frames 0, 30, 60 carry their own box.
#[test]
fn every_30th_frame_in_batches_of_8_holds_no_more_than_a_batch_of_frames() {
    let square = |i: usize| {
        let x = 10 + (i % 12) * 20;
        let y = 30 + (i % 7) * 10;
        vec![(x, y, x + 40, y + 60)]
    };
    let frames: Vec<_> = (0..70).map(square).collect();
    for asynchronous in [false, true] {
        common::init();
        let mut harness = gst_check::Harness::new_parse(&format!(
            "dlinfer model={} inference-interval=30 batch-size=8 async-inference={asynchronous}",
            model("yolov8_batch_dynamic.onnx")
        ));
        let info = rgb_info(320, 320);
        harness.set_src_caps(info.to_caps().unwrap());
        harness.play();
        let mut out = Vec::new();
        for (index, rects) in frames.iter().enumerate() {
            harness
                .push(frame_with_squares(&info, rects, index as u64))
                .unwrap();
            if index == 8 && !asynchronous {
                while let Some(buffer) = harness.try_pull() {
                    out.push(buffer);
                }
                assert_eq!(
                    out.len(),
                    9,
                    "frame 0 ran with 8 uninferred frames behind it"
                );
            }
        }
        assert!(harness.push_event(gst::event::Eos::new()));
        while let Some(buffer) = harness.try_pull() {
            out.push(buffer);
        }
        let order: Vec<u64> = out
            .iter()
            .map(|b| b.pts().unwrap().mseconds() / 40)
            .collect();
        assert_eq!(order, (0..70).collect::<Vec<_>>(), "async={asynchronous}");
        let results: Vec<_> = out.iter().map(|b| read_detections(b, 320, 320)).collect();
        assert_only_every_nth_frame_has_its_box(&results, &frames, 30);
    }
}

#[test]
fn a_dynamic_model_runs_at_the_frame_size_rounded_to_32() {
    // 200x150 frames -> 224x160 input, stretched: the box maps back to the frame.
    let results = detect(
        &format!("dlinfer model={}", model("yolov8_dynamic.onnx")),
        200,
        150,
        &[vec![(50, 30, 150, 120)]],
    );
    assert_eq!(results[0].len(), 1);
    assert_box(&results[0][0], (50.0, 30.0, 150.0, 120.0), 1.0);
}

#[test]
fn results_are_posted_as_messages_when_asked() {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=4 pattern=white ! video/x-raw,width=320,height=320 ! dlinfer model={} post-messages=true ! fakesink",
        model("yolov8_nchw.onnx")
    ));
    let outcome = run_to_end(&p, Duration::from_secs(60), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let messages = outcome.named("dlinfer");
    assert_eq!(messages.len(), 4);
    for (index, message) in messages.iter().enumerate() {
        assert_eq!(message.get::<u64>("frame").unwrap(), index as u64);
        let objects = message.get::<gst::List>("objects").unwrap();
        // The whole frame is bright: one box over all of it.
        assert_eq!(objects.len(), 1);
        let object = objects
            .iter()
            .next()
            .unwrap()
            .get::<gst::Structure>()
            .unwrap();
        assert_eq!(object.get::<f64>("x-max").unwrap(), 320.0);
    }
}

#[test]
fn bad_settings_fail_at_start_with_the_cause_and_the_fix() {
    let missing = start_error("model=/nonexistent/detector.onnx");
    assert!(
        missing.contains("/nonexistent/detector.onnx") && missing.contains("cannot be opened"),
        "{missing}"
    );

    let dir = tempfile::tempdir().unwrap();
    let not_onnx = dir.path().join("weights.onnx");
    std::fs::write(&not_onnx, "<html>404 Not Found</html>").unwrap();
    let text = start_error(&format!("model={}", not_onnx.display()));
    assert!(text.contains("as an ONNX model"), "{text}");

    let mismatch = start_error(&format!("model={} decoder=ssd", model("yolov8_nchw.onnx")));
    assert!(
        mismatch.contains("decoder=ssd does not fit") && mismatch.contains("output0"),
        "{mismatch}"
    );

    let labels = start_error(&format!(
        "model={} labels-file={}",
        model("yolov8_nchw.onnx"),
        test_model("labels5.txt").display()
    ));
    assert!(
        labels.contains("5 labels") && labels.contains("3 classes"),
        "{labels}"
    );

    let provider = start_error(&format!(
        "model={} execution-provider=rocm",
        model("yolov8_nchw.onnx")
    ));
    assert!(
        provider.contains("unknown execution provider 'rocm'")
            && provider.contains("cpu, cuda, tensorrt, openvino"),
        "{provider}"
    );

    let no_model = start_error("");
    assert!(no_model.contains("no model set"), "{no_model}");

    let two_inputs = start_error(&format!("model={}", model("two_inputs.onnx")));
    assert!(two_inputs.contains("2 inputs"), "{two_inputs}");
}

#[test]
fn an_unavailable_provider_falls_back_to_cpu_visibly() {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=320,height=320 ! dlinfer name=infer model={} execution-provider=cuda ! fakesink",
        model("yolov8_nchw.onnx")
    ));
    let infer = p.by_name("infer").unwrap();
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("'cuda' is not available")),
        "{:?}",
        outcome.warnings
    );
    p.set_state(gst::State::Paused).unwrap();
    let _ = p.state(gst::ClockTime::from_seconds(10));
    assert_eq!(
        infer
            .property::<Option<String>>("active-provider")
            .as_deref(),
        Some("cpu")
    );
    p.set_state(gst::State::Null).unwrap();
}

#[test]
fn spin_is_auto_by_default_and_spinning_says_what_runs() {
    let run_with = |spin: &str| {
        let p = pipeline(&format!(
            "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=320 ! dlinfer name=infer model={} {spin} ! fakesink",
            model("yolov8_nchw.onnx")
        ));
        let infer = p.by_name("infer").unwrap();
        let asked = gstdl::props::nick(infer.property_value("spin"));
        let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        p.set_state(gst::State::Paused).unwrap();
        let _ = p.state(gst::ClockTime::from_seconds(10));
        let spinning = infer.property::<bool>("spinning");
        p.set_state(gst::State::Null).unwrap();
        (asked, spinning)
    };
    // Three frames are too few for auto to decide: it starts asleep.
    assert_eq!(run_with(""), ("auto".to_string(), false));
    assert_eq!(run_with("spin=true"), ("true".to_string(), true));
    assert_eq!(run_with("spin=false"), ("false".to_string(), false));
}

fn centerface(extra: &str) -> String {
    format!(
        "dlinfer model={} decoder=centerface input-std=1 iou-threshold=0.3 labels-file={} {extra}",
        common::data("models/centerface.onnx").display(),
        common::root()
            .join("models/labels/centerface.txt")
            .display()
    )
}

#[test]
fn centerface_finds_the_face_in_carphone() {
    // carphone_pristine.mp4: 176x144, a man's face in the centre-left of a car.
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! {} ! appsink name=sink sync=false",
        media("carphone_pristine.mp4").display(),
        centerface("")
    ));
    let (mut frames, mut with_face) = (0, 0);
    for (_, sample) in common::pull_frames(&p, "sink") {
        let buffer = sample.buffer().unwrap();
        frames += 1;
        let faces = read_detections(buffer, 176, 144);
        let on_face = faces.iter().any(|f| {
            let (cx, cy) = ((f.x_min + f.x_max) / 2.0, (f.y_min + f.y_max) / 2.0);
            f.label == "face"
                && (40.0..130.0).contains(&cx)
                && (20.0..110.0).contains(&cy)
                && f.x_max - f.x_min > 20.0
        });
        with_face += usize::from(on_face);
    }
    assert_eq!(frames, 120);
    assert!(
        with_face * 10 >= frames * 9,
        "a face in {with_face} of {frames} frames"
    );
}

#[test]
fn centerface_finds_one_face_on_the_astronaut() {
    let p = pipeline(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! {} ! appsink name=sink",
        media("astronaut.png").display(),
        centerface("")
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("one frame");
    let faces = read_detections(sample.buffer().unwrap(), 512, 512);
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    // The face: about x 180..270, y 60..180 (checked by eye on the photo).
    let face = &faces[0];
    assert!(face.confidence > 0.8, "{face:?}");
    assert!(
        (150.0..200.0).contains(&face.x_min) && (250.0..300.0).contains(&face.x_max),
        "{face:?}"
    );
    assert!(
        (40.0..90.0).contains(&face.y_min) && (160.0..210.0).contains(&face.y_max),
        "{face:?}"
    );
}

#[test]
fn a_requested_input_size_is_used_for_dynamic_models() {
    // 640x480 frames into a 320x256 input, stretched: the box still maps back.
    let results = detect(
        &format!(
            "dlinfer model={} input-width=320 input-height=256",
            model("yolov8_dynamic.onnx")
        ),
        640,
        480,
        &[vec![(160, 120, 320, 300)]],
    );
    assert_eq!(results[0].len(), 1);
    assert_box(&results[0][0], (160.0, 120.0, 320.0, 300.0), 1.0);
    let refused = start_error_on_caps(&format!(
        "dlinfer model={} input-width=640",
        model("yolov8_nchw.onnx")
    ));
    assert!(refused.contains("fixed at 320"), "{refused}");
}

#[test]
fn a_flush_drops_the_held_batch_cleanly() {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&format!(
        "dlinfer model={} batch-size=4",
        model("yolov8_batch_dynamic.onnx")
    ));
    let info = rgb_info(320, 320);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    let squares = moving_squares(6);
    for (index, rects) in squares.iter().take(2).enumerate() {
        harness
            .push(frame_with_squares(&info, rects, index as u64))
            .unwrap();
    }
    assert!(harness.try_pull().is_none(), "a half-full batch is held");
    common::flush(&mut harness);
    for (index, rects) in squares.iter().enumerate().skip(2) {
        harness
            .push(frame_with_squares(&info, rects, index as u64))
            .unwrap();
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut out = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        out.push((
            buffer.pts().unwrap().mseconds(),
            read_detections(&buffer, 320, 320),
        ));
    }
    // The two flushed frames are gone; the four after the flush came out with their own boxes.
    assert_eq!(
        out.iter().map(|(pts, _)| *pts).collect::<Vec<_>>(),
        vec![80, 120, 160, 200]
    );
    for ((_, objects), rects) in out.iter().zip(&squares[2..]) {
        let (x0, y0, x1, y1) = rects[0];
        assert_eq!(objects.len(), 1);
        assert_box(
            &objects[0],
            (x0 as f64, y0 as f64, x1 as f64, y1 as f64),
            1.0,
        );
    }
}

#[test]
fn latency_includes_the_time_a_batch_holds_frames() {
    let latency_of = |batch: u32| {
        let p = pipeline(&format!(
            "videotestsrc is-live=true ! video/x-raw,width=320,height=320,framerate=25/1 ! \
             dlinfer model={} batch-size={batch} inference-interval=2 ! fakesink name=sink",
            model("yolov8_batch_dynamic.onnx")
        ));
        p.set_state(gst::State::Playing).unwrap();
        let _ = p.state(gst::ClockTime::from_seconds(10));
        let mut query = gst::query::Latency::new();
        assert!(
            p.by_name("sink")
                .unwrap()
                .static_pad("sink")
                .unwrap()
                .peer_query(&mut query)
        );
        p.set_state(gst::State::Null).unwrap();
        query.result()
    };
    let (live, base, _) = latency_of(1);
    assert!(live);
    let (_, batched, _) = latency_of(4);
    // 3 more inferred frames, 2 frames apart, at 40 ms a frame.
    assert_eq!(batched - base, gst::ClockTime::from_mseconds(240));
}

/// Starts `dlinfer PROPERTIES` on two frames, which must fail; returns the error text.
fn start_error(properties: &str) -> String {
    common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! dlinfer {properties} ! fakesink"
    ))
}

/// Runs 320x320 frames into `element`, whose caps must be refused; returns the error text.
fn start_error_on_caps(element: &str) -> String {
    common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=320,height=320 ! {element} ! fakesink"
    ))
}

#[test]
fn inference_on_its_own_thread_gives_the_same_results_as_on_the_streaming_thread() {
    let frames = moving_squares(11);
    for (file, extra) in [
        ("yolov8_batch_dynamic.onnx", "batch-size=4"),
        ("yolov8_batch1.onnx", "batch-size=3 inference-interval=2"),
        ("yolov8_nchw.onnx", "inference-interval=4"),
    ] {
        let run = |asynchronous: bool| {
            detect(
                &format!(
                    "dlinfer model={} {extra} async-inference={asynchronous}",
                    model(file)
                ),
                320,
                320,
                &frames,
            )
        };
        let on_streaming_thread = run(false);
        assert_eq!(on_streaming_thread.len(), frames.len(), "{file} {extra}");
        assert!(
            on_streaming_thread
                .iter()
                .any(|objects| !objects.is_empty())
        );
        assert_eq!(run(true), on_streaming_thread, "{file} {extra}");
    }
}

/// The order in which frames (by index) entered and left `dlinfer`.
fn frame_traffic(properties: &str) -> Vec<(&'static str, u64)> {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=6 ! video/x-raw,width=320,height=320,framerate=25/1 ! \
         dlinfer name=infer model={} {properties} ! fakesink",
        model("yolov8_nchw.onnx")
    ));
    let traffic = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let infer = p.by_name("infer").unwrap();
    for (pad, direction) in [("sink", "in"), ("src", "out")] {
        let traffic = traffic.clone();
        infer
            .static_pad(pad)
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(buffer) = info.buffer() {
                    let index = buffer.pts().unwrap().mseconds() / 40;
                    traffic.lock().unwrap().push((direction, index));
                }
                gst::PadProbeReturn::Ok
            });
    }
    run_to_end(&p, Duration::from_secs(30), |_, _| {});
    traffic.lock().unwrap().clone()
}

#[test]
fn frames_are_decoded_while_the_previous_frame_is_inferred() {
    let position = |traffic: &[(&str, u64)], entry: (&str, u64)| {
        traffic.iter().position(|e| *e == entry).unwrap()
    };
    // On its own thread: frame k+1 enters (was decoded) before frame k is
    // out of the model, so upstream worked while the model ran.
    let pipelined = frame_traffic("async-inference=true");
    assert_eq!(pipelined.len(), 12, "{pipelined:?}");
    for k in 0..5 {
        assert!(
            position(&pipelined, ("in", k + 1)) < position(&pipelined, ("out", k)),
            "{pipelined:?}"
        );
    }
    // On the streaming thread: frame k leaves before frame k+1 enters.
    let serial = frame_traffic("async-inference=false");
    for k in 0..5 {
        assert!(
            position(&serial, ("out", k)) < position(&serial, ("in", k + 1)),
            "{serial:?}"
        );
    }
}

#[test]
fn a_flush_drops_the_batch_in_flight() {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&format!(
        "dlinfer model={} async-inference=true",
        model("slow.onnx")
    ));
    let info = rgb_info(320, 320);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    let squares = moving_squares(4);
    harness
        .push(frame_with_squares(&info, &squares[0], 0))
        .unwrap();
    assert!(harness.try_pull().is_none(), "frame 0 is being inferred");
    common::flush(&mut harness);
    for (index, rects) in squares.iter().enumerate().skip(1) {
        harness
            .push(frame_with_squares(&info, rects, index as u64))
            .unwrap();
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut pts = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        assert_eq!(read_detections(&buffer, 320, 320).len(), 1);
        pts.push(buffer.pts().unwrap().mseconds());
    }
    assert_eq!(pts, vec![40, 80, 120], "frame 0 went with the flush");
}

#[test]
fn frames_left_out_by_inference_interval_are_marked_as_not_inferred() {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&format!(
        "dlinfer model={} inference-interval=3",
        model("yolov8_nchw.onnx")
    ));
    let info = rgb_info(320, 320);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    for index in 0..7 {
        harness
            .push(frame_with_squares(&info, &[(40, 100, 80, 140)], index))
            .unwrap();
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut reasons = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        reasons.push(gstdl::meta::skip_reason(&buffer));
        // An interval frame is no late frame: dlstats does not count it.
        assert!(!gstdl::meta::is_skipped(&buffer));
    }
    use gstdl::meta::SkipReason::Interval;
    assert_eq!(
        reasons,
        [
            None,
            Some(Interval),
            Some(Interval),
            None,
            Some(Interval),
            Some(Interval),
            None
        ]
    );
}
