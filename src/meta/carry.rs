//! Which metas a frame-to-frame model (dltransform) carries from its input
//! frame to its output frame, and how.
//!
//! GStreamer tags every meta API with what the meta depends on: `video`,
//! `size`, `orientation`, `colorspace`, `memory`. A frame-to-frame model
//! writes a new picture of the same scene: new memory, new pixel values in a
//! format of its own, maybe another size, never rotated or flipped. So, as
//! GStreamer's own `videoscale` decides for a resize:
//!
//! - no tags: the meta describes the content, not the pixels (our tensor and
//!   skipped markers, time codes, captions): copied.
//! - `video` and `orientation` only: about the picture, in a way a model
//!   does not change: copied.
//! - `size` (ROIs, that is detections and classifications; crop metas):
//!   copied when the size stays, scaled with GStreamer's own scale transform
//!   when the whole picture is resized, dropped when the picture moved
//!   otherwise (a crop in the output, or bars), since a scale would put the
//!   boxes in the wrong place. "Whole" is to the nearest output pixel: a
//!   letterboxed picture cut out of a model output in whole pixels (what
//!   dltransform outputs with `scale-mode=letterbox`) may be half an output
//!   pixel off at an edge, and is a resize. A centre crop cuts the frame's
//!   edges off, so its output is not one (unless it cuts less than half an
//!   output pixel).
//! - `colorspace` (`GstVideoMeta` among others) and any tag we do not know:
//!   dropped; the output's pixels are the model's, in the output caps.
//!   `memory`-tagged metas (`GstVideoMeta` again) describe the input's
//!   buffers: the base class never offers them.

use gst::glib;
use gst_video::VideoRegionOfInterestMeta;

use crate::frame::{Rect, Size};
use crate::preprocess::FrameMapping;

/// `GST_META_TAG_VIDEO_STR`.
pub const TAG_VIDEO: &str = "video";
/// `GST_META_TAG_VIDEO_ORIENTATION_STR`.
pub const TAG_ORIENTATION: &str = "orientation";
/// `GST_META_TAG_VIDEO_SIZE_STR`.
pub const TAG_SIZE: &str = "size";

/// How far (in output pixels) an input edge may land from the output's edge
/// and still count as on it: half a pixel, what cutting a picture out of a
/// model output in whole pixels may leave, and room for the f32 rounding of
/// the preprocessing's scale. Bars or a crop that move the picture further
/// are not a resize.
const EDGE_TOLERANCE: f64 = 0.5 + 1e-2;

/// Where the input picture lands in the output frame: per axis,
/// `output = input * scale + offset`, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PictureMapping {
    /// Input frame size.
    pub input: Size,
    /// Output frame size.
    pub output: Size,
    /// Output pixels per input pixel, horizontally.
    pub scale_x: f64,
    /// Output pixels per input pixel, vertically.
    pub scale_y: f64,
    /// Output x of input x = 0.
    pub offset_x: f64,
    /// Output y of input y = 0.
    pub offset_y: f64,
}

impl PictureMapping {
    /// The whole input stretched over the whole output: a resize, or nothing
    /// when the sizes are equal.
    pub fn whole_frame(input: Size, output: Size) -> Self {
        Self {
            input,
            output,
            scale_x: output.width as f64 / input.width.max(1) as f64,
            scale_y: output.height as f64 / input.height.max(1) as f64,
            offset_x: 0.0,
            offset_y: 0.0,
        }
    }

    /// A frame placed into a model input of `model_input` as `placement`
    /// says (stretch, letterbox or crop), whose model output of
    /// `model_output` covers the whole input, and whose
    /// `shown` pixels of that output are the output frame: all of them, or
    /// a letterboxed frame's picture without the bars
    /// ([`FrameRegion::pixels_in`](crate::frame_output::FrameRegion::pixels_in)).
    pub fn through_model(
        placement: &FrameMapping,
        model_input: Size,
        model_output: Size,
        shown: Rect,
    ) -> Self {
        let kx = model_output.width as f64 / model_input.width.max(1) as f64;
        let ky = model_output.height as f64 / model_input.height.max(1) as f64;
        Self {
            input: placement.frame,
            output: shown.size(),
            scale_x: f64::from(placement.scale_x) * kx,
            scale_y: f64::from(placement.scale_y) * ky,
            offset_x: f64::from(placement.offset_x) * kx - shown.x as f64,
            offset_y: f64::from(placement.offset_y) * ky - shown.y as f64,
        }
    }

    /// Whether the output is the input, pixel for pixel.
    pub fn is_identity(&self) -> bool {
        self.input == self.output && self.is_whole_frame_scale()
    }

    /// Whether the whole input fills the whole output (each edge on the
    /// output's, to the nearest output pixel), so GStreamer's scale
    /// transform (in size to out size) moves every position right.
    pub fn is_whole_frame_scale(&self) -> bool {
        let fills = |scale: f64, offset: f64, from: usize, to: usize| {
            offset.abs() <= EDGE_TOLERANCE
                && (scale * from as f64 + offset - to as f64).abs() <= EDGE_TOLERANCE
        };
        fills(
            self.scale_x,
            self.offset_x,
            self.input.width,
            self.output.width,
        ) && fills(
            self.scale_y,
            self.offset_y,
            self.input.height,
            self.output.height,
        )
    }
}

/// What becomes of one meta of the input frame on the output frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaCarry {
    /// Copied as it is (GStreamer's copy transform).
    Copy,
    /// Scaled to the output size (GStreamer's video scale transform).
    Scale,
    /// Left behind.
    Drop,
}

/// Decides the fate of a meta whose API has `tags` (see the module docs).
pub fn meta_carry(tags: &[&str], mapping: &PictureMapping) -> MetaCarry {
    let understood = [TAG_VIDEO, TAG_ORIENTATION, TAG_SIZE];
    if !tags.iter().all(|tag| understood.contains(tag)) {
        return MetaCarry::Drop;
    }
    if !tags.contains(&TAG_SIZE) || mapping.is_identity() {
        MetaCarry::Copy
    } else if mapping.is_whole_frame_scale() {
        MetaCarry::Scale
    } else {
        MetaCarry::Drop
    }
}

/// Adds to `outbuf` the scaled form of `meta` (GStreamer's scale transform
/// from `in_info`'s size to `out_info`'s). A region of interest keeps its
/// param structures (`detection`, `classification`): GStreamer 1.22's
/// scale transform of ROIs leaves them out, so they are copied after it.
pub fn add_scaled_meta(
    meta: &gst::MetaRef<'_, gst::Meta>,
    outbuf: &mut gst::BufferRef,
    in_info: &gst_video::VideoInfo,
    out_info: &gst_video::VideoInfo,
) -> Result<(), glib::BoolError> {
    let existing: Vec<*const gst_video::ffi::GstVideoRegionOfInterestMeta> = outbuf
        .iter_meta::<VideoRegionOfInterestMeta>()
        .map(|m| m.as_ptr())
        .collect();
    meta.transform(
        outbuf,
        &gst_video::video_meta::VideoMetaTransformScale::new(in_info, out_info),
    )?;
    let Some(source) = meta.downcast_ref::<VideoRegionOfInterestMeta>() else {
        return Ok(());
    };
    // The new ROI is the one that was not there before the transform.
    if let Some(mut scaled) = outbuf
        .iter_meta_mut::<VideoRegionOfInterestMeta>()
        .find(|m| !existing.contains(&m.as_ptr()))
    {
        for params in source.params() {
            if scaled.param(params.name()).is_none() {
                scaled.add_param(params.to_owned());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::{DetectedObject, attach_detection, read_detections};

    const ROI_TAGS: [&str; 3] = [TAG_VIDEO, TAG_ORIENTATION, TAG_SIZE];

    fn size(width: usize, height: usize) -> Size {
        Size::new(width, height)
    }

    fn whole(width: usize, height: usize) -> Rect {
        Rect::whole(size(width, height))
    }

    fn placement(scale: (f32, f32), offset: (f32, f32), frame: Size) -> FrameMapping {
        FrameMapping {
            scale_x: scale.0,
            scale_y: scale.1,
            offset_x: offset.0,
            offset_y: offset.1,
            frame,
        }
    }

    #[test]
    fn the_same_size_copies_every_meta_a_model_leaves_valid() {
        let same = PictureMapping::whole_frame(size(64, 48), size(64, 48));
        assert!(same.is_identity());
        assert_eq!(meta_carry(&[], &same), MetaCarry::Copy);
        assert_eq!(meta_carry(&ROI_TAGS, &same), MetaCarry::Copy);
        assert_eq!(meta_carry(&[TAG_VIDEO], &same), MetaCarry::Copy);
    }

    #[test]
    fn a_resize_scales_size_tagged_metas_only() {
        let double = PictureMapping::whole_frame(size(50, 30), size(100, 60));
        assert!(!double.is_identity() && double.is_whole_frame_scale());
        assert_eq!(meta_carry(&ROI_TAGS, &double), MetaCarry::Scale);
        assert_eq!(meta_carry(&[], &double), MetaCarry::Copy);
        assert_eq!(
            meta_carry(&[TAG_VIDEO, TAG_ORIENTATION], &double),
            MetaCarry::Copy
        );
    }

    #[test]
    fn colorspace_memory_and_unknown_tags_are_dropped() {
        let same = PictureMapping::whole_frame(size(64, 48), size(64, 48));
        // GstVideoMeta's tags.
        let video_meta = [TAG_VIDEO, "memory", "colorspace", TAG_SIZE];
        assert_eq!(meta_carry(&video_meta, &same), MetaCarry::Drop);
        assert_eq!(
            meta_carry(&[TAG_VIDEO, "colorspace"], &same),
            MetaCarry::Drop
        );
        assert_eq!(meta_carry(&["audio"], &same), MetaCarry::Drop);
    }

    #[test]
    fn a_stretched_fixed_size_model_is_a_whole_frame_scale() {
        // 640x360 stretched into 256x256; the model gives 512x512.
        let stretch = placement((256.0 / 640.0, 256.0 / 360.0), (0.0, 0.0), size(640, 360));
        let mapping = PictureMapping::through_model(
            &stretch,
            size(256, 256),
            size(512, 512),
            whole(512, 512),
        );
        assert_eq!(
            (mapping.input, mapping.output),
            (size(640, 360), size(512, 512))
        );
        assert!(mapping.is_whole_frame_scale());
        assert!((mapping.scale_x - 0.8).abs() < 1e-6);
        assert_eq!(meta_carry(&ROI_TAGS, &mapping), MetaCarry::Scale);
    }

    #[test]
    fn a_letterboxed_picture_cut_out_of_the_output_is_a_whole_frame_scale() {
        // 640x480 letterboxed into 320x320: scale 1/2, on rows 40..280. A 2x
        // model gives 640x640, whose rows 80..560 are the picture.
        let letterbox = placement((0.5, 0.5), (0.0, 40.0), size(640, 480));
        let picture = Rect::new(0, 80, 640, 480);
        let mapping =
            PictureMapping::through_model(&letterbox, size(320, 320), size(640, 640), picture);
        assert_eq!(mapping.output, size(640, 480));
        assert_eq!((mapping.offset_x, mapping.offset_y), (0.0, 0.0));
        assert!(mapping.is_identity());
        assert_eq!(meta_carry(&ROI_TAGS, &mapping), MetaCarry::Copy);
        // 100x30 into 64x64 lands on rows 22..41; a 48x32 output (x 3/4,
        // y 1/2) has it on rows 11..20.5, cut out as 11..21: half a pixel
        // off at the bottom, still the whole picture.
        let letterbox = placement((0.64, 19.0 / 30.0), (0.0, 22.0), size(100, 30));
        let picture = Rect::new(0, 11, 48, 10);
        let mapping =
            PictureMapping::through_model(&letterbox, size(64, 64), size(48, 32), picture);
        assert!(mapping.is_whole_frame_scale() && !mapping.is_identity());
        assert!((mapping.scale_y * 30.0 + mapping.offset_y - 9.5).abs() < 1e-6);
        assert_eq!(meta_carry(&ROI_TAGS, &mapping), MetaCarry::Scale);
    }

    #[test]
    fn bars_or_a_crop_in_the_output_drop_boxes() {
        // 640x480 letterboxed into 320x320, the whole 640x640 output shown:
        // 80 rows of bars above the picture.
        let letterbox = placement((0.5, 0.5), (0.0, 40.0), size(640, 480));
        let mapping = PictureMapping::through_model(
            &letterbox,
            size(320, 320),
            size(640, 640),
            whole(640, 640),
        );
        assert!((mapping.offset_y - 80.0).abs() < 1e-9 && mapping.scale_y == 1.0);
        assert!(!mapping.is_whole_frame_scale());
        assert_eq!(meta_carry(&ROI_TAGS, &mapping), MetaCarry::Drop);
        // Metas that do not depend on the size still come along.
        assert_eq!(meta_carry(&[], &mapping), MetaCarry::Copy);
        // Center crop: 640x480 -> 320x320 at scale 2/3 cuts 80 frame pixels
        // left and right.
        let crop = placement((2.0 / 3.0, 2.0 / 3.0), (-160.0 / 3.0, 0.0), size(640, 480));
        let mapping =
            PictureMapping::through_model(&crop, size(320, 320), size(320, 320), whole(320, 320));
        assert_eq!(meta_carry(&ROI_TAGS, &mapping), MetaCarry::Drop);
        // One output pixel of bar (or of cut) is not a resize; half a pixel is.
        for (offset, carry) in [(1.0, MetaCarry::Drop), (0.5, MetaCarry::Scale)] {
            let shifted = PictureMapping {
                offset_y: offset,
                scale_y: (64.0 - offset) / 48.0,
                ..PictureMapping::whole_frame(size(96, 48), size(96, 64))
            };
            assert_eq!(meta_carry(&ROI_TAGS, &shifted), carry, "{offset}");
        }
    }

    #[test]
    fn a_letterbox_that_fits_exactly_is_a_plain_scale() {
        // 640x480 into 320x240: no bars, every mode is a stretch.
        let fit = placement((0.5, 0.5), (0.0, 0.0), size(640, 480));
        let mapping =
            PictureMapping::through_model(&fit, size(320, 240), size(640, 480), whole(640, 480));
        assert!(mapping.is_identity());
    }

    fn object() -> DetectedObject {
        DetectedObject {
            label: "square".into(),
            label_id: 1,
            confidence: 0.9,
            x_min: 10.0,
            y_min: 6.0,
            x_max: 25.0,
            y_max: 21.0,
            details: Default::default(),
        }
    }

    fn video_info(width: u32, height: u32) -> gst_video::VideoInfo {
        gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, width, height)
            .build()
            .unwrap()
    }

    #[test]
    fn a_scaled_detection_keeps_its_params_once_and_its_ids() {
        gst::init().unwrap();
        let mut input = gst::Buffer::new();
        attach_detection(input.get_mut().unwrap(), &object(), 50, 30);
        attach_detection(input.get_mut().unwrap(), &object(), 50, 30);
        let mut output = gst::Buffer::new();
        {
            let outbuf = output.get_mut().unwrap();
            for meta in input.iter_meta::<gst::Meta>() {
                add_scaled_meta(&meta, outbuf, &video_info(50, 30), &video_info(100, 60)).unwrap();
            }
        }
        let rois: Vec<_> = output.iter_meta::<VideoRegionOfInterestMeta>().collect();
        assert_eq!(rois.len(), 2);
        for (roi, id) in rois.iter().zip([0, 1]) {
            assert_eq!(roi.id(), id);
            assert_eq!(roi.rect(), (20, 12, 30, 30));
            assert_eq!(roi.params().count(), 1, "one detection param, not two");
        }
        // The normalised edges hold in the output frame as they are.
        let back = read_detections(&output, 100, 60);
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].label, "square");
        assert_eq!(back[0].label_id, 1);
        assert_eq!(back[0].confidence, 0.9);
        let edges = (back[0].x_min, back[0].y_min, back[0].x_max, back[0].y_max);
        assert!(
            (edges.0 - 20.0).abs() < 1e-9
                && (edges.1 - 12.0).abs() < 1e-9
                && (edges.2 - 50.0).abs() < 1e-9
                && (edges.3 - 42.0).abs() < 1e-9,
            "{edges:?}"
        );
    }

    #[test]
    fn a_meta_without_a_roi_scales_too() {
        gst::init().unwrap();
        let mut input = gst::Buffer::new();
        gst_video::VideoCropMeta::add(input.get_mut().unwrap(), (4, 2, 20, 10));
        let mut output = gst::Buffer::new();
        let meta = input.meta::<gst_video::VideoCropMeta>().unwrap();
        add_scaled_meta(
            meta.upcast_ref(),
            output.get_mut().unwrap(),
            &video_info(50, 30),
            &video_info(100, 60),
        )
        .unwrap();
        assert_eq!(
            output.meta::<gst_video::VideoCropMeta>().unwrap().rect(),
            (8, 4, 40, 20)
        );
    }
}
