//! Video resources and `POST /predict` on them.
//!
//! A resource is a source and a pace. Its pipeline (source ! dlinfer !
//! appsink) starts at the first predict call, for that call's service and
//! model settings, and keeps running: each call takes the next frame (or,
//! for a realtime resource, the newest). A call with another service or
//! other settings starts the pipeline anew, from the start of the video.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gst::prelude::*;

use super::dd::{DdError, Detection, FrameClass, FramePrediction};
use super::media::Source;
use super::model_spec::ModelSpec;
use super::pipeline::predict_pipeline;

/// A resource as created by `PUT /resources/{id}`.
pub struct Resource {
    pub id: String,
    /// `source` as the client gave it.
    pub source_text: String,
    pub source: Source,
    pub realtime: bool,
    reader: Mutex<Option<FrameReader>>,
}

/// The running predict pipeline of a resource.
struct FrameReader {
    /// What it was built for: the service generation and the model settings.
    built_for: (u64, ModelSpec),
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    frames_read: u64,
}

impl Drop for FrameReader {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

impl Resource {
    pub fn new(id: String, source_text: String, source: Source, realtime: bool) -> Self {
        Resource {
            id,
            source_text,
            source,
            realtime,
            reader: Mutex::new(None),
        }
    }

    /// Whether a predict pipeline is running.
    pub fn is_open(&self) -> bool {
        self.reader.lock().map(|r| r.is_some()).unwrap_or(false)
    }

    /// Stops the pipeline, if one runs.
    pub fn close(&self) {
        if let Ok(mut reader) = self.reader.lock() {
            reader.take();
        }
    }

    /// Stops the pipeline if it runs a service of this generation (being deleted).
    pub fn close_if_built_for(&self, generation: u64) {
        if let Ok(mut reader) = self.reader.lock()
            && reader.as_ref().is_some_and(|r| r.built_for.0 == generation)
        {
            reader.take();
        }
    }

    /// Runs the model on the next (or newest) frame. Blocks up to `timeout`.
    pub fn predict(
        &self,
        generation: u64,
        spec: &ModelSpec,
        timeout: Duration,
    ) -> Result<FramePrediction, DdError> {
        // One call at a time per resource: each takes its own frame.
        let mut guard = self
            .reader
            .lock()
            .map_err(|_| DdError::internal("resource lock poisoned"))?;
        let wanted = (generation, spec.clone());
        let rebuild = match guard.as_ref() {
            None => true,
            // A lower threshold needs the model to keep more; a higher one is
            // applied to the answer, so the pipeline keeps running.
            Some(reader) => {
                let (built_generation, built) = &reader.built_for;
                *built_generation != generation
                    || built.model_use != spec.model_use
                    || built.overrides != spec.overrides
                    || built.model != spec.model
                    || built.confidence_threshold.unwrap_or(f64::MAX)
                        > spec.confidence_threshold.unwrap_or(f64::MAX)
            }
        };
        if rebuild {
            guard.take();
            let (pipeline, sink) =
                predict_pipeline(&self.source, self.realtime, spec).map_err(DdError::mllib)?;
            if pipeline.set_state(gst::State::Playing).is_err() {
                let why =
                    bus_error(&pipeline).unwrap_or_else(|| "the pipeline did not start".into());
                let _ = pipeline.set_state(gst::State::Null);
                return Err(DdError::mllib(format!("resource {}: {why}", self.id)));
            }
            *guard = Some(FrameReader {
                built_for: wanted,
                pipeline,
                sink,
                frames_read: 0,
            });
        }
        let reader = guard.as_mut().expect("a reader was just made");
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let step = left.min(Duration::from_millis(100));
            if let Some(sample) = reader
                .sink
                .try_pull_sample(gst::ClockTime::from_nseconds(step.as_nanos() as u64))
            {
                let frame = reader.frames_read;
                reader.frames_read += 1;
                return frame_prediction(&sample, (!self.realtime).then_some(frame));
            }
            if let Some(why) = bus_error(&reader.pipeline) {
                guard.take();
                return Err(DdError::mllib(format!("resource {}: {why}", self.id)));
            }
            if reader.sink.is_eos() {
                return Err(DdError::no_data(format!(
                    "resource {} has no more frames ({} read); create it again to start over",
                    self.id, reader.frames_read
                )));
            }
            if left.is_zero() {
                return Err(DdError::mllib(format!(
                    "resource {}: no frame within {} s",
                    self.id,
                    timeout.as_secs()
                )));
            }
        }
    }
}

/// The first error on the pipeline's bus, with its details.
pub fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(e) = message.view() {
            return Some(error_text(e));
        }
    }
    None
}

/// An error message as one line: the message, then its debug text.
pub fn error_text(e: &gst::message::Error) -> String {
    match e.debug() {
        Some(debug) if !debug.is_empty() => format!("{} ({debug})", e.error()),
        _ => e.error().to_string(),
    }
}

/// Reads what the model attached to a frame.
fn frame_prediction(sample: &gst::Sample, frame: Option<u64>) -> Result<FramePrediction, DdError> {
    let buffer = sample
        .buffer()
        .ok_or_else(|| DdError::internal("a frame without a buffer"))?;
    let info = sample
        .caps()
        .and_then(|caps| gst_video::VideoInfo::from_caps(caps).ok())
        .ok_or_else(|| DdError::internal("a frame without video caps"))?;
    let (width, height) = (info.width(), info.height());
    let detections = crate::meta::read_detections(buffer, width, height)
        .into_iter()
        .map(|o| Detection {
            label: o.label,
            confidence: o.confidence,
            x_min: o.x_min,
            y_min: o.y_min,
            x_max: o.x_max,
            y_max: o.y_max,
        })
        .collect();
    let classes = crate::meta::read_classification(buffer)
        .into_iter()
        .map(|c| FrameClass {
            label: c.label,
            confidence: c.confidence,
        })
        .collect();
    let features = crate::meta::read_tensors(buffer)
        .into_iter()
        .next()
        .map(|t| t.data);
    Ok(FramePrediction {
        frame,
        pts_ms: buffer.pts().map(|pts| pts.nseconds() as f64 / 1e6),
        width,
        height,
        detections,
        classes,
        features,
    })
}
