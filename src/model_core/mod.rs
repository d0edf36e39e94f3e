//! What every element that runs a model holds, in plain Rust: the opened
//! model, the frames held until their batch has run, the batch itself, the
//! outputs ready to leave, and what the sink's QoS said. The elements
//! (`dlinfer`, `dltransform`) keep only their own settings, caps and what
//! they do with a frame's results; `crate::model_element` is the thin
//! GStreamer side every model element shares.
//!
//! Frames leave in the order they came, every one of them: a frame that is
//! not inferred waits behind the batch before it (at most `batch_size` such
//! frames: then the partial batch runs); at EOS and before any
//! other serialized event every held frame is drained; only a flush drops
//! them (they belong to the flushed stream).

mod latency;

pub use latency::{frames_held, frames_held_in_flight};

use std::collections::VecDeque;
use std::sync::Arc;

use crate::frame::{FrameView, Size};
use crate::inference::{Batcher, FrameDecoder, InferenceError, Released};
use crate::model::ImageInput;
use crate::preprocess::Preprocessor;
use crate::qos::LatenessTracker;
use crate::runtime::SharedSession;

/// What an event arriving on the sink pad means for the held frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// The end of a flush: every held frame belongs to the flushed stream.
    FlushStop,
    /// A new segment: held frames go before it, old QoS means nothing now.
    Segment,
    /// Any other event that travels in order with the frames (EOS, caps,
    /// tags...): held frames go before it.
    Serialized,
    /// An event that does not wait for frames.
    Unserialized,
}

/// The per-caps part: how frames of these caps become the model's input,
/// and the batch they go into.
struct Negotiated<F, D: FrameDecoder> {
    preprocessor: Preprocessor,
    batcher: Batcher<F, D>,
}

/// The model and the frames between input and output of one element.
/// `F` is a held frame, `D` decodes a frame's outputs, `O` is an output
/// ready to leave.
pub struct ModelCore<F, D: FrameDecoder, O> {
    /// The loaded model (shared with other elements that load it alike).
    pub session: Arc<SharedSession>,
    /// The model's image input, as declared.
    pub input: ImageInput,
    /// Inferred frames run together.
    pub batch_size: usize,
    negotiated: Option<Negotiated<F, D>>,
    ready: VecDeque<O>,
    lateness: LatenessTracker,
}

impl<F, D: FrameDecoder, O> ModelCore<F, D, O> {
    /// A core for a model opened with its settings checked; nothing held.
    pub fn new(session: Arc<SharedSession>, input: ImageInput, batch_size: usize) -> Self {
        Self {
            session,
            input,
            batch_size: batch_size.max(1),
            negotiated: None,
            ready: VecDeque::new(),
            lateness: LatenessTracker::default(),
        }
    }

    /// Takes the per-caps state for new caps (frames held for the old caps
    /// were drained before the caps event).
    pub fn negotiate(&mut self, preprocessor: Preprocessor, batcher: Batcher<F, D>) {
        self.negotiated = Some(Negotiated {
            preprocessor,
            batcher,
        });
    }

    /// How frames of the current caps become the model's input.
    pub fn preprocessor(&self) -> Option<&Preprocessor> {
        self.negotiated.as_ref().map(|n| &n.preprocessor)
    }

    /// The batch of the current caps.
    pub fn batcher(&mut self) -> Option<&mut Batcher<F, D>> {
        self.negotiated.as_mut().map(|n| &mut n.batcher)
    }

    /// The preprocessing and the batch of the current caps together (to run
    /// the batch's tensor directly, e.g. tile by tile).
    pub fn negotiated_parts(&mut self) -> Option<(&Preprocessor, &mut Batcher<F, D>)> {
        self.negotiated
            .as_mut()
            .map(|n| (&n.preprocessor, &mut n.batcher))
    }

    /// The model input size of the current caps.
    pub fn input_size(&self) -> Option<Size> {
        self.negotiated.as_ref().map(|n| n.batcher.input_size())
    }

    /// Preprocesses the pixels of the next frame to infer into its batch
    /// slot; the frame itself follows with [`Self::push`].
    pub fn preprocess(&mut self, view: &FrameView) -> Result<(), CoreError> {
        let negotiated = self.negotiated.as_mut().ok_or(CoreError::NotNegotiated)?;
        Ok(negotiated
            .batcher
            .preprocess(&negotiated.preprocessor, view)?)
    }

    /// Queues a frame (`inferred`: [`Self::preprocess`] took its pixels).
    /// Returns the frames that may leave now, in order; `decoder` is called
    /// if a batch starts.
    pub fn push(
        &mut self,
        frame: F,
        inferred: bool,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, CoreError> {
        let negotiated = self.negotiated.as_mut().ok_or(CoreError::NotNegotiated)?;
        Ok(negotiated.batcher.push(frame, inferred, decoder)?)
    }

    /// Runs what waits as a (partial) batch and waits for every batch: all
    /// held frames leave, in order.
    pub fn drain(
        &mut self,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, CoreError> {
        match self.negotiated.as_mut() {
            Some(negotiated) if !negotiated.batcher.is_idle() => {
                Ok(negotiated.batcher.drain(decoder)?)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// Whether frames are held (waiting, in flight, or ready to leave).
    pub fn holds_frames(&self) -> bool {
        !self.ready.is_empty()
            || self
                .negotiated
                .as_ref()
                .is_some_and(|n| !n.batcher.is_idle())
    }

    /// An output ready to leave, at the back of the line.
    pub fn push_ready(&mut self, output: O) {
        self.ready.push_back(output);
    }

    /// The next output to leave.
    pub fn pop_ready(&mut self) -> Option<O> {
        self.ready.pop_front()
    }

    /// Every output ready to leave, in order.
    pub fn take_ready(&mut self) -> Vec<O> {
        self.ready.drain(..).collect()
    }

    /// Reacts to a sink event; returns whether held frames must be drained
    /// before it goes on.
    pub fn on_sink_event(&mut self, event: StreamEvent) -> bool {
        match event {
            StreamEvent::FlushStop => {
                if let Some(negotiated) = self.negotiated.as_mut() {
                    negotiated.batcher.flush();
                }
                self.ready.clear();
                self.lateness.reset();
                false
            }
            StreamEvent::Segment => {
                self.lateness.reset();
                true
            }
            StreamEvent::Serialized => true,
            StreamEvent::Unserialized => false,
        }
    }

    /// Takes a QoS event travelling upstream into account: the frame at
    /// `timestamp_ns` (running time) was `diff_ns` late.
    pub fn on_qos(&mut self, timestamp_ns: u64, diff_ns: i64) {
        self.lateness.update(timestamp_ns, diff_ns);
    }

    /// Whether a frame starting at `running_time_ns` is too late to be worth
    /// inferring (realtime).
    pub fn is_late(&self, running_time_ns: Option<u64>) -> bool {
        self.lateness.is_late(running_time_ns)
    }
}

/// Why the core could not take a frame.
#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// A frame came before caps.
    NotNegotiated,
    /// Preprocessing, the run or decoding failed.
    Inference(InferenceError),
}

impl From<InferenceError> for CoreError {
    fn from(error: InferenceError) -> Self {
        CoreError::Inference(error)
    }
}

impl std::fmt::Display for CoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CoreError::NotNegotiated => f.write_str("a frame came before its caps"),
            CoreError::Inference(why) => why.fmt(f),
        }
    }
}

impl std::error::Error for CoreError {}
