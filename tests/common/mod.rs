//! Shared by the integration tests: plugin registration, paths to the models
//! and media that `scripts/setup.sh` prepares, and running pipelines to EOS.
#![allow(dead_code)] // each test binary uses a different part

pub mod http_server;
pub mod model_server;
pub mod mosquitto;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Initialises GStreamer and registers the plugin statically, once per process.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().expect("GStreamer initialises");
        gstdl::plugin_register_static().expect("the dl plugin registers");
    });
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `.data/` (made by `scripts/setup.sh`); panics with the fix if absent.
pub fn data(relative: &str) -> PathBuf {
    let path = root().join(".data").join(relative);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh --tests first",
        path.display()
    );
    path
}

/// A generated test model.
pub fn test_model(name: &str) -> PathBuf {
    data(&format!("models/test/{name}"))
}

/// A sample clip or photo.
pub fn media(name: &str) -> PathBuf {
    data(&format!("media/{name}"))
}

/// What a pipeline run produced.
pub struct Outcome {
    /// Element messages, in order, with the time they arrived.
    pub element_messages: Vec<(Instant, gst::Structure)>,
    /// The error, if the pipeline failed: (message, debug text).
    pub error: Option<(String, String)>,
    /// Warnings posted on the bus.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// Element messages with this structure name.
    pub fn named(&self, name: &str) -> Vec<&gst::Structure> {
        self.element_messages
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.name() == name)
            .collect()
    }
}

/// Runs `pipeline` to EOS or error, collecting element messages. `on_message`
/// sees every element message as it arrives (to seek, say). Fails the test if
/// neither EOS nor an error arrives within `timeout`.
pub fn run_to_end(
    pipeline: &gst::Pipeline,
    timeout: Duration,
    mut on_message: impl FnMut(&gst::Pipeline, &gst::StructureRef),
) -> Outcome {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let mut outcome = Outcome {
        element_messages: Vec::new(),
        error: None,
        warnings: Vec::new(),
    };
    if pipeline.set_state(gst::State::Playing).is_err() {
        // The error message on the bus says why; collect it below.
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "pipeline neither ended nor failed within {timeout:?}"
        );
        let Some(message) = bus.timed_pop(gst::ClockTime::from_nseconds(left.as_nanos() as u64))
        else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => {
                // gstreamer-rs turns a panic inside an element into this
                // error; a panic is a failure whatever the test expected.
                assert!(
                    !err.error().to_string().starts_with("Panicked"),
                    "an element panicked: {} {:?}",
                    err.error(),
                    err.debug()
                );
                outcome.error = Some((
                    err.error().to_string(),
                    err.debug().map(|d| d.to_string()).unwrap_or_default(),
                ));
                break;
            }
            gst::MessageView::Warning(w) => outcome.warnings.push(w.error().to_string()),
            gst::MessageView::Element(element) => {
                if let Some(structure) = element.structure() {
                    on_message(pipeline, structure);
                    outcome
                        .element_messages
                        .push((Instant::now(), structure.to_owned()));
                }
            }
            _ => {}
        }
    }
    pipeline
        .set_state(gst::State::Null)
        .expect("pipeline stops");
    outcome
}

/// A loopback port nothing listens on now (for a server a test starts).
/// Never the same port twice in one test binary: tests run side by side,
/// and two servers told the same port would meet each other's clients.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        if HANDED_OUT.lock().unwrap().insert(port) {
            return port;
        }
    }
}

/// Parses a launch line into a pipeline.
pub fn pipeline(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .unwrap_or_else(|e| panic!("cannot build pipeline '{description}': {e}"))
        .downcast::<gst::Pipeline>()
        .expect("a launch line with several elements is a pipeline")
}

/// Counts the buffers that reach the sink pad of the element named `name`.
pub fn count_buffers(
    pipeline: &gst::Pipeline,
    name: &str,
) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let element = pipeline
        .by_name(name)
        .unwrap_or_else(|| panic!("no element named {name}"));
    let pad = element
        .static_pad("sink")
        .expect("the element has a sink pad");
    let seen = counter.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        gst::PadProbeReturn::Ok
    });
    counter
}

/// Runs `description`, which must fail (at start, or when caps are set), and
/// returns the error's message and debug text, for asserting on.
pub fn expect_error(description: &str) -> String {
    let p = pipeline(description);
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    let (message, debug) = outcome
        .error
        .unwrap_or_else(|| panic!("'{description}' must fail"));
    format!("{message} {debug}")
}

/// Plays `pipeline` and pulls every sample from its appsink `sink` (each
/// within 30 s of the last, to EOS) with the frame's video info; then stops.
pub fn pull_frames(
    pipeline: &gst::Pipeline,
    sink: &str,
) -> Vec<(gst_video::VideoInfo, gst::Sample)> {
    let sink = pipeline
        .by_name(sink)
        .expect("the appsink is in the pipeline")
        .downcast::<gst_app::AppSink>()
        .expect("an appsink");
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut frames = Vec::new();
    while let Some(sample) = sink.try_pull_sample(gst::ClockTime::from_seconds(30)) {
        let info = gst_video::VideoInfo::from_caps(sample.caps().unwrap()).unwrap();
        frames.push((info, sample));
    }
    pipeline.set_state(gst::State::Null).unwrap();
    frames
}

/// What a finished command printed: its stdout, then its stderr.
pub fn printed(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Flushes a harness as a flushing seek does: flush start, flush stop, and
/// the new segment that follows it.
pub fn flush(harness: &mut gst_check::Harness) {
    assert!(harness.push_event(gst::event::FlushStart::new()));
    assert!(harness.push_event(gst::event::FlushStop::new(true)));
    harness.push_event(gst::event::Segment::new(&gst::FormattedSegment::<
        gst::ClockTime,
    >::new()));
}
