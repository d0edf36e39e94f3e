//! Realtime mode: which frames are already too late to be worth inferring.
//!
//! A sink that syncs to the clock sends QoS events upstream saying how late
//! (positive `diff`) or early the frame at `timestamp` (running time) was.
//! Like GstBaseTransform, we take `timestamp + 2 * diff` as the earliest
//! running time still worth processing when late, `timestamp + diff`
//! otherwise; frames before it skip inference so the pipeline catches up
//! instead of falling ever further behind a live source.

/// What the latest QoS event said.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LatenessTracker {
    earliest_ns: Option<u64>,
}

impl LatenessTracker {
    /// Takes a QoS event's timestamp (running time, ns) and jitter `diff` (ns).
    pub fn update(&mut self, timestamp_ns: u64, diff_ns: i64) {
        let shift = if diff_ns > 0 {
            diff_ns.saturating_mul(2)
        } else {
            diff_ns
        };
        self.earliest_ns = Some(timestamp_ns.saturating_add_signed(shift));
    }

    /// Forgets the past (flush, new segment).
    pub fn reset(&mut self) {
        self.earliest_ns = None;
    }

    /// Whether a frame starting at `running_time_ns` is already too late.
    pub fn is_late(&self, running_time_ns: Option<u64>) -> bool {
        matches!((running_time_ns, self.earliest_ns), (Some(t), Some(earliest)) if t <= earliest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn late_frames_are_skipped_until_the_pipeline_catches_up() {
        let mut tracker = LatenessTracker::default();
        assert!(!tracker.is_late(Some(0)), "no QoS yet: nothing is late");
        // The frame at 100 ms was rendered 150 ms late: skip up to 400 ms.
        tracker.update(100 * MS, 150 * MS as i64);
        assert!(tracker.is_late(Some(400 * MS)));
        assert!(!tracker.is_late(Some(401 * MS)));
        assert!(
            !tracker.is_late(None),
            "frames without timestamps are always processed"
        );
        // Early frames (negative diff) only skip what is already past.
        tracker.update(500 * MS, -(20 * MS as i64));
        assert!(tracker.is_late(Some(480 * MS)) && !tracker.is_late(Some(481 * MS)));
        tracker.reset();
        assert!(!tracker.is_late(Some(0)));
    }
}
