//! What every kind of result on a `GstVideoRegionOfInterestMeta` shares: the
//! names of the param structures and how ROIs are numbered and told apart.
//! Detections and classifications both build on it, so neither needs the
//! other.

use gst_video::VideoRegionOfInterestMeta;

/// Name of the param structure that carries a detection's details.
pub const DETECTION_PARAMS: &str = "detection";

/// Name of the param structures that carry classes.
pub const CLASSIFICATION_PARAMS: &str = "classification";

/// A distinct id for the next ROI on a buffer: 0, 1, 2... in the order
/// attached. Consumers that can only look ROIs up by id (PyGObject's
/// `GstVideo.buffer_get_video_region_of_interest_meta_id`) find them all.
pub fn next_roi_id(buffer: &gst::BufferRef) -> i32 {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|m| m.id() + 1)
        .max()
        .unwrap_or(0)
}

/// Field of a param structure that holds an object's second-stage classes
/// (`dlinfer inference-region=objects`); a frame's classes have none.
pub const TOP_K_FIELD: &str = "top-k";

/// Whether an ROI is a frame classification rather than an object: it has
/// classes and no detection. An object another element detected and a
/// second model classified stays an object.
pub fn is_classification_roi(meta: &VideoRegionOfInterestMeta) -> bool {
    meta.param(DETECTION_PARAMS).is_none()
        && meta
            .param(CLASSIFICATION_PARAMS)
            .is_some_and(|p| !p.has_field(TOP_K_FIELD))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roi_with(buffer: &mut gst::BufferRef, params: &[&str]) {
        let id = next_roi_id(buffer);
        let mut meta = VideoRegionOfInterestMeta::add(buffer, "x", (0, 0, 4, 4));
        meta.set_id(id);
        for name in params {
            meta.add_param(gst::Structure::new_empty(*name));
        }
    }

    #[test]
    fn rois_are_numbered_in_order_and_told_apart_by_their_params() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let buffer = buffer.get_mut().unwrap();
        assert_eq!(next_roi_id(buffer), 0);
        roi_with(buffer, &[CLASSIFICATION_PARAMS]);
        // A detected object classified by a second model stays an object.
        roi_with(buffer, &[DETECTION_PARAMS, CLASSIFICATION_PARAMS]);
        roi_with(buffer, &[]);
        assert_eq!(next_roi_id(buffer), 3);
        let kinds: Vec<(i32, bool)> = buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .map(|meta| (meta.id(), is_classification_roi(&meta)))
            .collect();
        assert_eq!(kinds, [(0, true), (1, false), (2, false)]);
    }
}
