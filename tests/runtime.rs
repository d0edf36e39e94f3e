//! ONNX Runtime loading and shared sessions, on generated models.

mod common;

use std::sync::Arc;

use gstdl::runtime::session::InputData;
use gstdl::runtime::{ExecutionProvider, SessionOptions, Spin, open_shared_session};

fn options(model: &str) -> SessionOptions {
    SessionOptions {
        model: common::test_model(model),
        provider: ExecutionProvider::Cpu,
        threads: 1,
        spin: Spin::Off,
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

/// A red and a blue frame for classify.onnx (NCHW, values 0..1).
fn red_and_blue() -> Vec<f32> {
    let plane = 224 * 224;
    let mut input = vec![0.0f32; 2 * 3 * plane];
    input[..plane].fill(1.0);
    input[3 * plane + 2 * plane..].fill(1.0);
    input
}

/// Runs classify.onnx on `input`; returns its logits.
fn classify(session: &gstdl::runtime::SharedSession, input: &[f32]) -> Vec<f32> {
    session
        .run(
            "input",
            &[2, 3, 224, 224],
            InputData::F32(input),
            |outputs| outputs[0].data.to_vec(),
        )
        .expect("the model runs")
}

#[test]
fn spin_auto_tries_spinning_a_model_that_runs_back_to_back() {
    // Its own thread count, so no other test shares (and feeds) this session.
    let session = open_shared_session(&SessionOptions {
        spin: Spin::Auto,
        threads: 2,
        ..options("classify.onnx")
    })
    .unwrap();
    assert!(!session.spinning(), "auto starts asleep");
    let input = red_and_blue();
    let expected = vec![10.0, 0.0, 0.0, 0.0, 0.0, 10.0];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut tried = false;
    while session.spin_decision().is_none() && std::time::Instant::now() < deadline {
        assert_eq!(classify(&session, &input), expected);
        tried |= session.spinning();
    }
    let decision = session.spin_decision().expect("auto decided");
    assert!(
        decision.asleep.busy_share >= gstdl::runtime::spin::BUSY_SHARE_TO_SPIN,
        "{decision:?}"
    );
    match decision.spinning {
        // The one reason not to try: other processes (other tests'
        // children) were busy on the machine, and spinning would fight them.
        None => {
            let others = decision
                .asleep
                .others_share
                .expect("others measured on Linux");
            assert!(
                others >= gstdl::runtime::spin::OTHERS_SHARE_TO_SPIN,
                "{decision:?}"
            );
            assert!(!tried, "no trial, no spinning session");
        }
        Some(trial) => {
            assert!(tried, "the trial ran on the spinning copy: {decision:?}");
            assert!(trial.runs >= 16, "{decision:?}");
            assert_eq!(
                decision.spin,
                trial.rate
                    >= decision.asleep.rate * (1.0 + gstdl::runtime::spin::SPIN_GAIN_TO_KEEP)
                    && trial
                        .others_share
                        .is_none_or(|share| share < gstdl::runtime::spin::OTHERS_SHARE_TO_SPIN),
                "{decision:?}"
            );
        }
    }
    // The next run uses the session decided on, with the same answers.
    assert_eq!(classify(&session, &input), expected);
    assert_eq!(session.spinning(), decision.spin, "{decision:?}");
}

#[test]
fn spin_auto_leaves_a_model_that_waits_for_frames_asleep() {
    let session = open_shared_session(&SessionOptions {
        spin: Spin::Auto,
        threads: 3,
        ..options("classify.onnx")
    })
    .unwrap();
    let input = red_and_blue();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while session.spin_decision().is_none() && std::time::Instant::now() < deadline {
        classify(&session, &input);
        // A decoder's worth of waiting between frames.
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let decision = session.spin_decision().expect("auto decided");
    assert!(!decision.spin, "{decision:?}");
    assert!(decision.asleep.busy_share < 0.5, "{decision:?}");
    assert_eq!(decision.spinning, None, "no trial: {decision:?}");
    assert!(!session.spinning());
}

const ARENA_CHILD_ENV: &str = "GSTDL_TEST_CHILD_SHARED_ARENA";

/// This process's peak resident memory so far (VmHWM), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("Linux reports VmHWM");
    let kib: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib / 1024.0
}

/// Two spin=auto sessions (as a spin=auto model's sleeping and spinning
/// copies are) run in turn; prints the peak memory after loading, after the
/// first ran and after the second ran. In a child: the peak is per process.
#[test]
#[ignore = "run by spin_auto_sessions_run_in_turn_hold_their_tensors_once in a child process"]
fn child_two_auto_sessions_in_turn() {
    assert_child(ARENA_CHILD_ENV);
    let open = |threads| {
        open_shared_session(&SessionOptions {
            spin: Spin::Auto,
            threads,
            ..options("upscale2x.onnx")
        })
        .unwrap()
    };
    let (first, second) = (open(1), open(2));
    // 12 MiB in, 48 MiB out.
    let input = vec![0.5f32; 3 * 1024 * 1024];
    let upscale = |session: &gstdl::runtime::SharedSession| {
        session
            .run(
                "input",
                &[1, 3, 1024, 1024],
                InputData::F32(&input),
                |outputs| (outputs[0].shape.clone(), outputs[0].data[12345]),
            )
            .unwrap()
    };
    let loaded = peak_rss_mib();
    for _ in 0..3 {
        assert_eq!(upscale(&first), (vec![1, 3, 2048, 2048], 0.5));
    }
    let first_ran = peak_rss_mib();
    for _ in 0..3 {
        assert_eq!(upscale(&second), (vec![1, 3, 2048, 2048], 0.5));
    }
    println!("PEAKS {loaded} {first_ran} {}", peak_rss_mib());
}

#[test]
fn spin_auto_sessions_run_in_turn_hold_their_tensors_once() {
    let stdout = run_child(
        "child_two_auto_sessions_in_turn",
        &[(ARENA_CHILD_ENV, "1".as_ref())],
    );
    let peaks: Vec<f64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("PEAKS "))
        .unwrap_or_else(|| panic!("no PEAKS line: {stdout}"))
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    let (loaded, first_ran, second_ran) = (peaks[0], peaks[1], peaks[2]);
    let first_grew = first_ran - loaded;
    assert!(first_grew >= 48.0, "the 48 MiB output is held: {peaks:?}");
    // One arena between them: the second session reuses what the first
    // left free; with an arena each it would add as much again.
    assert!(
        second_ran - first_ran < first_grew / 4.0,
        "the second session took memory of its own: {peaks:?}"
    );
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
    .unwrap()
    .to_string();
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
    .unwrap()
    .to_string();
    assert!(err.contains("is empty"), "{err}");
    let text = dir.path().join("notes.onnx");
    std::fs::write(&text, b"this is not a protobuf").unwrap();
    let err = open_shared_session(&SessionOptions {
        model: text,
        ..options("classify.onnx")
    })
    .err()
    .unwrap()
    .to_string();
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
    assert_child(CHILD_ENV);
    let err = gstdl::runtime::ensure_loaded()
        .err()
        .expect("the library is missing");
    println!("ERROR-TEXT-BEGIN\n{err}\nERROR-TEXT-END");
}

/// Stops a child test run by hand (`--ignored`) outside its parent, which
/// sets `env` for it.
fn assert_child(env: &str) {
    assert!(std::env::var_os(env).is_some(), "run only as a child");
}

/// Runs the ignored test `name` of this binary in a child process with
/// `env` set, and returns its stdout once it has passed; fails if it
/// fails, panics or runs past a minute.
fn run_child(name: &str, env: &[(&str, &std::ffi::OsStr)]) -> String {
    use std::io::Read;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture"])
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the child test {name} ran past a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stdout
}

#[test]
fn a_missing_library_names_the_places_tried_and_the_fix() {
    let stdout = run_child(
        "child_load_missing_library",
        &[
            (CHILD_ENV, "1".as_ref()),
            (
                "ORT_DYLIB_PATH",
                "/nonexistent/libonnxruntime.so.1.31.1".as_ref(),
            ),
        ],
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

const OLD_CHILD_ENV: &str = "GSTDL_TEST_CHILD_OLD_ORT";

/// Runs in a child process with `ORT_DYLIB_PATH` at ONNX Runtime 1.14.1:
/// starts a `dlinfer` pipeline and prints the error it ends with.
#[test]
#[ignore = "run by a_too_old_library_is_a_clear_error_at_start in a child process"]
fn child_start_with_old_library() {
    assert_child(OLD_CHILD_ENV);
    let error = common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! dlinfer model={} ! fakesink",
        common::test_model("classify.onnx").display()
    ));
    println!("ERROR-TEXT-BEGIN\n{error}\nERROR-TEXT-END");
}

#[test]
fn a_too_old_library_is_a_clear_error_at_start() {
    // ort asks for C API 17, which ONNX Runtime 1.14.1 lacks: the library is
    // refused before any call into it, as the element's error at start.
    let old = common::data("ort-old/libonnxruntime.so.1.14.1");
    let stdout = run_child(
        "child_start_with_old_library",
        &[
            (OLD_CHILD_ENV, "1".as_ref()),
            ("ORT_DYLIB_PATH", old.as_ref()),
        ],
    );
    let error = stdout
        .split("ERROR-TEXT-BEGIN\n")
        .nth(1)
        .and_then(|rest| rest.split("\nERROR-TEXT-END").next())
        .unwrap_or_else(|| panic!("no error text in {stdout}"));
    assert!(
        error.contains(&format!(
            "ONNX Runtime 1.14.1 at {} is too old: gst-dl needs 1.17 or newer",
            old.display()
        )),
        "{error}"
    );
    // The model is fine: the message must not blame it.
    assert!(!error.contains("Failed to load model"), "{error}");
    assert!(
        error.contains("fix: point ORT_DYLIB_PATH at a libonnxruntime.so of version 1.17 or newer")
            && error.contains("pip install onnxruntime==1.31.1"),
        "{error}"
    );
}
