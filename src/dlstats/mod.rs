//! `dlstats`: stream progress as bus messages, a JSON status file and a
//! progress bar.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// A passthrough element that reports processed frames, fps, elapsed and
    /// remaining time.
    pub struct DlStats(ObjectSubclass<imp::DlStats>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `dlstats` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "dlstats",
        gst::Rank::NONE,
        DlStats::static_type(),
    )
}
