//! Detected objects as region-of-interest metas.

use gst_video::VideoRegionOfInterestMeta;

use super::format::MetaFormat;
use super::instance::{ObjectDetails, add_detail_params, read_detail_params};
use super::roi::is_classification_roi;
pub use super::roi::{DETECTION_PARAMS, next_roi_id};

/// A detected object in frame pixel coordinates (edges: `x_max` is
/// `x_min + width`).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectedObject {
    /// Class name (the label, or the id as text when there is no labels file).
    pub label: String,
    /// Class id as the model numbers it.
    pub label_id: i32,
    /// Score in 0..1.
    pub confidence: f64,
    /// Left edge in pixels.
    pub x_min: f64,
    /// Top edge in pixels.
    pub y_min: f64,
    /// Right edge in pixels.
    pub x_max: f64,
    /// Bottom edge in pixels.
    pub y_max: f64,
    /// Keypoints, rotated box and mask, when the decoder finds them.
    pub details: ObjectDetails,
}

impl DetectedObject {
    /// The ROI rectangle (x, y, w, h) in whole pixels: edges rounded to the
    /// nearest pixel, so a box from 40.0 to 80.0 is x 40, w 40.
    pub fn pixel_rect(&self) -> (u32, u32, u32, u32) {
        let x0 = self.x_min.round().max(0.0);
        let y0 = self.y_min.round().max(0.0);
        let x1 = self.x_max.round().max(x0);
        let y1 = self.y_max.round().max(y0);
        (x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32)
    }
}

/// Attaches one detection to a frame of `width` x `height` pixels, in the
/// build's default [`MetaFormat`].
pub fn attach_detection(
    buffer: &mut gst::BufferRef,
    object: &DetectedObject,
    width: u32,
    height: u32,
) {
    attach_detection_as(buffer, object, width, height, MetaFormat::default());
}

/// Attaches one detection as a ROI meta, an analytics OD mtd or both (the
/// ROI then names the mtd in `analytics-id`, so readers see one object).
pub fn attach_detection_as(
    buffer: &mut gst::BufferRef,
    object: &DetectedObject,
    width: u32,
    height: u32,
    format: MetaFormat,
) {
    #[cfg(feature = "analytics")]
    let analytics_id = if format.writes_analytics() {
        // Only fails when the meta cannot grow (out of memory).
        super::analytics::attach_object(buffer, object).ok()
    } else {
        None
    };
    #[cfg(not(feature = "analytics"))]
    let analytics_id = None;
    if format.writes_roi() {
        attach_roi(buffer, object, width, height, analytics_id);
    }
}

/// Attaches `object` as a ROI meta; `analytics_id` names the OD mtd that
/// describes the same object, so readers see it once.
fn attach_roi(
    buffer: &mut gst::BufferRef,
    object: &DetectedObject,
    width: u32,
    height: u32,
    analytics_id: Option<u32>,
) -> i32 {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    #[allow(unused_mut)]
    let mut params = gst::Structure::builder(DETECTION_PARAMS)
        .field("label", object.label.as_str())
        .field("label-id", object.label_id)
        .field("confidence", object.confidence)
        .field("x-min", object.x_min / w)
        .field("y-min", object.y_min / h)
        .field("x-max", object.x_max / w)
        .field("y-max", object.y_max / h)
        .build();
    #[cfg(feature = "analytics")]
    if let Some(mtd) = analytics_id {
        params.set(super::analytics::ANALYTICS_ID_FIELD, mtd);
    }
    #[cfg(not(feature = "analytics"))]
    let _ = analytics_id;
    let id = next_roi_id(buffer);
    let mut meta = VideoRegionOfInterestMeta::add(buffer, &object.label, object.pixel_rect());
    meta.set_id(id);
    meta.add_param(params);
    add_detail_params(&mut meta, &object.details);
    id
}

/// Gives each object that only an analytics OD mtd describes (one from an
/// element that writes no ROI metas) a ROI meta naming that mtd, so results
/// about the object (second-stage classes, embeddings) have a ROI to ride
/// on; the object is still read once. Returns how many ROIs it added.
pub fn adopt_analytics_objects(buffer: &mut gst::BufferRef, width: u32, height: u32) -> usize {
    #[cfg(feature = "analytics")]
    {
        let orphans = super::analytics::read_objects(buffer, &analytics_ids_of_rois(buffer));
        for orphan in &orphans {
            attach_roi(buffer, &orphan.object, width, height, Some(orphan.id));
        }
        orphans.len()
    }
    #[cfg(not(feature = "analytics"))]
    {
        let _ = (buffer, width, height);
        0
    }
}

/// Reads back every detected object on a buffer. ROIs from other elements
/// (no `detection` params) are read from their rectangle with confidence 0
/// and label = ROI type; frame classifications are not objects and are left
/// out. With the `analytics` feature, objects of analytics OD mtds that no
/// ROI names follow the ROIs' objects.
pub fn read_detections(buffer: &gst::BufferRef, width: u32, height: u32) -> Vec<DetectedObject> {
    #[allow(unused_mut)]
    let mut objects = read_roi_detections(buffer, width, height);
    #[cfg(feature = "analytics")]
    objects.extend(
        super::analytics::read_objects(buffer, &analytics_ids_of_rois(buffer))
            .into_iter()
            .map(|o| o.object),
    );
    objects
}

/// The OD mtd ids the buffer's ROIs name: those objects are read from the
/// ROIs.
#[cfg(feature = "analytics")]
pub fn analytics_ids_of_rois(buffer: &gst::BufferRef) -> Vec<u32> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter_map(|meta| {
            meta.param(DETECTION_PARAMS)?
                .get::<u32>(super::analytics::ANALYTICS_ID_FIELD)
                .ok()
        })
        .collect()
}

/// The OD mtd the ROI with id `roi_id` names, if any.
#[cfg(feature = "analytics")]
pub fn analytics_id_of_roi(buffer: &gst::BufferRef, roi_id: i32) -> Option<u32> {
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .find(|meta| meta.id() == roi_id)?
        .param(DETECTION_PARAMS)?
        .get::<u32>(super::analytics::ANALYTICS_ID_FIELD)
        .ok()
}

fn read_roi_detections(buffer: &gst::BufferRef, width: u32, height: u32) -> Vec<DetectedObject> {
    let (w, h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| !is_classification_roi(meta))
        .map(|meta| {
            let (x, y, rw, rh) = meta.rect();
            let rect = DetectedObject {
                label: meta.roi_type().to_string(),
                label_id: -1,
                confidence: 0.0,
                x_min: f64::from(x),
                y_min: f64::from(y),
                x_max: f64::from(x + rw),
                y_max: f64::from(y + rh),
                details: read_detail_params(&meta),
            };
            match meta.param(DETECTION_PARAMS) {
                Some(params) => DetectedObject {
                    label: params.get::<String>("label").unwrap_or(rect.label),
                    label_id: params.get("label-id").unwrap_or(-1),
                    confidence: params.get("confidence").unwrap_or(0.0),
                    x_min: params.get::<f64>("x-min").map_or(rect.x_min, |v| v * w),
                    y_min: params.get::<f64>("y-min").map_or(rect.y_min, |v| v * h),
                    x_max: params.get::<f64>("x-max").map_or(rect.x_max, |v| v * w),
                    y_max: params.get::<f64>("y-max").map_or(rect.y_max, |v| v * h),
                    details: rect.details,
                },
                None => rect,
            }
        })
        .collect()
}

/// Every detected object on a buffer with the id of its ROI, in the order
/// [`read_detections`] reads them: what second-stage results are attached
/// to. Objects read from analytics mtds alone have no ROI id
/// ([`adopt_analytics_objects`] gives them one).
pub fn read_detections_with_ids(
    buffer: &gst::BufferRef,
    width: u32,
    height: u32,
) -> Vec<(Option<i32>, DetectedObject)> {
    // `read_detections` returns the ROIs' objects first, in ROI order.
    let mut ids = buffer
        .iter_meta::<VideoRegionOfInterestMeta>()
        .filter(|meta| !is_classification_roi(meta))
        .map(|meta| meta.id());
    read_detections(buffer, width, height)
        .into_iter()
        .map(|object| (ids.next(), object))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object() -> DetectedObject {
        DetectedObject {
            label: "face".into(),
            label_id: 0,
            confidence: 0.93,
            x_min: 310.0,
            y_min: 120.5,
            x_max: 402.0,
            y_max: 233.0,
            details: Default::default(),
        }
    }

    #[test]
    fn round_trips_through_a_buffer() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        attach_detection(buffer.get_mut().unwrap(), &object(), 1280, 720);
        let meta = buffer.meta::<VideoRegionOfInterestMeta>().unwrap();
        assert_eq!(meta.roi_type(), "face");
        assert_eq!(meta.rect(), (310, 121, 92, 112));
        let params = meta.param("detection").unwrap();
        assert_eq!(params.get::<f64>("x-min").unwrap(), 310.0 / 1280.0);
        assert_eq!(params.get::<f64>("y-max").unwrap(), 233.0 / 720.0);
        assert_eq!(params.get::<i32>("label-id").unwrap(), 0);
        let back = read_detections(&buffer, 1280, 720);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].label, "face");
        assert!((back[0].y_min - 120.5).abs() < 1e-9 && (back[0].x_max - 402.0).abs() < 1e-9);
        assert_eq!(back[0].confidence, 0.93);
    }

    #[test]
    fn each_roi_gets_its_own_id() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        for _ in 0..3 {
            attach_detection(buffer.get_mut().unwrap(), &object(), 1280, 720);
        }
        let ids: Vec<i32> = buffer
            .iter_meta::<VideoRegionOfInterestMeta>()
            .map(|m| m.id())
            .collect();
        assert_eq!(ids, vec![0, 1, 2]);
    }

    #[test]
    fn objects_come_with_their_roi_ids() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        attach_detection(buffer.get_mut().unwrap(), &object(), 1280, 720);
        crate::meta::attach_classification(
            buffer.get_mut().unwrap(),
            &[crate::meta::FrameClass {
                label: "indoor".into(),
                label_id: 1,
                confidence: 0.5,
            }],
            1280,
            720,
        );
        attach_detection(buffer.get_mut().unwrap(), &object(), 1280, 720);
        let read = read_detections_with_ids(&buffer, 1280, 720);
        let ids: Vec<Option<i32>> = read.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, vec![Some(0), Some(2)]);
        assert_eq!(read[1].1, read_detections(&buffer, 1280, 720)[1]);
    }

    #[test]
    fn rectangles_round_edges_and_never_go_negative() {
        let mut o = object();
        (o.x_min, o.x_max, o.y_min, o.y_max) = (-3.2, 9.6, 0.4, 0.4);
        assert_eq!(o.pixel_rect(), (0, 0, 10, 0));
    }
}
