//! ONNX Runtime sessions, shared per (model file, provider, threads).
//!
//! Two elements that load the same model on the same provider get the same
//! session: the weights are in memory once. ONNX Runtime's `Run` is
//! thread-safe, but `ort` asks for `&mut Session`, so runs on a shared
//! session take turns behind a mutex; each run already spreads over all
//! cores through ONNX Runtime's intra-op threads.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::library::ensure_loaded;
use super::provider::ExecutionProvider;
use crate::model::{ElementType, ModelInfo, TensorInfo};

/// What identifies a session that can be shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionOptions {
    /// The `.onnx` file.
    pub model: PathBuf,
    /// The provider asked for.
    pub provider: ExecutionProvider,
    /// Intra-op threads; 0 lets ONNX Runtime use one per core.
    pub threads: usize,
    /// Whether idle intra-op threads spin waiting for work. Spinning is
    /// fastest when the model has the machine to itself (the bare-runtime
    /// limit), but inside a pipeline it takes the cores decoders and
    /// converters need: with it off, CenterFace on bikes.mp4 went from 94 to
    /// 120 frames/s and EfficientNet every 30th frame from 553 to 836 on 2
    /// cores (benches/benchmarks.rs rows, 3 runs each).
    pub spin: bool,
}

/// A loaded model that any number of elements may run.
pub struct SharedSession {
    session: Mutex<Session>,
    /// What the model declares.
    pub info: ModelInfo,
    /// The provider the session really runs on.
    pub active_provider: ExecutionProvider,
    /// Why the requested provider could not start, when it fell back to CPU.
    pub fallback_reason: Option<String>,
    /// The ONNX Runtime library in use.
    pub runtime_path: PathBuf,
}

/// One input tensor of a run.
pub enum InputData<'a> {
    /// Float input.
    F32(&'a [f32]),
    /// Raw 8-bit input.
    U8(&'a [u8]),
}

/// One output of a run, as f32 (other numeric types converted).
pub struct RunOutput<'a> {
    /// Output name.
    pub name: &'a str,
    /// Concrete shape, batch dimension first.
    pub shape: Vec<usize>,
    /// Row-major data.
    pub data: Cow<'a, [f32]>,
}

/// Why a session could not be opened, told apart so that a message blames
/// the right thing: a missing or too old ONNX Runtime is not the model's
/// fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// No usable ONNX Runtime library (the text names every place tried and
    /// the fix).
    Runtime(String),
    /// The model file is missing or empty, or ONNX Runtime refused it.
    Model(String),
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::Runtime(why) | SessionError::Model(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for SessionError {}

/// Why a run of an opened model failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The input tensor could not be made from the batch (a shape that does
    /// not match its data).
    Input(String),
    /// ONNX Runtime refused or failed the run.
    Failed(String),
    /// An output is of a type decoders cannot read.
    Output {
        /// The output's name in the model.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Input(why) => write!(f, "cannot make the input tensor: {why}"),
            RunError::Failed(why) => write!(f, "ONNX Runtime failed to run the model: {why}"),
            RunError::Output { name, reason } => write!(f, "output '{name}': {reason}"),
        }
    }
}

impl std::error::Error for RunError {}

type SessionCache = Mutex<HashMap<SessionOptions, Weak<SharedSession>>>;

static SESSIONS: std::sync::OnceLock<SessionCache> = std::sync::OnceLock::new();

/// Returns the session for `options`, loading the model unless another
/// element holds it already. The cache lock is held while loading so two
/// elements starting at once load the file once.
pub fn open_shared_session(options: &SessionOptions) -> Result<Arc<SharedSession>, SessionError> {
    check_model_file(&options.model)?;
    let key = SessionOptions {
        model: canonical(&options.model),
        ..options.clone()
    };
    let cache = SESSIONS.get_or_init(Default::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let session = Arc::new(load_session(&key)?);
    cache.retain(|_, weak| weak.strong_count() > 0);
    cache.insert(key, Arc::downgrade(&session));
    Ok(session)
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The cheap checks that give a better message than ONNX Runtime's parser.
fn check_model_file(path: &Path) -> Result<(), SessionError> {
    if path.as_os_str().is_empty() {
        return Err(SessionError::Model(
            "no model set; set the model property to the path of an .onnx file".to_string(),
        ));
    }
    let meta = std::fs::metadata(path).map_err(|e| {
        SessionError::Model(format!(
            "model file '{}' cannot be opened: {e}; check the model property",
            path.display()
        ))
    })?;
    if !meta.is_file() {
        return Err(SessionError::Model(format!(
            "model '{}' is not a file; set model to an .onnx file",
            path.display()
        )));
    }
    if meta.len() == 0 {
        return Err(SessionError::Model(format!(
            "model file '{}' is empty; re-export or re-download it",
            path.display()
        )));
    }
    Ok(())
}

fn load_session(options: &SessionOptions) -> Result<SharedSession, SessionError> {
    let runtime = ensure_loaded().map_err(|e| SessionError::Runtime(e.to_string()))?;
    let (session, active_provider, fallback_reason) =
        match build(runtime, options, options.provider) {
            Ok(session) => (session, options.provider, None),
            Err(why) if options.provider != ExecutionProvider::Cpu => {
                let session = build(runtime, options, ExecutionProvider::Cpu)?;
                (session, ExecutionProvider::Cpu, Some(why.to_string()))
            }
            Err(why) => return Err(why),
        };
    let info = model_info(&session);
    Ok(SharedSession {
        session: Mutex::new(session),
        info,
        active_provider,
        fallback_reason,
        runtime_path: runtime.path.clone(),
    })
}

fn build(
    runtime: &super::library::LoadedRuntime,
    options: &SessionOptions,
    provider: ExecutionProvider,
) -> Result<Session, SessionError> {
    let load_error = |e: &dyn std::fmt::Display| {
        SessionError::Model(format!(
            "could not load '{}' as an ONNX model on {provider}: {e}",
            options.model.display()
        ))
    };
    let mut builder = Session::builder(&runtime.environment).map_err(|e| load_error(&e))?;
    builder = builder
        .with_intra_op_spinning(options.spin)
        .map_err(|e| load_error(&e))?;
    if options.threads > 0 {
        builder = builder
            .with_intra_threads(options.threads)
            .map_err(|e| load_error(&e))?;
    }
    let dispatches = provider.dispatches();
    if !dispatches.is_empty() {
        builder = builder
            .with_execution_providers(dispatches)
            .map_err(|e| load_error(&e))?;
    }
    builder
        .commit_from_file(&options.model)
        .map_err(|e| load_error(&e))
}

fn model_info(session: &Session) -> ModelInfo {
    let overridable: Vec<String> = session
        .overridable_initializers()
        .iter()
        .map(|i| i.name().to_string())
        .collect();
    let describe = |outlet: &ort::value::Outlet| tensor_info(outlet.name(), outlet.dtype());
    ModelInfo {
        inputs: session
            .inputs()
            .iter()
            .filter(|i| !overridable.iter().any(|o| o == i.name()))
            .map(describe)
            .collect(),
        outputs: session.outputs().iter().map(describe).collect(),
        overridable_initializers: overridable.len(),
        metadata: metadata_props(session),
    }
}

/// The model's `metadata_props`. A file whose metadata ONNX Runtime cannot
/// read is treated as having none: the properties then decide, as they did
/// before models described themselves.
fn metadata_props(session: &Session) -> std::collections::BTreeMap<String, String> {
    let Ok(metadata) = session.metadata() else {
        return Default::default();
    };
    let keys = metadata.custom_keys().unwrap_or_default();
    keys.into_iter()
        .filter_map(|key| metadata.custom(&key).map(|value| (key, value)))
        .collect()
}

fn tensor_info(name: &str, dtype: &ValueType) -> TensorInfo {
    match dtype {
        ValueType::Tensor { ty, shape, .. } => TensorInfo {
            name: name.to_string(),
            element: match ty {
                TensorElementType::Float32 => ElementType::F32,
                TensorElementType::Uint8 => ElementType::U8,
                other => ElementType::Other(format!("{other:?}")),
            },
            shape: shape.iter().map(|&d| usize::try_from(d).ok()).collect(),
        },
        other => TensorInfo {
            name: name.to_string(),
            element: ElementType::Other(format!("{other:?}")),
            shape: Vec::new(),
        },
    }
}

impl SharedSession {
    /// Runs the model on one input tensor and hands the outputs to `consume`
    /// while they are borrowed from ONNX Runtime (f32 outputs are not copied).
    pub fn run<R>(
        &self,
        input_name: &str,
        shape: &[usize],
        data: InputData<'_>,
        consume: impl FnOnce(&[RunOutput<'_>]) -> R,
    ) -> Result<R, RunError> {
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let value: ort::session::SessionInputValue<'_> = match data {
            InputData::F32(data) => TensorRef::from_array_view((shape, data))
                .map_err(|e| RunError::Input(e.to_string()))?
                .into(),
            InputData::U8(data) => TensorRef::from_array_view((shape, data))
                .map_err(|e| RunError::Input(e.to_string()))?
                .into(),
        };
        let outputs = session
            .run(vec![(input_name, value)])
            .map_err(|e| RunError::Failed(e.to_string()))?;
        // Keep the value handles alive while the views borrow their data.
        let values: Vec<_> = outputs.iter().collect();
        let mut views = Vec::with_capacity(values.len());
        for (name, value) in &values {
            let shape: Vec<usize> = value.shape().iter().map(|&d| d.max(0) as usize).collect();
            let data = numeric_output(value).ok_or_else(|| RunError::Output {
                name: name.to_string(),
                reason: format!(
                    "unsupported output type {:?}; outputs must be numeric tensors",
                    value.dtype()
                ),
            })?;
            views.push(RunOutput { name, shape, data });
        }
        Ok(consume(&views))
    }
}

/// Borrows f32 outputs and converts the other numeric types decoders meet
/// (class ids as int64, counts as int32, quantised uint8 scores); `None`
/// for any other type.
fn numeric_output<'a>(value: &'a ort::value::DynValue) -> Option<Cow<'a, [f32]>> {
    if let Ok((_, data)) = value.try_extract_tensor::<f32>() {
        return Some(Cow::Borrowed(data));
    }
    macro_rules! convert {
        ($($t:ty),*) => {$(
            if let Ok((_, data)) = value.try_extract_tensor::<$t>() {
                return Some(Cow::Owned(data.iter().map(|&v| v as f32).collect()));
            }
        )*};
    }
    convert!(f64, i64, i32, u8, i8);
    None
}
