//! Boxes, points and the counting geometry (`lines`, `zones`) users write as
//! text, with errors that quote the part that is wrong.

use std::fmt;

/// A point in frame pixels (x right, y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
}

impl Point {
    /// A point at (`x`, `y`).
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
}

/// An axis-aligned box in frame pixels, edges included (`x_max = x_min + width`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxRect {
    /// Left edge.
    pub x_min: f64,
    /// Top edge.
    pub y_min: f64,
    /// Right edge.
    pub x_max: f64,
    /// Bottom edge.
    pub y_max: f64,
}

impl BoxRect {
    /// A box from its edges.
    pub const fn new(x_min: f64, y_min: f64, x_max: f64, y_max: f64) -> Self {
        Self {
            x_min,
            y_min,
            x_max,
            y_max,
        }
    }

    /// A box from its centre and size.
    pub fn from_center(center: Point, width: f64, height: f64) -> Self {
        Self::new(
            center.x - width / 2.0,
            center.y - height / 2.0,
            center.x + width / 2.0,
            center.y + height / 2.0,
        )
    }

    /// Width (negative for an inverted box).
    pub fn width(&self) -> f64 {
        self.x_max - self.x_min
    }

    /// Height (negative for an inverted box).
    pub fn height(&self) -> f64 {
        self.y_max - self.y_min
    }

    /// The centre, the point counting follows.
    pub fn center(&self) -> Point {
        Point::new(
            (self.x_min + self.x_max) / 2.0,
            (self.y_min + self.y_max) / 2.0,
        )
    }

    /// Whether the box can be tracked: finite edges and an area above zero.
    /// NaN, infinities, zero-size and inverted boxes cannot.
    pub fn is_trackable(&self) -> bool {
        [self.x_min, self.y_min, self.x_max, self.y_max]
            .iter()
            .all(|v| v.is_finite())
            && self.width() > 0.0
            && self.height() > 0.0
            && (self.width() * self.height()).is_finite()
    }

    /// Intersection over union, 0 when either box is not trackable.
    pub fn iou(&self, other: &BoxRect) -> f64 {
        if !self.is_trackable() || !other.is_trackable() {
            return 0.0;
        }
        let w = self.x_max.min(other.x_max) - self.x_min.max(other.x_min);
        let h = self.y_max.min(other.y_max) - self.y_min.max(other.y_min);
        if w <= 0.0 || h <= 0.0 {
            return 0.0;
        }
        let inter = w * h;
        let union = self.width() * self.height() + other.width() * other.height() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

impl BoxRect {
    /// Whether the centre lies outside a `width` x `height` frame.
    pub fn center_outside(&self, width: f64, height: f64) -> bool {
        let c = self.center();
        !(0.0..=width).contains(&c.x) || !(0.0..=height).contains(&c.y)
    }

    /// The box moved (not resized) to lie inside a `width` x `height`
    /// frame, against the edges it crossed; a box larger than the frame
    /// keeps its top left corner at the frame's.
    pub fn pushed_inside(&self, width: f64, height: f64) -> BoxRect {
        let shift = |lo: f64, hi: f64, limit: f64| {
            if lo < 0.0 {
                -lo
            } else if hi > limit {
                (limit - hi).max(-lo)
            } else {
                0.0
            }
        };
        let dx = shift(self.x_min, self.x_max, width);
        let dy = shift(self.y_min, self.y_max, height);
        BoxRect::new(
            self.x_min + dx,
            self.y_min + dy,
            self.x_max + dx,
            self.y_max + dy,
        )
    }
}

/// How far (as a fraction of the expected size, at least 2 px) an edge may
/// lie from where it was expected and still count as the object's own.
pub const EDGE_TOLERANCE: f64 = 0.1;

impl BoxRect {
    /// `self`, a detection, completed to the size of `expected` (a track's
    /// predicted box) on each axis where it looks partly hidden: one edge
    /// where it was expected (the object's own), the other clearly inside
    /// (where an occluder begins). A rigid object does not do that by
    /// moving or turning; both edges in place, or both moved, leave the
    /// axis as it is.
    pub fn completed_to(&self, expected: &BoxRect) -> BoxRect {
        let axis = |lo: f64, hi: f64, elo: f64, ehi: f64| {
            let full = ehi - elo;
            let tolerance = (EDGE_TOLERANCE * full).max(2.0);
            let (lo_holds, hi_holds) =
                ((lo - elo).abs() <= tolerance, (hi - ehi).abs() <= tolerance);
            if hi - lo >= full - tolerance || lo_holds == hi_holds {
                (lo, hi)
            } else if lo_holds {
                (lo, lo + full)
            } else {
                (hi - full, hi)
            }
        };
        let (x_min, x_max) = axis(self.x_min, self.x_max, expected.x_min, expected.x_max);
        let (y_min, y_max) = axis(self.y_min, self.y_max, expected.y_min, expected.y_max);
        BoxRect::new(x_min, y_min, x_max, y_max)
    }
}

/// A named counting line: crossing it from its left to its right (looking
/// from `start` to `end`, on screen with y down) is `in`, the other way `out`.
#[derive(Debug, Clone, PartialEq)]
pub struct CountingLine {
    /// Name used in events and counts.
    pub name: String,
    /// First end.
    pub start: Point,
    /// Second end.
    pub end: Point,
}

/// A named zone, a simple polygon of at least 3 corners.
#[derive(Debug, Clone, PartialEq)]
pub struct CountingZone {
    /// Name used in events and counts.
    pub name: String,
    /// Corners in order.
    pub corners: Vec<Point>,
}

impl CountingZone {
    /// Whether `p` lies inside the polygon (even-odd rule; points on an edge
    /// may fall either way).
    pub fn contains(&self, p: Point) -> bool {
        let n = self.corners.len();
        let mut inside = false;
        let mut j = n.wrapping_sub(1);
        for i in 0..n {
            let (a, b) = (self.corners[i], self.corners[j]);
            if (a.y > p.y) != (b.y > p.y) {
                let x_at = (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x;
                if p.x < x_at {
                    inside = !inside;
                }
            }
            j = i;
        }
        inside
    }
}

/// Coordinates as written: normalised 0..1 when every number of the whole
/// property lies in 0..1, else frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry<T> {
    items: Vec<T>,
    normalized: bool,
}

/// What is wrong with a `lines` or `zones` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeometryError {
    /// The property (`lines` or `zones`).
    pub property: &'static str,
    /// The part of the text that is wrong, as written.
    pub part: String,
    /// What is wrong and how to write it.
    pub reason: String,
}

impl fmt::Display for GeometryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entry \"{}\": {}",
            self.property, self.part, self.reason
        )
    }
}

impl std::error::Error for GeometryError {}

const LINE_FORM: &str = "write name:x1,y1,x2,y2 (frame pixels, or 0..1 fractions of the frame), entries separated by ';'";
const ZONE_FORM: &str = "write name:x1,y1,x2,y2,x3,y3[,...] (at least 3 corners, frame pixels or 0..1 fractions), entries separated by ';'";

/// One `name:numbers` entry.
struct Entry<'a> {
    text: &'a str,
    name: String,
    numbers: Vec<f64>,
}

fn parse_entries<'a>(
    property: &'static str,
    text: &'a str,
    form: &str,
) -> Result<Vec<Entry<'a>>, GeometryError> {
    let error = |part: &str, reason: String| GeometryError {
        property,
        part: part.to_string(),
        reason,
    };
    let mut entries: Vec<Entry<'a>> = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, numbers)) = part.split_once(':') else {
            return Err(error(part, format!("no name before ':'; {form}")));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(error(part, format!("the name is empty; {form}")));
        }
        if entries.iter().any(|e| e.name == name) {
            return Err(error(part, format!("the name \"{name}\" is used twice")));
        }
        let mut values = Vec::new();
        for number in numbers.split(',') {
            let number = number.trim();
            match number.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => values.push(v),
                Ok(_) => {
                    return Err(error(
                        part,
                        format!("\"{number}\" is not a finite coordinate of 0 or more"),
                    ));
                }
                Err(_) => {
                    return Err(error(part, format!("\"{number}\" is not a number; {form}")));
                }
            }
        }
        entries.push(Entry {
            text: part,
            name: name.to_string(),
            numbers: values,
        });
    }
    Ok(entries)
}

fn all_fractions<'a>(entries: impl IntoIterator<Item = &'a Entry<'a>>) -> bool {
    entries
        .into_iter()
        .flat_map(|e| e.numbers.iter())
        .all(|v| *v <= 1.0)
}

fn points(numbers: &[f64]) -> Vec<Point> {
    numbers
        .chunks_exact(2)
        .map(|c| Point::new(c[0], c[1]))
        .collect()
}

/// Parses `lines`: `name:x1,y1,x2,y2;...`.
pub fn parse_lines(text: &str) -> Result<Geometry<CountingLine>, GeometryError> {
    let entries = parse_entries("lines", text, LINE_FORM)?;
    let mut lines = Vec::new();
    for entry in &entries {
        if entry.numbers.len() != 4 {
            return Err(GeometryError {
                property: "lines",
                part: entry.text.to_string(),
                reason: format!(
                    "{} numbers where a line has 4; {LINE_FORM}",
                    entry.numbers.len()
                ),
            });
        }
        let p = points(&entry.numbers);
        if p[0] == p[1] {
            return Err(GeometryError {
                property: "lines",
                part: entry.text.to_string(),
                reason: "both ends are the same point; a line needs two distinct ends".into(),
            });
        }
        lines.push(CountingLine {
            name: entry.name.clone(),
            start: p[0],
            end: p[1],
        });
    }
    Ok(Geometry {
        normalized: all_fractions(&entries),
        items: lines,
    })
}

/// Parses `zones`: `name:x1,y1,x2,y2,x3,y3,...;...`.
pub fn parse_zones(text: &str) -> Result<Geometry<CountingZone>, GeometryError> {
    let entries = parse_entries("zones", text, ZONE_FORM)?;
    let mut zones = Vec::new();
    for entry in &entries {
        let error = |reason: String| GeometryError {
            property: "zones",
            part: entry.text.to_string(),
            reason,
        };
        if entry.numbers.len() % 2 != 0 {
            return Err(error(format!(
                "{} numbers: coordinates come in x,y pairs; {ZONE_FORM}",
                entry.numbers.len()
            )));
        }
        let corners = points(&entry.numbers);
        if corners.len() < 3 {
            return Err(error(format!(
                "a polygon needs at least 3 corners, this has {}",
                corners.len()
            )));
        }
        if polygon_area(&corners).abs() <= f64::EPSILON {
            return Err(error(
                "the corners lie on one line, the zone has no area".into(),
            ));
        }
        zones.push(CountingZone {
            name: entry.name.clone(),
            corners,
        });
    }
    Ok(Geometry {
        normalized: all_fractions(&entries),
        items: zones,
    })
}

fn polygon_area(corners: &[Point]) -> f64 {
    let n = corners.len();
    (0..n)
        .map(|i| {
            let (a, b) = (corners[i], corners[(i + 1) % n]);
            a.x * b.y - b.x * a.y
        })
        .sum::<f64>()
        / 2.0
}

impl<T> Default for Geometry<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            normalized: false,
        }
    }
}

impl<T> Geometry<T> {
    /// Whether nothing was given.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the coordinates are fractions of the frame.
    pub fn is_normalized(&self) -> bool {
        self.normalized
    }
}

impl Geometry<CountingLine> {
    /// The lines in pixels of a `width` x `height` frame.
    pub fn in_pixels(&self, width: u32, height: u32) -> Vec<CountingLine> {
        let scale = self.scale(width, height);
        self.items
            .iter()
            .map(|l| CountingLine {
                name: l.name.clone(),
                start: scale(l.start),
                end: scale(l.end),
            })
            .collect()
    }
}

impl Geometry<CountingZone> {
    /// The zones in pixels of a `width` x `height` frame.
    pub fn in_pixels(&self, width: u32, height: u32) -> Vec<CountingZone> {
        let scale = self.scale(width, height);
        self.items
            .iter()
            .map(|z| CountingZone {
                name: z.name.clone(),
                corners: z.corners.iter().map(|p| scale(*p)).collect(),
            })
            .collect()
    }
}

impl<T> Geometry<T> {
    fn scale(&self, width: u32, height: u32) -> impl Fn(Point) -> Point {
        let (sx, sy) = if self.normalized {
            (f64::from(width), f64::from(height))
        } else {
            (1.0, 1.0)
        };
        move |p| Point::new(p.x * sx, p.y * sy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_known_boxes() {
        let a = BoxRect::new(0.0, 0.0, 10.0, 10.0);
        let b = BoxRect::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-12);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BoxRect::new(20.0, 20.0, 30.0, 30.0)), 0.0);
    }

    #[test]
    fn degenerate_boxes_have_no_overlap_and_are_not_trackable() {
        let a = BoxRect::new(0.0, 0.0, 10.0, 10.0);
        for bad in [
            BoxRect::new(0.0, 0.0, 0.0, 10.0),
            BoxRect::new(5.0, 5.0, 1.0, 1.0),
            BoxRect::new(f64::NAN, 0.0, 10.0, 10.0),
            BoxRect::new(0.0, 0.0, f64::INFINITY, 10.0),
            BoxRect::new(-f64::MAX, -f64::MAX, f64::MAX, f64::MAX),
        ] {
            assert!(!bad.is_trackable(), "{bad:?}");
            assert_eq!(a.iou(&bad), 0.0);
        }
    }

    #[test]
    fn partly_hidden_detections_complete_from_their_visible_edge() {
        let expected = BoxRect::new(100.0, 50.0, 140.0, 90.0);
        // The left 8 px of the object show: completed rightwards.
        let left = BoxRect::new(101.0, 50.0, 109.0, 90.0);
        assert_eq!(
            left.completed_to(&expected),
            BoxRect::new(101.0, 50.0, 141.0, 90.0)
        );
        // The bottom part shows: completed upwards.
        let bottom = BoxRect::new(100.0, 75.0, 140.0, 92.0);
        assert_eq!(
            bottom.completed_to(&expected),
            BoxRect::new(100.0, 52.0, 140.0, 92.0)
        );
        // Not clearly smaller, or smaller on both sides: unchanged.
        let whole = BoxRect::new(102.0, 51.0, 139.0, 90.0);
        assert_eq!(whole.completed_to(&expected), whole);
        let shrunk = BoxRect::new(110.0, 60.0, 130.0, 80.0);
        assert_eq!(shrunk.completed_to(&expected), shrunk);
    }

    #[test]
    fn boxes_that_left_the_frame_are_pushed_back_against_its_edge() {
        let gone = BoxRect::new(310.0, 50.0, 350.0, 90.0);
        assert!(gone.center_outside(320.0, 240.0));
        assert_eq!(
            gone.pushed_inside(320.0, 240.0),
            BoxRect::new(280.0, 50.0, 320.0, 90.0)
        );
        let up_left = BoxRect::new(-30.0, -25.0, 10.0, 15.0);
        assert_eq!(
            up_left.pushed_inside(320.0, 240.0),
            BoxRect::new(0.0, 0.0, 40.0, 40.0)
        );
        let inside = BoxRect::new(10.0, 10.0, 50.0, 50.0);
        assert!(!inside.center_outside(320.0, 240.0));
        assert_eq!(inside.pushed_inside(320.0, 240.0), inside);
    }

    #[test]
    fn lines_parse_in_pixels_and_fractions() {
        let lines = parse_lines("door:10,20,110,20; exit : 0,5,5,0").unwrap();
        assert!(!lines.is_normalized());
        let px = lines.in_pixels(640, 480);
        assert_eq!(px[0].name, "door");
        assert_eq!(px[0].end, Point::new(110.0, 20.0));
        assert_eq!(px[1].name, "exit");
        let fractions = parse_lines("mid:0,0.5,1,0.5").unwrap();
        assert!(fractions.is_normalized());
        let px = fractions.in_pixels(640, 480);
        assert_eq!(px[0].start, Point::new(0.0, 240.0));
        assert_eq!(px[0].end, Point::new(640.0, 240.0));
        assert!(parse_lines("").unwrap().is_empty());
    }

    #[test]
    fn malformed_lines_quote_the_bad_part() {
        let cases = [
            ("a:1,2,3,4;b:1,2,3", "b:1,2,3", "3 numbers"),
            ("a:1,2,x,4", "a:1,2,x,4", "\"x\" is not a number"),
            ("1,2,3,4", "1,2,3,4", "no name"),
            (":1,2,3,4", ":1,2,3,4", "name is empty"),
            ("a:1,2,1,2", "a:1,2,1,2", "same point"),
            ("a:1,2,3,4;a:5,6,7,8", "a:5,6,7,8", "used twice"),
            ("a:-1,2,3,4", "a:-1,2,3,4", "finite coordinate"),
            ("a:nan,2,3,4", "a:nan,2,3,4", "finite coordinate"),
        ];
        for (text, part, reason) in cases {
            let err = parse_lines(text).unwrap_err();
            assert_eq!(err.part, part, "{text}");
            assert!(err.reason.contains(reason), "{text}: {err}");
            assert!(err.to_string().contains(&format!("\"{part}\"")));
        }
    }

    #[test]
    fn zones_need_three_corners_and_an_area() {
        let zones = parse_zones("lot:0,0,100,0,100,50,0,50").unwrap();
        let z = &zones.in_pixels(10, 10)[0];
        assert!(z.contains(Point::new(50.0, 25.0)));
        assert!(!z.contains(Point::new(150.0, 25.0)));
        let err = parse_zones("tri:0,0,10,10").unwrap_err();
        assert!(err.reason.contains("at least 3 corners"), "{err}");
        assert_eq!(err.part, "tri:0,0,10,10");
        let err = parse_zones("odd:0,0,10,10,5").unwrap_err();
        assert!(err.reason.contains("x,y pairs"), "{err}");
        let err = parse_zones("flat:0,0,5,5,10,10").unwrap_err();
        assert!(err.reason.contains("no area"), "{err}");
    }

    #[test]
    fn a_concave_zone_contains_only_its_inside() {
        // An L shape: the notch at the top right is outside.
        let zones = parse_zones("l:0,0,10,0,10,5,5,5,5,10,0,10").unwrap();
        let z = &zones.in_pixels(1, 1)[0];
        assert!(z.contains(Point::new(2.0, 8.0)));
        assert!(z.contains(Point::new(8.0, 2.0)));
        assert!(!z.contains(Point::new(8.0, 8.0)));
    }
}
