//! `dlinfer`'s properties: what they hold, their defaults and their
//! `gst-inspect-1.0` text. The model properties shared with the other model
//! element come from [`crate::model_settings`].

use std::path::PathBuf;

use gst::glib;
use gst::prelude::*;

use crate::meta::MetaFormat;
use crate::model_element::ElementSettings;
use crate::model_settings::{ModelPropertyDocs, ModelSettings, model_param_specs};
use crate::objects::InferenceRegion;
use crate::props::{DecoderChoice, SoftmaxChoice};

const DEFAULT_CONFIDENCE_THRESHOLD: f32 = 0.5;
const DEFAULT_IOU_THRESHOLD: f32 = 0.45;
const DEFAULT_MAX_DETECTIONS: u32 = 100;
const DEFAULT_INFERENCE_INTERVAL: u32 = 1;
const DEFAULT_POST_MESSAGES: bool = false;
const DEFAULT_TOP_K: u32 = 1;
const DEFAULT_NORMALIZE: bool = true;
const DEFAULT_ASYNC_INFERENCE: bool = true;
const DEFAULT_OBJECT_MIN_SIZE: u32 = 0;
const DEFAULT_OBJECT_PADDING: f64 = 0.0;
const DEFAULT_RESULTS_NAME: &str = "classification";
const DEFAULT_RECLASSIFY_INTERVAL: u32 = 1;

/// `inference-region`: what the model runs on.
#[derive(Debug, Eq, PartialEq, Hash, Clone, Copy, Default, glib::Enum)]
#[repr(u32)]
#[enum_type(name = "GstDlInferenceRegion")]
pub enum InferenceRegionChoice {
    #[default]
    #[enum_value(name = "Frame: the model runs on whole frames", nick = "frame")]
    Frame,
    #[enum_value(
        name = "Objects: the model runs on each object detected upstream (its ROI), results ride on the object",
        nick = "objects"
    )]
    Objects,
}

impl From<InferenceRegionChoice> for InferenceRegion {
    fn from(choice: InferenceRegionChoice) -> Self {
        match choice {
            InferenceRegionChoice::Frame => InferenceRegion::Frame,
            InferenceRegionChoice::Objects => InferenceRegion::Objects,
        }
    }
}

/// What the properties hold.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(super) model: ModelSettings,
    pub(super) decoder: DecoderChoice,
    pub(super) labels_file: Option<PathBuf>,
    pub(super) confidence_threshold: f32,
    pub(super) iou_threshold: f32,
    pub(super) max_detections: u32,
    pub(super) inference_interval: u32,
    pub(super) post_messages: bool,
    pub(super) top_k: u32,
    pub(super) softmax: SoftmaxChoice,
    pub(super) normalize: bool,
    pub(super) async_inference: bool,
    /// `meta-format` as set; checked at start, where a wrong one fails.
    pub(super) meta_format: String,
    pub(super) inference_region: InferenceRegionChoice,
    /// `object-class`: comma-separated labels, empty for all.
    pub(super) object_class: String,
    pub(super) object_min_size: u32,
    pub(super) object_padding: f64,
    pub(super) results_name: String,
    pub(super) reclassify_interval: u32,
    /// `model-info` (read-only): what the last start decided, as JSON.
    pub(super) model_info: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            model: ModelSettings::default(),
            decoder: DecoderChoice::default(),
            labels_file: None,
            confidence_threshold: DEFAULT_CONFIDENCE_THRESHOLD,
            iou_threshold: DEFAULT_IOU_THRESHOLD,
            max_detections: DEFAULT_MAX_DETECTIONS,
            inference_interval: DEFAULT_INFERENCE_INTERVAL,
            post_messages: DEFAULT_POST_MESSAGES,
            top_k: DEFAULT_TOP_K,
            softmax: SoftmaxChoice::default(),
            normalize: DEFAULT_NORMALIZE,
            async_inference: DEFAULT_ASYNC_INFERENCE,
            meta_format: MetaFormat::default().name().to_string(),
            inference_region: InferenceRegionChoice::default(),
            object_class: String::new(),
            object_min_size: DEFAULT_OBJECT_MIN_SIZE,
            object_padding: DEFAULT_OBJECT_PADDING,
            results_name: DEFAULT_RESULTS_NAME.to_string(),
            reclassify_interval: DEFAULT_RECLASSIFY_INTERVAL,
            model_info: None,
        }
    }
}

/// How dlinfer uses the shared model properties.
const MODEL_DOCS: ModelPropertyDocs = ModelPropertyDocs {
    automatic_size: "the frame size rounded up to a multiple of 32",
    output_name: "The output read by decoder=classification or features; unset: 'features' or 'embeddings' if present, else the first output",
    batch: "Frames inferred together; frames are held until the batch is full, or run as a partial batch once batch-size frames wait behind it uninferred (inference-interval > 1: at most about 2 x batch-size frames are held), and at EOS",
    scale_mode: "How a frame is fitted into the model input (boxes are mapped back to frame pixels)",
};

/// Every property, the shared model ones first.
pub(super) fn param_specs() -> Vec<glib::ParamSpec> {
    let mut specs = model_param_specs(&MODEL_DOCS);
    specs.extend(vec![
                glib::ParamSpecEnum::builder_with_default("decoder", DecoderChoice::default())
                    .nick("Decoder")
                    .blurb("How the model's outputs are read; auto picks from the output shapes and logs its choice")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("labels-file")
                    .nick("Labels file")
                    .blurb("Text file with one class name per line, line N naming class id N; its count must match the model's classes")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecFloat::builder("confidence-threshold")
                    .nick("Confidence threshold")
                    .blurb("Detections scoring at or below this are dropped")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_CONFIDENCE_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecFloat::builder("iou-threshold")
                    .nick("IoU threshold")
                    .blurb("Non-maximum suppression: a box overlapping a better box of its class by more than this is dropped")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_IOU_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("max-detections")
                    .nick("Maximum detections")
                    .blurb("At most this many detections per frame, the most confident first")
                    .minimum(1)
                    .default_value(DEFAULT_MAX_DETECTIONS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("inference-interval")
                    .nick("Inference interval")
                    .blurb("Run the model on every Nth frame (frames 0, N, 2N...); the others pass without results")
                    .minimum(1)
                    .default_value(DEFAULT_INFERENCE_INTERVAL)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("top-k")
                    .nick("Top K")
                    .blurb("decoder=classification: how many classes to keep per frame, most probable first")
                    .minimum(1)
                    .maximum(1000)
                    .default_value(DEFAULT_TOP_K)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("softmax", SoftmaxChoice::default())
                    .nick("Softmax")
                    .blurb("decoder=classification: apply a softmax to the scores (auto: unless they already sum to 1)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("normalize")
                    .nick("Normalize")
                    .blurb("decoder=features: L2-normalise each embedding, so dot products are cosine similarities")
                    .default_value(DEFAULT_NORMALIZE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("async-inference")
                    .nick("Asynchronous inference")
                    .blurb("Run the model on a thread of its own while the next frames are decoded and preprocessed (faster; frames leave up to one batch later); false: on the streaming thread")
                    .default_value(DEFAULT_ASYNC_INFERENCE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("meta-format")
                    .nick("Metadata format")
                    .blurb("Which metadata carries the results: roi (GstVideoRegionOfInterestMeta, GStreamer 1.22), analytics (GstAnalyticsRelationMeta, GStreamer >= 1.24) or both; default both where the build has analytics, else roi")
                    .default_value(Some(MetaFormat::default().name()))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder_with_default("inference-region", InferenceRegionChoice::default())
                    .nick("Inference region")
                    .blurb("frame: the model runs on whole frames; objects: on each object upstream elements detected (ROI metas), cropped from the frame in one pass (scale-mode, input-color, input-mean, input-std apply to the crop), crops of consecutive frames batched together; decoder=classification puts its classes on the object's ROI under results-name, decoder=features or none puts a tensor naming the ROI in roi-id")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("object-class")
                    .nick("Object class")
                    .blurb("inference-region=objects: comma-separated labels of the objects to run on (e.g. 'car,truck'); empty: every object")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("object-min-size")
                    .nick("Object minimum size")
                    .blurb("inference-region=objects: skip objects whose shorter side is under this many pixels")
                    .default_value(DEFAULT_OBJECT_MIN_SIZE)
                    .mutable_ready()
                    .build(),
                // Any double is taken here and checked at start, so a value
                // out of range stops the pipeline with the range instead of
                // being clamped with a GLib warning.
                glib::ParamSpecDouble::builder("object-padding")
                    .nick("Object padding")
                    .blurb("inference-region=objects: grow each box by this fraction of its width (left and right) and height (top and bottom) before cropping, clipped to the frame; 0 to 1")
                    .minimum(f64::MIN)
                    .maximum(f64::MAX)
                    .default_value(DEFAULT_OBJECT_PADDING)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("results-name")
                    .nick("Results name")
                    .blurb("inference-region=objects: name of the param structure holding the classes on each object's ROI (and results-name of its tensors), so several models can describe one object (e.g. color, type)")
                    .default_value(Some(DEFAULT_RESULTS_NAME))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("reclassify-interval")
                    .nick("Reclassify interval")
                    .blurb("inference-region=objects: infer a tracked object on every Nth frame it is seen (its 1st, N+1th...) and keep its last results in between; needs track ids from dltrack upstream: objects without one (no tracker) are inferred on every frame, so it has no effect without ids")
                    .minimum(1)
                    .default_value(DEFAULT_RECLASSIFY_INTERVAL)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("model-info")
                    .nick("Model info")
                    .blurb("JSON of what was decided at start and from where: inputs, outputs, the model's metadata, decoder, labels count, input size and scale mode, each with its source (property, model metadata, output shapes, input shape, default); empty until started")
                    .read_only()
                    .build(),
                glib::ParamSpecBoolean::builder("post-messages")
                    .nick("Post messages")
                    .blurb("Post an element message named dlinfer for each processed frame with its results: objects (label, label-id, confidence, x-min, y-min, x-max, y-max in frame pixels, unlike the normalised 0..1 edges of the ROI meta's detection params), classes, or tensor names and sizes; with inference-region=objects, objects (roi-id, results-name, and their classes or tensor names and sizes)")
                    .default_value(DEFAULT_POST_MESSAGES)
                    .mutable_playing()
                    .build(),
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
        let path = |value: &glib::Value| {
            value
                .get::<Option<String>>()
                .expect("type checked upstream")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        };
        match name {
            "decoder" => self.decoder = value.get().expect("type checked upstream"),
            "labels-file" => self.labels_file = path(value),
            "confidence-threshold" => {
                self.confidence_threshold = value.get().expect("type checked upstream")
            }
            "iou-threshold" => self.iou_threshold = value.get().expect("type checked upstream"),
            "max-detections" => self.max_detections = value.get().expect("type checked upstream"),
            "inference-interval" => {
                self.inference_interval = value.get().expect("type checked upstream")
            }
            "post-messages" => self.post_messages = value.get().expect("type checked upstream"),
            "top-k" => self.top_k = value.get().expect("type checked upstream"),
            "softmax" => self.softmax = value.get().expect("type checked upstream"),
            "normalize" => self.normalize = value.get().expect("type checked upstream"),
            "async-inference" => self.async_inference = value.get().expect("type checked upstream"),
            "meta-format" => {
                self.meta_format = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_else(|| MetaFormat::default().name().to_string())
            }
            "inference-region" => {
                self.inference_region = value.get().expect("type checked upstream")
            }
            "object-class" => {
                self.object_class = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_default()
            }
            "object-min-size" => self.object_min_size = value.get().expect("type checked upstream"),
            "object-padding" => self.object_padding = value.get().expect("type checked upstream"),
            "reclassify-interval" => {
                self.reclassify_interval = value.get().expect("type checked upstream")
            }
            "results-name" => {
                self.results_name = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| DEFAULT_RESULTS_NAME.to_string())
            }
            _ => unimplemented!(),
        }
    }

    fn get(&self, name: &str) -> glib::Value {
        match name {
            "decoder" => self.decoder.to_value(),
            "labels-file" => self
                .labels_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value(),
            "confidence-threshold" => self.confidence_threshold.to_value(),
            "iou-threshold" => self.iou_threshold.to_value(),
            "max-detections" => self.max_detections.to_value(),
            "inference-interval" => self.inference_interval.to_value(),
            "post-messages" => self.post_messages.to_value(),
            "top-k" => self.top_k.to_value(),
            "softmax" => self.softmax.to_value(),
            "normalize" => self.normalize.to_value(),
            "async-inference" => self.async_inference.to_value(),
            "meta-format" => self.meta_format.to_value(),
            "inference-region" => self.inference_region.to_value(),
            "object-class" => self.object_class.to_value(),
            "object-min-size" => self.object_min_size.to_value(),
            "object-padding" => self.object_padding.to_value(),
            "results-name" => self.results_name.to_value(),
            "reclassify-interval" => self.reclassify_interval.to_value(),
            "model-info" => self.model_info.to_value(),
            _ => unimplemented!(),
        }
    }
}
