//! Frame classifications as a region-of-interest meta covering the frame.
//!
//! One `GstVideoRegionOfInterestMeta` over the whole frame whose type is the
//! best label, with one `classification` param structure per class kept
//! (`label`, `label-id`, `confidence`, `rank`), best first: the shape DL
//! Streamer's consumers read.

use gst_video::VideoRegionOfInterestMeta;

pub use super::roi::{CLASSIFICATION_PARAMS, TOP_K_FIELD, is_classification_roi};
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
        for params in meta
            .params()
            .filter(|p| p.name() == CLASSIFICATION_PARAMS && !p.has_field(TOP_K_FIELD))
        {
            classes.push(FrameClass {
                label: params.get::<String>("label").unwrap_or_default(),
                label_id: params.get("label-id").unwrap_or(-1),
                confidence: params.get("confidence").unwrap_or(0.0),
            });
        }
    }
    classes
}

/// One object's classes from one second-stage model, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectClasses {
    /// The `results-name` they were attached under.
    pub results_name: String,
    /// The classes kept, best first.
    pub classes: Vec<FrameClass>,
}

/// Attaches one object's classes (best first) to the ROI with id `roi_id`
/// as a param structure named `results_name`: the best class's `label`,
/// `label-id`, `confidence`, and `top-k`, a list of `class` structures
/// with the same fields, best first. Returns false when no ROI has that id.
pub fn attach_object_classes(
    buffer: &mut gst::BufferRef,
    roi_id: i32,
    results_name: &str,
    classes: &[FrameClass],
) -> bool {
    let Some(best) = classes.first() else {
        return buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .any(|m| m.id() == roi_id);
    };
    let top_k = gst::List::new(classes.iter().map(|class| {
        gst::Structure::builder("class")
            .field("label", class.label.as_str())
            .field("label-id", class.label_id)
            .field("confidence", class.confidence)
            .build()
    }));
    let params = gst::Structure::builder(results_name)
        .field("label", best.label.as_str())
        .field("label-id", best.label_id)
        .field("confidence", best.confidence)
        .field(TOP_K_FIELD, top_k)
        .build();
    let Some(mut meta) = buffer
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .find(|m| m.id() == roi_id)
    else {
        return false;
    };
    meta.add_param(params);
    true
}

/// Every second-stage classification on an object's ROI, in the order
/// attached.
pub fn read_object_classes(meta: &VideoRegionOfInterestMeta) -> Vec<ObjectClasses> {
    meta.params()
        .filter_map(|params| {
            let top_k = params.get::<gst::List>(TOP_K_FIELD).ok()?;
            let classes = top_k
                .iter()
                .filter_map(|v| v.get::<gst::Structure>().ok())
                .map(|class| FrameClass {
                    label: class.get::<String>("label").unwrap_or_default(),
                    label_id: class.get("label-id").unwrap_or(-1),
                    confidence: class.get("confidence").unwrap_or(0.0),
                })
                .collect();
            Some(ObjectClasses {
                results_name: params.name().to_string(),
                classes,
            })
        })
        .collect()
}

/// Every ROI's second-stage classifications with the ROI's id, for ROIs
/// that have any.
pub fn read_object_classes_by_roi(buffer: &gst::BufferRef) -> Vec<(i32, Vec<ObjectClasses>)> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|meta| (meta.id(), read_object_classes(&meta)))
        .filter(|(_, classes)| !classes.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_classes_ride_on_their_roi_under_their_name() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let b = buffer.get_mut().unwrap();
        for id in [0, 1] {
            let mut roi = VideoRegionOfInterestMeta::add(b, "car", (0, 0, 4, 4));
            roi.set_id(id);
        }
        let class = |label: &str, confidence| FrameClass {
            label: label.into(),
            label_id: 2,
            confidence,
        };
        let colors = vec![class("red", 0.7), class("blue", 0.2)];
        assert!(attach_object_classes(b, 1, "color", &colors));
        assert!(attach_object_classes(b, 1, "type", &[class("van", 0.9)]));
        assert!(!attach_object_classes(b, 5, "color", &colors));
        let metas: Vec<_> = buffer.iter_meta::<VideoRegionOfInterestMeta>().collect();
        assert!(read_object_classes(&metas[0]).is_empty());
        let read = read_object_classes(&metas[1]);
        assert_eq!(read.len(), 2);
        assert_eq!(
            (read[0].results_name.as_str(), &read[0].classes),
            ("color", &colors)
        );
        assert_eq!(read[1].results_name, "type");
        let params = metas[1].param("color").unwrap();
        assert_eq!(params.get::<String>("label").unwrap(), "red");
        assert_eq!(params.get::<f64>("confidence").unwrap(), 0.7);
        // Classified objects stay objects, and are no frame classes.
        assert!(!is_classification_roi(&metas[1]));
        drop(metas);
        let b = buffer.get_mut().unwrap();
        assert!(attach_object_classes(b, 0, CLASSIFICATION_PARAMS, &colors));
        assert!(read_classification(&buffer).is_empty());
    }

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
