//! dlpublish: JSON Lines that a strict parser accepts, embeddings as .npy
//! with an index, row counts for every-Nth-frame extraction, and errors.

mod common;

use std::time::Duration;

use common::{media, pipeline, run_to_end};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    frame: u64,
    pts_ms: Option<f64>,
    width: u32,
    height: u32,
    classes: Vec<Class>,
    embedding: Option<Vec<f32>>,
    embedding_row: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Class {
    cat: String,
    prob: f64,
    bbox: Option<BBox>,
    keypoints: Option<Vec<Keypoint>>,
    mask: Option<Mask>,
    angle: Option<f64>,
    rbox: Option<RotatedBox>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keypoint {
    x: f64,
    y: f64,
    prob: Option<f64>,
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mask {
    x: u32,
    y: u32,
    size: [u32; 2],
    counts: Vec<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotatedBox {
    cx: f64,
    cy: f64,
    width: f64,
    height: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BBox {
    xmin: f64,
    ymin: f64,
    xmax: f64,
    ymax: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexLine {
    row: u64,
    frame: u64,
    pts_ms: Option<f64>,
}

fn parse_lines<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("strict parse failed for {l}: {e}"))
        })
        .collect()
}

fn run_ok(description: &str) {
    let p = pipeline(description);
    let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
}

#[test]
fn detections_become_deepdetect_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("faces.jsonl");
    run_ok(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! \
         dlinfer model={} decoder=centerface input-std=1 iou-threshold=0.3 labels-file={} ! \
         dlpublish location={} all-frames=true ! fakesink",
        media("carphone_pristine.mp4").display(),
        common::data("models/centerface.onnx").display(),
        common::root()
            .join("models/labels/centerface.txt")
            .display(),
        results.display()
    ));
    let lines: Vec<Line> = parse_lines(&results);
    assert_eq!(lines.len(), 120, "all-frames writes every frame");
    assert_eq!(
        lines.iter().map(|l| l.frame).collect::<Vec<_>>(),
        (0..120).collect::<Vec<_>>()
    );
    let pts: Vec<f64> = lines.iter().map(|l| l.pts_ms.unwrap()).collect();
    assert!(pts.windows(2).all(|w| w[1] > w[0]), "pts increase");
    let with_face = lines
        .iter()
        .filter(|l| l.classes.iter().any(|c| c.cat == "face"))
        .count();
    assert!(with_face >= 108, "{with_face} of 120 frames have a face");
    for line in &lines {
        assert_eq!((line.width, line.height), (176, 144));
        assert!(line.embedding.is_none() && line.embedding_row.is_none());
        for class in &line.classes {
            let b = class.bbox.as_ref().expect("detections have a bbox");
            assert!(
                0.0 <= b.xmin
                    && b.xmin < b.xmax
                    && b.xmax <= 176.0
                    && 0.0 <= b.ymin
                    && b.ymin < b.ymax
                    && b.ymax <= 144.0
            );
            assert!(class.prob > 0.5 && class.prob <= 1.0);
            // CenterFace's five landmarks, named, without a score of their own.
            let points = class.keypoints.as_ref().expect("face landmarks");
            assert_eq!(points.len(), 5);
            assert_eq!(points[0].name.as_deref(), Some("left_eye"));
            assert!(
                points
                    .iter()
                    .all(|p| p.prob.is_none() && p.x.is_finite() && p.y.is_finite())
            );
            assert!(class.mask.is_none() && class.angle.is_none() && class.rbox.is_none());
        }
    }
}

#[test]
fn masks_and_oriented_boxes_are_strict_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["yolov8seg_meta.onnx", "yolov8obb_meta.onnx"] {
        let results = dir.path().join(format!("{model}.jsonl"));
        run_ok(&format!(
            "videotestsrc num-buffers=1 pattern=white ! video/x-raw,width=80,height=120 ! \
             videobox top=-120 left=-80 bottom=-240 right=-480 fill=black ! videoconvert ! \
             dlinfer model={} ! dlpublish location={} ! fakesink",
            common::test_model(model).display(),
            results.display()
        ));
        let lines: Vec<Line> = parse_lines(&results);
        let class = &lines[0].classes[0];
        assert!(class.keypoints.is_none());
        if let Some(mask) = &class.mask {
            assert_eq!((mask.x, mask.y, mask.size), (80, 120, [120, 80]));
            assert_eq!(mask.counts.iter().sum::<u32>(), 120 * 80);
        } else {
            let rotated = class.rbox.as_ref().expect("a rotated box");
            assert!((class.angle.unwrap() - 0.5).abs() < 1e-4);
            assert!((rotated.cx - 120.0).abs() <= 1.0 && (rotated.cy - 180.0).abs() <= 1.0);
            assert!((rotated.width - 80.0).abs() <= 1.0 && (rotated.height - 120.0).abs() <= 1.0);
        }
    }
}

/// Reads a .npy float32 matrix: (rows, dim, data).
fn read_npy(path: &std::path::Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    let shape = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let dims: Vec<usize> = shape
        .split(',')
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().unwrap())
        .collect();
    let data: Vec<f32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert!(header.contains("'descr': '<f4'"));
    assert_eq!(data.len(), dims[0] * dims[1]);
    (dims[0], dims[1], data)
}

#[test]
fn every_30th_frame_in_batches_of_8_writes_ceil_rows_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("embeddings.npy");
    let results = dir.path().join("classes.jsonl");
    // bigbuckbunny.mp4 has 132 frames: frames 0, 30, 60, 90, 120 -> ceil(132 / 30) = 5 rows.
    run_ok(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! \
         dlinfer model={} decoder=features output-name=features inference-interval=30 batch-size=8 \
             scale-mode=center-crop input-mean=127 input-std=128 ! \
         dlpublish location={} embeddings-location={} ! fakesink",
        media("bigbuckbunny.mp4").display(),
        common::data("models/efficientnet_lite0.onnx").display(),
        results.display(),
        npy.display()
    ));
    let (rows, dim, data) = read_npy(&npy);
    assert_eq!((rows, dim), (5, 1280));
    for row in data.chunks(dim) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "rows are L2-normalised: {norm}");
    }
    let index: Vec<IndexLine> = parse_lines(&dir.path().join("embeddings.index.jsonl"));
    assert_eq!(
        index.iter().map(|i| (i.row, i.frame)).collect::<Vec<_>>(),
        vec![(0, 0), (1, 30), (2, 60), (3, 90), (4, 120)]
    );
    let pts: Vec<f64> = index.iter().map(|i| i.pts_ms.unwrap()).collect();
    assert_eq!(
        pts,
        vec![0.0, 1200.0, 2400.0, 3600.0, 4800.0],
        "25 fps: frame n at 40n ms"
    );
    let lines: Vec<Line> = parse_lines(&results);
    assert_eq!(
        lines
            .iter()
            .map(|l| (l.frame, l.embedding_row))
            .collect::<Vec<_>>(),
        vec![
            (0, Some(0)),
            (30, Some(1)),
            (60, Some(2)),
            (90, Some(3)),
            (120, Some(4))
        ]
    );
}

#[test]
fn classes_without_boxes_and_inline_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("coffee.jsonl");
    run_ok(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! \
         dlinfer model={model} decoder=classification output-name=logits top-k=5 labels-file={} \
             scale-mode=center-crop input-mean=127 input-std=128 ! \
         dlinfer model={model} decoder=features output-name=features scale-mode=center-crop input-mean=127 input-std=128 ! \
         dlpublish location={} ! fakesink",
        media("coffee.png").display(),
        common::data("models/imagenet_labels.txt").display(),
        results.display(),
        model = common::data("models/efficientnet_lite0.onnx").display(),
    ));
    let lines: Vec<Line> = parse_lines(&results);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].classes.len(), 5);
    assert_eq!(lines[0].classes[0].cat, "espresso");
    assert!(lines[0].classes.iter().all(|c| c.bbox.is_none()));
    assert!(lines[0].classes.windows(2).all(|w| w[0].prob >= w[1].prob));
    assert_eq!(lines[0].embedding.as_ref().map(Vec::len), Some(1280));
}

#[test]
fn an_unwritable_location_fails_at_start() {
    for property in ["location", "embeddings-location"] {
        let p = pipeline(&format!(
            "videotestsrc num-buffers=1 ! dlpublish {property}=/nonexistent-dir/out.jsonl ! fakesink"
        ));
        let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
        let (message, _) = outcome.error.expect("fails at start");
        assert!(
            message.contains("/nonexistent-dir/out.jsonl") && message.contains("writable"),
            "{message}"
        );
    }
}

/// A 64 KiB tmpfs mounted on a temporary directory, unmounted when dropped
/// (so also when the test fails). Mounting needs root (CI runs as root).
struct SmallTmpfs {
    dir: tempfile::TempDir,
}

impl SmallTmpfs {
    /// Mounts it, or says why not and returns None.
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Self { dir }),
            Ok(output) => {
                eprintln!(
                    "cannot mount a tmpfs ({}); only /dev/full is tested",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(err) => {
                eprintln!("cannot run mount ({err}); only /dev/full is tested");
                None
            }
        }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let unmounted = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Busy (a file still open): detach it now, it goes when closed.
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// Features of generated 64x64 frames (8 floats each), far more than 64 KiB
/// of them, into `dlpublish PROPERTIES all-frames=true`; the run must fail.
/// Returns the error message and the frame it names ("frame N's").
fn publish_until_full(properties: &str) -> (String, u64) {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=5000 ! video/x-raw,width=64,height=64 ! videoconvert ! \
         dlinfer model={} decoder=features output-name=features ! \
         dlpublish {properties} all-frames=true ! fakesink",
        common::test_model("features.onnx").display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
    let (message, _) = outcome
        .error
        .expect("a full disk stops the pipeline with an error");
    let frame = message
        .split("frame ")
        .nth(1)
        .and_then(|rest| rest.split("'s ").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame number in: {message}"));
    (message, frame)
}

#[test]
fn a_full_disk_stops_the_pipeline_and_leaves_whole_lines() {
    let Some(disk) = SmallTmpfs::mount() else {
        return;
    };
    let results = disk.path().join("results.jsonl");
    let (message, failed) = publish_until_full(&format!("location={}", results.display()));
    assert!(
        message.contains(&format!(
            "Cannot write frame {failed}'s results to {}: No space left on device",
            results.display()
        )) && message.contains("free space on that disk, or set location to a place with room"),
        "{message}"
    );
    // Every frame before the failing one has its line, and the last is whole:
    // the part of a line the disk took before it was full is cut off again.
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.ends_with('\n'), "ends with a whole line");
    assert!(text.len() > 60_000, "the disk was filled: {}", text.len());
    let lines: Vec<Line> = parse_lines(&results);
    assert_eq!(
        lines.iter().map(|l| l.frame).collect::<Vec<_>>(),
        (0..failed).collect::<Vec<_>>()
    );
    assert!(
        lines
            .iter()
            .all(|l| l.embedding.as_ref().map(Vec::len) == Some(8))
    );
}

#[test]
fn a_full_disk_leaves_the_embeddings_and_their_index_consistent() {
    let Some(disk) = SmallTmpfs::mount() else {
        return;
    };
    let results = disk.path().join("results.jsonl");
    let npy = disk.path().join("embeddings.npy");
    let index_path = disk.path().join("embeddings.index.jsonl");
    let (message, failed) = publish_until_full(&format!(
        "location={} embeddings-location={}",
        results.display(),
        npy.display()
    ));
    assert!(
        message.contains("No space left on device")
            && message.contains(&disk.path().display().to_string())
            && message.contains("free space on that disk"),
        "{message}"
    );
    // A frame goes to the .npy, its index, then its line: each file holds
    // whole rows or lines, and every row a line or index row names is there.
    let (rows, dim, _) = read_npy(&npy);
    assert_eq!(dim, 8);
    let index: Vec<IndexLine> = parse_lines(&index_path);
    let lines: Vec<Line> = parse_lines(&results);
    assert_eq!(
        lines.iter().map(|l| l.frame).collect::<Vec<_>>(),
        (0..failed).collect::<Vec<_>>()
    );
    assert!(
        lines
            .iter()
            .all(|l| l.embedding_row == Some(l.frame) && l.embedding.is_none())
    );
    assert!(
        index
            .iter()
            .enumerate()
            .all(|(i, r)| r.row == i as u64 && r.frame == i as u64)
    );
    let (rows, indexed) = (rows as u64, index.len() as u64);
    assert!(
        failed <= indexed && indexed <= rows && rows <= failed + 1,
        "frame {failed} failed; {rows} rows, {indexed} index rows: {message}"
    );
}

#[test]
fn a_full_disk_cuts_off_a_partly_written_embedding_row() {
    // EfficientNet-Lite0's rows are 5120 bytes, which do not end on the
    // tmpfs's 4 KiB pages: the disk takes part of the row that fills it.
    let Some(disk) = SmallTmpfs::mount() else {
        return;
    };
    let npy = disk.path().join("embeddings.npy");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=100 ! video/x-raw,width=64,height=64 ! videoconvert ! \
         dlinfer model={} decoder=features output-name=features ! \
         dlpublish location=\"\" embeddings-location={} ! fakesink",
        common::data("models/efficientnet_lite0.onnx").display(),
        npy.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
    let (message, _) = outcome.error.expect("a full disk stops the pipeline");
    assert!(
        message.contains(&format!(
            "'s embedding to {}: No space left on device",
            npy.display()
        )) && message.contains("set embeddings-location to a place with room"),
        "{message}"
    );
    let (rows, dim, _) = read_npy(&npy);
    assert_eq!(dim, 1280);
    assert!(rows >= 10, "{rows} rows before the disk was full");
    let len = std::fs::metadata(&npy).unwrap().len();
    assert_eq!(
        len,
        128 + rows as u64 * 1280 * 4,
        "the file holds exactly its rows"
    );
    let index: Vec<IndexLine> = parse_lines(&disk.path().join("embeddings.index.jsonl"));
    assert_eq!(index.len(), rows);
}

#[test]
fn results_to_a_full_device_stop_at_the_first_frame() {
    // /dev/full fails every write with ENOSPC, as a full disk does, and needs no root.
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let (message, failed) = publish_until_full("location=/dev/full");
    assert_eq!(failed, 0);
    assert!(
        message.contains(
            "Cannot write frame 0's results to /dev/full: No space left on device (os error 28); \
             free space on that disk, or set location to a place with room"
        ),
        "{message}"
    );
}
