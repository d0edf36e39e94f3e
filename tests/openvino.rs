//! `execution-provider=openvino` on ONNX Runtime's OpenVINO build, loaded
//! through `ORT_DYLIB_PATH` (the `onnxruntime-openvino` wheel, which
//! `scripts/setup.sh --tests` installs into `.venv-openvino`: it cannot share
//! a venv with the CPU `onnxruntime` wheel, both being the `onnxruntime`
//! module). A binary of its own: the library is loaded once per process.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use gst::prelude::*;

/// The OpenVINO build's libonnxruntime, if the set-up installed it.
fn openvino_runtime() -> Option<PathBuf> {
    let lib = common::root().join(".venv-openvino/lib");
    std::fs::read_dir(&lib)
        .ok()?
        .filter_map(Result::ok)
        .map(|python| python.path().join("site-packages/onnxruntime/capi"))
        .filter_map(|capi| std::fs::read_dir(capi).ok())
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so."))
        })
}

#[test]
fn openvino_runs_centerface_and_active_provider_says_so() {
    let Some(runtime) = openvino_runtime() else {
        eprintln!(
            "skipped: the onnxruntime-openvino wheel is not installed in .venv-openvino \
             (scripts/setup.sh --tests installs it)"
        );
        return;
    };
    // SAFETY: set before GStreamer or ONNX Runtime start any thread in this
    // process (this binary's only test), and read once when the library loads.
    unsafe { std::env::set_var("ORT_DYLIB_PATH", &runtime) };
    let p = common::pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! \
         dlinfer name=infer model={} decoder=centerface input-std=1 iou-threshold=0.3 \
         execution-provider=openvino post-messages=true ! fakesink",
        common::media("carphone_pristine.mp4").display(),
        common::data("models/centerface.onnx").display(),
    ));
    let infer = p.by_name("infer").unwrap();
    let outcome = common::run_to_end(&p, Duration::from_secs(120), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(
        !outcome.warnings.iter().any(|w| w.contains("not available")),
        "OpenVINO fell back: {:?}",
        outcome.warnings
    );
    // Started again (run_to_end stops the pipeline), as in tests/dlinfer.rs.
    p.set_state(gst::State::Paused).unwrap();
    let _ = p.state(gst::ClockTime::from_seconds(60));
    assert_eq!(
        infer
            .property::<Option<String>>("active-provider")
            .as_deref(),
        Some("openvino")
    );
    p.set_state(gst::State::Null).unwrap();

    // The one face of every frame, where the CPU provider finds it on frame
    // 0 (66.1, 37.4)-(112.3, 95.5) (README's predict example).
    let messages = outcome.named("dlinfer");
    assert_eq!(messages.len(), 120);
    for message in &messages {
        let objects = message.get::<gst::List>("objects").unwrap();
        assert_eq!(objects.len(), 1, "{message}");
    }
    let first = messages[0].get::<gst::List>("objects").unwrap();
    let face = first
        .iter()
        .next()
        .unwrap()
        .get::<gst::Structure>()
        .unwrap();
    for (field, cpu) in [
        ("x-min", 66.1),
        ("y-min", 37.4),
        ("x-max", 112.3),
        ("y-max", 95.5),
    ] {
        let value = face.get::<f64>(field).unwrap();
        assert!((value - cpu).abs() < 1.0, "{field} {value} vs CPU {cpu}");
    }
}
