//! Line crossings and zone occupancy of tracked objects.
//!
//! An object is its box's centre. A line counts a crossing when the centre
//! goes from one side to the other, through the segment, and ends up clearly
//! on the other side: farther from the line than a dead band of a tenth of
//! the box's smaller side (at least 2 px). A box hovering on the line, its
//! centre jittering inside the band, is counted once, when it leaves the
//! band on the far side, or never. A zone is entered when the centre moves
//! inside the polygon, exited when it moves out or when its track is
//! removed. Lost tracks (not seen, only predicted) neither cross nor move
//! between zones: the prediction of an object out of sight is not evidence
//! that it moved.

use std::collections::HashMap;

use super::geometry::{BoxRect, CountingLine, CountingZone, Point};

/// Which way a line was crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the left of the line (looking from its start to its end) to its
    /// right: downwards across a line drawn left to right.
    In,
    /// The other way.
    Out,
}

impl Direction {
    /// The name in events and counts.
    pub fn name(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A line was crossed.
    LineCrossed(Direction),
    /// A zone was entered.
    ZoneEntered,
    /// A zone was left.
    ZoneExited,
}

impl EventKind {
    /// The event's name in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::LineCrossed(_) => "line-crossed",
            Self::ZoneEntered => "zone-entered",
            Self::ZoneExited => "zone-exited",
        }
    }
}

/// One event of one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountEvent {
    /// What happened.
    pub kind: EventKind,
    /// The line's or zone's name.
    pub name: String,
    /// The track's id.
    pub track_id: u64,
}

/// Running count of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCount {
    /// The line's name.
    pub name: String,
    /// Crossings `in`.
    pub crossed_in: u64,
    /// Crossings `out`.
    pub crossed_out: u64,
}

/// Running count of a zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneCount {
    /// The zone's name.
    pub name: String,
    /// Entries so far.
    pub entered: u64,
    /// Exits so far.
    pub exited: u64,
    /// Objects inside now.
    pub occupancy: u64,
}

/// Where a tracked object is this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackedPosition {
    /// Track id.
    pub id: u64,
    /// Its box.
    pub rect: BoxRect,
}

/// The last side of each line an object was clearly on, and the zones it is in.
#[derive(Debug, Clone, Default)]
struct ObjectMemory {
    /// Per line: the side (+1 right, -1 left) and where the centre was then.
    sides: Vec<Option<(i8, Point)>>,
    /// Per zone: inside or not.
    inside: Vec<bool>,
}

/// Counts crossings and zone visits of tracked objects, frame by frame.
#[derive(Debug, Clone)]
pub struct Counter {
    lines: Vec<CountingLine>,
    zones: Vec<CountingZone>,
    line_counts: Vec<LineCount>,
    zone_counts: Vec<ZoneCount>,
    objects: HashMap<u64, ObjectMemory>,
}

/// Dead band around a line, in pixels, for a box of this size.
fn dead_band(rect: &BoxRect) -> f64 {
    (0.1 * rect.width().min(rect.height())).max(2.0)
}

/// Signed distance of `p` from the infinite line through `line` (positive on
/// its right, y down).
fn signed_distance(line: &CountingLine, p: Point) -> f64 {
    let (dx, dy) = (line.end.x - line.start.x, line.end.y - line.start.y);
    let length = (dx * dx + dy * dy).sqrt();
    (dx * (p.y - line.start.y) - dy * (p.x - line.start.x)) / length
}

/// Whether the path `a`..`b` passes through the segment (its ends included).
fn passes_through(line: &CountingLine, a: Point, b: Point) -> bool {
    let cross =
        |o: Point, p: Point, q: Point| (p.x - o.x) * (q.y - o.y) - (p.y - o.y) * (q.x - o.x);
    let (s, e) = (line.start, line.end);
    let d1 = cross(s, e, a);
    let d2 = cross(s, e, b);
    let d3 = cross(a, b, s);
    let d4 = cross(a, b, e);
    (d1 * d2 <= 0.0) && (d3 * d4 <= 0.0)
}

impl Counter {
    /// A counter of `lines` and `zones` (in frame pixels).
    pub fn new(lines: Vec<CountingLine>, zones: Vec<CountingZone>) -> Self {
        let line_counts = lines
            .iter()
            .map(|l| LineCount {
                name: l.name.clone(),
                crossed_in: 0,
                crossed_out: 0,
            })
            .collect();
        let zone_counts = zones
            .iter()
            .map(|z| ZoneCount {
                name: z.name.clone(),
                entered: 0,
                exited: 0,
                occupancy: 0,
            })
            .collect();
        Self {
            lines,
            zones,
            line_counts,
            zone_counts,
            objects: HashMap::new(),
        }
    }

    /// Whether there is nothing to count.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.zones.is_empty()
    }

    /// The lines, in frame pixels.
    pub fn lines(&self) -> &[CountingLine] {
        &self.lines
    }

    /// The zones, in frame pixels.
    pub fn zones(&self) -> &[CountingZone] {
        &self.zones
    }

    /// Running counts per line.
    pub fn line_counts(&self) -> &[LineCount] {
        &self.line_counts
    }

    /// Running counts per zone.
    pub fn zone_counts(&self) -> &[ZoneCount] {
        &self.zone_counts
    }

    /// Forgets every object (after a seek): zones are empty again, the
    /// counts so far stay.
    pub fn forget_objects(&mut self) {
        self.objects.clear();
        for zone in &mut self.zone_counts {
            zone.occupancy = 0;
        }
    }

    /// One frame: where the followed (confirmed, not lost) objects are, and
    /// which tracks were removed. Returns the frame's events in order.
    pub fn update(&mut self, positions: &[TrackedPosition], removed: &[u64]) -> Vec<CountEvent> {
        let mut events = Vec::new();
        for position in positions {
            if !position.rect.is_trackable() {
                continue;
            }
            let center = position.rect.center();
            let band = dead_band(&position.rect);
            let memory = self
                .objects
                .entry(position.id)
                .or_insert_with(|| ObjectMemory {
                    sides: vec![None; self.lines.len()],
                    inside: vec![false; self.zones.len()],
                });
            for (l, line) in self.lines.iter().enumerate() {
                let distance = signed_distance(line, center);
                if distance.abs() <= band {
                    continue;
                }
                let side: i8 = if distance > 0.0 { 1 } else { -1 };
                if let Some((last, from)) = memory.sides[l]
                    && last != side
                    && passes_through(line, from, center)
                {
                    let direction = if side > 0 {
                        Direction::In
                    } else {
                        Direction::Out
                    };
                    match direction {
                        Direction::In => self.line_counts[l].crossed_in += 1,
                        Direction::Out => self.line_counts[l].crossed_out += 1,
                    }
                    events.push(CountEvent {
                        kind: EventKind::LineCrossed(direction),
                        name: line.name.clone(),
                        track_id: position.id,
                    });
                }
                memory.sides[l] = Some((side, center));
            }
            for (z, zone) in self.zones.iter().enumerate() {
                let inside = zone.contains(center);
                if inside != memory.inside[z] {
                    memory.inside[z] = inside;
                    let count = &mut self.zone_counts[z];
                    let kind = if inside {
                        count.entered += 1;
                        count.occupancy += 1;
                        EventKind::ZoneEntered
                    } else {
                        count.exited += 1;
                        count.occupancy -= 1;
                        EventKind::ZoneExited
                    };
                    events.push(CountEvent {
                        kind,
                        name: zone.name.clone(),
                        track_id: position.id,
                    });
                }
            }
        }
        for id in removed {
            let Some(memory) = self.objects.remove(id) else {
                continue;
            };
            for (z, inside) in memory.inside.iter().enumerate() {
                if *inside {
                    let count = &mut self.zone_counts[z];
                    count.exited += 1;
                    count.occupancy -= 1;
                    events.push(CountEvent {
                        kind: EventKind::ZoneExited,
                        name: self.zones[z].name.clone(),
                        track_id: *id,
                    });
                }
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::geometry::{parse_lines, parse_zones};

    fn at(id: u64, cx: f64, cy: f64) -> TrackedPosition {
        TrackedPosition {
            id,
            rect: BoxRect::from_center(Point::new(cx, cy), 20.0, 20.0),
        }
    }

    fn counter(lines: &str, zones: &str) -> Counter {
        Counter::new(
            parse_lines(lines).unwrap().in_pixels(100, 100),
            parse_zones(zones).unwrap().in_pixels(100, 100),
        )
    }

    #[test]
    fn crossings_are_counted_once_each_way() {
        let mut c = counter("mid:0,50,100,50", "");
        let mut events = Vec::new();
        for y in (10..=90).step_by(10) {
            events.extend(c.update(
                &[at(1, 50.0, f64::from(y)), at(2, 20.0, f64::from(100 - y))],
                &[],
            ));
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, EventKind::LineCrossed(Direction::In));
        assert_eq!(events[0].track_id, 1);
        assert_eq!(events[1].kind, EventKind::LineCrossed(Direction::Out));
        assert_eq!(events[1].track_id, 2);
        assert_eq!(
            (
                c.line_counts()[0].crossed_in,
                c.line_counts()[0].crossed_out
            ),
            (1, 1)
        );
    }

    #[test]
    fn a_box_hovering_on_the_line_is_not_counted_twice() {
        let mut c = counter("mid:0,50,100,50", "");
        let mut events = Vec::new();
        // Comes from above, hovers within +-1.9 px (band 2 px), then leaves below.
        events.extend(c.update(&[at(1, 50.0, 30.0)], &[]));
        for i in 0..40 {
            let jitter = if i % 2 == 0 { 1.9 } else { -1.9 };
            events.extend(c.update(&[at(1, 50.0, 50.0 + jitter)], &[]));
        }
        assert!(events.is_empty());
        events.extend(c.update(&[at(1, 50.0, 70.0)], &[]));
        assert_eq!(events.len(), 1);
        assert_eq!(c.line_counts()[0].crossed_in, 1);
    }

    #[test]
    fn passing_beside_a_segment_is_no_crossing() {
        let mut c = counter("short:40,50,60,50", "");
        c.update(&[at(1, 10.0, 30.0)], &[]);
        assert!(c.update(&[at(1, 10.0, 70.0)], &[]).is_empty());
        assert!(c.update(&[at(1, 50.0, 30.0)], &[]).is_empty());
        assert_eq!(c.update(&[at(1, 50.0, 70.0)], &[]).len(), 1);
    }

    #[test]
    fn zones_count_entries_exits_and_occupancy() {
        let mut c = counter("", "box:20,20,80,20,80,80,20,80");
        let e = c.update(&[at(1, 50.0, 50.0), at(2, 5.0, 5.0)], &[]);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].kind, e[0].track_id), (EventKind::ZoneEntered, 1));
        assert_eq!(c.zone_counts()[0].occupancy, 1);
        c.update(&[at(1, 50.0, 50.0), at(2, 40.0, 40.0)], &[]);
        assert_eq!(c.zone_counts()[0].occupancy, 2);
        let e = c.update(&[at(2, 90.0, 40.0)], &[]);
        assert_eq!(e[0].kind, EventKind::ZoneExited);
        // Track 1 is out of sight (lost): still inside until it is removed.
        assert_eq!(c.zone_counts()[0].occupancy, 1);
        let e = c.update(&[], &[1, 2]);
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].kind, e[0].track_id), (EventKind::ZoneExited, 1));
        let z = &c.zone_counts()[0];
        assert_eq!((z.entered, z.exited, z.occupancy), (2, 2, 0));
    }

    #[test]
    fn forgetting_objects_empties_zones_and_keeps_counts() {
        let mut c = counter("", "box:20,20,80,20,80,80,20,80");
        c.update(&[at(1, 50.0, 50.0)], &[]);
        c.forget_objects();
        let z = &c.zone_counts()[0];
        assert_eq!((z.entered, z.occupancy), (1, 0));
        assert_eq!(c.update(&[at(1, 50.0, 50.0)], &[]).len(), 1);
    }

    #[test]
    fn degenerate_positions_are_ignored() {
        let mut c = counter("mid:0,50,100,50", "z:0,0,100,0,100,100");
        let bad = TrackedPosition {
            id: 1,
            rect: BoxRect::new(f64::NAN, 0.0, 1.0, 1.0),
        };
        assert!(c.update(&[bad], &[7]).is_empty());
    }
}
