//! `dltransform`'s properties: what they hold, their defaults and their
//! `gst-inspect-1.0` text. The model properties shared with the other model
//! element come from [`crate::model_settings`].

use gst::glib;
use gst::prelude::*;

use std::path::Path;

use crate::model::{ImageInput, InputElement};
use crate::model_element::ElementSettings;
use crate::model_settings::{ModelPropertyDocs, ModelSettings, model_param_specs};
use crate::props::{InputColorChoice, MaskModeChoice, ScaleModeChoice, nick};

const DEFAULT_OUTPUT_SCALE: f32 = 255.0;
const DEFAULT_OUTPUT_OFFSET: f32 = 0.0;
const DEFAULT_BACKGROUND: u32 = 0xff00ff00;
const DEFAULT_TILE_OVERLAP: u32 = 32;

/// What the properties hold.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(super) model: ModelSettings,
    pub(super) output_scale: f32,
    pub(super) output_offset: f32,
    pub(super) output_color: InputColorChoice,
    pub(super) normalize_output: bool,
    pub(super) mask_mode: MaskModeChoice,
    pub(super) background_color: u32,
    pub(super) tile_size: u32,
    pub(super) tile_overlap: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: ModelSettings::default(),
            output_scale: DEFAULT_OUTPUT_SCALE,
            output_offset: DEFAULT_OUTPUT_OFFSET,
            output_color: InputColorChoice::default(),
            normalize_output: false,
            mask_mode: MaskModeChoice::default(),
            background_color: DEFAULT_BACKGROUND,
            tile_size: 0,
            tile_overlap: DEFAULT_TILE_OVERLAP,
        }
    }
}

/// How dltransform uses the shared model properties.
const MODEL_DOCS: ModelPropertyDocs = ModelPropertyDocs {
    automatic_size: "the frame size (set it for models that need multiples of 8 or 32)",
    output_name: "The model output that becomes the frame; unset: the first output",
    batch: "Frames (or tiles) run together; frames are held until the batch is full, or run as a partial batch once batch-size frames wait behind it untransformed, and at EOS",
    scale_mode: "How a frame is fitted into the model input; with letterbox the output is the picture without the bars; masks always cover the whole frame; no effect with tile-size",
};

impl Settings {
    /// Whether `tile-size` can work with a model of this input (`model`
    /// names it in messages): an error naming the fix, or a warning about a
    /// setting tiling makes pointless.
    pub(super) fn check_tiling(
        &self,
        input: &ImageInput,
        model: &Path,
    ) -> Result<Option<String>, String> {
        if self.tile_size == 0 {
            return Ok(None);
        }
        if input.width.is_some() || input.height.is_some() {
            return Err(format!(
                "tile-size needs a fully convolutional model (dynamic height and width), but {} has input {}; unset tile-size",
                model.display(),
                input.shape_text()
            ));
        }
        if input.element != InputElement::F32 {
            return Err("tile-size needs a float32 model input".to_string());
        }
        if self.tile_overlap >= self.tile_size {
            return Err(format!(
                "tile-overlap={} must be smaller than tile-size={}; lower tile-overlap or raise tile-size",
                self.tile_overlap, self.tile_size
            ));
        }
        // Tiles are cut from the frame at its own size: nothing is scaled,
        // so there are no bars to add and no edges to cut.
        Ok((self.model.scale_mode != ScaleModeChoice::Stretch).then(|| {
            format!(
                "scale-mode={} has no effect with tile-size: tiles are cut from the frame at its own size; \
                 unset scale-mode, or unset tile-size to scale the frame to the model input",
                nick(self.model.scale_mode)
            )
        }))
    }
}

/// Every property, the shared model ones first.
pub(super) fn param_specs() -> Vec<glib::ParamSpec> {
    let mut specs = model_param_specs(&MODEL_DOCS);
    specs.extend(vec![
                glib::ParamSpecFloat::builder("output-scale")
                    .nick("Output scale").blurb("pixel = value * output-scale + output-offset, clamped to 0..255 (255 for outputs in 0..1, 127.5 with offset 127.5 for -1..1)")
                    .default_value(DEFAULT_OUTPUT_SCALE).mutable_ready().build(),
                glib::ParamSpecFloat::builder("output-offset")
                    .nick("Output offset").blurb("Added after output-scale; see output-scale")
                    .default_value(DEFAULT_OUTPUT_OFFSET).mutable_ready().build(),
                glib::ParamSpecEnum::builder_with_default("output-color", InputColorChoice::default())
                    .nick("Output color").blurb("Channel order of a 3-channel model output").mutable_ready().build(),
                glib::ParamSpecBoolean::builder("normalize-output")
                    .nick("Normalize output").blurb("Min-max normalise each output to 0..1 before output-scale (U2-Net style masks)")
                    .default_value(false).mutable_ready().build(),
                glib::ParamSpecEnum::builder_with_default("mask-mode", MaskModeChoice::default())
                    .nick("Mask mode").blurb("What a one-channel output (mask, depth) becomes, at the input frame's size").mutable_ready().build(),
                glib::ParamSpecUInt::builder("background-color")
                    .nick("Background color").blurb("mask-mode=cutout: the background as 0xAARRGGBB (alpha ignored)")
                    .default_value(DEFAULT_BACKGROUND).mutable_ready().build(),
                glib::ParamSpecUInt::builder("tile-size")
                    .nick("Tile size").blurb("Run a fully convolutional model on tiles of this many pixels square, blended across seams; 0 = whole frames")
                    .maximum(16384).mutable_ready().build(),
                glib::ParamSpecUInt::builder("tile-overlap")
                    .nick("Tile overlap").blurb("Pixels neighbouring tiles overlap by, cross-faded so seams do not show")
                    .maximum(4096).default_value(DEFAULT_TILE_OVERLAP).mutable_ready().build(),
            ]);
    specs
}

impl ElementSettings for Settings {
    fn model(&self) -> &ModelSettings {
        &self.model
    }

    fn model_mut(&mut self) -> &mut ModelSettings {
        &mut self.model
    }

    fn set(&mut self, name: &str, value: &glib::Value) {
        match name {
            "output-scale" => self.output_scale = value.get().expect("type checked upstream"),
            "output-offset" => self.output_offset = value.get().expect("type checked upstream"),
            "output-color" => self.output_color = value.get().expect("type checked upstream"),
            "normalize-output" => {
                self.normalize_output = value.get().expect("type checked upstream")
            }
            "mask-mode" => self.mask_mode = value.get().expect("type checked upstream"),
            "background-color" => {
                self.background_color = value.get().expect("type checked upstream")
            }
            "tile-size" => self.tile_size = value.get().expect("type checked upstream"),
            "tile-overlap" => self.tile_overlap = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn get(&self, name: &str) -> glib::Value {
        match name {
            "output-scale" => self.output_scale.to_value(),
            "output-offset" => self.output_offset.to_value(),
            "output-color" => self.output_color.to_value(),
            "normalize-output" => self.normalize_output.to_value(),
            "mask-mode" => self.mask_mode.to_value(),
            "background-color" => self.background_color.to_value(),
            "tile-size" => self.tile_size.to_value(),
            "tile-overlap" => self.tile_overlap.to_value(),
            _ => unimplemented!(),
        }
    }
}
