//! Frames that dlinfer passed on without inference, so that downstream
//! (dlstats, dltrack, applications) can tell "nothing found" from "not
//! looked at". The marker's structure, `dl-skipped`, says why in `reason`:
//! `late` (realtime mode dropped the model for a late frame) or `interval`
//! (`inference-interval` leaves the frame out by design).

use gst::meta::CustomMeta;

use super::custom::register_copied_custom_meta;

/// Registered name of the marker meta.
pub const SKIPPED_META_NAME: &str = "GstDlSkippedMeta";

/// Why a frame was not inferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// Realtime mode: the frame would have reached the sink late.
    Late,
    /// `inference-interval`: only every Nth frame is inferred.
    Interval,
}

impl SkipReason {
    /// The `reason` field's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Late => "late",
            Self::Interval => "interval",
        }
    }
}

/// Marks a frame as passed on without inference because it was late.
pub fn mark_skipped(buffer: &mut gst::BufferRef) {
    mark_not_inferred(buffer, SkipReason::Late);
}

/// Marks a frame as passed on without inference, for `reason`.
pub fn mark_not_inferred(buffer: &mut gst::BufferRef, reason: SkipReason) {
    register_copied_custom_meta(SKIPPED_META_NAME);
    if let Ok(mut meta) = CustomMeta::add(buffer, SKIPPED_META_NAME) {
        let structure = meta.mut_structure();
        structure.set_name("dl-skipped");
        structure.set("reason", reason.name());
    }
}

/// Why a frame was not inferred, if it was marked so (a marker without a
/// reason, from an older writer, means late).
pub fn skip_reason(buffer: &gst::BufferRef) -> Option<SkipReason> {
    register_copied_custom_meta(SKIPPED_META_NAME);
    let meta = CustomMeta::from_buffer(buffer, SKIPPED_META_NAME).ok()?;
    match meta.structure().get::<&str>("reason") {
        Ok("interval") => Some(SkipReason::Interval),
        _ => Some(SkipReason::Late),
    }
}

/// Whether a frame skipped inference because it was late (what `dlstats`
/// counts as skipped; frames left out by `inference-interval` are not).
pub fn is_skipped(buffer: &gst::BufferRef) -> bool {
    skip_reason(buffer) == Some(SkipReason::Late)
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

    #[test]
    fn interval_frames_carry_their_reason_and_are_not_late() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::with_size(4).unwrap();
        assert_eq!(skip_reason(&buffer), None);
        mark_not_inferred(buffer.get_mut().unwrap(), SkipReason::Interval);
        assert_eq!(skip_reason(&buffer), Some(SkipReason::Interval));
        assert!(!is_skipped(&buffer));
        let copy = buffer.copy_deep().unwrap();
        assert_eq!(skip_reason(&copy), Some(SkipReason::Interval));
    }
}
