//! Streams (`PUT /stream/{name}`): a whole resource through a service to a
//! file or the client's pipeline, run on a thread of their own. The thread
//! reads the buses: `dlstats` messages become the status body, EOS ends the
//! stream `terminated`, an error ends it `error` with the message. Nothing a
//! stream's pipeline does reaches the other streams or the server.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gst::prelude::*;
use serde_json::{Value, json};

use super::pipeline::StreamPipelines;
use super::resource::error_text;

/// How long `DELETE /stream` waits for the output to be finalised.
const FINISH_TIMEOUT: Duration = Duration::from_secs(20);

/// Where a stream is in its life.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Running,
    Terminated,
    Error(String),
}

impl Phase {
    /// `head.status` of `GET /stream`.
    pub fn name(&self) -> &'static str {
        match self {
            Phase::Running => "running",
            Phase::Terminated => "terminated",
            Phase::Error(_) => "error",
        }
    }
}

/// The last `dlstats` report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    pub processed_frames: u64,
    pub elapsed_ms: u64,
    pub fps: f64,
    pub remaining_time_ms: i64,
    pub width: i32,
    pub height: i32,
    pub video_fps: f64,
}

impl Progress {
    /// Reads a `dlstats` element message.
    pub fn from_dlstats(s: &gst::StructureRef) -> Option<Progress> {
        if s.name() != "dlstats" {
            return None;
        }
        let framerate = s.get::<gst::Fraction>("framerate").ok();
        Some(Progress {
            processed_frames: s.get("processed-frames").ok()?,
            elapsed_ms: s.get("elapsed-ms").unwrap_or(0),
            fps: s.get("fps").unwrap_or(0.0),
            remaining_time_ms: s.get("remaining-time-ms").unwrap_or(-1),
            width: s.get("width").unwrap_or(0),
            height: s.get("height").unwrap_or(0),
            video_fps: framerate
                .filter(|f| f.denom() != 0)
                .map_or(0.0, |f| f64::from(f.numer()) / f64::from(f.denom())),
        })
    }
}

#[derive(Debug)]
struct Status {
    phase: Phase,
    progress: Progress,
    ended_at: Option<Instant>,
}

/// A stream and its thread.
pub struct Stream {
    pub name: String,
    pub job: u64,
    /// The resource and service it runs.
    pub resource: String,
    pub service: String,
    pub video_out: String,
    started: Instant,
    status: Arc<(Mutex<Status>, Condvar)>,
    pipelines: StreamPipelines,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl Stream {
    /// Starts the pipelines and the thread that watches them.
    pub fn start(
        name: String,
        job: u64,
        resource: String,
        service: String,
        video_out: String,
        pipelines: StreamPipelines,
    ) -> Result<Arc<Stream>, String> {
        let status = Arc::new((
            Mutex::new(Status {
                phase: Phase::Running,
                progress: Progress {
                    remaining_time_ms: -1,
                    ..Default::default()
                },
                ended_at: None,
            }),
            Condvar::new(),
        ));
        if let Some(output) = &pipelines.output
            && output.set_state(gst::State::Playing).is_err()
        {
            let why =
                super::resource::bus_error(output).unwrap_or_else(|| "it did not start".into());
            let _ = output.set_state(gst::State::Null);
            return Err(format!("the video_out pipeline: {why}"));
        }
        if pipelines.main.set_state(gst::State::Playing).is_err() {
            let why = super::resource::bus_error(&pipelines.main)
                .unwrap_or_else(|| "it did not start".into());
            stop(&pipelines);
            return Err(why);
        }
        let stream = Arc::new(Stream {
            name,
            job,
            resource,
            service,
            video_out,
            started: Instant::now(),
            status: Arc::clone(&status),
            pipelines: StreamPipelines {
                main: pipelines.main.clone(),
                output: pipelines.output.clone(),
            },
            watcher: Mutex::new(None),
        });
        let handle = std::thread::Builder::new()
            .name(format!("stream-{}", stream.name))
            .spawn(move || watch(pipelines, status))
            .map_err(|e| format!("cannot start the stream's thread: {e}"))?;
        *stream.watcher.lock().expect("fresh lock") = Some(handle);
        Ok(stream)
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.status
            .0
            .lock()
            .map(|s| s.phase.clone())
            .unwrap_or(Phase::Error("lock poisoned".into()))
    }

    /// Whether it still runs (and so counts against `--max-streams`).
    pub fn is_running(&self) -> bool {
        self.phase() == Phase::Running
    }

    /// The body of `GET /stream/{name}`: (head, body).
    pub fn report(&self) -> (Value, Value) {
        let status = self.status.0.lock().expect("status lock");
        let p = &status.progress;
        let time = status.ended_at.unwrap_or_else(Instant::now) - self.started;
        let head = json!({
            "method": "/predict",
            "job": self.job,
            "status": status.phase.name(),
            "time": (time.as_secs_f64() * 10.0).round() / 10.0,
        });
        let mut body = json!({
            "processed_frames": p.processed_frames,
            "elapsed_ms": p.elapsed_ms,
            "fps": (p.fps * 100.0).round() / 100.0,
            "remaining_time_ms": if status.phase == Phase::Running { p.remaining_time_ms } else { 0 },
            "video": {"width": p.width, "height": p.height, "fps": (p.video_fps * 100.0).round() / 100.0},
        });
        if let Phase::Error(message) = &status.phase {
            body["error"] = json!(message);
        }
        (head, body)
    }

    /// Ends the stream cleanly: EOS through the pipelines so the output is
    /// finalised (a file plays), then everything stops. Blocks until done.
    pub fn finish(&self) {
        if self.is_running() {
            self.pipelines.main.send_event(gst::event::Eos::new());
            let (lock, ended) = &*self.status;
            let guard = lock.lock().expect("status lock");
            let (mut guard, timeout) = ended
                .wait_timeout_while(guard, FINISH_TIMEOUT, |s| s.phase == Phase::Running)
                .expect("status lock");
            if timeout.timed_out() {
                guard.phase = Phase::Error(format!(
                    "the stream did not finish within {} s of the stop; its output may be incomplete",
                    FINISH_TIMEOUT.as_secs()
                ));
                guard.ended_at = Some(Instant::now());
            }
        }
        stop(&self.pipelines);
        if let Some(handle) = self.watcher.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }
}

fn stop(pipelines: &StreamPipelines) {
    let _ = pipelines.main.set_state(gst::State::Null);
    if let Some(output) = &pipelines.output {
        let _ = output.set_state(gst::State::Null);
    }
}

/// The stream's thread: reads both buses until the stream ends.
fn watch(pipelines: StreamPipelines, status: Arc<(Mutex<Status>, Condvar)>) {
    let main_bus = pipelines.main.bus().expect("a pipeline has a bus");
    let output_bus = pipelines.output.as_ref().and_then(|o| o.bus());
    let end = |phase: Phase| {
        let (lock, ended) = &*status;
        if let Ok(mut s) = lock.lock()
            && s.phase == Phase::Running
        {
            s.phase = phase;
            s.ended_at = Some(Instant::now());
        }
        ended.notify_all();
    };
    loop {
        if !matches!(status.0.lock().map(|s| s.phase.clone()), Ok(Phase::Running)) {
            break;
        }
        let wait = if output_bus.is_some() { 20 } else { 100 };
        if let Some(message) = main_bus.timed_pop(gst::ClockTime::from_mseconds(wait)) {
            match message.view() {
                gst::MessageView::Element(e) => {
                    if let Some(progress) = e.structure().and_then(Progress::from_dlstats)
                        && let Ok(mut s) = status.0.lock()
                    {
                        s.progress = progress;
                    }
                }
                gst::MessageView::Error(e) => {
                    end(Phase::Error(error_text(e)));
                    stop(&pipelines);
                }
                // With a client pipeline, the stream ends when the EOS has
                // gone through it too.
                gst::MessageView::Eos(_) if output_bus.is_none() => end(Phase::Terminated),
                _ => {}
            }
        }
        if let Some(bus) = &output_bus
            && let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(20))
        {
            match message.view() {
                gst::MessageView::Error(e) => {
                    end(Phase::Error(format!("video_out: {}", error_text(e))));
                    stop(&pipelines);
                }
                gst::MessageView::Eos(_) => end(Phase::Terminated),
                _ => {}
            }
        }
    }
    // Final dlstats reports posted before the EOS are read into the status.
    while let Some(message) = main_bus.pop_filtered(&[gst::MessageType::Element]) {
        if let Some(progress) = message.structure().and_then(Progress::from_dlstats)
            && let Ok(mut s) = status.0.lock()
        {
            s.progress = progress;
        }
    }
    let _ = pipelines.main.set_state(gst::State::Null);
    if let Some(output) = &pipelines.output {
        let _ = output.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dlstats_message_becomes_the_status_body() {
        gst::init().unwrap();
        let message = gst::Structure::builder("dlstats")
            .field("status", "running")
            .field("processed-frames", 2000u64)
            .field("elapsed-ms", 74999u64)
            .field("fps", 12.0f64)
            .field("remaining-time-ms", 89333i64)
            .field("width", 1920i32)
            .field("height", 1080i32)
            .field("framerate", gst::Fraction::new(30000, 1001))
            .build();
        let progress = Progress::from_dlstats(&message).unwrap();
        assert_eq!(
            progress,
            Progress {
                processed_frames: 2000,
                elapsed_ms: 74999,
                fps: 12.0,
                remaining_time_ms: 89333,
                width: 1920,
                height: 1080,
                video_fps: 30000.0 / 1001.0,
            }
        );
        assert!(Progress::from_dlstats(&gst::Structure::new_empty("dlinfer")).is_none());
    }

    #[test]
    fn phases_have_deepdetect_names() {
        assert_eq!(Phase::Running.name(), "running");
        assert_eq!(Phase::Terminated.name(), "terminated");
        assert_eq!(Phase::Error("x".into()).name(), "error");
    }
}
