//! dltransform's caps: the output size comes from the model, the formats
//! from what the mask mode can read and write.

use gst::subclass::prelude::*;

use super::DlTransform;
use crate::element_support::lock;
use crate::frame::{PixelFormat, Size};
use crate::frame_output::formats_for;
use crate::video::video_formats_of;

/// A caps `format` field listing `formats`, in their order.
fn format_list(formats: &[PixelFormat]) -> gst::List {
    gst::List::new(video_formats_of(formats).iter().map(|f| f.to_str()))
}

impl DlTransform {
    /// The caps on the other side of `caps` (see `transform_caps`): on the
    /// sink side the output frame's size is learned from the model.
    pub(super) fn transformed_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        let settings = lock(&self.settings).clone();
        let mut state = lock(&self.state);
        let mut result = gst::Caps::new_empty();
        for structure in caps.iter() {
            let frame = match (
                structure.get::<i32>("width"),
                structure.get::<i32>("height"),
            ) {
                (Ok(w), Ok(h)) if w > 0 && h > 0 => Some(Size::new(w as usize, h as usize)),
                _ => None,
            };
            // Before start (caps queries while linking) the model is not loaded yet: any size.
            let geometry = match (direction, state.as_mut(), frame) {
                (gst::PadDirection::Sink, Some(state), Some(frame)) => {
                    match self.geometry(state, &settings, frame) {
                        Ok(geometry) => Some(geometry),
                        Err(why) => {
                            gst::element_imp_error!(
                                self,
                                gst::CoreError::Negotiation,
                                ("Cannot run the model on {} frames: {}", frame, why)
                            );
                            return None;
                        }
                    }
                }
                _ => None,
            };
            let mask_mode = settings
                .mask_mode
                .with_background(settings.background_color);
            let formats = formats_for(mask_mode, geometry.map(|g| g.channels));
            let mut out = structure.to_owned();
            out.remove_fields(["colorimetry", "chroma-site", "format", "width", "height"]);
            match direction {
                gst::PadDirection::Sink => {
                    out.set("format", format_list(&formats.output));
                    match geometry {
                        Some(g) => {
                            out.set("width", g.output_frame.width as i32);
                            out.set("height", g.output_frame.height as i32);
                        }
                        None => {
                            out.set("width", gst::IntRange::new(1, i32::MAX));
                            out.set("height", gst::IntRange::new(1, i32::MAX));
                        }
                    }
                }
                _ => {
                    out.set("format", format_list(&formats.input));
                    out.set("width", gst::IntRange::new(1, i32::MAX));
                    out.set("height", gst::IntRange::new(1, i32::MAX));
                }
            }
            result
                .get_mut()
                .expect("new caps are writable")
                .append_structure(out);
        }
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&result, gst::CapsIntersectMode::First),
            None => result,
        })
    }
}
