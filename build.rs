//! Build facts for `gst::plugin_define!`: version, commit and date from
//! gst-plugin-version-helper, and the plugin's origin URL.

/// GStreamer's own wording for a build that names no origin (its meson
/// option `package-origin` defaults to it).
const UNKNOWN_ORIGIN: &str = "Unknown package origin";

fn main() {
    gst_plugin_version_helper::info();
    // The project's home once Cargo.toml's `repository` names one; until
    // then GStreamer's usual words, not a made-up address.
    let origin = std::env::var("CARGO_PKG_REPOSITORY")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| UNKNOWN_ORIGIN.to_owned());
    println!("cargo:rustc-env=GST_DL_PACKAGE_ORIGIN={origin}");
}
