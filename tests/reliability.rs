//! Reliability: bad input and faults end in clear errors or are handled,
//! with no panic, no hang (every test bounded in time) and, in non-realtime
//! mode, frames in = frames out. (The first rows of the reliability table;
//! errors at start are in tests/dlinfer.rs and tests/runtime.rs, with a
//! missing or too old ONNX Runtime, and dlpublish's unwritable place and full
//! disk are in tests/dlpublish.rs.)

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{count_buffers, media, pipeline, run_to_end, test_model};
use gst::prelude::*;
use gstdl::meta::read_detections;

#[test]
fn a_truncated_model_file_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::data("models/centerface.onnx")).unwrap();
    let truncated = dir.path().join("centerface-half.onnx");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=2 ! dlinfer model={} ! fakesink",
        truncated.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    let (message, _) = outcome.error.expect("a truncated model fails at start");
    assert!(
        message.contains("centerface-half.onnx") && message.contains("as an ONNX model"),
        "{message}"
    );
}

#[test]
fn a_resolution_change_mid_stream_is_followed() {
    // 320x240 then 640x480 white frames: the whole frame is one box, so the
    // box must follow the new size (the preprocessing is rebuilt on new caps).
    let p = pipeline(&format!(
        "concat name=c ! videoconvert ! dlinfer model={} ! appsink name=sink sync=false \
         videotestsrc num-buffers=3 pattern=white ! video/x-raw,width=320,height=240 ! c. \
         videotestsrc num-buffers=3 pattern=white ! video/x-raw,width=640,height=480 ! c.",
        test_model("yolov8_dynamic.onnx").display()
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut boxes = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        let found = read_detections(sample.buffer().unwrap(), info.width(), info.height());
        boxes.push((info.width(), found.first().map(|d| (d.x_max, d.y_max))));
    }
    p.set_state(gst::State::Null).unwrap();
    // Each frame's box is the whole frame (within float rounding of the
    // normalised coordinates).
    let sizes: Vec<u32> = boxes.iter().map(|(w, _)| *w).collect();
    assert_eq!(sizes, vec![320, 320, 320, 640, 640, 640]);
    for (width, found) in &boxes {
        let (x_max, y_max) = found.expect("a box on every frame");
        let height = f64::from(*width) * 3.0 / 4.0;
        assert!(
            (x_max - f64::from(*width)).abs() < 0.01 && (y_max - height).abs() < 0.01,
            "{boxes:?}"
        );
    }
}

#[test]
fn two_hundred_state_cycles_neither_leak_sessions_nor_hang() {
    let started = Instant::now();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=64 ! dlinfer model={} batch-size=4 ! fakesink",
        test_model("yolov8_dynamic.onnx").display()
    ));
    for cycle in 0..200 {
        let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
        assert!(
            outcome.error.is_none(),
            "cycle {cycle}: {:?}",
            outcome.error
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "200 cycles took {:?}",
        started.elapsed()
    );
}

/// Runs a truncated copy (first 2/3) of `file` through decoding and a
/// batching dlinfer; returns (frames entering dlinfer, frames leaving, error).
fn run_truncated(file: &std::path::Path) -> (u64, u64, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(file).unwrap();
    let truncated = dir.path().join("cut.mp4");
    std::fs::write(&truncated, &whole[..whole.len() * 2 / 3]).unwrap();
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! identity name=entering ! \
         dlinfer model={} decoder=centerface input-std=1 batch-size=4 ! fakesink name=sink",
        truncated.display(),
        common::data("models/centerface.onnx").display()
    ));
    let entering = count_buffers(&p, "entering");
    let leaving = count_buffers(&p, "sink");
    let outcome = run_to_end(&p, Duration::from_secs(60), |_, _| {});
    (
        entering.load(Ordering::SeqCst),
        leaving.load(Ordering::SeqCst),
        outcome.error.map(|(m, _)| m),
    )
}

#[test]
fn a_truncated_mp4_plays_what_is_there_and_loses_no_frame() {
    // The sample clips keep their index (moov) at the end, so a cut copy has
    // nothing playable; GStreamer 1.22's decodebin then usually posts "This
    // file contains no playable streams" but in about 1 run in 20 under load
    // posts neither an error nor EOS, with or without our elements (seen from
    // gst-launch-1.0 too), so that case is not asserted here.
    // Remuxed with the index first, a cut file plays up to the cut: every
    // frame that reached dlinfer leaves it (the partial batch at the end too).
    let dir = tempfile::tempdir().unwrap();
    let faststart = dir.path().join("faststart.mp4");
    let remux = pipeline(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! mp4mux faststart=true ! filesink location={}",
        media("bikes.mp4").display(),
        faststart.display()
    ));
    assert!(
        run_to_end(&remux, Duration::from_secs(60), |_, _| {})
            .error
            .is_none()
    );
    let (entered, left, error) = run_truncated(&faststart);
    assert!(
        entered > 50 && entered < 250,
        "frames before the cut: {entered} ({error:?})"
    );
    assert_eq!(left, entered, "frames in = frames out ({error:?})");
}

#[test]
fn a_threshold_changed_while_playing_applies_to_later_frames() {
    // 0.25 keeps the 0.3 box of yolov8 anchor 2; raised to 0.5 it goes.
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=40 pattern=white ! video/x-raw,width=320,height=320,framerate=20/1 ! \
         dlinfer name=infer model={} confidence-threshold=0.25 iou-threshold=1.0 ! appsink name=sink sync=false",
        test_model("yolov8_nchw.onnx").display()
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    let infer = p.by_name("infer").unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut counts = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        counts.push(read_detections(sample.buffer().unwrap(), 320, 320).len());
        if counts.len() == 10 {
            infer.set_property("confidence-threshold", 0.5f32);
        }
    }
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(counts.len(), 40);
    assert!(counts[..10].iter().all(|&n| n == 3), "{counts:?}");
    assert!(counts[15..].iter().all(|&n| n == 2), "{counts:?}");
}

#[test]
fn inputs_that_cannot_be_fed_from_video_are_refused_at_start() {
    let five_d = start_error(&format!("model={}", test_model("five_d.onnx").display()));
    assert!(
        five_d.contains("cannot be fed from video") && five_d.contains("5 dimensions"),
        "{five_d}"
    );
    let text = start_error(&format!(
        "model={}",
        test_model("string_input.onnx").display()
    ));
    assert!(
        text.contains("cannot be fed from video") && text.contains("String"),
        "{text}"
    );
}

#[test]
fn an_unreadable_labels_file_is_refused_at_start() {
    // A directory where a file is expected (root reads any file, so permissions cannot stand in).
    let dir = tempfile::tempdir().unwrap();
    let error = start_error(&format!(
        "model={} labels-file={}",
        test_model("yolov8_nchw.onnx").display(),
        dir.path().display()
    ));
    assert!(
        error.contains("cannot read labels file")
            && error.contains(&dir.path().display().to_string()),
        "{error}"
    );
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n\n").unwrap();
    let error = start_error(&format!(
        "model={} labels-file={}",
        test_model("yolov8_nchw.onnx").display(),
        empty.display()
    ));
    assert!(error.contains("has no labels"), "{error}");
}

/// Starts `dlinfer PROPERTIES` on two frames, which must fail; returns the error text.
fn start_error(properties: &str) -> String {
    common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! dlinfer {properties} ! fakesink"
    ))
}
