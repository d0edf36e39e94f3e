//! dltrack through real pipelines: generated scenes of coloured squares over
//! a real clip (bikes.mp4), detected by `squares_rgb.onnx` in dlinfer, with
//! exact ground truth, scored by motmetrics (MOTA, IDF1, ID switches) per
//! algorithm; line and zone counting with exact answers; CenterFace on
//! carphone with inference-interval; and bad input.

mod common;

use std::fmt::Write as _;
use std::sync::OnceLock;

use common::{media, test_model};
use gst::glib;
use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gst_video::prelude::*;
use gstdl::meta::tracking::{read_events, read_tracking, tracking_meta};

const W: usize = 320;
const H: usize = 240;

/// The colour keys of `squares_rgb.onnx` (SQUARE_KEYS in gen_test_models.py):
/// which channels are on.
const KEYS: [[u8; 3]; 7] = [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
    [1, 1, 0],
    [1, 0, 1],
    [0, 1, 1],
    [1, 1, 1],
];

/// How an object shows on a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Look {
    /// Painted at full strength: detected with confidence 0.9.
    Normal,
    /// Painted faded: detected with confidence 0.3 (ByteTrack's low stage).
    Faded,
    /// Not painted: a missed detection (still in the ground truth).
    Missed,
}

/// One object on one frame, in paint order (later ones cover earlier ones).
#[derive(Clone, Copy, Debug)]
struct Placed {
    /// Ground-truth id.
    id: u64,
    /// Colour key (index into KEYS).
    key: usize,
    /// True box x0, y0 (40x40 unless `size` says otherwise).
    x: f64,
    y: f64,
    size: f64,
    /// Where it is painted, relative to its true place (detection jitter).
    jitter: (i64, i64),
    look: Look,
}

impl Placed {
    fn new(id: u64, key: usize, x: f64, y: f64) -> Self {
        Self {
            id,
            key,
            x,
            y,
            size: 40.0,
            jitter: (0, 0),
            look: Look::Normal,
        }
    }

    /// The painted box, in whole pixels (x0, y0, x1, y1), not clipped.
    fn painted(&self) -> (i64, i64, i64, i64) {
        let x0 = self.x.round() as i64 + self.jitter.0;
        let y0 = self.y.round() as i64 + self.jitter.1;
        let s = self.size as i64;
        (x0, y0, x0 + s, y0 + s)
    }

    /// The true box, in whole pixels.
    fn truth(&self) -> (i64, i64, i64, i64) {
        let (x0, y0) = (self.x.round() as i64, self.y.round() as i64);
        let s = self.size as i64;
        (x0, y0, x0 + s, y0 + s)
    }
}

type Scene = Vec<Vec<Placed>>;

/// Deterministic noise for jitter, misses and fading.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 120 frames of bikes.mp4 at 320x240 RGB, dimmed to 70% so that no real
/// pixel reads as a square to the model.
fn backgrounds() -> &'static [Vec<u8>] {
    static FRAMES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let p = common::pipeline(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! videoscale ! \
             video/x-raw,format=RGB,width={W},height={H} ! appsink name=sink sync=false",
            media("bikes.mp4").display()
        ));
        let frames: Vec<Vec<u8>> = common::pull_frames(&p, "sink")
            .into_iter()
            .take(120)
            .map(|(info, sample)| {
                let buffer = sample.buffer().unwrap();
                let frame =
                    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info).unwrap();
                let stride = frame.plane_stride()[0] as usize;
                let data = frame.plane_data(0).unwrap();
                let mut out = Vec::with_capacity(W * H * 3);
                for y in 0..H {
                    out.extend(
                        data[y * stride..y * stride + W * 3]
                            .iter()
                            .map(|v| (u16::from(*v) * 7 / 10) as u8),
                    );
                }
                out
            })
            .collect();
        assert!(frames.len() >= 30, "bikes.mp4 gave {} frames", frames.len());
        frames
    })
}

/// The frame: a background with the objects painted in order.
fn paint(index: usize, objects: &[Placed]) -> Vec<u8> {
    let bg = backgrounds();
    let mut data = bg[index % bg.len()].clone();
    for o in objects {
        let value = match o.look {
            Look::Normal => 255u16,
            Look::Faded => 230,
            Look::Missed => continue,
        };
        let (x0, y0, x1, y1) = o.painted();
        for y in y0.max(0)..y1.min(H as i64) {
            for x in x0.max(0)..x1.min(W as i64) {
                let at = (y as usize * W + x as usize) * 3;
                for c in 0..3 {
                    data[at + c] = (u16::from(KEYS[o.key][c]) * value) as u8;
                }
            }
        }
    }
    data
}

/// Counted objects (id, x, y, w, h) and "don't care" boxes of one frame.
type FrameTruth = (Vec<(u64, [f64; 4])>, Vec<[f64; 4]>);

/// The ground truth of a frame, MOTChallenge-style: each object whose true
/// box is at least half visible (inside the frame and not under objects
/// painted after it), with its true box clipped to the frame, as (id, x, y,
/// w, h); and the true boxes of objects less than half visible, which are
/// "don't care": a hypothesis on one is neither right nor wrong.
fn ground_truth(objects: &[Placed]) -> FrameTruth {
    let (mut truth, mut ignored) = (Vec::new(), Vec::new());
    for (i, o) in objects.iter().enumerate() {
        let (x0, y0, x1, y1) = o.truth();
        let full = ((x1 - x0) * (y1 - y0)) as f64;
        let mut visible = 0;
        for y in y0.max(0)..y1.min(H as i64) {
            for x in x0.max(0)..x1.min(W as i64) {
                let covered = objects[i + 1..].iter().any(|p| {
                    let (a0, b0, a1, b1) = p.painted();
                    p.look != Look::Missed && x >= a0 && x < a1 && y >= b0 && y < b1
                });
                visible += i64::from(!covered);
            }
        }
        let (cx0, cy0) = (x0.max(0), y0.max(0));
        let (cx1, cy1) = (x1.min(W as i64), y1.min(H as i64));
        let rect = [
            cx0 as f64,
            cy0 as f64,
            (cx1 - cx0) as f64,
            (cy1 - cy0) as f64,
        ];
        if visible as f64 >= 0.5 * full {
            truth.push((o.id, rect));
        } else if visible > 0 {
            ignored.push(rect);
        }
    }
    (truth, ignored)
}

/// Intersection over union of two x, y, w, h boxes.
fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if w <= 0.0 || h <= 0.0 {
        return 0.0;
    }
    w * h / (a[2] * a[3] + b[2] * b[3] - w * h)
}

/// The share of `a`'s area inside `b`.
fn inside(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    if w <= 0.0 || h <= 0.0 || a[2] * a[3] <= 0.0 {
        return 0.0;
    }
    w * h / (a[2] * a[3])
}

/// One tracked box on an output frame.
#[derive(Clone, Debug)]
struct Tracked {
    id: u64,
    rect: [f64; 4],
    predicted: bool,
}

/// What came out of a frame.
struct OutFrame {
    tracked: Vec<Tracked>,
    /// ROIs without tracking params.
    untracked: usize,
    events: Vec<gstdl::meta::tracking::TrackEvent>,
    counts: Option<gst::Structure>,
    buffer: gst::Buffer,
}

fn labels3() -> String {
    test_model("labels3.txt").display().to_string()
}

/// The detector every scene runs through: 0.2 keeps the faded objects
/// (0.3) for ByteTrack's second stage; NMS at 0.7 lets crossing objects
/// overlap before one is suppressed.
fn square_detector(extra: &str) -> String {
    format!(
        "dlinfer model={} labels-file={} confidence-threshold=0.2 iou-threshold=0.7 {extra}",
        test_model("squares_rgb.onnx").display(),
        labels3()
    )
}

fn read_out(buffer: gst::Buffer) -> OutFrame {
    let mut tracked = Vec::new();
    let mut untracked = 0;
    for meta in buffer.iter_meta::<VideoRegionOfInterestMeta>() {
        let (x, y, w, h) = meta.rect();
        match read_tracking(&meta) {
            Some(t) => tracked.push(Tracked {
                id: t.id,
                rect: [f64::from(x), f64::from(y), f64::from(w), f64::from(h)],
                predicted: t.predicted,
            }),
            None => untracked += 1,
        }
    }
    let counts = tracking_meta(&buffer);
    let events = counts.as_ref().map(|s| read_events(s)).unwrap_or_default();
    OutFrame {
        tracked,
        untracked,
        events,
        counts,
        buffer,
    }
}

/// Pushes the painted scene through `description` and returns every frame.
fn run_scene(description: &str, scene: &Scene) -> Vec<OutFrame> {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, W as u32, H as u32)
        .fps(gst::Fraction::new(30, 1))
        .build()
        .unwrap();
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    for (index, objects) in scene.iter().enumerate() {
        let mut buffer = gst::Buffer::from_mut_slice(paint(index, objects));
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(index as u64 * 33));
            b.set_duration(gst::ClockTime::from_mseconds(33));
        }
        assert_eq!(harness.push(buffer), Ok(gst::FlowSuccess::Ok));
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let mut out = Vec::new();
    while let Some(buffer) = harness.try_pull() {
        out.push(read_out(buffer));
    }
    assert_eq!(
        out.len(),
        scene.len(),
        "every frame came out: {description}"
    );
    out
}

/// MOT metrics from motmetrics (scripts/mot_score.py).
#[derive(Debug, Clone, Copy)]
struct Mot {
    mota: f64,
    idf1: f64,
    switches: u64,
    false_positives: u64,
    misses: u64,
}

fn score(scene: &Scene, out: &[OutFrame]) -> Mot {
    let dir = tempfile::tempdir().unwrap();
    let (mut gt, mut hyp) = (String::new(), String::new());
    for (frame, objects) in scene.iter().enumerate() {
        let (truth, ignored) = ground_truth(objects);
        for (id, [x, y, w, h]) in &truth {
            writeln!(gt, "{frame},{id},{x},{y},{w},{h}").unwrap();
        }
        for t in &out[frame].tracked {
            // A box on a mostly hidden object (and on no counted one) is
            // left out, as MOTChallenge does with its "don't care" boxes.
            let on_truth = truth.iter().any(|(_, g)| iou(*g, t.rect) >= 0.5);
            if !on_truth && ignored.iter().any(|g| inside(t.rect, *g) >= 0.5) {
                continue;
            }
            let [x, y, w, h] = t.rect;
            writeln!(hyp, "{frame},{},{x},{y},{w},{h}", t.id).unwrap();
        }
    }
    let (gt_path, hyp_path) = (dir.path().join("gt.csv"), dir.path().join("hyp.csv"));
    std::fs::write(&gt_path, gt).unwrap();
    std::fs::write(&hyp_path, hyp).unwrap();
    let output = std::process::Command::new(common::root().join(".venv/bin/python"))
        .arg(common::root().join("scripts/mot_score.py"))
        .arg(&gt_path)
        .arg(&hyp_path)
        .output()
        .expect("the venv's python runs");
    assert!(
        output.status.success(),
        "mot_score.py: {}",
        common::printed(&output)
    );
    let v: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    Mot {
        mota: v["mota"].as_f64().unwrap(),
        idf1: v["idf1"].as_f64().unwrap(),
        switches: v["num_switches"].as_u64().unwrap(),
        false_positives: v["num_false_positives"].as_u64().unwrap(),
        misses: v["num_misses"].as_u64().unwrap(),
    }
}

/// Two objects cross on one row (one hides the other for a few frames)
/// while a third crosses their path vertically.
fn crossing_scene() -> Scene {
    (0..90)
        .map(|f| {
            let t = f as f64;
            vec![
                Placed::new(1, 0, 10.0 + 3.0 * t, 100.0),
                Placed::new(3, 2, 150.0, 5.0 + 2.2 * t),
                Placed::new(2, 1, 270.0 - 3.0 * t, 100.0),
            ]
        })
        .collect()
}

/// An object leaves on the right and comes back 15 frames later; another
/// stays, and one passes below.
fn leave_and_reenter_scene() -> Scene {
    (0..100)
        .map(|f| {
            let t = f as f64;
            let x = if f < 45 {
                150.0 + 4.0 * t
            } else if f < 60 {
                400.0
            } else {
                320.0 - 4.0 * (t - 60.0)
            };
            let mut objects = vec![Placed::new(2, 3, 40.0, 40.0)];
            if x < 330.0 {
                objects.push(Placed::new(1, 0, x, 60.0));
            }
            objects.push(Placed::new(3, 5, 300.0 - 2.5 * t, 180.0));
            objects
        })
        .collect()
}

/// Four objects, two of which cross, with jittered boxes (up to 3 px), 8%
/// of detections missed and 15% at low confidence.
fn noisy_scene() -> Scene {
    let mut rng = Lcg(2024);
    (0..120)
        .map(|f| {
            let t = f as f64;
            let mut objects = vec![
                Placed::new(1, 0, 10.0 + 2.0 * t, 20.0),
                Placed::new(2, 1, 270.0 - 2.0 * t, 180.0),
                Placed::new(3, 4, 10.0 + 2.2 * t, 60.0 + 0.8 * t),
                Placed::new(4, 6, 140.0, 200.0 - 1.5 * t),
            ];
            for o in &mut objects {
                o.jitter = (rng.below(7) as i64 - 3, rng.below(7) as i64 - 3);
                o.look = match rng.below(100) {
                    0..8 => Look::Missed,
                    8..23 => Look::Faded,
                    _ => Look::Normal,
                };
            }
            objects
        })
        .collect()
}

const ALGORITHMS: [&str; 3] = ["bytetrack", "sort", "iou"];

/// The table of MOT metrics per scene and algorithm (printed; run with
/// `--nocapture` to read it), and what the default must reach.
#[test]
fn mot_metrics_per_algorithm_on_scenes_with_exact_ground_truth() {
    let scenes = [
        ("crossing", crossing_scene()),
        ("leave-reenter", leave_and_reenter_scene()),
        ("noisy", noisy_scene()),
    ];
    let mut table = String::from(
        "| scene | algorithm | MOTA | IDF1 | ID switches | FP | misses |\n|---|---|---|---|---|---|---|\n",
    );
    let mut results = Vec::new();
    for (name, scene) in &scenes {
        for algorithm in ALGORITHMS {
            let out = run_scene(
                &format!("{} ! dltrack algorithm={algorithm}", square_detector("")),
                scene,
            );
            let m = score(scene, &out);
            writeln!(
                table,
                "| {name} | {algorithm} | {:.3} | {:.3} | {} | {} | {} |",
                m.mota, m.idf1, m.switches, m.false_positives, m.misses
            )
            .unwrap();
            results.push((*name, algorithm, m));
        }
    }
    println!("{table}");
    let get = |scene: &str, algorithm: &str| {
        results
            .iter()
            .find(|(s, a, _)| *s == scene && *a == algorithm)
            .unwrap()
            .2
    };
    let crossing = get("crossing", "bytetrack");
    assert!(crossing.idf1 >= 0.9, "crossing: {crossing:?}\n{table}");
    assert!(crossing.switches <= 1, "crossing: {crossing:?}\n{table}");
    let back = get("leave-reenter", "bytetrack");
    assert!(
        back.idf1 >= 0.9 && back.switches == 0,
        "leave-reenter: {back:?}\n{table}"
    );
    let noisy = get("noisy", "bytetrack");
    assert!(noisy.idf1 >= 0.9, "noisy: {noisy:?}\n{table}");
    assert!(noisy.switches <= 1, "noisy: {noisy:?}\n{table}");
    // The low-confidence stage is what keeps ids through faded detections.
    assert!(
        noisy.idf1 >= get("noisy", "sort").idf1,
        "bytetrack at least as good as sort on noisy detections\n{table}"
    );
}

/// 4 objects cross a line (3 down, 1 up), a fifth hovers on it before going
/// down; a zone covers the left half.
fn counting_scene() -> Scene {
    (0..80)
        .map(|f| {
            let t = f as f64;
            // The hovering object: down to the line, +-3 px around it for 30
            // frames, then on down. Its centre starts at y 40.
            let hover_y = if f < 20 {
                20.0 + 4.0 * t
            } else if f < 50 {
                100.0 + if f % 2 == 0 { 3.0 } else { -3.0 }
            } else {
                100.0 + 4.0 * (t - 50.0)
            };
            vec![
                Placed::new(1, 0, 10.0, 10.0 + 2.5 * t),
                Placed::new(2, 1, 110.0 + 0.8 * t, 20.0 + 2.0 * t),
                Placed::new(3, 2, 270.0 - 0.5 * t, 15.0 + 2.6 * t),
                Placed::new(4, 3, 200.0, 190.0 - 2.4 * t),
                Placed::new(5, 6, 60.0, hover_y.min(195.0)),
            ]
        })
        .collect()
}

#[test]
fn n_objects_crossing_a_line_give_n_crossings_and_zone_occupancy_is_exact() {
    let scene = counting_scene();
    let out = run_scene(
        &format!(
            "{} ! dltrack lines=door:0,120,320,120 zones=left:0,0,160,0,160,240,0,240",
            square_detector("")
        ),
        &scene,
    );
    let mut crossings: Vec<(u64, String)> = Vec::new();
    for (frame, o) in out.iter().enumerate() {
        for e in &o.events {
            if e.kind == "line-crossed" {
                assert_eq!(e.name, "door");
                crossings.push((e.id, e.direction.clone().unwrap()));
            }
        }
        // Occupancy: the objects whose centre is in the left half (all
        // tracked from frame 0, so confirmed at once).
        let expected = scene[frame]
            .iter()
            .filter(|p| {
                let (x0, _, x1, _) = p.painted();
                x0 + x1 < 2 * 160
            })
            .count() as u64;
        let counts = o.counts.as_ref().unwrap();
        let zones = counts.get::<gst::List>("zones").unwrap();
        let zone = zones.first().unwrap().get::<gst::Structure>().unwrap();
        assert_eq!(
            zone.get::<u64>("occupancy").unwrap(),
            expected,
            "frame {frame}"
        );
    }
    // Ids follow paint order on the first frame: one per object.
    let ids_of = |gt: usize| out[0].tracked[gt].id;
    let mut directions: Vec<&str> = crossings.iter().map(|(_, d)| d.as_str()).collect();
    directions.sort();
    assert_eq!(
        directions,
        ["in", "in", "in", "in", "out"],
        "crossings {crossings:?}"
    );
    let hovering = crossings.iter().filter(|(id, _)| *id == ids_of(4)).count();
    assert_eq!(
        hovering, 1,
        "the hovering box is counted once: {crossings:?}"
    );
    let upward = crossings.iter().find(|(_, d)| d == "out").unwrap();
    assert_eq!(upward.0, ids_of(3), "the object going up crosses out");
    let last = out.last().unwrap().counts.as_ref().unwrap();
    let line = last
        .get::<gst::List>("lines")
        .unwrap()
        .first()
        .unwrap()
        .get::<gst::Structure>()
        .unwrap();
    assert_eq!(
        (
            line.get::<u64>("in").unwrap(),
            line.get::<u64>("out").unwrap()
        ),
        (4, 1)
    );
}

#[test]
fn dloverlay_draws_the_line_and_ids_after_dltrack() {
    let scene: Scene = counting_scene().into_iter().take(5).collect();
    let out = run_scene(
        &format!(
            "{} ! dltrack lines=door:0,120,320,120 ! dloverlay",
            square_detector("")
        ),
        &scene,
    );
    let map = out[4].buffer.map_readable().unwrap();
    // The line is white right across the frame (away from its label).
    for x in [250usize, 300, 315] {
        let at = (120 * W + x) * 3;
        assert_eq!(&map[at..at + 3], &[255, 255, 255], "line pixel at x {x}");
    }
}

#[test]
fn inference_interval_frames_get_predicted_boxes_and_empty_inferred_frames_stay_empty() {
    // One object moving right for 30 frames, then gone.
    let scene: Scene = (0..45)
        .map(|f| {
            if f < 30 {
                vec![Placed::new(1, 0, 20.0 + 3.0 * f as f64, 100.0)]
            } else {
                Vec::new()
            }
        })
        .collect();
    let out = run_scene(
        &format!("{} ! dltrack", square_detector("inference-interval=3")),
        &scene,
    );
    for (frame, o) in out.iter().enumerate().take(30) {
        assert_eq!(o.tracked.len(), 1, "frame {frame} has its box");
        assert_eq!(o.tracked[0].id, 1, "frame {frame}");
        assert_eq!(o.tracked[0].predicted, frame % 3 != 0, "frame {frame}");
        let [x, y, _, _] = o.tracked[0].rect;
        let truth = 20.0 + 3.0 * frame as f64;
        // The first skipped frames come before the motion is known.
        let tolerance = if frame < 6 { 7.0 } else { 2.0 };
        assert!(
            (x - truth).abs() <= tolerance && (y - 100.0).abs() <= 1.0,
            "frame {frame}: box at {x},{y}, truth {truth}"
        );
    }
    // Frame 30 is inferred and finds nothing: no box. Frames 31, 32 are
    // not inferred: the track is lost (not confirmed), so no prediction.
    for (frame, o) in out.iter().enumerate().skip(30) {
        assert!(o.tracked.is_empty(), "frame {frame}: {:?}", o.tracked);
    }
}

#[test]
fn rois_from_other_elements_are_tracked_and_degenerate_ones_skipped() {
    common::init();
    let mut harness = gst_check::Harness::new("dltrack");
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, 64, 64)
        .build()
        .unwrap();
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    for frame in 0..3u64 {
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        {
            let b = buffer.get_mut().unwrap();
            b.set_pts(gst::ClockTime::from_mseconds(frame * 40));
            gst_video::VideoRegionOfInterestMeta::add(b, "", (10 + frame as u32, 10, 20, 20));
            gst_video::VideoRegionOfInterestMeta::add(b, "car", (40, 40, 0, 0));
            gst_video::VideoRegionOfInterestMeta::add(b, "car", (40, 40, 10, 10));
        }
        let out = read_out(harness.push_and_pull(buffer).unwrap());
        assert_eq!(out.untracked, 1, "the zero-size ROI is skipped");
        let ids: Vec<u64> = out.tracked.iter().map(|t| t.id).collect();
        assert_eq!(ids, [1, 2], "frame {frame}");
    }
}

#[test]
fn bad_lines_zones_and_thresholds_are_clear_errors() {
    let cases = [
        ("lines=\"door:0,1,2\"", "door:0,1,2"),
        ("lines=\"door:0,1,2,x\"", "\"x\" is not a number"),
        ("lines=\"0,1,2,3\"", "no name"),
        ("zones=\"lot:0,0,10,10\"", "at least 3 corners"),
        ("zones=\"lot:0,0,10,10,20\"", "x,y pairs"),
        (
            "low-threshold=0.8 high-threshold=0.6",
            "low-threshold=0.8 is above",
        ),
    ];
    for (properties, expected) in cases {
        let error = common::expect_error(&format!(
            "videotestsrc num-buffers=1 ! dltrack {properties} ! fakesink"
        ));
        assert!(error.contains(expected), "{properties}: {error}");
        assert!(error.contains("dltrack"), "{properties}: {error}");
    }
    // Out of range values are refused by the property itself.
    common::init();
    let element = gst::ElementFactory::make("dltrack").build().unwrap();
    assert!(
        element
            .find_property("high-threshold")
            .unwrap()
            .downcast::<glib::ParamSpecDouble>()
            .map(|p| p.maximum() == 1.0 && p.minimum() == 0.0)
            .unwrap()
    );
}

/// CenterFace on carphone: one id over every frame; with
/// inference-interval=3 every frame has the face, and the predicted boxes
/// lie within 6 px (each edge) of what the detector finds on those frames.
#[test]
fn centerface_on_carphone_keeps_one_id_and_predicts_between_inferences() {
    let run = |interval: u32| -> Vec<OutFrame> {
        let p = common::pipeline(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! \
             dlinfer model={} decoder=centerface input-std=1 iou-threshold=0.3 labels-file={} \
             inference-interval={interval} ! dltrack ! appsink name=sink sync=false",
            media("carphone_pristine.mp4").display(),
            common::data("models/centerface.onnx").display(),
            common::root()
                .join("models/labels/centerface.txt")
                .display()
        ));
        common::pull_frames(&p, "sink")
            .into_iter()
            .map(|(_, s)| read_out(s.buffer_owned().unwrap()))
            .collect()
    };
    let every = run(1);
    let sparse = run(3);
    assert_eq!((every.len(), sparse.len()), (120, 120));
    let ids: std::collections::BTreeSet<u64> = every
        .iter()
        .flat_map(|o| o.tracked.iter().map(|t| t.id))
        .collect();
    assert_eq!(ids.len(), 1, "one face, one id: {ids:?}");
    let mut worst: f64 = 0.0;
    for (frame, (e, s)) in every.iter().zip(&sparse).enumerate() {
        assert_eq!(s.tracked.len(), 1, "frame {frame} has the face");
        if frame % 3 != 0 {
            assert!(s.tracked[0].predicted, "frame {frame}");
        }
        if let Some(detected) = e.tracked.first() {
            let err = (0..4)
                .map(|i| {
                    let (a, b) = (detected.rect, s.tracked[0].rect);
                    let edge = |r: [f64; 4], i: usize| if i < 2 { r[i] } else { r[i - 2] + r[i] };
                    (edge(a, i) - edge(b, i)).abs()
                })
                .fold(0.0, f64::max);
            worst = worst.max(err);
        }
    }
    println!(
        "carphone: worst edge distance of interval-3 boxes from every-frame detections: {worst} px"
    );
    assert!(worst <= 6.0, "worst edge distance {worst} px");
    let sparse_ids: std::collections::BTreeSet<u64> = sparse
        .iter()
        .flat_map(|o| o.tracked.iter().map(|t| t.id))
        .collect();
    assert_eq!(sparse_ids.len(), 1, "{sparse_ids:?}");
}

#[test]
fn a_flushing_seek_starts_tracks_over_without_reusing_ids() {
    common::init();
    let mut harness = gst_check::Harness::new("dltrack");
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, 64, 64)
        .build()
        .unwrap();
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    let frame = |x: u32| {
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        gst_video::VideoRegionOfInterestMeta::add(
            buffer.get_mut().unwrap(),
            "car",
            (x, 10, 20, 20),
        );
        buffer
    };
    let ids = |buffer: gst::Buffer| -> Vec<u64> {
        read_out(buffer).tracked.iter().map(|t| t.id).collect()
    };
    assert_eq!(ids(harness.push_and_pull(frame(10)).unwrap()), [1]);
    assert_eq!(ids(harness.push_and_pull(frame(11)).unwrap()), [1]);
    common::flush(&mut harness);
    // The same place after the seek is a new track: the old one is gone.
    assert_eq!(ids(harness.push_and_pull(frame(11)).unwrap()), [2]);
}

#[test]
fn each_frame_posts_a_dltrack_message_with_events_and_counts() {
    let p = common::pipeline(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! \
         dlinfer model={} decoder=centerface input-std=1 iou-threshold=0.3 labels-file={} \
         inference-interval=3 ! dltrack zones=seat:0.1,0.05,0.8,0.05,0.8,0.95,0.1,0.95 ! fakesink",
        media("carphone_pristine.mp4").display(),
        common::data("models/centerface.onnx").display(),
        common::root()
            .join("models/labels/centerface.txt")
            .display()
    ));
    let outcome = common::run_to_end(&p, std::time::Duration::from_secs(120), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let messages = outcome.named("dltrack");
    assert_eq!(messages.len(), 120);
    for (index, m) in messages.iter().enumerate() {
        assert_eq!(m.get::<u64>("frame").unwrap(), index as u64);
        assert_eq!(
            m.get::<bool>("inferred").unwrap(),
            index % 3 == 0,
            "frame {index}"
        );
        assert_eq!(m.get::<u32>("tracks").unwrap(), 1, "frame {index}");
        let zone = m
            .get::<gst::List>("zones")
            .unwrap()
            .first()
            .unwrap()
            .get::<gst::Structure>()
            .unwrap();
        assert_eq!(zone.get::<u64>("occupancy").unwrap(), 1, "frame {index}");
    }
    let first = read_events(messages[0]);
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].kind.as_str(), first[0].name.as_str(), first[0].id),
        ("zone-entered", "seat", 1)
    );
    assert!(messages[1..].iter().all(|m| read_events(m).is_empty()));
}

#[test]
fn appearance_reidentifies_an_object_from_its_embedding_tensor() {
    common::init();
    gstdl::meta::tensor::register_tensor_meta();
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, 160, 64)
        .build()
        .unwrap();
    // Each object: ROI (x, look); its embedding rides as a features tensor naming the ROI.
    let frame = |objects: &[(u32, [f32; 2])]| {
        let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
        let b = buffer.get_mut().unwrap();
        for (roi_id, (x, look)) in objects.iter().enumerate() {
            let mut roi = gst_video::VideoRegionOfInterestMeta::add(b, "person", (*x, 20, 20, 20));
            roi.set_id(roi_id as i32);
            let mut tensor = gst::meta::CustomMeta::add(b, "GstDlTensorMeta").unwrap();
            let s = tensor.mut_structure();
            s.set_name("dl-tensor");
            s.set("name", "features");
            s.set("kind", "features");
            s.set("shape", gst::Array::new([2i32]));
            let bytes: Vec<u8> = look.iter().flat_map(|v| v.to_ne_bytes()).collect();
            s.set("data", glib::Bytes::from_owned(bytes));
            s.set("roi-id", roi_id as i32);
        }
        buffer
    };
    let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
    for (appearance, expected) in [(true, 1u64), (false, 3)] {
        let mut harness =
            gst_check::Harness::new_parse(&format!("dltrack appearance={appearance}"));
        harness.set_src_caps(info.to_caps().unwrap());
        harness.play();
        for _ in 0..3 {
            harness.push_and_pull(frame(&[(10, a), (120, b)])).unwrap();
        }
        for _ in 0..5 {
            harness.push_and_pull(frame(&[(120, b)])).unwrap();
        }
        // A comes back 50 px from where it was lost, with its own look.
        let out = read_out(harness.push_and_pull(frame(&[(60, a), (120, b)])).unwrap());
        let ids: Vec<u64> = out.tracked.iter().map(|t| t.id).collect();
        assert_eq!(ids, [expected, 2], "appearance={appearance}");
    }
}
