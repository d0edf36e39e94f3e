//! gst-dl: deep learning on video as GStreamer elements, on ONNX Runtime.
//!
//! The plugin `dl` registers the elements; the library modules beside them do
//! the work without GObject and are usable (and tested) on their own.

use gst::glib;

pub mod decode;
pub mod element_support;
pub mod frame;
pub mod frame_output;
pub mod inference;
pub mod meta;
pub mod model;
pub mod model_core;
pub mod model_settings;
pub mod objects;
pub mod overlay;
pub mod preprocess;
pub mod props;
pub mod publish;
pub mod qos;
pub mod remote;
pub mod runtime;
pub mod server;
pub mod stats;
pub mod track;
pub mod video;
pub mod ytdl;

mod dlinfer;
mod dloverlay;
mod dlpublish;
mod dlstats;
mod dltrack;
mod dltransform;
mod model_element;
mod ytdlsrc;

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    meta::tensor::register_tensor_meta();
    dlinfer::register(plugin)?;
    dloverlay::register(plugin)?;
    dlpublish::register(plugin)?;
    dltransform::register(plugin)?;
    dlstats::register(plugin)?;
    dltrack::register(plugin)?;
    ytdlsrc::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    dl,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MIT/X11",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    // Cargo.toml's `repository`, or GStreamer's "Unknown package origin" (build.rs).
    env!("GST_DL_PACKAGE_ORIGIN"),
    env!("BUILD_REL_DATE")
);
