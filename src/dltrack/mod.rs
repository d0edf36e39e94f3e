//! `dltrack`: stable ids for detected objects, boxes on frames the detector
//! skipped, and line / zone counting.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// Tracks the objects riding on frames as ROIs, in place.
    pub struct DlTrack(ObjectSubclass<imp::DlTrack>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dltrack` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dltrack",
        gst::Rank::NONE,
        DlTrack::static_type(),
    )
}
