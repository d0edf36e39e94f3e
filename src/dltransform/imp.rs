//! SECTION:element-dltransform
//!
//! Runs a frame-to-frame ONNX model on every frame; the output frame is the
//! model's output tensor, mapped to pixels by `pixel = value * output-scale +
//! output-offset` (clamped to 0..255; the defaults fit outputs in 0..1).
//!
//! The output size comes from the model, learned by running it once on a
//! blank frame when caps are set: a fixed output shape gives fixed caps, a
//! fully convolutional model runs at the frame's size (or `input-width` x
//! `input-height`), and an upscaling model gives k x the frame. So
//! `dltransform ! videoconvert ! x264enc` negotiates without sizes in the
//! pipeline.
//!
//! `scale-mode` says how a frame goes into a model input of another shape.
//! With `letterbox` (the frame's aspect ratio kept, bars around it) the
//! output frame is the picture, without the bars: the picture's part of the
//! model's output, cut out in whole pixels (each edge rounded to the nearest
//! output pixel, halves up). 1280x720 frames through a 256x256 style
//! transfer model come out 256x144; through a 2x model with a 256x256 input,
//! 512x288. With `stretch` (the default) and `center-crop` the output is the
//! model's whole output: what it saw, the frame squeezed or its edges cut.
//!
//! One-channel outputs (masks, depth) come out at the input frame's size,
//! resampled: `mask-mode=gray` (the mask as a picture), `alpha` (the input
//! frame with the mask as alpha, RGBA) or `cutout` (the input where the mask
//! is high, `background-color` elsewhere). The mask stays on the picture
//! whatever `scale-mode` did: with `letterbox` only the frame's part of the
//! mask is used (the bars' part is dropped), with `center-crop` the cut
//! edges, which the model never saw, repeat the mask's edge.
//!
//! `tile-size` runs fully convolutional models tile by tile on frames too
//! large to run whole, with `tile-overlap` pixels blended across seams.
//!
//! Metadata from upstream follows the frames, as through GStreamer's own
//! video filters: detections and classifications (region-of-interest metas,
//! with their `detection` / `classification` params) are scaled to the
//! output size, metas that describe the content (embeddings, time codes)
//! are copied, and metas about the input's memory and colours are not (see
//! `gstdl::meta::carry`). A letterboxed picture is the whole input resized,
//! so its boxes are scaled too. ROIs are dropped only where the output is
//! not the whole input resized: a 3-channel output with
//! `scale-mode=center-crop` and a model input of another aspect ratio,
//! which cuts the frame's edges off (masks always cover the input frame, so
//! their ROIs stay).
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dlinfer model=yolov8n.onnx labels-file=coco.txt ! \
//!     dltransform model=upscale4x.onnx ! \
//!     dloverlay ! videoconvert ! autovideosink
//! ```
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dltransform model=u2netp.onnx input-width=320 input-height=320 \
//!         input-mean=123.675,116.28,103.53 input-std=58.395,57.12,57.375 \
//!         normalize-output=true mask-mode=cutout ! \
//!     videoconvert ! x264enc ! mp4mux ! filesink location=cutout.mp4
//! ```

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_transform::{
    GenerateOutputSuccess, InputBuffer, PrepareOutputBufferSuccess,
};
use gst_base::subclass::prelude::*;

use crate::decode::OutputView;
use crate::element_support::{
    filter_pad_templates, lock, refuse_while_running, set_model_property,
};
use crate::frame::{PixelFormat, Size, TensorDims};
use crate::frame_output::{
    FrameRegion, OutputGeometry, OutputMapping, Renderer, Tiler, formats_for, frame_dims_of_output,
    input_formats, output_formats,
};
use crate::inference::batch_runner::InputSlot;
use crate::inference::results::select_output;
use crate::inference::{BatchRunner, Batcher, FrameDecoder, InferenceError, Released};
use crate::meta::carry::{MetaCarry, PictureMapping, add_scaled_meta, meta_carry};
use crate::model::InputElement;
use crate::model_core::ModelCore;
use crate::model_element::{CoreOf, ModelElement, ReleasedOf};
use crate::model_settings::{ModelPropertyDocs, ModelSettings, OpenedModel, model_param_specs};
use crate::preprocess::{FrameMapping, Preprocessor, ScaleMode, TensorLayout};
use crate::props::{InputColorChoice, MaskModeChoice, ScaleModeChoice, nick};
use crate::video::{frame_mut, frame_view, pixel_format, running_time_ns, video_formats_of};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dltransform",
        gst::DebugColorFlags::empty(),
        Some("Deep learning frame-to-frame transform"),
    )
});

const DEFAULT_OUTPUT_SCALE: f32 = 255.0;
const DEFAULT_OUTPUT_OFFSET: f32 = 0.0;
const DEFAULT_BACKGROUND: u32 = 0xff00ff00;
const DEFAULT_TILE_OVERLAP: u32 = 32;

#[derive(Debug, Clone)]
struct Settings {
    model: ModelSettings,
    output_scale: f32,
    output_offset: f32,
    output_color: InputColorChoice,
    normalize_output: bool,
    mask_mode: MaskModeChoice,
    background_color: u32,
    tile_size: u32,
    tile_overlap: u32,
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
    batch: "Frames (or tiles) run together; frames are held until the batch is full (a partial batch runs at EOS)",
    scale_mode: "How a frame is fitted into the model input; with letterbox the output is the picture without the bars; masks always cover the whole frame; no effect with tile-size",
};

/// A caps `format` field listing `formats`, in their order.
fn format_list(formats: &[PixelFormat]) -> gst::List {
    gst::List::new(video_formats_of(formats).iter().map(|f| f.to_str()))
}

/// The negotiated input and output frames.
struct Formats {
    in_info: gst_video::VideoInfo,
    out_info: gst_video::VideoInfo,
    in_format: PixelFormat,
    out_format: PixelFormat,
}

/// The output a frame's run gave, copied out of the run, to render.
pub(crate) struct FrameOutput {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// Picks the output that becomes the frame (`output-name`, else the first).
pub(crate) struct OutputPicker {
    output_name: Option<String>,
}

impl FrameDecoder for OutputPicker {
    type Results = FrameOutput;

    fn decode(
        &self,
        outputs: &[OutputView<'_>],
        _mapping: &FrameMapping,
    ) -> Result<FrameOutput, InferenceError> {
        let output = select_output(outputs, self.output_name.as_deref(), &[])
            .map_err(InferenceError::Decode)?;
        Ok(FrameOutput {
            shape: output.shape.to_vec(),
            data: output.data.to_vec(),
        })
    }
}

struct Negotiated {
    formats: Formats,
    renderer: Renderer,
    tiler: Option<Tiler>,
    /// Where the input picture lands in the output frame.
    picture: PictureMapping,
}

/// What carrying metas to output frames needs. Apart from `State`, since
/// output buffers (and their metas) are made while `State` is locked.
struct MetaCarrier {
    in_info: gst_video::VideoInfo,
    out_info: gst_video::VideoInfo,
    picture: PictureMapping,
}

pub(crate) struct State {
    core: CoreOf<DlTransform>,
    geometries: HashMap<Size, OutputGeometry>,
    negotiated: Option<Negotiated>,
    /// Realtime mode: frames run and dropped, for QoS messages.
    processed: u64,
    dropped: u64,
}

/// The `dltransform` element.
#[derive(Default)]
pub struct DlTransform {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Locked after `state` where both are.
    meta_carrier: Mutex<Option<MetaCarrier>>,
}

impl DlTransform {
    fn prepare(&self, settings: &Settings) -> Result<State, gst::ErrorMessage> {
        let settings_error =
            |msg: String| gst::error_msg!(gst::LibraryError::Settings, ("{}", msg));
        let OpenedModel { session, input, .. } = self.open_model(&settings.model)?;
        let model = settings.model.path.clone().unwrap_or_default();
        if settings.tile_size > 0 {
            if input.width.is_some() || input.height.is_some() {
                return Err(settings_error(format!(
                    "tile-size needs a fully convolutional model (dynamic height and width), but {} has input {}; unset tile-size",
                    model.display(),
                    input.shape_text()
                )));
            }
            if input.element != InputElement::F32 {
                return Err(settings_error(
                    "tile-size needs a float32 model input".to_string(),
                ));
            }
            if settings.tile_overlap >= settings.tile_size {
                return Err(settings_error(format!(
                    "tile-overlap={} must be smaller than tile-size={}; lower tile-overlap or raise tile-size",
                    settings.tile_overlap, settings.tile_size
                )));
            }
            if settings.model.scale_mode != ScaleModeChoice::Stretch {
                // Tiles are cut from the frame at its own size: nothing is
                // scaled, so there are no bars to add and no edges to cut.
                gst::element_imp_warning!(
                    self,
                    gst::LibraryError::Settings,
                    (
                        "scale-mode={} has no effect with tile-size: tiles are cut from the frame at its own size; \
                         unset scale-mode, or unset tile-size to scale the frame to the model input",
                        nick(settings.model.scale_mode)
                    )
                );
            }
        }
        gst::info!(
            CAT,
            imp = self,
            "model {}: input {} {}, outputs {}",
            model.display(),
            input.name,
            input.shape_text(),
            session.info.outputs_text()
        );
        let batch_size = settings.model.batch_size.max(1) as usize;
        Ok(State {
            core: ModelCore::new(session, input, batch_size),
            geometries: HashMap::new(),
            negotiated: None,
            processed: 0,
            dropped: 0,
        })
    }

    /// What the model makes of frames of `frame` size (cached per size).
    fn geometry(
        &self,
        state: &mut State,
        settings: &Settings,
        frame: Size,
    ) -> Result<OutputGeometry, String> {
        if let Some(geometry) = state.geometries.get(&frame) {
            return Ok(*geometry);
        }
        let tiled = settings.tile_size > 0;
        let model_input = if tiled {
            OutputGeometry::tile_input(frame, settings.tile_size as usize)
        } else {
            state
                .core
                .input
                .resolve_size(settings.model.requested_size(), frame, 1)?
        };
        let output = self.probe_output(state, settings, model_input)?;
        let geometry = OutputGeometry::new(
            frame,
            model_input,
            output,
            tiled,
            settings.model.scale_mode.into(),
        )
        .map_err(|e| e.to_string())?;
        gst::info!(
            CAT,
            imp = self,
            "frames {}: model input {}, output {:?}",
            frame,
            model_input,
            geometry
        );
        state.geometries.insert(frame, geometry);
        Ok(geometry)
    }

    /// The model's output for one input of `model_input` size, learned by
    /// running it once on a blank input.
    fn probe_output(
        &self,
        state: &State,
        settings: &Settings,
        model_input: Size,
    ) -> Result<TensorDims, String> {
        let mut runner = BatchRunner::new(
            state.core.session.clone(),
            state.core.input.clone(),
            model_input,
            1,
        );
        match runner.slot(0) {
            InputSlot::F32(slot) => slot.fill(0.0),
            InputSlot::U8(slot) => slot.fill(0),
        }
        let layout = state.core.input.layout;
        let wanted = settings.model.output_name.as_deref();
        let mut dims = Err("the model produced no outputs".to_string());
        runner
            .run(1, |_, outputs| {
                dims = select_output(outputs, wanted, &[]).and_then(|output| {
                    frame_dims_of_output(output.shape, layout).map_err(|e| e.to_string())
                });
            })
            .map_err(|e| e.to_string())?;
        dims
    }

    fn negotiate(
        &self,
        state: &mut State,
        in_info: &gst_video::VideoInfo,
        out_info: &gst_video::VideoInfo,
    ) -> Result<Negotiated, String> {
        let settings = lock(&self.settings).clone();
        let frame = Size::new(in_info.width() as usize, in_info.height() as usize);
        let geometry = self.geometry(state, &settings, frame)?;
        let in_format = pixel_format(in_info.format())
            .filter(|p| *p != PixelFormat::Gray8)
            .ok_or_else(|| {
                format!(
                    "unsupported input format {:?}; put videoconvert before dltransform",
                    in_info.format()
                )
            })?;
        let out_format = pixel_format(out_info.format())
            .ok_or_else(|| format!("unsupported output format {:?}", out_info.format()))?;
        let tiled = settings.tile_size > 0;
        // Tiling preprocesses the whole frame at its own size; tiles are cut from it.
        let preprocessed = if tiled { frame } else { geometry.model_input };
        let mut spec = settings
            .model
            .preprocess_spec(&state.core.input, preprocessed, in_info, 0);
        if tiled {
            spec.scale_mode = ScaleMode::Stretch;
        }
        let preprocessor = Preprocessor::new(in_format, frame, &spec).map_err(|e| e.to_string())?;
        let runner = BatchRunner::new(
            state.core.session.clone(),
            state.core.input.clone(),
            geometry.model_input,
            state.core.batch_size,
        );
        let tiler = if tiled {
            let tiler = Tiler::new(
                frame,
                settings.tile_size as usize,
                settings.tile_overlap as usize,
                geometry.tile_scale,
                state.core.input.layout,
            )
            .map_err(|e| e.to_string())?;
            Some(tiler)
        } else {
            None
        };
        // A mask is laid over the frame as the frame was laid into the model
        // input (tiles are blended back into the whole frame already).
        let mask_region = if tiled {
            FrameRegion::whole()
        } else {
            FrameRegion::from_mapping(&preprocessor.mapping(), geometry.model_input)
        };
        let renderer = Renderer::new(
            OutputMapping {
                scale: settings.output_scale,
                offset: settings.output_offset,
                channel_order: settings.output_color.into(),
                layout: state.core.input.layout,
            },
            geometry.picture,
            mask_region,
            settings
                .mask_mode
                .with_background(settings.background_color),
            settings.normalize_output,
        );
        let output = Size::new(out_info.width() as usize, out_info.height() as usize);
        let picture = if geometry.channels == 1 || tiled {
            // Masks come out over the input frame; tiles make k times the frame.
            PictureMapping::whole_frame(frame, output)
        } else {
            PictureMapping::through_model(
                &preprocessor.mapping(),
                geometry.model_input,
                geometry.model_output,
                geometry.picture.pixels_in(geometry.model_output),
            )
        };
        // Frames are rendered on the streaming thread, where their output
        // buffers come from: no worker thread.
        let batcher = Batcher::new(runner, preprocessor.mapping(), state.core.batch_size, false)
            .map_err(|e| e.to_string())?;
        state.core.negotiate(preprocessor, batcher);
        Ok(Negotiated {
            formats: Formats {
                in_info: in_info.clone(),
                out_info: out_info.clone(),
                in_format,
                out_format,
            },
            renderer,
            tiler,
            picture,
        })
    }

    fn stream_error(&self, what: &str, why: impl std::fmt::Display) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Failed, ("{}: {}", what, why));
        gst::FlowError::Error
    }

    /// An output buffer for `input` from the negotiated pool, with its timestamps.
    fn output_buffer(&self, input: &gst::Buffer) -> Result<gst::Buffer, gst::FlowError> {
        match self.parent_prepare_output_buffer(InputBuffer::Readable(input.as_ref()))? {
            PrepareOutputBufferSuccess::Buffer(buffer) => Ok(buffer),
            PrepareOutputBufferSuccess::InputBuffer => {
                Err(self.stream_error("Cannot allocate an output frame", "in-place output"))
            }
        }
    }

    /// Renders one frame's model output (in `layout`) into a new output
    /// buffer for `input`.
    fn render(
        &self,
        renderer: &mut Renderer,
        formats: &Formats,
        output: &OutputView<'_>,
        layout: TensorLayout,
        input: &gst::Buffer,
    ) -> Result<gst::Buffer, gst::FlowError> {
        let mut outbuf = self.output_buffer(input)?;
        {
            let in_frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                input.as_ref(),
                &formats.in_info,
            )
            .map_err(|_| self.stream_error("Cannot map a frame", "readable"))?;
            let mut out_frame = gst_video::VideoFrameRef::from_buffer_ref_writable(
                outbuf.make_mut(),
                &formats.out_info,
            )
            .map_err(|_| self.stream_error("Cannot map the output frame", "writable"))?;
            renderer
                .render(
                    output.data,
                    output.shape,
                    layout,
                    &frame_view(&in_frame, formats.in_format),
                    &mut frame_mut(&mut out_frame, formats.out_format),
                )
                .map_err(|e| self.stream_error("Cannot turn the model's output into a frame", e))?;
        }
        Ok(outbuf)
    }

    /// Runs one frame tile by tile and blends the tiles into its output.
    fn run_tiled(
        &self,
        state: &mut State,
        input: &gst::Buffer,
    ) -> Result<gst::Buffer, gst::FlowError> {
        let wanted = lock(&self.settings).model.output_name.clone();
        let per_run = state.core.batch_size.max(1);
        let negotiated = state
            .negotiated
            .as_mut()
            .ok_or(gst::FlowError::NotNegotiated)?;
        let Negotiated {
            formats,
            renderer,
            tiler,
            ..
        } = negotiated;
        let (preprocessor, batcher) = state
            .core
            .negotiated_parts()
            .ok_or(gst::FlowError::NotNegotiated)?;
        let runner = batcher.runner();
        let tiler = tiler.as_mut().ok_or(gst::FlowError::NotNegotiated)?;
        {
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                input.as_ref(),
                &formats.in_info,
            )
            .map_err(|_| self.stream_error("Cannot map a frame", "readable"))?;
            preprocessor
                .run_f32(&frame_view(&frame, formats.in_format), tiler.start_frame())
                .map_err(|e| self.stream_error("Cannot preprocess a frame", e))?;
        }
        let tiles = tiler.plan().tiles().len();
        for first in (0..tiles).step_by(per_run) {
            let chunk = first..tiles.min(first + per_run);
            for (slot, tile) in chunk.clone().enumerate() {
                let InputSlot::F32(out) = runner.slot(slot) else {
                    return Err(gst::FlowError::NotNegotiated);
                };
                tiler
                    .cut_tile(tile, out)
                    .map_err(|e| self.stream_error("Cannot cut a tile", e))?;
            }
            let mut failure = None;
            runner
                .run(chunk.len(), |slot, views| {
                    let added = select_output(views, wanted.as_deref(), &[]).and_then(|view| {
                        tiler
                            .add_output(first + slot, view.data, view.shape)
                            .map_err(|e| e.to_string())
                    });
                    if let Err(why) = added {
                        failure.get_or_insert(why);
                    }
                })
                .map_err(|why| self.stream_error("Inference failed", why))?;
            if let Some(why) = failure {
                return Err(self.stream_error("Cannot blend a tile", why));
            }
        }
        let (blended, shape) = tiler
            .finish()
            .map_err(|e| self.stream_error("Cannot blend the tiles", e))?;
        let view = OutputView {
            name: "tiled",
            shape: &shape,
            data: blended,
        };
        self.render(renderer, formats, &view, TensorLayout::Nchw, input)
    }

    fn post_dropped(
        &self,
        buffer: &gst::Buffer,
        running_time: Option<u64>,
        processed: u64,
        dropped: u64,
    ) {
        let segment = self.obj().segment();
        let stream_time = segment
            .downcast_ref::<gst::ClockTime>()
            .and_then(|s| buffer.pts().and_then(|pts| s.to_stream_time(pts)));
        let message = gst::message::Qos::builder(false)
            .running_time(running_time.map(gst::ClockTime::from_nseconds))
            .stream_time(stream_time)
            .timestamp(buffer.pts())
            .duration(buffer.duration())
            .stats(
                gst::format::Buffers::from_u64(processed),
                gst::format::Buffers::from_u64(dropped),
            )
            .src(&*self.obj())
            .build();
        let _ = self.obj().post_message(message);
    }
}

#[glib::object_subclass]
impl ObjectSubclass for DlTransform {
    const NAME: &'static str = "GstDlTransform";
    type Type = super::DlTransform;
    type ParentType = gst_base::BaseTransform;
}

impl ModelElement for DlTransform {
    type Frame = gst::Buffer;
    type Decoder = OutputPicker;
    type State = State;

    fn model_state(&self) -> &Mutex<Option<State>> {
        &self.state
    }

    fn core(state: &mut State) -> &mut CoreOf<Self> {
        &mut state.core
    }

    fn batch_decoder(&self, _state: &State) -> OutputPicker {
        OutputPicker {
            output_name: lock(&self.settings).model.output_name.clone(),
        }
    }

    /// Renders each run frame's output into an output buffer, ready in order.
    fn release(
        &self,
        state: &mut State,
        released: Vec<ReleasedOf<Self>>,
    ) -> Result<(), gst::FlowError> {
        let layout = state.core.input.layout;
        let Negotiated {
            formats, renderer, ..
        } = state
            .negotiated
            .as_mut()
            .ok_or(gst::FlowError::NotNegotiated)?;
        for Released { frame, results } in released {
            let Some(results) = results else {
                continue;
            };
            let output = results.map_err(|e| self.core_failed(e.into()))?;
            let view = OutputView {
                name: "output",
                shape: &output.shape,
                data: &output.data,
            };
            let outbuf = self.render(renderer, formats, &view, layout, &frame)?;
            state.core.push_ready(outbuf);
        }
        Ok(())
    }
}

impl ObjectImpl for DlTransform {
    fn constructed(&self) {
        self.parent_constructed();
        // Realtime by default: QoS events only come from sinks that sync to
        // the clock and are late, where dropping beats falling behind.
        self.obj().set_qos(true);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
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
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if refuse_while_running(self.obj().upcast_ref(), pspec) {
            return;
        }
        let mut settings = lock(&self.settings);
        if set_model_property(self.obj().upcast_ref(), &mut settings.model, pspec, value) {
            return;
        }
        match pspec.name() {
            "output-scale" => settings.output_scale = value.get().expect("type checked upstream"),
            "output-offset" => settings.output_offset = value.get().expect("type checked upstream"),
            "output-color" => settings.output_color = value.get().expect("type checked upstream"),
            "normalize-output" => {
                settings.normalize_output = value.get().expect("type checked upstream")
            }
            "mask-mode" => settings.mask_mode = value.get().expect("type checked upstream"),
            "background-color" => {
                settings.background_color = value.get().expect("type checked upstream")
            }
            "tile-size" => settings.tile_size = value.get().expect("type checked upstream"),
            "tile-overlap" => settings.tile_overlap = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "active-provider" {
            return self.active_provider();
        }
        let settings = lock(&self.settings);
        if let Some(value) = settings.model.property(pspec.name()) {
            return value;
        }
        match pspec.name() {
            "output-scale" => settings.output_scale.to_value(),
            "output-offset" => settings.output_offset.to_value(),
            "output-color" => settings.output_color.to_value(),
            "normalize-output" => settings.normalize_output.to_value(),
            "mask-mode" => settings.mask_mode.to_value(),
            "background-color" => settings.background_color.to_value(),
            "tile-size" => settings.tile_size.to_value(),
            "tile-overlap" => settings.tile_overlap.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for DlTransform {}

impl ElementImpl for DlTransform {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning frame transform",
                "Filter/Effect/Video",
                "Runs a frame-to-frame ONNX model (GAN, style transfer, super-resolution, matting); the output frames are the model's output",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let sink = gst_video::VideoCapsBuilder::new()
                .format_list(video_formats_of(&input_formats()))
                .build();
            let src = gst_video::VideoCapsBuilder::new()
                .format_list(video_formats_of(&output_formats()))
                .build();
            filter_pad_templates(&sink, &src)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for DlTransform {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::NeverInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let state = self.prepare(&settings)?;
        *lock(&self.state) = Some(state);
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        *lock(&self.meta_carrier) = None;
        Ok(())
    }

    fn transform_caps(
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

    fn src_event(&self, event: gst::Event) -> bool {
        self.model_src_event(event)
    }

    fn unit_size(&self, caps: &gst::Caps) -> Option<usize> {
        // One unit is one frame; input and output frames differ in size.
        gst_video::VideoInfo::from_caps(caps)
            .ok()
            .map(|info| info.size())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let in_info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Cannot read caps {}", incaps))?;
        let out_info = gst_video::VideoInfo::from_caps(outcaps)
            .map_err(|_| gst::loggable_error!(CAT, "Cannot read caps {}", outcaps))?;
        {
            let mut state = lock(&self.state);
            let state = state
                .as_mut()
                .ok_or_else(|| gst::loggable_error!(CAT, "Caps before start"))?;
            match self.negotiate(state, &in_info, &out_info) {
                Ok(negotiated) => {
                    *lock(&self.meta_carrier) = Some(MetaCarrier {
                        in_info: in_info.clone(),
                        out_info: out_info.clone(),
                        picture: negotiated.picture,
                    });
                    state.negotiated = Some(negotiated);
                }
                Err(why) => {
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Negotiation,
                        ("Cannot transform {} into {}: {}", incaps, outcaps, why)
                    );
                    return Err(gst::loggable_error!(CAT, "{}", why));
                }
            }
        }
        self.parent_set_caps(incaps, outcaps)
    }

    /// Called for each meta of an input frame when its output buffer is made
    /// (the base class never offers pool or memory metas); returns whether
    /// the base class copies it. `meta_carry` decides, and says why.
    fn transform_meta<'a>(
        &self,
        outbuf: &mut gst::BufferRef,
        meta: gst::MetaRef<'a, gst::Meta>,
        _inbuf: &'a gst::BufferRef,
    ) -> bool {
        let carrier = lock(&self.meta_carrier);
        let Some(carrier) = carrier.as_ref() else {
            return false;
        };
        let tags: Vec<&str> = meta.tags().iter().map(|tag| tag.as_str()).collect();
        match meta_carry(&tags, &carrier.picture) {
            MetaCarry::Copy => true,
            MetaCarry::Scale => {
                if let Err(why) =
                    add_scaled_meta(&meta, outbuf, &carrier.in_info, &carrier.out_info)
                {
                    gst::debug!(CAT, imp = self, "{} not scaled: {}", meta.api(), why);
                }
                false
            }
            MetaCarry::Drop => {
                gst::log!(
                    CAT,
                    imp = self,
                    "{} (tags {:?}) not carried to {:?}",
                    meta.api(),
                    tags,
                    carrier.picture
                );
                false
            }
        }
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        self.model_sink_event(event)
    }

    fn submit_input_buffer(
        &self,
        _is_discont: bool,
        inbuf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = lock(&self.state);
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        // Realtime: a frame the sink would show late is dropped before the
        // model runs, and a QoS message says so, as GStreamer filters do.
        let running_time = running_time_ns(&self.obj().segment(), &inbuf);
        if self.obj().is_qos() && state.core.is_late(running_time) {
            state.dropped += 1;
            self.post_dropped(&inbuf, running_time, state.processed, state.dropped);
            return Ok(gst::FlowSuccess::Ok);
        }
        state.processed += 1;
        let negotiated = state
            .negotiated
            .as_ref()
            .ok_or(gst::FlowError::NotNegotiated)?;
        if negotiated.tiler.is_some() {
            let output = self.run_tiled(state, &inbuf)?;
            state.core.push_ready(output);
            return Ok(gst::FlowSuccess::Ok);
        }
        {
            let formats = &negotiated.formats;
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(
                inbuf.as_ref(),
                &formats.in_info,
            )
            .map_err(|_| self.stream_error("Cannot map a frame", "readable"))?;
            let view = frame_view(&frame, formats.in_format);
            state
                .core
                .preprocess(&view)
                .map_err(|e| self.core_failed(e))?;
        }
        self.queue_frame(state, inbuf, true)?;
        Ok(gst::FlowSuccess::Ok)
    }

    fn generate_output(&self) -> Result<GenerateOutputSuccess, gst::FlowError> {
        self.next_output()
    }
}
