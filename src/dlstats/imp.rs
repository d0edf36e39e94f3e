//! SECTION:element-dlstats
//!
//! Reports the progress of a stream the way DeepDetect's `GET /stream` does:
//! processed frames, elapsed time, average and current fps, remaining time
//! and percent (from the upstream duration and the processing rate; -1 when
//! unknown, as on live sources), and the video size and framerate.
//!
//! Every `interval` ms, and once more at EOS, it posts an element message
//! named `dlstats`, rewrites the JSON status file `location` atomically, and
//! redraws a progress bar on stderr when `progress=true`.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dlstats progress=true location=status.json ! fakesink
//! ```

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;

use crate::element_support::{filter_pad_templates, lock};
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;

use crate::meta::is_skipped;
use crate::stats::{
    ProgressTracker, StreamState, StreamStatus, VideoSummary, format_progress_bar,
    write_status_file,
};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlstats",
        gst::DebugColorFlags::empty(),
        Some("Deep learning stream statistics"),
    )
});

const DEFAULT_INTERVAL_MS: u32 = 1000;
const DEFAULT_PROGRESS: bool = false;
const DEFAULT_SILENT: bool = false;

#[derive(Debug, Clone)]
struct Settings {
    interval_ms: u32,
    progress: bool,
    location: Option<PathBuf>,
    silent: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            interval_ms: DEFAULT_INTERVAL_MS,
            progress: DEFAULT_PROGRESS,
            location: None,
            silent: DEFAULT_SILENT,
        }
    }
}

#[derive(Default)]
struct State {
    tracker: ProgressTracker,
    video: VideoSummary,
    /// The caps framerate as negotiated (0/1 when unknown or not video).
    framerate: Option<gst::Fraction>,
    last_report_at: Option<Instant>,
    /// Whether the progress bar left the cursor mid-line.
    bar_drawn: bool,
}

/// The `dlstats` element.
#[derive(Default)]
pub struct DlStats {
    settings: Mutex<Settings>,
    state: Mutex<State>,
}

impl DlStats {
    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn lock_settings(&self) -> std::sync::MutexGuard<'_, Settings> {
        lock(&self.settings)
    }

    /// The media duration upstream knows, if any. Live streams have none
    /// that means anything for "remaining" (a live source may still answer
    /// a duration, e.g. `videotestsrc is-live=true num-buffers=N`).
    fn upstream_duration(&self) -> Option<Duration> {
        let mut latency = gst::query::Latency::new();
        if self.obj().sink_pad().peer_query(&mut latency) && latency.result().0 {
            return None;
        }
        let duration = self
            .obj()
            .sink_pad()
            .peer_query_duration::<gst::ClockTime>()?;
        Some(Duration::from_nanos(duration.nseconds()))
    }

    /// The stream time of a buffer: where in the media it is.
    fn stream_position(&self, buffer: &gst::BufferRef) -> Option<Duration> {
        let pts = buffer.pts()?;
        let segment = self.obj().segment();
        let segment = segment.downcast_ref::<gst::ClockTime>()?;
        let position = segment.to_stream_time(pts)?;
        Some(Duration::from_nanos(position.nseconds()))
    }

    /// Builds a report now and sends it everywhere the settings ask.
    fn report(&self, state: &mut State, stream_state: StreamState) {
        let settings = self.lock_settings().clone();
        let duration = if stream_state == StreamState::Running {
            self.upstream_duration()
        } else {
            None
        };
        let now = Instant::now();
        let status = state
            .tracker
            .report(now, stream_state, duration, state.video);
        state.last_report_at = Some(now);

        if !settings.silent {
            self.post_status(&status, state.framerate.unwrap_or(gst::Fraction::new(0, 1)));
        }
        if let Some(location) = &settings.location
            && let Err(err) = write_status_file(location, &status.to_json())
        {
            gst::element_imp_warning!(
                self,
                gst::ResourceError::Write,
                (
                    "Could not write the status file {}: {}",
                    location.display(),
                    err
                )
            );
        }
        if settings.progress {
            let total_frames = match stream_state {
                StreamState::Eos => Some(status.processed_frames),
                StreamState::Running => duration.and_then(|d| {
                    (state.video.fps > 0.0)
                        .then(|| (d.as_secs_f64() * state.video.fps).round() as u64)
                }),
            };
            draw_progress(
                &format_progress_bar(&status, total_frames),
                stream_state,
                &mut state.bar_drawn,
            );
        }
    }

    fn post_status(&self, status: &StreamStatus, framerate: gst::Fraction) {
        let structure = gst::Structure::builder("dlstats")
            .field("status", status.status.as_str())
            .field("processed-frames", status.processed_frames)
            .field("skipped-frames", status.skipped_frames)
            .field("elapsed-ms", status.elapsed_ms)
            .field("fps", status.fps)
            .field("current-fps", status.current_fps)
            .field("remaining-time-ms", status.remaining_time_ms)
            .field("percent", status.percent)
            .field("width", status.video.width as i32)
            .field("height", status.video.height as i32)
            .field("framerate", framerate)
            .build();
        // Posting fails only when the element has no bus (not in a pipeline); nothing to do then.
        let _ = self.obj().post_message(
            gst::message::Element::builder(structure)
                .src(&*self.obj())
                .build(),
        );
    }
}

/// Draws the progress line on stderr: redrawn in place on a terminal, one
/// line per report otherwise (logs stay readable).
fn draw_progress(line: &str, stream_state: StreamState, bar_drawn: &mut bool) {
    let mut stderr = std::io::stderr().lock();
    let finished = stream_state == StreamState::Eos;
    let result = if stderr.is_terminal() {
        *bar_drawn = !finished;
        write!(stderr, "\r{line}\x1b[K{}", if finished { "\n" } else { "" })
    } else {
        writeln!(stderr, "{line}")
    };
    // A closed stderr must not stop the stream.
    let _ = result.and_then(|()| stderr.flush());
}

#[glib::object_subclass]
impl ObjectSubclass for DlStats {
    const NAME: &'static str = "GstDlStats";
    type Type = super::DlStats;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for DlStats {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Milliseconds between reports (bus message, status file, progress bar); a final report is always made at EOS")
                    .minimum(1)
                    .default_value(DEFAULT_INTERVAL_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("progress")
                    .nick("Progress bar")
                    .blurb("Draw a progress bar on stderr: percent, frames, elapsed, remaining time, fps")
                    .default_value(DEFAULT_PROGRESS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("location")
                    .nick("Status file")
                    .blurb("JSON status file rewritten atomically at each report (DeepDetect GET /stream keys); unset for none")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("silent")
                    .nick("Silent")
                    .blurb("Post no dlstats element messages on the bus")
                    .default_value(DEFAULT_SILENT)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt64::builder("processed-frames")
                    .nick("Processed frames")
                    .blurb("Frames that went through since the element started")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("skipped-frames")
                    .nick("Skipped frames")
                    .blurb("Frames that passed without inference because they were late (realtime mode of dlinfer)")
                    .read_only()
                    .build(),
                glib::ParamSpecDouble::builder("fps")
                    .nick("Frames per second")
                    .blurb("Average frames per second since the first frame")
                    .minimum(0.0)
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.lock_settings();
        match pspec.name() {
            "interval" => settings.interval_ms = value.get().expect("type checked upstream"),
            "progress" => settings.progress = value.get().expect("type checked upstream"),
            "location" => {
                let location: Option<String> = value.get().expect("type checked upstream");
                settings.location = location.filter(|l| !l.is_empty()).map(PathBuf::from);
            }
            "silent" => settings.silent = value.get().expect("type checked upstream"),
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "interval" => self.lock_settings().interval_ms.to_value(),
            "progress" => self.lock_settings().progress.to_value(),
            "location" => self
                .lock_settings()
                .location
                .as_ref()
                .map(|l| l.to_string_lossy().into_owned())
                .to_value(),
            "silent" => self.lock_settings().silent.to_value(),
            "processed-frames" => self.lock_state().tracker.processed_frames().to_value(),
            "skipped-frames" => self.lock_state().tracker.skipped_frames().to_value(),
            "fps" => self.lock_state().tracker.average_fps().to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for DlStats {}

impl ElementImpl for DlStats {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning stream statistics",
                "Filter/Analyzer/Video",
                "Reports processed frames, fps, elapsed and remaining time as bus messages, a JSON status file and a progress bar",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            // Any caps: the counts make sense for any stream; video caps add size and framerate.
            let caps = gst::Caps::new_any();
            filter_pad_templates(&caps, &caps)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for DlStats {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let location = self.lock_settings().location.clone();
        *self.lock_state() = State::default();
        if let Some(location) = location {
            // Fail now, not after an hour of processing, when the file cannot be written;
            // readers also find valid JSON from the start.
            let status = self.lock_state().tracker.report(
                Instant::now(),
                StreamState::Running,
                None,
                VideoSummary::default(),
            );
            write_status_file(&location, &status.to_json()).map_err(|err| {
                gst::error_msg!(
                    gst::ResourceError::OpenWrite,
                    (
                        "Cannot write the status file {}: {}; set location to a writable path",
                        location.display(),
                        err
                    )
                )
            })?;
        }
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let mut state = self.lock_state();
        if state.bar_drawn {
            eprintln!();
            state.bar_drawn = false;
        }
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps).ok();
        let video = info.as_ref().map(|info| VideoSummary {
            width: info.width(),
            height: info.height(),
            fps: f64::from(info.fps().numer()) / f64::from(info.fps().denom().max(1)),
        });
        gst::debug!(CAT, imp = self, "caps {incaps}, video {video:?}");
        let mut state = self.lock_state();
        state.video = video.unwrap_or_default();
        state.framerate = info.map(|info| info.fps());
        drop(state);
        self.parent_set_caps(incaps, outcaps)
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Segment(_) | gst::EventView::FlushStop(_) => {
                self.lock_state().tracker.new_segment();
            }
            gst::EventView::Eos(_) => {
                let mut state = self.lock_state();
                self.report(&mut state, StreamState::Eos);
            }
            _ => {}
        }
        self.parent_sink_event(event)
    }

    fn transform_ip_passthrough(
        &self,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let position = self.stream_position(buffer);
        let interval = Duration::from_millis(u64::from(self.lock_settings().interval_ms));
        let mut state = self.lock_state();
        let now = Instant::now();
        state.tracker.frame(now, position);
        if is_skipped(buffer) {
            state.tracker.skipped_frame();
        }
        let due = state
            .last_report_at
            .is_none_or(|at| now.duration_since(at) >= interval);
        if due {
            self.report(&mut state, StreamState::Running);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
