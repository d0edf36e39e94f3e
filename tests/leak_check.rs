//! The leak check: 300 frames through dlinfer and dltransform (with
//! dlpublish, dloverlay and dlstats) under valgrind memcheck, by
//! scripts/leak-check.sh, must show no definite leak and no memory error
//! beyond the one-time third-party ones in tests/valgrind/gst-dl.supp.
//!
//! A test binary of its own: cargo runs test binaries one after another,
//! so the ~4 minutes under valgrind share the machine with no other test.
//! The script builds the plugin itself (`cargo build --lib`, quick when
//! nothing changed): `cargo test` builds the library for the tests but does
//! not refresh target/debug/libgstdl.so, so it could be stale.

mod common;

use std::process::Command;

#[test]
fn three_hundred_frames_under_valgrind_leak_nothing() {
    common::data("models/centerface.onnx"); // set-up ran
    let output = Command::new("bash")
        .arg(common::root().join("scripts/leak-check.sh"))
        .output()
        .expect("bash runs");
    let text = common::printed(&output);
    println!("{text}"); // shown with --nocapture: the run time and error summary
    assert!(output.status.success(), "{text}");
    assert!(text.contains("[leak-check] PASS"), "{text}");
}
