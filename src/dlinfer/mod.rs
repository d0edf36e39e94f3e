//! `dlinfer`: runs an ONNX model on video frames and attaches its results as
//! metadata; the frames pass through untouched.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

glib::wrapper! {
    /// Runs an ONNX model on frames; results ride on the buffers as metadata.
    pub struct DlInfer(ObjectSubclass<imp::DlInfer>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dlinfer` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dlinfer",
        gst::Rank::NONE,
        DlInfer::static_type(),
    )
}
