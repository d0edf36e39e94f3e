//! The README's commands, run as a reader would copy them. Every
//! `gst-launch-1.0` block runs here (in a scratch directory, with `$MEDIA` and
//! `$MODELS` set as `pipelines/env.sh` sets them); `scripts/test.sh` runs the
//! meson lines through `scripts/check-meson.sh`, `tests/inspect.rs` runs
//! `gst-inspect-1.0`, and the demo runs the release build.

mod common;

use std::process::Command;

/// The ```sh blocks of the README that start with gst-launch-1.0.
fn gst_launch_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                if block.trim_start().starts_with("gst-launch-1.0") {
                    blocks.push(block.clone());
                }
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_gst_launch_line_in_the_readme_runs() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let blocks = gst_launch_blocks(&readme);
    assert!(
        blocks.len() >= 3,
        "found {} gst-launch blocks",
        blocks.len()
    );
    for block in blocks {
        let scratch = tempfile::tempdir().unwrap();
        // Relative paths in the README are relative to the repository root.
        std::os::unix::fs::symlink(common::root().join("models"), scratch.path().join("models"))
            .unwrap();
        let output = Command::new("timeout")
            .args(["240", "bash", "-euo", "pipefail", "-c", &block])
            .current_dir(scratch.path())
            .env("GST_PLUGIN_PATH", common::root().join("target/debug"))
            .env("MEDIA", common::data("media"))
            .env("MODELS", common::data("models"))
            .output()
            .unwrap();
        let text = common::printed(&output);
        assert!(
            output.status.success(),
            "README block failed:\n{block}\n{text}"
        );
        assert!(
            !text.contains("ERROR"),
            "README block reported an error:\n{block}\n{text}"
        );
    }
}

#[test]
fn the_python_snippet_prints_the_boxes_of_a_real_detection() {
    let python = std::path::Path::new("/usr/bin/python3");
    assert!(
        python.exists(),
        "Debian's python3 with python3-gi is installed by scripts/setup.sh"
    );
    let output = Command::new("timeout")
        .arg("120")
        .arg(python)
        .arg(common::root().join("docs/read_metadata.py"))
        .env("GST_PLUGIN_PATH", common::root().join("target/debug"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let faces: Vec<&str> = text.lines().filter(|l| l.contains(": face ")).collect();
    assert!(
        faces.len() >= 5,
        "one face per frame for the first frames:\n{text}"
    );
    assert!(faces[0].starts_with("frame 0: face 0.9"), "{text}");
    // CenterFace's landmarks ride on each face's ROI as a keypoints param.
    let landmarks: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("keypoints left_eye ("))
        .collect();
    assert!(
        landmarks.len() >= 5 && landmarks[0].contains("right_mouth ("),
        "five landmarks per face:\n{text}"
    );
}
