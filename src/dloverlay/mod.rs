//! `dloverlay`: draws detections and classes on frames, or anonymises the
//! detected regions.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// Draws the detections riding on frames (boxes and labels), or blurs / pixelates them.
    pub struct DlOverlay(ObjectSubclass<imp::DlOverlay>) @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dloverlay` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dloverlay",
        gst::Rank::NONE,
        DlOverlay::static_type(),
    )
}
