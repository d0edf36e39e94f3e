//! `ytdlsrc`: a web page (YouTube and the other sites yt-dlp knows) as a
//! source of decoded video and audio, also reachable as `ytdl://<page URL>`
//! from `uridecodebin` and `playbin`.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    /// A source bin that resolves a page URL with yt-dlp and decodes the media
    /// it points to, exposing `video_%u` and `audio_%u` pads of raw streams.
    pub struct YtdlSrc(ObjectSubclass<imp::YtdlSrc>)
        @extends gst::Bin, gst::Element, gst::Object,
        @implements gst::URIHandler, gst::ChildProxy;
}

/// Registers `ytdlsrc` with the plugin.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    // uridecodebin and playbin find it by its `ytdl` protocol whatever its
    // rank (gst_element_make_from_uri does not filter by rank); NONE keeps it
    // out of decodebin's autoplugging, which it has no use in.
    gst::Element::register(
        Some(plugin),
        "ytdlsrc",
        gst::Rank::NONE,
        YtdlSrc::static_type(),
    )
}
