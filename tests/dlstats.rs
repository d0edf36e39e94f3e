//! dlstats on real pipelines: exact counts, progress against the clock,
//! status file, live sources and flushing seeks.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{count_buffers, media, pipeline, run_to_end};
use gst::prelude::*;

/// carphone_pristine.mp4: 120 frames at 30000/1001 fps.
const CARPHONE_FRAMES: u64 = 120;
const CARPHONE_DURATION_MS: f64 = 120.0 * 1001.0 / 30.0;

fn field<T: for<'a> gst::glib::value::FromValue<'a> + 'static>(
    s: &gst::StructureRef,
    name: &str,
) -> T {
    s.get::<T>(name)
        .unwrap_or_else(|e| panic!("field {name} of {s}: {e}"))
}

#[test]
fn counts_exactly_and_reports_eos() {
    let dir = tempfile::tempdir().unwrap();
    let status_path = dir.path().join("status.json");
    let p = pipeline(&format!(
        "videotestsrc num-buffers=57 ! video/x-raw,width=320,height=240,framerate=25/1 ! \
         dlstats name=stats interval=1 location={} ! fakesink",
        status_path.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let reports = outcome.named("dlstats");
    let last = reports.last().expect("at least the EOS report");
    assert_eq!(field::<String>(last, "status"), "eos");
    assert_eq!(field::<u64>(last, "processed-frames"), 57);
    assert_eq!(field::<f64>(last, "percent"), 100.0);
    assert_eq!(field::<i64>(last, "remaining-time-ms"), 0);
    assert_eq!(field::<i32>(last, "width"), 320);
    assert_eq!(field::<i32>(last, "height"), 240);
    assert_eq!(
        field::<gst::Fraction>(last, "framerate"),
        gst::Fraction::new(25, 1)
    );
    let running: Vec<_> = reports
        .iter()
        .filter(|s| field::<String>(s, "status") == "running")
        .collect();
    assert!(!running.is_empty(), "running reports come before EOS");
    let counts: Vec<u64> = running
        .iter()
        .map(|s| field::<u64>(s, "processed-frames"))
        .collect();
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "counts never go back: {counts:?}"
    );

    let status: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&status_path).unwrap()).unwrap();
    assert_eq!(status["status"], "eos");
    assert_eq!(status["processed_frames"], 57);
    assert_eq!(status["video"]["width"], 320);
    assert_eq!(status["video"]["height"], 240);
    assert_eq!(status["video"]["fps"], 25.0);
    assert_eq!(
        p.by_name("stats")
            .unwrap()
            .property::<u64>("processed-frames"),
        57
    );
}

#[test]
fn clock_synced_playback_stopped_halfway_reports_half() {
    // Played against the clock, the rate is 1: at 50% the rest of the clip
    // (about 2 s) is what remains. Tolerance: percent within 50..60 (the first
    // report past 50%; reports every 100 ms are ~2.5% apart), remaining time
    // within 25% of the media left (scheduling noise on a loaded 2-core machine).
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! dlstats interval=100 ! fakesink sync=true",
        media("carphone_pristine.mp4").display()
    ));
    let mut halfway: Option<gst::Structure> = None;
    let outcome = run_to_end(&p, Duration::from_secs(30), |pipeline, s| {
        if halfway.is_none() && s.name() == "dlstats" && field::<f64>(s, "percent") >= 50.0 {
            halfway = Some(s.to_owned());
            // Stop halfway, as a user pressing Ctrl-C would.
            pipeline.send_event(gst::event::Eos::new());
        }
    });
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let halfway = halfway.expect("a report past 50% arrived");
    let percent = field::<f64>(&halfway, "percent");
    assert!((50.0..60.0).contains(&percent), "percent {percent}");
    let remaining = field::<i64>(&halfway, "remaining-time-ms") as f64;
    let media_left = CARPHONE_DURATION_MS * (100.0 - percent) / 100.0;
    assert!(
        (remaining - media_left).abs() <= 0.25 * media_left,
        "remaining {remaining} ms, media left {media_left} ms"
    );
    let elapsed = field::<u64>(&halfway, "elapsed-ms") as f64;
    let position = CARPHONE_DURATION_MS * percent / 100.0;
    assert!(
        (elapsed - position).abs() <= 0.25 * position,
        "elapsed {elapsed} ms at position {position} ms"
    );
}

#[test]
fn status_file_is_valid_json_whenever_read() {
    let dir = tempfile::tempdir().unwrap();
    let status_path = dir.path().join("status.json");
    let reader_path = status_path.clone();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader_done = done.clone();
    let reader = std::thread::spawn(move || {
        let mut reads = 0;
        while !reader_done.load(Ordering::SeqCst) {
            if let Ok(text) = std::fs::read_to_string(&reader_path) {
                let value: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("invalid JSON {text:?}: {e}"));
                for key in [
                    "status",
                    "processed_frames",
                    "elapsed_ms",
                    "fps",
                    "remaining_time_ms",
                    "percent",
                    "current_fps",
                ] {
                    assert!(value.get(key).is_some(), "{key} missing in {text}");
                }
                assert!(
                    value["video"]["width"].is_u64() && value["video"]["fps"].is_number(),
                    "{text}"
                );
                reads += 1;
            }
        }
        reads
    });
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! dlstats interval=1 location={} ! fakesink",
        media("bikes.mp4").display(),
        status_path.display()
    ));
    let outcome = run_to_end(&p, Duration::from_secs(60), |_, _| {});
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().expect("every read parsed");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    assert!(reads > 10, "the reader saw the file {reads} times");
}

#[test]
fn live_sources_report_unknown_remaining_time() {
    let p = pipeline(
        "videotestsrc is-live=true num-buffers=15 ! video/x-raw,framerate=30/1 ! dlstats interval=100 ! fakesink",
    );
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let running: Vec<_> = outcome
        .named("dlstats")
        .into_iter()
        .filter(|s| field::<String>(s, "status") == "running")
        .collect();
    assert!(!running.is_empty());
    for report in running {
        assert_eq!(field::<i64>(report, "remaining-time-ms"), -1, "{report}");
        assert_eq!(field::<f64>(report, "percent"), -1.0, "{report}");
    }
}

#[test]
fn a_flushing_seek_keeps_counts_and_estimates_true() {
    let p = pipeline(&format!(
        "filesrc location={} ! decodebin ! dlstats name=stats interval=50 ! fakesink name=sink sync=true",
        media("carphone_pristine.mp4").display()
    ));
    // Counted where frames enter dlstats: a frame it processed may still be
    // dropped downstream by the flush, which is not dlstats' count to correct.
    let entered = count_buffers(&p, "stats");
    let mut seeked_at: Option<Instant> = None;
    let mut after_seek = Vec::new();
    let outcome = run_to_end(&p, Duration::from_secs(30), |pipeline, s| {
        if s.name() != "dlstats" || field::<String>(s, "status") != "running" {
            return;
        }
        if seeked_at.is_none() && field::<f64>(s, "percent") >= 20.0 {
            seeked_at = Some(Instant::now());
            pipeline
                .seek_simple(
                    gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
                    gst::ClockTime::from_mseconds(3000),
                )
                .expect("the file is seekable");
        } else if seeked_at.is_some() {
            after_seek.push(s.to_owned());
        }
    });
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let last = outcome.named("dlstats").last().copied().cloned().unwrap();
    assert_eq!(field::<String>(&last, "status"), "eos");
    let processed = field::<u64>(&last, "processed-frames");
    assert_eq!(
        processed,
        entered.load(Ordering::SeqCst),
        "dlstats counted every frame that entered it"
    );
    assert!(
        processed < CARPHONE_FRAMES,
        "the seek skipped frames: {processed}"
    );
    // After the seek to 3.0 s of 4.0 s: percent from 75%, remaining under the ~1 s left.
    let settled: Vec<_> = after_seek
        .iter()
        .filter(|s| field::<i64>(s, "remaining-time-ms") >= 0)
        .collect();
    assert!(
        !settled.is_empty(),
        "reports with an estimate followed the seek"
    );
    for report in settled {
        let percent = field::<f64>(report, "percent");
        let remaining = field::<i64>(report, "remaining-time-ms");
        assert!(percent >= 74.0, "{report}");
        assert!(
            remaining <= 1300,
            "remaining {remaining} ms after seeking to 3 s of 4 s: {report}"
        );
    }
}

#[test]
fn the_eos_report_shows_the_rate_frames_came_at() {
    // 30 frames/s against the clock; whichever frame the last running report
    // fell on, the final report's current rate is about 30, never 0.
    let p = pipeline(
        "videotestsrc is-live=true num-buffers=20 ! video/x-raw,framerate=30/1 ! dlstats interval=100 ! fakesink",
    );
    let outcome = run_to_end(&p, Duration::from_secs(30), |_, _| {});
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    let reports = outcome.named("dlstats");
    let last = reports.last().expect("the EOS report");
    assert_eq!(field::<String>(last, "status"), "eos");
    let current = field::<f64>(last, "current-fps");
    assert!(
        (10.0..90.0).contains(&current),
        "current-fps {current} in {last}"
    );
}
