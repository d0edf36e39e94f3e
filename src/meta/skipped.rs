//! Frames that skipped inference in realtime mode, so that downstream
//! (dlstats, applications) can tell "nothing found" from "not looked at".

use gst::meta::CustomMeta;

use super::custom::register_copied_custom_meta;

/// Registered name of the marker meta.
pub const SKIPPED_META_NAME: &str = "GstDlSkippedMeta";

/// Marks a frame as passed on without inference because it was late.
pub fn mark_skipped(buffer: &mut gst::BufferRef) {
    register_copied_custom_meta(SKIPPED_META_NAME);
    if let Ok(mut meta) = CustomMeta::add(buffer, SKIPPED_META_NAME) {
        meta.mut_structure().set_name("dl-skipped");
    }
}

/// Whether a frame skipped inference.
pub fn is_skipped(buffer: &gst::BufferRef) -> bool {
    register_copied_custom_meta(SKIPPED_META_NAME);
    CustomMeta::from_buffer(buffer, SKIPPED_META_NAME).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_survives_a_copy() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        assert!(!is_skipped(&buffer));
        mark_skipped(buffer.get_mut().unwrap());
        assert!(is_skipped(&buffer));
        assert!(is_skipped(&buffer.copy_deep().unwrap()));
    }
}
