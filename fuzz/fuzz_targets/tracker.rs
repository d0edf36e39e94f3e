//! The tracker and counter fed anything: boxes from any f64 bit pattern
//! (NaN, infinities, zero-size, inverted, huge), any confidence, any
//! thresholds, frames inferred or not, and `lines` / `zones` text.
//!
//! Besides not panicking: within a frame no id and no detection appears
//! twice; ids are never reused (a new id is above every earlier one); a
//! reported box is trackable; zone occupancy equals entries minus exits.

#![no_main]

use std::collections::HashSet;

use gstdl::track::{
    Algorithm, BoxRect, Counter, Detection, TrackedPosition, Tracker, TrackerConfig, TrackState,
    parse_lines, parse_zones,
};
use libfuzzer_sys::fuzz_target;

/// Reads values off the input, cycling when it runs out.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        if self.data.is_empty() {
            return 0;
        }
        let b = self.data[self.at % self.data.len()];
        self.at += 1;
        b
    }

    fn f64(&mut self) -> f64 {
        match self.byte() % 8 {
            // Any bit pattern: NaN payloads, infinities, denormals.
            0 => f64::from_bits(u64::from_le_bytes(std::array::from_fn(|_| self.byte()))),
            1 => [0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MAX, f64::MIN_POSITIVE, 1e300]
                [usize::from(self.byte() % 8)],
            // Plausible pixels.
            _ => f64::from(u16::from_le_bytes([self.byte(), self.byte()]) % 2048) / 2.0,
        }
    }

    fn fraction(&mut self) -> f64 {
        match self.byte() % 16 {
            0 => self.f64(),
            _ => f64::from(self.byte()) / 255.0,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (text, rest) = data.split_at(split);
    let text = String::from_utf8_lossy(text);
    let (lines_text, zones_text) = text.split_once('|').unwrap_or((&text, ""));
    let lines = parse_lines(lines_text).map(|g| g.in_pixels(640, 480)).unwrap_or_default();
    let zones = parse_zones(zones_text).map(|g| g.in_pixels(640, 480)).unwrap_or_default();
    let mut counter = Counter::new(lines, zones);

    let mut input = Bytes { data: rest, at: 0 };
    let config = TrackerConfig {
        algorithm: [Algorithm::ByteTrack, Algorithm::Sort, Algorithm::Iou][usize::from(input.byte() % 3)],
        appearance: input.byte() % 2 == 0,
        high_threshold: input.fraction(),
        low_threshold: input.fraction(),
        iou_threshold: input.fraction(),
        max_age: u32::from(input.byte()),
        min_hits: u32::from(input.byte() % 8),
        match_class: input.byte() % 2 == 0,
    };
    let mut tracker = Tracker::new(config);
    if input.byte() % 2 == 0 {
        tracker.set_frame_size(u32::from(input.byte()) * 4, u32::from(input.byte()) * 4);
    }
    let frames = usize::from(input.byte() % 64);
    let mut highest_id = 0;
    let mut seen: HashSet<u64> = HashSet::new();
    for _ in 0..frames {
        let out = if input.byte() % 4 == 0 {
            tracker.predict()
        } else {
            let count = usize::from(input.byte() % 24);
            let detections: Vec<Detection> = (0..count)
                .map(|_| {
                    let mut d = Detection::new(
                        BoxRect::new(input.f64(), input.f64(), input.f64(), input.f64()),
                        input.fraction(),
                        ["a", "b", ""][usize::from(input.byte() % 3)],
                        -1,
                    );
                    if input.byte() % 4 == 0 {
                        d.embedding = Some((0..4).map(|_| input.f64() as f32).collect());
                    }
                    d
                })
                .collect();
            tracker.update(&detections)
        };
        let mut ids = HashSet::new();
        let mut used = HashSet::new();
        for b in &out.boxes {
            assert!(ids.insert(b.id), "id {} twice in one frame", b.id);
            if let Some(d) = b.detection {
                assert!(used.insert(d), "detection {d} matched twice");
            }
            assert!(b.rect.is_trackable(), "{:?}", b.rect);
            if seen.insert(b.id) {
                assert!(b.id > highest_id, "id {} reused", b.id);
                highest_id = b.id;
            }
        }
        let positions: Vec<TrackedPosition> = out
            .boxes
            .iter()
            .filter(|b| b.state == TrackState::Confirmed)
            .map(|b| TrackedPosition { id: b.id, rect: b.rect })
            .collect();
        counter.update(&positions, &out.removed);
        for zone in counter.zone_counts() {
            assert_eq!(zone.occupancy, zone.entered - zone.exited);
        }
    }
});
