//! ONNX Runtime loading and shared sessions, on generated models.

mod common;

use std::sync::Arc;

use gstdl::runtime::session::InputData;
use gstdl::runtime::{ExecutionProvider, SessionOptions, open_shared_session};

fn options(model: &str) -> SessionOptions {
    SessionOptions {
        model: common::test_model(model),
        provider: ExecutionProvider::Cpu,
        threads: 1,
        spin: false,
    }
}

#[test]
fn runs_a_generated_model_and_reads_its_outputs() {
    let session = open_shared_session(&options("classify.onnx")).expect("the model loads");
    assert_eq!(session.active_provider, ExecutionProvider::Cpu);
    assert_eq!(session.info.inputs[0].name, "input");
    assert_eq!(
        session.info.inputs[0].shape,
        vec![None, Some(3), Some(224), Some(224)]
    );
    assert_eq!(session.info.outputs[0].name, "logits");
    // Two frames: pure red and pure blue (NCHW, values 0..1). The model
    // outputs 10 x the channel means.
    let plane = 224 * 224;
    let mut input = vec![0.0f32; 2 * 3 * plane];
    input[..plane].fill(1.0);
    input[3 * plane + 2 * plane..].fill(1.0);
    let logits = session
        .run(
            "input",
            &[2, 3, 224, 224],
            InputData::F32(&input),
            |outputs| {
                assert_eq!(outputs.len(), 1);
                assert_eq!(outputs[0].name, "logits");
                assert_eq!(outputs[0].shape, vec![2, 3]);
                outputs[0].data.to_vec()
            },
        )
        .expect("the model runs");
    assert_eq!(logits, vec![10.0, 0.0, 0.0, 0.0, 0.0, 10.0]);
}

#[test]
fn the_same_model_and_provider_share_one_session() {
    let first = open_shared_session(&options("identity_rgb.onnx")).unwrap();
    let second = open_shared_session(&options("identity_rgb.onnx")).unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    let other_threads = open_shared_session(&SessionOptions {
        threads: 2,
        ..options("identity_rgb.onnx")
    })
    .unwrap();
    assert!(!Arc::ptr_eq(&first, &other_threads));
}

#[test]
fn an_unavailable_provider_falls_back_to_cpu_and_says_why() {
    // This machine's CPU wheel has no CUDA provider.
    let session = open_shared_session(&SessionOptions {
        provider: ExecutionProvider::Cuda,
        ..options("classify.onnx")
    })
    .unwrap();
    assert_eq!(session.active_provider, ExecutionProvider::Cpu);
    let why = session
        .fallback_reason
        .as_deref()
        .expect("the fallback is explained");
    assert!(why.contains("cuda"), "{why}");
}

#[test]
fn bad_model_files_get_clear_errors() {
    let err = open_shared_session(&SessionOptions {
        model: "/nonexistent/model.onnx".into(),
        ..options("classify.onnx")
    })
    .err()
    .unwrap();
    assert!(
        err.contains("/nonexistent/model.onnx") && err.contains("cannot be opened"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let err = open_shared_session(&SessionOptions {
        model: empty,
        ..options("classify.onnx")
    })
    .err()
    .unwrap();
    assert!(err.contains("is empty"), "{err}");
    let text = dir.path().join("notes.onnx");
    std::fs::write(&text, b"this is not a protobuf").unwrap();
    let err = open_shared_session(&SessionOptions {
        model: text,
        ..options("classify.onnx")
    })
    .err()
    .unwrap();
    assert!(
        err.contains("could not load") && err.contains("as an ONNX model"),
        "{err}"
    );
}

const CHILD_ENV: &str = "GSTDL_TEST_CHILD_MISSING_ORT";

/// Runs in a child process (a library, once loaded, stays for the process).
#[test]
#[ignore = "run by a_missing_library_names_the_places_tried_and_the_fix in a child process"]
fn child_load_missing_library() {
    assert!(std::env::var_os(CHILD_ENV).is_some(), "run only as a child");
    let err = gstdl::runtime::ensure_loaded()
        .err()
        .expect("the library is missing");
    println!("ERROR-TEXT-BEGIN\n{err}\nERROR-TEXT-END");
}

#[test]
fn a_missing_library_names_the_places_tried_and_the_fix() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "child_load_missing_library",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so.1.31.1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ERROR-TEXT-BEGIN"), "{stdout}");
    assert!(
        stdout.contains("ORT_DYLIB_PATH /nonexistent/libonnxruntime.so.1.31.1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pip install onnxruntime==1.31.1"),
        "{stdout}"
    );
}
