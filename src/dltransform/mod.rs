//! `dltransform`: frame-to-frame models (GAN, style transfer,
//! super-resolution, matting): the output frames are the model's output.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

glib::wrapper! {
    /// Runs a frame-to-frame ONNX model; its output tensor becomes the output frame.
    pub struct DlTransform(ObjectSubclass<imp::DlTransform>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dltransform` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dltransform",
        gst::Rank::NONE,
        DlTransform::static_type(),
    )
}
