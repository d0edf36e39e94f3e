//! Frame classifications as a region-of-interest meta covering the frame.
//!
//! One `GstVideoRegionOfInterestMeta` over the whole frame whose type is the
//! best label, with one `classification` param structure per class kept
//! (`label`, `label-id`, `confidence`, `rank`), best first: the shape DL
//! Streamer's consumers read.

use gst_video::VideoRegionOfInterestMeta;

pub use super::roi::{CLASSIFICATION_PARAMS, is_classification_roi};
use super::roi::{DETECTION_PARAMS, next_roi_id};

/// One class of a frame's classification.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameClass {
    /// Class name.
    pub label: String,
    /// Class id.
    pub label_id: i32,
    /// Probability or score.
    pub confidence: f64,
}

/// Attaches the classes (best first) to a frame of `width` x `height`.
pub fn attach_classification(
    buffer: &mut gst::BufferRef,
    classes: &[FrameClass],
    width: u32,
    height: u32,
) {
    let Some(best) = classes.first() else { return };
    let id = next_roi_id(buffer);
    let mut meta = VideoRegionOfInterestMeta::add(buffer, &best.label, (0, 0, width, height));
    meta.set_id(id);
    for (rank, class) in classes.iter().enumerate() {
        meta.add_param(
            gst::Structure::builder(CLASSIFICATION_PARAMS)
                .field("label", class.label.as_str())
                .field("label-id", class.label_id)
                .field("confidence", class.confidence)
                .field("rank", rank as u32)
                .build(),
        );
    }
}

/// Reads the frame-level classes (from ROIs that carry classification params
/// and no detection), best first.
pub fn read_classification(buffer: &gst::BufferRef) -> Vec<FrameClass> {
    let mut classes = Vec::new();
    for meta in buffer.iter_meta::<VideoRegionOfInterestMeta>() {
        if meta.param(DETECTION_PARAMS).is_some() {
            continue;
        }
        for params in meta.params().filter(|p| p.name() == CLASSIFICATION_PARAMS) {
            classes.push(FrameClass {
                label: params.get::<String>("label").unwrap_or_default(),
                label_id: params.get("label-id").unwrap_or(-1),
                confidence: params.get("confidence").unwrap_or(0.0),
            });
        }
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_round_trips_best_first() {
        gst::init().unwrap();
        let classes = vec![
            FrameClass {
                label: "espresso".into(),
                label_id: 967,
                confidence: 0.96,
            },
            FrameClass {
                label: "cup".into(),
                label_id: 968,
                confidence: 0.02,
            },
        ];
        let mut buffer = gst::Buffer::new();
        attach_classification(buffer.get_mut().unwrap(), &classes, 224, 224);
        let meta = buffer.meta::<VideoRegionOfInterestMeta>().unwrap();
        assert_eq!(
            (meta.roi_type(), meta.rect()),
            ("espresso", (0, 0, 224, 224))
        );
        assert!(is_classification_roi(&meta));
        assert_eq!(read_classification(&buffer), classes);
    }
}
