//! GStreamer pipelines built element by element: every value a client sends
//! (a path, a URL, a model setting) becomes a property value, never text of
//! a pipeline description, so nothing a client sends can add an element.
//! Only an operator who starts the server with `--allow-pipelines` lets a
//! client's own description run (a resource's `source`, a stream's
//! `video_out`).
//!
//! ```text
//! predict: source ! videoconvert [! identity sync ! queue leaky] ! dlinfer ! appsink
//! stream:  source ! videoconvert [! identity sync ! queue leaky]
//!            ! (dlinfer ! dloverlay | dltransform) ! videoconvert ! dlstats
//!            ! (x264enc ! h264parse ! mp4mux ! filesink | appsink -> appsrc ! videoscale ! videorate ! <video_out>)
//! ```
//! `[...]` is there when the resource is `realtime`: frames come at the
//! video's own pace and those the model cannot keep up with are dropped.

use std::path::{Path, PathBuf};

use gst::glib;
use gst::prelude::*;

use super::access::{AccessError, AllowedDirs};
use super::dd::DdError;
use super::service::Overrides;

/// Extensions of URLs played directly; other `http(s)` URLs are pages that
/// yt-dlp resolves (YouTube and every site it knows).
const MEDIA_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mkv", "webm", "mov", "avi", "ts", "m3u8", "mpd", "flv", "ogv", "ogg", "mjpeg",
    "mjpg",
];
/// URL schemes of live streams, played directly.
const STREAM_SCHEMES: &[&str] = &["rtsp", "rtsps", "rtmp", "srt", "udp", "rtp"];

/// Where a resource's video comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A local file (resolved, inside `--allow-dir`).
    File(PathBuf),
    /// A media or stream URL, played by `uridecodebin`.
    Url(String),
    /// A page URL resolved by yt-dlp through `ytdlsrc`.
    Page(String),
    /// A raw pipeline description giving video (only with `--allow-pipelines`).
    Pipeline(String),
}

impl Source {
    /// Reads a resource's `source`.
    pub fn parse(text: &str, dirs: &AllowedDirs, allow_pipelines: bool) -> Result<Source, DdError> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("file://") {
            return Source::parse(path, dirs, allow_pipelines);
        }
        if text.starts_with('/') {
            return readable(dirs, text).map(Source::File);
        }
        if let Some(page) = text
            .strip_prefix("ytdl://")
            .or_else(|| text.strip_prefix("ytdl:"))
        {
            return Ok(Source::Page(page.to_owned()));
        }
        if let Some((scheme, rest)) = text.split_once("://")
            && !rest.is_empty()
            && !text.contains(' ')
        {
            let scheme = scheme.to_ascii_lowercase();
            if scheme == "http" || scheme == "https" {
                return Ok(if is_media_url(rest) {
                    Source::Url(text.to_owned())
                } else {
                    Source::Page(text.to_owned())
                });
            }
            if STREAM_SCHEMES.contains(&scheme.as_str()) {
                return Ok(Source::Url(text.to_owned()));
            }
            return Err(DdError::service_input(format!(
                "source {text:?}: the URL scheme {scheme:?} is not one gst-dl plays (http, https, {})",
                STREAM_SCHEMES.join(", ")
            )));
        }
        if text.contains('!')
            || gst::ElementFactory::find(text.split_whitespace().next().unwrap_or("")).is_some()
        {
            if !allow_pipelines {
                return Err(DdError::forbidden(format!(
                    "source {text:?} is a GStreamer pipeline, which the server refuses: a pipeline can read \
                     anything the server can. Give a file, a URL or a page URL, or start the server with \
                     --allow-pipelines"
                )));
            }
            return Ok(Source::Pipeline(text.to_owned()));
        }
        Err(DdError::service_input(format!(
            "source {text:?} is neither an absolute file path, an http(s) URL, a page URL nor a pipeline"
        )))
    }

    /// The URI that `uridecodebin` plays, for every kind but a pipeline.
    fn uri(&self) -> Result<Option<String>, String> {
        Ok(match self {
            Source::File(path) => Some(
                glib::filename_to_uri(path, None)
                    .map_err(|e| format!("{}: {e}", path.display()))?
                    .to_string(),
            ),
            Source::Url(url) => Some(url.clone()),
            Source::Page(page) => Some(format!("ytdl://{page}")),
            Source::Pipeline(_) => None,
        })
    }
}

fn is_media_url(rest: &str) -> bool {
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let Some((_, last)) = path.rsplit_once('/') else {
        return false;
    };
    last.rsplit_once('.')
        .is_some_and(|(_, ext)| MEDIA_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(ext)))
}

/// A path that may be read, or the DeepDetect error saying why not.
pub fn readable(dirs: &AllowedDirs, text: &str) -> Result<PathBuf, DdError> {
    dirs.readable(text).map_err(access_error)
}

/// A path that may be written, or the DeepDetect error saying why not.
pub fn writable(dirs: &AllowedDirs, text: &str) -> Result<PathBuf, DdError> {
    dirs.writable(text).map_err(access_error)
}

fn access_error(e: AccessError) -> DdError {
    match e {
        AccessError::Outside(m) => DdError::forbidden(m),
        AccessError::Missing(m) | AccessError::Invalid(m) => DdError::service_input(m),
    }
}

/// What the model does in a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelUse {
    /// dlinfer: detections or classes (the decoder from the model or the settings).
    Predict,
    /// dlinfer `decoder=features`: the output `layer` (`last` or none: the model's features output).
    Features { layer: Option<String> },
    /// dltransform: the model's output frames are the video.
    Transform,
}

/// Everything that decides how the model element is made.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub model: PathBuf,
    pub labels_file: Option<PathBuf>,
    pub overrides: Overrides,
    pub model_use: ModelUse,
    /// dlinfer's `confidence-threshold`, if the call set one.
    pub confidence_threshold: Option<f64>,
}

impl ModelSpec {
    /// The element that runs the model, with every setting applied.
    pub fn element(&self) -> Result<gst::Element, String> {
        let factory = match self.model_use {
            ModelUse::Transform => "dltransform",
            _ => "dlinfer",
        };
        let element = make(factory)?;
        element.set_property(
            "model",
            self.model.to_str().ok_or("the model path is not UTF-8")?,
        );
        if factory == "dlinfer" {
            if let Some(labels) = &self.labels_file {
                element.set_property(
                    "labels-file",
                    labels.to_str().ok_or("the labels path is not UTF-8")?,
                );
            }
            if let Some(threshold) = self.confidence_threshold {
                element.set_property("confidence-threshold", threshold as f32);
            }
        }
        apply_overrides(&element, &self.overrides)?;
        if let ModelUse::Features { layer } = &self.model_use {
            set_from_text(&element, "decoder", "features")?;
            if let Some(layer) = layer.as_deref().filter(|l| !l.is_empty() && *l != "last") {
                element.set_property("output-name", layer);
            }
        }
        Ok(element)
    }
}

/// Sets each override the element has; a property only the other model
/// element has (`iou-threshold` on dltransform) is left out.
pub fn apply_overrides(element: &gst::Element, overrides: &Overrides) -> Result<(), String> {
    for (property, text) in &overrides.0 {
        if element.find_property(property).is_some() {
            set_from_text(element, property, text)?;
        }
    }
    Ok(())
}

/// Checks settings on fresh dlinfer and dltransform elements, so a service
/// with a wrong one is refused when it is created.
pub fn check_overrides(overrides: &Overrides) -> Result<(), String> {
    let elements = [make("dlinfer")?, make("dltransform")?];
    for (property, text) in &overrides.0 {
        let mut known = false;
        for element in &elements {
            if element.find_property(property).is_some() {
                known = true;
                set_from_text(element, property, text)?;
            }
        }
        if !known {
            return Err(format!("no model element has a property {property:?}"));
        }
    }
    Ok(())
}

/// Sets `property` from its text form, refusing (not panicking on) a value
/// of the wrong kind or out of range.
pub fn set_from_text(element: &gst::Element, property: &str, text: &str) -> Result<(), String> {
    let pspec = element
        .find_property(property)
        .ok_or_else(|| format!("{} has no property {property:?}", element_kind(element)))?;
    let value = glib::Value::deserialize_with_pspec(text, &pspec).map_err(|_| {
        format!(
            "{property}={text:?} is not a valid value for {} ({})",
            element_kind(element),
            pspec.blurb().unwrap_or_default()
        )
    })?;
    if !pspec.value_is_valid(&value) {
        return Err(format!(
            "{property}={text:?} is out of range for {} ({})",
            element_kind(element),
            pspec.blurb().unwrap_or_default()
        ));
    }
    element.set_property_from_value(property, &value);
    Ok(())
}

fn element_kind(element: &gst::Element) -> String {
    element
        .factory()
        .map(|f| f.name().to_string())
        .unwrap_or_else(|| element.name().to_string())
}

/// A new element of `factory`, or an error naming the missing plugin.
pub fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        format!("the GStreamer element {factory} is missing; install the plugin that provides it")
    })
}

/// Adds the elements not yet in the pipeline, and links them in order.
fn add_chain(pipeline: &gst::Pipeline, elements: &[&gst::Element]) -> Result<(), String> {
    pipeline
        .add_many(elements.iter().copied().filter(|e| e.parent().is_none()))
        .map_err(|e| format!("cannot build the pipeline: {e}"))?;
    gst::Element::link_many(elements.iter().copied())
        .map_err(|e| format!("cannot link the pipeline: {e}"))
}

/// Adds the source to `pipeline`, its decoded video linked into `into`
/// (already in the pipeline). Other streams (sound) go to a `fakesink`.
fn add_source(
    pipeline: &gst::Pipeline,
    source: &Source,
    into: &gst::Element,
) -> Result<(), String> {
    let Some(uri) = source.uri()? else {
        let Source::Pipeline(description) = source else {
            unreachable!()
        };
        let bin = gst::parse::bin_from_description(description, true)
            .map_err(|e| format!("the source pipeline {description:?} does not parse: {e}"))?;
        pipeline.add(&bin).map_err(|e| e.to_string())?;
        return bin.link(into).map_err(|_| {
            format!("the source pipeline {description:?} has no video output to link")
        });
    };
    let decode = make("uridecodebin")?;
    decode.set_property("uri", uri.as_str());
    pipeline.add(&decode).map_err(|e| e.to_string())?;
    let sink_pad = into
        .static_pad("sink")
        .ok_or("no sink pad to link the source to")?;
    let pipeline_weak = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline_weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps
            .structure(0)
            .is_some_and(|s| s.name().starts_with("video/x-raw"));
        if is_video && !sink_pad.is_linked() && pad.link(&sink_pad).is_ok() {
            return;
        }
        // A stream we do not use (sound, a second video) is drained.
        if let Ok(sink) = make("fakesink") {
            sink.set_property("sync", false);
            sink.set_property("async", false);
            if pipeline.add(&sink).is_ok() {
                let _ = sink.sync_state_with_parent();
                if let Some(sink_pad) = sink.static_pad("sink") {
                    let _ = pad.link(&sink_pad);
                }
            }
        }
    });
    let into_weak = into.downgrade();
    decode.connect_no_more_pads(move |decode| {
        let linked = into_weak
            .upgrade()
            .and_then(|into| into.static_pad("sink"))
            .is_some_and(|pad| pad.is_linked());
        if !linked {
            let _ = decode.post_message(
                gst::message::Error::builder(
                    gst::StreamError::WrongType,
                    "The source has no video stream",
                )
                .src(decode)
                .build(),
            );
        }
    });
    Ok(())
}

/// `videoconvert`, then for a realtime resource the pacing and dropping
/// elements; returns (first, last).
fn head(pipeline: &gst::Pipeline, realtime: bool) -> Result<(gst::Element, gst::Element), String> {
    let convert = make("videoconvert")?;
    if !realtime {
        pipeline.add(&convert).map_err(|e| e.to_string())?;
        return Ok((convert.clone(), convert));
    }
    // Frames leave at the video's pace; the queue keeps only the newest
    // while the model is busy, so the model always sees the present.
    let pace = make("identity")?;
    pace.set_property("sync", true);
    let newest = make("queue")?;
    set_from_text(&newest, "leaky", "downstream")?;
    newest.set_property("max-size-buffers", 1u32);
    newest.set_property("max-size-bytes", 0u32);
    newest.set_property("max-size-time", 0u64);
    add_chain(pipeline, &[&convert, &pace, &newest])?;
    Ok((convert, newest))
}

/// `source ! ... ! dlinfer ! appsink` for `POST /predict`: the appsink holds
/// one frame; for a realtime resource it is always the newest (older ones
/// are dropped), otherwise the pipeline waits until it is taken.
pub fn predict_pipeline(
    source: &Source,
    realtime: bool,
    spec: &ModelSpec,
) -> Result<(gst::Pipeline, gst_app::AppSink), String> {
    let pipeline = gst::Pipeline::new();
    let (first, last) = head(&pipeline, realtime)?;
    let model = spec.element()?;
    let sink = gst_app::AppSink::builder()
        .sync(false)
        .max_buffers(1)
        .drop(realtime)
        .build();
    add_chain(&pipeline, &[&last, &model, sink.upcast_ref()])?;
    add_source(&pipeline, source, &first)?;
    Ok((pipeline, sink))
}

/// Where a stream's video goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A video file (resolved, inside `--allow-dir`), encoded by its extension.
    File(PathBuf),
    /// A pipeline description starting with `appsrc` (only with `--allow-pipelines`).
    Pipeline(String),
}

/// Containers a file output may have, by extension.
const FILE_MUXERS: &[(&str, &str)] = &[
    ("mp4", "mp4mux"),
    ("m4v", "mp4mux"),
    ("mov", "qtmux"),
    ("mkv", "matroskamux"),
];

impl Output {
    /// Reads a stream's `output.video_out`.
    pub fn parse(text: &str, dirs: &AllowedDirs, allow_pipelines: bool) -> Result<Output, DdError> {
        let text = text.trim();
        if text.starts_with('/') {
            let path = writable(dirs, text)?;
            muxer_for(&path).map_err(DdError::service_input)?;
            return Ok(Output::File(path));
        }
        let first = text
            .split(|c: char| c.is_whitespace() || c == '!')
            .next()
            .unwrap_or("");
        if text.contains('!') || first == "appsrc" {
            if !allow_pipelines {
                return Err(DdError::forbidden(format!(
                    "video_out {text:?} is a GStreamer pipeline, which the server refuses: a pipeline can write \
                     anywhere the server can. Give a file path, or start the server with --allow-pipelines"
                )));
            }
            if first != "appsrc" {
                return Err(DdError::service_input(format!(
                    "video_out {text:?} must start with appsrc (the stream's frames enter there), as in \
                     \"appsrc ! videoconvert ! jpegenc ! rtpjpegpay ! udpsink host=localhost port=5000\""
                )));
            }
            return Ok(Output::Pipeline(text.to_owned()));
        }
        Err(DdError::service_input(format!(
            "video_out {text:?} is neither an absolute file path nor a pipeline starting with appsrc"
        )))
    }
}

fn muxer_for(path: &Path) -> Result<&'static str, String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    FILE_MUXERS
        .iter()
        .find(|(e, _)| *e == ext)
        .map(|(_, muxer)| *muxer)
        .ok_or_else(|| {
            let known: Vec<_> = FILE_MUXERS.iter().map(|(e, _)| format!(".{e}")).collect();
            format!(
                "video_out {}: gst-dl writes {} files (H.264); name the file with one of these extensions",
                path.display(),
                known.join(", ")
            )
        })
}

/// The pipelines of one stream: `main` runs the model; `output` is the
/// client's appsrc pipeline, if the video goes there.
pub struct StreamPipelines {
    pub main: gst::Pipeline,
    pub output: Option<gst::Pipeline>,
}

/// Builds a stream's pipelines (not started).
pub fn stream_pipelines(
    source: &Source,
    realtime: bool,
    spec: &ModelSpec,
    output: &Output,
) -> Result<StreamPipelines, String> {
    let main = gst::Pipeline::new();
    let (first, last) = head(&main, realtime)?;
    let mut chain = vec![last];
    let model = spec.element()?;
    chain.push(model);
    if spec.model_use != ModelUse::Transform {
        chain.push(make("dloverlay")?);
    }
    chain.push(make("videoconvert")?);
    let stats = make("dlstats")?;
    stats.set_property("interval", 200u32);
    chain.push(stats);
    let output_pipeline = match output {
        Output::File(path) => {
            let encode = make("x264enc")?;
            set_from_text(&encode, "speed-preset", "ultrafast")?;
            let parse = make("h264parse")?;
            let mux = make(muxer_for(path)?)?;
            let sink = make("filesink")?;
            sink.set_property(
                "location",
                path.to_str().ok_or("the output path is not UTF-8")?,
            );
            chain.extend([encode, parse, mux, sink]);
            None
        }
        Output::Pipeline(description) => {
            let (sink, output) = appsrc_output(description)?;
            chain.push(sink.upcast());
            Some(output)
        }
    };
    let refs: Vec<&gst::Element> = chain.iter().collect();
    add_chain(&main, &refs)?;
    add_source(&main, source, &first)?;
    Ok(StreamPipelines {
        main,
        output: output_pipeline,
    })
}

/// The client's pipeline, fed from an appsink at the end of the main one.
/// `videoscale ! videorate` go right after its appsrc, so a caps filter in
/// it may ask for any size and rate (the seed's asks for 1920x1080 at 30/1).
fn appsrc_output(description: &str) -> Result<(gst_app::AppSink, gst::Pipeline), String> {
    let parsed = gst::parse::launch(description)
        .map_err(|e| format!("video_out {description:?} does not parse: {e}"))?;
    let output = parsed.downcast::<gst::Pipeline>().map_err(|_| {
        format!("video_out {description:?} is a single element; it must be appsrc ! ... ! a sink")
    })?;
    let mut appsrcs = output.iterate_all_by_element_factory_name("appsrc");
    let appsrc = match appsrcs.next() {
        Ok(Some(element)) => element,
        _ => return Err(format!("video_out {description:?} has no appsrc")),
    };
    let appsrc = appsrc
        .downcast::<gst_app::AppSrc>()
        .map_err(|_| "the appsrc of video_out is not an appsrc".to_owned())?;
    appsrc.set_format(gst::Format::Time);
    appsrc.set_block(true);
    appsrc.set_max_bytes(4 * 1024 * 1024);
    let src_pad = appsrc.static_pad("src").ok_or("appsrc has no src pad")?;
    let peer = src_pad
        .peer()
        .ok_or_else(|| format!("the appsrc of video_out {description:?} is linked to nothing"))?;
    src_pad.unlink(&peer).map_err(|e| e.to_string())?;
    let scale = make("videoscale")?;
    let rate = make("videorate")?;
    // Frames start where the video's first one does, not at zero (no copies
    // of the first frame fill the gap).
    rate.set_property("skip-to-first", true);
    output
        .add_many([&scale, &rate])
        .map_err(|e| e.to_string())?;
    appsrc.link(&scale).map_err(|e| e.to_string())?;
    scale.link(&rate).map_err(|e| e.to_string())?;
    rate.static_pad("src")
        .ok_or("videorate has no src pad")?
        .link(&peer)
        .map_err(|e| format!("cannot link video_out after its appsrc: {e:?}"))?;

    let sink = gst_app::AppSink::builder().sync(false).build();
    let appsrc_weak = appsrc.downgrade();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let appsrc = appsrc_weak.upgrade().ok_or(gst::FlowError::Flushing)?;
                appsrc.push_sample(&sample)
            })
            .eos({
                let appsrc_weak = appsrc.downgrade();
                move |_| {
                    if let Some(appsrc) = appsrc_weak.upgrade() {
                        let _ = appsrc.end_of_stream();
                    }
                }
            })
            .build(),
    );
    Ok((sink, output))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs() -> (tempfile::TempDir, AllowedDirs) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("clip.mp4"), b"x").unwrap();
        let dirs = AllowedDirs::new(&[dir.path().to_path_buf()]).unwrap();
        (dir, dirs)
    }

    #[test]
    fn sources_are_told_apart() {
        let _ = gst::init();
        let (dir, dirs) = dirs();
        let clip = dir.path().join("clip.mp4");
        let parse = |t: &str, allow| Source::parse(t, &dirs, allow);
        assert_eq!(
            parse(clip.to_str().unwrap(), false).unwrap(),
            Source::File(clip.canonicalize().unwrap())
        );
        assert_eq!(
            parse("https://www.youtube.com/watch?v=XnZH4izf_rI", false).unwrap(),
            Source::Page("https://www.youtube.com/watch?v=XnZH4izf_rI".into())
        );
        assert_eq!(
            parse("http://127.0.0.1:1/clip.mp4?x=1", false).unwrap(),
            Source::Url("http://127.0.0.1:1/clip.mp4?x=1".into())
        );
        assert_eq!(
            parse("ytdl://http://127.0.0.1:1/clip.mp4", false).unwrap(),
            Source::Page("http://127.0.0.1:1/clip.mp4".into())
        );
        assert_eq!(
            parse("rtsp://cam/1", false).unwrap(),
            Source::Url("rtsp://cam/1".into())
        );
        let e = parse("videotestsrc ! video/x-raw", false).unwrap_err();
        assert_eq!(e.http.as_u16(), 403);
        assert!(e.dd_msg.contains("--allow-pipelines"));
        assert_eq!(
            parse("videotestsrc num-buffers=3", true).unwrap(),
            Source::Pipeline("videotestsrc num-buffers=3".into())
        );
        assert_eq!(parse("/etc/passwd", false).unwrap_err().http.as_u16(), 403);
        assert_eq!(parse("ftp://x/y", false).unwrap_err().dd_code, 1005);
    }

    #[test]
    fn outputs_are_files_with_a_known_container_or_appsrc_pipelines() {
        let (dir, dirs) = dirs();
        let out = dir.path().join("out.mp4");
        assert!(matches!(
            Output::parse(out.to_str().unwrap(), &dirs, false).unwrap(),
            Output::File(_)
        ));
        let e =
            Output::parse(dir.path().join("out.xyz").to_str().unwrap(), &dirs, false).unwrap_err();
        assert!(e.dd_msg.contains(".mp4"), "{}", e.dd_msg);
        let seed = "appsrc ! queue ! videoconvert ! jpegenc ! rtpjpegpay ! udpsink host=localhost port=5000";
        assert_eq!(
            Output::parse(seed, &dirs, false).unwrap_err().http.as_u16(),
            403
        );
        assert_eq!(
            Output::parse(seed, &dirs, true).unwrap(),
            Output::Pipeline(seed.into())
        );
        assert!(Output::parse("videotestsrc ! filesink location=/tmp/x", &dirs, true).is_err());
        assert_eq!(
            Output::parse("/etc/out.mp4", &dirs, false)
                .unwrap_err()
                .http
                .as_u16(),
            403
        );
    }

    #[test]
    fn settings_of_the_wrong_kind_or_range_are_errors_not_panics() {
        let _ = gst::init();
        let queue = make("queue").unwrap();
        assert!(set_from_text(&queue, "max-size-buffers", "7").is_ok());
        assert_eq!(queue.property::<u32>("max-size-buffers"), 7);
        assert!(
            set_from_text(&queue, "max-size-buffers", "seven")
                .unwrap_err()
                .contains("not a valid value")
        );
        assert!(set_from_text(&queue, "leaky", "sideways").is_err());
        // fakesink's num-buffers runs from -1 up.
        let sink = make("fakesink").unwrap();
        assert!(
            set_from_text(&sink, "num-buffers", "-5")
                .unwrap_err()
                .contains("out of range")
        );
        assert_eq!(sink.property::<i32>("num-buffers"), -1);
        assert!(set_from_text(&queue, "no-such-thing", "1").is_err());
    }
}
