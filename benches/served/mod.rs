//! `cargo bench --bench benchmarks -- --served`: CenterFace on bikes.mp4
//! through a local session against the same model served by Triton (HTTP
//! with the binary tensor extension, and gRPC) at `remote-requests` 1, 2
//! and 4, and two pipelines sharing one Triton. Triton comes from
//! `.venv-triton` (`scripts/setup.sh --tests`), started on free loopback
//! ports and stopped by its PID; its python backend runs the ONNX file with
//! onnxruntime, so the served rows measure the protocol and the server
//! around the same model work.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gstdl::remote::http::Connection;

struct Triton {
    child: Child,
    http: u16,
    grpc: u16,
}

impl Drop for Triton {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn start_triton(root: &Path, workdir: &Path, centerface: &Path) -> Triton {
    let python = root.join(".venv-triton/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh --tests",
        python.display()
    );
    let (http, grpc) = (free_port(), free_port());
    let child = Command::new(python)
        .arg(root.join("scripts/serve_models.py"))
        .args([
            "triton",
            &workdir.display().to_string(),
            &http.to_string(),
            &grpc.to_string(),
        ])
        .arg(format!("centerface={}", centerface.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Triton starts");
    let triton = Triton { child, http, grpc };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ready = Connection::open(&format!("127.0.0.1:{http}"), Duration::from_secs(2))
            .and_then(|mut c| c.request("GET", "/v2/models/centerface/ready", &[], &[]))
            .is_ok_and(|r| r.status == 200);
        if ready {
            return triton;
        }
        assert!(
            Instant::now() < deadline,
            "Triton was not ready within 120 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[sorted.len() / 2]
}

/// The served-model rows as a Markdown table. `measure(launch, runs)` gives
/// the fps of each timed run of a pipeline (as the main rows measure them).
pub fn report(
    runs: usize,
    root: &Path,
    centerface_props: &str,
    measure: impl Fn(&str, usize) -> Vec<f64> + Sync,
) -> String {
    let media = root.join(".data/media/bikes.mp4");
    let model = root.join(".data/models/centerface.onnx");
    let workdir = tempfile_dir(root);
    let triton = start_triton(root, &workdir, &model);
    let source = format!(
        "filesrc location={} ! decodebin ! videoconvert",
        media.display()
    );
    let launch = |model: &str, extra: &str| {
        format!("{source} ! dlinfer model={model} {centerface_props} {extra} ! fakesink")
    };
    let http = format!("http://127.0.0.1:{}/v2/models/centerface", triton.http);
    let grpc = format!("grpc://127.0.0.1:{}/centerface", triton.grpc);
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    let local = launch(&model.display().to_string(), "");
    rows.push((
        "local session (async-inference)".into(),
        local.clone(),
        median(&measure(&local, runs)),
    ));
    for (protocol, url) in [("HTTP binary", &http), ("gRPC", &grpc)] {
        for requests in [1, 2, 4] {
            let line = launch(url, &format!("remote-requests={requests}"));
            let fps = median(&measure(&line, runs));
            rows.push((
                format!("Triton {protocol}, remote-requests={requests}"),
                line,
                fps,
            ));
        }
    }
    // Two pipelines at once on one Triton: their frames per second added.
    let shared = launch(&http, "remote-requests=2");
    let both: Vec<f64> = std::thread::scope(|scope| {
        let a = scope.spawn(|| median(&measure(&shared, runs)));
        let b = scope.spawn(|| median(&measure(&shared, runs)));
        vec![
            a.join().expect("first pipeline"),
            b.join().expect("second pipeline"),
        ]
    });
    rows.push((
        format!(
            "two pipelines sharing one Triton (HTTP, remote-requests=2): {:.1} + {:.1}",
            both[0], both[1]
        ),
        shared,
        both.iter().sum(),
    ));
    drop(triton);
    let _ = std::fs::remove_dir_all(&workdir);
    let mut text = format!(
        "## Served models (CenterFace, bikes.mp4, median of {runs} runs)\n\n| row | fps |\n|---|---|\n"
    );
    for (name, _, fps) in &rows {
        text.push_str(&format!("| {name} | {fps:.1} |\n"));
    }
    text.push_str("\nPipelines:\n\n");
    for (name, line, _) in &rows {
        text.push_str(&format!("- {name}: `{line}`\n"));
    }
    text
}

fn tempfile_dir(root: &Path) -> std::path::PathBuf {
    let dir = root
        .join("target")
        .join(format!("served-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a work folder under target/");
    dir
}
