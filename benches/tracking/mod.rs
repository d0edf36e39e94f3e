//! `cargo bench --bench benchmarks -- --tracking`: the tracker's own rows,
//! printed as Markdown (the full run's table is not rewritten):
//!
//! - tracker time per frame at 10, 100 and 1000 objects (library only:
//!   objects on a grid moving 2 px a frame with 1 px of jitter, 300 frames);
//! - CenterFace on carphone_pristine.mp4 at inference-interval=1 against
//!   inference-interval=3 + dltrack: fps (frames from the first buffer to
//!   EOS, model loading left out) and how far the interval-3 boxes lie
//!   from the interval-1 detections on the same frames.

use std::time::Instant;

use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gstdl::track::{Algorithm, BoxRect, Detection, Tracker, TrackerConfig};

/// Milliseconds per frame of `algorithm` following `objects` objects.
fn tracker_ms_per_frame(objects: usize, algorithm: Algorithm) -> f64 {
    let columns = (objects as f64).sqrt().ceil() as usize;
    let mut seed = 1u64;
    let mut jitter = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) % 3) as f64 - 1.0
    };
    let frames = 300;
    let scenes: Vec<Vec<Detection>> = (0..frames)
        .map(|f| {
            (0..objects)
                .map(|i| {
                    let (col, row) = ((i % columns) as f64, (i / columns) as f64);
                    let x = col * 60.0 + 2.0 * f as f64 + jitter();
                    let y = row * 60.0 + jitter();
                    Detection::new(BoxRect::new(x, y, x + 40.0, y + 40.0), 0.9, "object", 0)
                })
                .collect()
        })
        .collect();
    let mut tracker = Tracker::new(TrackerConfig {
        algorithm,
        ..TrackerConfig::default()
    });
    let start = Instant::now();
    for detections in &scenes {
        std::hint::black_box(tracker.update(detections));
    }
    start.elapsed().as_secs_f64() * 1000.0 / frames as f64
}

/// Every frame's boxes (x0, y0, x1, y1) and the fps of one run of `launch`
/// (an appsink named `sink`), timed from the first buffer to EOS.
fn run_pipeline(launch: &str) -> (Vec<Vec<[f64; 4]>>, f64) {
    let pipeline = gst::parse::launch(launch)
        .expect("valid pipeline")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let sink = pipeline
        .by_name("sink")
        .expect("an appsink named sink")
        .downcast::<gst_app::AppSink>()
        .expect("an appsink");
    pipeline.set_state(gst::State::Playing).expect("plays");
    let mut boxes = Vec::new();
    let mut first = None;
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(60)) {
        first.get_or_insert_with(Instant::now);
        let buffer = sample.buffer().expect("a buffer");
        boxes.push(
            buffer
                .iter_meta::<VideoRegionOfInterestMeta>()
                .map(|m| {
                    let (x, y, w, h) = m.rect();
                    let (x, y) = (f64::from(x), f64::from(y));
                    [x, y, x + f64::from(w), y + f64::from(h)]
                })
                .collect(),
        );
    }
    let seconds = first.map_or(f64::NAN, |t| t.elapsed().as_secs_f64());
    pipeline.set_state(gst::State::Null).expect("stops");
    // The first frame's own time is not in the span: frames - 1 intervals.
    let fps = (boxes.len().saturating_sub(1)) as f64 / seconds;
    (boxes, fps)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The Markdown report of the tracking rows.
pub fn report(runs: usize, media: &str, models: &str, centerface: &str) -> String {
    let mut out =
        String::from("| tracker | 10 objects | 100 objects | 1000 objects |\n|---|---|---|---|\n");
    for algorithm in [Algorithm::ByteTrack, Algorithm::Sort, Algorithm::Iou] {
        let cells: Vec<String> = [10, 100, 1000]
            .iter()
            .map(|&n| {
                let ms = median(
                    (0..runs)
                        .map(|_| tracker_ms_per_frame(n, algorithm))
                        .collect(),
                );
                format!("{ms:.3} ms/frame")
            })
            .collect();
        out.push_str(&format!(
            "| {} | {} |\n",
            algorithm.name(),
            cells.join(" | ")
        ));
    }
    let launch = |extra: &str| {
        format!(
            "filesrc location={media}/carphone_pristine.mp4 ! decodebin ! videoconvert ! \
             dlinfer model={models}/centerface.onnx {centerface} labels-file={} {extra} ! \
             appsink name=sink sync=false",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("models/labels/centerface.txt")
                .display()
        )
    };
    let every = launch("");
    let sparse = launch("inference-interval=3 ! dltrack");
    let mut reference = Vec::new();
    let (mut fps_every, mut fps_sparse) = (Vec::new(), Vec::new());
    let mut sparse_boxes = Vec::new();
    for _ in 0..runs {
        let (boxes, fps) = run_pipeline(&every);
        reference = boxes;
        fps_every.push(fps);
        let (boxes, fps) = run_pipeline(&sparse);
        sparse_boxes = boxes;
        fps_sparse.push(fps);
    }
    // Box error on frames that interval 3 did not infer, against what the
    // detector finds there at interval 1: the largest edge distance.
    let mut errors = Vec::new();
    let mut with_box = 0;
    for (frame, (r, s)) in reference.iter().zip(&sparse_boxes).enumerate() {
        with_box += usize::from(!s.is_empty());
        if frame % 3 == 0 {
            continue;
        }
        if let (Some(r), Some(s)) = (r.first(), s.first()) {
            errors.push((0..4).map(|i| (r[i] - s[i]).abs()).fold(0.0, f64::max));
        }
    }
    let mean = errors.iter().sum::<f64>() / errors.len().max(1) as f64;
    let worst = errors.iter().copied().fold(0.0, f64::max);
    out.push_str(&format!(
        "\n| CenterFace carphone_pristine.mp4 (176x144, {} frames) | frames/s median | frames with a face box | box error on frames not inferred (largest edge distance to the interval-1 detection) |\n|---|---|---|---|\n\
         | dlinfer inference-interval=1 | {:.1} | {} | (reference) |\n\
         | dlinfer inference-interval=3 ! dltrack | {:.1} | {} | mean {mean:.2} px, worst {worst:.1} px over {} frames |\n",
        reference.len(),
        median(fps_every),
        reference.iter().filter(|b| !b.is_empty()).count(),
        median(fps_sparse),
        with_box,
        errors.len()
    ));
    out
}
