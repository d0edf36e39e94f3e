//! Results as GStreamer 1.24's `GstAnalyticsRelationMeta` (built only with the
//! `analytics` feature): an object-detection mtd per object, a classification
//! mtd with the object's class related to it (`CONTAIN` from the object,
//! `IS_PART_OF` back, as DL Streamer and upstream relate them), a tracking mtd
//! per tracked object (related the same way) and one unrelated classification
//! mtd per frame classification. With GStreamer 1.26
//! (`analytics-v1-26`), an object's instance mask also becomes a
//! segmentation mtd related the same way ([`super::segmentation`]).
//!
//! An object written both ways records its mtd id in its ROI's `detection`
//! params ([`ANALYTICS_ID_FIELD`]), so readers see it once.

use std::sync::LazyLock;

use gst::glib;
use gst_analytics::prelude::*;
use gst_analytics::{
    AnalyticsAnyMtd, AnalyticsClassificationMtd, AnalyticsMtd, AnalyticsODMtd,
    AnalyticsRelationMeta, AnalyticsTrackingMtd, RelTypes,
};

use super::classification::FrameClass;
use super::detection::DetectedObject;

/// Field of a ROI's `detection` params that names the object's OD mtd.
pub const ANALYTICS_ID_FIELD: &str = "analytics-id";

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlanalytics",
        gst::DebugColorFlags::empty(),
        Some("gst-dl analytics relation metas"),
    )
});

/// The buffer's relation meta, added when it has none.
fn relation_meta(
    buffer: &mut gst::BufferRef,
) -> gst::MetaRefMut<'_, AnalyticsRelationMeta, gst::meta::Standalone> {
    if buffer.meta::<AnalyticsRelationMeta>().is_some() {
        buffer
            .meta_mut::<AnalyticsRelationMeta>()
            .expect("checked just above")
    } else {
        AnalyticsRelationMeta::add(buffer)
    }
}

fn relate(
    meta: &mut gst::MetaRefMut<'_, AnalyticsRelationMeta, gst::meta::Standalone>,
    object: u32,
    part: u32,
) -> Result<(), glib::BoolError> {
    meta.set_relation(RelTypes::CONTAIN, object, part)?;
    meta.set_relation(RelTypes::IS_PART_OF, part, object)
}

/// Adds an OD mtd for `object` (label quark, confidence, box in whole pixels)
/// and a classification mtd with its class related to it, and on GStreamer
/// 1.26 a segmentation mtd with its mask; returns the OD mtd's id.
pub fn attach_object(
    buffer: &mut gst::BufferRef,
    object: &DetectedObject,
) -> Result<u32, glib::BoolError> {
    let quark = glib::Quark::from_str(&object.label);
    let (x, y, w, h) = object.pixel_rect();
    let confidence = object.confidence as f32;
    // The object's index in the frame picks its mask's region id.
    #[cfg(feature = "analytics-v1-26")]
    let index = buffer
        .meta::<AnalyticsRelationMeta>()
        .map_or(0, |meta| meta.iter::<AnalyticsODMtd>().count());
    let mut meta = relation_meta(buffer);
    let od = match oriented(object) {
        #[cfg(feature = "analytics-v1-26")]
        Some((x, y, w, h, r)) => meta
            .add_oriented_od_mtd(quark, x, y, w, h, r, confidence)?
            .id(),
        _ => meta
            .add_od_mtd(quark, x as i32, y as i32, w as i32, h as i32, confidence)?
            .id(),
    };
    let cls = meta.add_one_cls_mtd(confidence, quark)?.id();
    relate(&mut meta, od, cls)?;
    #[cfg(feature = "analytics-v1-26")]
    if let Some(mask) = &object.details.mask
        && mask.width > 0
        && mask.height > 0
    {
        let region_id = super::segmentation::instance_region_id(index);
        let seg = super::segmentation::add_instance_mask(&mut meta, mask, region_id)?;
        relate(&mut meta, od, seg)?;
    }
    Ok(od)
}

/// An oriented box as GStreamer 1.26 describes one: the upper-left corner
/// and size before rotation, in whole pixels, and the clockwise rotation
/// about the centre in radians in 0..2pi. None without a rotated box or
/// before GStreamer 1.26 (the upright box around it is written then).
fn oriented(object: &DetectedObject) -> Option<(i32, i32, i32, i32, f32)> {
    if !cfg!(feature = "analytics-v1-26") {
        return None;
    }
    let r = object.details.rotated.as_ref()?;
    let x = (r.cx - r.width / 2.0).round() as i32;
    let y = (r.cy - r.height / 2.0).round() as i32;
    let angle = r.angle.rem_euclid(std::f64::consts::TAU) as f32;
    Some((x, y, r.width.round() as i32, r.height.round() as i32, angle))
}

/// Adds the frame's classes (best first) as one classification mtd, related
/// to no object.
pub fn attach_frame_classes(
    buffer: &mut gst::BufferRef,
    classes: &[FrameClass],
) -> Result<(), glib::BoolError> {
    if classes.is_empty() {
        return Ok(());
    }
    let (levels, quarks) = levels_and_quarks(classes);
    relation_meta(buffer).add_cls_mtd(&levels, &quarks)?;
    Ok(())
}

/// A classification mtd's confidence levels and class quarks.
fn levels_and_quarks(classes: &[FrameClass]) -> (Vec<f32>, Vec<glib::Quark>) {
    let levels = classes.iter().map(|c| c.confidence as f32).collect();
    let quarks = classes
        .iter()
        .map(|c| glib::Quark::from_str(&c.label))
        .collect();
    (levels, quarks)
}

/// Adds a second-stage model's classes of the OD mtd `object` (best first)
/// as one classification mtd related to it (CONTAIN / IS_PART_OF).
pub fn attach_object_classes(
    buffer: &mut gst::BufferRef,
    object: u32,
    classes: &[FrameClass],
) -> Result<(), glib::BoolError> {
    if classes.is_empty() {
        return Ok(());
    }
    let (levels, quarks) = levels_and_quarks(classes);
    let mut meta = relation_meta(buffer);
    let cls = meta.add_cls_mtd(&levels, &quarks)?.id();
    relate(&mut meta, object, cls)
}

/// Adds a tracking mtd with `track_id` related to the OD mtd `object`,
/// unless the object has one already.
pub fn attach_track(
    buffer: &mut gst::BufferRef,
    object: u32,
    track_id: u64,
    first_seen: gst::ClockTime,
) -> Result<(), glib::BoolError> {
    if let Some(meta) = buffer.meta::<AnalyticsRelationMeta>()
        && meta
            .iter_direct_related::<AnalyticsTrackingMtd>(object, RelTypes::CONTAIN)
            .next()
            .is_some()
    {
        return Ok(());
    }
    let mut meta = relation_meta(buffer);
    let track = meta.add_tracking_mtd(track_id, first_seen)?.id();
    relate(&mut meta, object, track)
}

/// An object read from an OD mtd, with what is related to it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyticsObject {
    /// The OD mtd's id.
    pub id: u32,
    /// Label, confidence, box (label id -1: a quark has no number) and, on
    /// GStreamer 1.26, the mask of a segmentation mtd related to it.
    pub object: DetectedObject,
    /// Classes of the classification mtds the object contains.
    pub classes: Vec<(String, f32)>,
    /// Id of the tracking mtd the object contains.
    pub track_id: Option<u64>,
}

/// The mask of the first readable segmentation mtd directly related to the
/// OD mtd `object` (any relation: gst-dl writes CONTAIN, upstream's YOLO
/// segmentation decoder RELATE_TO); unreadable ones are skipped with a
/// debug log.
#[cfg(feature = "analytics-v1-26")]
fn related_mask(
    meta: &gst::MetaRef<'_, AnalyticsRelationMeta>,
    object: u32,
) -> Option<super::instance::ObjectMask> {
    use super::segmentation::{AnalyticsSegmentationMtd, segmentation_mask};
    meta.iter_direct_related::<AnalyticsSegmentationMtd>(object, RelTypes::ANY)
        .find_map(|seg| {
            let Some(stored) = segmentation_mask(meta, seg.id()) else {
                gst::debug!(
                    CAT,
                    "skipping segmentation mtd {}: it holds no mask",
                    seg.id()
                );
                return None;
            };
            stored
                .to_object_mask()
                .inspect_err(|why| {
                    gst::debug!(
                        CAT,
                        "skipping segmentation mtd {} of object mtd {object}: {why}",
                        seg.id()
                    )
                })
                .ok()
        })
}

/// Every OD mtd on the buffer as an object, in mtd order, except those
/// whose id is in `known` (objects already read from their ROIs). OD mtds
/// with an empty label or no location, and mtds of types gst-dl does not
/// read, are skipped with a debug log.
pub fn read_objects(buffer: &gst::BufferRef, known: &[u32]) -> Vec<AnalyticsObject> {
    let Some(meta) = buffer.meta::<AnalyticsRelationMeta>() else {
        return Vec::new();
    };
    for mtd in meta.iter::<AnalyticsAnyMtd>() {
        let kind = mtd.mtd_type();
        let read = [
            AnalyticsODMtd::mtd_type(),
            AnalyticsClassificationMtd::mtd_type(),
            AnalyticsTrackingMtd::mtd_type(),
            #[cfg(feature = "analytics-v1-26")]
            super::segmentation::AnalyticsSegmentationMtd::mtd_type(),
        ];
        if !read.contains(&kind) {
            gst::debug!(
                CAT,
                "skipping analytics mtd {} of a type gst-dl does not read",
                mtd.id()
            );
        }
    }
    let mut objects = Vec::new();
    for od in meta.iter::<AnalyticsODMtd>() {
        let id = od.id();
        if known.contains(&id) {
            continue;
        }
        let label = od
            .obj_type()
            .map(|q| q.as_str().to_string())
            .unwrap_or_default();
        if label.is_empty() {
            gst::debug!(CAT, "skipping object mtd {id}: it has no label");
            continue;
        }
        let Ok(location) = od.location() else {
            gst::debug!(CAT, "skipping object mtd {id}: it has no location");
            continue;
        };
        let classes = meta
            .iter_direct_related::<AnalyticsClassificationMtd>(id, RelTypes::CONTAIN)
            .flat_map(|cls| {
                (0..cls.len())
                    .map(|i| (cls.quark(i).as_str().to_string(), cls.level(i)))
                    .collect::<Vec<_>>()
            })
            .collect();
        let track_id = meta
            .iter_direct_related::<AnalyticsTrackingMtd>(id, RelTypes::CONTAIN)
            .next()
            .map(|track| track.info().0);
        #[allow(unused_mut)]
        let mut details = super::instance::ObjectDetails::default();
        #[cfg(feature = "analytics-v1-26")]
        {
            details.mask = related_mask(&meta, id);
        }
        let (x, y) = (f64::from(location.x), f64::from(location.y));
        objects.push(AnalyticsObject {
            id,
            object: DetectedObject {
                label,
                label_id: -1,
                confidence: f64::from(location.loc_conf_lvl),
                x_min: x,
                y_min: y,
                x_max: x + f64::from(location.w),
                y_max: y + f64::from(location.h),
                details,
            },
            classes,
            track_id,
        });
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(label: &str, x: f64) -> DetectedObject {
        DetectedObject {
            label: label.into(),
            label_id: 2,
            confidence: 0.75,
            x_min: x,
            y_min: 20.0,
            x_max: x + 30.0,
            y_max: 60.0,
            details: Default::default(),
        }
    }

    #[test]
    fn objects_classes_and_tracks_round_trip() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let b = buffer.get_mut().unwrap();
        let car = attach_object(b, &object("car", 10.0)).unwrap();
        let dog = attach_object(b, &object("dog", 100.0)).unwrap();
        attach_track(b, dog, 7, gst::ClockTime::ZERO).unwrap();
        // A second call (dltrack tags each frame's objects once) adds nothing.
        attach_track(b, dog, 8, gst::ClockTime::ZERO).unwrap();
        attach_frame_classes(
            b,
            &[FrameClass {
                label: "street".into(),
                label_id: 3,
                confidence: 0.5,
            }],
        )
        .unwrap();
        let back = read_objects(&buffer, &[]);
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].id, back[1].id), (car, dog));
        assert_eq!(back[0].object.label, "car");
        assert_eq!(back[0].object.confidence, 0.75);
        assert_eq!(
            (
                back[0].object.x_min,
                back[0].object.y_min,
                back[0].object.x_max,
                back[0].object.y_max
            ),
            (10.0, 20.0, 40.0, 60.0)
        );
        assert_eq!(back[0].classes, vec![("car".to_string(), 0.75)]);
        assert_eq!((back[0].track_id, back[1].track_id), (None, Some(7)));
        // Objects already read from their ROIs are left out.
        let rest = read_objects(&buffer, &[car]);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].object.label, "dog");
    }

    #[test]
    fn empty_labels_and_other_mtd_types_are_skipped() {
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let b = buffer.get_mut().unwrap();
        let mut meta = AnalyticsRelationMeta::add(b);
        meta.add_od_mtd(glib::Quark::from_str(""), 1, 2, 3, 4, 0.5)
            .unwrap();
        meta.add_tracking_mtd(3, gst::ClockTime::ZERO).unwrap();
        meta.add_od_mtd(glib::Quark::from_str("cat"), 5, 6, 7, 8, 0.25)
            .unwrap();
        let back = read_objects(&buffer, &[]);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].object.label, "cat");
        assert_eq!((back[0].object.x_max, back[0].object.y_max), (12.0, 14.0));
    }

    #[test]
    fn a_buffer_without_the_meta_has_no_objects() {
        gst::init().unwrap();
        assert!(read_objects(&gst::Buffer::new(), &[]).is_empty());
    }

    #[cfg(feature = "analytics-v1-26")]
    fn masked(label: &str, x: f64) -> DetectedObject {
        let mut object = object(label, x);
        // A diagonal over the 30x40 box.
        let data = (0..40u32)
            .flat_map(|y| (0..30u32).map(move |x| if x * 4 / 3 == y { 255 } else { 0 }))
            .collect();
        object.details.mask = Some(crate::meta::ObjectMask {
            x: x as u32,
            y: 20,
            width: 30,
            height: 40,
            data,
        });
        object
    }

    #[cfg(feature = "analytics-v1-26")]
    #[test]
    fn masks_round_trip_as_related_instance_segmentation_mtds() {
        use crate::meta::segmentation::{AnalyticsSegmentationMtd, segmentation_mask};
        gst::init().unwrap();
        let mut buffer = gst::Buffer::new();
        let b = buffer.get_mut().unwrap();
        let car = attach_object(b, &masked("car", 10.0)).unwrap();
        let bare = attach_object(b, &object("sign", 50.0)).unwrap();
        let dog = attach_object(b, &masked("dog", 100.0)).unwrap();
        let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
        assert_eq!(meta.iter::<AnalyticsSegmentationMtd>().count(), 2);
        for (od, region_id) in [(car, 1), (dog, 3)] {
            let seg = meta
                .iter_direct_related::<AnalyticsSegmentationMtd>(od, RelTypes::CONTAIN)
                .next()
                .expect("a segmentation mtd the object contains")
                .id();
            assert_eq!(meta.relation(seg, od), RelTypes::IS_PART_OF);
            // The region id is the object's 1-based index in the frame.
            let stored = segmentation_mask(&meta, seg).unwrap();
            assert_eq!(stored.region_ids, vec![0, region_id]);
        }
        let back = read_objects(&buffer, &[]);
        assert_eq!(back.len(), 3);
        assert_eq!(
            back[0].object.details.mask,
            masked("car", 10.0).details.mask
        );
        assert_eq!(back[1].object.details.mask, None);
        assert_eq!(
            back[2].object.details.mask,
            masked("dog", 100.0).details.mask
        );
        assert_eq!(back[1].id, bare);
    }

    #[cfg(feature = "analytics-v1-26")]
    #[test]
    fn unreadable_masks_are_skipped_and_relate_to_masks_are_read() {
        use crate::meta::segmentation::{MaskLocation, add_segmentation_mtd};
        use gst_analytics::ffi::GST_SEGMENTATION_TYPE_INSTANCE;
        use gst_video::{VideoFormat, VideoFrameFlags, VideoMeta};
        gst::init().unwrap();
        let image = |format: VideoFormat, value: u8| {
            let mut image = gst::Buffer::from_mut_slice(vec![value; 2 * 2 * 2]);
            VideoMeta::add(
                image.get_mut().unwrap(),
                VideoFrameFlags::empty(),
                format,
                2,
                2,
            )
            .unwrap();
            image
        };
        let at = MaskLocation {
            x: 1,
            y: 2,
            width: 4,
            height: 4,
        };
        let mut buffer = gst::Buffer::new();
        {
            let mut meta = AnalyticsRelationMeta::add(buffer.get_mut().unwrap());
            let quark = glib::Quark::from_str("cat");
            let mut object_with = |image: gst::Buffer, location: MaskLocation| {
                let od = meta.add_od_mtd(quark, 1, 2, 4, 4, 0.5).unwrap().id();
                let ids = [0, 1];
                let seg = add_segmentation_mtd(
                    &mut meta,
                    image,
                    GST_SEGMENTATION_TYPE_INSTANCE,
                    &ids,
                    location,
                )
                .unwrap();
                // As upstream's YOLO segmentation decoder relates them.
                meta.set_relation(RelTypes::RELATE_TO, od, seg).unwrap();
                meta.set_relation(RelTypes::RELATE_TO, seg, od).unwrap();
            };
            object_with(image(VideoFormat::Gray16Le, 1), at);
            object_with(
                image(VideoFormat::Gray8, 1),
                MaskLocation { width: 0, ..at },
            );
            object_with(image(VideoFormat::Gray8, 1), at);
        }
        let back = read_objects(&buffer, &[]);
        assert_eq!(
            back.len(),
            3,
            "objects stay when their masks are unreadable"
        );
        assert_eq!(back[0].object.details.mask, None, "GRAY16 is not read");
        assert_eq!(back[1].object.details.mask, None, "an empty location");
        let mask = back[2].object.details.mask.as_ref().expect("a GRAY8 mask");
        assert_eq!((mask.x, mask.y, mask.width, mask.height), (1, 2, 4, 4));
        assert_eq!(mask.area(), 16);
    }
}
