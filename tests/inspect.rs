//! What users discover with gst-inspect-1.0: the plugin and every property
//! with a blurb.

mod common;

use std::process::Command;

use gst::prelude::*;

fn inspect(what: &str) -> String {
    common::init();
    let registry = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new("gst-inspect-1.0")
        .arg(what)
        .env("GST_PLUGIN_PATH", common::root().join("target/debug"))
        .env("GST_REGISTRY", registry.path())
        .output()
        .expect("gst-inspect-1.0 runs");
    assert!(
        output.status.success(),
        "gst-inspect-1.0 {what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Each of the element's own properties appears with a non-empty blurb.
fn assert_documents_properties(element: &str) {
    let text = inspect(element);
    let factory = gst::ElementFactory::find(element).unwrap();
    let instance = factory.create().build().unwrap();
    let own: Vec<_> = instance
        .list_properties()
        .iter()
        .filter(|p| p.owner_type() == instance.type_())
        .cloned()
        .collect();
    assert!(!own.is_empty());
    for pspec in own {
        let blurb = pspec.blurb().unwrap_or_default();
        assert!(
            blurb.len() > 15,
            "{element}.{} needs a blurb users understand",
            pspec.name()
        );
        let line = format!("{:<20}: {}", pspec.name(), blurb);
        assert!(
            text.contains(&line),
            "gst-inspect-1.0 {element} lacks '{line}'"
        );
    }
}

#[test]
fn the_plugin_lists_its_elements() {
    let text = inspect("dl");
    for element in [
        "dlinfer",
        "dloverlay",
        "dlpublish",
        "dlstats",
        "dltransform",
        "ytdlsrc",
    ] {
        assert!(text.contains(&format!("  {element}: ")), "{text}");
    }
}

#[test]
fn dlstats_documents_every_property() {
    assert_documents_properties("dlstats");
}

#[test]
fn dlinfer_documents_every_property() {
    assert_documents_properties("dlinfer");
    let text = inspect("dlinfer");
    for choice in [
        "yolov8",
        "yolov5",
        "ssd",
        "centerface",
        "letterbox",
        "center-crop",
        "nhwc",
    ] {
        assert!(
            text.contains(&format!("({choice})")) || text.contains(choice),
            "enum value {choice} listed"
        );
    }
}

#[test]
fn dltransform_dlpublish_and_dloverlay_document_every_property() {
    for element in ["dltransform", "dlpublish", "dloverlay"] {
        assert_documents_properties(element);
    }
}

#[test]
fn ytdlsrc_documents_every_property_and_its_uri_scheme() {
    assert_documents_properties("ytdlsrc");
    let text = inspect("ytdlsrc");
    assert!(
        text.contains("Supported URI protocols:\n    ytdl"),
        "{text}"
    );
    for template in ["video_%u", "audio_%u"] {
        assert!(
            text.contains(&format!("SRC template: '{template}'")),
            "{text}"
        );
    }
}

#[test]
fn the_plugin_names_no_made_up_origin() {
    let text = inspect("dl");
    let origin = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Origin URL"))
        .map(|rest| rest.trim_start_matches([' ', ':']).trim())
        .unwrap_or_else(|| panic!("no Origin URL in\n{text}"));
    // The project's home once Cargo.toml names one; GStreamer's usual words
    // until then, never a placeholder address.
    assert!(
        origin == "Unknown package origin"
            || (origin.starts_with("https://") && !origin.contains(".invalid")),
        "{origin:?}"
    );
}
