//! dlinfer's classification and feature extraction: exact answers on
//! generated models, EfficientNet-Lite0 on real photos, a Python reference,
//! and embeddings on real video.

mod common;

use std::process::Command;

use common::{media, pipeline, test_model};
use gst::prelude::*;
use gstdl::meta::{FrameClass, FrameTensor, read_classification, read_tensors};

/// Decodes `source` (a launch-line fragment ending in raw video), runs
/// `element` on it, and returns every output buffer.
fn run_collect(source: &str, element: &str) -> Vec<gst::Buffer> {
    let p = pipeline(&format!(
        "{source} ! {element} ! appsink name=sink sync=false"
    ));
    let sink = p
        .by_name("sink")
        .unwrap()
        .downcast::<gst_app::AppSink>()
        .unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut buffers = Vec::new();
    while let Ok(sample) = sink.pull_sample() {
        buffers.push(sample.buffer_owned().unwrap());
    }
    let bus = p.bus().unwrap();
    if let Some(error) = bus.pop_filtered(&[gst::MessageType::Error]) {
        panic!("pipeline failed: {error:?}");
    }
    p.set_state(gst::State::Null).unwrap();
    buffers
}

fn solid(color: &str) -> String {
    format!(
        "videotestsrc num-buffers=1 pattern=solid-color foreground-color={color} ! video/x-raw,format=RGB,width=224,height=224"
    )
}

#[test]
fn classification_reports_top_k_with_softmax_when_needed() {
    let labels = test_model("labels3.txt");
    // 0xffff0000 is pure red: the model outputs 10 x channel means = [10, 0, 0].
    let buffers = run_collect(
        &solid("0xffff0000"),
        &format!(
            "dlinfer model={} decoder=classification top-k=3 labels-file={}",
            test_model("classify.onnx").display(),
            labels.display()
        ),
    );
    let classes = read_classification(&buffers[0]);
    let names: Vec<&str> = classes.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(names, ["background", "square", "circle"]);
    let e10 = 10f64.exp();
    assert!(
        (classes[0].confidence - e10 / (e10 + 2.0)).abs() < 1e-5,
        "{classes:?}"
    );
    assert!(
        (classes[1].confidence - 1.0 / (e10 + 2.0)).abs() < 1e-5,
        "{classes:?}"
    );

    // Already-softmaxed output: auto leaves it alone; blue wins.
    let buffers = run_collect(
        &solid("0xff0000ff"),
        &format!(
            "dlinfer model={} decoder=classification",
            test_model("classify_softmax.onnx").display()
        ),
    );
    let classes = read_classification(&buffers[0]);
    assert_eq!(classes.len(), 1);
    assert_eq!((classes[0].label_id, classes[0].label.as_str()), (2, "2"));
    assert!(
        (classes[0].confidence - e10 / (e10 + 2.0)).abs() < 1e-5,
        "{classes:?}"
    );
}

fn features_of(properties: &str) -> Vec<FrameTensor> {
    // Colour (128, 64, 191) / 255 per channel.
    let buffers = run_collect(
        "videotestsrc num-buffers=1 pattern=solid-color foreground-color=0xff8040bf ! video/x-raw,format=RGB,width=64,height=64",
        &format!(
            "dlinfer model={} decoder=features {properties}",
            test_model("features.onnx").display()
        ),
    );
    read_tensors(&buffers[0])
}

#[test]
fn features_pick_the_features_output_and_normalise() {
    let (r, g, b) = (128.0f64 / 255.0, 64.0 / 255.0, 191.0 / 255.0);
    let raw = [r, g, b, r * r, g * g, b * b, 0.5, 0.25];
    let tensors = features_of("normalize=false");
    assert_eq!(tensors.len(), 1);
    assert_eq!(
        (tensors[0].name.as_str(), tensors[0].shape.as_slice()),
        ("features", &[8usize][..])
    );
    for (got, want) in tensors[0].data.iter().zip(raw) {
        assert!(
            (f64::from(*got) - want).abs() < 1e-5,
            "{:?}",
            tensors[0].data
        );
    }
    let norm = raw.iter().map(|v| v * v).sum::<f64>().sqrt();
    let normalised = features_of("");
    for (got, want) in normalised[0].data.iter().zip(raw) {
        assert!(
            (f64::from(*got) - want / norm).abs() < 1e-5,
            "{:?}",
            normalised[0].data
        );
    }
    let extra = features_of("output-name=extra normalize=false");
    assert_eq!(extra[0].name, "extra");
    assert_eq!(extra[0].data.len(), 2);
}

#[test]
fn decoder_none_attaches_every_output_raw() {
    let buffers = run_collect(
        "videotestsrc num-buffers=1 pattern=white ! video/x-raw,format=RGB,width=64,height=64",
        &format!(
            "dlinfer model={} decoder=none",
            test_model("features.onnx").display()
        ),
    );
    let tensors = read_tensors(&buffers[0]);
    let names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["extra", "features"]);
    assert_eq!(
        tensors[1].data,
        vec![1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.25]
    );
}

fn efficientnet(extra: &str) -> String {
    format!(
        "dlinfer model={} decoder=classification output-name=logits labels-file={} \
         scale-mode=center-crop input-mean=127 input-std=128 {extra}",
        common::data("models/efficientnet_lite0.onnx").display(),
        common::data("models/imagenet_labels.txt").display()
    )
}

fn classify_photo(photo: &str) -> Vec<FrameClass> {
    let buffers = run_collect(
        &format!(
            "filesrc location={} ! pngdec ! videoconvert",
            media(photo).display()
        ),
        &efficientnet("top-k=5"),
    );
    read_classification(&buffers[0])
}

#[test]
fn efficientnet_names_real_photos() {
    let coffee = classify_photo("coffee.png");
    assert_eq!(coffee[0].label, "espresso", "{coffee:?}");
    assert!(coffee[0].confidence > 0.8, "{coffee:?}");
    let cat = classify_photo("chelsea.png");
    // Chelsea is a tabby; the model splits her between the three cat classes.
    assert!(
        ["tabby, tabby cat", "tiger cat", "Egyptian cat"].contains(&cat[0].label.as_str()),
        "{cat:?}"
    );
    let cat_mass: f64 = cat
        .iter()
        .filter(|c| (281..=285).contains(&c.label_id))
        .map(|c| c.confidence)
        .sum();
    assert!(
        cat_mass > 0.8,
        "domestic cat classes hold {cat_mass}: {cat:?}"
    );
}

#[test]
fn features_match_a_python_reference() {
    // The same decoded frame goes to dlinfer and, as raw RGB, to
    // scripts/reference_features.py (numpy + onnxruntime, the documented
    // preprocessing: centre crop, bilinear resize to 224, (p - 127) / 128).
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("frame.rgb");
    let reference = dir.path().join("reference.f32");
    let buffers = run_collect(
        &format!(
            "filesrc location={} ! pngdec ! videoconvert ! video/x-raw,format=RGB",
            media("astronaut.png").display()
        ),
        &format!(
            "dlinfer model={} decoder=features output-name=features scale-mode=center-crop input-mean=127 input-std=128",
            common::data("models/efficientnet_lite0.onnx").display()
        ),
    );
    let map = buffers[0].map_readable().unwrap();
    std::fs::write(&raw, map.as_slice()).unwrap();
    let status = Command::new(common::root().join(".venv/bin/python"))
        .arg(common::root().join("scripts/reference_features.py"))
        .args([raw.to_str().unwrap(), "512", "512"])
        .arg(common::data("models/efficientnet_lite0.onnx"))
        .arg(&reference)
        .status()
        .unwrap();
    assert!(status.success());
    let expected: Vec<f32> = std::fs::read(&reference)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let ours = &read_tensors(&buffers[0])[0].data;
    assert_eq!(ours.len(), 1280);
    let cosine = cosine(ours, &expected);
    println!("dlinfer vs Python reference: cosine similarity {cosine:.5}");
    assert!(cosine >= 0.99, "cosine similarity {cosine}");
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn frames_of_one_shot_are_closer_than_frames_across_a_cut() {
    // bigbuckbunny.mp4 is one continuous shot (its largest mean frame-to-frame
    // difference is 8/255), so the cut is made by playing bikes.mp4 after it.
    let scaled =
        "decodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB,width=640,height=360";
    let p = pipeline(&format!(
        "concat name=c ! dlinfer model={} decoder=features output-name=features inference-interval=30 batch-size=8 \
             scale-mode=center-crop input-mean=127 input-std=128 ! appsink name=sink sync=false \
         filesrc location={} ! {scaled} ! c. \
         filesrc location={} ! {scaled} ! c.",
        common::data("models/efficientnet_lite0.onnx").display(),
        media("bigbuckbunny.mp4").display(),
        media("bikes.mp4").display()
    ));
    let mut embeddings = Vec::new();
    let mut frames = 0;
    for (_, sample) in common::pull_frames(&p, "sink") {
        if let Some(tensor) = read_tensors(sample.buffer().unwrap()).into_iter().next() {
            embeddings.push((frames, tensor.data));
        }
        frames += 1;
    }
    assert_eq!(frames, 132 + 250);
    // Inferred frames 0, 30, ... 120 are Big Buck Bunny; 150 ... are bikes.
    assert_eq!(
        embeddings.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        (0..frames).step_by(30).collect::<Vec<_>>()
    );
    let (bunny, bikes): (Vec<_>, Vec<_>) = embeddings.iter().partition(|(i, _)| *i < 132);
    let mean = |pairs: Vec<f64>| pairs.iter().sum::<f64>() / pairs.len() as f64;
    let within = mean(bunny.windows(2).map(|w| cosine(&w[0].1, &w[1].1)).collect());
    let across = mean(
        bunny
            .iter()
            .flat_map(|a| bikes.iter().map(|b| cosine(&a.1, &b.1)))
            .collect(),
    );
    // Margin: 0.3 of cosine similarity (measured here: 0.835 within, 0.280 across).
    println!("within-shot mean cosine {within:.3}, across-cut mean cosine {across:.3}");
    assert!(
        within - across >= 0.3,
        "within {within:.3}, across {across:.3}"
    );
}
