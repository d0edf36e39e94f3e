//! Instance masks as GStreamer 1.26's segmentation mtds (built only with the
//! `analytics-v1-26` feature), in the shape upstream's YOLO segmentation
//! decoder writes them: one INSTANCE mtd per object whose mask is a GRAY8
//! buffer with a `GstVideoMeta` (the mask's own size and stride), located by
//! a rectangle in frame pixels, with region ids `[0, id]`: 0 the background,
//! `id` the object's pixels.
//!
//! gstreamer-analytics 0.25 has no safe API for segmentation mtds, so the two
//! small functions that call the C library ([`add_segmentation_mtd`] and
//! [`segmentation_mask`]) carry the only `unsafe` blocks.

use std::fmt;

use gst::glib;
use gst::glib::translate::{IntoGlibPtr, from_glib, from_glib_full};
use gst_analytics::prelude::*;
use gst_analytics::{AnalyticsMtd, AnalyticsRelationMeta, ffi};
use gst_video::{VideoFormat, VideoFrameFlags, VideoMeta};

use super::instance::ObjectMask;

/// Longest side of a mask location gst-dl reads: a larger one (8K video is
/// 7680 wide) is a producer's mistake, not worth gigabytes of mask.
pub const MAX_MASK_SIDE: u32 = 16384;

/// Segmentation mtds, for `iter`, `iter_direct_related` and `mtd` of a
/// relation meta (gstreamer-analytics 0.25 has no type for them).
#[derive(Debug)]
pub enum AnalyticsSegmentationMtd {}

// SAFETY: the type id is the C library's own for segmentation mtds, so
// handles of this type only ever name segmentation mtds.
unsafe impl AnalyticsMtd for AnalyticsSegmentationMtd {
    fn mtd_type() -> ffi::GstAnalyticsMtdType {
        // SAFETY: takes nothing, returns a constant.
        unsafe { ffi::gst_analytics_segmentation_mtd_get_mtd_type() }
    }
}

/// The region id of a frame's `index`-th object (from 0): its 1-based
/// index, wrapped into 1..=255 (a GRAY8 mask has 255 ids beside the
/// background 0).
pub fn instance_region_id(index: usize) -> u8 {
    (index % 255) as u8 + 1
}

/// Where a segmentation mask lies in the frame: `width` x `height` frame
/// pixels from (`x`, `y`), whatever the mask image's own size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskLocation {
    /// Left column (may be left of the frame).
    pub x: i32,
    /// Top row (may be above the frame).
    pub y: i32,
    /// Columns.
    pub width: u32,
    /// Rows.
    pub height: u32,
}

/// Adds `mask` as an INSTANCE segmentation mtd: a GRAY8 image of the
/// mask's size holding `region_id` inside and 0 outside, located at the
/// mask's rectangle, region ids `[0, region_id]`. Returns the mtd's id.
pub fn add_instance_mask(
    meta: &mut gst::MetaRefMut<'_, AnalyticsRelationMeta, gst::meta::Standalone>,
    mask: &ObjectMask,
    region_id: u8,
) -> Result<u32, glib::BoolError> {
    let location = MaskLocation {
        x: i32::try_from(mask.x).map_err(|_| glib::bool_error!("mask x out of range"))?,
        y: i32::try_from(mask.y).map_err(|_| glib::bool_error!("mask y out of range"))?,
        width: mask.width,
        height: mask.height,
    };
    let image = instance_image(mask, region_id)?;
    add_segmentation_mtd(
        meta,
        image,
        ffi::GST_SEGMENTATION_TYPE_INSTANCE,
        &[0, u32::from(region_id)],
        location,
    )
}

/// `mask` as a GRAY8 buffer with a video meta: `region_id` where the mask
/// is set, 0 elsewhere, rows padded to GStreamer's default stride.
fn instance_image(mask: &ObjectMask, region_id: u8) -> Result<gst::Buffer, glib::BoolError> {
    if mask.width == 0 || mask.height == 0 {
        return Err(glib::bool_error!("an empty mask has no image"));
    }
    let info =
        gst_video::VideoInfo::builder(VideoFormat::Gray8, mask.width, mask.height).build()?;
    let stride = info.stride()[0] as usize;
    let mut pixels = vec![0u8; info.size()];
    for (row, values) in mask.data.chunks_exact(mask.width as usize).enumerate() {
        for (out, &value) in pixels[row * stride..].iter_mut().zip(values) {
            *out = if value != 0 { region_id } else { 0 };
        }
    }
    let mut image = gst::Buffer::from_mut_slice(pixels);
    let image_mut = image.get_mut().expect("a new buffer is writable");
    VideoMeta::add(
        image_mut,
        VideoFrameFlags::empty(),
        VideoFormat::Gray8,
        mask.width,
        mask.height,
    )?;
    Ok(image)
}

/// Adds a segmentation mtd of `kind` whose mask is `image` (which must
/// carry a GRAY8 or GRAY16 video meta: the C library refuses others) over
/// `location`, with `region_ids` the ids its pixels use. Returns its id.
pub fn add_segmentation_mtd(
    meta: &mut gst::MetaRefMut<'_, AnalyticsRelationMeta, gst::meta::Standalone>,
    image: gst::Buffer,
    kind: ffi::GstSegmentationType,
    region_ids: &[u32],
    location: MaskLocation,
) -> Result<u32, glib::BoolError> {
    let mut mtd = std::mem::MaybeUninit::<ffi::GstAnalyticsSegmentationMtd>::uninit();
    // SAFETY: `meta` is a live relation meta we may write; the function
    // takes ownership of `image` (transfer full), only reads `region_ids`
    // (it copies them; the `*mut` is the C signature's, not a write) and
    // fills `mtd` when it returns TRUE.
    let added: bool = unsafe {
        from_glib(ffi::gst_analytics_relation_meta_add_segmentation_mtd(
            meta.as_mut_ptr(),
            image.into_glib_ptr(),
            kind,
            region_ids.len(),
            region_ids.as_ptr() as *mut u32,
            location.x,
            location.y,
            location.width,
            location.height,
            mtd.as_mut_ptr(),
        ))
    };
    if added {
        // SAFETY: written by the C library, which returned TRUE.
        Ok(unsafe { mtd.assume_init() }.id)
    } else {
        Err(glib::bool_error!(
            "cannot add a segmentation mtd (no GRAY8/GRAY16 video meta on the mask, or out of memory)"
        ))
    }
}

/// A segmentation mtd's mask as its producer stored it.
#[derive(Debug, Clone)]
pub struct SegmentationMask {
    /// Where the mask lies in the frame.
    pub location: MaskLocation,
    /// The region ids its pixels use (index 0 is the background in
    /// upstream's decoders and gst-dl's).
    pub region_ids: Vec<u32>,
    /// The mask image; its video meta gives its size, stride and format.
    pub image: gst::Buffer,
}

/// The mask of the segmentation mtd `id` of `meta`; None when `id` names no
/// segmentation mtd or the mtd holds no buffer.
pub fn segmentation_mask(
    meta: &gst::MetaRef<'_, AnalyticsRelationMeta>,
    id: u32,
) -> Option<SegmentationMask> {
    // The getters below read the mtd's data as a segmentation mtd's: check
    // the type first.
    meta.mtd::<AnalyticsSegmentationMtd>(id)?;
    let handle = ffi::GstAnalyticsSegmentationMtd {
        id,
        meta: meta.as_ptr() as *mut ffi::GstAnalyticsRelationMeta,
    };
    let (mut x, mut y, mut width, mut height) = (0i32, 0i32, 0u32, 0u32);
    // SAFETY: `handle` names segmentation mtd `id` of a relation meta that
    // lives while `meta` is borrowed; the getters only read it (the `*mut`
    // is the handle struct's), `get_mask` returns a new reference (transfer
    // full) or NULL, and region indices stay below the region count.
    let (image, region_ids) = unsafe {
        let image: Option<gst::Buffer> =
            from_glib_full(ffi::gst_analytics_segmentation_mtd_get_mask(
                &handle,
                &mut x,
                &mut y,
                &mut width,
                &mut height,
            ));
        let count = ffi::gst_analytics_segmentation_mtd_get_region_count(&handle);
        let region_ids: Vec<u32> = (0..count)
            .map(|i| ffi::gst_analytics_segmentation_mtd_get_region_id(&handle, i))
            .collect();
        (image, region_ids)
    };
    Some(SegmentationMask {
        location: MaskLocation {
            x,
            y,
            width,
            height,
        },
        region_ids,
        image: image?,
    })
}

/// Why a segmentation mask gives its object no mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreadableMask {
    /// The location has no pixels, or none inside the frame.
    EmptyLocation,
    /// The location is wider or taller than [`MAX_MASK_SIDE`].
    TooLarge,
    /// The mask buffer has no video meta to say its size and stride.
    NoVideoMeta,
    /// The mask is not GRAY8 (GRAY16 masks are not read).
    NotGray8(VideoFormat),
    /// The buffer does not hold the image its video meta describes (too
    /// short, an empty image, or rows narrower than the image).
    Truncated,
}

impl fmt::Display for UnreadableMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyLocation => write!(f, "its location is empty or outside the frame"),
            Self::TooLarge => write!(f, "its location is larger than {MAX_MASK_SIDE} pixels"),
            Self::NoVideoMeta => write!(f, "its mask buffer has no video meta"),
            Self::NotGray8(format) => write!(f, "its mask is {format}, not GRAY8"),
            Self::Truncated => write!(
                f,
                "its mask buffer does not hold the image its video meta describes"
            ),
        }
    }
}

impl SegmentationMask {
    /// The mask over its location in frame pixels, scaled nearest-neighbour
    /// from the image's own size, and cut where the location leaves the
    /// frame at the left or top. A pixel is inside when its value is not 0,
    /// the background id of upstream's decoders and gst-dl's; a semantic
    /// mask with several regions therefore reads as the union of them.
    pub fn to_object_mask(&self) -> Result<ObjectMask, UnreadableMask> {
        let MaskLocation {
            x,
            y,
            width,
            height,
        } = self.location;
        if width > MAX_MASK_SIDE || height > MAX_MASK_SIDE {
            return Err(UnreadableMask::TooLarge);
        }
        // Columns and rows left of or above the frame are dropped.
        let skip_x = if x < 0 {
            x.unsigned_abs().min(width)
        } else {
            0
        };
        let skip_y = if y < 0 {
            y.unsigned_abs().min(height)
        } else {
            0
        };
        if width == skip_x || height == skip_y {
            return Err(UnreadableMask::EmptyLocation);
        }
        let video = self
            .image
            .meta::<VideoMeta>()
            .ok_or(UnreadableMask::NoVideoMeta)?;
        if video.format() != VideoFormat::Gray8 {
            return Err(UnreadableMask::NotGray8(video.format()));
        }
        let (image_width, image_height) = (video.width() as usize, video.height() as usize);
        let offset = video.offset()[0];
        let stride = usize::try_from(video.stride()[0]).map_err(|_| UnreadableMask::Truncated)?;
        let map = self
            .image
            .map_readable()
            .map_err(|_| UnreadableMask::Truncated)?;
        if image_width == 0 || image_height == 0 || stride < image_width {
            return Err(UnreadableMask::Truncated);
        }
        // The last row's last byte must lie inside the buffer.
        let end = (image_height - 1)
            .checked_mul(stride)
            .and_then(|rows| rows.checked_add(offset))
            .and_then(|start| start.checked_add(image_width));
        if end.is_none_or(|end| end > map.len()) {
            return Err(UnreadableMask::Truncated);
        }
        let (out_width, out_height) = (width - skip_x, height - skip_y);
        let mut data = Vec::with_capacity(out_width as usize * out_height as usize);
        for row in skip_y..height {
            let source_row = row as usize * image_height / height as usize;
            let line = &map[offset + source_row * stride..][..image_width];
            data.extend((skip_x..width).map(|column| {
                let source_column = column as usize * image_width / width as usize;
                if line[source_column] != 0 { 255 } else { 0 }
            }));
        }
        Ok(ObjectMask {
            x: x.max(0) as u32,
            y: y.max(0) as u32,
            width: out_width,
            height: out_height,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GRAY8 image of `width` x `height` with rows `stride` apart after
    /// `offset` bytes, `value(x, y)` at each pixel and 9 in the padding.
    fn image(
        width: u32,
        height: u32,
        offset: usize,
        stride: usize,
        value: impl Fn(usize, usize) -> u8,
    ) -> gst::Buffer {
        let mut pixels = vec![9u8; offset + stride * height as usize];
        for y in 0..height as usize {
            for x in 0..width as usize {
                pixels[offset + y * stride + x] = value(x, y);
            }
        }
        let mut buffer = gst::Buffer::from_mut_slice(pixels);
        VideoMeta::add_full(
            buffer.get_mut().unwrap(),
            VideoFrameFlags::empty(),
            VideoFormat::Gray8,
            width,
            height,
            &[offset],
            &[stride as i32],
        )
        .unwrap();
        buffer
    }

    fn mask(location: MaskLocation, image: gst::Buffer) -> SegmentationMask {
        SegmentationMask {
            location,
            region_ids: vec![0, 3],
            image,
        }
    }

    const AT: MaskLocation = MaskLocation {
        x: 10,
        y: 20,
        width: 4,
        height: 4,
    };

    #[test]
    fn region_ids_wrap_into_1_to_255() {
        assert_eq!(instance_region_id(0), 1);
        assert_eq!(instance_region_id(254), 255);
        assert_eq!(instance_region_id(255), 1);
    }

    #[test]
    fn a_small_padded_image_scales_onto_its_location() {
        gst::init().unwrap();
        // 2x2 image, offset 3, stride 5: only its top-left pixel is set.
        let image = image(2, 2, 3, 5, |x, y| if (x, y) == (0, 0) { 3 } else { 0 });
        let object = mask(AT, image).to_object_mask().unwrap();
        assert_eq!(
            (object.x, object.y, object.width, object.height),
            (10, 20, 4, 4)
        );
        #[rustfmt::skip]
        assert_eq!(object.data, vec![
            255, 255, 0, 0,
            255, 255, 0, 0,
            0, 0, 0, 0,
            0, 0, 0, 0,
        ]);
    }

    #[test]
    fn a_location_partly_above_and_left_of_the_frame_is_cut() {
        gst::init().unwrap();
        let image = image(4, 4, 0, 4, |x, y| (x == y) as u8);
        let location = MaskLocation { x: -2, y: -1, ..AT };
        let object = mask(location, image).to_object_mask().unwrap();
        assert_eq!(
            (object.x, object.y, object.width, object.height),
            (0, 0, 2, 3)
        );
        // Frame (0, 0) is image (2, 1), off the diagonal; frame (0, 1) is
        // image (2, 2), on it.
        assert_eq!(object.data, vec![0, 0, 255, 0, 0, 255]);
    }

    #[test]
    fn unreadable_masks_say_why() {
        gst::init().unwrap();
        let good = || image(4, 4, 0, 4, |_, _| 1);
        let empty = MaskLocation { width: 0, ..AT };
        assert_eq!(
            mask(empty, good()).to_object_mask(),
            Err(UnreadableMask::EmptyLocation)
        );
        let outside = MaskLocation { x: -4, ..AT };
        assert_eq!(
            mask(outside, good()).to_object_mask(),
            Err(UnreadableMask::EmptyLocation)
        );
        let huge = MaskLocation {
            width: MAX_MASK_SIDE + 1,
            ..AT
        };
        assert_eq!(
            mask(huge, good()).to_object_mask(),
            Err(UnreadableMask::TooLarge)
        );
        let bare = gst::Buffer::from_mut_slice(vec![1u8; 16]);
        assert_eq!(
            mask(AT, bare).to_object_mask(),
            Err(UnreadableMask::NoVideoMeta)
        );
        let mut gray16 = gst::Buffer::from_mut_slice(vec![0u8; 32]);
        VideoMeta::add(
            gray16.get_mut().unwrap(),
            VideoFrameFlags::empty(),
            VideoFormat::Gray16Le,
            4,
            4,
        )
        .unwrap();
        assert_eq!(
            mask(AT, gray16).to_object_mask(),
            Err(UnreadableMask::NotGray8(VideoFormat::Gray16Le))
        );
        // A video meta that promises rows the buffer lacks.
        let mut short = gst::Buffer::from_mut_slice(vec![1u8; 8]);
        VideoMeta::add_full(
            short.get_mut().unwrap(),
            VideoFrameFlags::empty(),
            VideoFormat::Gray8,
            4,
            4,
            &[0],
            &[4],
        )
        .unwrap();
        assert_eq!(
            mask(AT, short).to_object_mask(),
            Err(UnreadableMask::Truncated)
        );
    }

    #[test]
    fn an_instance_mask_round_trips_through_a_relation_meta() {
        gst::init().unwrap();
        let object_mask = ObjectMask {
            x: 5,
            y: 6,
            width: 3,
            height: 2,
            data: vec![255, 0, 255, 0, 255, 0],
        };
        let mut buffer = gst::Buffer::new();
        let id = {
            let mut meta = AnalyticsRelationMeta::add(buffer.get_mut().unwrap());
            add_instance_mask(&mut meta, &object_mask, 4).unwrap()
        };
        let meta = buffer.meta::<AnalyticsRelationMeta>().unwrap();
        let stored = segmentation_mask(&meta, id).unwrap();
        assert_eq!(stored.region_ids, vec![0, 4]);
        assert_eq!(
            stored.location,
            MaskLocation {
                x: 5,
                y: 6,
                width: 3,
                height: 2
            }
        );
        // The image holds the region id inside, 0 outside, in padded rows.
        let video = stored.image.meta::<VideoMeta>().unwrap();
        assert_eq!((video.width(), video.height()), (3, 2));
        let stride = video.stride()[0] as usize;
        let map = stored.image.map_readable().unwrap();
        assert_eq!(&map[..3], &[4, 0, 4]);
        assert_eq!(&map[stride..stride + 3], &[0, 4, 0]);
        assert_eq!(stored.to_object_mask().unwrap(), object_mask);
        // Other ids name no segmentation mtd.
        assert!(segmentation_mask(&meta, id + 1).is_none());
    }
}
