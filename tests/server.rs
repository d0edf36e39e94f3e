//! gst-dl-server, the built program, driven over loopback HTTP with
//! DeepDetect's calls from the seed (local models and sources): services,
//! resources from a file and a page URL, predict finding CenterFace's face,
//! streams to a file and to RTP/JPEG, four at once, stopped mid-way; and
//! every kind of bad input answered with DeepDetect's error while the server
//! keeps serving.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::http_server::HttpServer;
use common::{count_buffers, data, media, pipeline, test_model};
use gst::prelude::*;
use serde_json::{Value, json};

/// carphone_pristine.mp4: 176x144, 120 frames at 29.97/s, one face.
const CARPHONE_FRAMES: u64 = 120;
const WAIT: Duration = Duration::from_secs(60);

/// A running gst-dl-server, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    token: Option<String>,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gst-dl-server"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gst-dl-server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        let token = args
            .iter()
            .position(|a| *a == "--token")
            .map(|i| args[i + 1].to_owned());
        Server { child, addr, token }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// One request; returns the HTTP status and the JSON body.
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let auth = self
            .token
            .as_ref()
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        raw_request(
            self.addr,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    /// A request that must succeed with `code`; returns the body.
    fn expect(&self, code: u16, method: &str, path: &str, body: Option<&Value>) -> Value {
        let (status, json) = self.call(method, path, body);
        assert_eq!(status, code, "{method} {path}: {json}");
        assert_eq!(json["status"]["code"], code, "{json}");
        json
    }

    /// Polls `GET /stream/{name}` until it is no longer running.
    fn wait_for_end(&self, name: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let status = self.expect(200, "GET", &format!("/stream/{name}"), None);
            if status["head"]["status"] != "running" {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "stream {name} still running: {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A DeepDetect error: HTTP status and `status.code` both `code`, with a message.
    fn expect_error(&self, code: u16, method: &str, path: &str, body: Option<&Value>) -> String {
        let (status, json) = self.call(method, path, body);
        assert_eq!(status, code, "{method} {path}: {json}");
        assert_eq!(json["status"]["code"], code, "{json}");
        assert!(json["status"]["dd_code"].is_number(), "{json}");
        json["status"]["dd_msg"]
            .as_str()
            .expect("dd_msg")
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` as is; returns the status and the body as JSON.
fn raw_request(addr: SocketAddr, request: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    // The server may answer (413) before reading everything; ignore a reset.
    let _ = stream.write_all(request.as_bytes());
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    let json =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("body {body:?} is not JSON: {e}"));
    (code, json)
}

/// A directory the server may use: `face/` (CenterFace and `corresp.txt`),
/// `clip.mp4` (carphone), and room for outputs.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("face")).unwrap();
    std::fs::copy(
        data("models/centerface.onnx"),
        dir.path().join("face/centerface.onnx"),
    )
    .unwrap();
    std::fs::write(dir.path().join("face/corresp.txt"), "0 face\n").unwrap();
    std::fs::copy(media("carphone_pristine.mp4"), dir.path().join("clip.mp4")).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// The seed's service call with CenterFace's settings.
fn face_service(dir: &Path) -> Value {
    json!({
        "description": "image detection service",
        "mllib": "onnx",
        "model": {"repository": path(dir, "face")},
        "parameters": {
            "input": {"connector": "video"},
            "mllib": {"decoder": "centerface", "input_std": 1, "iou_threshold": 0.3}
        },
        "type": "supervised"
    })
}

fn video(source: &str, realtime: bool) -> Value {
    json!({"type": "video", "source": source, "realtime": realtime})
}

/// The seed's first predict.
fn seed_predict(resource: &str) -> Value {
    json!({
        "service": "imageserv",
        "parameters": {"output": {"bbox": true, "confidence_threshold": 0.1}},
        "data": [format!("resource:{resource}")]
    })
}

fn stream_to(resource: &str, video_out: &str) -> Value {
    json!({
        "predict": {"service": "imageserv", "parameters": {}, "data": [resource]},
        "output": {"video_out": video_out}
    })
}

/// The one face of a predict answer: (prob, bbox).
fn the_face(answer: &Value) -> (f64, Value) {
    let predictions = answer["body"]["predictions"]
        .as_array()
        .expect("predictions");
    assert_eq!(predictions.len(), 1, "{answer}");
    let classes = predictions[0]["classes"].as_array().expect("classes");
    assert_eq!(classes.len(), 1, "one face: {answer}");
    assert_eq!(classes[0]["cat"], "face");
    (
        classes[0]["prob"].as_f64().unwrap(),
        classes[0]["bbox"].clone(),
    )
}

/// Frames in a video file, decoded to the end.
fn frames_in(file: &str) -> u64 {
    let p = pipeline(&format!(
        "filesrc location={file} ! decodebin ! fakesink name=sink sync=false"
    ));
    let count = count_buffers(&p, "sink");
    let outcome = common::run_to_end(&p, WAIT, |_, _| {});
    p.set_state(gst::State::Null).unwrap();
    assert!(
        outcome.error.is_none(),
        "{file} does not play: {:?}",
        outcome.error
    );
    count.load(Ordering::SeqCst)
}

fn processed(status: &Value) -> u64 {
    status["body"]["processed_frames"]
        .as_u64()
        .expect("processed_frames")
}

#[test]
fn the_seed_calls_find_the_face_and_stream_it_to_a_file() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    let info = server.expect(200, "GET", "/services/imageserv", None);
    assert_eq!(info["body"]["mllib"], "onnx");
    server.expect(
        201,
        "PUT",
        "/resources/file_video",
        Some(&video(&path(dir.path(), "clip.mp4"), false)),
    );

    // Predict answers one frame after the other, each with the face.
    let mut times = Vec::new();
    for frame in 0..2 {
        let answer = server.expect(200, "POST", "/predict", Some(&seed_predict("file_video")));
        times.push(answer["body"]["predictions"][0]["pts_ms"].as_f64().unwrap());
        assert_eq!(answer["head"]["method"], "/predict");
        assert_eq!(
            answer["body"]["predictions"][0]["uri"],
            "resource:file_video"
        );
        assert_eq!(answer["body"]["predictions"][0]["frame"], frame);
        let (prob, bbox) = the_face(&answer);
        assert!(prob > 0.8, "{answer}");
        // The man's face sits left of centre in the upper half of the 176x144 frame.
        let (x0, y0, x1, y1) = (
            bbox["xmin"].as_f64().unwrap(),
            bbox["ymin"].as_f64().unwrap(),
            bbox["xmax"].as_f64().unwrap(),
            bbox["ymax"].as_f64().unwrap(),
        );
        assert!(
            (50.0..80.0).contains(&x0) && (95.0..130.0).contains(&x1),
            "{bbox}"
        );
        assert!(
            (25.0..50.0).contains(&y0) && (80.0..110.0).contains(&y1),
            "{bbox}"
        );
    }
    assert!(
        (times[1] - times[0] - 1001.0 / 30.0).abs() < 1.0,
        "{times:?}"
    );
    // Without bbox, and above every score: no classes.
    let none = server.expect(
        200,
        "POST",
        "/predict",
        Some(&json!({"service": "imageserv", "parameters": {"output": {"confidence_threshold": 0.99}},
                     "data": ["resource:file_video"]})),
    );
    assert_eq!(none["body"]["predictions"][0]["classes"], json!([]));

    let out = path(dir.path(), "faces.mp4");
    let started = server.expect(
        201,
        "PUT",
        "/stream/my_realtime",
        Some(&stream_to("file_video", &out)),
    );
    assert_eq!(started["head"]["status"], "running");
    let during = server.expect(200, "GET", "/stream/my_realtime", None);
    assert!(
        ["running", "terminated"].contains(&during["head"]["status"].as_str().unwrap()),
        "{during}"
    );
    assert!(processed(&during) <= CARPHONE_FRAMES);
    let after = server.wait_for_end("my_realtime");
    assert_eq!(after["head"]["status"], "terminated", "{after}");
    assert_eq!(processed(&after), CARPHONE_FRAMES, "{after}");
    assert_eq!(
        after["body"]["video"],
        json!({"width": 176, "height": 144, "fps": 29.97})
    );
    assert_eq!(after["body"]["remaining_time_ms"], 0);
    assert!(after["body"]["elapsed_ms"].as_u64().unwrap() > 0);
    assert_eq!(frames_in(&out), processed(&after));

    let listed = server.expect(200, "GET", "/info", None);
    assert_eq!(listed["head"]["services"][0]["name"], "imageserv");
    assert_eq!(listed["head"]["streams"][0]["status"], "terminated");
    server.expect(200, "DELETE", "/stream/my_realtime", None);
    server.expect(200, "DELETE", "/resources/file_video", None);
    server.expect(200, "DELETE", "/services/imageserv", None);
    let gone = server.expect_error(404, "GET", "/services/imageserv", None);
    assert!(gone.contains("Service Not Found"), "{gone}");
}

#[test]
fn delete_mid_stream_leaves_a_playable_file() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    // realtime: the clip plays at its own pace (4 s), so it is stopped mid-way.
    server.expect(
        201,
        "PUT",
        "/resources/live",
        Some(&video(&path(dir.path(), "clip.mp4"), true)),
    );
    let out = path(dir.path(), "cut.mp4");
    server.expect(
        201,
        "PUT",
        "/stream/cut",
        Some(&stream_to("resource:live", &out)),
    );
    let deadline = Instant::now() + WAIT;
    loop {
        let status = server.expect(200, "GET", "/stream/cut", None);
        assert_eq!(status["head"]["status"], "running", "{status}");
        if processed(&status) >= 15 {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let last = server.expect(200, "DELETE", "/stream/cut", None);
    assert_eq!(last["head"]["status"], "terminated", "{last}");
    let written = processed(&last);
    assert!((15..CARPHONE_FRAMES).contains(&written), "{last}");
    assert_eq!(frames_in(&out), written);
    server.expect_error(404, "GET", "/stream/cut", None);
}

#[test]
fn a_stream_to_the_seeds_rtp_jpeg_pipeline_reaches_a_udpsrc() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), ""), "--allow-pipelines"]);
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let receiver = pipeline(&format!(
        "udpsrc address=127.0.0.1 port={port} \
         caps=application/x-rtp,media=video,encoding-name=JPEG,payload=26,clock-rate=90000 ! \
         rtpjpegdepay ! jpegdec ! fakesink name=sink sync=false"
    ));
    let received = count_buffers(&receiver, "sink");
    receiver.set_state(gst::State::Playing).unwrap();

    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    server.expect(
        201,
        "PUT",
        "/resources/file_video",
        Some(&video(&path(dir.path(), "clip.mp4"), false)),
    );
    // The seed's output, at the clip's size and rate (so each frame is one
    // RTP frame) and on the receiver's port.
    let video_out = format!(
        "appsrc ! queue ! videoconvert ! video/x-raw,format=I420,width=176,height=144, framerate=30000/1001 ! \
         jpegenc ! rtpjpegpay ! queue ! udpsink host=127.0.0.1 port={port}"
    );
    let body = json!({
        "predict": {"service": "imageserv", "parameters": {}, "data": ["file_video"]},
        "output": {"type": "gst_pipeline", "backend": "gstreamer", "video_out": video_out}
    });
    server.expect(201, "PUT", "/stream/my_realtime", Some(&body));
    let after = server.wait_for_end("my_realtime");
    assert_eq!(after["head"]["status"], "terminated", "{after}");
    assert_eq!(processed(&after), CARPHONE_FRAMES);
    std::thread::sleep(Duration::from_millis(500));
    receiver.set_state(gst::State::Null).unwrap();
    assert_eq!(received.load(Ordering::SeqCst), CARPHONE_FRAMES);
}

#[test]
fn a_realtime_resource_answers_the_newest_frame() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    server.expect(
        201,
        "PUT",
        "/resources/live",
        Some(&video(&path(dir.path(), "clip.mp4"), true)),
    );
    let pts = || {
        let answer = server.expect(200, "POST", "/predict", Some(&seed_predict("live")));
        the_face(&answer);
        assert!(
            answer["body"]["predictions"][0].get("frame").is_none(),
            "{answer}"
        );
        answer["body"]["predictions"][0]["pts_ms"].as_f64().unwrap()
    };
    let first = pts();
    std::thread::sleep(Duration::from_millis(1500));
    let later = pts();
    // The video went on while nobody asked: the answer is 1.5 s further on,
    // not the next frame.
    assert!(later - first > 1200.0, "first {first} ms, then {later} ms");
}

#[test]
fn a_page_url_resource_is_resolved_by_yt_dlp() {
    let dir = workspace();
    let site = HttpServer::clip_site(&media("carphone_pristine.mp4"), "Carphone").unwrap();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    server.expect(
        201,
        "PUT",
        "/resources/yt_video",
        Some(&video(&site.url("/page.html"), false)),
    );
    let answer = server.expect(200, "POST", "/predict", Some(&seed_predict("yt_video")));
    let (prob, _) = the_face(&answer);
    assert!(prob > 0.8, "{answer}");
    // The page went to yt-dlp, the clip to the HTTP source.
    let requests = site.requests();
    assert!(
        requests.iter().any(|r| r.starts_with("GET /page.html")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|r| r.starts_with("GET /clip.mp4")),
        "{requests:?}"
    );
    server.expect(200, "DELETE", "/resources/yt_video", None);
}

#[test]
fn four_streams_run_at_once_and_max_streams_refuses_a_fifth() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), ""), "--max-streams", "4"]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    // realtime: each runs 4 s at the clip's pace, so all four overlap.
    server.expect(
        201,
        "PUT",
        "/resources/live",
        Some(&video(&path(dir.path(), "clip.mp4"), true)),
    );
    let outputs: Vec<String> = (0..4)
        .map(|i| path(dir.path(), &format!("out{i}.mp4")))
        .collect();
    for (i, out) in outputs.iter().enumerate() {
        server.expect(
            201,
            "PUT",
            &format!("/stream/s{i}"),
            Some(&stream_to("live", out)),
        );
    }
    let refused = server.expect_error(
        503,
        "PUT",
        "/stream/s4",
        Some(&stream_to("live", &path(dir.path(), "out4.mp4"))),
    );
    assert!(refused.contains("--max-streams 4"), "{refused}");
    let taken = server.expect_error(
        409,
        "PUT",
        "/stream/s5",
        Some(&stream_to("live", &outputs[0])),
    );
    assert!(taken.contains("is writing to"), "{taken}");
    let running = server.expect(200, "GET", "/info", None)["head"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "running")
        .count();
    assert_eq!(running, 4);
    for (i, out) in outputs.iter().enumerate() {
        let after = server.wait_for_end(&format!("s{i}"));
        assert_eq!(after["head"]["status"], "terminated", "{after}");
        // Realtime streams drop what the model cannot keep up with; every
        // frame counted was written.
        assert!(processed(&after) > 0, "{after}");
        assert_eq!(frames_in(out), processed(&after), "{after}");
    }
    // Room again once they ended.
    server.expect(
        201,
        "PUT",
        "/stream/s4",
        Some(&stream_to("live", &path(dir.path(), "out4.mp4"))),
    );
    server.expect(200, "DELETE", "/stream/s4", None);
}

#[test]
fn a_source_failing_mid_stream_ends_that_stream_in_error_and_not_the_others() {
    let dir = workspace();
    let site = HttpServer::clip_site(&media("carphone_pristine.mp4"), "Carphone").unwrap();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    server.expect(
        201,
        "PUT",
        "/resources/dropped",
        Some(&video(&site.url("/drop.mp4"), false)),
    );
    server.expect(
        201,
        "PUT",
        "/resources/good",
        Some(&video(&path(dir.path(), "clip.mp4"), false)),
    );
    server.expect(
        201,
        "PUT",
        "/stream/bad",
        Some(&stream_to("dropped", &path(dir.path(), "bad.mp4"))),
    );
    server.expect(
        201,
        "PUT",
        "/stream/good",
        Some(&stream_to("good", &path(dir.path(), "good.mp4"))),
    );
    let bad = server.wait_for_end("bad");
    assert_eq!(bad["head"]["status"], "error", "{bad}");
    assert!(!bad["body"]["error"].as_str().unwrap().is_empty(), "{bad}");
    let good = server.wait_for_end("good");
    assert_eq!(good["head"]["status"], "terminated", "{good}");
    assert_eq!(processed(&good), CARPHONE_FRAMES);
    server.expect(200, "GET", "/info", None);
}

#[test]
fn a_frame_to_frame_model_streams_its_output_frames() {
    // The seed's GAN call: extract_layer "last" makes the model's output the video.
    let dir = workspace();
    std::fs::create_dir(dir.path().join("gan")).unwrap();
    std::fs::copy(
        test_model("invert.onnx"),
        dir.path().join("gan/invert.onnx"),
    )
    .unwrap();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    server.expect(
        201,
        "PUT",
        "/services/ganserv",
        Some(&json!({
            "description": "image classification service",
            "mllib": "onnx",
            "model": {"repository": path(dir.path(), "gan")},
            "parameters": {"input": {"connector": "image"}, "mllib": {"extract_layer": "last"}},
            "type": "supervised"
        })),
    );
    server.expect(
        201,
        "PUT",
        "/resources/file_video",
        Some(&video(&path(dir.path(), "clip.mp4"), false)),
    );
    let out = path(dir.path(), "inverted.mp4");
    let body = json!({
        "predict": {"service": "ganserv", "parameters": {"mllib": {"extract_layer": "last"}}, "data": ["file_video"]},
        "output": {"video_out": out}
    });
    server.expect(201, "PUT", "/stream/gan", Some(&body));
    let after = server.wait_for_end("gan");
    assert_eq!(after["head"]["status"], "terminated", "{after}");
    assert_eq!(frames_in(&out), CARPHONE_FRAMES);
    // Mean brightness of the first frame: the output's is 255 minus the input's.
    let mean_luma = |file: &str| -> f64 {
        let p = pipeline(&format!(
            "filesrc location={file} ! decodebin ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=sink"
        ));
        let sink = p
            .by_name("sink")
            .unwrap()
            .downcast::<gst_app::AppSink>()
            .unwrap();
        p.set_state(gst::State::Playing).unwrap();
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(30))
            .expect("a frame");
        let map = sample.buffer().unwrap().map_readable().unwrap();
        let sum: u64 = map.iter().map(|&v| u64::from(v)).sum();
        let mean = sum as f64 / map.len() as f64;
        drop(map);
        p.set_state(gst::State::Null).unwrap();
        mean
    };
    let (input, output) = (mean_luma(&path(dir.path(), "clip.mp4")), mean_luma(&out));
    assert!(
        (input + output - 255.0).abs() < 8.0,
        "input {input}, output {output}"
    );
}

#[test]
fn bad_input_and_forbidden_requests_get_deepdetect_errors_and_the_server_goes_on() {
    let dir = workspace();
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(
        media("carphone_pristine.mp4"),
        outside.path().join("secret.mp4"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.mp4"),
        dir.path().join("link.mp4"),
    )
    .unwrap();
    let allowed = path(dir.path(), "");
    let server = Server::start(&[
        "--allow-dir",
        &allowed,
        "--token",
        "s3cret",
        "--max-body",
        "4096",
    ]);

    // The token: missing, then wrong.
    let (code, json) = raw_request(
        server.addr,
        "GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (code, json["status"]["code"].as_u64()),
        (401, Some(401)),
        "{json}"
    );
    assert!(
        json["status"]["dd_msg"]
            .as_str()
            .unwrap()
            .contains("Bearer")
    );
    let (code, _) = raw_request(
        server.addr,
        "GET /info HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cre\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(code, 401);

    // Malformed JSON, and a body over --max-body.
    let (code, json) = raw_request(
        server.addr,
        "PUT /services/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret\r\nContent-Length: 9\r\nConnection: close\r\n\r\n{\"mllib\":",
    );
    assert_eq!(code, 400, "{json}");
    assert!(
        json["status"]["dd_msg"]
            .as_str()
            .unwrap()
            .contains("malformed JSON"),
        "{json}"
    );
    let big = json!({"description": "x".repeat(5000), "mllib": "onnx"});
    let e = server.expect_error(413, "PUT", "/services/big", Some(&big));
    assert!(e.contains("--max-body"), "{e}");

    // Unknown service, resource, stream, route.
    let e = server.expect_error(404, "POST", "/predict", Some(&seed_predict("nothing")));
    assert!(e.contains("Service Not Found"), "{e}");
    server.expect(
        201,
        "PUT",
        "/services/imageserv",
        Some(&face_service(dir.path())),
    );
    let e = server.expect_error(404, "POST", "/predict", Some(&seed_predict("nothing")));
    assert!(e.contains("no resource \"nothing\""), "{e}");
    server.expect_error(404, "GET", "/stream/nothing", None);
    server.expect_error(404, "DELETE", "/resources/nothing", None);
    server.expect_error(404, "GET", "/nowhere", None);
    server.expect_error(405, "POST", "/info", None);

    // Models and files outside --allow-dir, by path, by `..` and by a link.
    let mut outside_model = face_service(dir.path());
    outside_model["model"]["repository"] = json!(data("models").display().to_string());
    let e = server.expect_error(403, "PUT", "/services/outside", Some(&outside_model));
    assert!(e.contains("--allow-dir"), "{e}");
    for source in [
        path(outside.path(), "secret.mp4"),
        format!(
            "{allowed}/../{}/secret.mp4",
            outside.path().file_name().unwrap().to_str().unwrap()
        ),
        path(dir.path(), "link.mp4"),
    ] {
        server.expect_error(
            403,
            "PUT",
            "/resources/escape",
            Some(&video(&source, false)),
        );
    }
    std::fs::create_dir(dir.path().join("linked")).unwrap();
    std::os::unix::fs::symlink(
        data("models/centerface.onnx"),
        dir.path().join("linked/model.onnx"),
    )
    .unwrap();
    let mut linked_model = face_service(dir.path());
    linked_model["model"]["repository"] = json!(path(dir.path(), "linked"));
    let e = server.expect_error(403, "PUT", "/services/linked", Some(&linked_model));
    assert!(e.contains("link leading outside"), "{e}");
    server.expect(
        201,
        "PUT",
        "/resources/clip",
        Some(&video(&path(dir.path(), "clip.mp4"), false)),
    );
    server.expect_error(
        403,
        "PUT",
        "/stream/out",
        Some(&stream_to("clip", &path(outside.path(), "o.mp4"))),
    );

    // Pipelines, with --allow-pipelines off.
    let e = server.expect_error(
        403,
        "PUT",
        "/resources/p",
        Some(&video("videotestsrc ! video/x-raw", false)),
    );
    assert!(e.contains("--allow-pipelines"), "{e}");
    let e = server.expect_error(
        403,
        "PUT",
        "/stream/p",
        Some(&stream_to(
            "clip",
            "appsrc ! jpegenc ! filesink location=/tmp/x.jpg",
        )),
    );
    assert!(e.contains("--allow-pipelines"), "{e}");

    // A bad model setting, a model that is not ONNX, a wrong library.
    let mut bad_setting = face_service(dir.path());
    bad_setting["parameters"]["mllib"]["iou_threshold"] = json!(7);
    let e = server.expect_error(400, "PUT", "/services/bad", Some(&bad_setting));
    assert!(e.contains("iou-threshold"), "{e}");
    let mut caffe = face_service(dir.path());
    caffe["mllib"] = json!("caffe");
    server.expect_error(404, "PUT", "/services/caffe", Some(&caffe));
    std::fs::create_dir(dir.path().join("junk")).unwrap();
    std::fs::write(dir.path().join("junk/model.onnx"), b"not a model").unwrap();
    let mut junk = face_service(dir.path());
    junk["model"]["repository"] = json!(path(dir.path(), "junk"));
    server.expect(201, "PUT", "/services/junk", Some(&junk));
    let predict_junk = json!({"service": "junk", "data": ["resource:clip"]});
    let e = server.expect_error(500, "POST", "/predict", Some(&predict_junk));
    assert!(e.contains("resource clip"), "{e}");

    // Still serving.
    let info = server.expect(200, "GET", "/info", None);
    assert_eq!(info["head"]["resources"][0]["name"], "clip");
}

#[test]
fn the_curl_session_in_docs_runs() {
    let dir = workspace();
    let server = Server::start(&["--allow-dir", &path(dir.path(), "")]);
    let session = common::root().join("docs/server-session.sh");
    let output = Command::new("bash")
        .arg(&session)
        .env("SERVER", server.url())
        .env("MODEL_DIR", path(dir.path(), "face"))
        .env("VIDEO", path(dir.path(), "clip.mp4"))
        .env("OUT", path(dir.path(), "video_out.mp4"))
        .output()
        .expect("bash runs");
    let printed = common::printed(&output);
    assert!(output.status.success(), "{}", printed);
    assert!(printed.contains("\"cat\":\"face\""), "{printed}");
    assert!(printed.contains("\"status\":\"terminated\""), "{printed}");
    assert!(
        printed.contains(&format!("\"processed_frames\":{CARPHONE_FRAMES}")),
        "{printed}"
    );
    assert_eq!(
        frames_in(&path(dir.path(), "video_out.mp4")),
        CARPHONE_FRAMES
    );
}

#[test]
fn help_documents_every_flag_and_a_bad_flag_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_gst-dl-server"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--listen",
        "--allow-dir",
        "--allow-pipelines",
        "--max-streams",
        "--token",
        "--max-body",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_gst-dl-server"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}

#[test]
fn extract_layer_answers_features_as_vals() {
    let dir = workspace();
    std::fs::create_dir(dir.path().join("features")).unwrap();
    std::fs::copy(
        test_model("features.onnx"),
        dir.path().join("features/features.onnx"),
    )
    .unwrap();
    let server = Server::start(&["--allow-dir", &path(dir.path(), ""), "--allow-pipelines"]);
    server.expect(
        201,
        "PUT",
        "/services/featserv",
        Some(&json!({
            "mllib": "onnx",
            "model": {"repository": path(dir.path(), "features")},
            "parameters": {"input": {"connector": "image"},
                           "mllib": {"extract_layer": "features", "normalize": false}}
        })),
    );
    // A solid colour (R 128, G 64, B 191): features.onnx gives the channel
    // means, their squares, then 0.5 and 0.25; its output `extra` gives
    // (sum of the means, -1).
    server.expect(
        201,
        "PUT",
        "/resources/colour",
        Some(&video(
            "videotestsrc pattern=solid-color foreground-color=0xff8040bf num-buffers=10 ! \
             video/x-raw,format=RGB,width=64,height=48 ! queue",
            false,
        )),
    );
    let vals = |layer: &str| -> Vec<f64> {
        let answer = server.expect(
            200,
            "POST",
            "/predict",
            Some(&json!({"service": "featserv",
                         "parameters": {"mllib": {"extract_layer": layer}},
                         "data": ["resource:colour"]})),
        );
        let prediction = &answer["body"]["predictions"][0];
        assert!(prediction.get("classes").is_none(), "{answer}");
        prediction["vals"]
            .as_array()
            .unwrap_or_else(|| panic!("no vals: {answer}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let (r, g, b) = (128.0 / 255.0, 64.0 / 255.0, 191.0 / 255.0);
    let expected = [r, g, b, r * r, g * g, b * b, 0.5, 0.25];
    let features = vals("features");
    assert_eq!(features.len(), expected.len(), "{features:?}");
    for (got, want) in features.iter().zip(expected) {
        assert!((got - want).abs() < 1e-3, "{features:?}");
    }
    let extra = vals("extra");
    assert_eq!(extra.len(), 2, "{extra:?}");
    assert!(
        (extra[0] - (r + g + b)).abs() < 1e-3 && extra[1] == -1.0,
        "{extra:?}"
    );
}
