//! SECTION:element-dlpublish
//!
//! Writes the results `dlinfer` attached to each frame: one JSON line per
//! frame with results (`location`; `-` is stdout; `all-frames=true` also
//! writes frames without results), keys after DeepDetect's predict output:
//!
//! ```json
//! {"frame":42,"pts_ms":1400.0,"width":1280,"height":720,
//!  "classes":[{"cat":"face","prob":0.93,"bbox":{"xmin":310.0,"ymin":120.5,"xmax":402.0,"ymax":233.0}}]}
//! ```
//!
//! Embeddings go inline as `"embedding": [...]`, or, with
//! `embeddings-location=E.npy`, into one float32 matrix [rows, dim] with an
//! index `E.index.jsonl` of `{"row", "frame", "pts_ms"}` per row (and
//! `"embedding_row"` in the frame's line). Each line is written whole and the
//! `.npy` header is rewritten after each row, so the files are valid at any
//! moment and a crash loses at most the last frame.
//!
//! With `location=mqtt://HOST[:PORT]/TOPIC` each line is one MQTT message
//! (QoS `mqtt-qos`) to that topic, through a queue of `mqtt-queue` messages
//! that rides over a broker restart (`publish::mqtt`).
//!
//! Objects described by a second model (`dlinfer inference-region=objects`)
//! carry its classes under its `results-name` and their own embedding
//! (`"embedding"`, or `"embedding_row"` whose index line names the frame,
//! the object's ROI id in `"object"` and its place in `"class_index"`).
//!
//! A write that fails (a full disk) is an error naming the file, and the
//! pipeline stops. Each file still ends with a whole line or row: what the
//! failing write had put there is cut off again. A frame's data goes to the
//! `.npy`, then its index, then the results line, so every row number a
//! line refers to is there, while the frame that failed may have left its
//! row in the files written before the one that failed.
//!
//! ```sh
//! gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
//!     dlinfer model=model.onnx decoder=features inference-interval=30 ! \
//!     dlpublish location=results.jsonl embeddings-location=embeddings.npy ! fakesink
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use gst::glib;

use crate::element_support::{filter_pad_templates, lock};
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use crate::meta::classification::read_object_classes_by_roi;
use crate::meta::tracking::{read_events, read_object_tracks, tracking_meta};
use crate::meta::{
    TensorKind, read_classification, read_detections_with_ids, read_object_tensors, read_tensors,
};
use crate::publish::mqtt::{
    MqttError, MqttUrl, Publisher, PublisherOptions, QoS, is_mqtt_location,
};
use crate::publish::{EventEntry, FrameRecord, IndexRow, LineFile, NpyWriter};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "dlpublish",
        gst::DebugColorFlags::empty(),
        Some("Deep learning results publisher"),
    )
});

const DEFAULT_LOCATION: &str = "-";
const DEFAULT_ALL_FRAMES: bool = false;

const DEFAULT_MQTT_QOS: u32 = 1;
const DEFAULT_MQTT_QUEUE: u32 = 1000;
const DEFAULT_MQTT_TIMEOUT_MS: u32 = 10_000;
/// MQTT keep-alive: a ping every 15 s of silence, a broker gone after 45 s.
const MQTT_KEEP_ALIVE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
struct Settings {
    location: Option<String>,
    all_frames: bool,
    embeddings_location: Option<PathBuf>,
    mqtt_qos: u32,
    mqtt_client_id: Option<String>,
    mqtt_queue: u32,
    mqtt_timeout_ms: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            location: Some(DEFAULT_LOCATION.to_string()),
            all_frames: DEFAULT_ALL_FRAMES,
            embeddings_location: None,
            mqtt_qos: DEFAULT_MQTT_QOS,
            mqtt_client_id: None,
            mqtt_queue: DEFAULT_MQTT_QUEUE,
            mqtt_timeout_ms: DEFAULT_MQTT_TIMEOUT_MS,
        }
    }
}

impl Settings {
    fn mqtt_timeout(&self) -> Duration {
        Duration::from_millis(u64::from(self.mqtt_timeout_ms))
    }

    /// The publisher's options; without a client id, one unique to this
    /// process and element (two clients with one id push each other off).
    fn mqtt_options(&self, element_name: &str) -> PublisherOptions {
        PublisherOptions {
            qos: QoS::from_level(self.mqtt_qos).unwrap_or(QoS::AtLeastOnce),
            client_id: self
                .mqtt_client_id
                .clone()
                .unwrap_or_else(|| format!("gst-dl-{}-{element_name}", std::process::id())),
            queue_limit: self.mqtt_queue as usize,
            timeout: self.mqtt_timeout(),
            keep_alive: MQTT_KEEP_ALIVE,
        }
    }
}

/// Where JSON lines go.
enum LineSink {
    Stdout,
    File(LineFile),
    /// One message per line, without its newline.
    Mqtt(Publisher),
}

/// Why a line could not be written.
enum LineError {
    Io(std::io::Error),
    Mqtt(MqttError),
}

impl LineSink {
    /// Writes one whole line and hands it to the OS (or the broker's queue)
    /// at once.
    fn write_line(&mut self, line: &str) -> Result<(), LineError> {
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line.as_bytes())
                    .and_then(|()| out.flush())
                    .map_err(LineError::Io)
            }
            Self::File(file) => file.write_line(line).map_err(LineError::Io),
            Self::Mqtt(publisher) => publisher
                .publish(line.trim_end_matches('\n').as_bytes().to_vec())
                .map_err(LineError::Mqtt),
        }
    }

    /// Where the lines go, for messages.
    fn describe(&self) -> String {
        match self {
            Self::Stdout => "stdout".to_string(),
            Self::File(file) => file.path().display().to_string(),
            Self::Mqtt(publisher) => publisher.url().to_string(),
        }
    }
}

struct Embeddings {
    matrix: NpyWriter,
    matrix_path: PathBuf,
    index: LineFile,
}

struct State {
    lines: Option<LineSink>,
    embeddings: Option<Embeddings>,
    size: (u32, u32),
    frames: u64,
}

/// The `dlpublish` element.
#[derive(Default)]
pub struct DlPublish {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

/// `E.npy` -> `E.index.jsonl`.
fn index_path(embeddings: &Path) -> PathBuf {
    embeddings.with_extension("index.jsonl")
}

/// What a user can do about a write error, given the property that names the file.
fn write_fix(err: &std::io::Error, property: &str) -> String {
    if err.kind() == std::io::ErrorKind::StorageFull {
        format!("free space on that disk, or set {property} to a place with room")
    } else {
        format!("set {property} to a writable path")
    }
}

/// The GStreamer error for a failed write: a full disk has its own.
fn write_error_kind(err: &std::io::Error, otherwise: gst::ResourceError) -> gst::ResourceError {
    if err.kind() == std::io::ErrorKind::StorageFull {
        gst::ResourceError::NoSpaceLeft
    } else {
        otherwise
    }
}

fn open_error(what: &str, property: &str, path: &Path, err: std::io::Error) -> gst::ErrorMessage {
    gst::error_msg!(
        write_error_kind(&err, gst::ResourceError::OpenWrite),
        (
            "Cannot write the {} {}: {}; {}",
            what,
            path.display(),
            err,
            write_fix(&err, property)
        )
    )
}

impl DlPublish {
    /// Posts the error for frame `frame`'s `what` that could not be written
    /// to `place` (named by `property`), and stops the stream.
    fn write_error(
        &self,
        frame: u64,
        what: &str,
        place: &str,
        property: &str,
        err: std::io::Error,
    ) -> gst::FlowError {
        gst::element_imp_error!(
            self,
            write_error_kind(&err, gst::ResourceError::Write),
            (
                "Cannot write frame {}'s {} to {}: {}; {}",
                frame,
                what,
                place,
                err,
                write_fix(&err, property)
            )
        );
        gst::FlowError::Error
    }

    /// At EOS, waits until every file is on the disk: a filesystem that
    /// reports a failed write only then (NFS, late quotas) makes it an error
    /// of this stream, posted before EOS reaches the sink, instead of a loss
    /// nobody hears of when the file is closed.
    fn sync_files(&self) {
        let timeout = lock(&self.settings).mqtt_timeout();
        let state = lock(&self.state);
        let Some(state) = state.as_ref() else {
            return;
        };
        if let Some(LineSink::Mqtt(publisher)) = &state.lines
            && let Err(err) = publisher.wait_delivered(timeout)
        {
            gst::element_imp_error!(
                self,
                gst::ResourceError::Write,
                ("Cannot finish publishing the results: {}", err)
            );
        }
        let lines = match &state.lines {
            Some(LineSink::File(file)) => Some(("results", file.path(), "location", file.sync())),
            _ => None,
        };
        let embeddings = state.embeddings.iter().flat_map(|e| {
            [
                ("embeddings", e.matrix_path.as_path(), e.matrix.sync()),
                ("embedding index", e.index.path(), e.index.sync()),
            ]
            .map(|(what, path, result)| (what, path, "embeddings-location", result))
        });
        for (what, path, property, result) in lines.into_iter().chain(embeddings) {
            if let Err(err) = result {
                gst::element_imp_error!(
                    self,
                    write_error_kind(&err, gst::ResourceError::Write),
                    (
                        "Cannot finish writing the {} to {}: {}; {}",
                        what,
                        path.display(),
                        err,
                        write_fix(&err, property)
                    )
                );
            }
        }
    }

    /// Appends an embedding to the `.npy` file and its index (naming the
    /// object's ROI id and entry in `classes`, for an object's) and returns
    /// its row; `None` without `embeddings-location` (written inline then).
    fn append_embedding(
        &self,
        state: &mut State,
        frame: u64,
        pts_ms: Option<f64>,
        data: &[f32],
        object: Option<(i32, usize)>,
    ) -> Result<Option<u64>, gst::FlowError> {
        let Some(embeddings) = &mut state.embeddings else {
            return Ok(None);
        };
        let row = embeddings.matrix.append_row(data).map_err(|e| {
            let place = embeddings.matrix_path.display().to_string();
            self.write_error(frame, "embedding", &place, "embeddings-location", e)
        })?;
        let index = IndexRow {
            row,
            frame,
            pts_ms,
            object: object.map(|(roi_id, _)| roi_id),
            class_index: object.map(|(_, i)| i),
        };
        embeddings.index.write_line(&index.to_line()).map_err(|e| {
            let place = embeddings.index.path().display().to_string();
            self.write_error(frame, "index row", &place, "embeddings-location", e)
        })?;
        Ok(Some(row))
    }

    /// Connects to the broker `url` names; a bad URL or a broker that is not
    /// there fails the start.
    fn connect_mqtt(&self, url: &str, settings: &Settings) -> Result<Publisher, gst::ErrorMessage> {
        let url = MqttUrl::parse(url).map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::Settings,
                ("Cannot use location={}: {}", url, e)
            )
        })?;
        let options = settings.mqtt_options(&self.obj().name());
        Publisher::connect(url, options)
            .map_err(|e| gst::error_msg!(gst::ResourceError::OpenWrite, ("{}", e)))
    }

    /// Builds the frame's record and writes it (and its embedding).
    fn publish(
        &self,
        state: &mut State,
        buffer: &gst::BufferRef,
        all_frames: bool,
    ) -> Result<(), gst::FlowError> {
        let frame = state.frames;
        state.frames += 1;
        let (width, height) = state.size;
        let pts_ms = buffer.pts().map(|pts| pts.nseconds() as f64 / 1e6);
        let (roi_ids, objects): (Vec<Option<i32>>, Vec<_>) =
            read_detections_with_ids(buffer, width, height)
                .into_iter()
                .unzip();
        let classes = read_classification(buffer);
        let mut record = FrameRecord::new(frame, pts_ms, state.size, &objects, &classes);
        record.set_tracks(&read_object_tracks(buffer));
        if let Some(tracking) = tracking_meta(buffer) {
            record.events = read_events(&tracking)
                .into_iter()
                .map(|e| EventEntry {
                    kind: e.kind,
                    name: e.name,
                    id: e.id,
                    direction: e.direction,
                })
                .collect();
        }
        let features = read_tensors(buffer)
            .into_iter()
            .find(|t| t.kind == TensorKind::Features);
        if let Some(features) = features {
            match self.append_embedding(state, frame, pts_ms, &features.data, None)? {
                Some(row) => record.embedding_row = Some(row),
                None => record.embedding = Some(features.data),
            }
        }
        // Second-stage results ride on the objects' ROIs: classes by their
        // results-name, embeddings in tensors naming the ROI.
        let object_classes = read_object_classes_by_roi(buffer);
        let object_tensors = read_object_tensors(buffer);
        for (class_index, roi_id) in roi_ids.iter().enumerate() {
            // Objects of analytics mtds alone carry no second-stage results.
            let Some(roi_id) = roi_id else { continue };
            let entry = &mut record.classes[class_index];
            for (_, results) in object_classes.iter().filter(|(id, _)| id == roi_id) {
                for result in results {
                    entry.add_results(&result.results_name, &result.classes);
                }
            }
            let embedding = object_tensors
                .iter()
                .find(|t| t.roi_id == *roi_id && t.tensor.kind == TensorKind::Features);
            if let Some(embedding) = embedding {
                let object = Some((*roi_id, class_index));
                match self.append_embedding(state, frame, pts_ms, &embedding.tensor.data, object)? {
                    Some(row) => entry.embedding_row = Some(row),
                    None => entry.embedding = Some(embedding.tensor.data.clone()),
                }
            }
        }
        if let Some(lines) = &mut state.lines
            && (all_frames || record.has_results())
        {
            lines.write_line(&record.to_line()).map_err(|e| match e {
                LineError::Io(e) => {
                    self.write_error(frame, "results", &lines.describe(), "location", e)
                }
                LineError::Mqtt(e) => {
                    gst::element_imp_error!(
                        self,
                        gst::ResourceError::Write,
                        ("Cannot publish frame {}'s results: {}", frame, e)
                    );
                    gst::FlowError::Error
                }
            })?;
        }
        Ok(())
    }
}

#[glib::object_subclass]
impl ObjectSubclass for DlPublish {
    const NAME: &'static str = "GstDlPublish";
    type Type = super::DlPublish;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for DlPublish {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("Where the results go, one JSON line per frame: a JSON Lines file; '-' for stdout; mqtt://HOST[:PORT]/TOPIC for one MQTT message per line (see the mqtt-* properties); empty for none")
                    .default_value(Some(DEFAULT_LOCATION))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("all-frames")
                    .nick("All frames")
                    .blurb("Also write a line for frames without results (skipped by inference-interval, or with nothing found)")
                    .default_value(DEFAULT_ALL_FRAMES)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("embeddings-location")
                    .nick("Embeddings location")
                    .blurb("Write embeddings to this .npy file (float32 [rows, dim]) with an index NAME.index.jsonl, instead of inline in the JSON lines")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("mqtt-qos")
                    .nick("MQTT QoS")
                    .blurb("MQTT delivery guarantee with location=mqtt://...: 0 sends each message once (may lose some), 1 resends until the broker acknowledges it (may duplicate)")
                    .minimum(0)
                    .maximum(1)
                    .default_value(DEFAULT_MQTT_QOS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("mqtt-client-id")
                    .nick("MQTT client id")
                    .blurb("MQTT client id with location=mqtt://...; empty: gst-dl-PID-ELEMENTNAME, unique per element (two clients with one id push each other off the broker)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("mqtt-queue")
                    .nick("MQTT queue")
                    .blurb("Messages held for the broker at most (unsent or unacknowledged): rides over a broker restart without loss; when full, publishing waits up to mqtt-timeout, then fails")
                    .minimum(1)
                    .default_value(DEFAULT_MQTT_QUEUE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("mqtt-timeout")
                    .nick("MQTT timeout")
                    .blurb("Milliseconds to wait for the broker: to connect at start, for room in a full queue, and at EOS for every acknowledgement; then an error says how many messages were not delivered")
                    .minimum(1)
                    .default_value(DEFAULT_MQTT_TIMEOUT_MS)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = lock(&self.settings);
        match pspec.name() {
            "location" => {
                settings.location = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|l| !l.is_empty())
            }
            "all-frames" => settings.all_frames = value.get().expect("type checked upstream"),
            "embeddings-location" => {
                settings.embeddings_location = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|l| !l.is_empty())
                    .map(PathBuf::from)
            }
            "mqtt-qos" => settings.mqtt_qos = value.get().expect("type checked upstream"),
            "mqtt-client-id" => {
                settings.mqtt_client_id = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .filter(|id| !id.is_empty())
            }
            "mqtt-queue" => settings.mqtt_queue = value.get().expect("type checked upstream"),
            "mqtt-timeout" => {
                settings.mqtt_timeout_ms = value.get().expect("type checked upstream")
            }
            _ => unimplemented!(),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = lock(&self.settings);
        match pspec.name() {
            "location" => settings.location.to_value(),
            "all-frames" => settings.all_frames.to_value(),
            "embeddings-location" => settings
                .embeddings_location
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .to_value(),
            "mqtt-qos" => settings.mqtt_qos.to_value(),
            "mqtt-client-id" => settings.mqtt_client_id.to_value(),
            "mqtt-queue" => settings.mqtt_queue.to_value(),
            "mqtt-timeout" => settings.mqtt_timeout_ms.to_value(),
            _ => unimplemented!(),
        }
    }
}

impl GstObjectImpl for DlPublish {}

impl ElementImpl for DlPublish {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Deep learning results publisher",
                "Filter/Analyzer/Video",
                "Writes detections, classes and embeddings riding on frames as JSON Lines and .npy files",
                "gst-dl developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::builder("video/x-raw").build();
            filter_pad_templates(&caps, &caps)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for DlPublish {
    const MODE: gst_base::subclass::BaseTransformMode =
        gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        // Open everything now: an unwritable place fails at start, not after an hour.
        let lines = match settings.location.as_deref() {
            None => None,
            Some("-") => Some(LineSink::Stdout),
            Some(url) if is_mqtt_location(url) => {
                Some(LineSink::Mqtt(self.connect_mqtt(url, &settings)?))
            }
            Some(path) => {
                let path = Path::new(path);
                Some(LineSink::File(LineFile::create(path).map_err(|e| {
                    open_error("results file", "location", path, e)
                })?))
            }
        };
        let embeddings = match &settings.embeddings_location {
            None => None,
            Some(path) => {
                let matrix = NpyWriter::create(path)
                    .map_err(|e| open_error("embeddings file", "embeddings-location", path, e))?;
                let index_path = index_path(path);
                let index = LineFile::create(&index_path).map_err(|e| {
                    open_error("embeddings index", "embeddings-location", &index_path, e)
                })?;
                Some(Embeddings {
                    matrix,
                    matrix_path: path.clone(),
                    index,
                })
            }
        };
        gst::debug!(
            CAT,
            imp = self,
            "writing results to {:?}, embeddings to {:?}",
            settings.location,
            settings.embeddings_location
        );
        *lock(&self.state) = Some(State {
            lines,
            embeddings,
            size: (0, 0),
            frames: 0,
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::Eos(_) = event.view() {
            self.sync_files();
        }
        self.parent_sink_event(event)
    }

    fn set_caps(&self, incaps: &gst::Caps, outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "Cannot read video caps {}", incaps))?;
        if let Some(state) = lock(&self.state).as_mut() {
            state.size = (info.width(), info.height());
        }
        self.parent_set_caps(incaps, outcaps)
    }

    fn transform_ip_passthrough(
        &self,
        buffer: &gst::Buffer,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let all_frames = lock(&self.settings).all_frames;
        let mut state = lock(&self.state);
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        self.publish(state, buffer, all_frames)?;
        Ok(gst::FlowSuccess::Ok)
    }
}
