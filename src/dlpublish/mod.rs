//! `dlpublish`: writes each frame's results as JSON Lines and embeddings as
//! a `.npy` matrix.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// A passthrough element that writes the results riding on frames to files.
    pub struct DlPublish(ObjectSubclass<imp::DlPublish>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dlpublish` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dlpublish",
        gst::Rank::NONE,
        DlPublish::static_type(),
    )
}
