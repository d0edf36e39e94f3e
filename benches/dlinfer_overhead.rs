//! The overhead of everything in dlinfer that is not the model.
//!
//! Runs, in one process on one machine:
//! 1. the limit: bare ONNX Runtime (our session wrapper, no GStreamer) on a
//!    pre-made tensor of the size the pipeline feeds, batch 1;
//! 2. `filesrc ! decodebin ! videoconvert ! dlinfer ! fakesink` on a real clip.
//!
//! It prints the median frames per second of each (5 runs) and their ratio.
//!
//! `cargo bench --bench dlinfer_overhead` (after scripts/setup.sh).

use std::path::{Path, PathBuf};
use std::time::Instant;

use gst::prelude::*;
use gstdl::runtime::session::InputData;
use gstdl::runtime::{ExecutionProvider, SessionOptions, open_shared_session};

const RUNS: usize = 5;

struct Case {
    name: &'static str,
    clip: &'static str,
    model: &'static str,
    /// dlinfer properties besides model=.
    properties: &'static str,
    /// The model input the pipeline feeds for this clip (width, height).
    input: (usize, usize),
}

const CASES: [Case; 1] = [Case {
    name: "CenterFace, bikes.mp4 (640x272 -> 640x288)",
    clip: "bikes.mp4",
    model: "centerface.onnx",
    properties: "decoder=centerface input-std=1 iou-threshold=0.3",
    input: (640, 288),
}];

fn data(relative: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".data")
        .join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    path
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (
        values[values.len() / 2],
        values[0],
        values[values.len() - 1],
    )
}

/// Frames per second of the bare session on one pre-made tensor.
fn bare_runtime_fps(model: &Path, (width, height): (usize, usize), frames: usize) -> f64 {
    let session = open_shared_session(&SessionOptions {
        model: model.to_path_buf(),
        provider: ExecutionProvider::Cpu,
        threads: 0,
    })
    .expect("the model loads");
    let input = session.info.inputs[0].name.clone();
    let tensor: Vec<f32> = (0..3 * width * height).map(|i| (i % 251) as f32).collect();
    let shape = [1, 3, height, width];
    let run = || {
        session
            .run(&input, &shape, InputData::F32(&tensor), |outputs| {
                outputs.len()
            })
            .expect("runs")
    };
    run(); // warm-up: first run allocates ONNX Runtime's arenas
    let start = Instant::now();
    for _ in 0..frames {
        run();
    }
    frames as f64 / start.elapsed().as_secs_f64()
}

/// Frames per second of the whole pipeline, and the frame count.
fn pipeline_fps(clip: &Path, model: &Path, properties: &str) -> (f64, usize) {
    let description = format!(
        "filesrc location={} ! decodebin ! videoconvert ! dlinfer model={} {properties} ! fakesink name=sink sync=false",
        clip.display(),
        model.display()
    );
    let pipeline = gst::parse::launch(&description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let frames = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = frames.clone();
    pipeline
        .by_name("sink")
        .unwrap()
        .static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    let start = Instant::now();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for message in bus.iter_timed(gst::ClockTime::NONE) {
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => panic!("{} {:?}", err.error(), err.debug()),
            _ => {}
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    pipeline.set_state(gst::State::Null).unwrap();
    let frames = frames.load(std::sync::atomic::Ordering::Relaxed);
    (frames as f64 / elapsed, frames)
}

fn main() {
    gst::init().unwrap();
    gstdl::plugin_register_static().unwrap();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    println!(
        "machine: {cpu}, {} cores; medians of {RUNS} runs (min-max)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for case in CASES {
        let model = data(&format!("models/{}", case.model));
        let clip = data(&format!("media/{}", case.clip));
        let mut pipeline = Vec::new();
        let mut bare = Vec::new();
        let mut frames = 0;
        for _ in 0..RUNS {
            let (fps, count) = pipeline_fps(&clip, &model, case.properties);
            pipeline.push(fps);
            frames = count;
            bare.push(bare_runtime_fps(&model, case.input, count.min(200)));
        }
        let (bare_median, bare_min, bare_max) = median(bare);
        let (pipe_median, pipe_min, pipe_max) = median(pipeline);
        println!("{}: {frames} frames", case.name);
        println!("  bare ONNX Runtime  {bare_median:7.1} fps ({bare_min:.1}-{bare_max:.1})");
        println!("  dlinfer pipeline   {pipe_median:7.1} fps ({pipe_min:.1}-{pipe_max:.1})");
        println!(
            "  ratio pipeline / bare runtime: {:.3}",
            pipe_median / bare_median
        );
    }
}
