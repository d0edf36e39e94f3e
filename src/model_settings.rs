//! What every element that runs a model shares (`dlinfer`, `dltransform`):
//! which model, where it runs, and how pixels become its input. One place
//! defines these properties, parses them, and opens the model with
//! everything checked at start, so the elements cannot drift apart.

use std::path::PathBuf;
use std::sync::Arc;

use gst::glib;
use gst::prelude::*;

use crate::frame::Size;
use crate::model::ImageInput;
use crate::preprocess::{PreprocessSpec, YuvMatrix};
use crate::props::{
    InputColorChoice, InputLayoutChoice, ScaleModeChoice, SpinChoice, format_channel_values,
    parse_channel_values,
};
use crate::remote::{ModelUrl, RemoteOptions};
use crate::runtime::{
    ExecutionProvider, SessionError, SessionOptions, SharedSession, open_remote_session,
    open_shared_session,
};

const DEFAULT_EXECUTION_PROVIDER: &str = "cpu";
const DEFAULT_INPUT_MEAN: [f32; 3] = [0.0; 3];
const DEFAULT_INPUT_STD: [f32; 3] = [255.0; 3];
const DEFAULT_REMOTE_REQUESTS: u32 = 2;
const DEFAULT_REMOTE_TIMEOUT_MS: u32 = 10_000;

/// The model and input settings, as the properties set them.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// `model`: the ONNX file.
    pub path: Option<PathBuf>,
    /// `execution-provider`, checked at start so a wrong name gets a clear error.
    pub execution_provider: String,
    /// `threads`.
    pub threads: u32,
    /// `spin`.
    pub spin: SpinChoice,
    /// `batch-size`.
    pub batch_size: u32,
    /// `input-color`.
    pub input_color: InputColorChoice,
    /// `input-layout`.
    pub input_layout: InputLayoutChoice,
    /// `input-mean`.
    pub input_mean: [f32; 3],
    /// `input-std`.
    pub input_std: [f32; 3],
    /// `scale-mode`.
    pub scale_mode: ScaleModeChoice,
    /// Whether `scale-mode` was set: only then does it override what the
    /// model's metadata implies (letterbox for an Ultralytics export).
    pub scale_mode_set: bool,
    /// `input-width` (0: automatic).
    pub input_width: u32,
    /// `input-height` (0: automatic).
    pub input_height: u32,
    /// `output-name`.
    pub output_name: Option<String>,
    /// `remote-requests`: batches in flight to a served model.
    pub remote_requests: u32,
    /// `remote-timeout` (ms): the longest wait for a served model's answer.
    pub remote_timeout_ms: u32,
    /// The last refused value of a property, with why: refused before the
    /// element is in a pipeline (as gst-launch sets properties) the warning
    /// has no bus to go to, so starting fails with it instead.
    pub refused: Option<(String, String)>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            path: None,
            execution_provider: DEFAULT_EXECUTION_PROVIDER.to_string(),
            threads: 0,
            spin: SpinChoice::Auto,
            batch_size: 1,
            input_color: InputColorChoice::default(),
            input_layout: InputLayoutChoice::default(),
            input_mean: DEFAULT_INPUT_MEAN,
            input_std: DEFAULT_INPUT_STD,
            scale_mode: ScaleModeChoice::default(),
            scale_mode_set: false,
            input_width: 0,
            input_height: 0,
            output_name: None,
            remote_requests: DEFAULT_REMOTE_REQUESTS,
            remote_timeout_ms: DEFAULT_REMOTE_TIMEOUT_MS,
            refused: None,
        }
    }
}

/// What an element says about its own use of the shared properties.
pub struct ModelPropertyDocs {
    /// How a dynamic input size is chosen when `input-width`/`-height` are 0.
    pub automatic_size: &'static str,
    /// What `output-name` selects.
    pub output_name: &'static str,
    /// What `batch-size` holds together.
    pub batch: &'static str,
    /// What `scale-mode` means for this element's results.
    pub scale_mode: &'static str,
}

/// The shared properties, documented for `gst-inspect-1.0`.
pub fn model_param_specs(docs: &ModelPropertyDocs) -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("model")
            .nick("Model")
            .blurb("Path to the ONNX model file, or a served model on a KServe v2 server (Triton, MLServer, OpenVINO Model Server): http://HOST:PORT/v2/models/NAME[/versions/V]")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("execution-provider")
            .nick("Execution provider")
            .blurb("Where the model runs: cpu, cuda, tensorrt or openvino; one that cannot start falls back to cpu with a warning (see active-provider)")
            .default_value(Some(DEFAULT_EXECUTION_PROVIDER))
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("active-provider")
            .nick("Active provider")
            .blurb("The execution provider the model really runs on (after any fallback); empty until started")
            .read_only()
            .build(),
        glib::ParamSpecUInt::builder("threads")
            .nick("Threads")
            .blurb("ONNX Runtime intra-op threads; 0 = one per core")
            .maximum(1024)
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("spin", SpinChoice::Auto)
            .nick("Spin")
            .blurb("Let idle ONNX Runtime threads spin for work instead of sleeping: faster when the model dominates (heavy model, light video), slower when decoding needs the cores. auto measures the model's share of the time over its first runs; where it is nearly all of it, auto tries spinning and keeps it if runs come faster (see spinning); on other providers than cpu, auto sleeps")
            .mutable_ready()
            .build(),
        glib::ParamSpecBoolean::builder("spinning")
            .nick("Spinning")
            .blurb("Whether ONNX Runtime's idle threads spin now: with spin=auto, false over the first runs, true while it tries spinning, then what it decided")
            .read_only()
            .build(),
        glib::ParamSpecUInt::builder("batch-size")
            .nick("Batch size")
            .blurb(docs.batch)
            .minimum(1)
            .maximum(1024)
            .default_value(1)
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("input-color", InputColorChoice::default())
            .nick("Input color")
            .blurb("Channel order the model expects")
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("input-layout", InputLayoutChoice::default())
            .nick("Input layout")
            .blurb("Tensor layout of the model input; auto reads it from the input shape")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("input-mean")
            .nick("Input mean")
            .blurb("Per-channel mean in pixel units 0..255, one number or three (in the model's channel order): value = (pixel - mean) / std")
            .default_value(Some("0,0,0"))
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("input-std")
            .nick("Input std")
            .blurb("Per-channel standard deviation in pixel units, one number or three; 255 maps pixels to 0..1, 1 keeps raw 0..255")
            .default_value(Some("255,255,255"))
            .mutable_ready()
            .build(),
        glib::ParamSpecEnum::builder_with_default("scale-mode", ScaleModeChoice::default())
            .nick("Scale mode")
            .blurb(docs.scale_mode)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("input-width")
            .nick("Input width")
            .blurb(format!("Model input width for models with a dynamic width; 0 = {}", docs.automatic_size).as_str())
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("input-height")
            .nick("Input height")
            .blurb(format!("Model input height for models with a dynamic height; 0 = {}", docs.automatic_size).as_str())
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("output-name").nick("Output name").blurb(docs.output_name).mutable_ready().build(),
        glib::ParamSpecUInt::builder("remote-requests")
            .nick("Remote requests")
            .blurb("Served models only: batches in flight to the server at once (frames keep flowing while earlier ones are on the wire; they leave in order)")
            .minimum(1)
            .maximum(64)
            .default_value(DEFAULT_REMOTE_REQUESTS)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("remote-timeout")
            .nick("Remote timeout")
            .blurb("Served models only: milliseconds to wait for a connection or an answer before the stream fails with an error")
            .minimum(1)
            .default_value(DEFAULT_REMOTE_TIMEOUT_MS)
            .mutable_ready()
            .build(),
    ]
}

/// A model opened and checked at start.
pub struct OpenedModel {
    /// The (possibly shared) session.
    pub session: Arc<SharedSession>,
    /// Its image input.
    pub input: ImageInput,
    /// Things the user should know that do not stop the stream: (message, details).
    pub warnings: Vec<(String, Option<String>)>,
}

fn text(value: &glib::Value) -> Option<String> {
    value
        .get::<Option<String>>()
        .expect("type checked upstream")
        .filter(|s| !s.is_empty())
}

impl ModelSettings {
    /// Sets one of the shared properties. `Ok(false)` when `name` is not one
    /// of them; `Err` with a warning for a value that was refused.
    pub fn set_property(&mut self, name: &str, value: &glib::Value) -> Result<bool, String> {
        let outcome = self.set_property_value(name, value);
        match &outcome {
            Err(why) => self.refused = Some((name.to_string(), why.clone())),
            Ok(true) if self.refused.as_ref().is_some_and(|(n, _)| n == name) => {
                self.refused = None
            }
            Ok(_) => {}
        }
        outcome
    }

    fn set_property_value(&mut self, name: &str, value: &glib::Value) -> Result<bool, String> {
        match name {
            "model" => self.path = text(value).map(PathBuf::from),
            "execution-provider" => {
                self.execution_provider =
                    text(value).unwrap_or_else(|| DEFAULT_EXECUTION_PROVIDER.to_string())
            }
            "threads" => self.threads = value.get().expect("type checked upstream"),
            "spin" => self.spin = value.get().expect("type checked upstream"),
            "batch-size" => self.batch_size = value.get().expect("type checked upstream"),
            "input-color" => self.input_color = value.get().expect("type checked upstream"),
            "input-layout" => self.input_layout = value.get().expect("type checked upstream"),
            "input-mean" => {
                self.input_mean = parse_channel_values(name, &text(value).unwrap_or_default())?
            }
            "input-std" => {
                let given = text(value).unwrap_or_default();
                let values = parse_channel_values(name, &given)?;
                if values.contains(&0.0) {
                    return Err(format!(
                        "input-std='{given}' has a zero, which would divide by zero"
                    ));
                }
                self.input_std = values;
            }
            "scale-mode" => {
                self.scale_mode = value.get().expect("type checked upstream");
                self.scale_mode_set = true;
            }
            "input-width" => self.input_width = value.get().expect("type checked upstream"),
            "input-height" => self.input_height = value.get().expect("type checked upstream"),
            "output-name" => self.output_name = text(value),
            "remote-requests" => self.remote_requests = value.get().expect("type checked upstream"),
            "remote-timeout" => {
                self.remote_timeout_ms = value.get().expect("type checked upstream")
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Reads one of the shared properties (not `active-provider`, which
    /// needs the element's state), or `None` when `name` is not one of them.
    pub fn property(&self, name: &str) -> Option<glib::Value> {
        Some(match name {
            "model" => self
                .path
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value(),
            "execution-provider" => self.execution_provider.to_value(),
            "threads" => self.threads.to_value(),
            "spin" => self.spin.to_value(),
            "batch-size" => self.batch_size.to_value(),
            "input-color" => self.input_color.to_value(),
            "input-layout" => self.input_layout.to_value(),
            "input-mean" => format_channel_values(self.input_mean).to_value(),
            "input-std" => format_channel_values(self.input_std).to_value(),
            "scale-mode" => self.scale_mode.to_value(),
            "input-width" => self.input_width.to_value(),
            "input-height" => self.input_height.to_value(),
            "output-name" => self.output_name.to_value(),
            "remote-requests" => self.remote_requests.to_value(),
            "remote-timeout" => self.remote_timeout_ms.to_value(),
            _ => return None,
        })
    }

    /// `input-width` x `input-height` as requested (None where automatic).
    pub fn requested_size(&self) -> (Option<usize>, Option<usize>) {
        (
            (self.input_width > 0).then_some(self.input_width as usize),
            (self.input_height > 0).then_some(self.input_height as usize),
        )
    }

    /// Opens the model and checks what can be checked before the first
    /// frame, so mistakes fail at start with the cause and the fix.
    pub fn open(&self) -> Result<OpenedModel, gst::ErrorMessage> {
        let settings_error =
            |msg: String| gst::error_msg!(gst::LibraryError::Settings, ("{}", msg));
        if let Some((name, why)) = &self.refused {
            return Err(settings_error(format!(
                "{why}; fix the {name} property (its value was refused)"
            )));
        }
        let provider = ExecutionProvider::from_name(&self.execution_provider)
            .map_err(|e| settings_error(e.to_string()))?;
        let model = self.path.clone().ok_or_else(|| {
            settings_error("no model set: set model=/path/to/model.onnx".to_string())
        })?;
        let session = if ModelUrl::is_remote(&model.to_string_lossy()) {
            self.open_remote(&model.to_string_lossy())?
        } else {
            self.open_local(&model, provider)?
        };
        let mut warnings = Vec::new();
        if let Some(why) = &session.fallback_reason {
            warnings.push((
                format!("Execution provider '{provider}' is not available; running on cpu"),
                Some(why.clone()),
            ));
        }
        if session.info.overridable_initializers > 0 {
            warnings.push((
                format!(
                    "Model {} lists {} initializers among its inputs, which stops ONNX Runtime from folding constants \
                     and can make it several times slower; remove them from graph.input (see scripts/fix_centerface.py)",
                    model.display(),
                    session.info.overridable_initializers
                ),
                None,
            ));
        }
        if let Some(why) = session.remote_warning() {
            warnings.push((why, None));
        }
        let input =
            ImageInput::from_model(&session.info, self.input_layout.layout()).map_err(|why| {
                settings_error(format!(
                    "Model {} cannot be fed from video: {why}",
                    model.display()
                ))
            })?;
        if let Some(wanted) = &self.output_name
            && !session.info.outputs.iter().any(|o| &o.name == wanted)
        {
            return Err(settings_error(format!(
                "output-name={wanted}: model {} has no such output (outputs: {})",
                model.display(),
                session.info.outputs_text()
            )));
        }
        Ok(OpenedModel {
            session,
            input,
            warnings,
        })
    }

    /// Batches in flight at once: `remote-requests` for a served model;
    /// for a local one, one on a worker when `pipelined`, else none (runs on
    /// the streaming thread).
    pub fn batches_in_flight(&self, session: &SharedSession, pipelined: bool) -> usize {
        if session.is_remote() {
            self.remote_requests.max(1) as usize
        } else {
            usize::from(pipelined)
        }
    }

    /// A served model: its URL checked, its metadata read.
    fn open_remote(&self, url: &str) -> Result<Arc<SharedSession>, gst::ErrorMessage> {
        let url = ModelUrl::parse(url)
            .map_err(|why| gst::error_msg!(gst::LibraryError::Settings, ("{}", why)))?;
        let options = RemoteOptions {
            timeout: std::time::Duration::from_millis(u64::from(self.remote_timeout_ms.max(1))),
            ..RemoteOptions::default()
        };
        open_remote_session(&url, options).map_err(|error| {
            gst::error_msg!(
                gst::ResourceError::OpenRead,
                ("Failed to open served model {}: {}", url, error)
            )
        })
    }

    /// A local ONNX file, shared with other elements that load it alike.
    fn open_local(
        &self,
        model: &std::path::Path,
        provider: ExecutionProvider,
    ) -> Result<Arc<SharedSession>, gst::ErrorMessage> {
        open_shared_session(&SessionOptions {
            model: model.to_path_buf(),
            provider,
            threads: self.threads as usize,
            spin: self.spin.into(),
        })
        .map_err(|error| match error {
            SessionError::Runtime(why) => {
                gst::error_msg!(gst::LibraryError::Init, ("{}", why))
            }
            SessionError::Model(why) => gst::error_msg!(
                gst::LibraryError::Init,
                ("Failed to load model {}: {}", model.display(), why)
            ),
        })
    }

    /// How frames of `info` become an input of `size` of `model_input`.
    pub fn preprocess_spec(
        &self,
        model_input: &ImageInput,
        size: Size,
        info: &gst_video::VideoInfo,
        pad_value: u8,
    ) -> PreprocessSpec {
        let colorimetry = info.colorimetry();
        PreprocessSpec {
            input: size,
            scale_mode: self.scale_mode.into(),
            channel_order: self.input_color.into(),
            layout: model_input.layout,
            mean: self.input_mean,
            std: self.input_std,
            pad_value,
            yuv_matrix: if colorimetry.matrix() == gst_video::VideoColorMatrix::Bt709 {
                YuvMatrix::Bt709
            } else {
                YuvMatrix::Bt601
            },
            yuv_full_range: colorimetry.range() == gst_video::VideoColorRange::Range0_255,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_value_is_remembered_until_that_property_is_set_again() {
        let mut settings = ModelSettings::default();
        assert!(settings.set_property("input-std", &"0".to_value()).is_err());
        let (name, why) = settings.refused.clone().expect("remembered");
        assert_eq!(name, "input-std");
        assert!(why.contains("zero"), "{why}");
        // Another property leaves it; a good value of the same one clears it.
        assert_eq!(
            settings.set_property("input-mean", &"1".to_value()),
            Ok(true)
        );
        assert!(settings.refused.is_some());
        assert_eq!(
            settings.set_property("input-std", &"2".to_value()),
            Ok(true)
        );
        assert_eq!(settings.refused, None);
    }

    #[test]
    fn parses_and_refuses_values() {
        let mut settings = ModelSettings::default();
        assert_eq!(
            settings.set_property("input-mean", &"127".to_value()),
            Ok(true)
        );
        assert_eq!(settings.input_mean, [127.0; 3]);
        assert!(
            settings
                .set_property("input-std", &"1,0,1".to_value())
                .unwrap_err()
                .contains("zero")
        );
        assert_eq!(
            settings.input_std, DEFAULT_INPUT_STD,
            "a refused value leaves the old one"
        );
        assert_eq!(settings.set_property("decoder", &"x".to_value()), Ok(false));
        assert_eq!(
            settings
                .property("input-mean")
                .unwrap()
                .get::<String>()
                .unwrap(),
            "127,127,127"
        );
        assert_eq!(settings.requested_size(), (None, None));
    }

    #[test]
    fn open_names_the_problem() {
        let settings = ModelSettings {
            execution_provider: "tpu".into(),
            ..Default::default()
        };
        let err = settings.open().err().unwrap();
        assert!(
            err.to_string().contains("unknown execution provider 'tpu'"),
            "{err}"
        );
        let err = ModelSettings::default().open().err().unwrap();
        assert!(err.to_string().contains("no model set"), "{err}");
    }
}
