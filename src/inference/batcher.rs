//! A batch as one object: the frames waiting for it in stream order, the
//! tensor they are preprocessed into, and the batch in flight.
//!
//! Frames that are inferred and frames that pass without inference (every
//! Nth frame, or late in realtime) share one queue, so a frame never
//! overtakes the ones before it: a skipped frame behind a half-full batch
//! waits with it, and leaves with it.
//!
//! Batches run either on the caller's thread or, pipelined, on a worker
//! thread while the caller prepares the next one: two batch tensors take
//! turns, one filled by the streaming thread while the other is inferred and
//! decoded on the worker. On a machine with few cores this keeps the decoder
//! (upstream, on the streaming thread) busy during inference instead of idle,
//! at the price of frames leaving up to one batch later.

use std::collections::VecDeque;

use super::BatchRunner;
use super::error::InferenceError;
use super::worker::Worker;
use crate::decode::OutputView;
use crate::frame::{FrameView, Size};
use crate::preprocess::{FrameMapping, Preprocessor};

/// Turns one frame's outputs into what an element does with them: results
/// to attach (dlinfer), an output tensor to render (dltransform). Made
/// afresh for each batch, so settings changed while playing apply from the
/// next batch on; it runs where the batch runs (the worker, pipelined).
pub trait FrameDecoder: Send + 'static {
    /// What one frame's outputs become.
    type Results: Send + 'static;

    /// Decodes one frame's outputs (batch dimension removed); `mapping` says
    /// where the frame lay in the model input.
    fn decode(
        &self,
        outputs: &[OutputView<'_>],
        mapping: &FrameMapping,
    ) -> Result<Self::Results, InferenceError>;
}

/// A frame leaving the batcher, in stream order.
#[derive(Debug)]
pub struct Released<F, R> {
    /// The frame as it was pushed.
    pub frame: F,
    /// Its decoded outputs; `None` for a frame that was not inferred.
    pub results: Option<Result<R, InferenceError>>,
}

/// A frame waiting for its batch.
struct Waiting<F> {
    frame: F,
    inferred: bool,
}

/// Frames in stream order; `batch_size` inferred frames make a batch.
struct FrameQueue<F> {
    frames: VecDeque<Waiting<F>>,
    /// Inferred frames waiting: also the slot the next inferred frame takes.
    inferred: usize,
    batch_size: usize,
}

impl<F> FrameQueue<F> {
    fn new(batch_size: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            inferred: 0,
            batch_size: batch_size.max(1),
        }
    }

    fn push(&mut self, frame: F, inferred: bool) {
        self.inferred += usize::from(inferred);
        self.frames.push_back(Waiting { frame, inferred });
    }

    /// Whether a full batch waits and should run now.
    fn batch_full(&self) -> bool {
        self.inferred >= self.batch_size
    }

    /// Whether the waiting frames can leave without inference.
    fn nothing_to_infer(&self) -> bool {
        self.inferred == 0
    }

    /// Every waiting frame, in order, with how many are inferred; the next
    /// batch starts empty.
    fn take_all(&mut self) -> (Vec<Waiting<F>>, usize) {
        let inferred = std::mem::take(&mut self.inferred);
        (self.frames.drain(..).collect(), inferred)
    }

    fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.inferred = 0;
    }
}

type BatchOutcome<R> = Result<Vec<Result<R, InferenceError>>, InferenceError>;

/// Frames in stream order, `batch_size` inferred frames to a batch, run on
/// the caller's thread or pipelined on a worker.
pub struct Batcher<F, D: FrameDecoder> {
    waiting: FrameQueue<F>,
    /// The tensor the next inferred frames are preprocessed into.
    filling: BatchRunner,
    /// The other tensor when pipelined; `None` while it is in flight.
    spare: Option<BatchRunner>,
    worker: Option<Worker<(BatchRunner, BatchOutcome<D::Results>)>>,
    /// The frames of the batch in flight.
    in_flight: Vec<Waiting<F>>,
    mapping: FrameMapping,
}

impl<F, D: FrameDecoder> Batcher<F, D> {
    /// Batches of `batch_size` inferred frames through `runner`, each frame
    /// laid into the model input as `mapping` says; `pipelined` starts the
    /// worker thread and a second tensor.
    pub fn new(
        runner: BatchRunner,
        mapping: FrameMapping,
        batch_size: usize,
        pipelined: bool,
    ) -> Result<Self, InferenceError> {
        let (spare, worker) = if pipelined {
            (
                Some(runner.with_new_tensor()),
                Some(Worker::new("dl-inference")?),
            )
        } else {
            (None, None)
        };
        Ok(Self {
            waiting: FrameQueue::new(batch_size),
            filling: runner,
            spare,
            worker,
            in_flight: Vec::new(),
            mapping,
        })
    }

    /// The model input size.
    pub fn input_size(&self) -> Size {
        self.filling.input_size()
    }

    /// The tensor of the next batch, to fill and run directly (tiles, probes)
    /// while no frame waits.
    pub fn runner(&mut self) -> &mut BatchRunner {
        &mut self.filling
    }

    /// Whether no frame waits and no batch is in flight.
    pub fn is_idle(&self) -> bool {
        self.waiting.is_empty() && !self.in_flight()
    }

    /// Whether a batch runs on the worker now.
    pub fn in_flight(&self) -> bool {
        self.worker.as_ref().is_some_and(Worker::in_flight)
    }

    /// Preprocesses the next inferred frame into its slot of the batch; the
    /// frame itself follows with [`Self::push`].
    pub fn preprocess(
        &mut self,
        preprocessor: &Preprocessor,
        frame: &FrameView,
    ) -> Result<(), InferenceError> {
        Ok(self
            .filling
            .fill_slot(self.waiting.inferred, preprocessor, frame)?)
    }

    /// Queues a frame (`inferred`: it was preprocessed into its slot) and
    /// returns the frames that may leave now, in order. A full batch runs
    /// (after the one in flight has been taken, so no frame overtakes
    /// another); a frame with no inferred frame before it leaves at once; a
    /// batch in flight that has finished is taken. `decoder` is called when
    /// a batch starts.
    pub fn push(
        &mut self,
        frame: F,
        inferred: bool,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        self.waiting.push(frame, inferred);
        let must_start = self.waiting.batch_full() || self.waiting.nothing_to_infer();
        let mut released = self.collect(must_start)?;
        if must_start {
            released.extend(self.start(decoder)?);
        }
        Ok(released)
    }

    /// Runs the waiting frames as a (partial) batch and waits for every
    /// batch: all frames leave, in order (before an event, at EOS).
    pub fn drain(
        &mut self,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let mut released = self.collect(true)?;
        released.extend(self.start(decoder)?);
        released.extend(self.collect(true)?);
        Ok(released)
    }

    /// Drops every waiting frame and the batch in flight (a flush: they
    /// belong to the flushed stream).
    pub fn flush(&mut self) {
        self.waiting.clear();
        if self.in_flight() {
            let _ = self.collect(true);
        }
    }

    /// Starts the waiting frames as a batch. On the caller's thread they
    /// leave at once; pipelined, they wait on the worker until
    /// [`Self::collect`]. Without an inferred frame they leave at once.
    fn start(
        &mut self,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let (frames, inferred) = self.waiting.take_all();
        if inferred == 0 {
            return Ok(release(frames, Vec::new()));
        }
        let decoder = decoder();
        let mapping = self.mapping;
        let Some(worker) = self.worker.as_mut() else {
            let results = run_and_decode(&mut self.filling, inferred, &decoder, &mapping)?;
            return Ok(release(frames, results));
        };
        if worker.in_flight() {
            return Err(super::error::WorkerError::Busy.into());
        }
        // No spare after a batch that failed on the worker: a fresh tensor.
        let next = match self.spare.take() {
            Some(spare) => spare,
            None => self.filling.with_new_tensor(),
        };
        let mut runner = std::mem::replace(&mut self.filling, next);
        worker.submit(move || {
            let results = run_and_decode(&mut runner, inferred, &decoder, &mapping);
            (runner, results)
        })?;
        self.in_flight = frames;
        Ok(Vec::new())
    }

    /// The frames of the batch in flight once it has finished: waiting for
    /// it if `wait`, else only if it is done already.
    fn collect(&mut self, wait: bool) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let Some(worker) = self.worker.as_mut() else {
            return Ok(Vec::new());
        };
        let outcome = if wait {
            worker.wait()
        } else {
            worker.try_take()
        };
        let Some(outcome) = outcome else {
            return Ok(Vec::new());
        };
        let frames = std::mem::take(&mut self.in_flight);
        let (runner, results) = outcome?;
        self.spare = Some(runner);
        Ok(release(frames, results?))
    }
}

/// Pairs each inferred frame with its results, in order.
fn release<F, R>(
    frames: Vec<Waiting<F>>,
    results: Vec<Result<R, InferenceError>>,
) -> Vec<Released<F, R>> {
    let mut results = results.into_iter();
    frames
        .into_iter()
        .map(|waiting| Released {
            results: waiting.inferred.then(|| {
                results
                    .next()
                    .unwrap_or(Err(InferenceError::MissingResults))
            }),
            frame: waiting.frame,
        })
        .collect()
}

/// Runs a batch and decodes each frame's outputs.
fn run_and_decode<D: FrameDecoder>(
    runner: &mut BatchRunner,
    inferred: usize,
    decoder: &D,
    mapping: &FrameMapping,
) -> BatchOutcome<D::Results> {
    let mut results = Vec::with_capacity(inferred);
    runner.run(inferred, |_, outputs| {
        results.push(decoder.decode(outputs, mapping))
    })?;
    Ok(results)
}

/// Whether frame `index` (0-based, counted since start) is inferred with
/// `interval` (run on every Nth frame; 0 and 1 both mean every frame).
pub fn is_inference_frame(index: u64, interval: u32) -> bool {
    index.is_multiple_of(u64::from(interval.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_zero_or_one_infers_every_frame() {
        assert!((0..5).all(|i| is_inference_frame(i, 1) && is_inference_frame(i, 0)));
        let chosen: Vec<u64> = (0..10).filter(|&i| is_inference_frame(i, 3)).collect();
        assert_eq!(chosen, vec![0, 3, 6, 9]);
    }

    #[test]
    fn a_batch_fills_in_order_with_skipped_frames_between() {
        let mut queue = FrameQueue::new(2);
        for index in 0..5u64 {
            queue.push(index, is_inference_frame(index, 2));
        }
        // Frames 0, 2, 4 are inferred: the batch of 2 was full after frame 2.
        assert!(queue.batch_full());
        let (frames, inferred) = queue.take_all();
        let taken: Vec<(u64, bool)> = frames.iter().map(|w| (w.frame, w.inferred)).collect();
        assert_eq!(
            taken,
            vec![(0, true), (1, false), (2, true), (3, false), (4, true)]
        );
        assert_eq!(inferred, 3);
        assert!(queue.is_empty() && queue.nothing_to_infer());
    }

    #[test]
    fn skipped_frames_pass_at_once_when_nothing_waits() {
        let mut queue = FrameQueue::new(4);
        queue.push("a", false);
        assert!(queue.nothing_to_infer());
        queue.push("b", true);
        assert!(!queue.nothing_to_infer() && !queue.batch_full());
        assert_eq!(queue.inferred, 1);
        queue.clear();
        assert!(queue.is_empty() && queue.inferred == 0);
    }

    #[test]
    fn results_pair_with_the_inferred_frames_in_order() {
        let frames = vec![
            Waiting {
                frame: 'a',
                inferred: true,
            },
            Waiting {
                frame: 'b',
                inferred: false,
            },
            Waiting {
                frame: 'c',
                inferred: true,
            },
        ];
        let released = release(frames, vec![Ok(1), Ok(2)]);
        let seen: Vec<(char, Option<i32>)> = released
            .into_iter()
            .map(|r| (r.frame, r.results.map(|r| r.unwrap())))
            .collect();
        assert_eq!(seen, vec![('a', Some(1)), ('b', None), ('c', Some(2))]);
    }
}
