//! SECTION:element-dlinfer
//!
//! Runs any ONNX model on video frames (every frame, or every Nth with
//! `inference-interval`, in batches of `batch-size`) and attaches the results
//! to the frames, which pass through unchanged:
//!
//! - detections (`decoder=yolov8|yolov5|ssd|centerface`) as one
//!   `GstVideoRegionOfInterestMeta` per box, with a `detection` param
//!   structure (`label`, `label-id`, `confidence`, `x-min`, `y-min`, `x-max`,
//!   `y-max` normalised to 0..1): the shape DL Streamer and GStreamer's own
//!   ONNX detector use;
//! - classes (`decoder=classification`, `top-k`, `softmax`) as a frame-sized
//!   ROI with `classification` param structures, best first;
//! - embeddings (`decoder=features`, `output-name`, `normalize`) and raw
//!   outputs (`decoder=none`) as a `GstDlTensorMeta` custom meta whose
//!   structure holds the name, shape and f32 data.
//!
//! - keypoints (`decoder=yolov8pose`, CenterFace's landmarks), rotated boxes
//!   (`decoder=yolov8obb`) and instance masks (`decoder=yolov8seg`) as
//!   `keypoints`, `rotated-box` and `mask` param structures on the object's
//!   ROI (the README's metadata contract).
//!
//! A model that describes itself (an Ultralytics export's `task`, `names`,
//! `imgsz`, `kpt_shape` in its `metadata_props`) runs with `model=` alone:
//! what the properties set wins, then the file's metadata, then the output
//! shapes, then the defaults; `model-info` says what was decided and why.
//!
//! Frames are converted and scaled in one pass into the model's input
//! (`scale-mode`, `input-color`, `input-mean`, `input-std`); boxes are mapped
//! back to frame pixels. With `post-messages=true` each processed frame also
//! posts an element message named `dlinfer` with its results (`frame`,
//! `pts`, and a list of `objects`, `classes` or `tensors`); an object's
//! `x-min`, `y-min`, `x-max`, `y-max` there are in frame pixels, ready to
//! print or draw, while the meta's `detection` params hold them normalised
//! to 0..1 as DL Streamer's consumers expect.
//!
//! With `inference-region=objects` the model runs on each object upstream
//! elements detected (their ROI metas) instead of the frame: `object-class`
//! and `object-min-size` pick the objects, `object-padding` grows each box
//! before it is cropped from the frame in one pass (the crop is fitted into
//! the model input as a frame would be), and crops of consecutive frames are
//! batched together. Classes go on the object's ROI as a param structure
//! named `results-name`; features and raw tensors into a tensor meta naming
//! the ROI in `roi-id`. With track ids from `dltrack`, `reclassify-interval`
//! re-infers an object only every Nth frame it is seen.
//!
//! The model runs on a thread of its own (`async-inference`, on by default),
//! so upstream decodes and this element preprocesses the next frames while a
//! batch is inferred; frames still leave in order, up to one batch later.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=carphone.mp4 ! decodebin ! videoconvert ! \
//!     dlinfer model=centerface.onnx decoder=centerface input-std=1 iou-threshold=0.3 ! \
//!     dlinfer inference-region=objects object-padding=0.1 model=efficientnet_lite0.onnx \
//!         decoder=features output-name=features input-mean=127 input-std=128 ! \
//!     fakesink
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_transform::GenerateOutputSuccess;
use gst_base::subclass::prelude::*;

use super::settings::{Settings, param_specs};
use crate::decode::{self, DecoderKind, DetectionParams, Produces};
use crate::element_support::{filter_pad_templates, lock};
use crate::frame::Size;
use crate::inference::{
    BatchRunner, Batcher, FrameResults, PostprocessSettings, Released, is_inference_frame,
};
use crate::meta::tracking::read_object_tracks;
use crate::meta::{
    DetectedObject, MetaFormat, SkipReason, adopt_analytics_objects, attach_classification,
    attach_detection_as, attach_object_classes, attach_object_tensor, attach_tensor,
    mark_not_inferred, mark_skipped, read_detections_with_ids,
};
use crate::model::image_input::DYNAMIC_SIZE_MULTIPLE;
use crate::model::labels::load_labels;
use crate::model::zero_config::{self, UserChoices};
use crate::model_core::{CoreError, ModelCore, frames_held_in_flight};
use crate::model_element::{CoreOf, ModelElement, ReleasedOf, model_object_impl};
use crate::model_settings::OpenedModel;
use crate::objects::{
    CropBatchSpan, InferenceRegion, ObjectCrop, ObjectFilter, ObjectResults, PendingResults,
    Reclassify, ReclassifyMemory, check_padding, check_results_name, select_crops,
};
use crate::preprocess::{PreprocessSpec, Preprocessor, ScaleMode};

use crate::video::{FORMATS, frame_view, pixel_format, running_time_ns};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlinfer",
        gst::DebugColorFlags::empty(),
        Some("Deep learning inference"),
    )
});

/// Letterbox border value, the grey YOLO exports are trained with.
const LETTERBOX_PAD: u8 = 114;

/// What waits in the batch queue: frames and, with
/// `inference-region=objects`, the crops of each frame's objects, which go
/// just before their frame (so their results are there when it leaves).
pub(crate) enum HeldItem {
    /// A frame, inferred itself (frame region) or not, with the results
    /// its tracked objects keep from earlier frames (`reclassify-interval`).
    Frame {
        buffer: gst::Buffer,
        index: u64,
        reused: Vec<ObjectResults<FrameResults>>,
    },
    /// One object's crop, a batch item of its own.
    Crop(ObjectCrop),
}

/// Frames without any object before `objects` mode says so.
const NO_OBJECTS_WARNING_FRAMES: u64 = 30;

/// What `inference-region=objects` holds between start and stop.
pub(crate) struct ObjectMode {
    filter: ObjectFilter,
    padding: f64,
    results_name: String,
    /// How a crop becomes the model's input (the region is set per crop).
    crop_spec: Option<PreprocessSpec>,
    /// How many frames the crops waiting for a batch span.
    span: CropBatchSpan,
    pending: PendingResults<FrameResults>,
    /// Which tracked objects are inferred on this frame.
    memory: ReclassifyMemory<FrameResults>,
    /// Crops queued whose results have not come back, oldest first.
    unreleased: VecDeque<ObjectCrop>,
    /// Whether any frame carried an object.
    objects_seen: bool,
    /// Whether the "no objects upstream" warning was posted.
    warned: bool,
}

/// What exists between start and stop.
pub(crate) struct State {
    core: CoreOf<DlInfer>,
    decoder: DecoderKind,
    /// What the declared output shapes fix for reading every frame.
    layout: decode::OutputLayout,
    labels: Arc<[String]>,
    /// The input size asked of a dynamic input, as decided at start.
    input_size: (Option<usize>, Option<usize>),
    /// How frames are fitted into the input, as decided at start.
    scale_mode: ScaleMode,
    /// The negotiated frames.
    info: Option<gst_video::VideoInfo>,
    frames_seen: u64,
    /// Which metas carry the results.
    meta_format: MetaFormat,
    /// `Some` with `inference-region=objects`.
    objects: Option<ObjectMode>,
}

/// The `dlinfer` element.
#[derive(Default)]
pub struct DlInfer {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

impl DlInfer {
    /// Builds the preprocessor and batch for frames of these caps.
    fn negotiate(&self, state: &mut State, info: &gst_video::VideoInfo) -> Result<(), String> {
        let settings = lock(&self.settings).clone();
        let format = pixel_format(info.format()).ok_or_else(|| {
            format!(
                "unsupported video format {:?}; put videoconvert before dlinfer",
                info.format()
            )
        })?;
        let core = &mut state.core;
        let frame = Size::new(info.width() as usize, info.height() as usize);
        let input_size = core
            .input
            .resolve_size(state.input_size, frame, DYNAMIC_SIZE_MULTIPLE)?;
        let mut spec = settings
            .model
            .preprocess_spec(&core.input, input_size, info, LETTERBOX_PAD);
        spec.scale_mode = state.scale_mode;
        if let Some(objects) = state.objects.as_mut() {
            objects.crop_spec = Some(spec.clone());
        }
        let preprocessor = Preprocessor::new(format, frame, &spec).map_err(|e| e.to_string())?;
        let runner = BatchRunner::new(
            core.session.clone(),
            core.input.clone(),
            input_size,
            core.batch_size,
        );
        let in_flight = settings
            .model
            .batches_in_flight(&core.session, settings.async_inference);
        let batcher = Batcher::with_batches_in_flight(
            runner,
            preprocessor.mapping(),
            core.batch_size,
            in_flight,
        )
        .map_err(|e| e.to_string())?;
        gst::debug!(
            CAT,
            imp = self,
            "frames {} {:?} -> model input {}",
            frame,
            format,
            input_size
        );
        core.negotiate(preprocessor, batcher);
        state.info = Some(info.clone());
        Ok(())
    }

    /// Preprocesses an inferred frame into its batch slot.
    fn preprocess(&self, state: &mut State, buffer: &gst::Buffer) -> Result<(), gst::FlowError> {
        let info = state.info.as_ref().ok_or(gst::FlowError::NotNegotiated)?;
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), info)
            .map_err(|_| {
                gst::element_imp_error!(
                    self,
                    gst::StreamError::Format,
                    ("Cannot map a frame of {:?}", info)
                );
                gst::FlowError::Error
            })?;
        let format = state
            .core
            .preprocessor()
            .ok_or(gst::FlowError::NotNegotiated)?
            .format();
        state
            .core
            .preprocess(&frame_view(&frame, format))
            .map_err(|e| self.core_failed(e))
    }

    /// `inference-region=objects`: queues the crops of the frame's objects
    /// (each preprocessed from the frame into its batch slot), then the
    /// frame, which leaves after them.
    fn queue_objects(
        &self,
        state: &mut State,
        buffer: gst::Buffer,
        index: u64,
    ) -> Result<(), gst::FlowError> {
        let info = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;
        let frame_size = Size::new(info.width() as usize, info.height() as usize);
        let (width, height) = (info.width(), info.height());
        let mut buffer = buffer;
        let mut objects = read_detections_with_ids(&buffer, width, height);
        if objects.iter().any(|(roi_id, _)| roi_id.is_none()) {
            // Objects only an analytics mtd describes get a ROI, which their
            // results ride on.
            adopt_analytics_objects(buffer.make_mut(), width, height);
            objects = read_detections_with_ids(&buffer, width, height);
        }
        let objects: Vec<(i32, DetectedObject)> = objects
            .into_iter()
            .filter_map(|(roi_id, object)| Some((roi_id?, object)))
            .collect();
        let Some(mode) = state.objects.as_mut() else {
            return Err(gst::FlowError::NotNegotiated);
        };
        mode.objects_seen |= !objects.is_empty();
        if !mode.objects_seen && !mode.warned && index + 1 >= NO_OBJECTS_WARNING_FRAMES {
            mode.warned = true;
            self.warn_no_objects(index + 1);
        }
        let tracks: Vec<Option<u64>> = read_object_tracks(&buffer)
            .into_iter()
            .map(|track| track.map(|(id, _)| id))
            .collect();
        let mut reused = Vec::new();
        let crops: Vec<ObjectCrop> = select_crops(
            index,
            frame_size,
            &objects,
            &tracks,
            &mode.filter,
            mode.padding,
        )
        .into_iter()
        .filter(|crop| match mode.memory.decide(crop.track, index) {
            Reclassify::Infer => true,
            Reclassify::Reuse(results) => {
                reused.extend(results.map(|results| ObjectResults {
                    roi_id: crop.roi_id,
                    results,
                }));
                false
            }
        })
        .collect();
        let spec = mode
            .crop_spec
            .clone()
            .ok_or(gst::FlowError::NotNegotiated)?;
        if !crops.is_empty() {
            let format = pixel_format(info.format()).ok_or(gst::FlowError::NotNegotiated)?;
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info)
                .map_err(|_| {
                    gst::element_imp_error!(
                        self,
                        gst::StreamError::Format,
                        ("Cannot map a frame of {:?}", info)
                    );
                    gst::FlowError::Error
                })?;
            let view = frame_view(&frame, format);
            for crop in crops {
                let preprocessor = Preprocessor::for_region(format, frame_size, crop.rect, &spec)
                    .map_err(|e| self.crop_failed(&crop, &e.to_string()))?;
                let batcher = state.core.batcher().ok_or(gst::FlowError::NotNegotiated)?;
                batcher
                    .preprocess(&preprocessor, &view)
                    .map_err(|e| self.crop_failed(&crop, &e.to_string()))?;
                let frame_index = crop.frame;
                self.queue_item(state, HeldItem::Crop(crop), true)?;
                if let Some(mode) = state.objects.as_mut() {
                    mode.span.crop_queued(frame_index);
                }
            }
        }
        let frame = HeldItem::Frame {
            buffer,
            index,
            reused,
        };
        self.queue_item(state, frame, false)?;
        // Few objects must not hold frames longer than batches of frames
        // would: the crops run as a partial batch.
        if state
            .objects
            .as_ref()
            .is_some_and(|m| m.span.must_run(index))
        {
            let decoder = self.postprocess_settings(state);
            let released = state
                .core
                .drain(|| decoder)
                .map_err(|e| self.batch_failed(state, e))?;
            if let Some(mode) = state.objects.as_mut() {
                mode.span.reset();
            }
            self.release(state, released)?;
        }
        Ok(())
    }

    /// Posts the error of a batch of crops that failed, naming the oldest
    /// crop whose results have not come back (the first of that batch).
    fn batch_failed(&self, state: &State, error: CoreError) -> gst::FlowError {
        let CoreError::Inference(error) = error else {
            return self.core_failed(error);
        };
        let first = state
            .objects
            .as_ref()
            .and_then(|mode| mode.unreleased.front().cloned());
        let what = match first {
            Some(crop) if state.core.batch_size == 1 => crop.to_string(),
            Some(crop) => format!("a batch of crops starting with {crop}"),
            None => "a batch of crops".to_string(),
        };
        self.crop_failed_named(&what, &error.to_string())
    }

    /// Queues an item in objects mode: a failed batch names the oldest crop
    /// whose results have not come back (the first of the failed batch).
    fn queue_item(
        &self,
        state: &mut State,
        item: HeldItem,
        inferred: bool,
    ) -> Result<(), gst::FlowError> {
        if let (HeldItem::Crop(crop), Some(mode)) = (&item, state.objects.as_mut()) {
            mode.unreleased.push_back(crop.clone());
        }
        let decoder = self.postprocess_settings(state);
        let released = state
            .core
            .push(item, inferred, || decoder)
            .map_err(|e| self.batch_failed(state, e))?;
        self.release(state, released)
    }

    /// Posts the error of a crop that could not be inferred, naming its
    /// frame and object.
    fn crop_failed(&self, crop: &ObjectCrop, why: &str) -> gst::FlowError {
        self.crop_failed_named(&crop.to_string(), why)
    }

    /// Posts the error of crops that could not be inferred, as `what` names
    /// them.
    fn crop_failed_named(&self, what: &str, why: &str) -> gst::FlowError {
        gst::element_imp_error!(
            self,
            gst::LibraryError::Failed,
            ("Second-stage inference failed on {}: {}", what, why),
            [
                "inference-region=objects runs the model on each object's crop; check that the model takes decoder={} outputs for one crop",
                lock(&self.settings)
                    .decoder
                    .kind()
                    .map_or("auto", |k| k.name())
            ]
        );
        gst::FlowError::Error
    }

    /// Says once that objects mode has seen no object at all.
    fn warn_no_objects(&self, frames: u64) {
        gst::element_imp_warning!(
            self,
            gst::StreamError::Failed,
            (
                "inference-region=objects saw no object in {} frames: frames pass without second-stage results",
                frames
            ),
            [
                "Put an element that detects objects (dlinfer with a detection model, or anything attaching GstVideoRegionOfInterestMeta) before this dlinfer, or check object-class and its confidence-threshold"
            ]
        );
    }

    /// Attaches the results of a frame's objects to their ROIs.
    fn attach_object_results(
        &self,
        buffer: &mut gst::BufferRef,
        results_name: &str,
        results: &[ObjectResults<FrameResults>],
        meta_format: MetaFormat,
    ) -> Result<(), gst::FlowError> {
        for ObjectResults { roi_id, results } in results {
            let roi_id = *roi_id;
            match results {
                FrameResults::Classes(classes) => {
                    attach_object_classes(buffer, roi_id, results_name, classes);
                    // Also as a classification mtd of the object's OD mtd,
                    // when the object has one (the ROI names it).
                    #[cfg(feature = "analytics")]
                    if meta_format.writes_analytics()
                        && let Some(object) =
                            crate::meta::detection::analytics_id_of_roi(buffer, roi_id)
                    {
                        // Fails only when the meta cannot grow (out of memory).
                        let _ =
                            crate::meta::analytics::attach_object_classes(buffer, object, classes);
                    }
                    #[cfg(not(feature = "analytics"))]
                    let _ = meta_format;
                }
                FrameResults::Tensors(tensors) => {
                    for tensor in tensors {
                        attach_object_tensor(buffer, tensor, roi_id, results_name).map_err(
                            |e| {
                                gst::element_imp_error!(
                                    self,
                                    gst::CoreError::Failed,
                                    ("Cannot attach a tensor meta: {}", e)
                                );
                                gst::FlowError::Error
                            },
                        )?;
                    }
                }
                // Refused at start: boxes inside boxes have no place yet.
                FrameResults::Objects(_) => {}
            }
        }
        Ok(())
    }

    /// The decoding settings for the next batch, read now so thresholds
    /// changed while playing apply from the next batch on.
    fn postprocess_settings(&self, state: &State) -> PostprocessSettings {
        let input_size = state.core.input_size().unwrap_or_default();
        let settings = lock(&self.settings);
        PostprocessSettings {
            decoder: state.decoder,
            detection: DetectionParams {
                confidence_threshold: settings.confidence_threshold,
                iou_threshold: settings.iou_threshold,
                max_detections: settings.max_detections as usize,
                input_width: input_size.width,
                input_height: input_size.height,
                layout: state.layout,
            },
            labels: state.labels.clone(),
            output_name: settings.model.output_name.clone(),
            softmax: settings.softmax.into(),
            top_k: settings.top_k as usize,
            normalize: settings.normalize,
        }
    }

    /// `post-messages` in objects mode: the frame's `objects`, each with its
    /// `roi-id`, `results-name` and its `classes` or `tensors`.
    fn post_object_results(
        &self,
        index: u64,
        pts: Option<gst::ClockTime>,
        results_name: &str,
        results: &[ObjectResults<FrameResults>],
    ) {
        let objects = gst::List::new(results.iter().map(|object| {
            let builder = gst::Structure::builder("object")
                .field("roi-id", object.roi_id)
                .field("results-name", results_name);
            match &object.results {
                FrameResults::Classes(classes) => builder.field("classes", class_list(classes)),
                FrameResults::Tensors(tensors) => builder.field("tensors", tensor_list(tensors)),
                FrameResults::Objects(_) => builder,
            }
            .build()
        }));
        let structure = gst::Structure::builder("dlinfer")
            .field("frame", index)
            .field("pts", pts)
            .field("objects", objects)
            .build();
        // Fails only outside a pipeline (no bus); nothing to do then.
        let _ = self.obj().post_message(
            gst::message::Element::builder(structure)
                .src(&*self.obj())
                .build(),
        );
    }

    fn post_results(&self, index: u64, pts: Option<gst::ClockTime>, results: &FrameResults) {
        let structure = gst::Structure::builder("dlinfer")
            .field("frame", index)
            .field("pts", pts);
        let structure = match results {
            FrameResults::Objects(objects) => structure.field(
                "objects",
                gst::List::new(objects.iter().map(|o| {
                    gst::Structure::builder("object")
                        .field("label", o.label.as_str())
                        .field("label-id", o.label_id)
                        .field("confidence", o.confidence)
                        .field("x-min", o.x_min)
                        .field("y-min", o.y_min)
                        .field("x-max", o.x_max)
                        .field("y-max", o.y_max)
                        .build()
                })),
            ),
            FrameResults::Classes(classes) => structure.field("classes", class_list(classes)),
            FrameResults::Tensors(tensors) => structure.field("tensors", tensor_list(tensors)),
        };
        // Fails only outside a pipeline (no bus); nothing to do then.
        let _ = self.obj().post_message(
            gst::message::Element::builder(structure.build())
                .src(&*self.obj())
                .build(),
        );
    }
}

#[glib::object_subclass]
impl ObjectSubclass for DlInfer {
    const NAME: &'static str = "GstDlInfer";
    type Type = super::DlInfer;
    type ParentType = gst_base::BaseTransform;
}

impl ModelElement for DlInfer {
    type Settings = Settings;
    type Frame = HeldItem;
    type Decoder = PostprocessSettings;
    type State = State;

    fn settings(&self) -> &Mutex<Settings> {
        &self.settings
    }

    /// Loads the model and checks everything that can be checked before the
    /// first frame, so mistakes fail at start with the cause and the fix.
    fn prepare(&self, settings: &Settings) -> Result<State, gst::ErrorMessage> {
        let settings_error =
            |msg: String| gst::error_msg!(gst::LibraryError::Settings, ("{}", msg));
        let meta_format = MetaFormat::parse(&settings.meta_format).map_err(settings_error)?;
        let OpenedModel { session, input, .. } = self.open_model(&settings.model)?;
        let model = settings.model.path.clone().unwrap_or_default();
        let declared: Vec<decode::DeclaredOutput> = session
            .info
            .outputs
            .iter()
            .map(|o| decode::DeclaredOutput {
                name: o.name.clone(),
                shape: o.shape.clone(),
            })
            .collect();
        let labels_file = match &settings.labels_file {
            Some(path) => Some((path.as_path(), load_labels(path).map_err(settings_error)?)),
            None => None,
        };
        let user = UserChoices {
            decoder: settings.decoder.kind(),
            labels: labels_file,
            scale_mode: settings
                .model
                .scale_mode_set
                .then(|| settings.model.scale_mode.into()),
            input_size: settings.model.requested_size(),
        };
        let decided =
            zero_config::decide(user, &session.info, &input, &model).map_err(settings_error)?;
        for line in decided.log_lines() {
            gst::debug!(CAT, imp = self, "{}", line);
        }
        let decoder = decided.decoder.value;
        gst::info!(
            CAT,
            imp = self,
            "model {} on {} (runtime {}): input {} {}, outputs {}, decoder {}",
            model.display(),
            session.provider_name(),
            session.runtime_path.display(),
            input.name,
            input.shape_text(),
            session.info.outputs_text(),
            decoder.name()
        );
        let layout = decode::output_layout(decoder, &declared)
            .with_keypoints(decided.keypoints.as_ref().map(|k| k.value));
        // Read back through the `model-info` property (kept after stop).
        lock(&self.settings).model_info = Some(decided.model_info_json(&session.info));
        let batch_size = settings.model.batch_size.max(1) as usize;
        let objects = match InferenceRegion::from(settings.inference_region) {
            InferenceRegion::Frame => None,
            InferenceRegion::Objects => {
                Some(object_mode(settings, decoder).map_err(settings_error)?)
            }
        };
        Ok(State {
            objects,
            layout,
            core: ModelCore::new(session, input, batch_size),
            decoder,
            labels: decided.labels.value.clone().into(),
            input_size: decided.input_size.value,
            scale_mode: decided.scale_mode.value,
            info: None,
            frames_seen: 0,
            meta_format,
        })
    }

    fn model_state(&self) -> &Mutex<Option<State>> {
        &self.state
    }

    fn core(state: &mut State) -> &mut CoreOf<Self> {
        &mut state.core
    }

    fn batch_decoder(&self, state: &State) -> PostprocessSettings {
        self.postprocess_settings(state)
    }

    /// Attaches each inferred frame's results and makes every frame ready,
    /// in order.
    fn release(
        &self,
        state: &mut State,
        released: Vec<ReleasedOf<Self>>,
    ) -> Result<(), gst::FlowError> {
        let post_messages = lock(&self.settings).post_messages;
        let info = state.info.as_ref().ok_or(gst::FlowError::NotNegotiated)?;
        let (frame_width, frame_height) = (info.width(), info.height());
        for Released { frame, results } in released {
            let (mut buffer, index, reused) = match frame {
                HeldItem::Frame {
                    buffer,
                    index,
                    reused,
                } => (buffer, index, reused),
                HeldItem::Crop(crop) => {
                    if let Some(mode) = state.objects.as_mut() {
                        mode.unreleased.pop_front();
                    }
                    let results = match results {
                        Some(Ok(results)) => results,
                        Some(Err(error)) => return Err(self.crop_failed(&crop, &error.to_string())),
                        None => continue,
                    };
                    if let Some(mode) = state.objects.as_mut() {
                        mode.memory.remember(crop.track, crop.frame, &results);
                        mode.pending.push(crop.frame, crop.roi_id, results);
                    }
                    continue;
                }
            };
            if let Some(mode) = state.objects.as_mut() {
                let mut results = mode.pending.take(index);
                results.extend(reused);
                if !results.is_empty() {
                    let results_name = mode.results_name.clone();
                    self.attach_object_results(
                        buffer.make_mut(),
                        &results_name,
                        &results,
                        state.meta_format,
                    )?;
                    if post_messages {
                        self.post_object_results(index, buffer.pts(), &results_name, &results);
                    }
                }
            }
            if let Some(results) = results {
                let frame_results = results.map_err(|e| self.core_failed(e.into()))?;
                let buffer = buffer.make_mut();
                match &frame_results {
                    FrameResults::Objects(objects) => {
                        for object in objects {
                            attach_detection_as(
                                buffer,
                                object,
                                frame_width,
                                frame_height,
                                state.meta_format,
                            );
                        }
                    }
                    FrameResults::Classes(classes) => {
                        if state.meta_format.writes_roi() {
                            attach_classification(buffer, classes, frame_width, frame_height)
                        }
                        #[cfg(feature = "analytics")]
                        if state.meta_format.writes_analytics() {
                            // Only fails when the meta cannot grow (out of memory).
                            let _ = crate::meta::analytics::attach_frame_classes(buffer, classes);
                        }
                    }
                    FrameResults::Tensors(tensors) => {
                        for tensor in tensors {
                            attach_tensor(buffer, tensor).map_err(|e| {
                                gst::element_imp_error!(
                                    self,
                                    gst::CoreError::Failed,
                                    ("Cannot attach a tensor meta: {}", e)
                                );
                                gst::FlowError::Error
                            })?;
                        }
                    }
                }
                if post_messages {
                    self.post_results(index, buffer.pts(), &frame_results);
                }
            }
            state.core.push_ready(buffer);
        }
        Ok(())
    }
}

model_object_impl!(DlInfer, param_specs);

impl ElementImpl for DlInfer {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning inference",
                "Filter/Analyzer/Video",
                "Runs an ONNX model on video frames (detection, classification, features) and attaches the results as metadata",
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

impl BaseTransformImpl for DlInfer {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        self.model_start()?;
        // `gst-launch-1.0 -v` prints what was decided.
        self.obj().notify("model-info");
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        self.model_stop();
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Cannot read video caps {}", incaps))?;
        {
            let mut state = lock(&self.state);
            let state = state
                .as_mut()
                .ok_or_else(|| gst::loggable_error!(CAT, "Caps before start"))?;
            match self.negotiate(state, &info) {
                Ok(()) => {}
                Err(why) => {
                    gst::element_imp_error!(
                        self,
                        gst::CoreError::Negotiation,
                        ("Cannot feed {} to the model: {}", incaps, why)
                    );
                    return Err(gst::loggable_error!(CAT, "{}", why));
                }
            }
        }
        self.parent_set_caps(incaps, outcaps)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        let warn_frames = match (event.type_(), lock(&self.state).as_mut()) {
            (gst::EventType::FlushStop, Some(state)) => {
                if let Some(mode) = state.objects.as_mut() {
                    mode.pending.clear();
                    mode.unreleased.clear();
                    mode.span.reset();
                }
                None
            }
            (gst::EventType::Eos, Some(state)) => {
                let frames = state.frames_seen;
                state
                    .objects
                    .as_mut()
                    .filter(|mode| !mode.objects_seen && !mode.warned && frames > 0)
                    .map(|mode| {
                        mode.warned = true;
                        frames
                    })
            }
            _ => None,
        };
        if let Some(frames) = warn_frames {
            self.warn_no_objects(frames);
        }
        self.model_sink_event(event)
    }

    fn src_event(&self, event: gst::Event) -> bool {
        self.model_src_event(event)
    }

    fn query(&self, direction: gst::PadDirection, query: &mut gst::QueryRef) -> bool {
        if !BaseTransformImplExt::parent_query(self, direction, query) {
            return false;
        }
        if let gst::QueryViewMut::Latency(latency) = query.view_mut()
            && direction == gst::PadDirection::Src
        {
            let settings = lock(&self.settings).clone();
            let state = lock(&self.state);
            let frame_duration = state
                .as_ref()
                .and_then(|s| s.info.as_ref())
                .map(|info| info.fps())
                .filter(|fps| fps.numer() > 0)
                .and_then(|fps| {
                    gst::ClockTime::SECOND.mul_div_ceil(fps.denom() as u64, fps.numer() as u64)
                });
            if let Some(frame_duration) = frame_duration {
                let in_flight =
                    state
                        .as_ref()
                        .map_or(usize::from(settings.async_inference), |state| {
                            settings
                                .model
                                .batches_in_flight(&state.core.session, settings.async_inference)
                        });
                let held_frames = frames_held_in_flight(
                    settings.model.batch_size,
                    settings.inference_interval,
                    in_flight,
                );
                let extra = frame_duration * held_frames;
                let (live, min, max) = latency.result();
                latency.set(live, min + extra, max.map(|max| max + extra));
            }
        }
        true
    }

    fn submit_input_buffer(
        &self,
        _is_discont: bool,
        inbuf: gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let interval = lock(&self.settings).inference_interval;
        let mut state = lock(&self.state);
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        let index = state.frames_seen;
        state.frames_seen += 1;
        let mut inbuf = inbuf;
        let mut inferred = is_inference_frame(index, interval);
        if state.objects.is_some() {
            // The detector's marks are for the detector's frames: a frame
            // whose objects are not described passes as it came.
            let late = self.obj().is_qos()
                && state
                    .core
                    .is_late(running_time_ns(&self.obj().segment(), &inbuf));
            if inferred && !late {
                self.queue_objects(state, inbuf, index)?;
            } else {
                self.queue_item(
                    state,
                    HeldItem::Frame {
                        buffer: inbuf,
                        index,
                        reused: Vec::new(),
                    },
                    false,
                )?;
            }
            return Ok(gst::FlowSuccess::Ok);
        }
        // Marked so that downstream (dltrack) tells "not looked at" from
        // "nothing found".
        if !inferred {
            mark_not_inferred(inbuf.make_mut(), SkipReason::Interval);
        }
        // Realtime: a frame the sink will show late anyway passes on without
        // inference, marked, so the pipeline catches up with a live source.
        if inferred
            && self.obj().is_qos()
            && state
                .core
                .is_late(running_time_ns(&self.obj().segment(), &inbuf))
        {
            inferred = false;
            mark_skipped(inbuf.make_mut());
        }
        if inferred {
            self.preprocess(state, &inbuf)?;
        }
        let frame = HeldItem::Frame {
            buffer: inbuf,
            index,
            reused: Vec::new(),
        };
        self.queue_frame(state, frame, inferred)?;
        Ok(gst::FlowSuccess::Ok)
    }

    fn generate_output(&self) -> Result<GenerateOutputSuccess, gst::FlowError> {
        self.next_output()
    }
}

/// What `inference-region=objects` needs, checked at start: the decoder
/// must describe one crop (classes or tensors), `object-padding` must be in
/// range, `results-name` a name of its own.
fn object_mode(settings: &Settings, decoder: DecoderKind) -> Result<ObjectMode, String> {
    if decoder.produces() == Produces::Boxes {
        return Err(format!(
            "inference-region=objects runs a model on each object, and decoder={} finds boxes: \
             use decoder=classification, features or none there (put the detector in a dlinfer \
             before it)",
            decoder.name()
        ));
    }
    let padding = check_padding(settings.object_padding)?;
    check_results_name(&settings.results_name)?;
    Ok(ObjectMode {
        filter: ObjectFilter::new(&settings.object_class, settings.object_min_size),
        padding,
        results_name: settings.results_name.clone(),
        crop_spec: None,
        pending: PendingResults::default(),
        memory: ReclassifyMemory::new(settings.reclassify_interval),
        unreleased: VecDeque::new(),
        span: CropBatchSpan::new(settings.model.batch_size.max(1) as usize),
        objects_seen: false,
        warned: false,
    })
}

/// Classes as `post-messages` lists them.
fn class_list(classes: &[crate::meta::FrameClass]) -> gst::List {
    gst::List::new(classes.iter().map(|c| {
        gst::Structure::builder("class")
            .field("label", c.label.as_str())
            .field("label-id", c.label_id)
            .field("confidence", c.confidence)
            .build()
    }))
}

/// Tensors as `post-messages` lists them: name and element count.
fn tensor_list(tensors: &[crate::meta::FrameTensor]) -> gst::List {
    gst::List::new(tensors.iter().map(|t| {
        gst::Structure::builder("tensor")
            .field("name", t.name.as_str())
            .field("size", t.data.len() as u64)
            .build()
    }))
}
