//! Served models (issue 17): `model=http://...` runs the same preprocessing,
//! decoders and metadata around a model on a real KServe v2 server as around
//! the local file, so the results must be the same; and every way a server
//! can fail ends in a clear error, never a hang or a frame without results.
//!
//! One server per test function (Triton takes seconds to start), shared by
//! the checks inside it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::model_server::{Kind, ModelServer};
use common::{data, media, pipeline, run_to_end, test_model};
use gst::prelude::*;
use serde_json::Value;

const CENTERFACE: &str = "decoder=centerface input-std=1 iou-threshold=0.3";

/// Runs `source ! dlinfer MODEL_AND_PROPS ! dlpublish` to EOS and returns the
/// JSON lines, with the bus warnings.
fn json_lines(source: &str, dlinfer: &str) -> (Vec<Value>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results.jsonl");
    let p = pipeline(&format!(
        "{source} ! dlinfer {dlinfer} ! dlpublish location={} all-frames=true ! fakesink",
        out.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(300), |_, _| {});
    assert!(outcome.error.is_none(), "{dlinfer}: {:?}", outcome.error);
    let lines = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, outcome.warnings)
}

/// Whether two JSON results are the same, numbers within float rounding.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-4 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn assert_same_results(local: &[Value], remote: &[Value], what: &str) {
    assert_eq!(local.len(), remote.len(), "{what}: frame count");
    for (l, r) in local.iter().zip(remote) {
        assert!(
            same(l, r),
            "{what}: frame {} differs:\nlocal  {l}\nremote {r}",
            l["frame"]
        );
    }
}

fn carphone() -> String {
    format!(
        "filesrc location={} ! decodebin ! videoconvert",
        media("carphone_pristine.mp4").display()
    )
}

fn efficientnet_props() -> String {
    format!(
        "decoder=classification output-name=logits top-k=3 labels-file={} scale-mode=center-crop input-mean=127 input-std=128",
        data("models/imagenet_labels.txt").display()
    )
}

/// Output frames of `dltransform PROPS` on a test pattern.
fn transformed_frames(props: &str) -> Vec<Vec<u8>> {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=12 pattern=ball ! video/x-raw,format=RGB,width=160,height=120 ! \
         dltransform {props} ! video/x-raw,format=RGB ! appsink name=sink sync=false"
    ));
    common::pull_frames(&p, "sink")
        .into_iter()
        .map(|(_, sample)| sample.buffer().unwrap().map_readable().unwrap().to_vec())
        .collect()
}

/// Every run through Triton against the local file, on one Triton.
#[test]
fn triton_gives_the_same_results_as_the_local_model() {
    common::init();
    let centerface = data("models/centerface.onnx");
    let efficientnet = data("models/efficientnet_lite0.onnx");
    let features = test_model("features.onnx");
    let invert = test_model("invert.onnx");
    let server = ModelServer::start(
        Kind::Triton,
        &[
            ("centerface", centerface.as_path()),
            ("efficientnet", efficientnet.as_path()),
            ("features", features.as_path()),
            ("invert", invert.as_path()),
        ],
    );

    // CenterFace on a real clip: every frame, boxes and landmarks, in order,
    // with one request in flight, several, and batches of 2.
    let (local, _) = json_lines(
        &carphone(),
        &format!("model={} {CENTERFACE}", centerface.display()),
    );
    assert_eq!(local.len(), 120);
    assert!(
        local
            .iter()
            .filter(|l| !l["classes"].as_array().unwrap().is_empty())
            .count()
            >= 108
    );
    for extra in ["remote-requests=1", "", "remote-requests=4 batch-size=2"] {
        let (remote, warnings) = json_lines(
            &carphone(),
            &format!(
                "model={} {CENTERFACE} {extra}",
                server.http_url("centerface")
            ),
        );
        assert_same_results(&local, &remote, &format!("centerface over HTTP {extra}"));
        assert!(
            warnings.is_empty(),
            "Triton has the binary extension: {warnings:?}"
        );
    }
    for extra in ["remote-requests=1", "remote-requests=3"] {
        let (remote, warnings) = json_lines(
            &carphone(),
            &format!(
                "model={} {CENTERFACE} {extra}",
                server.grpc_url("centerface")
            ),
        );
        assert_same_results(&local, &remote, &format!("centerface over gRPC {extra}"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    // A real classifier, and a features model (embeddings in the JSON).
    let photos = format!(
        "multifilesrc location={} num-buffers=2 ! pngdec ! videoconvert",
        media("chelsea.png").display()
    );
    let (local, _) = json_lines(
        &photos,
        &format!("model={} {}", efficientnet.display(), efficientnet_props()),
    );
    let (remote, _) = json_lines(
        &photos,
        &format!(
            "model={} {}",
            server.http_url("efficientnet"),
            efficientnet_props()
        ),
    );
    assert_same_results(&local, &remote, "efficientnet classification");
    let (remote, _) = json_lines(
        &photos,
        &format!(
            "model={} {}",
            server.grpc_url("efficientnet"),
            efficientnet_props()
        ),
    );
    assert_same_results(&local, &remote, "efficientnet classification over gRPC");
    assert!(!local[0]["classes"].as_array().unwrap().is_empty());
    let solid = "videotestsrc num-buffers=3 pattern=solid-color foreground-color=0xff8040bf ! video/x-raw,format=RGB,width=64,height=64";
    let (local, _) = json_lines(
        solid,
        &format!("model={} decoder=features", features.display()),
    );
    let (remote, _) = json_lines(
        solid,
        &format!("model={} decoder=features", server.http_url("features")),
    );
    assert!(
        local[0]["embedding"]
            .as_array()
            .is_some_and(|e| e.len() == 8),
        "{}",
        local[0]
    );
    assert_same_results(&local, &remote, "features");

    // dltransform: the same frames.
    let local = transformed_frames(&format!("model={}", invert.display()));
    let remote = transformed_frames(&format!(
        "model={} remote-requests=3",
        server.http_url("invert")
    ));
    assert_eq!(local.len(), 12);
    assert!(
        local == remote,
        "dltransform through Triton gives the same frames"
    );
    let remote = transformed_frames(&format!("model={}", server.grpc_url("invert")));
    assert!(
        local == remote,
        "dltransform through Triton over gRPC gives the same frames"
    );

    // active-provider reads remote.
    let p = pipeline(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,width=64,height=64 ! dlinfer name=d model={} decoder=features ! fakesink",
        server.http_url("features")
    ));
    p.set_state(gst::State::Paused).unwrap();
    let _ = p.state(gst::ClockTime::from_seconds(30));
    let provider: String = p.by_name("d").unwrap().property("active-provider");
    assert_eq!(provider, "remote");
    p.set_state(gst::State::Null).unwrap();

    // A model the server does not have: the error lists the ones it has.
    let err = common::expect_error(&format!(
        "videotestsrc num-buffers=1 ! dlinfer model={} ! fakesink",
        server.http_url("centrface")
    ));
    assert!(
        err.contains("model 'centrface' is not available")
            && err.contains("the server has: centerface, efficientnet, features, invert"),
        "{err}"
    );
    let err = common::expect_error(&format!(
        "videotestsrc num-buffers=1 ! dlinfer model={} ! fakesink",
        server.grpc_url("centrface")
    ));
    assert!(
        err.contains("model 'centrface' is not available")
            && err.contains("the server has: centerface, efficientnet, features, invert"),
        "{err}"
    );
    // An input shape the model refuses (CenterFace needs multiples of 32):
    // the server's reason, and the shape sent.
    let err = common::expect_error(&format!(
        "videotestsrc num-buffers=2 ! dlinfer model={} {CENTERFACE} input-width=100 input-height=100 ! fakesink",
        server.http_url("centerface")
    ));
    assert!(
        err.contains("refused the request") && err.contains("[1, 3, 100, 100]"),
        "{err}"
    );

    // The server gone mid-stream: frames already out are fine, then a clear
    // error naming the URL once the retries are spent; never a hang.
    let url = server.http_url("centerface");
    let mut server = server;
    let frames = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers=300 ! video/x-raw,width=160,height=128,framerate=30/1 ! \
         dlinfer name=d model={url} {CENTERFACE} ! fakesink name=sink"
    ));
    let seen = frames.clone();
    p.by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        });
    p.set_state(gst::State::Playing).unwrap();
    while frames.load(std::sync::atomic::Ordering::SeqCst) < 10 {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    let outcome = run_to_end(&p, Duration::from_secs(60), |_, _| {});
    let (message, debug) = outcome.error.expect("a server gone is an error");
    let err = format!("{message} {debug}");
    assert!(
        err.contains("cannot reach the model server") && err.contains(&url),
        "{err}"
    );
}

/// MLServer: no binary tensor extension over HTTP (a warning, then JSON),
/// `versions: []` in its metadata; the same results all the same, over
/// HTTP and gRPC.
#[test]
fn mlserver_gives_the_same_results_over_json() {
    common::init();
    let centerface = data("models/centerface.onnx");
    let features = test_model("features.onnx");
    let server = ModelServer::start(
        Kind::MlServer,
        &[
            ("centerface", centerface.as_path()),
            ("features", features.as_path()),
        ],
    );
    let clip = format!("{} ! videorate ! video/x-raw,framerate=5/1", carphone());
    let (local, _) = json_lines(
        &clip,
        &format!("model={} {CENTERFACE}", centerface.display()),
    );
    let (remote, warnings) = json_lines(
        &clip,
        &format!("model={} {CENTERFACE}", server.http_url("centerface")),
    );
    assert!(local.len() >= 20);
    assert_same_results(&local, &remote, "centerface on MLServer");
    let (remote, grpc_warnings) = json_lines(
        &clip,
        &format!("model={} {CENTERFACE}", server.grpc_url("centerface")),
    );
    assert_same_results(&local, &remote, "centerface on MLServer over gRPC");
    assert!(grpc_warnings.is_empty(), "{grpc_warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("binary tensor extension")),
        "{warnings:?}"
    );
    let solid = "videotestsrc num-buffers=2 pattern=solid-color foreground-color=0xff8040bf ! video/x-raw,format=RGB,width=64,height=64";
    let (local, _) = json_lines(
        solid,
        &format!("model={} decoder=features", features.display()),
    );
    let (remote, _) = json_lines(
        solid,
        &format!("model={} decoder=features", server.http_url("features")),
    );
    assert_same_results(&local, &remote, "features on MLServer");
    let err = common::expect_error(&format!(
        "videotestsrc num-buffers=1 ! dlinfer model={} ! fakesink",
        server.http_url("nope")
    ));
    assert!(
        err.contains("model 'nope' is not available") && err.contains("centerface, features"),
        "{err}"
    );
}

/// What a fake server answers to an inference request.
#[derive(Clone, Copy)]
enum Misbehaviour {
    Status500,
    Garbage,
    Silence,
}

/// A fake KServe v2 server that describes `classify.onnx`'s shapes
/// correctly, then misbehaves on every inference request.
fn misbehaving_server(how: Misbehaviour) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let authority = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut writer = stream;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split(' ').nth(1).unwrap_or("").to_string();
                    let mut length = 0;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if header.trim().is_empty() {
                            break;
                        }
                        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let json = |body: &str| {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let answer = match path.as_str() {
                        "/v2" => json(r#"{"name":"fake","extensions":["binary_tensor_data"]}"#),
                        "/v2/models/m" => json(
                            r#"{"name":"m","versions":["1"],"inputs":[{"name":"images","datatype":"FP32","shape":[-1,3,-1,-1]}],"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,3]}]}"#,
                        ),
                        _ => match how {
                            Misbehaviour::Status500 => {
                                let body = r#"{"error":"Python model 'm' raised: out of memory"}"#;
                                format!(
                                    "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\n\r\n{body}",
                                    body.len()
                                )
                            }
                            Misbehaviour::Garbage => {
                                "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!".to_string()
                            }
                            Misbehaviour::Silence => {
                                std::thread::sleep(Duration::from_secs(30));
                                return;
                            }
                        },
                    };
                    if writer.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    authority
}

fn error_with(model_url: &str, extra: &str) -> String {
    common::expect_error(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,width=64,height=64 ! \
         dlinfer model={model_url} decoder=classification input-width=32 input-height=32 {extra} ! fakesink"
    ))
}

#[test]
fn a_server_not_listening_is_a_clear_error() {
    let port = common::free_port();
    let url = format!("http://127.0.0.1:{port}/v2/models/m");
    let err = error_with(&url, "");
    assert!(
        err.contains("cannot reach the model server")
            && err.contains(&url)
            && err.contains("attempts"),
        "{err}"
    );
}

#[test]
fn a_server_answering_500_or_garbage_is_a_clear_error() {
    let authority = misbehaving_server(Misbehaviour::Status500);
    let err = error_with(&format!("http://{authority}/v2/models/m"), "");
    assert!(
        err.contains("HTTP 500") && err.contains("out of memory"),
        "{err}"
    );
    let authority = misbehaving_server(Misbehaviour::Garbage);
    let err = error_with(&format!("http://{authority}/v2/models/m"), "");
    assert!(
        err.contains("cannot read") && err.contains("not KServe v2 JSON"),
        "{err}"
    );
}

#[test]
fn a_server_that_stops_answering_times_out() {
    let authority = misbehaving_server(Misbehaviour::Silence);
    let started = std::time::Instant::now();
    let err = error_with(
        &format!("http://{authority}/v2/models/m"),
        "remote-timeout=500",
    );
    assert!(
        err.contains("did not answer within 500 ms (remote-timeout)"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_bad_model_url_says_the_expected_form() {
    let err = error_with("http://127.0.0.1/v2/models/m", "");
    assert!(
        err.contains("host and a port") && err.contains("http://HOST:PORT/v2/models/NAME"),
        "{err}"
    );
}
