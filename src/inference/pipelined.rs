//! Batches that run either on the caller's thread or, pipelined, on a worker
//! thread while the caller prepares the next batch.
//!
//! Pipelined, two batch tensors take turns: one is being filled by the
//! streaming thread while the other is inferred and decoded on the worker.
//! On a machine with few cores this keeps the decoder (upstream, on the
//! streaming thread) busy during inference instead of idle, at the price of
//! frames leaving up to one batch later.

use std::sync::Arc;

use super::BatchRunner;
use super::results::{FrameResults, PostprocessConfig, decode_frame};
use super::worker::Worker;
use crate::decode::{DecoderKind, DetectionParams, SoftmaxMode};
use crate::frame::Size;
use crate::preprocess::FrameMapping;

/// What a batch's outputs are decoded with, owned so a worker can take it.
#[derive(Debug, Clone)]
pub struct PostprocessSettings {
    /// The decoder (resolved, never `auto`).
    pub decoder: DecoderKind,
    /// Thresholds, limits and the model input size.
    pub detection: DetectionParams,
    /// Class names by id; may be empty.
    pub labels: Arc<[String]>,
    /// The output read by classification and features (`None`: the usual one).
    pub output_name: Option<String>,
    /// Softmax for classification.
    pub softmax: SoftmaxMode,
    /// Classes kept per frame.
    pub top_k: usize,
    /// L2-normalise features.
    pub normalize: bool,
}

impl PostprocessSettings {
    /// The borrowed form the decoders take.
    pub fn config(&self) -> PostprocessConfig<'_> {
        PostprocessConfig {
            decoder: self.decoder,
            detection: self.detection,
            labels: &self.labels,
            output_name: self.output_name.as_deref(),
            softmax: self.softmax,
            top_k: self.top_k,
            normalize: self.normalize,
        }
    }
}

/// One result per inferred frame of a batch, in order.
pub type BatchResults = Vec<Result<FrameResults, String>>;

/// A finished batch: the frames that left with it and their results.
pub struct FinishedBatch<F> {
    /// Every frame given to [`BatchPipeline::start`], in order.
    pub frames: Vec<F>,
    /// One result per inferred frame, in order.
    pub results: BatchResults,
}

/// A batch tensor and what runs it: the caller's thread or a worker.
pub struct BatchPipeline<F> {
    /// The tensor the next frames are preprocessed into.
    filling: BatchRunner,
    /// The other tensor when pipelined; `None` while it is in flight.
    spare: Option<BatchRunner>,
    worker: Option<Worker<(BatchRunner, Result<BatchResults, String>)>>,
    /// The frames of the batch in flight.
    in_flight: Vec<F>,
    mapping: FrameMapping,
}

impl<F> BatchPipeline<F> {
    /// Batches through `runner`, mapping boxes back to frames with `mapping`;
    /// `pipelined` starts the worker thread and a second tensor.
    pub fn new(
        runner: BatchRunner,
        mapping: FrameMapping,
        pipelined: bool,
    ) -> Result<Self, String> {
        let (spare, worker) = if pipelined {
            let worker = Worker::new("dl-inference")
                .map_err(|e| format!("cannot start the inference thread: {e}"))?;
            (Some(runner.with_new_tensor()), Some(worker))
        } else {
            (None, None)
        };
        Ok(Self {
            filling: runner,
            spare,
            worker,
            in_flight: Vec::new(),
            mapping,
        })
    }

    /// The tensor to preprocess the next inferred frames into.
    pub fn filling(&mut self) -> &mut BatchRunner {
        &mut self.filling
    }

    /// The model input size.
    pub fn input_size(&self) -> Size {
        self.filling.input_size()
    }

    /// Whether a batch runs on the worker now.
    pub fn in_flight(&self) -> bool {
        self.worker.as_ref().is_some_and(Worker::in_flight)
    }

    /// Runs the first `inferred` slots of the filling tensor: `frames` are
    /// the frames leaving with this batch (inferred or not), in order.
    /// Synchronous: runs now and returns the batch. Pipelined: starts it on
    /// the worker and returns `None`; a batch still in flight must have been
    /// finished first.
    pub fn start(
        &mut self,
        inferred: usize,
        frames: Vec<F>,
        settings: PostprocessSettings,
    ) -> Result<Option<FinishedBatch<F>>, String> {
        let mapping = self.mapping;
        let Some(worker) = self.worker.as_mut() else {
            let results = run_and_decode(&mut self.filling, inferred, &settings, &mapping)?;
            return Ok(Some(FinishedBatch { frames, results }));
        };
        if worker.in_flight() {
            return Err("a batch was started before the previous one finished".to_string());
        }
        // No spare after a batch that failed on the worker: a fresh tensor.
        let next = match self.spare.take() {
            Some(spare) => spare,
            None => self.filling.with_new_tensor(),
        };
        let mut runner = std::mem::replace(&mut self.filling, next);
        worker.submit(move || {
            let results = run_and_decode(&mut runner, inferred, &settings, &mapping);
            (runner, results)
        })?;
        self.in_flight = frames;
        Ok(None)
    }

    /// The batch in flight once it has finished: waiting for it if `wait`,
    /// else only if it is done already. `None`: nothing (finished) in flight.
    pub fn finish(&mut self, wait: bool) -> Option<Result<FinishedBatch<F>, String>> {
        let worker = self.worker.as_mut()?;
        let outcome = if wait {
            worker.wait()?
        } else {
            worker.try_take()?
        };
        let frames = std::mem::take(&mut self.in_flight);
        Some(outcome.and_then(|(runner, results)| {
            self.spare = Some(runner);
            results.map(|results| FinishedBatch { frames, results })
        }))
    }
}

/// Runs a batch and decodes each frame's outputs.
fn run_and_decode(
    runner: &mut BatchRunner,
    inferred: usize,
    settings: &PostprocessSettings,
    mapping: &FrameMapping,
) -> Result<BatchResults, String> {
    let config = settings.config();
    let mut results = Vec::with_capacity(inferred);
    runner.run(inferred, |_, outputs| {
        results.push(decode_frame(&config, outputs, mapping))
    })?;
    Ok(results)
}
