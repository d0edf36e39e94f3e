//! Zero-config models and the modern YOLO tasks: models that describe
//! themselves in `metadata_props` run with only `model=` set, and the
//! segment, pose and obb decoders put masks, keypoints and rotated boxes
//! where the generated models (scripts/gen_test_models.py) say they are,
//! under every scale mode; CenterFace's landmarks land on the face.

mod common;

use common::{media, pipeline, test_model};
use gst::prelude::*;
use gst_video::prelude::*;
use gstdl::meta::{DetectedObject, read_detections};

/// A rectangle's edges: x0, y0, x1, y1 in frame pixels.
type Rect = (usize, usize, usize, usize);

fn rgb_info(width: u32, height: u32) -> gst_video::VideoInfo {
    gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
        .fps(gst::Fraction::new(25, 1))
        .build()
        .unwrap()
}

/// A black frame with one white rectangle (x0, y0, x1, y1).
fn frame_with_square(
    info: &gst_video::VideoInfo,
    rect: (usize, usize, usize, usize),
) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(info.size()).unwrap();
    {
        let buffer = buffer.get_mut().unwrap();
        buffer.set_pts(gst::ClockTime::ZERO);
        buffer.set_duration(gst::ClockTime::from_mseconds(40));
        let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info).unwrap();
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data_mut(0).unwrap();
        data.fill(0);
        let (x0, y0, x1, y1) = rect;
        for y in y0..y1 {
            data[y * stride + 3 * x0..y * stride + 3 * x1].fill(255);
        }
    }
    buffer
}

/// Runs one frame with `rect` through `dlinfer PROPERTIES`; returns the
/// objects on it and the element's `model-info`.
fn detect(
    properties: &str,
    (width, height): (u32, u32),
    rect: (usize, usize, usize, usize),
) -> (Vec<DetectedObject>, serde_json::Value) {
    common::init();
    let mut harness = gst_check::Harness::new_parse(&format!("dlinfer {properties}"));
    let info = rgb_info(width, height);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    assert_eq!(
        harness.push(frame_with_square(&info, rect)),
        Ok(gst::FlowSuccess::Ok)
    );
    assert!(harness.push_event(gst::event::Eos::new()));
    let buffer = harness.pull().expect("the frame leaves");
    let dlinfer = harness.find_element("dlinfer").expect("dlinfer");
    let model_info: String = dlinfer
        .property::<Option<String>>("model-info")
        .expect("set at start");
    (
        read_detections(&buffer, width, height),
        serde_json::from_str(&model_info).unwrap(),
    )
}

fn model(name: &str) -> String {
    test_model(name).display().to_string()
}

fn assert_near(got: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (got - expected).abs() <= tolerance,
        "{what}: {got} is not within {tolerance} of {expected}"
    );
}

fn assert_box(object: &DetectedObject, (x0, y0, x1, y1): (usize, usize, usize, usize)) {
    assert_near(object.x_min, x0 as f64, 1.0, "x-min");
    assert_near(object.y_min, y0 as f64, 1.0, "y-min");
    assert_near(object.x_max, x1 as f64, 1.0, "x-max");
    assert_near(object.y_max, y1 as f64, 1.0, "y-max");
}

/// 640x480 frames into the models' 320x320 input (their imgsz), each scale
/// mode with a square whose edges fall on the prototype grid's 4-pixel
/// cells in the model input, so masks are exact there too.
const SCALE_MODES: [(&str, Rect); 3] = [
    ("letterbox", (80, 120, 160, 240)),
    ("stretch", (80, 120, 160, 240)),
    ("center-crop", (140, 150, 200, 240)),
];

#[test]
fn an_ultralytics_export_runs_with_only_model_set() {
    let square = (80, 120, 160, 240);
    let (objects, info) = detect(
        &format!("model={}", model("yolov8_meta.onnx")),
        (640, 480),
        square,
    );
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(
        (objects[0].label.as_str(), objects[0].label_id),
        ("square", 1)
    );
    assert_box(&objects[0], square);
    assert_eq!(info["decoder"]["name"], "yolov8");
    assert_eq!(info["decoder"]["source"], "model metadata");
    assert_eq!(info["labels"]["count"], 3);
    assert_eq!(info["labels"]["source"], "model metadata");
    assert_eq!(info["input-size"]["width"], 320);
    assert_eq!(info["input-size"]["height"], 320);
    assert_eq!(info["input-size"]["source"], "model metadata");
    assert_eq!(info["scale-mode"]["name"], "letterbox");
    assert_eq!(info["scale-mode"]["source"], "model metadata");
    assert_eq!(info["metadata"]["task"], "detect");
    assert_eq!(info["outputs"][0]["name"], "output0");

    // The third anchor (class 2, 0.3) carries the name with its quote and escapes.
    let (objects, _) = detect(
        &format!(
            "model={} confidence-threshold=0.25",
            model("yolov8_meta.onnx")
        ),
        (640, 480),
        square,
    );
    let labels: Vec<&str> = objects.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels, ["square", "it's round"]);
}

#[test]
fn what_the_user_sets_overrides_each_inferred_setting() {
    let square = (80, 120, 160, 240);
    let (objects, info) = detect(
        &format!(
            "model={} decoder=yolov8 labels-file={} scale-mode=stretch input-width=256 input-height=192 confidence-threshold=0.25",
            model("yolov8_meta.onnx"),
            model("labels3.txt")
        ),
        (640, 480),
        square,
    );
    let labels: Vec<&str> = objects.iter().map(|o| o.label.as_str()).collect();
    assert_eq!(labels, ["square", "circle"], "labels3.txt's names win");
    assert_box(&objects[0], square);
    for setting in ["decoder", "labels", "input-size", "scale-mode"] {
        assert_eq!(info[setting]["source"], "property", "{setting}: {info}");
    }
    assert_eq!(info["scale-mode"]["name"], "stretch");
    assert_eq!(
        (
            info["input-size"]["width"].as_u64(),
            info["input-size"]["height"].as_u64()
        ),
        (Some(256), Some(192))
    );
    // Setting scale-mode to its default value still counts as set.
    let (_, info) = detect(
        &format!("model={} scale-mode=stretch", model("yolov8_meta.onnx")),
        (640, 480),
        square,
    );
    assert_eq!(info["scale-mode"]["name"], "stretch");
}

#[test]
fn segment_masks_cover_the_square_under_every_scale_mode() {
    for file in ["yolov8seg_meta.onnx", "yolov8seg.onnx"] {
        for (mode, square) in SCALE_MODES {
            let (objects, info) = detect(
                &format!(
                    "model={} scale-mode={mode} input-width=320 input-height=320",
                    model(file)
                ),
                (640, 480),
                square,
            );
            assert_eq!(info["decoder"]["name"], "yolov8seg", "{file}");
            assert_eq!(objects.len(), 1, "{file} {mode}: {objects:?}");
            let object = &objects[0];
            assert_box(object, square);
            let mask = object.details.mask.as_ref().expect("a mask");
            let (x, y, w, h) = object.pixel_rect();
            assert_eq!((mask.x, mask.y, mask.width, mask.height), (x, y, w, h));
            // Every pixel of the box is inside the mask exactly when it is
            // on the square, but for pixels within 1 px of its edges, and
            // at its corners, which the prototype grid (one cell per 4 model
            // pixels) rounds as it does in Ultralytics' own masks.
            let (x0, y0, x1, y1) = square;
            let mut wrong_far_from_edges = 0;
            for py in y..y + h {
                for px in x..x + w {
                    let on_square =
                        (x0..x1).contains(&(px as usize)) && (y0..y1).contains(&(py as usize));
                    let within = |value: u32, edges: [usize; 2], px: i64| {
                        edges.iter().any(|&e| (value as i64 - e as i64).abs() <= px)
                    };
                    let near_edge = within(px, [x0, x1], 1)
                        || within(py, [y0, y1], 1)
                        || (within(px, [x0, x1], 4) && within(py, [y0, y1], 4));
                    if mask.contains(px, py) != on_square && !near_edge {
                        wrong_far_from_edges += 1;
                    }
                }
            }
            assert_eq!(wrong_far_from_edges, 0, "{file} {mode}");
            let square_area = ((x1 - x0) * (y1 - y0)) as f64;
            assert!(
                (mask.area() as f64 - square_area).abs() < square_area * 0.1,
                "{file} {mode}: area {} vs {square_area}",
                mask.area()
            );
        }
    }
}

#[test]
fn pose_keypoints_land_at_their_places_under_every_scale_mode() {
    for (mode, square) in SCALE_MODES {
        let (objects, info) = detect(
            &format!("model={} scale-mode={mode}", model("yolov8pose_meta.onnx")),
            (640, 480),
            square,
        );
        assert_eq!(info["keypoints"]["count"], 17);
        assert_eq!(info["keypoints"]["source"], "model metadata");
        assert_eq!(objects.len(), 1, "{mode}: {objects:?}");
        let object = &objects[0];
        assert_eq!(object.label, "person");
        assert_box(object, square);
        let points = &object.details.keypoints;
        assert_eq!(points.len(), 17);
        let (x0, y0, x1, y1) = (
            square.0 as f64,
            square.1 as f64,
            square.2 as f64,
            square.3 as f64,
        );
        for (k, point) in points.iter().enumerate() {
            // scripts/gen_test_models.py: POSE_U, POSE_V, POSE_VIS.
            let (u, v) = ((k % 5) as f64 / 4.0, (k / 5) as f64 / 4.0);
            assert_near(
                point.x,
                x0 + u * (x1 - x0),
                1.0,
                &format!("{mode} keypoint {k} x"),
            );
            assert_near(
                point.y,
                y0 + v * (y1 - y0),
                1.0,
                &format!("{mode} keypoint {k} y"),
            );
            assert_near(
                point.confidence.unwrap(),
                0.5 + k as f64 / 64.0,
                1e-6,
                "visibility",
            );
        }
        assert_eq!(points[0].name.as_deref(), Some("nose"));
        assert_eq!(points[16].name.as_deref(), Some("right_ankle"));
    }
}

#[test]
fn oriented_boxes_land_at_their_places_under_every_scale_mode() {
    // Stretch keeps a rotated box a rectangle only at one scale: a square frame.
    let cases = [
        ("letterbox", (640, 480), (80, 120, 160, 240)),
        ("center-crop", (640, 480), (140, 150, 200, 240)),
        ("stretch", (640, 640), (80, 120, 160, 240)),
    ];
    for (mode, size, square) in cases {
        let (objects, info) = detect(
            &format!("model={} scale-mode={mode}", model("yolov8obb_meta.onnx")),
            size,
            square,
        );
        assert_eq!(info["decoder"]["name"], "yolov8obb");
        // Anchor 1 (shifted 2 px) is suppressed by rotated NMS.
        assert_eq!(objects.len(), 1, "{mode}: {objects:?}");
        let rotated = objects[0].details.rotated.expect("a rotated box");
        let (x0, y0, x1, y1) = (
            square.0 as f64,
            square.1 as f64,
            square.2 as f64,
            square.3 as f64,
        );
        assert_near(rotated.cx, (x0 + x1) / 2.0, 1.0, "cx");
        assert_near(rotated.cy, (y0 + y1) / 2.0, 1.0, "cy");
        assert_near(rotated.width, x1 - x0, 1.0, "width");
        assert_near(rotated.height, y1 - y0, 1.0, "height");
        assert_near(rotated.angle, 0.5, 1e-4, "angle");
        // The ROI is the upright box around the rotated one.
        let corners = rotated.corners();
        let min_x = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let max_y = corners
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        assert_near(objects[0].x_min, min_x, 1.0, "upright x-min");
        assert_near(objects[0].y_max, max_y, 1.0, "upright y-max");
    }
}

#[test]
fn centerface_landmarks_sit_on_the_astronauts_face() {
    let p = pipeline(&format!(
        "filesrc location={} ! pngdec ! videoconvert ! dlinfer model={} decoder=centerface input-std=1 \
         iou-threshold=0.3 ! appsink name=sink",
        media("astronaut.png").display(),
        common::data("models/centerface.onnx").display(),
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let sample = sink.pull_sample().expect("one frame");
    let faces = read_detections(sample.buffer().unwrap(), 512, 512);
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(faces.len(), 1, "{faces:?}");
    let face = &faces[0];
    let points = &face.details.keypoints;
    assert_eq!(points.len(), 5, "{face:?}");
    for point in points {
        assert!(
            (face.x_min..face.x_max).contains(&point.x)
                && (face.y_min..face.y_max).contains(&point.y),
            "{point:?} outside {face:?}"
        );
    }
    let [left_eye, right_eye, nose, left_mouth, right_mouth] = &points[..] else {
        unreachable!()
    };
    assert_eq!(left_eye.name.as_deref(), Some("left_eye"));
    assert!(left_eye.x < right_eye.x, "{points:?}");
    assert!(left_mouth.x < right_mouth.x, "{points:?}");
    let eyes = left_eye.y.max(right_eye.y);
    let mouth = left_mouth.y.min(right_mouth.y);
    assert!(eyes < nose.y && nose.y < mouth, "{points:?}");
}

#[test]
fn results_reach_json_lines_with_keypoints_masks_and_angles() {
    let dir = tempfile::tempdir().unwrap();
    for (file, key) in [
        ("yolov8seg_meta.onnx", "mask"),
        ("yolov8pose_meta.onnx", "keypoints"),
        ("yolov8obb_meta.onnx", "angle"),
    ] {
        let out = dir.path().join(format!("{key}.jsonl"));
        let p = pipeline(&format!(
            "videotestsrc num-buffers=1 pattern=white ! video/x-raw,width=80,height=120 ! \
             videobox top=-120 left=-80 bottom=-240 right=-480 fill=black ! videoconvert ! \
             dlinfer model={} ! dlpublish location={} ! fakesink",
            model(file),
            out.display()
        ));
        let outcome = common::run_to_end(&p, std::time::Duration::from_secs(30), |_, _| {});
        assert!(outcome.error.is_none(), "{file}: {:?}", outcome.error);
        let text = std::fs::read_to_string(&out).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let object = &line["classes"][0];
        assert!(!object[key].is_null(), "{file}: {line}");
        match key {
            "mask" => {
                let size = &object["mask"]["size"];
                let counts: Vec<u64> = object["mask"]["counts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap())
                    .collect();
                let total = size[0].as_u64().unwrap() * size[1].as_u64().unwrap();
                assert_eq!(counts.iter().sum::<u64>(), total, "{line}");
                let inside: u64 = counts.iter().skip(1).step_by(2).sum();
                assert!(inside * 10 >= total * 8, "mostly inside: {line}");
            }
            "keypoints" => {
                let points = object["keypoints"].as_array().unwrap();
                assert_eq!(points.len(), 17);
                assert_eq!(points[0]["name"], "nose");
                assert!(points[0]["prob"].as_f64().unwrap() > 0.4);
            }
            _ => {
                assert!(
                    (object["angle"].as_f64().unwrap() - 0.5).abs() < 1e-4,
                    "{line}"
                );
                assert!(object["rbox"]["width"].as_f64().unwrap() > 10.0, "{line}");
            }
        }
    }
}

#[test]
fn bad_metadata_gets_a_clear_error_at_start() {
    let start = |file: &str| {
        common::expect_error(&format!(
            "videotestsrc num-buffers=1 ! dlinfer model={} ! fakesink",
            model(file)
        ))
    };
    let names = start("bad_names_meta.onnx");
    assert!(
        names.contains("'names'") && names.contains("{0: 'background', 1: square, 2: 'circle'}"),
        "{names}"
    );
    let task = start("bad_task_meta.onnx");
    assert!(
        task.contains("task='depth'") && task.contains("detect, segment, pose, obb, classify"),
        "{task}"
    );
    let kpt = start("bad_kpt_meta.onnx");
    assert!(
        kpt.contains("kpt_shape=[16, 3]") && kpt.contains("56 values per anchor"),
        "{kpt}"
    );
    // A labels file whose count does not match is refused as before, and so
    // are names whose count does not match when given as a file.
    let labels = common::expect_error(&format!(
        "videotestsrc num-buffers=1 ! dlinfer model={} labels-file={} ! fakesink",
        model("yolov8_meta.onnx"),
        model("labels5.txt")
    ));
    assert!(
        labels.contains("has 5 labels but the model outputs 3 classes"),
        "{labels}"
    );
}

/// The RGB pixel at (x, y) of a 640x480 RGB frame after `elements`.
fn pixel_after(elements: &str, rect: Rect, (x, y): (usize, usize)) -> [u8; 3] {
    common::init();
    let mut harness = gst_check::Harness::new_parse(elements);
    let info = rgb_info(640, 480);
    harness.set_src_caps(info.to_caps().unwrap());
    harness.play();
    assert_eq!(
        harness.push(frame_with_square(&info, rect)),
        Ok(gst::FlowSuccess::Ok)
    );
    assert!(harness.push_event(gst::event::Eos::new()));
    let buffer = harness.pull().expect("the frame leaves");
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info).unwrap();
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0).unwrap();
    let at = y * stride + 3 * x;
    [data[at], data[at + 1], data[at + 2]]
}

#[test]
fn dloverlay_draws_masks_keypoints_and_rotated_boxes() {
    let square = (80, 120, 160, 240);
    // The mask: the white square tinted 40 % with class 1's colour (ff7f0e).
    let tinted = pixel_after(
        &format!(
            "dlinfer model={} ! dloverlay draw-labels=false",
            model("yolov8seg_meta.onnx")
        ),
        square,
        (100, 200),
    );
    assert_eq!(tinted, [255, 204, 159]);
    // Keypoint 12 sits at the square's centre, drawn in class 0's colour (1f77b4).
    let keypoint = pixel_after(
        &format!(
            "dlinfer model={} ! dloverlay draw-labels=false",
            model("yolov8pose_meta.onnx")
        ),
        square,
        (120, 180),
    );
    assert_eq!(keypoint, [0x1f, 0x77, 0xb4]);
    // The rotated box's outline replaces the upright one: the upright box's
    // top-left corner stays black, the rotated box's first corner is drawn.
    let elements = format!(
        "dlinfer model={} ! dloverlay draw-labels=false",
        model("yolov8obb_meta.onnx")
    );
    let (s, c) = 0.5f64.sin_cos();
    let (half_w, half_h) = (40.0 * c + 60.0 * s, 40.0 * s + 60.0 * c);
    let upright_corner = (
        (120.0 - half_w).round() as usize,
        (180.0 - half_h).round() as usize,
    );
    assert_eq!(pixel_after(&elements, square, upright_corner), [0, 0, 0]);
    let corner = (120.0 + 40.0 * c - 60.0 * s, 180.0 + 40.0 * s + 60.0 * c);
    let drawn = pixel_after(
        &elements,
        square,
        (corner.0.round() as usize, corner.1.round() as usize),
    );
    assert_eq!(drawn, [0xff, 0x7f, 0x0e]);
}
