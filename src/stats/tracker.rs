//! Counting frames and estimating what is left.

use std::time::{Duration, Instant};

use super::status::{StreamState, StreamStatus, VideoSummary};

/// Counts frames and estimates the remaining time from the media position.
///
/// The remaining time is the media left (duration - position) divided by the
/// processing rate in media time per wall time, measured since the start of
/// the current segment: a clock-synced pipeline runs at rate 1, a file
/// decoded as fast as possible at rate 20, say. A flushing seek starts a new
/// segment, which restarts the rate measurement (the old rate says nothing
/// about the jump) but keeps the frame counts.
#[derive(Debug, Default)]
pub struct ProgressTracker {
    processed_frames: u64,
    skipped_frames: u64,
    first_frame_at: Option<Instant>,
    last_frame_at: Option<Instant>,
    /// Wall time and media position where the current rate measurement began.
    rate_origin: Option<(Instant, Duration)>,
    /// Media position of the latest frame.
    position: Option<Duration>,
    /// Frame count and time of the previous report, for `current_fps`.
    last_report: Option<(Instant, u64)>,
    current_fps: f64,
}

impl ProgressTracker {
    /// A tracker that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one frame at media `position` (stream time), seen at `now`.
    pub fn frame(&mut self, now: Instant, position: Option<Duration>) {
        self.processed_frames += 1;
        self.first_frame_at.get_or_insert(now);
        self.last_frame_at = Some(now);
        if let Some(position) = position {
            self.rate_origin.get_or_insert((now, position));
            self.position = Some(position);
        }
    }

    /// Records a frame that was skipped (realtime mode) but passed on.
    pub fn skipped_frame(&mut self) {
        self.skipped_frames += 1;
    }

    /// A new segment (after a flushing seek): the rate is measured afresh.
    pub fn new_segment(&mut self) {
        self.rate_origin = None;
        self.position = None;
    }

    /// Frames that skipped inference (realtime mode).
    pub fn skipped_frames(&self) -> u64 {
        self.skipped_frames
    }

    /// Frames counted so far.
    pub fn processed_frames(&self) -> u64 {
        self.processed_frames
    }

    /// Average frames per second since the first frame, measured between
    /// frames (n - 1 intervals) so a single frame does not read as infinite.
    pub fn average_fps(&self) -> f64 {
        match (self.first_frame_at, self.last_frame_at) {
            (Some(first), Some(last)) => per_second(
                self.processed_frames.saturating_sub(1),
                last.duration_since(first),
            ),
            _ => 0.0,
        }
    }

    /// Builds a report. `duration` is the media's total duration when known
    /// (None for live sources). Updates `current_fps` (see
    /// [`ProgressTracker::measure_current_fps`]).
    pub fn report(
        &mut self,
        now: Instant,
        state: StreamState,
        duration: Option<Duration>,
        video: VideoSummary,
    ) -> StreamStatus {
        self.measure_current_fps(now, state);
        let elapsed = self
            .first_frame_at
            .map_or(Duration::ZERO, |first| now.duration_since(first));
        let (percent, remaining_time_ms) = match state {
            StreamState::Eos => (100.0, 0),
            StreamState::Running => self.estimate(now, duration),
        };
        StreamStatus {
            status: state,
            processed_frames: self.processed_frames,
            skipped_frames: self.skipped_frames,
            elapsed_ms: elapsed.as_millis() as u64,
            fps: self.average_fps(),
            current_fps: self.current_fps,
            remaining_time_ms,
            percent,
            video,
        }
    }

    /// Sets `current_fps` to the rate of the frames since the previous
    /// report, when that stretch lasts at least a millisecond (a shorter one
    /// keeps the previous rate).
    ///
    /// The final report (EOS) measures its stretch up to the last frame, as
    /// the wait for EOS after it is no processing, and keeps the previous
    /// stretch's rate when no frame came after the previous report; when
    /// there is still no rate it shows the average, so the last line of a
    /// run that processed frames never reads 0 fps.
    fn measure_current_fps(&mut self, now: Instant, state: StreamState) {
        let processed = self.processed_frames;
        match (self.last_report, state) {
            (None, _) => {
                self.current_fps = self.average_fps();
                self.last_report = Some((now, processed));
            }
            (Some((at, frames)), StreamState::Running) => {
                let stretch = now.duration_since(at);
                if stretch >= Duration::from_millis(1) {
                    self.current_fps = per_second(processed - frames, stretch);
                    self.last_report = Some((now, processed));
                }
            }
            (Some((at, frames)), StreamState::Eos) => {
                let last_frame = self.last_frame_at.map_or(at, |last| last.max(at));
                let stretch = last_frame.duration_since(at);
                if processed > frames && stretch >= Duration::from_millis(1) {
                    self.current_fps = per_second(processed - frames, stretch);
                }
                self.last_report = Some((now, processed));
            }
        }
        if state == StreamState::Eos && self.current_fps == 0.0 {
            self.current_fps = self.average_fps();
        }
    }

    /// (percent, remaining ms), each -1 when it cannot be known.
    fn estimate(&self, now: Instant, duration: Option<Duration>) -> (f64, i64) {
        let (Some(duration), Some(position)) = (duration.filter(|d| !d.is_zero()), self.position)
        else {
            return (-1.0, -1);
        };
        let position = position.min(duration);
        let percent = 100.0 * position.as_secs_f64() / duration.as_secs_f64();
        let remaining_media = (duration - position).as_secs_f64();
        let rate = self.rate_origin.and_then(|(origin_at, origin_position)| {
            let wall = now.duration_since(origin_at).as_secs_f64();
            let media = position.saturating_sub(origin_position).as_secs_f64();
            (wall > 0.0 && media > 0.0).then(|| media / wall)
        });
        let remaining_ms = rate.map_or(-1, |rate| (1000.0 * remaining_media / rate).round() as i64);
        (percent, remaining_ms)
    }
}

fn per_second(frames: u64, over: Duration) -> f64 {
    if over.is_zero() {
        0.0
    } else {
        frames as f64 / over.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: VideoSummary = VideoSummary {
        width: 320,
        height: 240,
        fps: 25.0,
    };

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn real_time_playback_halfway_leaves_half_the_duration() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        // 25 fps played against the clock for 5 s of a 10 s file.
        for i in 0..=125u64 {
            tracker.frame(start + ms(i * 40), Some(ms(i * 40)));
        }
        let status = tracker.report(
            start + ms(5000),
            StreamState::Running,
            Some(ms(10_000)),
            VIDEO,
        );
        assert_eq!(status.processed_frames, 126);
        assert!((status.percent - 50.0).abs() < 0.01, "{}", status.percent);
        assert!(
            (status.remaining_time_ms - 5000).abs() <= 1,
            "{}",
            status.remaining_time_ms
        );
        assert!((status.fps - 25.0).abs() < 1e-9, "{}", status.fps);
        assert_eq!(status.elapsed_ms, 5000);
    }

    #[test]
    fn faster_than_real_time_shortens_the_estimate() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        // 4 s of media processed in 1 s: rate 4, so 6 s of media left takes 1.5 s.
        tracker.frame(start, Some(ms(0)));
        tracker.frame(start + ms(1000), Some(ms(4000)));
        let status = tracker.report(
            start + ms(1000),
            StreamState::Running,
            Some(ms(10_000)),
            VIDEO,
        );
        assert_eq!(status.remaining_time_ms, 1500);
        assert!((status.percent - 40.0).abs() < 1e-9);
    }

    #[test]
    fn live_sources_have_no_remaining_time() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        tracker.frame(start, Some(ms(0)));
        tracker.frame(start + ms(500), Some(ms(500)));
        let status = tracker.report(start + ms(500), StreamState::Running, None, VIDEO);
        assert_eq!(status.remaining_time_ms, -1);
        assert_eq!(status.percent, -1.0);
    }

    #[test]
    fn a_seek_restarts_the_rate_but_keeps_the_counts() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        for i in 0..10u64 {
            tracker.frame(start + ms(i * 40), Some(ms(i * 40)));
        }
        // Seek forward to 8 s: the media jump must not read as a burst of speed.
        tracker.new_segment();
        tracker.frame(start + ms(400), Some(ms(8000)));
        tracker.frame(start + ms(1400), Some(ms(9000)));
        let status = tracker.report(
            start + ms(1400),
            StreamState::Running,
            Some(ms(10_000)),
            VIDEO,
        );
        assert_eq!(status.processed_frames, 12);
        assert!((status.percent - 90.0).abs() < 1e-9);
        assert_eq!(status.remaining_time_ms, 1000);
    }

    #[test]
    fn current_fps_covers_only_the_last_interval() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        for i in 0..10u64 {
            tracker.frame(start + ms(i * 100), None);
        }
        tracker.report(start + ms(1000), StreamState::Running, None, VIDEO);
        for i in 0..40u64 {
            tracker.frame(start + ms(1000 + i * 25), None);
        }
        let status = tracker.report(start + ms(2000), StreamState::Running, None, VIDEO);
        assert!(
            (status.current_fps - 40.0).abs() < 1e-9,
            "{}",
            status.current_fps
        );
        assert!((status.fps - 49.0 / 1.975).abs() < 1e-9, "{}", status.fps);
    }

    #[test]
    fn a_single_frame_has_no_rate_yet() {
        let mut tracker = ProgressTracker::new();
        let now = Instant::now();
        tracker.frame(now, None);
        let status = tracker.report(now + ms(3), StreamState::Running, None, VIDEO);
        assert_eq!((status.fps, status.current_fps), (0.0, 0.0));
    }

    #[test]
    fn the_final_report_keeps_the_last_rate_when_no_frame_followed_it() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        for i in 0..=25u64 {
            tracker.frame(start + ms(i * 40), None);
        }
        let running = tracker.report(start + ms(1000), StreamState::Running, None, VIDEO);
        assert!((running.current_fps - 25.0).abs() < 1e-9, "{running:?}");
        // EOS half a second after the last frame, which that report counted.
        let eos = tracker.report(start + ms(1500), StreamState::Eos, None, VIDEO);
        assert!((eos.current_fps - 25.0).abs() < 1e-9, "{eos:?}");
        assert!((eos.fps - 25.0).abs() < 1e-9, "{eos:?}");
    }

    #[test]
    fn the_final_stretch_is_measured_up_to_the_last_frame() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        for i in 0..=25u64 {
            tracker.frame(start + ms(i * 40), None);
        }
        tracker.report(start + ms(1000), StreamState::Running, None, VIDEO);
        // Ten more frames in 200 ms, then EOS two seconds later.
        for i in 1..=10u64 {
            tracker.frame(start + ms(1000 + i * 20), None);
        }
        let eos = tracker.report(start + ms(3200), StreamState::Eos, None, VIDEO);
        assert!((eos.current_fps - 50.0).abs() < 1e-9, "{eos:?}");
        // The progress bar's last line shows it.
        let line = crate::stats::format_progress_bar(&eos, Some(eos.processed_frames));
        assert!(line.ends_with(", 50.0 fps]"), "{line}");
    }

    #[test]
    fn a_final_report_without_a_measured_rate_shows_the_average() {
        let start = Instant::now();
        let mut tracker = ProgressTracker::new();
        tracker.frame(start, None);
        // One frame has no rate yet.
        tracker.report(start, StreamState::Running, None, VIDEO);
        // A stretch too short to measure on its own.
        tracker.frame(start + Duration::from_micros(500), None);
        let eos = tracker.report(start + ms(2000), StreamState::Eos, None, VIDEO);
        assert!((eos.fps - 2000.0).abs() < 1e-6, "{eos:?}");
        assert_eq!(eos.current_fps, eos.fps);
    }

    #[test]
    fn eos_is_complete() {
        let mut tracker = ProgressTracker::new();
        let now = Instant::now();
        tracker.frame(now, Some(ms(0)));
        let status = tracker.report(now, StreamState::Eos, Some(ms(1000)), VIDEO);
        assert_eq!(
            (status.status, status.percent, status.remaining_time_ms),
            (StreamState::Eos, 100.0, 0)
        );
    }
}
