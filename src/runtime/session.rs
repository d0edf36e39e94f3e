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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::library::ensure_loaded;
use super::provider::ExecutionProvider;
use super::spin::{Spin, SpinAdvisor, SpinDecision};
use crate::element_support::lock;
use crate::model::{ElementType, ModelInfo, TensorInfo};
use crate::remote::{ModelUrl, RemoteModel, RemoteOptions, TensorData};

/// What identifies a session that can be shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionOptions {
    /// The `.onnx` file.
    pub model: PathBuf,
    /// The provider asked for.
    pub provider: ExecutionProvider,
    /// Intra-op threads; 0 lets ONNX Runtime use one per core.
    pub threads: usize,
    /// Whether idle intra-op threads spin waiting for work (see
    /// [`super::spin`]): fastest when the model has the cores to itself,
    /// costly when a decoder needs them between runs.
    pub spin: Spin,
}

/// Where a model runs: in this process, or on a KServe v2 server.
enum Backend {
    Local(LocalModel),
    // Boxed: the client is large beside a session handle.
    Remote(Box<RemoteModel>),
}

/// A model in this process.
struct LocalModel {
    session: Mutex<Session>,
    /// Set with `spin=auto`: watches the runs, then swaps in a spinning
    /// session if that pays.
    auto_spin: Option<Box<AutoSpin>>,
    /// Whether the session in use spins.
    spinning: AtomicBool,
}

/// `spin=auto` on one session: the advisor, and a spinning copy of the
/// session, loaded at start beside the sleeping one so that trying it and
/// taking over cost nothing mid-stream (loading it once decided took CPU
/// from the pipeline for seconds: CenterFace's next pass on bikes.mp4 ran at
/// 41 frames/s against 52 with `spin=true` from the start). The two swap
/// places for the trial; the one not chosen is dropped once decided. Both
/// take their tensors from the environment's one arena ([`Arena::Shared`]),
/// so the copy that waits does not hold a second set of activations.
struct AutoSpin {
    advisor: Mutex<SpinAdvisor>,
    spare: Mutex<Option<Session>>,
    /// Set once decided and the copy not chosen is dropped: from then on
    /// runs take neither lock.
    settled: AtomicBool,
}

/// A loaded model that any number of elements may run: a local ONNX file,
/// or a served model (whose outputs look the same to the elements).
pub struct SharedSession {
    backend: Backend,
    /// What the model declares.
    pub info: ModelInfo,
    /// The provider the session really runs on.
    pub active_provider: ExecutionProvider,
    /// Why the requested provider could not start, when it fell back to CPU.
    pub fallback_reason: Option<String>,
    /// The ONNX Runtime library in use (a served model: its URL).
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
    /// The model server could not be reached or refused the request (the
    /// text names the URL and what happened).
    Remote(String),
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
            RunError::Remote(why) => f.write_str(why),
            RunError::Output { name, reason } => write!(f, "output '{name}': {reason}"),
        }
    }
}

impl std::error::Error for RunError {}

static CAT: std::sync::LazyLock<gst::DebugCategory> = std::sync::LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlruntime",
        gst::DebugColorFlags::empty(),
        Some("gst-dl ONNX Runtime sessions"),
    )
});

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
    let mut cache = lock(SESSIONS.get_or_init(Default::default));
    if let Some(existing) = cache.get(&key).and_then(Weak::upgrade) {
        return Ok(existing);
    }
    let session = Arc::new(load_session(&key)?);
    cache.retain(|_, weak| weak.strong_count() > 0);
    cache.insert(key, Arc::downgrade(&session));
    Ok(session)
}

/// Opens a served model (`http://...` or `grpc://...`): its metadata is read
/// now, so a wrong URL or model name fails at start. Not shared between
/// elements: each keeps its own connections, one per request in flight.
pub fn open_remote_session(
    url: &ModelUrl,
    options: RemoteOptions,
) -> Result<Arc<SharedSession>, SessionError> {
    let remote = RemoteModel::open(url, options).map_err(|e| SessionError::Model(e.0))?;
    Ok(Arc::new(SharedSession {
        info: remote.info.clone(),
        active_provider: ExecutionProvider::Cpu,
        fallback_reason: None,
        runtime_path: PathBuf::from(url.to_string()),
        backend: Backend::Remote(Box::new(remote)),
    }))
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
    let arena = if options.spin == Spin::Auto {
        Arena::Shared
    } else {
        Arena::Own
    };
    let (session, active_provider, fallback_reason) =
        match build(runtime, options, options.provider, arena) {
            Ok(session) => (session, options.provider, None),
            Err(why) if options.provider != ExecutionProvider::Cpu => {
                let session = build(runtime, options, ExecutionProvider::Cpu, arena)?;
                (session, ExecutionProvider::Cpu, Some(why.to_string()))
            }
            Err(why) => return Err(why),
        };
    let info = model_info(&session);
    let spinning = SessionOptions {
        spin: Spin::On,
        ..options.clone()
    };
    // Only ONNX Runtime's own CPU kernels run on the threads that spin;
    // another provider runs the graph on its own threads, where a second
    // copy would only cost a second compile (a TensorRT engine, an OpenVINO
    // graph) and its memory. A copy that fails to load (it loaded once just
    // now) only means auto never spins: slower, not broken.
    let auto_spin = (options.spin == Spin::Auto && active_provider == ExecutionProvider::Cpu)
        .then(|| build(runtime, &spinning, active_provider, Arena::Shared).ok())
        .flatten()
        .map(|spare| {
            Box::new(AutoSpin {
                advisor: Mutex::default(),
                spare: Mutex::new(Some(spare)),
                settled: AtomicBool::new(false),
            })
        });
    Ok(SharedSession {
        backend: Backend::Local(LocalModel {
            session: Mutex::new(session),
            auto_spin,
            spinning: AtomicBool::new(options.spin == Spin::On),
        }),
        info,
        active_provider,
        fallback_reason,
        runtime_path: runtime.path.clone(),
    })
}

/// Where a CPU session keeps its tensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arena {
    /// An arena of its own (ONNX Runtime's default).
    Own,
    /// The environment's one arena, shared with other sessions.
    Shared,
}

fn build(
    runtime: &super::library::LoadedRuntime,
    options: &SessionOptions,
    provider: ExecutionProvider,
    arena: Arena,
) -> Result<Session, SessionError> {
    let load_error = |e: &dyn std::fmt::Display| {
        SessionError::Model(format!(
            "could not load '{}' as an ONNX model on {provider}: {e}",
            options.model.display()
        ))
    };
    let mut builder = Session::builder(&runtime.environment).map_err(|e| load_error(&e))?;
    builder = builder
        .with_intra_op_spinning(options.spin == Spin::On)
        .map_err(|e| load_error(&e))?;
    // Every spin=auto session takes its tensors from the environment's one
    // arena: a model's sleeping and spinning copies run one at a time, so
    // they hold their activation memory once, not twice.
    if arena == Arena::Shared && provider == ExecutionProvider::Cpu && runtime.shared_cpu_arena {
        builder = builder.with_env_allocators().map_err(|e| load_error(&e))?;
    }
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
    /// Where the model runs, as `active-provider` reads: the execution
    /// provider, or `remote` for a served model.
    pub fn provider_name(&self) -> &'static str {
        match self.backend {
            Backend::Local(_) => self.active_provider.name(),
            Backend::Remote(_) => "remote",
        }
    }

    /// What a user should know about how a served model is reached: a
    /// server without the binary tensor extension gets tensors as JSON
    /// numbers, ~25x slower (measured on Triton: 100 ms vs 4 ms a request).
    pub fn remote_warning(&self) -> Option<String> {
        match &self.backend {
            Backend::Remote(remote) if !remote.binary => Some(format!(
                "The server at {} does not list the binary tensor extension, so tensors travel as JSON numbers \
                 (about 25x slower); use a server that has it (Triton) or its gRPC port",
                remote.url
            )),
            _ => None,
        }
    }

    /// Whether ONNX Runtime's idle threads spin now (`spin=auto` turns it on
    /// once it has decided to).
    pub fn spinning(&self) -> bool {
        match &self.backend {
            Backend::Local(local) => local.spinning.load(Ordering::Relaxed),
            Backend::Remote(_) => false,
        }
    }

    /// What `spin=auto` decided and from what, once it has.
    pub fn spin_decision(&self) -> Option<SpinDecision> {
        match &self.backend {
            Backend::Local(LocalModel {
                auto_spin: Some(auto),
                ..
            }) => lock(&auto.advisor).decision(),
            _ => None,
        }
    }

    /// Whether the model runs on a server (requests may then be in flight
    /// side by side).
    pub fn is_remote(&self) -> bool {
        matches!(self.backend, Backend::Remote(_))
    }

    /// Runs the model on one input tensor and hands the outputs to `consume`
    /// while they are borrowed from ONNX Runtime (f32 outputs are not copied).
    pub fn run<R>(
        &self,
        input_name: &str,
        shape: &[usize],
        data: InputData<'_>,
        consume: impl FnOnce(&[RunOutput<'_>]) -> R,
    ) -> Result<R, RunError> {
        let local = match &self.backend {
            Backend::Local(local) => local,
            Backend::Remote(remote) => return run_remote(remote, input_name, shape, data, consume),
        };
        let mut session = lock(&local.session);
        local.follow_advisor(&mut session);
        let value: ort::session::SessionInputValue<'_> = match data {
            InputData::F32(data) => TensorRef::from_array_view((shape, data))
                .map_err(|e| RunError::Input(e.to_string()))?
                .into(),
            InputData::U8(data) => TensorRef::from_array_view((shape, data))
                .map_err(|e| RunError::Input(e.to_string()))?
                .into(),
        };
        let started = Instant::now();
        let outputs = session
            .run(vec![(input_name, value)])
            .map_err(|e| RunError::Failed(e.to_string()))?;
        local.ran(started);
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

impl LocalModel {
    /// Records a run that started at `started` and has just ended.
    fn ran(&self, started: Instant) {
        let Some(auto) = self.unsettled_auto_spin() else {
            return;
        };
        let Some(decision) = lock(&auto.advisor).record(started, started.elapsed()) else {
            return;
        };
        let others = |share: Option<f64>| {
            share.map_or("an unknown share".to_string(), |share| {
                format!("{:.0}% of the machine", 100.0 * share)
            })
        };
        let asleep = decision.asleep;
        let trial = decision.spinning.map_or(String::new(), |spinning| {
            format!(
                "; spinning it ran {:.1} runs/s against {:.1} asleep (others took {})",
                spinning.rate,
                asleep.rate,
                others(spinning.others_share)
            )
        });
        gst::info!(
            CAT,
            "spin=auto: the model ran {:.0}% of the time over {} runs, other processes took {}{}: {}",
            100.0 * asleep.busy_share,
            asleep.runs,
            others(asleep.others_share),
            trial,
            if decision.spin {
                "spinning from now on"
            } else {
                "threads sleep from now on"
            }
        );
    }

    /// Puts the session the advisor wants in place before a run (under the
    /// session's lock, so no run sees half a swap): the spinning copy for
    /// the trial, then the one decided on; the other is dropped once decided.
    fn follow_advisor(&self, session: &mut Session) {
        let Some(auto) = self.unsettled_auto_spin() else {
            return;
        };
        let (wanted, decided) = {
            let advisor = lock(&auto.advisor);
            (advisor.wants_spinning(), advisor.decision().is_some())
        };
        let mut spare = lock(&auto.spare);
        if wanted != self.spinning.load(Ordering::Relaxed)
            && let Some(other) = spare.as_mut()
        {
            std::mem::swap(session, other);
            self.spinning.store(wanted, Ordering::Relaxed);
        }
        if decided {
            *spare = None;
            auto.settled.store(true, Ordering::Release);
        }
    }

    /// `spin=auto` while it still measures, tries or swaps.
    fn unsettled_auto_spin(&self) -> Option<&AutoSpin> {
        self.auto_spin
            .as_deref()
            .filter(|auto| !auto.settled.load(Ordering::Acquire))
    }
}

/// Runs a served model; its outputs are read into memory of our own first.
fn run_remote<R>(
    remote: &RemoteModel,
    input_name: &str,
    shape: &[usize],
    data: InputData<'_>,
    consume: impl FnOnce(&[RunOutput<'_>]) -> R,
) -> Result<R, RunError> {
    let data = match data {
        InputData::F32(data) => TensorData::F32(data),
        InputData::U8(data) => TensorData::U8(data),
    };
    let outputs = remote
        .infer(input_name, shape, data)
        .map_err(|e| RunError::Remote(e.0))?;
    let views: Vec<RunOutput<'_>> = outputs
        .iter()
        .map(|o| RunOutput {
            name: &o.name,
            shape: o.shape.clone(),
            data: Cow::Borrowed(&o.data),
        })
        .collect();
    Ok(consume(&views))
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
