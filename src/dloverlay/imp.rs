//! SECTION:element-dloverlay
//!
//! Reads the detections `dlinfer` attached (region-of-interest metas, with
//! their `detection` params) and, in place on the frame in its own format:
//!
//! - `mode=box` draws each box with its label and confidence, a colour per
//!   class (or `color`), and the frame's classes in the top-left corner;
//!   an instance mask as a translucent fill in that colour (`mask-opacity`),
//!   keypoints as dots (with COCO's skeleton for 17-point poses), and an
//!   oriented box as its rotated outline instead of the upright one;
//! - `mode=blur` or `mode=pixelate` anonymises each box (faces, plates);
//! - after `dltrack`: each tracked object's id (`#7 face 0.93`, one colour
//!   per id), its trail over the last `trail-length` frames, and the
//!   counting lines and zones with their running counts.
//!
//! Labels use a real font (DejaVu Sans, Debian's `fonts-dejavu-core`, found
//! at run time). Packed RGB formats, I420 and NV12 are drawn on directly: no
//! conversion of the whole frame.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dlinfer model=centerface.onnx decoder=centerface input-std=1 iou-threshold=0.3 ! \
//!     dloverlay mode=blur ! videoconvert ! autovideosink
//! ```

use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;

use crate::element_support::{filter_pad_templates, lock};
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;

use crate::frame::{FrameMut, PixelFormat};
use crate::meta::DetectedObject;
use crate::meta::classification::read_object_classes_by_roi;
use crate::meta::tracking::{read_object_tracks, tracking_meta};
use crate::meta::{read_classification, read_detections_with_ids};
use crate::objects::results_label;
use crate::overlay::tracks::{Trails, draw_polyline, draw_segment};
use crate::overlay::{
    DrawRect, Rgb, TextRenderer, blur_rect, class_color, contrast_text_color, draw_keypoints,
    draw_polygon, draw_rect_outline, label_position, pixelate_rect, tint_mask,
};
use crate::video::{FORMATS, frame_mut, pixel_format};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dloverlay",
        gst::DebugColorFlags::empty(),
        Some("Deep learning results overlay"),
    )
});

const DEFAULT_LINE_WIDTH: u32 = 2;
/// Masks show the picture through them.
const DEFAULT_MASK_OPACITY: f64 = 0.4;
const DEFAULT_DRAW_LABELS: bool = true;
const DEFAULT_TRAIL_LENGTH: u32 = 16;

/// `mode`: what is done to each detected region.
#[derive(Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlOverlayMode")]
pub enum OverlayMode {
    #[default]
    #[enum_value(name = "Box: draw the box with its label and confidence", nick = "box")]
    Box,
    #[enum_value(name = "Blur: blur the region (anonymisation)", nick = "blur")]
    Blur,
    #[enum_value(
        name = "Pixelate: pixelate the region (anonymisation)",
        nick = "pixelate"
    )]
    Pixelate,
}

#[derive(Debug, Clone)]
struct Settings {
    mode: OverlayMode,
    draw_labels: bool,
    line_width: u32,
    font_size: u32,
    color: u32,
    block_size: u32,
    trail_length: u32,
    mask_opacity: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: OverlayMode::default(),
            draw_labels: DEFAULT_DRAW_LABELS,
            line_width: DEFAULT_LINE_WIDTH,
            font_size: 0,
            color: 0,
            block_size: 0,
            trail_length: DEFAULT_TRAIL_LENGTH,
            mask_opacity: DEFAULT_MASK_OPACITY,
        }
    }
}

/// The `dloverlay` element.
#[derive(Default)]
pub struct DlOverlay {
    settings: Mutex<Settings>,
    /// Loaded at start; `None` when no font is installed (labels are then skipped, with a warning).
    font: Mutex<Option<Arc<TextRenderer>>>,
    /// Recent centres of tracked objects (mode=box).
    trails: Mutex<Trails>,
}

/// Labels scale with the frame unless `font-size` is set: 1/24 of the height, 10 px at least.
fn label_size(font_size: u32, frame_height: usize) -> f32 {
    if font_size > 0 {
        font_size as f32
    } else {
        (frame_height as f32 / 24.0).max(10.0)
    }
}

/// Anonymisation strength unless `block-size` is set: 1/8 of the box's longer side.
fn anonymise_size(block_size: u32, rect: &DrawRect) -> usize {
    if block_size > 0 {
        block_size as usize
    } else {
        (rect.width.max(rect.height) / 8).max(2) as usize
    }
}

fn rgb(argb: u32) -> Rgb {
    Rgb((argb >> 16) as u8, (argb >> 8) as u8, argb as u8)
}

#[glib::object_subclass]
impl ObjectSubclass for DlOverlay {
    const NAME: &'static str = "GstDlOverlay";
    type Type = super::DlOverlay;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for DlOverlay {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecEnum::builder_with_default("mode", OverlayMode::default())
                    .nick("Mode")
                    .blurb("What is done to each detected region: draw its box and label, blur it or pixelate it")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("draw-labels")
                    .nick("Draw labels")
                    .blurb("mode=box: write each detection's label and confidence above its box, and the frame's classes in the corner")
                    .default_value(DEFAULT_DRAW_LABELS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("mask-opacity")
                    .nick("Mask opacity")
                    .blurb("mode=box: opacity of the translucent fill drawn over instance masks (segmentation), in the label's colour; 0 draws none")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_MASK_OPACITY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("line-width")
                    .nick("Line width")
                    .blurb("mode=box: thickness of the box outline in pixels")
                    .minimum(1)
                    .maximum(64)
                    .default_value(DEFAULT_LINE_WIDTH)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("font-size")
                    .nick("Font size")
                    .blurb("Label text height in pixels; 0 = 1/24 of the frame height (10 px at least)")
                    .maximum(512)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("color")
                    .nick("Color")
                    .blurb("Box colour as 0xAARRGGBB (alpha ignored); 0 = a distinct colour per class")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("block-size")
                    .nick("Block size")
                    .blurb("mode=pixelate: cell size, mode=blur: radius, in pixels; 0 = 1/8 of the box's longer side")
                    .maximum(4096)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("trail-length")
                    .nick("Trail length")
                    .blurb("mode=box, after dltrack: draw each tracked object's path over this many frames; 0 = no trails")
                    .maximum(1000)
                    .default_value(DEFAULT_TRAIL_LENGTH)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "mode" => settings.mode = value.get().expect("type checked upstream"),
            "draw-labels" => settings.draw_labels = value.get().expect("type checked upstream"),
            "line-width" => settings.line_width = value.get().expect("type checked upstream"),
            "font-size" => settings.font_size = value.get().expect("type checked upstream"),
            "color" => settings.color = value.get().expect("type checked upstream"),
            "block-size" => settings.block_size = value.get().expect("type checked upstream"),
            "trail-length" => settings.trail_length = value.get().expect("type checked upstream"),
            "mask-opacity" => settings.mask_opacity = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "mode" => settings.mode.to_value(),
            "draw-labels" => settings.draw_labels.to_value(),
            "line-width" => settings.line_width.to_value(),
            "font-size" => settings.font_size.to_value(),
            "color" => settings.color.to_value(),
            "block-size" => settings.block_size.to_value(),
            "trail-length" => settings.trail_length.to_value(),
            "mask-opacity" => settings.mask_opacity.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for DlOverlay {}

impl ElementImpl for DlOverlay {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning results overlay",
                "Filter/Effect/Video",
                "Draws detections (boxes, labels, confidence) and classes on frames, or blurs / pixelates the detected regions",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list(FORMATS.iter().map(|(f, _)| *f))
                .build();
            filter_pad_templates(&caps, &caps)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for DlOverlay {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let font = match TextRenderer::from_system() {
            Ok(font) => Some(Arc::new(font)),
            Err(why) => {
                gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Init,
                    ("No font for labels; boxes are drawn without them: {}", why)
                );
                None
            }
        };
        *lock(&self.font) = font;
        *lock(&self.trails) = Trails::new(lock(&self.settings).trail_length as usize);
        Ok(())
    }
}

impl VideoFilterImpl for DlOverlay {
    fn transform_frame_ip(
        &self,
        frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let (width, height) = (frame.width(), frame.height());
        let (roi_ids, objects): (Vec<Option<i32>>, Vec<_>) =
            read_detections_with_ids(frame.buffer(), width, height)
                .into_iter()
                .unzip();
        let second_stage = read_object_classes_by_roi(frame.buffer());
        let tracks = read_object_tracks(frame.buffer());
        let counting = tracking_meta(frame.buffer()).filter(|_| settings.mode == OverlayMode::Box);
        let classes = if settings.mode == OverlayMode::Box && settings.draw_labels {
            read_classification(frame.buffer())
        } else {
            Vec::new()
        };
        if settings.mode == OverlayMode::Box {
            let centres: Vec<(u64, (f64, f64))> = objects
                .iter()
                .zip(&tracks)
                .filter_map(|(o, t)| {
                    t.map(|(id, _)| (id, ((o.x_min + o.x_max) / 2.0, (o.y_min + o.y_max) / 2.0)))
                })
                .collect();
            lock(&self.trails).record(&centres);
        }
        if objects.is_empty() && classes.is_empty() && counting.is_none() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let format: PixelFormat =
            pixel_format(frame.format()).ok_or(gst::FlowError::NotNegotiated)?;
        let font = lock(&self.font).clone().filter(|_| settings.draw_labels);
        let mut canvas = frame_mut(frame, format);
        if let Err(why) = canvas.check_planes() {
            gst::warning!(CAT, imp = self, "{:?} frame not drawn: {}", format, why);
            return Ok(gst::FlowSuccess::Ok);
        }
        let text_px = label_size(settings.font_size, height as usize);
        // The frame's classes go in the corner first, so object labels stay on top.
        if let Some(font) = &font {
            let mut y = 4;
            for class in &classes {
                let text = format!("{} {:.2}", class.label, class.confidence);
                let color = class_color(class.label_id);
                font.draw_label(
                    &mut canvas,
                    4,
                    y,
                    &text,
                    text_px,
                    contrast_text_color(color),
                    color,
                );
                y += font.measure(&text, text_px).height as i64 + 2;
            }
        }
        if let Some(counting) = &counting {
            draw_counting(
                &mut canvas,
                counting,
                font.as_deref(),
                text_px,
                settings.line_width as usize,
            );
        }
        let trails = lock(&self.trails);
        for (index, object) in objects.iter().enumerate() {
            let track = tracks.get(index).copied().flatten();
            let rect = DrawRect::new(
                object.x_min.round() as i64,
                object.y_min.round() as i64,
                (object.x_max - object.x_min).round() as i64,
                (object.y_max - object.y_min).round() as i64,
            );
            match settings.mode {
                OverlayMode::Blur => blur_rect(
                    &mut canvas,
                    rect,
                    anonymise_size(settings.block_size, &rect),
                ),
                OverlayMode::Pixelate => pixelate_rect(
                    &mut canvas,
                    rect,
                    anonymise_size(settings.block_size, &rect),
                ),
                OverlayMode::Box => {
                    // A tracked object keeps its colour by id, so two of a class are told apart.
                    let color = match (settings.color, track) {
                        (0, Some((id, _))) => class_color(id as i32),
                        (0, None) => class_color(object.label_id),
                        (argb, _) => rgb(argb),
                    };
                    let outlined = draw_instance(&mut canvas, object, &settings, color);
                    if !outlined {
                        draw_rect_outline(&mut canvas, rect, settings.line_width as usize, color);
                    }
                    if let Some((id, _)) = track {
                        let trail = trails.trail(id);
                        draw_polyline(
                            &mut canvas,
                            &trail,
                            false,
                            settings.line_width as usize,
                            color,
                        );
                    }
                    if let Some(font) = &font {
                        let mut text = match track {
                            Some((id, _)) => {
                                format!("#{id} {} {:.2}", object.label, object.confidence)
                            }
                            None => format!("{} {:.2}", object.label, object.confidence),
                        };
                        // Second-stage classes beside the object's own.
                        let results = second_stage
                            .iter()
                            .find(|(id, _)| roi_ids.get(index) == Some(&Some(*id)))
                            .and_then(|(_, results)| results_label(results));
                        if let Some(results) = results {
                            text.push_str(" | ");
                            text.push_str(&results);
                        }
                        let size = font.measure(&text, text_px);
                        let (x, y) = label_position(rect, size, width as usize);
                        font.draw_label(
                            &mut canvas,
                            x,
                            y,
                            &text,
                            text_px,
                            contrast_text_color(color),
                            color,
                        );
                    }
                }
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

/// Colour of counting lines and zones: white edges read on most video.
const COUNTING_COLOR: Rgb = Rgb(255, 255, 255);

/// Draws `dltrack`'s counting lines and zones with their running counts.
fn draw_counting(
    canvas: &mut crate::frame::FrameMut,
    counting: &gst::Structure,
    font: Option<&TextRenderer>,
    text_px: f32,
    line_width: usize,
) {
    let structures = |field: &str| -> Vec<gst::Structure> {
        counting
            .get::<gst::List>(field)
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.get::<gst::Structure>().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let number = |s: &gst::Structure, field: &str| s.get::<f64>(field).unwrap_or(f64::NAN);
    let count = |s: &gst::Structure, field: &str| s.get::<u64>(field).unwrap_or(0);
    let label = |canvas: &mut crate::frame::FrameMut, x: f64, y: f64, text: &str| {
        if let Some(font) = font
            && x.is_finite()
            && y.is_finite()
        {
            let background = Rgb(0, 0, 0);
            font.draw_label(
                canvas,
                x as i64,
                y as i64,
                text,
                text_px,
                COUNTING_COLOR,
                background,
            );
        }
    };
    for line in structures("lines") {
        let (a, b) = (
            (number(&line, "x1"), number(&line, "y1")),
            (number(&line, "x2"), number(&line, "y2")),
        );
        draw_segment(canvas, a, b, line_width, COUNTING_COLOR);
        let name = line.get::<String>("name").unwrap_or_default();
        let text = format!(
            "{name} in {} out {}",
            count(&line, "in"),
            count(&line, "out")
        );
        label(canvas, a.0.min(b.0), a.1.min(b.1), &text);
    }
    for zone in structures("zones") {
        let values: Vec<f64> = zone
            .get::<gst::List>("points")
            .map(|l| l.iter().filter_map(|v| v.get::<f64>().ok()).collect())
            .unwrap_or_default();
        let corners: Vec<(f64, f64)> = values.chunks_exact(2).map(|c| (c[0], c[1])).collect();
        draw_polyline(canvas, &corners, true, line_width, COUNTING_COLOR);
        let name = zone.get::<String>("name").unwrap_or_default();
        let text = format!("{name}: {}", count(&zone, "occupancy"));
        if let Some(&(x, y)) = corners.first() {
            label(canvas, x, y, &text);
        }
    }
}

/// Draws what `object` carries beyond its box: its mask as a translucent
/// fill, its keypoints (with COCO's skeleton), its rotated box. Returns
/// whether the rotated box stands in for the upright outline.
fn draw_instance(
    canvas: &mut FrameMut,
    object: &DetectedObject,
    settings: &Settings,
    color: Rgb,
) -> bool {
    let details = &object.details;
    if let Some(mask) = &details.mask {
        let alpha = (settings.mask_opacity.clamp(0.0, 1.0) * 255.0).round() as u8;
        tint_mask(canvas, mask, color, alpha);
    }
    if !details.keypoints.is_empty() {
        let points: Vec<(f64, f64, Option<f64>)> = details
            .keypoints
            .iter()
            .map(|point| (point.x, point.y, point.confidence))
            .collect();
        let radius = (settings.line_width as usize).max(2);
        draw_keypoints(canvas, &points, radius, color);
    }
    match &details.rotated {
        Some(rotated) => {
            draw_polygon(
                canvas,
                &rotated.corners(),
                settings.line_width as usize,
                color,
            );
            true
        }
        None => false,
    }
}
