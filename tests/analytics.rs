//! GstAnalyticsRelationMeta (GStreamer >= 1.24, the `analytics` feature; run
//! on GStreamer 1.26 by scripts/test-gst126.sh): dlinfer writes an object
//! mtd beside each ROI, upstream's objectdetectionoverlay draws them, a Python
//! and a C program read them exactly as our ROIs say, and gst-dl's consumers
//! read relation metas that another element made; on GStreamer 1.26,
//! instance masks as segmentation mtds both ways.
#![cfg(feature = "analytics")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::test_model;
use gst::glib;
use gst_analytics::prelude::*;
use gst_analytics::{
    AnalyticsClassificationMtd, AnalyticsODMtd, AnalyticsRelationMeta, AnalyticsTrackingMtd,
    RelTypes,
};
use gst_video::VideoRegionOfInterestMeta;
use gstdl::meta::read_detections;

const W: u32 = 640;
const H: u32 = 480;
/// The white square every frame holds: x0, y0, x1, y1 (edges exclusive).
const SQUARE: (usize, usize, usize, usize) = (80, 120, 160, 240);

fn rgb_info(width: u32, height: u32) -> gst_video::VideoInfo {
    common::init();
    gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// A black RGB frame of `info` with white `squares`, tightly packed.
fn frame_bytes(info: &gst_video::VideoInfo, squares: &[(usize, usize, usize, usize)]) -> Vec<u8> {
    let stride = info.stride()[0] as usize;
    let mut data = vec![0u8; info.size()];
    for &(x0, y0, x1, y1) in squares {
        for y in y0..y1 {
            data[y * stride + 3 * x0..y * stride + 3 * x1].fill(255);
        }
    }
    data
}

fn frame(
    info: &gst_video::VideoInfo,
    squares: &[(usize, usize, usize, usize)],
    index: u64,
) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(frame_bytes(info, squares));
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::from_mseconds(index * 40));
        buffer.set_duration(gst::ClockTime::from_mseconds(40));
    }
    buffer
}

/// Pushes `frames` RGB frames of W x H, each with the square, through
/// `description`; returns the output buffers and their caps.
fn run(
    description: &str,
    info: &gst_video::VideoInfo,
    buffers: Vec<gst::Buffer>,
) -> Vec<gst::Buffer> {
    common::init();
    let mut harness = gst_check::Harness::new_parse(description);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    let count = buffers.len();
    for buffer in buffers {
        assert_eq!(
            harness.push(buffer),
            Ok(gst::FlowSuccess::Ok),
            "{description}"
        );
    }
    assert!(harness.push_event(gst::event::Eos::new()));
    let out: Vec<gst::Buffer> = std::iter::from_fn(|| harness.try_pull()).collect();
    assert_eq!(out.len(), count, "every frame left: {description}");
    out
}

fn detector(extra: &str) -> String {
    format!(
        "dlinfer model={} labels-file={} {extra}",
        test_model("yolov8_nchw.onnx").display(),
        test_model("labels3.txt").display()
    )
}

fn square_frames(count: u64) -> Vec<gst::Buffer> {
    let info = rgb_info(W, H);
    (0..count).map(|i| frame(&info, &[SQUARE], i)).collect()
}

/// (label, x, y, w, h, confidence) of every OD mtd.
fn od_mtds(buffer: &gst::BufferRef) -> Vec<(String, i32, i32, i32, i32, f32)> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    meta.iter::<AnalyticsODMtd>()
        .map(|od| {
            let l = od.location().unwrap();
            let label = od
                .obj_type()
                .map(|q| q.as_str().to_string())
                .unwrap_or_default();
            (label, l.x, l.y, l.w, l.h, l.loc_conf_lvl)
        })
        .collect()
}

#[test]
fn dlinfer_writes_an_object_mtd_with_its_class_beside_each_roi() {
    let out = run(&detector(""), &rgb_info(W, H), square_frames(1));
    let buffer = &out[0];
    let roi = buffer
        .meta::<VideoRegionOfInterestMeta>()
        .expect("the ROI is still written");
    assert_eq!(roi.rect(), (80, 120, 80, 120));
    let ods = od_mtds(buffer);
    assert_eq!(ods, vec![("square".to_string(), 80, 120, 80, 120, 0.9)]);
    let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
    let od = meta.iter::<AnalyticsODMtd>().next().unwrap();
    assert_eq!(
        roi.param("detection")
            .unwrap()
            .get::<u32>("analytics-id")
            .unwrap(),
        od.id(),
        "the ROI names its mtd"
    );
    let classes: Vec<(String, f32)> = meta
        .iter_direct_related::<AnalyticsClassificationMtd>(od.id(), RelTypes::CONTAIN)
        .map(|c| (c.quark(0).as_str().to_string(), c.level(0)))
        .collect();
    assert_eq!(classes, vec![("square".to_string(), 0.9)]);
    let cls = meta.iter::<AnalyticsClassificationMtd>().next().unwrap();
    assert_eq!(meta.relation(cls.id(), od.id()), RelTypes::IS_PART_OF);
    // One object, though two metas describe it.
    let objects = read_detections(buffer, W, H);
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(
        objects[0].label_id, 1,
        "read from the ROI, which has the class id"
    );
}

#[test]
fn meta_format_chooses_which_metas_are_written() {
    let out = run(
        &detector("meta-format=roi"),
        &rgb_info(W, H),
        square_frames(1),
    );
    assert!(out[0].meta::<AnalyticsRelationMeta>().is_none());
    assert_eq!(out[0].iter_meta::<VideoRegionOfInterestMeta>().count(), 1);

    let out = run(
        &detector("meta-format=analytics"),
        &rgb_info(W, H),
        square_frames(1),
    );
    assert_eq!(out[0].iter_meta::<VideoRegionOfInterestMeta>().count(), 0);
    assert_eq!(od_mtds(&out[0]).len(), 1);
    // Consumers read the object from the analytics meta alone.
    let objects = read_detections(&out[0], W, H);
    assert_eq!(objects.len(), 1);
    let o = &objects[0];
    assert_eq!(o.label, "square");
    assert_eq!(
        (o.x_min, o.y_min, o.x_max, o.y_max),
        (80.0, 120.0, 160.0, 240.0)
    );
    assert!((o.confidence - 0.9).abs() < 1e-6);
}

#[test]
fn a_wrong_meta_format_fails_at_start_naming_the_values() {
    common::init();
    let text = common::expect_error(&format!(
        "videotestsrc num-buffers=1 ! {} ! fakesink",
        detector("meta-format=json")
    ));
    assert!(
        text.contains("unknown meta-format 'json'") && text.contains("roi, analytics, both"),
        "{text}"
    );
}

/// Whether some pixel within `reach` of (x, y) is pure-ish red.
fn red_near(map: &[u8], stride: usize, x: usize, y: usize, reach: usize) -> bool {
    (y - reach..=y + reach).any(|yy| {
        (x - reach..=x + reach).any(|xx| {
            let p = &map[yy * stride + 3 * xx..yy * stride + 3 * xx + 3];
            p[0] >= 200 && p[1] <= 80 && p[2] <= 80
        })
    })
}

#[test]
fn upstream_objectdetectionoverlay_draws_our_detections() {
    // Outlines in opaque red (ARGB 0xffff0000): the default white would not
    // show on the white square's edges.
    let overlay = "videoconvert ! objectdetectionoverlay object-detection-outline-color=4294901760 ! \
         videoconvert ! capsfilter caps=video/x-raw,format=RGB";
    let drawn = run(
        &format!("{} ! {overlay}", detector("")),
        &rgb_info(W, H),
        square_frames(1),
    );
    let plain = run(
        &format!("{} ! {overlay}", detector("meta-format=roi")),
        &rgb_info(W, H),
        square_frames(1),
    );
    let stride = rgb_info(W, H).stride()[0] as usize;
    let drawn = drawn[0].map_readable().unwrap();
    let plain = plain[0].map_readable().unwrap();
    // The outline runs along the box's four edges (mid-points checked).
    for (x, y) in [(80, 180), (160, 180), (120, 120), (120, 240)] {
        let row: Vec<&[u8]> = (x - 4..=x + 4)
            .map(|xx| &drawn[y * stride + 3 * xx..y * stride + 3 * xx + 3])
            .collect();
        assert!(
            red_near(&drawn, stride, x, y, 3),
            "outline at ({x}, {y}): {row:?}"
        );
        assert!(
            !red_near(&plain, stride, x, y, 3),
            "without analytics metas nothing is drawn at ({x}, {y})"
        );
    }
    // Inside the box and far from it the frame is untouched.
    for (x, y, value) in [(120usize, 180usize, 255u8), (400, 400, 0), (600, 40, 0)] {
        let at = y * stride + 3 * x;
        assert_eq!(&drawn[at..at + 3], &[value; 3], "pixel ({x}, {y})");
    }
}

#[test]
fn dltrack_adds_a_tracking_mtd_with_the_rois_track_id() {
    let out = run(
        &format!("{} ! dltrack", detector("")),
        &rgb_info(W, H),
        square_frames(3),
    );
    for buffer in &out {
        let roi = buffer.meta::<VideoRegionOfInterestMeta>().unwrap();
        let track = roi
            .param("tracking")
            .expect("tracked")
            .get::<u64>("id")
            .unwrap();
        let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
        let od = meta.iter::<AnalyticsODMtd>().next().unwrap();
        let tracks: Vec<u64> = meta
            .iter_direct_related::<AnalyticsTrackingMtd>(od.id(), RelTypes::CONTAIN)
            .map(|t| t.info().0)
            .collect();
        assert_eq!(tracks, vec![track], "one tracking mtd, the ROI's id");
    }
}

/// A frame whose only metadata is a relation meta another element made: a
/// "cat" at (100, 50) 60x40, an object with an empty label and a tracking
/// mtd related to nothing (both skipped).
fn frame_from_another_element(info: &gst_video::VideoInfo, index: u64) -> gst::Buffer {
    let mut buffer = frame(info, &[], index);
    {
        let mut meta = AnalyticsRelationMeta::add(buffer.get_mut().unwrap());
        meta.add_od_mtd(glib::Quark::from_str(""), 10, 10, 20, 20, 0.7)
            .unwrap();
        meta.add_tracking_mtd(5, gst::ClockTime::ZERO).unwrap();
        let cat = meta
            .add_od_mtd(glib::Quark::from_str("cat"), 100, 50, 60, 40, 0.8)
            .unwrap()
            .id();
        let track = meta
            .add_tracking_mtd(42, gst::ClockTime::ZERO)
            .unwrap()
            .id();
        meta.set_relation(RelTypes::CONTAIN, cat, track).unwrap();
    }
    buffer
}

#[test]
fn dloverlay_and_dlpublish_read_a_relation_meta_another_element_made() {
    let info = rgb_info(320, 240);
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("objects.jsonl");
    let out = run(
        &format!("dloverlay ! dlpublish location={}", jsonl.display()),
        &info,
        (0..2)
            .map(|i| frame_from_another_element(&info, i))
            .collect(),
    );
    // dloverlay drew the cat's box edges; the frame elsewhere stays black.
    let stride = info.stride()[0] as usize;
    let map = out[0].map_readable().unwrap();
    let lit = |x: usize, y: usize| map[y * stride + 3 * x..y * stride + 3 * x + 3] != [0, 0, 0];
    assert!(lit(100, 70) && lit(159, 70), "left and right edges drawn");
    assert!(
        !lit(300, 200) && !lit(20, 200),
        "nothing drawn away from the box"
    );
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    let classes = lines[0]["classes"].as_array().unwrap();
    assert_eq!(
        classes.len(),
        1,
        "the empty-label object is skipped: {text}"
    );
    assert_eq!(classes[0]["cat"], "cat");
    assert!((classes[0]["prob"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    let b = &classes[0]["bbox"];
    assert_eq!(
        [&b["xmin"], &b["ymin"], &b["xmax"], &b["ymax"]].map(|v| v.as_f64().unwrap()),
        [100.0, 50.0, 160.0, 90.0]
    );
    assert_eq!(
        classes[0]["id"], 42,
        "the cat's track id is published: {text}"
    );
}

/// Where the plugin this test was built with lies (CARGO_TARGET_DIR may
/// point anywhere): the test binary is in `<target>/debug/deps`.
fn plugin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The front of a pipeline that decodes one raw W x H RGB frame with the
/// square from a file in `dir` and detects and tracks it.
fn square_source(dir: &Path) -> String {
    let file = dir.join("square.rgb");
    std::fs::write(&file, frame_bytes(&rgb_info(W, H), &[SQUARE])).unwrap();
    format!(
        "filesrc location={} blocksize={} ! rawvideoparse format=rgb width={W} height={H} framerate=25/1 ! {} ! dltrack",
        file.display(),
        rgb_info(W, H).size(),
        detector("")
    )
}

/// The lines a reader program printed, checked against each other: every
/// object of the relation meta printed as `analytics ...` must be printed the
/// same as `roi ...` from our ROI metas, and be the square.
fn assert_prints_the_square(program: &str, output: &std::process::Output) {
    let text = common::printed(output);
    assert!(output.status.success(), "{program} failed:\n{text}");
    let of = |source: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix(source))
            .map(str::to_string)
            .collect()
    };
    let analytics = of("analytics ");
    assert_eq!(
        analytics,
        of("roi "),
        "{program}: analytics and ROI metas agree:\n{text}"
    );
    assert_eq!(
        analytics,
        vec![
            "frame 0: square 0.90 box (80, 120, 80, 120) classes [square 0.90] track 1".to_string()
        ],
        "{program}:\n{text}"
    );
}

#[test]
fn a_python_program_reads_the_relation_meta_as_our_rois_say() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new("timeout")
        .args(["120", "/usr/bin/python3"])
        .arg(common::root().join("docs/read_analytics.py"))
        .arg(square_source(dir.path()))
        .env("GST_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap();
    assert_prints_the_square("docs/read_analytics.py", &output);
}

#[test]
fn a_c_program_reads_the_relation_meta_as_our_rois_say() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("read_analytics");
    let build = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "gcc -o {} {} $(pkg-config --cflags --libs gstreamer-analytics-1.0 gstreamer-video-1.0)",
            program.display(),
            common::root().join("docs/read_analytics.c").display()
        ))
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", common::printed(&build));
    let output = Command::new("timeout")
        .arg("120")
        .arg(&program)
        .arg(square_source(dir.path()))
        .env("GST_PLUGIN_PATH", plugin_dir())
        .output()
        .unwrap();
    assert_prints_the_square("docs/read_analytics.c", &output);
}

/// The fenced blocks of the README that follow `opening` (e.g. "```python").
fn readme_blocks(opening: &str) -> Vec<String> {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        let trimmed = line.trim_start();
        match current.as_mut() {
            None if trimmed == opening => current = Some(String::new()),
            None => {}
            Some(_) if trimmed == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// Whether every line of `snippet` appears in `program`, in order (leading
/// spaces aside): the README shows the heart of a program the tests run.
fn is_excerpt_of(snippet: &str, program: &str) -> bool {
    let mut lines = program.lines().map(str::trim);
    snippet
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .all(|wanted| lines.any(|l| l == wanted))
}

#[test]
fn the_readmes_python_and_c_snippets_are_excerpts_of_the_tested_programs() {
    for (opening, program, marker) in [
        ("```python", "docs/read_analytics.py", "GstAnalytics"),
        ("```c", "docs/read_analytics.c", "gst_analytics"),
    ] {
        let text = std::fs::read_to_string(common::root().join(program)).unwrap();
        let snippets: Vec<String> = readme_blocks(opening)
            .into_iter()
            .filter(|b| b.contains(marker))
            .collect();
        assert_eq!(
            snippets.len(),
            1,
            "one {opening} analytics snippet in the README"
        );
        assert!(
            is_excerpt_of(&snippets[0], &text),
            "the README's snippet is not in {program}:\n{}",
            snippets[0]
        );
    }
}

#[test]
fn the_readmes_analytics_gst_launch_lines_run() {
    let blocks: Vec<String> = readme_blocks("```sh")
        .into_iter()
        .filter(|b| b.starts_with("# GStreamer >= 1.24"))
        .collect();
    assert!(
        !blocks.is_empty(),
        "the README shows objectdetectionoverlay"
    );
    for block in blocks {
        let scratch = tempfile::tempdir().unwrap();
        let output = Command::new("timeout")
            .args(["240", "bash", "-euo", "pipefail", "-c", &block])
            .current_dir(scratch.path())
            .env("GST_PLUGIN_PATH", plugin_dir())
            .env("MEDIA", common::data("media"))
            .env("MODELS", common::data("models"))
            .output()
            .unwrap();
        let text = common::printed(&output);
        assert!(
            output.status.success() && !text.contains("ERROR"),
            "README block failed:\n{block}\n{text}"
        );
    }
}

#[test]
fn dltrack_tracks_objects_only_an_analytics_meta_describes() {
    let out = run(
        &format!("{} ! dltrack", detector("meta-format=analytics")),
        &rgb_info(W, H),
        square_frames(3),
    );
    let mut ids = Vec::new();
    for buffer in &out {
        assert_eq!(buffer.iter_meta::<VideoRegionOfInterestMeta>().count(), 0);
        let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
        let od = meta.iter::<AnalyticsODMtd>().next().unwrap();
        let tracks: Vec<u64> = meta
            .iter_direct_related::<AnalyticsTrackingMtd>(od.id(), RelTypes::CONTAIN)
            .map(|t| t.info().0)
            .collect();
        assert_eq!(tracks.len(), 1, "one tracking mtd per object");
        assert_eq!(
            gstdl::meta::tracking::read_object_tracks(buffer),
            vec![Some((tracks[0], false))]
        );
        ids.push(tracks[0]);
    }
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "one track across the frames: {ids:?}"
    );
}

#[cfg(feature = "analytics-v1-26")]
#[test]
fn oriented_boxes_become_oriented_object_mtds() {
    // The obb test model finds the square rotated by 0.5 rad; stretch on a
    // square frame keeps it a rectangle.
    let info = rgb_info(640, 640);
    let out = run(
        &format!(
            "dlinfer model={} scale-mode=stretch",
            test_model("yolov8obb_meta.onnx").display()
        ),
        &info,
        vec![frame(&info, &[SQUARE], 0)],
    );
    let meta = out[0].meta::<AnalyticsRelationMeta>().unwrap();
    let ods: Vec<_> = meta.iter::<AnalyticsODMtd>().collect();
    assert_eq!(ods.len(), 1);
    let l = ods[0].oriented_location().unwrap();
    assert_eq!((l.x, l.y, l.w, l.h), (80, 120, 80, 120), "{l:?}");
    assert!((l.r - 0.5).abs() < 1e-3, "{l:?}");
    // The upright location is the box around the rotated one, as the ROI's.
    let roi = out[0].meta::<VideoRegionOfInterestMeta>().unwrap();
    let upright = ods[0].location().unwrap();
    let (rx, ry, rw, rh) = roi.rect();
    for (a, b) in [
        (upright.x, rx),
        (upright.y, ry),
        (upright.w, rw),
        (upright.h, rh),
    ] {
        assert!(
            (a - b as i32).abs() <= 1,
            "upright {upright:?} vs ROI {:?}",
            roi.rect()
        );
    }
}

#[test]
fn inference_region_objects_runs_on_objects_only_a_relation_meta_describes() {
    // A green box that another element described with an OD mtd alone (no
    // ROI meta); classify.onnx's logits are 10 x the crop's channel means,
    // so a green crop is "square" (labels3.txt: background, square, circle).
    let info = rgb_info(320, 240);
    let stride = info.stride()[0] as usize;
    let mut pixels = vec![0u8; info.size()];
    for y in 50..90 {
        for x in 100..160 {
            pixels[y * stride + 3 * x + 1] = 255;
        }
    }
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::ZERO);
        let mut meta = AnalyticsRelationMeta::add(buffer);
        meta.add_od_mtd(glib::Quark::from_str("cat"), 100, 50, 60, 40, 0.8)
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("objects.jsonl");
    let out = run(
        &format!(
            "dlinfer inference-region=objects model={} decoder=classification labels-file={} \
             softmax=false ! dlpublish location={}",
            test_model("classify.onnx").display(),
            test_model("labels3.txt").display(),
            jsonl.display()
        ),
        &info,
        vec![buffer],
    );
    // The object gained a ROI naming its mtd: still one object, one OD mtd.
    assert_eq!(read_detections(&out[0], 320, 240).len(), 1);
    assert_eq!(od_mtds(&out[0]).len(), 1);
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let classes = line["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{text}");
    assert_eq!(classes[0]["cat"], "cat");
    assert_eq!(
        classes[0]["classification"][0]["cat"], "square",
        "the crop of the green box was classified: {text}"
    );
    // The second stage's classes also relate to the object's OD mtd.
    let meta = out[0].meta::<AnalyticsRelationMeta>().unwrap();
    let od = meta.iter::<AnalyticsODMtd>().next().unwrap();
    let related: Vec<String> = meta
        .iter_direct_related::<AnalyticsClassificationMtd>(od.id(), RelTypes::CONTAIN)
        .map(|c| c.quark(0).as_str().to_string())
        .collect();
    assert_eq!(related, vec!["square".to_string()]);
}

/// The bright L the seg test model segments: the square and a bar from its
/// top right (edges on multiples of 4, where the model's mask is exact).
#[cfg(feature = "analytics-v1-26")]
const L_SHAPE: [(usize, usize, usize, usize); 2] = [SQUARE, (160, 120, 240, 160)];

#[cfg(feature = "analytics-v1-26")]
#[test]
fn dlinfer_writes_each_objects_mask_as_an_instance_segmentation_mtd() {
    use gstdl::meta::segmentation::{AnalyticsSegmentationMtd, MaskLocation, segmentation_mask};
    let info = rgb_info(W, H);
    let out = run(
        &format!(
            "dlinfer model={}",
            test_model("yolov8seg_meta.onnx").display()
        ),
        &info,
        vec![frame(&info, &L_SHAPE, 0)],
    );
    let buffer = &out[0];
    // The ROI's `mask` param: the L over its box.
    let objects = read_detections(buffer, W, H);
    assert_eq!(objects.len(), 1);
    let mask = objects[0].details.mask.as_ref().expect("a mask param");
    assert_eq!(
        (mask.x, mask.y, mask.width, mask.height),
        (80, 120, 160, 120)
    );
    assert!(mask.contains(100, 200) && mask.contains(200, 140));
    assert!(!mask.contains(200, 200), "the L's notch is outside");

    let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
    let ods: Vec<u32> = meta.iter::<AnalyticsODMtd>().map(|od| od.id()).collect();
    let segs: Vec<u32> = meta
        .iter::<AnalyticsSegmentationMtd>()
        .map(|seg| seg.id())
        .collect();
    assert_eq!(
        (ods.len(), segs.len()),
        (1, 1),
        "one segmentation mtd per object"
    );
    let (od, seg) = (ods[0], segs[0]);
    assert_eq!(meta.relation(od, seg), RelTypes::CONTAIN);
    assert_eq!(meta.relation(seg, od), RelTypes::IS_PART_OF);
    let stored = segmentation_mask(&meta, seg).unwrap();
    assert_eq!(
        stored.region_ids,
        vec![0, 1],
        "background and the first object"
    );
    assert_eq!(
        stored.location,
        MaskLocation {
            x: 80,
            y: 120,
            width: 160,
            height: 120
        }
    );
    // The GRAY8 image, row by row at its stride: the region id exactly
    // where the ROI's mask is set, 0 elsewhere.
    let video = stored.image.meta::<gst_video::VideoMeta>().unwrap();
    assert_eq!(video.format(), gst_video::VideoFormat::Gray8);
    assert_eq!((video.width(), video.height()), (160, 120));
    let (offset, stride) = (video.offset()[0], video.stride()[0] as usize);
    let pixels = stored.image.map_readable().unwrap();
    let image: Vec<u8> = (0..120)
        .flat_map(|row| pixels[offset + row * stride..][..160].to_vec())
        .collect();
    let expected: Vec<u8> = mask.data.iter().map(|&v| u8::from(v != 0)).collect();
    assert_eq!(image, expected);
    // And read back through gst-dl's reader, the same mask as the ROI's.
    let back = gstdl::meta::analytics::read_objects(buffer, &[]);
    assert_eq!(back[0].object.details.mask.as_ref(), Some(mask));
}

/// A frame whose relation meta another element made: a "cat" at (100, 50)
/// 60x40 whose mask (a 30x20 GRAY8 image, half the location's size, rows
/// padded to 40 bytes after an 8-byte offset) holds region 7 in its left
/// half, related both ways with RELATE_TO as upstream's YOLO segmentation
/// decoder relates them.
#[cfg(feature = "analytics-v1-26")]
fn frame_with_a_mask_from_another_element(info: &gst_video::VideoInfo, index: u64) -> gst::Buffer {
    use gstdl::meta::segmentation::{MaskLocation, add_segmentation_mtd};
    let (offset, stride) = (8, 40);
    // Padding bytes are 7 too: a reader ignoring the stride would see them.
    let mut pixels = vec![7u8; offset + stride * 20];
    for row in 0..20 {
        pixels[offset + row * stride + 15..offset + row * stride + 30].fill(0);
    }
    let mut image = gst::Buffer::from_mut_slice(pixels);
    gst_video::VideoMeta::add_full(
        image.get_mut().unwrap(),
        gst_video::VideoFrameFlags::empty(),
        gst_video::VideoFormat::Gray8,
        30,
        20,
        &[offset],
        &[stride as i32],
    )
    .unwrap();
    let mut buffer = frame(info, &[], index);
    {
        let mut meta = AnalyticsRelationMeta::add(buffer.get_mut().unwrap());
        let cat = meta
            .add_od_mtd(glib::Quark::from_str("cat"), 100, 50, 60, 40, 0.8)
            .unwrap()
            .id();
        let location = MaskLocation {
            x: 100,
            y: 50,
            width: 60,
            height: 40,
        };
        let seg = add_segmentation_mtd(
            &mut meta,
            image,
            gst_analytics::ffi::GST_SEGMENTATION_TYPE_INSTANCE,
            &[0, 7],
            location,
        )
        .unwrap();
        meta.set_relation(RelTypes::RELATE_TO, cat, seg).unwrap();
        meta.set_relation(RelTypes::RELATE_TO, seg, cat).unwrap();
    }
    buffer
}

#[cfg(feature = "analytics-v1-26")]
#[test]
fn dloverlay_and_dlpublish_read_a_segmentation_mtd_another_element_made() {
    let info = rgb_info(320, 240);
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("masks.jsonl");
    let out = run(
        &format!(
            "dloverlay draw-labels=false ! dlpublish location={}",
            jsonl.display()
        ),
        &info,
        vec![frame_with_a_mask_from_another_element(&info, 0)],
    );
    // dloverlay tinted the mask (the box's left half) and left the right
    // half of the box's inside black.
    let stride = info.stride()[0] as usize;
    let map = out[0].map_readable().unwrap();
    let pixel = |x: usize, y: usize| &map[y * stride + 3 * x..y * stride + 3 * x + 3];
    for (x, y) in [(110, 60), (120, 70), (128, 84)] {
        assert_ne!(
            pixel(x, y),
            [0, 0, 0],
            "({x}, {y}) inside the mask is tinted"
        );
    }
    for (x, y) in [(132, 60), (145, 70), (150, 84)] {
        assert_eq!(
            pixel(x, y),
            [0, 0, 0],
            "({x}, {y}) outside the mask stays black"
        );
    }
    // dlpublish wrote the mask as RLE over the box: down each column, the
    // 30 left columns inside (40 pixels each), the 30 right ones outside.
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let classes = line["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "{text}");
    assert_eq!(
        classes[0]["mask"],
        serde_json::json!({"x": 100, "y": 50, "size": [40, 60], "counts": [0, 1200, 1200]}),
        "{text}"
    );
}
