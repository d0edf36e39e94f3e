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
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_transform::GenerateOutputSuccess;
use gst_base::subclass::prelude::*;

use super::settings::{Settings, param_specs};
use crate::element_support::{filter_pad_templates, lock};
use crate::frame::{PixelFormat, Size};
use crate::frame_output::{
    FrameRegion, OutputGeometry, OutputMapping, Renderer, Tiler, frame_dims_of_output,
    input_formats, output_formats,
};
use crate::inference::{BatchRunner, Batcher, OutputPicker, Released, probe_output_shape};
use crate::meta::carry::{MetaCarry, PictureMapping, add_scaled_meta, meta_carry};

use crate::model_core::ModelCore;
use crate::model_element::{CoreOf, ModelElement, ReleasedOf, model_object_impl};
use crate::model_settings::OpenedModel;
use crate::preprocess::{Preprocessor, ScaleMode};

use crate::video::{frame_view, pixel_format, running_time_ns, video_formats_of};

mod caps;
mod output;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dltransform",
        gst::DebugColorFlags::empty(),
        Some("Deep learning frame-to-frame transform"),
    )
});

/// The negotiated input and output frames.
struct Formats {
    in_info: gst_video::VideoInfo,
    out_info: gst_video::VideoInfo,
    in_format: PixelFormat,
    out_format: PixelFormat,
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
        let picker = OutputPicker {
            output_name: settings.model.output_name.clone(),
        };
        let shape = probe_output_shape(
            state.core.session.clone(),
            state.core.input.clone(),
            model_input,
            &picker,
        )
        .map_err(|e| e.to_string())?;
        let output =
            frame_dims_of_output(&shape, state.core.input.layout).map_err(|e| e.to_string())?;
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
        // buffers come from: no worker thread for a local model. A served
        // model's requests wait on the network, so they go out on workers.
        let in_flight = settings.model.batches_in_flight(&state.core.session, false);
        let batcher = Batcher::with_batches_in_flight(
            runner,
            preprocessor.mapping(),
            state.core.batch_size,
            in_flight,
        )
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
}

#[glib::object_subclass]
impl ObjectSubclass for DlTransform {
    const NAME: &'static str = "GstDlTransform";
    type Type = super::DlTransform;
    type ParentType = gst_base::BaseTransform;
}

impl ModelElement for DlTransform {
    type Settings = Settings;
    type Frame = gst::Buffer;
    type Decoder = OutputPicker;
    type State = State;

    fn settings(&self) -> &Mutex<Settings> {
        &self.settings
    }

    fn prepare(&self, settings: &Settings) -> Result<State, gst::ErrorMessage> {
        let settings_error =
            |msg: String| gst::error_msg!(gst::LibraryError::Settings, ("{}", msg));
        let OpenedModel { session, input, .. } = self.open_model(&settings.model)?;
        let model = settings.model.path.clone().unwrap_or_default();
        let tiling_warning = settings
            .check_tiling(&input, &model)
            .map_err(settings_error)?;
        if let Some(warning) = tiling_warning {
            gst::element_imp_warning!(self, gst::LibraryError::Settings, ("{}", warning));
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
            let view = output.view();
            let outbuf = self.render(renderer, formats, &view, layout, &frame)?;
            state.core.push_ready(outbuf);
        }
        Ok(())
    }
}

model_object_impl!(DlTransform, param_specs);

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
        self.model_start()
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.model_stop();
        *lock(&self.meta_carrier) = None;
        Ok(())
    }

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        self.transformed_caps(direction, caps, filter)
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
