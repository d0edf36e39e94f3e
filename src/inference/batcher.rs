//! A batch as one object: the frames waiting for it in stream order, the
//! tensor they are preprocessed into, and the batch in flight.
//!
//! Frames that are inferred and frames that pass without inference (every
//! Nth frame, or late in realtime) share one queue, so a frame never
//! overtakes the ones before it: a skipped frame behind a half-full batch
//! waits with it, and leaves with it.
//!
//! A batch runs when `batch_size` inferred frames wait, or, partial, once
//! `batch_size` frames wait behind it without inference: at a large
//! inference interval a full batch would hold (batch-size - 1) x interval
//! decoded frames (210 at interval 30, batch 8), and holding them cost more
//! than batching saves: the decoder's pool grows by every frame held and
//! fills fresh memory, and the batch runs only after its last frame is
//! decoded instead of beside the decoding. So a batch never holds more
//! frames than a full batch of consecutive frames does (at most
//! 2 x batch_size - 1 wait), whatever the interval.
//!
//! Batches run either on the caller's thread or, pipelined, on a worker
//! thread while the caller prepares the next one: two batch tensors take
//! turns, one filled by the streaming thread while the other is inferred and
//! decoded on the worker. On a machine with few cores this keeps the decoder
//! (upstream, on the streaming thread) busy during inference instead of idle,
//! at the price of frames leaving up to one batch later.
//!
//! A served model (a model on an inference server) keeps several batches in
//! flight, one worker each, so frames keep flowing while earlier batches are
//! on the wire and the server works; batches are taken back in the order
//! they started, so frames still leave in order.

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

/// Frames in stream order; `batch_size` inferred frames make a batch, and
/// at most `batch_size` frames without inference wait behind a partial one.
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

    /// Whether the waiting frames should run as a batch now: a full batch,
    /// or a partial one that `batch_size` frames without inference wait
    /// behind (holding more would cost more than the fuller batch saves).
    fn batch_ready(&self) -> bool {
        let not_inferred = self.frames.len() - self.inferred;
        self.inferred >= self.batch_size || (self.inferred > 0 && not_inferred >= self.batch_size)
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

/// A batch running on a worker, with its frames.
struct InFlight<F> {
    worker: usize,
    frames: Vec<Waiting<F>>,
}

/// Frames in stream order, `batch_size` inferred frames to a batch, run on
/// the caller's thread or pipelined on a worker.
pub struct Batcher<F, D: FrameDecoder> {
    waiting: FrameQueue<F>,
    /// The tensor the next inferred frames are preprocessed into.
    filling: BatchRunner,
    /// Tensors of finished batches, for the next ones (pipelined).
    spare: Vec<BatchRunner>,
    /// One worker per batch that may be in flight; none: batches run on
    /// the caller's thread.
    workers: Vec<Worker<(BatchRunner, BatchOutcome<D::Results>)>>,
    /// The batches in flight, oldest first.
    in_flight: VecDeque<InFlight<F>>,
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
        Self::with_batches_in_flight(runner, mapping, batch_size, usize::from(pipelined))
    }

    /// Like [`Self::new`], with up to `in_flight` batches running at once on
    /// workers of their own (0: on the caller's thread; 1: pipelined; more:
    /// for a served model, where batches wait on the network and the server).
    pub fn with_batches_in_flight(
        runner: BatchRunner,
        mapping: FrameMapping,
        batch_size: usize,
        in_flight: usize,
    ) -> Result<Self, InferenceError> {
        let workers = (0..in_flight)
            .map(|_| Worker::new("dl-inference"))
            .collect::<Result<Vec<_>, _>>()?;
        let spare = (0..in_flight).map(|_| runner.with_new_tensor()).collect();
        Ok(Self {
            waiting: FrameQueue::new(batch_size),
            filling: runner,
            spare,
            workers,
            in_flight: VecDeque::new(),
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

    /// Whether a batch runs on a worker now.
    pub fn in_flight(&self) -> bool {
        !self.in_flight.is_empty()
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
    /// returns the frames that may leave now, in order. A full batch, or a
    /// partial one with `batch_size` frames waiting behind it uninferred,
    /// runs (once a worker is free: the oldest batch in flight is taken first if
    /// none is); a frame with no inferred frame before it leaves once every
    /// batch in flight has (so no frame overtakes another); batches in
    /// flight that have finished are taken. `decoder` is called when a
    /// batch starts.
    pub fn push(
        &mut self,
        frame: F,
        inferred: bool,
        decoder: impl FnOnce() -> D,
    ) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        self.waiting.push(frame, inferred);
        let must_start = self.waiting.batch_ready() || self.waiting.nothing_to_infer();
        let mut released = self.collect_finished()?;
        if must_start {
            if self.waiting.nothing_to_infer() {
                released.extend(self.collect_all()?);
            } else if self.in_flight.len() >= self.workers.len() {
                released.extend(self.collect_oldest()?);
            }
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
        let mut released = self.collect_all()?;
        released.extend(self.start(decoder)?);
        released.extend(self.collect_all()?);
        Ok(released)
    }

    /// Drops every waiting frame and the batch in flight (a flush: they
    /// belong to the flushed stream).
    pub fn flush(&mut self) {
        self.waiting.clear();
        while self.in_flight() {
            let _ = self.collect_oldest();
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
        if self.workers.is_empty() {
            let results = run_and_decode(&mut self.filling, inferred, &decoder, &mapping)?;
            return Ok(release(frames, results));
        }
        let index = self
            .workers
            .iter()
            .position(|w| !w.in_flight())
            .ok_or(super::error::WorkerError::Busy)?;
        // No spare after a batch that failed on a worker: a fresh tensor.
        let next = match self.spare.pop() {
            Some(spare) => spare,
            None => self.filling.with_new_tensor(),
        };
        let mut runner = std::mem::replace(&mut self.filling, next);
        self.workers[index].submit(move || {
            let results = run_and_decode(&mut runner, inferred, &decoder, &mapping);
            (runner, results)
        })?;
        self.in_flight.push_back(InFlight {
            worker: index,
            frames,
        });
        Ok(Vec::new())
    }

    /// The frames of the batches in flight that have finished, oldest
    /// first, stopping at the first still running (frames leave in order).
    fn collect_finished(&mut self) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let mut released = Vec::new();
        while let Some(oldest) = self.in_flight.front() {
            let Some(outcome) = self.workers[oldest.worker].try_take() else {
                break;
            };
            released.extend(self.finish_oldest(outcome)?);
        }
        Ok(released)
    }

    /// The frames of the oldest batch in flight, waiting for it.
    fn collect_oldest(&mut self) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let Some(oldest) = self.in_flight.front() else {
            return Ok(Vec::new());
        };
        match self.workers[oldest.worker].wait() {
            Some(outcome) => self.finish_oldest(outcome),
            None => {
                self.in_flight.pop_front();
                Err(super::error::WorkerError::Stopped.into())
            }
        }
    }

    /// The frames of every batch in flight, waiting for them.
    fn collect_all(&mut self) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let mut released = Vec::new();
        while self.in_flight() {
            released.extend(self.collect_oldest()?);
        }
        Ok(released)
    }

    /// Pairs the oldest batch's frames with the outcome of its run.
    fn finish_oldest(
        &mut self,
        outcome: Result<(BatchRunner, BatchOutcome<D::Results>), super::error::WorkerError>,
    ) -> Result<Vec<Released<F, D::Results>>, InferenceError> {
        let frames = self
            .in_flight
            .pop_front()
            .map(|batch| batch.frames)
            .unwrap_or_default();
        let (runner, results) = outcome?;
        self.spare.push(runner);
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
        assert!(queue.batch_ready());
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
        assert!(!queue.nothing_to_infer() && !queue.batch_ready());
        assert_eq!(queue.inferred, 1);
        queue.clear();
        assert!(queue.is_empty() && queue.inferred == 0);
    }

    /// The frame indices of each batch when `frames` frames come in, every
    /// `interval`th inferred, run as soon as the queue is ready; the frames
    /// still waiting at the end (the partial batch EOS runs) come last.
    fn batches(frames: u64, interval: u32, batch_size: usize) -> Vec<Vec<u64>> {
        let mut queue = FrameQueue::new(batch_size);
        let mut batches = Vec::new();
        for index in 0..frames {
            queue.push(index, is_inference_frame(index, interval));
            if queue.batch_ready() || queue.nothing_to_infer() {
                let (frames, _) = queue.take_all();
                batches.push(frames.into_iter().map(|w| w.frame).collect());
            }
        }
        let (rest, _) = queue.take_all();
        batches.push(rest.into_iter().map(|w| w.frame).collect());
        batches.retain(|batch: &Vec<u64>| !batch.is_empty());
        batches
    }

    #[test]
    fn consecutive_inferred_frames_fill_whole_batches() {
        let runs = batches(20, 1, 8);
        assert_eq!(runs.len(), 3);
        assert_eq!(runs[0], (0..8).collect::<Vec<_>>());
        assert_eq!(runs[1], (8..16).collect::<Vec<_>>());
        assert_eq!(runs[2], (16..20).collect::<Vec<_>>(), "partial at EOS");
        // Every other frame inferred: 8 inferred frames span 15 frames, 7
        // of them uninferred, so batches stay full.
        let runs = batches(32, 2, 8);
        assert_eq!(runs[0], (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn a_partial_batch_runs_once_batch_size_frames_wait_uninferred_behind_it() {
        // Every 30th frame in batches of 8: frame 0 waits for frames 1..8
        // only, then runs alone instead of holding 210 frames for a full
        // batch; frames 9..29 pass at once (nothing to infer before them).
        let runs = batches(70, 30, 8);
        assert_eq!(runs[0], (0..9).collect::<Vec<_>>());
        assert!(runs[1..22].iter().all(|batch| batch.len() == 1));
        assert_eq!(runs[22], (30..39).collect::<Vec<_>>());
        assert_eq!(runs.concat(), (0..70).collect::<Vec<_>>(), "in order, all");
        let most_held = runs.iter().map(Vec::len).max();
        assert_eq!(most_held, Some(9));
        // Every 3rd frame in batches of 8: 8 frames uninferred wait after
        // the 4 inferred frames 0, 3, 6, 9 (frame 11), so 4 run together.
        let runs = batches(24, 3, 8);
        assert_eq!(runs[0], (0..12).collect::<Vec<_>>());
        assert_eq!(runs[0].iter().filter(|&&i| i % 3 == 0).count(), 4);
        assert_eq!(runs.concat(), (0..24).collect::<Vec<_>>());
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
