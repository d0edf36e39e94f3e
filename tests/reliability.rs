//! Reliability: bad input and faults end in clear errors or are handled,
//! with no panic, no hang (every test bounded in time) and, in non-realtime
//! mode, frames in = frames out. docs/reliability.md has the whole table;
//! some rows live beside their element's other tests (tests/dlinfer.rs,
//! tests/runtime.rs, tests/dlpublish.rs, tests/ytdlsrc.rs).

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
    let boxes: Vec<_> = common::pull_frames(&p, "sink")
        .iter()
        .map(|(info, sample)| {
            let found = read_detections(sample.buffer().unwrap(), info.width(), info.height());
            (info.width(), found.first().map(|d| (d.x_max, d.y_max)))
        })
        .collect();
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

/// Plays `launch` to the end 200 times (NULL -> PLAYING -> EOS -> NULL):
/// every cycle ends cleanly and all of them within two minutes.
fn cycle_two_hundred_times(launch: &str) {
    let started = Instant::now();
    let p = pipeline(launch);
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

#[test]
fn two_hundred_state_cycles_neither_leak_sessions_nor_hang() {
    cycle_two_hundred_times(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=64 ! dlinfer model={} batch-size=4 ! fakesink",
        test_model("yolov8_dynamic.onnx").display()
    ));
}

/// `clip` remuxed with its index (moov) first, as `faststart.mp4` in `dir`.
fn faststart_copy(dir: &std::path::Path, clip: &str) -> std::path::PathBuf {
    let faststart = dir.join("faststart.mp4");
    let remux = pipeline(&format!(
        "filesrc location={} ! qtdemux ! h264parse ! mp4mux faststart=true ! filesink location={}",
        media(clip).display(),
        faststart.display()
    ));
    assert!(
        run_to_end(&remux, Duration::from_secs(60), |_, _| {})
            .error
            .is_none()
    );
    faststart
}

/// Runs a truncated copy (first 2/3) of `file` through decoding and
/// `element`; returns (frames entering it, frames leaving, error).
fn run_truncated(file: &std::path::Path, element: &str) -> (u64, u64, Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(file).unwrap();
    let truncated = dir.path().join("cut.mp4");
    std::fs::write(&truncated, &whole[..whole.len() * 2 / 3]).unwrap();
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! identity name=entering ! \
         {element} ! fakesink name=sink",
        truncated.display(),
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
    let faststart = faststart_copy(dir.path(), "bikes.mp4");
    let (entered, left, error) = run_truncated(
        &faststart,
        &format!(
            "dlinfer model={} decoder=centerface input-std=1 batch-size=4",
            common::data("models/centerface.onnx").display()
        ),
    );
    assert!(
        entered > 50 && entered < 250,
        "frames before the cut: {entered} ({error:?})"
    );
    assert_eq!(left, entered, "frames in = frames out ({error:?})");
}

#[test]
fn a_threshold_changed_while_playing_applies_to_later_frames_and_a_batch_size_is_refused() {
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
            // Shapes the tensors: refused while playing, with a warning.
            infer.set_property("batch-size", 4u32);
        }
    }
    let warnings: Vec<String> = p
        .bus()
        .unwrap()
        .iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .collect();
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(infer.property::<u32>("batch-size"), 1);
    assert!(
        warnings.iter().any(|w| w.contains("'batch-size'")
            && w.contains("NULL or READY")
            && w.contains("previous value is kept")),
        "{warnings:?}"
    );
    assert_eq!(counts.len(), 40);
    assert!(counts[..10].iter().all(|&n| n == 3), "{counts:?}");
    assert!(counts[15..].iter().all(|&n| n == 2), "{counts:?}");
}

#[test]
fn inputs_that_cannot_be_fed_from_video_are_refused_at_start() {
    for element in ["dlinfer", "dltransform"] {
        let five_d = start_error_in(
            element,
            &format!("model={}", test_model("five_d.onnx").display()),
        );
        assert!(
            five_d.contains("cannot be fed from video") && five_d.contains("5 dimensions"),
            "{element}: {five_d}"
        );
        let text = start_error_in(
            element,
            &format!("model={}", test_model("string_input.onnx").display()),
        );
        assert!(
            text.contains("cannot be fed from video") && text.contains("String"),
            "{element}: {text}"
        );
    }
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
    start_error_in("dlinfer", properties)
}

/// Starts `ELEMENT PROPERTIES` on two frames, which must fail; returns the error text.
fn start_error_in(element: &str, properties: &str) -> String {
    common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! video/x-raw,width=64,height=64 ! {element} {properties} ! fakesink"
    ))
}

// dltransform: the same rows where they apply (it shares model loading with
// dlinfer but batches, renders and negotiates output caps on its own).

#[test]
fn dltransform_refuses_bad_models_at_start_with_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let missing = start_error_in("dltransform", "model=/nonexistent/style.onnx");
    assert!(
        missing.contains("/nonexistent/style.onnx") && missing.contains("cannot be opened"),
        "{missing}"
    );
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let error = start_error_in("dltransform", &format!("model={}", empty.display()));
    assert!(error.contains("is empty"), "{error}");
    let whole = std::fs::read(common::data("models/u2netp.onnx")).unwrap();
    let truncated = dir.path().join("u2netp-half.onnx");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let error = start_error_in("dltransform", &format!("model={}", truncated.display()));
    assert!(
        error.contains("u2netp-half.onnx") && error.contains("as an ONNX model"),
        "{error}"
    );
    let not_onnx = dir.path().join("page.onnx");
    std::fs::write(&not_onnx, "<html>404 Not Found</html>").unwrap();
    let error = start_error_in("dltransform", &format!("model={}", not_onnx.display()));
    assert!(error.contains("as an ONNX model"), "{error}");
    let two = start_error_in(
        "dltransform",
        &format!("model={}", test_model("two_inputs.onnx").display()),
    );
    assert!(two.contains("2 inputs"), "{two}");
}

#[test]
fn dltransform_follows_a_resolution_change_and_loses_no_frame() {
    // invert.onnx is fully convolutional: each frame size gets output caps of
    // its own, and every pixel is inverted (white in, black out).
    let p = pipeline(&format!(
        "concat name=c ! videoconvert ! video/x-raw,format=RGB ! dltransform model={} batch-size=2 ! \
         appsink name=sink sync=false \
         videotestsrc num-buffers=3 pattern=white ! video/x-raw,width=64,height=48 ! c. \
         videotestsrc num-buffers=3 pattern=white ! video/x-raw,width=128,height=96 ! c.",
        test_model("invert.onnx").display()
    ));
    let frames: Vec<_> = common::pull_frames(&p, "sink")
        .iter()
        .map(|(info, sample)| {
            let map = sample.buffer().unwrap().map_readable().unwrap();
            let brightest = map.as_slice()[..(info.width() * 3) as usize]
                .iter()
                .copied()
                .max();
            (info.width(), info.height(), brightest)
        })
        .collect();
    assert_eq!(
        frames,
        vec![
            (64, 48, Some(0)),
            (64, 48, Some(0)),
            (64, 48, Some(0)),
            (128, 96, Some(0)),
            (128, 96, Some(0)),
            (128, 96, Some(0)),
        ]
    );
}

#[test]
fn dltransform_survives_two_hundred_state_cycles() {
    cycle_two_hundred_times(&format!(
        "videotestsrc num-buffers=3 ! video/x-raw,width=32,height=32 ! dltransform model={} batch-size=2 ! fakesink",
        test_model("invert.onnx").display()
    ));
}

#[test]
fn dltransform_passes_every_frame_of_a_cut_mp4() {
    // As for dlinfer: the index first, cut at two thirds, every decoded
    // frame leaves (the partial batch at the end too).
    let dir = tempfile::tempdir().unwrap();
    let faststart = faststart_copy(dir.path(), "carphone_pristine.mp4");
    let (entered, left, error) = run_truncated(
        &faststart,
        &format!(
            "dltransform model={} batch-size=4",
            test_model("invert.onnx").display()
        ),
    );
    assert!(
        entered > 10 && entered < 120,
        "frames before the cut: {entered} ({error:?})"
    );
    assert_eq!(left, entered, "frames in = frames out ({error:?})");
}

#[test]
fn dltransform_drops_a_flushed_batch_and_ends_a_partial_one_at_eos() {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&format!(
        "dltransform model={} batch-size=4",
        test_model("invert.onnx").display()
    ));
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, 32, 32)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap();
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    let frame = |index: u64| {
        let mut buffer = gst::Buffer::from_mut_slice(vec![200u8; info.size()]);
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(index * 40));
        buffer
    };
    for index in 0..2 {
        harness.push(frame(index)).unwrap();
    }
    assert!(harness.try_pull().is_none(), "a half-full batch is held");
    common::flush(&mut harness);
    // Six frames: one full batch and a partial one, which EOS runs.
    for index in 2..8 {
        harness.push(frame(index)).unwrap();
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut out = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        let map = buffer.map_readable().unwrap();
        assert!(map.iter().all(|&v| v == 55), "255 - 200, every pixel");
        out.push(buffer.pts().unwrap().mseconds());
    }
    assert_eq!(out, vec![80, 120, 160, 200, 240, 280]);
}

#[test]
fn dltransform_refuses_a_tensor_shaping_property_while_playing() {
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=30 ! video/x-raw,width=32,height=32,framerate=30/1 ! \
         dltransform name=transform model={} ! fakesink",
        test_model("invert.onnx").display()
    ));
    let transform = p.by_name("transform").unwrap();
    let setter = {
        let transform = transform.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(10);
            while transform.current_state() != gst::State::Playing && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            transform.set_property("batch-size", 2u32);
        })
    };
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    setter.join().unwrap();
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert_eq!(transform.property::<u32>("batch-size"), 1);
    assert!(
        outcome
            .warnings
            .iter()
            .any(|w| w.contains("'batch-size'") && w.contains("previous value is kept")),
        "{:?}",
        outcome.warnings
    );
}

#[test]
fn a_value_refused_before_the_pipeline_existed_fails_the_start() {
    // gst-launch sets properties before the element has a bus, so the
    // refusal's warning has nowhere to go: starting must fail with it.
    for element in ["dlinfer", "dltransform"] {
        let error = start_error_in(
            element,
            &format!("model={} input-std=0", test_model("invert.onnx").display()),
        );
        assert!(
            error.contains("input-std='0' has a zero")
                && error.contains("fix the input-std property"),
            "{element}: {error}"
        );
    }
}
