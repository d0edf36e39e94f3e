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

use gst::prelude::*;

use super::media::{Output, Source, muxer_for};
use super::model_spec::{ModelSpec, ModelUse, make, set_from_text};

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
