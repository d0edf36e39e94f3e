//! Realtime mode: a live 30 fps source into a model three times slower than
//! real time (generated `slow.onnx`, about 100 ms a frame on one thread).
//! With QoS (the default) late frames skip inference and latency at the sink
//! stays bounded; with qos=false every frame is inferred and latency grows.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{pipeline, run_to_end, test_model};
use gst::prelude::*;
use gstdl::meta::read_detections;

#[derive(Default)]
struct Observed {
    /// (running time of the buffer, how late it reached the sink), in order.
    latencies: Vec<(gst::ClockTime, gst::ClockTime)>,
    with_results: usize,
    frames: usize,
}

/// Runs `frames` live frames through dlinfer with `qos` and watches the sink.
fn run_live(frames: u32, qos: bool) -> (Observed, gst::Structure) {
    let p = pipeline(&format!(
        "videotestsrc is-live=true num-buffers={frames} pattern=white ! video/x-raw,width=64,height=64,framerate=30/1 ! \
         dlinfer model={} threads=1 qos={qos} ! dlstats interval=1000 ! fakesink name=sink sync=true qos=true",
        test_model("slow.onnx").display()
    ));
    let observed = Arc::new(Mutex::new(Observed {
        latencies: Vec::new(),
        with_results: 0,
        frames: 0,
    }));
    let seen = observed.clone();
    let sink = p.by_name("sink").unwrap();
    let weak = p.downgrade();
    sink.static_pad("sink")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let (Some(buffer), Some(p)) = (info.buffer(), weak.upgrade()) else {
                return gst::PadProbeReturn::Ok;
            };
            let segment = pad
                .sticky_event::<gst::event::Segment>(0)
                .map(|e| e.segment().clone());
            let running = segment
                .as_ref()
                .and_then(|s| s.downcast_ref::<gst::ClockTime>())
                .and_then(|s| s.to_running_time(buffer.pts().unwrap()));
            let now = p
                .clock()
                .map(|c| c.time())
                .zip(p.base_time())
                .map(|(t, base)| t.saturating_sub(base));
            let mut seen = seen.lock().unwrap();
            if let (Some(running), Some(now)) = (running, now) {
                seen.latencies.push((running, now.saturating_sub(running)));
            }
            seen.frames += 1;
            seen.with_results += usize::from(!read_detections(buffer, 64, 64).is_empty());
            gst::PadProbeReturn::Ok
        });
    let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let last_stats = outcome
        .named("dlstats")
        .last()
        .map(|s| (*s).clone())
        .expect("dlstats reported");
    // The probe still holds a reference: take what it saw.
    let observed = std::mem::take(&mut *observed.lock().unwrap());
    (observed, last_stats)
}

#[test]
fn with_qos_late_frames_skip_inference_and_latency_stays_bounded() {
    // 10 s of live video at 30 fps.
    let (observed, stats) = run_live(300, true);
    assert_eq!(
        observed.frames, 300,
        "every frame reaches the sink (skipped frames pass on)"
    );
    // The last 2 s, when QoS has long settled. Without QoS the latency
    // there would be about 20 s (300 frames of 100 ms inference for 10 s of
    // video); with it, a few inference times. The median says where latency
    // settled; the worst allows one stall of a shared machine (CI once saw a
    // single 1.1 s spike) but not growth.
    let mut settled: Vec<gst::ClockTime> = observed
        .latencies
        .iter()
        .filter(|(running, _)| *running >= gst::ClockTime::from_seconds(8))
        .map(|(_, late)| *late)
        .collect();
    assert!(!settled.is_empty(), "frames after 8 s");
    settled.sort();
    let median_late = settled[settled.len() / 2];
    let worst_late = *settled.last().unwrap();
    let skipped = stats.get::<u64>("skipped-frames").unwrap();
    println!(
        "qos on: latency after 8 s median {median_late}, worst {worst_late}; \
         {skipped} of 300 frames skipped inference"
    );
    assert!(
        median_late < gst::ClockTime::from_mseconds(600),
        "median latency after 8 s reached {median_late}"
    );
    assert!(
        worst_late < gst::ClockTime::from_seconds(3),
        "latency after 8 s reached {worst_late}"
    );
    assert_eq!(stats.get::<u64>("processed-frames").unwrap(), 300);
    assert!(
        skipped >= 100,
        "a model 3x slower than real time skips most frames: {skipped} skipped"
    );
    assert_eq!(
        observed.with_results + skipped as usize,
        300,
        "each frame was either inferred or marked skipped"
    );
}

#[test]
fn without_qos_every_frame_is_inferred_and_latency_grows() {
    // 1 s of live video: 30 frames take about 3 s to infer.
    let (observed, stats) = run_live(30, false);
    assert_eq!(observed.frames, 30);
    assert_eq!(observed.with_results, 30, "every frame inferred");
    assert_eq!(stats.get::<u64>("skipped-frames").unwrap(), 0);
    let last_late = observed.latencies.last().unwrap().1;
    println!("qos off: the last of 30 frames reached the sink {last_late} late");
    assert!(
        last_late > gst::ClockTime::from_seconds(1),
        "without QoS the last frame is {last_late} late"
    );
}

#[test]
fn dltransform_drops_late_frames_and_posts_qos_messages() {
    // 5 s of live video at 30 fps into a 100 ms frame-to-frame model.
    let run = |qos: bool, frames: u64| {
        let p = pipeline(&format!(
            "videotestsrc is-live=true num-buffers={frames} ! video/x-raw,width=64,height=64,framerate=30/1 ! \
             dltransform name=transform model={} threads=1 qos={qos} ! fakesink name=sink sync=true qos=true",
            test_model("slow_invert.onnx").display()
        ));
        let delivered = common::count_buffers(&p, "sink");
        let bus = p.bus().unwrap();
        let qos_messages = Arc::new(Mutex::new(Vec::new()));
        let seen = qos_messages.clone();
        bus.enable_sync_message_emission();
        bus.connect_sync_message(None, move |_, message| {
            if let gst::MessageView::Qos(qos) = message.view()
                && message.src().is_some_and(|s| s.name() == "transform")
            {
                seen.lock().unwrap().push(qos.stats());
            }
        });
        let outcome = run_to_end(&p, Duration::from_secs(120), |_, _| {});
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        let messages = qos_messages.lock().unwrap().clone();
        (
            delivered.load(std::sync::atomic::Ordering::SeqCst),
            messages,
        )
    };
    let (delivered, messages) = run(true, 150);
    println!(
        "dltransform qos on: {delivered} of 150 frames delivered, {} QoS messages",
        messages.len()
    );
    assert!(
        delivered < 100,
        "late frames are dropped: {delivered} of 150 delivered"
    );
    assert_eq!(
        messages.len() as u64,
        150 - delivered,
        "one QoS message per dropped frame"
    );
    // A QoS message counts what was processed and dropped up to that drop:
    // the last one has every drop, and at most the frames delivered in all.
    let (processed, dropped) = *messages.last().unwrap();
    assert_eq!(
        dropped,
        gst::GenericFormattedValue::from(gst::format::Buffers::from_u64(150 - delivered))
    );
    let processed = match processed {
        gst::GenericFormattedValue::Buffers(Some(count)) => *count,
        other => panic!("processed is counted in buffers: {other:?}"),
    };
    assert!(
        (1..=delivered).contains(&processed),
        "processed {processed}, delivered {delivered}"
    );
    let (delivered, messages) = run(false, 30);
    assert_eq!(
        (delivered, messages.len()),
        (30, 0),
        "without QoS every frame is transformed"
    );
}
